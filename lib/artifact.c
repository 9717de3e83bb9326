/*
 * artifact.c - packing and opening signed capsule artifacts (format and check order: artifact.h).
 *
 * The reader never trusts a length or offset it has not bounded by the mapped size, and it
 * checks the signature over the raw bytes before it interprets any of them, so the tar parser
 * only ever sees content a trusted publisher signed.
 */
#include "elastos/artifact.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


#define BLOCK 512
#define SUMS_PATH ".elastos/SHA256SUMS"
#define SIG_PATH ".elastos/SIGNATURE"
#define SIG_DOMAIN "elastos/artifact/v1"
#define SIG_MAGIC "elastos-signature-v1\n"
/* SIG_MAGIC + "publisher ed25519:" 64 "\nsha256 " 64 "\nsignature " 128 "\n" */
#define SIG_TEXT_LEN (21 + 18 + 64 + 8 + 64 + 11 + 128 + 1)
#define SEAL_LEN (4 * BLOCK) /* signature header + signature block + two zero blocks */
#define MAX_SUMS_BYTES ((size_t)EL_ARTIFACT_MAX_FILES * (64 + 2 + 256 + 1))

/* A job on a thread of its own beside the verification: started if a thread could be had
 * (otherwise the caller does the work itself), and joined once. */
typedef struct side_job {
    pthread_t th;
    bool running;
} side_job;

static bool side_start(side_job *s, void *(*fn)(void *), void *arg)
{
    s->running = pthread_create(&s->th, NULL, fn, arg) == 0;
    return s->running;
}

/* True when a thread was running (it has now ended). */
static bool side_join(side_job *s)
{
    if (!s->running)
        return false;
    pthread_join(s->th, NULL);
    s->running = false;
    return true;
}

struct el_artifact {
    uint8_t *map;
    size_t size;
    el_manifest *manifest; /* its limits lowered to the operator's ceiling (ceiling.c) */
    el_limits declared;    /* the limits as the manifest says (network: the manifest's) */
    el_artifact_file *files;
    size_t n_files;
    uint8_t publisher[EL_PK_BYTES];
    char publisher_name[EL_TRUST_NAME_MAX + 1];
    char cid[EL_CID_MAX];
    /* EL_OPEN_CID on a large artifact: the CID computed beside the verification. */
    side_job cid_side;
    el_status cid_status;
    /* Opened from a prehash (el__artifact_open_prehashed): the digests computed as the bytes
     * arrived, used by check_seal and parse_body instead of hashing again. */
    const struct el__prehash *pre;
    /* Opened from a file: on a large artifact, each entry's SHA-256 computed by a second thread
     * while this one hashes the body for the seal (walk_main), used as parse_body's hints. */
    struct el__prehash *walk;
    side_job walk_side;
    int extra_refs; /* holders beyond the opener (el__artifact_ref); the last close frees */
};

/* Above this size the CID is worth a thread of its own (it is one more SHA-256 pass). */
#define CID_THREAD_MIN ((size_t)4 << 20)

static void *cid_main(void *arg)
{
    el_artifact *a = arg;
    el_error ignored;
    a->cid_status = el_cid_of_buffer(a->map, a->size, a->cid, &ignored);
    return NULL;
}

static void cid_join(el_artifact *a)
{
    if (side_join(&a->cid_side) && a->cid_status != EL_OK)
        a->cid[0] = '\0'; /* computed again, with its error, by el_artifact_cid */
}

/* ---- canonical ustar headers ---------------------------------------------------------------- */

/* Splits path into ustar name (<=100) and prefix (<=155) at the last '/' that makes both fit. */
static bool split_path(const char *path, const char **name, size_t *prefix_len)
{
    size_t len = strlen(path);
    if (len <= 100) {
        *name = path;
        *prefix_len = 0;
        return true;
    }
    for (size_t i = len; i-- > 0;)
        if (path[i] == '/' && i <= 155 && len - i - 1 <= 100 && len - i - 1 > 0) {
            *name = path + i + 1;
            *prefix_len = i;
            return true;
        }
    return false;
}

static bool make_header(uint8_t h[BLOCK], const char *path, uint64_t size)
{
    const char *name;
    size_t plen;
    if (!split_path(path, &name, &plen) || size > 077777777777ULL)
        return false;
    memset(h, 0, BLOCK);
    memcpy(h, name, strlen(name));
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "00000000000", 12);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memcpy(h + 329, "0000000", 8);
    memcpy(h + 337, "0000000", 8);
    memcpy(h + 345, path, plen);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return true;
}

static size_t padded(uint64_t n) { return (size_t)((n + BLOCK - 1) / BLOCK * BLOCK); }

/* ---- the signature seal ------------------------------------------------------------------ */

static void sig_text(const uint8_t pk[32], const uint8_t digest[32], const uint8_t sig[64], char out[SIG_TEXT_LEN + 1])
{
    char pkh[65], dh[65], sh[129];
    el_sign_hex_encode(pk, 32, pkh);
    el_sign_hex_encode(digest, 32, dh);
    el_sign_hex_encode(sig, 64, sh);
    snprintf(out, SIG_TEXT_LEN + 1, SIG_MAGIC "publisher ed25519:%s\nsha256 %s\nsignature %s\n", pkh, dh, sh);
}

static void make_seal(const uint8_t digest[32], const el_keypair *key, uint8_t seal[SEAL_LEN])
{
    uint8_t sig[64];
    el_sign_digest(key, SIG_DOMAIN, digest, sig);
    memset(seal, 0, SEAL_LEN);
    make_header(seal, SIG_PATH, SIG_TEXT_LEN);
    char text[SIG_TEXT_LEN + 1];
    sig_text(key->pk, digest, sig, text);
    memcpy(seal + BLOCK, text, SIG_TEXT_LEN);
}

el_status el_artifact_seal(const uint8_t *body, size_t body_len, const el_keypair *key, uint8_t **out,
                           size_t *out_len, el_error *err)
{
    if (body_len % BLOCK)
        return el_error_set(err, EL_ERR_USAGE, "seal: body length %zu is not a multiple of 512", body_len);
    uint8_t *buf = malloc(body_len + SEAL_LEN);
    if (!buf)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if (body_len)
        memcpy(buf, body, body_len); /* body may be NULL when empty */
    uint8_t digest[32];
    el_sign_sha256(body, body_len, digest);
    make_seal(digest, key, buf + body_len);
    *out = buf;
    *out_len = body_len + SEAL_LEN;
    return EL_OK;
}

/* Checks the seal at the end of a[0..size) and returns the signed publisher. body_digest, when
 * not NULL, is the SHA-256 of a[0..size - SEAL_LEN) computed already. */
static el_status check_seal(const uint8_t *a, size_t size, const uint8_t *body_digest, uint8_t pk[32], el_error *err)
{
    static const uint8_t zero[2 * BLOCK];
    if (size < SEAL_LEN || size % BLOCK)
        return el_error_set(err, EL_ERR_TRUST, "not a signed capsule artifact (no signature block)");
    const uint8_t *seal = a + size - SEAL_LEN;
    uint8_t want[BLOCK];
    make_header(want, SIG_PATH, SIG_TEXT_LEN);
    if (memcmp(seal, want, BLOCK) != 0 || memcmp(seal + 2 * BLOCK, zero, 2 * BLOCK) != 0)
        return el_error_set(err, EL_ERR_TRUST, "not a signed capsule artifact (no valid signature block at its end)");
    const char *t = (const char *)seal + BLOCK;
    uint8_t digest[32], sig[64];
    if (memcmp(t, SIG_MAGIC "publisher ed25519:", 39) != 0 || !el_sign_hex_decode(t + 39, 64, pk) ||
        !el_sign_hex_decode(t + 39 + 64 + 8, 64, digest) || !el_sign_hex_decode(t + 39 + 128 + 8 + 11, 128, sig))
        return el_error_set(err, EL_ERR_TRUST, "signature block is damaged");
    char text[SIG_TEXT_LEN + 1];
    sig_text(pk, digest, sig, text);
    if (memcmp(t, text, SIG_TEXT_LEN) != 0 || memcmp(t + SIG_TEXT_LEN, zero, BLOCK - SIG_TEXT_LEN) != 0)
        return el_error_set(err, EL_ERR_TRUST, "signature block is damaged");
    uint8_t actual[32];
    if (body_digest)
        memcpy(actual, body_digest, 32);
    else
        el_sign_sha256(a, size - SEAL_LEN, actual);
    if (memcmp(actual, digest, 32) != 0)
        return el_error_set(err, EL_ERR_TRUST, "content does not match its signature (the artifact was modified)");
    if (!el_sign_verify_digest(pk, SIG_DOMAIN, digest, sig))
        return el_error_set(err, EL_ERR_TRUST, "invalid signature");
    return EL_OK;
}

/* ---- hashing as the bytes arrive (el__prehash, internal.h) ----------------------------------
 *
 * A fetch feeds the artifact's bytes, in order, as they are downloaded; each chunk is copied
 * into private memory and hashed once, for everything el_artifact_open would hash later: the
 * body digest of the seal (lagging SEAL_LEN bytes behind, since the seal is only known at the
 * end) and each entry's SHA-256 for SHA256SUMS (found by following the ustar headers as they
 * pass). These are only hints, keyed by the exact offset and size of what they cover:
 * parse_body still checks every header and hashes anything the hints do not cover, and a
 * malformed archive simply stops the hinting. */

typedef struct file_hint {
    size_t off, size; /* the entry's data in the artifact */
    uint8_t sha256[32];
} file_hint;

struct el__prehash {
    uint8_t *map; /* private copy of the bytes fed so far */
    size_t n, cap;
    bool broken;  /* out of memory or over the limit: the bytes are not all here */
    EVP_MD_CTX *seal; /* SHA-256 of map[0..sealed); NULL in walk_start's, which is never fed */
    size_t sealed;
    EVP_MD_CTX *file; /* the entry being hashed: its data at [cur_off, cur_off + cur_size) */
    bool in_file, tar_done;
    size_t cur_off, cur_size, cur_done, next_header;
    file_hint *hints;
    size_t n_hints, hints_cap;
    char cid[EL_CID_MAX]; /* set by the fetch once the bytes matched it */
    bool borrowed;        /* map is an artifact's (walk_start): not ours to unmap */
};

/* A prehash with its entry-hash context, and its seal-digest context only when with_seal (a
 * fetch's, which el__prehash_update feeds; walk_start's only follows the entries). */
static el__prehash *prehash_alloc(bool with_seal)
{
    el__prehash *p = calloc(1, sizeof *p);
    if (p && ((with_seal && !(p->seal = EVP_MD_CTX_new())) || !(p->file = EVP_MD_CTX_new()))) {
        el__prehash_free(p);
        return NULL;
    }
    if (p)
        el__prehash_reset(p);
    return p;
}

el__prehash *el__prehash_new(void)
{
    return prehash_alloc(true);
}

void el__prehash_free(el__prehash *p)
{
    if (!p)
        return;
    if (p->map && !p->borrowed)
        munmap(p->map, p->cap);
    EVP_MD_CTX_free(p->seal);
    EVP_MD_CTX_free(p->file);
    free(p->hints);
    free(p);
}

void el__prehash_reset(el__prehash *p)
{
    p->n = p->sealed = p->n_hints = p->next_header = 0;
    p->broken = p->in_file = p->tar_done = false;
    p->cid[0] = '\0';
    if (p->seal)
        EVP_DigestInit_ex(p->seal, el__sha256_md(), NULL);
}

void el__prehash_invalidate(el__prehash *p)
{
    if (p)
        p->broken = true;
}

size_t el__prehash_size(const el__prehash *p)
{
    return p && !p->broken ? p->n : 0;
}

void el__prehash_set_cid(el__prehash *p, const char *cid)
{
    snprintf(p->cid, sizeof p->cid, "%s", cid);
}

/* Follows the ustar headers over the bytes that arrived: hashes the data of the entry in
 * progress, and starts the next entry when its whole header is here. */
static void prehash_tar(el__prehash *p)
{
    while (!p->tar_done) {
        if (p->in_file) {
            size_t end = p->cur_off + p->cur_size, from = p->cur_off + p->cur_done;
            size_t to = p->n < end ? p->n : end;
            if (to > from) {
                EVP_DigestUpdate(p->file, p->map + from, to - from);
                p->cur_done += to - from;
            }
            if (to < end)
                return;
            if (!EL__GROW(p->hints, p->hints_cap, p->n_hints + 1, 64, EL_ARTIFACT_MAX_FILES + 1)) {
                p->tar_done = true;
                return;
            }
            file_hint *h = &p->hints[p->n_hints++];
            h->off = p->cur_off;
            h->size = p->cur_size;
            EVP_DigestFinal_ex(p->file, h->sha256, NULL);
            p->in_file = false;
            p->next_header = p->cur_off + padded(p->cur_size);
            continue;
        }
        if (p->n < p->next_header + BLOCK)
            return;
        const uint8_t *h = p->map + p->next_header;
        uint64_t size = 0;
        bool ok = memcmp(h + 257, "ustar", 6) == 0 && h[124 + 11] == 0;
        for (int i = 0; ok && i < 11; i++) {
            ok = h[124 + i] >= '0' && h[124 + i] <= '7';
            size = size * 8 + (uint64_t)(h[124 + i] - '0');
        }
        if (!ok || size > EL_ARTIFACT_MAX_BYTES) {
            p->tar_done = true; /* the end marker, the seal, or garbage: parse_body decides */
            return;
        }
        p->cur_off = p->next_header + BLOCK;
        p->cur_size = (size_t)size;
        p->cur_done = 0;
        p->in_file = true;
        EVP_DigestInit_ex(p->file, el__sha256_md(), NULL);
    }
}

bool el__prehash_update(el__prehash *p, const void *data, size_t len)
{
    if (p->broken)
        return false;
    if (len > EL_ARTIFACT_MAX_BYTES - p->n) {
        p->broken = true;
        return false;
    }
    if (p->n + len > p->cap) {
        size_t nc = p->cap ? p->cap : (size_t)8 << 20;
        while (nc < p->n + len)
            nc *= 2;
        void *m = p->map ? mremap(p->map, p->cap, nc, MREMAP_MAYMOVE)
                         : mmap(NULL, nc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            p->broken = true;
            return false;
        }
        p->map = m;
        p->cap = nc;
    }
    memcpy(p->map + p->n, data, len);
    p->n += len;
    if (p->n > p->sealed + SEAL_LEN) { /* the last SEAL_LEN bytes may be the seal: not yet */
        EVP_DigestUpdate(p->seal, p->map + p->sealed, p->n - SEAL_LEN - p->sealed);
        p->sealed = p->n - SEAL_LEN;
    }
    prehash_tar(p);
    return true;
}

/* The SHA-256 of the entry data at [off, off + size), if the prehash has it; *next walks the
 * hints in order (entries come in order). */
static bool prehashed_file(const el__prehash *p, size_t *next, size_t off, size_t size, uint8_t out[32])
{
    if (!p)
        return false;
    while (*next < p->n_hints && p->hints[*next].off < off)
        (*next)++;
    if (*next >= p->n_hints || p->hints[*next].off != off || p->hints[*next].size != size)
        return false;
    memcpy(out, p->hints[*next].sha256, 32);
    return true;
}

/* Above this size a file's entries are hashed by a thread of their own while the calling thread
 * hashes the body for the seal: one pass in wall time instead of two (on two or more cores). */
#define WALK_THREAD_MIN ((size_t)4 << 20)

static void *walk_main(void *arg)
{
    prehash_tar(arg);
    return NULL;
}

/* Starts hashing the entries of a->map's body (a private, read-only copy, so no one can change
 * it under either thread) beside the seal check. The walk reads only ustar magic and size fields,
 * bounded by the body, as it does over bytes from the network: its digests are hints, used by
 * parse_body only for an entry it has checked itself, at the same offset and size. Without a
 * thread (out of memory, or pthread_create fails) parse_body hashes every entry itself. */
static void walk_start(el_artifact *a)
{
    if (a->pre || a->size < WALK_THREAD_MIN || !(a->walk = prehash_alloc(false)))
        return;
    a->walk->borrowed = true;
    a->walk->map = a->map;
    a->walk->n = a->walk->cap = a->size - SEAL_LEN;
    if (!side_start(&a->walk_side, walk_main, a->walk)) {
        el__prehash_free(a->walk);
        a->walk = NULL;
    }
}

/* Waits for walk_start's thread; its hints become a->pre for parse_body when use is true. */
static void walk_join(el_artifact *a, bool use)
{
    side_join(&a->walk_side);
    if (use && a->walk)
        a->pre = a->walk;
}

static void walk_free(el_artifact *a)
{
    walk_join(a, false);
    if (a->pre == a->walk)
        a->pre = NULL;
    el__prehash_free(a->walk);
    a->walk = NULL;
}

/* ---- reading the archive ----------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static const char *type_problem(uint8_t t)
{
    switch (t) {
    case '0': return NULL;
    case '\0': return "old-style (non-canonical) file entry";
    case '1': return "hard link";
    case '2': return "symlink";
    case '3': case '4': return "device node";
    case '5': return "directory";
    case '6': return "FIFO";
    case 'x': case 'g': return "pax extended header";
    case 'L': case 'K': return "GNU long-name";
    default: return "unknown entry type";
    }
}

static void sums_line(const el_artifact_file *f, char *out, size_t cap)
{
    char hex[65];
    el_sign_hex_encode(f->sha256, 32, hex);
    snprintf(out, cap, "%s  %s\n", hex, f->path);
}

/* Explains a SHA256SUMS mismatch by naming the first entry that is unlisted or missing. */
static el_status sums_problem(const el_artifact *a, const char *sums, size_t len, el_error *err)
{
    for (size_t i = 0; i < a->n_files; i++) {
        char line[400];
        sums_line(&a->files[i], line, sizeof line);
        size_t ll = strlen(line);
        bool found = false;
        for (size_t off = 0; off + ll <= len && !found; off++)
            found = (off == 0 || sums[off - 1] == '\n') && memcmp(sums + off, line, ll) == 0;
        if (!found)
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\" is not listed (or has the wrong checksum) in %s",
                                a->files[i].path, SUMS_PATH);
    }
    return el_error_set(err, EL_ERR_FORMAT, "%s lists entries that are not in the artifact", SUMS_PATH);
}

static el_status parse_body(el_artifact *a, size_t body_len, el_error *err)
{
    size_t off = 0, cap = 0, hint = 0;
    const char *prev = NULL;
    const uint8_t *sums = NULL;
    size_t sums_len = 0;
    while (off < body_len) {
        const uint8_t *h = a->map + off;
        if (all_zero(h, BLOCK))
            return el_error_set(err, EL_ERR_FORMAT, "end-of-archive marker at offset %zu before the signature", off);
        if (memcmp(h + 257, "ustar", 6) != 0 || memcmp(h + 263, "00", 2) != 0)
            return el_error_set(err, EL_ERR_FORMAT, "offset %zu: not a POSIX ustar header", off);
        char name[101] = {0}, prefix[156] = {0}, path[257];
        memcpy(name, h, 100);
        memcpy(prefix, h + 345, 155);
        if (*prefix)
            snprintf(path, sizeof path, "%s/%s", prefix, name);
        else
            snprintf(path, sizeof path, "%s", name);
        const char *tp = type_problem(h[156]);
        if (tp)
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": %s entries are not allowed", path, tp);
        if (!el_manifest_path_safe(path))
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": unsafe path (absolute, '..', '.', empty or too long)", path);
        char sz[13] = {0};
        memcpy(sz, h + 124, 12);
        uint64_t size = 0;
        bool size_ok = sz[11] == 0 && strlen(sz) == 11;
        for (int i = 0; i < 11 && size_ok; i++) {
            size_ok = sz[i] >= '0' && sz[i] <= '7';
            size = size * 8 + (uint64_t)(sz[i] - '0');
        }
        if (!size_ok)
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": malformed size field", path);
        if (size > body_len - off - BLOCK || padded(size) > body_len - off - BLOCK)
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": truncated (declares %llu bytes, %zu remain)", path,
                                (unsigned long long)size, body_len - off - BLOCK);
        uint8_t want[BLOCK];
        if (!make_header(want, path, size) || memcmp(h, want, BLOCK) != 0)
            return el_error_set(err, EL_ERR_FORMAT,
                                "entry \"%s\": non-canonical header (mode 0644, uid/gid 0, mtime 0 required)", path);
        const uint8_t *data = h + BLOCK;
        if (!all_zero(data + size, padded(size) - size))
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": non-zero padding", path);
        off += BLOCK + padded(size);
        if (strcmp(path, SUMS_PATH) == 0) {
            if (off != body_len)
                return el_error_set(err, EL_ERR_FORMAT, "%s must be the last entry before the signature", SUMS_PATH);
            sums = data;
            sums_len = size;
            break;
        }
        if (strncmp(path, ".elastos/", 9) == 0)
            return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\": the .elastos/ directory is reserved", path);
        if (prev) {
            int c = strcmp(path, prev);
            if (c == 0)
                return el_error_set(err, EL_ERR_FORMAT, "duplicate entry \"%s\"", path);
            if (c < 0)
                return el_error_set(err, EL_ERR_FORMAT, "entry \"%s\" is out of order (entries must be sorted)", path);
        }
        if (a->n_files == EL_ARTIFACT_MAX_FILES)
            return el_error_set(err, EL_ERR_FORMAT, "more than %d entries", EL_ARTIFACT_MAX_FILES);
        if (!EL__GROW(a->files, cap, a->n_files + 1, 16, EL_ARTIFACT_MAX_FILES))
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        el_artifact_file *f = &a->files[a->n_files];
        if (!(f->path = strdup(path)))
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        a->n_files++;
        f->data = data;
        f->size = (size_t)size;
        if (!prehashed_file(a->pre, &hint, (size_t)(data - a->map), f->size, f->sha256))
            el_sign_sha256(data, f->size, f->sha256);
        prev = f->path;
    }
    if (!sums)
        return el_error_set(err, EL_ERR_FORMAT, "missing %s", SUMS_PATH);
    if (sums_len > MAX_SUMS_BYTES)
        return el_error_set(err, EL_ERR_FORMAT, "%s is too large", SUMS_PATH);
    size_t pos = 0;
    for (size_t i = 0; i < a->n_files; i++) {
        char line[400];
        sums_line(&a->files[i], line, sizeof line);
        size_t ll = strlen(line);
        if (pos + ll > sums_len || memcmp(sums + pos, line, ll) != 0)
            return sums_problem(a, (const char *)sums, sums_len, err);
        pos += ll;
    }
    if (pos != sums_len)
        return sums_problem(a, (const char *)sums, sums_len, err);
    return EL_OK;
}

/* Every check of el_artifact_open (artifact.h) on the bytes in a->map: seal (body_digest: the
 * body's SHA-256 when computed already), publisher (asked of trust(arg, ...)), archive, manifest. */
static el_status verify(el_artifact *a, unsigned flags, const uint8_t *body_digest, el__trust_fn trust, void *arg,
                        el_error *err)
{
    /* The CID is a hash of the raw bytes, safe to compute before they are verified. */
    el_status s = EL_OK;
    if ((flags & EL_OPEN_CID) && !a->cid[0] && a->size >= CID_THREAD_MIN)
        side_start(&a->cid_side, cid_main, a);
    if (!body_digest && a->size >= SEAL_LEN)
        walk_start(a);
    s = check_seal(a->map, a->size, body_digest, a->publisher, err);
    if (s == EL_OK) {
        el_trust_entry te;
        el_error terr;
        el_status ts = trust(arg, a->publisher, &te, &terr);
        if (ts == EL_OK)
            snprintf(a->publisher_name, sizeof a->publisher_name, "%s", te.name);
        else if (!(flags & EL_OPEN_ANY_PUBLISHER) || ts != EL_ERR_TRUST) {
            s = ts;
            if (err)
                *err = terr;
        }
    }
    walk_join(a, s == EL_OK);
    if (s == EL_OK)
        s = parse_body(a, a->size - SEAL_LEN, err);
    walk_free(a);
    if (s == EL_OK) {
        const el_artifact_file *mf = el_artifact_find(a, "capsule.json");
        if (!mf)
            s = el_error_set(err, EL_ERR_FORMAT, "no capsule.json in the artifact");
        else
            s = el_manifest_parse((const char *)mf->data, mf->size, &a->manifest, err);
    }
    if (s == EL_OK && a->manifest->entry && !el_artifact_find(a, a->manifest->entry))
        s = el_error_set(err, EL_ERR_FORMAT, "capsule.json: entry \"%s\" is not in the artifact", a->manifest->entry);
    if (s == EL_OK)
        a->declared = a->manifest->limits;
    return s;
}

el_status el__artifact_check_stored(const char *home, el_artifact *a, const char *path, el_error *err)
{
    char want[EL_CID_MAX], got[EL_CID_MAX];
    if (!el__cid_store_entry(home, path, want))
        return EL_OK;
    el_status s = el_artifact_cid(a, got, err);
    if (s == EL_OK && strcmp(got, want) != 0)
        s = el_error_set(err, EL_ERR_TRUST, "the store entry %s holds other bytes (%s): it was replaced; remove it "
                         "(elastos rm %s) and install it again", want, got, want);
    return s;
}

/* el_artifact_open's work, with step 3 (is the publisher trusted?) asked of trust(arg, ...):
 * the format layer does not know where trust is kept (trust.c binds it to the runtime). */
el_status el__artifact_load(const char *path, unsigned flags, el__trust_fn trust, void *arg, el_artifact **out,
                            el_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return el_error_set(err, EL_ERR_FORMAT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > EL_ARTIFACT_MAX_BYTES) {
        close(fd);
        return el_error_set(err, EL_ERR_FORMAT, "%s: larger than the 4 GiB artifact limit", path);
    }
    el_artifact *a = calloc(1, sizeof *a);
    if (!a) {
        close(fd);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    a->size = (size_t)st.st_size;
    el_status s = EL_OK;
    if (a->size >= SEAL_LEN) {
        /* Private anonymous memory holding a copy: whoever can write the file can't change
         * (or truncate) the bytes after they were verified. */
        void *m = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        size_t got = 0;
        if (m == MAP_FAILED) {
            s = el_error_set(err, EL_ERR_IO, "%s: cannot allocate %zu bytes: %s", path, a->size, strerror(errno));
        } else {
            a->map = m;
            while (got < a->size) {
                ssize_t r = pread(fd, (uint8_t *)m + got, a->size - got, (off_t)got);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            if (got != a->size)
                s = el_error_set(err, EL_ERR_IO, "%s: read failed (the file changed while being read?)", path);
            else
                mprotect(m, a->size, PROT_READ);
        }
    }
    close(fd);
    if (s == EL_OK)
        s = verify(a, flags, NULL, trust, arg, err);
    if (s != EL_OK) {
        el_artifact_close(a);
        return el_error_prefix(err, "%s", path);
    }
    *out = a;
    return EL_OK;
}

el_status el__artifact_load_prehashed(el__prehash *p, const char *name, unsigned flags, el__trust_fn trust, void *arg,
                                      el_artifact **out, el_error *err)
{
    *out = NULL;
    if (!p || p->broken || !p->map || p->n < SEAL_LEN)
        return el_error_set(err, EL_ERR_INTERNAL, "%s: no prehashed bytes", name);
    el_artifact *a = calloc(1, sizeof *a);
    if (!a)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    /* The prehash's private copy becomes the artifact's: trimmed to its pages, then read-only. */
    size_t pages = (p->n + 4095) & ~(size_t)4095;
    if (pages < p->cap)
        munmap(p->map + pages, p->cap - pages);
    a->map = p->map;
    a->size = p->n;
    mprotect(a->map, a->size, PROT_READ);
    p->map = NULL;
    p->cap = 0;
    p->broken = true; /* its bytes are gone */
    uint8_t body[32];
    EVP_DigestFinal_ex(p->seal, body, NULL);
    snprintf(a->cid, sizeof a->cid, "%s", p->cid);
    a->pre = p;
    el_status s = p->sealed == a->size - SEAL_LEN ? verify(a, flags, body, trust, arg, err)
                                                  : el_error_set(err, EL_ERR_INTERNAL, "prehash out of step");
    a->pre = NULL;
    if (s != EL_OK) {
        el_artifact_close(a);
        return el_error_prefix(err, "%s", name);
    }
    *out = a;
    return EL_OK;
}

void el__artifact_ref(el_artifact *a)
{
    __atomic_add_fetch(&a->extra_refs, 1, __ATOMIC_RELAXED);
}

void el_artifact_close(el_artifact *a)
{
    if (!a || __atomic_fetch_sub(&a->extra_refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    cid_join(a);
    if (a->map)
        munmap(a->map, a->size);
    for (size_t i = 0; i < a->n_files; i++)
        free((char *)a->files[i].path);
    free(a->files);
    el_manifest_free(a->manifest);
    free(a);
}

const el_manifest *el_artifact_manifest(const el_artifact *a) { return a->manifest; }
const el_limits *el_artifact_declared_limits(const el_artifact *a) { return &a->declared; }
el_manifest *el__artifact_manifest_mut(el_artifact *a) { return a->manifest; }
const uint8_t *el_artifact_publisher(const el_artifact *a) { return a->publisher; }
const char *el_artifact_publisher_name(const el_artifact *a) { return a->publisher_name; }
size_t el_artifact_file_count(const el_artifact *a) { return a->n_files; }
const el_artifact_file *el_artifact_file_at(const el_artifact *a, size_t i) { return i < a->n_files ? &a->files[i] : NULL; }
uint64_t el_artifact_size(const el_artifact *a) { return a->size; }
const uint8_t *el_artifact_bytes(const el_artifact *a) { return a->map; }

const el_artifact_file *el_artifact_find(const el_artifact *a, const char *path)
{
    size_t lo = 0, hi = a->n_files; /* files are sorted: the reader enforces it */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(path, a->files[mid].path);
        if (c == 0)
            return &a->files[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

el_status el_artifact_cid(el_artifact *a, char out[EL_CID_MAX], el_error *err)
{
    cid_join(a);
    if (!a->cid[0]) {
        el_status s = el_cid_of_buffer(a->map, a->size, a->cid, err);
        if (s != EL_OK)
            return s;
    }
    memcpy(out, a->cid, EL_CID_MAX);
    return EL_OK;
}

/* ---- packing ------------------------------------------------------------------------------ */

typedef struct pack_entry {
    char *path;
    uint64_t size;
    uint8_t sha256[32];
} pack_entry;

typedef struct pack_list {
    pack_entry *v;
    size_t n, cap;
} pack_list;

static el_status walk(const char *root, const char *rel, pack_list *list, el_error *err)
{
    char dirpath[PATH_MAX];
    snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dirpath);
    if (!d)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "%s: %s", dirpath, strerror(errno));
    el_status s = EL_OK;
    struct dirent *de;
    while (s == EL_OK && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char child[PATH_MAX], full[PATH_MAX + 1];
        if ((size_t)snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= 256) {
            s = el_error_set(err, EL_ERR_USAGE, "%s/%s: path longer than 255 bytes", dirpath, de->d_name);
            break;
        }
        snprintf(full, sizeof full, "%s/%s", root, child);
        struct stat st;
        if (lstat(full, &st) != 0) {
            s = el_error_set(err, EL_ERR_IO, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            s = walk(root, child, list, err);
        } else if (!S_ISREG(st.st_mode)) {
            s = el_error_set(err, EL_ERR_USAGE, "%s: not a regular file (artifacts hold regular files only; symlinks are refused)", full);
        } else if (!el_manifest_path_safe(child) || strncmp(child, ".elastos/", 9) == 0) {
            s = el_error_set(err, EL_ERR_USAGE, "%s: unsupported file name (or the reserved .elastos/ directory)", full);
        } else if (list->n == EL_ARTIFACT_MAX_FILES) {
            s = el_error_set(err, EL_ERR_USAGE, "%s: more than %d files", root, EL_ARTIFACT_MAX_FILES);
        } else if (!EL__GROW(list->v, list->cap, list->n + 1, 16, EL_ARTIFACT_MAX_FILES)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        } else {
            pack_entry *e = &list->v[list->n];
            if (!(e->path = strdup(child))) {
                s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
                break;
            }
            e->size = (uint64_t)st.st_size;
            list->n++;
        }
    }
    closedir(d);
    return s;
}

static int cmp_entry(const void *x, const void *y)
{
    return strcmp(((const pack_entry *)x)->path, ((const pack_entry *)y)->path);
}

typedef struct pack_out {
    int fd;
    EVP_MD_CTX *sha;
    el_cid_ctx *cid;
} pack_out;

static el_status emit(pack_out *o, const void *data, size_t len, el_error *err)
{
    EVP_DigestUpdate(o->sha, data, len);
    el_cid_update(o->cid, data, len);
    return el__write_all(o->fd, data, len) ? EL_OK : el_error_set(err, EL_ERR_IO, "write failed: %s", strerror(errno));
}

static el_status emit_file(pack_out *o, const char *root, pack_entry *e, uint8_t *buf, size_t bufsz, el_error *err)
{
    char full[PATH_MAX + 1];
    snprintf(full, sizeof full, "%s/%s", root, e->path);
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "%s: %s", full, strerror(errno));
    uint8_t h[BLOCK];
    if (!make_header(h, e->path, e->size)) {
        close(fd);
        return el_error_set(err, EL_ERR_USAGE, "%s: path cannot be stored in a ustar header", e->path);
    }
    el_status s = emit(o, h, BLOCK, err);
    EVP_MD_CTX *fsha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(fsha, el__sha256_md(), NULL);
    uint64_t left = e->size;
    while (s == EL_OK && left) {
        ssize_t r = read(fd, buf, left < bufsz ? (size_t)left : bufsz);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            s = el_error_set(err, EL_ERR_IO, "%s: %s while packing", full, r ? strerror(errno) : "file shrank");
            break;
        }
        EVP_DigestUpdate(fsha, buf, (size_t)r);
        s = emit(o, buf, (size_t)r, err);
        left -= (uint64_t)r;
    }
    if (s == EL_OK && read(fd, buf, 1) != 0)
        s = el_error_set(err, EL_ERR_IO, "%s: file changed while packing", full);
    EVP_DigestFinal_ex(fsha, e->sha256, NULL);
    EVP_MD_CTX_free(fsha);
    close(fd);
    static const uint8_t zero[BLOCK];
    if (s == EL_OK && padded(e->size) != e->size)
        s = emit(o, zero, padded(e->size) - e->size, err);
    return s;
}

el_status el_artifact_pack(const char *dir, const el_keypair *key, const char *out_path, char *path_out,
                           char cid_out[EL_CID_MAX], el_error *err)
{
    pack_list list = {0};
    el_manifest *m = NULL;
    char *mtext = NULL, mpath[PATH_MAX], final_path[PATH_MAX], tmp[PATH_MAX + 32] = "";
    bool created = false;
    uint8_t *buf = NULL;
    char *sums = NULL;
    pack_out o = {.fd = -1};
    size_t mlen;

    el_status s = walk(dir, "", &list, err);
    if (s != EL_OK)
        goto done;
    snprintf(mpath, sizeof mpath, "%s/capsule.json", dir);
    s = el_fs_read_file(mpath, 64 * 1024, &mtext, &mlen, err);
    if (s == EL_ERR_NOTFOUND)
        s = el_error_set(err, EL_ERR_FORMAT, "%s: no capsule.json (every capsule needs a manifest)", dir);
    if (s == EL_OK)
        s = el_manifest_parse(mtext, mlen, &m, err);
    if (s != EL_OK)
        goto done;
    qsort(list.v, list.n, sizeof *list.v, cmp_entry);
    bool has_entry = !m->entry;
    for (size_t i = 0; i < list.n && !has_entry; i++)
        has_entry = strcmp(list.v[i].path, m->entry) == 0;
    if (!has_entry) {
        s = el_error_set(err, EL_ERR_FORMAT, "capsule.json: entry \"%s\" does not exist in %s", m->entry, dir);
        goto done;
    }
    if (out_path)
        snprintf(final_path, sizeof final_path, "%s", out_path);
    else
        snprintf(final_path, sizeof final_path, "%s-%s.capsule", m->name, m->version);
    char rnd[17];
    el__random_hex(rnd, 8);
    snprintf(tmp, sizeof tmp, "%s.tmp-%s", final_path, rnd);
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        s = el_error_set(err, EL_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    created = true;
    o.sha = EVP_MD_CTX_new();
    o.cid = el_cid_new();
    buf = malloc(1 << 20);
    sums = malloc(list.n * 330 + 1);
    if (!o.sha || !o.cid || !buf || !sums) {
        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    EVP_DigestInit_ex(o.sha, el__sha256_md(), NULL);
    size_t sl = 0;
    for (size_t i = 0; i < list.n && s == EL_OK; i++) {
        s = emit_file(&o, dir, &list.v[i], buf, 1 << 20, err);
        el_artifact_file f = {.path = list.v[i].path};
        memcpy(f.sha256, list.v[i].sha256, 32);
        sums_line(&f, sums + sl, 330);
        sl += strlen(sums + sl);
    }
    if (s == EL_OK) {
        uint8_t h[BLOCK];
        static const uint8_t zero[BLOCK];
        make_header(h, SUMS_PATH, sl);
        s = emit(&o, h, BLOCK, err);
        if (s == EL_OK)
            s = emit(&o, sums, sl, err);
        if (s == EL_OK && padded(sl) != sl)
            s = emit(&o, zero, padded(sl) - sl, err);
    }
    if (s == EL_OK) {
        uint8_t digest[32], seal[SEAL_LEN];
        EVP_DigestFinal_ex(o.sha, digest, NULL);
        make_seal(digest, key, seal);
        s = emit(&o, seal, SEAL_LEN, err);
    }
    if (s == EL_OK)
        s = el_cid_final(o.cid, cid_out, err);
    if (s == EL_OK && fsync(o.fd) != 0)
        s = el_error_set(err, EL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    if (s == EL_OK) {
        int fd = o.fd;
        o.fd = -1;
        if (close(fd) != 0 || rename(tmp, final_path) != 0)
            s = el_error_set(err, EL_ERR_IO, "cannot write %s: %s", final_path, strerror(errno));
    }
    if (s == EL_OK && path_out)
        snprintf(path_out, PATH_MAX, "%s", final_path);
done:
    if (o.fd >= 0)
        close(o.fd);
    if (s != EL_OK && created)
        unlink(tmp);
    EVP_MD_CTX_free(o.sha);
    el_cid_free(o.cid);
    for (size_t i = 0; i < list.n; i++)
        free(list.v[i].path);
    free(list.v);
    free(mtext);
    free(buf);
    free(sums);
    el_manifest_free(m);
    return s;
}
