/*
 * cid.h - IPFS CIDs of files, profile unixfs-v1-2025 (SPEC section 4): CIDv1, base32, sha2-256,
 * 1 MiB raw-leaf chunks, balanced dag-pb/UnixFS tree of at most 1024 links per node.
 *
 * Streaming: feed any number of bytes with el_cid_update; memory use is bounded by the tree
 * depth (one pending level of at most 1024 links each), not by the file size.
 */
#ifndef ELASTOS_CID_H
#define ELASTOS_CID_H

#include "elastos/elastos.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest text CID we produce ("b" + base32 of a 36-byte binary CID) plus NUL, with room. */
#define EL_CID_MAX 128

typedef struct el_cid_ctx el_cid_ctx;

/* Creates a streaming context; NULL only when out of memory. Free with el_cid_free. */
EL_EXTERN el_cid_ctx *el_cid_new(void);
EL_EXTERN void el_cid_update(el_cid_ctx *c, const void *data, size_t len);
/* Writes the NUL-terminated text CID into out (EL_CID_MAX bytes). The context can't be reused. */
EL_EXTERN el_status el_cid_final(el_cid_ctx *c, char out[EL_CID_MAX], el_error *err);
EL_EXTERN void el_cid_free(el_cid_ctx *c);

/* One-shot helpers. */
EL_EXTERN el_status el_cid_of_buffer(const void *data, size_t len, char out[EL_CID_MAX], el_error *err);
EL_EXTERN el_status el_cid_of_file(const char *path, char out[EL_CID_MAX], el_error *err);

/* Checks that s is a syntactically valid CIDv1 in base32 (lowercase 'b' prefix) using sha2-256
 * with codec raw (0x55) or dag-pb (0x70). EL_ERR_FORMAT with a reason otherwise. */
EL_EXTERN el_status el_cid_validate(const char *s, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
