/*
 * fuzz_cid.c - libFuzzer target for lib/cid.c.
 *
 * Each input is (1) validated as a text CID (NUL-terminated copy), and (2) hashed as file
 * content, streamed into el_cid_update in pieces whose sizes come from the input itself. The
 * streamed CID must equal the one-shot el_cid_of_buffer CID, and must pass el_cid_validate.
 * Inputs whose first byte is odd are also stretched (repeated) past 1 MiB, so the dag-pb path
 * and chunk boundaries are exercised too. Any disagreement aborts.
 *
 * Build: clang -fsanitize=fuzzer,address -Iinclude tests/fuzz/fuzz_cid.c lib/cid.c lib/error.c
 *        -lcrypto   (or cmake -DELASTOS_FUZZ=ON). Corpus: tests/fuzz/corpus/cid/.
 */
#include "elastos/cid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRETCH_BASE ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* (1) Validation of arbitrary text. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    el_error err;
    el_status st = el_cid_validate(s, &err);
    if (st != EL_OK && (st != EL_ERR_FORMAT || err.msg[0] == '\0' || strchr(err.msg, '\n')))
        abort();
    free(s);

    /* (2) The input as content: maybe stretched to 1 MiB + (0..65535) bytes by repetition. */
    const uint8_t *content = data;
    size_t len = size;
    uint8_t *big = NULL;
    if (size >= 3 && (data[0] & 1)) {
        len = STRETCH_BASE + ((size_t)data[1] << 8 | data[2]);
        big = malloc(len);
        if (!big)
            return 0;
        for (size_t i = 0; i < len; i += size)
            memcpy(big + i, data, len - i < size ? len - i : size);
        content = big;
    }

    char one[EL_CID_MAX], streamed[EL_CID_MAX];
    if (el_cid_of_buffer(content, len, one, &err) != EL_OK)
        abort();
    el_cid_ctx *c = el_cid_new();
    if (!c)
        abort();
    /* Piece sizes cycle through the input bytes (0..255), scaled up for stretched inputs. */
    size_t off = 0, k = 0;
    while (off < len) {
        size_t piece = size ? data[k++ % size] : 1;
        if (piece == 0) { /* an empty update changes nothing; then move on by one byte */
            el_cid_update(c, content + off, 0);
            piece = 1;
        }
        if (big)
            piece = piece * 4099 + 1;
        if (piece > len - off)
            piece = len - off;
        el_cid_update(c, content + off, piece);
        off += piece;
    }
    if (el_cid_final(c, streamed, &err) != EL_OK)
        abort();
    el_cid_free(c);
    free(big);

    if (strcmp(one, streamed) != 0) {
        fprintf(stderr, "one-shot %s != streamed %s\n", one, streamed);
        abort();
    }
    if (el_cid_validate(one, &err) != EL_OK) {
        fprintf(stderr, "computed CID %s fails validation: %s\n", one, err.msg);
        abort();
    }
    return 0;
}
