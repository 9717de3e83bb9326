/*
 * test_store.c - unit tests of lib/store.c: the local content store ($home/store/<cid>.capsule).
 *
 * Installing a verified artifact copies exactly its bytes, under its CID, mode 0600; locating
 * validates the CID first; untrusted or tampered artifacts are refused with EL_ERR_TRUST and
 * leave the store untouched; installing twice is harmless, and re-installing repairs a damaged
 * store entry (the store file must always hold exactly the bytes of its CID).
 */
#include "elastos/fs.h"
#include "elastos/store.h"
#include "elastos/trust.h"

#include "harness.h"
#include "internal.h" /* el__state_stmt: the prepared statements the store's lookups keep */

#include <sqlite3.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/test_store.XXXXXX";

static void tpath(char *out, const char *rel) { snprintf(out, PATH_MAX, "%s/%s", tmp, rel); }

static void put(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    el_error err;
    *len = 0;
    if (el_fs_read_file(path, (size_t)1 << 30, &data, len, &err) != EL_OK)
        return NULL;
    return (uint8_t *)data;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *da = slurp(a, &la), *db = slurp(b, &lb);
    bool same = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

/* Entries of dir (other than . and ..); -1 if it does not exist. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".lock"); /* the store's lock */
    closedir(d);
    return n;
}

/* Packs a small capsule "stored" of the given version whose payload is `payload`, signed by kp,
 * into out. */
static void pack_version(const char *name, const char *version, const char *payload, const el_keypair *kp, char *out,
                         char cid[EL_CID_MAX])
{
    char src[PATH_MAX], f[PATH_MAX];
    tpath(src, name);
    mkdir(src, 0755);
    snprintf(f, sizeof f, "%s/capsule.json", src);
    char m[256];
    snprintf(m, sizeof m, "{\"name\":\"stored\",\"version\":\"%s\",\"type\":\"wasm\",\"entry\":\"main.wasm\"}",
             version);
    put(f, m, strlen(m));
    snprintf(f, sizeof f, "%s/main.wasm", src);
    put(f, payload, strlen(payload));
    snprintf(out, PATH_MAX, "%s/%s.capsule", tmp, name);
    el_error err = {0};
    el_status st = el_artifact_pack(src, kp, out, NULL, cid, &err);
    if (st != EL_OK)
        fprintf(stderr, "pack: %s\n", err.msg);
    CHECK(st == EL_OK);
    rm_rf(src);
}

static void pack(const char *name, const char *payload, const el_keypair *kp, char *out, char cid[EL_CID_MAX])
{
    pack_version(name, "0.1.0", payload, kp, out, cid);
}

/* NAME@RANGE resolution reconciles only when the store directory changed (store.c): a file put
 * into the store by hand after a resolve is found by the next one, and one removed by hand is
 * no longer resolved. */
static void test_resolve_after_change(el_runtime *rt, const el_keypair *kp, const char *store)
{
    char cid[EL_CID_MAX], path[PATH_MAX], art[PATH_MAX], vcid[EL_CID_MAX];
    el_error err = {0};
    usleep(250000); /* older than the store's 0.1 s "racy" margin: the next resolve records the stamp */
    CHECK(el_store_resolve(rt, "stored", "^0.1.0", cid, path, &err) == EL_OK);
    CHECK(el_store_resolve(rt, "stored", "^0.2.0", cid, path, &err) == EL_ERR_NOTFOUND);
    CHECK(el_store_resolve(rt, "stored", "^0.2.0", cid, path, &err) == EL_ERR_NOTFOUND); /* stamp unchanged */
    pack_version("v2", "0.2.0", "version two", kp, art, vcid);
    size_t len;
    uint8_t *bytes = slurp(art, &len);
    char dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/%s.capsule", store, vcid);
    if (bytes)
        put(dst, bytes, len);
    chmod(dst, 0600);
    free(bytes);
    memset(cid, 0, sizeof cid);
    el_status st = el_store_resolve(rt, "stored", "^0.2.0", cid, path, &err);
    if (st != EL_OK)
        fprintf(stderr, "resolve after a copy by hand: %s\n", err.msg);
    CHECK(st == EL_OK);
    CHECK_STREQ(cid, vcid);
    usleep(250000);
    CHECK(el_store_resolve(rt, "stored", "^0.2.0", cid, path, &err) == EL_OK); /* stamp recorded */
    CHECK(unlink(dst) == 0);
    CHECK(el_store_resolve(rt, "stored", "^0.2.0", cid, path, &err) == EL_ERR_NOTFOUND);
}

/* The prepared statements a runtime keeps (state.c, el__state_stmt): the same literal gets the
 * same statement back, reset and unbound; a use nested inside another gets a statement of its
 * own; past the cache's 32 literals a statement is fresh each time and finalized at done. Every
 * answer stays right; el_runtime_close then closes the database with all of them finalized (a
 * leaked statement or connection would fail the ASan build). */
static void test_stmt_cache(el_runtime *rt)
{
    static const char q[] = "SELECT ?1 + 1";
    sqlite3_stmt *a = NULL, *b = NULL;
    el_error err = {0};
    CHECK(el__state_stmt(rt, q, &a, &err) == EL_OK && a);
    if (!a)
        return;
    sqlite3_bind_int(a, 1, 41);
    CHECK(sqlite3_step(a) == SQLITE_ROW && sqlite3_column_int(a, 0) == 42);
    CHECK(el__state_stmt(rt, q, &b, &err) == EL_OK && b && b != a); /* a is still out */
    if (b) {
        sqlite3_bind_int(b, 1, 1);
        CHECK(sqlite3_step(b) == SQLITE_ROW && sqlite3_column_int(b, 0) == 2);
        el__state_stmt_done(rt, b); /* the fresh one: finalized */
    }
    el__state_stmt_done(rt, a);
    sqlite3_stmt *c = NULL;
    CHECK(el__state_stmt(rt, q, &c, &err) == EL_OK && c == a); /* kept, handed out again */
    if (c) {
        CHECK(sqlite3_step(c) == SQLITE_ROW && sqlite3_column_type(c, 0) == SQLITE_NULL); /* unbound: NULL + 1 */
        el__state_stmt_done(rt, c);
    }
    /* 40 distinct literals (distinct addresses): the first ones are kept, the rest are fresh. */
    static char many[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(many[i], sizeof many[i], "SELECT %d", i);
        for (int round = 0; round < 2; round++) {
            sqlite3_stmt *m = NULL;
            CHECK(el__state_stmt(rt, many[i], &m, &err) == EL_OK && m);
            if (m) {
                CHECK(sqlite3_step(m) == SQLITE_ROW && sqlite3_column_int(m, 0) == i);
                el__state_stmt_done(rt, m);
            }
        }
    }
    sqlite3_stmt *bad = NULL;
    CHECK(el__state_stmt(rt, "SELECT FROM nowhere", &bad, &err) == EL_ERR_CONFIG && !bad);
    CHECK(one_line(&err));
}

int main(void)
{
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    el_runtime *rt = NULL;
    el_keypair kp, stranger;
    el_error err = {0};
    char home[PATH_MAX], store[PATH_MAX];
    tpath(home, "home");
    snprintf(store, sizeof store, "%s/store", home);
    if (el_runtime_open(home, &rt, &err) != EL_OK || el_sign_keypair_generate(&kp, &err) != EL_OK ||
        el_sign_keypair_generate(&stranger, &err) != EL_OK || el_trust_add(rt, kp.pk, "pub", &err) != EL_OK) {
        fprintf(stderr, "set-up: %s\n", err.msg);
        CHECK(!"set-up");
        rm_rf(tmp);
        return TEST_DONE();
    }

    char art[PATH_MAX], art_cid[EL_CID_MAX];
    pack("good", "the payload", &kp, art, art_cid);

    /* Refusals first, on an empty store: nothing may be written. */
    char untrusted[PATH_MAX], ucid[EL_CID_MAX], cid[EL_CID_MAX];
    pack("untrusted", "the payload", &stranger, untrusted, ucid);
    memset(&err, 0, sizeof err);
    CHECK(el_store_install(rt, untrusted, cid, &err) == EL_ERR_TRUST);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, "elastos trust add") != NULL);
    CHECK(count_entries(store) <= 0);

    size_t len;
    uint8_t *bytes = slurp(art, &len);
    CHECK(bytes != NULL && len > 2048);
    char tampered[PATH_MAX];
    tpath(tampered, "tampered.capsule");
    if (bytes) {
        static const size_t where[] = {0, 100, 600, 1500};
        for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
            bytes[where[i]] ^= 0x20;
            put(tampered, bytes, len);
            bytes[where[i]] ^= 0x20;
            memset(&err, 0, sizeof err);
            CHECK(el_store_install(rt, tampered, cid, &err) == EL_ERR_TRUST);
            CHECK(one_line(&err));
        }
        /* ... and truncated */
        put(tampered, bytes, len - 512);
        CHECK(el_store_install(rt, tampered, cid, &err) == EL_ERR_TRUST);
    }
    CHECK(count_entries(store) <= 0);
    char missing[PATH_MAX];
    tpath(missing, "missing.capsule");
    CHECK(el_store_install(rt, missing, cid, &err) == EL_ERR_NOTFOUND);
    CHECK(count_entries(store) <= 0);

    /* Locate before install: valid but absent, and not a CID at all. */
    char path[PATH_MAX];
    memset(&err, 0, sizeof err);
    CHECK(el_store_locate(rt, art_cid, path, &err) == EL_ERR_NOTFOUND);
    CHECK(err.code == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, art_cid) != NULL);
    static const char *not_cids[] = {"", "hello", "../../etc/passwd", "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37h",
                                     "BAFKREIDE5SEMUAFSNDS3UGRVM6FBWUYW2IJPJ43GWJDXEMSTJKFOZI37HQ",
                                     "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq/../x",
                                     "QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u"};
    for (size_t i = 0; i < sizeof not_cids / sizeof *not_cids; i++) {
        memset(&err, 0, sizeof err);
        CHECK(el_store_locate(rt, not_cids[i], path, &err) == EL_ERR_FORMAT);
        CHECK(one_line(&err));
    }
    /* "Hello world": a valid CID that is not in the store. */
    CHECK(el_store_locate(rt, "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", path, &err) ==
          EL_ERR_NOTFOUND);

    /* Install. */
    memset(cid, 0, sizeof cid);
    memset(&err, 0, sizeof err);
    el_status st = el_store_install(rt, art, cid, &err);
    if (st != EL_OK)
        fprintf(stderr, "install: %s\n", err.msg);
    CHECK(st == EL_OK);
    CHECK_STREQ(cid, art_cid);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/%s.capsule", store, art_cid);
    struct stat s;
    CHECK(stat(want, &s) == 0 && S_ISREG(s.st_mode) && (s.st_mode & 0777) == 0600);
    CHECK(stat(store, &s) == 0 && S_ISDIR(s.st_mode) && (s.st_mode & 077) == 0);
    CHECK(same_file(want, art));
    char c2[EL_CID_MAX];
    CHECK(el_cid_of_file(want, c2, &err) == EL_OK);
    CHECK_STREQ(c2, art_cid);
    CHECK(count_entries(store) == 1); /* no temp files left */

    memset(path, 0, sizeof path);
    CHECK(el_store_locate(rt, art_cid, path, &err) == EL_OK);
    CHECK_STREQ(path, want);
    /* The stored artifact opens and verifies. */
    el_artifact *a = NULL;
    CHECK(el_artifact_open(rt, path, 0, &a, &err) == EL_OK);
    if (a) {
        CHECK_STREQ(el_artifact_manifest(a)->name, "stored");
        el_artifact_close(a);
    }

    /* Installing twice is fine: same CID, same single file, same bytes. */
    memset(cid, 0, sizeof cid);
    CHECK(el_store_install(rt, art, cid, &err) == EL_OK);
    CHECK_STREQ(cid, art_cid);
    CHECK(same_file(want, art));
    CHECK(count_entries(store) == 1);
    /* Installing from the store path itself is fine too. */
    CHECK(el_store_install(rt, want, cid, &err) == EL_OK);
    CHECK(same_file(want, art));

    /* Refusals don't touch what is there. */
    CHECK(el_store_install(rt, untrusted, cid, &err) == EL_ERR_TRUST);
    CHECK(el_store_install(rt, tampered, cid, &err) == EL_ERR_TRUST);
    CHECK(count_entries(store) == 1);
    CHECK(same_file(want, art));

    /* A second artifact gets its own entry. */
    char art2[PATH_MAX], cid2[EL_CID_MAX];
    pack("second", "another payload", &kp, art2, cid2);
    CHECK(strcmp(cid2, art_cid) != 0);
    CHECK(el_store_install(rt, art2, cid, &err) == EL_OK);
    CHECK_STREQ(cid, cid2);
    CHECK(count_entries(store) == 2);
    CHECK(el_store_locate(rt, cid2, path, &err) == EL_OK);
    CHECK(el_store_locate(rt, art_cid, path, &err) == EL_OK);

    /* A damaged store entry is repaired by installing the artifact again. */
    if (bytes) {
        bytes[len / 2] ^= 1;
        put(want, bytes, len);
        bytes[len / 2] ^= 1;
        chmod(want, 0600);
        CHECK(!same_file(want, art));
        CHECK(el_store_install(rt, art, cid, &err) == EL_OK);
        bool repaired = same_file(want, art);
        if (!repaired)
            fprintf(stderr, "re-install left a damaged store entry in place\n");
        CHECK(repaired);
        /* ... and a truncated one */
        put(want, bytes, 100);
        CHECK(el_store_install(rt, art, cid, &err) == EL_OK);
        CHECK(same_file(want, art));
        CHECK(count_entries(store) == 2);
    }

    test_resolve_after_change(rt, &kp, store);
    test_stmt_cache(rt);

    /* The store is per home. */
    el_runtime *rt2 = NULL;
    char home2[PATH_MAX];
    tpath(home2, "home2");
    CHECK(el_runtime_open(home2, &rt2, &err) == EL_OK);
    if (rt2) {
        CHECK(el_store_locate(rt2, art_cid, path, &err) == EL_ERR_NOTFOUND);
        CHECK(el_store_install(rt2, art, cid, &err) == EL_ERR_TRUST); /* kp is not trusted there */
        el_runtime_close(rt2);
    }

    free(bytes);
    el_runtime_close(rt);
    el_sign_keypair_wipe(&kp);
    el_sign_keypair_wipe(&stranger);
    rm_rf(tmp);
    CHECK(access(tmp, F_OK) != 0);
    return TEST_DONE();
}
