/*
 * provider.c - the provider table and the one status-to-protocol-code table (provider.h).
 *
 * Routing is data: a request goes to the first provider that answers its type, and a
 * provider_call to the first whose scheme starts its uri. Adding a provider is one file and
 * one line below; broker.c does not change.
 */
#include "provider.h"

#include <string.h>

static const el__provider *const table[] = {
    &el__prov_storage, &el__prov_cid, &el__prov_net, &el__prov_ai, &el__prov_msg, &el__prov_orch,
};
_Static_assert(sizeof table / sizeof table[0] <= EL__PROV_MAX, "raise EL__PROV_MAX");

const el__provider *el__provider_at(size_t slot)
{
    return slot < sizeof table / sizeof table[0] ? table[slot] : NULL;
}

const el__provider *el__provider_find(el_req_type t, const char *uri, size_t *slot)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const el__provider *p = table[i];
        if (!(p->requests & EL__REQ_BIT(t)))
            continue;
        if (t == EL_REQ_PROVIDER_CALL && (!uri || strncmp(uri, p->scheme, strlen(p->scheme)) != 0))
            continue;
        *slot = i;
        return p;
    }
    return NULL;
}

/* Every failure a provider reports, and the code the capsule reads (anything else: internal). */
static const struct {
    el_status st;
    const char *code;
} codes[] = {
    {EL_ERR_USAGE, "bad_request"},        {EL_ERR_FORMAT, "bad_request"},
    {EL_ERR_NOTFOUND, "not_found"},       {EL_ERR_TRUST, "denied"},
    {EL_ERR_LIMIT, "limit"},              {EL__ERR_UNAVAILABLE, "unavailable"},
    {EL__ERR_UNSUPPORTED, "unsupported"},
};

const char *el__status_code(el_status st)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].st == st)
            return codes[i].code;
    return "internal";
}
