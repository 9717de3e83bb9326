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

/* The deadlines of IPFS transfers, fetch and publish alike (fetch.c; docs/distribution.md):
 * connect, stall (less than min_rate bytes/s over stall_ms) and the whole operation. */
#define EL_IPFS_MIN_RATE 1024L
typedef struct el__ipfs_limits {
    long connect_ms, stall_ms, min_rate, total_ms;
} el__ipfs_limits;
void el__ipfs_deadlines(el__ipfs_limits *l);

/* An artifact's bytes hashed as they arrive (artifact.c): a fetch feeds them in order and
 * el__artifact_open_prehashed then verifies without hashing again (one pass for the seal, the
 * SHA256SUMS entries and - computed by the fetch - the CID). */
typedef struct el__prehash el__prehash;
el__prehash *el__prehash_new(void);
void el__prehash_free(el__prehash *p);
/* Forgets every byte fed (the download started over from byte 0). */
void el__prehash_reset(el__prehash *p);
/* Appends len bytes (copied into private memory) and hashes them; false once it cannot (out of
 * memory, over the artifact limit, or invalidated): the caller then opens the file instead. */
bool el__prehash_update(el__prehash *p, const void *data, size_t len);
/* Marks it unusable (bytes came that it did not see). */
void el__prehash_invalidate(el__prehash *p);
/* Bytes held; 0 when invalidated. */
size_t el__prehash_size(const el__prehash *p);
/* Records the CID the fed bytes were verified to have. */
void el__prehash_set_cid(el__prehash *p, const char *cid);
/* Like el_artifact_open (every check, same errors; name is used in messages) on the bytes fed to
 * p, which it takes: p is invalidated. */
struct el_artifact;
el_status el__artifact_open_prehashed(el_runtime *rt, el__prehash *p, const char *name, unsigned flags,
                                      struct el_artifact **out, el_error *err);

/* Fetches cid like el_fetch (fetch.h) into out_path, also feeding the bytes of a verified
 * stream to ph in order (ph may be NULL). On EL_OK, ph holds the whole file with its CID set,
 * or is invalidated when the file came another way (block by block, or resumed from a kept
 * partial download). */
struct el_fetch_options;
el_status el__fetch(el_runtime *rt, const char *cid, const struct el_fetch_options *o, const char *out_path,
                    el__prehash *ph, el_error *err);

/* fsyncs the directory holding path (after a rename into it); err may be NULL. */
el_status el_fsync_dir_of(const char *path, el_error *err);


/* Fresh random lowercase-hex id of 2*nbytes characters. */
void el_random_hex(char *out, size_t nbytes);

#endif
