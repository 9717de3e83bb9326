/*
 * serve_console.c - the operator's console and /metrics of `elastos serve --http` (docs/web.md,
 * serve_daemon.h): login codes and sessions, the pages (instances, tokens, audit trail, routes,
 * providers, pending capability requests), their actions (revoke a token, answer a request),
 * the pending requests the shell capsule asks here when no terminal is attached, and the
 * daemon's counters in Prometheus' text format.
 *
 * The HTTP parser is the gateway's (a separate, unprivileged process); everything that decides
 * is here, in the daemon, which holds the secrets: a request for /console... or /metrics arrives
 * as the gateway's op "http" and is answered as a CGI response (the gateway parses it as it does
 * a capsule's). Access: `elastos console` (an ordinary client of serve.sock, which the gateway's
 * connections may not use) mints a single-use login code (32 random bytes, 120 s, kept only in
 * memory); GET /console/login?code= exchanges it for a session cookie (HttpOnly, SameSite=Strict)
 * and every other request needs that cookie, from the client address that logged in (401
 * otherwise: a cookie copied to another host is worth nothing), and a POST also the session's CSRF
 * token, HMAC-SHA256(session secret, "csrf") in hex, as the form field "csrf" or the header
 * X-CSRF-Token (403 otherwise). Secrets are compared in constant time.
 *
 * Reaches the daemon only through sv->ops and the records serve_daemon.h shares, as serve_kept.c
 * does. Locks: cmu (this file's: codes, sessions, pending requests, counters) is the innermost
 * of all and never held while another is taken; rt_mu is taken alone around the library's
 * state (tokens, audit, routes), mu alone around the instance list.
 */
#include "serve_daemon.h"
#include "elastos/audit.h"
#include "elastos/provider.h"
#include "elastos/protocol.h"
#include "elastos/route.h"
#include "elastos/sign.h"
#include "elastos/token.h"
#include "http.h"
#include "shell_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CODE_TTL_MS 120000
#define CODES_MAX 8
#define SESSION_TTL_MS (12LL * 3600 * 1000)
#define SESSIONS_MAX 8
#define PENDING_MAX 64
#define ASK_TIMEOUT_MS 60000
#define ROUTES_MAX 64 /* distinct route labels counted; more share "other" */
#define AUDIT_SHOWN_DEFAULT 100
#define AUDIT_SHOWN_MAX 1000
#define TAIL_BYTES 1024
#define COOKIE "elastos_console"

static const double BUCKETS[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

typedef struct login_code {
    char hex[65]; /* "" unused */
    int64_t expires_ms;
} login_code;

typedef struct session {
    uint8_t secret[32];
    char hex[65];  /* the cookie's value; "" unused */
    char csrf[65]; /* HMAC-SHA256(secret, "csrf"), hex */
    char remote[64]; /* the client address it was opened from: the only one it is good from */
    int64_t expires_ms;
} session;

typedef struct pending {
    struct pending *next;
    uint64_t id;
    char name[72], capsule_id[40], publisher[EL_PK_TEXT], resource[EL_RESOURCE_MAX + 1], action[32];
    int64_t asked_ms;
    char answer[8]; /* "" while waiting: once, run, always or deny */
} pending;

typedef struct route_stat {
    char route[EL_ROUTE_PREFIX_MAX + 1];
    uint64_t count, buckets[N_BUCKETS];
    double sum_s;
} route_stat;

struct console {
    pthread_mutex_t cmu;
    pthread_cond_t cv; /* a pending request was answered */
    login_code codes[CODES_MAX];
    session sessions[SESSIONS_MAX];
    pending *pending;
    size_t n_pending;
    uint64_t pending_seq;
    uint64_t launches, exits_ok, exits_error, kills[6];
    route_stat routes[ROUTES_MAX + 1]; /* the last one: "other" */
    size_t n_routes;
};

enum { KILL_MEMORY, KILL_CPU, KILL_WALL, KILL_STOPPED, KILL_CRASH, KILL_OTHER };
static const char *const KILL_NAMES[] = {"memory", "cpu", "wall", "stopped", "crash", "other"};

/* A console with no codes, sessions or requests, counters at 0; NULL when out of memory. */
console *el__console_new(void)
{
    console *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->cmu, NULL);
    el__cond_init_mono(&c->cv);
    snprintf(c->routes[ROUTES_MAX].route, sizeof c->routes[ROUTES_MAX].route, "other");
    return c;
}

/* Frees c (the daemon ends: nothing waits on it any more); NULL is fine. */
void el__console_free(console *c)
{
    if (!c)
        return;
    while (c->pending) {
        pending *p = c->pending;
        c->pending = p->next;
        free(p);
    }
    pthread_mutex_destroy(&c->cmu);
    pthread_cond_destroy(&c->cv);
    sodium_memzero(c, sizeof *c);
    free(c);
}

/* ---- counters ------------------------------------------------------------------------------- */

void el__console_launched(serve *sv)
{
    if (!sv->con)
        return;
    pthread_mutex_lock(&sv->con->cmu);
    sv->con->launches++;
    pthread_mutex_unlock(&sv->con->cmu);
}

void el__console_exited(serve *sv, int code, bool killed, bool stopped, const char *why)
{
    console *c = sv->con;
    if (!c)
        return;
    int k = stopped                          ? KILL_STOPPED
            : code == EL_ERR_TRAP            ? KILL_CRASH
            : why && strstr(why, "memory")   ? KILL_MEMORY
            : why && strstr(why, "CPU")      ? KILL_CPU
            : why && strstr(why, "cpu")      ? KILL_CPU
            : why && strstr(why, "wall")     ? KILL_WALL
                                             : KILL_OTHER;
    pthread_mutex_lock(&c->cmu);
    if (killed || code == EL_ERR_LIMIT || code == EL_ERR_TRAP)
        c->kills[k]++;
    else if (code == 0)
        c->exits_ok++;
    else
        c->exits_error++;
    pthread_mutex_unlock(&c->cmu);
}

void el__console_observe(serve *sv, const char *route, int64_t us)
{
    console *c = sv->con;
    if (!c)
        return;
    pthread_mutex_lock(&c->cmu);
    route_stat *r = NULL;
    for (size_t i = 0; i < c->n_routes && !r; i++)
        if (!strcmp(c->routes[i].route, route))
            r = &c->routes[i];
    if (!r && c->n_routes < ROUTES_MAX) {
        r = &c->routes[c->n_routes++];
        snprintf(r->route, sizeof r->route, "%s", route);
    }
    if (!r)
        r = &c->routes[ROUTES_MAX];
    double s = (double)us / 1e6;
    r->count++;
    r->sum_s += s;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (s <= BUCKETS[i])
            r->buckets[i]++;
    pthread_mutex_unlock(&c->cmu);
}

/* ---- small helpers ---------------------------------------------------------------------------- */

/* Appends the console's audit record (takes rt_mu); EL_OK once it is committed. Whatever it
 * records is not done when it fails (fail closed, as every decision). */
static el_status audit_console(serve *sv, const char *decision, const char *resource, const char *action,
                               const char *reason, const char *token_id)
{
    el_audit_record r = {.capsule = "", .capsule_id = "", .publisher = "", .resource = resource, .action = action,
                         .decision = decision, .reason = reason, .token_id = token_id ? token_id : ""};
    el_error err;
    pthread_mutex_lock(&sv->rt_mu);
    el_status st = el_audit_append(sv->rt, &r, &err);
    if (st != EL_OK)
        el__log(sv->rt, EL_LOG_WARNING, "console: audit append failed: %s", err.msg);
    pthread_mutex_unlock(&sv->rt_mu);
    return st;
}

/* Whether a equals b (both NUL-terminated), in time that depends on their lengths only. */
static bool same_secret(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && n > 0 && sodium_memcmp(a, b, n) == 0;
}

/* The value of header name in req's "headers" ("Name: value" strings), the first; NULL none. */
static const char *header(json_t *req, const char *name)
{
    size_t i, nl = strlen(name);
    json_t *h;
    json_array_foreach(json_object_get(req, "headers"), i, h)
    {
        const char *line = json_string_value(h);
        if (line && !strncasecmp(line, name, nl) && line[nl] == ':')
            return line + nl + 1 + (line[nl + 1] == ' ');
    }
    return NULL;
}

/* The value of hex digit c, -1 when it is none. */
static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value of key in an application/x-www-form-urlencoded text s (a query string or a form
 * body), decoded into out (cap bytes); false when absent, malformed or too long. */
static bool form_get(const char *s, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = s; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, kl) || p[kl] != '=')
            continue;
        size_t n = 0;
        for (const char *v = p + kl + 1; *v && *v != '&'; v++) {
            char ch = *v;
            if (ch == '+')
                ch = ' ';
            else if (ch == '%') {
                int hi = hexval(v[1]), lo = hi < 0 ? -1 : hexval(v[2]);
                if (lo < 0 || (hi == 0 && lo == 0))
                    return false;
                ch = (char)(hi * 16 + lo);
                v += 2;
            }
            if (n + 1 >= cap)
                return false;
            out[n++] = ch;
        }
        out[n] = 0;
        return true;
    }
    return false;
}

/* The session cookie's value in req (its Cookie header), into out; false when there is none. */
static bool cookie_value(json_t *req, char out[65])
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(req, "headers"), i, h)
    {
        const char *line = json_string_value(h);
        if (!line || strncasecmp(line, "Cookie:", 7))
            continue;
        for (const char *p = line + 7; *p; p++) {
            while (*p == ' ' || *p == ';')
                p++;
            if (!strncmp(p, COOKIE "=", sizeof COOKIE)) {
                const char *v = p + sizeof COOKIE;
                size_t n = strcspn(v, "; ");
                if (n != 64)
                    return false;
                memcpy(out, v, 64);
                out[64] = 0;
                return true;
            }
            p += strcspn(p, ";");
            if (!*p)
                break;
        }
    }
    return false;
}

/* html-escapes s onto f. */
static void h(FILE *f, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* h of the string member key of object v (nothing when it is absent or not a string). */
static void hv(FILE *f, const json_t *v, const char *key) { h(f, json_string_value(json_object_get(v, key))); }

/* bytes [0,n) html-escaped, non-printable bytes but newline and tab as '.', onto f. */
static void h_bytes(FILE *f, const unsigned char *d, size_t n)
{
    char one[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        one[0] = (char)((d[i] >= 0x20 && d[i] < 0x7f) || d[i] == '\n' || d[i] == '\t' ? d[i] : '.');
        h(f, one);
    }
}

#define SECURITY_HEADERS                                                                                              \
    "Cache-Control: no-store\n"                                                                                      \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "            \
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\n"                              \
    "X-Frame-Options: DENY\n"                                                                                        \
    "X-Content-Type-Options: nosniff\n"                                                                              \
    "Referrer-Policy: same-origin\n" /* not no-referrer: a form would then send "Origin: null" */

/* The gateway's answer: status, content type, extra header lines (each ending in "\n"; may be
 * NULL) and the body (taken: freed here), as a CGI response with the console's headers. */
static json_t *respond(int status, const char *ctype, const char *extra, char *body, size_t len)
{
    char *head = NULL;
    int hl = asprintf(&head, "Status: %d\nContent-Type: %s\n" SECURITY_HEADERS "%s\n", status, ctype, extra ? extra : "");
    char *all = hl > 0 ? malloc((size_t)hl + len + 1) : NULL;
    json_t *r = NULL;
    if (all) {
        memcpy(all, head, (size_t)hl);
        if (len)
            memcpy(all + hl, body, len);
        char *b64 = el_protocol_base64_encode(all, (size_t)hl + len);
        if (b64)
            r = json_pack("{s:b, s:b, s:i, s:s, s:b}", "ok", 1, "routed", 1, "exit_code", 0, "stdout", b64, "overflow", 0);
        free(b64);
    }
    free(all);
    free(head);
    free(body);
    return r ? r : json_pack("{s:b, s:i, s:s}", "ok", 0, "code", EL_ERR_INTERNAL, "error", "out of memory");
}

/* respond with a plain-text body (copied). */
static json_t *respond_text(int status, const char *text)
{
    char *b = strdup(text);
    return respond(status, "text/plain; charset=utf-8", NULL, b, b ? strlen(b) : 0);
}

/* A 303 to the path to, with extra header lines (each ending in "\n"; may be NULL). */
static json_t *redirect(const char *to, const char *extra)
{
    char *hdr = NULL;
    if (asprintf(&hdr, "Location: %s\n%s", to, extra ? extra : "") < 0)
        return respond_text(500, "500 out of memory\n");
    char *body = strdup("see other\n");
    json_t *r = respond(303, "text/plain; charset=utf-8", hdr, body, body ? strlen(body) : 0);
    free(hdr);
    return r;
}

/* A page's opening (its stylesheet, the navigation, the heading title) onto f. */
static void page_head(FILE *f, const char *title)
{
    fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    h(f, title);
    fputs("</title><link rel=\"stylesheet\" href=\"/console/style.css\"><link rel=\"icon\" href=\"/console/favicon.ico\">"
          "</head><body>\n"
          "<nav><a href=\"/console\">overview</a> <a href=\"/console/audit\">audit trail</a> "
          "<a href=\"/metrics\">metrics</a></nav>\n<h1>",
          f);
    h(f, title);
    fputs("</h1>\n", f);
}

/* The slot to (re)use among n records of stride bytes, each with a hex secret at hex_off ("" when
 * unused) and an expiry at exp_off: the first unused or expired one, else the one that expires
 * first (the oldest), so a flood of codes or logins only ever displaces the oldest. */
static size_t slot_pick(const void *base, size_t n, size_t stride, size_t hex_off, size_t exp_off, int64_t now)
{
    size_t best = 0;
    int64_t best_exp = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *rec = (const char *)base + i * stride;
        int64_t exp;
        memcpy(&exp, rec + exp_off, sizeof exp);
        if (!rec[hex_off] || exp <= now)
            return i;
        if (exp < best_exp) {
            best = i;
            best_exp = exp;
        }
    }
    return best;
}
/* Closes the page written to f (an open_memstream of *buf, *len) and responds with it. */
static json_t *respond_page(int status, FILE *f, char **buf, size_t *len)
{
    fputs("</body></html>\n", f);
    fclose(f);
    return respond(status, "text/html; charset=utf-8", NULL, *buf, *len);
}

/* ---- login codes and sessions --------------------------------------------------------------- */

json_t *el__console_login(serve *sv)
{
    console *c = sv->con;
    if (!c || !sv->http_addr[0])
        return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", EL_ERR_CONFIG, "error",
                         "the daemon has no HTTP front: start it with elastos serve --http [ADDR:]PORT");
    if (audit_console(sv, EL_AUDIT_CONSOLE_LOGIN, "console", "login", "a login code was issued (elastos console)", NULL) !=
        EL_OK)
        return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", EL_ERR_IO, "error",
                         "the audit log cannot be written: no login code is issued (the daemon's log says why)");
    char code[65];
    el__random_hex(code, 32);
    int64_t now = mono_ms();
    pthread_mutex_lock(&c->cmu);
    login_code *slot = &c->codes[slot_pick(c->codes, CODES_MAX, sizeof *c->codes, offsetof(login_code, hex),
                                           offsetof(login_code, expires_ms), now)];
    snprintf(slot->hex, sizeof slot->hex, "%s", code);
    slot->expires_ms = now + CODE_TTL_MS;
    pthread_mutex_unlock(&c->cmu);
    char *url = NULL;
    json_t *r = asprintf(&url, "http://%s/console/login?code=%s", sv->http_addr, code) > 0
                    ? json_pack("{s:b, s:s, s:i}", "ok", 1, "url", url, "expires_s", CODE_TTL_MS / 1000)
                    : NULL;
    free(url);
    sodium_memzero(code, sizeof code);
    return r;
}

/* Takes the login code given (single use: consumed when it matches) and opens a session for
 * the client at remote into *s (a copy); false when no unexpired code matches. */
static bool code_exchange(console *c, const char *given, const char *remote, session *s)
{
    int64_t now = mono_ms();
    bool found = false;
    pthread_mutex_lock(&c->cmu);
    for (size_t i = 0; i < CODES_MAX; i++) { /* every slot compared: the time says nothing */
        bool m = c->codes[i].hex[0] && same_secret(c->codes[i].hex, given);
        if (m && c->codes[i].expires_ms > now)
            found = true;
        if (m) /* used or expired, it is gone */
            sodium_memzero(&c->codes[i], sizeof c->codes[i]);
    }
    if (found) {
        session *slot = &c->sessions[slot_pick(c->sessions, SESSIONS_MAX, sizeof *c->sessions, offsetof(session, hex),
                                               offsetof(session, expires_ms), now)];
        randombytes_buf(slot->secret, sizeof slot->secret);
        el_sign_hex_encode(slot->secret, sizeof slot->secret, slot->hex);
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(mac, (const unsigned char *)"csrf", 4, slot->secret);
        el_sign_hex_encode(mac, sizeof mac, slot->csrf);
        snprintf(slot->remote, sizeof slot->remote, "%s", remote);
        slot->expires_ms = now + SESSION_TTL_MS;
        *s = *slot;
    }
    pthread_mutex_unlock(&c->cmu);
    return found;
}

/* The session req's cookie names, copied into *s; false when none is valid, or it was opened
 * from another client address than remote, req's (a cookie copied elsewhere is worth nothing
 * there). */
static bool session_of(console *c, json_t *req, const char *remote, session *s)
{
    char v[65];
    if (!remote || !cookie_value(req, v))
        return false;
    int64_t now = mono_ms();
    bool found = false;
    pthread_mutex_lock(&c->cmu);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (c->sessions[i].hex[0] && same_secret(c->sessions[i].hex, v) && c->sessions[i].expires_ms > now &&
            !strcmp(c->sessions[i].remote, remote)) {
            *s = c->sessions[i];
            found = true;
        }
    pthread_mutex_unlock(&c->cmu);
    sodium_memzero(v, sizeof v);
    return found;
}

/* Forgets session s (logout): its cookie is worth nothing from now on. */
static void session_end(console *c, const session *s)
{
    pthread_mutex_lock(&c->cmu);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (c->sessions[i].hex[0] && same_secret(c->sessions[i].hex, s->hex))
            sodium_memzero(&c->sessions[i], sizeof c->sessions[i]);
    pthread_mutex_unlock(&c->cmu);
}

/* ---- pending capability requests (the shell asks; serve_daemon.h) ------------------------------ */

el_status el__console_ask(void *arg, const el_decision_request *q, unsigned timeout_ms, char answer[8], char reason[256])
{
    serve *sv = arg;
    console *c = sv->con;
    answer[0] = 0;
    if (!c || !sv->http_addr[0]) {
        snprintf(reason, 256, "no console: the daemon has no HTTP front");
        return EL_ERR_NOTFOUND;
    }
    /* an HTTP request's instance answers a client that is waiting now: it is not held for the
     * operator (its route's grants and the policy decide, as without a console) */
    pthread_mutex_lock(&sv->mu);
    inst *asker = q->capsule_id ? sv->ops->find_inst(sv, q->capsule_id) : NULL;
    bool http = asker && asker->cap;
    pthread_mutex_unlock(&sv->mu);
    if (http) {
        snprintf(reason, 256, "no console for the HTTP front's requests");
        return EL_ERR_NOTFOUND;
    }
    if (!timeout_ms || timeout_ms > ASK_TIMEOUT_MS)
        timeout_ms = ASK_TIMEOUT_MS;
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(reason, 256, "out of memory");
        return EL_ERR_INTERNAL;
    }
    snprintf(p->name, sizeof p->name, "%s", q->capsule_name ? q->capsule_name : "");
    snprintf(p->capsule_id, sizeof p->capsule_id, "%s", q->capsule_id ? q->capsule_id : "");
    snprintf(p->publisher, sizeof p->publisher, "%s", q->publisher ? q->publisher : "");
    snprintf(p->resource, sizeof p->resource, "%s", q->resource ? q->resource : "");
    snprintf(p->action, sizeof p->action, "%s", q->action ? q->action : "");
    p->asked_ms = el__clock_ms(CLOCK_REALTIME);
    pthread_mutex_lock(&c->cmu);
    if (c->n_pending >= PENDING_MAX) {
        pthread_mutex_unlock(&c->cmu);
        free(p);
        snprintf(reason, 256, "the console already has %d pending requests", PENDING_MAX);
        return EL_ERR_LIMIT;
    }
    p->id = ++c->pending_seq;
    p->next = c->pending;
    c->pending = p;
    c->n_pending++;
    pthread_mutex_unlock(&c->cmu);

    sv->ops->unblock(sv, true); /* the runtime is free while the operator thinks */
    int64_t until = mono_ms() + timeout_ms;
    bool stopping = false;
    pthread_mutex_lock(&c->cmu);
    while (!p->answer[0] && !stopping && mono_ms() < until) {
        /* in slices: the asking instance may be stopped meanwhile (elastos stop, shutdown), which
         * mu says; mu comes before cmu, so it is looked at with cmu released */
        struct timespec slice = el__mono_deadline(250);
        pthread_cond_timedwait(&c->cv, &c->cmu, &slice);
        if (p->answer[0])
            break;
        pthread_mutex_unlock(&c->cmu);
        pthread_mutex_lock(&sv->mu);
        inst *in = sv->ops->find_inst(sv, p->capsule_id);
        stopping = sv->stopping || (in && in->stop);
        pthread_mutex_unlock(&sv->mu);
        pthread_mutex_lock(&c->cmu);
    }
    snprintf(answer, 8, "%s", p->answer);
    for (pending **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            c->n_pending--;
            break;
        }
    pthread_mutex_unlock(&c->cmu);
    free(p);
    sv->ops->unblock(sv, false);
    if (answer[0])
        return EL_OK;
    snprintf(reason, 256, "%s", stopping ? "the capsule or the daemon is stopping" : "nobody answered in the console in time");
    return EL_ERR_LIMIT;
}

/* The operator's answer to pending request id (NULL: only looks whether it waits); what receives
 * "NAME ACTION RESOURCE". False when there is no such request waiting. */
static bool pending_answer(console *c, uint64_t id, const char *answer, char *what, size_t cap)
{
    bool found = false;
    pthread_mutex_lock(&c->cmu);
    for (pending *p = c->pending; p; p = p->next)
        if (p->id == id && !p->answer[0]) {
            if (answer)
                snprintf(p->answer, sizeof p->answer, "%s", answer);
            snprintf(what, cap, "%s %s %s", p->name, p->action, p->resource);
            found = true;
        }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->cmu);
    return found;
}

/* The requests waiting for an answer, as a JSON array (newest first). */
static json_t *pending_json(console *c)
{
    json_t *a = json_array();
    pthread_mutex_lock(&c->cmu);
    for (pending *p = c->pending; p; p = p->next)
        if (!p->answer[0])
            json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)p->id, "capsule",
                                               p->name, "capsule_id", p->capsule_id, "publisher", p->publisher,
                                               "resource", p->resource, "action", p->action, "asked_ms",
                                               (json_int_t)p->asked_ms));
    pthread_mutex_unlock(&c->cmu);
    return a;
}

/* ---- what the pages show -------------------------------------------------------------------- */

/* The daemon's instances (takes mu): id, name, state, uptime, limits, the tail of their output. */
static json_t *instances_json(serve *sv)
{
    json_t *a = json_array();
    int64_t now = el__clock_ms(CLOCK_REALTIME);
    pthread_mutex_lock(&sv->mu);
    for (inst *in = sv->insts; in; in = in->next) {
        int64_t end = in->state == ST_RUNNING ? now : in->ended_ms;
        json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:{s:i, s:I, s:I}}", "id", in->id, "name", in->name, "state",
                              in->state == ST_RUNNING ? "running" : "exited", "uptime_ms",
                              (json_int_t)(end - in->started_ms), "limits", "memory_mb", (int)in->limits.memory_mb,
                              "cpu_ms", (json_int_t)in->limits.cpu_ms, "wall_ms", (json_int_t)in->limits.wall_ms);
        if (in->state == ST_EXITED)
            json_object_set_new(o, "exit_code", json_integer(in->exit_code));
        pthread_mutex_lock(&in->log_mu);
        size_t n = in->log_len < TAIL_BYTES ? in->log_len : TAIL_BYTES;
        char *tail = malloc(n + 1);
        size_t start = (in->log_head + in->log_cap - n) % (in->log_cap ? in->log_cap : 1);
        for (size_t i = 0; tail && i < n; i++) {
            unsigned char ch = in->log[(start + i) % in->log_cap];
            tail[i] = (char)((ch >= 0x20 && ch < 0x7f) || ch == '\n' || ch == '\t' ? ch : '.');
        }
        pthread_mutex_unlock(&in->log_mu);
        if (tail) {
            tail[n] = 0;
            json_object_set_new(o, "output_tail", json_string(tail));
        }
        free(tail);
        json_array_append_new(a, o);
    }
    pthread_mutex_unlock(&sv->mu);
    return a;
}

/* Whether id is one of ids[0..n). */
static bool id_in(const el_instance_id *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i].id, id))
            return true;
    return false;
}

/* The active tokens (takes rt_mu): not revoked, expired or used up, and held by an instance
 * running on this host now (a token is good only for its holder, so one whose holder exited can
 * never be used again); at most 500, newest first. */
static json_t *tokens_json(serve *sv)
{
    el_token_info *v = NULL;
    el_instance_id *ids = NULL;
    size_t n = 0, n_ids = 0;
    el_error err;
    pthread_mutex_lock(&sv->rt_mu);
    el_status st = el_token_list(sv->rt, &v, &n, &err);
    pthread_mutex_unlock(&sv->rt_mu);
    if (st == EL_OK) /* the host's slot files and /proc/locks: nothing of the shared runtime */
        st = el_launch_running(sv->rt, &ids, &n_ids, &err);
    json_t *a = json_array();
    uint64_t now = (uint64_t)el__clock_ms(CLOCK_REALTIME) / 1000;
    for (size_t i = 0; st == EL_OK && i < n && json_array_size(a) < 500; i++) {
        if (v[i].revoked || (v[i].expiry && v[i].expiry <= now) || (v[i].max_uses && v[i].uses >= v[i].max_uses) ||
            !id_in(ids, n_ids, v[i].holder))
            continue;
        const char *act = el_manifest_action_name(v[i].action);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", v[i].id, "capsule",
                                           v[i].capsule, "holder", v[i].holder, "resource", v[i].resource, "action",
                                           act ? act : "?", "uses", (json_int_t)v[i].uses, "issued_at",
                                           (json_int_t)v[i].issued_at));
    }
    free(v);
    free(ids);
    return a;
}

/* {"routes":[...],"providers":[...]} with their targets and grants (takes rt_mu). */
static json_t *bindings_json(serve *sv)
{
    json_t *o = json_pack("{s:[], s:[]}", "routes", "providers");
    el_route *r = NULL;
    el_provider_binding *p = NULL;
    size_t nr = 0, np = 0;
    el_error err;
    pthread_mutex_lock(&sv->rt_mu);
    if (el_route_list(sv->rt, &r, &nr, &err) != EL_OK)
        nr = 0;
    if (el_provider_list(sv->rt, &p, &np, &err) != EL_OK)
        np = 0;
    pthread_mutex_unlock(&sv->rt_mu);
    for (size_t i = 0; i < nr; i++) {
        json_t *g = json_array();
        for (size_t k = 0; k < r[i].n_grants; k++)
            json_array_append_new(g, json_string(r[i].grants[k]));
        json_array_append_new(json_object_get(o, "routes"),
                              json_pack("{s:s, s:s, s:o}", "prefix", r[i].prefix, "target", r[i].target, "grants", g));
    }
    for (size_t i = 0; i < np; i++) {
        json_t *g = json_array();
        for (size_t k = 0; k < p[i].n_grants; k++)
            json_array_append_new(g, json_string(p[i].grants[k]));
        json_array_append_new(json_object_get(o, "providers"),
                              json_pack("{s:s, s:s, s:o}", "scheme", p[i].scheme, "target", p[i].target, "grants", g));
    }
    if (r)
        el_route_list_free(r, nr);
    if (p)
        el_provider_list_free(p, np);
    return o;
}

typedef struct audit_tail {
    const char *q;
    json_t **ring;
    size_t cap, n, head;
} audit_tail;

/* el_audit_each's callback: keeps r in the ring of the newest matching records (arg: audit_tail). */
static int audit_collect(const el_audit_record *r, void *arg)
{
    audit_tail *t = arg;
    const char *f[] = {r->capsule, r->capsule_id, r->publisher, r->resource, r->action, r->decision, r->reason, r->token_id};
    bool match = !t->q || !*t->q;
    for (size_t i = 0; !match && i < sizeof f / sizeof f[0]; i++)
        match = f[i] && strstr(f[i], t->q);
    if (!match)
        return 0;
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)r->seq, "ts_ms",
                          (json_int_t)r->ts_ms, "capsule", r->capsule ? r->capsule : "", "capsule_id",
                          r->capsule_id ? r->capsule_id : "", "resource", r->resource ? r->resource : "", "action",
                          r->action ? r->action : "", "decision", r->decision ? r->decision : "", "reason",
                          r->reason ? r->reason : "", "token_id", r->token_id ? r->token_id : "");
    json_decref(t->ring[t->head]);
    t->ring[t->head] = o;
    t->head = (t->head + 1) % t->cap;
    if (t->n < t->cap)
        t->n++;
    return 0;
}

/* The last n records matching q (a substring of any field; "" all), newest first, and the chain's
 * verification ("ok: N records" or why not) into verdict. */
static json_t *audit_json(serve *sv, const char *q, size_t n, char *verdict, size_t cap)
{
    audit_tail t = {.q = q, .ring = calloc(n, sizeof(json_t *)), .cap = n};
    json_t *a = json_array();
    if (!t.ring)
        return a;
    el_error err;
    int64_t records = 0, bad = 0;
    pthread_mutex_lock(&sv->rt_mu);
    (void)el_audit_flush(sv->rt, &err);
    el_status st = el_audit_each(sv->rt, audit_collect, &t, &err);
    el_status vs = el_audit_verify(sv->rt, &records, &bad, &err);
    pthread_mutex_unlock(&sv->rt_mu);
    if (vs == EL_OK)
        snprintf(verdict, cap, "ok: the chain of %lld records verifies", (long long)records);
    else
        snprintf(verdict, cap, "FAILED at record %lld: %s", (long long)bad, err.msg);
    (void)st;
    for (size_t i = 0; i < t.n; i++)
        json_array_append_new(a, t.ring[(t.head + t.cap - 1 - i) % t.cap]);
    free(t.ring);
    return a;
}

/* ---- pages ------------------------------------------------------------------------------------ */

/* The hidden form field carrying s's CSRF token, onto f. */
static void csrf_field(FILE *f, const session *s)
{
    fprintf(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", s->csrf);
}

/* GET /console: pending requests (with their answer forms), instances, active tokens (revoke
 * forms), routes and providers. */
static json_t *page_overview(serve *sv, const session *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return respond_text(500, "500 out of memory\n");
    page_head(f, "elastos console");
    json_t *pend = pending_json(sv->con), *insts = instances_json(sv), *toks = tokens_json(sv), *b = bindings_json(sv);
    size_t i;
    json_t *v;
    fputs("<script src=\"/console/app.js\" defer></script>\n<section id=\"pending\" data-ids=\"", f);
    json_array_foreach(pend, i, v)
    fprintf(f, "%s%lld", i ? "," : "", (long long)json_integer_value(json_object_get(v, "id")));
    fprintf(f, "\"><h2>Pending requests (%zu)</h2>\n", json_array_size(pend));
    if (!json_array_size(pend))
        fputs("<p>None waiting.</p>\n", f);
    json_array_foreach(pend, i, v)
    {
        fprintf(f, "<div class=\"req\" data-id=\"%lld\" data-instance=\"", (long long)json_integer_value(json_object_get(v, "id")));
        hv(f, v, "capsule_id");
        fputs("\"><p>capsule <b>", f);
        hv(f, v, "capsule");
        fputs("</b> (instance <code>", f);
        hv(f, v, "capsule_id");
        fputs("</code>) asks to <b>", f);
        hv(f, v, "action");
        fputs("</b> <code>", f);
        hv(f, v, "resource");
        fputs("</code></p>\n<form method=\"post\" action=\"/console/pending/answer\">", f);
        csrf_field(f, s);
        fprintf(f, "<input type=\"hidden\" name=\"id\" value=\"%lld\">", (long long)json_integer_value(json_object_get(v, "id")));
        fputs("<button name=\"answer\" value=\"once\">allow once</button> "
              "<button name=\"answer\" value=\"run\">allow for the run</button> "
              "<button name=\"answer\" value=\"always\">allow always</button> "
              "<button name=\"answer\" value=\"deny\">deny</button></form></div>\n",
              f);
    }
    fputs("</section>\n<section id=\"instances\"><h2>Instances</h2>\n<table><tr><th>id</th><th>name</th><th>state</th>"
          "<th>limits</th><th>uptime</th><th>output (tail)</th></tr>\n",
          f);
    json_array_foreach(insts, i, v)
    {
        json_t *l = json_object_get(v, "limits");
        fputs("<tr class=\"inst\" data-id=\"", f);
        hv(f, v, "id");
        fputs("\"><td><code>", f);
        hv(f, v, "id");
        fputs("</code></td><td class=\"name\">", f);
        hv(f, v, "name");
        fputs("</td><td class=\"state\">", f);
        hv(f, v, "state");
        if (json_object_get(v, "exit_code"))
            fprintf(f, " (%lld)", (long long)json_integer_value(json_object_get(v, "exit_code")));
        fprintf(f, "</td><td>%lld MiB, %lld ms CPU, %lld ms wall</td><td>%.1f s</td><td><pre>",
                (long long)json_integer_value(json_object_get(l, "memory_mb")),
                (long long)json_integer_value(json_object_get(l, "cpu_ms")),
                (long long)json_integer_value(json_object_get(l, "wall_ms")),
                (double)json_integer_value(json_object_get(v, "uptime_ms")) / 1000.0);
        const char *tail = json_string_value(json_object_get(v, "output_tail"));
        h_bytes(f, (const unsigned char *)(tail ? tail : ""), tail ? strlen(tail) : 0);
        fputs("</pre></td></tr>\n", f);
    }
    fputs("</table></section>\n<section id=\"tokens\"><h2>Active tokens</h2>\n<table><tr><th>id</th><th>capsule</th>"
          "<th>resource</th><th>action</th><th>uses</th><th></th></tr>\n",
          f);
    json_array_foreach(toks, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        fputs("<tr class=\"token\" data-holder=\"", f);
        hv(f, v, "holder");
        fputs("\"><td><code>", f);
        h(f, id);
        fputs("</code></td><td>", f);
        hv(f, v, "capsule");
        fputs("</td><td><code>", f);
        hv(f, v, "resource");
        fputs("</code></td><td>", f);
        hv(f, v, "action");
        fprintf(f, "</td><td>%lld</td><td><form method=\"post\" action=\"/console/tokens/revoke\">",
                (long long)json_integer_value(json_object_get(v, "uses")));
        csrf_field(f, s);
        fputs("<input type=\"hidden\" name=\"id\" value=\"", f);
        h(f, id);
        fputs("\"><button>revoke</button></form></td></tr>\n", f);
    }
    fputs("</table></section>\n<section id=\"routes\"><h2>Routes</h2>\n<table><tr><th>prefix</th><th>capsule</th>"
          "<th>grants</th></tr>\n",
          f);
    const char *kinds[2][2] = {{"routes", "prefix"}, {"providers", "scheme"}};
    for (int k = 0; k < 2; k++) {
        if (k == 1)
            fputs("</table></section>\n<section id=\"providers\"><h2>Bound providers</h2>\n<table><tr><th>scheme</th>"
                  "<th>capsule</th><th>grants</th></tr>\n",
                  f);
        json_array_foreach(json_object_get(b, kinds[k][0]), i, v)
        {
            fputs("<tr><td><code>", f);
            hv(f, v, kinds[k][1]);
            fputs("</code></td><td>", f);
            hv(f, v, "target");
            fputs("</td><td>", f);
            size_t gi;
            json_t *g;
            json_array_foreach(json_object_get(v, "grants"), gi, g)
            {
                fputs(gi ? ", <code>" : "<code>", f);
                h(f, json_string_value(g));
                fputs("</code>", f);
            }
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table></section>\n<form method=\"post\" action=\"/console/logout\">", f);
    csrf_field(f, s);
    fputs("<button>log out</button></form>\n", f);
    json_decref(pend);
    json_decref(insts);
    json_decref(toks);
    json_decref(b);
    return respond_page(200, f, &buf, &len);
}

/* GET /console/audit?q=&n=: the newest n records matching q, and the chain's verification. */
static json_t *page_audit(serve *sv, const char *query)
{
    char q[256] = "", nb[16] = "";
    if (query)
        form_get(query, "q", q, sizeof q);
    size_t n = query && form_get(query, "n", nb, sizeof nb) ? strtoul(nb, NULL, 10) : AUDIT_SHOWN_DEFAULT;
    if (n == 0 || n > AUDIT_SHOWN_MAX)
        n = AUDIT_SHOWN_DEFAULT;
    char verdict[400];
    json_t *recs = audit_json(sv, q, n, verdict, sizeof verdict);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_decref(recs);
        return respond_text(500, "500 out of memory\n");
    }
    page_head(f, "audit trail");
    fputs("<p id=\"verify\">verify: ", f);
    h(f, verdict);
    fputs("</p>\n<form method=\"get\" action=\"/console/audit\"><input name=\"q\" value=\"", f);
    h(f, q);
    fprintf(f, "\" placeholder=\"substring\"> <input name=\"n\" value=\"%zu\" size=\"5\"> <button>filter</button></form>\n",
            n);
    fputs("<table><tr><th>seq</th><th>decision</th><th>capsule</th><th>resource</th><th>action</th><th>reason</th>"
          "<th>token</th></tr>\n",
          f);
    size_t i;
    json_t *v;
    json_array_foreach(recs, i, v)
    {
        fprintf(f, "<tr class=\"rec\"><td>%lld</td>", (long long)json_integer_value(json_object_get(v, "seq")));
        const char *keys[] = {"decision", "capsule", "resource", "action", "reason", "token_id"};
        for (size_t k = 0; k < 6; k++) {
            fputs("<td>", f);
            hv(f, v, keys[k]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    json_decref(recs);
    return respond_page(200, f, &buf, &len);
}

static const char STYLE[] =
    "body{font-family:sans-serif;margin:1em 2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}pre{margin:0;max-height:8em;"
    "overflow:auto;font-size:85%}nav a{margin-right:1em}.req{border:2px solid #c60;padding:4px 8px;margin:4px 0}"
    "form{display:inline}\n";

/* GET /console/app.js: the console's one script (same origin, CSP script-src 'self'): reloads the
 * overview when the set of pending requests changes, so a new question shows up by itself. The
 * pages work without it. */
static const char APP_JS[] =
    "'use strict';\n"
    "(function () {\n"
    "  const sec = document.getElementById('pending');\n"
    "  if (!sec) return;\n"
    "  const shown = sec.dataset.ids || '';\n"
    "  setInterval(async () => {\n"
    "    try {\n"
    "      const r = await fetch('/console/api/state', { credentials: 'same-origin', cache: 'no-store' });\n"
    "      if (!r.ok) return;\n"
    "      const j = await r.json();\n"
    "      if (j.pending.map((p) => p.id).join(',') !== shown) location.reload();\n"
    "    } catch (e) { /* the daemon may be restarting: the next tick tries again */ }\n"
    "  }, 2000);\n"
    "})();\n";

/* GET /console/api/state: what /console shows, as JSON, with the session's CSRF token. */
static json_t *page_api(serve *sv, const session *s)
{
    json_t *o = json_pack("{s:o, s:o, s:o, s:s}", "pending", pending_json(sv->con), "instances", instances_json(sv),
                          "tokens", tokens_json(sv), "csrf", s->csrf);
    json_object_update_new(o, bindings_json(sv));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return respond(200, "application/json", NULL, text, text ? strlen(text) : 0);
}

/* GET /metrics: the counters in Prometheus' text format (0.0.4). */
static json_t *page_metrics(serve *sv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return respond_text(500, "500 out of memory\n");
    console *c = sv->con;
    el__stats *st = &sv->rt->stats;
    pthread_mutex_lock(&c->cmu);
    fprintf(f, "# HELP elastos_launches_total Capsule instances the daemon launched.\n"
               "# TYPE elastos_launches_total counter\nelastos_launches_total %llu\n"
               "# HELP elastos_exits_total Instances that exited by themselves, by exit status.\n"
               "# TYPE elastos_exits_total counter\nelastos_exits_total{status=\"zero\"} %llu\n"
               "elastos_exits_total{status=\"nonzero\"} %llu\n"
               "# HELP elastos_kills_total Instances a limit, a crash or a stop ended, by reason.\n"
               "# TYPE elastos_kills_total counter\n",
            (unsigned long long)c->launches, (unsigned long long)c->exits_ok, (unsigned long long)c->exits_error);
    for (int k = 0; k < 6; k++)
        fprintf(f, "elastos_kills_total{reason=\"%s\"} %llu\n", KILL_NAMES[k], (unsigned long long)c->kills[k]);
    fprintf(f, "# HELP elastos_http_requests_total Requests of the HTTP front, by route.\n"
               "# TYPE elastos_http_requests_total counter\n");
    for (size_t i = 0; i <= ROUTES_MAX; i++)
        if ((i < c->n_routes || i == ROUTES_MAX) && c->routes[i].count)
            fprintf(f, "elastos_http_requests_total{route=\"%s\"} %llu\n", c->routes[i].route,
                    (unsigned long long)c->routes[i].count);
    fprintf(f, "# HELP elastos_http_request_duration_seconds Time the daemon took to answer, by route.\n"
               "# TYPE elastos_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= ROUTES_MAX; i++) {
        route_stat *r = &c->routes[i];
        if ((i >= c->n_routes && i != ROUTES_MAX) || !r->count)
            continue;
        for (size_t b = 0; b < N_BUCKETS; b++)
            fprintf(f, "elastos_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", r->route,
                    BUCKETS[b], (unsigned long long)r->buckets[b]);
        fprintf(f, "elastos_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", r->route,
                (unsigned long long)r->count);
        fprintf(f, "elastos_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", r->route, r->sum_s);
        fprintf(f, "elastos_http_request_duration_seconds_count{route=\"%s\"} %llu\n", r->route,
                (unsigned long long)r->count);
    }
    pthread_mutex_unlock(&c->cmu);
    fprintf(f, "# HELP elastos_denials_total Audit records of refused requests and uses.\n"
               "# TYPE elastos_denials_total counter\nelastos_denials_total %llu\n"
               "# HELP elastos_token_checks_total Token checks, by result.\n"
               "# TYPE elastos_token_checks_total counter\nelastos_token_checks_total{result=\"ok\"} %llu\n"
               "elastos_token_checks_total{result=\"failed\"} %llu\n"
               "# HELP elastos_audit_records_total Audit records written.\n"
               "# TYPE elastos_audit_records_total counter\nelastos_audit_records_total %llu\n"
               "# HELP elastos_fetch_bytes_total Bytes received over HTTP (fetch, egress, publish, ai).\n"
               "# TYPE elastos_fetch_bytes_total counter\nelastos_fetch_bytes_total %llu\n",
            (unsigned long long)st->audit_denials, (unsigned long long)(st->token_checks - st->token_failures),
            (unsigned long long)st->token_failures, (unsigned long long)st->audit_records,
            (unsigned long long)el__http_received());
    fclose(f);
    return respond(200, "text/plain; version=0.0.4; charset=utf-8", NULL, buf, len);
}

/* ---- requests --------------------------------------------------------------------------------- */

/* 401: the page that says how to log in (no session, or an expired one). */
static json_t *unauthorized(void)
{
    static const char page[] =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>elastos console: log in</title></head>"
        "<body><h1>Not logged in</h1><p>Run <code>elastos console</code> on the daemon's host and open the URL it "
        "prints (it works once, within 120 seconds).</p></body></html>\n";
    char *b = strdup(page);
    return respond(401, "text/html; charset=utf-8", NULL, b, b ? strlen(b) : 0);
}

/* A POST's action, its CSRF token checked first (403 without the session's). */
static json_t *action(serve *sv, const session *s, const char *path, json_t *req, const char *form)
{
    char csrf[80] = "", id[80] = "", answer[16] = "", why[400];
    const char *hdr = header(req, "X-CSRF-Token");
    if (hdr)
        snprintf(csrf, sizeof csrf, "%s", hdr);
    else
        form_get(form, "csrf", csrf, sizeof csrf);
    if (!same_secret(csrf, s->csrf))
        return respond_text(403, "403 forbidden: no or a wrong CSRF token\n");
    form_get(form, "id", id, sizeof id);
    const char *remote = json_string_value(json_object_get(req, "remote"));
    if (!strcmp(path, "/console/logout")) {
        session_end(sv->con, s);
        (void)audit_console(sv, EL_AUDIT_CONSOLE_ACTION, "console", "logout", "the session was ended", NULL);
        return redirect("/console", "Set-Cookie: " COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\n");
    }
    if (!strcmp(path, "/console/tokens/revoke")) {
        if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
            return respond_text(400, "400 bad request: id is a token id (32 hex digits)\n");
        el_error err;
        snprintf(why, sizeof why, "revoked in the console (from %.64s)", remote ? remote : "?");
        pthread_mutex_lock(&sv->rt_mu);
        el_audit_record r = {.capsule = "", .capsule_id = "", .publisher = "", .resource = "console", .action = "revoke",
                             .decision = EL_AUDIT_REVOKE, .reason = why, .token_id = id};
        el_status st = el_audit_append(sv->rt, &r, &err); /* audited before it is done */
        if (st == EL_OK)
            st = el_token_revoke(sv->rt, id, &err);
        pthread_mutex_unlock(&sv->rt_mu);
        if (st != EL_OK) {
            el__log(sv->rt, EL_LOG_WARNING, "console: revoke %s: %s", id, err.msg);
            return respond_text(500, "500 the token could not be revoked (the daemon's log says why)\n");
        }
        return redirect("/console", NULL);
    }
    if (!strcmp(path, "/console/pending/answer")) {
        form_get(form, "answer", answer, sizeof answer);
        char *end = NULL;
        unsigned long long n = strtoull(id, &end, 10);
        if (!*id || *end || (strcmp(answer, "once") && strcmp(answer, "run") && strcmp(answer, "always") &&
                             strcmp(answer, "deny")))
            return respond_text(400, "400 bad request: id and answer (once, run, always or deny)\n");
        char what[sizeof ((pending *)0)->resource + 200];
        if (!pending_answer(sv->con, n, NULL, what, sizeof what))
            return respond_text(404, "404 no such pending request (answered, or it timed out)\n");
        snprintf(why, sizeof why, "answered %s in the console: %.300s", answer, what);
        if (audit_console(sv, EL_AUDIT_CONSOLE_ACTION, "console", "answer", why, NULL) != EL_OK)
            return respond_text(500, "500 the audit log cannot be written: not answered (the daemon's log says why)\n");
        if (!pending_answer(sv->con, n, answer, what, sizeof what))
            return respond_text(404, "404 no such pending request (it timed out meanwhile)\n");
        return redirect("/console", NULL);
    }
    return respond_text(404, "404 not found\n");
}

json_t *el__console_http(serve *sv, json_t *req)
{
    const char *path = json_string_value(json_object_get(req, "path"));
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *query = json_string_value(json_object_get(req, "query"));
    console *c = sv->con;
    if (!c)
        return respond_text(404, "404 not found\n");
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (!get && !post)
        return respond_text(405, "405 method not allowed\n");
    session s;
    const char *remote = json_string_value(json_object_get(req, "remote"));
    if (!strcmp(path, "/console/login") && get) {
        char code[80] = "";
        if (!remote || !query || !form_get(query, "code", code, sizeof code) || !code_exchange(c, code, remote, &s)) {
            sodium_memzero(code, sizeof code);
            return respond_text(401, "401 the login code is wrong, used or expired: run elastos console for a new one\n");
        }
        sodium_memzero(code, sizeof code);
        char why[128];
        snprintf(why, sizeof why, "a console session was opened from %.64s", remote);
        if (audit_console(sv, EL_AUDIT_CONSOLE_LOGIN, "console", "login", why, NULL) != EL_OK) {
            session_end(c, &s);
            sodium_memzero(&s, sizeof s);
            return respond_text(500, "500 the audit log cannot be written: no session (the daemon's log says why)\n");
        }
        char *hdr = NULL;
        json_t *r = asprintf(&hdr, "Set-Cookie: " COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/\n", s.hex) > 0
                        ? redirect("/console", hdr)
                        : respond_text(500, "500 out of memory\n");
        if (hdr)
            sodium_memzero(hdr, strlen(hdr));
        free(hdr);
        sodium_memzero(&s, sizeof s);
        return r;
    }
    if (!session_of(c, req, remote, &s))
        return unauthorized();
    json_t *r;
    if (post) {
        size_t blen = 0;
        const char *b64 = json_string_value(json_object_get(req, "body"));
        uint8_t *body = el_protocol_base64_decode(b64 ? b64 : "", &blen);
        char *form = body ? malloc(blen + 1) : NULL;
        if (form) {
            memcpy(form, body, blen);
            form[blen] = 0;
        }
        r = form && strlen(form) == blen ? action(sv, &s, path, req, form) : respond_text(400, "400 bad request\n");
        free(form);
        free(body);
    } else if (!strcmp(path, "/console") || !strcmp(path, "/console/"))
        r = page_overview(sv, &s);
    else if (!strcmp(path, "/console/audit"))
        r = page_audit(sv, query);
    else if (!strcmp(path, "/console/api/state"))
        r = page_api(sv, &s);
    else if (!strcmp(path, "/console/style.css")) {
        char *b = strdup(STYLE);
        r = respond(200, "text/css; charset=utf-8", NULL, b, b ? strlen(b) : 0);
    } else if (!strcmp(path, "/console/app.js")) {
        char *b = strdup(APP_JS);
        r = respond(200, "text/javascript; charset=utf-8", NULL, b, b ? strlen(b) : 0);
    } else if (!strcmp(path, "/console/favicon.ico"))
        r = respond(204, "image/x-icon", NULL, NULL, 0); /* none: the browser asks, nothing to show */
    else if (!strcmp(path, "/metrics"))
        r = page_metrics(sv);
    else
        r = respond_text(404, "404 not found\n");
    sodium_memzero(&s, sizeof s);
    return r;
}

void el__console_wake(serve *sv)
{
    if (!sv->con)
        return;
    pthread_mutex_lock(&sv->con->cmu);
    pthread_cond_broadcast(&sv->con->cv);
    pthread_mutex_unlock(&sv->con->cmu);
}
