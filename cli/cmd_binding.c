/*
 * cmd_binding.c - the operator's bindings of a key to a capsule, with grants: `provider add SCHEME
 * ...` (cmd_provider.c) and `route add PREFIX ...` (cmd_route.c) are one command shape, `add KEY
 * NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... [-- ARG...] | list [--json] | remove KEY`, written once here
 * over a small table of the library calls of each kind. The library checks and audits; this file
 * only parses arguments and prints.
 */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_binding_row(json_t *arr, const char *key, const char *name, const char *target, char *const *grants, size_t n,
                     char *const *args, size_t n_args, long long added_at)
{
    char when[32];
    time_t t = (time_t)added_at;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    if (arr) {
        json_t *g = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(g, json_string(grants[k]));
        json_t *row = json_pack("{s:s, s:s, s:o, s:s}", key, name, "target", target, "grants", g, "added_at", when);
        if (args) {
            json_t *a = json_array();
            for (size_t k = 0; k < n_args; k++)
                json_array_append_new(a, json_string(args[k]));
            json_object_set_new(row, "args", a);
        }
        json_array_append_new(arr, row);
        return;
    }
    printf("%s\t%s\t%s", name, target, when);
    for (size_t k = 0; k < n; k++)
        printf("%s%s", k ? " " : "\tgrants: ", grants[k]);
    for (size_t k = 0; args && k < n_args; k++)
        printf("%s%s", k ? " " : "\targs: ", args[k]);
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

static int binding_add(const cli_binding_kind *k, int argc, char **argv)
{
    if (argc < 4)
        return cli_usage(k->cmd, "add takes %s and NAME[@RANGE]|CID", k->what);
    const char *grants[CLI_BINDING_GRANTS_MAX];
    size_t n = 0, n_args = 0;
    const char *const *args = NULL;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--") && k->args_max) {
            args = (const char *const *)argv + i + 1;
            n_args = (size_t)(argc - i - 1);
            break;
        }
        if (strcmp(argv[i], "--grant") || i + 1 >= argc)
            return cli_usage(k->cmd, "add: unexpected argument \"%s\" (only --grant RESOURCE:ACTION%s)", argv[i],
                             k->args_max ? ", then -- ARG..." : "");
        if (n == k->grants_max) /* <= CLI_BINDING_GRANTS_MAX: asserted by each kind */
            return cli_usage(k->cmd, "add: at most %zu --grant", k->grants_max);
        grants[n++] = argv[++i];
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = k->add(rt, argv[2], argv[3], grants, n, args, n_args, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s -> %s\n", argv[2], argv[3]);
    return 0;
}

static int binding_list(const cli_binding_kind *k, bool json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    json_t *arr = json ? json_array() : NULL;
    el_error err;
    el_status st = k->list(rt, arr, &err);
    el_runtime_close(rt);
    if (st != EL_OK) {
        json_decref(arr);
        return cli_fail(&err);
    }
    cli_binding_end(arr);
    return 0;
}

static int binding_remove(const cli_binding_kind *k, const char *key)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = k->remove(rt, key, &err);
    el_runtime_close(rt);
    if (st != EL_OK)
        return cli_fail(&err);
    printf("%s %s\n", key, k->removed);
    return 0;
}

int cli_binding_main(const cli_binding_kind *k, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(k->cmd, "missing subcommand (add, list, remove)");
    if (!strcmp(argv[1], "add"))
        return binding_add(k, argc, argv);
    if (!strcmp(argv[1], "list")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
            return cli_usage(k->cmd, "list takes only --json");
        return binding_list(k, argc == 3);
    }
    if (!strcmp(argv[1], "remove")) {
        if (argc != 3)
            return cli_usage(k->cmd, "remove takes one %s", k->what);
        return binding_remove(k, argv[2]);
    }
    return cli_usage(k->cmd, "unknown subcommand \"%s\"", argv[1]);
}
