/*
 * internal.h - helpers shared inside libelastos; not part of the public API.
 */
#ifndef ELASTOS_INTERNAL_H
#define ELASTOS_INTERNAL_H

#include "elastos/elastos.h"
#include "elastos/fs.h"
#include "elastos/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wasm_engine_t;
struct sqlite3;
struct el_token_cache;

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
};

/* The state database (state.c), opened and migrated on first use; owned by rt. */
el_status el_state_db(el_runtime *rt, struct sqlite3 **db, el_error *err);
/* A new connection to it, for another thread (the caller closes it). */
el_status el_state_open(el_runtime *rt, struct sqlite3 **db, el_error *err);

/* Frees wasm.c's shared linker and prepared modules (called by el_runtime_close). */
void el_wasm_shared_free(struct el_wasm_shared *w);

/* Stops and frees wasm.c's epoch ticker (called by el_runtime_close, before the engine goes). */
void el_ticker_stop(struct el_ticker *t);

/* Writes and frees audit.c's queue (called by el_runtime_close, before the database closes). */
void el_audit_buf_free(el_runtime *rt);

/* The current epoch and the number of revoked token ids known, brought up to date with the
 * state database (revocations and bumps by other processes included) by the same cheap check
 * the token-check path makes (token.c); for the capability-request path (broker.c). */
el_status el__token_state(el_runtime *rt, uint64_t *epoch, uint64_t *revoked_count, el_error *err);
/* Whether token id is revoked, as of the last el__token_state (or token check); true before
 * any state was read (fail closed). */
bool el__token_revoked(el_runtime *rt, const uint8_t id[16]);

/* Frees token.c's per-runtime state (called by el_runtime_close). */
void el_token_cache_free(struct el_token_cache *c);

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
