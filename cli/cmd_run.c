/* cmd_run.c - `elastos run`: the arguments, then the library's one launch path (launch.h), or
 * the daemon for --detach; the capsule's exit status is ours. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elastos/launch.h"

/* el_launch_spec.stuck: the capsule passed a limit while blocked in a host call that cannot be
 * cut short (a read of our stdin, say); the kill is audited already: the process ends with 137. */
static void run_stuck(void *arg, const char *reason)
{
    (void)arg;
    fprintf(stderr, "elastos: %s\n", reason);
    fflush(stderr);
    _exit(137);
}

int cmd_run(int argc, char **argv)
{
    const char *target = NULL;
    const char **grants = calloc((size_t)argc, sizeof *grants);
    size_t n_grants = 0;
    bool detach = false;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--detach"))
            detach = true;
        else if (!strcmp(argv[i], "--grant") && i + 1 < argc)
            grants[n_grants++] = argv[++i];
        else if (!strncmp(argv[i], "--grant=", 8))
            grants[n_grants++] = argv[i] + 8;
        else if (!target && argv[i][0] != '-')
            target = argv[i];
        else {
            free(grants);
            if (target && argv[i][0] != '-')
                return cli_usage("run", "unexpected argument \"%s\": capsule arguments go after --, as in "
                                 "elastos run %s -- %s", argv[i], target, argv[i]);
            return cli_usage("run", "unexpected argument \"%s\"", argv[i]);
        }
    }
    if (!target) {
        free(grants);
        return cli_usage("run", "needs FILE or CID");
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc) {
        free(grants);
        return rc;
    }
    if (detach) {
        rc = cli_run_detach(rt, target, grants, n_grants, argv + i, (size_t)(argc - i));
    } else {
        cli_tty tty = cli_tty_init(); /* a vm capsule's console makes the terminal raw: ours to restore */
        el_launch_spec spec = {.target = target, .flags = EL_LAUNCH_FETCH, .args = (const char *const *)argv + i,
                               .n_args = (size_t)(argc - i), .grants = grants, .n_grants = n_grants,
                               .tty = cli_tty_event, .tty_arg = &tty, .stuck = run_stuck};
        el_launch_result res;
        el_error err;
        fflush(stdout); /* what we printed comes before what the capsule prints */
        el_status st = el_launch(rt, &spec, &res, &err);
        rc = st == EL_OK ? res.exit_code : cli_fail(&err);
        if (st == EL_OK)
            cli_verbose("instance %s of %s exited %d", res.capsule_id, target, res.exit_code);
    }
    el_runtime_close(rt);
    free(grants);
    return rc;
}
