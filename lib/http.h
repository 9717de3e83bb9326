/*
 * http.h - the one HTTP client of libelastos (http.c), internal: every transfer of fetch.c,
 * publish.c and the ai provider goes through el__http_perform.
 *
 * libcurl is not linked: it is dlopen'ed on the first transfer, so a process that never speaks
 * HTTP (run, verify, serve...) never loads it or the ~30 libraries it pulls in. A host without
 * libcurl gets EL_ERR_CONFIG (78) from the first transfer, naming the library to install.
 *
 * Every transfer has three deadlines, each enforced twice (by libcurl's own options and by the
 * progress callback, which libcurl calls at least once a second even when nothing moves):
 *   connect  - the TCP/TLS connection must be up within connect_ms;
 *   stall    - fewer than min_rate bytes/s (sent + received) over any stall_ms window: stalled;
 *   total    - the whole transfer, connection included, ends within total_ms.
 * Redirects are never followed (a credential or a CID check must not move to another host);
 * only http and https URLs are accepted. The library's copies of the request headers are wiped
 * before they are freed (they may hold a credential).
 */
#ifndef ELASTOS_HTTP_H
#define ELASTOS_HTTP_H

#include "elastos/elastos.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a transfer ended (el__http_result.outcome). */
typedef enum el__http_outcome {
    EL_HTTP_DONE,        /* the response arrived complete (any status unless fail_on_status) */
    EL_HTTP_STATUS,      /* fail_on_status and the server answered >= 400 (result.status) */
    EL_HTTP_UNREACHABLE, /* no connection (refused, DNS, connect timeout) */
    EL_HTTP_STALLED,     /* below min_rate for stall_ms */
    EL_HTTP_TIMEOUT,     /* total_ms elapsed */
    EL_HTTP_ABORTED,     /* on_data returned less than it was given */
    EL_HTTP_FAILED,      /* anything else (connection reset, protocol error, bad URL) */
    EL_HTTP_NO_LIBCURL,  /* libcurl could not be loaded */
} el__http_outcome;

/* Receives n bytes of the response body; status is the response's HTTP status. Returns n to go
 * on; anything else aborts the transfer (EL_HTTP_ABORTED). */
typedef size_t (*el__http_data_fn)(void *ud, const char *p, size_t n, long status);

/* Progress, at most a few times a second: body bytes received so far, and the body's declared
 * length (0 while unknown). */
typedef void (*el__http_progress_fn)(void *ud, uint64_t received, uint64_t total);

typedef struct el__http_request {
    const char *url;               /* http:// or https:// */
    const char *const *headers;    /* "Name: value" lines */
    size_t n_headers;
    bool post;                     /* POST body[0..body_len) (may be empty) instead of GET */
    const void *body;
    size_t body_len;
    const char *upload_path;       /* POST multipart/form-data: one part "file", streamed from this file */
    const char *upload_type;       /* its Content-Type (default application/octet-stream) */
    bool fail_on_status;           /* >= 400 ends the transfer as EL_HTTP_STATUS, body not delivered */
    el__http_data_fn on_data;      /* required */
    void *ud;
    el__http_progress_fn on_progress; /* optional; same ud */
    long connect_ms;               /* <= 0: 10 s */
    long stall_ms;                 /* <= 0: no stall deadline */
    long min_rate;                 /* bytes/s below which a stall_ms window is a stall (<= 0: 1) */
    long total_ms;                 /* <= 0: no total deadline */
    size_t buffer_size;            /* receive buffer (0: libcurl's default, 16 KiB) */
    const char *method;            /* GET (default), HEAD, POST, PUT, PATCH, DELETE; a body with post */
    const char *pin;               /* "HOST:PORT:ADDRESS": connect there, resolve nothing, no proxy
                                      (egress: the address the caller checked); "": the URL's host is
                                      an address literal (nothing to resolve), no proxy */
} el__http_request;

typedef struct el__http_result {
    el__http_outcome outcome;
    long status;        /* HTTP status of the response (0 when none came) */
    char reason[256];   /* why it ended, for messages: "HTTP 404", "stalled: ...", libcurl's text
                         * (which may name the host and port) */
    const char *generic; /* the same without any host, port or URL (static text) */
    char redirect[2048];  /* a 3xx response's Location, absolute ("" when none): never followed here */
} el__http_result;

/* A URL as libcurl reads it (so a caller checks exactly what libcurl will connect to). */
typedef struct el__http_url {
    char scheme[16], host[256], port[8], path[1024], query[1024];
} el__http_url;

/* Parses url with libcurl's own parser (loading libcurl): scheme, host (IPv6 in brackets),
 * port (the scheme's default when absent), path, query. EL_ERR_FORMAT for what libcurl refuses,
 * user information, a fragment, or a part too long for the fields. */
el_status el__http_url_parse(const char *url, el__http_url *out, el_error *err);

/* Performs one transfer. Returns EL_OK when outcome is EL_HTTP_DONE; otherwise the outcome and
 * reason are in *res and the status returned is EL_ERR_CONFIG (no libcurl; err says which
 * library to install), EL_ERR_USAGE (bad request) or EL_ERR_NOTFOUND (every other outcome; the
 * caller decides what it means). err gets res->reason. Thread-safe. */
el_status el__http_perform(const el__http_request *req, el__http_result *res, el_error *err);

/* Loads libcurl now, if not yet (EL_ERR_CONFIG when it cannot be); for a caller that wants the
 * error before it starts work. */
el_status el__http_load(el_error *err);

/* Bytes received by this process's transfers so far (all of them: fetch, egress, publish, ai),
 * for `elastos serve`'s /metrics. */
uint64_t el__http_received(void);

#endif
