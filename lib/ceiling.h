/*
 * ceiling.h - the operator's ceiling on resource_limits (ceiling.c), internal to the library:
 * el_artifact_open (trust.c) applies it; the fuzz target tests/fuzz/fuzz_ceiling.c drives the parser.
 */
#ifndef ELASTOS_CEILING_H
#define ELASTOS_CEILING_H

#include "elastos/manifest.h"
#include "elastos/artifact.h"
#include "elastos/runtime.h"

enum { EL_CEILING_MEMORY_MB, EL_CEILING_CPU_MS, EL_CEILING_WALL_MS, EL_CEILING_STORAGE_MB, EL_CEILING_INSTANCES,
       EL_CEILING_N };

/* The ceiling, indexed as above; UINT64_MAX where the operator set none. */
typedef struct el_ceiling {
    uint64_t v[EL_CEILING_N];
} el_ceiling;

/* Parses limits.json's text (strict: a JSON object of known fields with integers in range);
 * EL_ERR_CONFIG with a one-line reason otherwise. c is filled either way (no ceiling on error). */
el_status el__ceiling_parse(const char *text, size_t len, el_ceiling *c, el_error *err);

/* Reads $ELASTOS_HOME/config/limits.json (no file: no ceiling; an unreadable or malformed one
 * EL_ERR_CONFIG), then el__ceiling_clamp on a's manifest (el_artifact_open's last step). */
el_status el__ceiling_apply(el_runtime *rt, el_artifact *a, el_error *err);

/* Lowers every limit of l above the ceiling to it (and a microVM's memory_mb, vm may be NULL);
 * true if anything was lowered. */
bool el__ceiling_clamp(const el_ceiling *c, el_limits *l, el_microvm_config *vm);

#endif
