/*
 * fetch.h - moving artifacts through IPFS by CID (SPEC section 4): fetch from trustless
 * gateways with every byte verified against the CID (publishing to a Kubo node: publish.h).
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

/* Where blocks come from: an IPFS trustless gateway (GET /ipfs/<cid>?format=car|raw) or a Kubo
 * node's RPC API (POST /api/v0/dag/export and /api/v0/block/get), e.g. "http://127.0.0.1:5001". */
typedef enum el_source_kind { EL_SOURCE_GATEWAY, EL_SOURCE_KUBO_API } el_source_kind;

typedef struct el_fetch_source {
    el_source_kind kind;
    const char *url; /* base URL; borrowed for the duration of the call */
} el_fetch_source;

/* Progress: bytes received so far, and the expected total (0 while unknown). Called from the
 * fetching thread, at most a few times per MiB. */
typedef void (*el_fetch_progress_fn)(void *ud, uint64_t received, uint64_t total);

typedef struct el_fetch_options {
    const el_fetch_source *sources; /* tried in order */
    size_t n_sources;
    el_fetch_progress_fn progress; /* optional */
    void *progress_ud;
    /* Optional directory for partial downloads of multi-block files: the verified blocks of an
     * interrupted fetch are kept in <partial_dir>/<cid>.car, and the next fetch of that CID asks
     * only for the blocks still missing (block by block, any source). NULL: nothing is kept. */
    const char *partial_dir;
} el_fetch_options;

/* Fetches the bytes of the file CID cid into out_path from the sources of o (gateways, base
 * URLs such as "http://127.0.0.1:8080", or Kubo APIs), tried in order until one serves bytes that
 * verify: a raw CID as ?format=raw (SHA-256 checked), a dag-pb CID as its own bytes or a CAR
 * (every block checked against its CID, the UnixFS tree walked from the root, sizes checked).
 * The file is written next to out_path, fsync'd and renamed to out_path only after full
 * verification (and a last check that el_cid_of_file(out_path) == cid); nothing is left behind
 * on failure. EL_ERR_NOTFOUND when no source has it, EL_ERR_TRUST when a source served wrong
 * bytes (and none served the right ones), EL_ERR_FORMAT for a bad CID, EL_ERR_USAGE without
 * sources. rt gives the configuration (ELASTOS_FETCH_*_TIMEOUT, config.h). */
EL_EXTERN el_status el_fetch(el_runtime *rt, const char *cid, const el_fetch_options *o, const char *out_path, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
