/*
 * http.c - the one libcurl wrapper of libelastos (interface and deadlines: http.h).
 *
 * Why dlopen: linking libcurl makes every process load it and its whole tree (TLS, LDAP, SASL,
 * Kerberos, SSH, IDN, brotli, ... ~30 libraries, most of the start-up time of `elastos
 * --version`), although only fetch, publish and egress speak HTTP. So the binary links
 * only libcurl's headers; the first transfer dlopen's libcurl.so.4 (the soname of every Debian
 * flavour of libcurl 7.x/8.x; libcurl-gnutls.so.4 as a second choice) and resolves the few
 * functions used here into a table that is written once, under pthread_once, and read-only
 * after. Nothing else in the library may call curl_*: a new HTTP user adds what it needs here.
 *
 * The deadlines are checked in the progress callback as well as by libcurl's own options, so a
 * transfer ends with a reason we can name ("stalled: 6 bytes in 2 s", "no end after 30 s")
 * whichever check fires first.
 */
#include "http.h"
#include "internal.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- libcurl, loaded on first use ---- */

typedef struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    curl_mime *(*mime_init)(CURL *h);
    curl_mimepart *(*mime_addpart)(curl_mime *m);
    CURLcode (*mime_name)(curl_mimepart *p, const char *name);
    CURLcode (*mime_filedata)(curl_mimepart *p, const char *path);
    CURLcode (*mime_filename)(curl_mimepart *p, const char *name);
    CURLcode (*mime_type)(curl_mimepart *p, const char *type);
    void (*mime_free)(curl_mime *m);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
    void (*url_cleanup)(CURLU *u);
    void (*free)(void *p);
} curl_api;

#define SYM(field, name) {name, offsetof(curl_api, field)}
static const struct {
    const char *name;
    size_t off;
} curl_syms[] = {
    SYM(global_init, "curl_global_init"),       SYM(easy_init, "curl_easy_init"),
    SYM(easy_setopt, "curl_easy_setopt"),       SYM(easy_perform, "curl_easy_perform"),
    SYM(easy_getinfo, "curl_easy_getinfo"),     SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_strerror, "curl_easy_strerror"),   SYM(slist_append, "curl_slist_append"),
    SYM(slist_free_all, "curl_slist_free_all"), SYM(mime_init, "curl_mime_init"),
    SYM(mime_addpart, "curl_mime_addpart"),     SYM(mime_name, "curl_mime_name"),
    SYM(mime_filedata, "curl_mime_filedata"),   SYM(mime_filename, "curl_mime_filename"),
    SYM(mime_type, "curl_mime_type"),           SYM(mime_free, "curl_mime_free"),
    SYM(url, "curl_url"),                       SYM(url_set, "curl_url_set"),
    SYM(url_get, "curl_url_get"),               SYM(url_cleanup, "curl_url_cleanup"),
    SYM(free, "curl_free"),
};
#undef SYM

static const char *const curl_sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static curl_api loaded;          /* filled once by load_curl */
static const curl_api *C;        /* &loaded when complete, else NULL */
static char load_error[300];     /* why it could not be loaded */

static void load_curl(void)
{
    void *lib = NULL;
    const char *soname = NULL;
    for (size_t i = 0; !lib && i < sizeof curl_sonames / sizeof *curl_sonames; i++)
        lib = dlopen(soname = curl_sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "%s", why ? why : "not found");
        return;
    }
    for (size_t i = 0; i < sizeof curl_syms / sizeof *curl_syms; i++) {
        void *sym = dlsym(lib, curl_syms[i].name);
        if (!sym) {
            snprintf(load_error, sizeof load_error, "%s has no %s (not libcurl 7.85 or newer)", soname,
                     curl_syms[i].name);
            return; /* the handle stays open: harmless, and the table stays unpublished */
        }
        memcpy((char *)&loaded + curl_syms[i].off, &sym, sizeof sym); /* POSIX: object and function pointers agree */
    }
    if (loaded.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed");
        return;
    }
    C = &loaded;
}

el_status el__http_load(el_error *err)
{
    pthread_once(&load_once, load_curl);
    if (C)
        return EL_OK;
    return el_error_set(err, EL_ERR_CONFIG,
                        "HTTP needs libcurl, which cannot be loaded (%s); install it (Debian: apt-get install libcurl4)",
                        load_error);
}

/* ---- one transfer ---- */

typedef struct xfer {
    const el__http_request *r;
    CURL *h;
    long status;             /* cached at the first body byte */
    bool have_status;
    double start, win_start; /* monotonic seconds */
    curl_off_t win_bytes;    /* bytes moved (both directions) when the window began */
    el__http_outcome why;    /* set by the progress callback when it ends the transfer */
    char reason[200];
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes received by every transfer of this process (fetch, publish, egress): /metrics. */
static _Atomic uint64_t g_received;

uint64_t el__http_received(void) { return g_received; }

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    g_received += size * nmemb;
    if (!x->have_status) {
        x->have_status = true;
        C->easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    }
    return x->r->on_data(x->r->ud, p, size * nmemb, x->status);
}

/* The stall and total deadlines, then the caller's progress. Non-zero ends the transfer. */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ultotal;
    xfer *x = ud;
    const el__http_request *r = x->r;
    double t = now_s();
    if (r->total_ms > 0 && (t - x->start) * 1000.0 >= (double)r->total_ms) {
        x->why = EL_HTTP_TIMEOUT;
        snprintf(x->reason, sizeof x->reason, "no end after %.0f s (the transfer's deadline)", (double)r->total_ms / 1e3);
        return 1;
    }
    curl_off_t moved = dlnow + ulnow;
    if (r->stall_ms > 0 && (t - x->win_start) * 1000.0 >= (double)r->stall_ms) {
        double secs = t - x->win_start, rate = r->min_rate > 0 ? (double)r->min_rate : 1.0;
        if ((double)(moved - x->win_bytes) < rate * secs) {
            x->why = EL_HTTP_STALLED;
            snprintf(x->reason, sizeof x->reason, "stalled: %lld bytes in %.0f s (less than %.0f bytes/s)",
                     (long long)(moved - x->win_bytes), secs, rate);
            return 1;
        }
        x->win_start = t;
        x->win_bytes = moved;
    }
    if (r->on_progress)
        r->on_progress(r->ud, (uint64_t)dlnow, dltotal > 0 ? (uint64_t)dltotal : 0);
    return 0;
}

/* Sets the options of r on h; false when a header or the upload cannot be set up. */
static bool setup(CURL *h, const el__http_request *r, xfer *x, struct curl_slist **hl, struct curl_slist **pin,
                  curl_mime **mime, char *ebuf)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        struct curl_slist *n = C->slist_append(*hl, r->headers[i]);
        if (!n)
            return false;
        *hl = n;
    }
    C->easy_setopt(h, CURLOPT_URL, r->url);
    C->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->pin) { /* the one address the caller checked: libcurl resolves nothing itself */
        if (r->pin[0] && !(*pin = C->slist_append(NULL, r->pin)))
            return false;
        if (*pin)
            C->easy_setopt(h, CURLOPT_RESOLVE, *pin);
        C->easy_setopt(h, CURLOPT_PROXY, ""); /* nor goes through a proxy from the environment */
    }
    if (r->method && !strcmp(r->method, "HEAD"))
        C->easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (r->method && strcmp(r->method, "GET") && strcmp(r->method, "POST"))
        C->easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    C->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    C->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    C->easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    C->easy_setopt(h, CURLOPT_USERAGENT, "elastos/" EL_VERSION);
    if (*hl)
        C->easy_setopt(h, CURLOPT_HTTPHEADER, *hl);
    if (r->fail_on_status)
        C->easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    C->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    C->easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (r->buffer_size)
        C->easy_setopt(h, CURLOPT_BUFFERSIZE, (long)r->buffer_size);
    C->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms > 0 ? r->connect_ms : 10000L);
    if (r->total_ms > 0)
        C->easy_setopt(h, CURLOPT_TIMEOUT_MS, r->total_ms);
    if (r->stall_ms > 0) {
        C->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, r->min_rate > 0 ? r->min_rate : 1L);
        C->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_ms >= 1000 ? r->stall_ms / 1000 : 1L);
    }
    C->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    C->easy_setopt(h, CURLOPT_XFERINFODATA, x);
    C->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (r->upload_path) {
        const char *base = strrchr(r->upload_path, '/');
        curl_mimepart *part = (*mime = C->mime_init(h)) ? C->mime_addpart(*mime) : NULL;
        if (!part || C->mime_name(part, "file") != CURLE_OK || C->mime_filedata(part, r->upload_path) != CURLE_OK ||
            C->mime_filename(part, base ? base + 1 : r->upload_path) != CURLE_OK ||
            C->mime_type(part, r->upload_type ? r->upload_type : "application/octet-stream") != CURLE_OK)
            return false;
        C->easy_setopt(h, CURLOPT_MIMEPOST, *mime);
    } else if (r->post) {
        C->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        C->easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
    }
    return true;
}

/* Sorts libcurl's result into an outcome and a reason. */
static el__http_outcome classify(CURLcode rc, xfer *x, const char *ebuf, char *reason, size_t cap,
                                 const char **generic)
{
    const el__http_request *r = x->r;
    *generic = rc == CURLE_ABORTED_BY_CALLBACK && x->why == EL_HTTP_STALLED ? "the transfer stalled"
               : rc == CURLE_ABORTED_BY_CALLBACK && x->why == EL_HTTP_TIMEOUT ? "the transfer's deadline passed"
                                                                             : C->easy_strerror(rc);
    if (rc == CURLE_OK) {
        snprintf(reason, cap, "HTTP %ld", x->status);
        return EL_HTTP_DONE;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->why != EL_HTTP_DONE) {
        snprintf(reason, cap, "%s", x->reason);
        return x->why;
    }
    const char *text = ebuf[0] ? ebuf : C->easy_strerror(rc);
    curl_off_t connected = 0;
    C->easy_getinfo(x->h, CURLINFO_CONNECT_TIME_T, &connected);
    switch (rc) {
    case CURLE_HTTP_RETURNED_ERROR:
        snprintf(reason, cap, "HTTP %ld", x->status);
        return EL_HTTP_STATUS;
    case CURLE_WRITE_ERROR:
        snprintf(reason, cap, "the response was refused while being received");
        return EL_HTTP_ABORTED;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(reason, cap, "%s", text);
        return EL_HTTP_UNREACHABLE;
    case CURLE_OPERATION_TIMEDOUT:
        if (!connected) {
            snprintf(reason, cap, "%s", text);
            return EL_HTTP_UNREACHABLE;
        }
        if (r->total_ms > 0 && (now_s() - x->start) * 1000.0 >= (double)r->total_ms - 1.0) {
            snprintf(reason, cap, "no end after %.0f s (the transfer's deadline)", (double)r->total_ms / 1e3);
            return EL_HTTP_TIMEOUT;
        }
        snprintf(reason, cap, "stalled: less than %ld bytes/s for %ld s", r->min_rate > 0 ? r->min_rate : 1L,
                 r->stall_ms >= 1000 ? r->stall_ms / 1000 : 1L);
        return EL_HTTP_STALLED;
    default:
        snprintf(reason, cap, "%s", text);
        return EL_HTTP_FAILED;
    }
}

el_status el__http_perform(const el__http_request *r, el__http_result *res, el_error *err)
{
    memset(res, 0, sizeof *res);
    res->generic = "";
    if (!r || !r->url || !r->on_data)
        return el_error_set(err, EL_ERR_USAGE, "el__http_perform: NULL argument");
    el_status s = el__http_load(err);
    if (s != EL_OK) {
        res->outcome = EL_HTTP_NO_LIBCURL;
        res->generic = "libcurl cannot be loaded";
        snprintf(res->reason, sizeof res->reason, "%s", err ? err->msg : "libcurl cannot be loaded");
        return s;
    }
    CURL *h = C->easy_init();
    if (!h)
        return el_error_set(err, EL_ERR_INTERNAL, "libcurl initialisation failed");
    xfer x = {.r = r, .h = h};
    x.start = x.win_start = now_s();
    struct curl_slist *hl = NULL, *pin = NULL;
    curl_mime *mime = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    if (!setup(h, r, &x, &hl, &pin, &mime, ebuf)) {
        s = r->upload_path ? el_error_set(err, EL_ERR_IO, "cannot read %s for the upload", r->upload_path)
                           : el_error_set(err, EL_ERR_INTERNAL, "out of memory setting up an HTTP request");
    } else {
        CURLcode rc = C->easy_perform(h);
        if (!x.have_status)
            C->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x.status);
        res->status = x.status;
        char *loc = NULL;
        if (x.status >= 300 && x.status < 400 && C->easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
            snprintf(res->redirect, sizeof res->redirect, "%s", loc);
        res->outcome = classify(rc, &x, ebuf, res->reason, sizeof res->reason, &res->generic);
        s = res->outcome == EL_HTTP_DONE ? EL_OK : el_error_set(err, EL_ERR_NOTFOUND, "%s", res->reason);
    }
    C->easy_cleanup(h);
    if (mime)
        C->mime_free(mime);
    for (struct curl_slist *l = hl; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    C->slist_free_all(hl);
    C->slist_free_all(pin);
    return s;
}

/* One part of u into out (cap bytes); "" when absent. false when it does not fit. */
static bool url_part(CURLU *u, CURLUPart what, unsigned flags, char *out, size_t cap)
{
    char *p = NULL;
    out[0] = 0;
    if (C->url_get(u, what, &p, flags) != CURLUE_OK || !p)
        return true;
    bool fits = strlen(p) < cap;
    if (fits)
        memcpy(out, p, strlen(p) + 1);
    C->free(p);
    return fits;
}

el_status el__http_url_parse(const char *url, el__http_url *out, el_error *err)
{
    memset(out, 0, sizeof *out);
    el_status s = el__http_load(err);
    if (s != EL_OK)
        return s;
    CURLU *u = C->url();
    if (!u)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    char user[8], pass[8], frag[8];
    s = EL_OK;
    if (C->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        s = el_error_set(err, EL_ERR_FORMAT, "not a URL libcurl accepts");
    else if (!url_part(u, CURLUPART_SCHEME, 0, out->scheme, sizeof out->scheme) ||
             !url_part(u, CURLUPART_HOST, 0, out->host, sizeof out->host) ||
             !url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, out->port, sizeof out->port) ||
             !url_part(u, CURLUPART_PATH, 0, out->path, sizeof out->path) ||
             !url_part(u, CURLUPART_QUERY, 0, out->query, sizeof out->query))
        s = el_error_set(err, EL_ERR_FORMAT, "URL too long");
    else if (!url_part(u, CURLUPART_USER, 0, user, sizeof user) || user[0] ||
             !url_part(u, CURLUPART_PASSWORD, 0, pass, sizeof pass) || pass[0])
        s = el_error_set(err, EL_ERR_FORMAT, "a URL with user information is not allowed");
    else if (!url_part(u, CURLUPART_FRAGMENT, 0, frag, sizeof frag) || frag[0])
        s = el_error_set(err, EL_ERR_FORMAT, "a URL with a fragment is not allowed");
    C->url_cleanup(u);
    return s;
}
