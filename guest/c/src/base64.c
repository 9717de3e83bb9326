/*
 * base64.c - the guest SDK's internal base64 codec (standard alphabet with padding, strict
 * decoding; see base64.h). Table-free decoding keeps it small and constant in memory.
 */
#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eg_b64_encoded_len(size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > SIZE_MAX / 4)
        return SIZE_MAX;
    return groups * 4;
}

void eg_b64_encode(const void *data, size_t n, char *out)
{
    const uint8_t *p = data;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[v >> 12 & 63];
        *out++ = b64_alphabet[v >> 6 & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[v >> 12 & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[v >> 12 & 63];
        *out++ = b64_alphabet[v >> 6 & 63];
        *out++ = '=';
    }
}

size_t eg_b64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

/* The 6-bit value of each byte, or -1: a table, since decoding is on every storage read. */
static const signed char B64_VALUE[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64_value(unsigned char c) { return B64_VALUE[c]; }

int eg_b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len)
{
    if (n % 4 != 0)
        return -1;
    size_t k = 0, i = 0;
    /* Every group but the last has no padding: four table look-ups, one sign test. */
    const unsigned char *u = (const unsigned char *)in;
    for (; n >= 4 && i < n - 4; i += 4) {
        int a = B64_VALUE[u[i]], b = B64_VALUE[u[i + 1]], c = B64_VALUE[u[i + 2]], d = B64_VALUE[u[i + 3]];
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t x = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[k++] = (uint8_t)(x >> 16);
        out[k++] = (uint8_t)(x >> 8);
        out[k++] = (uint8_t)x;
    }
    for (; i < n; i += 4) {
        const unsigned char *g = (const unsigned char *)in + i;
        int last = i + 4 == n;
        int pad = 0;
        if (last && g[3] == '=') {
            pad = 1;
            if (g[2] == '=')
                pad = 2;
        }
        int v[4] = {0, 0, 0, 0};
        for (int j = 0; j < 4 - pad; j++)
            if ((v[j] = b64_value(g[j])) < 0)
                return -1;
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out[k++] = (uint8_t)(x >> 16);
        if (pad == 2) {
            if (x & 0xFFFF) /* nonzero unused bits: not the canonical encoding */
                return -1;
        } else {
            out[k++] = (uint8_t)(x >> 8);
            if (pad == 1) {
                if (x & 0xFF)
                    return -1;
            } else {
                out[k++] = (uint8_t)x;
            }
        }
    }
    *out_len = k;
    return 0;
}
