/*
 * gen-bytes.c - the deterministic content generator behind tests/data/cid-vectors.txt.
 *
 * Usage: gen-bytes SEED SIZE   writes SIZE bytes to stdout.
 *
 * Generator "xorshift64star:SEED" (SEED a decimal integer >= 1): the state x starts at SEED;
 * each step does
 *     x ^= x >> 12;  x ^= x << 25;  x ^= x >> 27;   (64-bit unsigned arithmetic)
 *     w  = x * 0x2545F4914F6CDD1D                    (mod 2^64)
 * and emits the 8 bytes of w, least significant first. The stream is cut after SIZE bytes
 * (the last word may be emitted only in part). SIZE 0 gives the empty file.
 *
 * scripts/kubo-cid-vectors.sh pipes this program's output into Kubo to get the reference CIDs;
 * tests/unit/test_cid.c regenerates the same bytes in memory (its own copy of these few lines)
 * and checks that libelastos computes the same CIDs. Big vectors are therefore never committed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed, size;
    if (argc != 3 || parse_u64(argv[1], &seed) || parse_u64(argv[2], &size) || seed == 0) {
        fprintf(stderr, "usage: gen-bytes SEED SIZE   (SEED >= 1, SIZE in bytes)\n");
        return 64;
    }
    static unsigned char buf[1 << 16];
    uint64_t x = seed;
    while (size > 0) {
        size_t n = 0;
        while (n < sizeof buf) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            uint64_t w = x * UINT64_C(0x2545F4914F6CDD1D);
            for (int i = 0; i < 8; i++)
                buf[n++] = (unsigned char)(w >> (8 * i));
        }
        size_t want = size < sizeof buf ? (size_t)size : sizeof buf;
        if (fwrite(buf, 1, want, stdout) != want) {
            perror("gen-bytes: write");
            return 74;
        }
        size -= want;
    }
    if (fflush(stdout) != 0) {
        perror("gen-bytes: write");
        return 74;
    }
    return 0;
}
