/*
 * test_fetch.c - unit tests of the CAR / dag-pb / UnixFS checks of lib/fetch.c, offline, through
 * el__fetch_check_car, on CARs exported by Kubo (tests/data/car/README).
 *
 * The real CARs give back exactly their files. Every single-byte change of a CAR and every
 * truncation is either refused or - only where the change is in the CAR header, which names no
 * block - gives back exactly the same file: a changed CAR never yields different bytes.
 */
#include "elastos/fetch.h"
#include "internal.h" /* el__fetch_check_car: internal, for tests */

#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct car_case {
    const char *file, *cid;
    size_t size;
    unsigned mul, add;
} car_case;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Runs the check; returns its status and fills *out (malloc'd) with what was written. */
static el_status check(const uint8_t *car, size_t len, const char *root, uint8_t **out, size_t *outlen)
{
    int fd = memfd_create("out", MFD_CLOEXEC);
    el_error err = {0};
    el_status s = el__fetch_check_car(car, len, root, fd, &err);
    off_t n = lseek(fd, 0, SEEK_END);
    *out = malloc((size_t)n + 1);
    *outlen = (size_t)n;
    if (*out && n > 0)
        CHECK(pread(fd, *out, (size_t)n, 0) == n);
    close(fd);
    if (s != EL_OK)
        CHECK(err.msg[0] != '\0');
    return s;
}

int main(void)
{
    static const car_case cases[] = {
        {"small.car", "bafybeibkuzrk2fuwqkow4gjjkwbkjisufgwkpxkc7rjnhxbvbvofvrfnfq", 3000, 7, 3},
        {"deep.car", "bafybeif5ckg7qwom5lk4y5fucwlwdhv24vaioyvpou2xtnsbrl7smi6oyq", 5000, 13, 5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const car_case *cc = &cases[k];
        char path[512];
        snprintf(path, sizeof path, "%s/car/%s", ELASTOS_TEST_DATA, cc->file);
        size_t len;
        uint8_t *car = slurp(path, &len);
        CHECK(car != NULL && len > 1000);
        if (!car)
            continue;
        uint8_t *want = malloc(cc->size);
        for (size_t i = 0; i < cc->size; i++)
            want[i] = (uint8_t)((i * cc->mul + cc->add) % 251);

        uint8_t *out;
        size_t n;
        CHECK(check(car, len, cc->cid, &out, &n) == EL_OK);
        CHECK(n == cc->size && memcmp(out, want, n) == 0);
        free(out);
        CHECK(check(car, len, NULL, &out, &n) == EL_OK); /* root = the first block */
        CHECK(n == cc->size && memcmp(out, want, n) == 0);
        free(out);

        /* The header length varint and the header: skipped, so changes there are harmless. */
        size_t hdr_end = 1 + car[0];
        size_t refused = 0, same = 0, bad = 0;
        for (size_t pos = 0; pos < len; pos++) {
            for (int bit = 0; bit < 8; bit += 7) {
                car[pos] ^= (uint8_t)(1u << bit);
                el_status s = check(car, len, cc->cid, &out, &n);
                car[pos] ^= (uint8_t)(1u << bit);
                if (s != EL_OK)
                    refused++;
                else if (n == cc->size && memcmp(out, want, n) == 0 && pos >= 1 && pos < hdr_end)
                    same++;
                else
                    bad++;
                free(out);
            }
        }
        printf("%s: %zu of %zu flips refused, %zu in the header harmless, %zu wrong\n", cc->file, refused,
               2 * len, same, bad);
        CHECK(bad == 0);
        CHECK(refused >= 2 * (len - hdr_end));
        /* Every truncation: refused (a missing block), never a short file. */
        size_t trunc_ok = 0;
        for (size_t cut = 0; cut < len; cut++) {
            el_status s = check(car, cut, cc->cid, &out, &n);
            trunc_ok += s != EL_OK;
            free(out);
        }
        CHECK(trunc_ok == len);
        free(want);
        free(car);
    }

    /* Garbage, an empty CAR, and a CID the CAR does not hold. */
    uint8_t *out;
    size_t n;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(check(junk, sizeof junk, cases[0].cid, &out, &n) != EL_OK);
    free(out);
    CHECK(check(junk, 0, cases[0].cid, &out, &n) != EL_OK);
    free(out);
    CHECK(check(junk, sizeof junk, NULL, &out, &n) != EL_OK);
    free(out);
    char path[512];
    snprintf(path, sizeof path, "%s/car/small.car", ELASTOS_TEST_DATA);
    size_t len;
    uint8_t *car = slurp(path, &len);
    CHECK(car && check(car, len, cases[1].cid, &out, &n) == EL_ERR_NOTFOUND);
    free(out);
    free(car);
    return TEST_DONE();
}
