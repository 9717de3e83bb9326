/*
 * fuzz_token.c - libFuzzer target for lib/token.c.
 *
 * Each input is used three ways, against one runtime on a temporary $ELASTOS_HOME created on
 * the first input (removed at exit):
 *  (1) as token text (NUL-terminated copy) to el_token_check and el_token_decode. Nothing the
 *      fuzzer writes can carry a valid signature of this runtime's key, so a check must never
 *      succeed; failures must be EL_ERR_TRUST/EL_ERR_LIMIT with a known protocol code and a
 *      one-line message, and text that does not decode must give "invalid_token".
 *  (2) when at least 101 bytes long, as the binary fields of a token (layout of token.h) that
 *      the target re-signs with the runtime's own key, after nudging a few fields toward values
 *      that pass (one action bit, current epoch, issued in the past), so the later checks
 *      (holder, action, resource, epoch, revocation, time, use count) are reached. A success
 *      must be consistent with every field.
 *  (3) split at its first NUL into pattern and resource for el_token_resource_match: a match must
 *      be an equality or a "/" "*" prefix match, and neither side may hold '%', '\', control
 *      bytes, "." / ".." / empty segments, or (the resource) a '*'.
 * Any violation aborts.
 *
 * Build: cmake -DELASTOS_FUZZ=ON (clang). Corpus: tests/fuzz/corpus/token/.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include "elastos/manifest.h"
#include "elastos/runtime.h"
#include "elastos/sign.h"
#include "elastos/token.h"

#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOLDER "00112233445566778899aabbccddeeff"
#define TOKEN_MAX (101 + EL_RESOURCE_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    char home[64];
    el_runtime *rt;
    el_keypair kp;
    uint64_t epoch;
} F;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    el_runtime_close(F.rt);
    F.rt = NULL;
    el_sign_keypair_wipe(&F.kp);
    if (F.home[0])
        nftw(F.home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_token: %s: %s\n", what, msg ? msg : "");
    abort();
}

static void setup(void)
{
    if (F.rt)
        return;
    snprintf(F.home, sizeof F.home, "/tmp/el-fuzz-token-XXXXXX");
    if (!mkdtemp(F.home))
        die("mkdtemp", NULL);
    el_error err;
    uint8_t pk[EL_PK_BYTES];
    char path[PATH_MAX];
    if (el_runtime_open(F.home, &F.rt, &err) != EL_OK || el_token_runtime_pubkey(F.rt, pk, &err) != EL_OK ||
        el_token_epoch_get(F.rt, &F.epoch, &err) != EL_OK)
        die("setup", err.msg);
    snprintf(path, sizeof path, "%s/runtime.key", F.home);
    if (el_sign_keypair_load(path, &F.kp, &err) != EL_OK)
        die("runtime key", err.msg);
    atexit(teardown);
}

static bool known_code(const char *c)
{
    return c && (!strcmp(c, "invalid_token") || !strcmp(c, "denied") || !strcmp(c, "expired") ||
                 !strcmp(c, "revoked") || !strcmp(c, "limit"));
}

static void check_failure(el_status st, const char *code, const el_error *err)
{
    if (!known_code(code))
        die("unknown code", code);
    if ((st == EL_ERR_LIMIT) != !strcmp(code, "limit") || (st != EL_ERR_TRUST && st != EL_ERR_LIMIT))
        die("status does not fit the code", code);
    if (!err->msg[0] || strchr(err->msg, '\n') || err->code != st)
        die("bad error report", err->msg);
}

static void be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t rd(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* (1) arbitrary text */
static void as_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = 0;
    el_token tok, dtok;
    el_error err = {0}, derr = {0};
    const char *code = NULL;
    el_status st = el_token_check(F.rt, text, HOLDER, "localhost://storage/notes/a", EL_ACT_READ, &tok, &code, &err);
    if (st == EL_OK)
        die("a fuzzed token passed its check", text);
    check_failure(st, code, &err);
    el_status ds = el_token_decode(text, &dtok, &derr);
    if (ds != EL_OK) {
        if (ds != EL_ERR_FORMAT || !derr.msg[0] || strchr(derr.msg, '\n'))
            die("bad decode report", derr.msg);
        if (strcmp(code, "invalid_token") != 0)
            die("undecodable token not reported as invalid_token", code);
    } else {
        size_t rl = strlen(dtok.resource);
        unsigned a = dtok.action;
        if (dtok.version != 1 || rl < 1 || rl > EL_RESOURCE_MAX || !a || (a & (a - 1)) || !el_manifest_action_name(a))
            die("decoded token out of range", NULL);
        if (memcmp(&tok.id, &dtok.id, sizeof tok.id) != 0)
            die("check and decode disagree", NULL);
    }
    free(text);
}

/* (2) fields, re-signed with the runtime key */
static void as_fields(const uint8_t *data, size_t size)
{
    if (size < 101)
        return;
    uint8_t b[TOKEN_MAX];
    size_t rl = size - 101;
    if (rl > EL_RESOURCE_MAX)
        rl = EL_RESOURCE_MAX;
    memcpy(b, data, 101 + rl);
    uint64_t now = (uint64_t)time(NULL);
    uint8_t knobs = data[0];
    memcpy(b, "ELTK", 4);
    if (!(knobs & 1))
        b[4] = 1;
    memcpy(b + 37, F.kp.pk, EL_PK_BYTES);
    if (!(knobs & 2))
        b[69] = (uint8_t)(1u << (data[69] % 6));
    if (!(knobs & 4))
        b[70] &= 1;
    if (!(knobs & 8))
        be(b + 71, F.epoch, 8);
    if (!(knobs & 16))
        be(b + 79, now - rd(data + 79, 8) % 100000, 8);
    if (!(knobs & 32))
        be(b + 87, (data[87] & 1) ? now + 1 + rd(data + 88, 7) % 100000 : 0, 8);
    if (!(knobs & 64))
        be(b + 95, 0, 4);
    if (!(knobs & 128))
        be(b + 99, rl, 2);
    uint8_t d[32];
    el_sign_sha256(b, 101 + rl, d);
    el_sign_digest(&F.kp, "elastos/token/v1", d, b + 101 + rl);
    size_t n = 101 + rl + 64;
    char text[sodium_base64_ENCODED_LEN(TOKEN_MAX, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

    /* The request: the token's own holder and action, and a resource below / equal to its
     * pattern (or the fixed one), so success is possible. */
    char holder[33], res[EL_RESOURCE_MAX + 8];
    el_sign_hex_encode(b + 21, 16, holder);
    unsigned action = b[69];
    if (rl && !memchr(b + 101, 0, rl)) {
        memcpy(res, b + 101, rl);
        res[rl] = 0;
        if (rl >= 2 && res[rl - 1] == '*' && res[rl - 2] == '/')
            memcpy(res + rl - 1, "f", 2);
    } else {
        snprintf(res, sizeof res, "localhost://storage/a");
    }
    el_token tok;
    el_error err = {0};
    const char *code = NULL;
    el_status st = el_token_check(F.rt, text, holder, res, action, &tok, &code, &err);
    if (st != EL_OK) {
        check_failure(st, code, &err);
        return;
    }
    if (code != NULL)
        die("success with a code", code);
    uint8_t hb[16];
    if (tok.version != 1 || memcmp(tok.issuer, F.kp.pk, EL_PK_BYTES) || !el_sign_hex_decode(holder, 32, hb) ||
        memcmp(hb, tok.holder, 16) || tok.action != action || !el_token_resource_match(tok.resource, res) ||
        tok.epoch != F.epoch || tok.issued_at > now + 1 || (tok.expiry && tok.expiry <= now) || tok.max_uses != 0)
        die("a token passed that should not have", text);
    /* the same token for another holder or action is refused */
    if (el_token_check(F.rt, text, "ffeeddccbbaa99887766554433221100", res, action, NULL, &code, &err) == EL_OK &&
        memcmp(tok.holder, "\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44\x33\x22\x11\x00", 16) != 0)
        die("another holder passed", text);
    if (el_token_check(F.rt, text, holder, res, action == EL_ACT_ADMIN ? EL_ACT_READ : action << 1, NULL, &code,
                       &err) == EL_OK)
        die("another action passed", text);
}

static bool bad_segments(const char *s)
{
    const char *p = strstr(s, "://");
    if (!p)
        return true;
    for (p += 3;;) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if ((l == 0 && e) || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
            return true;
        if (!e)
            return false;
        p = e + 1;
    }
}

/* (3) pattern NUL resource */
static void as_match(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    if (!buf)
        return;
    memcpy(buf, data, size);
    buf[size] = 0;
    buf[size + 1] = 0;
    const char *pattern = buf;
    const char *resource = buf + strlen(buf) + 1;
    if (el_token_resource_match(pattern, resource)) {
        size_t pl = strlen(pattern);
        bool eq = strcmp(pattern, resource) == 0;
        bool below = pl >= 2 && pattern[pl - 1] == '*' && pattern[pl - 2] == '/' &&
                     strncmp(pattern, resource, pl - 1) == 0 && strlen(resource) > pl - 1;
        if (!eq && !below)
            die("match without equality or prefix", NULL);
        for (const char *s = resource; *s; s++)
            if (*s == '%' || *s == '\\' || *s == '*' || (unsigned char)*s < 0x20 || *s == 0x7f)
                die("matched resource has a forbidden byte", NULL);
        for (const char *s = pattern; *s; s++)
            if (*s == '%' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f || (*s == '*' && s[1]))
                die("matching pattern has a forbidden byte", NULL);
        if (bad_segments(resource))
            die("matched resource has a dot or empty segment", NULL);
        if (strlen(resource) > EL_RESOURCE_MAX || pl > EL_RESOURCE_MAX)
            die("match beyond EL_RESOURCE_MAX", NULL);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    as_text(data, size);
    as_fields(data, size);
    as_match(data, size);
    return 0;
}
