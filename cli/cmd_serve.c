/* cmd_serve.c - `elastos serve` (the daemon), and the commands that talk to it: ps, stop, logs,
 * and `run --detach` (docs/serve.md). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "elastos/protocol.h"
#include "elastos/serve.h"

#include <jansson.h>
/* Flag limits of `elastos serve` (0 would mean "the default" to el_serve, so it is refused). */
#define SERVE_MAX_RUNNING 4096
#define SERVE_MAX_CALLS_PER_SEC 10000000
#define SERVE_MAX_LOG_KIB (64 * 1024)

static int serve_status(unsigned wait_s);
static int serve_stop(void);

bool cli_find_gateway(char *out)
{
    char self[PATH_MAX];
    el_error e;
    if (el_fs_exe_path(self, true, &e) != EL_OK)
        return false;
    snprintf(out, PATH_MAX, "%s/elastos-gateway", self);
    if (access(out, X_OK) == 0)
        return true;
    snprintf(out, PATH_MAX, "%s/../lib/elastos/elastos-gateway", self);
    return access(out, X_OK) == 0;
}

/* Parses serve's flags into o (each value validated; 64 and a one-line reason otherwise);
 * *mode becomes 's' for --status, 'x' for --stop, 0 to run the daemon. */
static int serve_flags(int argc, char **argv, el_serve_options *o, int *mode, unsigned *wait_s)
{
    for (int i = 1; i < argc; i++) {
        unsigned long long v;
        int rc = 0;
        const char *f = argv[i];
        if (!strcmp(f, "--status") || !strcmp(f, "--stop")) {
            *mode = f[2] == 's' && f[3] == 't' && f[4] == 'a' ? 's' : 'x';
            continue;
        }
        if (!strcmp(f, "--wait")) {
            if (i + 1 >= argc)
                return cli_usage("serve", "--wait needs a number of seconds");
            if ((rc = cli_parse_uint("serve", f, argv[++i], 0, 3600, &v)))
                return rc;
            *wait_s = (unsigned)v;
            continue;
        }
        bool known = !strcmp(f, "--max-running") || !strcmp(f, "--calls-per-sec") || !strcmp(f, "--log-kib") ||
                     !strcmp(f, "--ready-fd") || !strcmp(f, "--provider-calls") || !strcmp(f, "--http");
        if (!known)
            return cli_usage("serve", "unexpected argument \"%s\"", f);
        if (i + 1 >= argc)
            return cli_usage("serve", "%s needs a value", f);
        const char *val = argv[++i];
        if (!strcmp(f, "--max-running") && !(rc = cli_parse_uint("serve", f, val, 1, SERVE_MAX_RUNNING, &v)))
            o->max_running = (unsigned)v;
        else if (!strcmp(f, "--calls-per-sec") && !(rc = cli_parse_uint("serve", f, val, 1, SERVE_MAX_CALLS_PER_SEC, &v)))
            o->calls_per_sec = (unsigned)v;
        else if (!strcmp(f, "--log-kib") && !(rc = cli_parse_uint("serve", f, val, 1, SERVE_MAX_LOG_KIB, &v)))
            o->log_cap = (size_t)v * 1024;
        else if (!strcmp(f, "--provider-calls") && !(rc = cli_parse_uint("serve", f, val, 1, 1024, &v)))
            o->provider_calls = (unsigned)v;
        else if (!strcmp(f, "--ready-fd") && !(rc = cli_parse_uint("serve", f, val, 0, INT_MAX, &v)))
            o->ready_fd = (int)v;
        else if (!strcmp(f, "--http"))
            o->http = val; /* checked by el_serve (64 when malformed) */
        if (rc)
            return rc;
    }
    if (*mode && (o->max_running || o->calls_per_sec || o->log_cap || o->provider_calls || o->ready_fd >= 0 ||
                  o->http))
        return cli_usage("serve", "--status and --stop take no daemon flags");
    if (*wait_s && *mode != 's')
        return cli_usage("serve", "--wait goes with --status");
    return 0;
}

/* Waits for the daemon's "ready" on the pipe, then prints the one ready line (and passes the
 * word on to the caller's --ready-fd, if one was given). */
typedef struct ready_watch {
    int rd, forward;
    char sock[PATH_MAX];
    char http[EL_SERVE_HTTP_MAX]; /* the HTTP front as bound ("" none), set before "ready" */
} ready_watch;

static void *ready_main(void *arg)
{
    ready_watch *w = arg;
    char b[8];
    ssize_t n;
    while ((n = read(w->rd, b, sizeof b)) < 0 && errno == EINTR)
        ;
    if (n > 0) {
        if (w->http[0])
            printf("elastos serve: ready on %s (pid %d), http://%s/\n", w->sock, (int)getpid(), w->http);
        else
            printf("elastos serve: ready on %s (pid %d)\n", w->sock, (int)getpid());
        fflush(stdout);
        if (w->forward >= 0) {
            (void)!write(w->forward, "ready\n", 6);
            close(w->forward);
        }
    }
    close(w->rd);
    return NULL;
}

int cmd_serve(int argc, char **argv)
{
    el_serve_options o = {.ready_fd = -1};
    int mode = 0;
    unsigned wait_s = 0;
    int rc = serve_flags(argc, argv, &o, &mode, &wait_s);
    if (rc)
        return rc;
    if (mode)
        return mode == 's' ? serve_status(wait_s) : serve_stop();
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
    rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    ready_watch w = {.forward = o.ready_fd};
    char gateway[PATH_MAX];
    if (o.http) {
        if (!cli_find_gateway(gateway))
            return cli_failf(EL_ERR_CONFIG, "serve: --http needs elastos-gateway beside elastos (or in ../lib/elastos/)");
        o.gateway = gateway;
        o.http_bound = w.http;
    }
    int p[2];
    pthread_t th;
    bool watching = false;
    if (el_serve_socket_path(rt, w.sock, sizeof w.sock, &err) == EL_OK && pipe2(p, O_CLOEXEC) == 0) {
        w.rd = p[0];
        o.ready_fd = p[1];
        watching = pthread_create(&th, NULL, ready_main, &w) == 0;
        if (!watching) {
            close(p[0]);
            close(p[1]);
            o.ready_fd = w.forward;
        }
    }
    el_status st = el_serve(rt, &o, &err);
    if (watching) {
        if (o.ready_fd >= 0 && st != EL_OK)
            close(o.ready_fd); /* el_serve failed before "ready": end the watcher's read */
        pthread_join(th, NULL);
    }
    rc = st == EL_OK ? 0 : cli_fail(&err);
    if (st == EL_OK)
        printf("elastos serve: stopped (pid %d)\n", (int)getpid());
    el_runtime_close(rt);
    return rc;
}

/* The daemon's pid, from the peer credentials of a connection to its socket (0 and a printed
 * error's exit code otherwise: 66 when no daemon runs). */
static int daemon_pid(el_runtime *rt, pid_t *pid, char *sock)
{
    int fd;
    el_error err;
    if (el_serve_socket_path(rt, sock, PATH_MAX, &err) != EL_OK)
        return cli_fail(&err);
    if (el_serve_connect(rt, &fd, &err) != EL_OK) {
        if (err.code == EL_ERR_NOTFOUND)
            return cli_failf(EL_ERR_NOTFOUND, "no daemon is running on %s (start one with: elastos serve)", sock);
        return cli_fail(&err);
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    int r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    close(fd);
    if (r != 0)
        return cli_failf(EL_ERR_IO, "serve: cannot read the daemon's credentials on %s", sock);
    *pid = cred.pid;
    return 0;
}

/* serve --status: "running on SOCKET (pid N), K instances (R running)", 0; 66 when not running
 * (after polling for up to wait_s seconds). */
static int serve_status(unsigned wait_s)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char sock[PATH_MAX];
    pid_t pid;
    json_t *resp;
    for (unsigned t = 0; wait_s && t < wait_s * 10; t++) {
        int fd;
        el_error err;
        if (el_serve_connect(rt, &fd, &err) == EL_OK) {
            close(fd);
            break;
        }
        usleep(100000);
    }
    if (!(rc = daemon_pid(rt, &pid, sock)) && !(rc = cli_serve_call(rt, json_pack("{s:s}", "op", "ps"), &resp, NULL))) {
        size_t i, running = 0;
        json_t *v, *list = json_object_get(resp, "instances");
        json_array_foreach(list, i, v) running += !strcmp(json_string_value(json_object_get(v, "state")), "running");
        printf("elastos serve: running on %s (pid %d), %zu instances (%zu running)", sock, (int)pid,
               json_array_size(list), running);
        json_decref(resp);
        if (!cli_serve_call(rt, json_pack("{s:s}", "op", "ping"), &resp, NULL)) {
            const char *http = json_string_value(json_object_get(resp, "http"));
            if (http)
                printf(", http://%s/", http);
            json_decref(resp);
        }
        printf("\n");
    }
    el_runtime_close(rt);
    return rc;
}

/* true while pid exists and is not a zombie (a zombie has finished; only its parent's wait is
 * missing). */
static bool alive(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

/* serve --stop: SIGTERM to the daemon, then waits (up to 60 s) until it is gone. */
static int serve_stop(void)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char sock[PATH_MAX];
    pid_t pid;
    if (!(rc = daemon_pid(rt, &pid, sock))) {
        if (kill(pid, SIGTERM) != 0)
            rc = cli_failf(EL_ERR_IO, "serve: cannot signal the daemon (pid %d): %s", (int)pid, strerror(errno));
        for (int t = 0; !rc && t < 6000 && alive(pid); t++)
            usleep(10000);
        if (!rc && alive(pid))
            rc = cli_failf(EL_ERR_INTERNAL, "serve: the daemon (pid %d) did not stop within 60 s", (int)pid);
        if (!rc)
            printf("elastos serve: stopped the daemon (pid %d)\n", (int)pid);
    }
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

int cli_serve_call(el_runtime *rt, json_t *req, json_t **resp, const char *start_hint)
{
    int fd;
    el_error err;
    *resp = NULL;
    el_status st = el_serve_connect(rt, &fd, &err);
    if (st == EL_ERR_NOTFOUND && start_hint) {
        json_decref(req);
        return cli_failf(EL_ERR_NOTFOUND, "no daemon is running on %s (start one with: %s)", el_runtime_home(rt),
                         start_hint);
    }
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
    int rc = cli_serve_call(rt, json_pack("{s:s, s:s, s:o, s:o}", "op", "run", key, !strcmp(key, "path") ? abs : target,
                                "grants", g, "args", a), &resp, NULL);
    if (rc)
        return rc;
    printf("%s\n", json_string_value(json_object_get(resp, "id")));
    json_decref(resp);
    return 0;
}

/* STARTED (UTC, to the second) and UPTIME (running: so far; exited: how long it ran) of v. */
static void ps_times(json_t *v, char started[32], char uptime[32])
{
    int64_t st = (int64_t)json_integer_value(json_object_get(v, "started_ms"));
    int64_t en = (int64_t)json_integer_value(json_object_get(v, "ended_ms"));
    snprintf(started, 32, "-");
    snprintf(uptime, 32, "-");
    if (st <= 0)
        return;
    time_t t = (time_t)(st / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(started, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t end = en > 0 ? en : (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int64_t s = (end - st) / 1000;
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(uptime, 32, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(uptime, 32, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(uptime, 32, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
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
    rc = cli_serve_call(rt, json_pack("{s:s}", "op", "ps"), &resp, NULL);
    if (!rc) {
        json_t *list = json_object_get(resp, "instances");
        if (as_json) {
            char *s = json_dumps(list, JSON_COMPACT);
            printf("%s\n", s ? s : "[]");
            free(s);
        } else {
            printf("%-32s  %-20s  %-8s  %-5s  %-20s  %-9s  %s\n", "ID", "NAME", "STATE", "EXIT", "STARTED", "UPTIME",
                   "REASON");
            size_t i;
            json_t *v;
            json_array_foreach(list, i, v)
            {
                json_t *ec = json_object_get(v, "exit_code");
                char exit_s[16] = "-";
                if (ec)
                    snprintf(exit_s, sizeof exit_s, "%d", (int)json_integer_value(ec));
                const char *reason = json_string_value(json_object_get(v, "reason"));
                char started[32], uptime[32];
                ps_times(v, started, uptime);
                printf("%-32s  %-20s  %-8s  %-5s  %-20s  %-9s  %s\n", json_string_value(json_object_get(v, "id")),
                       json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "state")),
                       exit_s, started, uptime, reason ? reason : "");
            }
        }
        json_decref(resp);
    }
    el_runtime_close(rt);
    return rc;
}

/* The daemon's instance list (a new reference to the "instances" array in *list); 0 or the
 * printed error's code. */
static int instances(el_runtime *rt, json_t **list)
{
    json_t *resp;
    int rc = cli_serve_call(rt, json_pack("{s:s}", "op", "ps"), &resp, NULL);
    if (rc)
        return rc;
    *list = json_incref(json_object_get(resp, "instances"));
    json_decref(resp);
    return 0;
}

/* Resolves an instance ID or a unique prefix of one (like git and docker) into id (33 bytes):
 * 66 when none matches, 64 when the prefix is ambiguous. */
static int resolve_id(el_runtime *rt, const char *cmd, const char *prefix, char id[33])
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < pl; i++)
        if (!((prefix[i] >= '0' && prefix[i] <= '9') || (prefix[i] >= 'a' && prefix[i] <= 'f')) || pl > 32)
            return cli_usage(cmd, "\"%.40s\" is not an instance ID (32 lowercase hex characters, or a unique prefix)",
                             prefix);
    json_t *list, *v;
    int rc = instances(rt, &list);
    if (rc)
        return rc;
    size_t i, found = 0;
    json_array_foreach(list, i, v)
    {
        const char *x = json_string_value(json_object_get(v, "id"));
        if (x && !strncmp(x, prefix, pl) && found++ == 0)
            snprintf(id, 33, "%s", x);
    }
    json_decref(list);
    if (found == 0)
        return cli_failf(EL_ERR_NOTFOUND, "%s: no instance %s in the daemon (elastos ps lists them)", cmd, prefix);
    if (found > 1)
        return cli_usage(cmd, "instance ID prefix %s is ambiguous (%zu instances match): give more characters", prefix,
                         found);
    return 0;
}

/* The instance object of id (new reference), or NULL with the printed error's code in *rc. */
static json_t *instance(el_runtime *rt, const char *id, int *rc)
{
    json_t *list, *v, *found = NULL;
    if ((*rc = instances(rt, &list)))
        return NULL;
    size_t i;
    json_array_foreach(list, i, v) if (!strcmp(json_string_value(json_object_get(v, "id")), id)) found = json_incref(v);
    json_decref(list);
    if (!found)
        *rc = cli_failf(EL_ERR_NOTFOUND, "instance %s is gone from the daemon", id);
    return found;
}

/* The preamble of stop, logs and wait: argv holds exactly one instance ID (or a unique prefix),
 * the runtime opens and the daemon knows the instance. On success *rt is open (the caller
 * closes it) and id holds the full ID; otherwise the printed error's code, *rt closed. */
static int open_instance(const char *cmd, int argc, char **argv, el_runtime **rt, char id[33])
{
    *rt = NULL;
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage(cmd, "needs exactly one instance ID (elastos ps lists them)");
    int rc = cli_open_runtime(rt);
    if (rc)
        return rc;
    if ((rc = resolve_id(*rt, cmd, argv[1], id))) {
        el_runtime_close(*rt);
        *rt = NULL;
    }
    return rc;
}

/* "ID exited N[: reason]" for the instance object in. */
static void print_ended(const char *id, json_t *in)
{
    const char *reason = json_string_value(json_object_get(in, "reason"));
    printf("%s exited %d%s%s\n", id, (int)json_integer_value(json_object_get(in, "exit_code")),
           reason && *reason ? ": " : "", reason ? reason : "");
}

int cmd_stop(int argc, char **argv)
{
    char id[33];
    el_runtime *rt;
    int rc = open_instance("stop", argc, argv, &rt, id);
    if (rc)
        return rc;
    json_t *resp;
    if (!(rc = cli_serve_call(rt, json_pack("{s:s, s:s}", "op", "stop", "id", id), &resp, NULL))) {
        print_ended(id, json_object_get(resp, "instance"));
        json_decref(resp);
    }
    el_runtime_close(rt);
    return rc;
}

/* The instance's log as the daemon has it now (malloc'd, *n bytes); NULL with *rc on failure. */
static uint8_t *log_now(el_runtime *rt, const char *id, size_t *n, int *rc)
{
    json_t *resp;
    if ((*rc = cli_serve_call(rt, json_pack("{s:s, s:s}", "op", "logs", "id", id), &resp, NULL)))
        return NULL;
    uint8_t *d = el_protocol_base64_decode(json_string_value(json_object_get(resp, "data")), n);
    json_decref(resp);
    if (!d)
        *rc = cli_failf(EL_ERR_INTERNAL, "logs: the daemon sent undecodable data");
    return d;
}

/* Where the new bytes of cur begin, given prev (the last poll): after the end of prev's tail
 * inside cur (the log is a ring of the newest bytes, so older ones may have dropped off). */
static size_t new_from(const uint8_t *prev, size_t pn, const uint8_t *cur, size_t cn)
{
    if (pn == 0)
        return 0;
    size_t tail = pn < 256 ? pn : 256;
    const uint8_t *hit = NULL;
    for (const uint8_t *p = cur; cn >= tail && p + tail <= cur + cn;) {
        const uint8_t *m = memmem(p, (size_t)(cur + cn - p), prev + pn - tail, tail);
        if (!m)
            break;
        hit = m;
        p = m + 1;
    }
    return hit ? (size_t)(hit - cur) + tail : 0;
}

/* logs -f: prints the log, then what is added, until the instance exits. */
static int logs_follow(el_runtime *rt, const char *id)
{
    uint8_t *prev = NULL;
    size_t pn = 0;
    int rc = 0;
    for (bool last = false;;) {
        json_t *in = instance(rt, id, &rc);
        if (!in)
            break;
        last = strcmp(json_string_value(json_object_get(in, "state")), "running") != 0;
        json_decref(in);
        size_t cn;
        uint8_t *cur = log_now(rt, id, &cn, &rc);
        if (!cur)
            break;
        size_t from = new_from(prev, pn, cur, cn);
        fwrite(cur + from, 1, cn - from, stdout);
        fflush(stdout);
        free(prev);
        prev = cur;
        pn = cn;
        if (last)
            break;
        usleep(100000);
    }
    free(prev);
    return rc;
}

int cmd_logs(int argc, char **argv)
{
    bool follow = argc == 3 && (!strcmp(argv[1], "-f") || !strcmp(argv[1], "--follow"));
    if (follow) {
        argv++;
        argc--;
    }
    char id[33];
    el_runtime *rt;
    int rc = open_instance("logs", argc, argv, &rt, id);
    if (rc)
        return rc;
    if (follow) {
        rc = logs_follow(rt, id);
    } else {
        size_t n;
        uint8_t *d = log_now(rt, id, &n, &rc);
        if (d)
            fwrite(d, 1, n, stdout);
        free(d);
    }
    el_runtime_close(rt);
    return rc;
}

/* wait ID: until the instance exits; prints how it ended and exits with its status. */
int cmd_wait(int argc, char **argv)
{
    char id[33];
    el_runtime *rt;
    int rc = open_instance("wait", argc, argv, &rt, id);
    if (rc)
        return rc;
    for (;;) {
        json_t *in = instance(rt, id, &rc);
        if (!in)
            break;
        if (strcmp(json_string_value(json_object_get(in, "state")), "running")) {
            print_ended(id, in);
            rc = (int)json_integer_value(json_object_get(in, "exit_code"));
            json_decref(in);
            break;
        }
        json_decref(in);
        usleep(50000);
    }
    el_runtime_close(rt);
    return rc;
}
