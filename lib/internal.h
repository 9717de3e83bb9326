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

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/* How the policy layer gets the shell capsule run for one decision (shell.c): the host layer
 * registers it (launch.c, on every el_launch_prepare), since only the host runs capsules. It runs
 * shell on the decision's channel ch with config_dir as its writable /config, on the terminal
 * when tty (else with no stdio); EL_OK when it ran to its end. */
struct el_channel;
typedef el_status (*el__shell_runner)(el_runtime *rt, const el_artifact *shell, const struct el_channel *ch,
                                      const char *config_dir, bool tty, el_error *err);

/* The host's asker (serve_console.c): the shell capsule, with no terminal, asks an operator
 * elsewhere (the daemon's console) to decide q; it waits at most timeout_ms, the runtime's lock
 * released meanwhile, and puts "once", "run", "always" or "deny" in answer. EL_ERR_NOTFOUND (reason
 * "no console") when nobody can be asked, another status (reason) when nobody answered. */
struct el_decision_request;
typedef el_status (*el__asker)(void *arg, const struct el_decision_request *q, unsigned timeout_ms, char answer[8],
                               char reason[256]);

/* What the runtime counts, for `elastos serve`'s /metrics (serve_console.c): audit records
 * queued (audit.c; denials among them: decision "deny"), token checks and the failed ones
 * (token.c). Atomic: counted by whichever thread does it, with or without the runtime lock. */
typedef struct el__stats {
    _Atomic uint64_t audit_records, audit_denials, token_checks, token_failures;
} el__stats;

struct el_runtime {
    char home[4096];
    char config_dir[4096];            /* operator config files: home/config, or XDG (runtime.c) */
    char cache_dir[4096];             /* caches (compiled code, vm probes): home/cache, or XDG */
    struct wasm_engine_t *engine;     /* created on first wasm launch (wasm.c) */
    char compiler_exe[4096];          /* el_wasm_set_compiler's program, "" = compile in the fork */
    struct sqlite3 *db;               /* state.db, opened on first use (state.c) */
    struct el__stmt_cache *stmts;     /* state.c's prepared statements on db (el__state_stmt) */
    struct el_token_cache *tokens;    /* token.c's verified-signature cache and key */
    struct el_audit_buf *audit;       /* audit.c's queue of deferred records */
    struct el_ticker *ticker;         /* wasm.c's epoch ticker, started on first launch */
    struct el_artifact *shell;        /* the verified shell capsule, loaded on first decision */
    struct el__art_cache *art_cache;  /* trust.c's el__artifact_open_cached entry */
    uint64_t decision_seq;            /* ids of shell decision requests */
    struct el_wasm_shared *wshared;   /* wasm.c's shared linker and prepared modules (serve) */
    struct el_config *config;         /* the embedder's configuration; NULL: the environment */
    el_log_fn log;                    /* the log sink (log.c); NULL: stderr */
    void *log_arg;
    el__shell_runner shell_runner;    /* the host's (launch.c); NULL: no shell can run */
    el__asker asker;                  /* the host's (serve_console.c); NULL: nobody to ask */
    void *asker_arg;
    pthread_mutex_t teardown_mu;      /* the teardown list, shell_runner and asker */
    struct {
        el__teardown_phase phase;
        void (*fn)(el_runtime *rt);
    } teardown[EL__TEARDOWN_MAX];
    size_t n_teardown;
    el__stats stats;                  /* counters for the daemon's /metrics (serve_console.c) */
};

/* artifact.c: el_artifact_open with the trust store as a callback (trust.c's el_artifact_open
 * passes el_trust_check on the runtime), so the format layer needs no runtime. */
typedef el_status (*el__trust_fn)(void *arg, const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry, el_error *err);
el_status el__artifact_load(const char *path, unsigned flags, el__trust_fn trust, void *arg, el_artifact **out,
                            el_error *err);
/* manifest.c: true for exactly http:// or https:// followed by a lone "*", the manifest permission that lets a
 * capsule reach any web host the operator grants (a grant and a token still name one host). */
bool el__manifest_web_any(const char *r);

/* trust.c: el_artifact_open(rt, path, 0, out, err), reusing the artifact it opened last from
 * the same unchanged file (its CID and publisher's trust checked again); for paths opened call
 * after call (store.c's el_store_resolve, provider.c's bindings). */
el_status el__artifact_open_cached(el_runtime *rt, const char *path, el_artifact **out, el_error *err);

/* artifact.c: one more holder of a (an opened artifact is read-only, so holders may share it
 * across threads); each holder calls el_artifact_close once, and the last one frees it. */
void el__artifact_ref(el_artifact *a);

/* artifact.c: the manifest an artifact owns, to lower its limits to the operator's ceiling
 * (ceiling.c, from el_artifact_open); el_artifact_declared_limits keeps what it said. */
el_manifest *el__artifact_manifest_mut(el_artifact *a);

/* Registers fn to run at el_runtime_close in phase (runtime.c); thread-safe. Call it when the
 * thing fn frees is created. */
void el__runtime_on_close(el_runtime *rt, el__teardown_phase phase, void (*fn)(el_runtime *rt));
/* The shell runner (runtime.c; thread-safe): set by the host, read by shell.c (NULL: none). */
void el__runtime_set_shell_runner(el_runtime *rt, el__shell_runner fn);
el__shell_runner el__runtime_shell_runner(el_runtime *rt);
/* The asker (runtime.c; thread-safe): set by the daemon with a console, read by the broker when
 * the shell asks (el__runtime_asker: NULL and *arg untouched when none). */
void el__runtime_set_asker(el_runtime *rt, el__asker fn, void *arg);
el__asker el__runtime_asker(el_runtime *rt, void **arg);

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
/* The one reader of the operator's JSON files (config.c): el__config_file's file name (at most
 * max bytes; *mode, path as there), parsed strictly by el__json_object into *root (the caller's
 * to json_decref). EL_ERR_NOTFOUND when there is none; EL_ERR_CONFIG for one that cannot be read
 * or is not a JSON object. The text is wiped before it is freed (it may hold a credential). */
struct json_t;
el_status el__config_json(const el_runtime *rt, const char *name, size_t max, struct json_t **root, unsigned *mode,
                          char *path, size_t path_cap, el_error *err);
/* text[0..len) as one JSON object, duplicate keys refused; EL_ERR_CONFIG "<what> is not a JSON
 * object" otherwise (*root NULL). */
el_status el__json_object(const char *text, size_t len, const char *what, struct json_t **root, el_error *err);

/* log.c: one message for the operator through the runtime's sink (rt may be NULL: stderr). */
void el__log(const el_runtime *rt, el_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* store.c: el_store_resolve, and with art the candidate it picked, as it opened and verified it
 * (el__artifact_open_cached; the caller closes it): no second open of the same bytes. */
el_status el__store_resolve_open(el_runtime *rt, const char *name, const char *range, char cid[EL_CID_MAX], char *path,
                                 struct el_artifact **art, el_error *err);

/* The state database (state.c), opened and migrated on first use; owned by rt. */
el_status el__state_db(el_runtime *rt, struct sqlite3 **db, el_error *err);
/* A new connection to it, for another thread (the caller closes it). */
el_status el__state_open(el_runtime *rt, struct sqlite3 **db, el_error *err);
struct sqlite3_stmt;
/* A prepared statement of sql on rt's database (el__state_db), kept for the runtime's life and
 * handed out again by the next call with the same sql (the same string, by address: a literal),
 * so a query of every call is parsed once. *out is reset, its bindings cleared; give it back with
 * el__state_stmt_done, never sqlite3_finalize. A statement still out (a nested use) or a full
 * cache gets a fresh one, finalized at done. EL_ERR_CONFIG with SQLite's message otherwise. Under
 * the runtime's own serialization, like every use of its database. */
el_status el__state_stmt(el_runtime *rt, const char *sql, struct sqlite3_stmt **out, el_error *err);
void el__state_stmt_done(el_runtime *rt, struct sqlite3_stmt *st);

/* The current epoch and the number of revoked token ids known, brought up to date with the
 * state database (revocations and bumps by other processes included) by the same cheap check
 * the token-check path makes (token.c); for the capability-request path (broker.c). */
el_status el__token_state(el_runtime *rt, uint64_t *epoch, uint64_t *revoked_count, el_error *err);
/* Whether token id is revoked, as of the last el__token_state (or token check); true before
 * any state was read (fail closed). */
bool el__token_revoked(el_runtime *rt, const uint8_t id[16]);

/* SHA-256 fetched once, with OpenSSL initialised without loading openssl.cnf (sign.c). */
struct evp_md_st;
const struct evp_md_st *el__sha256_md(void);

/* Like el_fs_write_file_atomic (temp file + rename: readers see old or new, never half) but
 * without fsync: for caches whose entries are checksummed, where losing one costs a rebuild. */
el_status el__write_file_cache(const char *path, const void *data, size_t len, unsigned mode, el_error *err);

/* fsutil.c: whether two stats are of the same unchanged file (device, inode, size, mtime and
 * ctime to the nanosecond): the identity the verified-artifact caches key on (serve.c, trust.c). */
struct stat;
bool el__fs_same_file(const struct stat *a, const struct stat *b);

/* Writes all of data to fd, retrying short writes and EINTR; false (errno set) on failure. */
bool el__write_all(int fd, const void *data, size_t len);

/* The growable array (grow.c): makes the array *vp (a T **, *cap elements of size bytes) hold
 * at least need elements, doubling its capacity (from first) up to max elements; true when it
 * does. False when need is above max or memory runs out: then *vp and *cap are as they were
 * (the caller still owns and frees *vp). EL__GROW(v, cap, need, first, max) for a T *v. */
bool el__grow(void *vp, size_t *cap, size_t need, size_t size, size_t first, size_t max);
#define EL__GROW(v, cap, need, first, max) el__grow(&(v), &(cap), (need), sizeof *(v), (first), (max))
/* grow.c: frees a vector of n malloc'd strings and the vector itself (v may be NULL). */
void el__strv_free(char **v, size_t n);

/* The deadlines of IPFS transfers, fetch and publish alike (fetch.c; docs/distribution.md):
 * connect, stall (less than min_rate bytes/s over stall_ms) and the whole operation. */
#define EL_IPFS_MIN_RATE 1024L
typedef struct el__ipfs_limits {
    long connect_ms, stall_ms, min_rate, total_ms;
} el__ipfs_limits;
void el__ipfs_deadlines(const el_runtime *rt, el__ipfs_limits *l);

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
/* Like el__artifact_load (every check, same errors; name is used in messages) on the bytes fed
 * to p, which it takes: p is invalidated. el__artifact_open_prehashed (trust.c) is it with the
 * runtime's trust store. */
el_status el__artifact_load_prehashed(el__prehash *p, const char *name, unsigned flags, el__trust_fn trust, void *arg,
                                      el_artifact **out, el_error *err);
el_status el__artifact_open_prehashed(el_runtime *rt, el__prehash *p, const char *name, unsigned flags,
                                      el_artifact **out, el_error *err);

/* Fetches cid like el_fetch (fetch.h) into out_path, also feeding the bytes of a verified
 * stream to ph in order (ph may be NULL). On EL_OK, ph holds the whole file with its CID set,
 * or is invalidated when the file came another way (block by block, or resumed from a kept
 * partial download). */
struct el_fetch_options;
el_status el__fetch(el_runtime *rt, const char *cid, const struct el_fetch_options *o, const char *out_path,
                    el__prehash *ph, el_error *err);

/* Adds the fetched artifact at tmp (a verified, fsync'd download of CID cid, ours, in
 * $ELASTOS_HOME/tmp) like el_store_add (flags: EL_STORE_PIN), in one pass when ph holds its bytes
 * (el__fetch fed it): verified from the digests computed as they arrived, and tmp renamed into
 * the store rather than copied (store.c). Without ph (or an invalidated one) the file is opened
 * and verified as usual. Nothing enters the store unless every check passed. */
el_status el__store_add_fetched(el_runtime *rt, const char *tmp, el__prehash *ph, const char *cid, unsigned flags,
                                el_artifact **keep, el_error *err);

/* el_store_add that, when keep is not NULL and the install succeeded, hands over the verified
 * artifact (the caller closes it) instead of closing it, so the caller can use it without
 * verifying the bytes again (launch.c compiles ahead with it). */
el_status el__store_add_keep(el_runtime *rt, const char *file, unsigned flags, char cid_out[EL_CID_MAX],
                             el_artifact **keep, el_error *err);

/* Leaves the compiled code of art's wasm entry in the disk cache (compiled as a run would, in the
 * bounded child, within the capsule's wall_ms), so the first run after an install is a warm one.
 * EL_OK without doing anything for other capsule types or when the code is cached already. */
el_status el__wasm_precompile(el_runtime *rt, const el_artifact *art, el_error *err);

/* The one check that launch limits only narrow (launch.c; serve.c's LaunchConfig uses it too):
 * each nonzero memory_mb, cpu_ms, wall_ms of want replaces lim's when not above it; one above is
 * EL_ERR_USAGE "<what>.<field>: N is above the manifest's M (limits only narrow)", lim unchanged. */
el_status el__limits_narrow(el_limits *lim, const el_limits *want, const char *what, el_error *err);

/* audit.c: EL_OK while the audit writer can write; else its failure (err says why). What a use
 * that is counted rather than written (a coalesced one) checks, so it is refused as a written one
 * would be. */
el_status el__audit_writable(el_runtime *rt, el_error *err);

/* Milliseconds on clock c: CLOCK_REALTIME since the epoch (what records show), CLOCK_MONOTONIC
 * for deadlines and intervals. */
static inline int64_t el__clock_ms(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Initializes cv to wait on CLOCK_MONOTONIC (every timed wait of the library takes a monotonic
 * deadline: a clock step never stretches or cuts one). */
static inline void el__cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* The monotonic time ms from now, as an absolute deadline for pthread_cond_timedwait on a
 * condition variable made by el__cond_init_mono. */
static inline struct timespec el__mono_deadline(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* fsyncs the directory holding path (after a rename into it); err may be NULL. */
el_status el__fsync_dir_of(const char *path, el_error *err);


/* ---- cid.c: the binary form, and the store's names (used by fetch, store, artifact) ---- */

/* The store's file names (store.c): "<cid>.capsule". el__cid_store_name says whether name is
 * one (cid gets the CID); el__cid_store_entry whether path is home's store/<cid>.capsule, the
 * path el_store_locate makes. el_artifact_open checks the bytes of such a path against its CID,
 * so an entry replaced by other bytes (even another trusted artifact) never runs as that CID. */
bool el__cid_store_name(const char *name, char cid[EL_CID_MAX]);
bool el__cid_store_entry(const char *home, const char *path, char cid[EL_CID_MAX]);

/* el_cid_validate's checks, also giving the 36 binary bytes: version, codec, multihash code, digest
 * length, then the SHA-256 digest. */
#define EL_CID_BIN_LEN 36
el_status el__cid_decode(const char *s, uint8_t bin[EL_CID_BIN_LEN], el_error *err);

/* The text form (base32, 'b' prefix) of a binary CIDv1 of EL_CID_BIN_LEN bytes. */
void el__cid_encode(const uint8_t bin[EL_CID_BIN_LEN], char out[EL_CID_MAX]);

/* ---- fetch.c (the fuzz target and test_fetch too) ---- */

/* Checks a CAR held in memory, car[0..len), as a fetch would (block mode, no network): every
 * block against its CID, then the UnixFS tree from root (the file's CID, or NULL for the CID of
 * the CAR's first block), writing the file's bytes to out_fd. A missing block is
 * EL_ERR_NOTFOUND; malformed or wrong data EL_ERR_TRUST or EL_ERR_FORMAT. On failure out_fd may
 * hold part of the file: the caller discards it. */
el_status el__fetch_check_car(const uint8_t *car, size_t len, const char *root, int out_fd, el_error *err);

/* ---- artifact.c ---- */

/* When path is a store entry (home/store/<cid>.capsule, el__cid_store_entry), checks that a's
 * bytes are that CID (EL_ERR_TRUST if the entry was replaced); EL_OK for other paths.
 * el_artifact_open does it; a cache of opened artifacts does it on every reuse (the CID is
 * computed once per artifact, so a reuse costs a string compare). */
el_status el__artifact_check_stored(const char *home, el_artifact *a, const char *path, el_error *err);

/* Fresh random lowercase-hex id of 2*nbytes characters. */
void el__random_hex(char *out, size_t nbytes);

#endif
