/*
 * provider.c - the provider table and the one status-to-protocol-code table (provider.h).
 *
 * Routing is data: a request goes to the first provider that answers its type, and a
 * provider_call to the first whose scheme starts its uri. Adding a provider is one file and
 * one line below; broker.c does not change.
 *
 * The operator's bindings of other elastos:// schemes to provider capsules (elastos/provider.h)
 * are kept here too, in the state database's providers table: a provider_call no built-in
 * serves goes to prov_capsule.c, which looks its scheme up here (el__provider_bound). A binding
 * is checked when it is made (installed, trusted, wasm, declares the scheme) and again at every
 * call (el__provider_open), since NAME@RANGE may resolve to another version by then.
 */
#include "provider.h"
#include "elastos/artifact.h"
#include "elastos/cid.h"
#include "elastos/provider.h"
#include "elastos/store.h"
#include "internal.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const el__provider *const table[] = {
    &el__prov_storage, &el__prov_cid, &el__prov_net, &el__prov_msg, &el__prov_orch, &el__prov_egress,
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

/* ---- bindings of schemes to provider capsules (elastos/provider.h) --------------------------- */

bool el__provider_builtin(const char *scheme)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t a = strlen(scheme), b = strlen(table[i]->scheme), n = a < b ? a : b;
        if (!strncmp(scheme, table[i]->scheme, n)) /* equal, or one serves inside the other */
            return true;
    }
    return false;
}

bool el__provider_target_valid(const char *t)
{
    el_error e;
    if (el_cid_validate(t, &e) == EL_OK)
        return true;
    const char *at = strchr(t, '@');
    size_t nl = at ? (size_t)(at - t) : strlen(t);
    if (nl == 0 || nl > 64 || strlen(t) > 300)
        return false;
    for (size_t i = 0; i < nl; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || strchr("._-", t[i])))
            return false;
    return !at || el_manifest_semver_range_valid(at + 1);
}

el_status el__provider_target_open(el_runtime *rt, const char *target, el_artifact **out, char cid[EL_CID_MAX],
                                   el_error *err)
{
    *out = NULL;
    char path[PATH_MAX], name[72];
    el_status st;
    if (el_cid_validate(target, err) == EL_OK) {
        snprintf(cid, EL_CID_MAX, "%s", target);
        st = el_store_locate(rt, target, path, err);
    } else {
        const char *at = strchr(target, '@');
        snprintf(name, sizeof name, "%.*s", (int)(at ? (size_t)(at - target) : strlen(target)), target);
        return el__store_resolve_open(rt, name, at ? at + 1 : NULL, cid, path, out, err); /* verified there */
    }
    return st == EL_OK ? el__artifact_open_cached(rt, path, out, err) : st;
}

el_status el__provider_open(el_runtime *rt, const char *scheme, const char *target, el_artifact **out, char cid[EL_CID_MAX],
                            el_error *err)
{
    el_status st = el__provider_target_open(rt, target, out, cid, err);
    if (st != EL_OK)
        return st;
    const el_manifest *m = el_artifact_manifest(*out);
    bool declared = false;
    for (size_t i = 0; i < m->n_provides; i++)
        declared |= !strcmp(m->provides[i], scheme);
    if (m->type == EL_TYPE_WASM && declared)
        return EL_OK;
    el_error_set(err, EL_ERR_USAGE, "%s %s: %s", m->name, m->version,
                 declared ? "a provider capsule must be of type wasm" : "does not declare this scheme in its manifest's provides");
    el_artifact_close(*out);
    *out = NULL;
    return EL_ERR_USAGE;
}

el_status el__provider_audit_binding(el_runtime *rt, const char *decision, const char *scheme, const char *target,
                                     const char *grants, const char *args, el_error *err)
{
    char why[1600];
    snprintf(why, sizeof why, "%s %s by the operator%s%.900s%s%.600s", scheme, target, grants[0] ? "; grants: " : "",
             grants, args[0] ? "; args: " : "", args);
    for (char *p = why; *p; p++)
        if (*p == '\n')
            *p = ' ';
    el_audit_record r = {.capsule = "", .capsule_id = "", .publisher = "", .resource = scheme, .action = "",
                         .decision = decision, .reason = why, .token_id = ""};
    el_status st = el_audit_append(rt, &r, err);
    if (st != EL_OK)
        el_error_set(err, EL_ERR_IO, "refused: the audit log cannot be written (%.200s)", err->msg);
    return st;
}

el_status el__provider_join_grants(const char *const *g, size_t n, char *out, size_t cap, el_error *err)
{
    size_t w = 0;
    out[0] = 0;
    if (n > EL_PROVIDER_GRANTS_MAX)
        return el_error_set(err, EL_ERR_USAGE, "at most %d grants per provider", EL_PROVIDER_GRANTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *colon = strrchr(g[i], ':');
        if (!colon || colon == g[i] || !colon[1] || strpbrk(g[i], "\n\r") || strlen(g[i]) > EL_RESOURCE_MAX + 64)
            return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: expected RESOURCE:ACTION[,ACTION]...", g[i]);
        int k = snprintf(out + w, cap - w, "%s%s", w ? "\n" : "", g[i]);
        if (k < 0 || (size_t)k >= cap - w)
            return el_error_set(err, EL_ERR_USAGE, "too many grants");
        w += (size_t)k;
    }
    return EL_OK;
}

/* Joins a binding's provider arguments, one per line, into out (cap bytes); EL_ERR_USAGE naming a
 * bad one (too many, too long, a control character: a line break would split it in the table). */
static el_status join_args(const char *const *a, size_t n, char *out, size_t cap, el_error *err)
{
    size_t w = 0;
    out[0] = 0;
    if (n > EL_PROVIDER_ARGS_MAX)
        return el_error_set(err, EL_ERR_USAGE, "at most %d arguments per provider", EL_PROVIDER_ARGS_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(a[i]);
        bool ctl = false;
        for (size_t j = 0; j < l; j++)
            ctl |= (unsigned char)a[i][j] < 0x20 || a[i][j] == 0x7f;
        if (ctl || l == 0 || l > EL_PROVIDER_ARG_BYTES)
            return el_error_set(err, EL_ERR_USAGE, "argument %zu: 1 to %d bytes, no control characters", i + 1,
                                EL_PROVIDER_ARG_BYTES);
        int k = snprintf(out + w, cap - w, "%s%s", i ? "\n" : "", a[i]);
        if (k < 0 || (size_t)k >= cap - w)
            return el_error_set(err, EL_ERR_USAGE, "the arguments are too long");
        w += (size_t)k;
    }
    return EL_OK;
}

el_status el_provider_add(el_runtime *rt, const char *scheme, const char *target, const char *const *grants,
                          size_t n_grants, const char *const *args, size_t n_args, el_error *err)
{
    if (!scheme || !el_manifest_scheme_prefix_valid(scheme))
        return el_error_set(err, EL_ERR_USAGE, "%.200s: a scheme is elastos://ROOT/ (ROOT: 1 to 32 of [a-z0-9-], "
                            "starting with a letter), e.g. elastos://kv/", scheme ? scheme : "");
    if (el__provider_builtin(scheme))
        return el_error_set(err, EL_ERR_USAGE, "%s is a built-in scheme of the runtime: it cannot be bound", scheme);
    if (!target || !el__provider_target_valid(target))
        return el_error_set(err, EL_ERR_USAGE, "%.200s: expected NAME[@RANGE] or a CID", target ? target : "");
    char joined[EL_PROVIDER_GRANTS_MAX * (EL_RESOURCE_MAX + 66)];
    char argl[EL_PROVIDER_ARGS_MAX * (EL_PROVIDER_ARG_BYTES + 1) + 1];
    el_status st = el__provider_join_grants(grants, n_grants, joined, sizeof joined, err);
    if (st == EL_OK)
        st = join_args(args, n_args, argl, sizeof argl, err);
    if (st != EL_OK)
        return st;
    el_artifact *art;
    char cid[EL_CID_MAX];
    if ((st = el__provider_open(rt, scheme, target, &art, cid, err)) != EL_OK)
        return st;
    el_artifact_close(art);
    sqlite3 *db;
    if ((st = el__state_db(rt, &db, err)) != EL_OK)
        return st;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT target FROM providers WHERE scheme = ?1", -1, &q, NULL) != SQLITE_OK)
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(q, 1, scheme, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        st = el_error_set(err, EL_ERR_USAGE, "%s is already bound to %.200s (elastos provider remove %s first)", scheme,
                          (const char *)sqlite3_column_text(q, 0), scheme);
    sqlite3_finalize(q);
    if (st == EL_OK)
        st = el__provider_audit_binding(rt, EL_AUDIT_BIND, scheme, target, joined, argl, err);
    if (st != EL_OK)
        return st;
    if (sqlite3_prepare_v2(db, "INSERT INTO providers(scheme, target, grants, added_at, args) VALUES(?1, ?2, ?3, ?4, ?5)", -1, &q,
                           NULL) != SQLITE_OK)
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(q, 1, scheme, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, joined, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(q, 5, argl, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        st = el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return st;
}

el_status el_provider_remove(el_runtime *rt, const char *scheme, el_error *err)
{
    el_provider_binding b;
    el_status st = el__provider_bound(rt, scheme ? scheme : "", &b, err);
    if (st == EL_ERR_NOTFOUND)
        return el_error_set(err, EL_ERR_NOTFOUND, "%.200s: no provider is bound to this scheme", scheme ? scheme : "");
    if (st != EL_OK)
        return st;
    if (strcmp(b.scheme, scheme) != 0) /* bound() matches a URI inside the scheme too */
        st = el_error_set(err, EL_ERR_NOTFOUND, "%.200s: no provider is bound to this scheme (%s is)", scheme, b.scheme);
    if (st == EL_OK)
        st = el__provider_audit_binding(rt, EL_AUDIT_UNBIND, b.scheme, b.target, "", "", err);
    el__provider_binding_clear(&b);
    if (st != EL_OK)
        return st;
    sqlite3 *db;
    sqlite3_stmt *q = NULL;
    if ((st = el__state_db(rt, &db, err)) != EL_OK)
        return st;
    if (sqlite3_prepare_v2(db, "DELETE FROM providers WHERE scheme = ?1", -1, &q, NULL) != SQLITE_OK)
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(q, 1, scheme, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        st = el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return st;
}

bool el__provider_split_grants(const char *g, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!*g)
        return true;
    size_t k = 1;
    for (const char *p = g; *p; p++)
        k += *p == '\n';
    if (!(*out = calloc(k, sizeof **out)))
        return false;
    for (const char *p = g; *n < k; (*n)++) {
        size_t l = strcspn(p, "\n");
        if (!((*out)[*n] = strndup(p, l)))
            return false;
        p += l + (p[l] == '\n');
    }
    return true;
}

/* Fills b from the current row (scheme, target, grants, added_at, args); false when out of memory. */
static bool row_binding(sqlite3_stmt *q, el_provider_binding *b)
{
    memset(b, 0, sizeof *b);
    b->scheme = strdup((const char *)sqlite3_column_text(q, 0));
    b->target = strdup((const char *)sqlite3_column_text(q, 1));
    b->added_at = sqlite3_column_int64(q, 3);
    return b->scheme && b->target && el__provider_split_grants((const char *)sqlite3_column_text(q, 2), &b->grants, &b->n_grants) &&
           el__provider_split_grants((const char *)sqlite3_column_text(q, 4), &b->args, &b->n_args);
}

el_status el__provider_bound(el_runtime *rt, const char *uri, el_provider_binding *b, el_error *err)
{
    memset(b, 0, sizeof *b);
    sqlite3_stmt *q = NULL;
    /* The scheme is "elastos://ROOT/": the uri's first 10 + ROOT + 1 bytes. */
    const char *root = strncmp(uri, "elastos://", 10) ? NULL : uri + 10;
    size_t rl = root ? strcspn(root, "/") : 0;
    if (!root || !root[rl])
        return el_error_set(err, EL_ERR_NOTFOUND, "no provider bound for this uri");
    el_status st = el__state_stmt(rt, "SELECT scheme, target, grants, added_at, args FROM providers WHERE scheme = ?1", &q, err);
    if (st != EL_OK)
        return st;
    sqlite3 *db = sqlite3_db_handle(q);
    sqlite3_bind_text(q, 1, uri, (int)(10 + rl + 1), SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && !row_binding(q, b))
        st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    else if (rc == SQLITE_DONE)
        st = el_error_set(err, EL_ERR_NOTFOUND, "no provider bound for this uri");
    else if (rc != SQLITE_ROW)
        st = el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    el__state_stmt_done(rt, q);
    if (st != EL_OK)
        el__provider_binding_clear(b);
    return st;
}

el_status el_provider_list(el_runtime *rt, el_provider_binding **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3 *db;
    sqlite3_stmt *q = NULL;
    el_status st = el__state_db(rt, &db, err);
    if (st != EL_OK)
        return st;
    if (sqlite3_prepare_v2(db, "SELECT scheme, target, grants, added_at, args FROM providers ORDER BY scheme", -1, &q, NULL) !=
        SQLITE_OK)
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    el_provider_binding *v = NULL;
    size_t k = 0, cap = 0;
    int rc;
    while (st == EL_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!EL__GROW(v, cap, k + 1, 8, SIZE_MAX)) {
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        if (!row_binding(q, &v[k++]))
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    sqlite3_finalize(q);
    if (st != EL_OK) {
        el_provider_list_free(v, k);
        return st;
    }
    *out = v;
    *n = k;
    return EL_OK;
}

void el__provider_binding_clear(el_provider_binding *b)
{
    free(b->scheme);
    free(b->target);
    el__strv_free(b->grants, b->n_grants);
    el__strv_free(b->args, b->n_args);
    *b = (el_provider_binding){0};
}

void el_provider_list_free(el_provider_binding *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        el__provider_binding_clear(&v[i]);
    free(v);
}
