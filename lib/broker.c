/*
 * broker.c - a capsule instance's side of the runtime protocol (include/elastos/broker.h):
 * request dispatch, the capability flow, token checks on every use, providers, auditing.
 */
#include "elastos/broker.h"
#include "elastos/ai.h"
#include "elastos/audit.h"
#include "elastos/net.h"
#include "elastos/protocol.h"
#include "elastos/shell.h"
#include "elastos/store.h"
#include "elastos/token.h"
#include "internal.h"
#include "session.h"
#include "storage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest payload that still fits a 1 MiB message once base64-encoded with its envelope. */
#define MAX_PAYLOAD (EL_MSG_MAX / 4 * 3 - 4096)

typedef struct grant {
    char *resource; /* pattern */
    unsigned action;
    uint64_t max_uses, expiry; /* the scope decided; 0 = unlimited */
    bool delegatable;
} grant;

struct el_session {
    el_runtime *rt;
    const el_artifact *art;
    const el_manifest *m;
    char capsule_id[33];
    char publisher[EL_PK_TEXT];
    uint64_t last_id;
    grant *grants; /* operator grants and "for this run" decisions */
    size_t n_grants;
    char *pending;
    size_t pending_len;
    int storage_fd; /* the capsule's storage root, opened on first use; -1 before */
    char storage_key[128]; /* the capsule's address, "<name>@<publisher id>" (el_capsule_address):
                              it names its storage and its mailbox, so same-named capsules of
                              two publishers share neither */
    /* shell sessions only */
    bool is_shell;
    el_decision_request decide;
    char *decide_strings[5];
    bool decided;
    el_decision decision;
    char reason[256];
    el_msg_router router; /* send == NULL: none */
};

static void audit(el_session *s, const char *decision, const char *resource, const char *action, const char *reason,
                  const char *token_id)
{
    el_audit_record r = {.capsule = s->m->name,
                         .capsule_id = s->capsule_id,
                         .publisher = s->publisher,
                         .resource = resource ? resource : "",
                         .action = action ? action : "",
                         .decision = decision,
                         .reason = reason ? reason : "",
                         .token_id = token_id ? token_id : ""};
    el_error err;
    /* Uses are frequent and harmless to batch; every decision is written through at once. */
    el_status st = !strcmp(decision, EL_AUDIT_USE) ? el_audit_defer(s->rt, &r, &err) : el_audit_append(s->rt, &r, &err);
    if (st != EL_OK)
        fprintf(stderr, "elastos: warning: audit append failed: %s\n", err.msg);
}

static el_status session_init(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out,
                              el_error *err)
{
    el_session *s = calloc(1, sizeof *s);
    if (!s)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    s->rt = rt;
    s->storage_fd = -1;
    s->art = art;
    s->m = el_artifact_manifest(art);
    if (capsule_id)
        snprintf(s->capsule_id, sizeof s->capsule_id, "%s", capsule_id);
    else
        el_random_hex(s->capsule_id, 16);
    el_pubkey_format(el_artifact_publisher(art), s->publisher);
    el_capsule_address(s->m->name, el_artifact_publisher(art), s->storage_key);
    *out = s;
    return EL_OK;
}

el_status el_session_new(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out, el_error *err)
{
    return session_init(rt, art, capsule_id, out, err);
}

el_status el_session_new_shell(el_runtime *rt, const el_artifact *art, const char *capsule_id,
                               const el_decision_request *q, el_session **out, el_error *err)
{
    el_status st = session_init(rt, art, capsule_id, out, err);
    if (st != EL_OK)
        return st;
    el_session *s = *out;
    s->is_shell = true;
    s->decide = *q;
    const char *src[5] = {q->capsule_name, q->capsule_id, q->publisher, q->resource, q->action};
    for (int i = 0; i < 5; i++)
        s->decide_strings[i] = strdup(src[i] ? src[i] : "");
    s->decide.capsule_name = s->decide_strings[0];
    s->decide.capsule_id = s->decide_strings[1];
    s->decide.publisher = s->decide_strings[2];
    s->decide.resource = s->decide_strings[3];
    s->decide.action = s->decide_strings[4];
    s->decide.constraints = q->constraints ? json_incref(q->constraints) : NULL;
    snprintf(s->reason, sizeof s->reason, "shell made no decision");
    return EL_OK;
}

el_decision el_session_shell_result(const el_session *s, char reason[256])
{
    snprintf(reason, 256, "%s", s->reason);
    return s->decided ? s->decision : EL_DECIDE_DENY;
}

void el_session_free(el_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_grants; i++)
        free(s->grants[i].resource);
    free(s->grants);
    free(s->pending);
    if (s->storage_fd >= 0)
        close(s->storage_fd);
    for (int i = 0; i < 5; i++)
        free(s->decide_strings[i]);
    json_decref(s->decide.constraints);
    free(s);
}

const char *el_session_capsule_id(const el_session *s) { return s->capsule_id; }
const char *el_session_address(const el_session *s) { return s->storage_key; }

void el_session_set_router(el_session *s, const el_msg_router *r)
{
    if (r)
        s->router = *r;
    else
        memset(&s->router, 0, sizeof s->router);
}

char **el_session_pending(el_session *s, size_t **len)
{
    *len = &s->pending_len;
    return &s->pending;
}

/* ---- capability flow ------------------------------------------------------------------------ */

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

/* NAME or NAME@ID (ID: 16 lowercase hex digits, el_capsule_address): a capsule to message. */
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

#define CAPSULE_RES "elastos://capsule/"

/* Names are not unique across publishers, so a capsule is always named with its publisher:
 * elastos://capsule/NAME (a capsule of the caller's own publisher) is short for
 * elastos://capsule/NAME@<that publisher's id>, in grants, manifests, requests and uses alike.
 * Returns resource itself, or out holding the long form. */
static const char *capsule_resource(const el_session *s, const char *resource, char out[EL_RESOURCE_MAX + 1])
{
    size_t pl = strlen(CAPSULE_RES);
    if (strncmp(resource, CAPSULE_RES, pl) != 0 || !capsule_name_ok(resource + pl))
        return resource;
    const char *id = strchr(s->storage_key, '@');
    if ((size_t)snprintf(out, EL_RESOURCE_MAX + 1, "%s%s", resource, id) > EL_RESOURCE_MAX)
        return resource;
    return out;
}


/* Does pattern outer cover everything inner names? inner is a concrete resource or a pattern
 * ending in "/" "*"; a pattern is covered by itself or by a broader pattern, on whole segments. */
static bool covers(const char *outer, const char *inner)
{
    size_t il = strlen(inner), ol = strlen(outer);
    if (il < 2 || strcmp(inner + il - 2, "/*") != 0)
        return el_resource_match(outer, inner);
    if (!strcmp(outer, inner))
        return true;
    char probe[EL_RESOURCE_MAX + 8];
    snprintf(probe, sizeof probe, "%.*s_", (int)(il - 1), inner); /* a child of inner's prefix */
    return ol >= 2 && !strcmp(outer + ol - 2, "/*") && il > ol && !strncmp(outer, inner, ol - 1) &&
           el_resource_match(outer, probe);
}

static bool pattern_in_manifest(const el_session *s, const char *resource, unsigned action)
{
    const el_manifest *m = s->m;
    char buf[EL_RESOURCE_MAX + 1];
    for (size_t i = 0; i < m->n_permissions; i++)
        if ((m->permissions[i].actions & action) && covers(capsule_resource(s, m->permissions[i].resource, buf), resource))
            return true;
    return false;
}

/* A grant covers a later request only if the request is at least as narrow as what was
 * decided: a limit the shell saw can't be dropped by asking again. */
static bool within(uint64_t decided, uint64_t asked) { return decided == 0 || (asked != 0 && asked <= decided); }

static bool grants_cover(const el_session *s, const char *resource, unsigned action, uint64_t max_uses,
                         uint64_t expiry, bool delegatable)
{
    for (size_t i = 0; i < s->n_grants; i++) {
        const grant *g = &s->grants[i];
        if (g->action == action && covers(g->resource, resource) && within(g->max_uses, max_uses) &&
            within(g->expiry, expiry) && (g->delegatable || !delegatable))
            return true;
    }
    return false;
}

static el_status add_grant(el_session *s, const char *resource, unsigned action, uint64_t max_uses, uint64_t expiry,
                           bool delegatable, el_error *err)
{
    grant *ng = realloc(s->grants, (s->n_grants + 1) * sizeof *ng);
    if (!ng)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    s->grants = ng;
    if (!(ng[s->n_grants].resource = strdup(resource)))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    ng[s->n_grants].action = action;
    ng[s->n_grants].max_uses = max_uses;
    ng[s->n_grants].expiry = expiry;
    ng[s->n_grants++].delegatable = delegatable;
    return EL_OK;
}

el_status el_session_grant(el_session *s, const char *spec, el_error *err)
{
    const char *colon = strrchr(spec, ':');
    unsigned action = colon ? el_action_from_name(colon + 1) : 0;
    if (!colon || !action || colon == spec || colon - spec > EL_RESOURCE_MAX)
        return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: expected RESOURCE:ACTION (action one of read, write, execute, message, delete, admin)", spec);
    char given[EL_RESOURCE_MAX + 1], buf[EL_RESOURCE_MAX + 1];
    snprintf(given, sizeof given, "%.*s", (int)(colon - spec), spec);
    const char *resource = capsule_resource(s, given, buf);
    if (!pattern_in_manifest(s, resource, action))
        return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: outside the capsule's manifest permissions", spec);
    el_status st = add_grant(s, resource, action, 0, 0, true, err);
    if (st == EL_OK)
        audit(s, EL_AUDIT_OPERATOR, resource, colon + 1, "granted on the command line", NULL);
    return st;
}

bool el_session_storage_preopen(el_session *s, char *host_dir, size_t cap, bool *writable)
{
    bool r = false, w = false, d = false;
    for (size_t i = 0; i < s->n_grants; i++)
        if (!strcmp(s->grants[i].resource, "localhost://storage/*")) {
            r |= s->grants[i].action == EL_ACT_READ;
            w |= s->grants[i].action == EL_ACT_WRITE;
            d |= s->grants[i].action == EL_ACT_DELETE;
        }
    /* WASI can only mount read-only or read-write (which includes unlink), never write-only:
     * mount only what the grants fully cover. */
    el_error err;
    if (!r || el_storage_root(s->rt, s->storage_key, host_dir, cap, &err) != EL_OK)
        return false;
    *writable = w && d;
    return true;
}

static json_t *obj_type(const char *type)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    return o;
}

static char *issue(el_session *s, uint64_t id, const char *resource, const char *action_name, unsigned action,
                   uint32_t max_uses, uint64_t expiry, bool delegatable, const char *why, size_t *len)
{
    el_token_request tr = {.holder_hex = s->capsule_id,
                           .capsule_name = s->m->name,
                           .publisher = s->publisher,
                           .resource = resource,
                           .action = action,
                           .expiry_secs = expiry,
                           .max_uses = max_uses,
                           .delegatable = delegatable};
    char *text = NULL;
    el_token tok;
    el_error err;
    if (el_token_issue(s->rt, &tr, &text, &tok, &err) != EL_OK) {
        audit(s, EL_AUDIT_DENY, resource, action_name, err.msg, NULL);
        return el_response_error(id, "internal", err.msg, len);
    }
    char tid[EL_TOKEN_ID_HEX];
    el_hex_encode(tok.id, 16, tid);
    audit(s, EL_AUDIT_GRANT, resource, action_name, why, tid);
    json_t *r = obj_type("capability_token");
    json_object_set_new(r, "token", json_string(text));
    json_object_set_new(r, "token_id", json_string(tid));
    if (tok.expiry)
        json_object_set_new(r, "expires_at", json_integer((json_int_t)tok.expiry));
    free(text);
    return el_response_encode(id, r, len);
}

static char *request_capability(el_session *s, const el_request *q, size_t *len)
{
    char buf[EL_RESOURCE_MAX + 1];
    const char *resource = capsule_resource(s, el_req_str(q, "resource"), buf), *action_name = el_req_str(q, "action");
    unsigned action = el_action_from_name(action_name);
    json_t *c = json_object_get(q->body, "constraints");
    uint64_t max_uses = 0, expiry = 0;
    bool delegatable = false;
    if (c) {
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            bool ok = (!strcmp(k, "max_uses") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                       json_integer_value(v) <= UINT32_MAX) ||
                      (!strcmp(k, "expiry_secs") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                       json_integer_value(v) <= 10L * 365 * 86400) ||
                      (!strcmp(k, "delegatable") && json_is_boolean(v));
            if (!ok)
                return el_response_error(q->id, "bad_request", "constraints: unknown field or bad value", len);
        }
        max_uses = el_req_uint(&(el_request){.body = c}, "max_uses", 0);
        expiry = el_req_uint(&(el_request){.body = c}, "expiry_secs", 0);
        delegatable = json_is_true(json_object_get(c, "delegatable"));
    }
    if (!action)
        return el_response_error(q->id, "bad_request", "unknown action", len);
    if (strlen(resource) > EL_RESOURCE_MAX || !(el_resource_match(resource, resource) ||
                                               (strlen(resource) > 2 && !strcmp(resource + strlen(resource) - 2, "/*"))))
        return el_response_error(q->id, "bad_request", "malformed resource", len);
    audit(s, EL_AUDIT_REQUEST, resource, action_name, "", NULL);
    if (!pattern_in_manifest(s, resource, action)) {
        audit(s, EL_AUDIT_DENY, resource, action_name, "outside the manifest's permissions (shell not consulted)", NULL);
        return el_response_error(q->id, "denied", "outside the capsule's manifest permissions", len);
    }
    if (grants_cover(s, resource, action, max_uses, expiry, delegatable))
        return issue(s, q->id, resource, action_name, action, (uint32_t)max_uses, expiry, delegatable,
                     "covered by an operator or run grant", len);
    if (s->is_shell) {
        audit(s, EL_AUDIT_DENY, resource, action_name, "the shell holds no capabilities", NULL);
        return el_response_error(q->id, "denied", "the shell holds no capabilities", len);
    }
    el_decision_request dq = {.request_id = ++s->rt->decision_seq,
                              .capsule_name = s->m->name,
                              .capsule_id = s->capsule_id,
                              .publisher = s->publisher,
                              .resource = resource,
                              .action = action_name,
                              .constraints = c};
    el_decision d;
    char reason[256];
    el_shell_decide(s->rt, &dq, &d, reason);
    if (d == EL_DECIDE_DENY) {
        char why[300];
        snprintf(why, sizeof why, "shell: %s", reason);
        audit(s, EL_AUDIT_DENY, resource, action_name, why, NULL);
        return el_response_error(q->id, "denied", why, len);
    }
    if (d != EL_DECIDE_ONCE)
        add_grant(s, resource, action, max_uses, expiry, delegatable, NULL);
    const char *why = d == EL_DECIDE_ONCE ? "shell: grant once" : d == EL_DECIDE_RUN ? "shell: grant for this run"
                                                                                     : "shell: grant always";
    return issue(s, q->id, resource, action_name, action, d == EL_DECIDE_ONCE ? 1 : (uint32_t)max_uses, expiry,
                 delegatable, why, len);
}

/* Checks the token for one use; NULL when allowed, else the error response (audited). */
static char *check_use(el_session *s, const el_request *q, const char *resource, unsigned action, el_token *tok,
                       size_t *len)
{
    const char *code = "invalid_token";
    el_error err;
    el_token t = {0};
    el_status st = el_token_check(s->rt, el_req_str(q, "token"), s->capsule_id, resource, action, &t, &code, &err);
    char tid[EL_TOKEN_ID_HEX] = "";
    if (st == EL_OK || code == NULL || strcmp(code, "invalid_token") != 0)
        el_hex_encode(t.id, 16, tid);
    if (st != EL_OK) {
        audit(s, EL_AUDIT_DENY, resource, el_action_name(action), err.msg, tid);
        return el_response_error(q->id, code ? code : "denied", err.msg, len);
    }
    audit(s, EL_AUDIT_USE, resource, el_action_name(action), el_req_type_name(q->type), tid);
    if (tok)
        *tok = t;
    return NULL;
}

static char *storage_op(el_session *s, const el_request *q, size_t *len)
{
    const char *uri = el_req_str(q, "path"), *rel;
    el_error err;
    bool list = q->type == EL_REQ_STORAGE_LIST;
    if (el_storage_parse(uri, &rel, list, &err) != EL_OK) {
        audit(s, EL_AUDIT_DENY, uri, "", err.msg, NULL);
        return el_response_error(q->id, "bad_request", err.msg, len);
    }
    unsigned action = q->type == EL_REQ_STORAGE_WRITE ? EL_ACT_WRITE : q->type == EL_REQ_STORAGE_DELETE ? EL_ACT_DELETE
                                                                                                         : EL_ACT_READ;
    /* Listing a directory needs a pattern covering all of its entries: check a child. */
    char resource[EL_RESOURCE_MAX + 32];
    snprintf(resource, sizeof resource, list ? "localhost://storage/%s%s_" : "localhost://storage/%s", rel,
             *rel && list ? "/" : "");
    el_token tok;
    if (list && el_token_decode(el_req_str(q, "token"), &tok, &err) == EL_OK) {
        size_t pl = strlen(tok.resource);
        if (pl < 2 || strcmp(tok.resource + pl - 2, "/*") != 0) { /* refused before a use is spent */
            audit(s, EL_AUDIT_DENY, resource, "read", "listing needs a token for a whole directory", NULL);
            return el_response_error(q->id, "denied", "listing needs a token for a whole directory (.../*)", len);
        }
    }
    char *deny = check_use(s, q, resource, action, &tok, len);
    if (deny)
        return deny;
    el_status st = EL_OK;
    json_t *r = NULL;
    if (s->storage_fd < 0 && el_storage_open(s->rt, s->storage_key, &s->storage_fd, &err) != EL_OK)
        return el_response_error(q->id, "internal", err.msg, len);
    switch (q->type) {
    case EL_REQ_STORAGE_READ: {
        uint8_t *data;
        size_t n;
        st = el_storage_read(s->storage_fd, rel, MAX_PAYLOAD, &data, &n, &err);
        if (st == EL_OK) {
            char *resp = el_response_data(q->id, "storage_data", data, n, len);
            free(data);
            return resp;
        }
        break;
    }
    case EL_REQ_STORAGE_WRITE: {
        size_t n;
        uint8_t *data = el_base64_decode(el_req_str(q, "content"), &n);
        if (!data)
            return el_response_error(q->id, "bad_request", "content is not valid base64", len);
        st = el_storage_write(s->storage_fd, rel, data, n, (uint64_t)s->m->limits.storage_mb << 20, &err);
        free(data);
        if (st == EL_OK)
            r = obj_type("ok");
        break;
    }
    case EL_REQ_STORAGE_LIST: {
        json_t *entries;
        st = el_storage_list(s->storage_fd, rel, &entries, &err);
        if (st == EL_OK) {
            r = obj_type("storage_list");
            json_object_set_new(r, "entries", entries);
        }
        break;
    }
    default:
        st = el_storage_delete(s->storage_fd, rel, &err);
        if (st == EL_OK)
            r = obj_type("ok");
    }
    if (st == EL_ERR_LIMIT) { /* a quota refusal is a limit enforced: audited */
        char tid[EL_TOKEN_ID_HEX];
        el_hex_encode(tok.id, 16, tid);
        audit(s, EL_AUDIT_DENY, resource, el_action_name(action), err.msg, tid);
    }
    if (st != EL_OK)
        return el_response_error(q->id, st == EL_ERR_NOTFOUND ? "not_found" : st == EL_ERR_LIMIT ? "limit"
                                        : st == EL_ERR_FORMAT ? "bad_request" : "internal", err.msg, len);
    return el_response_encode(q->id, r, len);
}

static char *fetch_content(el_session *s, const el_request *q, size_t *len)
{
    const char *uri = el_req_str(q, "uri");
    static const char pfx[] = "elastos://cid/";
    char cid[EL_CID_MAX] = "";
    const char *path = NULL;
    el_error err;
    if (strncmp(uri, pfx, sizeof pfx - 1) == 0) {
        const char *c = uri + sizeof pfx - 1, *slash = strchr(c, '/');
        size_t cl = slash ? (size_t)(slash - c) : strlen(c);
        if (cl < sizeof cid) {
            memcpy(cid, c, cl);
            cid[cl] = 0;
        }
        path = slash ? slash + 1 : NULL;
    }
    if (!cid[0] || el_cid_validate(cid, &err) != EL_OK || (path && !el_path_safe(path)))
        return el_response_error(q->id, "bad_request", "uri must be elastos://cid/<cid>[/path]", len);
    char *deny = check_use(s, q, uri, EL_ACT_READ, NULL, len);
    if (deny)
        return deny;
    char spath[PATH_MAX];
    if (el_store_locate(s->rt, cid, spath, &err) != EL_OK)
        return el_response_error(q->id, "not_found", err.msg, len);
    el_artifact *a = NULL;
    const uint8_t *bytes = NULL;
    size_t n = 0;
    char actual[EL_CID_MAX];
    el_status st = el_artifact_open(s->rt, spath, 0, &a, &err);
    if (st == EL_OK)
        st = el_artifact_cid(a, actual, &err);
    if (st == EL_OK && strcmp(actual, cid) != 0)
        st = el_error_set(&err, EL_ERR_TRUST, "stored content does not match its CID");
    if (st == EL_OK && path) {
        const el_artifact_file *f = el_artifact_find(a, path);
        if (!f)
            st = el_error_set(&err, EL_ERR_NOTFOUND, "%s has no file %s", cid, path);
        else {
            bytes = f->data;
            n = f->size;
        }
    } else if (st == EL_OK) {
        bytes = el_artifact_bytes(a);
        n = (size_t)el_artifact_size(a);
    }
    if (st == EL_OK && n > MAX_PAYLOAD)
        st = el_error_set(&err, EL_ERR_LIMIT, "content of %zu bytes exceeds what one message can carry", n);
    char *resp;
    if (st == EL_OK) {
        resp = el_response_data(q->id, "content", bytes, n, len);
    } else {
        resp = el_response_error(q->id, st == EL_ERR_NOTFOUND ? "not_found" : st == EL_ERR_LIMIT ? "limit" : "denied",
                                 err.msg, len);
    }
    el_artifact_close(a);
    return resp;
}

/* provider_call: elastos://ai/<op> (ai.c), with a token for exactly that URI (execute). */
static char *provider_call(el_session *s, const el_request *q, size_t *len)
{
    const char *uri = el_req_str(q, "uri");
    static const char ai[] = "elastos://ai/";
    if (strncmp(uri, ai, sizeof ai - 1) != 0 || strlen(uri) > EL_RESOURCE_MAX || !el_resource_match(uri, uri))
        return el_response_error(q->id, "not_found", "no provider for this uri (known: elastos://ai/chat, elastos://net/HOST:PORT)", len);
    char *deny = check_use(s, q, uri, EL_ACT_EXECUTE, NULL, len);
    if (deny)
        return deny;
    json_t *result = NULL;
    const char *code = "internal";
    el_error err;
    if (el_ai_call(s->rt, uri + sizeof ai - 1, json_object_get(q->body, "body"), &result, &code, &err) != EL_OK)
        return el_response_error(q->id, code, err.msg, len);
    json_t *r = obj_type("provider_result");
    json_object_set_new(r, "result", result);
    return el_response_encode(q->id, r, len);
}

#define MSG_DEFAULT_MAX 64

static char *messaging(el_session *s, const el_request *q, size_t *len)
{
    el_error err;
    if (q->type == EL_REQ_RECEIVE_MESSAGES) {
        size_t max = (size_t)el_req_uint(q, "max", MSG_DEFAULT_MAX);
        if (max < 1)
            return el_response_error(q->id, "bad_request", "receive_messages.max must be at least 1", len);
        if (max > MSG_DEFAULT_MAX)
            max = MSG_DEFAULT_MAX;
        json_t *msgs = s->router.receive ? s->router.receive(s->router.arg, s->capsule_id, max) : json_array();
        json_t *r = obj_type("messages");
        json_object_set_new(r, "messages", msgs ? msgs : json_array());
        return el_response_encode(q->id, r, len);
    }
    const char *to = el_req_str(q, "to"), *payload = el_req_str(q, "payload");
    json_t *rt = json_object_get(q->body, "reply_to");
    const char *reply_to = rt ? json_string_value(rt) : NULL;
    if (!capsule_address_ok(to))
        return el_response_error(q->id, "bad_request", "send_message.to must be a capsule NAME or NAME@PUBLISHER_ID", len);
    if (reply_to && strlen(reply_to) > 128)
        return el_response_error(q->id, "bad_request", "send_message.reply_to is too long", len);
    size_t n;
    uint8_t *bytes = el_base64_decode(payload, &n);
    if (!bytes)
        return el_response_error(q->id, "bad_request", "payload is not valid base64", len);
    free(bytes);
    char given[EL_RESOURCE_MAX + 1], buf[EL_RESOURCE_MAX + 1];
    snprintf(given, sizeof given, CAPSULE_RES "%s", to);
    const char *resource = capsule_resource(s, given, buf), *addr = resource + strlen(CAPSULE_RES);
    char *deny = check_use(s, q, resource, EL_ACT_MESSAGE, NULL, len);
    if (deny)
        return deny;
    el_status st = s->router.send ? s->router.send(s->router.arg, s->storage_key, s->capsule_id, addr, payload, reply_to, &err)
                                  : el_error_set(&err, EL_ERR_NOTFOUND, "no capsule %s is running", addr);
    if (st != EL_OK)
        return el_response_error(q->id, st == EL_ERR_NOTFOUND ? "not_found" : st == EL_ERR_LIMIT ? "limit" : "internal",
                                 err.msg, len);
    return el_response_encode(q->id, obj_type("ok"), len);
}

/* provider_call on elastos://net/HOST:PORT (net.h): the manifest's allowlist, then the token
 * (action execute), then one bounded TCP exchange. body: {send?: base64, max_bytes?, timeout_ms?,
 * shut_write?}; result: {data: base64}. */
static char *net_call(el_session *s, const el_request *q, size_t *len)
{
    const char *uri = el_req_str(q, "uri");
    char host[256], port[8];
    el_error err;
    if (el_net_parse(uri, host, port, &err) != EL_OK)
        return el_response_error(q->id, "bad_request", err.msg, len);
    json_t *b = json_object_get(q->body, "body"), *v;
    const char *k;
    if (!json_is_object(b))
        return el_response_error(q->id, "bad_request", "body must be an object {send?, max_bytes?, timeout_ms?, shut_write?}", len);
    json_object_foreach(b, k, v)
    {
        bool ok = (!strcmp(k, "send") && json_is_string(v)) || (!strcmp(k, "shut_write") && json_is_boolean(v)) ||
                  (!strcmp(k, "max_bytes") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                   json_integer_value(v) <= MAX_PAYLOAD) ||
                  (!strcmp(k, "timeout_ms") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                   json_integer_value(v) <= 60000);
        if (!ok)
            return el_response_error(q->id, "bad_request", "body: unknown field or bad value", len);
    }
    if (!el_net_allowed(s->m, host, port)) {
        audit(s, EL_AUDIT_DENY, uri, "execute", "not in the manifest's resource_limits.network allowlist", NULL);
        return el_response_error(q->id, "denied", "not in the capsule's resource_limits.network allowlist", len);
    }
    char *deny = check_use(s, q, uri, EL_ACT_EXECUTE, NULL, len);
    if (deny)
        return deny;
    size_t n = 0;
    uint8_t *send = NULL;
    const char *sb = json_string_value(json_object_get(b, "send"));
    if (sb && !(send = el_base64_decode(sb, &n)))
        return el_response_error(q->id, "bad_request", "body.send is not valid base64", len);
    size_t max = (size_t)el_req_uint(&(el_request){.body = b}, "max_bytes", MAX_PAYLOAD);
    unsigned timeout = (unsigned)el_req_uint(&(el_request){.body = b}, "timeout_ms", 5000);
    uint8_t *data = NULL;
    size_t dn = 0;
    if (s->router.blocking)
        s->router.blocking(s->router.arg, true);
    el_status st = el_net_exchange(host, port, send, n, !json_is_false(json_object_get(b, "shut_write")), max, timeout,
                                   &data, &dn, &err);
    if (s->router.blocking)
        s->router.blocking(s->router.arg, false);
    free(send);
    if (st != EL_OK)
        return el_response_error(q->id, st == EL_ERR_NOTFOUND ? "not_found" : "unavailable", err.msg, len);
    char *b64 = el_base64_encode(data, dn);
    free(data);
    if (!b64)
        return el_response_error(q->id, "internal", "out of memory", len);
    json_t *r = obj_type("provider_result"), *res = json_object();
    json_object_set_new(res, "data", json_string(b64));
    free(b64);
    json_object_set_new(r, "result", res);
    return el_response_encode(q->id, r, len);
}

/* launch_capsule, stop_capsule, list_capsules: the orchestrator's, through the router. */
static char *orchestrate(el_session *s, const el_request *q, size_t *len)
{
    const char *what = el_req_type_name(q->type);
    if (!s->router.orchestrator || !s->router.launch) {
        audit(s, EL_AUDIT_DENY, "elastos://capsule/*", "execute", "only the shell may launch, stop or list capsules", NULL);
        return el_response_error(q->id, "denied", "only the shell capsule may do this", len);
    }
    el_error err;
    el_status st = EL_OK;
    json_t *r = NULL;
    char why[320];
    if (q->type == EL_REQ_LIST_CAPSULES) {
        r = obj_type("capsule_list");
        json_t *l = s->router.list(s->router.arg);
        json_object_set_new(r, "capsules", l ? l : json_array());
        return el_response_encode(q->id, r, len);
    }
    if (q->type == EL_REQ_STOP_CAPSULE) {
        const char *id = el_req_str(q, "capsule_id");
        st = s->router.stop(s->router.arg, id, &err);
        snprintf(why, sizeof why, "%s %.64s", what, id);
        if (st == EL_OK)
            r = obj_type("ok");
    } else {
        char id[33] = "";
        json_t *c = json_object_get(q->body, "config");
        st = s->router.launch(s->router.arg, c, id, &err);
        const char *n = json_string_value(json_object_get(c, "name")), *cid = json_string_value(json_object_get(c, "cid"));
        snprintf(why, sizeof why, "%s %.80s: %s", what, n ? n : cid ? cid : "?", st == EL_OK ? id : err.msg);
        if (st == EL_OK) {
            r = obj_type("capsule_launched");
            json_object_set_new(r, "capsule_id", json_string(id));
        }
    }
    audit(s, st == EL_OK ? EL_AUDIT_LAUNCH : EL_AUDIT_DENY, "elastos://capsule/*", "execute", why, NULL);
    if (st != EL_OK)
        return el_response_error(q->id, st == EL_ERR_NOTFOUND ? "not_found" : st == EL_ERR_LIMIT ? "limit"
                                        : st == EL_ERR_USAGE || st == EL_ERR_FORMAT ? "bad_request" : "denied",
                                 err.msg, len);
    return el_response_encode(q->id, r, len);
}

static char *shell_op(el_session *s, const el_request *q, size_t *len)
{
    if (!s->is_shell)
        return el_response_error(q->id, "denied", "only the shell capsule may do this", len);
    if (q->type == EL_REQ_GET_DECISION_REQUEST) {
        json_t *r = obj_type("decision_request");
        json_object_set_new(r, "request_id", json_integer((json_int_t)s->decide.request_id));
        json_object_set_new(r, "capsule_name", json_string(s->decide.capsule_name));
        json_object_set_new(r, "capsule_id", json_string(s->decide.capsule_id));
        json_object_set_new(r, "publisher", json_string(s->decide.publisher));
        json_object_set_new(r, "resource", json_string(s->decide.resource));
        json_object_set_new(r, "action", json_string(s->decide.action));
        json_object_set_new(r, "constraints", s->decide.constraints ? json_deep_copy(s->decide.constraints) : json_object());
        return el_response_encode(q->id, r, len);
    }
    if (q->type == EL_REQ_REVOKE_CAPABILITY) {
        el_error err;
        const char *tid = el_req_str(q, "token_id");
        if (el_token_revoke(s->rt, tid, &err) != EL_OK)
            return el_response_error(q->id, "bad_request", err.msg, len);
        audit(s, EL_AUDIT_REVOKE, "", "", "revoked by the shell", tid);
        return el_response_encode(q->id, obj_type("ok"), len);
    }
    if (el_req_uint(q, "request_id", 0) != s->decide.request_id)
        return el_response_error(q->id, "not_found", "no such pending decision", len);
    if (s->decided)
        return el_response_error(q->id, "bad_request", "this decision was already made", len);
    if (q->type == EL_REQ_DENY_CAPABILITY) {
        s->decided = true;
        s->decision = EL_DECIDE_DENY;
        snprintf(s->reason, sizeof s->reason, "%s", el_req_str(q, "reason"));
        return el_response_encode(q->id, obj_type("ok"), len);
    }
    const char *scope = el_req_str(q, "scope");
    el_decision d = !strcmp(scope, "once") ? EL_DECIDE_ONCE : !strcmp(scope, "run") ? EL_DECIDE_RUN
                    : !strcmp(scope, "always")                                      ? EL_DECIDE_ALWAYS
                                                                                    : EL_DECIDE_DENY;
    if (d == EL_DECIDE_DENY)
        return el_response_error(q->id, "bad_request", "scope must be once, run or always", len);
    s->decided = true;
    s->decision = d;
    snprintf(s->reason, sizeof s->reason, "granted (%s)", scope);
    json_t *r = obj_type("capability_granted");
    json_object_set_new(r, "token_id", json_string("")); /* the token is issued to the requester */
    return el_response_encode(q->id, r, len);
}

char *el_session_handle(el_session *s, const void *msg, size_t msg_len, size_t *len)
{
    el_request q;
    uint64_t id;
    el_error err;
    el_req_type bare;
    if (el_request_bare(msg, msg_len, &id, &bare) && bare == EL_REQ_PING && id == s->last_id + 1) {
        s->last_id = id;
        char *r = malloc(64);
        if (r)
            *len = (size_t)snprintf(r, 64, "{\"id\":%llu,\"response\":{\"type\":\"pong\"}}", (unsigned long long)id);
        return r;
    }
    if (el_request_parse(msg, msg_len, &q, &id, &err) != EL_OK) {
        /* A refused body with the expected id still counts, or client and runtime would stay
         * out of step for good (docs/protocol.md). */
        if (id && id == s->last_id + 1)
            s->last_id = id;
        return el_response_error(id, "bad_request", err.msg, len);
    }
    if (q.id != s->last_id + 1) {
        char m[128];
        snprintf(m, sizeof m, "request id %llu out of order (expected %llu)", (unsigned long long)q.id,
                 (unsigned long long)s->last_id + 1);
        el_request_free(&q);
        return el_response_error(id, "bad_request", m, len);
    }
    s->last_id = q.id;
    char *resp;
    switch (q.type) {
    case EL_REQ_PING:
        resp = el_response_encode(q.id, obj_type("pong"), len);
        break;
    case EL_REQ_GET_RUNTIME_INFO: {
        json_t *r = obj_type("runtime_info");
        json_object_set_new(r, "version", json_string(EL_VERSION));
        json_object_set_new(r, "capsule_name", json_string(s->m->name));
        json_object_set_new(r, "capsule_id", json_string(s->capsule_id));
        json_object_set_new(r, "capsule_address", json_string(s->storage_key));
        resp = el_response_encode(q.id, r, len);
        break;
    }
    case EL_REQ_REQUEST_CAPABILITY:
        resp = request_capability(s, &q, len);
        break;
    case EL_REQ_STORAGE_READ:
    case EL_REQ_STORAGE_WRITE:
    case EL_REQ_STORAGE_LIST:
    case EL_REQ_STORAGE_DELETE:
        resp = storage_op(s, &q, len);
        break;
    case EL_REQ_FETCH_CONTENT:
        resp = fetch_content(s, &q, len);
        break;
    case EL_REQ_PROVIDER_CALL: /* elastos://net/ here (net.h); elastos://ai/ in provider_call (ai.c) */
        resp = !strncmp(el_req_str(&q, "uri"), "elastos://net/", 14) ? net_call(s, &q, len) : provider_call(s, &q, len);
        break;
    case EL_REQ_SEND_MESSAGE:
    case EL_REQ_RECEIVE_MESSAGES:
        resp = messaging(s, &q, len);
        break;
    case EL_REQ_LAUNCH_CAPSULE:
    case EL_REQ_STOP_CAPSULE:
    case EL_REQ_LIST_CAPSULES:
        resp = orchestrate(s, &q, len);
        break;
    case EL_REQ_GRANT_CAPABILITY:
    case EL_REQ_DENY_CAPABILITY:
    case EL_REQ_REVOKE_CAPABILITY:
    case EL_REQ_GET_DECISION_REQUEST:
        resp = shell_op(s, &q, len);
        break;
    default:
        resp = el_response_error(q.id, "unsupported", "not available in this runtime version", len);
    }
    el_request_free(&q);
    return resp;
}
