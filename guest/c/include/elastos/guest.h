/*
 * elastos/guest.h - the C guest SDK (elastos-guest) for capsules: wasm32-wasip1 and native.
 *
 * Capsule identity comes from the environment the runtime sets at launch:
 *   ELASTOS_CAPSULE_NAME  the capsule's registered name (its manifest name)
 *   ELASTOS_CAPSULE_ID    the unique id of this instance, different for every launch
 *
 * Example:
 *     #include <elastos/guest.h>
 *     int main(void) {
 *         CapsuleInfo info;
 *         if (elastos_capsule_info(&info) != 0) return 1;   // not running under elastos
 *         printf("I am %s, instance %s\n", info.name, info.id);
 *     }
 *
 * The runtime channel (RuntimeClient) sends RuntimeRequests and receives the matching
 * RuntimeResponses, in the wire format of docs/protocol.md. On wasm32-wasi it uses the host
 * import elastos.call; natively (vm capsules) the file descriptor named by ELASTOS_RUNTIME_FD,
 * one JSON message per line. Stdio stays free for the capsule.
 *
 *     RuntimeClient *c = elastos_client_open();
 *     if (!c) return 1;                                   // not running under elastos
 *     char *token = NULL;
 *     uint8_t *data = NULL;
 *     size_t len = 0;
 *     const char *path = "localhost://storage/notes/today.txt";
 *     if (elastos_request_capability(c, path, "read", NULL, &token, NULL) != 0 ||
 *         elastos_storage_read(c, token, path, &data, &len) != 0) {
 *         fprintf(stderr, "elastos: %s (%s)\n", elastos_client_error(c),
 *                 elastos_client_error_code(c));           // e.g. "... (denied)"
 *     } else {
 *         fwrite(data, 1, len, stdout);
 *     }
 *     free(data);
 *     free(token);
 *     elastos_client_close(c);
 *
 * Conventions for every function below:
 *  - Return 0 on success or a negative ELASTOS_ERR_* value; elastos_client_error() describes
 *    the failure, elastos_client_error_code() gives the runtime's error code when the runtime
 *    answered with an error response (ELASTOS_ERR_RUNTIME).
 *  - Every output is cleared first (NULL / 0) and set only on success. Every returned pointer
 *    is malloc'd and owned by the caller: release it with free(), except where a dedicated
 *    *_free function is named. Byte outputs (uint8_t **data) are never NULL on success, even
 *    for zero bytes.
 *  - Strings passed in must be valid UTF-8 (ELASTOS_ERR_INVALID otherwise); strings received
 *    are valid UTF-8 without embedded NULs (the response is refused otherwise).
 *  - A request larger than 1 MiB on the wire is refused locally (ELASTOS_ERR_INVALID) without
 *    being sent.
 *  - A RuntimeClient must not be used by two threads at once.
 */
#ifndef ELASTOS_GUEST_H
#define ELASTOS_GUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Identity of the running capsule. The strings point into the process environment: valid for
 * the life of the process, never freed by the caller. */
typedef struct CapsuleInfo {
    const char *name; /* ELASTOS_CAPSULE_NAME */
    const char *id;   /* ELASTOS_CAPSULE_ID */
} CapsuleInfo;

/* Fills info from the environment. Returns 0, or -1 when either variable is missing or empty
 * (the program is not running as a capsule); info is then zeroed. */
int elastos_capsule_info(CapsuleInfo *info);

/* ---- errors ------------------------------------------------------------------------------ */

enum {
    ELASTOS_OK = 0,
    ELASTOS_ERR_RUNTIME = -1,   /* the runtime answered with an error response: see
                                   elastos_client_error_code() ("denied", "not_found", ...) */
    ELASTOS_ERR_TRANSPORT = -2, /* the channel failed (I/O error, runtime gone) or is unusable
                                   after an earlier failure; every later call fails too */
    ELASTOS_ERR_PROTOCOL = -3,  /* the response was malformed, oversized, of the wrong type, or
                                   carried the wrong id (after a wrong id or an over-long line
                                   the channel is unusable: later calls give _TRANSPORT) */
    ELASTOS_ERR_INVALID = -4,   /* a bad argument (NULL, invalid UTF-8, request over 1 MiB) */
    ELASTOS_ERR_NOMEM = -5      /* out of memory */
};

/* ---- the channel ------------------------------------------------------------------------- */

typedef struct RuntimeClient RuntimeClient;

/* Opens a client on the runtime channel, or returns NULL when the program is not running under
 * elastos (natively: ELASTOS_RUNTIME_FD unset, malformed, or not an open descriptor) or memory
 * is short. On wasm it always succeeds (the elastos.call import is linked in). Requests are
 * numbered 1, 2, 3, ... per process, shared by every client of the process, as the runtime
 * expects; closing a client does not close the channel. */
RuntimeClient *elastos_client_open(void);

/* Frees the client (NULL is fine). The channel itself stays open for later clients. */
void elastos_client_close(RuntimeClient *c);

/* Sends one request and waits for its response. request_json is the inner request object, e.g.
 * "{\"type\":\"ping\"}" (any valid JSON object with a string "type"; it is sent compacted),
 * wrapped by the client in {"id":N,"request":...}. On success returns 0 and *response_json, a
 * malloc'd compact copy of the inner response object (caller frees). An error response from
 * the runtime returns ELASTOS_ERR_RUNTIME, with *response_json NULL and the code and message
 * available from elastos_client_error_code() / elastos_client_error(). */
int elastos_client_call(RuntimeClient *c, const char *request_json, char **response_json);

/* A description of the last failure ("" after a success); for ELASTOS_ERR_RUNTIME the runtime's
 * message as sent (cut to 511 bytes; it may contain any character but NUL). Valid until the
 * next call on c. Never NULL. */
const char *elastos_client_error(RuntimeClient *c);

/* The runtime's error code of the last failure when it was an error response (one of
 * "bad_request", "denied", "invalid_token", "expired", "revoked", "not_found", "limit",
 * "internal", "unsupported", or a newer code), else "". Never NULL. */
const char *elastos_client_error_code(RuntimeClient *c);

/* ---- request parameters ------------------------------------------------------------------ */

/* The requested scope of a capability. 0 leaves max_uses / expiry_secs unset; delegatable is
 * -1 (unset), 0 (false) or 1 (true). Unset fields are not sent; when all are unset the
 * constraints object is not sent. Start from ELASTOS_CONSTRAINTS_INIT. */
typedef struct CapabilityConstraints {
    uint32_t max_uses;    /* how many uses the token allows; 0: unset */
    uint64_t expiry_secs; /* lifetime in seconds from issue; 0: unset */
    int delegatable;      /* -1 unset, 0 false, 1 true */
} CapabilityConstraints;
#define ELASTOS_CONSTRAINTS_INIT {0, 0, -1}

/* How to launch a capsule (shell and launcher capsules). cid and/or name (NULL: not sent; at
 * least one is required); args[0..n_args) and env_names/env_values[0..n_env) (sent in this
 * order; env as a JSON object, so names must differ); limits narrow the manifest's (0: unset;
 * none set: no limits object). */
typedef struct LaunchConfig {
    const char *cid;
    const char *name;
    const char *const *args;
    size_t n_args;
    const char *const *env_names;
    const char *const *env_values;
    size_t n_env;
    uint32_t memory_mb, cpu_ms, wall_ms;
} LaunchConfig;

/* ---- typed requests ---------------------------------------------------------------------- */

/* ping -> pong. */
int elastos_ping(RuntimeClient *c);

/* get_runtime_info -> runtime_info. Any output may be NULL (not wanted). */
int elastos_get_runtime_info(RuntimeClient *c, char **version, char **name, char **id);

/* get_runtime_info -> runtime_info's capsule_address: this capsule's address, "NAME@PUBLISHER_ID"
 * (what receivers see as a message's from, and what elastos://capsule/ resources name). */
int elastos_get_capsule_address(RuntimeClient *c, char **address);

/* request_capability -> capability_token. constraints may be NULL (none). token is the opaque
 * token string to pass to later requests, token_id its id (for revocation); token_id may be
 * NULL (not wanted). */
int elastos_request_capability(RuntimeClient *c, const char *resource, const char *action,
                               const CapabilityConstraints *constraints, char **token,
                               char **token_id);
/* The same, also giving expires_at (Unix seconds; 0 when the token does not expire). token_id
 * and expires_at may be NULL. */
int elastos_request_capability_ex(RuntimeClient *c, const char *resource, const char *action,
                                  const CapabilityConstraints *constraints, char **token,
                                  char **token_id, uint64_t *expires_at);

/* storage_read -> storage_data. path is a full URI ("localhost://storage/notes/a.txt"). */
int elastos_storage_read(RuntimeClient *c, const char *token, const char *path, uint8_t **data,
                         size_t *len);
/* storage_write -> ok. data may be NULL when len is 0. */
int elastos_storage_write(RuntimeClient *c, const char *token, const char *path,
                          const void *data, size_t len);
/* storage_list -> storage_list. *entries is one malloc'd block: an array of *n strings
 * followed by a NULL pointer and the strings themselves - release it with a single free().
 * Directory names end in "/". */
int elastos_storage_list(RuntimeClient *c, const char *token, const char *path, char ***entries,
                         size_t *n);
/* storage_delete -> ok. */
int elastos_storage_delete(RuntimeClient *c, const char *token, const char *path);

/* fetch_content -> content. uri is "elastos://cid/..." */
int elastos_fetch_content(RuntimeClient *c, const char *token, const char *uri, uint8_t **data,
                          size_t *len);

/* send_message -> ok. to is the receiving capsule's address, NAME@PUBLISHER_ID (a message's
 * from), or a bare NAME for a capsule of this capsule's own publisher; reply_to (NULL: not
 * sent) names the message this one answers. payload may be NULL when len is 0. */
int elastos_send_message(RuntimeClient *c, const char *token, const char *to,
                         const void *payload, size_t len, const char *reply_to);

/* One received message. from is the sender's address, NAME@PUBLISHER_ID, set by the runtime
 * (a capsule named like another but signed by someone else has another address); reply_to is
 * NULL when the message answers nothing; timestamp is Unix seconds. */
typedef struct ElastosMessage {
    char *id, *from;
    uint8_t *payload;
    size_t payload_len;
    uint64_t timestamp;
    char *reply_to;
} ElastosMessage;

/* receive_messages -> messages. max 0 leaves the maximum to the runtime. Returns *n messages
 * in *msgs (NULL when none); release them with elastos_messages_free(*msgs, *n). */
int elastos_receive_messages(RuntimeClient *c, size_t max, ElastosMessage **msgs, size_t *n);
void elastos_messages_free(ElastosMessage *msgs, size_t n);

/* provider_call -> provider_result. body_json is any JSON value (sent compacted: no whitespace,
 * keys in the given order); *result_json is the provider's result, compact JSON text. */
int elastos_provider_call(RuntimeClient *c, const char *token, const char *uri,
                          const char *body_json, char **result_json);

/* launch_capsule -> capsule_launched (capsule_id may be NULL: not wanted). */
int elastos_launch_capsule(RuntimeClient *c, const LaunchConfig *config, char **capsule_id);
/* stop_capsule -> ok. */
int elastos_stop_capsule(RuntimeClient *c, const char *capsule_id);
/* list_capsules -> capsule_list. *capsules_json is the "capsules" array as compact JSON text. */
int elastos_list_capsules(RuntimeClient *c, char **capsules_json);

/* ---- shell only -------------------------------------------------------------------------- */

/* A capsule's pending capability request, for the shell to decide. */
typedef struct ElastosDecisionRequest {
    uint64_t request_id;
    char *capsule_name, *capsule_id, *publisher, *resource, *action;
    CapabilityConstraints constraints; /* unset fields as in CapabilityConstraints */
} ElastosDecisionRequest;

/* get_decision_request -> decision_request. Release *out with elastos_decision_request_free. */
int elastos_get_decision_request(RuntimeClient *c, ElastosDecisionRequest *out);
/* Frees the strings of *req and zeroes it (NULL is fine). */
void elastos_decision_request_free(ElastosDecisionRequest *req);

/* grant_capability -> capability_granted. scope is "once", "run" or "always". token_id may be
 * NULL (not wanted). */
int elastos_grant_capability(RuntimeClient *c, uint64_t request_id, const char *scope,
                             char **token_id);
/* deny_capability -> ok. */
int elastos_deny_capability(RuntimeClient *c, uint64_t request_id, const char *reason);
/* revoke_capability -> ok. */
int elastos_revoke_capability(RuntimeClient *c, const char *token_id);
/* ask_user -> user_answer: asks an operator elsewhere (the daemon's console, docs/web.md) to
 * decide request_id, waiting at most timeout_ms (0: the runtime's default, 60 s). On success
 * *answer (malloc'd) is "once", "run", "always" or "deny". ELASTOS_ERR_RUNTIME with the code
 * "no_console" when there is nobody to ask (no daemon with a console: decide as without one),
 * "timeout" when nobody answered in time. */
int elastos_ask_user(RuntimeClient *c, uint64_t request_id, uint32_t timeout_ms, char **answer);

/* ---- provider capsules only (docs/providers.md) -------------------------------------------- */

/* The call a provider instance was started for: the consumer's address (NAME@PUBLISHER_ID) and
 * instance, the uri its token was checked for (resource), the action, op (the uri after the
 * scheme) and the consumer's body as compact JSON. Never the consumer's token. */
typedef struct ElastosProviderCall {
    uint64_t call_id;
    char *scheme, *caller, *caller_instance, *resource, *action, *op;
    char *body_json;
} ElastosProviderCall;

/* get_provider_call -> provider_request. Release *out with elastos_provider_call_free. */
int elastos_get_provider_call(RuntimeClient *c, ElastosProviderCall *out);
void elastos_provider_call_free(ElastosProviderCall *call);
/* answer_provider_call -> ok: result_json (any JSON value) is the consumer's provider_result. */
int elastos_answer_provider_call(RuntimeClient *c, uint64_t call_id, const char *result_json);
/* fail_provider_call -> ok: the consumer gets an error with code (one of the protocol's codes:
 * bad_request, not_found, denied, limit, unavailable, unsupported, internal) and message. */
int elastos_fail_provider_call(RuntimeClient *c, uint64_t call_id, const char *code, const char *message);

#ifdef __cplusplus
}
#endif
#endif
