/*
 * broker_internal.h - the host's side of a session (broker.c), internal to libelastos: the
 * router through which the daemon (serve.c) delivers messages between capsules and lets the
 * shell orchestrate. Its interface is jansson's JSON, which the public API does not expose;
 * include/elastos/broker.h declares el_msg_router opaque.
 */
#ifndef ELASTOS_LIB_BROKER_INTERNAL_H
#define ELASTOS_LIB_BROKER_INTERNAL_H

#include "elastos/broker.h"

#include <jansson.h>
#include <stdbool.h>

/* Capsule-to-capsule messages (SPEC section 5): send_message needs a token for
 * elastos://capsule/<address> with action message, checked like any other use (a bare NAME is
 * short for NAME@<the sender's publisher id>); the router (serve.c) delivers and queues.
 * Without a router, send_message answers not_found (no capsule runs beside a standalone one)
 * and receive_messages an empty list. */
struct el_msg_router {
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
};

/* Routes this session's messages through r (copied); NULL removes the router. */
void el__session_set_router(el_session *s, const el_msg_router *r);

#endif
