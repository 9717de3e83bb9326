/*
 * internal.h - helpers shared inside libelastos; not part of the public API.
 */
#ifndef ELASTOS_INTERNAL_H
#define ELASTOS_INTERNAL_H

#include "elastos/artifact.h"
#include "elastos/config.h"
#include "elastos/elastos.h"
#include "elastos/fs.h"
#include "elastos/runtime.h"
#include "elastos/trust.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wasm_engine_t;
struct sqlite3;
struct el_token_cache;
struct el_config;

/* Teardown phases of el_runtime_close, run in this order (within a phase: last registered
 * first). Subsystems register what they create; the runtime calls nothing above itself. */
typedef enum el__teardown_phase {
    EL__TEARDOWN_WORKERS, /* threads that use the rest: the epoch ticker, the audit writer */
    EL__TEARDOWN_USERS,   /* what uses the engine: prepared modules, the loaded shell */
    EL__TEARDOWN_ENGINE,  /* the Wasmtime engine */
    EL__TEARDOWN_STATE,   /* caches over the state database (the token cache) */
    EL__TEARDOWN_DATABASE, /* the state database, last */
    EL__TEARDOWN_PHASES
} el__teardown_phase;

#define EL__TEARDOWN_MAX 16

struct el_runtime {
    char home[4096];
    struct wasm_engine_t *engine;     /* created on first wasm launch (wasm.c) */
    struct sqlite3 *db;               /* state.db, opened on first use (state.c) */
    struct el_token_cache *tokens;    /* token.c's verified-signature cache and key */
    struct el_audit_buf *audit;       /* audit.c's queue of deferred records */
    struct el_ticker *ticker;         /* wasm.c's epoch ticker, started on first launch */
    struct el_artifact *shell;        /* the verified shell capsule, loaded on first decision */
    uint64_t decision_seq;            /* ids of shell decision requests */
    struct el_wasm_shared *wshared;   /* wasm.c's shared linker and prepared modules (serve) */
    struct el_config *config;         /* the embedder's configuration; NULL: the environment */
    el_log_fn log;                    /* the log sink (log.c); NULL: stderr */
    void *log_arg;
    pthread_mutex_t teardown_mu;
    struct {
        el__teardown_phase phase;
        void (*fn)(el_runtime *rt);
    } teardown[EL__TEARDOWN_MAX];
    size_t n_teardown;
};

/* artifact.c: el_artifact_open with the trust store as a callback (trust.c's el_artifact_open
 * passes el_trust_check on the runtime), so the format layer needs no runtime. */
typedef el_status (*el__trust_fn)(void *arg, const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry, el_error *err);
el_status el__artifact_load(const char *path, unsigned flags, el__trust_fn trust, void *arg, el_artifact **out,
                            el_error *err);

/* Registers fn to run at el_runtime_close in phase (runtime.c); thread-safe. Call it when the
 * thing fn frees is created. */
void el__runtime_on_close(el_runtime *rt, el__teardown_phase phase, void (*fn)(el_runtime *rt));

/* config.c: a setting (NULL when unset or empty), from the runtime's el_config or else the
 * environment; a positive integer setting, dflt when unset or not one; an operator config file
 * $ELASTOS_HOME/config/<name> (at most max bytes; *mode its permission bits; path receives its
 * name for messages) - EL_ERR_NOTFOUND when there is none. */
const char *el__config(const el_runtime *rt, el_config_key key);
const char *el__config_in(const struct el_config *cfg, el_config_key key);
unsigned long long el__config_uint(const el_runtime *rt, el_config_key key, unsigned long long dflt);
el_status el__config_file(const el_runtime *rt, const char *name, size_t max, char **text, size_t *len,
                          unsigned *mode, char *path, size_t path_cap, el_error *err);
el_status el__config_copy(const struct el_config *src, struct el_config **out, el_error *err);

/* log.c: one message for the operator through the runtime's sink (rt may be NULL: stderr). */
void el__log(const el_runtime *rt, el_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The state database (state.c), opened and migrated on first use; owned by rt. */
el_status el__state_db(el_runtime *rt, struct sqlite3 **db, el_error *err);
/* A new connection to it, for another thread (the caller closes it). */
el_status el__state_open(el_runtime *rt, struct sqlite3 **db, el_error *err);

/* The current epoch and the number of revoked token ids known, brought up to date with the
 * state database (revocations and bumps by other processes included) by the same cheap check
 * the token-check path makes (token.c); for the capability-request path (broker.c). */
el_status el__token_state(el_runtime *rt, uint64_t *epoch, uint64_t *revoked_count, el_error *err);
/* Whether token id is revoked, as of the last el__token_state (or token check); true before
 * any state was read (fail closed). */
bool el__token_revoked(el_runtime *rt, const uint8_t id[16]);

/* SHA-256 fetched once, with OpenSSL initialised without loading openssl.cnf (sign.c). */
struct evp_md_st;
const struct evp_md_st *el_sha256_md(void);

/* Like el_write_file_atomic (temp file + rename: readers see old or new, never half) but
 * without fsync: for caches whose entries are checksummed, where losing one costs a rebuild. */
el_status el_write_file_cache(const char *path, const void *data, size_t len, unsigned mode, el_error *err);

/* Writes all of data to fd, retrying short writes and EINTR; false (errno set) on failure. */
bool el_write_all(int fd, const void *data, size_t len);

/* libcurl's global init, once per process (fetch.c); call before any curl handle. */
void el_curl_init(void);

/* fsyncs the directory holding path (after a rename into it); err may be NULL. */
el_status el_fsync_dir_of(const char *path, el_error *err);


/* Fresh random lowercase-hex id of 2*nbytes characters. */
void el_random_hex(char *out, size_t nbytes);

#endif
