/*
 * wasm.h - the wasm substrate: running a verified wasm capsule under Wasmtime + WASI preview1.
 *
 * The capsule gets: stdio inherited from the caller; argv = [manifest name, args...]; an
 * environment of exactly ELASTOS_CAPSULE_NAME and ELASTOS_CAPSULE_ID (fresh per launch); no
 * preopened directories; its manifest's memory limit and wall-clock deadline.
 * Compiled code is cached under $ELASTOS_HOME/cache/wasm, keyed by the module's content hash,
 * the Wasmtime version and the engine configuration; every cache entry carries a SHA-256 that is
 * checked before Wasmtime sees it, and a bad entry is discarded and rebuilt.
 */
#ifndef ELASTOS_WASM_H
#define ELASTOS_WASM_H

#include "elastos/artifact.h"
#include "elastos/runtime.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_CAPSULE_ID_LEN 32 /* hex characters */

typedef struct el_wasm_result {
    int exit_code;                          /* the capsule's exit status when it ran */
    bool cache_hit;                         /* compiled code came from the cache */
    char capsule_id[EL_CAPSULE_ID_LEN + 1]; /* the instance id the capsule was given */
} el_wasm_result;

/* Runs the entry module of a verified artifact (type wasm or agent) to completion.
 * Returns EL_OK when the capsule ran and exited (result->exit_code is its status), EL_ERR_LIMIT
 * when a limit stopped it, EL_ERR_TRAP when it crashed, other codes when it could not start. */
el_status el_wasm_run(el_runtime *rt, const el_artifact *art, const char *const *args, size_t n_args,
                      el_wasm_result *result, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
