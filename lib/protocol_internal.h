/*
 * protocol_internal.h - RuntimeRequest / RuntimeResponse framing (SPEC section 5,
 * docs/protocol.md); internal to libelastos (the unit tests and fuzz targets include it too).
 * The public part (bounds, base64) is include/elastos/protocol.h.
 *
 * Parsing is strict: one JSON object, at most EL_MSG_MAX bytes, envelope {"id","request"},
 * a known "type", exactly the fields that type allows with the right JSON types, no duplicate
 * keys, at most EL_MSG_MAX_DEPTH levels of nesting. Responses are encoded compactly with keys in
 * insertion order ("type" first).
 */
#ifndef ELASTOS_LIB_PROTOCOL_INTERNAL_H
#define ELASTOS_LIB_PROTOCOL_INTERNAL_H

#include "elastos/protocol.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum el_req_type {
    EL_REQ_PING,
    EL_REQ_GET_RUNTIME_INFO,
    EL_REQ_REQUEST_CAPABILITY,
    EL_REQ_STORAGE_READ,
    EL_REQ_STORAGE_WRITE,
    EL_REQ_STORAGE_LIST,
    EL_REQ_STORAGE_DELETE,
    EL_REQ_FETCH_CONTENT,
    EL_REQ_SEND_MESSAGE,
    EL_REQ_RECEIVE_MESSAGES,
    EL_REQ_PROVIDER_CALL,
    EL_REQ_LAUNCH_CAPSULE,
    EL_REQ_STOP_CAPSULE,
    EL_REQ_LIST_CAPSULES,
    EL_REQ_GRANT_CAPABILITY,
    EL_REQ_DENY_CAPABILITY,
    EL_REQ_REVOKE_CAPABILITY,
    EL_REQ_GET_DECISION_REQUEST,
    EL_REQ_GET_PROVIDER_CALL,    /* provider capsules only (docs/providers.md) */
    EL_REQ_ANSWER_PROVIDER_CALL,
    EL_REQ_FAIL_PROVIDER_CALL,
    EL_REQ_ASK_USER,             /* the shell only: an operator elsewhere decides (docs/web.md) */
    EL_REQ_COUNT
} el_req_type;

/* Most fields any request type has. */
#define EL_REQ_FIELDS 6

typedef struct el_request {
    uint64_t id;
    el_req_type type;
    json_t *body; /* el__request_parse: the inner request object (owned; freed by el__request_free) */
    char *text;   /* el__request_fast: NULL (body NULL too); the string values, owned */
    const char *str[EL_REQ_FIELDS]; /* el__request_fast: field i of the type's spec, in text, or NULL */
} el_request;

/* Parses one message. On failure returns EL_ERR_FORMAT, sets *id_out to the envelope's id when
 * it could be read (else 0), and err->msg says what is wrong. */
el_status el__request_parse(const void *buf, size_t len, el_request *req, uint64_t *id_out, el_error *err);
void el__request_free(el_request *req);

/* The hot path (ping, get_runtime_info, storage_*, fetch_content), without a jansson tree: true
 * when buf is exactly the compact encoding the SDKs send, {"id":N,"request":{"type":"T",...}}
 * with "type" first, no whitespace, and only string fields whose values are printable ASCII
 * without escapes; *req is then what el__request_parse gives for buf (read it with el__req_str,
 * release it with el__request_free). false for anything else, valid or not (and when out of
 * memory): el__request_parse judges it, so every refusal and its message stays that parser's. */
bool el__request_fast(const void *buf, size_t len, el_request *req);
const char *el__req_type_name(el_req_type t);

/* Field accessors for a parsed (hence validated) request; absent optional fields give NULL/0. */
const char *el__req_str(const el_request *r, const char *field);
uint64_t el__req_uint(const el_request *r, const char *field, uint64_t dflt);

/* Encodes {"id":id,"response":resp}; takes ownership of resp. Returns malloc'd text. */
char *el__response_encode(uint64_t id, json_t *resp, size_t *len);
/* {"id":id,"response":{"type":type}} (type plain ASCII: "pong", "ok"), without a JSON tree. */
char *el__response_type(uint64_t id, const char *type, size_t *len);
/* An error response {"type":"error","code":code,"message":message}. */
char *el__response_error(uint64_t id, const char *code, const char *message, size_t *len);

/* {"id":id,"response":{"type":type,"data":"<base64>"}} without building a JSON tree: the
 * storage and content hot path. */
char *el__response_data(uint64_t id, const char *type, const void *data, size_t n, size_t *len);

#endif
