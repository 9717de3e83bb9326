/*
 * launch.h - the one launch path: every capsule any caller starts (standalone `elastos run`,
 * `elastos open`, the daemon's run request and the shell's launch_capsule) goes through
 * el_launch, so every rule of a launch (what a target names, fetch on demand, verification,
 * dependencies, which types run, instance slots, grants, storage, kill audits) is decided once.
 *
 * The pipeline (lib/launch.c, in this order):
 *   1. resolve   the target: a CID (from the store; fetched from the configured sources when
 *                missing), a file, or NAME[@RANGE] (the highest installed, trusted match)
 *   2. verify    signature, trusted publisher, CID (el_artifact_open)
 *   3. type      wasm, agent, vm run; a data capsule only with EL_LAUNCH_OPEN, which then
 *                launches its viewer (steps 1-2 again for the viewer, which must be wasm)
 *   4. deps      every dependency installed and trusted (el_store_check_deps)
 *   5. limits    the manifest's, narrowed (never widened) by spec->limits
 *   6. slot      one of resource_limits.max_instances, host-wide (instance.h)
 *   7. session   the broker session, the caller's router, operator grants, /storage preopen
 *   8. token     EL_LAUNCH_OPEN only: one read token for exactly the opened entry
 *   9. run       the substrate: el_wasm_run or el_vm_run (the only callers of either)
 *  10. audit     every kill, of every type (a limit, a crash, the operator's stop): a kill record
 *  11. cleanup   the open token revoked (audited), session freed, slot given back
 *
 * Hosts that run many capsules at once (serve.c) split the call in two: el_launch_prepare
 * (steps 1-8: the instance id is known, nothing runs yet) and el_launch_run (9-10) on the
 * capsule's own thread, then el_launch_free (11).
 */
#ifndef ELASTOS_LAUNCH_H
#define ELASTOS_LAUNCH_H

#include "elastos/artifact.h"
#include "elastos/broker.h"
#include "elastos/fetch.h"
#include "elastos/manifest.h"
#include "elastos/runtime.h"
#include "elastos/vm.h"
#include "elastos/wasm.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* spec->flags */
#define EL_LAUNCH_FETCH 1u   /* a CID missing from the store is fetched from the configured sources
                                ($ELASTOS_KUBO_API, $ELASTOS_GATEWAYS) and cached in the store;
                                with none configured it is simply not found (66) */
#define EL_LAUNCH_NO_FILE 2u /* the target is a CID or NAME[@RANGE], never a file (LaunchConfig) */
#define EL_LAUNCH_OPEN 4u    /* the target is a data capsule: launch its viewer (elastos open) */

/* Called with hold=false before and hold=true after the launch layer waits on the outside world
 * (fetching a CID) while the caller holds the runtime, and with hold=true / hold=false around
 * the launch layer's own use of the runtime from the capsule's thread (kill audit, token
 * revocation). serve.c: its runtime mutex. NULL: a single-threaded caller. */
typedef void (*el_launch_lock_fn)(void *arg, bool hold);

/* What to launch and how. Zero-initialise, then set what you need: the zero spec of a target
 * is `elastos run TARGET` (inherited stdio, the manifest's limits, no grants, no router). */
typedef struct el_launch_spec {
    /* what */
    const char *target;          /* FILE, CID or NAME[@RANGE] (see flags) */
    const el_artifact *artifact; /* instead of target: already verified (serve's cache; must
                                    outlive the launch); its CID in artifact_cid */
    const char *artifact_cid;
    unsigned flags;                   /* EL_LAUNCH_* */
    const char *const *args;          /* argv[1..] */
    size_t n_args;
    const char *const *grants;        /* operator grants, RESOURCE:ACTION (run --grant) */
    size_t n_grants;
    const char *const *env_names;     /* extra environment (LaunchConfig env; wasm only) */
    const char *const *env_values;
    size_t n_env;
    const el_limits *limits;          /* narrows memory_mb, cpu_ms, wall_ms (0 = keep); NULL: none */
    /* how: the host's hooks (all optional) */
    el_stdio stdio;                   /* EL_STDIO_CUSTOM: stdin input (empty without), output to output() */
    el_wasm_output_fn output;
    void *output_arg;
    const unsigned char *input;       /* EL_STDIO_CUSTOM, wasm: all of stdin (an HTTP request's body) */
    size_t input_len;
    el_wasm_gate_fn gate;             /* around each request the capsule makes */
    void *gate_arg;
    el_launch_lock_fn lock;           /* see el_launch_lock_fn; its argument is gate_arg */
    const volatile int *stop;         /* nonzero: the capsule is stopped (137, audited) */
    const el_msg_router *router;      /* messaging and orchestration (serve.c); NULL: none */
    const char *accel;                /* vm: "kvm", "tcg", or NULL (el_vm_options.accel) */
    el_vm_tty_fn tty;                 /* vm: the program's terminal handling (el_vm_options.tty) */
    void *tty_arg;
    /* wasm, standalone: the kill of a capsule stuck in a host call past a limit (audited first;
     * el_wasm_options.stuck): expected to end the process with 137. NULL: no watchdog. */
    void (*stuck)(void *arg, const char *reason);
    void *stuck_arg;
} el_launch_spec;

typedef struct el_launch_result {
    int exit_code;                          /* the capsule's exit status, when it ran and exited */
    char capsule_id[EL_CAPSULE_ID_LEN + 1]; /* the instance id it was given */
    el_capsule_type type;                   /* of what ran (the viewer's, for EL_LAUNCH_OPEN) */
    bool killed;                            /* a limit, a crash or a stop ended it (audited) */
    bool cache_hit;                         /* wasm: compiled code came from the cache */
    char accel[8];                          /* vm: "kvm" or "tcg" */
} el_launch_result;

typedef struct el_launch_ctx el_launch_ctx;

/* Runs spec to completion: el_launch_prepare, el_launch_run, el_launch_free.
 * EL_OK when the capsule ran and exited: result->exit_code is its status (what `elastos run`
 * exits with). EL_ERR_LIMIT (137) or EL_ERR_TRAP (134) when a limit, a stop or a crash ended it
 * (the kill is in the audit; result->killed). Any other code: it could not start, err says why
 * in one line (66 not found, 65 malformed or wrong type, 77 untrusted, 78 no fetch source...),
 * and nothing of the launch is left behind (no slot, session or token). */
EL_EXTERN el_status el_launch(el_runtime *rt, const el_launch_spec *spec, el_launch_result *result, el_error *err);

/* Steps 1-8 of the pipeline. On success *out holds the instance slot, the session (with the
 * router and grants) and, for EL_LAUNCH_OPEN, the token; nothing has run. spec and what it
 * points to must outlive *out. On failure *out is NULL and nothing is held. */
EL_EXTERN el_status el_launch_prepare(el_runtime *rt, const el_launch_spec *spec, el_launch_ctx **out, el_error *err);

/* The instance id (32 hex), the manifest and the CID of what will run (valid while l lives). */
EL_EXTERN const char *el_launch_capsule_id(const el_launch_ctx *l);
EL_EXTERN const el_manifest *el_launch_manifest(const el_launch_ctx *l);
EL_EXTERN const char *el_launch_cid(const el_launch_ctx *l);

/* Steps 9-11 of what runs: the capsule on the calling thread until it ends, then its kill audit
 * and the open token's revocation (audited), both through spec->lock. Returns like el_launch
 * (a failed revocation is reported even when the capsule exited). Once per l. */
EL_EXTERN el_status el_launch_run(el_launch_ctx *l, el_launch_result *result, el_error *err);

/* The rest of step 11: frees the session, gives the slot back (and revokes an open token that
 * never ran). Call with the runtime held (spec->lock) when other threads use it. NULL: no-op. */
EL_EXTERN void el_launch_free(el_launch_ctx *l);

/* Step 1 alone: the file a target names (path: PATH_MAX bytes). flags: EL_LAUNCH_FETCH,
 * EL_LAUNCH_NO_FILE. lock/arg as in el_launch_lock_fn (may be NULL). EL_ERR_NOTFOUND when
 * nothing matches, EL_ERR_CONFIG for a missing CID with no source to fetch it from. */
EL_EXTERN el_status el_launch_resolve(el_runtime *rt, const char *target, unsigned flags, el_launch_lock_fn lock, void *arg,
                            char *path, el_error *err);

/* el_store_install of file that also compiles a wasm capsule's code ahead into the cache (its
 * first run is then a warm one; a module that does not compile is still installed). */
EL_EXTERN el_status el_launch_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err);

/* Puts cid in the store (store_flags: EL_STORE_PIN), fetching it when absent from srcs, or when
 * n_srcs is 0 from the configured sources; verified like an install. progress may be NULL.
 * lock/arg as in el_launch_lock_fn (released while the network is waited on). */
EL_EXTERN el_status el_launch_fetch(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t n_srcs,
                          unsigned store_flags, el_fetch_progress_fn progress, void *progress_ud,
                          el_launch_lock_fn lock, void *arg, el_error *err);

/* One running instance's id (32 hex chars). */
typedef struct el_instance_id {
    char id[33];
} el_instance_id;

/* The instances running on this host now, standalone runs and daemons alike (every process
 * whose slot locks this one can see in /proc/locks: the same pid namespace): *ids malloc'd
 * (caller frees), *n of them. */
EL_EXTERN el_status el_launch_running(el_runtime *rt, el_instance_id **ids, size_t *n, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
