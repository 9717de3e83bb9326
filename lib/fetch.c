/*
 * fetch.c - fetching a file by CID from IPFS trustless gateways, every byte verified (fetch.h).
 *
 * raw CID (codec 0x55): GET <gw>/ipfs/<cid>?format=raw, SHA-256 of the body == the digest.
 * dag-pb CID (0x70):    GET <gw>/ipfs/<cid>?format=car, a CARv1 stream:
 *     varint(header length) header (dag-cbor, skipped)
 *     { varint(length) CID data }...          length covers CID + data
 *   The CAR is downloaded into an unlinked temp file next to out_path, then mapped; every block
 *   is hashed and checked against its CID, then the UnixFS tree is walked from the root in link
 *   order, writing the leaves into the output temp file:
 *     PBNode  { Data = 1 (bytes); repeated PBLink Links = 2 }
 *     PBLink  { Hash = 1 (binary CID); Name = 2; Tsize = 3 }
 *     UnixFS  { Type = 1 (File = 2, Raw = 0); Data = 2; filesize = 3; repeated blocksizes = 4 }
 *   Each node's children must produce exactly its blocksizes, and the root exactly its filesize.
 * The output temp file is fsync'd, its CID recomputed (el_cid_of_file) as a last check, and only
 * then renamed to out_path. A gateway that fails or serves wrong bytes is skipped; its reason is
 * kept for the error message.
 */
#include "elastos/fetch.h"
#include "elastos/sign.h"
#include "internal.h"

#include <curl/curl.h>
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

#define DIGEST_LEN 32
#define BIN_CID_LEN EL_CID_BIN_LEN
#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define MAX_DEPTH 16
#define MAX_CAR_HEADER (1u << 20)
/* Per-block overhead in a CAR: a length varint and a CID (36 bytes for ours; allow more). */
#define MAX_CAR_SIZE (EL_FETCH_MAX_SIZE + (uint64_t)EL_FETCH_MAX_BLOCKS * 128 + MAX_CAR_HEADER)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void el_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

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

/* ---- download ---- */

typedef struct dl {
    int fd;
    uint64_t n, max;
    bool over, ioerr;
    EVP_MD_CTX *md; /* optional running SHA-256 */
} dl;

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    dl *d = ud;
    size_t len = size * nmemb;
    if (d->n + len > d->max) {
        d->over = true;
        return 0;
    }
    if (!el_write_all(d->fd, (const uint8_t *)ptr, len)) {
        d->ioerr = true;
        return 0;
    }
    if (d->md)
        EVP_DigestUpdate(d->md, ptr, len);
    d->n += len;
    return len;
}

static long env_long(const char *name, long def)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v <= 0) ? def : v;
}

/* GETs url into d; EL_ERR_NOTFOUND for unreachable/HTTP errors, EL_ERR_LIMIT over max. */
static el_status http_get(const char *url, const char *accept, dl *d, el_error *err)
{
    el_curl_init();
    CURL *h = curl_easy_init();
    if (!h)
        return el_error_set(err, EL_ERR_INTERNAL, "libcurl initialisation failed");
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Accept: %s", accept);
    struct curl_slist *hl = curl_slist_append(NULL, hdr);
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, env_long("ELASTOS_FETCH_CONNECT_TIMEOUT", 10));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, env_long("ELASTOS_FETCH_STALL_TIMEOUT", 30));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "elastos/" EL_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, d);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
    if (rc == CURLE_OK)
        return EL_OK;
    if (d->over)
        return el_error_set(err, EL_ERR_LIMIT, "response larger than %llu bytes", (unsigned long long)d->max);
    if (d->ioerr)
        return el_error_set(err, EL_ERR_IO, "cannot write the download: %s", strerror(errno));
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return el_error_set(err, EL_ERR_NOTFOUND, "HTTP %ld", status);
    return el_error_set(err, EL_ERR_NOTFOUND, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
}

/* ---- CAR verification and DAG walk ---- */

typedef struct blk {
    uint8_t digest[DIGEST_LEN];
    uint8_t codec;
    size_t off, len; /* data (after the CID) in the mapping */
} blk;

typedef struct walker {
    const uint8_t *car;
    blk *blocks;
    size_t nblocks;
    int out;
    uint64_t written;
} walker;

static int cmp_blk(const void *a, const void *b)
{
    const blk *x = a, *y = b;
    int c = memcmp(x->digest, y->digest, DIGEST_LEN);
    return c ? c : (int)x->codec - (int)y->codec;
}

static const blk *find_blk(const walker *w, uint8_t codec, const uint8_t *digest)
{
    blk key;
    memcpy(key.digest, digest, DIGEST_LEN);
    key.codec = codec;
    return bsearch(&key, w->blocks, w->nblocks, sizeof key, cmp_blk);
}

static el_status emit(walker *w, const uint8_t *p, size_t n, el_error *err)
{
    if (w->written + n > EL_FETCH_MAX_SIZE)
        return el_error_set(err, EL_ERR_LIMIT, "the file is larger than %llu bytes",
                            (unsigned long long)EL_FETCH_MAX_SIZE);
    if (!el_write_all(w->out, p, n))
        return el_error_set(err, EL_ERR_IO, "cannot write the fetched file: %s", strerror(errno));
    w->written += n;
    return EL_OK;
}

typedef struct pblink {
    uint8_t codec;
    const uint8_t *digest;
} pblink;

/* Writes the file bytes under block (codec, digest); *produced gets their count. */
static el_status walk(walker *w, uint8_t codec, const uint8_t *digest, int depth, uint64_t *produced, el_error *err)
{
    if (depth > MAX_DEPTH)
        return el_error_set(err, EL_ERR_TRUST, "the UnixFS tree is deeper than %d levels", MAX_DEPTH);
    const blk *b = find_blk(w, codec, digest);
    if (!b)
        return el_error_set(err, EL_ERR_NOTFOUND, "incomplete CAR: a block of the file is missing");
    const uint8_t *p = w->car + b->off;
    size_t end = b->len;
    if (codec == CODEC_RAW) {
        *produced = b->len;
        return emit(w, p, b->len, err);
    }

    /* PBNode */
    pblink *links = NULL;
    size_t nlinks = 0, cap = 0;
    const uint8_t *data = NULL;
    size_t data_len = 0;
    bool have_data = false;
    el_status s = EL_OK;
    for (size_t pos = 0; pos < end && s == EL_OK;) {
        uint64_t key, len;
        if (!get_varint(p, end, &pos, &key)) {
            s = el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
            break;
        }
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if ((field == 1 || field == 2) && wt == 2) {
            if (!get_varint(p, end, &pos, &len) || len > end - pos) {
                s = el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
                break;
            }
            if (field == 1) {
                data = p + pos;
                data_len = (size_t)len;
                have_data = true;
            } else {
                /* PBLink */
                size_t lpos = pos, lend = pos + (size_t)len;
                pblink l = {0};
                bool have_hash = false;
                while (lpos < lend) {
                    uint64_t lk;
                    if (!get_varint(p, lend, &lpos, &lk)) {
                        have_hash = false;
                        break;
                    }
                    if ((lk >> 3) == 1 && (lk & 7) == 2) {
                        uint64_t hl;
                        size_t cpos;
                        if (!get_varint(p, lend, &lpos, &hl) || hl > lend - lpos)
                            break;
                        cpos = lpos;
                        if (!get_cid(p, lpos + (size_t)hl, &cpos, &l.codec, &l.digest) || cpos != lpos + hl)
                            break;
                        lpos += hl;
                        have_hash = true;
                    } else if (!skip_field(p, lend, &lpos, (unsigned)(lk & 7))) {
                        have_hash = false;
                        break;
                    }
                }
                if (!have_hash || lpos != lend) {
                    s = el_error_set(err, EL_ERR_TRUST, "malformed or unsupported link in a dag-pb node");
                    break;
                }
                if (nlinks == cap) {
                    cap = cap ? cap * 2 : 64;
                    pblink *nl = realloc(links, cap * sizeof *nl);
                    if (!nl) {
                        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
                        break;
                    }
                    links = nl;
                }
                links[nlinks++] = l;
            }
            pos += (size_t)len;
        } else if (!skip_field(p, end, &pos, wt)) {
            s = el_error_set(err, EL_ERR_TRUST, "malformed dag-pb node");
        }
    }
    if (s == EL_OK && !have_data)
        s = el_error_set(err, EL_ERR_TRUST, "a dag-pb node without UnixFS data");

    /* UnixFS Data */
    uint64_t type = UINT64_MAX, filesize = 0;
    bool have_filesize = false;
    const uint8_t *inline_data = NULL;
    size_t inline_len = 0;
    uint64_t *bsizes = NULL;
    size_t nbs = 0;
    if (s == EL_OK && nlinks > 0 && !(bsizes = malloc(nlinks * sizeof *bsizes)))
        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    for (size_t pos = 0; s == EL_OK && pos < data_len;) {
        uint64_t key, v;
        if (!get_varint(data, data_len, &pos, &key)) {
            s = el_error_set(err, EL_ERR_TRUST, "malformed UnixFS data");
            break;
        }
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if (field == 1 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            type = v;
        } else if (field == 2 && wt == 2 && get_varint(data, data_len, &pos, &v) && v <= data_len - pos) {
            inline_data = data + pos;
            inline_len = (size_t)v;
            pos += (size_t)v;
        } else if (field == 3 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            filesize = v;
            have_filesize = true;
        } else if (field == 4 && wt == 0 && get_varint(data, data_len, &pos, &v)) {
            if (nbs >= nlinks) {
                s = el_error_set(err, EL_ERR_TRUST, "UnixFS node has more blocksizes than links");
                break;
            }
            bsizes[nbs++] = v;
        } else if (field == 4 && wt == 2 && get_varint(data, data_len, &pos, &v) && v <= data_len - pos) {
            size_t pend = pos + (size_t)v; /* packed blocksizes */
            while (s == EL_OK && pos < pend) {
                uint64_t bs;
                if (!get_varint(data, pend, &pos, &bs) || nbs >= nlinks)
                    s = el_error_set(err, EL_ERR_TRUST, "malformed UnixFS blocksizes");
                else
                    bsizes[nbs++] = bs;
            }
        } else if (field <= 4 || !skip_field(data, data_len, &pos, wt)) {
            s = el_error_set(err, EL_ERR_TRUST, "malformed UnixFS data");
        }
    }
    if (s == EL_OK && type != 2 && type != 0)
        s = el_error_set(err, EL_ERR_TRUST, "the CID is not a UnixFS file (type %llu)", (unsigned long long)type);
    if (s == EL_OK && nbs != nlinks)
        s = el_error_set(err, EL_ERR_TRUST, "UnixFS node has %zu links but %zu blocksizes", nlinks, nbs);

    uint64_t total = 0;
    if (s == EL_OK && inline_len > 0) {
        s = emit(w, inline_data, inline_len, err);
        total += inline_len;
    }
    for (size_t i = 0; s == EL_OK && i < nlinks; i++) {
        uint64_t got = 0;
        s = walk(w, links[i].codec, links[i].digest, depth + 1, &got, err);
        if (s == EL_OK && got != bsizes[i])
            s = el_error_set(err, EL_ERR_TRUST, "a child block holds %llu bytes, its parent says %llu",
                             (unsigned long long)got, (unsigned long long)bsizes[i]);
        total += got;
    }
    if (s == EL_OK && have_filesize && total != filesize)
        s = el_error_set(err, EL_ERR_TRUST, "the UnixFS tree holds %llu bytes, its filesize says %llu",
                         (unsigned long long)total, (unsigned long long)filesize);
    if (s == EL_OK && depth == 0 && !have_filesize)
        s = el_error_set(err, EL_ERR_TRUST, "the root node has no filesize");
    free(links);
    free(bsizes);
    *produced = total;
    return s;
}

/* Verifies the CAR in car_fd and writes the file of root digest into out. */
static el_status verify_car(int car_fd, uint64_t car_len, const uint8_t root[DIGEST_LEN], int out, el_error *err)
{
    if (car_len == 0)
        return el_error_set(err, EL_ERR_FORMAT, "empty CAR");
    uint8_t *car = mmap(NULL, (size_t)car_len, PROT_READ, MAP_PRIVATE, car_fd, 0);
    if (car == MAP_FAILED)
        return el_error_set(err, EL_ERR_IO, "cannot map the downloaded CAR: %s", strerror(errno));
    el_status s = EL_OK;
    walker w = {.car = car, .out = out};
    size_t cap = 0, end = (size_t)car_len, pos = 0;
    uint64_t hlen;
    if (!get_varint(car, end, &pos, &hlen) || hlen == 0 || hlen > MAX_CAR_HEADER || hlen > end - pos)
        s = el_error_set(err, EL_ERR_FORMAT, "malformed CAR header");
    else
        pos += (size_t)hlen;
    static const char gw_error[] = "\n\n[Gateway Error";
    while (s == EL_OK && pos < end) {
        uint64_t blen;
        if (end - pos >= sizeof gw_error - 1 && !memcmp(car + pos, gw_error, sizeof gw_error - 1)) {
            /* Kubo ends a CAR it could not complete with this text (HTTP 200 was already sent). */
            char msg[160];
            size_t m = 0;
            for (size_t i = pos + 2; i < end && m < sizeof msg - 1; i++)
                msg[m++] = (car[i] >= 0x20 && car[i] < 0x7f) ? (char)car[i] : ' ';
            msg[m] = '\0';
            s = el_error_set(err, EL_ERR_NOTFOUND, "incomplete CAR: %s", msg);
            break;
        }
        if (!get_varint(car, end, &pos, &blen) || blen > end - pos) {
            s = el_error_set(err, EL_ERR_NOTFOUND, "incomplete CAR (truncated block)");
            break;
        }
        if (blen > EL_FETCH_MAX_BLOCK + 128) {
            s = el_error_set(err, EL_ERR_TRUST, "oversized CAR block");
            break;
        }
        size_t bend = pos + (size_t)blen, cpos = pos;
        blk b;
        const uint8_t *dg;
        if (!get_cid(car, bend, &cpos, &b.codec, &dg)) {
            s = el_error_set(err, EL_ERR_FORMAT, "malformed CAR: a block with an unsupported CID");
            break;
        }
        memcpy(b.digest, dg, DIGEST_LEN);
        b.off = cpos;
        b.len = bend - cpos;
        uint8_t h[DIGEST_LEN];
        el_sha256(car + b.off, b.len, h);
        if (memcmp(h, b.digest, DIGEST_LEN) != 0) {
            s = el_error_set(err, EL_ERR_TRUST, "a CAR block does not match its CID");
            break;
        }
        if (w.nblocks == EL_FETCH_MAX_BLOCKS) {
            s = el_error_set(err, EL_ERR_LIMIT, "the CAR has more than %d blocks", EL_FETCH_MAX_BLOCKS);
            break;
        }
        if (w.nblocks == cap) {
            cap = cap ? cap * 2 : 256;
            blk *nb = realloc(w.blocks, cap * sizeof *nb);
            if (!nb) {
                s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
                break;
            }
            w.blocks = nb;
        }
        w.blocks[w.nblocks++] = b;
        pos = bend;
    }
    if (s == EL_OK) {
        qsort(w.blocks, w.nblocks, sizeof *w.blocks, cmp_blk);
        uint64_t total;
        s = walk(&w, CODEC_DAG_PB, root, 0, &total, err);
    }
    free(w.blocks);
    munmap(car, (size_t)car_len);
    return s;
}

/* ---- one gateway ---- */

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

static el_status fetch_one(const char *gw, const char *cid, const uint8_t bin[BIN_CID_LEN], const char *out_path,
                           el_error *err)
{
    size_t gl = strlen(gw);
    while (gl > 0 && gw[gl - 1] == '/')
        gl--;
    bool raw = bin[1] == CODEC_RAW;
    char url[4096];
    if (snprintf(url, sizeof url, "%.*s/ipfs/%s?format=%s", (int)gl, gw, cid, raw ? "raw" : "car") >=
        (int)sizeof url)
        return el_error_set(err, EL_ERR_USAGE, "gateway URL too long");

    char tmp[PATH_MAX];
    int out = make_temp(out_path, tmp, err);
    if (out < 0)
        return err ? err->code : EL_ERR_IO;
    el_status s = EL_OK;
    if (raw) {
        dl d = {.fd = out, .max = EL_FETCH_MAX_BLOCK, .md = EVP_MD_CTX_new()};
        if (!d.md || EVP_DigestInit_ex2(d.md, el_sha256_md(), NULL) != 1)
            s = el_error_set(err, EL_ERR_INTERNAL, "SHA-256 failed in OpenSSL");
        if (s == EL_OK)
            s = http_get(url, "application/vnd.ipld.raw", &d, err);
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned int hn = 0;
        if (s == EL_OK && (EVP_DigestFinal_ex(d.md, h, &hn) != 1 || hn != DIGEST_LEN))
            s = el_error_set(err, EL_ERR_INTERNAL, "SHA-256 failed in OpenSSL");
        if (s == EL_OK && memcmp(h, bin + 4, DIGEST_LEN) != 0)
            s = el_error_set(err, EL_ERR_TRUST, "served %llu bytes whose SHA-256 does not match the CID",
                             (unsigned long long)d.n);
        EVP_MD_CTX_free(d.md);
    } else {
        char cartmp[PATH_MAX];
        int car = make_temp(out_path, cartmp, err);
        if (car < 0) {
            s = err ? err->code : EL_ERR_IO;
        } else {
            unlink(cartmp); /* anonymous: gone with the descriptor, whatever happens */
            dl d = {.fd = car, .max = MAX_CAR_SIZE};
            s = http_get(url, "application/vnd.ipld.car", &d, err);
            if (s == EL_OK)
                s = verify_car(car, d.n, bin + 4, out, err);
            close(car);
        }
    }
    if (s == EL_OK && fsync(out) != 0)
        s = el_error_set(err, EL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    if (close(out) != 0 && s == EL_OK)
        s = el_error_set(err, EL_ERR_IO, "close %s: %s", tmp, strerror(errno));
    if (s == EL_OK) {
        char again[EL_CID_MAX];
        s = el_cid_of_file(tmp, again, err);
        if (s == EL_OK && strcmp(again, cid) != 0)
            s = el_error_set(err, EL_ERR_TRUST, "the assembled file has CID %s", again);
    }
    if (s == EL_OK && chmod(tmp, 0600) != 0)
        s = el_error_set(err, EL_ERR_IO, "chmod %s: %s", tmp, strerror(errno));
    if (s == EL_OK && rename(tmp, out_path) != 0)
        s = el_error_set(err, EL_ERR_IO, "cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
    if (s != EL_OK) {
        unlink(tmp);
        return s;
    }
    /* Make the rename durable. */
    char dir[PATH_MAX];
    const char *slash = strrchr(out_path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out_path) + (slash == out_path) : 1,
             slash ? out_path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return EL_OK;
}

el_status el_fetch_cid(el_runtime *rt, const char *cid, const char *const *gateways, size_t n, const char *out_path,
                       el_error *err)
{
    (void)rt;
    if (!cid || !out_path || (n > 0 && !gateways))
        return el_error_set(err, EL_ERR_USAGE, "el_fetch_cid: NULL argument");
    uint8_t bin[BIN_CID_LEN];
    el_status s = el_cid_decode(cid, bin, err);
    if (s != EL_OK)
        return s;
    if (n == 0)
        return el_error_set(err, EL_ERR_USAGE, "no IPFS gateway to fetch %s from", cid);

    char notes[400] = "";
    size_t nl = 0;
    bool tampered = false;
    for (size_t i = 0; i < n; i++) {
        el_error e = {0};
        s = fetch_one(gateways[i], cid, bin, out_path, &e);
        if (s == EL_OK)
            return EL_OK;
        if (s == EL_ERR_IO || s == EL_ERR_INTERNAL || s == EL_ERR_USAGE)
            return el_error_set(err, s, "fetching %s from %s: %s", cid, gateways[i], e.msg);
        if (s == EL_ERR_TRUST)
            tampered = true;
        if (nl < sizeof notes) {
            int w = snprintf(notes + nl, sizeof notes - nl, "%s%s%s: %s", nl ? "; " : "",
                             s == EL_ERR_TRUST ? "wrong bytes from " : "", gateways[i], e.msg);
            nl = w < 0 ? sizeof notes : nl + (size_t)w;
        }
    }
    if (tampered)
        return el_error_set(err, EL_ERR_TRUST, "refused %s: no gateway served bytes matching the CID (%s)", cid, notes);
    return el_error_set(err, EL_ERR_NOTFOUND, "%s not found on any gateway (%s)", cid, notes);
}
