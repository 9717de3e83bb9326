/*
 * elastos.h - the common part of libelastos's public API: status codes and error reports.
 *
 * Every function of libelastos that can fail returns an el_status and, when it fails, fills the
 * caller's el_error (if not NULL) with a one-line, human-readable message. Status values are the
 * exit codes of SPEC section 7, so the CLI can return them unchanged.
 */
#ifndef ELASTOS_ELASTOS_H
#define ELASTOS_ELASTOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_VERSION "0.1.0"

/* Marks the public API. libelastos is compiled with -fvisibility=hidden, so only what a public
 * header declares EL_EXTERN is exported from a shared build; everything internal (el__*) stays
 * hidden (scripts/check-layers.sh checks both ways). */
#if defined(__GNUC__)
#define EL_EXTERN __attribute__((visibility("default")))
#else
#define EL_EXTERN
#endif

typedef enum el_status {
    EL_OK = 0,
    EL_ERR_USAGE = 64,     /* bad command line or API misuse */
    EL_ERR_FORMAT = 65,    /* malformed artifact, manifest, CID, message */
    EL_ERR_NOTFOUND = 66,  /* file, CID, key, dependency not found */
    EL_ERR_INTERNAL = 70,  /* a bug or an unexpected library failure */
    EL_ERR_IO = 74,        /* an I/O error (read, write, fsync, rename) */
    EL_ERR_TRUST = 77,     /* refused: unsigned, bad signature, unknown publisher, tampered */
    EL_ERR_CONFIG = 78,    /* bad configuration ($ELASTOS_HOME, key file permissions, ...) */
    EL_ERR_TRAP = 134,     /* the capsule crashed (a WebAssembly trap) */
    EL_ERR_LIMIT = 137     /* stopped by a resource limit */
} el_status;

/* A one-line error report. Fixed-size so that filling it never allocates. */
typedef struct el_error {
    el_status code;
    char msg[1024];
} el_error;

/* Fills err (if not NULL) with code and a printf-style message; returns code. */
EL_EXTERN el_status el_error_set(el_error *err, el_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with "what: " (keeps the code); returns err->code. */
EL_EXTERN el_status el_error_prefix(el_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
