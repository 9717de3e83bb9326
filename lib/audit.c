/*
 * audit.c - the append-only, hash-chained audit trail (include/elastos/audit.h), stored in the
 * audit table of state.db (state.c), with its head (last seq and hash) in the meta table under
 * 'audit_head_seq' and 'audit_head_hash'.
 *
 * Record hash, stored as 64 lowercase hex characters (as is prev):
 *   hash = SHA-256("elastos/audit/v1" || prev (32 bytes; zeros for seq 1) || encoding)
 * where the encoding is the ten fields in this fixed order, each as a 4-byte big-endian length
 * followed by that many bytes:
 *   seq (8-byte big-endian two's complement), ts_ms (same), capsule, capsule_id, publisher,
 *   resource, action, decision, reason, token_id (the strings' bytes, no terminator).
 * The seq is inside the hash, so renumbering a record is an edit; prev links each record to the
 * one before it, so deleting, inserting or reordering records breaks the chain; the head in meta
 * catches deleting the newest records. Rewriting the whole tail consistently (records, prev links
 * and head) is not detectable from inside the database: that needs an external anchor.
 *
 * Appending is one BEGIN IMMEDIATE transaction (read head, insert, move head, commit), so
 * concurrent appenders in several processes serialize and the chain stays linear; with the
 * database's synchronous=FULL the record is on disk when el_audit_append returns. The cost of an
 * append is one WAL fdatasync (~0.2 ms on the development VM: ~4,000-5,800 appends/s; the CPU
 * part alone is ~40 us); the statements are small and prepared per call.
 *
 * Failing closed. A decision (el_audit_append) returns only once its record is committed, or
 * with the error; a use (el_audit_defer) is refused while the writer's last attempt failed
 * (disk full, damaged head), so only the uses queued before that first failed attempt are at
 * risk. Queued records are never dropped: a failed batch stays queued and is retried, also at
 * close (CLOSE_ATTEMPTS). What still cannot be written at close is declared in
 * $ELASTOS_HOME/audit.lost, one line per loss (count, kinds, first/last time, reason), written
 * into space reserved when the writer started (fallocate, so a full disk cannot refuse it);
 * el_audit_verify fails while that file is not empty. Records still only in memory when the
 * process is killed (at most ~0.1 s of uses) are not declared anywhere.
 */
#include "elastos/audit.h"
#include "elastos/sign.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_DOMAIN "elastos/audit/v1"
#define LOST_FILE "audit.lost"
#define LOST_RESERVE 65536  /* bytes of audit.lost reserved ahead, so a loss can be declared on a full disk */
#define CLOSE_ATTEMPTS 5    /* tries to write what is queued at close, 0.2 s apart */
#define AUDIT_FIELD_MAX 4096
#define N_STR 8 /* capsule, capsule_id, publisher, resource, action, decision, reason, token_id */

static const char *const DECISIONS[] = {EL_AUDIT_REQUEST, EL_AUDIT_GRANT, EL_AUDIT_DENY,    EL_AUDIT_USE,
                                        EL_AUDIT_REVOKE,  EL_AUDIT_EPOCH, EL_AUDIT_OPERATOR,
                                        EL_AUDIT_KILL,    EL_AUDIT_THROTTLE, EL_AUDIT_LAUNCH,
                                        EL_AUDIT_BIND,    EL_AUDIT_UNBIND,  EL_AUDIT_FORWARD,
                                        EL_AUDIT_ROUTE_ADD, EL_AUDIT_ROUTE_REMOVE, EL_AUDIT_CONSOLE_LOGIN,
                                        EL_AUDIT_CONSOLE_ACTION};

static const char *const STR_NAMES[N_STR] = {"capsule", "capsule_id", "publisher", "resource",
                                             "action",  "decision",   "reason",    "token_id"};

/* One record's strings as (pointer, length) pairs, in canonical order. */
typedef struct fields {
    int64_t seq, ts;
    const char *s[N_STR];
    size_t n[N_STR];
} fields;

static void be32(uint8_t out[4], uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Hashes one record; false only if OpenSSL fails. */
static bool record_hash(const uint8_t prev[32], const fields *f, uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return false;
    uint8_t len[4], num[8];
    bool ok = EVP_DigestInit_ex(ctx, el__sha256_md(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, AUDIT_DOMAIN, strlen(AUDIT_DOMAIN)) == 1 && EVP_DigestUpdate(ctx, prev, 32) == 1;
    int64_t ints[2] = {f->seq, f->ts};
    for (int i = 0; ok && i < 2; i++) {
        be32(len, 8);
        be64(num, (uint64_t)ints[i]);
        ok = EVP_DigestUpdate(ctx, len, 4) == 1 && EVP_DigestUpdate(ctx, num, 8) == 1;
    }
    for (int i = 0; ok && i < N_STR; i++) {
        if (f->n[i] > UINT32_MAX) {
            ok = false;
            break;
        }
        be32(len, (uint32_t)f->n[i]);
        ok = EVP_DigestUpdate(ctx, len, 4) == 1 && (f->n[i] == 0 || EVP_DigestUpdate(ctx, f->s[i], f->n[i]) == 1);
    }
    unsigned int n = 32;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static el_status db_error(el_error *err, sqlite3 *db, const char *what)
{
    return el_error_set(err, EL_ERR_IO, "audit log: %s: %s", what, sqlite3_errmsg(db));
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Parses a non-negative decimal without sign, spaces or leading zeros (except "0"). */
static bool parse_seq(const char *s, int64_t *out)
{
    if (!s || !*s || (s[0] == '0' && s[1]) || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

static bool is_hex64(const char *s, size_t n)
{
    if (!s || n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The head as stored in meta. *present is false when neither key exists (an empty log); a
 * malformed or half-present head is reported as such (*ok false). */
typedef struct head {
    bool present, ok;
    int64_t seq;
    char hash[65];
} head;

static el_status read_head(sqlite3 *db, head *h, el_error *err)
{
    memset(h, 0, sizeof *h);
    sqlite3_stmt *st = prepare(db, "SELECT key, value FROM meta WHERE key IN ('audit_head_seq', 'audit_head_hash')");
    if (!st)
        return db_error(err, db, "reading the head");
    bool have_seq = false, have_hash = false, bad = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        int vn = sqlite3_column_bytes(st, 1);
        if (sqlite3_column_type(st, 1) != SQLITE_TEXT || !k || !v) {
            bad = true;
        } else if (!strcmp(k, "audit_head_seq")) {
            have_seq = true;
            bad |= (size_t)vn != strlen(v) || !parse_seq(v, &h->seq);
        } else {
            have_hash = true;
            if (is_hex64(v, (size_t)vn))
                memcpy(h->hash, v, 65);
            else
                bad = true;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(err, db, "reading the head");
    h->present = have_seq || have_hash;
    h->ok = !bad && have_seq == have_hash;
    if (!h->present) {
        h->seq = 0;
        memset(h->hash, '0', 64);
        h->hash[64] = 0;
    }
    return EL_OK;
}

static bool valid_decision(const char *d)
{
    if (!d)
        return false;
    for (size_t i = 0; i < sizeof DECISIONS / sizeof DECISIONS[0]; i++)
        if (!strcmp(d, DECISIONS[i]))
            return true;
    return false;
}

/* A copy of a record waiting in the runtime's buffer (strings owned, ts taken at the event). */
typedef struct pending {
    int64_t ts;
    char *s[N_STR];
} pending;

/* The queue and its writer thread: records are written in batches by a thread with its own
 * connection, so a token use never waits for the disk; a decision (el_audit_append) waits until
 * everything queued up to and including it is committed. */
#define QUEUE_MAX 65536 /* past this, queuing waits for the writer (back-pressure) */

struct el_audit_buf {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pending *q;
    size_t n, cap;
    uint64_t queued, written;
    uint64_t failures; /* failed batch attempts so far; a batch that fails stays queued */
    el_status fail;    /* the last attempt's status: EL_OK once a batch commits again */
    char fail_msg[512];
    bool stop;
    pthread_t thread;
    sqlite3 *db;
    int lost_fd; /* $ELASTOS_HOME/audit.lost, space reserved; -1 if it could not be opened */
    const el_runtime *rt; /* for its log sink */
};

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Copies r into p; overlong strings are cut (marked "...") rather than losing the record. */
static el_status copy_record(pending *p, const el_audit_record *r, el_error *err)
{
    if (!valid_decision(r->decision))
        return el_error_set(err, EL_ERR_USAGE, "audit log: unknown decision \"%s\"", r->decision ? r->decision : "(null)");
    const char *in[N_STR] = {r->capsule, r->capsule_id, r->publisher, r->resource,
                             r->action,  r->decision,   r->reason,    r->token_id};
    p->ts = now_ms(); /* the event's time, for deferred records too */
    for (int i = 0; i < N_STR; i++) {
        const char *v = in[i] ? in[i] : "";
        size_t n = strnlen(v, AUDIT_FIELD_MAX + 1);
        if (n > AUDIT_FIELD_MAX) {
            p->s[i] = malloc(AUDIT_FIELD_MAX + 1);
            if (p->s[i]) {
                memcpy(p->s[i], v, AUDIT_FIELD_MAX - 3);
                memcpy(p->s[i] + AUDIT_FIELD_MAX - 3, "...", 4);
            }
        } else {
            p->s[i] = strdup(v);
        }
        if (!p->s[i]) {
            for (int k = 0; k <= i; k++)
                free(p->s[k]);
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        }
    }
    return EL_OK;
}

static void free_pending(pending *p)
{
    for (int i = 0; i < N_STR; i++)
        free(p->s[i]);
}

/* Appends recs[0..n) in one transaction: one fsync for the lot, the chain linear. */
static el_status append_batch(sqlite3 *db, const pending *recs, size_t n, el_error *err)
{
    el_status s = EL_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(err, db, "begin");
    sqlite3_stmt *ins = NULL, *put = NULL;
    head h;
    s = read_head(db, &h, err);
    if (s == EL_OK && !h.ok)
        s = el_error_set(err, EL_ERR_FORMAT,
                         "audit log: the head in the meta table is malformed (run elastos audit verify)");
    if (s == EL_OK && h.seq >= INT64_MAX - (int64_t)n)
        s = el_error_set(err, EL_ERR_INTERNAL, "audit log: sequence exhausted");
    if (s == EL_OK) {
        ins = prepare(db, "INSERT INTO audit(seq, ts, capsule, capsule_id, publisher, resource, action, decision,"
                          " reason, token_id, prev, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
        put = prepare(db, "INSERT INTO meta(key, value) VALUES('audit_head_seq', ?), ('audit_head_hash', ?)"
                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        if (!ins || !put)
            s = db_error(err, db, "prepare");
    }
    uint8_t prev[32], hash[32];
    char prev_hex[65], hash_hex[65];
    int64_t seq = h.seq;
    if (s == EL_OK) {
        memcpy(prev_hex, h.hash, 64);
        prev_hex[64] = 0;
        el_sign_hex_decode(prev_hex, 64, prev);
    }
    for (size_t k = 0; s == EL_OK && k < n; k++) {
        fields f;
        for (int i = 0; i < N_STR; i++) {
            f.s[i] = recs[k].s[i];
            f.n[i] = strlen(recs[k].s[i]);
        }
        f.seq = ++seq;
        f.ts = recs[k].ts;
        if (!record_hash(prev, &f, hash)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "audit log: SHA-256 failed");
            break;
        }
        el_sign_hex_encode(hash, 32, hash_hex);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, f.seq);
        sqlite3_bind_int64(ins, 2, f.ts);
        for (int i = 0; i < N_STR; i++)
            sqlite3_bind_text(ins, 3 + i, f.s[i], (int)f.n[i], SQLITE_STATIC);
        sqlite3_bind_text(ins, 11, prev_hex, 64, SQLITE_STATIC);
        sqlite3_bind_text(ins, 12, hash_hex, 64, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            s = el_error_set(err, EL_ERR_FORMAT, "audit log: record %" PRId64 " exists already, past the head in the meta"
                             " table (tampered? run elastos audit verify)", f.seq);
        else if (rc != SQLITE_DONE)
            s = db_error(err, db, "insert");
        memcpy(prev, hash, 32);
        memcpy(prev_hex, hash_hex, 65);
    }
    if (s == EL_OK) {
        char seqtext[24];
        snprintf(seqtext, sizeof seqtext, "%" PRId64, seq);
        sqlite3_bind_text(put, 1, seqtext, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(put, 2, prev_hex, 64, SQLITE_STATIC);
        if (sqlite3_step(put) != SQLITE_DONE)
            s = db_error(err, db, "moving the head");
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(put);
    if (s == EL_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        s = db_error(err, db, "commit");
    if (s != EL_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return s;
}

/* Opens $ELASTOS_HOME/audit.lost (0600, never through a symlink) and reserves LOST_RESERVE
 * bytes past its end, so that declaring a loss later needs no new space. -1 on failure. */
static int open_lost(el_runtime *rt)
{
    char path[PATH_MAX];
    el_error err;
    if (el_runtime_path(rt, LOST_FILE, path, sizeof path, &err) != EL_OK)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0)
        (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, LOST_RESERVE); /* best effort */
    return fd;
}

/* Declares recs[0..n) lost in audit.lost: one line with the count, how many were uses, the
 * events' first and last times and why. Called with b->mu held or after the writer ended. */
static void declare_lost(struct el_audit_buf *b, const pending *recs, size_t n, const char *why)
{
    if (!n)
        return;
    size_t uses = 0;
    int64_t first = recs[0].ts, last = recs[0].ts;
    for (size_t i = 0; i < n; i++) {
        uses += !strcmp(recs[i].s[5], EL_AUDIT_USE);
        first = recs[i].ts < first ? recs[i].ts : first;
        last = recs[i].ts > last ? recs[i].ts : last;
    }
    char line[800];
    int len = snprintf(line, sizeof line,
                       "%zu audit records lost (%zu uses, %zu other) from %" PRId64 " to %" PRId64 " ms, pid %ld: %.500s\n",
                       n, uses, n - uses, first, last, (long)getpid(), why);
    bool ok = b->lost_fd >= 0 && flock(b->lost_fd, LOCK_EX) == 0;
    ok = ok && el__write_all(b->lost_fd, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
    if (b->lost_fd >= 0) {
        fsync(b->lost_fd);
        flock(b->lost_fd, LOCK_UN);
    }
    if (!ok)
        el__log(b->rt, EL_LOG_WARNING, "audit.lost could not be written: %.*s", len > 0 ? len - 1 : 0, line);
}

static void *writer_main(void *arg)
{
    struct el_audit_buf *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->n && !b->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000000L; /* queued uses reach the disk within ~0.1 s */
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&b->wake, &b->mu, &until);
        }
        if (!b->n && b->stop)
            break;
        pending *batch = b->q;
        size_t k = b->n, cap = b->cap;
        b->q = NULL;
        b->n = b->cap = 0;
        pthread_mutex_unlock(&b->mu);
        el_error e;
        el_status st = append_batch(b->db, batch, k, &e);
        pthread_mutex_lock(&b->mu);
        if (st == EL_OK) {
            for (size_t i = 0; i < k; i++)
                free_pending(&batch[i]);
            free(batch);
            b->written += k;
            b->fail = st;
        } else {
            /* Keep the batch, in front of what arrived meanwhile, and try again shortly: the
             * trail gets no gap from a busy or briefly full disk. */
            pending *merged = realloc(batch, (k + b->n > cap ? k + b->n : cap) * sizeof *merged);
            if (merged) {
                if (b->n)
                    memcpy(merged + k, b->q, b->n * sizeof *merged);
                free(b->q);
                b->q = merged;
                b->cap = k + b->n > cap ? k + b->n : cap;
                b->n += k;
            } else { /* no memory to keep them: they are lost, and declared so */
                declare_lost(b, batch, k, "out of memory while the log could not be written");
                for (size_t i = 0; i < k; i++)
                    free_pending(&batch[i]);
                free(batch);
                b->written += k;
            }
            b->failures++;
            b->fail = st;
            snprintf(b->fail_msg, sizeof b->fail_msg, "%s", e.msg);
            if (b->stop) /* closing: el_audit_buf_free retries or declares what is left */
                break;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_broadcast(&b->done);
            pthread_cond_timedwait(&b->wake, &b->mu, &until);
        }
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void audit_buf_free(el_runtime *rt);

static el_status start_writer(el_runtime *rt, el_error *err)
{
    if (rt->audit)
        return EL_OK;
    struct el_audit_buf *b = calloc(1, sizeof *b);
    if (!b)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    el_status s = el__state_open(rt, &b->db, err);
    if (s != EL_OK) {
        free(b);
        return s;
    }
    b->rt = rt;
    b->lost_fd = open_lost(rt);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->wake, NULL);
    pthread_cond_init(&b->done, NULL);
    if (pthread_create(&b->thread, NULL, writer_main, b) != 0) {
        if (b->lost_fd >= 0)
            close(b->lost_fd);
        sqlite3_close(b->db);
        free(b);
        return el_error_set(err, EL_ERR_INTERNAL, "cannot start the audit writer");
    }
    rt->audit = b;
    el__runtime_on_close(rt, EL__TEARDOWN_WORKERS, audit_buf_free);
    return EL_OK;
}

/* Queues r; with wait, returns only once it (and all before it) is committed. */
static el_status enqueue(el_runtime *rt, const el_audit_record *r, bool wait, el_error *err)
{
    if (!rt || !r)
        return el_error_set(err, EL_ERR_USAGE, "audit log: no record to append");
    pending p;
    el_status s = copy_record(&p, r, err);
    if (s != EL_OK)
        return s;
    if ((s = start_writer(rt, err)) != EL_OK) {
        free_pending(&p);
        return s;
    }
    struct el_audit_buf *b = rt->audit;
    pthread_mutex_lock(&b->mu);
    if (b->n >= QUEUE_MAX && b->fail != EL_OK) { /* failing and full: refuse rather than grow */
        s = el_error_set(err, b->fail, "audit queue full while the log cannot be written: %s", b->fail_msg);
        pthread_mutex_unlock(&b->mu);
        free_pending(&p);
        return s;
    }
    if (!wait && b->fail != EL_OK) { /* a use while the log cannot be written: refused */
        s = el_error_set(err, b->fail, "the audit log cannot be written: %s", b->fail_msg);
        pthread_mutex_unlock(&b->mu);
        free_pending(&p);
        return s;
    }
    while (b->n >= QUEUE_MAX && b->fail == EL_OK)
        pthread_cond_wait(&b->done, &b->mu);
    if (!EL__GROW(b->q, b->cap, b->n + 1, 256, SIZE_MAX)) {
        pthread_mutex_unlock(&b->mu);
        free_pending(&p);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    b->q[b->n++] = p;
    uint64_t mine = ++b->queued, f0 = b->failures;
    if (wait || b->n == EL_AUDIT_BUFFER)
        pthread_cond_signal(&b->wake);
    /* A decision waits for its record to commit, or for an attempt to fail (it stays queued). */
    while (wait && b->written < mine && b->failures == f0)
        pthread_cond_wait(&b->done, &b->mu);
    s = wait && b->written < mine ? b->fail : EL_OK;
    if (s != EL_OK)
        el_error_set(err, s, "%s", b->fail_msg);
    pthread_mutex_unlock(&b->mu);
    return s;
}

el_status el_audit_flush(el_runtime *rt, el_error *err)
{
    struct el_audit_buf *b = rt ? rt->audit : NULL;
    if (!b)
        return EL_OK;
    pthread_mutex_lock(&b->mu);
    pthread_cond_signal(&b->wake);
    uint64_t f0 = b->failures;
    while (b->written < b->queued && b->failures == f0)
        pthread_cond_wait(&b->done, &b->mu);
    el_status s = b->written < b->queued ? b->fail : EL_OK;
    if (s != EL_OK)
        el_error_set(err, s, "%s", b->fail_msg);
    pthread_mutex_unlock(&b->mu);
    return s;
}

el_status el__audit_writable(el_runtime *rt, el_error *err)
{
    struct el_audit_buf *b = rt->audit;
    if (!b)
        return EL_OK;
    pthread_mutex_lock(&b->mu);
    el_status s = b->fail == EL_OK ? EL_OK : el_error_set(err, b->fail, "the audit log cannot be written: %s", b->fail_msg);
    pthread_mutex_unlock(&b->mu);
    return s;
}

/* Counts a queued record for /metrics (el__stats): all of them, and denials. */
static el_status counted(el_runtime *rt, const el_audit_record *r, el_status st)
{
    if (st == EL_OK && rt) {
        rt->stats.audit_records++;
        if (r->decision && !strcmp(r->decision, EL_AUDIT_DENY))
            rt->stats.audit_denials++;
    }
    return st;
}

el_status el_audit_defer(el_runtime *rt, const el_audit_record *r, el_error *err)
{
    return counted(rt, r, enqueue(rt, r, false, err));
}

el_status el_audit_append(el_runtime *rt, const el_audit_record *r, el_error *err)
{
    return counted(rt, r, enqueue(rt, r, true, err));
}

static void audit_buf_free(el_runtime *rt)
{
    struct el_audit_buf *b = rt->audit;
    if (!b)
        return;
    el_error err;
    el_status st = el_audit_flush(rt, &err);
    for (int i = 1; st != EL_OK && i < CLOSE_ATTEMPTS; i++) { /* a full disk may free up */
        usleep(200 * 1000);
        st = el_audit_flush(rt, &err);
    }
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    /* What is still queued could not be written: declared, never dropped silently. */
    declare_lost(b, b->q, b->n, b->fail_msg[0] ? b->fail_msg : "the audit log could not be written");
    for (size_t i = 0; i < b->n; i++)
        free_pending(&b->q[i]);
    free(b->q);
    if (b->lost_fd >= 0)
        close(b->lost_fd);
    sqlite3_close(b->db);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->done);
    free(b);
    rt->audit = NULL;
}

#define SELECT_ALL                                                                                           \
    "SELECT seq, ts, capsule, capsule_id, publisher, resource, action, decision, reason, token_id, prev, hash" \
    " FROM audit ORDER BY seq"

el_status el_audit_each(el_runtime *rt, int (*fn)(const el_audit_record *r, void *arg), void *arg, el_error *err)
{
    if (el_audit_flush(rt, err) != EL_OK)
        return err ? err->code : EL_ERR_IO;
    sqlite3 *db;
    el_status s = el__state_db(rt, &db, err);
    if (s != EL_OK)
        return s;
    sqlite3_stmt *st = prepare(db, SELECT_ALL);
    if (!st)
        return db_error(err, db, "reading");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[N_STR];
        for (int i = 0; i < N_STR; i++) {
            v[i] = (const char *)sqlite3_column_text(st, 2 + i);
            if (!v[i])
                v[i] = "";
        }
        el_audit_record r = {.seq = sqlite3_column_int64(st, 0), .ts_ms = sqlite3_column_int64(st, 1),
                             .capsule = v[0], .capsule_id = v[1], .publisher = v[2], .resource = v[3],
                             .action = v[4], .decision = v[5], .reason = v[6], .token_id = v[7]};
        if (fn(&r, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        s = db_error(err, db, "reading");
    sqlite3_finalize(st);
    return s;
}

/* Checks one row against the chain so far (prev is the previous record's hash, in binary and
 * hex); on a bad row sets *bad, fills err and returns its code. */
static el_status check_row(sqlite3_stmt *st, int64_t expect, uint8_t prev[32], char prev_hex[65], el_error *err,
                           int64_t *bad)
{
    int64_t seq = sqlite3_column_int64(st, 0);
    *bad = seq;
    if (seq > expect) {
        *bad = expect;
        return el_error_set(err, EL_ERR_FORMAT,
                            "audit record %" PRId64 ": missing (deleted); the log goes from record %" PRId64
                            " to record %" PRId64, expect, expect - 1, seq);
    }
    if (seq < expect) /* only possible for the first row: seqs are unique and ascending */
        return el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": seq out of range (renumbered or inserted)", seq);
    /* Values of the wrong SQL type would convert to text or integer silently: refuse them. */
    if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
        return el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": ts is not an integer (edited)", seq);
    fields f = {.seq = seq, .ts = sqlite3_column_int64(st, 1)};
    for (int i = 0; i < N_STR; i++) {
        if (sqlite3_column_type(st, 2 + i) != SQLITE_TEXT)
            return el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": %s is not text (edited)", seq, STR_NAMES[i]);
        f.s[i] = (const char *)sqlite3_column_text(st, 2 + i);
        f.n[i] = (size_t)sqlite3_column_bytes(st, 2 + i); /* all bytes: an embedded NUL is an edit too */
        if (!f.s[i] && f.n[i] > 0)
            return el_error_set(err, EL_ERR_INTERNAL, "audit record %" PRId64 ": out of memory", seq);
        if (!f.s[i])
            f.s[i] = "";
    }
    const char *p = (const char *)sqlite3_column_text(st, 10);
    if (sqlite3_column_type(st, 10) != SQLITE_TEXT || !p || sqlite3_column_bytes(st, 10) != 64 || memcmp(p, prev_hex, 64))
        return el_error_set(err, EL_ERR_FORMAT,
                            "audit record %" PRId64 ": prev does not match the hash of record %" PRId64
                            " (reordered or deleted)", seq, seq - 1);
    uint8_t h[32];
    char hex[65];
    if (!record_hash(prev, &f, h))
        return el_error_set(err, EL_ERR_INTERNAL, "audit record %" PRId64 ": SHA-256 failed", seq);
    el_sign_hex_encode(h, 32, hex);
    const char *stored = (const char *)sqlite3_column_text(st, 11);
    if (sqlite3_column_type(st, 11) != SQLITE_TEXT || !stored || sqlite3_column_bytes(st, 11) != 64 ||
        memcmp(stored, hex, 64))
        return el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": hash mismatch (edited or inserted)", seq);
    memcpy(prev, h, 32);
    memcpy(prev_hex, hex, 65);
    return EL_OK;
}

/* Records declared lost (audit.lost, see the top of this file) make the log incomplete: the
 * first line is reported, with the count of all, as a gap after record n. */
static el_status check_lost(el_runtime *rt, int64_t n, int64_t *bad, el_error *err)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    el_status s = el_runtime_path(rt, LOST_FILE, path, sizeof path, err);
    if (s != EL_OK)
        return s;
    el_error e2;
    if (el_fs_read_file(path, 1 << 20, &text, &len, &e2) != EL_OK)
        return e2.code == EL_ERR_NOTFOUND ? EL_OK : el_error_set(err, EL_ERR_FORMAT, "%s: %s", path, e2.msg);
    uint64_t lost = 0;
    for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        lost += strtoull(p, NULL, 10);
    char *nl = text ? strchr(text, '\n') : NULL;
    if (nl)
        *nl = 0;
    if (len)
        s = el_error_set(err, EL_ERR_FORMAT,
                         "audit records lost after record %" PRId64 ": %" PRIu64 " declared in %s (first: %.300s);"
                         " remove that file once the loss is accounted for", n, lost, path, text);
    *bad = n + 1;
    free(text);
    return s;
}

el_status el_audit_verify(el_runtime *rt, int64_t *n_records, int64_t *bad_seq, el_error *err)
{
    if (el_audit_flush(rt, err) != EL_OK)
        return err ? err->code : EL_ERR_IO;
    int64_t n_dummy, bad_dummy;
    if (!n_records)
        n_records = &n_dummy;
    if (!bad_seq)
        bad_seq = &bad_dummy;
    *n_records = 0;
    *bad_seq = 0;
    sqlite3 *db;
    el_status s = el__state_db(rt, &db, err);
    if (s != EL_OK)
        return s;
    /* One read transaction: the rows and the head come from the same snapshot. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(err, db, "begin");
    head h;
    s = read_head(db, &h, err);
    sqlite3_stmt *st = NULL;
    if (s == EL_OK && !(st = prepare(db, SELECT_ALL)))
        s = db_error(err, db, "reading");

    uint8_t prev[32] = {0};
    char prev_hex[65];
    memset(prev_hex, '0', 64);
    prev_hex[64] = 0;
    int64_t n = 0, bad = 0;
    bool broken = false;
    int rc = SQLITE_DONE;
    while (s == EL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((s = check_row(st, n + 1, prev, prev_hex, err, &bad)) != EL_OK) {
            broken = s == EL_ERR_FORMAT;
            break;
        }
        n++;
    }
    if (s == EL_OK && rc != SQLITE_DONE)
        s = db_error(err, db, "reading");
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);

    /* The head must name the last record (an empty log has no head, or the zero head). */
    if (s == EL_OK) {
        if (!h.ok) {
            broken = true;
            bad = n > 0 ? n : 1;
            s = el_error_set(err, EL_ERR_FORMAT,
                             "audit record %" PRId64 ": the head in the meta table is malformed (edited)", bad);
        } else if (h.seq > n) {
            broken = true;
            bad = n + 1;
            s = el_error_set(err, EL_ERR_FORMAT,
                             "audit record %" PRId64 ": missing (newest records deleted); the head is record %" PRId64
                             " but the log ends at record %" PRId64, bad, h.seq, n);
        } else if (h.seq < n) {
            broken = true;
            bad = h.seq + 1;
            s = el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": beyond the head, record %" PRId64
                             " (inserted, or the head was edited)", bad, h.seq);
        } else if (strcmp(h.hash, prev_hex) != 0) {
            broken = true;
            bad = n;
            s = el_error_set(err, EL_ERR_FORMAT, "audit record %" PRId64 ": does not match the head in the meta table"
                             " (replaced, or the head was edited)", n);
        }
    }
    if (s == EL_OK)
        s = check_lost(rt, n, &bad, err);
    broken |= s == EL_ERR_FORMAT;
    *n_records = n;
    if (broken)
        *bad_seq = bad;
    return s;
}
