/*
 * fuzz_artifact.c - libFuzzer target for the artifact reader (lib/artifact.c).
 *
 * Each input is taken as the tar body of an artifact: rounded down to a multiple of 512 bytes,
 * sealed with a fixed key (derived from a fixed seed, trusted in a temporary home created once),
 * written to a temporary file and opened, so the archive parser and the manifest parser see
 * hostile content behind a valid signature. Beyond "no crash, no leak, no UB":
 *  - a sealed body either opens, or is refused with EL_ERR_FORMAT (the signature and publisher
 *    are good, so only the structure can be wrong) and a one-line message;
 *  - an opened artifact is consistent: a manifest whose entry exists, files sorted, unique and
 *    inside the mapping, each with the SHA-256 of its bytes, found by el_artifact_find, and a CID;
 *  - changing any one byte of the sealed file (at a position taken from the input) is refused
 *    with EL_ERR_TRUST, whatever the body;
 *  - the raw input, opened unsealed, never crashes (and never opens unless it is itself a
 *    sealed artifact of the fixed key);
 *  - the one-pass path of a fetch (lib/internal.h's el__prehash: the bytes fed in chunks of
 *    sizes taken from the input, then el__artifact_open_prehashed) decides exactly as
 *    el_artifact_open does, on the sealed body and on the changed byte.
 * Seed corpus: tests/fuzz/corpus/artifact/ (tests/fuzz/make_artifact_corpus.py).
 */
#include "elastos/artifact.h"
#include "elastos/trust.h"
#include "../../lib/internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The temporary directory (home + input file): on tmpfs when there is one (3x the executions
 * per second of a disk-backed /tmp), removed at exit and before any abort. */
static char dir[64];
static char file[PATH_MAX];
static el_runtime *rt;
static el_keypair kp;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void remove_dir(void)
{
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_artifact: requirement failed: %s (line %d)\n", #cond,  \
                    __LINE__);                                                           \
            remove_dir();                                                                \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static void teardown(void)
{
    el_runtime_close(rt);
    rt = NULL;
    el_sign_keypair_wipe(&kp);
    remove_dir();
}

static void setup(void)
{
    REQUIRE(sodium_init() >= 0);
    snprintf(dir, sizeof dir, "/dev/shm/fuzz_artifact.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_artifact.XXXXXX");
        if (!mkdtemp(dir)) {
            dir[0] = '\0';
            REQUIRE(!"mkdtemp");
        }
    }
    atexit(teardown);
    uint8_t seed[crypto_sign_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)(0xe1 + 3 * i);
    crypto_sign_seed_keypair(kp.pk, kp.sk, seed);
    char home[PATH_MAX];
    snprintf(home, sizeof home, "%s/home", dir);
    snprintf(file, sizeof file, "%s/input.capsule", dir);
    el_error err;
    REQUIRE(el_runtime_open(home, &rt, &err) == EL_OK);
    REQUIRE(el_trust_add(rt, kp.pk, "fuzz", &err) == EL_OK);
}

static void write_file(const uint8_t *p, size_t n)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        REQUIRE(w > 0);
        p += w;
        n -= (size_t)w;
    }
    REQUIRE(close(fd) == 0);
}

static bool one_line(const el_error *e) { return e->msg[0] != '\0' && strchr(e->msg, '\n') == NULL; }

static void check_artifact(el_artifact *a, const uint8_t *bytes, size_t len)
{
    REQUIRE(el_artifact_size(a) == len);
    const uint8_t *map = el_artifact_bytes(a);
    REQUIRE(memcmp(map, bytes, len) == 0);
    REQUIRE(memcmp(el_artifact_publisher(a), kp.pk, EL_PK_BYTES) == 0);
    REQUIRE(strcmp(el_artifact_publisher_name(a), "fuzz") == 0);
    const el_manifest *m = el_artifact_manifest(a);
    REQUIRE(m && m->name && m->version && m->entry);
    REQUIRE(el_artifact_find(a, m->entry) != NULL);
    REQUIRE(el_artifact_find(a, "capsule.json") != NULL);
    size_t n = el_artifact_file_count(a);
    REQUIRE(n >= 1 && n <= EL_ARTIFACT_MAX_FILES);
    for (size_t i = 0; i < n; i++) {
        const el_artifact_file *f = el_artifact_file_at(a, i);
        REQUIRE(f && f->path);
        REQUIRE(el_manifest_path_safe(f->path));
        REQUIRE(strncmp(f->path, ".elastos/", 9) != 0);
        if (i > 0)
            REQUIRE(strcmp(el_artifact_file_at(a, i - 1)->path, f->path) < 0);
        REQUIRE(f->data >= map && f->size <= len && f->data + f->size <= map + len - 4 * 512);
        uint8_t h[32];
        crypto_hash_sha256(h, f->data, f->size);
        REQUIRE(memcmp(h, f->sha256, 32) == 0);
        REQUIRE(el_artifact_find(a, f->path) == f);
    }
    REQUIRE(el_artifact_file_at(a, n) == NULL);
    char cid[EL_CID_MAX], cid2[EL_CID_MAX];
    el_error err;
    REQUIRE(el_artifact_cid(a, cid, &err) == EL_OK);
    REQUIRE(el_cid_of_buffer(bytes, len, cid2, &err) == EL_OK);
    REQUIRE(strcmp(cid, cid2) == 0);
}

/* Opens p[0..n) through the prehash (fed in chunks of 1..4099 bytes, sizes from seed); on
 * success checks the artifact like el_artifact_open's. Returns the status. */
static el_status prehashed(const uint8_t *p, size_t n, uint32_t seed)
{
    el__prehash *ph = el__prehash_new();
    REQUIRE(ph != NULL);
    for (size_t off = 0; off < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 8) % 4099;
        if (k > n - off)
            k = n - off;
        REQUIRE(el__prehash_update(ph, p + off, k));
        off += k;
    }
    REQUIRE(el__prehash_size(ph) == n);
    el_artifact *a = NULL;
    el_error err;
    el_status st = n ? el__artifact_open_prehashed(rt, ph, file, 0, &a, &err) : EL_ERR_TRUST;
    if (st == EL_OK) {
        check_artifact(a, p, n);
        el_artifact_close(a);
    } else {
        REQUIRE(a == NULL && err.code == st && one_line(&err));
    }
    el__prehash_free(ph);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rt)
        setup();
    el_error err;
    el_artifact *a = NULL;

    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;

    /* (1) The input as a body, sealed with the trusted key. */
    size_t body_len = size / 512 * 512;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    REQUIRE(el_artifact_seal(data, body_len, &kp, &sealed, &sealed_len, &err) == EL_OK);
    REQUIRE(sealed_len == body_len + 4 * 512);
    write_file(sealed, sealed_len);
    el_status st = el_artifact_open(rt, file, 0, &a, &err);
    if (st == EL_OK) {
        REQUIRE(a != NULL);
        check_artifact(a, sealed, sealed_len);
        el_artifact_close(a);
    } else {
        if (st != EL_ERR_FORMAT)
            fprintf(stderr, "sealed body refused with %d: %s\n", st, err.msg);
        REQUIRE(st == EL_ERR_FORMAT);
        REQUIRE(a == NULL);
        REQUIRE(err.code == st && one_line(&err));
    }
    REQUIRE(prehashed(sealed, sealed_len, h) == st);

    /* (2) One changed byte anywhere in the sealed file: refused as untrustworthy. */
    size_t pos = h % sealed_len;
    sealed[pos] ^= (uint8_t)(1u << (h >> 29));
    write_file(sealed, sealed_len);
    a = NULL;
    st = el_artifact_open(rt, file, 0, &a, &err);
    if (st != EL_ERR_TRUST)
        fprintf(stderr, "byte %zu of %zu changed: status %d (%s)\n", pos, sealed_len, st, st ? err.msg : "opened");
    REQUIRE(st == EL_ERR_TRUST && a == NULL);
    REQUIRE(one_line(&err));
    REQUIRE(prehashed(sealed, sealed_len, h) == EL_ERR_TRUST);
    free(sealed);

    /* (3) The raw input, unsealed: anything but a crash (and a trusted open only when it carries
     * a valid seal of the fixed key, which the same checks then hold for). */
    write_file(data, size);
    a = NULL;
    st = el_artifact_open(rt, file, 0, &a, &err);
    if (st == EL_OK) {
        check_artifact(a, data, size);
        el_artifact_close(a);
    } else {
        REQUIRE(a == NULL);
        REQUIRE(err.code == st && one_line(&err));
    }
    a = NULL;
    st = el_artifact_open(rt, file, EL_OPEN_ANY_PUBLISHER, &a, &err);
    if (st == EL_OK)
        el_artifact_close(a);
    return 0;
}
