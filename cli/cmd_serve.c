/* cmd_serve.c - `elastos serve` (the daemon), and the commands that talk to it: ps, stop, logs,
 * and `run --detach` (docs/serve.md). */
#include "cli.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elastos/protocol.h"
#include "elastos/serve.h"

#include <jansson.h>

int cmd_serve(int argc, char **argv)
{
    el_serve_options o = {.ready_fd = -1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-running") && i + 1 < argc)
            o.max_running = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--calls-per-sec") && i + 1 < argc)
            o.calls_per_sec = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--log-kib") && i + 1 < argc)
            o.log_cap = (size_t)strtoul(argv[++i], NULL, 10) * 1024;
        else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc)
            o.ready_fd = atoi(argv[++i]);
        else
            return cli_usage("serve", "unexpected argument \"%s\"", argv[i]);
    }
    /* The daemon never prompts: with stdin on a terminal, a shell decision would ask there and
     * hold up every capsule. Decisions come from the shell's policy file (or are denied). */
    if (!freopen("/dev/null", "r", stdin))
        return cli_failf(EL_ERR_IO, "serve: cannot redirect stdin from /dev/null");
    /* Process-wide settings are the program's (serve.h): the daemon takes SIGTERM, SIGINT and
     * SIGHUP through a signalfd, so they are blocked before any thread starts, and a client that
     * hangs up must not kill it with SIGPIPE. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_status st = el_serve(rt, &o, &err);
    rc = st == EL_OK ? 0 : cli_fail(&err);
    el_runtime_close(rt);
    return rc;
}

/* el_serve_call with JSON values: req encoded, the response line parsed (an object). */
static el_status call_json(int fd, json_t *req, json_t **resp, el_error *err)
{
    char *text = json_dumps(req, JSON_COMPACT), *line = NULL;
    el_status st = text ? el_serve_call(fd, text, &line, err) : el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    free(text);
    *resp = line ? json_loads(line, 0, NULL) : NULL;
    free(line);
    if (st == EL_OK && !json_is_object(*resp)) {
        json_decref(*resp);
        *resp = NULL;
        st = el_error_set(err, EL_ERR_IO, "serve: the daemon closed the connection or sent a malformed response");
    }
    return st;
}

/* One request to the daemon; 0 and *resp on success, else the printed error's exit code. */
static int call(el_runtime *rt, json_t *req, json_t **resp)
{
    int fd;
    el_error err;
    el_status st = el_serve_connect(rt, &fd, &err);
    if (st == EL_OK) {
        st = call_json(fd, req, resp, &err);
        close(fd);
    }
    json_decref(req);
    if (st != EL_OK)
        return cli_fail(&err);
    if (!json_is_true(json_object_get(*resp, "ok"))) {
        json_int_t code = json_integer_value(json_object_get(*resp, "code"));
        int rc = cli_failf(code > 0 && code < 256 ? (int)code : EL_ERR_INTERNAL, "%s",
                           json_string_value(json_object_get(*resp, "error")) ? json_string_value(json_object_get(*resp, "error"))
                                                                            : "the daemon refused the request");
        json_decref(*resp);
        *resp = NULL;
        return rc;
    }
    return 0;
}

int cli_run_detach(el_runtime *rt, const char *target, const char *const *grants, size_t n_grants,
                   char *const *args, size_t n_args)
{
    /* A CID or a NAME[@RANGE] is resolved by the daemon (which fetches a missing CID from its
     * configured sources); a file is named by its absolute path. */
    char abs[PATH_MAX];
    el_error ignored;
    const char *key = el_cid_validate(target, &ignored) == EL_OK ? "cid" : realpath(target, abs) ? "path" : "name";
    json_t *g = json_array(), *a = json_array();
    for (size_t i = 0; i < n_grants; i++)
        json_array_append_new(g, json_string(grants[i]));
    for (size_t i = 0; i < n_args; i++) {
        json_t *s = json_string(args[i]);
        if (!s) {
            json_decref(g);
            json_decref(a);
            return cli_usage("run", "capsule arguments must be valid UTF-8");
        }
        json_array_append_new(a, s);
    }
    json_t *resp;
    int rc = call(rt, json_pack("{s:s, s:s, s:o, s:o}", "op", "run", key, !strcmp(key, "path") ? abs : target,
                                "grants", g, "args", a), &resp);
    if (rc)
        return rc;
    printf("%s\n", json_string_value(json_object_get(resp, "id")));
    json_decref(resp);
    return 0;
}

int cmd_ps(int argc, char **argv)
{
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else
            return cli_usage("ps", "unexpected argument \"%s\"", argv[i]);
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    json_t *resp;
    rc = call(rt, json_pack("{s:s}", "op", "ps"), &resp);
    if (!rc) {
        json_t *list = json_object_get(resp, "instances");
        if (as_json) {
            char *s = json_dumps(list, JSON_COMPACT);
            printf("%s\n", s ? s : "[]");
            free(s);
        } else {
            printf("%-32s  %-20s  %-8s  %-5s  %s\n", "ID", "NAME", "STATE", "EXIT", "REASON");
            size_t i;
            json_t *v;
            json_array_foreach(list, i, v)
            {
                json_t *ec = json_object_get(v, "exit_code");
                char exit_s[16] = "-";
                if (ec)
                    snprintf(exit_s, sizeof exit_s, "%d", (int)json_integer_value(ec));
                const char *reason = json_string_value(json_object_get(v, "reason"));
                printf("%-32s  %-20s  %-8s  %-5s  %s\n", json_string_value(json_object_get(v, "id")),
                       json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "state")),
                       exit_s, reason ? reason : "");
            }
        }
        json_decref(resp);
    }
    el_runtime_close(rt);
    return rc;
}

static int one_id(const char *cmd, int argc, char **argv, const char **id)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage(cmd, "needs exactly one instance ID (elastos ps lists them)");
    *id = argv[1];
    return 0;
}

int cmd_stop(int argc, char **argv)
{
    const char *id = NULL;
    int rc = one_id("stop", argc, argv, &id);
    if (rc)
        return rc;
    el_runtime *rt;
    if ((rc = cli_open_runtime(&rt)))
        return rc;
    json_t *resp;
    rc = call(rt, json_pack("{s:s, s:s}", "op", "stop", "id", id), &resp);
    if (!rc) {
        json_t *in = json_object_get(resp, "instance");
        printf("%s exited %d%s%s\n", id, (int)json_integer_value(json_object_get(in, "exit_code")),
               *json_string_value(json_object_get(in, "reason")) ? ": " : "",
               json_string_value(json_object_get(in, "reason")));
        json_decref(resp);
    }
    el_runtime_close(rt);
    return rc;
}

int cmd_logs(int argc, char **argv)
{
    const char *id = NULL;
    int rc = one_id("logs", argc, argv, &id);
    if (rc)
        return rc;
    el_runtime *rt;
    if ((rc = cli_open_runtime(&rt)))
        return rc;
    json_t *resp;
    rc = call(rt, json_pack("{s:s, s:s}", "op", "logs", "id", id), &resp);
    if (!rc) {
        size_t n;
        uint8_t *d = el_base64_decode(json_string_value(json_object_get(resp, "data")), &n);
        if (d)
            fwrite(d, 1, n, stdout);
        free(d);
        json_decref(resp);
    }
    el_runtime_close(rt);
    return rc;
}
