/*
 * prov_net.c - the network provider's entry (provider.h): provider_call on
 * elastos://net/HOST:PORT: the manifest's allowlist, then the token (action execute), then one
 * bounded TCP exchange (net.c). body: {send?: base64, max_bytes?, timeout_ms?, shut_write?};
 * result: {data: base64}. A peer that cannot be reached is unavailable.
 */
#include "net.h"
#include "provider.h"

#include <stdlib.h>
#include <string.h>

static el_status net_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const char *uri = el__req_str(q, "uri");
    char host[256], port[8];
    el_status st = el__net_parse(uri, host, port, err);
    if (st != EL_OK)
        return st;
    json_t *b = json_object_get(q->body, "body"), *v;
    const char *k;
    if (!json_is_object(b))
        return el_error_set(err, EL_ERR_FORMAT, "body must be an object {send?, max_bytes?, timeout_ms?, shut_write?}");
    json_object_foreach(b, k, v)
    {
        bool ok = (!strcmp(k, "send") && json_is_string(v)) || (!strcmp(k, "shut_write") && json_is_boolean(v)) ||
                  (!strcmp(k, "max_bytes") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                   json_integer_value(v) <= EL__MAX_PAYLOAD) ||
                  (!strcmp(k, "timeout_ms") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                   json_integer_value(v) <= 60000);
        if (!ok)
            return el_error_set(err, EL_ERR_FORMAT, "body: unknown field or bad value");
    }
    if (!el__net_allowed(c->m, host, port)) {
        c->audit(c, EL_AUDIT_DENY, uri, "execute", "not in the manifest's resource_limits.network allowlist", NULL);
        return el_error_set(err, EL_ERR_TRUST, "not in the capsule's resource_limits.network allowlist");
    }
    if ((st = c->use(c, uri, EL_ACT_EXECUTE, NULL, err)) != EL_OK)
        return st;
    size_t n = 0;
    uint8_t *send = NULL;
    const char *sb = json_string_value(json_object_get(b, "send"));
    if (sb && !(send = el_protocol_base64_decode(sb, &n)))
        return el_error_set(err, EL_ERR_FORMAT, "body.send is not valid base64");
    size_t max = (size_t)el__req_uint(&(el_request){.body = b}, "max_bytes", EL__MAX_PAYLOAD);
    unsigned timeout = (unsigned)el__req_uint(&(el_request){.body = b}, "timeout_ms", 5000);
    uint8_t *data = NULL;
    size_t dn = 0;
    const el_msg_router *r = c->router;
    if (r->blocking)
        r->blocking(r->arg, true);
    st = el__net_exchange(host, port, send, n, !json_is_false(json_object_get(b, "shut_write")), max, timeout, &data, &dn,
                         err);
    if (r->blocking)
        r->blocking(r->arg, false);
    free(send);
    if (st == EL_ERR_IO) /* net.c's I/O failures are all "the peer could not be reached" */
        st = err->code = EL__ERR_UNAVAILABLE;
    if (st != EL_OK)
        return st;
    char *b64 = el_protocol_base64_encode(data, dn);
    free(data);
    if (!b64)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    json_t *res = json_object();
    json_object_set_new(res, "data", json_string(b64));
    free(b64);
    return el__provider_result(c, res, resp);
}

const el__provider el__prov_net = {
    .name = "net",
    .scheme = "elastos://net/",
    .requests = EL__REQ_BIT(EL_REQ_PROVIDER_CALL),
    .call = net_call,
};
