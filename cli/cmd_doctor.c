/* cmd_doctor.c - `elastos doctor`: what a new user's (or operator's) setup is missing, and the
 * command that fixes each thing. Read-only: it never changes the home, the trust store or keys.
 * Each check is one function printing one line "ok|FIX|note  WHAT: DETAIL"; a FIX line names a
 * command to run. Exit 0 when nothing needs fixing, 78 (configuration) otherwise. */
#include "cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elastos/serve.h"
#include "elastos/shell.h"
#include "elastos/trust.h"

typedef struct doctor {
    el_runtime *rt;
    int fixes;
} doctor;

static void line(doctor *d, const char *kind, const char *what, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prints one check's result; kind is "ok", "FIX" (counted) or "note". */
static void line(doctor *d, const char *kind, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-4s  %s: ", kind, what);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (!strcmp(kind, "FIX"))
        d->fixes++;
}

static void check_home(doctor *d)
{
    const char *home = el_runtime_home(d->rt);
    struct stat st;
    if (stat(home, &st) != 0)
        line(d, "ok", "home", "%s (created on first use)", home);
    else if (st.st_mode & 077)
        line(d, "FIX", "home", "%s is mode %03o, readable by others: chmod 700 %s", home, (unsigned)(st.st_mode & 0777),
             home);
    else
        line(d, "ok", "home", "%s", home);
    line(d, "ok", "config", "%s (egress, limits.json, shell)", el_runtime_config_dir(d->rt));
    line(d, "ok", "cache", "%s", el_runtime_cache_dir(d->rt));
}

static void check_system_trust(doctor *d)
{
    char path[PATH_MAX];
    el_error err;
    if (el_trust_system_path(path, &err) != EL_OK) {
        line(d, "note", "system trust", "%s", err.msg);
        return;
    }
    el_status s = el_trust_system_check_file(path, &err);
    if (s == EL_ERR_NOTFOUND)
        line(d, "note", "system trust", "%s is absent (the shipped shell's publisher must then be trusted by hand)",
             path);
    else if (s != EL_OK)
        line(d, "FIX", "system trust", "%s", err.msg);
    else {
        el_trust_entry *v;
        size_t n;
        if (el_trust_list_system(&v, &n, &err) != EL_OK)
            line(d, "FIX", "system trust", "%s", err.msg);
        else {
            line(d, "ok", "system trust", "%s (%zu publisher%s, read-only)", path, n, n == 1 ? "" : "s");
            free(v);
        }
    }
}

/* The shell capsule: found, and verifying from a trusted publisher (else every decision the
 * shell would make is denied). */
static void check_shell(doctor *d)
{
    char path[PATH_MAX];
    el_error err;
    if (el_shell_locate(d->rt, path, &err) != EL_OK) {
        line(d, "FIX", "shell", "%s: every capability request outside --grant is denied; set ELASTOS_SHELL to a shell "
             "capsule or reinstall elastos", err.msg);
        return;
    }
    char canon[PATH_MAX];
    if (realpath(path, canon))
        snprintf(path, sizeof path, "%s", canon);
    el_artifact *a;
    if (el_artifact_open(d->rt, path, 0, &a, &err) == EL_OK) {
        const char *who = el_artifact_publisher_name(a);
        line(d, "ok", "shell", "%s (publisher %s)", path, who && *who ? who : "trusted");
        el_artifact_close(a);
        return;
    }
    if (err.code == EL_ERR_TRUST && el_artifact_open(d->rt, path, EL_OPEN_ANY_PUBLISHER, &a, &err) == EL_OK) {
        char t[EL_PK_TEXT];
        el_sign_pubkey_format(el_artifact_publisher(a), t);
        el_artifact_close(a);
        line(d, "FIX", "shell", "%s is signed by %s, which this host does not trust, so every shell decision is denied;",
             path, t);
        printf("      if you installed it yourself, trust its publisher: elastos trust add %s --name shell\n", t);
        return;
    }
    line(d, "FIX", "shell", "%s", err.msg);
}

static void check_publishers(doctor *d)
{
    el_trust_entry *v;
    size_t n;
    el_error err;
    if (el_trust_list(d->rt, &v, &n, &err) != EL_OK) {
        line(d, "FIX", "trust", "%s", err.msg);
        return;
    }
    free(v);
    if (n == 0)
        line(d, "note", "trust", "no publishers trusted in this home yet: capsules you sign are refused (77) until you "
             "run elastos trust add KEYDIR/publisher.pub --name me");
    else
        line(d, "ok", "trust", "%zu publisher%s trusted in this home (elastos trust list)", n, n == 1 ? "" : "s");
}

static void check_key(doctor *d)
{
    char path[PATH_MAX];
    el_error err;
    struct stat st;
    if (el_runtime_path(d->rt, "keys/publisher.key", path, sizeof path, &err) == EL_OK && stat(path, &st) == 0)
        line(d, "ok", "key", "%s", path);
    else
        line(d, "note", "key", "no publisher key in this home; to sign capsules make one: elastos keygen (or keygen --out DIR)");
}

static void check_daemon(doctor *d)
{
    int fd;
    el_error err;
    if (el_serve_connect(d->rt, &fd, &err) == EL_OK) {
        close(fd);
        line(d, "ok", "daemon", "running (elastos serve --status)");
    } else {
        line(d, "note", "daemon", "not running (only run --detach, ps, logs and stop need it: elastos serve)");
    }
}

static void check_kvm(doctor *d)
{
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        line(d, "ok", "kvm", "/dev/kvm is usable (vm capsules run with KVM)");
    else
        line(d, "note", "kvm", "/dev/kvm is not usable: vm capsules run under slower emulation (TCG), docs/vm.md");
}

int cmd_doctor(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage("doctor", "unexpected argument \"%s\"", argv[1]);
    doctor d = {0};
    int rc = cli_open_runtime(&d.rt);
    if (rc)
        return rc;
    printf("elastos %s (wasmtime %s)\n", EL_VERSION, el_runtime_wasmtime_version());
    check_home(&d);
    check_system_trust(&d);
    check_shell(&d);
    check_publishers(&d);
    check_key(&d);
    check_daemon(&d);
    check_kvm(&d);
    el_runtime_close(d.rt);
    if (d.fixes)
        printf("%d thing%s to fix (the FIX lines above say how)\n", d.fixes, d.fixes == 1 ? "" : "s");
    else
        printf("nothing to fix\n");
    return d.fixes ? EL_ERR_CONFIG : 0;
}
