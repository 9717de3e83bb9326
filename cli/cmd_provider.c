/*
 * cmd_provider.c - `elastos provider add SCHEME NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... [-- ARG...] |
 * list [--json] | remove SCHEME`: the operator's bindings of URI schemes to provider capsules
 * (include/elastos/provider.h, docs/providers.md). The library checks and audits; this file
 * only parses arguments and prints.
 */
#include "cli.h"
#include "elastos/provider.h"

#include <jansson.h>

/* Appends each binding to arr (NULL: prints it); the row's shape is cli_binding_row's. */
static el_status list_rows(el_runtime *rt, json_t *arr, el_error *err)
{
    el_provider_binding *v;
    size_t n;
    el_status st = el_provider_list(rt, &v, &n, err);
    if (st != EL_OK)
        return st;
    static char *const no_args[1] = {NULL}; /* a provider's row always has "args" (maybe []) */
    for (size_t i = 0; i < n; i++)
        cli_binding_row(arr, "scheme", v[i].scheme, v[i].target, v[i].grants, v[i].n_grants,
                        v[i].args ? v[i].args : no_args, v[i].n_args, v[i].added_at);
    el_provider_list_free(v, n);
    return EL_OK;
}

_Static_assert(EL_PROVIDER_GRANTS_MAX <= CLI_BINDING_GRANTS_MAX, "cmd_binding.c's grant array holds them");

static const cli_binding_kind kind = {
    .cmd = "provider", .what = "SCHEME", .removed = "unbound", .grants_max = EL_PROVIDER_GRANTS_MAX,
    .args_max = EL_PROVIDER_ARGS_MAX,
    .add = el_provider_add, .remove = el_provider_remove, .list = list_rows,
};

int cmd_provider(int argc, char **argv) { return cli_binding_main(&kind, argc, argv); }
