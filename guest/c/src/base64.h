/*
 * base64.h - the guest SDK's internal base64 (RFC 4648 section 4: standard alphabet, "="
 * padding), used for every bytes field of the runtime protocol. Decoding is strict: the length
 * must be a multiple of 4, only alphabet characters may appear before the padding, at most two
 * "=" and only at the end, and the unused bits of the last group must be zero - so every byte
 * string has exactly one accepted encoding.
 */
#ifndef ELASTOS_GUEST_BASE64_H
#define ELASTOS_GUEST_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes (no NUL), or SIZE_MAX when it would not fit in size_t. */
size_t eg_b64_encoded_len(size_t n);
/* Writes eg_b64_encoded_len(n) characters to out (no NUL). */
void eg_b64_encode(const void *data, size_t n, char *out);
/* Most bytes the decoding of n characters can produce. */
size_t eg_b64_decoded_max(size_t n);
/* Decodes in[0..n) into out (room for eg_b64_decoded_max(n) bytes); 0 and *out_len, or -1 when
 * the input is not canonical base64. */
int eg_b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len);

#endif
