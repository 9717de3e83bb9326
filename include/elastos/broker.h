/*
 * broker.h - one capsule instance's side of the runtime protocol: the capability flow of SPEC
 * section 6 and the providers tokens unlock.
 *
 * For each request the broker checks the message (protocol.h), and for capabilities:
 *   1. a request outside the manifest's permissions is denied without asking anyone;
 *   2. an operator grant (--grant) or an earlier "for this run" decision covers it, or
 *   3. the shell capsule decides (shell.h); then a token is issued (token.h) or not.
 * Every use of a token is checked on every request. Every request, grant, denial and use is
 * audited (audit.h).
 */
#ifndef ELASTOS_BROKER_H
#define ELASTOS_BROKER_H

#include "elastos/artifact.h"
#include "elastos/channel.h"
#include "elastos/runtime.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_session el_session;

/* A session for a capsule instance (capsule_id: 32 hex chars, or NULL for a fresh random id).
 * art must outlive the session. */
EL_EXTERN el_status el_broker_session_new(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out,
                         el_error *err);
EL_EXTERN void el_broker_session_free(el_session *s);

/* The instance id the capsule runs as (32 hex chars; valid while s lives). */
EL_EXTERN const char *el_broker_session_capsule_id(const el_session *s);

/* Pre-authorizes RESOURCE:ACTION (or RESOURCE:ACTION,ACTION,..., one grant each) for this run
 * (elastos run --grant). Refused (EL_ERR_USAGE)
 * when outside the manifest's permissions. Audited as an operator grant. */
EL_EXTERN el_status el_broker_session_grant(el_session *s, const char *spec, el_error *err);

/* When a grant covers localhost://storage/ + "*", fills host_dir with the capsule's storage
 * directory and *writable with whether write was granted; returns false otherwise. */
EL_EXTERN bool el_broker_session_storage_preopen(el_session *s, char *host_dir, size_t cap, bool *writable);

/* Handles one message; always returns a malloc'd response (an error response when the
 * message was bad). *len receives its length. */
EL_EXTERN char *el_broker_session_handle(el_session *s, const void *msg, size_t msg_len, size_t *len);

/* The host's messaging and orchestration hooks (serve.c's router, given through
 * el_launch_spec.router); their interface is the library's own (lib/broker_internal.h). */
typedef struct el_msg_router el_msg_router;

/* The session as a substrate's runtime channel (channel.h): el_broker_session_handle, and the slot
 * for a response kept because it did not fit (the host-call transport, protocol.md), behind
 * function pointers. Valid while s lives. */
EL_EXTERN const el_channel *el_broker_session_channel(el_session *s);

#ifdef __cplusplus
}
#endif
#endif
