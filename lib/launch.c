/*
 * launch.c - the one launch path (include/elastos/launch.h): resolve, verify, type, deps,
 * limits, slot, session, token, run, kill audit, cleanup, for every capsule type and caller.
 *
 * Shaped as a pipeline of small steps, each a static function named after its step, so that
 * el_launch_prepare and el_launch_run read top to bottom as the list in launch.h. The launch
 * context (el_launch_ctx) owns everything a step acquires; el_launch_free releases whatever was
 * acquired, so a step that fails simply returns and the caller frees. This is the only file
 * outside the substrates that calls el_wasm_run or el_vm_run: the shell capsule too is run from
 * here (run_shell, the runner el_launch_prepare registers for shell.c).
 *
 * Threads: a standalone caller passes no lock. serve.c prepares with its runtime mutex held and
 * runs on a capsule thread without it; whatever the run side does to the shared runtime (kill
 * audit, token revocation) goes through spec->lock, and fetching a CID (network) releases it.
 * A standalone run that calls a provider capsule keeps that provider running on a thread of its
 * own for the rest of the run (run_provider); from then on the two share one mutex, taken around
 * every request either makes (the gate), as serve.c's runtime mutex is.
 */
#include "elastos/launch.h"
#include "elastos/audit.h"
#include "elastos/fs.h"
#include "instance.h"
#include "elastos/sign.h"
#include "elastos/store.h"
#include "elastos/token.h"
#include "elastos/vm.h"
#include "broker_internal.h"
#include "internal.h"
#include "provider.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 32
#define OPEN_ENV 3 /* ELASTOS_OPEN_URI, _TOKEN, _CID */

struct el_launch_ctx {
    el_runtime *rt;
    const el_launch_spec *spec;
    el_artifact *owned;     /* what runs, when opened here (NULL: spec->artifact) */
    el_artifact *data;      /* EL_LAUNCH_OPEN: the data capsule */
    const el_artifact *art; /* what runs */
    const el_manifest *m;
    char path[PATH_MAX];    /* the file the target resolved to ("" for spec->artifact) */
    char cid[EL_CID_MAX];
    el_limits limits;       /* the manifest's, narrowed by spec->limits */
    int slot;               /* instance slot fd, -1 none */
    el_session *s;
    char storage[PATH_MAX];
    bool preopen, writable;
    const char **env_names, **env_values; /* spec's, then the open variables */
    size_t n_env;
    /* EL_LAUNCH_OPEN */
    char open_cid[EL_CID_MAX], open_uri[EL_RESOURCE_MAX + 1], token_id[EL_TOKEN_ID_HEX];
    char *token;
    bool ran;
    /* Standalone (spec->gate NULL): the provider instances this run keeps (run_provider) */
    struct kept_run *kr; /* NULL until its first forwarded call */
    bool in_gate;        /* the consumer's thread holds kr->mu for its current request */
};

static void hold(const el_launch_spec *spec, bool on)
{
    if (spec->lock)
        spec->lock(spec->gate_arg, on);
}

/* ---- 1. resolve ------------------------------------------------------------------------------ */

/* Sources named by $ELASTOS_KUBO_API, then the space-separated $ELASTOS_GATEWAYS (config.h);
 * *copy owns the strings split from the setting. */
static size_t configured_sources(el_runtime *rt, el_fetch_source *v, char **copy)
{
    size_t n = 0;
    const char *api = el__config(rt, EL_CONFIG_KUBO_API);
    if (api && *api)
        v[n++] = (el_fetch_source){EL_SOURCE_KUBO_API, api};
    const char *env = el__config(rt, EL_CONFIG_GATEWAYS);
    *copy = env ? strdup(env) : NULL;
    char *save;
    for (char *t = *copy ? strtok_r(*copy, " \t\n", &save) : NULL; t && n < MAX_SOURCES; t = strtok_r(NULL, " \t\n", &save))
        v[n++] = (el_fetch_source){EL_SOURCE_GATEWAY, t};
    return n;
}

static bool have_sources(el_runtime *rt)
{
    const char *a = el__config(rt, EL_CONFIG_KUBO_API), *g = el__config(rt, EL_CONFIG_GATEWAYS);
    return (a && *a) || (g && *g);
}

/* Fetches cid into a fresh temporary file tmp (verified by CID), with the runtime released;
 * its bytes also go to ph (el__fetch), for a one-pass install. */
static el_status fetch_to_tmp(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t n,
                              el_fetch_progress_fn progress, void *ud, el_launch_lock_fn lock, void *arg,
                              el__prehash *ph, char *tmp, el_error *err)
{
    char dir[PATH_MAX], partial[PATH_MAX], r[17];
    el__random_hex(r, 8); /* several daemon threads may fetch the same CID at once */
    el_status st = el_runtime_path(rt, "tmp", dir, sizeof dir, err);
    if (st == EL_OK)
        st = el_fs_mkdirs(dir, 0700, err);
    if (st == EL_OK)
        st = el_runtime_path(rt, "tmp/partial", partial, sizeof partial, err);
    if (st == EL_OK &&
        (size_t)snprintf(tmp, PATH_MAX, "%s/fetch-%ld-%s-%s.capsule", dir, (long)getpid(), r, cid) >= PATH_MAX)
        st = el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long for a temporary path");
    if (st != EL_OK)
        return st;
    el_fetch_options o = {.sources = srcs, .n_sources = n, .partial_dir = partial, .progress = progress,
                          .progress_ud = ud};
    if (lock)
        lock(arg, false);
    st = el__fetch(rt, cid, &o, tmp, ph, err);
    if (lock)
        lock(arg, true);
    return st;
}

/* After an install (st its outcome, a the installed artifact or NULL): a wasm capsule's code is
 * compiled into the cache now, so its first run is a warm one. Best effort: a module that does not
 * compile, or a compile past the capsule's wall_ms, only leaves the first run to compile (and
 * report) as before. Closes a; returns st. */
static el_status compile_ahead(el_runtime *rt, el_status st, el_artifact *a)
{
    if (st == EL_OK && a) {
        el_error ignored;
        (void)el__wasm_precompile(rt, a, &ignored);
    }
    el_artifact_close(a);
    return st;
}

el_status el_launch_fetch(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t n_srcs,
                          unsigned store_flags, el_fetch_progress_fn progress, void *progress_ud,
                          el_launch_lock_fn lock, void *arg, el_error *err)
{
    char have[PATH_MAX], installed[EL_CID_MAX];
    el_artifact *a = NULL;
    if (el_store_locate(rt, cid, have, err) == EL_OK) { /* already here: verified again, maybe pinned */
        el_status st = el__store_add_keep(rt, have, store_flags, installed, &a, err);
        return compile_ahead(rt, st, a);
    }
    el_fetch_source env[MAX_SOURCES];
    char *copy = NULL;
    if (n_srcs == 0) {
        n_srcs = configured_sources(rt, env, &copy);
        srcs = env;
    }
    char tmp[PATH_MAX];
    el__prehash *ph = el__prehash_new(); /* NULL (out of memory): the download is opened instead */
    el_status st = n_srcs ? fetch_to_tmp(rt, cid, srcs, n_srcs, progress, progress_ud, lock, arg, ph, tmp, err)
                          : el_error_set(err, EL_ERR_CONFIG,
                                         "%s: not in the local store, and no IPFS source configured (pass --gateway "
                                         "URL or --api URL, or set ELASTOS_GATEWAYS=\"URL...\" or ELASTOS_KUBO_API=URL)",
                                         cid);
    free(copy);
    if (st == EL_OK) /* one pass: verified from the digests of the download, renamed into the store */
        st = el__store_add_fetched(rt, tmp, ph, cid, store_flags, &a, err);
    el__prehash_free(ph);
    unlink(tmp); /* (gone when it was renamed into the store; fetch leaves nothing on failure) */
    return compile_ahead(rt, st, a);
}

el_status el_launch_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err)
{
    el_artifact *a = NULL;
    el_status st = el__store_add_keep(rt, file, EL_STORE_PIN, cid_out, &a, err);
    return compile_ahead(rt, st, a);
}

/* A CID from the store, fetched (cached, not pinned) when missing and a source is configured. */
static el_status resolve_cid(el_runtime *rt, const char *cid, unsigned flags, el_launch_lock_fn lock, void *arg,
                             char *path, el_error *err)
{
    el_status st = el_store_locate(rt, cid, path, err);
    if (st != EL_ERR_NOTFOUND || !(flags & EL_LAUNCH_FETCH) || !have_sources(rt))
        return st;
    st = el_launch_fetch(rt, cid, NULL, 0, 0, NULL, NULL, lock, arg, err);
    return st == EL_OK ? el_store_locate(rt, cid, path, err) : st;
}

/* NAME[@RANGE]: the highest matching version among installed, trusted capsules. */
static el_status resolve_name(el_runtime *rt, const char *target, char *path, el_error *err)
{
    const char *at = strchr(target, '@');
    size_t nl = at ? (size_t)(at - target) : strlen(target);
    bool ok = nl > 0 && nl <= 64 && !strchr(target, '/');
    for (size_t i = 0; ok && i < nl; i++)
        ok = (target[i] >= 'a' && target[i] <= 'z') || (target[i] >= '0' && target[i] <= '9') || strchr("._-", target[i]);
    if (!ok)
        return el_error_set(err, EL_ERR_NOTFOUND, "%.200s: no such file, CID, or installed capsule name", target);
    char name[128], cid[EL_CID_MAX];
    snprintf(name, sizeof name, "%.*s", (int)nl, target);
    return el_store_resolve(rt, name, at ? at + 1 : NULL, cid, path, err);
}

/* A target names a file when it looks like one: it contains '/' or ends in ".capsule". */
static bool looks_like_path(const char *t)
{
    size_t n = strlen(t);
    return strchr(t, '/') || (n >= 8 && !strcmp(t + n - 8, ".capsule"));
}

static el_status use_file(const char *target, char *path, el_error *err)
{
    if ((size_t)snprintf(path, PATH_MAX, "%s", target) >= PATH_MAX)
        return el_error_set(err, EL_ERR_USAGE, "path too long");
    return EL_OK;
}

el_status el_launch_resolve(el_runtime *rt, const char *target, unsigned flags, el_launch_lock_fn lock, void *arg,
                            char *path, el_error *err)
{
    el_error ignored;
    if (!target || !*target)
        return el_error_set(err, EL_ERR_USAGE, "nothing to launch: no FILE, CID or NAME");
    if (el_cid_validate(target, &ignored) == EL_OK) /* a CID is a CID, whatever files exist */
        return resolve_cid(rt, target, flags, lock, arg, path, err);
    bool files = !(flags & EL_LAUNCH_NO_FILE);
    if (files && looks_like_path(target)) {
        if (access(target, F_OK) != 0)
            return el_error_set(err, EL_ERR_NOTFOUND, "%.200s: no such file", target);
        return use_file(target, path, err);
    }
    /* A bare word is a name first: a same-named directory (the capsule's sources, say) does not
     * hide the installed capsule; a file of that name is used when the store has none. */
    el_status st = resolve_name(rt, target, path, err);
    struct stat sb;
    if (st != EL_ERR_NOTFOUND || !files || stat(target, &sb) != 0)
        return st;
    if (S_ISREG(sb.st_mode))
        return use_file(target, path, err);
    return el_error_set(err, EL_ERR_NOTFOUND,
                        "%.100s: no installed capsule of that name, and ./%.100s is a directory, not an artifact "
                        "(pack it first: elastos pack %.100s --key KEY)", target, target, target);
}

/* ---- 2. verify ------------------------------------------------------------------------------- */

/* Opens and verifies what spec names (or takes the caller's verified artifact). */
static el_status open_target(el_launch_ctx *l, el_error *err)
{
    const el_launch_spec *spec = l->spec;
    if (spec->artifact) {
        if (!spec->artifact_cid)
            return el_error_set(err, EL_ERR_USAGE, "el_launch: an artifact comes with its artifact_cid");
        l->art = spec->artifact;
        snprintf(l->cid, sizeof l->cid, "%s", spec->artifact_cid);
        return EL_OK;
    }
    el_status st = el_launch_resolve(l->rt, spec->target, spec->flags, spec->lock, spec->gate_arg, l->path, err);
    if (st == EL_OK)
        st = el_artifact_open(l->rt, l->path, EL_OPEN_CID, &l->owned, err);
    if (st == EL_OK)
        st = el_artifact_cid(l->owned, l->cid, err);
    l->art = l->owned;
    return st;
}

/* ---- 3. type (and, for elastos open, the viewer) ----------------------------------------------- */

/* The viewer named by a data capsule: a CID (store, then the configured sources) or name@range,
 * verified, checked to be that CID, and a wasm capsule. */
static el_status open_viewer(el_launch_ctx *l, const el_manifest *dm, el_error *err)
{
    char vpath[PATH_MAX];
    el_error ignored;
    bool by_cid = el_cid_validate(dm->viewer, &ignored) == EL_OK;
    el_status st;
    if (by_cid) {
        st = resolve_cid(l->rt, dm->viewer, EL_LAUNCH_FETCH, l->spec->lock, l->spec->gate_arg, vpath, err);
        if (st == EL_ERR_NOTFOUND)
            return el_error_set(err, EL_ERR_NOTFOUND, "%s: its viewer %s is not installed (elastos fetch or install it)",
                                dm->name, dm->viewer);
    } else if (resolve_name(l->rt, dm->viewer, vpath, err) != EL_OK) {
        return el_error_set(err, EL_ERR_NOTFOUND, "%s: no installed, trusted viewer matches %s (install one)", dm->name,
                            dm->viewer);
    } else {
        st = EL_OK;
    }
    if (st != EL_OK)
        return st;
    if ((st = el_artifact_open(l->rt, vpath, EL_OPEN_CID, &l->owned, err)) != EL_OK)
        return el_error_set(err, err->code, "%s: viewer %s: %.400s", dm->name, dm->viewer, err->msg);
    l->art = l->owned;
    if ((st = el_artifact_cid(l->owned, l->cid, err)) != EL_OK)
        return st;
    if (by_cid && strcmp(l->cid, dm->viewer) != 0)
        return el_error_set(err, EL_ERR_TRUST, "%s: the stored viewer does not match its CID %s", dm->name, dm->viewer);
    const el_manifest *vm = el_artifact_manifest(l->owned);
    if (vm->type != EL_TYPE_WASM)
        return el_error_set(err, EL_ERR_FORMAT, "%s: viewer %s is a %s capsule; a viewer must be a wasm capsule", dm->name,
                            vm->name, el_manifest_type_name(vm->type));
    return EL_OK;
}

/* elastos open: the data capsule goes into the store (its content is served by CID from there),
 * and what runs becomes its viewer. */
static el_status open_data(el_launch_ctx *l, el_error *err)
{
    const el_manifest *dm = el_artifact_manifest(l->art);
    if (dm->type != EL_TYPE_DATA || !dm->viewer)
        return el_error_set(err, EL_ERR_FORMAT, "%s is a %s capsule, not a data capsule with a viewer (use elastos run)",
                            dm->name, el_manifest_type_name(dm->type));
    l->data = l->owned;
    l->owned = NULL;
    snprintf(l->open_cid, sizeof l->open_cid, "%s", l->cid);
    char stored[PATH_MAX], got[EL_CID_MAX];
    if (el_store_locate(l->rt, l->open_cid, stored, err) != EL_OK) {
        el_status st = l->path[0] ? el_store_add(l->rt, l->path, 0, got, err) /* a cache entry, like run CID */
                                  : el_error_set(err, EL_ERR_USAGE, "el_launch: open needs a target, not an artifact");
        if (st != EL_OK)
            return st;
        if (strcmp(got, l->open_cid) != 0)
            return el_error_set(err, EL_ERR_TRUST, "%s changed while it was being opened", l->path);
    }
    snprintf(l->open_uri, sizeof l->open_uri, "elastos://cid/%s/%s", l->open_cid, dm->entry);
    return open_viewer(l, dm, err);
}

static el_status check_type(el_launch_ctx *l, el_error *err)
{
    if (l->spec->flags & EL_LAUNCH_OPEN) {
        el_status st = open_data(l, err);
        if (st != EL_OK)
            return st;
    }
    l->m = el_artifact_manifest(l->art);
    switch (l->m->type) {
    case EL_TYPE_WASM:
    case EL_TYPE_AGENT:
        return EL_OK;
    case EL_TYPE_VM:
        if (l->spec->n_env || l->spec->input_len)
            return el_error_set(err, EL_ERR_USAGE, "%s: a vm capsule takes no extra environment (config.env) or input",
                                l->m->name);
        return EL_OK;
    case EL_TYPE_DATA:
        return el_error_set(err, EL_ERR_USAGE, "%s is a data capsule: it is opened, not run (elastos open %s)",
                            l->m->name, l->cid);
    }
    return el_error_set(err, EL_ERR_USAGE, "%s: capsules of type %s cannot be run by this version", l->m->name,
                        el_manifest_type_name(l->m->type));
}

/* ---- 5. limits ------------------------------------------------------------------------------- */

el_status el__limits_narrow(el_limits *lim, const el_limits *want, const char *what, el_error *err)
{
    static const char *const names[3] = {"memory_mb", "cpu_ms", "wall_ms"};
    uint64_t have[3] = {lim->memory_mb, lim->cpu_ms, lim->wall_ms}, to[3] = {want->memory_mb, want->cpu_ms, want->wall_ms};
    for (int i = 0; i < 3; i++)
        if (to[i] > have[i])
            return el_error_set(err, EL_ERR_USAGE, "%s.%s: %llu is above the manifest's %llu (limits only narrow)", what,
                                names[i], (unsigned long long)to[i], (unsigned long long)have[i]);
    if (to[0])
        lim->memory_mb = (uint32_t)to[0];
    if (to[1])
        lim->cpu_ms = to[1];
    if (to[2])
        lim->wall_ms = to[2];
    return EL_OK;
}

static el_status narrow_limits(el_launch_ctx *l, el_error *err)
{
    l->limits = l->m->limits;
    return l->spec->limits ? el__limits_narrow(&l->limits, l->spec->limits, "limits", err) : EL_OK;
}

/* ---- 7. session: router, grants, storage ---------------------------------------------------- */

static el_status run_provider(void *arg, const el__fwd *f, json_t **result, const char **code, el_error *err);

static el_status start_session(el_launch_ctx *l, el_error *err)
{
    el_status st = el_broker_session_new(l->rt, l->art, NULL, &l->s, err);
    if (st != EL_OK)
        return st;
    el__session_set_forward(l->s, run_provider, l); /* its provider_calls to bound schemes */
    if (l->spec->router)
        el__session_set_router(l->s, l->spec->router);
    for (size_t i = 0; i < l->spec->n_grants; i++)
        if ((st = el_broker_session_grant(l->s, l->spec->grants[i], err)) != EL_OK)
            return st;
    if (l->m->type != EL_TYPE_VM) /* a vm capsule reaches storage through the protocol only */
        l->preopen = el_broker_session_storage_preopen(l->s, l->storage, sizeof l->storage, &l->writable);
    return EL_OK;
}

/* ---- 8. token (elastos open) ----------------------------------------------------------------- */

static el_status audit_open(el_launch_ctx *l, const char *decision, const char *reason, el_error *err)
{
    char pub[EL_PK_TEXT];
    el_sign_pubkey_format(el_artifact_publisher(l->art), pub);
    el_audit_record r = {.capsule = l->m->name, .capsule_id = el_broker_session_capsule_id(l->s), .publisher = pub,
                         .resource = l->open_uri, .action = "read", .decision = decision, .reason = reason,
                         .token_id = l->token_id};
    return el_audit_append(l->rt, &r, err);
}

/* One read token for exactly the opened entry, held by this viewer instance only, expiring with
 * its wall-clock limit; the viewer finds it in ELASTOS_OPEN_URI/_TOKEN/_CID. */
static el_status issue_open_token(el_launch_ctx *l, el_error *err)
{
    char pub[EL_PK_TEXT];
    el_sign_pubkey_format(el_artifact_publisher(l->art), pub);
    el_token_request tr = {.holder_hex = el_broker_session_capsule_id(l->s), .capsule_name = l->m->name, .publisher = pub,
                           .resource = l->open_uri, .action = EL_ACT_READ, .expiry_secs = l->limits.wall_ms / 1000 + 2};
    el_token tok;
    el_status st = el_token_issue(l->rt, &tr, &l->token, &tok, err);
    if (st != EL_OK)
        return st;
    el_sign_hex_encode(tok.id, 16, l->token_id);
    char why[EL_CID_MAX + 96];
    snprintf(why, sizeof why, "elastos open %s: the opened content, while the viewer runs", l->open_cid);
    return audit_open(l, EL_AUDIT_GRANT, why, err); /* unrecorded, it is not handed out */
}

/* The spec's environment, then (open) the three variables of the opened content. */
static el_status build_env(el_launch_ctx *l, el_error *err)
{
    const el_launch_spec *spec = l->spec;
    size_t n = spec->n_env + (l->token ? OPEN_ENV : 0);
    if (!n)
        return EL_OK;
    l->env_names = calloc(n, sizeof *l->env_names);
    l->env_values = calloc(n, sizeof *l->env_values);
    if (!l->env_names || !l->env_values)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < spec->n_env; i++) {
        l->env_names[i] = spec->env_names[i];
        l->env_values[i] = spec->env_values[i];
    }
    l->n_env = spec->n_env;
    if (l->token) {
        const char *names[OPEN_ENV] = {"ELASTOS_OPEN_URI", "ELASTOS_OPEN_TOKEN", "ELASTOS_OPEN_CID"};
        const char *values[OPEN_ENV] = {l->open_uri, l->token, l->open_cid};
        for (size_t i = 0; i < OPEN_ENV; i++, l->n_env++) {
            l->env_names[l->n_env] = names[i];
            l->env_values[l->n_env] = values[i];
        }
    }
    return EL_OK;
}

/* ---- the pipeline ----------------------------------------------------------------------------- */

static el_status run_shell(el_runtime *rt, const el_artifact *shell, const el_channel *ch, const char *config_dir,
                           bool tty, el_error *err);

el_status el_launch_prepare(el_runtime *rt, const el_launch_spec *spec, el_launch_ctx **out, el_error *err)
{
    *out = NULL;
    el_launch_ctx *l = calloc(1, sizeof *l);
    if (!l)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    l->rt = rt;
    l->spec = spec;
    l->slot = -1;
    el__runtime_set_shell_runner(rt, run_shell); /* what runs here may ask the shell */
    el_status st = open_target(l, err);                     /* 1-2: resolve, verify */
    if (st == EL_OK)
        st = check_type(l, err);                            /* 3: type; open: the viewer */
    if (st == EL_OK)
        st = el_store_check_deps(rt, l->m, err);            /* 4: dependencies */
    if (st == EL_OK)
        st = narrow_limits(l, err);                         /* 5: limits */
    if (st == EL_OK)
        st = el__instance_slot(rt, l->art, &l->slot, err);   /* 6: max_instances, host-wide */
    if (st == EL_OK)
        st = start_session(l, err);                         /* 7: session, grants, storage */
    if (st == EL_OK)
        st = el__instance_label(l->slot, el_broker_session_capsule_id(l->s), err); /* who holds the slot */
    if (st == EL_OK && (spec->flags & EL_LAUNCH_OPEN))
        st = issue_open_token(l, err);                      /* 8: the open token */
    if (st == EL_OK)
        st = build_env(l, err);
    if (st != EL_OK) {
        el_launch_free(l);
        return st;
    }
    *out = l;
    return EL_OK;
}

const char *el_launch_capsule_id(const el_launch_ctx *l)
{
    return el_broker_session_capsule_id(l->s);
}

const el_manifest *el_launch_manifest(const el_launch_ctx *l)
{
    return l->m;
}

const char *el_launch_cid(const el_launch_ctx *l)
{
    return l->cid;
}

/* ---- 9. run: the substrates ------------------------------------------------------------------- */

static void audit_kill(el_launch_ctx *l, el_error *err);

/* el_wasm_options.stuck: audits the kill, then the host ends the process (spec->stuck). */
static void run_stuck(void *arg, const char *reason)
{
    el_launch_ctx *l = arg;
    el_error e;
    el_error_set(&e, EL_ERR_LIMIT, "%s", reason);
    audit_kill(l, &e);
    l->spec->stuck(l->spec->stuck_arg, e.msg);
}

static void consumer_gate(void *arg, bool enter);

static el_status run_wasm(el_launch_ctx *l, el_launch_result *res, el_error *err)
{
    const el_launch_spec *spec = l->spec;
    el_wasm_options o = {.args = spec->args, .n_args = spec->n_args, .capsule_id = el_broker_session_capsule_id(l->s),
                         .channel = el_broker_session_channel(l->s), .stdio = spec->stdio, .output = spec->output, .output_arg = spec->output_arg,
                         .input = spec->input, .input_len = spec->input_len, .gate = spec->gate ? spec->gate : consumer_gate,
                         .gate_arg = spec->gate ? spec->gate_arg : l, .stop = spec->stop,
                         .limits = spec->limits ? &l->limits : NULL, .env_names = l->env_names,
                         .env_values = l->env_values, .n_env = l->n_env};
    if (l->preopen) {
        o.preopen_host = l->storage;
        o.preopen_guest = "/storage";
        o.preopen_writable = l->writable;
    }
    if (spec->stuck) {
        o.stuck = run_stuck;
        o.stuck_arg = l;
    }
    el_wasm_result wr;
    el_status st = el_wasm_run(l->rt, l->art, &o, &wr, err);
    res->exit_code = wr.exit_code;
    res->cache_hit = wr.cache_hit;
    return st;
}

static el_status run_vm(el_launch_ctx *l, el_launch_result *res, el_error *err)
{
    const el_launch_spec *spec = l->spec;
    el_vm_options o = {.args = spec->args, .n_args = spec->n_args, .channel = el_broker_session_channel(l->s), .accel = spec->accel,
                       .stdio = spec->stdio, .output = spec->output, .output_arg = spec->output_arg,
                       .gate = spec->gate ? spec->gate : consumer_gate, .gate_arg = spec->gate ? spec->gate_arg : l,
                       .stop = spec->stop, .limits = spec->limits ? &l->limits : NULL,
                       .tty = spec->tty, .tty_arg = spec->tty_arg};
    el_vm_result vr;
    el_status st = el_vm_run(l->rt, l->art, &o, &vr, err);
    res->exit_code = vr.exit_code;
    snprintf(res->accel, sizeof res->accel, "%s", vr.accel);
    return st;
}

/* The shell capsule for one decision (el__shell_runner; the policy layer asks, the host runs):
 * its /config writable, the terminal when it may ask (ELASTOS_SHELL_TTY says which). */
static el_status run_shell(el_runtime *rt, const el_artifact *shell, const el_channel *ch, const char *config_dir,
                           bool tty, el_error *err)
{
    el_wasm_options o = {.capsule_id = ch->capsule_id, .channel = ch, .preopen_host = config_dir,
                         .preopen_guest = "/config", .preopen_writable = true,
                         .stdio = tty ? EL_STDIO_TTY : EL_STDIO_NONE, .extra_env_name = "ELASTOS_SHELL_TTY",
                         .extra_env_value = tty ? "1" : "0"};
    el_wasm_result res;
    return el_wasm_run(rt, shell, &o, &res, err);
}

/* ---- 10. kill audit, and the open token's end ---------------------------------------------- */

/* Every kill of every type, whoever launched it: a kill record with the one-line reason. A kill
 * that cannot be recorded is still reported as the kill, with that said. */
static void audit_kill(el_launch_ctx *l, el_error *err)
{
    el_error ae;
    hold(l->spec, true);
    el_status st = el__instance_audit_kill(l->rt, l->art, el_broker_session_capsule_id(l->s), err->msg, &ae);
    hold(l->spec, false);
    if (st != EL_OK) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (and the kill could not be audited: %.200s)", ae.msg);
    }
}

/* However the viewer ended, its token ends with it (audited). */
static el_status revoke_open_token(el_launch_ctx *l, el_error *err)
{
    if (!l->token_id[0])
        return EL_OK;
    el_error e;
    el_status st = el_token_revoke(l->rt, l->token_id, &e);
    if (st == EL_OK)
        st = audit_open(l, EL_AUDIT_REVOKE, "the viewer exited", &e);
    l->token_id[0] = 0;
    if (st != EL_OK && err)
        *err = e;
    return st;
}

static void kept_run_end(el_launch_ctx *l);

el_status el_launch_run(el_launch_ctx *l, el_launch_result *res, el_error *err)
{
    memset(res, 0, sizeof *res);
    if (l->ran)
        return el_error_set(err, EL_ERR_USAGE, "el_launch_run: this launch has run already");
    l->ran = true;
    snprintf(res->capsule_id, sizeof res->capsule_id, "%s", el_broker_session_capsule_id(l->s));
    res->type = l->m->type;
    el_status st = l->m->type == EL_TYPE_VM ? run_vm(l, res, err) : run_wasm(l, res, err);   /* 9 */
    kept_run_end(l); /* the providers it kept, stopped and joined: nothing else runs from here */
    res->killed = st == EL_ERR_LIMIT || st == EL_ERR_TRAP;
    if (res->killed)
        audit_kill(l, err);                                                                 /* 10 */
    el_status rs = EL_OK;
    if (l->token_id[0]) {
        hold(l->spec, true);
        rs = revoke_open_token(l, st == EL_OK ? err : NULL);                              /* 11 */
        hold(l->spec, false);
    }
    return st != EL_OK ? st : rs;
}

/* ---- provider capsules of a standalone run, kept for the run (provider.h) ----------------------
 *
 * The first call a standalone capsule makes to a bound scheme starts that scheme's provider
 * through this pipeline (its manifest's limits, the binding's operator grants and args, no
 * router, no terminal) on a thread of its own, and the provider serves that call and every later
 * one of this run: a loop of get_provider_call (el__provider_host.next, which waits for the
 * consumer's next call) and answers. When the consumer's run ends, every provider it kept is
 * stopped (its next get_provider_call is not_found, "no more calls"; a stuck one is interrupted
 * by its stop flag) and joined before el_launch_run returns: nothing of this run outlives it.
 *
 * One mutex, kept_run.mu, is the gate of both: taken around every request the consumer or a
 * provider makes (the consumer's only from its first forwarded call on: consumer_gate), released
 * while the consumer waits for an answer and while a provider waits for a call (condition
 * variable cv), so the two threads never use the runtime at once. A call has EL__PROVIDER_CALL_MS;
 * a provider that does not answer by then is stopped and the consumer gets unavailable; one that
 * ended (a crash, a limit, an exit) is started again by the next call. A new CID, grants or args
 * bound to the scheme (an upgrade during the run) stops the old instance and starts the new. */

typedef struct kept_run kept_run;

typedef struct run_prov {
    struct run_prov *next;
    kept_run *kr;
    char scheme[EL_RESOURCE_MAX + 1];
    char cid[EL_CID_MAX];
    el_artifact *art;        /* a reference for the instance's life (el__artifact_ref) */
    char **grants, **args;   /* copies: the binding's are freed after the call */
    size_t n_grants, n_args;
    el_launch_spec spec;     /* what pl was prepared from (pl keeps a pointer to it) */
    el_launch_ctx *pl;       /* the provider's launch */
    pthread_t th;
    bool started, ended;     /* its thread; it ran to its end (el_launch_run returned) */
    el_status end_st;
    bool quit;               /* no more calls: its next get_provider_call is not_found */
    volatile int stop;       /* its spec.stop: the instance is killed (audited) */
    const el__fwd *call;     /* the call waiting to be taken (the consumer's, on its stack) */
    uint64_t taken;          /* the call id it took and has not answered (0: none) */
    bool answered;
    json_t *result;          /* its answer, or code + msg */
    const char *code;
    char msg[256];
} run_prov;

struct kept_run {
    pthread_mutex_t mu; /* the gate */
    pthread_cond_t cv;  /* a call was queued, taken, answered; a provider ended */
    run_prov *provs;
};

/* el_wasm_options.gate of a standalone consumer: kr->mu around each request once it kept a
 * provider (before that, no other thread can touch the runtime). Only its own thread runs this
 * and sets l->kr, so the test needs no lock. */
static void consumer_gate(void *arg, bool enter)
{
    el_launch_ctx *l = arg;
    if (enter && l->kr) {
        pthread_mutex_lock(&l->kr->mu);
        l->in_gate = true;
    } else if (!enter && l->in_gate) {
        l->in_gate = false;
        pthread_mutex_unlock(&l->kr->mu);
    }
}

/* A kept provider's gate, and its launch lock (el_launch_lock_fn has the same shape): kr->mu. */
static void prov_gate(void *arg, bool enter)
{
    run_prov *p = arg;
    if (enter)
        pthread_mutex_lock(&p->kr->mu);
    else
        pthread_mutex_unlock(&p->kr->mu);
}

/* el__provider_host.next (the provider's request, kr->mu held; released while it waits). */
static el_status prov_next(void *arg, const el__fwd **f, el_error *err)
{
    run_prov *p = arg;
    while (!p->call && !p->quit)
        pthread_cond_wait(&p->kr->cv, &p->kr->mu);
    if (p->quit)
        return el_error_set(err, EL_ERR_NOTFOUND, "no more calls: the run that started this provider ends");
    *f = p->call;
    p->taken = p->call->call_id;
    p->call = NULL;
    pthread_cond_broadcast(&p->kr->cv);
    return EL_OK;
}

/* el__provider_host.answer (kr->mu held): kept for the consumer waiting on call_id. */
static void prov_answer(void *arg, uint64_t call_id, const json_t *result, const char *code, const char *message)
{
    run_prov *p = arg;
    if (!p->taken || call_id != p->taken) /* a call its consumer gave up on */
        return;
    p->taken = 0;
    p->answered = true;
    p->code = code;
    snprintf(p->msg, sizeof p->msg, "%s", message ? message : "");
    p->result = code ? NULL : json_deep_copy(result ? result : json_null());
    if (!code && !p->result) {
        p->code = "internal";
        snprintf(p->msg, sizeof p->msg, "out of memory");
    }
    pthread_cond_broadcast(&p->kr->cv);
}

static void *prov_main(void *arg)
{
    run_prov *p = arg;
    el_launch_result res;
    el_error e = {.code = EL_OK, .msg = ""};
    el_status st = el_launch_run(p->pl, &res, &e);
    if (st != EL_OK)
        el__log(p->pl->rt, EL_LOG_WARNING, "provider %s (%s) for %s: %s", el_artifact_manifest(p->art)->name, p->cid,
                p->scheme, e.msg);
    pthread_mutex_lock(&p->kr->mu);
    p->ended = true;
    p->end_st = st;
    pthread_cond_broadcast(&p->kr->cv);
    pthread_mutex_unlock(&p->kr->mu);
    return NULL;
}

static char **copy_strings(const char *const *v, size_t n, bool *ok)
{
    char **c = n ? calloc(n, sizeof *c) : NULL;
    *ok = !n || c;
    for (size_t i = 0; *ok && i < n; i++)
        *ok = (c[i] = strdup(v[i])) != NULL;
    if (!*ok) {
        el__strv_free(c, n);
        c = NULL;
    }
    return c;
}

/* How long a kept provider told "no more calls" has to exit before it is killed. */
#define PROVIDER_QUIT_MS 2000

/* Ends p and waits for its thread (kr->mu held; released while waiting), then frees it: with
 * kill, p is stopped at once (it missed a deadline); else it is told there are no more calls
 * and killed only if it has not exited PROVIDER_QUIT_MS later. */
static void prov_retire(el_launch_ctx *l, run_prov *p, bool kill)
{
    kept_run *kr = l->kr;
    struct timespec until = el__mono_deadline(PROVIDER_QUIT_MS);
    p->quit = true;
    if (kill)
        p->stop = 1;
    pthread_cond_broadcast(&kr->cv);
    while (p->started && !p->ended)
        if (pthread_cond_timedwait(&kr->cv, &kr->mu, &until) == ETIMEDOUT)
            p->stop = 1;
    if (p->started)
        pthread_join(p->th, NULL); /* past its last use of mu */
    for (run_prov **pp = &kr->provs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    el_launch_free(p->pl); /* with mu held: the gate this run's users share */
    json_decref(p->result);
    el_artifact_close(p->art);
    el__strv_free(p->grants, p->n_grants);
    el__strv_free(p->args, p->n_args);
    free(p);
}

/* Whether p runs what f's binding names now (same CID, grants and args, in order). */
static bool prov_current(const run_prov *p, const el__fwd *f)
{
    if (strcmp(p->cid, f->cid) || p->n_grants != f->n_grants || p->n_args != f->n_args)
        return false;
    for (size_t i = 0; i < f->n_grants; i++)
        if (strcmp(p->grants[i], f->grants[i]))
            return false;
    for (size_t i = 0; i < f->n_args; i++)
        if (strcmp(p->args[i], f->args[i]))
            return false;
    return true;
}

/* Starts f's provider on its own thread (kr->mu held). */
static el_status prov_start(el_launch_ctx *l, const el__fwd *f, run_prov **out, el_error *err)
{
    run_prov *p = calloc(1, sizeof *p);
    bool ok1 = false, ok2 = false;
    if (p) {
        p->grants = copy_strings(f->grants, f->n_grants, &ok1);
        p->args = copy_strings(f->args, f->n_args, &ok2);
    }
    if (!p || !ok1 || !ok2) {
        if (p) {
            el__strv_free(p->grants, f->n_grants);
            el__strv_free(p->args, f->n_args);
        }
        free(p);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    p->kr = l->kr;
    p->n_grants = f->n_grants;
    p->n_args = f->n_args;
    snprintf(p->scheme, sizeof p->scheme, "%s", f->scheme);
    snprintf(p->cid, sizeof p->cid, "%s", f->cid);
    p->art = (el_artifact *)f->art;
    el__artifact_ref(p->art);
    p->spec = (el_launch_spec){.artifact = p->art, .artifact_cid = p->cid, .flags = EL_LAUNCH_NO_FILE,
                               .grants = (const char *const *)p->grants, .n_grants = p->n_grants,
                               .args = (const char *const *)p->args, .n_args = p->n_args, .stdio = EL_STDIO_NONE,
                               .gate = prov_gate, .lock = prov_gate, .gate_arg = p, .stop = &p->stop};
    p->next = l->kr->provs;
    l->kr->provs = p;
    el_status st = el_launch_prepare(l->rt, &p->spec, &p->pl, err);
    if (st == EL_OK) {
        el__session_serve_host(el__launch_session(p->pl),
                               &(el__provider_host){.next = prov_next, .answer = prov_answer, .arg = p});
        int rc = pthread_create(&p->th, NULL, prov_main, p);
        p->started = rc == 0;
        if (rc != 0)
            st = el_error_set(err, EL_ERR_INTERNAL, "cannot start a thread for the provider: %s", strerror(rc));
    }
    if (st != EL_OK) {
        prov_retire(l, p, true);
        return st;
    }
    *out = p;
    return EL_OK;
}

/* The first forwarded call of a consumer: its kept_run, and its gate taken for the rest of
 * this request (consumer_gate releases it at the request's end). */
static el_status kept_run_begin(el_launch_ctx *l, el_error *err)
{
    if (l->kr)
        return EL_OK;
    kept_run *kr = calloc(1, sizeof *kr);
    if (!kr)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    pthread_mutex_init(&kr->mu, NULL);
    el__cond_init_mono(&kr->cv);
    pthread_mutex_lock(&kr->mu);
    l->kr = kr;
    l->in_gate = true;
    return EL_OK;
}

/* The consumer's run ended: every provider it kept is stopped and joined, then the gate goes. */
static void kept_run_end(el_launch_ctx *l)
{
    kept_run *kr = l->kr;
    if (!kr)
        return;
    pthread_mutex_lock(&kr->mu);
    while (kr->provs)
        prov_retire(l, kr->provs, false);
    pthread_mutex_unlock(&kr->mu);
    pthread_cond_destroy(&kr->cv);
    pthread_mutex_destroy(&kr->mu);
    free(kr);
    l->kr = NULL;
}

/* el__forward_fn of a standalone consumer (arg: its launch; inside its request): hands f to the
 * scheme's kept provider, starting it when none runs (or the one running is not what is bound
 * now), and waits up to EL__PROVIDER_CALL_MS for its answer with the gate released. What went wrong
 * inside the provider is the operator's to read (the log); the consumer gets one safe line. */
static el_status run_provider(void *arg, const el__fwd *f, json_t **result, const char **code, el_error *err)
{
    el_launch_ctx *l = arg;
    *result = NULL;
    el_status st = kept_run_begin(l, err);
    if (st != EL_OK)
        return st;
    kept_run *kr = l->kr;
    run_prov *p = kr->provs;
    while (p && strcmp(p->scheme, f->scheme))
        p = p->next;
    if (p && (p->ended || !prov_current(p, f))) {
        prov_retire(l, p, false);
        p = NULL;
    }
    el_error e = {.code = EL_OK, .msg = ""};
    if (!p && (st = prov_start(l, f, &p, &e)) != EL_OK) {
        el__log(l->rt, EL_LOG_WARNING, "provider (%s) for %s: %s", f->cid, f->scheme, e.msg);
        *code = "unavailable";
        return el__provider_ended(f->scheme, st, err);
    }
    p->call = f;
    p->answered = false;
    pthread_cond_broadcast(&kr->cv);
    struct timespec until = el__mono_deadline(EL__PROVIDER_CALL_MS);
    bool late = false;
    while (!p->answered && !p->ended && !late)
        late = pthread_cond_timedwait(&kr->cv, &kr->mu, &until) == ETIMEDOUT;
    if (p->answered) {
        p->answered = false;
        if (p->code) {
            *code = p->code;
            return el_error_set(err, EL_ERR_INTERNAL, "provider: %s", p->msg);
        }
        *result = p->result;
        p->result = NULL;
        return EL_OK;
    }
    p->call = NULL; /* not taken, or taken and never answered: the instance goes */
    p->taken = 0;
    el_status end = p->end_st; /* how it ended, when it did (else late) */
    if (late)
        el__log(l->rt, EL_LOG_WARNING, "provider (%s) for %s did not answer within %d ms: stopped", f->cid, f->scheme,
                EL__PROVIDER_CALL_MS);
    prov_retire(l, p, true);
    *code = "unavailable";
    return late ? el__provider_late(f->scheme, err) : el__provider_ended(f->scheme, end, err);
}

el_session *el__launch_session(el_launch_ctx *l) { return l->s; }

/* ---- 11. cleanup ----------------------------------------------------------------------------- */

void el_launch_free(el_launch_ctx *l)
{
    if (!l)
        return;
    if (l->s)
        (void)revoke_open_token(l, NULL); /* prepared, never run */
    if (l->token) /* a bearer credential: not left in freed memory */
        sodium_memzero(l->token, strlen(l->token));
    free(l->token);
    free(l->env_names);
    free(l->env_values);
    el_broker_session_free(l->s);
    if (l->slot >= 0)
        close(l->slot);
    el_artifact_close(l->owned);
    el_artifact_close(l->data);
    free(l);
}

el_status el_launch(el_runtime *rt, const el_launch_spec *spec, el_launch_result *res, el_error *err)
{
    memset(res, 0, sizeof *res);
    el_launch_ctx *l;
    el_status st = el_launch_prepare(rt, spec, &l, err);
    if (st != EL_OK)
        return st;
    st = el_launch_run(l, res, err);
    el_launch_free(l);
    return st;
}
