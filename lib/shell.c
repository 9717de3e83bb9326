/*
 * shell.c - consulting the shell capsule for a capability decision (include/elastos/shell.h).
 * The runtime only transports the question and enforces the answer; the policy is the shell's.
 */
#include "elastos/shell.h"
#include "elastos/artifact.h"
#include "elastos/store.h"
#include "elastos/wasm.h"
#include "internal.h"
#include "session.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the shell comes from: $ELASTOS_SHELL, $ELASTOS_HOME/config/shell, or the shipped one. */
static el_status shell_path(el_runtime *rt, char *out, el_error *err)
{
    char conf[PATH_MAX], buf[PATH_MAX];
    const char *choice = getenv("ELASTOS_SHELL");
    if (!choice || !*choice) {
        snprintf(conf, sizeof conf, "%s/config/shell", rt->home);
        char *text;
        size_t len;
        if (el_read_file(conf, PATH_MAX - 1, &text, &len, err) == EL_OK) {
            while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = 0;
            snprintf(buf, sizeof buf, "%s", text);
            free(text);
            choice = buf;
        }
    }
    if (choice && *choice) {
        struct stat st;
        if (stat(choice, &st) == 0) {
            snprintf(out, PATH_MAX, "%s", choice);
            return EL_OK;
        }
        return el_store_locate(rt, choice, out, err);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return el_error_set(err, EL_ERR_NOTFOUND, "cannot locate the shipped shell capsule");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    *slash = 0;
    const char *candidates[] = {"../share/elastos/shell.capsule", "../capsules/shell.capsule"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, PATH_MAX, "%s/%s", exe, candidates[i]);
        if (access(out, R_OK) == 0)
            return EL_OK;
    }
    return el_error_set(err, EL_ERR_NOTFOUND, "no shell capsule found (set ELASTOS_SHELL)");
}

el_status el_shell_locate(el_runtime *rt, char *path, el_error *err) { return shell_path(rt, path, err); }

/* The shell asks on the controlling terminal (/dev/tty) when there is one and stdin is that
 * terminal or a pipe: `data | elastos run X` still prompts, as sudo and ssh do; stdin from a file
 * or /dev/null means "no questions" (scripts, the daemon). */
static bool have_tty(void)
{
    struct stat st;
    if (!isatty(STDIN_FILENO) && !(fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)))
        return false;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

void el_shell_decide(el_runtime *rt, const el_decision_request *q, el_decision *d, char reason[256])
{
    *d = EL_DECIDE_DENY;
    el_error err;
    if (!rt->shell) {
        char path[PATH_MAX];
        if (shell_path(rt, path, &err) != EL_OK || el_artifact_open(rt, path, 0, &rt->shell, &err) != EL_OK) {
            /* reason is short (256): the whole story, with the fix, is elastos doctor's */
            snprintf(reason, 256, "no usable shell capsule (%s; run elastos doctor for why and the fix)",
                     err.code == EL_ERR_TRUST ? "its publisher is not trusted" : err.code == EL_ERR_NOTFOUND ? "none found" : "it does not verify");
            return;
        }
    }
    const el_manifest *m = el_artifact_manifest(rt->shell);
    if (m->type != EL_TYPE_WASM) {
        snprintf(reason, 256, "the shell capsule must be of type wasm");
        return;
    }
    char id[33], config[PATH_MAX];
    el_random_hex(id, 16);
    snprintf(config, sizeof config, "%s/shell", rt->home);
    if (el_mkdirs(config, 0700, &err) != EL_OK) {
        snprintf(reason, 256, "%.200s", err.msg);
        return;
    }
    el_session *s;
    if (el_session_new_shell(rt, rt->shell, id, q, &s, &err) != EL_OK) {
        snprintf(reason, 256, "%.200s", err.msg);
        return;
    }
    bool tty = have_tty();
    el_wasm_options o = {.capsule_id = id,
                         .session = s,
                         .preopen_host = config,
                         .preopen_guest = "/config",
                         .preopen_writable = true,
                         .stdio = tty ? EL_STDIO_TTY : EL_STDIO_NONE,
                         .extra_env_name = "ELASTOS_SHELL_TTY",
                         .extra_env_value = tty ? "1" : "0"};
    el_wasm_result res;
    el_status st = el_wasm_run(rt, rt->shell, &o, &res, &err);
    *d = el_session_shell_result(s, reason);
    if (st != EL_OK) {
        *d = EL_DECIDE_DENY;
        snprintf(reason, 256, "the shell failed: %.200s", err.msg);
    }
    el_session_free(s);
}
