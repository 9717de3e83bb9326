/*
 * cmd_open.c - `elastos open CID|FILE [-- ARGS...]`: a data capsule opened in its viewer.
 *
 * The data capsule is verified (signature, trusted publisher) and added to the store (cached,
 * like run CID), so its content is served by CID; its viewer (manifest "viewer": a CID, from the
 * store or fetched from $ELASTOS_KUBO_API / $ELASTOS_GATEWAYS, or name@range among installed
 * trusted capsules) is verified the same way
 * and must be a wasm capsule. The viewer runs with one read token, issued by the runtime to that
 * viewer instance, for exactly elastos://cid/<data-cid>/<entry>; the token expires with the
 * viewer's wall-clock limit and is revoked as soon as the viewer exits. The viewer learns what
 * to open from ELASTOS_OPEN_URI, ELASTOS_OPEN_TOKEN and ELASTOS_OPEN_CID (docs/data-capsules.md).
 */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elastos/audit.h"
#include "elastos/broker.h"
#include "elastos/store.h"
#include "elastos/token.h"
#include "elastos/wasm.h"

/* Finds the viewer named by a data capsule: a CID (store, then gateways) or name@range. */
static int resolve_viewer(el_runtime *rt, const char *data_name, const char *viewer, char *path)
{
    el_error err;
    if (el_cid_validate(viewer, &err) == EL_OK) {
        el_status s = el_store_locate(rt, viewer, path, &err);
        if (s == EL_ERR_NOTFOUND && cli_have_sources()) { /* cached, not pinned, like run CID */
            int rc = cli_fetch_install(rt, viewer, NULL, 0, 0);
            if (rc)
                return rc;
            s = el_store_locate(rt, viewer, path, &err);
        }
        if (s == EL_ERR_NOTFOUND)
            return cli_failf(EL_ERR_NOTFOUND, "%s: its viewer %s is not installed (elastos fetch or install it)",
                             data_name, viewer);
        return s == EL_OK ? 0 : cli_fail(&err);
    }
    const char *at = strchr(viewer, '@'); /* the manifest parser checked name@range */
    char name[128], cid[EL_CID_MAX];
    snprintf(name, sizeof name, "%.*s", at ? (int)(at - viewer) : (int)strlen(viewer), viewer);
    if (el_store_resolve(rt, name, at ? at + 1 : NULL, cid, path, &err) != EL_OK)
        return cli_failf(EL_ERR_NOTFOUND, "%s: no installed, trusted viewer matches %s (install one)", data_name, viewer);
    return 0;
}

static void audit_open(el_runtime *rt, const el_manifest *vm, const char *id, const char *pub, const char *decision,
                       const char *resource, const char *reason, const char *tid)
{
    el_audit_record r = {.capsule = vm->name, .capsule_id = id, .publisher = pub, .resource = resource,
                         .action = resource[0] ? "read" : "", .decision = decision, .reason = reason, .token_id = tid};
    el_error err;
    if (el_audit_append(rt, &r, &err) != EL_OK)
        fprintf(stderr, "elastos: warning: audit append failed: %s\n", err.msg);
}

int cmd_open(int argc, char **argv)
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
            return cli_usage("open", "unexpected argument \"%s\"", argv[i]);
    }
    if (!target)
        return cli_usage("open", "needs CID or FILE");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char path[PATH_MAX], vpath[PATH_MAX], cid[EL_CID_MAX] = "", stored[PATH_MAX];
    el_artifact *data = NULL, *viewer = NULL;
    el_session *s = NULL;
    el_error err;
    rc = cli_resolve(rt, target, path);
    if (!rc && el_artifact_open(rt, path, 0, &data, &err) != EL_OK)
        rc = cli_fail(&err);
    const el_manifest *m = rc ? NULL : el_artifact_manifest(data);
    if (m && (m->type != EL_TYPE_DATA || !m->viewer))
        rc = cli_failf(EL_ERR_FORMAT, "%s is a %s capsule, not a data capsule with a viewer (use elastos run)", m->name,
                       el_capsule_type_name(m->type));
    /* The viewer reads the content by CID from the store: install it there (verified again). */
    if (!rc && el_artifact_cid(data, cid, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc && el_store_locate(rt, cid, stored, &err) != EL_OK) {
        char got[EL_CID_MAX];
        if (el_store_add(rt, path, 0, got, &err) != EL_OK) /* a cache entry, like run CID */
            rc = cli_fail(&err);
        else if (strcmp(got, cid) != 0)
            rc = cli_failf(EL_ERR_TRUST, "%s changed while it was being opened", path);
    }
    if (!rc)
        rc = resolve_viewer(rt, m->name, m->viewer, vpath);
    if (!rc && el_artifact_open(rt, vpath, 0, &viewer, &err) != EL_OK)
        rc = cli_failf(err.code, "%s: viewer %s: %s", m->name, m->viewer, err.msg);
    if (!rc && el_cid_validate(m->viewer, &err) == EL_OK) {
        char vcid[EL_CID_MAX];
        if (el_artifact_cid(viewer, vcid, &err) != EL_OK)
            rc = cli_fail(&err);
        else if (strcmp(vcid, m->viewer) != 0)
            rc = cli_failf(EL_ERR_TRUST, "%s: the stored viewer does not match its CID %s", m->name, m->viewer);
    }
    const el_manifest *vm = rc ? NULL : el_artifact_manifest(viewer);
    if (vm && vm->type != EL_TYPE_WASM)
        rc = cli_failf(EL_ERR_FORMAT, "%s: viewer %s is a %s capsule; a viewer must be a wasm capsule", m->name, vm->name,
                       el_capsule_type_name(vm->type));
    if (!rc && el_store_check_deps(rt, vm, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc && el_session_new(rt, viewer, NULL, &s, &err) != EL_OK)
        rc = cli_fail(&err);
    if (rc) {
        el_artifact_close(viewer);
        el_artifact_close(data);
        el_runtime_close(rt);
        return rc;
    }

    /* One token for exactly the opened content, for this viewer instance only. */
    char uri[EL_RESOURCE_MAX + 1], pub[EL_PK_TEXT], tid[EL_TOKEN_ID_HEX] = "";
    snprintf(uri, sizeof uri, "elastos://cid/%s/%s", cid, m->entry);
    el_pubkey_format(el_artifact_publisher(viewer), pub);
    const char *id = el_session_capsule_id(s);
    el_token_request tr = {.holder_hex = id, .capsule_name = vm->name, .publisher = pub, .resource = uri,
                           .action = EL_ACT_READ, .expiry_secs = vm->limits.wall_ms / 1000 + 2};
    char *token = NULL;
    el_token tok;
    if (el_token_issue(rt, &tr, &token, &tok, &err) != EL_OK)
        rc = cli_fail(&err);
    if (!rc) {
        el_hex_encode(tok.id, 16, tid);
        char why[EL_CID_MAX + 96];
        snprintf(why, sizeof why, "elastos open %s: the opened content, while the viewer runs", cid);
        audit_open(rt, vm, id, pub, EL_AUDIT_GRANT, uri, why, tid);
        const char *names[] = {"ELASTOS_OPEN_URI", "ELASTOS_OPEN_TOKEN", "ELASTOS_OPEN_CID"};
        const char *values[] = {uri, token, cid};
        el_wasm_options o = {.args = (const char *const *)argv + i, .n_args = (size_t)(argc - i), .capsule_id = id,
                             .channel = el_session_channel(s), .env_names = names, .env_values = values, .n_env = 3};
        el_wasm_result res;
        fflush(stdout);
        el_status st = el_wasm_run(rt, viewer, &o, &res, &err);
        rc = st == EL_OK ? res.exit_code : cli_fail(&err);
        /* However the viewer ended, its token ends with it. */
        if (el_token_revoke(rt, tid, &err) != EL_OK)
            rc = cli_fail(&err);
        else
            audit_open(rt, vm, id, pub, EL_AUDIT_REVOKE, uri, "the viewer exited", tid);
    }
    free(token);
    el_session_free(s);
    el_artifact_close(viewer);
    el_artifact_close(data);
    el_runtime_close(rt);
    return rc;
}
