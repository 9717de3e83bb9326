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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Asks the daemon of rt for a login URL and prints it; 0 or the printed error's exit code. */
static int console_url(el_runtime *rt)
{
    int fd;
    el_error err;
    if (el_serve_connect(rt, &fd, &err) != EL_OK)
        return err.code == EL_ERR_NOTFOUND
                   ? cli_failf(EL_ERR_NOTFOUND, "no daemon is running on %s (start one with: elastos serve --http PORT)",
                               el_runtime_home(rt))
                   : cli_fail(&err);
    char *line = NULL;
    el_status st = el_serve_call(fd, "{\"op\":\"console_login\"}", &line, &err);
    close(fd);
    if (st != EL_OK)
        return cli_fail(&err);
    json_t *r = json_loads(line, 0, NULL);
    free(line);
    const char *url = json_string_value(json_object_get(r, "url"));
    int rc;
    if (json_is_true(json_object_get(r, "ok")) && url) {
        printf("%s\n", url);
        fprintf(stderr, "elastos: open it within %lld s; it works once\n",
                (long long)json_integer_value(json_object_get(r, "expires_s")));
        rc = 0;
    } else {
        json_int_t code = json_integer_value(json_object_get(r, "code"));
        const char *msg = json_string_value(json_object_get(r, "error"));
        rc = cli_failf(code > 0 && code < 256 ? (int)code : EL_ERR_INTERNAL, "%s",
                       msg ? msg : "the daemon refused the request (is it older than this elastos?)");
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
