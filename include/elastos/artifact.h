/*
 * artifact.h - signed capsule artifacts (SPEC section 4).
 *
 * Format: a canonical POSIX ustar archive. Members, in order: the capsule's files in bytewise
 * sorted path order (capsule.json among them), then ".elastos/SHA256SUMS" (sha256sum format,
 * every file listed), then ".elastos/SIGNATURE" (one 512-byte block of text naming the
 * publisher key, the SHA-256 of every byte before the SIGNATURE header, and the Ed25519
 * signature of that digest under the domain "elastos/artifact/v1"), then two zero blocks.
 * Every header is canonical (mode 0644, uid/gid 0, mtime 0, type '0'), so packing is
 * deterministic and any byte change anywhere is refused.
 *
 * Opening checks, in this order, before anything of the content is parsed:
 *   1. the signature envelope at the end (EL_ERR_TRUST if absent or damaged);
 *   2. the digest and the Ed25519 signature (EL_ERR_TRUST);
 *   3. the publisher in the trust store, unless EL_OPEN_ANY_PUBLISHER (EL_ERR_TRUST);
 *   4. the archive structure: paths, types, order, sizes, checksums (EL_ERR_FORMAT);
 *   5. capsule.json (EL_ERR_FORMAT) and that its entry exists (EL_ERR_FORMAT).
 * Nothing is ever extracted to disk.
 */
#ifndef ELASTOS_ARTIFACT_H
#define ELASTOS_ARTIFACT_H

#include "elastos/cid.h"
#include "elastos/manifest.h"
#include "elastos/runtime.h"
#include "elastos/sign.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EL_ARTIFACT_MAX_FILES 4096
#define EL_ARTIFACT_MAX_BYTES ((uint64_t)4 << 30) /* 4 GiB */

typedef struct el_artifact el_artifact;

typedef struct el_artifact_file {
    const char *path;     /* relative path; valid while the artifact is open */
    const uint8_t *data;  /* points into the artifact's verified copy */
    size_t size;
    uint8_t sha256[32];
} el_artifact_file;

enum {
    EL_OPEN_ANY_PUBLISHER = 1 << 0, /* skip step 3 (for inspect); the signature is still checked */
    EL_OPEN_CID = 1 << 1,           /* el_artifact_cid will be asked: compute the CID on a second
                                     * thread while the artifact is verified (large artifacts) */
};

/* Opens and verifies the artifact at path (see the order above). *out owns a private, read-only
 * copy of the file's bytes (so nobody can change them after they were verified); close with
 * el_artifact_close. */
EL_EXTERN el_status el_artifact_open(el_runtime *rt, const char *path, unsigned flags, el_artifact **out, el_error *err);
EL_EXTERN void el_artifact_close(el_artifact *a);

/* The manifest, with its resource_limits (and a microVM's memory_mb) lowered to the operator's
 * ceiling, $ELASTOS_HOME/config/limits.json (docs/capabilities.md): the limits that apply. */
EL_EXTERN const el_manifest *el_artifact_manifest(const el_artifact *a);
/* The limits as the signed manifest states them, before the ceiling (for inspect). */
EL_EXTERN const el_limits *el_artifact_declared_limits(const el_artifact *a);
EL_EXTERN const uint8_t *el_artifact_publisher(const el_artifact *a); /* 32-byte Ed25519 key */
/* Trust-store name of the publisher ("" when opened with EL_OPEN_ANY_PUBLISHER and unknown). */
EL_EXTERN const char *el_artifact_publisher_name(const el_artifact *a);
EL_EXTERN size_t el_artifact_file_count(const el_artifact *a);
EL_EXTERN const el_artifact_file *el_artifact_file_at(const el_artifact *a, size_t i);
EL_EXTERN const el_artifact_file *el_artifact_find(const el_artifact *a, const char *path);
EL_EXTERN uint64_t el_artifact_size(const el_artifact *a);
/* The verified bytes of the whole artifact (read-only, valid while it is open). */
EL_EXTERN const uint8_t *el_artifact_bytes(const el_artifact *a);
/* CID of the whole artifact, computed on first call. */
EL_EXTERN el_status el_artifact_cid(el_artifact *a, char out[EL_CID_MAX], el_error *err);

/* Packs every regular file under dir (capsule.json required and validated; symlinks, devices
 * and unsafe names are refused) into out_path, atomically (temp file, fsync, rename). When
 * out_path is NULL the artifact goes to "NAME-VERSION.capsule" in the current directory, and
 * path_out (if not NULL, PATH_MAX bytes) receives the path used. cid_out gets its CID. */
EL_EXTERN el_status el_artifact_pack(const char *dir, const el_keypair *key, const char *out_path,
                           char *path_out, char cid_out[EL_CID_MAX], el_error *err);

/* Appends a signature block and the end-of-archive to tar bytes that end right before it
 * (body_len a multiple of 512). Used by the packer, and by tests to sign hostile archives.
 * *out is malloc'd. */
EL_EXTERN el_status el_artifact_seal(const uint8_t *body, size_t body_len, const el_keypair *key,
                           uint8_t **out, size_t *out_len, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
