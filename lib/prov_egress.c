/*
 * prov_egress.c - the egress provider (provider.h, docs/providers.md "Egress"): provider_call
 * on http:// and https:// URLs. body: {method?, headers?, body?, max_bytes?, timeout_ms?,
 * follow?}; result: {status, body (base64), location?}.
 *
 * SSRF-proof by construction, in this order, for the URL and for every redirect hop:
 *   1. the URL is read by libcurl's own parser (http.c), so what is checked is what libcurl
 *      will connect to; user information and fragments are refused;
 *   2. the consumer's token is checked for scheme://host:port/path (GET/HEAD read, others write);
 *   3. the runtime resolves the host once (getaddrinfo; numeric forms such as 2130706433 or
 *      0x7f000001 resolve like names) and checks every address: loopback, private, link-local,
 *      CGNAT, multicast, unspecified, documentation/benchmark ranges, and their IPv4-mapped,
 *      IPv4-compatible and NAT64 forms are refused unless the operator allows that exact address
 *      ($ELASTOS_HOME/config/egress: "allow ADDRESS"); one refused address refuses the request;
 *   4. libcurl connects to the first checked address only (CURLOPT_RESOLVE pin, no proxy), so
 *      a second DNS answer (rebinding) is never asked for;
 *   5. a redirect is followed only when asked (follow: hops), and each hop goes through 1-4
 *      again, its own token use included.
 * Request headers cannot set Host, Content-Length or hop-by-hop headers. The operator may
 * attach a credential header to an origin ("header ORIGIN NAME: VALUE" in the same file): it is
 * added here, and a capsule's header of that name is refused, so the capsule never learns it
 * (nor from an answer quoting it: mask_credentials).
 * Response size (max_bytes) and time (timeout_ms) are bounded; so are the requests (hops) an
 * instance makes and their request and response bodies together, over its life, by its
 * manifest's resource_limits.network.requests and .bytes (the session's budget, below). Each
 * request is audited (the token use; identical uses in a row are coalesced into one "repeated N
 * times" record, as refusals are); the runtime is released while the network is waited on
 * (router->blocking).
 */
#include "http.h"
#include "internal.h"
#include "provider.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define EGRESS_CONFIG "egress"
#define CONFIG_MAX 65536
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_MS 60000
#define MAX_FOLLOW 5
#define MAX_HEADERS 32

/* ---- addresses ------------------------------------------------------------------------------ */

/* Whether the IPv4 address a (host order) is public. */
static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } blocked[] = {
        {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},  {0xa9fe0000, 16},
        {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24}, {0xc0a80000, 16}, {0xc6120000, 15},
        {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 4},  {0xf0000000, 4},
    };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if ((a >> (32 - blocked[i].bits)) == (blocked[i].net >> (32 - blocked[i].bits)))
            return false;
    return true;
}

/* Whether the IPv6 address is public; IPv4 inside it (mapped, compatible, NAT64) is judged as IPv4. */
static bool v6_public(const uint8_t b[16])
{
    static const uint8_t zero[12] = {0}, mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
                         nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (!memcmp(b, zero, 12) || !memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) /* ::a.b.c.d, ::ffff:, 64:ff9b:: */
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    if ((b[0] & 0xfe) == 0xfc || b[0] == 0xff)            /* unique local fc00::/7, multicast ff00::/8 */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) >= 0x80)             /* link-local fe80::/10, site-local fec0::/10 */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation 2001:db8::/32 */
        return false;
    if (b[0] == 0x20 && b[1] == 0x02)                      /* 6to4: embeds an IPv4 address */
        return v4_public((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5]);
    return true;
}

/* The operator's egress file: "allow ADDRESS" and "header ORIGIN NAME: VALUE" lines ('#'
 * comments). NULL text when there is none. */
typedef struct egress_conf {
    char *text;
} egress_conf;

static el_status conf_load(el_runtime *rt, egress_conf *cf, el_error *err)
{
    size_t len;
    unsigned mode;
    char path[4096];
    cf->text = NULL;
    el_status st = el__config_file(rt, EGRESS_CONFIG, CONFIG_MAX, &cf->text, &len, &mode, path, sizeof path, err);
    if (st == EL_ERR_NOTFOUND)
        return EL_OK;
    if (st == EL_OK && (mode & 077)) {
        free(cf->text);
        cf->text = NULL;
        return el_error_set(err, EL_ERR_CONFIG, "%s: must be readable by its owner only (chmod 600): it may hold "
                            "credentials and decides which addresses capsules may reach", path);
    }
    return st;
}

static void conf_free(egress_conf *cf)
{
    if (cf->text)
        explicit_bzero(cf->text, strlen(cf->text));
    free(cf->text);
    cf->text = NULL;
}

/* The next line of the file starting with word (its rest in rest, cap bytes), from *pos on. */
static bool conf_next(const egress_conf *cf, const char *word, size_t *pos, char *rest, size_t cap)
{
    const char *t = cf->text;
    if (!t)
        return false;
    size_t wl = strlen(word);
    while (t[*pos]) {
        const char *line = t + *pos;
        size_t n = strcspn(line, "\n");
        *pos += n + (line[n] == '\n');
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\r' || line[n - 1] == '\t'))
            n--;
        if (n > wl && !strncmp(line, word, wl) && line[wl] == ' ' && n - wl - 1 < cap) {
            memcpy(rest, line + wl + 1, n - wl - 1);
            rest[n - wl - 1] = 0;
            return true;
        }
    }
    return false;
}

/* Whether the operator allows the (non-public) address text. */
static bool conf_allows(const egress_conf *cf, const char *addr)
{
    char a[INET6_ADDRSTRLEN + 8];
    for (size_t pos = 0; conf_next(cf, "allow", &pos, a, sizeof a);)
        if (!strcmp(a, addr))
            return true;
    return false;
}

/* Resolves host once and checks every address; pin receives "HOST:PORT:ADDRESS" for the first.
 * EL_ERR_TRUST naming the refused address; EL__ERR_UNAVAILABLE when it does not resolve. */
static el_status resolve_checked(const egress_conf *cf, const el__http_url *u, char *pin, size_t cap, el_error *err)
{
    char name[256];
    size_t hl = strlen(u->host);
    if (u->host[0] == '[' && hl > 2 && u->host[hl - 1] == ']')
        snprintf(name, sizeof name, "%.*s", (int)(hl - 2), u->host + 1);
    else
        snprintf(name, sizeof name, "%s", u->host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
        return el_error_set(err, EL__ERR_UNAVAILABLE, "%s does not resolve", u->host);
    el_status st = EL_OK;
    char first[INET6_ADDRSTRLEN] = "";
    bool first_v6 = false;
    for (struct addrinfo *a = res; a && st == EL_OK; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = "";
        bool pub;
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)a->ai_addr;
            inet_ntop(AF_INET, &s4->sin_addr, text, sizeof text);
            pub = v4_public(ntohl(s4->sin_addr.s_addr));
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const void *)a->ai_addr;
            inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text);
            pub = v6_public(s6->sin6_addr.s6_addr);
        } else {
            continue;
        }
        if (!pub && !conf_allows(cf, text))
            st = el_error_set(err, EL_ERR_TRUST, "%.200s resolves to %s, a non-public address the operator does not "
                              "allow", u->host, text);
        else if (!first[0]) {
            snprintf(first, sizeof first, "%s", text);
            first_v6 = a->ai_family == AF_INET6;
        }
    }
    freeaddrinfo(res);
    if (st == EL_OK && !first[0])
        st = el_error_set(err, EL__ERR_UNAVAILABLE, "%s has no IPv4 or IPv6 address", u->host);
    struct in6_addr lit;
    bool literal = inet_pton(AF_INET, name, &lit) == 1 || inet_pton(AF_INET6, name, &lit) == 1;
    if (st == EL_OK && literal)
        pin[0] = 0; /* libcurl connects to the literal it parsed, the one checked: nothing to pin */
    else if (st == EL_OK)
        snprintf(pin, cap, "%s:%s:%s%s%s", u->host, u->port, first_v6 ? "[" : "", first, first_v6 ? "]" : "");
    return st;
}

/* ---- the request ------------------------------------------------------------------------------ */

typedef struct egress_req {
    const char *method;
    unsigned action;
    const json_t *headers;
    uint8_t *body;
    size_t body_len;
    size_t max_bytes;
    long timeout_ms;
    unsigned follow;
} egress_req;

/* Reads and checks the provider_call body. */
static el_status parse_body(const json_t *b, egress_req *r, el_error *err)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    memset(r, 0, sizeof *r);
    r->method = "GET";
    r->max_bytes = EL__MAX_PAYLOAD;
    r->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!json_is_object(b))
        return el_error_set(err, EL_ERR_FORMAT, "body must be an object {method?, headers?, body?, max_bytes?, "
                            "timeout_ms?, follow?}");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v)
    {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!strcmp(k, "method") && json_is_string(v)) {
            r->method = NULL;
            for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
                if (!strcmp(json_string_value(v), methods[i]))
                    r->method = methods[i];
            if (!r->method)
                return el_error_set(err, EL_ERR_FORMAT, "body.method: one of GET, HEAD, POST, PUT, PATCH, DELETE");
        } else if (!strcmp(k, "headers") && json_is_object(v) && json_object_size(v) <= MAX_HEADERS) {
            r->headers = v;
        } else if (!strcmp(k, "body") && json_is_string(v)) {
            if (!(r->body = el_protocol_base64_decode(json_string_value(v), &r->body_len)))
                return el_error_set(err, EL_ERR_FORMAT, "body.body is not valid base64");
        } else if (!strcmp(k, "max_bytes") && n >= 1 && n <= EL__MAX_PAYLOAD) {
            r->max_bytes = (size_t)n;
        } else if (!strcmp(k, "timeout_ms") && n >= 1 && n <= MAX_TIMEOUT_MS) {
            r->timeout_ms = (long)n;
        } else if (!strcmp(k, "follow") && n >= 0 && n <= MAX_FOLLOW) {
            r->follow = (unsigned)n;
        } else {
            free(r->body);
            r->body = NULL;
            return el_error_set(err, EL_ERR_FORMAT, "body.%.64s: unknown field or bad value", k);
        }
    }
    r->action = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") ? EL_ACT_READ : EL_ACT_WRITE;
    return EL_OK;
}

/* Whether a capsule may send header name (a token of [A-Za-z0-9-]) at all. */
static bool header_allowed(const char *name)
{
    static const char *const banned[] = {"host", "content-length", "connection", "keep-alive", "te", "trailer",
                                         "transfer-encoding", "upgrade", "expect", "proxy-authorization",
                                         "proxy-authenticate", "proxy-connection"};
    if (!*name || strlen(name) > 64 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
                                           strlen(name))
        return false;
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (!strcasecmp(name, banned[i]))
            return false;
    return strncasecmp(name, "proxy-", 6) != 0;
}

/* The header lines of one hop: the capsule's (checked), then the operator's credential for the
 * origin scheme://host:port, if any. lines[] entries are malloc'd; *n receives their number. */
static el_status build_headers(const egress_conf *cf, const egress_req *r, const el__http_url *u, char **lines,
                               size_t *n, el_error *err)
{
    char origin[300], cred[4096] = "", line[4096];
    snprintf(origin, sizeof origin, "%s://%s:%s", u->scheme, u->host, u->port);
    for (size_t pos = 0; conf_next(cf, "header", &pos, line, sizeof line);) {
        size_t ol = strcspn(line, " ");
        if (ol == strlen(origin) && !strncmp(line, origin, ol) && line[ol] == ' ' && strchr(line + ol + 1, ':'))
            snprintf(cred, sizeof cred, "%s", line + ol + 1);
    }
    size_t cred_name = strcspn(cred, ":");
    *n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r->headers, k, v)
    {
        const char *val = json_string_value(v);
        if (!val || !header_allowed(k) || strpbrk(val, "\r\n") || strlen(val) > 4000)
            return el_error_set(err, EL_ERR_FORMAT, "headers.%.64s: not a header a capsule may send", k);
        if (cred[0] && strlen(k) == cred_name && !strncasecmp(k, cred, cred_name))
            return el_error_set(err, EL_ERR_TRUST, "headers.%.64s: set by the operator for this origin", k);
        if (asprintf(&lines[(*n)++], "%s: %s", k, val) < 0)
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    if (cred[0] && asprintf(&lines[(*n)++], "%s", cred) < 0)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    explicit_bzero(cred, sizeof cred);
    explicit_bzero(line, sizeof line);
    return EL_OK;
}

typedef struct sink {
    uint8_t *buf;
    size_t len, max;
    bool over;
    bool budget; /* max is what is left of the instance's byte budget, not max_bytes */
} sink;

/* What one instance has used of its network limits (the session's egress state). */
typedef struct budget {
    uint64_t requests, bytes;
} budget;

/* The session's budget, created on first use; NULL when out of memory. */
static budget *budget_of(el__pcall *c)
{
    if (!*c->state)
        *c->state = calloc(1, sizeof(budget));
    return *c->state;
}

/* Takes one request of body_len bytes from c's budget and sets out->max to the most the
 * response may still hold (max_bytes, or less when the budget is nearly used up). EL_ERR_LIMIT
 * when the manifest's bound on requests or bytes is reached. */
static el_status budget_take(el__pcall *c, size_t body_len, size_t max_bytes, sink *out, el_error *err)
{
    budget *b = budget_of(c);
    const el_limits *l = &c->m->limits;
    if (!b)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if (b->requests >= l->net_requests)
        return el_error_set(err, EL_ERR_LIMIT, "this instance made its %u requests (resource_limits.network.requests)",
                            l->net_requests);
    if (body_len > l->net_bytes - b->bytes)
        return el_error_set(err, EL_ERR_LIMIT, "the request would pass this instance's %llu bytes "
                            "(resource_limits.network.bytes)", (unsigned long long)l->net_bytes);
    b->requests++;
    b->bytes += body_len;
    uint64_t left = l->net_bytes - b->bytes;
    out->max = left < max_bytes ? (size_t)left : max_bytes;
    out->budget = left < max_bytes;
    return EL_OK;
}

static size_t on_data(void *ud, const char *p, size_t n, long status)
{
    (void)status;
    sink *s = ud;
    if (s->len + n > s->max) {
        s->over = true;
        return 0;
    }
    uint8_t *nb = realloc(s->buf, s->len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + s->len, p, n);
    s->buf = nb;
    s->len += n;
    return n;
}

/* The token resource of a URL: scheme://host:port/path (the query is not part of it). */
static el_status url_resource(const el__http_url *u, char *out, el_error *err)
{
    if (strcmp(u->scheme, "http") && strcmp(u->scheme, "https"))
        return el_error_set(err, EL_ERR_FORMAT, "only http:// and https:// URLs");
    int n = snprintf(out, EL_RESOURCE_MAX + 1, "%s://%s:%s%s", u->scheme, u->host, u->port, u->path[0] ? u->path : "/");
    if (n < 0 || n > EL_RESOURCE_MAX || !el_token_resource_match(out, out))
        return el_error_set(err, EL_ERR_FORMAT, "the URL's path is not a resource a token can name (no %%, "
                            "no empty, . or .. segments)");
    return EL_OK;
}

/* One hop: parse, token, resolve and check, transfer. */
static el_status hop(el__pcall *c, const egress_conf *cf, const egress_req *r, const char *url, sink *out,
                     el__http_result *res, el_error *err)
{
    el__http_url u;
    char resource[EL_RESOURCE_MAX + 1], pin[600];
    el_status st = el__http_url_parse(url, &u, err);
    if (st == EL_OK)
        st = url_resource(&u, resource, err);
    if (st != EL_OK)
        return st;
    c->coalesce = true; /* a capsule polling one URL writes one record per kind, not per request */
    if ((st = c->use(c, resource, r->action, NULL, err)) != EL_OK ||
        (st = budget_take(c, r->body_len, r->max_bytes, out, err)) != EL_OK)
        return st;
    const el_msg_router *rt = c->router;
    if (rt->blocking)
        rt->blocking(rt->arg, true);
    st = resolve_checked(cf, &u, pin, sizeof pin, err);
    char *lines[MAX_HEADERS + 1] = {0};
    size_t n = 0;
    if (st == EL_OK)
        st = build_headers(cf, r, &u, lines, &n, err);
    if (st == EL_OK) {
        el__http_request q = {.url = url, .headers = (const char *const *)lines, .n_headers = n,
                              .post = r->body_len || !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") ||
                                      !strcmp(r->method, "PATCH"),
                              .body = r->body, .body_len = r->body_len, .on_data = on_data, .ud = out,
                              .connect_ms = r->timeout_ms, .total_ms = r->timeout_ms, .method = r->method, .pin = pin};
        el_error he;
        if (el__http_perform(&q, res, &he) != EL_OK)
            st = out->over && out->budget
                     ? el_error_set(err, EL_ERR_LIMIT, "the response would pass this instance's %llu bytes "
                                    "(resource_limits.network.bytes)", (unsigned long long)c->m->limits.net_bytes)
                 : out->over ? el_error_set(err, EL_ERR_LIMIT, "the response is larger than max_bytes (%zu)", out->max)
                 : res->outcome == EL_HTTP_TIMEOUT || res->outcome == EL_HTTP_STALLED
                     ? el_error_set(err, EL_ERR_LIMIT, "no complete response within timeout_ms (%ld)", r->timeout_ms)
                 : res->outcome == EL_HTTP_NO_LIBCURL ? el_error_set(err, EL__ERR_UNSUPPORTED, "no HTTP client on this host")
                                                      : el_error_set(err, EL__ERR_UNAVAILABLE, "%s", res->generic);
    }
    for (size_t i = 0; i < n; i++) {
        explicit_bzero(lines[i], strlen(lines[i]));
        free(lines[i]);
    }
    ((budget *)*c->state)->bytes += out->len; /* within what budget_take left */
    if (rt->blocking)
        rt->blocking(rt->arg, false);
    if (st == EL_ERR_TRUST)
        c->audit(c, EL_AUDIT_DENY, resource, el_manifest_action_name(r->action), err->msg, NULL);
    return st;
}

/* Masks (with '*') every occurrence in buf[0..len) of a word (8 bytes or more: the key, not
 * "Bearer") of any credential the operator attaches: a server that quotes the credential it
 * refused (some APIs do) does not hand it to the capsule. */
static void mask_credentials(const egress_conf *cf, char *buf, size_t len)
{
    char line[4096];
    for (size_t pos = 0; buf && conf_next(cf, "header", &pos, line, sizeof line);) {
        char *v = strchr(line + strcspn(line, " "), ':'); /* "ORIGIN NAME: VALUE": after NAME's colon */
        for (char *w = v ? v + 1 : line + strlen(line); *w;) {
            w += strspn(w, " \t");
            size_t wl = strcspn(w, " \t");
            for (char *hit = wl >= 8 ? memmem(buf, len, w, wl) : NULL; hit;
                 hit = memmem(hit + wl, len - (size_t)(hit + wl - buf), w, wl))
                memset(hit, '*', wl);
            w += wl;
        }
    }
    explicit_bzero(line, sizeof line);
}

static el_status egress_call(el__pcall *c, char **resp, el_error *err)
{
    egress_req r;
    el_status st = parse_body(json_object_get(c->q->body, "body"), &r, err);
    if (st != EL_OK)
        return st;
    egress_conf cf;
    if ((st = conf_load(c->rt, &cf, err)) != EL_OK) {
        free(r.body);
        el__log(c->rt, EL_LOG_WARNING, "egress: %s", err->msg);
        return el_error_set(err, EL__ERR_UNSUPPORTED, "egress is misconfigured on this host");
    }
    char url[2048];
    snprintf(url, sizeof url, "%s", el__req_str(c->q, "uri"));
    sink out = {0};
    el__http_result res;
    for (unsigned hops = 0;; hops++) {
        free(out.buf);
        out = (sink){0};
        if ((st = hop(c, &cf, &r, url, &out, &res, err)) != EL_OK || !res.redirect[0] || hops >= r.follow)
            break;
        snprintf(url, sizeof url, "%s", res.redirect);
    }
    if (st == EL_OK) {
        mask_credentials(&cf, (char *)out.buf, out.len);
        mask_credentials(&cf, res.redirect, strlen(res.redirect));
    }
    conf_free(&cf);
    free(r.body);
    if (st != EL_OK) {
        free(out.buf);
        return st;
    }
    char *b64 = el_protocol_base64_encode(out.buf ? out.buf : (const uint8_t *)"", out.len);
    free(out.buf);
    if (!b64)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    json_t *result = json_object();
    json_object_set_new(result, "status", json_integer(res.status));
    json_object_set_new(result, "body", json_string(b64));
    if (res.redirect[0])
        json_object_set_new(result, "location", json_string(res.redirect));
    free(b64);
    return el__provider_result(c, result, resp);
}

/* "http" starts both http:// and https:// (anything else starting so is refused in url_resource). */
const el__provider el__prov_egress = {
    .name = "egress",
    .scheme = "http",
    .requests = EL__REQ_BIT(EL_REQ_PROVIDER_CALL),
    .call = egress_call,
    .end = free,
};
