/*
 * test_token.c - unit tests of lib/token.c: capability tokens (SPEC section 6).
 *
 * Every scenario runs on a fresh temporary $ELASTOS_HOME. Tokens with chosen fields are built
 * here from the binary layout documented in include/elastos/token.h (an implementation
 * independent of lib/token.c's encoder) and signed with the runtime's own key, loaded from the
 * home's runtime.key, or with a stranger's key, so that every check of the fixed order can be
 * reached and told apart (each failure message names its check: "(holder check)", ...).
 * Covered: issue/check, input validation, the check order, every byte and character flipped,
 * resource escapes, expiry, revocation (restart, another el_runtime, another process), epoch
 * bumps, max_uses (sequential and 4 processes racing), concurrent key creation, key file
 * permissions, listing, decoding, the signature cache, and an el_token_resource_match table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include "elastos/manifest.h"
#include "elastos/sign.h"
#include "elastos/token.h"
#include "harness.h"

#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOLDER "00112233445566778899aabbccddeeff"
#define OTHER_HOLDER "ffeeddccbbaa99887766554433221100"
#define DOMAIN "elastos/token/v1"

/* ---------- homes and runtimes ---------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static char *new_home(void)
{
    char tmpl[] = "/tmp/el-test-token-XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        exit(2);
    }
    return strdup(tmpl);
}

static void drop_home(char *home)
{
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(home);
}

static el_runtime *open_rt(const char *home)
{
    el_runtime *rt = NULL;
    el_error err;
    if (el_runtime_open(home, &rt, &err) != EL_OK) {
        fprintf(stderr, "el_runtime_open(%s): %s\n", home, err.msg);
        exit(2);
    }
    return rt;
}

static void home_path(const char *home, const char *rel, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", home, rel);
}

static bool load_runtime_key(const char *home, el_keypair *kp)
{
    char p[PATH_MAX];
    home_path(home, "runtime.key", p);
    el_error err;
    if (el_sign_keypair_load(p, kp, &err) != EL_OK) {
        fprintf(stderr, "runtime key: %s\n", err.msg);
        return false;
    }
    return true;
}

/* ---------- the binary form, from token.h's layout ---------- */

typedef struct raw {
    uint8_t b[4096];
    size_t n;
} raw;

static void be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Body (everything before the signature) of t, with resource length rlen (normally strlen). */
static size_t body(const el_token *t, size_t rlen, uint8_t *out)
{
    size_t o = 0;
    memcpy(out, "ELTK", 4), o += 4;
    out[o++] = t->version;
    memcpy(out + o, t->id, 16), o += 16;
    memcpy(out + o, t->holder, 16), o += 16;
    memcpy(out + o, t->issuer, 32), o += 32;
    out[o++] = (uint8_t)t->action;
    out[o++] = t->delegatable ? 1 : 0;
    be(out + o, t->epoch, 8), o += 8;
    be(out + o, t->issued_at, 8), o += 8;
    be(out + o, t->expiry, 8), o += 8;
    be(out + o, t->max_uses, 4), o += 4;
    be(out + o, rlen, 2), o += 2;
    memcpy(out + o, t->resource, rlen), o += rlen;
    return o;
}

static void sign_raw(raw *r, size_t body_len, const el_keypair *kp)
{
    uint8_t d[32];
    el_sign_sha256(r->b, body_len, d);
    el_sign_digest(kp, DOMAIN, d, r->b + body_len);
    r->n = body_len + EL_SIG_BYTES;
}

static char *enc(const uint8_t *b, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

static bool dec(const char *text, raw *r)
{
    return sodium_base642bin(r->b, sizeof r->b, text, strlen(text), NULL, &r->n, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0;
}

/* A token with the given fields, signed by kp. */
static char *craft(const el_token *t, const el_keypair *kp)
{
    raw r;
    sign_raw(&r, body(t, strlen(t->resource), r.b), kp);
    return enc(r.b, r.n);
}

/* A plausible token for HOLDER, read, localhost://storage/notes/ *, issued now by kp. */
static el_token base_fields(const el_keypair *kp, uint64_t epoch)
{
    el_token t;
    memset(&t, 0, sizeof t);
    t.version = 1;
    randombytes_buf(t.id, 16);
    el_sign_hex_decode(HOLDER, 32, t.holder);
    memcpy(t.issuer, kp->pk, 32);
    t.action = EL_ACT_READ;
    t.epoch = epoch;
    t.issued_at = (uint64_t)time(NULL) - 10;
    snprintf(t.resource, sizeof t.resource, "localhost://storage/notes/*");
    return t;
}

/* ---------- checking ---------- */

static el_status issue(el_runtime *rt, const char *holder, const char *resource, unsigned action, uint64_t expiry,
                       uint32_t max_uses, char **text, el_token *tok)
{
    el_token_request req = {.holder_hex = holder, .capsule_name = "notes", .publisher = "ed25519:00",
                            .resource = resource, .action = action, .expiry_secs = expiry, .max_uses = max_uses};
    el_error err;
    el_status st = el_token_issue(rt, &req, text, tok, &err);
    if (st != EL_OK && text)
        *text = NULL;
    return st;
}

/* Checks one use and compares status, code and a substring of the message. want_code NULL:
 * success expected. Returns true when everything matched. */
static bool expect_at(int line, el_runtime *rt, const char *text, const char *holder, const char *res, unsigned act,
                      el_status want, const char *want_code, const char *want_msg)
{
    const char *code = "unset";
    el_error err = {0};
    el_status st = el_token_check(rt, text, holder, res, act, NULL, &code, &err);
    bool ok = st == want;
    if (want == EL_OK)
        ok = ok && code == NULL;
    else
        ok = ok && code && want_code && strcmp(code, want_code) == 0 && err.msg[0] && !strchr(err.msg, '\n') &&
             err.code == st && (!want_msg || strstr(err.msg, want_msg));
    el_test_checks++;
    if (!ok) {
        el_test_failures++;
        fprintf(stderr, "%s:%d: check of %s on %s: got %d/%s \"%s\", want %d/%s \"%s\"\n", __FILE__, line,
                text ? (strlen(text) > 24 ? "token" : text) : "(null)", res ? res : "(null)", (int)st,
                code ? code : "(null)", st == EL_OK ? "" : err.msg, (int)want, want_code ? want_code : "(null)",
                want_msg ? want_msg : "");
    }
    return ok;
}
#define EXPECT_OK(rt, text, holder, res, act) expect_at(__LINE__, rt, text, holder, res, act, EL_OK, NULL, NULL)
#define EXPECT_FAIL(rt, text, holder, res, act, code, msg) \
    expect_at(__LINE__, rt, text, holder, res, act, (strcmp(code, "limit") ? EL_ERR_TRUST : EL_ERR_LIMIT), code, msg)

static bool check_ok(el_runtime *rt, const char *text, const char *holder, const char *res, unsigned act)
{
    return el_token_check(rt, text, holder, res, act, NULL, NULL, NULL) == EL_OK;
}

/* ---------- scenarios ---------- */

static void test_issue_and_check(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    char *text = NULL;
    el_token tok;
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_WRITE, 3600, 0, &text, &tok) == EL_OK);
    CHECK(text != NULL);
    if (!text)
        goto out;
    CHECK(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(text));
    EXPECT_OK(rt, text, HOLDER, "localhost://storage/notes/today.txt", EL_ACT_WRITE);
    EXPECT_OK(rt, text, HOLDER, "localhost://storage/notes/2024/05/a.txt", EL_ACT_WRITE);
    EXPECT_OK(rt, text, HOLDER, "localhost://storage/notes/today.txt", EL_ACT_WRITE); /* cached path */

    /* The output token matches what was issued. */
    el_token got;
    const char *code;
    el_error err;
    CHECK(el_token_check(rt, text, HOLDER, "localhost://storage/notes/x", EL_ACT_WRITE, &got, &code, &err) == EL_OK);
    CHECK(memcmp(&got.id, tok.id, 16) == 0 && got.action == EL_ACT_WRITE && got.version == 1);
    CHECK(got.expiry == got.issued_at + 3600 && got.max_uses == 0 && !got.delegatable);
    CHECK_STREQ(got.resource, "localhost://storage/notes/*");
    uint64_t now = (uint64_t)time(NULL);
    CHECK(tok.issued_at <= now && tok.issued_at + 5 >= now);
    uint64_t epoch = 0;
    CHECK(el_token_epoch_get(rt, &epoch, &err) == EL_OK && epoch == 1 && tok.epoch == 1);

    /* The binary form is exactly token.h's layout, signed by the runtime key. */
    raw r;
    CHECK(dec(text, &r));
    size_t rl = strlen("localhost://storage/notes/*");
    CHECK(r.n == 101 + rl + 64);
    CHECK(memcmp(r.b, "ELTK", 4) == 0 && r.b[4] == 1);
    uint8_t holder[16], pk[32];
    el_sign_hex_decode(HOLDER, 32, holder);
    CHECK(memcmp(r.b + 5, tok.id, 16) == 0);
    CHECK(memcmp(r.b + 21, holder, 16) == 0);
    CHECK(el_token_runtime_pubkey(rt, pk, &err) == EL_OK);
    CHECK(memcmp(r.b + 37, pk, 32) == 0 && memcmp(tok.issuer, pk, 32) == 0);
    CHECK(r.b[69] == EL_ACT_WRITE && r.b[70] == 0);
    raw mine;
    size_t bl = body(&tok, rl, mine.b);
    CHECK(bl == 101 + rl && memcmp(mine.b, r.b, bl) == 0);
    uint8_t d[32];
    el_sign_sha256(r.b, bl, d);
    CHECK(el_sign_verify_digest(pk, DOMAIN, d, r.b + bl));
    CHECK(!el_sign_verify_digest(pk, "elastos/artifact/v1", d, r.b + bl)); /* domain-separated */

    /* runtime.key is private, runtime.pub is its public half. */
    char p[PATH_MAX];
    struct stat sb;
    home_path(home, "runtime.key", p);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    el_keypair kp;
    CHECK(load_runtime_key(home, &kp) && memcmp(kp.pk, pk, 32) == 0);
    el_sign_keypair_wipe(&kp);
    home_path(home, "runtime.pub", p);
    uint8_t pk2[32];
    CHECK(el_sign_pubkey_parse(p, pk2, &err) == EL_OK && memcmp(pk2, pk, 32) == 0);

    /* A second runtime on the same home uses the same key and accepts the token. */
    el_runtime *rt2 = open_rt(home);
    EXPECT_OK(rt2, text, HOLDER, "localhost://storage/notes/today.txt", EL_ACT_WRITE);
    el_runtime_close(rt2);

    /* delegatable and max_uses are carried. */
    char *t2 = NULL;
    el_token_request req = {.holder_hex = HOLDER, .capsule_name = "notes", .publisher = "",
                            .resource = "localhost://storage/a", .action = EL_ACT_READ, .max_uses = 7, .delegatable = true};
    CHECK(el_token_issue(rt, &req, &t2, &tok, &err) == EL_OK);
    CHECK(el_token_decode(t2, &got, &err) == EL_OK && got.delegatable && got.max_uses == 7 && got.expiry == 0);
    free(t2);
out:
    free(text);
    el_runtime_close(rt);
    drop_home(home);
}

static void test_issue_validation(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    char *text = (char *)"sentinel";
    const char *bad_holders[] = {NULL, "", "0011", "00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddeefg",
                                 "00112233445566778899aabbccddeeff0", "00112233445566778899aabbccddee f"};
    for (size_t i = 0; i < sizeof bad_holders / sizeof *bad_holders; i++) {
        CHECK(issue(rt, bad_holders[i], "localhost://storage/*", EL_ACT_READ, 0, 0, &text, NULL) == EL_ERR_USAGE);
        CHECK(text == NULL);
    }
    unsigned bad_actions[] = {0, EL_ACT_READ | EL_ACT_WRITE, 1u << 6, 1u << 31, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad_actions / sizeof *bad_actions; i++)
        CHECK(issue(rt, HOLDER, "localhost://storage/*", bad_actions[i], 0, 0, &text, NULL) == EL_ERR_USAGE);
    char long_res[EL_RESOURCE_MAX + 2];
    memset(long_res, 'a', sizeof long_res - 1);
    long_res[sizeof long_res - 1] = 0;
    memcpy(long_res, "localhost://x/", 14);
    const char *bad_resources[] = {NULL, "", long_res, "localhost://storage/ab*", "localhost://storage/*/x",
                                   "localhost://storage/../x", "localhost://storage//x", "localhost://storage/%2e%2e",
                                   "localhost://storage/a\\b", "localhost://storage/a\nb", "localhost://*",
                                   "storage/a", "localhost://", "*", "localhost://storage/./a"};
    for (size_t i = 0; i < sizeof bad_resources / sizeof *bad_resources; i++) {
        if (issue(rt, HOLDER, bad_resources[i], EL_ACT_READ, 0, 0, &text, NULL) != EL_ERR_USAGE) {
            fprintf(stderr, "resource %zu accepted for issue\n", i);
            CHECK(0);
            free(text);
        }
    }
    /* exactly EL_RESOURCE_MAX bytes is fine */
    long_res[EL_RESOURCE_MAX] = 0;
    CHECK(issue(rt, HOLDER, long_res, EL_ACT_READ, 0, 0, &text, NULL) == EL_OK);
    if (text)
        EXPECT_OK(rt, text, HOLDER, long_res, EL_ACT_READ);
    free(text);
    CHECK(issue(rt, HOLDER, "localhost://storage/*", EL_ACT_READ, UINT64_MAX, 0, &text, NULL) == EL_ERR_USAGE);
    CHECK(issue(rt, HOLDER, "localhost://storage/*", EL_ACT_READ, UINT64_MAX / 2, 0, &text, NULL) == EL_ERR_USAGE);
    /* nothing was recorded for the refused requests */
    el_token_info *list = NULL;
    size_t n = 99;
    el_error err;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 1);
    free(list);
    el_runtime_close(rt);
    drop_home(home);
}

/* Each token below has two defects; the reported one must be the earlier check. */
static void test_check_order(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    el_error err;
    uint8_t pk[32];
    CHECK(el_token_runtime_pubkey(rt, pk, &err) == EL_OK);
    el_keypair kp, stranger;
    if (!load_runtime_key(home, &kp)) {
        CHECK(0);
        goto out;
    }
    el_sign_keypair_generate(&stranger, &err);
    const char *R = "localhost://storage/notes/a.txt";
    uint64_t now = (uint64_t)time(NULL);

    /* The crafted baseline is accepted: the test's layout is the library's. */
    el_token t = base_fields(&kp, 1);
    char *s = craft(&t, &kp);
    EXPECT_OK(rt, s, HOLDER, R, EL_ACT_READ);
    free(s);

    /* decode: bad base64, bad magic, length errors */
    const char *garbage[] = {"", "!!!!", "AAAA", "ELTK", "RUxUSw", "RUxUSwE", "a b", "====", "AA==", "A"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++)
        EXPECT_FAIL(rt, garbage[i], HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
    EXPECT_FAIL(rt, NULL, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
    raw r;
    size_t bl = body(&t, strlen(t.resource), r.b);
    memcpy(r.b, "ELTX", 4);
    sign_raw(&r, bl, &kp);
    s = enc(r.b, r.n);
    EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
    free(s);
    /* resource length 0, too short / too long for the data, trailing byte, truncated */
    for (int variant = 0; variant < 6; variant++) {
        size_t rl = strlen(t.resource);
        bl = body(&t, rl, r.b);
        if (variant == 0)
            be(r.b + 99, 0, 2);
        else if (variant == 1)
            be(r.b + 99, rl - 1, 2);
        else if (variant == 2)
            be(r.b + 99, rl + 1, 2);
        else if (variant == 5)
            be(r.b + 99, EL_RESOURCE_MAX + 1, 2);
        sign_raw(&r, bl, &kp);
        if (variant == 3)
            r.b[r.n++] = 0;
        if (variant == 4)
            r.n--;
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(s);
    }
    /* field values outside the format: action not one bit, delegatable not 0/1, NUL in resource */
    {
        unsigned acts[] = {0, 3, 0x40, 0x80, 0xff};
        for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
            el_token u = t;
            u.action = acts[i];
            s = craft(&u, &kp);
            EXPECT_FAIL(rt, s, HOLDER, R, acts[i], "invalid_token", "(decode check)");
            free(s);
        }
        bl = body(&t, strlen(t.resource), r.b);
        r.b[70] = 2;
        sign_raw(&r, bl, &kp);
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(s);
        bl = body(&t, strlen(t.resource), r.b);
        r.b[101 + 5] = 0;
        sign_raw(&r, bl, &kp);
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(s);
    }

    /* version (before signature: this one is also signed by a stranger) */
    for (int v = 0; v < 256; v += 51) {
        if (v == 1)
            continue;
        el_token u = t;
        u.version = (uint8_t)v;
        s = craft(&u, &stranger);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(version check)");
        free(s);
    }
    {
        el_token u = t;
        u.version = 2;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(version check)");
        free(s);
    }

    /* signature: flipped signature byte + wrong holder */
    {
        el_token u = t;
        el_sign_hex_decode(OTHER_HOLDER, 32, u.holder);
        bl = body(&u, strlen(u.resource), r.b);
        sign_raw(&r, bl, &kp);
        r.b[bl + 10] ^= 0x20;
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(signature check)");
        free(s);
        /* signed by a stranger but claiming the runtime as issuer */
        s = craft(&u, &stranger);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(signature check)");
        free(s);
        /* signed over a different domain */
        bl = body(&t, strlen(t.resource), r.b);
        uint8_t d[32];
        el_sign_sha256(r.b, bl, d);
        el_sign_digest(&kp, "elastos/artifact/v1", d, r.b + bl);
        r.n = bl + 64;
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(signature check)");
        free(s);
        /* issuer: a stranger's well-signed token (also wrong holder) */
        memcpy(u.issuer, stranger.pk, 32);
        s = craft(&u, &stranger);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(issuer check)");
        EXPECT_FAIL(rt, s, OTHER_HOLDER, R, EL_ACT_READ, "invalid_token", "(issuer check)");
        free(s);
        /* a stranger as issuer and a broken signature: the signature check comes first */
        bl = body(&u, strlen(u.resource), r.b);
        sign_raw(&r, bl, &stranger);
        r.b[bl + 3] ^= 0x01;
        s = enc(r.b, r.n);
        EXPECT_FAIL(rt, s, OTHER_HOLDER, R, EL_ACT_READ, "invalid_token", "(signature check)");
        free(s);
    }

    /* holder (+ wrong action), action (+ wrong resource), resource (+ old epoch) */
    {
        el_token u = t;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, OTHER_HOLDER, R, EL_ACT_WRITE, "denied", "another capsule (holder check)");
        EXPECT_FAIL(rt, s, "00112233445566778899AABBCCDDEEFF", R, EL_ACT_READ, "denied", "(holder check)");
        EXPECT_FAIL(rt, s, NULL, R, EL_ACT_READ, "denied", "(holder check)");
        EXPECT_FAIL(rt, s, "", R, EL_ACT_READ, "denied", "(holder check)");
        EXPECT_FAIL(rt, s, HOLDER, "localhost://storage/secret/a", EL_ACT_WRITE, "denied", "(action check)");
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ | EL_ACT_WRITE, "denied", "(action check)");
        EXPECT_FAIL(rt, s, HOLDER, R, 0, "denied", "(action check)");
        EXPECT_FAIL(rt, s, HOLDER, "localhost://storage/secret/a", EL_ACT_READ, "denied", "(resource check)");
        EXPECT_FAIL(rt, s, HOLDER, NULL, EL_ACT_READ, "denied", "(resource check)");
        EXPECT_OK(rt, s, HOLDER, R, EL_ACT_READ);
        free(s);
        u.epoch = 0;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, "localhost://storage/secret/a", EL_ACT_READ, "denied", "(resource check)");
        /* epoch (+ revoked id + issued in the future) */
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "revoked", "epoch bump");
        free(s);
        char idhex[33];
        el_sign_hex_encode(u.id, 16, idhex);
        CHECK(el_token_revoke(rt, idhex, &err) == EL_OK);
        u.issued_at = now + 1000;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
        free(s);
        /* revocation (+ future) */
        u.epoch = 1;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
        free(s);
        /* issued in the future (+ expired) */
        randombytes_buf(u.id, 16);
        u.expiry = now - 5;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "issued in the future");
        free(s);
        u.issued_at = now + 3; /* a few seconds ahead is still refused */
        u.expiry = 0;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(issued_at check)");
        free(s);
        /* expired (+ use count of an unknown limited token) */
        u.issued_at = now - 100;
        u.expiry = now - 10;
        u.max_uses = 5;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "expired", "(expiry check)");
        free(s);
        /* a limited-use token that this runtime never issued */
        u.expiry = 0;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(use count check)");
        free(s);
        /* an epoch from the future (state rolled back) */
        u.max_uses = 0;
        u.epoch = 2;
        s = craft(&u, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "invalid_token", "(epoch check)");
        free(s);
    }

    /* non-canonical base64url spellings of a valid token */
    {
        el_token u = t;
        randombytes_buf(u.id, 16); /* t's id was revoked above */
        snprintf(u.resource, sizeof u.resource, "%s", R); /* 196 bytes: the text has stray bits */
        s = craft(&u, &kp);
        EXPECT_OK(rt, s, HOLDER, R, EL_ACT_READ);
        size_t L = strlen(s);
        CHECK(L % 4 != 0); /* this token's length leaves stray bits in the last character */
        static const char AL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        char *alt = strdup(s);
        int v = (int)(strchr(AL, s[L - 1]) - AL);
        alt[L - 1] = AL[v | 1];
        CHECK(alt[L - 1] != s[L - 1]);
        EXPECT_FAIL(rt, alt, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(alt);
        size_t cap = L + 8;
        alt = malloc(cap);
        const char *suffix[] = {"=", "==", "\n", " ", "A"};
        for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
            snprintf(alt, cap, "%s%s", s, suffix[i]);
            EXPECT_FAIL(rt, alt, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        }
        snprintf(alt, cap, " %s", s);
        EXPECT_FAIL(rt, alt, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        /* standard (non-url) alphabet */
        snprintf(alt, cap, "%s", s);
        bool changed = false;
        for (size_t i = 0; i < L; i++) {
            if (alt[i] == '-')
                alt[i] = '+', changed = true;
            if (alt[i] == '_')
                alt[i] = '/', changed = true;
        }
        if (changed)
            EXPECT_FAIL(rt, alt, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(alt);
        /* huge input */
        char *huge = malloc(1 << 20);
        memset(huge, 'A', (1 << 20) - 1);
        huge[(1 << 20) - 1] = 0;
        EXPECT_FAIL(rt, huge, HOLDER, R, EL_ACT_READ, "invalid_token", "(decode check)");
        free(huge);
        free(s);
    }
    el_sign_keypair_wipe(&kp);
    el_sign_keypair_wipe(&stranger);
out:
    el_runtime_close(rt);
    drop_home(home);
}

/* Every byte of the binary form and every character of the text, changed: never accepted. */
static void flip_all(el_runtime *rt, const char *text, const char *res, int *accepted, int *tried)
{
    raw r0;
    if (!dec(text, &r0)) {
        (*accepted)++;
        return;
    }
    const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    for (size_t i = 0; i < r0.n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            raw r = r0;
            r.b[i] ^= masks[m];
            char *s = enc(r.b, r.n);
            (*tried)++;
            if (check_ok(rt, s, HOLDER, res, EL_ACT_READ)) {
                (*accepted)++;
                fprintf(stderr, "accepted with byte %zu ^ %#x\n", i, masks[m]);
            }
            free(s);
        }
    }
    size_t L = strlen(text);
    char *s = strdup(text);
    const char repl[] = "AQgw_-09zZ=+/. \t";
    for (size_t i = 0; i < L; i++) {
        for (size_t k = 0; k < sizeof repl - 1; k++) {
            if (repl[k] == text[i])
                continue;
            s[i] = repl[k];
            (*tried)++;
            if (check_ok(rt, s, HOLDER, res, EL_ACT_READ)) {
                (*accepted)++;
                fprintf(stderr, "accepted with char %zu = '%c'\n", i, repl[k]);
            }
        }
        s[i] = text[i];
    }
    /* every truncation */
    for (size_t len = 0; len < L; len++) {
        s[len] = 0;
        (*tried)++;
        if (check_ok(rt, s, HOLDER, res, EL_ACT_READ)) {
            (*accepted)++;
            fprintf(stderr, "accepted truncated to %zu\n", len);
        }
        s[len] = text[len];
    }
    free(s);
}

static void test_flips(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    char *text = NULL;
    const char *R = "localhost://storage/notes/a";
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &text, NULL) == EL_OK);
    if (!text)
        goto out;
    int accepted = 0, tried = 0;
    /* cold cache: a fresh runtime that never saw the genuine token */
    el_runtime *cold = open_rt(home);
    flip_all(cold, text, R, &accepted, &tried);
    el_runtime_close(cold);
    /* warm cache: the genuine token was verified (and cached) just before */
    EXPECT_OK(rt, text, HOLDER, R, EL_ACT_READ);
    flip_all(rt, text, R, &accepted, &tried);
    CHECK(tried > 3000);
    CHECK(accepted == 0);
    EXPECT_OK(rt, text, HOLDER, R, EL_ACT_READ); /* and the genuine one still passes */
    printf("flips: %d variants tried, %d accepted\n", tried, accepted);
    free(text);
out:
    el_runtime_close(rt);
    drop_home(home);
}

static void test_resource_escapes(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    char *all = NULL, *notes = NULL, *exact = NULL;
    CHECK(issue(rt, HOLDER, "localhost://storage/*", EL_ACT_READ, 0, 0, &all, NULL) == EL_OK);
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &notes, NULL) == EL_OK);
    CHECK(issue(rt, HOLDER, "localhost://storage/a", EL_ACT_READ, 0, 0, &exact, NULL) == EL_OK);
    if (!all || !notes || !exact)
        goto out;
    const char *escapes[] = {
        "localhost://storage/../x", "localhost://storage/a/../../x", "localhost://storage//x",
        "localhost://storage/%2e%2e/x", "localhost://storage/%2E%2E/x", "localhost://storage/..%2fx",
        "localhost://storage/a%2f..%2f..%2fx", "localhost://storage/%252e%252e/x", "localhost://storage/./x",
        "localhost://storage/x/.", "localhost://storage/x/..", "localhost://storage/..", "localhost://storage/.",
        "localhost://storage\\..\\x", "localhost://storage/a\\..\\..\\x", "localhost://storage/a\n",
        "localhost://storage/\x01x", "localhost://storage/a\x7f", "localhost://storage/a\r\n..",
        "localhost://storageX/y", "localhost://storage", "localhost://storage/", "localhost://storage/*",
        "localhost://storage/a*", "LOCALHOST://storage/a", "localhost:/storage/a", "localhost:storage/a",
        "localhost://storage/a//", "localhost://storage/a///b", "elastos://storage/a", "localhost://other/a",
        "", "localhost://storage/../storage/a", "localhost://storage/a/./b", "localhost://storage/x/%00",
        "localhost://storage/\t", "localhost://storage/a\\", "localhost://storage/.../../x"};
    for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
        if (!expect_at(__LINE__, rt, all, HOLDER, escapes[i], EL_ACT_READ, EL_ERR_TRUST, "denied", "(resource check)"))
            fprintf(stderr, "  escape %zu not denied\n", i);
    }
    const char *outside_notes[] = {"localhost://storage/notes", "localhost://storage/notes/", "localhost://storage/notesX/a",
                                   "localhost://storage/notes/../secret", "localhost://storage/notes/%2e%2e/secret",
                                   "localhost://storage/notes//a", "localhost://storage/secret/notes/a",
                                   "localhost://storage/note/a", "localhost://storage/notes.txt"};
    for (size_t i = 0; i < sizeof outside_notes / sizeof *outside_notes; i++)
        EXPECT_FAIL(rt, notes, HOLDER, outside_notes[i], EL_ACT_READ, "denied", "(resource check)");
    EXPECT_OK(rt, notes, HOLDER, "localhost://storage/notes/x", EL_ACT_READ);
    EXPECT_OK(rt, notes, HOLDER, "localhost://storage/notes/x/y/z.txt", EL_ACT_READ);
    EXPECT_OK(rt, notes, HOLDER, "localhost://storage/notes/...x", EL_ACT_READ); /* a name, not a dot segment */
    EXPECT_OK(rt, all, HOLDER, "localhost://storage/a/b", EL_ACT_READ);
    EXPECT_OK(rt, all, HOLDER, "localhost://storage/a/", EL_ACT_READ);
    EXPECT_FAIL(rt, exact, HOLDER, "localhost://storage/ab", EL_ACT_READ, "denied", "(resource check)");
    EXPECT_FAIL(rt, exact, HOLDER, "localhost://storage/a/b", EL_ACT_READ, "denied", "(resource check)");
    EXPECT_FAIL(rt, exact, HOLDER, "localhost://storage/a/../a", EL_ACT_READ, "denied", "(resource check)");
    EXPECT_OK(rt, exact, HOLDER, "localhost://storage/a", EL_ACT_READ);
out:
    free(all);
    free(notes);
    free(exact);
    el_runtime_close(rt);
    drop_home(home);
}

static void test_expiry(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *text = NULL;
    el_token tok;
    el_error err;
    uint8_t pk[32];
    CHECK(el_token_runtime_pubkey(rt, pk, &err) == EL_OK);
    el_keypair kp;
    if (!load_runtime_key(home, &kp)) {
        CHECK(0);
        goto out;
    }
    uint64_t now = (uint64_t)time(NULL);
    el_token t = base_fields(&kp, 1);
    t.issued_at = now - 100;
    t.expiry = now - 10;
    char *s = craft(&t, &kp);
    EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "expired", "(expiry check)");
    free(s);
    t.expiry = now; /* now >= expiry: expired */
    s = craft(&t, &kp);
    EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "expired", "(expiry check)");
    free(s);
    t.expiry = now + 100;
    s = craft(&t, &kp);
    EXPECT_OK(rt, s, HOLDER, R, EL_ACT_READ);
    free(s);
    t.issued_at = now; /* issued this second: fine */
    s = craft(&t, &kp);
    EXPECT_OK(rt, s, HOLDER, R, EL_ACT_READ);
    free(s);
    el_sign_keypair_wipe(&kp);

    /* real time: expiry 1 s, then wait */
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 1, 0, &text, &tok) == EL_OK);
    CHECK(tok.expiry == tok.issued_at + 1);
    usleep(1100 * 1000);
    if (text) {
        EXPECT_FAIL(rt, text, HOLDER, R, EL_ACT_READ, "expired", "(expiry check)");
        /* and a fresh runtime agrees (no state involved) */
        el_runtime *rt2 = open_rt(home);
        EXPECT_FAIL(rt2, text, HOLDER, R, EL_ACT_READ, "expired", "(expiry check)");
        el_runtime_close(rt2);
    }
    free(text);
out:
    el_runtime_close(rt);
    drop_home(home);
}

static void test_revoke_and_restart(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL, *b = NULL;
    el_token ta, tb;
    el_error err;
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &a, &ta) == EL_OK);
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &b, &tb) == EL_OK);
    if (!a || !b)
        goto out;
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    char ida[33], idb[33];
    el_sign_hex_encode(ta.id, 16, ida);
    el_sign_hex_encode(tb.id, 16, idb);
    CHECK(el_token_revoke(rt, ida, &err) == EL_OK);
    CHECK(el_token_revoke(rt, ida, &err) == EL_OK); /* twice is fine */
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    /* bad ids are refused; unknown ids are accepted */
    CHECK(el_token_revoke(rt, "xyz", &err) == EL_ERR_USAGE);
    CHECK(el_token_revoke(rt, NULL, &err) == EL_ERR_USAGE);
    CHECK(el_token_revoke(rt, "00112233445566778899AABBCCDDEEFF", &err) == EL_ERR_USAGE);
    CHECK(el_token_revoke(rt, "0123456789abcdef0123456789abcdef", &err) == EL_OK);
    CHECK(el_token_revoke(rt, "00000000000000000000000000000000", &err) == EL_OK);
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);

    /* restart */
    el_runtime_close(rt);
    rt = open_rt(home);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    el_token_info *list = NULL;
    size_t n = 0;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 2);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, ida) == 0)
            CHECK(list[i].revoked);
        else
            CHECK(strcmp(list[i].id, idb) == 0 && !list[i].revoked);
    }
    free(list);

    /* a token whose id is all zeros (crafted) is revoked by the revocation above */
    el_keypair kp;
    if (load_runtime_key(home, &kp)) {
        el_token t = base_fields(&kp, 1);
        memset(t.id, 0, 16);
        char *s = craft(&t, &kp);
        EXPECT_FAIL(rt, s, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
        free(s);
        el_sign_keypair_wipe(&kp);
    }
out:
    free(a);
    free(b);
    el_runtime_close(rt);
    drop_home(home);
}

static void test_revoke_elsewhere(void)
{
    char *home = new_home();
    el_runtime *rt1 = open_rt(home), *rt2 = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    el_token ta, tc;
    el_error err;
    CHECK(issue(rt1, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &a, &ta) == EL_OK);
    CHECK(issue(rt1, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &b, NULL) == EL_OK);
    CHECK(issue(rt1, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &c, &tc) == EL_OK);
    if (!a || !b || !c)
        goto out;
    EXPECT_OK(rt1, a, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt1, b, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt1, c, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt2, a, HOLDER, R, EL_ACT_READ);

    /* another el_runtime (another connection) revokes a: rt1 sees it on its next check */
    char id[33];
    el_sign_hex_encode(ta.id, 16, id);
    CHECK(el_token_revoke(rt2, id, &err) == EL_OK);
    EXPECT_FAIL(rt1, a, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
    EXPECT_OK(rt1, b, HOLDER, R, EL_ACT_READ);

    /* another process revokes c */
    el_sign_hex_encode(tc.id, 16, id);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        el_runtime *rc = open_rt(home);
        el_status st = el_token_revoke(rc, id, NULL);
        el_runtime_close(rc);
        _exit(st == EL_OK ? 0 : 1);
    }
    int ws = 0;
    CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    EXPECT_FAIL(rt1, c, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
    EXPECT_FAIL(rt2, c, HOLDER, R, EL_ACT_READ, "revoked", "(revocation check)");
    EXPECT_OK(rt1, b, HOLDER, R, EL_ACT_READ);

    /* another el_runtime bumps the epoch: rt1 sees it on its next check */
    uint64_t e = 0;
    CHECK(el_token_epoch_bump(rt2, &e, &err) == EL_OK && e == 2);
    EXPECT_FAIL(rt1, b, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
    CHECK(el_token_epoch_get(rt1, &e, &err) == EL_OK && e == 2);
    /* rt1 issues at the new epoch; rt2 accepts */
    CHECK(issue(rt1, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &d, NULL) == EL_OK);
    if (d) {
        EXPECT_OK(rt2, d, HOLDER, R, EL_ACT_READ);
        EXPECT_OK(rt1, d, HOLDER, R, EL_ACT_READ);
    }
    /* another process bumps the epoch */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        el_runtime *rc = open_rt(home);
        el_status st = el_token_epoch_bump(rc, NULL, NULL);
        el_runtime_close(rc);
        _exit(st == EL_OK ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    if (d) {
        EXPECT_FAIL(rt1, d, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
        EXPECT_FAIL(rt2, d, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
    }
    CHECK(el_token_epoch_get(rt2, &e, &err) == EL_OK && e == 3);

    /* many rounds: rt2 issues and revokes, rt1 (which holds its state in memory) must see
     * each revocation on its very next check, and accept the tokens not revoked */
    {
        int missed = 0, refused = 0;
        char *prev = NULL;
        for (int i = 0; i < 60; i++) {
            char *t = NULL;
            el_token tt;
            if (issue(rt2, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &t, &tt) != EL_OK) {
                refused++;
                break;
            }
            if (!check_ok(rt1, t, HOLDER, R, EL_ACT_READ))
                refused++;
            if (prev && !check_ok(rt1, prev, HOLDER, R, EL_ACT_READ))
                refused++;
            el_sign_hex_encode(tt.id, 16, id);
            if (el_token_revoke(rt2, id, &err) != EL_OK)
                refused++;
            if (check_ok(rt1, t, HOLDER, R, EL_ACT_READ))
                missed++;
            if (i % 3 == 0 && prev) {
                if (el_token_epoch_bump(rt2, NULL, &err) != EL_OK)
                    refused++;
                if (check_ok(rt1, prev, HOLDER, R, EL_ACT_READ)) /* issued before the bump */
                    missed++;
            }
            free(prev);
            prev = NULL;
            if (issue(rt2, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &prev, NULL) != EL_OK)
                refused++;
            free(t);
        }
        free(prev);
        CHECK(missed == 0);
        CHECK(refused == 0);
    }
out:
    free(a);
    free(b);
    free(c);
    free(d);
    el_runtime_close(rt1);
    el_runtime_close(rt2);
    drop_home(home);
}

static void test_epoch(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL, *b = NULL;
    el_token ta, tb;
    el_error err;
    uint64_t e = 0;
    CHECK(el_token_epoch_get(rt, &e, &err) == EL_OK && e == 1);
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &a, &ta) == EL_OK);
    if (!a)
        goto out;
    CHECK(ta.epoch == 1);
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    CHECK(el_token_epoch_bump(rt, &e, &err) == EL_OK && e == 2);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "revoked", "by an epoch bump");
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &b, &tb) == EL_OK);
    if (!b)
        goto out;
    CHECK(tb.epoch == 2);
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);

    el_runtime_close(rt);
    rt = open_rt(home);
    CHECK(el_token_epoch_get(rt, &e, &err) == EL_OK && e == 2);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    el_token_info *list = NULL;
    size_t n = 0;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 2);
    if (n == 2) {
        CHECK(list[0].epoch == 2 && !list[0].revoked);
        CHECK(list[1].epoch == 1 && list[1].revoked);
    }
    free(list);
    CHECK(el_token_epoch_bump(rt, NULL, &err) == EL_OK);
    EXPECT_FAIL(rt, b, HOLDER, R, EL_ACT_READ, "revoked", "(epoch check)");
    CHECK(el_token_epoch_get(rt, &e, &err) == EL_OK && e == 3);
out:
    free(a);
    free(b);
    el_runtime_close(rt);
    drop_home(home);
}

static void test_max_uses(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL, *b = NULL;
    el_token ta;
    el_error err;
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 3, &a, &ta) == EL_OK);
    if (!a)
        goto out;
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "limit", "(use count check)");
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "limit", "(use count check)");
    el_runtime_close(rt);
    rt = open_rt(home);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "limit", "(use count check)");
    el_token_info *list = NULL;
    size_t n = 0;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 1);
    if (n == 1)
        CHECK(list[0].max_uses == 3 && list[0].uses == 3);
    free(list);

    /* failed checks don't consume uses */
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 2, &b, NULL) == EL_OK);
    if (!b)
        goto out;
    for (int i = 0; i < 5; i++) {
        EXPECT_FAIL(rt, b, OTHER_HOLDER, R, EL_ACT_READ, "denied", "(holder check)");
        EXPECT_FAIL(rt, b, HOLDER, R, EL_ACT_WRITE, "denied", "(action check)");
        EXPECT_FAIL(rt, b, HOLDER, "localhost://storage/x", EL_ACT_READ, "denied", "(resource check)");
    }
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    EXPECT_OK(rt, b, HOLDER, R, EL_ACT_READ);
    EXPECT_FAIL(rt, b, HOLDER, R, EL_ACT_READ, "limit", "(use count check)");
    /* the EL_ERR_LIMIT status itself */
    const char *code = NULL;
    CHECK(el_token_check(rt, b, HOLDER, R, EL_ACT_READ, NULL, &code, &err) == EL_ERR_LIMIT);
    CHECK(code && strcmp(code, "limit") == 0 && err.code == EL_ERR_LIMIT);
out:
    free(a);
    free(b);
    el_runtime_close(rt);
    drop_home(home);
}

/* 4 processes x 50 attempts on a 100-use token: exactly 100 succeed. */
static void test_max_uses_concurrent(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL;
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 100, &a, NULL) == EL_OK);
    el_runtime_close(rt);
    if (!a) {
        drop_home(home);
        return;
    }
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pids[4];
    fflush(NULL);
    for (int p = 0; p < 4; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            close(go[1]);
            el_runtime *rc = open_rt(home);
            char c;
            (void)!read(go[0], &c, 1); /* wait for the start: all four race */
            int ok = 0, bad = 0;
            for (int i = 0; i < 50; i++) {
                const char *code = NULL;
                el_status st = el_token_check(rc, a, HOLDER, R, EL_ACT_READ, NULL, &code, NULL);
                if (st == EL_OK)
                    ok++;
                else if (st != EL_ERR_LIMIT || !code || strcmp(code, "limit") != 0)
                    bad++;
            }
            el_runtime_close(rc);
            _exit(bad ? 255 : ok);
        }
    }
    close(go[0]);
    usleep(100 * 1000);
    close(go[1]); /* start */
    int total = 0, failed = 0;
    for (int p = 0; p < 4; p++) {
        int ws = 0;
        if (pids[p] <= 0 || waitpid(pids[p], &ws, 0) != pids[p] || !WIFEXITED(ws) || WEXITSTATUS(ws) == 255)
            failed++;
        else
            total += WEXITSTATUS(ws);
    }
    CHECK(failed == 0);
    CHECK(total == 100);
    printf("concurrent uses: %d successes of 200 attempts\n", total);
    rt = open_rt(home);
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_READ, "limit", "(use count check)");
    el_token_info *list = NULL;
    size_t n = 0;
    el_error err;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 1 && list[0].uses == 100);
    free(list);
    el_runtime_close(rt);
    free(a);
    drop_home(home);
}

/* 4 processes create the runtime key at the same time: one key wins, all use it. */
static void test_key_race(void)
{
    for (int round = 0; round < 3; round++) {
        char *home = new_home();
        int go[2], out[2];
        CHECK(pipe(go) == 0 && pipe(out) == 0);
        pid_t pids[4];
        fflush(NULL);
        for (int p = 0; p < 4; p++) {
            pids[p] = fork();
            if (pids[p] == 0) {
                close(go[1]);
                close(out[0]);
                el_runtime *rc = open_rt(home);
                char c;
                (void)!read(go[0], &c, 1);
                uint8_t pk[32];
                el_error err;
                el_status st = el_token_runtime_pubkey(rc, pk, &err);
                if (st != EL_OK) {
                    fprintf(stderr, "child: %s\n", err.msg);
                    memset(pk, 0, 32);
                }
                (void)!write(out[1], pk, 32);
                el_runtime_close(rc);
                _exit(st == EL_OK ? 0 : 1);
            }
        }
        close(go[0]);
        close(out[1]);
        usleep(50 * 1000);
        close(go[1]);
        uint8_t pks[4][32];
        size_t got = 0;
        ssize_t r;
        while (got < sizeof pks && (r = read(out[0], (uint8_t *)pks + got, sizeof pks - got)) > 0)
            got += (size_t)r;
        close(out[0]);
        int failed = 0;
        for (int p = 0; p < 4; p++) {
            int ws = 0;
            if (pids[p] <= 0 || waitpid(pids[p], &ws, 0) != pids[p] || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
                failed++;
        }
        CHECK(failed == 0 && got == sizeof pks);
        el_keypair kp;
        CHECK(load_runtime_key(home, &kp));
        for (int p = 0; p < 4; p++)
            CHECK(memcmp(pks[p], kp.pk, 32) == 0);
        el_sign_keypair_wipe(&kp);
        drop_home(home);
    }
}

static void test_key_permissions(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    char *a = NULL;
    const char *R = "localhost://storage/notes/a";
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &a, NULL) == EL_OK);
    el_runtime_close(rt);
    char p[PATH_MAX];
    struct stat sb;
    home_path(home, "runtime.key", p);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    unsigned loose[] = {0644, 0640, 0604, 0660};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        CHECK(chmod(p, loose[i]) == 0);
        rt = open_rt(home);
        el_error err;
        uint8_t pk[32];
        CHECK(el_token_runtime_pubkey(rt, pk, &err) == EL_ERR_CONFIG);
        CHECK(strstr(err.msg, "runtime.key") != NULL);
        char *t = NULL;
        CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &t, NULL) == EL_ERR_CONFIG);
        CHECK(t == NULL);
        const char *code = NULL;
        if (a)
            CHECK(el_token_check(rt, a, HOLDER, R, EL_ACT_READ, NULL, &code, &err) == EL_ERR_CONFIG);
        el_runtime_close(rt);
    }
    /* the key was not replaced: fixing the mode makes the old token valid again */
    CHECK(chmod(p, 0600) == 0);
    rt = open_rt(home);
    if (a)
        EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
    el_runtime_close(rt);
    free(a);
    drop_home(home);
}

static void test_list_and_decode(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    el_error err;
    el_token_info *list = NULL;
    size_t n = 99;
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 0);
    free(list);
    const char *res[] = {"localhost://storage/a", "localhost://storage/b/*", "elastos://ai/chat"};
    unsigned acts[] = {EL_ACT_READ, EL_ACT_WRITE, EL_ACT_EXECUTE};
    char *texts[3] = {0};
    el_token toks[3];
    for (int i = 0; i < 3; i++)
        CHECK(issue(rt, i == 1 ? OTHER_HOLDER : HOLDER, res[i], acts[i], i == 2 ? 60 : 0, (uint32_t)i, &texts[i],
                    &toks[i]) == EL_OK);
    CHECK(el_token_list(rt, &list, &n, &err) == EL_OK && n == 3);
    for (size_t i = 0; i < n && n == 3; i++) {
        int k = 2 - (int)i; /* newest first */
        char id[33];
        el_sign_hex_encode(toks[k].id, 16, id);
        CHECK_STREQ(list[i].id, id);
        CHECK_STREQ(list[i].resource, res[k]);
        CHECK_STREQ(list[i].holder, k == 1 ? OTHER_HOLDER : HOLDER);
        CHECK_STREQ(list[i].capsule, "notes");
        CHECK(list[i].action == acts[k] && list[i].max_uses == (uint32_t)k && list[i].uses == 0);
        CHECK(list[i].epoch == 1 && list[i].issued_at == toks[k].issued_at && list[i].expiry == toks[k].expiry);
        CHECK(!list[i].revoked);
    }
    free(list);

    for (int i = 0; i < 3; i++) {
        el_token d;
        if (!texts[i])
            continue;
        CHECK(el_token_decode(texts[i], &d, &err) == EL_OK);
        CHECK(memcmp(d.id, toks[i].id, 16) == 0 && memcmp(d.holder, toks[i].holder, 16) == 0);
        CHECK(memcmp(d.issuer, toks[i].issuer, 32) == 0 && d.action == acts[i] && d.epoch == 1);
        CHECK(d.issued_at == toks[i].issued_at && d.expiry == toks[i].expiry && d.max_uses == (uint32_t)i);
        CHECK_STREQ(d.resource, res[i]);
        CHECK(el_token_decode(texts[i], NULL, &err) == EL_OK);
        free(texts[i]);
    }
    const char *bad[] = {"", "x", "RUxUSwE", "!!", "RUxUSw=="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        el_token d;
        CHECK(el_token_decode(bad[i], &d, &err) == EL_ERR_FORMAT && err.msg[0] && !strchr(err.msg, '\n'));
    }
    CHECK(el_token_decode(NULL, NULL, &err) == EL_ERR_FORMAT);
    el_runtime_close(rt);
    drop_home(home);
}

/* The verified-token cache is keyed by the whole token text: a forgery sharing the id (or the signature)
 * of a cached genuine token is still refused. */
static void test_sig_cache(void)
{
    char *home = new_home();
    el_runtime *rt = open_rt(home);
    const char *R = "localhost://storage/notes/a";
    char *a = NULL;
    el_token ta;
    CHECK(issue(rt, HOLDER, "localhost://storage/notes/*", EL_ACT_READ, 0, 0, &a, &ta) == EL_OK);
    if (!a)
        goto out;
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ); /* now cached */
    raw r;
    CHECK(dec(a, &r));
    size_t bl = r.n - 64;
    uint8_t sig[64];
    memcpy(sig, r.b + bl, 64);
    /* same id and signature, widened resource */
    el_token f = ta;
    snprintf(f.resource, sizeof f.resource, "localhost://storage/*");
    raw g;
    size_t gl = body(&f, strlen(f.resource), g.b);
    memcpy(g.b + gl, sig, 64);
    g.n = gl + 64;
    char *s = enc(g.b, g.n);
    EXPECT_FAIL(rt, s, HOLDER, "localhost://storage/secret", EL_ACT_READ, "invalid_token", "(signature check)");
    free(s);
    /* same id, other holder, signed by a stranger claiming to be the runtime */
    el_keypair stranger;
    el_error err;
    el_sign_keypair_generate(&stranger, &err);
    f = ta;
    el_sign_hex_decode(OTHER_HOLDER, 32, f.holder);
    s = craft(&f, &stranger);
    EXPECT_FAIL(rt, s, OTHER_HOLDER, R, EL_ACT_READ, "invalid_token", "(signature check)");
    free(s);
    el_sign_keypair_wipe(&stranger);
    /* many genuine tokens through the cache (more than its slots), then the first again */
    el_keypair kp;
    if (load_runtime_key(home, &kp)) {
        int bad = 0;
        for (int i = 0; i < 5000; i++) {
            el_token t = base_fields(&kp, 1);
            char *x = craft(&t, &kp);
            if (!check_ok(rt, x, HOLDER, R, EL_ACT_READ))
                bad++;
            x[12] = x[12] == 'A' ? 'B' : 'A'; /* a changed id: a copy of a just-cached token */
            if (check_ok(rt, x, HOLDER, R, EL_ACT_READ))
                bad++;
            free(x);
        }
        CHECK(bad == 0);
        /* A cache hit (the exact text checked before) still runs the holder, action, resource and
         * pattern checks: a runtime-signed token with a malformed pattern is refused every time. */
        el_token t = base_fields(&kp, 1);
        snprintf(t.resource, sizeof t.resource, "localhost://storage/../*");
        char *x = craft(&t, &kp);
        EXPECT_FAIL(rt, x, HOLDER, "localhost://storage/notes/a", EL_ACT_READ, "denied", "(resource check)");
        EXPECT_FAIL(rt, x, HOLDER, "localhost://storage/notes/a", EL_ACT_READ, "denied", "(resource check)");
        free(x);
        el_sign_keypair_wipe(&kp);
    }
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ); /* cached */
    EXPECT_FAIL(rt, a, OTHER_HOLDER, R, EL_ACT_READ, "denied", "(holder check)");
    EXPECT_FAIL(rt, a, "", R, EL_ACT_READ, "denied", "(holder check)");
    EXPECT_FAIL(rt, a, HOLDER, R, EL_ACT_WRITE, "denied", "(action check)");
    EXPECT_FAIL(rt, a, HOLDER, "localhost://storage/other", EL_ACT_READ, "denied", "(resource check)");
    EXPECT_FAIL(rt, a, HOLDER, "localhost://storage/notes/../x", EL_ACT_READ, "denied", "(resource check)");
    EXPECT_OK(rt, a, HOLDER, R, EL_ACT_READ);
out:
    free(a);
    el_runtime_close(rt);
    drop_home(home);
}

static void test_match_table(void)
{
    static const struct {
        const char *pattern, *resource;
        bool match;
    } T[] = {
        {"localhost://storage/*", "localhost://storage/a/b", true},
        {"localhost://storage/*", "localhost://storage/a", true},
        {"localhost://storage/*", "localhost://storage/a/", true},
        {"localhost://storage/notes/*", "localhost://storage/notes/x", true},
        {"localhost://storage/notes/*", "localhost://storage/notes/x/y.txt", true},
        {"localhost://storage/a", "localhost://storage/a", true},
        {"localhost://storage/a/", "localhost://storage/a/", true},
        {"elastos://ai/chat", "elastos://ai/chat", true},
        {"elastos://cid/*", "elastos://cid/bafkreicgiyntkge6tpvszo2gwjxvm6us3x7kzieknron23w3noq3yjovuy", true},
        {"localhost://storage/*", "localhost://storage/...", true},
        {"localhost://storage/*", "localhost://storage/a..b", true},
        {"localhost://storage/*", "localhost://storage/.hidden", true},
        {"localhost://storage/*", "localhost://storage/caf\xc3\xa9", true},
        {"localhost://storage/ab*", "localhost://storage/a", false},
        {"localhost://storage/ab*", "localhost://storage/abc", false},
        {"localhost://storage/a/*", "localhost://storage/a", false},
        {"localhost://storage/a/*", "localhost://storage/a/", false},
        {"localhost://storage/*", "localhost://storage/../x", false},
        {"localhost://storage/*", "localhost://storage/a/../../x", false},
        {"localhost://storage/*", "localhost://storage//x", false},
        {"localhost://storage/*", "localhost://storage/%2e%2e/x", false},
        {"localhost://storage/*", "localhost://storage/a%20b", false},
        {"localhost://storage/a", "localhost://storage/ab", false},
        {"localhost://storage/ab", "localhost://storage/a", false},
        {"localhost://storage/*", "localhost://storageX/y", false},
        {"localhost://storage/*", "localhost://storage", false},
        {"localhost://storage/*", "localhost://storage/", false},
        {"localhost://storage/*", "localhost://storage/*", false},
        {"localhost://storage/*", "localhost://storage/a*", false},
        {"localhost://storage/*", "localhost://storage/a\\b", false},
        {"localhost://storage/*", "localhost://storage/a\tb", false},
        {"localhost://storage/*", "localhost://storage/./a", false},
        {"localhost://storage/*", "localhost://storage/a/.", false},
        {"localhost://*", "localhost://storage/a", false},
        {"*", "localhost://storage/a", false},
        {"localhost://storage/*/a", "localhost://storage/x/a", false},
        {"localhost://storage/*/*", "localhost://storage/x/a", false},
        {"localhost://storage/../*", "localhost://x/a", false},
        {"localhost://storage/%2e/*", "localhost://storage/%2e/a", false},
        {"localhost://storage/a", "localhost://storage/a/", false},
        {"localhost://storage//*", "localhost://storage//a", false},
        {"localhost://storage/a\\", "localhost://storage/a\\", false},
        {"Localhost://storage/*", "Localhost://storage/a", false},
        {"localhost:/storage/*", "localhost:/storage/a", false},
        {"localhost://storage/*", "", false},
        {"", "", false},
        {"localhost://storage/*", "localhost://storage/a\x7f", false},
    };
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        bool got = el_token_resource_match(T[i].pattern, T[i].resource);
        el_test_checks++;
        if (got != T[i].match) {
            el_test_failures++;
            fprintf(stderr, "%s:%d: el_token_resource_match(\"%s\", \"%s\") = %d, want %d\n", __FILE__, __LINE__,
                    T[i].pattern, T[i].resource, got, T[i].match);
        }
    }
    CHECK(!el_token_resource_match(NULL, "localhost://storage/a"));
    CHECK(!el_token_resource_match("localhost://storage/*", NULL));
    /* length limits */
    char big[EL_RESOURCE_MAX + 8];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "localhost://storage/", 20);
    CHECK(!el_token_resource_match("localhost://storage/*", big));
    big[EL_RESOURCE_MAX] = 0;
    CHECK(el_token_resource_match("localhost://storage/*", big));
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_match_table();
    test_issue_and_check();
    test_issue_validation();
    test_check_order();
    test_flips();
    test_resource_escapes();
    test_revoke_and_restart();
    test_revoke_elsewhere();
    test_epoch();
    test_max_uses();
    test_max_uses_concurrent();
    test_key_race();
    test_key_permissions();
    test_list_and_decode();
    test_sig_cache();
    test_expiry();
    return TEST_DONE();
}
