/*
 * fetch.h - moving artifacts through IPFS by CID (SPEC section 4): fetch from trustless
 * gateways with every byte verified against the CID, and publish to a Kubo node so that the CID
 * it reports equals el_cid_of_file (profile unixfs-v1-2025).
 */
#ifndef ELASTOS_FETCH_H
#define ELASTOS_FETCH_H

#include "elastos/cid.h"
#include "elastos/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of a fetch: total file size, one block, and the number of blocks. */
#define EL_FETCH_MAX_SIZE ((uint64_t)4 << 30)
#define EL_FETCH_MAX_BLOCK (((size_t)1 << 20) + 65536)
#define EL_FETCH_MAX_BLOCKS 1000000

/* Fetches the bytes of the file CID cid from the IPFS trustless gateways (base URLs such as
 * "http://127.0.0.1:8080"), tried in order until one serves bytes that verify: a raw CID as
 * ?format=raw (SHA-256 checked), a dag-pb CID as ?format=car (every block checked against its
 * CID, the UnixFS tree walked from the root, sizes checked). The file is written next to
 * out_path, fsync'd and renamed to out_path only after full verification (and a last check that
 * el_cid_of_file(out_path) == cid); nothing is left behind on failure.
 * EL_ERR_NOTFOUND when no gateway has it, EL_ERR_TRUST when a gateway served wrong bytes (and
 * none served the right ones), EL_ERR_FORMAT for a bad CID, EL_ERR_USAGE without gateways.
 * rt may be NULL (it is not used yet). */
el_status el_fetch_cid(el_runtime *rt, const char *cid, const char *const *gateways, size_t n, const char *out_path,
                       el_error *err);

/* Adds the file at path to the Kubo node whose RPC API is api_url (e.g. "http://127.0.0.1:5001")
 * with the unixfs-v1-2025 import options, pinned; cid_out gets the CID Kubo reports, which must
 * equal el_cid_of_file(path) (EL_ERR_TRUST otherwise, naming both). EL_ERR_NOTFOUND when the
 * API cannot be reached, EL_ERR_IO for other HTTP failures. */
el_status el_publish_kubo(const char *api_url, const char *path, char cid_out[EL_CID_MAX], el_error *err);

#ifdef __cplusplus
}
#endif
#endif
