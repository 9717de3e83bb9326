/*
 * storage.h - the storage provider (storage.c); internal to libelastos, used by broker.c.
 */
#ifndef ELASTOS_LIB_STORAGE_H
#define ELASTOS_LIB_STORAGE_H

#include "elastos/runtime.h"

#include <jansson.h>
#include <stdbool.h>

/* Limits that keep every storage resource URI within EL_RESOURCE_MAX and every tree within
 * what the quota measure counts. */
#define EL_STORAGE_PATH_MAX 1000
#define EL_STORAGE_MAX_DEPTH 32

/* Checks a localhost://storage/... URI; *rel points into uri after the prefix ("" = root,
 * accepted only with allow_root). */
el_status el__storage_parse(const char *uri, const char **rel, bool allow_root, el_error *err);
/* The capsule's storage directory (created 0700); used for the WASI /storage preopen. */
el_status el__storage_root(el_runtime *rt, const char *capsule, char *out, size_t cap, el_error *err);
/* Opens (creating, 0700) the capsule's storage root; the fd is the caller's to close. Every
 * operation below works beneath such a root fd, never by path. */
el_status el__storage_open(el_runtime *rt, const char *capsule, int *fd, el_error *err);
el_status el__storage_read(int root, const char *rel, size_t max, uint8_t **data, size_t *len, el_error *err);
/* The quota ledger of the storage directory open as root (storage.c explains it): one per
 * directory and process, never freed; NULL when root cannot be examined. */
typedef struct el__quota el__quota;
el__quota *el__quota_get(int root);
/* Measures the directory exactly now (its tree and its unlinked files still open here); returns
 * the bytes counted, which become the estimate. */
uint64_t el__quota_measure(el__quota *q, int root);
/* Writes rel (a temp file renamed into place), charged to the directory's ledger first. */
el_status el__storage_write(int root, const char *rel, const void *data, size_t len, uint64_t quota_bytes,
                           el_error *err);
el_status el__storage_list(int root, const char *rel, json_t **entries, el_error *err);
el_status el__storage_delete(int root, const char *rel, el_error *err);

#endif
