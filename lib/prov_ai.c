/*
 * prov_ai.c - the ai provider's entry (provider.h): provider_call on elastos://ai/<op>, with a
 * token for exactly that URI (execute); the model call itself is ai.c's.
 */
#include "provider.h"

#include <string.h>

static el_status ai_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const char *uri = el__req_str(q, "uri");
    if (strlen(uri) > EL_RESOURCE_MAX || !el_token_resource_match(uri, uri))
        return el_error_set(err, EL_ERR_NOTFOUND, "no provider for this uri (malformed)");
    el_status st = c->use(c, uri, EL_ACT_EXECUTE, NULL, err);
    if (st != EL_OK)
        return st;
    json_t *result = NULL;
    if ((st = el__ai_call(c->rt, uri + strlen(el__prov_ai.scheme), json_object_get(q->body, "body"), &result, err)) != EL_OK)
        return st;
    return el__provider_result(c, result, resp);
}

const el__provider el__prov_ai = {
    .name = "ai",
    .scheme = "elastos://ai/",
    .requests = EL__REQ_BIT(EL_REQ_PROVIDER_CALL),
    .call = ai_call,
};
