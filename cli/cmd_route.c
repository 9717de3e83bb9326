/*
 * cmd_route.c - `elastos route add PREFIX NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... |
 * list [--json] | remove PREFIX`: the operator's routes of the HTTP front (include/elastos/route.h,
 * docs/web.md). The library checks and audits; this file only parses arguments and prints.
 */
#include "cli.h"
#include "elastos/route.h"

#include <jansson.h>

/* Appends each binding to arr (NULL: prints it); the row's shape is cli_binding_row's. */
static el_status list_rows(el_runtime *rt, json_t *arr, el_error *err)
{
    el_route *v;
    size_t n;
    el_status st = el_route_list(rt, &v, &n, err);
    if (st != EL_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        cli_binding_row(arr, "prefix", v[i].prefix, v[i].target, v[i].grants, v[i].n_grants, NULL, 0, v[i].added_at);
    el_route_list_free(v, n);
    return EL_OK;
}

_Static_assert(EL_ROUTE_GRANTS_MAX <= CLI_BINDING_GRANTS_MAX, "cmd_binding.c's grant array holds them");

/* The binding kinds' add; a route takes no arguments (args_max 0: the parser refuses them). */
static el_status add(el_runtime *rt, const char *prefix, const char *target, const char *const *grants, size_t n,
                     const char *const *args, size_t n_args, el_error *err)
{
    (void)args;
    (void)n_args;
    return el_route_add(rt, prefix, target, grants, n, err);
}

static const cli_binding_kind kind = {
    .cmd = "route", .what = "PREFIX", .removed = "removed", .grants_max = EL_ROUTE_GRANTS_MAX,
    .add = add, .remove = el_route_remove, .list = list_rows,
};

int cmd_route(int argc, char **argv) { return cli_binding_main(&kind, argc, argv); }
