/*
 * token.h - capability tokens (SPEC section 6): the mechanism, in the trusted core.
 *
 * A token is a canonical binary record signed by the runtime's own Ed25519 key, shown to
 * capsules as an opaque base64url string (no padding). Binary layout, all integers big-endian:
 *   "ELTK"  magic                      4
 *   version (1)                        1
 *   id                                 16  random
 *   holder                             16  capsule instance id (binary of its 32 hex chars)
 *   issuer                             32  runtime public key
 *   action                             1   one EL_ACT_* bit
 *   delegatable                        1   0 or 1
 *   epoch                              8
 *   issued_at                          8   unix seconds
 *   expiry                             8   unix seconds, 0 = none
 *   max_uses                           4   0 = unlimited
 *   resource length                    2   1..EL_RESOURCE_MAX
 *   resource                           n   URI pattern, e.g. localhost://storage/notes/ + "*"
 *   signature                          64  Ed25519 over SHA-256 of everything before it,
 *                                          domain "elastos/token/v1"
 * Anything else (trailing bytes, bad lengths, non-canonical base64) is an invalid token.
 *
 * Every use (el_token_check) runs the checks in SPEC order: version, signature, issuer,
 * holder, action, resource, epoch, not revoked, not issued in the future, not expired, use
 * count (atomic, in SQLite). Verified tokens are cached by their exact text (decoding and
 * signature are then skipped, every other check still runs), so a forged token can never hit
 * the cache of a genuine one with the same id.
 */
#ifndef ELASTOS_TOKEN_H
#define ELASTOS_TOKEN_H

#include "elastos/runtime.h"
#include "elastos/sign.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_RESOURCE_MAX 1024
#define EL_TOKEN_ID_HEX 33 /* 32 hex chars + NUL */

typedef struct el_token {
    uint8_t version;
    uint8_t id[16];
    uint8_t holder[16];
    uint8_t issuer[EL_PK_BYTES];
    unsigned action; /* exactly one EL_ACT_* bit */
    bool delegatable;
    uint64_t epoch;
    uint64_t issued_at;
    uint64_t expiry;   /* 0 = never */
    uint32_t max_uses; /* 0 = unlimited */
    char resource[EL_RESOURCE_MAX + 1];
} el_token;

/* What to issue: the runtime fills id, issuer, epoch, issued_at and signs. */
typedef struct el_token_request {
    const char *holder_hex;   /* capsule instance id, 32 hex chars */
    const char *capsule_name; /* recorded with the issued token, for listing */
    const char *publisher;    /* "ed25519:<hex>" of the capsule's publisher, for listing */
    const char *resource;     /* pattern */
    unsigned action;
    uint64_t expiry_secs;     /* 0 = no expiry; else now + expiry_secs */
    uint32_t max_uses;        /* 0 = unlimited */
    bool delegatable;
} el_token_request;

/* Issues and records a token. *text is malloc'd base64url (caller frees); tok (may be NULL)
 * receives the decoded fields. */
EL_EXTERN el_status el_token_issue(el_runtime *rt, const el_token_request *req, char **text, el_token *tok, el_error *err);

/* Checks one use of a token (see the order above) for holder (32 hex chars) doing action on
 * the concrete resource. On failure returns EL_ERR_TRUST (or EL_ERR_LIMIT for use count), fills
 * err, and sets *code to the protocol error code: "invalid_token", "denied", "expired",
 * "revoked" or "limit". tok (may be NULL) receives the decoded token when it decoded. */
EL_EXTERN el_status el_token_check(el_runtime *rt, const char *text, const char *holder_hex, const char *resource,
                         unsigned action, el_token *tok, const char **code, el_error *err);

/* Decodes without checking anything but the encoding (for listing / tools). */
EL_EXTERN el_status el_token_decode(const char *text, el_token *tok, el_error *err);

/* True when resource (a concrete URI) is matched by pattern: equal, or pattern ends in "/" "*"
 * and resource continues below that prefix on a whole-segment boundary. Resources or patterns
 * with "..", "." or empty segments, a '%', a backslash or control bytes never match. */
EL_EXTERN bool el_token_resource_match(const char *pattern, const char *resource);

/* Revokes a token id (32 hex chars), durable, effective at once for every process. Revoking
 * an unknown id is allowed (it can never be used). */
EL_EXTERN el_status el_token_revoke(el_runtime *rt, const char *id_hex, el_error *err);

/* Bumps the epoch ("revoke all"): every token issued before is invalid from now on. */
EL_EXTERN el_status el_token_epoch_bump(el_runtime *rt, uint64_t *new_epoch, el_error *err);
EL_EXTERN el_status el_token_epoch_get(el_runtime *rt, uint64_t *epoch, el_error *err);

typedef struct el_token_info {
    char id[EL_TOKEN_ID_HEX];
    char holder[33];
    char capsule[65];
    char resource[EL_RESOURCE_MAX + 1];
    unsigned action;
    uint64_t epoch, issued_at, expiry;
    uint32_t max_uses, uses;
    bool revoked; /* by id or by an epoch bump */
} el_token_info;

/* Lists issued tokens, newest first; *out malloc'd (caller frees). */
EL_EXTERN el_status el_token_list(el_runtime *rt, el_token_info **out, size_t *n, el_error *err);

/* The runtime's own public key (created with its secret, 0600, on first use). */
EL_EXTERN el_status el_token_runtime_pubkey(el_runtime *rt, uint8_t pk[EL_PK_BYTES], el_error *err);

#ifdef __cplusplus
}
#endif
#endif
