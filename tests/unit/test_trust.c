/*
 * test_trust.c - unit tests of lib/trust.c: the publisher trust store ($home/trust/publishers).
 *
 * Every test opens a runtime on a fresh mkdtemp home, removed afterwards: add, list, remove,
 * check; renaming by re-adding; name rules; refusal messages; a damaged store is a configuration
 * error (never "trust nothing" or "trust something" silently); file and directory modes; no
 * temp files left behind; independence of two homes; persistence across runtimes.
 */
#include "elastos/runtime.h"
#include "elastos/trust.h"

#include "harness.h"

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

typedef struct home {
    char dir[64];
    el_runtime *rt;
} home;

static bool home_open(home *h)
{
    snprintf(h->dir, sizeof h->dir, "/tmp/test_trust.XXXXXX");
    h->rt = NULL;
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        CHECK(!"mkdtemp");
        return false;
    }
    el_error err = {0};
    el_status st = el_runtime_open(h->dir, &h->rt, &err);
    if (st != EL_OK)
        fprintf(stderr, "el_runtime_open: %s\n", err.msg);
    CHECK(st == EL_OK);
    return st == EL_OK;
}

static void home_close(home *h)
{
    el_runtime_close(h->rt);
    h->rt = NULL;
    rm_rf(h->dir);
    CHECK(access(h->dir, F_OK) != 0);
}

static void store_path(const home *h, char *out) { snprintf(out, PATH_MAX, "%s/trust/publishers", h->dir); }

static void new_key(uint8_t pk[EL_PK_BYTES])
{
    el_keypair kp;
    el_error err;
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    memcpy(pk, kp.pk, EL_PK_BYTES);
    el_sign_keypair_wipe(&kp);
}

/* Index of pk in the listed entries, or -1. */
static int find(const el_trust_entry *v, size_t n, const uint8_t pk[EL_PK_BYTES])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].pk, pk, EL_PK_BYTES) == 0)
            return (int)i;
    return -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(text, 1, strlen(text), f) == strlen(text));
    fclose(f);
    chmod(path, 0600);
}

/* Only "publishers" is in the trust directory (no temp files left over). */
static void check_no_leftovers(const home *h)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/trust", h->dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    int others = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "publishers")) {
            fprintf(stderr, "left over in %s: %s\n", dir, de->d_name);
            others++;
        }
    closedir(d);
    CHECK(others == 0);
}

static void test_add_list_remove_check(void)
{
    home h;
    if (!home_open(&h))
        return;
    el_error err = {0};
    uint8_t k1[32], k2[32], k3[32];
    new_key(k1);
    new_key(k2);
    new_key(k3);

    /* An empty (absent) store lists nothing and trusts nobody. */
    el_trust_entry *v = (el_trust_entry *)1;
    size_t n = 99;
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 0);
    free(v);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_ERR_TRUST);

    CHECK(el_trust_add(h.rt, k1, "alice", &err) == EL_OK);
    CHECK(el_trust_add(h.rt, k2, NULL, &err) == EL_OK);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 2);
    int i1 = find(v, n, k1), i2 = find(v, n, k2);
    CHECK(i1 >= 0 && i2 >= 0);
    if (i1 >= 0)
        CHECK_STREQ(v[i1].name, "alice");
    if (i2 >= 0)
        CHECK_STREQ(v[i2].name, "-");
    CHECK(find(v, n, k3) < 0);
    free(v);

    el_trust_entry e;
    memset(&e, 0, sizeof e);
    CHECK(el_trust_check(h.rt, k1, &e, &err) == EL_OK);
    CHECK(memcmp(e.pk, k1, 32) == 0);
    CHECK_STREQ(e.name, "alice");
    CHECK(el_trust_check(h.rt, k2, &e, &err) == EL_OK);
    CHECK_STREQ(e.name, "-");
    CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_OK);

    /* An untrusted key: EL_ERR_TRUST, one line naming the key and the fix. */
    memset(&err, 0, sizeof err);
    CHECK(el_trust_check(h.rt, k3, &e, &err) == EL_ERR_TRUST);
    CHECK(err.code == EL_ERR_TRUST);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, "elastos trust add") != NULL);
    char k3t[EL_PK_TEXT];
    el_sign_pubkey_format(k3, k3t);
    CHECK(strstr(err.msg, k3t) != NULL);

    /* The store file is what trust.h says: "ed25519:<hex> <name>" lines. */
    char sp[PATH_MAX];
    store_path(&h, sp);
    char *text = slurp(sp, NULL);
    CHECK(text != NULL);
    if (text) {
        char line[200], k1t[EL_PK_TEXT], k2t[EL_PK_TEXT];
        el_sign_pubkey_format(k1, k1t);
        el_sign_pubkey_format(k2, k2t);
        snprintf(line, sizeof line, "%s alice\n", k1t);
        CHECK(strstr(text, line) != NULL);
        snprintf(line, sizeof line, "%s -\n", k2t);
        CHECK(strstr(text, line) != NULL);
        free(text);
    }

    /* Adding again renames, without a duplicate. */
    CHECK(el_trust_add(h.rt, k1, "alice.2@example-org", &err) == EL_OK);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 2);
    i1 = find(v, n, k1);
    CHECK(i1 >= 0);
    if (i1 >= 0)
        CHECK_STREQ(v[i1].name, "alice.2@example-org");
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += memcmp(v[i].pk, k1, 32) == 0;
    CHECK(count == 1);
    free(v);
    /* Re-adding with no name resets it to "-"; with the same name again changes nothing. */
    CHECK(el_trust_add(h.rt, k1, NULL, &err) == EL_OK);
    CHECK(el_trust_check(h.rt, k1, &e, &err) == EL_OK);
    CHECK_STREQ(e.name, "-");
    CHECK(el_trust_add(h.rt, k1, "alice", &err) == EL_OK);
    CHECK(el_trust_add(h.rt, k1, "alice", &err) == EL_OK);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 2);
    free(v);

    /* Remove. */
    CHECK(el_trust_remove(h.rt, k2, &err) == EL_OK);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 1);
    CHECK(find(v, n, k2) < 0 && find(v, n, k1) == 0);
    free(v);
    CHECK(el_trust_check(h.rt, k2, NULL, &err) == EL_ERR_TRUST);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_OK);

    /* Removing an unknown (or already removed) key. */
    memset(&err, 0, sizeof err);
    CHECK(el_trust_remove(h.rt, k2, &err) == EL_ERR_NOTFOUND);
    CHECK(err.code == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(el_trust_remove(h.rt, k3, &err) == EL_ERR_NOTFOUND);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 1);
    free(v);

    /* Remove the last one: an empty store. */
    CHECK(el_trust_remove(h.rt, k1, &err) == EL_OK);
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 0);
    free(v);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_ERR_TRUST);
    CHECK(el_trust_remove(h.rt, k1, &err) == EL_ERR_NOTFOUND);

    /* Many keys. */
    uint8_t many[40][32];
    for (int i = 0; i < 40; i++) {
        new_key(many[i]);
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        CHECK(el_trust_add(h.rt, many[i], name, &err) == EL_OK);
    }
    CHECK(el_trust_list(h.rt, &v, &n, &err) == EL_OK);
    CHECK(n == 40);
    for (int i = 0; i < 40; i++) {
        int j = find(v, n, many[i]);
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        CHECK(j >= 0);
        if (j >= 0)
            CHECK_STREQ(v[j].name, name);
    }
    free(v);
    for (int i = 0; i < 40; i += 2)
        CHECK(el_trust_remove(h.rt, many[i], &err) == EL_OK);
    for (int i = 0; i < 40; i++)
        CHECK(el_trust_check(h.rt, many[i], NULL, &err) == (i % 2 ? EL_OK : EL_ERR_TRUST));
    check_no_leftovers(&h);
    home_close(&h);
}

static void test_names(void)
{
    home h;
    if (!home_open(&h))
        return;
    el_error err = {0};
    uint8_t k[32];
    new_key(k);
    CHECK(el_trust_add(h.rt, k, "original", &err) == EL_OK);
    char sp[PATH_MAX];
    store_path(&h, sp);
    size_t len0;
    char *before = slurp(sp, &len0);

    char long65[66], long64[65];
    memset(long65, 'a', 65);
    long65[65] = '\0';
    memset(long64, 'b', 64);
    long64[64] = '\0';
    const char *bad[] = {"", long65, "a b", "a/b", "a\nb", "a\tb", "caf\xc3\xa9", "a:b", "a#b", "a\"b", "a\\b", "a\rb", "a*"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t k2[32];
        new_key(k2);
        memset(&err, 0, sizeof err);
        el_status st = el_trust_add(h.rt, k2, bad[i], &err);
        if (st != EL_ERR_USAGE)
            fprintf(stderr, "bad name #%zu accepted\n", i);
        CHECK(st == EL_ERR_USAGE);
        CHECK(one_line(&err));
        CHECK(el_trust_check(h.rt, k2, NULL, &err) == EL_ERR_TRUST);
        /* Renaming a present key to a bad name is refused too. */
        CHECK(el_trust_add(h.rt, k, bad[i], &err) == EL_ERR_USAGE);
    }
    /* Nothing changed on disk. */
    size_t len1;
    char *after = slurp(sp, &len1);
    CHECK(before && after && len0 == len1 && memcmp(before, after, len0) == 0);
    free(before);
    free(after);
    el_trust_entry e;
    CHECK(el_trust_check(h.rt, k, &e, &err) == EL_OK);
    CHECK_STREQ(e.name, "original");

    const char *good[] = {long64, "A", "Z9", "a.b_c@d-e", "0", "-", "user@example.com"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK(el_trust_add(h.rt, k, good[i], &err) == EL_OK);
        memset(&e, 0, sizeof e);
        CHECK(el_trust_check(h.rt, k, &e, &err) == EL_OK);
        CHECK_STREQ(e.name, good[i]);
    }
    home_close(&h);
}

static void test_damaged_store(void)
{
    uint8_t k1[32], k2[32];
    new_key(k1);
    new_key(k2);
    char k1t[EL_PK_TEXT], hex[65];
    el_sign_pubkey_format(k1, k1t);
    el_sign_hex_encode(k1, 32, hex);
    char upper[EL_PK_TEXT];
    snprintf(upper, sizeof upper, "%s", k1t);
    for (char *p = upper + 8; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);

    char garbage[10][300];
    size_t n = 0;
    snprintf(garbage[n++], 300, "%s alice\nthis is not a key\n", k1t);
    snprintf(garbage[n++], 300, "garbage\n%s alice\n", k1t);
    snprintf(garbage[n++], 300, "%s alice\ned25519:%.63s bob\n", k1t, hex);
    snprintf(garbage[n++], 300, "%s alice\ned25519:%s0 bob\n", k1t, hex);
    snprintf(garbage[n++], 300, "%s alice\n%s bob\n", k1t, upper);
    snprintf(garbage[n++], 300, "%s alice\n%s bad name!\n", k1t, k1t);
    snprintf(garbage[n++], 300, "%s alice\nx25519:%s bob\n", k1t, hex);
    snprintf(garbage[n++], 300, "%s alice\n %s bob\n", k1t, k1t);
    snprintf(garbage[n++], 300, "%s alice\n%s \n", k1t, k1t);
    snprintf(garbage[n++], 300, "%s\x01\n", k1t);

    for (size_t i = 0; i < n; i++) {
        home h;
        if (!home_open(&h))
            return;
        el_error err = {0};
        /* Create the store through the API first, then damage it by hand. */
        CHECK(el_trust_add(h.rt, k1, "alice", &err) == EL_OK);
        char sp[PATH_MAX];
        store_path(&h, sp);
        write_text(sp, garbage[i]);

        el_trust_entry *v = NULL;
        size_t cnt = 0;
        memset(&err, 0, sizeof err);
        el_status st = el_trust_list(h.rt, &v, &cnt, &err);
        if (st != EL_ERR_CONFIG)
            fprintf(stderr, "damaged store #%zu: list gave %d\n", i, st);
        CHECK(st == EL_ERR_CONFIG);
        CHECK(err.code == EL_ERR_CONFIG);
        CHECK(one_line(&err));
        CHECK(strstr(err.msg, sp) != NULL); /* names the file */
        if (st == EL_OK)
            free(v);
        /* Neither the listed key nor any other is trusted (or distrusted) silently. */
        CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_ERR_CONFIG);
        CHECK(el_trust_check(h.rt, k2, NULL, &err) == EL_ERR_CONFIG);
        /* And the damaged file isn't silently rewritten by a change. */
        CHECK(el_trust_add(h.rt, k2, "bob", &err) == EL_ERR_CONFIG);
        CHECK(el_trust_remove(h.rt, k1, &err) == EL_ERR_CONFIG);
        size_t len;
        char *now = slurp(sp, &len);
        CHECK(now && len == strlen(garbage[i]) && memcmp(now, garbage[i], len) == 0);
        free(now);
        home_close(&h);
    }

    /* Comments, blank lines and a key without a name are part of the format, not damage. */
    home h;
    if (!home_open(&h))
        return;
    el_error err = {0};
    CHECK(el_trust_add(h.rt, k2, "bob", &err) == EL_OK); /* creates trust/ */
    char sp[PATH_MAX], text[400], k2t[EL_PK_TEXT];
    store_path(&h, sp);
    el_sign_pubkey_format(k2, k2t);
    snprintf(text, sizeof text, "# a comment\n\n%s alice\n# another\n%s\n", k1t, k2t);
    write_text(sp, text);
    el_trust_entry e;
    CHECK(el_trust_check(h.rt, k1, &e, &err) == EL_OK);
    CHECK_STREQ(e.name, "alice");
    CHECK(el_trust_check(h.rt, k2, &e, &err) == EL_OK);
    CHECK_STREQ(e.name, "-");
    /* A final line without a newline counts. */
    snprintf(text, sizeof text, "%s alice", k1t);
    write_text(sp, text);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) == EL_OK);
    CHECK(el_trust_check(h.rt, k2, NULL, &err) == EL_ERR_TRUST);
    /* An oversized store is refused, not half-read. */
    FILE *f = fopen(sp, "wb");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 20000; i++)
            fprintf(f, "# padding padding padding padding padding padding padding\n");
        fprintf(f, "%s alice\n", k1t);
        fclose(f);
    }
    CHECK(el_trust_check(h.rt, k1, NULL, &err) != EL_OK);
    /* A directory where the file should be is refused. */
    unlink(sp);
    CHECK(mkdir(sp, 0700) == 0);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) != EL_OK);
    CHECK(el_trust_check(h.rt, k1, NULL, &err) != EL_ERR_TRUST);
    rmdir(sp);
    home_close(&h);
}

static void test_modes_and_homes(void)
{
    /* Whatever the umask, the store is private. */
    mode_t old = umask(0);
    home h;
    bool ok = home_open(&h);
    umask(old);
    if (!ok)
        return;
    el_error err = {0};
    uint8_t k[32];
    new_key(k);
    old = umask(0);
    CHECK(el_trust_add(h.rt, k, "me", &err) == EL_OK);
    umask(old);
    char sp[PATH_MAX], dir[PATH_MAX];
    store_path(&h, sp);
    snprintf(dir, sizeof dir, "%s/trust", h.dir);
    struct stat st;
    CHECK(stat(sp, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    /* Still 0600 after a rewrite. */
    CHECK(chmod(sp, 0644) == 0);
    CHECK(el_trust_add(h.rt, k, "me2", &err) == EL_OK);
    CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);
    check_no_leftovers(&h);

    /* el_runtime_open creates a missing home 0700 and reports its absolute path. */
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/nested/home", h.dir);
    el_runtime *rt2 = NULL;
    old = umask(0);
    CHECK(el_runtime_open(sub, &rt2, &err) == EL_OK);
    umask(old);
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    if (rt2) {
        CHECK_STREQ(el_runtime_home(rt2), sub); /* mkdtemp's /tmp path has no symlinks here */
        /* Two homes don't share trust. */
        CHECK(el_trust_check(rt2, k, NULL, &err) == EL_ERR_TRUST);
        uint8_t k2[32];
        new_key(k2);
        CHECK(el_trust_add(rt2, k2, "other", &err) == EL_OK);
        CHECK(el_trust_check(h.rt, k2, NULL, &err) == EL_ERR_TRUST);
        el_runtime_close(rt2);
    }

    /* Persistence: a new runtime on the same home sees the same store. */
    el_runtime_close(h.rt);
    h.rt = NULL;
    CHECK(el_runtime_open(h.dir, &h.rt, &err) == EL_OK);
    el_trust_entry e;
    if (h.rt) {
        CHECK(el_trust_check(h.rt, k, &e, &err) == EL_OK);
        CHECK_STREQ(e.name, "me2");
    }
    home_close(&h);
}

int main(void)
{
    test_add_list_remove_check();
    test_names();
    test_damaged_store();
    test_modes_and_homes();
    return TEST_DONE();
}
