/*
 * provider.h - the interface between the capability core (broker.c) and the providers that do
 * the work a token unlocks (lib/prov_*.c); internal to libelastos. docs/protocol.md "Providers".
 *
 * The core keeps sessions, request ids, capability requests, token checks, grants and the
 * audit. A provider is one const el__provider: the scheme of the resources it serves, the
 * request types it answers, and one handler (Redis's rio backends are the model: a small table
 * of function pointers, no knowledge of the caller's internals). The core hands each call an
 * el__pcall: what the provider may know about the capsule, the request, and the core's two
 * services (a token use, an audit record) as function pointers, so providers never link against
 * the broker. A handler answers with a status; the core turns every failure into a protocol
 * error code through one table (el__status_code), so a given failure reads the same from every
 * provider.
 *
 * Shape chosen so provider capsules (issue 17) can sit behind the same entry: a scheme, a set
 * of requests, one call that gets a request and gives a response or a status.
 */
#ifndef ELASTOS_LIB_PROVIDER_H
#define ELASTOS_LIB_PROVIDER_H

#include "elastos/audit.h"
#include "broker_internal.h"
#include "elastos/manifest.h"
#include "protocol_internal.h"
#include "elastos/sign.h"
#include "elastos/token.h"

#include <jansson.h>
#include <stdbool.h>

/* Largest payload that still fits a 1 MiB message once base64-encoded with its envelope. */
#define EL__MAX_PAYLOAD (EL_MSG_MAX / 4 * 3 - 4096)

/* Two outcomes only providers report; they are protocol codes, never exit codes, and never
 * leave the broker. */
#define EL__ERR_UNAVAILABLE ((el_status)200) /* an outside service could not be reached */
#define EL__ERR_UNSUPPORTED ((el_status)201) /* this host does not offer the service */

/* Most providers a table may hold (the size of a session's per-provider state). */
#define EL__PROV_MAX 16

typedef struct el__pcall el__pcall;

/* ---- provider capsules (prov_capsule.c; docs/providers.md) ---------------------------------- */

/* One provider_call forwarded to a provider capsule: what the provider is told of it (never the
 * caller's token). */
typedef struct el__fwd {
    uint64_t call_id;            /* unique in this runtime; the provider's answer names it */
    const char *scheme;          /* the bound scheme, "elastos://kv/" */
    const char *target;          /* what the operator bound it to, "kv@^1" or a CID */
    const char *caller;          /* the consumer's address, "<name>@<publisher id>" */
    const char *caller_instance; /* its instance id (32 hex) */
    const char *resource;        /* the uri the consumer's token was checked for */
    const char *action;          /* "execute" (what provider_call needs) */
    const char *op;              /* the uri after the scheme, "get" in elastos://kv/get */
    const json_t *body;          /* the consumer's body */
    const struct el_artifact *art;     /* the provider capsule, verified, declaring scheme */
    const char *cid;                   /* its CID */
    const char *const *grants;         /* the binding's operator grants for its instance */
    size_t n_grants;
    const char *const *args;           /* the binding's arguments: the instance's argv[1..] */
    size_t n_args;
} el__fwd;

/* The host's way of running a provider capsule for one call (launch.c registers it on every
 * session it starts): runs f->art with f as its pending call until it answers or ends. EL_OK
 * with *result (new reference) the provider's answer, or a failure with *code the protocol code
 * the consumer gets and err a message safe to show it. */
typedef el_status (*el__forward_fn)(void *arg, const el__fwd *f, json_t **result, const char **code, el_error *err);

/* broker.c: the forward hook of a session (NULL: this session cannot reach provider capsules,
 * as a provider capsule's own session cannot). */
void el__session_set_forward(el_session *s, el__forward_fn fn, void *arg);
/* The host that keeps a provider instance across calls (serve_kept.c in the daemon, launch.c in
 * a standalone run): the instance's session asks it for each next call and tells it each
 * answer. Both are called from the provider's own requests, with the runtime held (next
 * releases it while it waits). */
typedef struct el__provider_host {
    /* Blocks until the next call for this instance: EL_OK with *f (read at once: the session
     * copies it), or EL_ERR_NOTFOUND with err saying why there will be none (stopped, unbound). */
    el_status (*next)(void *arg, const el__fwd **f, el_error *err);
    /* The instance's answer to call call_id: result (borrowed) or, when code != NULL, a failure
     * with code (a protocol code) and message. A call the host gave up on is ignored. */
    void (*answer)(void *arg, uint64_t call_id, const json_t *result, const char *code, const char *message);
    void *arg;
} el__provider_host;

/* broker.c: makes s the session of a kept provider instance served by h (copied): its
 * get_provider_call takes the next call from h once the previous one was answered. */
void el__session_serve_host(el_session *s, const el__provider_host *h);

/* launch.c: the broker session of a prepared launch (serve.c makes a kept provider's). */
struct el_launch_ctx;
el_session *el__launch_session(struct el_launch_ctx *l);

/* How long a consumer waits for a provider capsule's answer to one call, in serve (serve_kept.c)
 * and in a standalone run (launch.c); past it the provider instance is stopped. */
#define EL__PROVIDER_CALL_MS 10000
/* prov_capsule.c: the one message for a call its provider did not answer in EL__PROVIDER_CALL_MS:
 * unavailable, with a safe line in err. */
el_status el__provider_late(const char *scheme, el_error *err);
/* prov_capsule.c: the one message for a provider instance that ended (st: how its run ended,
 * EL_OK for an exit) before answering a call of scheme: unavailable, with a safe line in err. */
el_status el__provider_ended(const char *scheme, el_status st, el_error *err);


/* provider.c: whether scheme is (or overlaps) one of the built-in providers' (never bindable). */
bool el__provider_builtin(const char *scheme);
/* provider.c: the binding serving uri (its "elastos://ROOT/"), EL_ERR_NOTFOUND when none; clear b
 * with el__provider_binding_clear. */
struct el_provider_binding;
el_status el__provider_bound(el_runtime *rt, const char *uri, struct el_provider_binding *b, el_error *err);
void el__provider_binding_clear(struct el_provider_binding *b);
/* provider.c: a binding's (or a route's, route.c) target: a CID, or NAME[@RANGE] with NAME a
 * capsule name (1-64 of [a-z0-9._-]) and RANGE a semver range. */
bool el__provider_target_valid(const char *target);
/* provider.c: grants[0..n) (each RESOURCE:ACTION[,ACTION]..., no newline; at most
 * EL_PROVIDER_GRANTS_MAX) checked and joined by newlines into out (cap bytes), as stored in the
 * state database; EL_ERR_USAGE naming the bad one. el__provider_split_grants is the inverse
 * (*out malloc'd strings, also on failure: free what *n counts); false when out of memory. */
el_status el__provider_join_grants(const char *const *grants, size_t n, char *out, size_t cap, el_error *err);
bool el__provider_split_grants(const char *joined, char ***out, size_t *n);
/* provider.c: the operator's audit record of a binding change (decision: provider_bind/unbind,
 * route_add/remove; what: the scheme or route prefix; grants and args joined as stored, "" when
 * none), the runtime's own (no capsule instance). EL_ERR_IO "refused: the audit log cannot be
 * written" on failure. */
el_status el__provider_audit_binding(el_runtime *rt, const char *decision, const char *what, const char *target,
                                     const char *grants, const char *args, el_error *err);
/* provider.c: opens (verifies) what target (el__provider_target_valid) names: a CID from the
 * store, or the highest installed, trusted NAME@RANGE; cid receives its CID. */
el_status el__provider_target_open(el_runtime *rt, const char *target, struct el_artifact **out, char cid[EL_CID_MAX],
                                   el_error *err);
/* route.c: whether art may serve a route (a wasm capsule): the one rule for `route add` and for
 * each request of the HTTP front (a route by name may since resolve to another capsule). */
bool el__route_runnable(const struct el_artifact *art);
/* route.c: whether the first len bytes of path are one the daemon's console answers itself,
 * before any route ("/console", anything under "/console/", "/metrics"): the one rule for the
 * HTTP front's requests (serve_http.c) and for `route add`, which refuses a prefix that would serve
 * one of them. */
bool el__route_console_path(const char *path, size_t len);
/* provider.c: opens (verifies) what target names for scheme: installed, trusted, wasm and
 * declaring scheme in its provides; cid receives its CID. */
el_status el__provider_open(el_runtime *rt, const char *scheme, const char *target, struct el_artifact **out,
                            char cid[EL_CID_MAX], el_error *err);

/* One call of one provider, filled by the core. Valid for the duration of the call. */
struct el__pcall {
    el_runtime *rt;
    const el_manifest *m;        /* the calling capsule's manifest (its limits, allowlists) */
    const char *capsule_id;      /* the calling instance (32 hex chars) */
    const char *owner_key;       /* its address, "<name>@<publisher id>" (el_sign_capsule_address): where
                                    its own state is kept and its messages come from (same-named
                                    capsules of two publishers differ) */
    const el_msg_router *router; /* the host's router (serve.c); its send == NULL: none */
    const el_request *q;         /* the parsed request */
    size_t *len;                 /* receives the response length */
    void **state;                /* this provider's per-session state; NULL until it sets it */

    /* Checks the request's token for one use of resource/action, and audits it (a use, or a
     * deny). EL_OK, or the refusal (err filled, c->code set to the token's protocol code). */
    el_status (*use)(el__pcall *c, const char *resource, unsigned action, el_token *tok, el_error *err);
    /* Appends an audit record for this capsule (decision: an EL_AUDIT_* value). */
    void (*audit)(el__pcall *c, const char *decision, const char *resource, const char *action, const char *reason,
                  const char *token_id);
    el__forward_fn forward; /* the host's runner of provider capsules; NULL: none reachable */
    void *forward_arg;
    bool coalesce;    /* set by the provider: use() counts a use identical to the last one
                         instead of writing it (one "repeated N times" record stands for them) */
    void *core;       /* the core's own (the session); providers don't touch it */
    const char *code; /* set by use() on a refused token; overrides el__status_code */
};

typedef struct el__provider {
    const char *name;   /* for messages and docs: "storage", "net", ... */
    const char *scheme; /* the resource URIs it serves start with this */
    uint32_t requests;  /* the request types it answers: bits (1u << el_req_type) */
    /* Answers c->q. EL_OK with *resp the encoded response (el_response_*(c->q->id, ..., c->len)),
     * or a status with err (the core encodes the error response). */
    el_status (*call)(el__pcall *c, char **resp, el_error *err);
    /* Frees the per-session state when the session ends (NULL: the provider keeps none). */
    void (*end)(void *state);
} el__provider;

#define EL__REQ_BIT(t) (1u << (t))

/* prov_msg.c: elastos://capsule/NAME (a bare name) is short for NAME@<publisher id> of the
 * capsule whose owner_key ("<name>@<publisher id>") is given; returns resource itself, or out
 * holding the long form. Every capsule resource granted, listed, asked for or used goes through
 * it, so tokens, policy lines and audit records always name the publisher. */
const char *el__capsule_resource(const char *owner_key, const char *resource, char out[EL_RESOURCE_MAX + 1]);

/* The providers (one per file). */
extern const el__provider el__prov_storage, el__prov_cid, el__prov_net, el__prov_msg,
    el__prov_orch, el__prov_egress;
/* prov_capsule.c: every provider_call no built-in provider serves (a bound scheme, or not_found);
 * not in the table, the broker's fallback. */
extern const el__provider el__prov_capsule;

/* The provider answering a request of type t (for provider_call: the one whose scheme starts
 * uri); NULL when none does. *slot receives its index (for per-session state). */
const el__provider *el__provider_find(el_req_type t, const char *uri, size_t *slot);
/* The provider at index slot (NULL past the end): for walking the table. */
const el__provider *el__provider_at(size_t slot);

/* The one mapping from a failure status to a protocol error code (docs/protocol.md "Errors"). */
const char *el__status_code(el_status st);

/* A response object {"type": type} to fill (inline: providers link to nothing of the core). */
static inline json_t *el__response_obj(const char *type)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    return o;
}

/* The answer to a provider_call: {"type": "provider_result", "result": result} for c's request
 * into *resp (result's reference is taken). Always EL_OK, so a handler can end with it. */
static inline el_status el__provider_result(const el__pcall *c, json_t *result, char **resp)
{
    json_t *r = el__response_obj("provider_result");
    json_object_set_new(r, "result", result);
    *resp = el__response_encode(c->q->id, r, c->len);
    return EL_OK;
}

#endif
