/*
 * cmd_console.c - `elastos console`: prints a login URL for the operator's console of the running
 * daemon's HTTP front (docs/web.md). The daemon mints the single-use code (op console_login on
 * serve.sock, which only this user's processes may reach) and keeps it; this file only asks and
 * prints. Exit codes: 0; 66 no daemon runs on this home; 78 the daemon has no HTTP front.
 */
#include "cli.h"
#include "elastos/serve.h"

#include <jansson.h>
#include <stdio.h>

/* Asks the daemon of rt for a login URL and prints it; 0 or the printed error's exit code. */
static int console_url(el_runtime *rt)
{
    json_t *r;
    int rc = cli_serve_call(rt, json_pack("{s:s}", "op", "console_login"), &r, "elastos serve --http PORT");
    if (rc)
        return rc;
    const char *url = json_string_value(json_object_get(r, "url"));
    if (url) {
        printf("%s\n", url);
        fprintf(stderr, "elastos: open it within %lld s; it works once\n",
                (long long)json_integer_value(json_object_get(r, "expires_s")));
    } else {
        rc = cli_failf(EL_ERR_IO, "the daemon answered without a login URL (is it older than this elastos?)");
    }
    json_decref(r);
    return rc;
}

int cmd_console(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage("console", "takes no arguments");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    rc = console_url(rt);
    el_runtime_close(rt);
    return rc;
}
