/*
 * test_cid.c - unit tests of lib/cid.c: CIDs of the unixfs-v1-2025 profile against SPEC's two
 * vectors and against tests/data/cid-vectors.txt (computed by Kubo from generated content,
 * see scripts/kubo-cid-vectors.sh), streaming in odd-sized pieces, el_cid_of_file, and strict
 * validation of text CIDs.
 */
#include "elastos/cid.h"
#include "harness.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ELASTOS_TEST_DATA
#error "ELASTOS_TEST_DATA must point at tests/data"
#endif

#define MiB ((uint64_t)1 << 20)

/* The generator "xorshift64star:SEED" of tests/data/gen-bytes.c (documented there and in the
 * vectors file): a stream that can be drawn in pieces of any size. */
typedef struct gen {
    uint64_t x;
    uint8_t word[8];
    unsigned left; /* bytes of word not yet emitted */
} gen;

static void gen_init(gen *g, uint64_t seed)
{
    g->x = seed;
    g->left = 0;
}

static uint64_t gen_next(gen *g)
{
    g->x ^= g->x >> 12;
    g->x ^= g->x << 25;
    g->x ^= g->x >> 27;
    return g->x * UINT64_C(0x2545F4914F6CDD1D);
}

static void gen_fill(gen *g, uint8_t *p, size_t n)
{
    while (n > 0 && g->left > 0) {
        *p++ = g->word[8 - g->left--];
        n--;
    }
    while (n >= 8) {
        uint64_t w = gen_next(g);
        for (int i = 0; i < 8; i++)
            p[i] = (uint8_t)(w >> (8 * i));
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t w = gen_next(g);
        for (int i = 0; i < 8; i++)
            g->word[i] = (uint8_t)(w >> (8 * i));
        g->left = 8;
        while (n-- > 0)
            *p++ = g->word[8 - g->left--];
    }
}

typedef struct vector {
    uint64_t seed, size;
    char cid[EL_CID_MAX];
} vector;

static size_t load_vectors(vector *v, size_t max)
{
    const char *path = ELASTOS_TEST_DATA "/cid-vectors.txt";
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (n == max) {
            fprintf(stderr, "%s: too many vectors\n", path);
            break;
        }
        if (sscanf(line, "xorshift64star:%" SCNu64 " %" SCNu64 " %127s", &v[n].seed, &v[n].size,
                   v[n].cid) != 3) {
            fprintf(stderr, "%s: bad line: %s", path, line);
            CHECK(!"malformed vector line");
            continue;
        }
        n++;
    }
    fclose(f);
    return n;
}

/* CID of the generated content, fed to el_cid_update in pieces of the given sizes (cycled). */
static void cid_streamed(const vector *v, const size_t *pieces, size_t npieces, char out[EL_CID_MAX])
{
    size_t maxp = 0;
    for (size_t i = 0; i < npieces; i++)
        if (pieces[i] > maxp)
            maxp = pieces[i];
    uint8_t *buf = malloc(maxp);
    el_cid_ctx *c = el_cid_new();
    CHECK(buf && c);
    out[0] = '\0';
    if (!buf || !c) {
        free(buf);
        el_cid_free(c);
        return;
    }
    gen g;
    gen_init(&g, v->seed);
    uint64_t left = v->size;
    for (size_t i = 0; left > 0; i = (i + 1) % npieces) {
        size_t n = pieces[i] < left ? pieces[i] : (size_t)left;
        gen_fill(&g, buf, n);
        el_cid_update(c, buf, n);
        left -= n;
    }
    el_error err = {0};
    CHECK(el_cid_final(c, out, &err) == EL_OK);
    el_cid_free(c);
    free(buf);
}

static void test_spec_vectors(void)
{
    char out[EL_CID_MAX];
    el_error err = {0};
    CHECK(el_cid_of_buffer("Hello world", 11, out, &err) == EL_OK);
    CHECK_STREQ(out, "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq");
    CHECK(el_cid_of_buffer("", 0, out, &err) == EL_OK);
    CHECK_STREQ(out, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    CHECK(el_cid_of_buffer(NULL, 0, out, &err) == EL_OK);
    CHECK_STREQ(out, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");

    /* Tampering changes the CID. */
    CHECK(el_cid_of_buffer("Hello worle", 11, out, &err) == EL_OK);
    CHECK(strcmp(out, "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq") != 0);
    CHECK(el_cid_validate(out, &err) == EL_OK);

    /* Streaming "Hello world" byte by byte, and with an empty update. */
    el_cid_ctx *c = el_cid_new();
    CHECK(c != NULL);
    if (c) {
        el_cid_update(c, "", 0);
        for (const char *p = "Hello world"; *p; p++)
            el_cid_update(c, p, 1);
        CHECK(el_cid_final(c, out, &err) == EL_OK);
        CHECK_STREQ(out, "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq");
        /* The context can't be reused. */
        CHECK(el_cid_final(c, out, &err) == EL_ERR_USAGE);
        CHECK(one_line(&err));
        el_cid_free(c);
    }
    el_cid_free(NULL);
}

static void test_kubo_vectors(void)
{
    vector v[64];
    size_t n = load_vectors(v, 64);
    CHECK(n >= 12);
    bool saw_big = false, saw_one_level = false, saw_exact_chunk = false;
    for (size_t i = 0; i < n; i++) {
        char out[EL_CID_MAX];
        el_error err = {0};
        /* What the profile implies about the root, independently of the digests. */
        if (v[i].size <= MiB)
            CHECK(strncmp(v[i].cid, "bafkrei", 7) == 0);
        else
            CHECK(strncmp(v[i].cid, "bafybei", 7) == 0);
        CHECK(el_cid_validate(v[i].cid, &err) == EL_OK);
        saw_big |= v[i].size > 1024 * MiB;
        saw_one_level |= v[i].size == 1024 * MiB;
        saw_exact_chunk |= v[i].size == MiB;

        if (v[i].size <= 8 * MiB) {
            uint8_t *data = malloc(v[i].size ? v[i].size : 1);
            CHECK(data != NULL);
            if (!data)
                continue;
            gen g;
            gen_init(&g, v[i].seed);
            gen_fill(&g, data, v[i].size);
            CHECK(el_cid_of_buffer(data, v[i].size, out, &err) == EL_OK);
            if (strcmp(out, v[i].cid) != 0)
                fprintf(stderr, "vector seed %" PRIu64 " size %" PRIu64 ":\n", v[i].seed, v[i].size);
            CHECK_STREQ(out, v[i].cid);
            CHECK(el_cid_validate(out, &err) == EL_OK);

            /* Odd-sized pieces give the same CID as one shot. */
            static const size_t p1[] = {1}, p7[] = {7}, p65537[] = {65537};
            static const size_t pmix[] = {3 * MiB + 5, 1, MiB - 1, MiB, 2};
            cid_streamed(&v[i], p1, 1, out);
            CHECK_STREQ(out, v[i].cid);
            cid_streamed(&v[i], p7, 1, out);
            CHECK_STREQ(out, v[i].cid);
            cid_streamed(&v[i], p65537, 1, out);
            CHECK_STREQ(out, v[i].cid);
            cid_streamed(&v[i], pmix, 5, out);
            CHECK_STREQ(out, v[i].cid);

            /* The same bytes in a file. */
            char path[] = "/tmp/test_cid.XXXXXX";
            int fd = mkstemp(path);
            CHECK(fd >= 0);
            if (fd >= 0) {
                CHECK(write(fd, data, v[i].size) == (ssize_t)v[i].size);
                close(fd);
                CHECK(el_cid_of_file(path, out, &err) == EL_OK);
                CHECK_STREQ(out, v[i].cid);
                unlink(path);
            }
            free(data);
        } else {
            /* Big vectors (up to more than 1024 chunks, two tree levels): generated on the fly,
             * in pieces that are sometimes whole chunks at a chunk boundary and sometimes not. */
            static const size_t pbig[] = {65537, 4 * MiB, MiB, 3 * MiB + 1};
            cid_streamed(&v[i], pbig, 4, out);
            if (strcmp(out, v[i].cid) != 0)
                fprintf(stderr, "vector seed %" PRIu64 " size %" PRIu64 ":\n", v[i].seed, v[i].size);
            CHECK_STREQ(out, v[i].cid);
        }
    }
    CHECK(saw_big);
    CHECK(saw_one_level);
    CHECK(saw_exact_chunk);
}

static void test_file_errors(void)
{
    char out[EL_CID_MAX];
    el_error err = {0};
    CHECK(el_cid_of_file("/nonexistent/elastos-test-cid", out, &err) == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, "/nonexistent/elastos-test-cid") != NULL);
    char dir[] = "/tmp/test_cid_dir.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    err.msg[0] = '\0';
    CHECK(el_cid_of_file(dir, out, &err) == EL_ERR_IO);
    CHECK(one_line(&err));
    rmdir(dir);
}

typedef struct bad_cid {
    const char *cid;
    const char *why; /* a word the error message must contain */
} bad_cid;

static void test_validate(void)
{
    el_error err = {0};
    static const char *good[] = {
        "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        /* The same digest as dag-pb: validation is syntactic. */
        "bafybeide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(el_cid_validate(good[i], &err) == EL_OK);

    /* Binary forms below were built independently (Python base64.b32encode) from the digest of
     * "Hello world" with one field changed. */
    static const bad_cid bad[] = {
        {"", "empty"},
        {"b", "characters"},
        {"BAFKREIDE5SEMUAFSNDS3UGRVM6FBWUYW2IJPJ43GWJDXEMSTJKFOZI37HQ", "uppercase"},
        {"bafkreiDe5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "uppercase"},
        {"QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u", "CIDv0"},
        {"zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "prefix"},
        {"f01551220642c2a94c6dc1f7e8c1a6d6d4f6f0b1e", "prefix"},
        {" bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "prefix"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37h", "characters"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hqa", "characters"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq======", "padding"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37h=", "padding"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37h1", "base32"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi38hq", "base32"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi30hq", "base32"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq\n", "base32"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj-3gwjdxemstjkfozi37hq", "base32"},
        {"bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hr", "trailing bits"},
        {"bafyreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "codec 0x71"},
        {"baguqeeramtwirsqawjuoloq2gvtyug2tc3jbf5htm2zeo4rsknfiv3fdp46a", "characters"},
        {"bafkrgide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "multihash"},
        {"bafkqaide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "multihash"},
        {"bafkreh3e5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "digest length"},
        {"bajkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", "version"},
        {"bciqgj3eiziale2hfxindkz4kdnjrnuqs6tzwnmshoizfgsuk5srx6pa", "characters"},
        {"\x01\xff", "prefix"},
        {"b\xc3\xa9", "base32"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        el_status st = el_cid_validate(bad[i].cid, &err);
        CHECK(st == EL_ERR_FORMAT);
        CHECK(err.code == EL_ERR_FORMAT);
        CHECK(one_line(&err));
        if (!strstr(err.msg, bad[i].why))
            fprintf(stderr, "bad CID #%zu: message \"%s\" does not mention \"%s\"\n", i, err.msg,
                    bad[i].why);
        CHECK(strstr(err.msg, bad[i].why) != NULL);
    }

    /* A very long string is refused with a short message. */
    char *longs = malloc(100001);
    CHECK(longs != NULL);
    if (longs) {
        longs[0] = 'b';
        memset(longs + 1, 'a', 99999);
        longs[100000] = '\0';
        CHECK(el_cid_validate(longs, &err) == EL_ERR_FORMAT);
        CHECK(strlen(err.msg) < 300);
        free(longs);
    }
    CHECK(el_cid_validate(NULL, &err) == EL_ERR_USAGE);
    CHECK(el_cid_validate("Qm", NULL) == EL_ERR_FORMAT);
}

int main(void)
{
    test_spec_vectors();
    test_validate();
    test_file_errors();
    test_kubo_vectors();
    return TEST_DONE();
}
