/* cmd_run.c - `elastos run`: resolve, verify, and run a capsule; its exit status is ours. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elastos/broker.h"
#include "elastos/instance.h"
#include "elastos/store.h"
#include "elastos/vm.h"
#include "elastos/wasm.h"

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
    char path[PATH_MAX];
    el_artifact *a = NULL;
    el_session *s = NULL;
    el_error err;
    rc = cli_resolve(rt, target, path);
    if (!rc && detach) {
        rc = cli_run_detach(rt, path, grants, n_grants, argv + i, (size_t)(argc - i));
        el_runtime_close(rt);
        free(grants);
        return rc;
    }
    if (!rc && el_artifact_open(rt, path, 0, &a, &err) != EL_OK)
        rc = cli_fail(&err);
    const el_manifest *m = rc ? NULL : el_artifact_manifest(a);
    if (m && el_store_check_deps(rt, m, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc && m && m->type != EL_TYPE_WASM && m->type != EL_TYPE_AGENT && m->type != EL_TYPE_VM)
        rc = cli_failf(EL_ERR_USAGE, "%s: capsules of type %s cannot be run by this version", m->name,
                       el_capsule_type_name(m->type));
    int slot = -1; /* resource_limits.max_instances, counted host-wide with the daemon's */
    if (!rc && el_instance_slot(rt, a, &slot, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc && el_session_new(rt, a, NULL, &s, &err) != EL_OK)
        rc = cli_fail(&err);
    for (size_t g = 0; !rc && g < n_grants; g++)
        if (el_session_grant(s, grants[g], &err) != EL_OK)
            rc = cli_fail(&err);
    if (!rc && m->type == EL_TYPE_VM) {
        cli_tty tty = cli_tty_init();
        el_vm_options vo = {.args = (const char *const *)argv + i, .n_args = (size_t)(argc - i), .channel = el_session_channel(s),
                            .tty = cli_tty_event, .tty_arg = &tty};
        el_vm_result vr;
        fflush(stdout);
        el_status st = el_vm_run(rt, a, &vo, &vr, &err);
        rc = st == EL_OK ? vr.exit_code : cli_fail(&err);
    } else if (!rc) {
        char storage[PATH_MAX];
        bool writable = false;
        el_wasm_options o = {.args = (const char *const *)argv + i, .n_args = (size_t)(argc - i), .capsule_id = el_session_capsule_id(s),
                             .channel = el_session_channel(s)};
        if (el_session_storage_preopen(s, storage, sizeof storage, &writable)) {
            o.preopen_host = storage;
            o.preopen_guest = "/storage";
            o.preopen_writable = writable;
        }
        el_wasm_result res;
        fflush(stdout);
        el_status st = el_wasm_run(rt, a, &o, &res, &err);
        el_error ae;
        if ((st == EL_ERR_LIMIT || st == EL_ERR_TRAP) && el_instance_audit_kill(rt, a, o.capsule_id, err.msg, &ae) != EL_OK)
            fprintf(stderr, "elastos: warning: audit append failed: %s\n", ae.msg);
        rc = st == EL_OK ? res.exit_code : cli_fail(&err);
    }
    if (slot >= 0)
        close(slot);
    el_session_free(s);
    el_artifact_close(a);
    el_runtime_close(rt);
    free(grants);
    return rc;
}
