/*
 * prov_msg.c - the messaging provider's entry (provider.h): send_message to
 * elastos://capsule/<address> (one message use) and receive_messages (the capsule's own queue,
 * no token); delivery and queues are the host's router (serve.c). Without a router nothing runs
 * beside the capsule: send answers not_found and receive an empty list.
 *
 * Names are unique only per publisher, so a capsule is addressed NAME@PUBLISHER_ID (sign.h,
 * el_sign_capsule_address) and a bare NAME means the caller's own publisher's: el__capsule_resource
 * makes that one rule for every elastos://capsule/ resource (the broker applies it to grants,
 * manifests and requests, this file to send_message.to).
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_DEFAULT_MAX 64

/* Capsule names as in manifests: [a-z0-9][a-z0-9._-]{0,63}. */
static bool capsule_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l < 1 || l > 64 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9')))
        return false;
    for (size_t i = 1; i < l; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '.' || n[i] == '_' || n[i] == '-'))
            return false;
    return true;
}

/* NAME or NAME@ID (ID: EL_PUBLISHER_ID_LEN lowercase hex digits): a capsule to message. */
static bool capsule_address_ok(const char *a)
{
    const char *at = strchr(a, '@');
    char name[72];
    if (!at)
        return capsule_name_ok(a);
    if (at - a > 64 || strlen(at + 1) != EL_PUBLISHER_ID_LEN)
        return false;
    snprintf(name, sizeof name, "%.*s", (int)(at - a), a);
    for (const char *p = at + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return capsule_name_ok(name);
}

const char *el__capsule_resource(const char *owner_key, const char *resource, char out[EL_RESOURCE_MAX + 1])
{
    size_t pl = strlen(el__prov_msg.scheme);
    const char *id = strchr(owner_key, '@');
    if (strncmp(resource, el__prov_msg.scheme, pl) != 0 || !capsule_name_ok(resource + pl) || !id)
        return resource;
    if ((size_t)snprintf(out, EL_RESOURCE_MAX + 1, "%s%s", resource, id) > EL_RESOURCE_MAX)
        return resource;
    return out;
}

static el_status msg_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const el_msg_router *rt = c->router;
    if (q->type == EL_REQ_RECEIVE_MESSAGES) {
        size_t max = (size_t)el__req_uint(q, "max", MSG_DEFAULT_MAX);
        if (max < 1)
            return el_error_set(err, EL_ERR_FORMAT, "receive_messages.max must be at least 1");
        if (max > MSG_DEFAULT_MAX)
            max = MSG_DEFAULT_MAX;
        json_t *msgs = rt->receive ? rt->receive(rt->arg, c->capsule_id, max) : json_array();
        json_t *r = el__response_obj("messages");
        json_object_set_new(r, "messages", msgs ? msgs : json_array());
        *resp = el__response_encode(q->id, r, c->len);
        return EL_OK;
    }
    const char *to = el__req_str(q, "to"), *payload = el__req_str(q, "payload");
    json_t *rtv = json_object_get(q->body, "reply_to");
    const char *reply_to = rtv ? json_string_value(rtv) : NULL;
    if (!capsule_address_ok(to))
        return el_error_set(err, EL_ERR_FORMAT, "send_message.to must be a capsule NAME or NAME@PUBLISHER_ID");
    if (reply_to && strlen(reply_to) > 128)
        return el_error_set(err, EL_ERR_FORMAT, "send_message.reply_to is too long");
    size_t n;
    uint8_t *bytes = el_protocol_base64_decode(payload, &n);
    if (!bytes)
        return el_error_set(err, EL_ERR_FORMAT, "payload is not valid base64");
    free(bytes);
    char given[EL_RESOURCE_MAX + 1], buf[EL_RESOURCE_MAX + 1];
    snprintf(given, sizeof given, "%s%s", el__prov_msg.scheme, to);
    const char *resource = el__capsule_resource(c->owner_key, given, buf), *addr = resource + strlen(el__prov_msg.scheme);
    el_status st = c->use(c, resource, EL_ACT_MESSAGE, NULL, err);
    if (st != EL_OK)
        return st;
    st = rt->send ? rt->send(rt->arg, c->owner_key, c->capsule_id, addr, payload, reply_to, err)
                  : el_error_set(err, EL_ERR_NOTFOUND, "no capsule %s is running", addr);
    if (st != EL_OK)
        return st;
    *resp = el__response_encode(q->id, el__response_obj("ok"), c->len);
    return EL_OK;
}

const el__provider el__prov_msg = {
    .name = "messaging",
    .scheme = "elastos://capsule/",
    .requests = EL__REQ_BIT(EL_REQ_SEND_MESSAGE) | EL__REQ_BIT(EL_REQ_RECEIVE_MESSAGES),
    .call = msg_call,
};
