/*
 * bench_scale.c - cost as the work grows, for `make bench` (bench.py runs each at N and 100N):
 *   bench_scale token N             el_token_check with N revoked tokens in state.db
 *   bench_scale resolve N STAGE KEY el_store_resolve NAME@RANGE with N capsules installed
 *   bench_scale storage N ART PUB   a 4 KiB storage_write request (session, token checked) with N
 *                                   files (64 bytes each) already in the capsule's storage
 *   bench_scale audit N             el_audit_verify of N records
 * Each prints "ns_per_op X" (audit: also "records_per_sec X"). State lives in a fresh
 * temporary $ELASTOS_HOME (under /dev/shm when it exists: building 100N of anything on a
 * shared disk would measure the disk), removed afterwards. The set-up (revoking, installing,
 * creating files, appending records) is not timed; only the operation is, after one warm-up.
 * resolve: ART is a capsule stage directory (capsule.json + entry); N copies under names
 * scale-0..N-1 are packed with KEY and installed; the one in the middle is resolved.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elastos/artifact.h"
#include "elastos/audit.h"
#include "elastos/broker.h"
#include "elastos/fs.h"
#include "elastos/manifest.h"
#include "elastos/sign.h"
#include "elastos/store.h"
#include "elastos/token.h"
#include "elastos/trust.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int fail(const char *what, const el_error *err)
{
    fprintf(stderr, "bench_scale: %s: %s\n", what, err ? err->msg : "failed");
    return 1;
}

/* Runs op until ~1 s has passed (at least min_ops times); returns ns per op, or -1 on failure. */
static double time_op(int (*op)(void *), void *arg, long min_ops)
{
    if (op(arg) != 0) /* warm-up: caches, statements, first loads */
        return -1;
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 10; i++, n++)
            if (op(arg) != 0)
                return -1;
        t = now();
    } while (t - t0 < 1.0 || n < min_ops);
    return (t - t0) * 1e9 / (double)n;
}

/* ---- token_check with N revoked ---- */

typedef struct tok_arg {
    el_runtime *rt;
    const char *text, *holder;
} tok_arg;

static int tok_op(void *p)
{
    tok_arg *a = p;
    el_error err;
    const char *code;
    return el_token_check(a->rt, a->text, a->holder, "localhost://storage/notes/today.txt", EL_ACT_READ, NULL, &code,
                          &err) == EL_OK ? 0 : 1;
}

static int bench_token(const char *home, long n)
{
    el_error err;
    el_runtime *rt;
    char *text = NULL;
    const char *holder = "0123456789abcdef0123456789abcdef";
    if (el_runtime_open(home, &rt, &err) != EL_OK)
        return fail("runtime", &err);
    el_token_request req = {.holder_hex = holder, .capsule_name = "bench", .publisher = "",
                            .resource = "localhost://storage/notes/*", .action = EL_ACT_READ};
    if (el_token_issue(rt, &req, &text, NULL, &err) != EL_OK)
        return fail("issue", &err);
    /* N revocations of other token ids, written in one transaction on a second connection
     * (what N `elastos tokens revoke` would leave, without N fsyncs). */
    char db_path[PATH_MAX];
    snprintf(db_path, sizeof db_path, "%s/state.db", home);
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO revoked(id, at) VALUES(?1, 0)", -1, &st, NULL) != SQLITE_OK)
        return fail("state.db", NULL);
    for (long i = 0; i < n; i++) {
        char id[33];
        snprintf(id, sizeof id, "%016lx%016lx", 0xfeedfacecafebeefUL, (unsigned long)i);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return fail("insert revoked", NULL);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail("commit", NULL);
    sqlite3_close(db);
    tok_arg a = {rt, text, holder};
    double ns = time_op(tok_op, &a, 1000);
    if (ns < 0)
        return fail("a valid token failed its check", NULL);
    printf("ns_per_op %.1f\n", ns);
    free(text);
    el_runtime_close(rt);
    return 0;
}

/* ---- NAME@RANGE with N installed ---- */

typedef struct res_arg {
    el_runtime *rt;
    char name[64];
} res_arg;

static int res_op(void *p)
{
    res_arg *a = p;
    el_error err;
    char cid[EL_CID_MAX], path[PATH_MAX];
    return el_store_resolve(a->rt, a->name, "^1.0.0", cid, path, &err) == EL_OK ? 0 : 1;
}

/* Copies stage/capsule.json with "name" replaced by name, into dir (with the other files linked). */
static int make_stage(const char *stage, const char *dir, const char *name)
{
    char src[PATH_MAX], dst[PATH_MAX], *text;
    size_t len;
    el_error err;
    snprintf(src, sizeof src, "%s/capsule.json", stage);
    if (el_fs_read_file(src, 65536, &text, &len, &err) != EL_OK)
        return fail("read capsule.json", &err);
    char *at = strstr(text, "\"name\"");
    char *q1 = at ? strchr(at + 6, '"') : NULL, *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
    if (!q2)
        return fail("capsule.json has no name", NULL);
    snprintf(dst, sizeof dst, "%s/capsule.json", dir);
    FILE *f = fopen(dst, "w");
    if (!f)
        return fail("write capsule.json", NULL);
    fprintf(f, "%.*s%s%s", (int)(q1 + 1 - text), text, name, q2);
    fclose(f);
    free(text);
    return 0;
}

static int bench_resolve(const char *home, long n, const char *stage, const char *keyfile)
{
    el_error err;
    el_runtime *rt;
    el_keypair kp;
    if (el_runtime_open(home, &rt, &err) != EL_OK || el_sign_keypair_load(keyfile, &kp, &err) != EL_OK ||
        el_trust_add(rt, kp.pk, "bench", &err) != EL_OK)
        return fail("set-up", &err);
    /* A copy of the stage dir whose capsule.json is rewritten for each name. */
    char sdir[PATH_MAX], cmd[PATH_MAX * 3];
    snprintf(sdir, sizeof sdir, "%s/stage", home);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", stage, sdir);
    if (system(cmd) != 0)
        return fail("copy the stage dir", NULL);
    for (long i = 0; i < n; i++) {
        char name[64], art[PATH_MAX], cid[EL_CID_MAX];
        snprintf(name, sizeof name, "scale-%ld", i);
        snprintf(art, sizeof art, "%s/a.capsule", home);
        if (make_stage(stage, sdir, name) != 0 || el_artifact_pack(sdir, &kp, art, NULL, cid, &err) != EL_OK ||
            el_store_install(rt, art, cid, &err) != EL_OK)
            return fail("pack + install", &err);
    }
    el_sign_keypair_wipe(&kp);
    /* As between an install and a later run: the store directory sits still for a moment, so the
     * warm-up's reconcile may record the directory's stamp (store.c: a stamp younger than 0.1 s
     * is not trusted) and the timed lookups measure the steady state. */
    usleep(200000);
    res_arg a = {.rt = rt};
    snprintf(a.name, sizeof a.name, "scale-%ld", n / 2);
    double ns = time_op(res_op, &a, 20);
    if (ns < 0)
        return fail("resolve", NULL);
    printf("ns_per_op %.1f\n", ns);
    el_runtime_close(rt);
    return 0;
}

/* ---- storage_write with N files already there ---- */

typedef struct st_arg {
    el_session *s;
    char *req;
    unsigned long long id;
} st_arg;

static char *call(el_session *s, unsigned long long *id, const char *inner)
{
    size_t len, n = strlen(inner) + 64;
    char *msg = malloc(n);
    snprintf(msg, n, "{\"id\":%llu,\"request\":%s}", ++*id, inner);
    char *r = el_broker_session_handle(s, msg, strlen(msg), &len);
    free(msg);
    return r;
}

static int st_op(void *p)
{
    st_arg *a = p;
    char *r = call(a->s, &a->id, a->req);
    int rc = strstr(r, "\"ok\"") ? 0 : 1;
    if (rc)
        fprintf(stderr, "bench_scale: storage_write: %s\n", r);
    free(r);
    return rc;
}

static int bench_storage(const char *home, long n, const char *artifact, const char *pubfile)
{
    el_runtime *rt;
    el_artifact *art;
    el_session *s;
    el_error err;
    uint8_t pk[EL_PK_BYTES];
    if (el_runtime_open(home, &rt, &err) != EL_OK || el_sign_pubkey_parse(pubfile, pk, &err) != EL_OK ||
        el_trust_add(rt, pk, "bench", &err) != EL_OK || el_artifact_open(rt, artifact, 0, &art, &err) != EL_OK ||
        el_broker_session_new(rt, art, NULL, &s, &err) != EL_OK ||
        el_broker_session_grant(s, "localhost://storage/*:read", &err) != EL_OK ||
        el_broker_session_grant(s, "localhost://storage/*:write", &err) != EL_OK)
        return fail("set-up", &err);
    unsigned long long id = 0;
    char *r = call(s, &id, "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/*\",\"action\":\"write\"}");
    char tok[1024] = "";
    const char *t = strstr(r, "\"token\":\"");
    if (t)
        sscanf(t + 9, "%1023[^\"]", tok);
    if (!tok[0])
        fprintf(stderr, "bench_scale: request_capability: %s\n", r);
    free(r);
    char dir[PATH_MAX];
    bool writable;
    if (!tok[0] || !el_broker_session_storage_preopen(s, dir, sizeof dir, &writable))
        return fail("token / storage dir", NULL);
    /* N files of 64 bytes already in the capsule's storage (100,000 of them stay well inside the
     * default 64 MiB quota), in 100 subdirectories. */
    static char four_k[64];
    for (long i = 0; i < n; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/d%02ld", dir, i % 100);
        if (i < 100)
            mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/d%02ld/f%ld", dir, i % 100, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, four_k, sizeof four_k) != (ssize_t)sizeof four_k)
            return fail("create files", NULL);
        close(fd);
    }
    static char b64[5500];
    memset(b64, 'A', 5460);
    b64[5460] = 0; /* 4095 zero bytes */
    st_arg a = {.s = s, .id = id};
    size_t rl = strlen(tok) + sizeof b64 + 200;
    a.req = malloc(rl);
    snprintf(a.req, rl, "{\"type\":\"storage_write\",\"token\":\"%s\",\"path\":\"localhost://storage/new.bin\",\"content\":\"%s\"}",
             tok, b64);
    double ns = time_op(st_op, &a, 20);
    free(a.req);
    if (ns < 0)
        return 1;
    printf("ns_per_op %.1f\n", ns);
    el_broker_session_free(s);
    el_artifact_close(art);
    el_runtime_close(rt);
    return 0;
}

/* ---- audit verify of N records ---- */

static int bench_audit(const char *home, long n)
{
    el_runtime *rt;
    el_error err;
    if (el_runtime_open(home, &rt, &err) != EL_OK)
        return fail("runtime", &err);
    el_audit_record r = {.capsule = "bench", .capsule_id = "0123456789abcdef0123456789abcdef", .publisher = "",
                         .resource = "localhost://storage/notes/today.txt", .action = "read",
                         .decision = EL_AUDIT_USE, .reason = "", .token_id = "00112233445566778899aabbccddeeff"};
    for (long i = 0; i < n; i++)
        if (el_audit_defer(rt, &r, &err) != EL_OK)
            return fail("append", &err);
    if (el_audit_flush(rt, &err) != EL_OK)
        return fail("flush", &err);
    int64_t got = 0, bad;
    if (el_audit_verify(rt, &got, &bad, &err) != EL_OK) /* warm-up (page cache, statements) */
        return fail("verify", &err);
    double t0 = now();
    int rounds = 0;
    do {
        if (el_audit_verify(rt, &got, &bad, &err) != EL_OK)
            return fail("verify", &err);
        rounds++;
    } while (now() - t0 < 1.0);
    double ns = (now() - t0) * 1e9 / rounds;
    printf("ns_per_op %.1f\nrecords_per_sec %.0f\nrecords %lld\n", ns, (double)got * 1e9 / ns, (long long)got);
    el_runtime_close(rt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_scale token|resolve|storage|audit N [ARGS...]\n");
        return 64;
    }
    long n = atol(argv[2]);
    char home[PATH_MAX];
    snprintf(home, sizeof home, "%s/el-bench-scale-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(home)) {
        perror("bench_scale: mkdtemp");
        return 1;
    }
    int rc = 64;
    if (!strcmp(argv[1], "token"))
        rc = bench_token(home, n);
    else if (!strcmp(argv[1], "resolve") && argc == 5)
        rc = bench_resolve(home, n, argv[3], argv[4]);
    else if (!strcmp(argv[1], "storage") && argc == 5)
        rc = bench_storage(home, n, argv[3], argv[4]);
    else if (!strcmp(argv[1], "audit"))
        rc = bench_audit(home, n);
    else
        fprintf(stderr, "bench_scale: unknown mode or arguments\n");
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
