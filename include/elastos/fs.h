/*
 * fs.h - careful file-system helpers libelastos uses and exports for tools built on it:
 * bounded whole-file reads, atomic writes, mkdir -p.
 */
#ifndef ELASTOS_FS_H
#define ELASTOS_FS_H

#include "elastos/elastos.h"

#include <limits.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file (at most max bytes) into a malloc'd buffer with a NUL after the data. */
EL_EXTERN el_status el_fs_read_file(const char *path, size_t max, char **out, size_t *len, el_error *err);

/* Writes data to path atomically: temp file in the same directory, fsync, rename, fsync of the
 * directory. mode is the file's final mode. Nothing is left behind on failure. */
EL_EXTERN el_status el_fs_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, el_error *err);

/* The running binary's absolute path (/proc/self/exe), or with dir its directory: where the
 * shipped files (gateway, VM init, shell capsule) are found and what a compile process execs.
 * out holds PATH_MAX bytes. EL_ERR_NOTFOUND when it cannot be read. */
EL_EXTERN el_status el_fs_exe_path(char out[PATH_MAX], bool dir, el_error *err);

/* mkdir -p with the given mode for each created component. */
EL_EXTERN el_status el_fs_mkdirs(const char *path, unsigned mode, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
