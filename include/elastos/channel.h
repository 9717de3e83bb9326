/*
 * channel.h - the runtime channel as a substrate sees it: where a capsule's runtime-protocol
 * messages go and their answers come from (docs/protocol.md "Transport").
 *
 * The substrates (wasm.h, vm.h) carry bytes between a capsule and a channel and know nothing of
 * who answers: the broker's sessions provide one (el_broker_session_channel, broker.h), a test or an
 * embedder may provide another. This keeps the substrates below the policy layer
 * (docs/internals.md).
 */
#ifndef ELASTOS_CHANNEL_H
#define ELASTOS_CHANNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_channel {
    /* Answers one message; always a malloc'd response (NULL only when out of memory), its
     * length in *out_len. */
    char *(*handle)(void *arg, const void *msg, size_t len, size_t *out_len);
    /* The slot for a response kept because it did not fit the capsule's buffer (the host-call
     * transport): *len receives the slot of its length. */
    char **(*kept)(void *arg, size_t **len);
    void *arg;
    const char *capsule_id; /* the instance whose messages these are (32 hex chars) */
} el_channel;

#ifdef __cplusplus
}
#endif
#endif
