/*
 * open_browser.c - `elastos open DOC --browser`: the viewer's HTML (md-viewer --html) served once
 * on a one-time loopback URL (docs/web.md).
 *
 * The viewer runs through the library's launch path as for `elastos open`, with "--html" before
 * the caller's arguments and its stdout collected (at most 16 MiB). The page is then served by
 * libmicrohttpd (a well-kept HTTP parser, not a hand-written one) on 127.0.0.1 at a port the
 * kernel picks, under a path of 128 random bits, exactly once: the first GET of that path with
 * the right Host gets it, with a Content-Security-Policy that forbids scripts and every remote
 * load (default-src 'none'; inline styles and data: images only), no-store and no referrer;
 * anything else is 404 (421 for a wrong Host). The URL is printed on stdout and, when xdg-open
 * is on PATH, opened with it. The page waits for its one reader up to 10 minutes.
 */
#include "cli.h"
#include "elastos/launch.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE_MAX ((size_t)16 << 20)
#define WAIT_S 600

static const char CSP[] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

typedef struct page {
    unsigned char *d;
    size_t len, cap;
    bool overflow;
    char path[40]; /* "/" + 32 hex */
    char host[64], host_alt[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool served, done;
} page;

/* The viewer's output: stdout into the page, stderr passed through. */
static ptrdiff_t collect(void *arg, int fd, const unsigned char *d, size_t n)
{
    page *p = arg;
    if (fd == 2) {
        fwrite(d, 1, n, stderr);
        return (ptrdiff_t)n;
    }
    if (p->len + n > PAGE_MAX) {
        p->overflow = true;
        return (ptrdiff_t)n;
    }
    if (p->len + n > p->cap) {
        size_t nc = p->cap ? p->cap : 65536;
        while (nc < p->len + n)
            nc *= 2;
        unsigned char *nb = realloc(p->d, nc);
        if (!nb) {
            p->overflow = true;
            return (ptrdiff_t)n;
        }
        p->d = nb;
        p->cap = nc;
    }
    memcpy(p->d + p->len, d, n);
    p->len += n;
    return (ptrdiff_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *d, size_t n)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)d, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    page *p = cls;
    if (!*con_cls) { /* headers in; a body (there should be none) is not read */
        *con_cls = p;
        if (*upload_size == 0 && strcmp(method, "GET"))
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "405\n", 4);
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host || (strcasecmp(host, p->host) && strcasecmp(host, p->host_alt)))
        return reply(c, MHD_HTTP_MISDIRECTED_REQUEST, "text/plain", "421\n", 4);
    if (strcmp(method, "GET"))
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "405\n", 4);
    pthread_mutex_lock(&p->mu);
    bool first = !p->served && !strcmp(url, p->path);
    p->served |= first;
    pthread_mutex_unlock(&p->mu);
    if (!first)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "404\n", 4);
    return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", p->d ? p->d : (const unsigned char *)"", p->len);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void)c;
    (void)con_cls;
    page *p = cls;
    pthread_mutex_lock(&p->mu);
    if (p->served && code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* xdg-open URL in the background when it is on PATH (its outcome is the desktop's business). */
static void xdg_open(const char *url)
{
    extern char **environ;
    const char *path = getenv("PATH");
    char prog[4096];
    bool found = false;
    for (const char *d = path; d && *d && !found;) {
        size_t l = strcspn(d, ":");
        snprintf(prog, sizeof prog, "%.*s/xdg-open", (int)l, d);
        found = l && access(prog, X_OK) == 0;
        d += l + (d[l] == ':');
    }
    if (!found)
        return;
    char *argv[] = {prog, (char *)url, NULL};
    pid_t pid;
    if (posix_spawn(&pid, prog, NULL, NULL, argv, environ) != 0)
        cli_note("cannot run %s: open the URL yourself", prog);
}

/* Serves p once; 0 when it was read, else the printed error's exit code. */
static int serve_once(page *p)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return cli_failf(EL_ERR_INTERNAL, "open: no random bytes for the URL");
    p->path[0] = '/';
    for (int i = 0; i < 16; i++)
        snprintf(p->path + 1 + 2 * i, 3, "%02x", rnd[i]);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, handle, p, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&a, MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_NOTIFY_COMPLETED, completed, p, MHD_OPTION_END);
    const union MHD_DaemonInfo *di = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!di) {
        if (d)
            MHD_stop_daemon(d);
        return cli_failf(EL_ERR_IO, "open: cannot listen on 127.0.0.1");
    }
    snprintf(p->host, sizeof p->host, "127.0.0.1:%u", (unsigned)di->port);
    snprintf(p->host_alt, sizeof p->host_alt, "localhost:%u", (unsigned)di->port);
    char url[160];
    snprintf(url, sizeof url, "http://%s%s", p->host, p->path);
    printf("%s\n", url);
    fflush(stdout);
    xdg_open(url);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (!p->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
    bool done = p->done;
    pthread_mutex_unlock(&p->mu);
    MHD_stop_daemon(d);
    return done ? 0 : cli_failf(EL_ERR_LIMIT, "open: nobody read %s within %d s", url, WAIT_S);
}

int cli_open_browser(el_runtime *rt, const char *target, char **args, size_t n_args)
{
    const char **argv = calloc(n_args + 1, sizeof *argv);
    if (!argv)
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    argv[0] = "--html";
    for (size_t i = 0; i < n_args; i++)
        argv[i + 1] = args[i];
    page p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    el_launch_spec spec = {.target = target, .flags = EL_LAUNCH_OPEN | EL_LAUNCH_FETCH, .args = argv,
                           .n_args = n_args + 1, .stdio = EL_STDIO_CUSTOM, .output = collect, .output_arg = &p};
    el_launch_result res;
    el_error err;
    el_status st = el_launch(rt, &spec, &res, &err);
    free(argv);
    int rc;
    if (st != EL_OK)
        rc = cli_fail(&err);
    else if (res.exit_code != 0)
        rc = cli_failf(res.exit_code, "open: the viewer exited %d: nothing to show", res.exit_code);
    else if (p.overflow)
        rc = cli_failf(EL_ERR_LIMIT, "open: the viewer's page is over %zu MiB", PAGE_MAX >> 20);
    else
        rc = serve_once(&p);
    free(p.d);
    return rc;
}
