/*
 * cmd_route.c - `elastos route add PREFIX NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... |
 * list [--json] | remove PREFIX`: the operator's routes of the HTTP front (include/elastos/route.h,
 * docs/web.md). The library checks and audits; this file only parses arguments and prints.
 */
#include "cli.h"
#include "elastos/route.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_binding_row(json_t *arr, const char *key, const char *name, const char *target, char *const *grants, size_t n,
                     long long added_at)
{
    char when[32];
    time_t t = (time_t)added_at;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    if (arr) {
        json_t *g = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(g, json_string(grants[k]));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}", key, name, "target", target, "grants", g,
                                             "added_at", when));
        return;
    }
    printf("%s\t%s\t%s", name, target, when);
    for (size_t k = 0; k < n; k++)
        printf("%s%s", k ? " " : "\tgrants: ", grants[k]);
    printf("\n");
}

void cli_binding_end(json_t *arr)
{
    if (!arr)
        return;
    char *text = json_dumps(arr, JSON_COMPACT);
    printf("%s\n", text ? text : "[]");
    free(text);
    json_decref(arr);
}

static int route_add(int argc, char **argv)
{
    if (argc < 4)
        return cli_usage("route", "add takes PREFIX and NAME[@RANGE]|CID");
    const char *grants[EL_ROUTE_GRANTS_MAX];
    size_t n = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--grant") || i + 1 >= argc)
            return cli_usage("route", "add: unexpected argument \"%s\" (only --grant RESOURCE:ACTION)", argv[i]);
        if (n == EL_ROUTE_GRANTS_MAX)
            return cli_usage("route", "add: at most %d --grant", EL_ROUTE_GRANTS_MAX);
        grants[n++] = argv[++i];
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = el_route_add(rt, argv[2], argv[3], grants, n, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s -> %s\n", argv[2], argv[3]);
    return 0;
}

static int route_list(bool json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_route *v;
    size_t n;
    el_error err;
    el_status st = el_route_list(rt, &v, &n, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++)
        cli_binding_row(arr, "prefix", v[i].prefix, v[i].target, v[i].grants, v[i].n_grants, v[i].added_at);
    el_route_list_free(v, n);
    cli_binding_end(arr);
    return 0;
}

static int route_remove(const char *prefix)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = el_route_remove(rt, prefix, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s removed\n", prefix);
    return 0;
}

int cmd_route(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("route", "missing subcommand (add, list, remove)");
    if (!strcmp(argv[1], "add"))
        return route_add(argc, argv);
    if (!strcmp(argv[1], "list")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
            return cli_usage("route", "list takes only --json");
        return route_list(argc == 3);
    }
    if (!strcmp(argv[1], "remove")) {
        if (argc != 3)
            return cli_usage("route", "remove takes one PREFIX");
        return route_remove(argv[2]);
    }
    return cli_usage("route", "unknown subcommand \"%s\"", argv[1]);
}
