/*
 * protocol.h - the runtime protocol's public constants (SPEC section 5, docs/protocol.md): the
 * size and depth bounds of a message, and the strict base64 its byte fields use.
 *
 * Parsing and encoding messages is the library's own (lib/protocol_internal.h): its types are
 * jansson's, which the public API does not expose.
 */
#ifndef ELASTOS_PROTOCOL_H
#define ELASTOS_PROTOCOL_H

#include "elastos/elastos.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_MSG_MAX (1u << 20)
/* Deepest nesting of arrays and objects a message may have, counting the envelope. */
#define EL_MSG_MAX_DEPTH 32

/* Standard base64 with padding; decode is strict. Both return malloc'd buffers (NULL on bad
 * input or no memory). */
EL_EXTERN char *el_protocol_base64_encode(const void *data, size_t len);
EL_EXTERN uint8_t *el_protocol_base64_decode(const char *text, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
