/*
 * publish.h - putting an artifact on IPFS (SPEC section 4): adds it to a Kubo node so that the
 * CID the node reports equals el_cid_of_file (profile unixfs-v1-2025); fetch.h is the way back.
 */
#ifndef ELASTOS_PUBLISH_H
#define ELASTOS_PUBLISH_H

#include "elastos/cid.h"
#include "elastos/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Adds the file at path to the Kubo node whose RPC API is api_url (e.g. "http://127.0.0.1:5001")
 * with the unixfs-v1-2025 import options, pinned; cid_out gets the CID Kubo reports, which must
 * equal el_cid_of_file(path) (EL_ERR_TRUST otherwise, naming both). EL_ERR_NOTFOUND when the
 * API cannot be reached, EL_ERR_IO for other HTTP failures (the stall and overall deadlines of
 * a fetch apply, from rt's settings). */
EL_EXTERN el_status el_publish_kubo(el_runtime *rt, const char *api_url, const char *path, char cid_out[EL_CID_MAX],
                                    el_error *err);

#ifdef __cplusplus
}
#endif
#endif
