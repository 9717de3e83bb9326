/*
 * route.h - the operator's routes of the HTTP front (docs/web.md): a URL path prefix served by a
 * capsule. `elastos serve --http ADDR:PORT` answers a request whose path starts with a routed
 * prefix by running the route's capsule once with the request as its input (CGI/WAGI: variables,
 * body on stdin, headers and body on stdout), through the daemon's normal launch path: the same
 * verification, limits, tokens and audit as any launch, and only the route's grants.
 *
 * A prefix is strict: it starts and ends with '/', its segments are 1-64 of [A-Za-z0-9._~-]
 * (no "." or ".." segment, no empty segment, no percent-encoding), at most 200 bytes in all.
 * "/" routes every path. Routes live in the state database; adding and removing one is audited.
 */
#ifndef ELASTOS_ROUTE_H
#define ELASTOS_ROUTE_H

#include "elastos/runtime.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_ROUTE_PREFIX_MAX 200
#define EL_ROUTE_GRANTS_MAX 16

typedef struct el_route {
    char *prefix;  /* "/app/" */
    char *target;  /* "hello@^1" or a CID */
    char **grants; /* RESOURCE:ACTION[,ACTION]..., given to each request's instance (as run --grant) */
    size_t n_grants;
    long long added_at; /* Unix seconds */
} el_route;

/* Whether prefix is a route prefix as above. */
EL_EXTERN bool el_route_prefix_valid(const char *prefix);

/* Routes prefix to target (NAME[@RANGE] or CID), whose instances get grants[0..n) (inside its
 * manifest's permissions). Refused: a malformed prefix or target, or a prefix already routed
 * (EL_ERR_USAGE: remove it first); a target that is not installed (EL_ERR_NOTFOUND), does not
 * verify or is not trusted (EL_ERR_TRUST), or is not a wasm capsule (EL_ERR_USAGE). Audited
 * (decision route_add) before it is stored. */
EL_EXTERN el_status el_route_add(el_runtime *rt, const char *prefix, const char *target, const char *const *grants,
                                 size_t n_grants, el_error *err);

/* Removes the route of exactly prefix (EL_ERR_NOTFOUND when none); audited (route_remove). */
EL_EXTERN el_status el_route_remove(el_runtime *rt, const char *prefix, el_error *err);

/* Every route, ordered by prefix; free with el_route_list_free. */
EL_EXTERN el_status el_route_list(el_runtime *rt, el_route **out, size_t *n, el_error *err);
EL_EXTERN void el_route_list_free(el_route *v, size_t n);

/* The route serving path (an absolute URL path, already checked by the front): the longest
 * prefix that path starts with, or whose prefix is path + "/". EL_ERR_NOTFOUND when none.
 * Clear *out with el_route_clear. */
EL_EXTERN el_status el_route_match(el_runtime *rt, const char *path, el_route *out, el_error *err);
EL_EXTERN void el_route_clear(el_route *r);

#ifdef __cplusplus
}
#endif
#endif
