/*
 * prov_storage.c - the storage provider's entry (provider.h): storage_read, storage_write,
 * storage_list and storage_delete on localhost://storage/..., one token use each; the files
 * themselves are storage.c's. The capsule's storage root is opened on first use and kept open
 * for the session (the per-session state).
 */
#include "provider.h"
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void storage_end(void *state)
{
    int *fd = state;
    if (fd && *fd >= 0)
        close(*fd);
    free(fd);
}

/* The session's storage root fd (opened on first use); -1 with err on failure. */
static int root_fd(el__pcall *c, el_error *err)
{
    int *fd = *c->state;
    if (fd && *fd >= 0)
        return *fd;
    if (!fd && !(fd = *c->state = malloc(sizeof *fd))) {
        el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        return -1;
    }
    *fd = -1;
    if (el__storage_open(c->rt, c->owner_key, fd, err) != EL_OK)
        return -1;
    return *fd;
}

static el_status storage_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const char *uri = el__req_str(q, "path"), *rel;
    bool list = q->type == EL_REQ_STORAGE_LIST;
    el_status st = el__storage_parse(uri, &rel, list, err);
    if (st != EL_OK) {
        c->audit(c, EL_AUDIT_DENY, uri, "", err->msg, NULL);
        return st;
    }
    unsigned action = q->type == EL_REQ_STORAGE_WRITE ? EL_ACT_WRITE : q->type == EL_REQ_STORAGE_DELETE ? EL_ACT_DELETE
                                                                                                         : EL_ACT_READ;
    /* Listing a directory needs a pattern covering all of its entries: check a child. */
    char resource[EL_RESOURCE_MAX + 32];
    snprintf(resource, sizeof resource, list ? "localhost://storage/%s%s_" : "localhost://storage/%s", rel,
             *rel && list ? "/" : "");
    el_token tok;
    el_error e2;
    if (list && el_token_decode(el__req_str(q, "token"), &tok, &e2) == EL_OK) {
        size_t pl = strlen(tok.resource);
        if (pl < 2 || strcmp(tok.resource + pl - 2, "/*") != 0) { /* refused before a use is spent */
            c->audit(c, EL_AUDIT_DENY, resource, "read", "listing needs a token for a whole directory", NULL);
            return el_error_set(err, EL_ERR_TRUST, "listing needs a token for a whole directory (.../*)");
        }
    }
    if ((st = c->use(c, resource, action, &tok, err)) != EL_OK)
        return st;
    int fd = root_fd(c, err);
    if (fd < 0)
        return err->code == EL_OK ? EL_ERR_INTERNAL : err->code;
    json_t *r = NULL;
    switch (q->type) {
    case EL_REQ_STORAGE_READ: {
        uint8_t *data;
        size_t n;
        st = el__storage_read(fd, rel, EL__MAX_PAYLOAD, &data, &n, err);
        if (st == EL_OK) {
            *resp = el__response_data(q->id, "storage_data", data, n, c->len);
            free(data);
            return EL_OK;
        }
        break;
    }
    case EL_REQ_STORAGE_WRITE: {
        size_t n;
        uint8_t *data = el_protocol_base64_decode(el__req_str(q, "content"), &n);
        if (!data)
            return el_error_set(err, EL_ERR_FORMAT, "content is not valid base64");
        st = el__storage_write(fd, rel, data, n, (uint64_t)c->m->limits.storage_mb << 20, err);
        free(data);
        if (st == EL_OK) {
            *resp = el__response_type(q->id, "ok", c->len); /* the write hot path: no JSON tree */
            return EL_OK;
        }
        break;
    }
    case EL_REQ_STORAGE_LIST: {
        json_t *entries;
        st = el__storage_list(fd, rel, &entries, err);
        if (st == EL_OK) {
            r = el__response_obj("storage_list");
            json_object_set_new(r, "entries", entries);
        }
        break;
    }
    default:
        st = el__storage_delete(fd, rel, err);
        if (st == EL_OK)
            r = el__response_obj("ok");
    }
    if (st == EL_ERR_LIMIT) { /* a quota refusal is a limit enforced: audited */
        char tid[EL_TOKEN_ID_HEX];
        el_sign_hex_encode(tok.id, 16, tid);
        c->audit(c, EL_AUDIT_DENY, resource, el_manifest_action_name(action), err->msg, tid);
    }
    if (st != EL_OK)
        return st;
    *resp = el__response_encode(q->id, r, c->len);
    return EL_OK;
}

const el__provider el__prov_storage = {
    .name = "storage",
    .scheme = "localhost://storage/",
    .requests = EL__REQ_BIT(EL_REQ_STORAGE_READ) | EL__REQ_BIT(EL_REQ_STORAGE_WRITE) |
                EL__REQ_BIT(EL_REQ_STORAGE_LIST) | EL__REQ_BIT(EL_REQ_STORAGE_DELETE),
    .call = storage_call,
    .end = storage_end,
};
