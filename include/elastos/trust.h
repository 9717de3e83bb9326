/*
 * trust.h - the publisher trust store: $ELASTOS_HOME/trust/publishers, one line per publisher,
 * "ed25519:<hex> <name>". Rewritten atomically (temp file, fsync, rename) on every change.
 */
#ifndef ELASTOS_TRUST_H
#define ELASTOS_TRUST_H

#include "elastos/runtime.h"
#include "elastos/sign.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_TRUST_NAME_MAX 64

typedef struct el_trust_entry {
    uint8_t pk[EL_PK_BYTES];
    char name[EL_TRUST_NAME_MAX + 1];
} el_trust_entry;

/* name may be NULL (stored as "-"); names are [A-Za-z0-9._@-]{1,64}. Adding a present key
 * updates its name. */
EL_EXTERN el_status el_trust_add(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], const char *name, el_error *err);
/* EL_ERR_NOTFOUND if the key is not in the store. */
EL_EXTERN el_status el_trust_remove(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], el_error *err);
/* *out is a malloc'd array of *n entries (caller frees); empty store gives n = 0. */
EL_EXTERN el_status el_trust_list(el_runtime *rt, el_trust_entry **out, size_t *n, el_error *err);
/* EL_OK and fills entry (may be NULL) when trusted (by this home's store or the system store);
 * EL_ERR_TRUST when not. */
EL_EXTERN el_status el_trust_check(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry, el_error *err);

/* The system trust store, installed read-only with the runtime (like /usr/share/keyrings):
 * <directory of the elastos binary>/../share/elastos/trust/publishers, same format. It holds the
 * publisher of the shipped shell capsule. Never written; used only when the file and its
 * directory are owned by root or this user and not writable by group or others. */
EL_EXTERN el_status el_trust_system_path(char out[4096], el_error *err);
/* EL_OK when path may be used as the system store; EL_ERR_NOTFOUND when absent; EL_ERR_CONFIG
 * (with the reason and the fix) when its ownership or mode make it unusable. */
EL_EXTERN el_status el_trust_system_check_file(const char *path, el_error *err);
/* The system store's entries (*out malloc'd); an error as el_trust_system_check_file's. */
EL_EXTERN el_status el_trust_list_system(el_trust_entry **out, size_t *n, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
