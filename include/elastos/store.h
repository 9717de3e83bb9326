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

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills path (PATH_MAX) with the store location of cid; EL_ERR_NOTFOUND when absent,
 * EL_ERR_FORMAT when cid is not a valid CID. */
EL_EXTERN el_status el_store_locate(el_runtime *rt, const char *cid, char *path, el_error *err);

/* Verifies the artifact at file and copies it into the store, pinned; cid_out gets its CID. */
EL_EXTERN el_status el_store_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err);

/* el_store_add flags. A pinned entry was installed on purpose and is kept by el_store_gc; an
 * unpinned one is a cache (fetched on demand by `run CID`), removed by gc unless a pinned entry
 * depends on it. Adding an entry that is already there can pin it, never unpin it. */
#define EL_STORE_PIN 1u

/* Like el_store_install, with flags (EL_STORE_PIN). Safe against concurrent adds of the same CID
 * and against a crash at any point: the index row is written before the file, which is written
 * to a temp file, fsync'd and renamed; a row without its file is dropped on the next listing. */
EL_EXTERN el_status el_store_add(el_runtime *rt, const char *file, unsigned flags, char cid_out[EL_CID_MAX], el_error *err);

typedef struct el_store_entry {
    char cid[EL_CID_MAX];
    char name[65];
    char version[128];
    el_capsule_type type;
    char publisher[EL_PK_TEXT];
    bool trusted; /* verifies and its publisher is in the trust store now */
    bool pinned;  /* installed on purpose (kept by gc); false for an on-demand cache entry */
    uint64_t size;
} el_store_entry;

/* Every artifact in the store (*out malloc'd; caller frees), sorted by name then version.
 * Entries that no longer verify are listed with trusted = false. */
EL_EXTERN el_status el_store_list(el_runtime *rt, el_store_entry **out, size_t *n, el_error *err);

typedef struct el_gc_report {
    size_t entries;   /* unpinned, unreferenced artifacts removed */
    uint64_t bytes;   /* their size */
    size_t leftovers; /* temp files of interrupted installs and fetches removed */
} el_gc_report;

/* Garbage collection: removes the leftovers of interrupted installs and fetches, and every
 * unpinned entry that no pinned entry needs (transitively, through manifest dependencies: a
 * pinned CID, or every stored version matching name + range). dry_run reports without removing.
 * Holds the store's exclusive lock, so it never races an install. */
EL_EXTERN el_status el_store_gc(el_runtime *rt, bool dry_run, el_gc_report *report, el_error *err);

/* Removes cid from the store; EL_ERR_NOTFOUND when absent. */
EL_EXTERN el_status el_store_remove(el_runtime *rt, const char *cid, el_error *err);

/* The highest version of capsule name satisfying range ("*" when NULL) among verified, trusted
 * store entries: fills cid and path (PATH_MAX). EL_ERR_NOTFOUND when none matches. */
EL_EXTERN el_status el_store_resolve(el_runtime *rt, const char *name, const char *range, char cid[EL_CID_MAX], char *path,
                           el_error *err);

/* Checks a manifest's dependencies, recursively: each resolved by pinned CID or by name and
 * semver range among the installed, trusted capsules, and verified like a capsule. Missing,
 * mismatched (name, version or CID) or cyclic dependencies are EL_ERR_NOTFOUND; an untrusted or
 * invalid one EL_ERR_TRUST. The message names the dependency chain. */
EL_EXTERN el_status el_store_check_deps(el_runtime *rt, const el_manifest *m, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
