/* sign.c - Ed25519 keys and domain-separated signatures (libsodium); SHA-256 (OpenSSL). */
#include "elastos/sign.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SK_HEADER "ELASTOS ED25519 SECRET KEY\n"
#define PK_PREFIX "ed25519:"

/* OpenSSL is initialised without reading openssl.cnf (an operator's config must not load
 * providers or engines into the runtime, and parsing it costs ~0.5 ms per process), and SHA-256
 * is fetched once: an implicit fetch per digest costs more than hashing a token. The fetched
 * algorithm is immutable after the once-init, so sharing it is not hidden mutable state. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_init(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *el__sha256_md(void)
{
    pthread_once(&sha256_once, sha256_init);
    return sha256_md;
}

void el_sign_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, el__sha256_md(), NULL);
}

void el_sign_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase refused: one canonical spelling */
}

bool el_sign_hex_decode(const char *in, size_t hexlen, uint8_t *out)
{
    if (hexlen % 2)
        return false;
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

el_status el_sign_keypair_generate(el_keypair *kp, el_error *err)
{
    if (sodium_init() < 0)
        return el_error_set(err, EL_ERR_INTERNAL, "libsodium failed to initialize");
    crypto_sign_keypair(kp->pk, kp->sk);
    return EL_OK;
}

void el_sign_keypair_wipe(el_keypair *kp) { sodium_memzero(kp, sizeof *kp); }

el_status el_sign_keypair_save(const el_keypair *kp, const char *sk_path, const char *pk_path, el_error *err)
{
    char text[sizeof SK_HEADER + 2 * crypto_sign_SEEDBYTES + 2];
    char hex[2 * crypto_sign_SEEDBYTES + 1];
    el_sign_hex_encode(kp->sk, crypto_sign_SEEDBYTES, hex); /* libsodium's sk begins with the seed */
    int n = snprintf(text, sizeof text, "%s%s\n", SK_HEADER, hex);
    sodium_memzero(hex, sizeof hex);

    /* Written whole to a private temporary file beside it, then linked to its name: link()
     * never replaces (EEXIST) nor follows a link there, and a reader (another process creating
     * the same key at the same moment) sees no file or a complete one, never a part. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", sk_path) >= (int)sizeof tmp) {
        sodium_memzero(text, sizeof text);
        return el_error_set(err, EL_ERR_IO, "%s: path too long", sk_path);
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        sodium_memzero(text, sizeof text);
        return el_error_set(err, EL_ERR_IO, "%s: cannot create a file beside it: %s", sk_path, strerror(errno));
    }
    bool ok = fchmod(fd, 0600) == 0 && el__write_all(fd, text, (size_t)n) && fsync(fd) == 0;
    sodium_memzero(text, sizeof text);
    if (close(fd) != 0)
        ok = false;
    int linked = ok ? link(tmp, sk_path) : -1, e = errno;
    unlink(tmp);
    if (!ok)
        return el_error_set(err, EL_ERR_IO, "cannot write %s", sk_path);
    if (linked != 0)
        return el_error_set(err, e == EEXIST ? EL_ERR_CONFIG : EL_ERR_IO, "%s: %s%s", sk_path, strerror(e),
                            e == EEXIST ? " (refusing to overwrite a key)" : "");
    if (el__fsync_dir_of(sk_path, NULL) != EL_OK) {
        unlink(sk_path);
        return el_error_set(err, EL_ERR_IO, "cannot write %s", sk_path);
    }
    char pk[EL_PK_TEXT + 1];
    el_sign_pubkey_format(kp->pk, pk);
    strcat(pk, "\n");
    el_status st = el_fs_write_file_atomic(pk_path, pk, strlen(pk), 0644, err);
    if (st != EL_OK)
        unlink(sk_path);
    return st;
}

el_status el_sign_keypair_load(const char *sk_path, el_keypair *kp, el_error *err)
{
    int fd = open(sk_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "key %s: %s", sk_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return el_error_set(err, EL_ERR_CONFIG, "key %s: not a regular file", sk_path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return el_error_set(err, EL_ERR_CONFIG, "key %s: permissions %03o are too open; run: chmod 600 %s", sk_path,
                            (unsigned)(st.st_mode & 0777), sk_path);
    }
    char text[256];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    size_t hl = strlen(SK_HEADER);
    uint8_t seed[crypto_sign_SEEDBYTES];
    if (n != (ssize_t)(hl + 2 * crypto_sign_SEEDBYTES + 1) || memcmp(text, SK_HEADER, hl) != 0 ||
        text[n - 1] != '\n' || !el_sign_hex_decode(text + hl, 2 * crypto_sign_SEEDBYTES, seed)) {
        sodium_memzero(text, sizeof text);
        return el_error_set(err, EL_ERR_CONFIG, "key %s: not an elastos secret key file", sk_path);
    }
    crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    return EL_OK;
}

void el_sign_pubkey_format(const uint8_t pk[EL_PK_BYTES], char out[EL_PK_TEXT])
{
    memcpy(out, PK_PREFIX, strlen(PK_PREFIX));
    el_sign_hex_encode(pk, EL_PK_BYTES, out + strlen(PK_PREFIX));
}

void el_sign_capsule_address(const char *name, const uint8_t pk[EL_PK_BYTES], char out[EL_ADDRESS_MAX])
{
    char hex[2 * EL_PK_BYTES + 1];
    el_sign_hex_encode(pk, EL_PK_BYTES, hex);
    snprintf(out, EL_ADDRESS_MAX, "%.64s@%.*s", name, EL_PUBLISHER_ID_LEN, hex);
}

static bool parse_pk_text(const char *s, size_t len, uint8_t pk[EL_PK_BYTES])
{
    size_t pl = strlen(PK_PREFIX);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    return len == pl + 2 * EL_PK_BYTES && memcmp(s, PK_PREFIX, pl) == 0 && el_sign_hex_decode(s + pl, 2 * EL_PK_BYTES, pk);
}

el_status el_sign_pubkey_parse(const char *s, uint8_t pk[EL_PK_BYTES], el_error *err)
{
    if (strncmp(s, PK_PREFIX, strlen(PK_PREFIX)) == 0) {
        if (parse_pk_text(s, strlen(s), pk))
            return EL_OK;
        return el_error_set(err, EL_ERR_USAGE, "bad public key \"%.80s\": expected ed25519:<64 lowercase hex digits>", s);
    }
    char *text;
    size_t len;
    el_status st = el_fs_read_file(s, 4096, &text, &len, err);
    if (st == EL_ERR_NOTFOUND && strchr(s, ':') && !strchr(s, '/'))
        return el_error_set(err, EL_ERR_USAGE, "bad public key \"%.80s\": expected ed25519:<64 lowercase hex digits> or a key file", s);
    if (st != EL_OK)
        return el_error_prefix(err, "public key");
    if (parse_pk_text(text, len, pk)) {
        free(text);
        return EL_OK;
    }
    bool secret = len >= strlen(SK_HEADER) && memcmp(text, SK_HEADER, strlen(SK_HEADER)) == 0;
    sodium_memzero(text, len);
    free(text);
    if (secret) {
        el_keypair kp;
        st = el_sign_keypair_load(s, &kp, err);
        if (st == EL_OK)
            memcpy(pk, kp.pk, EL_PK_BYTES);
        el_sign_keypair_wipe(&kp);
        return st;
    }
    return el_error_set(err, EL_ERR_USAGE, "%s: not a public key file (expected ed25519:<hex>)", s);
}

/* The signed message is SHA-512 over domain || 0 || digest, so it has a fixed size and no
 * two domains can collide. */
static void signing_message(const char *domain, const uint8_t digest[32], uint8_t msg[64])
{
    crypto_hash_sha512_state h;
    crypto_hash_sha512_init(&h);
    crypto_hash_sha512_update(&h, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_hash_sha512_update(&h, digest, 32);
    crypto_hash_sha512_final(&h, msg);
}

void el_sign_digest(const el_keypair *kp, const char *domain, const uint8_t digest[32], uint8_t sig[EL_SIG_BYTES])
{
    uint8_t msg[64];
    signing_message(domain, digest, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, kp->sk);
}

bool el_sign_verify_digest(const uint8_t pk[EL_PK_BYTES], const char *domain, const uint8_t digest[32],
                      const uint8_t sig[EL_SIG_BYTES])
{
    uint8_t msg[64];
    signing_message(domain, digest, msg);
    return crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0;
}
