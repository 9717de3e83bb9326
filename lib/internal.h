/*
 * internal.h - helpers shared inside libelastos; not part of the public API.
 */
#ifndef ELASTOS_INTERNAL_H
#define ELASTOS_INTERNAL_H

#include "elastos/elastos.h"
#include "elastos/fs.h"
#include "elastos/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wasm_engine_t;

struct el_runtime {
    char home[4096];
    struct wasm_engine_t *engine; /* created on first wasm launch (wasm.c) */
};

/* Fresh random lowercase-hex id of 2*nbytes characters. */
void el_random_hex(char *out, size_t nbytes);

#endif
