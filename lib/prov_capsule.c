/*
 * prov_capsule.c - provider capsules (provider.h, docs/providers.md): every provider_call no
 * built-in provider serves. The uri's scheme (elastos://ROOT/) is looked up among the
 * operator's bindings (provider.c); none is not_found, naming the schemes there are. Then, in
 * this order: the bound capsule is opened and checked again (installed, trusted, wasm, declares
 * the scheme), the consumer's token is checked for the uri (execute) like every use, the forward
 * is audited, and the host's runner (el__pcall.forward, launch.c) runs the provider capsule with
 * {caller address, caller instance, resource, action, op, body}: never the consumer's token,
 * which stays in this file's caller. The provider's answer is relayed as provider_result; its
 * failure keeps the code it chose; a provider that crashes, hangs past its deadline or ends
 * without answering is `unavailable`.
 *
 * One shape for every host: the forward is synchronous, on the consumer's request (the shell's
 * decisions are run the same way), so a consumer has at most one call in flight, and the
 * provider's instance lives for one call (docs/providers.md says what that means for state).
 */
#include "elastos/provider.h"
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names the schemes provider_call serves (built-in, then bound), for the answer to an unknown uri. */
static void known_schemes(el_runtime *rt, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; el__provider_at(i) && w < cap; i++) {
        const el__provider *p = el__provider_at(i);
        if (p->requests & EL__REQ_BIT(EL_REQ_PROVIDER_CALL))
            w += (size_t)snprintf(out + w, cap - w, "%s%s...", w ? ", " : "", p->scheme);
    }
    el_provider_binding *v;
    size_t n;
    el_error e;
    if (el_provider_list(rt, &v, &n, &e) != EL_OK)
        return;
    for (size_t i = 0; i < n && w < cap; i++)
        w += (size_t)snprintf(out + w, cap - w, "%s%s...", w ? ", " : "", v[i].scheme);
    el_provider_list_free(v, n);
}

static el_status not_found(el__pcall *c, el_error *err)
{
    char known[256];
    known_schemes(c->rt, known, sizeof known);
    return el_error_set(err, EL_ERR_NOTFOUND, "no provider for this uri (known: %s)", known);
}

/* Runs the call on the bound provider (token checked, forward audited) and fills *result. */
static el_status forward(el__pcall *c, const el_provider_binding *b, json_t **result, el_error *err)
{
    const char *uri = el__req_str(c->q, "uri");
    el_artifact *art;
    char cid[EL_CID_MAX];
    el_status st = el__provider_open(c->rt, b->scheme, b->target, &art, cid, err);
    if (st != EL_OK) { /* the operator's binding no longer holds: the consumer learns only that */
        c->audit(c, EL_AUDIT_DENY, uri, "execute", err->msg, NULL);
        return el_error_set(err, EL__ERR_UNAVAILABLE, "the provider of %s is not available", b->scheme);
    }
    el_token tok;
    if ((st = c->use(c, uri, EL_ACT_EXECUTE, &tok, err)) != EL_OK) {
        el_artifact_close(art);
        return st;
    }
    static uint64_t seq; /* call ids: unique per process (one thread forwards at a time per runtime) */
    el__fwd f = {.call_id = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED),
                 .scheme = b->scheme,
                 .target = b->target,
                 .caller = c->owner_key,
                 .caller_instance = c->capsule_id,
                 .resource = uri,
                 .action = "execute",
                 .op = uri + strlen(b->scheme),
                 .body = json_object_get(c->q->body, "body"),
                 .art = art,
                 .cid = cid,
                 .grants = (const char *const *)b->grants,
                 .n_grants = b->n_grants,
                 .args = (const char *const *)b->args,
                 .n_args = b->n_args};
    char why[EL_CID_MAX + 400], tid[EL_TOKEN_ID_HEX];
    el_sign_hex_encode(tok.id, 16, tid);
    snprintf(why, sizeof why, "to %s %s (%s), call %llu", el_artifact_manifest(art)->name,
             el_artifact_manifest(art)->version, cid, (unsigned long long)f.call_id);
    c->audit(c, EL_AUDIT_FORWARD, uri, "execute", why, tid);
    const char *code = NULL;
    st = c->forward(c->forward_arg, &f, result, &code, err);
    el_artifact_close(art);
    if (st != EL_OK && code)
        c->code = code;
    return st;
}

el_status el__provider_late(const char *scheme, el_error *err)
{
    return el_error_set(err, EL__ERR_UNAVAILABLE, "the provider of %s did not answer within its deadline (%d s)", scheme,
                        EL__PROVIDER_CALL_MS / 1000);
}

el_status el__provider_ended(const char *scheme, el_status st, el_error *err)
{
    return el_error_set(err, EL__ERR_UNAVAILABLE, "the provider of %s %s", scheme,
                        st == EL_ERR_LIMIT  ? "was stopped at a limit (a hang or a runaway call)"
                        : st == EL_ERR_TRAP ? "crashed"
                        : st == EL_OK       ? "ended without answering"
                                            : "could not be started");
}

static el_status capsule_call(el__pcall *c, char **resp, el_error *err)
{
    const char *uri = el__req_str(c->q, "uri");
    if (strlen(uri) > EL_RESOURCE_MAX || !el_token_resource_match(uri, uri))
        return not_found(c, err);
    el_provider_binding b;
    el_status st = el__provider_bound(c->rt, uri, &b, err);
    if (st == EL_ERR_NOTFOUND)
        return not_found(c, err);
    if (st != EL_OK)
        return st;
    json_t *result = NULL;
    if (!c->forward)
        st = el_error_set(err, EL_ERR_TRUST, "a provider capsule cannot call another provider capsule");
    else
        st = forward(c, &b, &result, err);
    el__provider_binding_clear(&b);
    if (st != EL_OK)
        return st;
    return el__provider_result(c, result, resp);
}

const el__provider el__prov_capsule = {
    .name = "capsule providers",
    .scheme = "elastos://",
    .requests = EL__REQ_BIT(EL_REQ_PROVIDER_CALL),
    .call = capsule_call,
};
