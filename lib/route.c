/*
 * route.c - the operator's routes of the HTTP front (include/elastos/route.h, docs/web.md): URL
 * path prefixes bound to capsules, in the state database's routes table, each change audited
 * before it is stored. The daemon looks a request's route up here (el_route_match) on every
 * request, so `elastos route add/remove` takes effect at once, with or without a daemon.
 *
 * Shaped like the provider bindings (provider.c), whose target and grant rules it shares
 * (el__provider_target_valid, el__provider_join_grants): one rule for what a target and a grant
 * are, wherever the operator names one.
 */
#include "elastos/route.h"
#include "elastos/artifact.h"
#include "elastos/audit.h"
#include "elastos/provider.h"
#include "internal.h"
#include "provider.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool el_route_prefix_valid(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > EL_ROUTE_PREFIX_MAX || p[0] != '/' || p[n - 1] != '/')
        return false;
    for (size_t i = 1; i < n;) { /* each segment between two slashes */
        size_t l = 0;
        while (p[i + l] && p[i + l] != '/') {
            char c = p[i + l];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._~-", c)))
                return false;
            l++;
        }
        if (l == 0 || l > 64 || (l == 1 && p[i] == '.') || (l == 2 && p[i] == '.' && p[i + 1] == '.'))
            return false;
        i += l + 1;
    }
    return true;
}

/* One statement on the state database: prepared, text parameters bound in order. */
static el_status prepare(el_runtime *rt, const char *sql, sqlite3_stmt **q, el_error *err, int n, ...)
{
    sqlite3 *db;
    el_status st = el__state_db(rt, &db, err);
    if (st != EL_OK)
        return st;
    if (sqlite3_prepare_v2(db, sql, -1, q, NULL) != SQLITE_OK)
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    va_list ap;
    va_start(ap, n);
    for (int i = 1; i <= n; i++)
        sqlite3_bind_text(*q, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    va_end(ap);
    return EL_OK;
}

/* Runs q to its end and finalizes it. */
static el_status finish(sqlite3_stmt *q, el_error *err)
{
    el_status st = sqlite3_step(q) == SQLITE_DONE ? EL_OK
                   : el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    sqlite3_finalize(q);
    return st;
}

bool el__route_console_path(const char *path, size_t len)
{
    return (len == 8 && (!memcmp(path, "/console", 8) || !memcmp(path, "/metrics", 8))) ||
           (len >= 9 && !memcmp(path, "/console/", 9));
}

bool el__route_runnable(const el_artifact *art)
{
    return el_artifact_manifest(art)->type == EL_TYPE_WASM;
}

el_status el_route_add(el_runtime *rt, const char *prefix, const char *target, const char *const *grants, size_t n_grants,
                       el_error *err)
{
    if (!el_route_prefix_valid(prefix))
        return el_error_set(err, EL_ERR_USAGE, "%.200s: a route prefix starts and ends with '/', its segments 1-64 of "
                            "[A-Za-z0-9._~-] (no \".\", \"..\" or empty segment), at most %d bytes, e.g. /app/",
                            prefix ? prefix : "", EL_ROUTE_PREFIX_MAX);
    /* the console's paths are answered before any route is looked up: a route whose shortest path
     * (the prefix without its last '/') is one would never be reached ("/" still routes the rest) */
    if (el__route_console_path(prefix, strlen(prefix) - 1))
        return el_error_set(err, EL_ERR_USAGE, "%.200s: /console/ and /metrics are the operator's console (docs/web.md)",
                            prefix);
    if (!target || !el__provider_target_valid(target))
        return el_error_set(err, EL_ERR_USAGE, "%.200s: expected NAME[@RANGE] or a CID", target ? target : "");
    if (n_grants > EL_ROUTE_GRANTS_MAX)
        return el_error_set(err, EL_ERR_USAGE, "at most %d grants per route", EL_ROUTE_GRANTS_MAX);
    char joined[EL_ROUTE_GRANTS_MAX * (EL_RESOURCE_MAX + 66)];
    el_status st = el__provider_join_grants(grants, n_grants, joined, sizeof joined, err);
    el_artifact *art = NULL;
    char cid[EL_CID_MAX];
    if (st == EL_OK)
        st = el__provider_target_open(rt, target, &art, cid, err);
    if (st == EL_OK && !el__route_runnable(art))
        st = el_error_set(err, EL_ERR_USAGE, "%s is a %s capsule: a route runs a wasm capsule", target,
                          el_manifest_type_name(el_artifact_manifest(art)->type));
    el_artifact_close(art);
    sqlite3_stmt *q;
    if (st != EL_OK || (st = prepare(rt, "SELECT target FROM routes WHERE prefix = ?1", &q, err, 1, prefix)) != EL_OK)
        return st;
    if (sqlite3_step(q) == SQLITE_ROW)
        st = el_error_set(err, EL_ERR_USAGE, "%s is already routed to %.200s (elastos route remove %s first)", prefix,
                          (const char *)sqlite3_column_text(q, 0), prefix);
    sqlite3_finalize(q);
    if (st == EL_OK)
        st = el__provider_audit_binding(rt, EL_AUDIT_ROUTE_ADD, prefix, target, joined, "", err);
    if (st != EL_OK)
        return st;
    char when[24];
    snprintf(when, sizeof when, "%lld", (long long)time(NULL));
    if ((st = prepare(rt, "INSERT INTO routes(prefix, target, grants, added_at) VALUES(?1, ?2, ?3, CAST(?4 AS INTEGER))",
                      &q, err, 4, prefix, target, joined, when)) != EL_OK)
        return st;
    return finish(q, err);
}

/* Fills r from the current row (prefix, target, grants, added_at); false when out of memory. */
static bool row_route(sqlite3_stmt *q, el_route *r)
{
    memset(r, 0, sizeof *r);
    r->prefix = strdup((const char *)sqlite3_column_text(q, 0));
    r->target = strdup((const char *)sqlite3_column_text(q, 1));
    r->added_at = sqlite3_column_int64(q, 3);
    return r->prefix && r->target && el__provider_split_grants((const char *)sqlite3_column_text(q, 2), &r->grants, &r->n_grants);
}

void el_route_clear(el_route *r)
{
    if (!r)
        return;
    free(r->prefix);
    free(r->target);
    el__strv_free(r->grants, r->n_grants);
    *r = (el_route){0};
}

/* The one route of query q (parameters bound), or EL_ERR_NOTFOUND. */
static el_status one_route(sqlite3_stmt *q, el_route *out, el_error *err)
{
    int rc = sqlite3_step(q);
    el_status st = EL_OK;
    if (rc == SQLITE_ROW && !row_route(q, out))
        st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    else if (rc == SQLITE_DONE)
        st = el_error_set(err, EL_ERR_NOTFOUND, "no route");
    else if (rc != SQLITE_ROW)
        st = el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    sqlite3_finalize(q);
    if (st != EL_OK)
        el_route_clear(out);
    return st;
}

el_status el_route_remove(el_runtime *rt, const char *prefix, el_error *err)
{
    el_route r = {0};
    sqlite3_stmt *q;
    el_status st = prepare(rt, "SELECT prefix, target, grants, added_at FROM routes WHERE prefix = ?1", &q, err, 1,
                           prefix ? prefix : "");
    if (st == EL_OK && (st = one_route(q, &r, err)) == EL_ERR_NOTFOUND)
        return el_error_set(err, EL_ERR_NOTFOUND, "%.200s: no such route (elastos route list)", prefix ? prefix : "");
    if (st == EL_OK)
        st = el__provider_audit_binding(rt, EL_AUDIT_ROUTE_REMOVE, r.prefix, r.target, "", "", err);
    el_route_clear(&r);
    if (st != EL_OK || (st = prepare(rt, "DELETE FROM routes WHERE prefix = ?1", &q, err, 1, prefix)) != EL_OK)
        return st;
    return finish(q, err);
}

el_status el_route_match(el_runtime *rt, const char *path, el_route *out, el_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q;
    el_status st = prepare(rt, "SELECT prefix, target, grants, added_at FROM routes WHERE substr(?1, 1, length(prefix)) = "
                               "prefix OR ?1 || '/' = prefix ORDER BY length(prefix) DESC LIMIT 1",
                           &q, err, 1, path ? path : "");
    return st == EL_OK ? one_route(q, out, err) : st;
}

el_status el_route_list(el_runtime *rt, el_route **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    el_status st = prepare(rt, "SELECT prefix, target, grants, added_at FROM routes ORDER BY prefix", &q, err, 0);
    if (st != EL_OK)
        return st;
    el_route *v = NULL;
    size_t k = 0;
    int rc;
    while (st == EL_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        el_route *nv = realloc(v, (k + 1) * sizeof *v);
        if (!nv) {
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        v = nv;
        if (!row_route(q, &v[k++]))
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    if (st == EL_OK && rc != SQLITE_DONE)
        st = el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
    sqlite3_finalize(q);
    if (st != EL_OK) {
        el_route_list_free(v, k);
        return st;
    }
    *out = v;
    *n = k;
    return EL_OK;
}

void el_route_list_free(el_route *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        el_route_clear(&v[i]);
    free(v);
}
