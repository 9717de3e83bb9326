/*
 * gateway.c - elastos-gateway, the HTTP front of `elastos serve --http` (docs/web.md).
 *
 * A separate process, as OpenSSH separates its network parser from its privileged part: the
 * HTTP parser (Debian's libmicrohttpd) and the parser of what capsules answer (cgi.c) run here,
 * never in the daemon's address space. The daemon binds the listener and starts this program
 * with it as fd 3 and a control socket as fd 4, no environment, the bound "ADDR:PORT" as its
 * one argument, and SIGTERM due when the daemon dies (PR_SET_PDEATHSIG, set before exec). Each
 * daemon connection it uses is asked for on the control socket (one byte) and arrives as a
 * socket pair end (SCM_RIGHTS) on which the daemon takes op "http" alone: this process can make
 * the daemon run routed capsules with requests as input, and nothing else.
 *
 * `elastos-gateway --once` is the other use: one page served once, for `elastos open --browser`
 * (once.c).
 *
 * Per request: the Host header must be the bound address (no DNS rebinding; without ":80" too
 * when that is the bound port, as browsers send it); the target must be plainly well-formed
 * (cgi.c: no "..", no escaped '/', no control bytes); a body over 512 KiB is refused (413),
 * headers over the connection's 32 KiB (431, libmicrohttpd); a client must finish each request's
 * headers within 10 s of connecting or of its previous response (slowloris) and its body within
 * 30 s of its headers (a body trickled a byte a second never trips the idle timeout), and
 * connections are bounded in all and per address. The capsule's answer is parsed strictly
 * (cgi.c); a crash, a non-zero exit or a malformed answer is 502, a limit 503, with bodies that
 * say nothing of why (the daemon logs it).
 */
#include "cgi.h"
#include "once.h"
#include "elastos/serve.h" /* EL_SERVE_HTTP_MAX only: nothing of libelastos is linked in */

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 512 KiB: the body travels base64'd (4/3) in the one request line to the daemon, with the
 * headers (32 KiB, up to 6x when JSON-escaped), and that line is bounded at 1 MiB (serve.c). */
#define BODY_MAX ((size_t)512 << 10)
#define CONN_MEMORY (32 * 1024)
#define CONNS_MAX 256
#define PER_IP_MAX 64
#define HEADER_DEADLINE_MS 10000
#define BODY_DEADLINE_MS 30000 /* headers in to body in: a trickled body holds no slot for long */
#define IDLE_TIMEOUT_S 10
#define POOL_MAX 64
#define POOL_IDLE_MS 30000 /* the daemon closes a connection idle for 60 s */
#define LISTEN_FD 3
#define CTL_FD 4

/* The Host forms a request may name: the bound "ADDR:PORT", "localhost:PORT" on loopback, and,
 * bound on port 80 only, both without ":80" (what a browser sends for http://ADDR/). */
static char g_host[EL_SERVE_HTTP_MAX], g_host_alt[EL_SERVE_HTTP_MAX + 16];
static char g_bare[EL_SERVE_HTTP_MAX], g_bare_alt[EL_SERVE_HTTP_MAX + 16];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("elastos-gateway: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- base64 (the daemon protocol's bytes), with OpenSSL's codec ----------------------------------- */

static char *b64_encode(const unsigned char *d, size_t n)
{
    char *out = n < ((size_t)1 << 30) ? malloc(4 * ((n + 2) / 3) + 1) : NULL;
    if (out)
        EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return out;
}

/* Strict: a length that is a multiple of 4, padding only at the end. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = s ? strlen(s) : 0;
    if (len % 4 || len >= ((size_t)1 << 30))
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 1);
    int k = out ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : -1;
    if (k < 0) {
        free(out);
        return NULL;
    }
    size_t pad = len && s[len - 1] == '=' ? (len > 1 && s[len - 2] == '=' ? 2 : 1) : 0;
    *n = (size_t)k - pad;
    return out;
}

/* ---- daemon connections: pooled, each asked for on the control socket ------------------------ */

#define LINE_MAX_BYTES ((size_t)32 << 20)

static bool write_all(int fd, const char *d, size_t n)
{
    while (n) {
        ssize_t w = write(fd, d, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        d += w;
        n -= (size_t)w;
    }
    return true;
}

/* Sends one request line and reads the answer line (malloc'd, NUL-terminated); NULL on failure. */
static char *line_call(int fd, const char *text)
{
    if (!write_all(fd, text, strlen(text)) || !write_all(fd, "\n", 1))
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            char *nb = cap < LINE_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char *nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
        if (nl) {
            *nl = 0;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static pthread_mutex_t g_ctl_mu = PTHREAD_MUTEX_INITIALIZER, g_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int fd;
    int64_t since;
} g_pool[POOL_MAX];
static size_t g_npool;

/* A new daemon connection (-1 when the daemon gives none). */
static int daemon_new(void)
{
    pthread_mutex_lock(&g_ctl_mu);
    int fd = -1;
    char one = 'c', ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &one, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    if (write(CTL_FD, "c", 1) == 1 && recvmsg(CTL_FD, &m, MSG_CMSG_CLOEXEC) == 1) {
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    pthread_mutex_unlock(&g_ctl_mu);
    return fd;
}

/* A pooled connection used recently, else -1. */
static int daemon_pooled(void)
{
    int fd = -1;
    pthread_mutex_lock(&g_pool_mu);
    while (fd < 0 && g_npool > 0) {
        g_npool--;
        if (mono_ms() - g_pool[g_npool].since < POOL_IDLE_MS)
            fd = g_pool[g_npool].fd;
        else
            close(g_pool[g_npool].fd);
    }
    pthread_mutex_unlock(&g_pool_mu);
    return fd;
}

static void daemon_release(int fd)
{
    pthread_mutex_lock(&g_pool_mu);
    if (g_npool < POOL_MAX) {
        g_pool[g_npool].fd = fd;
        g_pool[g_npool++].since = mono_ms();
        fd = -1;
    }
    pthread_mutex_unlock(&g_pool_mu);
    if (fd >= 0)
        close(fd);
}

/* One request to the daemon and its parsed answer (NULL: no answer). A pooled connection the
 * daemon closed meanwhile (idle, or evicted) is replaced once. */
static json_t *daemon_call(json_t *req)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_t *r = NULL;
    for (int attempt = 0; text && attempt < 2 && !r; attempt++) {
        int fd = attempt == 0 ? daemon_pooled() : -1;
        bool pooled = fd >= 0;
        if (fd < 0 && (fd = daemon_new()) < 0)
            break;
        char *line = line_call(fd, text);
        if (line && (r = json_loads(line, JSON_REJECT_DUPLICATES, NULL))) {
            daemon_release(fd);
        } else {
            close(fd);
            if (!pooled)
                attempt = 2;
        }
        free(line);
    }
    free(text);
    return r;
}

/* ---- slowloris: a request's headers must be complete within HEADER_DEADLINE_MS, and its body
 * within BODY_DEADLINE_MS of its headers (libmicrohttpd's own timeout is an idle one: a byte a
 * second resets it) ------------------------------------------------------------------------------ */

typedef struct track {
    struct track *next;
    int fd;
    int64_t since;  /* connected, answered the previous request, or had this one's headers */
    bool busy;      /* headers in: a request is being answered */
    bool receiving; /* busy, and its body is not all in yet */
    bool cut;
} track;

static pthread_mutex_t g_tr_mu = PTHREAD_MUTEX_INITIALIZER;
static track *g_tracks;

static void notify_conn(void *cls, struct MHD_Connection *c, void **sctx, enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        track *t = calloc(1, sizeof *t);
        if (!t || !ci)
            return free(t);
        t->fd = ci->connect_fd;
        t->since = mono_ms();
        pthread_mutex_lock(&g_tr_mu);
        t->next = g_tracks;
        g_tracks = t;
        pthread_mutex_unlock(&g_tr_mu);
        *sctx = t;
        return;
    }
    track *t = *sctx; /* closed: before libmicrohttpd closes the descriptor */
    pthread_mutex_lock(&g_tr_mu);
    for (track **pp = &g_tracks; t && *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&g_tr_mu);
    free(t);
    *sctx = NULL;
}

/* The connection's request had its headers (busy), or was answered (!busy): the watchdog's clock
 * starts again. A busy request is receiving its body until track_received. */
static void track_busy(struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    track *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&g_tr_mu);
    t->busy = busy;
    t->receiving = busy;
    t->since = mono_ms();
    pthread_mutex_unlock(&g_tr_mu);
}

/* The connection's request body is all in: what follows (the capsule's run, the answer) is bounded
 * elsewhere, not by BODY_DEADLINE_MS. */
static void track_received(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    track *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&g_tr_mu);
    t->receiving = false;
    pthread_mutex_unlock(&g_tr_mu);
}

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec p = {0, 250000000L};
        nanosleep(&p, NULL);
        int64_t now = mono_ms();
        pthread_mutex_lock(&g_tr_mu);
        for (track *t = g_tracks; t; t = t->next)
            if (!t->cut && ((!t->busy && now - t->since > HEADER_DEADLINE_MS) ||
                            (t->receiving && now - t->since > BODY_DEADLINE_MS))) {
                shutdown(t->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
                t->cut = true;
            }
        pthread_mutex_unlock(&g_tr_mu);
    }
    return NULL;
}

/* ---- requests ---------------------------------------------------------------------------------- */

typedef struct req {
    char *uri; /* the target as received (from the URI log callback) */
    bool seen; /* the handler has been called: headers are in */
    unsigned char *body;
    size_t len, cap;
    bool too_big;
} req;

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    req *r = calloc(1, sizeof *r);
    if (r)
        r->uri = strdup(uri);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)code;
    req *r = *con_cls;
    if (r) {
        free(r->uri);
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
    track_busy(c, false);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* the gateway's own answers (421, 400, 413...), to the console's paths too: nothing to run,
     * frame or fetch (the console's own pages carry the same headers, serve_console.c) */
    MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

typedef struct header_list {
    json_t *a;
    bool bad; /* a value held a control byte (a bare CR passes libmicrohttpd): 400 */
} header_list;

static enum MHD_Result add_header(void *arg, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    header_list *h = arg;
    for (const char *p = value; p && *p; p++)
        h->bad |= ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f;
    char *line = NULL;
    if (asprintf(&line, "%s: %s", key, value ? value : "") > 0)
        json_array_append_new(h->a, json_string(line));
    free(line);
    return MHD_YES;
}

/* host (non-NULL) with its default port made explicit: a port-less form accepted on port 80 as
 * the ":80" form it stands for; anything else as it is. */
static const char *host_canon(const char *host)
{
    if (g_bare[0] && !strcasecmp(host, g_bare))
        return g_host;
    if (g_bare_alt[0] && !strcasecmp(host, g_bare_alt))
        return g_host_alt;
    return host;
}

/* Whether host names this front: one of the forms above, exactly (case aside). */
static bool host_ok(const char *host)
{
    if (!host)
        return false;
    host = host_canon(host);
    return !strcasecmp(host, g_host) || (g_host_alt[0] && !strcasecmp(host, g_host_alt));
}

/* MHD header iterator: counts the Host fields (cls: unsigned *). */
static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (key && !strcasecmp(key, MHD_HTTP_HEADER_HOST))
        ++*(unsigned *)cls;
    return MHD_YES;
}

/* Whether the request carries exactly one Host field. RFC 9112 3.2: a request with more than one
 * is answered 400; routing on the first alone would let a second one reach a capsule that reads
 * HTTP_HOST, or a proxy in front that picks the other one. */
static bool host_single(struct MHD_Connection *c)
{
    unsigned n = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &n);
    return n == 1;
}

/* Whether a request that may change state (any method but GET and HEAD) comes from a page of this
 * front itself, so another site open in the operator's browser cannot POST to a routed capsule
 * (CSRF). A browser says where a request comes from in Sec-Fetch-Site and in Origin; a request
 * naming another site in either is refused. Clients that send neither (curl, scripts) pass: they
 * hold no browser cookie or session a third party could ride on. host: the checked Host. On port
 * 80 a browser leaves ":80" out of the Origin whatever the Host said, so the two are compared
 * with the default port made explicit (host_canon): "http://127.0.0.1" matches Host
 * "127.0.0.1:80", never "localhost:80". */
static bool same_origin(struct MHD_Connection *c, const char *method, const char *host)
{
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return true;
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcasecmp(site, "same-origin") && strcasecmp(site, "none"))
        return false;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    return !strncmp(origin, "http://", 7) && !strcasecmp(host_canon(origin + 7), host_canon(host));
}

/* The capsule's answer as the client's response (502 when it is not a good CGI response). */
static enum MHD_Result send_cgi(struct MHD_Connection *c, const char *path, const unsigned char *out, size_t len)
{
    gw_cgi g;
    if (!gw_cgi_parse((const char *)out, len, &g)) {
        say("%s: the capsule's answer is refused: %s", path, g.why);
        return send_text(c, MHD_HTTP_BAD_GATEWAY, "502 bad gateway\n");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len - g.body, (void *)(out + g.body), MHD_RESPMEM_MUST_COPY);
    bool ok = resp != NULL, nosniff = false;
    for (size_t i = 0; ok && i < g.n_fields; i++) {
        char name[72], *value = strndup(g.fields[i].value, g.fields[i].value_len);
        snprintf(name, sizeof name, "%.*s", (int)g.fields[i].name_len, g.fields[i].name);
        nosniff |= !strcasecmp(name, "X-Content-Type-Options");
        ok = value && MHD_add_response_header(resp, name, value) == MHD_YES;
        free(value);
    }
    if (ok && !nosniff)
        ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
    if (!ok) {
        if (resp)
            MHD_destroy_response(resp);
        say("%s: the capsule's headers are refused by the HTTP library", path);
        return send_text(c, MHD_HTTP_BAD_GATEWAY, "502 bad gateway\n");
    }
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)g.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* A complete request: to the daemon, and its capsule's answer to the client. */
static enum MHD_Result answer(struct MHD_Connection *c, req *r, const char *method)
{
    char path[GW_PATH_MAX], remote[INET6_ADDRSTRLEN + 8] = "";
    const char *query;
    size_t qlen;
    if (!gw_target_parse(r->uri, path, &query, &qlen))
        return send_text(c, MHD_HTTP_BAD_REQUEST, "400 bad request\n");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, remote, sizeof remote);
    else if (ci && ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr, remote, sizeof remote);
    header_list hl = {json_array(), false};
    json_t *headers = hl.a;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &hl);
    if (hl.bad) {
        json_decref(headers);
        return send_text(c, MHD_HTTP_BAD_REQUEST, "400 bad request\n");
    }
    char *b64 = b64_encode(r->body ? r->body : (const unsigned char *)"", r->len);
    json_t *req = json_pack("{s:s, s:s, s:s, s:s%, s:o, s:s, s:s}", "op", "http", "method", method, "path", path, "query",
                            query, qlen, "headers", headers, "body", b64 ? b64 : "", "remote", remote);
    free(b64);
    json_t *resp = req ? daemon_call(req) : NULL;
    json_decref(req);
    enum MHD_Result rc;
    json_t *ok = json_object_get(resp, "ok"), *routed = json_object_get(resp, "routed");
    int exit_code = (int)json_integer_value(json_object_get(resp, "exit_code"));
    size_t olen = 0;
    unsigned char *out = NULL;
    if (!resp)
        rc = send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "503 service unavailable\n");
    else if (json_is_true(ok) && json_is_false(routed))
        rc = send_text(c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    else if (!json_is_true(ok))
        rc = json_integer_value(json_object_get(resp, "code")) == 137
                 ? send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "503 service unavailable\n")
                 : send_text(c, MHD_HTTP_BAD_GATEWAY, "502 bad gateway\n");
    else if (exit_code == 137)
        rc = send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "503 service unavailable\n");
    else if (exit_code != 0 || json_is_true(json_object_get(resp, "overflow")) ||
             !(out = b64_decode(json_string_value(json_object_get(resp, "stdout")), &olen))) {
        say("%s: the capsule %s", path, exit_code ? "did not exit 0" : "wrote too much, or no answer");
        rc = send_text(c, MHD_HTTP_BAD_GATEWAY, "502 bad gateway\n");
    } else
        rc = send_cgi(c, path, out, olen);
    free(out);
    json_decref(resp);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    req *r = *con_cls;
    if (!r)
        return MHD_NO;
    if (!r->seen) {
        r->seen = true;
        track_busy(c, true);
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        if (host && !host_single(c))
            return send_text(c, MHD_HTTP_BAD_REQUEST, "400 bad request: more than one Host\n");
        if (!host_ok(host))
            return send_text(c, MHD_HTTP_MISDIRECTED_REQUEST, "421 misdirected request: wrong Host\n");
        if (!same_origin(c, method, host))
            return send_text(c, MHD_HTTP_FORBIDDEN, "403 forbidden: cross-site request\n");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > BODY_MAX)
            return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "413 request body too large\n");
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_big || r->len + n > BODY_MAX) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t nc = r->cap ? r->cap : 8192;
            while (nc < r->len + n)
                nc *= 2;
            unsigned char *nb = realloc(r->body, nc);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = nc;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    track_received(c);
    if (r->too_big)
        return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "413 request body too large\n");
    return answer(c, r, method);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--once")) /* elastos open --browser (once.c) */
        return gw_once();
    if (argc != 2 || strlen(argv[1]) >= sizeof g_host) {
        say("started by elastos serve --http (docs/web.md), not by hand");
        return 64;
    }
    snprintf(g_host, sizeof g_host, "%s", argv[1]);
    const char *colon = strrchr(g_host, ':');
    if (colon && (!strncmp(g_host, "127.0.0.1:", 10) || !strncmp(g_host, "[::1]:", 6)))
        snprintf(g_host_alt, sizeof g_host_alt, "localhost%s", colon);
    if (colon && !strcmp(colon, ":80")) {
        snprintf(g_bare, sizeof g_bare, "%.*s", (int)(colon - g_host), g_host);
        if (g_host_alt[0])
            snprintf(g_bare_alt, sizeof g_bare_alt, "localhost");
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before any thread: they are taken below */
    pid_t parent = getppid();
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
        say("cannot start a thread");
        return 70;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, handle, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)LISTEN_FD, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNS_MAX,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_MAX, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL, MHD_OPTION_END);
    if (!d) {
        say("cannot serve on fd %d", LISTEN_FD);
        return 70;
    }
    for (;;) { /* until SIGTERM, or the daemon is gone */
        struct timespec t = {1, 0};
        int sig = sigtimedwait(&sigs, NULL, &t);
        if (sig == SIGTERM || sig == SIGINT || getppid() != parent)
            break;
    }
    MHD_stop_daemon(d);
    return 0;
}
