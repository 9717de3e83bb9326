/*
 * test_artifact.c - unit tests of lib/artifact.c: packing, sealing and opening signed capsule
 * artifacts (artifact.h, SPEC section 4).
 *
 *  - a packed directory opens with the right manifest, sorted files, contents and checksums, and
 *    the CID of its bytes; packing is deterministic (and ignores mtimes and modes);
 *  - the format is the documented one, checked independently: GNU tar lists and extracts it,
 *    SHA256SUMS lists every file, and the SIGNATURE block verifies by hand;
 *  - EVERY single-byte change, truncation, extension or prefix is refused with EL_ERR_TRUST;
 *  - an unknown publisher is refused unless EL_OPEN_ANY_PUBLISHER;
 *  - refused packs leave nothing in the output directory;
 *  - el_artifact_seal reproduces the packer's seal; hostile archives built by this test (with
 *    its own ustar writer) and sealed with a trusted key are refused as malformed.
 */
#include "elastos/artifact.h"
#include "elastos/fs.h"
#include "elastos/trust.h"

#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define BLOCK 512
#define SEAL_LEN (4 * BLOCK)

static char tmp[] = "/tmp/test_artifact.XXXXXX";
static el_runtime *rt;   /* home with the publisher trusted */
static el_runtime *rt2;  /* home that trusts nobody */
static el_keypair kp;    /* trusted publisher */
static el_keypair kp2;   /* unknown publisher */

/* ---- helpers ----------------------------------------------------------------------------- */

static void tpath(char *out, const char *rel) { snprintf(out, PATH_MAX, "%s/%s", tmp, rel); }

/* mkdir -p for the parent directories of path, then writes data. */
static void put(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0) {
        fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
        return;
    }
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

static void puts_(const char *dir, const char *rel, const char *text) { put(dir, rel, text, strlen(text)); }

static uint8_t *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    el_error err;
    *len = 0;
    if (el_fs_read_file(path, (size_t)1 << 30, &data, len, &err) != EL_OK)
        return NULL;
    return (uint8_t *)data;
}

static bool write_bytes(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return false;
    bool ok = len == 0 || write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok;
}

/* Number of entries in dir other than . and .. (printing them). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            fprintf(stderr, "  %s/%s\n", dir, de->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static el_status open_status(el_runtime *r, const char *path, unsigned flags, el_error *err)
{
    el_artifact *a = (el_artifact *)1;
    el_status st = el_artifact_open(r, path, flags, &a, err);
    if (st == EL_OK)
        el_artifact_close(a);
    else
        CHECK(a == NULL);
    return st;
}

/* Status of opening these bytes (written to a temp file). */
static el_status open_bytes(el_runtime *r, const uint8_t *data, size_t len, unsigned flags, el_error *err)
{
    char path[PATH_MAX];
    tpath(path, "bytes.capsule");
    CHECK(write_bytes(path, data, len));
    el_status st = open_status(r, path, flags, err);
    unlink(path);
    return st;
}

/* ---- the sample capsule ------------------------------------------------------------------ */

#define MANIFEST                                                                               \
    "{\n  \"name\": \"test-capsule\",\n  \"version\": \"1.2.3-beta.1\",\n  \"type\": \"wasm\",\n" \
    "  \"entry\": \"bin/app.wasm\",\n  \"description\": \"unit test capsule\",\n"                  \
    "  \"resource_limits\": { \"memory_mb\": 32, \"wall_ms\": 1000 }\n}\n"

/* A path of more than 100 bytes: needs the ustar prefix field. */
#define LONG_DIR "deeply-nested-directory-name-number-one-0123456789/second-level-directory-abcdefghij"
#define LONG_PATH LONG_DIR "/a-long-file-name-that-is-still-under-one-hundred-bytes.txt"

typedef struct sample_file {
    const char *path;
    uint8_t *data;
    size_t size;
} sample_file;

static sample_file sample[16];
static size_t n_sample;

static void add_sample(const char *dir, const char *path, size_t size, uint8_t seed)
{
    sample_file *f = &sample[n_sample++];
    f->path = path;
    f->size = size;
    f->data = malloc(size ? size : 1);
    if (!strcmp(path, "capsule.json"))
        memcpy(f->data, MANIFEST, size);
    else
        for (size_t i = 0; i < size; i++)
            f->data[i] = (uint8_t)(seed + i * 7 + (i >> 8));
    put(dir, path, f->data, size);
}

/* Files in bytewise order after sorting: "A-upper" < "bin/app.wasm" < "capsule.json" < ... */
static void free_sample(void);

static void make_sample(const char *dir)
{
    free_sample();
    mkdir(dir, 0755);
    add_sample(dir, "capsule.json", strlen(MANIFEST), 0);
    add_sample(dir, "bin/app.wasm", 1000, 1);
    add_sample(dir, "data/a.txt", 13, 2);
    add_sample(dir, "data/sub/b.bin", 512, 3);   /* exactly one block */
    add_sample(dir, "data/sub/c.bin", 1025, 4);  /* just over two blocks */
    add_sample(dir, "empty", 0, 5);
    add_sample(dir, "A-upper", 3, 6);            /* sorts before lowercase */
    add_sample(dir, "data.txt", 5, 7);           /* "data.txt" < "data/..." ('.' < '/') */
    add_sample(dir, LONG_PATH, 77, 8);
}

static const sample_file *sample_find(const char *path)
{
    for (size_t i = 0; i < n_sample; i++)
        if (!strcmp(sample[i].path, path))
            return &sample[i];
    return NULL;
}

static void free_sample(void)
{
    for (size_t i = 0; i < n_sample; i++)
        free(sample[i].data);
    n_sample = 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static char art_path[PATH_MAX]; /* the sample, packed */
static char art_cid[EL_CID_MAX];

static void test_pack_open(void)
{
    char src[PATH_MAX], out[PATH_MAX], pathout[PATH_MAX];
    tpath(src, "src");
    tpath(out, "out");
    mkdir(out, 0755);
    make_sample(src);
    snprintf(art_path, sizeof art_path, "%s/sample.capsule", out);
    el_error err = {0};
    memset(pathout, 0, sizeof pathout);
    el_status st = el_artifact_pack(src, &kp, art_path, pathout, art_cid, &err);
    if (st != EL_OK)
        fprintf(stderr, "pack: %s\n", err.msg);
    CHECK(st == EL_OK);
    CHECK_STREQ(pathout, art_path);
    CHECK(el_cid_validate(art_cid, &err) == EL_OK);

    size_t len;
    uint8_t *bytes = slurp(art_path, &len);
    CHECK(bytes != NULL);
    CHECK(len % BLOCK == 0 && len > SEAL_LEN);

    el_artifact *a = NULL;
    st = el_artifact_open(rt, art_path, 0, &a, &err);
    if (st != EL_OK)
        fprintf(stderr, "open: %s\n", err.msg);
    CHECK(st == EL_OK && a != NULL);
    if (!a) {
        free(bytes);
        return;
    }
    const el_manifest *m = el_artifact_manifest(a);
    CHECK_STREQ(m->name, "test-capsule");
    CHECK_STREQ(m->version, "1.2.3-beta.1");
    CHECK(m->type == EL_TYPE_WASM);
    CHECK_STREQ(m->entry, "bin/app.wasm");
    CHECK_STREQ(m->description, "unit test capsule");
    CHECK(m->limits.memory_mb == 32 && m->limits.wall_ms == 1000);
    CHECK(memcmp(el_artifact_publisher(a), kp.pk, EL_PK_BYTES) == 0);
    CHECK_STREQ(el_artifact_publisher_name(a), "publisher");
    CHECK(el_artifact_size(a) == len);
    CHECK(bytes && memcmp(el_artifact_bytes(a), bytes, len) == 0);

    /* Every file, in bytewise sorted order, with its content and SHA-256. */
    CHECK(el_artifact_file_count(a) == n_sample);
    for (size_t i = 0; i < el_artifact_file_count(a); i++) {
        const el_artifact_file *f = el_artifact_file_at(a, i);
        CHECK(f != NULL);
        if (!f)
            continue;
        if (i > 0)
            CHECK(strcmp(el_artifact_file_at(a, i - 1)->path, f->path) < 0);
        const sample_file *s = sample_find(f->path);
        CHECK(s != NULL);
        if (!s) {
            fprintf(stderr, "unexpected file %s\n", f->path);
            continue;
        }
        CHECK(f->size == s->size);
        CHECK(f->size == s->size && (s->size == 0 || memcmp(f->data, s->data, s->size) == 0));
        uint8_t h[32];
        crypto_hash_sha256(h, s->data, s->size);
        CHECK(memcmp(h, f->sha256, 32) == 0);
        /* data points into the verified bytes */
        CHECK(f->data >= el_artifact_bytes(a) && f->data + f->size <= el_artifact_bytes(a) + len);
        CHECK(el_artifact_find(a, f->path) == f);
    }
    CHECK_STREQ(el_artifact_file_at(a, 0)->path, "A-upper");
    CHECK_STREQ(el_artifact_file_at(a, 1)->path, "bin/app.wasm");
    CHECK_STREQ(el_artifact_file_at(a, 2)->path, "capsule.json");
    CHECK_STREQ(el_artifact_file_at(a, 3)->path, "data.txt");
    CHECK(el_artifact_file_at(a, n_sample) == NULL);
    for (size_t i = 0; i < n_sample; i++) {
        const el_artifact_file *f = el_artifact_find(a, sample[i].path);
        CHECK(f != NULL && !strcmp(f->path, sample[i].path));
    }
    static const char *absent[] = {"", "nope", "data", "data/", "data/sub", "bin/app.was", "bin/app.wasmx",
                                   ".elastos/SHA256SUMS", ".elastos/SIGNATURE", "/capsule.json", "a-upper", "zzz"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        CHECK(el_artifact_find(a, absent[i]) == NULL);

    /* CID: of the artifact, of the file, and from pack. */
    char c1[EL_CID_MAX], c2[EL_CID_MAX], c3[EL_CID_MAX];
    CHECK(el_artifact_cid(a, c1, &err) == EL_OK);
    CHECK(el_artifact_cid(a, c3, &err) == EL_OK); /* cached: same answer */
    CHECK(el_cid_of_file(art_path, c2, &err) == EL_OK);
    CHECK_STREQ(c1, c2);
    CHECK_STREQ(c1, art_cid);
    CHECK_STREQ(c3, art_cid);
    if (bytes) {
        CHECK(el_cid_of_buffer(bytes, len, c2, &err) == EL_OK);
        CHECK_STREQ(c2, art_cid);
    }
    el_artifact_close(a);
    el_artifact_close(NULL);

    /* Packing again (even after mtimes and modes changed) gives the same bytes and CID. */
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/data/a.txt", src);
    struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};
    CHECK(utimes(full, tv) == 0);
    CHECK(chmod(full, 0600) == 0);
    snprintf(full, sizeof full, "%s/bin/app.wasm", src);
    CHECK(chmod(full, 0755) == 0);
    char again[PATH_MAX], cid2[EL_CID_MAX];
    snprintf(again, sizeof again, "%s/again.capsule", out);
    CHECK(el_artifact_pack(src, &kp, again, NULL, cid2, &err) == EL_OK);
    CHECK_STREQ(cid2, art_cid);
    size_t len2;
    uint8_t *bytes2 = slurp(again, &len2);
    CHECK(bytes && bytes2 && len == len2 && memcmp(bytes, bytes2, len) == 0);
    free(bytes2);
    unlink(again);

    /* Another key: other bytes, other CID, same content. */
    CHECK(el_artifact_pack(src, &kp2, again, NULL, cid2, &err) == EL_OK);
    CHECK(strcmp(cid2, art_cid) != 0);
    bytes2 = slurp(again, &len2);
    CHECK(bytes && bytes2 && len == len2 && memcmp(bytes, bytes2, len - SEAL_LEN) == 0);
    CHECK(bytes && bytes2 && memcmp(bytes, bytes2, len) != 0);
    free(bytes2);
    unlink(again);

    /* A changed file changes the bytes and the CID. */
    snprintf(full, sizeof full, "%s/data/a.txt", src);
    sample_file *sa = (sample_file *)sample_find("data/a.txt");
    sa->data[0] ^= 1;
    put(src, "data/a.txt", sa->data, sa->size);
    CHECK(el_artifact_pack(src, &kp, again, NULL, cid2, &err) == EL_OK);
    CHECK(strcmp(cid2, art_cid) != 0);
    sa->data[0] ^= 1;
    put(src, "data/a.txt", sa->data, sa->size);
    unlink(again);

    /* Without an output path: NAME-VERSION.capsule in the current directory. */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(out) == 0);
    memset(pathout, 0, sizeof pathout);
    CHECK(el_artifact_pack(src, &kp, NULL, pathout, cid2, &err) == EL_OK);
    CHECK_STREQ(pathout, "test-capsule-1.2.3-beta.1.capsule");
    CHECK_STREQ(cid2, art_cid);
    CHECK(access("test-capsule-1.2.3-beta.1.capsule", F_OK) == 0);
    unlink("test-capsule-1.2.3-beta.1.capsule");
    CHECK(chdir(cwd) == 0);
    free(bytes);
}

/* The documented layout, checked without the library's reader. */
static void test_format(void)
{
    size_t len;
    uint8_t *b = slurp(art_path, &len);
    CHECK(b != NULL);
    if (!b)
        return;
    /* Walk the ustar headers. */
    size_t off = 0, idx = 0;
    const char *want_order[32];
    size_t nw = 0;
    for (size_t i = 0; i < n_sample; i++)
        want_order[nw++] = sample[i].path;
    for (size_t i = 0; i < nw; i++) /* bytewise sort */
        for (size_t j = i + 1; j < nw; j++)
            if (strcmp(want_order[j], want_order[i]) < 0) {
                const char *t = want_order[i];
                want_order[i] = want_order[j];
                want_order[j] = t;
            }
    want_order[nw++] = ".elastos/SHA256SUMS";
    want_order[nw++] = ".elastos/SIGNATURE";
    const uint8_t *sums = NULL, *sigtext = NULL;
    size_t sums_len = 0, sig_len = 0;
    while (off + BLOCK <= len && idx < nw) {
        const uint8_t *h = b + off;
        char name[101] = {0}, prefix[156] = {0}, path[300];
        memcpy(name, h, 100);
        memcpy(prefix, h + 345, 155);
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", name);
        CHECK_STREQ(path, want_order[idx]);
        CHECK(memcmp(h + 257, "ustar\0" "00", 8) == 0);
        CHECK(h[156] == '0');
        CHECK(memcmp(h + 100, "0000644", 8) == 0);
        CHECK(memcmp(h + 108, "0000000", 8) == 0 && memcmp(h + 116, "0000000", 8) == 0);
        CHECK(memcmp(h + 136, "00000000000", 12) == 0);
        unsigned sum = 0;
        for (int i = 0; i < BLOCK; i++)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        CHECK(strtoul((const char *)h + 148, NULL, 8) == sum);
        size_t size = strtoul((const char *)h + 124, NULL, 8);
        if (!strcmp(path, ".elastos/SHA256SUMS")) {
            sums = h + BLOCK;
            sums_len = size;
        } else if (!strcmp(path, ".elastos/SIGNATURE")) {
            sigtext = h + BLOCK;
            sig_len = size;
            CHECK(off + SEAL_LEN == len);
        } else {
            const sample_file *s = sample_find(path);
            CHECK(s && s->size == size && memcmp(h + BLOCK, s->data, size) == 0);
        }
        off += BLOCK + (size + BLOCK - 1) / BLOCK * BLOCK;
        idx++;
    }
    CHECK(idx == nw);
    /* Two zero blocks end it. */
    CHECK(off + 2 * BLOCK == len);
    for (size_t i = off; i < len; i++)
        if (b[i]) {
            CHECK(!"non-zero byte in the end-of-archive blocks");
            break;
        }
    /* SHA256SUMS: "<hex>  <path>\n" for every file, sorted. */
    CHECK(sums != NULL);
    if (sums) {
        char expect[8192] = "";
        for (size_t i = 0; i < n_sample; i++) {
            const sample_file *s = sample_find(want_order[i]);
            uint8_t h[32];
            char hex[65];
            crypto_hash_sha256(h, s->data, s->size);
            el_sign_hex_encode(h, 32, hex);
            snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s  %s\n", hex, s->path);
        }
        CHECK(sums_len == strlen(expect) && memcmp(sums, expect, sums_len) == 0);
    }
    /* SIGNATURE: publisher, SHA-256 of every byte before its header, Ed25519 signature. */
    CHECK(sigtext != NULL);
    if (sigtext) {
        char text[BLOCK + 1] = {0};
        memcpy(text, sigtext, sig_len < BLOCK ? sig_len : BLOCK);
        char pkhex[65], dhex[65];
        el_sign_hex_encode(kp.pk, 32, pkhex);
        uint8_t digest[32];
        crypto_hash_sha256(digest, b, len - SEAL_LEN);
        el_sign_hex_encode(digest, 32, dhex);
        char head[300];
        snprintf(head, sizeof head, "elastos-signature-v1\npublisher ed25519:%s\nsha256 %s\nsignature ", pkhex, dhex);
        CHECK(strncmp(text, head, strlen(head)) == 0);
        uint8_t sig[64];
        const char *sh = text + strlen(head);
        CHECK(strlen(sh) == 129 && sh[128] == '\n');
        CHECK(el_sign_hex_decode(sh, 128, sig));
        CHECK(el_sign_verify_digest(kp.pk, "elastos/artifact/v1", digest, sig));
    }
    free(b);

    /* A standard tool lists it, with the long path in full, and extracts the same bytes. */
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "tar tf '%s' 2>&1", art_path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p) {
        char line[512];
        size_t i = 0;
        bool order_ok = true;
        while (fgets(line, sizeof line, p)) {
            line[strcspn(line, "\n")] = '\0';
            if (i >= nw || strcmp(line, want_order[i]) != 0) {
                fprintf(stderr, "tar tf line %zu: \"%s\"\n", i, line);
                order_ok = false;
            }
            i++;
        }
        CHECK(pclose(p) == 0);
        CHECK(order_ok && i == nw);
    }
    char xdir[PATH_MAX];
    tpath(xdir, "extract");
    mkdir(xdir, 0755);
    snprintf(cmd, sizeof cmd, "tar xf '%s' -C '%s' 2>&1", art_path, xdir);
    CHECK(system(cmd) == 0);
    for (size_t i = 0; i < n_sample; i++) {
        char f[PATH_MAX];
        snprintf(f, sizeof f, "%s/%s", xdir, sample[i].path);
        size_t l;
        uint8_t *d = slurp(f, &l);
        CHECK(d && l == sample[i].size && memcmp(d, sample[i].data, l) == 0);
        free(d);
    }
    rm_rf(xdir);
}

static void test_tampering(void)
{
    size_t len;
    uint8_t *b = slurp(art_path, &len);
    CHECK(b != NULL);
    if (!b)
        return;
    char path[PATH_MAX];
    tpath(path, "tampered.capsule");
    CHECK(write_bytes(path, b, len));
    el_error err = {0};
    CHECK(open_status(rt, path, 0, &err) == EL_OK); /* control */

    /* Every byte, changed in place two ways (low bit, all bits): EL_ERR_TRUST every time. */
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    size_t accepted = 0, other = 0, not_one_line = 0;
    static const uint8_t masks[] = {0x01, 0xff};
    for (size_t mi = 0; mi < 2 && fd >= 0; mi++)
        for (size_t i = 0; i < len; i++) {
            uint8_t c = b[i] ^ masks[mi];
            CHECK(pwrite(fd, &c, 1, (off_t)i) == 1);
            memset(&err, 0, sizeof err);
            el_status st = open_status(rt, path, 0, &err);
            if (st == EL_OK) {
                if (accepted++ < 5)
                    fprintf(stderr, "flip ^%02x at %zu accepted\n", masks[mi], i);
            } else if (st != EL_ERR_TRUST) {
                if (other++ < 5)
                    fprintf(stderr, "flip ^%02x at %zu: status %d (%s)\n", masks[mi], i, st, err.msg);
            } else if (!one_line(&err)) {
                not_one_line++;
            }
            /* even when the publisher check is skipped */
            if (i % 61 == 0 && open_status(rt, path, EL_OPEN_ANY_PUBLISHER, &err) != EL_ERR_TRUST)
                other++;
            CHECK(pwrite(fd, &b[i], 1, (off_t)i) == 1);
        }
    if (fd >= 0)
        close(fd);
    fprintf(stderr, "byte flips: %zu positions x 2 tried\n", len);
    CHECK(accepted == 0);
    CHECK(other == 0);
    CHECK(not_one_line == 0);
    CHECK(open_status(rt, path, 0, &err) == EL_OK); /* restored: the flips were the cause */

    /* Truncation at every block boundary and at odd lengths. */
    size_t bad = 0;
    for (size_t l = 0; l < len; l += BLOCK)
        bad += open_bytes(rt, b, l, 0, &err) != EL_ERR_TRUST;
    static const size_t odd[] = {1, 2, 100, 511, 513, 1023, 2047, 2049};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        if (odd[i] < len)
            bad += open_bytes(rt, b, odd[i], 0, &err) != EL_ERR_TRUST;
    static const size_t from_end[] = {1, 2, 511, 513, 1000, 2047, 2049, 4095};
    for (size_t i = 0; i < sizeof from_end / sizeof *from_end; i++)
        bad += open_bytes(rt, b, len - from_end[i], 0, &err) != EL_ERR_TRUST;
    CHECK(bad == 0);

    /* Extension: a byte, a zero block, a non-zero block, a second copy of the seal; a prefix. */
    uint8_t *big = calloc(1, 2 * len + BLOCK);
    CHECK(big != NULL);
    if (big) {
        memcpy(big, b, len);
        CHECK(open_bytes(rt, big, len + 1, 0, &err) == EL_ERR_TRUST);
        CHECK(open_bytes(rt, big, len + BLOCK, 0, &err) == EL_ERR_TRUST);
        big[len + 7] = 'x';
        CHECK(open_bytes(rt, big, len + BLOCK, 0, &err) == EL_ERR_TRUST);
        memcpy(big + len, b + len - SEAL_LEN, SEAL_LEN);
        CHECK(open_bytes(rt, big, len + SEAL_LEN, 0, &err) == EL_ERR_TRUST);
        memcpy(big, b, len);
        memcpy(big + len, b, len); /* the artifact twice */
        CHECK(open_bytes(rt, big, 2 * len, 0, &err) == EL_ERR_TRUST);
        memset(big, 0, BLOCK);
        memcpy(big + BLOCK, b, len); /* a zero block in front */
        CHECK(open_bytes(rt, big, len + BLOCK, 0, &err) == EL_ERR_TRUST);
        memcpy(big, b, BLOCK); /* a copy of the first header in front */
        CHECK(open_bytes(rt, big, len + BLOCK, 0, &err) == EL_ERR_TRUST);
        free(big);
    }
    /* A body with no seal at all (the artifact minus its seal, plus end-of-archive blocks). */
    uint8_t *unsigned_ = calloc(1, len);
    if (unsigned_) {
        memcpy(unsigned_, b, len - SEAL_LEN);
        CHECK(open_bytes(rt, unsigned_, len - SEAL_LEN + 2 * BLOCK, 0, &err) == EL_ERR_TRUST);
        free(unsigned_);
    }
    /* Swapping in the signature of another artifact (same publisher) fails too. */
    char src[PATH_MAX], other_path[PATH_MAX], cid[EL_CID_MAX];
    tpath(src, "src-other");
    mkdir(src, 0755);
    puts_(src, "capsule.json", MANIFEST);
    puts_(src, "bin/app.wasm", "other");
    tpath(other_path, "other.capsule");
    CHECK(el_artifact_pack(src, &kp, other_path, NULL, cid, &err) == EL_OK);
    size_t olen;
    uint8_t *ob = slurp(other_path, &olen);
    if (ob && olen >= SEAL_LEN) {
        uint8_t *mix = malloc(len);
        memcpy(mix, b, len - SEAL_LEN);
        memcpy(mix + len - SEAL_LEN, ob + olen - SEAL_LEN, SEAL_LEN);
        CHECK(open_bytes(rt, mix, len, 0, &err) == EL_ERR_TRUST);
        free(mix);
    }
    free(ob);
    unlink(other_path);
    rm_rf(src);
    unlink(path);
    free(b);

    /* Not found / not a file. */
    char missing[PATH_MAX];
    tpath(missing, "missing.capsule");
    CHECK(open_status(rt, missing, 0, &err) == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(open_status(rt, tmp, 0, &err) == EL_ERR_FORMAT);
}

static void test_publisher(void)
{
    el_error err = {0};
    /* Unknown to rt2's trust store. */
    memset(&err, 0, sizeof err);
    CHECK(open_status(rt2, art_path, 0, &err) == EL_ERR_TRUST);
    CHECK(err.code == EL_ERR_TRUST);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, "elastos trust add") != NULL);
    el_artifact *a = NULL;
    CHECK(el_artifact_open(rt2, art_path, EL_OPEN_ANY_PUBLISHER, &a, &err) == EL_OK);
    if (a) {
        CHECK_STREQ(el_artifact_publisher_name(a), "");
        CHECK(memcmp(el_artifact_publisher(a), kp.pk, 32) == 0);
        CHECK_STREQ(el_artifact_manifest(a)->name, "test-capsule");
        CHECK(el_artifact_file_count(a) == n_sample);
        el_artifact_close(a);
    }
    /* Known with ANY_PUBLISHER: the name is still reported. */
    CHECK(el_artifact_open(rt, art_path, EL_OPEN_ANY_PUBLISHER, &a, &err) == EL_OK);
    if (a) {
        CHECK_STREQ(el_artifact_publisher_name(a), "publisher");
        el_artifact_close(a);
    }
    /* Trust it in rt2, then it opens; remove again, refused again. */
    CHECK(el_trust_add(rt2, kp.pk, "later", &err) == EL_OK);
    CHECK(el_artifact_open(rt2, art_path, 0, &a, &err) == EL_OK);
    if (a) {
        CHECK_STREQ(el_artifact_publisher_name(a), "later");
        el_artifact_close(a);
    }
    CHECK(el_trust_remove(rt2, kp.pk, &err) == EL_OK);
    CHECK(open_status(rt2, art_path, 0, &err) == EL_ERR_TRUST);
    /* Signed by kp2 (unknown to rt): refused by rt. */
    char src[PATH_MAX], out[PATH_MAX], cid[EL_CID_MAX];
    tpath(src, "src");
    tpath(out, "by-kp2.capsule");
    CHECK(el_artifact_pack(src, &kp2, out, NULL, cid, &err) == EL_OK);
    CHECK(open_status(rt, out, 0, &err) == EL_ERR_TRUST);
    CHECK(open_status(rt, out, EL_OPEN_ANY_PUBLISHER, &err) == EL_OK);
    unlink(out);
}

/* A refused pack leaves the output directory empty. */
static void expect_pack_refused(const char *label, const char *src, el_status want, const char *outname)
{
    char out[PATH_MAX], outfile[PATH_MAX], cid[EL_CID_MAX];
    tpath(out, "refused-out");
    mkdir(out, 0755);
    snprintf(outfile, sizeof outfile, "%s/%s", out, outname ? outname : "x.capsule");
    el_error err = {0};
    el_status st = el_artifact_pack(src, &kp, outfile, NULL, cid, &err);
    if (st != want)
        fprintf(stderr, "pack refusal \"%s\": status %d, want %d (%s)\n", label, st, want, err.msg);
    CHECK(st == want);
    CHECK(err.code == want);
    CHECK(one_line(&err));
    int n = dir_entries(out);
    if (n != 0)
        fprintf(stderr, "pack refusal \"%s\" left %d file(s) behind\n", label, n);
    CHECK(n == 0);
    rm_rf(out);
}

static void test_pack_refusals(void)
{
    char d[PATH_MAX], f[PATH_MAX];
    /* Missing capsule.json. */
    tpath(d, "r-nomanifest");
    mkdir(d, 0755);
    puts_(d, "bin/app.wasm", "x");
    expect_pack_refused("no capsule.json", d, EL_ERR_FORMAT, NULL);
    rm_rf(d);
    /* Invalid manifests. */
    static const char *bad_manifests[] = {
        "{",
        "",
        "{\"name\":\"x\",\"type\":\"wasm\",\"entry\":\"bin/app.wasm\"}",
        "{\"name\":\"x\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"bin/app.wasm\",\"bogus\":1}",
        "{\"name\":\"Bad Name\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"bin/app.wasm\"}",
        "{\"name\":\"x\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"../app.wasm\"}",
    };
    for (size_t i = 0; i < sizeof bad_manifests / sizeof *bad_manifests; i++) {
        tpath(d, "r-badmanifest");
        mkdir(d, 0755);
        puts_(d, "capsule.json", bad_manifests[i]);
        puts_(d, "bin/app.wasm", "x");
        expect_pack_refused(bad_manifests[i], d, EL_ERR_FORMAT, NULL);
        rm_rf(d);
    }
    /* Entry not present. */
    tpath(d, "r-noentry");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/other.wasm", "x");
    expect_pack_refused("entry missing", d, EL_ERR_FORMAT, NULL);
    /* ... or present only as a directory */
    snprintf(f, sizeof f, "%s/bin/app.wasm", d);
    CHECK(mkdir(f, 0755) == 0);
    puts_(d, "bin/app.wasm/inner", "x");
    expect_pack_refused("entry is a directory", d, EL_ERR_FORMAT, NULL);
    rm_rf(d);

    /* A symlink inside the directory (to a file, to a directory, dangling, to outside). */
    static const char *targets[] = {"capsule.json", "bin", "nowhere", "/etc/passwd"};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        tpath(d, "r-symlink");
        make_sample(d);
        free_sample();
        snprintf(f, sizeof f, "%s/data/link", d);
        CHECK(symlink(targets[i], f) == 0);
        expect_pack_refused("symlink", d, EL_ERR_USAGE, NULL);
        rm_rf(d);
    }
    /* A file under .elastos/ (the reserved directory). */
    tpath(d, "r-reserved");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/app.wasm", "x");
    puts_(d, ".elastos/SIGNATURE", "forged");
    expect_pack_refused(".elastos/", d, EL_ERR_USAGE, NULL);
    rm_rf(d);
    /* A FIFO (must not hang either). */
    tpath(d, "r-fifo");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/app.wasm", "x");
    snprintf(f, sizeof f, "%s/bin/fifo", d);
    CHECK(mkfifo(f, 0644) == 0);
    expect_pack_refused("fifo", d, EL_ERR_USAGE, NULL);
    rm_rf(d);
    /* A name the format can't hold: backslash; a component over 100 bytes (no ustar split);
     * a path over 255 bytes. The 101-byte name is only found while writing: the temp file the
     * packer has created by then must be removed. */
    tpath(d, "r-names");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/app.wasm", "x");
    puts_(d, "back\\slash", "x");
    expect_pack_refused("backslash", d, EL_ERR_USAGE, NULL);
    snprintf(f, sizeof f, "%s/back\\slash", d);
    unlink(f);
    puts_(d, "new\nline", "x"); /* (the error must still be one line) */
    expect_pack_refused("newline", d, EL_ERR_USAGE, NULL);
    snprintf(f, sizeof f, "%s/new\nline", d);
    unlink(f);
    char longname[128];
    memset(longname, 'n', 101);
    longname[101] = '\0';
    puts_(d, longname, "x");
    expect_pack_refused("101-byte name", d, EL_ERR_USAGE, NULL);
    snprintf(f, sizeof f, "%s/%s", d, longname);
    unlink(f);
    char deep[400] = "";
    for (int i = 0; i < 5; i++)
        strcat(deep, "ddddddddddddddddddddddddddddddddddddddddddddddddd/"); /* 50 bytes each */
    strcat(deep, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"); /* total 308 */
    puts_(d, deep, "x");
    expect_pack_refused("path over 255 bytes", d, EL_ERR_USAGE, NULL);
    rm_rf(d);
    /* A directory that doesn't exist. */
    tpath(d, "r-missing");
    expect_pack_refused("missing dir", d, EL_ERR_NOTFOUND, NULL);
    /* An output directory that doesn't exist: an I/O error, nothing created. */
    tpath(d, "r-outdir");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/app.wasm", "x");
    expect_pack_refused("missing output dir", d, EL_ERR_IO, "no-such-dir/x.capsule");
    rm_rf(d);
}

/* A path of 255 bytes with a 155-byte prefix, the longest ustar can hold. */
static void test_long_paths(void)
{
    char d[PATH_MAX], rel[300] = "", out[PATH_MAX], cid[EL_CID_MAX];
    tpath(d, "longpath");
    mkdir(d, 0755);
    puts_(d, "capsule.json", MANIFEST);
    puts_(d, "bin/app.wasm", "x");
    /* prefix: 3 x 51 + "pp" = 155 bytes, then "/", then a 99-byte name: 255 bytes */
    for (int i = 0; i < 3; i++)
        strcat(rel, "pppppppppppppppppppppppppppppppppppppppppppppppppp/");
    strcat(rel, "pp/");
    size_t plen = strlen(rel);
    memset(rel + plen, 'q', 99);
    rel[plen + 99] = '\0';
    CHECK(strlen(rel) == 255);
    puts_(d, rel, "longest");
    tpath(out, "longpath.capsule");
    el_error err = {0};
    el_status st = el_artifact_pack(d, &kp, out, NULL, cid, &err);
    if (st != EL_OK)
        fprintf(stderr, "pack 255-byte path: %s\n", err.msg);
    CHECK(st == EL_OK);
    el_artifact *a = NULL;
    CHECK(el_artifact_open(rt, out, 0, &a, &err) == EL_OK);
    if (a) {
        const el_artifact_file *f = el_artifact_find(a, rel);
        CHECK(f && f->size == 7 && memcmp(f->data, "longest", 7) == 0);
        el_artifact_close(a);
    }
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "tar tf '%s'", out);
    FILE *p = popen(cmd, "r");
    bool found = false;
    if (p) {
        char line[600];
        while (fgets(line, sizeof line, p)) {
            line[strcspn(line, "\n")] = '\0';
            found |= strcmp(line, rel) == 0;
        }
        CHECK(pclose(p) == 0);
    }
    CHECK(found);
    unlink(out);
    rm_rf(d);
}

/* ---- seal, and hostile archives ----------------------------------------------------------- */

/* The test's own canonical ustar header (independent of the library's). */
static void hdr(uint8_t h[BLOCK], const char *path, uint64_t size, char type, const char *mode)
{
    memset(h, 0, BLOCK);
    size_t len = strlen(path);
    const char *name = path;
    size_t plen = 0;
    if (len > 100)
        for (size_t i = len; i-- > 0;)
            if (path[i] == '/' && i <= 155 && len - i - 1 <= 100) {
                name = path + i + 1;
                plen = i;
                break;
            }
    memcpy(h, name, strlen(name) > 100 ? 100 : strlen(name));
    memcpy(h + 100, mode, 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "00000000000", 12);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memcpy(h + 329, "0000000", 8);
    memcpy(h + 337, "0000000", 8);
    memcpy(h + 345, path, plen);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

typedef struct member {
    const char *path;
    const char *data;
    char type;        /* '0' unless set */
    const char *mode; /* "0000644" unless set */
    int unlisted;     /* leave out of SHA256SUMS */
    int wrong_sum;    /* list with a wrong checksum */
} member;

typedef struct body {
    uint8_t buf[64 * BLOCK];
    size_t len;
} body;

static void body_add(body *b, const char *path, const void *data, size_t size, char type, const char *mode)
{
    hdr(b->buf + b->len, path, size, type ? type : '0', mode ? mode : "0000644");
    b->len += BLOCK;
    memcpy(b->buf + b->len, data, size);
    b->len += (size + BLOCK - 1) / BLOCK * BLOCK;
}

/* Members, then SHA256SUMS (unless no_sums); returns the sealed bytes' open status. */
static el_status hostile(const member *m, size_t n, bool no_sums, el_error *err)
{
    static body b;
    memset(&b, 0, sizeof b);
    char sums[4096] = "";
    for (size_t i = 0; i < n; i++) {
        size_t size = strlen(m[i].data);
        body_add(&b, m[i].path, m[i].data, size, m[i].type, m[i].mode);
        if (!m[i].unlisted) {
            uint8_t h[32];
            char hex[65];
            crypto_hash_sha256(h, (const uint8_t *)m[i].data, size);
            h[0] ^= (uint8_t)m[i].wrong_sum;
            el_sign_hex_encode(h, 32, hex);
            snprintf(sums + strlen(sums), sizeof sums - strlen(sums), "%s  %s\n", hex, m[i].path);
        }
    }
    if (!no_sums)
        body_add(&b, ".elastos/SHA256SUMS", sums, strlen(sums), '0', NULL);
    uint8_t *sealed = NULL;
    size_t sl = 0;
    el_status st = el_artifact_seal(b.buf, b.len, &kp, &sealed, &sl, err);
    CHECK(st == EL_OK);
    if (st != EL_OK)
        return st;
    CHECK(sl == b.len + SEAL_LEN);
    st = open_bytes(rt, sealed, sl, 0, err);
    free(sealed);
    return st;
}

#define MINI "{\"name\":\"mini\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"m.wasm\"}"

static void test_seal(void)
{
    el_error err = {0};
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 99;
    static const uint8_t body512[1024];
    static const size_t bad_lens[] = {1, 511, 513, 1000};
    for (size_t i = 0; i < sizeof bad_lens / sizeof *bad_lens; i++) {
        memset(&err, 0, sizeof err);
        CHECK(el_artifact_seal(body512, bad_lens[i], &kp, &out, &out_len, &err) == EL_ERR_USAGE);
        CHECK(one_line(&err));
    }

    /* Re-sealing the packer's body with the same key reproduces the artifact byte for byte. */
    size_t len;
    uint8_t *b = slurp(art_path, &len);
    CHECK(b != NULL);
    if (b) {
        out = NULL;
        CHECK(el_artifact_seal(b, len - SEAL_LEN, &kp, &out, &out_len, &err) == EL_OK);
        CHECK(out && out_len == len && memcmp(out, b, len) == 0);
        free(out);
        /* With the other key: a different seal over the same body, which opens under ANY_PUBLISHER. */
        out = NULL;
        CHECK(el_artifact_seal(b, len - SEAL_LEN, &kp2, &out, &out_len, &err) == EL_OK);
        CHECK(out && out_len == len && memcmp(out, b, len - SEAL_LEN) == 0 && memcmp(out, b, len) != 0);
        if (out) {
            CHECK(open_bytes(rt, out, out_len, 0, &err) == EL_ERR_TRUST);
            CHECK(open_bytes(rt, out, out_len, EL_OPEN_ANY_PUBLISHER, &err) == EL_OK);
        }
        free(out);
        free(b);
    }
    /* Sealing an empty body: signed, but not a capsule. */
    out = NULL;
    CHECK(el_artifact_seal(NULL, 0, &kp, &out, &out_len, &err) == EL_OK);
    CHECK(out_len == SEAL_LEN);
    if (out)
        CHECK(open_bytes(rt, out, out_len, 0, &err) == EL_ERR_FORMAT);
    free(out);

    /* Control: this test's writer builds an archive the reader accepts. */
    member ok[] = {{.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "\0asm"}};
    memset(&err, 0, sizeof err);
    el_status st = hostile(ok, 2, false, &err);
    if (st != EL_OK)
        fprintf(stderr, "hand-built archive refused: %s\n", err.msg);
    CHECK(st == EL_OK);

    struct {
        const char *label;
        member m[4];
        size_t n;
        bool no_sums;
    } cases[] = {
        {"../x", {{.path = "../x", .data = "x"}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"/abs", {{.path = "/abs", .data = "x"}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"a/./b", {{.path = "a/./b", .data = "x"}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"symlink", {{.path = "capsule.json", .data = MINI}, {.path = "link", .data = "", .type = '2'}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"hard link", {{.path = "capsule.json", .data = MINI}, {.path = "link", .data = "", .type = '1'}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"device", {{.path = "capsule.json", .data = MINI}, {.path = "dev", .data = "", .type = '3'}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"directory", {{.path = "capsule.json", .data = MINI}, {.path = "dir", .data = "", .type = '5'}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"fifo", {{.path = "capsule.json", .data = MINI}, {.path = "fifo", .data = "", .type = '6'}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"pax", {{.path = "PaxHeaders/x", .data = "20 path=capsule.json\n", .type = 'x'}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"gnu long name", {{.path = "././@LongLink", .data = "x", .type = 'L'}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"duplicate", {{.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"unsorted", {{.path = "m.wasm", .data = "w"}, {.path = "capsule.json", .data = MINI}}, 2, false},
        {"unlisted", {{.path = "capsule.json", .data = MINI}, {.path = "extra", .data = "e", .unlisted = 1}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"wrong checksum", {{.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w", .wrong_sum = 1}}, 2, false},
        {"no SHA256SUMS", {{.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 2, true},
        {"mode 0755", {{.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w", .mode = "0000755"}}, 2, false},
        {"reserved", {{.path = ".elastos/x", .data = "x"}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
        {"no capsule.json", {{.path = "m.wasm", .data = "w"}}, 1, false},
        {"entry missing", {{.path = "capsule.json", .data = MINI}, {.path = "n.wasm", .data = "w"}}, 2, false},
        {"bad manifest", {{.path = "capsule.json", .data = "{\"name\":1}"}, {.path = "m.wasm", .data = "w"}}, 2, false},
        {"backslash", {{.path = "a\\b", .data = "x"}, {.path = "capsule.json", .data = MINI}, {.path = "m.wasm", .data = "w"}}, 3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memset(&err, 0, sizeof err);
        st = hostile(cases[i].m, cases[i].n, cases[i].no_sums, &err);
        if (st != EL_ERR_FORMAT)
            fprintf(stderr, "hostile archive \"%s\": status %d (%s)\n", cases[i].label, st, err.msg);
        CHECK(st == EL_ERR_FORMAT);
        CHECK(one_line(&err));
    }

    /* Structural damage the member table can't express. */
    static body b2;
    memset(&b2, 0, sizeof b2);
    body_add(&b2, "capsule.json", MINI, strlen(MINI), '0', NULL);
    size_t first = b2.len;
    body_add(&b2, "m.wasm", "w", 1, '0', NULL);
    /* (a) a size that runs past the end */
    uint8_t save[BLOCK];
    memcpy(save, b2.buf + first, BLOCK);
    hdr(b2.buf + first, "m.wasm", 99999, '0', "0000644");
    uint8_t *sealed = NULL;
    size_t sl;
    CHECK(el_artifact_seal(b2.buf, b2.len, &kp, &sealed, &sl, &err) == EL_OK);
    if (sealed)
        CHECK(open_bytes(rt, sealed, sl, 0, &err) == EL_ERR_FORMAT);
    free(sealed);
    /* (b) a huge size (8 GiB) */
    hdr(b2.buf + first, "m.wasm", (uint64_t)8 << 30, '0', "0000644");
    sealed = NULL;
    CHECK(el_artifact_seal(b2.buf, b2.len, &kp, &sealed, &sl, &err) == EL_OK);
    if (sealed)
        CHECK(open_bytes(rt, sealed, sl, 0, &err) == EL_ERR_FORMAT);
    free(sealed);
    /* (c) a bad header checksum */
    memcpy(b2.buf + first, save, BLOCK);
    b2.buf[first + 149] ^= 1;
    sealed = NULL;
    CHECK(el_artifact_seal(b2.buf, b2.len, &kp, &sealed, &sl, &err) == EL_OK);
    if (sealed)
        CHECK(open_bytes(rt, sealed, sl, 0, &err) == EL_ERR_FORMAT);
    free(sealed);
    /* (d) an end-of-archive block in the middle */
    memcpy(b2.buf + first, save, BLOCK);
    memmove(b2.buf + first + BLOCK, b2.buf + first, b2.len - first);
    memset(b2.buf + first, 0, BLOCK);
    sealed = NULL;
    CHECK(el_artifact_seal(b2.buf, b2.len + BLOCK, &kp, &sealed, &sl, &err) == EL_OK);
    if (sealed)
        CHECK(open_bytes(rt, sealed, sl, 0, &err) == EL_ERR_FORMAT);
    free(sealed);
    /* (e) non-zero padding after a member */
    memset(&b2, 0, sizeof b2);
    body_add(&b2, "capsule.json", MINI, strlen(MINI), '0', NULL);
    b2.buf[b2.len - 1] = 'p';
    sealed = NULL;
    CHECK(el_artifact_seal(b2.buf, b2.len, &kp, &sealed, &sl, &err) == EL_OK);
    if (sealed)
        CHECK(open_bytes(rt, sealed, sl, 0, &err) == EL_ERR_FORMAT);
    free(sealed);
}

int main(void)
{
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    el_error err = {0};
    char h1[PATH_MAX], h2[PATH_MAX];
    tpath(h1, "home");
    tpath(h2, "home2");
    if (el_runtime_open(h1, &rt, &err) != EL_OK || el_runtime_open(h2, &rt2, &err) != EL_OK ||
        el_sign_keypair_generate(&kp, &err) != EL_OK || el_sign_keypair_generate(&kp2, &err) != EL_OK ||
        el_trust_add(rt, kp.pk, "publisher", &err) != EL_OK) {
        fprintf(stderr, "set-up: %s\n", err.msg);
        CHECK(!"set-up");
    } else {
        test_pack_open();
        test_format();
        test_tampering();
        test_publisher();
        test_pack_refusals();
        test_long_paths();
        test_seal();
    }
    free_sample();
    el_runtime_close(rt);
    el_runtime_close(rt2);
    el_sign_keypair_wipe(&kp);
    el_sign_keypair_wipe(&kp2);
    rm_rf(tmp);
    CHECK(access(tmp, F_OK) != 0);
    return TEST_DONE();
}
