/*
 * once.c - `elastos-gateway --once`: one page served once on a one-time loopback URL, for
 * `elastos open DOC --browser` (cli/open_browser.c, docs/web.md). Here, not in elastos, so that
 * libmicrohttpd is mapped into no elastos process (the daemon's address space included).
 *
 * The page (at most 16 MiB) is read from stdin to its end; the server listens on 127.0.0.1 at a
 * port the kernel picks, under a path of 128 random bits; the URL is the one line on stdout. The
 * first GET of that path with the right Host gets the page with a Content-Security-Policy that
 * forbids scripts and every remote load (default-src 'none'; inline styles and data: images
 * only), no-store and no referrer; anything else is 404 (421 for a wrong Host, 405 for another
 * method). Exit 0 once it was read, 137 when nobody read it within 10 minutes.
 */
#include "once.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define PAGE_MAX ((size_t)16 << 20)
#define WAIT_S 600

static const char CSP[] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

typedef struct page {
    unsigned char *d;
    size_t len;
    char path[40]; /* "/" + 32 hex */
    char host[64], host_alt[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool served, done;
} page;

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

/* Serves p once; 0 when it was read, else an exit code (the reason on stderr). */
static int serve_once(page *p)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return fprintf(stderr, "elastos-gateway: no random bytes for the URL\n"), 70;
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
        return fprintf(stderr, "elastos-gateway: cannot listen on 127.0.0.1\n"), 74;
    }
    snprintf(p->host, sizeof p->host, "127.0.0.1:%u", (unsigned)di->port);
    snprintf(p->host_alt, sizeof p->host_alt, "localhost:%u", (unsigned)di->port);
    char url[160];
    snprintf(url, sizeof url, "http://%s%s", p->host, p->path);
    printf("%s\n", url);
    fflush(stdout);
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
    if (!done)
        fprintf(stderr, "elastos-gateway: nobody read %s within %d s\n", url, WAIT_S);
    return done ? 0 : 137;
}

int gw_once(void)
{
    page p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    size_t cap = 0;
    for (;;) {
        if (p.len == cap) {
            unsigned char *nb = cap < PAGE_MAX ? realloc(p.d, cap ? cap * 2 : 65536) : NULL;
            if (!nb) {
                fprintf(stderr, "elastos-gateway: the page is over %zu MiB\n", PAGE_MAX >> 20);
                free(p.d);
                return 137;
            }
            p.d = nb;
            cap = cap ? cap * 2 : 65536;
        }
        ssize_t n = read(0, p.d + p.len, cap - p.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "elastos-gateway: reading the page: %s\n", strerror(errno));
            free(p.d);
            return 74;
        }
        if (n == 0)
            break;
        p.len += (size_t)n;
    }
    int rc = serve_once(&p);
    free(p.d);
    return rc;
}
