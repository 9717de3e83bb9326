/*
 * cid.c - IPFS CIDs of files with the UnixFS import profile unixfs-v1-2025 (SPEC section 4,
 * IPIP-499), byte-for-byte the way Kubo's importer computes them, and strict validation of
 * text CIDs.
 *
 * The DAG: the file is cut into 1 MiB chunks, each a raw block (codec 0x55). A file of at most
 * one chunk is that single raw block. Larger files get a balanced tree of dag-pb (0x70) UnixFS
 * File nodes with at most 1024 links each, filled left to right so every subtree but the last
 * one of each level is full (Kubo's "balanced" layout: a file of 1024 chunks has one level,
 * 1025 chunks a root with two children, the second one a node holding the last leaf).
 *
 * A dag-pb node is encoded as Kubo encodes it, links first:
 *   PBNode  { repeated PBLink Links = 2; bytes Data = 1; }      Links serialized before Data
 *   PBLink  { Hash = 1 (binary CID); Name = 2 (always present, empty); Tsize = 3 }
 *   Data    = UnixFS { Type = 1 (File = 2); filesize = 3; repeated blocksizes = 4 (unpacked) }
 * Tsize of a link is the total size of the blocks below it (for a raw leaf: its length; for a
 * node: its encoded length plus its links' Tsize); blocksizes are the file bytes under each link.
 *
 * Streaming with bounded memory: one 1 MiB buffer holds the current chunk (and, when no chunk is
 * pending, serves to encode a node), and each tree level keeps only its pending links (at most
 * 1024). A level is turned into a node only when it is full and another link arrives, or at the
 * end, which gives exactly Kubo's layout without knowing the file size in advance.
 *
 * Text form: CIDv1 binary <0x01><codec><0x12 sha2-256><0x20><32-byte digest>, in multibase
 * base32 lowercase without padding, prefix 'b': always 59 characters.
 */
#include "elastos/cid.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_SIZE ((size_t)1 << 20) /* size-1048576 chunker */
#define MAX_LINKS 1024               /* UnixFSFileMaxLinks */
/* Level k holds links to subtrees of up to 1024^k chunks: 6 levels exceed 2^64 bytes. */
#define MAX_LEVELS 6
#define DIGEST_LEN 32
#define BIN_CID_LEN (4 + DIGEST_LEN)
#define TEXT_CID_LEN (1 + (BIN_CID_LEN * 8 + 4) / 5) /* 'b' + 58 base32 characters = 59 */

#define CID_VERSION 0x01
#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define MH_SHA2_256 0x12

/* Worst-case encoded size of one node: per link 2 (Links tag+len) + 2+36 (Hash) + 2 (empty
 * Name) + 1+10 (Tsize); Data: 1+3 (tag+len) + 2 (Type) + 1+10 (filesize) + per link 1+10. */
#define MAX_NODE_LEN (MAX_LINKS * (2 + 2 + BIN_CID_LEN + 2 + 1 + 10) + 4 + 2 + 11 + MAX_LINKS * 11)
_Static_assert(MAX_NODE_LEN <= CHUNK_SIZE, "a node must fit in the chunk buffer");
_Static_assert(TEXT_CID_LEN < EL_CID_MAX, "EL_CID_MAX too small");
_Static_assert(BIN_CID_LEN == EL_CID_BIN_LEN, "binary CID length");

typedef struct cid_link {
    uint8_t digest[DIGEST_LEN]; /* sha2-256 of the child block */
    uint64_t tsize;             /* bytes of all blocks of the child's sub-DAG */
    uint64_t filesize;          /* file bytes under the child */
} cid_link;

typedef struct cid_level {
    cid_link *links; /* MAX_LINKS entries, allocated when first needed */
    size_t n;
} cid_level;

struct el_cid_ctx {
    const EVP_MD *md; /* el__sha256_md(): shared, immutable */
    EVP_MD_CTX *mdctx;
    uint8_t *buf;   /* CHUNK_SIZE bytes: the chunk being filled */
    size_t fill;    /* bytes of buf holding chunk data */
    uint64_t leaves;
    /* level[0]: links to raw leaves; level[k]: links to dag-pb nodes of height k. */
    cid_level level[MAX_LEVELS];
    el_status failed; /* first failure (sticky): EL_OK if none */
    const char *failmsg;
    bool finished;
};

static void ctx_fail(el_cid_ctx *c, el_status code, const char *msg)
{
    if (c->failed == EL_OK) {
        c->failed = code;
        c->failmsg = msg;
    }
}

static bool sha256(el_cid_ctx *c, const void *data, size_t len, uint8_t out[DIGEST_LEN])
{
    unsigned int outlen = 0;
    if (EVP_DigestInit_ex2(c->mdctx, c->md, NULL) != 1 || EVP_DigestUpdate(c->mdctx, data, len) != 1 ||
        EVP_DigestFinal_ex(c->mdctx, out, &outlen) != 1 || outlen != DIGEST_LEN) {
        ctx_fail(c, EL_ERR_INTERNAL, "SHA-256 failed in OpenSSL");
        return false;
    }
    return true;
}

el_cid_ctx *el_cid_new(void)
{
    el_cid_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->buf = malloc(CHUNK_SIZE);
    c->md = el__sha256_md();
    c->mdctx = EVP_MD_CTX_new();
    if (!c->buf || !c->md || !c->mdctx) {
        el_cid_free(c);
        return NULL;
    }
    return c;
}

void el_cid_free(el_cid_ctx *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < MAX_LEVELS; k++)
        free(c->level[k].links);
    EVP_MD_CTX_free(c->mdctx);
    free(c->buf);
    free(c);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void bin_cid(uint8_t out[BIN_CID_LEN], uint8_t codec, const uint8_t digest[DIGEST_LEN])
{
    out[0] = CID_VERSION;
    out[1] = codec;
    out[2] = MH_SHA2_256;
    out[3] = DIGEST_LEN;
    memcpy(out + 4, digest, DIGEST_LEN);
}

/* Turns the pending links of level k into a dag-pb UnixFS File node (encoded in c->buf, which
 * holds no chunk data when this is called), hashes it, and describes it in *out. */
static bool build_node(el_cid_ctx *c, size_t k, cid_link *out)
{
    cid_level *lv = &c->level[k];
    uint8_t child_codec = k == 0 ? CODEC_RAW : CODEC_DAG_PB;
    uint8_t *p = c->buf;
    uint64_t tsize = 0, filesize = 0;

    for (size_t i = 0; i < lv->n; i++) {
        const cid_link *l = &lv->links[i];
        size_t link_len = 2 + BIN_CID_LEN + 2 + 1 + varint_len(l->tsize);
        *p++ = 0x12; /* PBNode.Links, field 2, length-delimited */
        p += put_varint(p, link_len);
        *p++ = 0x0a; /* PBLink.Hash, field 1 */
        *p++ = BIN_CID_LEN;
        bin_cid(p, child_codec, l->digest);
        p += BIN_CID_LEN;
        *p++ = 0x12; /* PBLink.Name, field 2: empty, but present as Kubo writes it */
        *p++ = 0x00;
        *p++ = 0x18; /* PBLink.Tsize, field 3, varint */
        p += put_varint(p, l->tsize);
        tsize += l->tsize;
        filesize += l->filesize;
    }

    size_t data_len = 2 + 1 + varint_len(filesize);
    for (size_t i = 0; i < lv->n; i++)
        data_len += 1 + varint_len(lv->links[i].filesize);
    *p++ = 0x0a; /* PBNode.Data, field 1 */
    p += put_varint(p, data_len);
    *p++ = 0x08; /* UnixFS Type, field 1: File = 2 */
    *p++ = 0x02;
    *p++ = 0x18; /* UnixFS filesize, field 3 */
    p += put_varint(p, filesize);
    for (size_t i = 0; i < lv->n; i++) {
        *p++ = 0x20; /* UnixFS blocksizes, field 4, one varint each */
        p += put_varint(p, lv->links[i].filesize);
    }

    size_t node_len = (size_t)(p - c->buf);
    lv->n = 0;
    out->tsize = tsize + node_len;
    out->filesize = filesize;
    return sha256(c, c->buf, node_len, out->digest);
}

/* Appends a link to level k; a full level first becomes a node linked from level k + 1. */
static bool push_link(el_cid_ctx *c, size_t k, const cid_link *link)
{
    if (k >= MAX_LEVELS) {
        ctx_fail(c, EL_ERR_LIMIT, "file too large for a UnixFS tree");
        return false;
    }
    cid_level *lv = &c->level[k];
    if (!lv->links) {
        lv->links = malloc(MAX_LINKS * sizeof *lv->links);
        if (!lv->links) {
            ctx_fail(c, EL_ERR_INTERNAL, "out of memory");
            return false;
        }
    }
    if (lv->n == MAX_LINKS) {
        cid_link node;
        if (!build_node(c, k, &node) || !push_link(c, k + 1, &node))
            return false;
    }
    lv->links[lv->n++] = *link;
    return true;
}

/* Hashes one chunk as a raw leaf. The chunk bytes may be c->buf itself; c->fill must already
 * be 0 so that c->buf can serve to encode nodes. */
static void add_leaf(el_cid_ctx *c, const uint8_t *data, size_t len)
{
    cid_link leaf = {.tsize = len, .filesize = len};
    if (!sha256(c, data, len, leaf.digest))
        return;
    c->leaves++;
    push_link(c, 0, &leaf);
}

void el_cid_update(el_cid_ctx *c, const void *data, size_t len)
{
    if (!c || c->failed != EL_OK || len == 0)
        return;
    if (c->finished) {
        ctx_fail(c, EL_ERR_USAGE, "el_cid_update called after el_cid_final");
        return;
    }
    if (!data) {
        ctx_fail(c, EL_ERR_USAGE, "el_cid_update called with NULL data");
        return;
    }
    const uint8_t *p = data;
    while (len > 0 && c->failed == EL_OK) {
        if (c->fill == 0 && len >= CHUNK_SIZE) { /* a whole chunk in place: no copy */
            add_leaf(c, p, CHUNK_SIZE);
            p += CHUNK_SIZE;
            len -= CHUNK_SIZE;
            continue;
        }
        size_t n = CHUNK_SIZE - c->fill;
        if (n > len)
            n = len;
        memcpy(c->buf + c->fill, p, n);
        c->fill += n;
        p += n;
        len -= n;
        if (c->fill == CHUNK_SIZE) {
            c->fill = 0;
            add_leaf(c, c->buf, CHUNK_SIZE);
        }
    }
}

static void base32_text(char out[EL_CID_MAX], const uint8_t bin[BIN_CID_LEN])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    size_t o = 0;
    out[o++] = 'b';
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < BIN_CID_LEN; i++) {
        acc = (acc << 8) | bin[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

void el__cid_encode(const uint8_t bin[EL_CID_BIN_LEN], char out[EL_CID_MAX])
{
    base32_text(out, bin);
}

el_status el_cid_final(el_cid_ctx *c, char out[EL_CID_MAX], el_error *err)
{
    if (!c || !out)
        return el_error_set(err, EL_ERR_USAGE, "el_cid_final: NULL context or output");
    if (c->finished)
        return el_error_set(err, EL_ERR_USAGE, "el_cid_final: the CID context was already finalized");
    c->finished = true;
    out[0] = '\0';

    /* The last (partial) chunk; an empty file is one empty raw leaf, as in Kubo. */
    if (c->failed == EL_OK && (c->fill > 0 || c->leaves == 0)) {
        size_t n = c->fill;
        c->fill = 0;
        add_leaf(c, c->buf, n);
    }

    uint8_t digest[DIGEST_LEN];
    uint8_t codec;
    if (c->failed == EL_OK && c->leaves == 1) {
        memcpy(digest, c->level[0].links[0].digest, DIGEST_LEN);
        codec = CODEC_RAW;
    } else {
        /* Collapse the pending levels bottom-up; the highest level becomes the root. Pushing a
         * link may fill a level and create a new top, so the top is looked up each time. */
        codec = CODEC_DAG_PB;
        for (size_t k = 0; c->failed == EL_OK; k++) {
            size_t top = 0;
            for (size_t j = 0; j < MAX_LEVELS; j++)
                if (c->level[j].n > 0)
                    top = j;
            if (k < top && c->level[k].n == 0)
                continue; /* cannot happen: every level below the top has a pending link */
            cid_link node;
            if (!build_node(c, k, &node))
                break;
            if (k == top) {
                memcpy(digest, node.digest, DIGEST_LEN);
                break;
            }
            push_link(c, k + 1, &node);
        }
    }
    if (c->failed != EL_OK)
        return el_error_set(err, c->failed, "CID computation failed: %s", c->failmsg);

    uint8_t bin[BIN_CID_LEN];
    bin_cid(bin, codec, digest);
    base32_text(out, bin);
    return EL_OK;
}

el_status el_cid_of_buffer(const void *data, size_t len, char out[EL_CID_MAX], el_error *err)
{
    if (!out || (!data && len > 0))
        return el_error_set(err, EL_ERR_USAGE, "el_cid_of_buffer: NULL data or output");
    el_cid_ctx *c = el_cid_new();
    if (!c)
        return el_error_set(err, EL_ERR_INTERNAL, "CID computation failed: out of memory");
    el_cid_update(c, data, len);
    el_status st = el_cid_final(c, out, err);
    el_cid_free(c);
    return st;
}

el_status el_cid_of_file(const char *path, char out[EL_CID_MAX], el_error *err)
{
    if (!path || !out)
        return el_error_set(err, EL_ERR_USAGE, "el_cid_of_file: NULL path or output");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return el_error_set(err, e == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "cannot open %s: %s", path,
                            strerror(e));
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    el_cid_ctx *c = el_cid_new();
    if (!c) {
        close(fd);
        return el_error_set(err, EL_ERR_INTERNAL, "CID computation failed: out of memory");
    }
    /* Read straight into the chunk buffer (a directory fails here with EISDIR): one copy (kernel to buffer), 1 MiB reads. */
    for (;;) {
        ssize_t n = read(fd, c->buf + c->fill, CHUNK_SIZE - c->fill);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            el_cid_free(c);
            close(fd);
            return el_error_set(err, EL_ERR_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        c->fill += (size_t)n;
        if (c->fill == CHUNK_SIZE) {
            c->fill = 0;
            add_leaf(c, c->buf, CHUNK_SIZE);
            if (c->failed != EL_OK)
                break;
        }
    }
    close(fd);
    el_status rc = el_cid_final(c, out, err);
    el_cid_free(c);
    return rc;
}

/* Copies s for an error message: at most 64 characters, non-printable ones shown as '?'. */
static void quote_for_message(char out[72], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

static int base32_value(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a';
    if (ch >= '2' && ch <= '7')
        return ch - '2' + 26;
    return -1;
}

el_status el_cid_validate(const char *s, el_error *err)
{
    uint8_t bin[EL_CID_BIN_LEN];
    return el__cid_decode(s, bin, err);
}

el_status el__cid_decode(const char *s, uint8_t bin[EL_CID_BIN_LEN], el_error *err)
{
    if (!s)
        return el_error_set(err, EL_ERR_USAGE, "el_cid_validate: NULL CID");
    char q[72];
    quote_for_message(q, s);
    if (s[0] == '\0')
        return el_error_set(err, EL_ERR_FORMAT, "invalid CID: empty string");
    if (s[0] == 'Q' && s[1] == 'm')
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": CIDv0 (Qm...) is not accepted, need CIDv1 in base32", q);
    if (s[0] == 'B')
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": uppercase base32 ('B' prefix) is not accepted, need lowercase 'b'",
                            q);
    if (s[0] != 'b')
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": multibase prefix '%c' is not accepted, need 'b' (base32 lowercase)",
                            q, q[0]);

    size_t len = strlen(s);
    for (size_t i = 1; i < len; i++) {
        char ch = s[i];
        if (base32_value(ch) >= 0)
            continue;
        if (ch == '=')
            return el_error_set(err, EL_ERR_FORMAT, "invalid CID \"%s\": base32 padding '=' is not allowed", q);
        if (ch >= 'A' && ch <= 'Z')
            return el_error_set(err, EL_ERR_FORMAT,
                                "invalid CID \"%s\": uppercase character '%c' at position %zu, only lowercase base32 is accepted",
                                q, ch, i);
        if (ch > 0x20 && ch < 0x7f)
            return el_error_set(err, EL_ERR_FORMAT,
                                "invalid CID \"%s\": character '%c' at position %zu is not base32", q, ch, i);
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": byte 0x%02x at position %zu is not base32", q,
                            (unsigned)(unsigned char)ch, i);
    }
    if (len != TEXT_CID_LEN)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": %zu characters, a CIDv1 sha2-256 in base32 has %d", q, len,
                            TEXT_CID_LEN);

    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 1; i < len; i++) {
        acc = (acc << 5) | (uint32_t)base32_value(s[i]);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            bin[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* 58 characters carry 290 bits: the 2 bits past the 36 bytes must be zero. */
    if (o != BIN_CID_LEN || (acc & ((1u << bits) - 1)) != 0)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": non-zero trailing bits in the last base32 character", q);

    if (bin[0] != CID_VERSION)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": CID version byte 0x%02x, only CIDv1 (0x01) is accepted", q,
                            bin[0]);
    if (bin[1] != CODEC_RAW && bin[1] != CODEC_DAG_PB)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": codec 0x%02x is not accepted, need raw (0x55) or dag-pb (0x70)",
                            q, bin[1]);
    if (bin[2] != MH_SHA2_256)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": multihash function 0x%02x is not accepted, need sha2-256 (0x12)",
                            q, bin[2]);
    if (bin[3] != DIGEST_LEN)
        return el_error_set(err, EL_ERR_FORMAT,
                            "invalid CID \"%s\": digest length %u, sha2-256 needs 32", q, bin[3]);
    return EL_OK;
}

bool el__cid_store_name(const char *name, char cid[EL_CID_MAX])
{
    size_t len = strlen(name);
    if (len <= 8 || strcmp(name + len - 8, ".capsule") != 0 || len - 8 >= EL_CID_MAX)
        return false;
    memcpy(cid, name, len - 8);
    cid[len - 8] = 0;
    return el_cid_validate(cid, NULL) == EL_OK;
}

bool el__cid_store_entry(const char *home, const char *path, char cid[EL_CID_MAX])
{
    size_t hl = strlen(home);
    if (strncmp(path, home, hl) != 0 || strncmp(path + hl, "/store/", 7) != 0 || strchr(path + hl + 7, '/'))
        return false;
    return el__cid_store_name(path + hl + 7, cid);
}
