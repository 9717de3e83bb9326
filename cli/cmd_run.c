/* cmd_run.c - `elastos run`: resolve, verify, and run a capsule; its exit status is ours. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "elastos/wasm.h"

int cmd_run(int argc, char **argv)
{
    const char *target = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!target && argv[i][0] != '-')
            target = argv[i];
        else
            return cli_usage("run", "unexpected argument \"%s\"", argv[i]);
    }
    if (!target)
        return cli_usage("run", "needs FILE or CID");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char path[PATH_MAX];
    el_artifact *a = NULL;
    el_error err;
    rc = cli_resolve(rt, target, path);
    if (!rc && el_artifact_open(rt, path, 0, &a, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc) {
        const el_manifest *m = el_artifact_manifest(a);
        if (m->type == EL_TYPE_WASM || m->type == EL_TYPE_AGENT) {
            el_wasm_result res;
            fflush(stdout);
            el_status s = el_wasm_run(rt, a, (const char *const *)argv + i, (size_t)(argc - i), &res, &err);
            rc = s == EL_OK ? res.exit_code : cli_fail(&err);
        } else {
            rc = cli_failf(EL_ERR_USAGE, "%s: capsules of type %s cannot be run by this version", m->name,
                           el_capsule_type_name(m->type));
        }
    }
    el_artifact_close(a);
    el_runtime_close(rt);
    return rc;
}
