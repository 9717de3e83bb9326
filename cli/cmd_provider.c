/*
 * cmd_provider.c - `elastos provider add SCHEME NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... |
 * list [--json] | remove SCHEME`: the operator's bindings of URI schemes to provider capsules
 * (include/elastos/provider.h, docs/providers.md). The library checks and audits; this file
 * only parses arguments and prints.
 */
#include "cli.h"
#include "elastos/provider.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int provider_add(int argc, char **argv)
{
    if (argc < 4)
        return cli_usage("provider", "add takes SCHEME and NAME[@RANGE]|CID");
    const char *grants[EL_PROVIDER_GRANTS_MAX];
    size_t n = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--grant") || i + 1 >= argc)
            return cli_usage("provider", "add: unexpected argument \"%s\" (only --grant RESOURCE:ACTION)", argv[i]);
        if (n == EL_PROVIDER_GRANTS_MAX)
            return cli_usage("provider", "add: at most %d --grant", EL_PROVIDER_GRANTS_MAX);
        grants[n++] = argv[++i];
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = el_provider_add(rt, argv[2], argv[3], grants, n, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s -> %s\n", argv[2], argv[3]);
    return 0;
}

static int provider_list(bool json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_provider_binding *v;
    size_t n;
    el_error err;
    el_status st = el_provider_list(rt, &v, &n, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++)
        cli_binding_row(arr, "scheme", v[i].scheme, v[i].target, v[i].grants, v[i].n_grants, v[i].added_at);
    el_provider_list_free(v, n);
    cli_binding_end(arr);
    return 0;
}

static int provider_remove(const char *scheme)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = el_provider_remove(rt, scheme, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s unbound\n", scheme);
    return 0;
}

int cmd_provider(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("provider", "missing subcommand (add, list, remove)");
    if (!strcmp(argv[1], "add"))
        return provider_add(argc, argv);
    if (!strcmp(argv[1], "list")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
            return cli_usage("provider", "list takes only --json");
        return provider_list(argc == 3);
    }
    if (!strcmp(argv[1], "remove")) {
        if (argc != 3)
            return cli_usage("provider", "remove takes one SCHEME");
        return provider_remove(argv[2]);
    }
    return cli_usage("provider", "unknown subcommand \"%s\"", argv[1]);
}
