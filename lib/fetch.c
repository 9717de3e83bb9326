/*
 * fetch.c - fetching a file by CID from IPFS, every byte verified (fetch.h).
 *
 * Sources: gateways (GET <gw>/ipfs/<cid>[?format=car|raw]) and Kubo's RPC API (POST
 * <api>/api/v0/cat|dag/export|block/get?arg=<cid>).
 *
 * raw CID (codec 0x55): one block; SHA-256 of the body == the digest.
 * dag-pb CID (0x70), stream mode first: the file's own bytes (GET /ipfs/<cid>, or cat), their
 *   CID computed as they arrive with the same profile (el_cid_update); the file is good when that
 *   CID is the one asked for - the cheapest complete check, at the speed of a plain download. An
 *   interrupted stream is kept (<partial_dir>/<cid>.part) and resumed with a Range request
 *   (offset= for Kubo), its CID recomputed over the kept bytes first.
 * dag-pb CID, block mode, when no source serves the file itself (a trustless-only gateway) or
 *   only wrong bytes: the blocks are gathered in a "partial" file, itself a CARv1:
 *     varint(header length) header (dag-cbor; skipped on reading)
 *     { varint(length) CID data }...          length covers CID + data
 *   First a whole CAR is streamed into it from the first source that serves one. It is then
 *   scanned: every block hashed against its CID; the file is cut at the first block that is
 *   truncated or wrong (wrong bytes are noted against the source). Then the UnixFS tree is
 *   walked from the root in link order, writing the leaves into the output temp file; a block
 *   not in the partial file is fetched alone from the sources in order, checked, and appended:
 *     PBNode  { Data = 1 (bytes); repeated PBLink Links = 2 }
 *     PBLink  { Hash = 1 (binary CID); Name = 2; Tsize = 3 }
 *     UnixFS  { Type = 1 (File = 2, Raw = 0); Data = 2; filesize = 3; repeated blocksizes = 4 }
 *   Each node's children must produce exactly its blocksizes, and the root exactly its filesize.
 *   With a partial_dir the partial file survives a failed fetch, so the next one resumes: it
 *   skips the CAR and asks only for the missing blocks.
 * The output temp file is fsync'd, its CID recomputed (el_cid_of_file) as a last check, and only
 * then renamed to out_path. A source that fails or serves wrong bytes is skipped; its reason is
 * kept for the error message.
 */
#include "elastos/fetch.h"
#include "elastos/sign.h"
#include "http.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIGEST_LEN 32
#define BIN_CID_LEN EL_CID_BIN_LEN
#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define MAX_DEPTH 16
#define MAX_CAR_HEADER (1u << 20)
/* Per-block overhead in a CAR: a length varint and a CID (36 bytes for ours; allow more). */
#define MAX_CAR_SIZE (EL_FETCH_MAX_SIZE + (uint64_t)EL_FETCH_MAX_BLOCKS * 128 + MAX_CAR_HEADER)

/* ---- small helpers ---- */

/* Reads a varint at *pos (< end); false when truncated or over 63 bits. */
static bool get_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= end)
            return false;
        uint8_t b = p[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Parses a binary CID at p[*pos..end): CIDv1, codec raw or dag-pb, sha2-256. */
static bool get_cid(const uint8_t *p, size_t end, size_t *pos, uint8_t *codec, const uint8_t **digest)
{
    uint64_t ver, cod, mh, len;
    if (!get_varint(p, end, pos, &ver) || ver != 1 || !get_varint(p, end, pos, &cod) ||
        (cod != CODEC_RAW && cod != CODEC_DAG_PB) || !get_varint(p, end, pos, &mh) || mh != 0x12 ||
        !get_varint(p, end, pos, &len) || len != DIGEST_LEN || end - *pos < DIGEST_LEN)
        return false;
    *codec = (uint8_t)cod;
    *digest = p + *pos;
    *pos += DIGEST_LEN;
    return true;
}

/* Skips a protobuf field of wire type wt. */
static bool skip_field(const uint8_t *p, size_t end, size_t *pos, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return get_varint(p, end, pos, &v);
    case 1:
        if (end - *pos < 8)
            return false;
        *pos += 8;
        return true;
    case 2:
        if (!get_varint(p, end, pos, &v) || v > end - *pos)
            return false;
        *pos += v;
        return true;
    case 5:
        if (end - *pos < 4)
            return false;
        *pos += 4;
        return true;
    default:
        return false;
    }
}

/* ---- the fetch context ---- */

typedef struct blk {
    uint8_t digest[DIGEST_LEN];
    uint8_t codec;
    uint64_t off; /* data (after the CID) in the partial file */
    size_t len;
} blk;

typedef struct fetch_ctx {
    el_runtime *rt; /* its configuration: the timeouts */
    const el_fetch_options *o;
    const char *cid;
    uint8_t bin[BIN_CID_LEN];
    uint64_t base, total; /* progress: bytes already counted, expected total (0: unknown) */
    int pfd;              /* the partial CAR */
    uint64_t plen;
    blk *blocks; /* sorted by (digest, codec) */
    size_t nblocks, cap;
    int out; /* the output temp file */
    uint64_t written;
    char notes[400]; /* failed sources, for the error message */
    size_t nl;
    bool tampered;
    el__ipfs_limits lim;
    double deadline_ms; /* CLOCK_MONOTONIC ms by which the whole fetch ends (0: none) */
    el__prehash *ph;    /* optional: fed the bytes of the stream (el__fetch) */
} fetch_ctx;

static void note(fetch_ctx *c, const el_fetch_source *src, el_status s, const char *msg)
{
    if (s == EL_ERR_TRUST)
        c->tampered = true;
    if (c->nl < sizeof c->notes) {
        int w = snprintf(c->notes + c->nl, sizeof c->notes - c->nl, "%s%s%s: %s", c->nl ? "; " : "",
                         s == EL_ERR_TRUST ? "wrong bytes from " : "", src->url, msg);
        c->nl = w < 0 ? sizeof c->notes : c->nl + (size_t)w;
    }
}

static void progress(fetch_ctx *c, uint64_t now)
{
    if (c->o->progress)
        c->o->progress(c->o->progress_ud, now, c->total);
}

/* The CID of a stream is computed by a second thread that reads back (from the page cache) what
 * the download wrote, so hashing overlaps the transfer instead of adding to it. */
typedef struct hasher {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    el_cid_ctx *cc;
    el__prehash *ph;      /* optional: also fed every byte, in order, from byte 0 */
    uint64_t avail, done; /* bytes written to fd / hashed */
    bool finished, failed, running;
} hasher;

static void *hasher_main(void *arg)
{
    hasher *h = arg;
    uint8_t *buf = malloc(1 << 20);
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->done == h->avail && !h->finished)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->done == h->avail || h->failed || !buf)
            break; /* finished and caught up */
        uint64_t from = h->done, to = h->avail;
        pthread_mutex_unlock(&h->mu);
        while (from < to) {
            size_t want = to - from < (1u << 20) ? (size_t)(to - from) : (1u << 20);
            ssize_t r = pread(h->fd, buf, want, (off_t)from);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            el_cid_update(h->cc, buf, (size_t)r);
            if (h->ph)
                el__prehash_update(h->ph, buf, (size_t)r);
            from += (size_t)r;
        }
        pthread_mutex_lock(&h->mu);
        if (from < to)
            h->failed = true;
        h->done = from;
    }
    if (!buf)
        h->failed = true;
    pthread_mutex_unlock(&h->mu);
    free(buf);
    return NULL;
}

/* Starts hashing fd from offset from into cc (which already holds the bytes before it), and
 * into ph unless ph did not see exactly the bytes before it. */
static bool hasher_start(hasher *h, int fd, el_cid_ctx *cc, el__prehash *ph, uint64_t from)
{
    memset(h, 0, sizeof *h);
    h->fd = fd;
    h->cc = cc;
    if (ph && el__prehash_size(ph) != from)
        el__prehash_invalidate(ph);
    h->ph = ph;
    h->avail = h->done = from;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->running = pthread_create(&h->th, NULL, hasher_main, h) == 0;
    return h->running;
}

static void hasher_feed(hasher *h, uint64_t avail, bool wake)
{
    pthread_mutex_lock(&h->mu);
    h->avail = avail;
    if (wake)
        pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Waits until everything fed is hashed; false if reading back failed. */
static bool hasher_finish(hasher *h)
{
    if (!h->running)
        return false;
    pthread_mutex_lock(&h->mu);
    h->finished = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    h->running = false;
    return !h->failed && h->done == h->avail;
}

/* ---- HTTP ---- */

typedef struct dl {
    int fd;       /* >= 0: append to this file */
    uint8_t *mem; /* else: into this buffer */
    uint64_t n, max;
    bool over, ioerr;
    fetch_ctx *ctx;
    hasher *hs;           /* optional: computes the CID of what is written to fd */
    bool restarted;       /* a resumed GET_FILE answered with the whole file: started over */
    bool first;           /* no byte received yet */
    bool no_progress;     /* ctx is for the deadlines only: progress is counted elsewhere */
    long status;          /* HTTP status of the response */
} dl;

static bool restart_stream(dl *d);

static size_t dl_write(void *ud, const char *ptr, size_t len, long status)
{
    dl *d = ud;
    if (d->first) {
        d->first = false;
        /* Asked for the rest (Range / offset) but a gateway answering 200 sends it all again. */
        if (d->n > 0 && status == 200 && d->fd >= 0 && d->hs && !restart_stream(d)) {
            d->ioerr = true;
            return 0;
        }
    }
    if (d->n + len > d->max) {
        d->over = true;
        return 0;
    }
    if (d->fd >= 0 ? !el__write_all(d->fd, (const uint8_t *)ptr, len) : (memcpy(d->mem + d->n, ptr, len), false)) {
        d->ioerr = true;
        return 0;
    }
    d->n += len;
    if (d->hs) /* wake the hasher once per 1 MiB, not per callback */
        hasher_feed(d->hs, d->n, ((d->n - len) >> 20) != (d->n >> 20));
    if (d->fd >= 0 && ((d->n - len) >> 23) != (d->n >> 23)) /* start writeback every 8 MiB: a shorter fsync */
        (void)sync_file_range(d->fd, (off_t)(((d->n >> 23) - 1) << 23), (off_t)1 << 23, SYNC_FILE_RANGE_WRITE);
    return len;
}

static void dl_progress(void *ud, uint64_t received, uint64_t total)
{
    dl *d = ud;
    if (d->ctx) {
        if (!d->ctx->total && total > 0)
            d->ctx->total = d->ctx->base + total;
        progress(d->ctx, d->ctx->base + received);
    }
}

/* A setting in seconds, as milliseconds (at most 1,000,000 s). */
static long setting_ms(const el_runtime *rt, el_config_key key, unsigned long long dflt)
{
    unsigned long long v = el__config_uint(rt, key, dflt);
    return (long)(v > 1000000 ? 1000000 : v) * 1000;
}

/* The deadlines of IPFS transfers (fetch and publish), in one place (docs/distribution.md). */
void el__ipfs_deadlines(const el_runtime *rt, el__ipfs_limits *l)
{
    l->connect_ms = setting_ms(rt, EL_CONFIG_FETCH_CONNECT_TIMEOUT, 10);
    l->stall_ms = setting_ms(rt, EL_CONFIG_FETCH_STALL_TIMEOUT, 30);
    l->min_rate = EL_IPFS_MIN_RATE;
    l->total_ms = setting_ms(rt, EL_CONFIG_FETCH_TIMEOUT, 1800);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef enum { GET_BLOCK, GET_CAR, GET_FILE } get_kind;

/* Requests what (a CID) from src: one raw block, a CAR, or the file's bytes (deserialized; from
 * offset d->n when resuming), into d, within what is left of the fetch's overall deadline.
 * EL_ERR_NOTFOUND for unreachable, stalled or slow sources and HTTP errors (d->status),
 * EL_ERR_LIMIT over d->max, EL_ERR_CONFIG without libcurl. */
static el_status http_fetch(const fetch_ctx *c, const el_fetch_source *src, const char *what, get_kind kind, dl *d,
                            el_error *err)
{
    size_t ul = strlen(src->url);
    while (ul > 0 && src->url[ul - 1] == '/')
        ul--;
    char url[4096];
    int w;
    static const char *const api_op[] = {"block/get", "dag/export", "cat"};
    static const char *const format[] = {"?format=raw", "?format=car", ""};
    if (src->kind == EL_SOURCE_KUBO_API)
        w = snprintf(url, sizeof url, "%.*s/api/v0/%s?arg=%s", (int)ul, src->url, api_op[kind], what);
    else
        w = snprintf(url, sizeof url, "%.*s/ipfs/%s%s", (int)ul, src->url, what, format[kind]);
    char range[64] = "";
    if (kind == GET_FILE && d->n > 0) {
        if (src->kind == EL_SOURCE_KUBO_API)
            w += snprintf(url + w, sizeof url - (size_t)w, "&offset=%llu", (unsigned long long)d->n);
        else
            snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)d->n);
    }
    if (w < 0 || w >= (int)sizeof url)
        return el_error_set(err, EL_ERR_USAGE, "source URL too long");
    static const char *const accept[] = {"Accept: application/vnd.ipld.raw", "Accept: application/vnd.ipld.car",
                                         "Accept: application/octet-stream"};
    const char *headers[] = {accept[kind], range};
    el__http_request req = {
        .url = url, .headers = headers, .n_headers = range[0] ? 2 : 1,
        .post = src->kind == EL_SOURCE_KUBO_API, /* Kubo's RPC API takes POST only */
        .fail_on_status = true, .on_data = dl_write, .ud = d,
        .on_progress = c && c->o->progress && !d->no_progress ? dl_progress : NULL,
        .connect_ms = c ? c->lim.connect_ms : 10000, .stall_ms = c ? c->lim.stall_ms : 30000,
        .min_rate = c ? c->lim.min_rate : EL_IPFS_MIN_RATE,
        .buffer_size = 512 * 1024, /* fewer, larger writes (default 16 KiB) */
    };
    if (c && c->deadline_ms > 0) {
        /* A source is not started in the last 100 ms: it could not do anything useful. */
        double left = c->deadline_ms - mono_ms();
        if (left < 100)
            return el_error_set(err, EL_ERR_NOTFOUND, "not tried: the fetch's %ld s deadline passed",
                                c->lim.total_ms / 1000);
        req.total_ms = (long)left + 1;
    }
    d->first = true;
    el__http_result res;
    el_status s = el__http_perform(&req, &res, err);
    d->status = res.status;
    if (s == EL_OK || s == EL_ERR_CONFIG || s == EL_ERR_USAGE || s == EL_ERR_INTERNAL)
        return s;
    if (d->over)
        return el_error_set(err, EL_ERR_LIMIT, "response larger than %llu bytes", (unsigned long long)d->max);
    if (d->ioerr)
        return el_error_set(err, EL_ERR_IO, "cannot write the download: %s", strerror(errno));
    if (res.outcome == EL_HTTP_TIMEOUT)
        return el_error_set(err, EL_ERR_NOTFOUND, "no end within the fetch's %ld s deadline (ELASTOS_FETCH_TIMEOUT)",
                            c ? c->lim.total_ms / 1000 : 0);
    return el_error_set(err, EL_ERR_NOTFOUND, "%s", res.reason);
}

/* ---- the partial CAR ---- */

static int cmp_blk(const void *a, const void *b)
{
    const blk *x = a, *y = b;
    int c = memcmp(x->digest, y->digest, DIGEST_LEN);
    return c ? c : (int)x->codec - (int)y->codec;
}

static const blk *find_blk(const fetch_ctx *c, uint8_t codec, const uint8_t *digest)
{
    blk key;
    memcpy(key.digest, digest, DIGEST_LEN);
    key.codec = codec;
    return c->nblocks ? bsearch(&key, c->blocks, c->nblocks, sizeof key, cmp_blk) : NULL;
}

/* Adds b to the sorted index (a duplicate is ignored). */
static el_status add_blk(fetch_ctx *c, const blk *b, el_error *err)
{
    if (find_blk(c, b->codec, b->digest))
        return EL_OK;
    if (c->nblocks == EL_FETCH_MAX_BLOCKS)
        return el_error_set(err, EL_ERR_LIMIT, "more than %d blocks", EL_FETCH_MAX_BLOCKS);
    if (!EL__GROW(c->blocks, c->cap, c->nblocks + 1, 256, EL_FETCH_MAX_BLOCKS))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    size_t lo = 0, hi = c->nblocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_blk(&c->blocks[mid], b) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&c->blocks[lo + 1], &c->blocks[lo], (c->nblocks - lo) * sizeof *b);
    c->blocks[lo] = *b;
    c->nblocks++;
    return EL_OK;
}

/* Indexes the blocks of the partial CAR (mapped), cutting the file after the last good one. A
 * block whose bytes do not match its CID is wrong bytes from src (when known). */
static el_status scan_partial(fetch_ctx *c, const el_fetch_source *src, el_error *err)
{
    struct stat st;
    if (fstat(c->pfd, &st) != 0)
        return el_error_set(err, EL_ERR_IO, "cannot stat the partial download: %s", strerror(errno));
    c->nblocks = 0;
    c->plen = 0;
    if (st.st_size == 0)
        return EL_OK;
    size_t end = (size_t)st.st_size, pos = 0, good = 0;
    uint8_t *car = mmap(NULL, end, PROT_READ, MAP_PRIVATE, c->pfd, 0);
    if (car == MAP_FAILED)
        return el_error_set(err, EL_ERR_IO, "cannot map the partial download: %s", strerror(errno));
    el_status s = EL_OK;
    uint64_t hlen;
    static const char gw_error[] = "\n\n[Gateway Error";
    if (get_varint(car, end, &pos, &hlen) && hlen > 0 && hlen <= MAX_CAR_HEADER && hlen <= end - pos) {
        pos += (size_t)hlen;
        good = pos;
        while (s == EL_OK && pos < end) {
            uint64_t blen;
            if (end - pos >= sizeof gw_error - 1 && !memcmp(car + pos, gw_error, sizeof gw_error - 1)) {
                /* Kubo ends a CAR it could not complete with this text (HTTP 200 was already sent). */
                char msg[160];
                size_t m = 0;
                for (size_t i = pos + 2; i < end && m < sizeof msg - 1; i++)
                    msg[m++] = (car[i] >= 0x20 && car[i] < 0x7f) ? (char)car[i] : ' ';
                msg[m] = '\0';
                if (src)
                    note(c, src, EL_ERR_NOTFOUND, msg);
                break;
            }
            if (!get_varint(car, end, &pos, &blen) || blen > end - pos || blen > EL_FETCH_MAX_BLOCK + 128)
                break; /* truncated (or absurd): keep what came before */
            size_t bend = pos + (size_t)blen, cpos = pos;
            blk b;
            const uint8_t *dg;
            if (!get_cid(car, bend, &cpos, &b.codec, &dg))
                break;
            memcpy(b.digest, dg, DIGEST_LEN);
            b.off = cpos;
            b.len = bend - cpos;
            uint8_t h[DIGEST_LEN];
            el_sign_sha256(car + b.off, b.len, h);
            if (memcmp(h, b.digest, DIGEST_LEN) != 0) {
                if (src)
                    note(c, src, EL_ERR_TRUST, "a CAR block does not match its CID");
                break;
            }
            s = add_blk(c, &b, err);
            pos = good = bend;
        }
    }
    munmap(car, end);
    if (s == EL_OK && good < end && ftruncate(c->pfd, (off_t)good) != 0)
        s = el_error_set(err, EL_ERR_IO, "cannot cut the partial download: %s", strerror(errno));
    c->plen = good;
    if (good == 0)
        c->nblocks = 0;
    return s;
}

/* Writes a minimal CARv1 header (dag-cbor {"roots": [root], "version": 1}) to an empty partial. */
static el_status write_car_header(fetch_ctx *c, el_error *err)
{
    uint8_t h[80];
    size_t n = 0;
    h[n++] = 0; /* length varint, filled below (< 128) */
    h[n++] = 0xa2;
    h[n++] = 0x65;
    memcpy(h + n, "roots", 5), n += 5;
    h[n++] = 0x81;
    h[n++] = 0xd8, h[n++] = 0x2a;           /* tag 42: CID */
    h[n++] = 0x58, h[n++] = BIN_CID_LEN + 1; /* bytes: 0x00 + binary CID */
    h[n++] = 0x00;
    memcpy(h + n, c->bin, BIN_CID_LEN), n += BIN_CID_LEN;
    h[n++] = 0x67;
    memcpy(h + n, "version", 7), n += 7;
    h[n++] = 0x01;
    h[0] = (uint8_t)(n - 1);
    if (pwrite(c->pfd, h, n, 0) != (ssize_t)n)
        return el_error_set(err, EL_ERR_IO, "cannot write the partial download: %s", strerror(errno));
    c->plen = n;
    return EL_OK;
}

/* Fetches the single block (codec, digest) from the sources in order, verified, appends it to the
 * partial CAR and indexes it. */
static el_status fetch_block(fetch_ctx *c, uint8_t codec, const uint8_t *digest, el_error *err)
{
    uint8_t bin[BIN_CID_LEN] = {0x01, codec, 0x12, DIGEST_LEN};
    memcpy(bin + 4, digest, DIGEST_LEN);
    char text[EL_CID_MAX];
    el__cid_encode(bin, text);
    uint8_t *buf = malloc(EL_FETCH_MAX_BLOCK + 16 + BIN_CID_LEN);
    if (!buf)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    el_status s = EL_OK;
    if (c->plen == 0)
        s = write_car_header(c, err);
    bool got = false;
    for (size_t i = 0; s == EL_OK && !got && i < c->o->n_sources; i++) {
        const el_fetch_source *src = &c->o->sources[i];
        /* Laid out as a CAR section: varint(len) CID data; the varint needs at most 3 bytes. */
        uint8_t *data = buf + 3 + BIN_CID_LEN;
        dl d = {.fd = -1, .mem = data, .max = EL_FETCH_MAX_BLOCK, .ctx = c, .no_progress = true};
        el_error e = {0};
        el_status r = http_fetch(c, src, text, GET_BLOCK, &d, &e);
        if (r == EL_OK) {
            uint8_t h[DIGEST_LEN];
            el_sign_sha256(data, (size_t)d.n, h);
            if (memcmp(h, digest, DIGEST_LEN) != 0)
                r = el_error_set(&e, EL_ERR_TRUST, "block %s does not match its CID", text);
        }
        if (r == EL_ERR_IO || r == EL_ERR_INTERNAL) {
            s = el_error_set(err, r, "%s", e.msg);
            break;
        }
        if (r != EL_OK) {
            note(c, src, r, e.msg);
            continue;
        }
        uint64_t sec = BIN_CID_LEN + d.n;
        uint8_t vi[3] = {(uint8_t)(sec | 0x80), (uint8_t)((sec >> 7) | 0x80), (uint8_t)(sec >> 14)};
        uint8_t *p = buf;
        memcpy(p, vi, 3);
        memcpy(p + 3, bin, BIN_CID_LEN);
        if (pwrite(c->pfd, p, (size_t)(3 + sec), (off_t)c->plen) != (ssize_t)(3 + sec)) {
            s = el_error_set(err, EL_ERR_IO, "cannot write the partial download: %s", strerror(errno));
            break;
        }
        blk b = {.codec = codec, .off = c->plen + 3 + BIN_CID_LEN, .len = (size_t)d.n};
        memcpy(b.digest, digest, DIGEST_LEN);
        c->plen += 3 + sec;
        s = add_blk(c, &b, err);
        got = true;
    }
    free(buf);
    if (s == EL_OK && !got)
        s = el_error_set(err, c->tampered ? EL_ERR_TRUST : EL_ERR_NOTFOUND, "no source has block %s", text);
    return s;
}

/* ---- UnixFS walk ---- */

static el_status emit(fetch_ctx *c, const uint8_t *p, size_t n, el_error *err)
{
    if (c->written + n > EL_FETCH_MAX_SIZE)
        return el_error_set(err, EL_ERR_LIMIT, "the file is larger than %llu bytes",
                            (unsigned long long)EL_FETCH_MAX_SIZE);
    if (!el__write_all(c->out, p, n))
        return el_error_set(err, EL_ERR_IO, "cannot write the fetched file: %s", strerror(errno));
    c->written += n;
    if (c->total)
        progress(c, c->written);
    return EL_OK;
}

typedef struct pblink {
    uint8_t codec;
    uint8_t digest[DIGEST_LEN];
} pblink;

/* Reads block (codec, digest) into *data (malloc'd; the caller frees), fetching it when absent. */
static el_status load_block(fetch_ctx *c, uint8_t codec, const uint8_t *digest, uint8_t **data, size_t *len,
                            el_error *err)
{
    const blk *b = find_blk(c, codec, digest);
    if (!b) {
        el_status s = fetch_block(c, codec, digest, err);
        if (s != EL_OK)
            return s;
        b = find_blk(c, codec, digest);
    }
    uint8_t *p = malloc(b->len ? b->len : 1);
    if (!p)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    for (size_t got = 0; got < b->len;) {
        ssize_t r = pread(c->pfd, p + got, b->len - got, (off_t)(b->off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            return el_error_set(err, EL_ERR_IO, "cannot read the partial download: %s", r ? strerror(errno) : "short");
        }
        got += (size_t)r;
    }
    /* The partial file is ours, but it lives on disk between runs: hash again what is used. */
    uint8_t h[DIGEST_LEN];
    el_sign_sha256(p, b->len, h);
    if (memcmp(h, digest, DIGEST_LEN) != 0) {
        free(p);
        return el_error_set(err, EL_ERR_IO, "the partial download changed on disk; fetch again");
    }
    *data = p;
    *len = b->len;
    return EL_OK;
}

/* Parses the PBLink in p[pos, lend) into l (its Hash field: a CID; other fields skipped);
 * false when it is malformed or has no hash. */
static bool parse_pblink(const uint8_t *p, size_t lpos, size_t lend, pblink *l)
{
    bool have_hash = false;
    while (lpos < lend) {
        uint64_t lk;
        if (!get_varint(p, lend, &lpos, &lk))
            return false;
        if ((lk >> 3) == 1 && (lk & 7) == 2) {
            uint64_t hl;
            const uint8_t *dg;
            if (!get_varint(p, lend, &lpos, &hl) || hl > lend - lpos)
                return false;
            size_t cpos = lpos;
            if (!get_cid(p, lpos + (size_t)hl, &cpos, &l->codec, &dg) || cpos != lpos + hl)
                return false;
            memcpy(l->digest, dg, DIGEST_LEN);
            lpos += hl;
            have_hash = true;
        } else if (!skip_field(p, lend, &lpos, (unsigned)(lk & 7))) {
            return false;
        }
    }
    return have_hash && lpos == lend;
}

/* Parses the dag-pb PBNode p[0, end): its links (*links, *nlinks: the caller frees *links,
 * also on failure) and its UnixFS Data field (*data, *data_len: inside p). */
static el_status parse_pbnode(const uint8_t *p, size_t end, pblink **links, size_t *nlinks, const uint8_t **data,
                              size_t *data_len, el_error *err)
{
    size_t cap = 0;
    bool have_data = false;
    for (size_t pos = 0; pos < end;) {
        uint64_t key, len;
        if (!get_varint(p, end, &pos, &key))
            return el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if (!((field == 1 || field == 2) && wt == 2)) {
            if (!skip_field(p, end, &pos, wt))
                return el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
            continue;
        }
        if (!get_varint(p, end, &pos, &len) || len > end - pos)
            return el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
        if (field == 1) {
            *data = p + pos;
            *data_len = (size_t)len;
            have_data = true;
        } else {
            pblink l = {0};
            if (!parse_pblink(p, pos, pos + (size_t)len, &l))
                return el_error_set(err, EL_ERR_TRUST, "malformed or unsupported link in a dag-pb node");
            if (!EL__GROW(*links, cap, *nlinks + 1, 64, SIZE_MAX))
                return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            (*links)[(*nlinks)++] = l;
        }
        pos += (size_t)len;
    }
    if (!have_data)
        return el_error_set(err, EL_ERR_TRUST, "a dag-pb node without UnixFS data");
    return EL_OK;
}

/* A UnixFS Data message: the node's type, filesize, inline bytes and its links' blocksizes. */
typedef struct unixfs {
    uint64_t type, filesize;
    bool have_filesize;
    const uint8_t *inline_data;
    size_t inline_len;
    uint64_t *bsizes; /* nlinks of them; the caller frees it */
    size_t nbs;
} unixfs;

/* Parses the UnixFS Data data[0, data_len) of a node with nlinks links into u (zeroed first)
 * and checks it is a file node with one blocksize a link. */
static el_status parse_unixfs(const uint8_t *data, size_t data_len, size_t nlinks, unixfs *u, el_error *err)
{
    memset(u, 0, sizeof *u);
    u->type = UINT64_MAX;
    if (nlinks > 0 && !(u->bsizes = malloc(nlinks * sizeof *u->bsizes)))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    for (size_t pos = 0; pos < data_len;) {
        uint64_t key, v;
        if (!get_varint(data, data_len, &pos, &key))
            return el_error_set(err, EL_ERR_TRUST, "malformed UnixFS data");
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if (field == 1 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            u->type = v;
        } else if (field == 2 && wt == 2 && get_varint(data, data_len, &pos, &v) && v <= data_len - pos) {
            u->inline_data = data + pos;
            u->inline_len = (size_t)v;
            pos += (size_t)v;
        } else if (field == 3 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            u->filesize = v;
            u->have_filesize = true;
        } else if (field == 4 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            if (u->nbs >= nlinks)
                return el_error_set(err, EL_ERR_TRUST, "UnixFS node has more blocksizes than links");
            u->bsizes[u->nbs++] = v;
        } else if (field == 4 && wt == 2 && get_varint(data, data_len, &pos, &v) && v <= data_len - pos) {
            size_t pend = pos + (size_t)v; /* packed blocksizes */
            while (pos < pend) {
                uint64_t bs;
                if (!get_varint(data, pend, &pos, &bs) || u->nbs >= nlinks)
                    return el_error_set(err, EL_ERR_TRUST, "malformed UnixFS blocksizes");
                u->bsizes[u->nbs++] = bs;
            }
        } else if (field <= 4 || !skip_field(data, data_len, &pos, wt)) {
            return el_error_set(err, EL_ERR_TRUST, "malformed UnixFS data");
        }
    }
    if (u->type != 2 && u->type != 0)
        return el_error_set(err, EL_ERR_TRUST, "the CID is not a UnixFS file (type %llu)", (unsigned long long)u->type);
    if (u->nbs != nlinks)
        return el_error_set(err, EL_ERR_TRUST, "UnixFS node has %zu links but %zu blocksizes", nlinks, u->nbs);
    return EL_OK;
}

/* Writes the file bytes under block (codec, digest); *produced gets their count. */
static el_status walk(fetch_ctx *c, uint8_t codec, const uint8_t *digest, int depth, uint64_t *produced, el_error *err)
{
    if (depth > MAX_DEPTH)
        return el_error_set(err, EL_ERR_TRUST, "the UnixFS tree is deeper than %d levels", MAX_DEPTH);
    uint8_t *p = NULL;
    size_t end = 0;
    el_status s = load_block(c, codec, digest, &p, &end, err);
    if (s != EL_OK)
        return s;
    if (codec == CODEC_RAW) {
        *produced = end;
        s = emit(c, p, end, err);
        free(p);
        return s;
    }
    pblink *links = NULL;
    size_t nlinks = 0, data_len = 0;
    const uint8_t *data = NULL;
    unixfs u = {0};
    s = parse_pbnode(p, end, &links, &nlinks, &data, &data_len, err);
    if (s == EL_OK)
        s = parse_unixfs(data, data_len, nlinks, &u, err);
    if (s == EL_OK && depth == 0 && !u.have_filesize)
        s = el_error_set(err, EL_ERR_TRUST, "the root node has no filesize");
    if (s == EL_OK && depth == 0 && u.filesize > EL_FETCH_MAX_SIZE)
        s = el_error_set(err, EL_ERR_LIMIT, "the file is larger than %llu bytes", (unsigned long long)EL_FETCH_MAX_SIZE);
    if (s == EL_OK && depth == 0)
        c->total = u.filesize;

    uint64_t total = 0;
    if (s == EL_OK && u.inline_len > 0) {
        s = emit(c, u.inline_data, u.inline_len, err);
        total += u.inline_len;
    }
    free(p); /* the links were copied out; data is no longer needed */
    for (size_t i = 0; s == EL_OK && i < nlinks; i++) {
        uint64_t got = 0;
        s = walk(c, links[i].codec, links[i].digest, depth + 1, &got, err);
        if (s == EL_OK && got != u.bsizes[i])
            s = el_error_set(err, EL_ERR_TRUST, "a child block holds %llu bytes, its parent says %llu",
                             (unsigned long long)got, (unsigned long long)u.bsizes[i]);
        total += got;
    }
    if (s == EL_OK && u.have_filesize && total != u.filesize)
        s = el_error_set(err, EL_ERR_TRUST, "the UnixFS tree holds %llu bytes, its filesize says %llu",
                         (unsigned long long)total, (unsigned long long)u.filesize);
    free(links);
    free(u.bsizes);
    *produced = total;
    return s;
}

/* ---- one fetch ---- */

/* Creates a temp file "<dir>/.<base>.XXXXXX" next to path. */
static int make_temp(const char *path, char *tmp /* PATH_MAX */, el_error *err)
{
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (snprintf(tmp, PATH_MAX, "%.*s.%s.XXXXXX", dlen, path, base) >= PATH_MAX) {
        el_error_set(err, EL_ERR_USAGE, "output path too long");
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        el_error_set(err, EL_ERR_IO, "cannot create a temp file next to %s: %s", path, strerror(errno));
    return fd;
}

/* A raw CID: one block, from the first source that serves the right bytes. */
static el_status fetch_raw(fetch_ctx *c, el_error *err)
{
    uint8_t *buf = malloc(EL_FETCH_MAX_BLOCK);
    if (!buf)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    el_status s = EL_ERR_NOTFOUND;
    for (size_t i = 0; i < c->o->n_sources; i++) {
        const el_fetch_source *src = &c->o->sources[i];
        dl d = {.fd = -1, .mem = buf, .max = EL_FETCH_MAX_BLOCK, .ctx = c};
        el_error e = {0};
        s = http_fetch(c, src, c->cid, GET_BLOCK, &d, &e);
        uint8_t h[DIGEST_LEN];
        if (s == EL_OK) {
            el_sign_sha256(buf, (size_t)d.n, h);
            if (memcmp(h, c->bin + 4, DIGEST_LEN) != 0)
                s = el_error_set(&e, EL_ERR_TRUST, "served %llu bytes whose SHA-256 does not match the CID",
                                 (unsigned long long)d.n);
        }
        if (s == EL_OK) {
            s = emit(c, buf, (size_t)d.n, err);
            break;
        }
        if (s == EL_ERR_IO || s == EL_ERR_INTERNAL) {
            el_error_set(err, s, "%s", e.msg);
            break;
        }
        note(c, src, s, e.msg);
    }
    free(buf);
    return s;
}

/* ---- stream mode: the file's own bytes, verified by their CID ---- */

/* Drops what a resumed stream had: the source sends the whole file again. */
static bool restart_stream(dl *d)
{
    hasher_finish(d->hs);
    el_cid_ctx *fresh = el_cid_new();
    if (!fresh || ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
        el_cid_free(fresh);
        return false;
    }
    el_cid_free(d->hs->cc);
    el__prehash *ph = d->hs->ph;
    if (ph)
        el__prehash_reset(ph);
    if (!hasher_start(d->hs, d->fd, fresh, ph, 0)) {
        el_cid_free(fresh);
        d->hs->cc = NULL;
        return false;
    }
    d->n = 0;
    d->restarted = true;
    if (d->ctx)
        d->ctx->base = 0;
    return true;
}

/* Feeds the first have bytes of fd (a kept partial stream) to a new CID context. */
static el_cid_ctx *cid_of_prefix(int fd, uint64_t have)
{
    el_cid_ctx *cc = el_cid_new();
    uint8_t *buf = malloc(1 << 20);
    for (uint64_t off = 0; cc && buf && off < have;) {
        size_t want = have - off < (1u << 20) ? (size_t)(have - off) : (1u << 20);
        ssize_t r = pread(fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            el_cid_free(cc);
            cc = NULL;
            break;
        }
        el_cid_update(cc, buf, (size_t)r);
        off += (size_t)r;
    }
    free(buf);
    return cc;
}

/* Drops the bytes kept so far: an empty output file and a fresh CID context. */
static bool start_over(fetch_ctx *c, el_cid_ctx **cc, uint64_t *have)
{
    *have = 0;
    if (c->ph)
        el__prehash_reset(c->ph);
    el_cid_free(*cc);
    *cc = el_cid_new();
    return *cc && ftruncate(c->out, 0) == 0;
}

/* Streams the file from the sources in order into c->out (holding *have bytes of an earlier,
 * interrupted attempt), computing its CID as the bytes arrive: a source is good when that CID
 * is the one asked for. *have gets what an interrupted transfer left (0 when nothing is worth
 * keeping). EL_OK when the file is complete and verified. */
static el_status fetch_stream(fetch_ctx *c, uint64_t *have, el_error *err)
{
    el_cid_ctx *cc = *have ? cid_of_prefix(c->out, *have) : el_cid_new();
    if (!cc) {
        *have = 0;
        if (ftruncate(c->out, 0) != 0 || !(cc = el_cid_new()))
            return el_error_set(err, EL_ERR_INTERNAL, "cannot start the CID computation");
    }
    el_status s = EL_ERR_NOTFOUND;
    for (size_t i = 0; i < c->o->n_sources; i++) {
        const el_fetch_source *src = &c->o->sources[i];
        if (lseek(c->out, (off_t)*have, SEEK_SET) < 0) {
            s = el_error_set(err, EL_ERR_IO, "seek: %s", strerror(errno));
            break;
        }
        c->base = *have;
        hasher hs;
        if (!hasher_start(&hs, c->out, cc, c->ph, *have)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "cannot start the hashing thread");
            break;
        }
        dl d = {.fd = c->out, .n = *have, .max = EL_FETCH_MAX_SIZE, .ctx = c, .hs = &hs};
        el_error e = {0};
        s = http_fetch(c, src, c->cid, GET_FILE, &d, &e);
        bool hashed = hasher_finish(&hs);
        cc = hs.cc;
        if (s == EL_OK && (!hashed || !cc))
            s = el_error_set(&e, EL_ERR_IO, "cannot read back the download to hash it");
        if (s == EL_ERR_IO || s == EL_ERR_INTERNAL) {
            el_error_set(err, s, "%s", e.msg);
            break;
        }
        char got[EL_CID_MAX];
        if (s == EL_OK) {
            el_error ce;
            s = el_cid_final(cc, got, &ce);
            if (s == EL_OK && strcmp(got, c->cid) != 0)
                s = el_error_set(&e, EL_ERR_TRUST, "served %llu bytes whose CID is %s", (unsigned long long)d.n, got);
            else if (s != EL_OK)
                s = el_error_set(&e, EL_ERR_TRUST, "%s", ce.msg);
            if (s == EL_OK) {
                c->written = d.n;
                break;
            }
        }
        if (s == EL_ERR_NOTFOUND && d.status == 416 && *have > 0) {
            /* The kept bytes reach (or pass) the end: they cannot be resumed; start this source
             * over from nothing. */
            if (!start_over(c, &cc, have)) {
                s = el_error_set(err, EL_ERR_INTERNAL, "cannot restart the download");
                break;
            }
            i--;
            continue;
        }
        note(c, src, s, e.msg);
        if (s == EL_ERR_NOTFOUND && d.n > *have && d.status / 100 == 2) {
            *have = d.n; /* interrupted: keep the bytes for the next source or the next run */
            continue;
        }
        if (s == EL_ERR_NOTFOUND && !d.restarted)
            continue; /* this source has nothing (HTTP error, unreachable): what we had still stands */
        /* Wrong bytes, over the limit, or a restart that failed: start over from nothing. */
        if (!start_over(c, &cc, have)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "cannot restart the download");
            break;
        }
    }
    el_cid_free(cc);
    return s;
}

/* A dag-pb CID: see the file comment. pfd is the (locked) partial CAR. */
static el_status fetch_tree(fetch_ctx *c, el_error *err)
{
    el_status s = scan_partial(c, NULL, err);
    for (size_t i = 0; s == EL_OK && c->nblocks == 0 && i < c->o->n_sources; i++) {
        const el_fetch_source *src = &c->o->sources[i];
        if (ftruncate(c->pfd, 0) != 0 || lseek(c->pfd, 0, SEEK_SET) != 0)
            return el_error_set(err, EL_ERR_IO, "cannot reset the partial download: %s", strerror(errno));
        dl d = {.fd = c->pfd, .max = MAX_CAR_SIZE, .ctx = c};
        el_error e = {0};
        el_status r = http_fetch(c, src, c->cid, GET_CAR, &d, &e);
        if (r == EL_ERR_IO || r == EL_ERR_INTERNAL)
            return el_error_set(err, r, "%s", e.msg);
        if (r != EL_OK)
            note(c, src, r, e.msg);
        s = scan_partial(c, src, err); /* keeps the good blocks even of a failed download */
    }
    if (s != EL_OK)
        return s;
    c->base = 0;
    uint64_t total;
    return walk(c, CODEC_DAG_PB, c->bin + 4, 0, &total, err);
}

/* Opens (creating) the partial CAR of cid: <partial_dir>/<cid>.car, locked, or an anonymous temp
 * next to out_path when there is no partial_dir. *path is empty for the anonymous one. */
static int open_partial(const el_fetch_options *o, const char *cid, const char *out_path, char *path, el_error *err)
{
    path[0] = '\0';
    if (!o->partial_dir) {
        char tmp[PATH_MAX];
        int fd = make_temp(out_path, tmp, err);
        if (fd >= 0)
            unlink(tmp); /* anonymous: gone with the descriptor, whatever happens */
        return fd;
    }
    if (el_fs_mkdirs(o->partial_dir, 0700, err) != EL_OK)
        return -1;
    if (snprintf(path, PATH_MAX, "%s/%s.car", o->partial_dir, cid) >= PATH_MAX) {
        el_error_set(err, EL_ERR_USAGE, "partial directory path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        el_error_set(err, EL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) /* one fetch of a CID at a time */
        ;
    return fd;
}

el_status el__fetch_check_car(const uint8_t *car, size_t len, const char *root, int out_fd, el_error *err)
{
    el_fetch_options o = {0};
    fetch_ctx c = {.o = &o, .pfd = -1, .out = out_fd};
    char first[EL_CID_MAX];
    if (!root) { /* the first block's CID */
        size_t pos = 0;
        uint64_t hlen, blen;
        uint8_t codec;
        const uint8_t *dg;
        if (!get_varint(car, len, &pos, &hlen) || hlen > len - pos)
            return el_error_set(err, EL_ERR_FORMAT, "malformed CAR header");
        pos += (size_t)hlen;
        if (!get_varint(car, len, &pos, &blen) || blen > len - pos || !get_cid(car, pos + (size_t)blen, &pos, &codec, &dg))
            return el_error_set(err, EL_ERR_FORMAT, "no first block");
        uint8_t bin[BIN_CID_LEN] = {0x01, codec, 0x12, DIGEST_LEN};
        memcpy(bin + 4, dg, DIGEST_LEN);
        el__cid_encode(bin, first);
        root = first;
    }
    c.cid = root;
    el_status s = el__cid_decode(root, c.bin, err);
    if (s != EL_OK)
        return s;
    c.pfd = memfd_create("car", MFD_CLOEXEC);
    if (c.pfd < 0)
        return el_error_set(err, EL_ERR_IO, "memfd_create: %s", strerror(errno));
    if (!el__write_all(c.pfd, car, len))
        s = el_error_set(err, EL_ERR_IO, "cannot write the CAR: %s", strerror(errno));
    if (s == EL_OK)
        s = scan_partial(&c, NULL, err);
    uint64_t total;
    if (s == EL_OK)
        s = c.bin[1] == CODEC_RAW ? walk(&c, CODEC_RAW, c.bin + 4, 0, &total, err)
                                  : walk(&c, CODEC_DAG_PB, c.bin + 4, 0, &total, err);
    close(c.pfd);
    free(c.blocks);
    return s;
}

/* Fills path with <partial_dir>/<cid><ext>; false without a partial_dir. */
static bool partial_path(const el_fetch_options *o, const char *cid, const char *ext, char *path)
{
    return o->partial_dir && snprintf(path, PATH_MAX, "%s/%s%s", o->partial_dir, cid, ext) < PATH_MAX;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

el_status el_fetch(el_runtime *rt, const char *cid, const el_fetch_options *o, const char *out_path, el_error *err)
{
    return el__fetch(rt, cid, o, out_path, NULL, err);
}

el_status el__fetch(el_runtime *rt, const char *cid, const el_fetch_options *o, const char *out_path, el__prehash *ph,
                    el_error *err)
{
    if (!rt || !cid || !out_path || !o || (o->n_sources > 0 && !o->sources))
        return el_error_set(err, EL_ERR_USAGE, "el_fetch: NULL argument");
    fetch_ctx c = {.rt = rt, .o = o, .cid = cid, .pfd = -1, .out = -1, .ph = ph};
    el_status s = el__cid_decode(cid, c.bin, err);
    if (s != EL_OK)
        return s;
    if (o->n_sources == 0)
        return el_error_set(err, EL_ERR_USAGE, "no IPFS gateway or Kubo API to fetch %s from", cid);
    if ((s = el__http_load(err)) != EL_OK)
        return s;
    el__ipfs_deadlines(rt, &c.lim);
    c.deadline_ms = mono_ms() + (double)c.lim.total_ms;

    char tmp[PATH_MAX], ppath[PATH_MAX] = "", spath[PATH_MAX] = "";
    c.out = make_temp(out_path, tmp, err);
    if (c.out < 0)
        return err ? err->code : EL_ERR_IO;
    bool streamed = false;
    if (c.bin[1] == CODEC_RAW) {
        s = fetch_raw(&c, err);
    } else {
        /* A multi-block file: first as a stream of its own bytes (resuming a kept one), unless
         * an earlier fetch left verified blocks to resume from; then block by block. */
        uint64_t have = 0;
        el_error ignored;
        el_fetch_options nopartial = *o;
        nopartial.partial_dir = NULL;
        if (o->partial_dir && el_fs_mkdirs(o->partial_dir, 0700, &ignored) != EL_OK)
            o = &nopartial; /* cannot keep partials: don't */
        bool blocks_kept = partial_path(o, cid, ".car", ppath) && file_size(ppath) > 0;
        if (!blocks_kept && partial_path(o, cid, ".part", spath) && file_size(spath) > 0) {
            int fd = open(spath, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
            if (fd >= 0 && rename(spath, tmp) == 0) { /* the kept bytes become the output file */
                close(c.out);
                c.out = fd;
                have = (uint64_t)lseek(fd, 0, SEEK_END);
            } else if (fd >= 0) {
                close(fd);
            }
        }
        s = blocks_kept ? EL_ERR_NOTFOUND : fetch_stream(&c, &have, err);
        streamed = s == EL_OK;
        if (s == EL_ERR_NOTFOUND && have > 0) {
            /* Interrupted: keep the bytes for the next run rather than start over now. */
            if (spath[0] && fsync(c.out) == 0 && rename(tmp, spath) == 0)
                tmp[0] = '\0';
        } else if (s != EL_OK && s != EL_ERR_IO && s != EL_ERR_INTERNAL) {
            /* No source served the file itself (a trustless-only gateway says 406), or only
             * wrong bytes: gather and check its blocks. */
            if (ftruncate(c.out, 0) != 0 || lseek(c.out, 0, SEEK_SET) != 0)
                s = el_error_set(err, EL_ERR_IO, "cannot reset %s: %s", tmp, strerror(errno));
            else {
                c.written = 0;
                c.total = 0;
                c.pfd = open_partial(o, cid, out_path, ppath, err);
                s = c.pfd < 0 ? (err ? err->code : EL_ERR_IO) : fetch_tree(&c, err);
            }
        }
    }
    if (s == EL_OK && fsync(c.out) != 0)
        s = el_error_set(err, EL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    if (close(c.out) != 0 && s == EL_OK)
        s = el_error_set(err, EL_ERR_IO, "close %s: %s", tmp, strerror(errno));
    if (s == EL_OK && !streamed) { /* a last check; a stream was verified by its CID already */
        char again[EL_CID_MAX];
        s = el_cid_of_file(tmp, again, err);
        if (s == EL_OK && strcmp(again, cid) != 0)
            s = el_error_set(err, EL_ERR_TRUST, "the assembled file has CID %s", again);
    }
    if (s == EL_OK && chmod(tmp, 0600) != 0)
        s = el_error_set(err, EL_ERR_IO, "chmod %s: %s", tmp, strerror(errno));
    if (s == EL_OK && rename(tmp, out_path) != 0)
        s = el_error_set(err, EL_ERR_IO, "cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
    if (c.pfd >= 0) {
        /* Done (or nothing worth keeping): the partial goes; else it stays for the next fetch. */
        if (ppath[0] && (s == EL_OK || c.plen == 0))
            unlink(ppath);
        close(c.pfd);
    }
    if (s == EL_OK && spath[0])
        unlink(spath);
    free(c.blocks);
    if (s != EL_OK) {
        if (tmp[0])
            unlink(tmp);
        if (s == EL_ERR_IO || s == EL_ERR_INTERNAL || s == EL_ERR_USAGE)
            return el_error_prefix(err, "fetching %s", cid);
        if (c.tampered)
            return el_error_set(err, EL_ERR_TRUST, "refused %s: no source served bytes matching the CID (%s)", cid,
                                c.notes);
        if (s == EL_ERR_LIMIT)
            return el_error_prefix(err, "fetching %s", cid);
        return el_error_set(err, EL_ERR_NOTFOUND, "%s not found on any source (%s)", cid, c.notes[0] ? c.notes : err->msg);
    }
    (void)el__fsync_dir_of(out_path, NULL); /* make the rename durable (best effort, as before) */
    if (ph && streamed && el__prehash_size(ph) == c.written)
        el__prehash_set_cid(ph, cid); /* it saw every byte the CID was computed over */
    else
        el__prehash_invalidate(ph);
    return EL_OK;
}
