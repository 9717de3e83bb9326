/*
 * serve_http.c - the HTTP front of `elastos serve --http` (docs/web.md), the daemon's side of it:
 * the listener it binds and hands to the elastos-gateway process, that process's start, restart
 * and stop, the control socket on which it asks for daemon connections, and the gateway's
 * requests (op "http"), each run as one WAGI/CGI launch of the capsule its route names.
 *
 * Shaped so: the HTTP parser is the gateway's, a separate unprivileged process (as OpenSSH
 * separates its parser from its privileged part); this file only checks what the gateway sends
 * again at the boundary and builds the request's CGI environment. It is one feature on top of
 * the daemon and reaches it only through sv->ops (serve_daemon.h), as serve_kept.c and
 * serve_console.c do; the console's own paths go to serve_console.c.
 */
#include "serve_daemon.h"
#include "elastos/cid.h"
#include "elastos/protocol.h"
#include "elastos/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the HTTP front's requests (docs/web.md) ---------------------------------------------------- */

/* A path as the gateway sends it (decoded, checked there; checked again here, at the boundary):
 * absolute, no control byte, no "." or ".." segment. */
static bool http_path_ok(const char *p, size_t len)
{
    if (len == 0 || len > 8192 || p[0] != '/' || strlen(p) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    for (const char *seg = p + 1;; seg = strchr(seg, '/') + 1) {
        size_t l = strcspn(seg, "/");
        if ((l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!seg[l])
            return true;
    }
}

/* HTTP_<NAME> of a request header name: letters upper-cased, '-' as '_'; false for a name
 * that is not [A-Za-z0-9-] (such a header is not passed on), and for Proxy (httpoxy: a
 * capsule's HTTP library would take HTTP_PROXY for its proxy). */
static bool http_var(const char *name, size_t len, char *out, size_t cap)
{
    if (len == 0 || len + 6 > cap || (len == 5 && !strncasecmp(name, "proxy", 5)))
        return false;
    memcpy(out, "HTTP_", 5);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        out[5 + i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    out[5 + len] = 0;
    return true;
}

static void env_set(json_t *env, const char *name, const char *value)
{
    json_object_set_new(env, name, json_string(value ? value : ""));
}

/* The CGI/WAGI environment of one request (RFC 3875 section 4.1, WAGI's X_* additions): only
 * this request's values, HTTP_* from its headers (repeated ones joined by ", "); Content-Type
 * and Content-Length as CONTENT_*. NULL when out of memory or a header is malformed. */
static json_t *http_env(serve *sv, json_t *req, const el_route *r, size_t body_len)
{
    const char *path = json_string_value(json_object_get(req, "path"));
    const char *query = json_string_value(json_object_get(req, "query"));
    const char *remote = json_string_value(json_object_get(req, "remote"));
    json_t *env = json_object();
    if (!env)
        return NULL;
    size_t pl = strlen(r->prefix) - 1; /* SCRIPT_NAME: the prefix without its last '/' */
    char script[EL_ROUTE_PREFIX_MAX + 1], port[8] = "", host[EL_SERVE_HTTP_MAX], num[24], matched[EL_ROUTE_PREFIX_MAX + 8];
    snprintf(script, sizeof script, "%.*s", (int)pl, r->prefix);
    snprintf(host, sizeof host, "%s", sv->http_addr);
    char *colon = strrchr(host, ':');
    if (colon) {
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = 0;
    }
    snprintf(num, sizeof num, "%zu", body_len);
    snprintf(matched, sizeof matched, "%s...", r->prefix);
    env_set(env, "GATEWAY_INTERFACE", "CGI/1.1");
    env_set(env, "SERVER_SOFTWARE", "elastos-gateway");
    env_set(env, "SERVER_PROTOCOL", "HTTP/1.1");
    env_set(env, "SERVER_NAME", host);
    env_set(env, "SERVER_PORT", port);
    env_set(env, "REQUEST_METHOD", json_string_value(json_object_get(req, "method")));
    env_set(env, "SCRIPT_NAME", script);
    env_set(env, "PATH_INFO", strlen(path) > pl ? path + pl : "");
    env_set(env, "X_RAW_PATH_INFO", strlen(path) > pl ? path + pl : "");
    env_set(env, "X_MATCHED_ROUTE", matched);
    env_set(env, "QUERY_STRING", query);
    env_set(env, "REMOTE_ADDR", remote);
    env_set(env, "REMOTE_HOST", remote);
    env_set(env, "CONTENT_LENGTH", body_len ? num : "");
    env_set(env, "CONTENT_TYPE", "");
    char *url = NULL;
    if (asprintf(&url, "http://%s%s%s%s", sv->http_addr, path, query && *query ? "?" : "", query ? query : "") > 0)
        env_set(env, "X_FULL_URL", url);
    free(url);
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(req, "headers"), i, h)
    {
        const char *line = json_string_value(h), *sep = strchr(line, ':');
        char name[256];
        if (!sep || strlen(line) != json_string_length(h)) {
            json_decref(env);
            return NULL;
        }
        const char *value = sep + 1 + (sep[1] == ' ');
        if ((size_t)(sep - line) == 12 && !strncasecmp(line, "content-type", 12)) {
            env_set(env, "CONTENT_TYPE", value);
            continue;
        }
        if (((size_t)(sep - line) == 14 && !strncasecmp(line, "content-length", 14)) ||
            !http_var(line, (size_t)(sep - line), name, sizeof name))
            continue;
        const char *old = json_string_value(json_object_get(env, name));
        char *joined = NULL;
        if (old && asprintf(&joined, "%s, %s", old, value) < 0)
            joined = NULL;
        env_set(env, name, old ? joined : value);
        free(joined);
    }
    return env;
}

/* The gateway's request: {"op":"http", method, path, query, headers: ["Name: value"...], body
 * (base64), remote}. Runs the route's capsule once, here, with the request as its input, and
 * answers {"ok":true,"routed":true,"exit_code":N,"stdout":BASE64,"overflow":bool}, or
 * {"ok":true,"routed":false} when no route serves the path, or a refusal (it could not start:
 * the reason stays in the daemon; the gateway shows none of it). */
static json_t *op_http_route(serve *sv, json_t *req, char *route, size_t route_cap);

json_t *el__front_request(serve *sv, json_t *req)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char route[EL_ROUTE_PREFIX_MAX + 1] = "none";
    json_t *r = op_http_route(sv, req, route, sizeof route);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    el__console_observe(sv, route, (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    return r;
}

/* What op_http answers; route receives the prefix that served it ("/console/" for the console's
 * own pages, unchanged when none did). */
static json_t *op_http_route(serve *sv, json_t *req, char *route, size_t route_cap)
{
    json_t *jp = json_object_get(req, "path"), *jb = json_object_get(req, "body");
    const char *path = json_string_value(jp);
    if (!json_object_get(req, "method") || !json_object_get(req, "remote") || !jp ||
        !http_path_ok(path, json_string_length(jp)) || json_array_size(json_object_get(req, "headers")) > 256)
        return sv_fail(EL_ERR_USAGE, "http: needs method, remote and an absolute path without . or .. segments");
    if (el__route_console_path(path, strlen(path))) { /* the operator's console, /metrics (serve_console.c) */
        snprintf(route, route_cap, "%s", !strcmp(path, "/metrics") ? "/metrics" : "/console/");
        return el__console_http(sv, req);
    }
    size_t body_len = 0;
    uint8_t *body = jb ? el_protocol_base64_decode(json_string_value(jb), &body_len) : NULL;
    if (jb && !body)
        return sv_fail(EL_ERR_USAGE, "http: body is not base64");
    el_route r;
    el_error err = {0};
    pthread_mutex_lock(&sv->rt_mu);
    el_status st = el_route_match(sv->rt, path, &r, &err);
    pthread_mutex_unlock(&sv->rt_mu);
    if (st == EL_ERR_NOTFOUND) {
        free(body);
        return json_pack("{s:b, s:b}", "ok", 1, "routed", 0);
    }
    if (st == EL_OK)
        snprintf(route, route_cap, "%s", r.prefix);
    json_t *env = st == EL_OK ? http_env(sv, req, &r, body_len) : NULL, *grants = json_array();
    if (st == EL_OK && !env)
        st = el_error_set(&err, EL_ERR_USAGE, "http: malformed headers");
    for (size_t i = 0; st == EL_OK && i < r.n_grants; i++)
        json_array_append_new(grants, json_string(r.grants[i]));
    http_capture cap = {0};
    launch_spec ls = {.grants = grants, .env = env, .input = body, .input_len = body_len, .cap = &cap};
    char file[PATH_MAX];
    bool by_cid = st == EL_OK && el_cid_validate(r.target, NULL) == EL_OK;
    if (st == EL_OK) {
        pthread_mutex_lock(&sv->rt_mu);
        st = sv->ops->resolve(sv, by_cid ? r.target : NULL, by_cid ? NULL : r.target, file, &err);
        pthread_mutex_unlock(&sv->rt_mu);
    }
    if (st == EL_OK)
        st = sv->ops->art_get(sv, file, &ls.ca, &err);
    /* route add checked this once; NAME@RANGE may since resolve to a newer, other capsule */
    if (st == EL_OK && !el__route_runnable(ls.ca->art)) {
        st = el_error_set(&err, EL_ERR_USAGE, "the route's target now resolves to a %s capsule, not wasm",
                          el_manifest_type_name(el_artifact_manifest(ls.ca->art)->type));
        sv->ops->art_release(sv, ls.ca);
    }
    inst *in = NULL;
    if (st == EL_OK) {
        pthread_mutex_lock(&sv->rt_mu);
        st = sv->ops->launch(sv, &ls, true, &in, &err);
        pthread_mutex_unlock(&sv->rt_mu);
    }
    if (st == EL_OK)
        sv->ops->run_here(sv, in);
    json_t *resp;
    if (st != EL_OK) {
        el__log(sv->rt, EL_LOG_WARNING, "http: %s %s: %s", r.prefix ? r.prefix : "", r.target ? r.target : "", err.msg);
        resp = sv_fail(st, "the route's capsule could not start");
    } else {
        char *b64 = el_protocol_base64_encode(cap.out ? cap.out : (const unsigned char *)"", cap.len);
        resp = b64 ? json_pack("{s:b, s:b, s:i, s:s, s:b}", "ok", 1, "routed", 1, "exit_code", cap.exit_code, "stdout", b64,
                               "overflow", cap.overflow)
                   : sv_fail(EL_ERR_INTERNAL, "out of memory");
        free(b64);
    }
    free(cap.out);
    free(body);
    json_decref(env);
    json_decref(grants);
    el_route_clear(&r);
    return resp;
}

/* ---- the HTTP front: its listener and the gateway process (docs/web.md) --------------------------- */

/* Binds and listens on spec ("PORT", "ADDR:PORT", "[ADDR6]:PORT"; ADDR an IP address or
 * localhost, never a wildcard); sv->http_addr becomes the address as bound, which is also what
 * the gateway requires of every request's Host header. */
el_status el__http_listen(serve *sv, const char *spec, el_error *err)
{
    char host[64] = "127.0.0.1";
    const char *port = spec, *colon = strrchr(spec, ':');
    bool v6 = spec[0] == '[';
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (v6 && (hl < 3 || spec[hl - 1] != ']'))
            return el_error_set(err, EL_ERR_USAGE, "--http %.80s: expected [ADDR6]:PORT", spec);
        if (hl - (v6 ? 2 : 0) >= sizeof host || hl == 0)
            return el_error_set(err, EL_ERR_USAGE, "--http %.80s: expected PORT, ADDR:PORT or [ADDR6]:PORT", spec);
        snprintf(host, sizeof host, "%.*s", (int)(hl - (v6 ? 2 : 0)), spec + (v6 ? 1 : 0));
        port = colon + 1;
    }
    unsigned long pn = 0;
    size_t digits = strspn(port, "0123456789");
    if (digits == 0 || digits > 5 || port[digits] || (pn = strtoul(port, NULL, 10)) > 65535)
        return el_error_set(err, EL_ERR_USAGE, "--http %.80s: the port must be 0-65535 (0: one the kernel picks)", spec);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    socklen_t alen;
    bool loop;
    if (!v6 && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)pn);
        alen = sizeof *a4;
        loop = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        if (a4->sin_addr.s_addr == htonl(INADDR_ANY))
            return el_error_set(err, EL_ERR_USAGE, "--http %.80s: a wildcard address is not taken: name the address", spec);
    } else if (v6 && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)pn);
        alen = sizeof *a6;
        loop = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
            return el_error_set(err, EL_ERR_USAGE, "--http %.80s: a wildcard address is not taken: name the address", spec);
    } else {
        return el_error_set(err, EL_ERR_USAGE, "--http %.80s: the address must be an IP address or localhost", spec);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, alen) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &alen) != 0) {
        el_status st = el_error_set(err, EL_ERR_IO, "--http %.80s: cannot listen there: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    unsigned bound = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    snprintf(sv->http_addr, sizeof sv->http_addr, v6 ? "[%s]:%u" : "%s:%u", host, bound);
    if (!loop)
        el__log(sv->rt, EL_LOG_WARNING, "serve: the HTTP front listens on %s, reachable beyond this host", sv->http_addr);
    sv->http_fd = fd;
    return EL_OK;
}

#define GW_BACKOFF_MAX_MS 30000

/* Starts the gateway process on the listener (its fd 3) and a control socket (its fd 4), with
 * /dev/null as stdin and stdout, the daemon's stderr (its log), no other descriptor, no
 * environment and no signal blocked; on failure, tries again after a growing pause. The child
 * asks for SIGTERM when the thread that forked it (this main loop's) ends, before exec (it
 * survives exec), and then checks that its parent is still this process: a daemon killed at any
 * moment, even between fork and the gateway's first instruction, leaves no gateway holding the
 * port (docs/web.md). Everything between fork and exec is async-signal-safe; an exec that fails
 * sends its errno back on a close-on-exec pipe. */
void el__gw_spawn(serve *sv, const char *gateway, int64_t *backoff_ms)
{
    int sp[2] = {-1, -1}, ep[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        el__log(sv->rt, EL_LOG_ERROR, "serve: http front: socketpair or pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++)
            if (sp[i] >= 0)
                close(sp[i]);
        return;
    }
    /* Above 10, so that placing them at 3, 4 and 5 in the child clobbers none of them. */
    int lfd = fcntl(sv->http_fd, F_DUPFD_CLOEXEC, 10), cfd = fcntl(sp[1], F_DUPFD_CLOEXEC, 10);
    int efd = fcntl(ep[1], F_DUPFD_CLOEXEC, 10);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    char *argv[] = {(char *)gateway, sv->http_addr, NULL}, *envp[] = {NULL};
    pid_t parent = getpid(), pid = -1;
    int rc = lfd < 0 || cfd < 0 || efd < 0 || devnull < 0 ? errno : 0;
    if (rc == 0 && (pid = fork()) < 0)
        rc = errno;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the daemon is already gone */
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int e = 0, out = efd;
        if (dup3(efd, 5, O_CLOEXEC) < 0)
            e = errno;
        else
            out = 5;
        if (e == 0 && (dup2(lfd, 3) < 0 || dup2(cfd, 4) < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0))
            e = errno;
        /* Nothing else of the daemon's: its control end of this socket pair (sp[0]), serve.sock,
         * the store's descriptors (all close-on-exec already; this does not depend on it). */
        if (e == 0 && syscall(SYS_close_range, 6, ~0U, 0) != 0)
            for (int fd = 6; fd < 4096; fd++)
                close(fd);
        if (e == 0) {
            execve(gateway, argv, envp);
            e = errno;
        }
        (void)!write(out, &e, sizeof e);
        _exit(127);
    }
    close(ep[1]);
    if (efd >= 0)
        close(efd); /* the child's copies of the pipe's write end are the only ones left */
    efd = -1;
    if (pid > 0) { /* the pipe closes at a good exec, else it carries the errno */
        int e = 0;
        ssize_t n;
        while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
            ;
        if (n == (ssize_t)sizeof e) {
            rc = e ? e : ECHILD;
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
    }
    close(ep[0]);
    int mine[] = {lfd, cfd, efd, devnull};
    for (size_t k = 0; k < sizeof mine / sizeof mine[0]; k++)
        if (mine[k] >= 0)
            close(mine[k]);
    close(sp[1]);
    sv->gw_started_ms = mono_ms();
    if (rc != 0) {
        close(sp[0]);
        el__log(sv->rt, EL_LOG_ERROR, "serve: cannot start the HTTP front %s: %s (again in %lld s)", gateway, strerror(rc),
                (long long)(*backoff_ms / 1000));
        sv->gw_started_ms += *backoff_ms;
        *backoff_ms = *backoff_ms * 2 > GW_BACKOFF_MAX_MS ? GW_BACKOFF_MAX_MS : *backoff_ms * 2;
        return;
    }
    sv->gw_ctl = sp[0];
    sv->gw_pid = pid;
}

/* The gateway asked for daemon connections (one byte each): each is one end of a new socket
 * pair sent back with SCM_RIGHTS, the other served here as an http-only connection. */
void el__gw_ctl_read(serve *sv)
{
    char b[64];
    ssize_t n = read(sv->gw_ctl, b, sizeof b);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* the gateway is gone: the main loop starts another */
        close(sv->gw_ctl);
        sv->gw_ctl = -1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        int p[2] = {-1, -1};
        bool have = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0;
        char one = have ? 'c' : 'x', ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = &one, .iov_len = 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        memset(ctl, 0, sizeof ctl);
        if (have) {
            m.msg_control = ctl;
            m.msg_controllen = sizeof ctl;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        }
        bool sent = sendmsg(sv->gw_ctl, &m, MSG_NOSIGNAL) == 1;
        if (have)
            close(p[1]);
        if (have && sent)
            sv->ops->conn_start(sv, p[0], true);
        else if (have)
            close(p[0]);
    }
}

/* Once per main-loop turn: notices a gateway that exited and starts it (again). */
void el__gw_check(serve *sv, const char *gateway, int64_t *backoff_ms)
{
    if (sv->http_fd < 0)
        return;
    int ws;
    if (sv->gw_pid > 0 && waitpid(sv->gw_pid, &ws, WNOHANG) == sv->gw_pid) {
        el__log(sv->rt, EL_LOG_WARNING, "serve: the HTTP front (pid %d) %s %d: restarting it", (int)sv->gw_pid,
                WIFSIGNALED(ws) ? "was killed by signal" : "exited with", WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
        sv->gw_pid = 0;
        if (sv->gw_ctl >= 0)
            close(sv->gw_ctl);
        sv->gw_ctl = -1;
    }
    if (sv->gw_pid == 0 && mono_ms() >= sv->gw_started_ms + 1000)
        el__gw_spawn(sv, gateway, backoff_ms);
}

/* Stops the gateway (SIGTERM, then SIGKILL after 2 s) and closes the front's sockets. */
void el__gw_stop(serve *sv)
{
    if (sv->gw_pid > 0) {
        kill(sv->gw_pid, SIGTERM);
        int ws;
        pid_t r = 0;
        for (int i = 0; i < 200 && (r = waitpid(sv->gw_pid, &ws, WNOHANG)) == 0; i++) {
            struct timespec t = {0, 10000000L};
            nanosleep(&t, NULL);
        }
        if (r == 0 && kill(sv->gw_pid, SIGKILL) == 0) /* not reaped: its pid is still ours to kill */
            waitpid(sv->gw_pid, &ws, 0);
        sv->gw_pid = 0;
    }
    if (sv->gw_ctl >= 0)
        close(sv->gw_ctl);
    if (sv->http_fd >= 0)
        close(sv->http_fd);
    sv->gw_ctl = sv->http_fd = -1;
}
