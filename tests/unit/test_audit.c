/*
 * test_audit.c - unit tests of lib/audit.c: the hash-chained audit trail (audit.h).
 *
 * Appends 50 varied records and checks them back (fields, seq, time, the stored hashes against an
 * independent implementation of the canonical encoding, the head in meta); refuses bad decisions
 * and oversized fields; then tampers with COPIES of the closed state.db through raw SQL (edits
 * of every field, type changes, renumbering, deletions, forged insertions, swaps, rehashed
 * records, head edits) and checks that el_audit_verify names the first bad record. Also: the
 * empty log, appending after a reopen, concurrent appenders in several processes, and the
 * append rate (printed; synchronous=FULL as configured by state.c).
 *
 * Each scenario gets a fresh home under a mkdtemp directory, removed at the end.
 */
#include "elastos/audit.h"
#include "elastos/sign.h"

#include "harness.h"

#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_BASE 50
#define BIG 4096

static char tmproot[] = "/tmp/test_audit.XXXXXX";
static int n_homes;

static void new_home(char *out)
{
    snprintf(out, PATH_MAX, "%s/home%d", tmproot, ++n_homes);
    CHECK(mkdir(out, 0700) == 0);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static el_runtime *open_rt(const char *home)
{
    el_runtime *rt = NULL;
    el_error err;
    el_status s = el_runtime_open(home, &rt, &err);
    CHECK(s == EL_OK);
    if (s != EL_OK)
        fprintf(stderr, "open %s: %s\n", home, err.msg);
    return rt;
}

/* ---- the records of the base log ---- */

static const char *const DECISIONS[] = {EL_AUDIT_REQUEST, EL_AUDIT_GRANT, EL_AUDIT_DENY,    EL_AUDIT_USE,
                                        EL_AUDIT_REVOKE,  EL_AUDIT_EPOCH, EL_AUDIT_OPERATOR};

typedef struct srec {
    char capsule[64], capsule_id[40], publisher[80], resource[128], action[16], reason[BIG + 1], token_id[40];
    const char *decision;
    bool null_capsule, null_token, null_reason;
} srec;

static srec base[N_BASE + 1]; /* 1-based */
static char big_reason[BIG + 1];

static void make_record(int i, srec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->capsule, sizeof r->capsule, "notes-%d", i);
    snprintf(r->capsule_id, sizeof r->capsule_id, "%032x", (unsigned)(i * 2654435761u));
    snprintf(r->publisher, sizeof r->publisher, "ed25519:%064d", i);
    snprintf(r->resource, sizeof r->resource, "localhost://storage/notes/%d/*", i);
    snprintf(r->action, sizeof r->action, "%s", i % 2 ? "read" : "write");
    r->decision = DECISIONS[i % 7];
    if (i == 25)
        snprintf(r->reason, sizeof r->reason, "%s", big_reason); /* exactly the limit */
    else
        snprintf(r->reason, sizeof r->reason, "reason %d: \xc3\xbcnic\xc3\xb6" "de, \"quotes\", tab\t", i);
    snprintf(r->token_id, sizeof r->token_id, "%032x", (unsigned)(i * 40503u + 7));
    r->null_capsule = i % 5 == 0;
    r->null_token = i % 3 == 0;
    r->null_reason = i % 11 == 0;
}

static el_audit_record to_api(const srec *r)
{
    el_audit_record a = {.seq = 999, .ts_ms = 12345, /* ignored: assigned by the runtime */
                         .capsule = r->null_capsule ? NULL : r->capsule, .capsule_id = r->capsule_id,
                         .publisher = r->publisher, .resource = r->resource, .action = r->action,
                         .decision = r->decision, .reason = r->null_reason ? NULL : r->reason,
                         .token_id = r->null_token ? NULL : r->token_id};
    return a;
}

/* ---- an independent implementation of the record hash (audit.h / lib/audit.c header) ---- */

typedef struct row {
    int64_t seq, ts;
    char s[8][BIG + 64]; /* capsule, capsule_id, publisher, resource, action, decision, reason, token_id */
    size_t n[8];
    char prev[80], hash[80];
} row;

static void put32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t **p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        *(*p)++ = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

static void test_hash_hex(const char *prev_hex, int64_t seq, int64_t ts, const char *const s[8], const size_t n[8],
                          char out[65])
{
    size_t total = 16 + 32 + 2 * 12;
    for (int i = 0; i < 8; i++)
        total += 4 + n[i];
    uint8_t *buf = malloc(total), *p = buf;
    memcpy(p, "elastos/audit/v1", 16);
    p += 16;
    CHECK(el_sign_hex_decode(prev_hex, 64, p));
    p += 32;
    put32(&p, 8);
    put64(&p, seq);
    put32(&p, 8);
    put64(&p, ts);
    for (int i = 0; i < 8; i++) {
        put32(&p, (uint32_t)n[i]);
        memcpy(p, s[i], n[i]);
        p += n[i];
    }
    CHECK((size_t)(p - buf) == total);
    uint8_t h[32];
    el_sign_sha256(buf, total, h);
    el_sign_hex_encode(h, 32, out);
    free(buf);
}

static void row_hash(const row *r, const char *prev_hex, char out[65])
{
    const char *s[8];
    for (int i = 0; i < 8; i++)
        s[i] = r->s[i];
    test_hash_hex(prev_hex, r->seq, r->ts, s, r->n, out);
}

/* ---- raw SQL on copies of state.db ---- */

static bool copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return false;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return false;
    }
    char buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ok &= fwrite(buf, 1, n, out) == n;
    ok &= !ferror(in);
    fclose(in);
    ok &= fclose(out) == 0;
    return ok;
}

/* A fresh home holding a copy of the (closed) database of home src. */
static void copy_home(const char *src, char *dst)
{
    new_home(dst);
    char a[PATH_MAX + 32], b[PATH_MAX + 32];
    snprintf(a, sizeof a, "%s/state.db", src);
    snprintf(b, sizeof b, "%s/state.db", dst);
    CHECK(copy_file(a, b));
    snprintf(a, sizeof a, "%s/state.db-wal", src);
    snprintf(b, sizeof b, "%s/state.db-wal", dst);
    if (access(a, F_OK) == 0)
        CHECK(copy_file(a, b));
}

static sqlite3 *raw_open(const char *home)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/state.db", home);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    return db;
}

/* Runs sql; returns the number of rows changed (-1 on error). */
static int raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int before = sqlite3_total_changes(db);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql failed: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return sqlite3_total_changes(db) - before;
}

static bool read_row(sqlite3 *db, int64_t seq, row *r)
{
    sqlite3_stmt *st = NULL;
    memset(r, 0, sizeof *r);
    bool ok = sqlite3_prepare_v2(db,
                                 "SELECT seq, ts, capsule, capsule_id, publisher, resource, action, decision, reason,"
                                 " token_id, prev, hash FROM audit WHERE seq = ?",
                                 -1, &st, NULL) == SQLITE_OK;
    ok = ok && sqlite3_bind_int64(st, 1, seq) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        r->seq = sqlite3_column_int64(st, 0);
        r->ts = sqlite3_column_int64(st, 1);
        for (int i = 0; i < 8; i++) {
            const unsigned char *t = sqlite3_column_text(st, 2 + i);
            r->n[i] = (size_t)sqlite3_column_bytes(st, 2 + i);
            if (r->n[i] < sizeof r->s[i])
                memcpy(r->s[i], t ? (const char *)t : "", r->n[i]);
        }
        snprintf(r->prev, sizeof r->prev, "%s", (const char *)sqlite3_column_text(st, 10));
        snprintf(r->hash, sizeof r->hash, "%s", (const char *)sqlite3_column_text(st, 11));
    }
    sqlite3_finalize(st);
    return ok;
}

static const char *const COLS[8] = {"capsule", "capsule_id", "publisher", "resource",
                                    "action",  "decision",   "reason",    "token_id"};

/* Writes r back (all columns, by r->seq). */
static void write_row(sqlite3 *db, const row *r)
{
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "UPDATE audit SET ts=?, capsule=?, capsule_id=?, publisher=?, resource=?, action=?,"
                             " decision=?, reason=?, token_id=?, prev=?, hash=? WHERE seq=?",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, r->ts);
    for (int i = 0; i < 8; i++)
        sqlite3_bind_text(st, 2 + i, r->s[i], (int)r->n[i], SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, r->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, r->seq);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    CHECK(sqlite3_changes(db) == 1);
    sqlite3_finalize(st);
}

static void insert_row(sqlite3 *db, const row *r)
{
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO audit(seq, ts, capsule, capsule_id, publisher, resource, action, decision,"
                             " reason, token_id, prev, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, r->seq);
    sqlite3_bind_int64(st, 2, r->ts);
    for (int i = 0; i < 8; i++)
        sqlite3_bind_text(st, 3 + i, r->s[i], (int)r->n[i], SQLITE_STATIC);
    sqlite3_bind_text(st, 11, r->prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, r->hash, -1, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Moves records seq >= from up by one (making room at from). */
static void renumber_up(sqlite3 *db, int64_t from)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE audit SET seq = -seq - 1 WHERE seq >= %" PRId64 ";"
                              "UPDATE audit SET seq = -seq WHERE seq < 0;", from);
    CHECK(raw_exec(db, sql) == 2 * (N_BASE - from + 1));
}

/* Verifies home (a tampered copy): EL_ERR_FORMAT naming want_bad, with text in the message. */
static void expect_bad_(const char *home, int64_t want_bad, const char *text, int line)
{
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    int64_t n = -1, bad = -1;
    el_error err = {0};
    el_status s = el_audit_verify(rt, &n, &bad, &err);
    el_runtime_close(rt);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "audit record %" PRId64 ": ", want_bad);
    bool good = s == EL_ERR_FORMAT && err.code == EL_ERR_FORMAT && bad == want_bad &&
                strncmp(err.msg, prefix, strlen(prefix)) == 0 && strstr(err.msg, text) && !strchr(err.msg, '\n');
    el_test_checks++;
    if (!good) {
        el_test_failures++;
        fprintf(stderr, "test_audit.c:%d: want bad %" PRId64 " \"%s\", got status %d bad %" PRId64 ": %s\n", line,
                want_bad, text, (int)s, bad, s == EL_OK ? "(ok)" : err.msg);
    }
}
#define expect_bad(home, want, text) expect_bad_(home, want, text, __LINE__)

static void expect_ok_(const char *home, int64_t want_n, int line)
{
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    int64_t n = -1, bad = -1;
    el_error err = {0};
    el_status s = el_audit_verify(rt, &n, &bad, &err);
    el_runtime_close(rt);
    el_test_checks++;
    if (s != EL_OK || n != want_n || bad != 0) {
        el_test_failures++;
        fprintf(stderr, "test_audit.c:%d: want intact with %" PRId64 " records, got status %d n %" PRId64 ": %s\n",
                line, want_n, (int)s, n, s == EL_OK ? "" : err.msg);
    }
}
#define expect_ok(home, want) expect_ok_(home, want, __LINE__)

/* A copy of base with sql applied (which must change want_changes rows; -1 = don't care). */
static void tampered(const char *base_home, const char *sql, int want_changes, char *out)
{
    copy_home(base_home, out);
    sqlite3 *db = raw_open(out);
    int ch = raw_exec(db, sql);
    CHECK(ch >= 0);
    if (want_changes >= 0 && ch != want_changes) {
        el_test_checks++, el_test_failures++;
        fprintf(stderr, "tamper \"%s\" changed %d rows, want %d\n", sql, ch, want_changes);
    }
    sqlite3_close(db);
}

/* ---- scenarios ---- */

typedef struct collected {
    int n, stop_after;
    int64_t last_seq, min_ts, max_ts;
    bool fields_ok;
} collected;

static bool streq_or_empty(const char *got, const char *want, bool null) { return !strcmp(got, null ? "" : want); }

static int collect(const el_audit_record *r, void *arg)
{
    collected *c = arg;
    c->n++;
    if (r->seq != c->last_seq + 1 || r->seq < 1 || r->seq > N_BASE)
        c->fields_ok = false;
    else {
        const srec *w = &base[r->seq];
        c->fields_ok &= streq_or_empty(r->capsule, w->capsule, w->null_capsule) && !strcmp(r->capsule_id, w->capsule_id) &&
                        !strcmp(r->publisher, w->publisher) && !strcmp(r->resource, w->resource) &&
                        !strcmp(r->action, w->action) && !strcmp(r->decision, w->decision) &&
                        streq_or_empty(r->reason, w->reason, w->null_reason) &&
                        streq_or_empty(r->token_id, w->token_id, w->null_token);
        c->fields_ok &= r->ts_ms >= c->min_ts && r->ts_ms <= c->max_ts;
        c->min_ts = r->ts_ms; /* non-decreasing */
    }
    c->last_seq = r->seq;
    return c->stop_after && c->n == c->stop_after;
}

/* The base log: 50 records, plus the refusals. */
static void build_base(const char *home)
{
    memset(big_reason, 'r', BIG);
    big_reason[BIG] = 0;
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    el_error err;
    int64_t t0 = now_ms();
    for (int i = 1; i <= N_BASE; i++) {
        make_record(i, &base[i]);
        el_audit_record a = to_api(&base[i]);
        el_status s = el_audit_append(rt, &a, &err);
        CHECK(s == EL_OK);
        if (s != EL_OK)
            fprintf(stderr, "append %d: %s\n", i, err.msg);
        if (i == 10) {
            /* Refusals in the middle consume no seq. */
            el_audit_record bad = a;
            const char *wrong[] = {"bogus", "Grant", "grant ", "", "epoch", "use\n"};
            for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
                bad.decision = wrong[k];
                CHECK(el_audit_append(rt, &bad, &err) == EL_ERR_USAGE);
            }
            bad.decision = NULL;
            CHECK(el_audit_append(rt, &bad, &err) == EL_ERR_USAGE);
            CHECK(strstr(err.msg, "decision") != NULL);
            CHECK(el_audit_append(rt, NULL, &err) == EL_ERR_USAGE);
        }
    }
    int64_t t1 = now_ms();

    int64_t n = -1, badseq = -1;
    CHECK(el_audit_verify(rt, &n, &badseq, &err) == EL_OK);
    CHECK(n == N_BASE);
    CHECK(badseq == 0);
    CHECK(el_audit_verify(rt, NULL, NULL, NULL) == EL_OK);

    collected c = {.min_ts = t0, .max_ts = t1, .fields_ok = true};
    CHECK(el_audit_each(rt, collect, &c, &err) == EL_OK);
    CHECK(c.n == N_BASE);
    CHECK(c.last_seq == N_BASE);
    CHECK(c.fields_ok);

    collected early = {.stop_after = 7, .min_ts = t0, .max_ts = t1, .fields_ok = true};
    CHECK(el_audit_each(rt, collect, &early, &err) == EL_OK);
    CHECK(early.n == 7);
    CHECK(early.last_seq == 7);
    el_runtime_close(rt);

    /* The stored hashes follow the documented encoding exactly; the head names record 50. */
    sqlite3 *db = raw_open(home);
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = 0;
    int hashes_ok = 0;
    for (int i = 1; i <= N_BASE; i++) {
        row r;
        if (!read_row(db, i, &r))
            break;
        char h[65];
        row_hash(&r, prev, h);
        if (!strcmp(r.prev, prev) && !strcmp(r.hash, h) && r.ts >= t0 && r.ts <= t1)
            hashes_ok++;
        memcpy(prev, r.hash, 65);
    }
    CHECK(hashes_ok == N_BASE);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key='audit_head_seq'),"
                                 " (SELECT value FROM meta WHERE key='audit_head_hash')", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STREQ((const char *)sqlite3_column_text(st, 0), "50");
    CHECK_STREQ((const char *)sqlite3_column_text(st, 1), prev);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Over-long strings are cut to 4096 bytes ending "...", never refused: a denial whose reason
 * quotes a capsule's huge request must still be in the log. Deferred records keep their order. */
static void test_overlong_and_deferred(void)
{
    char home[PATH_MAX];
    new_home(home);
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    el_error err;
    char *over = malloc(BIG + 2);
    memset(over, 'x', BIG + 1);
    over[BIG + 1] = 0;
    el_audit_record r = {.capsule = "c", .decision = EL_AUDIT_DENY, .resource = over, .reason = over};
    CHECK(el_audit_append(rt, &r, &err) == EL_OK);
    el_audit_record u = {.capsule = "c", .decision = EL_AUDIT_USE, .resource = "localhost://storage/a"};
    for (int i = 0; i < 300; i++) /* more than one buffer's worth: one flush happens inside */
        CHECK(el_audit_defer(rt, &u, &err) == EL_OK);
    el_audit_record g = {.capsule = "c", .decision = EL_AUDIT_GRANT, .resource = "localhost://storage/b"};
    CHECK(el_audit_append(rt, &g, &err) == EL_OK); /* writes the queued uses first */
    free(over);
    collected c = {.fields_ok = true};
    CHECK(el_audit_each(rt, collect, &c, &err) == EL_OK);
    CHECK(c.n == 302);
    int64_t n = -1, bad = -1;
    CHECK(el_audit_verify(rt, &n, &bad, &err) == EL_OK);
    CHECK(n == 302);
    el_runtime_close(rt);
    /* The cut value, and the order: deny, 300 uses, then the grant. */
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "sqlite3 %s/state.db \"SELECT length(resource), substr(reason, 4094), "
                              "(SELECT decision FROM audit WHERE seq=302), (SELECT count(*) FROM audit WHERE "
                              "decision='use' AND seq BETWEEN 2 AND 301) FROM audit WHERE seq=1\"", home);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    CHECK(p && fgets(line, sizeof line, p));
    if (p)
        pclose(p);
    CHECK_STREQ(line, "4096|...|grant|300\n");
}

static void test_empty(void)
{
    char home[PATH_MAX];
    new_home(home);
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    int64_t n = -1, bad = -1;
    el_error err;
    CHECK(el_audit_verify(rt, &n, &bad, &err) == EL_OK);
    CHECK(n == 0);
    CHECK(bad == 0);
    collected c = {.fields_ok = true};
    CHECK(el_audit_each(rt, collect, &c, &err) == EL_OK);
    CHECK(c.n == 0);
    el_runtime_close(rt);

    /* An empty log whose head claims records: the newest were deleted. */
    char h2[PATH_MAX];
    tampered(home, "INSERT INTO meta(key, value) VALUES('audit_head_seq', '3'), ('audit_head_hash', '"
                   "00000000000000000000000000000000000000000000000000000000000000ff')", 2, h2);
    expect_bad(h2, 1, "newest records deleted");
}

/* Field edits of record 17, one at a time. */
static void test_edits(const char *b)
{
    char h[PATH_MAX], sql[512];
    for (int i = 0; i < 8; i++) {
        snprintf(sql, sizeof sql, "UPDATE audit SET %s = %s || 'X' WHERE seq = 17", COLS[i], COLS[i]);
        tampered(b, sql, 1, h);
        expect_bad(h, 17, "hash mismatch (edited");
    }
    /* decision replaced by another valid decision, action by another valid action */
    tampered(b, "UPDATE audit SET decision = CASE decision WHEN 'grant' THEN 'deny' ELSE 'grant' END WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    tampered(b, "UPDATE audit SET action = CASE action WHEN 'read' THEN 'write' ELSE 'read' END WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    tampered(b, "UPDATE audit SET ts = ts + 1 WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    tampered(b, "UPDATE audit SET ts = ts - 3600000 WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    /* the same value as text is converted back by the column's integer affinity: nothing changed */
    tampered(b, "UPDATE audit SET ts = CAST(ts AS TEXT) WHERE seq = 17", 1, h);
    expect_ok(h, N_BASE);
    /* SQL-level tricks that keep the text the same */
    tampered(b, "UPDATE audit SET ts = ts + 0.25 WHERE seq = 17", 1, h);
    expect_bad(h, 17, "ts is not an integer");
    tampered(b, "UPDATE audit SET capsule = CAST(capsule AS BLOB) WHERE seq = 17", 1, h);
    expect_bad(h, 17, "capsule is not text");
    tampered(b, "UPDATE audit SET token_id = token_id || char(0) || 'hidden' WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    tampered(b, "UPDATE audit SET hash = upper(hash) WHERE seq = 17", 1, h);
    expect_bad(h, 17, "hash mismatch");
    tampered(b, "UPDATE audit SET prev = '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 17", 1, h);
    expect_bad(h, 17, "prev does not match the hash of record 16");
    /* first and last records */
    tampered(b, "UPDATE audit SET resource = 'localhost://storage/other/*' WHERE seq = 1", 1, h);
    expect_bad(h, 1, "hash mismatch");
    tampered(b, "UPDATE audit SET prev = hash WHERE seq = 1", 1, h);
    expect_bad(h, 1, "prev does not match");
    tampered(b, "UPDATE audit SET reason = 'nothing to see' WHERE seq = 50", 1, h);
    expect_bad(h, 50, "hash mismatch");
    /* two edits: the first one is named */
    tampered(b, "UPDATE audit SET capsule = 'x' WHERE seq IN (23, 31)", 2, h);
    expect_bad(h, 23, "hash mismatch");
}

static void test_renumber(const char *b)
{
    char h[PATH_MAX];
    tampered(b, "UPDATE audit SET seq = 1000 WHERE seq = 17", 1, h);
    expect_bad(h, 17, "missing (deleted)");
    tampered(b, "UPDATE audit SET seq = 0 WHERE seq = 17", 1, h);
    expect_bad(h, 0, "seq out of range");
    tampered(b, "UPDATE audit SET seq = -5 WHERE seq = 1", 1, h);
    expect_bad(h, -5, "seq out of range");
    /* 50 -> 51 and the head moved along: record 50 is missing, 51 is not the one hashed as 51 */
    tampered(b, "UPDATE audit SET seq = 51 WHERE seq = 50; UPDATE meta SET value = '51' WHERE key = 'audit_head_seq'", 2, h);
    expect_bad(h, 50, "missing (deleted)");
}

static void test_deletes(const char *b)
{
    char h[PATH_MAX];
    tampered(b, "DELETE FROM audit WHERE seq = 17", 1, h);
    expect_bad(h, 17, "missing (deleted); the log goes from record 16 to record 18");
    tampered(b, "DELETE FROM audit WHERE seq BETWEEN 17 AND 19", 3, h);
    expect_bad(h, 17, "the log goes from record 16 to record 20");
    tampered(b, "DELETE FROM audit WHERE seq = 1", 1, h);
    expect_bad(h, 1, "missing (deleted)");
    /* deleted and the later ones renumbered down: record 17 no longer chains */
    tampered(b, "DELETE FROM audit WHERE seq = 17; UPDATE audit SET seq = seq - 1 WHERE seq > 17;", 1 + 33, h);
    expect_bad(h, 17, "prev does not match the hash of record 16");
    /* the newest records: only the head notices */
    tampered(b, "DELETE FROM audit WHERE seq = 50", 1, h);
    expect_bad(h, 50, "newest records deleted");
    expect_bad(h, 50, "head is record 50");
    tampered(b, "DELETE FROM audit WHERE seq > 47", 3, h);
    expect_bad(h, 48, "newest records deleted");
    expect_bad(h, 48, "head is record 50 but the log ends at record 47");
    tampered(b, "DELETE FROM audit", N_BASE, h);
    expect_bad(h, 1, "newest records deleted");
}

static void test_inserts(const char *b)
{
    char h[PATH_MAX];
    row r17, f;

    /* A forged record between 17 and 18 with a made-up hash. */
    copy_home(b, h);
    sqlite3 *db = raw_open(h);
    CHECK(read_row(db, 17, &r17));
    renumber_up(db, 18);
    f = r17;
    f.seq = 18;
    snprintf(f.s[6], sizeof f.s[6], "forged");
    f.n[6] = strlen(f.s[6]);
    memcpy(f.prev, r17.hash, 65);
    memset(f.hash, 'a', 64);
    f.hash[64] = 0;
    insert_row(db, &f);
    raw_exec(db, "UPDATE meta SET value = '51' WHERE key = 'audit_head_seq'");
    sqlite3_close(db);
    expect_bad(h, 18, "hash mismatch (edited or inserted)");

    /* The same forged record hashed correctly: the record after it no longer chains. */
    copy_home(b, h);
    db = raw_open(h);
    renumber_up(db, 18);
    const char *s[8];
    for (int i = 0; i < 8; i++)
        s[i] = f.s[i];
    test_hash_hex(f.prev, f.seq, f.ts, s, f.n, f.hash);
    insert_row(db, &f);
    raw_exec(db, "UPDATE meta SET value = '51' WHERE key = 'audit_head_seq'");
    sqlite3_close(db);
    expect_bad(h, 19, "prev does not match the hash of record 18");

    /* A well-formed record appended past the head, bypassing the API. */
    copy_home(b, h);
    db = raw_open(h);
    row r50;
    CHECK(read_row(db, 50, &r50));
    f = r50;
    f.seq = 51;
    memcpy(f.prev, r50.hash, 65);
    row_hash(&f, f.prev, f.hash);
    insert_row(db, &f);
    sqlite3_close(db);
    expect_bad(h, 51, "beyond the head");
}

static void test_swap(const char *b)
{
    char h[PATH_MAX];
    copy_home(b, h);
    sqlite3 *db = raw_open(h);
    row a, c;
    CHECK(read_row(db, 17, &a));
    CHECK(read_row(db, 18, &c));
    a.seq = 18;
    c.seq = 17;
    write_row(db, &a);
    write_row(db, &c);
    sqlite3_close(db);
    expect_bad(h, 17, "prev does not match the hash of record 16 (reordered");

    /* The same swap done by exchanging the seq numbers. */
    tampered(b, "UPDATE audit SET seq = -seq WHERE seq IN (17, 18); UPDATE audit SET seq = 18 WHERE seq = -17;"
                "UPDATE audit SET seq = 17 WHERE seq = -18;", 4, h);
    expect_bad(h, 17, "prev does not match the hash of record 16 (reordered");
    /* Records 20 and 30 swapped: the first one is named. */
    tampered(b, "UPDATE audit SET seq = -seq WHERE seq IN (20, 30); UPDATE audit SET seq = 30 WHERE seq = -20;"
                "UPDATE audit SET seq = 20 WHERE seq = -30;", 4, h);
    expect_bad(h, 20, "prev does not match the hash of record 19");
}

static void test_rehash(const char *b)
{
    char h[PATH_MAX];
    /* Record 17 edited and its own hash recomputed correctly: 18 no longer chains. */
    copy_home(b, h);
    sqlite3 *db = raw_open(h);
    row r;
    CHECK(read_row(db, 17, &r));
    snprintf(r.s[3], sizeof r.s[3], "localhost://storage/secrets/*");
    r.n[3] = strlen(r.s[3]);
    row_hash(&r, r.prev, r.hash);
    write_row(db, &r);
    sqlite3_close(db);
    expect_bad(h, 18, "prev does not match the hash of record 17");

    /* ... and every successor rehashed too, but not the head: the head no longer matches. */
    copy_home(b, h);
    db = raw_open(h);
    char prev[65] = "";
    for (int64_t seq = 17; seq <= N_BASE; seq++) {
        CHECK(read_row(db, seq, &r));
        if (seq == 17) {
            snprintf(r.s[3], sizeof r.s[3], "localhost://storage/secrets/*");
            r.n[3] = strlen(r.s[3]);
        } else {
            memcpy(r.prev, prev, 65);
        }
        row_hash(&r, r.prev, r.hash);
        write_row(db, &r);
        memcpy(prev, r.hash, 65);
    }
    sqlite3_close(db);
    expect_bad(h, 50, "does not match the head");

    /* The test's own rehash is right: with the head moved too, the chain is (by design) intact
     * again - rewriting the whole tail is undetectable without an external anchor. */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'audit_head_hash'", prev);
    char h2[PATH_MAX];
    tampered(h, sql, 1, h2);
    expect_ok(h2, N_BASE);
}

static void test_head(const char *b)
{
    char h[PATH_MAX];
    tampered(b, "UPDATE meta SET value = '49' WHERE key = 'audit_head_seq'", 1, h);
    expect_bad(h, 50, "beyond the head, record 49");
    tampered(b, "UPDATE meta SET value = '51' WHERE key = 'audit_head_seq'", 1, h);
    expect_bad(h, 51, "newest records deleted");
    tampered(b, "UPDATE meta SET value = '100' WHERE key = 'audit_head_seq'", 1, h);
    expect_bad(h, 51, "head is record 100");
    tampered(b, "UPDATE meta SET value = (CASE substr(value, 1, 1) WHEN '0' THEN '1' ELSE '0' END) || substr(value, 2)"
                " WHERE key = 'audit_head_hash'", 1, h);
    expect_bad(h, 50, "does not match the head");
    tampered(b, "UPDATE meta SET value = '0000000000000000000000000000000000000000000000000000000000000000'"
                " WHERE key = 'audit_head_hash'", 1, h);
    expect_bad(h, 50, "does not match the head");
    tampered(b, "UPDATE meta SET value = 'fifty' WHERE key = 'audit_head_seq'", 1, h);
    expect_bad(h, 50, "malformed");
    tampered(b, "UPDATE meta SET value = '050' WHERE key = 'audit_head_seq'", 1, h);
    expect_bad(h, 50, "malformed");
    tampered(b, "UPDATE meta SET value = 50 WHERE key = 'audit_head_seq'", 1, h); /* same value as integer -> text */
    expect_ok(h, N_BASE);
    tampered(b, "DELETE FROM meta WHERE key = 'audit_head_hash'", 1, h);
    expect_bad(h, 50, "malformed");
    tampered(b, "DELETE FROM meta WHERE key LIKE 'audit_head_%'", 2, h);
    expect_bad(h, 1, "beyond the head, record 0");

    /* Appending onto a malformed head is refused rather than forking the chain. */
    tampered(b, "UPDATE meta SET value = 'x' WHERE key = 'audit_head_hash'", 1, h);
    el_runtime *rt = open_rt(h);
    if (rt) {
        el_error err;
        el_audit_record a = to_api(&base[3]);
        CHECK(el_audit_append(rt, &a, &err) == EL_ERR_FORMAT);
        el_runtime_close(rt);
    }
    /* Appending onto a head that lags the records fails (seq taken), and adds nothing. */
    tampered(b, "UPDATE meta SET value = '40' WHERE key = 'audit_head_seq'", 1, h);
    rt = open_rt(h);
    if (rt) {
        el_error err;
        el_audit_record a = to_api(&base[3]);
        CHECK(el_audit_append(rt, &a, &err) == EL_ERR_FORMAT);
        el_runtime_close(rt);
    }
    expect_bad(h, 41, "beyond the head, record 40");
}

/* Reopening continues the chain; the untouched copy is intact. */
static void test_reopen(const char *b)
{
    char h[PATH_MAX];
    copy_home(b, h);
    expect_ok(h, N_BASE);
    el_runtime *rt = open_rt(h);
    if (!rt)
        return;
    el_error err;
    el_audit_record a = {.decision = EL_AUDIT_EPOCH, .reason = "epoch bumped"};
    CHECK(el_audit_append(rt, &a, &err) == EL_OK);
    el_runtime_close(rt);
    expect_ok(h, N_BASE + 1);
    sqlite3 *db = raw_open(h);
    row r50, r51;
    CHECK(read_row(db, 50, &r50));
    CHECK(read_row(db, 51, &r51));
    sqlite3_close(db);
    CHECK_STREQ(r51.prev, r50.hash);
    CHECK_STREQ(r51.s[5], EL_AUDIT_EPOCH);
    CHECK(r51.n[0] == 0 && r51.n[1] == 0 && r51.n[7] == 0); /* NULL strings stored as "" */
}

/* Several processes appending at once keep one linear chain. */
static void test_concurrent(void)
{
    char home[PATH_MAX];
    new_home(home);
    el_runtime *rt = open_rt(home); /* create the database before the race */
    if (!rt)
        return;
    el_error err;
    int64_t n = -1;
    CHECK(el_audit_verify(rt, &n, NULL, &err) == EL_OK);
    el_runtime_close(rt);
    enum { PROCS = 4, EACH = 150 };
    int gate[2];
    CHECK(pipe(gate) == 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            el_runtime *crt = NULL;
            el_error cerr;
            int bad = el_runtime_open(home, &crt, &cerr) != EL_OK;
            char go;
            close(gate[1]);
            bad |= read(gate[0], &go, 1) != 0; /* all start together when the gate closes */
            for (int i = 0; !bad && i < EACH; i++) {
                char reason[32];
                snprintf(reason, sizeof reason, "proc %d item %d", p, i);
                el_audit_record a = {.decision = EL_AUDIT_USE, .capsule = "racer", .reason = reason};
                bad |= el_audit_append(crt, &a, &cerr) != EL_OK;
            }
            if (bad)
                fprintf(stderr, "child %d: %s\n", p, cerr.msg);
            el_runtime_close(crt);
            _exit(bad);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int p = 0; p < PROCS; p++) {
        int st = -1;
        CHECK(pids[p] > 0 && waitpid(pids[p], &st, 0) == pids[p]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    expect_ok(home, PROCS * EACH);
}

/* Appends per second with synchronous=FULL (each append is durable); printed, lightly bounded. */
static void test_rate(void)
{
    char home[PATH_MAX];
    new_home(home);
    el_runtime *rt = open_rt(home);
    if (!rt)
        return;
    el_error err;
    el_audit_record a = {.capsule = "bench", .capsule_id = "0123456789abcdef0123456789abcdef",
                         .publisher = "ed25519:0000000000000000000000000000000000000000000000000000000000000000",
                         .resource = "localhost://storage/bench/file", .action = "read", .decision = EL_AUDIT_USE,
                         .reason = "", .token_id = "00112233445566778899aabbccddeeff"};
    CHECK(el_audit_append(rt, &a, &err) == EL_OK); /* opens the database */
    const int N = 500;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += el_audit_append(rt, &a, &err) == EL_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(ok == N);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("el_audit_append: %d appends in %.3f s = %.0f appends/s (synchronous=FULL)\n", N, secs, N / secs);
    int64_t n = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(el_audit_verify(rt, &n, NULL, &err) == EL_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("el_audit_verify: %" PRId64 " records in %.3f s\n", n, secs);
    CHECK(n == N + 1);
    el_runtime_close(rt);
}

int main(void)
{
    if (!mkdtemp(tmproot)) {
        perror("mkdtemp");
        return 1;
    }
    char b[PATH_MAX];
    new_home(b);
    build_base(b);

    test_empty();
    test_overlong_and_deferred();
    test_edits(b);
    test_renumber(b);
    test_deletes(b);
    test_inserts(b);
    test_swap(b);
    test_rehash(b);
    test_head(b);
    test_reopen(b);
    expect_ok(b, N_BASE); /* all of that happened on copies */
    test_concurrent();
    test_rate();

    rm_rf(tmproot);
    return TEST_DONE();
}
