/*
 * (internal to libelastos: unit tests include it from lib/)
 * ai.h - the elastos://ai/ provider: model access for capsules (agents) through the OpenAI-
 * compatible chat-completions HTTP API, to an endpoint only the operator configures.
 *
 * A capsule reaches it with provider_call {token, uri: "elastos://ai/chat", body} and a token
 * for elastos://ai/chat (action execute); the broker checks the token, then calls el__ai_call.
 * The capsule never sees the endpoint, the model server's credentials, or the server's own error
 * messages (which may quote them): it gets the answer, or a protocol error code.
 *
 * Configuration (docs/agent-capsules.md), environment first, then $ELASTOS_HOME/config/ai.json:
 *   ELASTOS_AI_URL        base URL, e.g. http://127.0.0.1:8080/v1 (POST <url>/chat/completions)
 *   ELASTOS_AI_KEY        sent as "Authorization: Bearer <key>" (optional)
 *   ELASTOS_AI_MODEL      the "model" sent upstream (optional)
 *   ELASTOS_AI_TIMEOUT_MS whole-request timeout (default 120000)
 *   ai.json: {"url", "model", "api_key" | "api_key_file", "timeout_ms", "max_response_bytes"}
 *   (strict: unknown keys are errors; a file holding api_key must not be readable by others).
 *
 * Capsule body for "chat": {"messages": [{"role": "system"|"user"|"assistant", "content": S}...],
 * "max_tokens"?: 1..1000000, "temperature"?: 0..2}. Result: {"content": S, "finish_reason"?: S,
 * "model"?: S, "usage"?: {"prompt_tokens"?, "completion_tokens"?, "total_tokens"?}}.
 */
#ifndef ELASTOS_AI_H
#define ELASTOS_AI_H

#include "elastos/runtime.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_AI_DEFAULT_TIMEOUT_MS 120000
#define EL_AI_DEFAULT_MAX_RESPONSE ((size_t)4 << 20)
#define EL_AI_MAX_MESSAGES 256

typedef struct el_ai_config {
    char url[1024];     /* the chat-completions URL (…/chat/completions) */
    char model[256];    /* "" = none sent */
    char key[1024];     /* "" = no Authorization header; never shown to a capsule */
    long timeout_ms;
    size_t max_response;
} el_ai_config;

/* Loads the operator's configuration. EL_ERR_NOTFOUND when nothing configures an endpoint,
 * EL_ERR_CONFIG when the configuration is malformed (err names the field, never the key). */
el_status el__ai_config_load(el_runtime *rt, el_ai_config *cfg, el_error *err);

/* Validates a capsule's body for op "chat" and builds the upstream request (malloc'd JSON
 * text in *out). EL_ERR_FORMAT with err naming the problem when the body is not acceptable. */
el_status el__ai_build_request(const el_ai_config *cfg, const json_t *body, char **out, el_error *err);

/* Parses an upstream chat-completions response (untrusted bytes) into the result handed to the
 * capsule (*result, new reference). EL_ERR_FORMAT when malformed or without text content. */
el_status el__ai_parse_response(const char *data, size_t len, json_t **result, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
