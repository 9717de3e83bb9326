/*
 * test_sign.c - unit tests of lib/sign.c: Ed25519 key pairs and their file formats (sign.h),
 * public-key parsing, domain-separated detached signatures over digests, and the hex helpers.
 *
 * Key files are written into a fresh mkdtemp directory, removed at the end.
 */
#include "elastos/sign.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SK_HEADER "ELASTOS ED25519 SECRET KEY\n"

static char tmpdir[] = "/tmp/test_sign.XXXXXX";

static void tpath(char *out, const char *name) { snprintf(out, PATH_MAX, "%s/%s", tmpdir, name); }

/* Writes len bytes to path (replacing it) and sets its mode. */
static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

/* Reads a small file into buf (NUL-terminated); returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static bool is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* ---- key pairs and key files --------------------------------------------------------------- */

static void test_generate_save_load(void)
{
    el_error err = {0};
    el_keypair kp, kp2, loaded;
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    CHECK(el_sign_keypair_generate(&kp2, &err) == EL_OK);
    CHECK(memcmp(kp.pk, kp2.pk, EL_PK_BYTES) != 0); /* fresh randomness */
    /* libsodium's sk is seed||pk. */
    CHECK(memcmp(kp.sk + 32, kp.pk, 32) == 0);

    char sk[PATH_MAX], pk[PATH_MAX];
    tpath(sk, "key");
    tpath(pk, "key.pub");
    mode_t old = umask(0); /* even with a permissive umask the secret key must be 0600 */
    el_status st = el_sign_keypair_save(&kp, sk, pk, &err);
    umask(old);
    CHECK(st == EL_OK);

    struct stat s;
    CHECK(stat(sk, &s) == 0 && S_ISREG(s.st_mode) && (s.st_mode & 0777) == 0600);
    CHECK(stat(pk, &s) == 0 && S_ISREG(s.st_mode));

    /* The secret file is exactly the documented format: header + hex seed + newline. */
    char text[512], hex[65];
    el_sign_hex_encode(kp.sk, 32, hex);
    char want[256];
    snprintf(want, sizeof want, "%s%s\n", SK_HEADER, hex);
    CHECK(slurp(sk, text, sizeof text) == (ssize_t)strlen(want));
    CHECK_STREQ(text, want);
    /* The public file is "ed25519:<hex>\n". */
    char pkt[EL_PK_TEXT];
    el_sign_pubkey_format(kp.pk, pkt);
    snprintf(want, sizeof want, "%s\n", pkt);
    CHECK(slurp(pk, text, sizeof text) > 0);
    CHECK_STREQ(text, want);

    memset(&loaded, 0xAA, sizeof loaded);
    CHECK(el_sign_keypair_load(sk, &loaded, &err) == EL_OK);
    CHECK(memcmp(loaded.pk, kp.pk, EL_PK_BYTES) == 0);
    CHECK(memcmp(loaded.sk, kp.sk, EL_SK_BYTES) == 0);

    /* A loaded key signs what the original verifies (same key, deterministic signatures). */
    uint8_t d[32], s1[64], s2[64];
    el_sign_sha256("x", 1, d);
    el_sign_digest(&kp, "t", d, s1);
    el_sign_digest(&loaded, "t", d, s2);
    CHECK(memcmp(s1, s2, 64) == 0);

    /* Saving over an existing key fails with EL_ERR_CONFIG and leaves it intact. */
    char before[512], after[512];
    ssize_t nb = slurp(sk, before, sizeof before);
    err.msg[0] = '\0';
    char pk2[PATH_MAX];
    tpath(pk2, "other.pub");
    st = el_sign_keypair_save(&kp2, sk, pk2, &err);
    CHECK(st == EL_ERR_CONFIG);
    CHECK(err.code == EL_ERR_CONFIG);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, sk) != NULL);
    CHECK(slurp(sk, after, sizeof after) == nb);
    CHECK(memcmp(before, after, (size_t)nb) == 0);
    CHECK(stat(sk, &s) == 0 && (s.st_mode & 0777) == 0600);
    CHECK(access(pk2, F_OK) != 0); /* nothing of the refused save was written */
    CHECK(el_sign_keypair_load(sk, &loaded, &err) == EL_OK);
    CHECK(memcmp(loaded.pk, kp.pk, EL_PK_BYTES) == 0);

    /* A dangling symlink at the secret path is not followed (the target is not created). */
    char link[PATH_MAX], target[PATH_MAX], lpk[PATH_MAX];
    tpath(link, "link-key");
    tpath(target, "link-target");
    tpath(lpk, "link-key.pub");
    CHECK(symlink(target, link) == 0);
    CHECK(el_sign_keypair_save(&kp2, link, lpk, &err) != EL_OK);
    CHECK(access(target, F_OK) != 0);
    unlink(link);

    /* When the public file cannot be written, the secret file is not left behind. */
    char sk3[PATH_MAX], pk3[PATH_MAX];
    tpath(sk3, "key3");
    tpath(pk3, "no-such-dir/key3.pub");
    err.msg[0] = '\0';
    CHECK(el_sign_keypair_save(&kp2, sk3, pk3, &err) != EL_OK);
    CHECK(one_line(&err));
    CHECK(access(sk3, F_OK) != 0);

    /* A missing key file is "not found"; a directory is not a key. */
    char missing[PATH_MAX];
    tpath(missing, "missing-key");
    CHECK(el_sign_keypair_load(missing, &loaded, &err) == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(el_sign_keypair_load(tmpdir, &loaded, &err) == EL_ERR_CONFIG);

    el_sign_keypair_wipe(&kp);
    CHECK(is_zero(&kp, sizeof kp));
    el_sign_keypair_wipe(&kp2);
    el_sign_keypair_wipe(&loaded);
}

static void test_key_permissions(void)
{
    el_error err = {0};
    el_keypair kp, loaded;
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    char sk[PATH_MAX], pk[PATH_MAX];
    tpath(sk, "perm-key");
    tpath(pk, "perm-key.pub");
    CHECK(el_sign_keypair_save(&kp, sk, pk, &err) == EL_OK);

    static const mode_t bad[] = {0640, 0604, 0644, 0660, 0602, 0620, 0606, 0666, 0700 | 0040};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(chmod(sk, bad[i]) == 0);
        memset(&err, 0, sizeof err);
        memset(&loaded, 0, sizeof loaded);
        CHECK(el_sign_keypair_load(sk, &loaded, &err) == EL_ERR_CONFIG);
        CHECK(err.code == EL_ERR_CONFIG);
        CHECK(one_line(&err));
        if (!strstr(err.msg, "chmod 600"))
            fprintf(stderr, "mode %03o: message \"%s\" lacks \"chmod 600\"\n", (unsigned)bad[i], err.msg);
        CHECK(strstr(err.msg, "chmod 600") != NULL);
        CHECK(strstr(err.msg, sk) != NULL);
        CHECK(is_zero(&loaded, sizeof loaded)); /* nothing of the key was handed out */
        /* el_sign_pubkey_parse of the secret file is refused just the same. */
        uint8_t p[EL_PK_BYTES] = {0};
        CHECK(el_sign_pubkey_parse(sk, p, &err) == EL_ERR_CONFIG);
        CHECK(strstr(err.msg, "chmod 600") != NULL);
    }
    /* Owner-only modes stricter than 0600 are fine. */
    static const mode_t good[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK(chmod(sk, good[i]) == 0);
        CHECK(el_sign_keypair_load(sk, &loaded, &err) == EL_OK);
        CHECK(memcmp(loaded.pk, kp.pk, EL_PK_BYTES) == 0);
    }
    el_sign_keypair_wipe(&kp);
    el_sign_keypair_wipe(&loaded);
}

static void test_malformed_key_files(void)
{
    el_keypair kp;
    el_error err = {0};
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    char hex[65];
    el_sign_hex_encode(kp.sk, 32, hex);
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (hex[i] >= 'a' && hex[i] <= 'f') ? (char)(hex[i] - 32) : hex[i];
    /* A seed with at least one letter so uppercasing changes it (redraw otherwise; practically never). */
    CHECK(strcmp(upper, hex) != 0);

    char path[PATH_MAX];
    tpath(path, "bad-key");
    char good[256];
    snprintf(good, sizeof good, "%s%s\n", SK_HEADER, hex);
    /* Control: the well-formed text loads, so the refusals below are about the damage. */
    write_file(path, good, strlen(good), 0600);
    el_keypair loaded;
    CHECK(el_sign_keypair_load(path, &loaded, &err) == EL_OK);
    CHECK(memcmp(loaded.pk, kp.pk, 32) == 0);

    char cases[16][300];
    size_t n = 0;
    snprintf(cases[n++], 300, "ELASTOS ED25519 PRIVATE KEY\n%s\n", hex);         /* wrong header */
    snprintf(cases[n++], 300, "elastos ed25519 secret key\n%s\n", hex);          /* header case */
    snprintf(cases[n++], 300, "%s\n", hex);                                      /* no header */
    snprintf(cases[n++], 300, "%s%.62s\n", SK_HEADER, hex);                      /* short hex */
    snprintf(cases[n++], 300, "%s%.63s\n", SK_HEADER, hex);                      /* odd hex */
    snprintf(cases[n++], 300, "%s%s\n", SK_HEADER, upper);                       /* uppercase */
    snprintf(cases[n++], 300, "%s%s\nx", SK_HEADER, hex);                        /* trailing garbage */
    snprintf(cases[n++], 300, "%s%s\n\n", SK_HEADER, hex);                       /* trailing line */
    snprintf(cases[n++], 300, "%s%s0\n", SK_HEADER, hex);                        /* long hex */
    snprintf(cases[n++], 300, "%s%s", SK_HEADER, hex);                           /* no newline */
    snprintf(cases[n++], 300, "%s%s\r\n", SK_HEADER, hex);                       /* CRLF */
    snprintf(cases[n++], 300, "%s%.63sg\n", SK_HEADER, hex);                     /* non-hex */
    snprintf(cases[n++], 300, "%s %.63s\n", SK_HEADER, hex);                     /* space */
    snprintf(cases[n++], 300, "%s", "");                                         /* empty */
    for (size_t i = 0; i < n; i++) {
        write_file(path, cases[i], strlen(cases[i]), 0600);
        memset(&err, 0, sizeof err);
        el_status st = el_sign_keypair_load(path, &loaded, &err);
        if (st != EL_ERR_CONFIG)
            fprintf(stderr, "malformed key #%zu accepted (status %d)\n", i, st);
        CHECK(st == EL_ERR_CONFIG);
        CHECK(one_line(&err));
        /* The secret never appears in the message. */
        CHECK(strstr(err.msg, hex + 8) == NULL);
    }
    /* A very long file (garbage after a valid key, past any fixed read size) is refused too. */
    char big[4096];
    memset(big, 'a', sizeof big);
    memcpy(big, good, strlen(good));
    write_file(path, big, sizeof big, 0600);
    CHECK(el_sign_keypair_load(path, &loaded, &err) == EL_ERR_CONFIG);
    unlink(path);
    el_sign_keypair_wipe(&kp);
}

/* ---- public keys ----------------------------------------------------------------------------- */

static void test_pubkey_parse(void)
{
    el_error err = {0};
    el_keypair kp;
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    char text[EL_PK_TEXT];
    el_sign_pubkey_format(kp.pk, text);
    CHECK(strlen(text) == 8 + 64);
    CHECK(strncmp(text, "ed25519:", 8) == 0);
    char hex[65];
    el_sign_hex_encode(kp.pk, 32, hex);
    CHECK_STREQ(text + 8, hex);

    uint8_t pk[EL_PK_BYTES];
    memset(pk, 0, sizeof pk);
    CHECK(el_sign_pubkey_parse(text, pk, &err) == EL_OK);
    CHECK(memcmp(pk, kp.pk, 32) == 0);

    /* The .pub file and the secret key file written by el_sign_keypair_save. */
    char sk[PATH_MAX], pub[PATH_MAX];
    tpath(sk, "parse-key");
    tpath(pub, "parse-key.pub");
    CHECK(el_sign_keypair_save(&kp, sk, pub, &err) == EL_OK);
    memset(pk, 0, sizeof pk);
    CHECK(el_sign_pubkey_parse(pub, pk, &err) == EL_OK);
    CHECK(memcmp(pk, kp.pk, 32) == 0);
    memset(pk, 0, sizeof pk);
    CHECK(el_sign_pubkey_parse(sk, pk, &err) == EL_OK);
    CHECK(memcmp(pk, kp.pk, 32) == 0);
    /* A .pub file without its trailing newline is fine too. */
    char pub2[PATH_MAX];
    tpath(pub2, "nonl.pub");
    write_file(pub2, text, strlen(text), 0644);
    memset(pk, 0, sizeof pk);
    CHECK(el_sign_pubkey_parse(pub2, pk, &err) == EL_OK);
    CHECK(memcmp(pk, kp.pk, 32) == 0);

    /* Bad text, given directly and as the content of a file. */
    char upper[EL_PK_TEXT];
    snprintf(upper, sizeof upper, "%s", text);
    for (char *p = upper + 8; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    CHECK(strcmp(upper, text) != 0);
    char bad[8][160];
    size_t n = 0;
    snprintf(bad[n++], 160, "ed25519:%.63s", hex);            /* 63 hex digits */
    snprintf(bad[n++], 160, "ed25519:%s0", hex);              /* 65 hex digits */
    snprintf(bad[n++], 160, "%s", upper);                     /* uppercase hex */
    snprintf(bad[n++], 160, "ed25519:%.63sg", hex);           /* non-hex */
    snprintf(bad[n++], 160, "ed25519:%.31s %.32s", hex, hex); /* space inside */
    snprintf(bad[n++], 160, "ed25519:");                      /* empty */
    snprintf(bad[n++], 160, "ed25519:%s extra", hex);         /* trailing text */
    for (size_t i = 0; i < n; i++) {
        memset(&err, 0, sizeof err);
        memset(pk, 0, sizeof pk);
        el_status st = el_sign_pubkey_parse(bad[i], pk, &err);
        if (st != EL_ERR_USAGE)
            fprintf(stderr, "bad public key text #%zu \"%s\": status %d\n", i, bad[i], st);
        CHECK(st == EL_ERR_USAGE);
        CHECK(one_line(&err));
        /* ... and the same text in a file. */
        char f[PATH_MAX];
        tpath(f, "bad.pub");
        write_file(f, bad[i], strlen(bad[i]), 0644);
        memset(&err, 0, sizeof err);
        st = el_sign_pubkey_parse(f, pk, &err);
        if (st != EL_ERR_USAGE)
            fprintf(stderr, "bad public key file #%zu \"%s\": status %d\n", i, bad[i], st);
        CHECK(st == EL_ERR_USAGE);
        CHECK(one_line(&err));
        unlink(f);
    }

    /* Wrong prefix. In a file it is a usage error; given as text it can't be told from a file name,
     * so it is refused as a file that does not exist (or, better, as bad text). */
    static const char *prefixes[] = {"ed25518:", "ED25519:", "x25519:", "ed25519;", "ed25519: ", ""};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        char t[160];
        snprintf(t, sizeof t, "%s%s", prefixes[i], hex);
        char f[PATH_MAX];
        tpath(f, "prefix.pub");
        write_file(f, t, strlen(t), 0644);
        memset(&err, 0, sizeof err);
        CHECK(el_sign_pubkey_parse(f, pk, &err) == EL_ERR_USAGE);
        CHECK(one_line(&err));
        unlink(f);
        memset(&err, 0, sizeof err);
        el_status st = el_sign_pubkey_parse(t, pk, &err);
        CHECK(st == EL_ERR_USAGE || st == EL_ERR_NOTFOUND);
        CHECK(one_line(&err));
    }
    /* Whatever the input, the error is one line (a newline in it is not echoed as such). */
    static const char *multiline[] = {"ed25519:ab\ncd", "ed25519:\n", "no-such\nfile.pub"};
    for (size_t i = 0; i < sizeof multiline / sizeof *multiline; i++) {
        memset(&err, 0, sizeof err);
        CHECK(el_sign_pubkey_parse(multiline[i], pk, &err) != EL_OK);
        CHECK(one_line(&err));
    }
    el_keypair nk;
    memset(&err, 0, sizeof err);
    CHECK(el_sign_keypair_load("/nonexistent/elastos\nkey", &nk, &err) == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));

    /* An empty file, and a binary file. */
    char f[PATH_MAX];
    tpath(f, "empty.pub");
    write_file(f, "", 0, 0644);
    CHECK(el_sign_pubkey_parse(f, pk, &err) == EL_ERR_USAGE);
    write_file(f, "\x00\x01\xff", 3, 0644);
    CHECK(el_sign_pubkey_parse(f, pk, &err) == EL_ERR_USAGE);
    unlink(f);

    /* A missing file. */
    char missing[PATH_MAX];
    tpath(missing, "missing.pub");
    memset(&err, 0, sizeof err);
    CHECK(el_sign_pubkey_parse(missing, pk, &err) == EL_ERR_NOTFOUND);
    CHECK(err.code == EL_ERR_NOTFOUND);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, missing) != NULL);
    el_sign_keypair_wipe(&kp);
}

/* ---- signatures -------------------------------------------------------------------------- */

static void test_sign_verify(void)
{
    el_error err = {0};
    el_keypair kp, other;
    CHECK(el_sign_keypair_generate(&kp, &err) == EL_OK);
    CHECK(el_sign_keypair_generate(&other, &err) == EL_OK);
    uint8_t digest[32], sig[64], sig2[64];
    el_sign_sha256("the artifact", 12, digest);
    el_sign_digest(&kp, "a", digest, sig);
    CHECK(el_sign_verify_digest(kp.pk, "a", digest, sig));
    el_sign_digest(&kp, "a", digest, sig2);
    CHECK(memcmp(sig, sig2, 64) == 0); /* Ed25519 is deterministic */
    CHECK(!el_sign_verify_digest(other.pk, "a", digest, sig));

    /* Every single-bit flip of digest, signature and public key is refused. */
    int bad = 0;
    for (int bit = 0; bit < 256; bit++) {
        uint8_t d[32];
        memcpy(d, digest, 32);
        d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad += el_sign_verify_digest(kp.pk, "a", d, sig);
    }
    CHECK(bad == 0);
    bad = 0;
    for (int bit = 0; bit < 512; bit++) {
        uint8_t s[64];
        memcpy(s, sig, 64);
        s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad += el_sign_verify_digest(kp.pk, "a", digest, s);
    }
    CHECK(bad == 0);
    bad = 0;
    for (int bit = 0; bit < 256; bit++) {
        uint8_t p[32];
        memcpy(p, kp.pk, 32);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad += el_sign_verify_digest(p, "a", digest, sig);
    }
    CHECK(bad == 0);
    /* The originals still verify (nothing above mutated them). */
    CHECK(el_sign_verify_digest(kp.pk, "a", digest, sig));

    /* Domain separation: a signature under "a" is valid under "a" only. */
    static const char *domains[] = {"b", "", "A", "a ", " a", "aa", "a\n", "a\x01", "ab", "elastos/artifact/v1"};
    for (size_t i = 0; i < sizeof domains / sizeof *domains; i++) {
        CHECK(!el_sign_verify_digest(kp.pk, domains[i], digest, sig));
        uint8_t s[64];
        el_sign_digest(&kp, domains[i], digest, s);
        CHECK(el_sign_verify_digest(kp.pk, domains[i], digest, s));
        CHECK(!el_sign_verify_digest(kp.pk, "a", digest, s));
        CHECK(memcmp(s, sig, 64) != 0);
    }
    /* A domain is a C string: "a\0..." is the domain "a". */
    CHECK(el_sign_verify_digest(kp.pk, "a\0b", digest, sig));

    /* The domain and the digest are not concatenated ambiguously: "ab" + D and "a" + ("b" + D') are
     * different messages (the NUL terminator of the domain is signed). */
    uint8_t shifted[32];
    shifted[0] = 'b';
    memcpy(shifted + 1, digest, 31);
    uint8_t sab[64];
    el_sign_digest(&kp, "ab", digest, sab);
    CHECK(!el_sign_verify_digest(kp.pk, "a", shifted, sab));

    /* Not a plain Ed25519 signature of the digest: a raw signature never passes for a domain one,
     * and a domain signature never verifies as a raw one. */
    uint8_t raw[64];
    crypto_sign_detached(raw, NULL, digest, 32, kp.sk);
    CHECK(!el_sign_verify_digest(kp.pk, "a", digest, raw));
    CHECK(!el_sign_verify_digest(kp.pk, "", digest, raw));
    CHECK(crypto_sign_verify_detached(sig, digest, 32, kp.pk) != 0);

    /* The documented construction (sign.c): Ed25519 over SHA-512(domain || 0 || digest). Other
     * implementations (SDKs, verifiers) must be able to reproduce it byte for byte. */
    uint8_t msg_in[2 + 32], msg[64], expect[64];
    msg_in[0] = 'a';
    msg_in[1] = 0;
    memcpy(msg_in + 2, digest, 32);
    crypto_hash_sha512(msg, msg_in, sizeof msg_in);
    crypto_sign_detached(expect, NULL, msg, sizeof msg, kp.sk);
    CHECK(memcmp(expect, sig, 64) == 0);

    /* An all-zero public key / signature never verifies. */
    uint8_t zpk[32] = {0}, zsig[64] = {0};
    CHECK(!el_sign_verify_digest(zpk, "a", digest, sig));
    CHECK(!el_sign_verify_digest(kp.pk, "a", digest, zsig));
    el_sign_keypair_wipe(&kp);
    el_sign_keypair_wipe(&other);
}

/* ---- hex and sha256 ------------------------------------------------------------------------ */

static void test_hex(void)
{
    uint8_t in[256], back[256];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    char hex[513];
    el_sign_hex_encode(in, 256, hex);
    CHECK(strlen(hex) == 512);
    CHECK(strncmp(hex, "000102030405060708090a0b0c0d0e0f10", 34) == 0);
    CHECK(strcmp(hex + 512 - 8, "fcfdfeff") == 0);
    for (const char *p = hex; *p; p++)
        CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    memset(back, 0, sizeof back);
    CHECK(el_sign_hex_decode(hex, 512, back));
    CHECK(memcmp(in, back, 256) == 0);

    char e[1] = {'x'};
    el_sign_hex_encode(in, 0, e);
    CHECK(e[0] == '\0');
    CHECK(el_sign_hex_decode("", 0, back));

    /* Decoding only reads hexlen characters. */
    uint8_t two[2] = {0, 0};
    CHECK(el_sign_hex_decode("abcdZZ", 4, two));
    CHECK(two[0] == 0xab && two[1] == 0xcd);

    static const char *bad[] = {"abc", "0g", "g0", "AB", "aB", "Ab", " 0", "0 ", "-1", "0x", "\n0", "ff:0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t out[4];
        CHECK(!el_sign_hex_decode(bad[i], strlen(bad[i]), out));
    }
    /* A NUL inside the counted length is not a hex digit. */
    uint8_t out[2];
    CHECK(!el_sign_hex_decode("a\0bc", 4, out));

    /* SHA-256 against the FIPS 180-2 vectors. */
    uint8_t d[32];
    char dh[65];
    el_sign_sha256("abc", 3, d);
    el_sign_hex_encode(d, 32, dh);
    CHECK_STREQ(dh, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    el_sign_sha256("", 0, d);
    el_sign_hex_encode(d, 32, dh);
    CHECK_STREQ(dh, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_generate_save_load();
    test_key_permissions();
    test_malformed_key_files();
    test_pubkey_parse();
    test_sign_verify();
    test_hex();
    rm_rf(tmpdir);
    CHECK(access(tmpdir, F_OK) != 0);
    return TEST_DONE();
}
