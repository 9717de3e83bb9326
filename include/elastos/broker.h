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

#include <jansson.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_session el_session;

/* A session for a capsule instance (capsule_id: 32 hex chars, or NULL for a fresh random id).
 * art must outlive the session. */
EL_EXTERN el_status el_session_new(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out,
                         el_error *err);
EL_EXTERN void el_session_free(el_session *s);

/* The instance id the capsule runs as (32 hex chars; valid while s lives). */
EL_EXTERN const char *el_session_capsule_id(const el_session *s);
/* The capsule's address, "<name>@<publisher id>" (el_capsule_address). */
EL_EXTERN const char *el_session_address(const el_session *s);

/* Pre-authorizes RESOURCE:ACTION (or RESOURCE:ACTION,ACTION,..., one grant each) for this run
 * (elastos run --grant). Refused (EL_ERR_USAGE)
 * when outside the manifest's permissions. Audited as an operator grant. */
EL_EXTERN el_status el_session_grant(el_session *s, const char *spec, el_error *err);

/* When a grant covers localhost://storage/ + "*", fills host_dir with the capsule's storage
 * directory and *writable with whether write was granted; returns false otherwise. */
EL_EXTERN bool el_session_storage_preopen(el_session *s, char *host_dir, size_t cap, bool *writable);

/* Handles one message; always returns a malloc'd response (an error response when the
 * message was bad). *len receives its length. */
EL_EXTERN char *el_session_handle(el_session *s, const void *msg, size_t msg_len, size_t *len);

/* Capsule-to-capsule messages (SPEC section 5): send_message needs a token for
 * elastos://capsule/<address> with action message, checked like any other use (a bare NAME is
 * short for NAME@<the sender's publisher id>); the router (serve.c) delivers and queues.
 * Without a router, send_message answers not_found (no capsule runs beside a standalone one)
 * and receive_messages an empty list. */
typedef struct el_msg_router {
    /* Queues payload (base64, as sent) for a running capsule at address to ("name@publisher
     * id"), from the sender at address from (instance from_id); EL_ERR_NOTFOUND when none runs,
     * EL_ERR_LIMIT when a mailbox bound is reached. */
    el_status (*send)(void *arg, const char *from, const char *from_id, const char *to, const char *payload,
                      const char *reply_to, el_error *err);
    /* Takes up to max queued messages for capsule_id: a JSON array (new reference) of
     * {id, from, payload, timestamp, reply_to?}. */
    json_t *(*receive)(void *arg, const char *capsule_id, size_t max);
    void *arg;
    /* The orchestrator (the shell capsule running in serve) may also launch, stop and list
     * capsules (launch_capsule, stop_capsule, list_capsules); for anyone else they are denied.
     * launch fills id (33 bytes) and returns the code of what went wrong, with err. */
    bool orchestrator;
    el_status (*launch)(void *arg, const json_t *config, char *id, el_error *err);
    el_status (*stop)(void *arg, const char *capsule_id, el_error *err);
    json_t *(*list)(void *arg); /* a JSON array, new reference */
    /* Called with true before and false after a request blocks on the outside world (a network
     * exchange), so the host can let other capsules' requests through meanwhile. */
    void (*blocking)(void *arg, bool begin);
} el_msg_router;

/* Routes this session's messages through r (copied); NULL removes the router. */
EL_EXTERN void el_session_set_router(el_session *s, const el_msg_router *r);

/* The session as a substrate's runtime channel (channel.h): el_session_handle, and the slot
 * for a response kept because it did not fit (the host-call transport, protocol.md), behind
 * function pointers. Valid while s lives. */
EL_EXTERN const el_channel *el_session_channel(el_session *s);

#ifdef __cplusplus
}
#endif
#endif
