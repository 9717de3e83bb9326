/*
 * shell.c - locating, loading and running the shell capsule for a capability decision
 * (lib/shell.h). The runtime only transports the question and enforces the answer;
 * the policy is the shell's. The question and the answer travel over the channel the broker
 * gives el__shell_run (its shell session), so this file knows nothing of sessions; and it is run
 * by the host's shell runner (launch.c registers it on the runtime), so this file, in the policy
 * layer, never calls a substrate.
 */
#include "shell_internal.h"
#include "elastos/artifact.h"
#include "elastos/store.h"
#include "internal.h"

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
    const char *choice = el__config(rt, EL_CONFIG_SHELL);
    if (!choice) {
        char *text;
        size_t len;
        unsigned mode;
        if (el__config_file(rt, "shell", PATH_MAX - 1, &text, &len, &mode, conf, sizeof conf, err) == EL_OK) {
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
    if (el_fs_exe_path(exe, true, err) != EL_OK)
        return el_error_set(err, EL_ERR_NOTFOUND, "cannot locate the shipped shell capsule");
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

static void shell_close(el_runtime *rt)
{
    el_artifact_close(rt->shell);
    rt->shell = NULL;
}

el_status el__shell_load(el_runtime *rt, const el_artifact **art, char reason[256])
{
    el_error err;
    if (!rt->shell) {
        char path[PATH_MAX];
        if (shell_path(rt, path, &err) != EL_OK || el_artifact_open(rt, path, 0, &rt->shell, &err) != EL_OK) {
            /* reason is short (256): the whole story, with the fix, is elastos doctor's */
            snprintf(reason, 256, "no usable shell capsule (%s; run elastos doctor for why and the fix)",
                     err.code == EL_ERR_TRUST ? "its publisher is not trusted" : err.code == EL_ERR_NOTFOUND ? "none found" : "it does not verify");
            return err.code;
        }
        el__runtime_on_close(rt, EL__TEARDOWN_USERS, shell_close);
    }
    const el_manifest *m = el_artifact_manifest(rt->shell);
    if (m->type != EL_TYPE_WASM) {
        snprintf(reason, 256, "the shell capsule must be of type wasm");
        return EL_ERR_FORMAT;
    }
    *art = rt->shell;
    return EL_OK;
}

el_status el__shell_run(el_runtime *rt, const el_channel *ch, char reason[256])
{
    el_error err;
    el__shell_runner run = el__runtime_shell_runner(rt);
    if (!run) {
        snprintf(reason, 256, "no host runs the shell capsule here (capsules are launched through el_launch)");
        return EL_ERR_CONFIG;
    }
    char config[PATH_MAX];
    snprintf(config, sizeof config, "%s/shell", rt->home);
    if (el_fs_mkdirs(config, 0700, &err) != EL_OK) {
        snprintf(reason, 256, "%.200s", err.msg);
        return err.code;
    }
    el_status st = run(rt, rt->shell, ch, config, have_tty(), &err);
    if (st != EL_OK)
        snprintf(reason, 256, "the shell failed: %.200s", err.msg);
    return st;
}
