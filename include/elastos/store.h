/*
 * store.h - the local content store: verified artifacts under $ELASTOS_HOME/store, by CID.
 *
 * An artifact enters the store only after full verification (signature, trusted publisher,
 * structure, manifest) and under the CID of its bytes, written atomically, so the file at
 * store/<cid>.capsule always holds exactly the bytes of that CID.
 */
#ifndef ELASTOS_STORE_H
#define ELASTOS_STORE_H

#include "elastos/artifact.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills path (PATH_MAX) with the store location of cid; EL_ERR_NOTFOUND when absent,
 * EL_ERR_FORMAT when cid is not a valid CID. */
el_status el_store_locate(el_runtime *rt, const char *cid, char *path, el_error *err);

/* Verifies the artifact at file and copies it into the store; cid_out gets its CID. */
el_status el_store_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err);

#ifdef __cplusplus
}
#endif
#endif
