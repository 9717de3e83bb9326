/*
 * sign.h - Ed25519 publisher keys (libsodium) and their file formats.
 *
 * Secret key file (mode 0600, refused if group/other can read it):
 *     ELASTOS ED25519 SECRET KEY
 *     <64 hex chars: the 32-byte seed>
 * Public key text and file: "ed25519:<64 hex chars>" (one line).
 */
#ifndef ELASTOS_SIGN_H
#define ELASTOS_SIGN_H

#include "elastos/elastos.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_PK_BYTES 32
#define EL_SK_BYTES 64
#define EL_SIG_BYTES 64
#define EL_PK_TEXT 80 /* "ed25519:" + 64 hex + NUL, with room */

typedef struct el_keypair {
    uint8_t pk[EL_PK_BYTES];
    uint8_t sk[EL_SK_BYTES]; /* libsodium's seed||pk form; wiped by el_sign_keypair_wipe */
} el_keypair;

EL_EXTERN el_status el_sign_keypair_generate(el_keypair *kp, el_error *err);
EL_EXTERN void el_sign_keypair_wipe(el_keypair *kp);

/* Writes secret to sk_path (0600, never overwriting, appearing whole: readers see no file or a
 * complete one) and the public key to pk_path. EL_ERR_CONFIG when sk_path exists. */
EL_EXTERN el_status el_sign_keypair_save(const el_keypair *kp, const char *sk_path, const char *pk_path, el_error *err);
/* Loads a secret key file; EL_ERR_CONFIG if it is readable by group or others. */
EL_EXTERN el_status el_sign_keypair_load(const char *sk_path, el_keypair *kp, el_error *err);

EL_EXTERN void el_sign_pubkey_format(const uint8_t pk[EL_PK_BYTES], char out[EL_PK_TEXT]);
/* Accepts "ed25519:<hex>" text, or a path to a file holding it (or to a secret key file). */
EL_EXTERN el_status el_sign_pubkey_parse(const char *text_or_path, uint8_t pk[EL_PK_BYTES], el_error *err);

/* A capsule's address, "<name>@<publisher id>", the id being the first EL_PUBLISHER_ID_LEN hex
 * digits of the publisher's key. Names are unique only per publisher: the address is what names
 * a capsule's storage, its mailbox, the sender of its messages and elastos://capsule/ resources.
 * name is a manifest name (at most 64 bytes). */
#define EL_PUBLISHER_ID_LEN 16
#define EL_ADDRESS_MAX (64 + 1 + EL_PUBLISHER_ID_LEN + 1)
EL_EXTERN void el_sign_capsule_address(const char *name, const uint8_t pk[EL_PK_BYTES], char out[EL_ADDRESS_MAX]);

/* Detached signatures over a 32-byte digest, with a domain-separation context string so a
 * signature made for one purpose can never be replayed for another. */
EL_EXTERN void el_sign_digest(const el_keypair *kp, const char *domain, const uint8_t digest[32],
                    uint8_t sig[EL_SIG_BYTES]);
EL_EXTERN bool el_sign_verify_digest(const uint8_t pk[EL_PK_BYTES], const char *domain, const uint8_t digest[32],
                      const uint8_t sig[EL_SIG_BYTES]);

/* Hex helpers (lowercase). el_sign_hex_decode returns false on bad length or characters. */
EL_EXTERN void el_sign_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);
EL_EXTERN bool el_sign_hex_decode(const char *in, size_t hexlen, uint8_t *out);

/* SHA-256 of a buffer (OpenSSL). */
EL_EXTERN void el_sign_sha256(const void *data, size_t len, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
#endif
