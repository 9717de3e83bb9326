/*
 * runtime_client.c - RuntimeClient, the guest SDK's channel to the runtime (see elastos/guest.h
 * and docs/protocol.md): builds request envelopes {"id":N,"request":{...}} with the internal
 * JSON writer, moves them over the transport, and decodes and checks the response envelope
 * (id, type, every field) with the strict JSON reader, turning anything unexpected into an
 * error return.
 *
 * Transports:
 *  - wasm32 (__wasm__): the host import elastos.call(req_ptr, req_len, resp_ptr, resp_cap);
 *    a response longer than the buffer is fetched with call(0, 0, buf, n).
 *  - native: the inherited descriptor named by ELASTOS_RUNTIME_FD, one JSON message per line.
 * Request numbering belongs to the process (one channel, shared by every RuntimeClient), as the
 * runtime counts per capsule.
 */
#if !defined(__wasm__) && !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "../include/elastos/guest.h" /* relative: also builds when #included by tests */

#include "base64.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef __wasm__
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#endif

#if defined(__wasm__)
__attribute__((import_module("elastos"), import_name("call"))) int32_t
elastos_call_import(const void *req, int32_t req_len, void *resp, int32_t resp_cap);
#define EG_HAVE_CALL_IMPORT 1
#elif defined(ELASTOS_GUEST_FAKE_IMPORT)
/* Tests build the wasm transport natively against their own stand-in for the host import. */
int32_t elastos_call_import(const void *req, int32_t req_len, void *resp, int32_t resp_cap);
#define EG_HAVE_CALL_IMPORT 1
#endif

#define EG_MAX_MESSAGE ((size_t)1048576) /* protocol limit on one message, without '\n' */
#define EG_MAX_DEPTH 32                  /* nesting bound of a whole message */
#define EG_CALL_BUF 16384                /* the wasm transport's first response buffer */

/* ------------------------------------------------------------------------------------------
 * Channel and client
 */

typedef struct eg_channel eg_channel;

/* Moves one request and returns its response. req[0..len) is the message and req[len] is a
 * '\n' (for line transports). On success *resp points to the response (without the newline),
 * valid until the next transfer. Returns 0 or an ELASTOS_ERR_* value with a reason in err;
 * sets ch->broken when the channel cannot be used again. */
typedef int (*eg_xfer_fn)(eg_channel *ch, const char *req, size_t len, const char **resp,
                          size_t *resp_len, char *err, size_t errlen);

struct eg_channel {
    eg_xfer_fn xfer;
    uint64_t next_id; /* id of the next request: 1, 2, 3, ... */
    int broken;
    char broken_why[160];
    int fd, is_socket;       /* native line transport */
    char *buf;               /* response buffer */
    size_t cap, len, used;   /* buffered bytes [0, len), of which [0, used) were returned */
    size_t scan;             /* native: bytes of buf already searched for '\n' */
    const void *user;        /* for test transports */
    size_t user_len;
};

struct RuntimeClient {
    eg_channel *ch;
    char code[64];
    char msg[512];
};

static eg_channel g_channel;
static int g_channel_ready;

static RuntimeClient *client_new(eg_channel *ch)
{
    RuntimeClient *c = calloc(1, sizeof *c);
    if (c)
        c->ch = ch;
    return c;
}

static int set_error(RuntimeClient *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_error(RuntimeClient *c, int status, const char *code, const char *fmt, ...)
{
    snprintf(c->code, sizeof c->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return status;
}

static void clear_error(RuntimeClient *c)
{
    c->code[0] = c->msg[0] = '\0';
}

/* A printable, bounded rendering of untrusted text for error messages. */
static const char *clip(const char *s, size_t n, char out[48])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[k++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
    }
    if (k == 40 && n > 40) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k] = '\0';
    return out;
}

/* Copies up to cap - 1 bytes of s, cutting only at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static char *eg_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void elastos_client_close(RuntimeClient *c)
{
    free(c);
}

const char *elastos_client_error(RuntimeClient *c)
{
    return c ? c->msg : "no RuntimeClient (elastos_client_open returned NULL)";
}

const char *elastos_client_error_code(RuntimeClient *c)
{
    return c ? c->code : "";
}

/* ------------------------------------------------------------------------------------------
 * Transports
 */

#ifdef EG_HAVE_CALL_IMPORT
static int call_xfer(eg_channel *ch, const char *req, size_t len, const char **resp,
                     size_t *resp_len, char *err, size_t errlen)
{
    if (len > EG_MAX_MESSAGE) {
        snprintf(err, errlen, "request too large");
        return ELASTOS_ERR_INVALID;
    }
    int32_t n = elastos_call_import(req, (int32_t)len, ch->buf, (int32_t)ch->cap);
    if (n < 0) {
        snprintf(err, errlen, "elastos.call failed (%ld)", (long)n);
        ch->broken = 1;
        return ELASTOS_ERR_TRANSPORT;
    }
    size_t un = (size_t)(uint32_t)n;
    if (un > ch->cap) {
        /* The runtime kept the response: fetch it into a buffer of the right size. */
        if (un > EG_MAX_MESSAGE) {
            snprintf(err, errlen, "response of %zu bytes exceeds the 1 MiB message limit", un);
            return ELASTOS_ERR_PROTOCOL;
        }
        char *nb = malloc(un);
        if (!nb) {
            snprintf(err, errlen, "out of memory for a %zu-byte response", un);
            return ELASTOS_ERR_NOMEM;
        }
        int32_t m = elastos_call_import(NULL, 0, nb, n);
        if (m != n) {
            free(nb);
            snprintf(err, errlen, "fetching the kept %zu-byte response returned %ld", un,
                     (long)m);
            return ELASTOS_ERR_PROTOCOL;
        }
        free(ch->buf);
        ch->buf = nb;
        ch->cap = un;
    }
    *resp = ch->buf;
    *resp_len = un;
    return 0;
}

static int channel_init_call(eg_channel *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->buf = malloc(EG_CALL_BUF);
    if (!ch->buf)
        return -1;
    ch->cap = EG_CALL_BUF;
    ch->xfer = call_xfer;
    ch->next_id = 1;
    ch->fd = -1;
    return 0;
}
#endif

#ifndef __wasm__
static int wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    int r;
    do
        r = poll(&p, 1, -1);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

static int fd_write_all(eg_channel *ch, const char *p, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t k = ch->is_socket ? send(ch->fd, p, n, MSG_NOSIGNAL) : write(ch->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOTSOCK && ch->is_socket) {
                ch->is_socket = 0;
                continue;
            }
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(ch->fd, POLLOUT) == 0)
                continue;
            snprintf(err, errlen, "writing to the runtime channel: %s", strerror(errno));
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int fd_xfer(eg_channel *ch, const char *req, size_t len, const char **resp,
                   size_t *resp_len, char *err, size_t errlen)
{
    /* Drop the line returned last time; anything after it stays (and will be read as the next
     * response, which then shows up as an id mismatch). */
    if (ch->used) {
        memmove(ch->buf, ch->buf + ch->used, ch->len - ch->used);
        ch->len -= ch->used;
        ch->used = 0;
        ch->scan = 0;
    }
    if (fd_write_all(ch, req, len + 1, err, errlen)) {
        ch->broken = 1;
        return ELASTOS_ERR_TRANSPORT;
    }
    for (;;) {
        char *nl = ch->scan < ch->len ? memchr(ch->buf + ch->scan, '\n', ch->len - ch->scan)
                                      : NULL;
        if (nl) {
            size_t line = (size_t)(nl - ch->buf);
            ch->used = line + 1;
            ch->scan = 0;
            *resp = ch->buf;
            *resp_len = line;
            return 0;
        }
        ch->scan = ch->len;
        if (ch->len >= EG_MAX_MESSAGE + 1) {
            snprintf(err, errlen, "response line longer than the 1 MiB message limit");
            ch->broken = 1;
            return ELASTOS_ERR_PROTOCOL;
        }
        if (ch->len == ch->cap) {
            size_t cap = ch->cap * 2;
            if (cap > EG_MAX_MESSAGE + 1)
                cap = EG_MAX_MESSAGE + 1;
            char *nb = realloc(ch->buf, cap);
            if (!nb) {
                snprintf(err, errlen, "out of memory reading the response");
                ch->broken = 1;
                return ELASTOS_ERR_NOMEM;
            }
            ch->buf = nb;
            ch->cap = cap;
        }
        ssize_t k = read(ch->fd, ch->buf + ch->len, ch->cap - ch->len);
        if (k > 0) {
            ch->len += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(ch->fd, POLLIN) == 0)
            continue;
        if (k == 0)
            snprintf(err, errlen, "the runtime closed the channel%s",
                     ch->len ? " in the middle of a response" : "");
        else
            snprintf(err, errlen, "reading from the runtime channel: %s", strerror(errno));
        ch->broken = 1;
        return ELASTOS_ERR_TRANSPORT;
    }
}

/* A line channel on descriptor fd (not owned: never closed by the SDK). */
static int channel_init_fd(eg_channel *ch, int fd)
{
    memset(ch, 0, sizeof *ch);
    ch->cap = 4096;
    ch->buf = malloc(ch->cap);
    if (!ch->buf)
        return -1;
    ch->xfer = fd_xfer;
    ch->next_id = 1;
    ch->fd = fd;
    ch->is_socket = 1; /* send(MSG_NOSIGNAL) until the descriptor says ENOTSOCK */
    return 0;
}

/* The descriptor number in ELASTOS_RUNTIME_FD, or -1. */
static int runtime_fd_from_env(void)
{
    const char *s = getenv("ELASTOS_RUNTIME_FD");
    if (!s || !*s || strlen(s) > 10)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if ((s[0] == '0' && s[1]) || v > INT_MAX || fcntl((int)v, F_GETFD) == -1)
        return -1;
    return (int)v;
}
#endif

RuntimeClient *elastos_client_open(void)
{
    if (!g_channel_ready) {
#ifdef __wasm__
        if (channel_init_call(&g_channel))
            return NULL;
#else
        int fd = runtime_fd_from_env();
        if (fd < 0 || channel_init_fd(&g_channel, fd))
            return NULL;
#endif
        g_channel_ready = 1;
    }
    return client_new(&g_channel);
}

/* ------------------------------------------------------------------------------------------
 * Envelopes
 */

typedef struct eg_resp {
    eg_json_doc doc;
    const eg_json_node *obj; /* the inner response object */
} eg_resp;

static void resp_free(eg_resp *r)
{
    eg_json_free(&r->doc);
    r->obj = NULL;
}

/* Starts {"id":N,"request":{"type":TYPE for the channel's next id; 0, or ELASTOS_ERR_INVALID
 * when c is NULL. */
static int req_begin(RuntimeClient *c, eg_jw *w, const char *type)
{
    eg_jw_init(w, EG_MAX_MESSAGE + 1);
    if (!c)
        return ELASTOS_ERR_INVALID;
    clear_error(c);
    eg_jw_obj_begin(w);
    eg_jw_key(w, "id");
    eg_jw_u64(w, c->ch->next_id);
    eg_jw_key(w, "request");
    if (type) {
        eg_jw_obj_begin(w);
        eg_jw_key(w, "type");
        eg_jw_str(w, type);
    }
    return 0;
}

static int bad_arg(RuntimeClient *c, eg_jw *w, const char *what)
{
    eg_jw_free(w);
    if (!c)
        return ELASTOS_ERR_INVALID;
    return set_error(c, ELASTOS_ERR_INVALID, NULL, "invalid argument: %s", what);
}

static int bad_response(RuntimeClient *c, eg_resp *r, const char *fmt, const char *field)
    __attribute__((format(printf, 3, 0)));

static int bad_response(RuntimeClient *c, eg_resp *r, const char *fmt, const char *field)
{
    char m[200];
    (void)r; /* the caller releases the response */
    snprintf(m, sizeof m, fmt, field);
    return set_error(c, ELASTOS_ERR_PROTOCOL, NULL, "malformed response: %s", m);
}

/* Decodes a response envelope for request id `id`, expecting response type `expect` (NULL:
 * any type but error). On success r holds the document and the inner response object; on
 * failure r is empty (resp_free on it is a no-op). */
static int decode_envelope(RuntimeClient *c, const char *s, size_t n, uint64_t id,
                           const char *expect, eg_resp *r)
{
    char cl[48];
    int st;
    memset(r, 0, sizeof *r);
    if (n > EG_MAX_MESSAGE)
        return set_error(c, ELASTOS_ERR_PROTOCOL, NULL,
                         "malformed response: longer than the 1 MiB message limit");
    const char *why = NULL;
    size_t where = 0;
    if (eg_json_parse(s, n, EG_MAX_DEPTH, &r->doc, &why, &where))
        return set_error(c, ELASTOS_ERR_PROTOCOL, NULL, "malformed response: %s at byte %zu",
                         why, where);
    const eg_json_doc *d = &r->doc;
    const eg_json_node *root = eg_json_root(d);
    uint64_t rid;
    if (root->kind != EG_JSON_OBJECT) {
        st = bad_response(c, r, "%s", "not a JSON object");
        goto fail;
    }
    if (eg_json_u64(d, eg_json_get(d, root, "id"), &rid)) {
        st = bad_response(c, r, "%s", "no valid \"id\"");
        goto fail;
    }
    const eg_json_node *obj = eg_json_get(d, root, "response");
    if (!obj || obj->kind != EG_JSON_OBJECT) {
        st = bad_response(c, r, "%s", "no \"response\" object");
        goto fail;
    }
    size_t tlen = 0;
    const eg_json_node *tv = eg_json_get(d, obj, "type");
    const char *type = tv && tv->kind == EG_JSON_STRING ? eg_json_text(d, tv, &tlen) : NULL;
    if (!type) {
        st = bad_response(c, r, "%s", "no \"type\" string");
        goto fail;
    }
    int is_error = strlen(type) == tlen && strcmp(type, "error") == 0;
    const char *code = NULL, *msg = NULL;
    size_t code_len = 0, msg_len = 0;
    if (is_error) {
        const eg_json_node *cv = eg_json_get(d, obj, "code");
        const eg_json_node *mv = eg_json_get(d, obj, "message");
        code = cv && cv->kind == EG_JSON_STRING ? eg_json_text(d, cv, &code_len) : NULL;
        msg = mv && mv->kind == EG_JSON_STRING ? eg_json_text(d, mv, &msg_len) : NULL;
        if (!code || !msg || !code_len || strlen(code) != code_len) {
            st = bad_response(c, r, "%s", "an error without string \"code\" and \"message\"");
            goto fail;
        }
    }
    if (rid != id) {
        if (rid == 0) {
            /* The runtime could not read the envelope and did not count this request. */
            c->ch->next_id = id;
            if (is_error)
                goto runtime_error;
        } else {
            c->ch->broken = 1;
            snprintf(c->ch->broken_why, sizeof c->ch->broken_why,
                     "a response carried id %llu for request %llu", (unsigned long long)rid,
                     (unsigned long long)id);
        }
        st = set_error(c, ELASTOS_ERR_PROTOCOL, NULL,
                       "malformed response: id %llu does not match request id %llu",
                       (unsigned long long)rid, (unsigned long long)id);
        goto fail;
    }
    if (is_error)
        goto runtime_error;
    if (expect && (strlen(type) != tlen || strcmp(type, expect) != 0)) {
        st = set_error(c, ELASTOS_ERR_PROTOCOL, NULL,
                       "malformed response: type \"%s\" where \"%s\" was expected",
                       clip(type, tlen, cl), expect);
        goto fail;
    }
    r->obj = obj;
    return 0;
runtime_error:
    copy_utf8(c->msg, sizeof c->msg, msg, msg_len);
    copy_utf8(c->code, sizeof c->code, code, code_len);
    st = ELASTOS_ERR_RUNTIME;
fail:
    resp_free(r);
    return st;
}

/* Releases the response (if any) and passes st on: every request function ends here. */
static int finish(eg_resp *r, int st)
{
    resp_free(r);
    return st;
}

/* Finishes the request in w (closing `closers` objects) and sends it: on success *resp is the
 * raw response (valid until the next transfer) to request *id. Always releases w. */
static int send_request(RuntimeClient *c, eg_jw *w, int closers, uint64_t *id_out, const char **resp_out,
                        size_t *resp_len_out)
{
    for (int i = 0; i < closers; i++)
        eg_jw_obj_end(w);
    int err = w->err;
    size_t len = w->len;
    if (!err && len > EG_MAX_MESSAGE)
        err = EG_JW_LIMIT;
    if (!err)
        eg_jw_raw(w, "\n", 1); /* fits: the writer's limit is EG_MAX_MESSAGE + 1 */
    if (!err)
        err = w->err;
    if (err) {
        eg_jw_free(w);
        switch (err) {
        case EG_JW_NOMEM: return set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory");
        case EG_JW_UTF8:
            return set_error(c, ELASTOS_ERR_INVALID, NULL,
                             "invalid argument: a string is not valid UTF-8");
        case EG_JW_LIMIT:
            return set_error(c, ELASTOS_ERR_INVALID, NULL,
                             "invalid argument: the request exceeds the 1 MiB message limit");
        default:
            return set_error(c, ELASTOS_ERR_INVALID, NULL, "invalid argument: nesting too deep");
        }
    }
    eg_channel *ch = c->ch;
    if (ch->broken) {
        eg_jw_free(w);
        return set_error(c, ELASTOS_ERR_TRANSPORT, NULL,
                         "the runtime channel is unusable after an earlier failure%s%s",
                         ch->broken_why[0] ? ": " : "", ch->broken_why);
    }
    uint64_t id = ch->next_id;
    const char *resp = NULL;
    size_t resp_len = 0;
    char why[160] = "";
    int st = ch->xfer(ch, w->buf, len, &resp, &resp_len, why, sizeof why);
    eg_jw_free(w);
    ch->next_id = id + 1; /* the runtime has seen the request (or the channel is gone) */
    if (st) {
        if (ch->broken && !ch->broken_why[0])
            snprintf(ch->broken_why, sizeof ch->broken_why, "%s", why);
        return set_error(c, st, NULL, "%s", why);
    }
    *id_out = id;
    *resp_out = resp;
    *resp_len_out = resp_len;
    return 0;
}

/* Finishes the request in w (closing `closers` objects), sends it, and decodes the response.
 * Always releases w. */
static int exchange_n(RuntimeClient *c, eg_jw *w, int closers, const char *expect, eg_resp *r)
{
    uint64_t id;
    const char *resp;
    size_t resp_len;
    memset(r, 0, sizeof *r);
    int st = send_request(c, w, closers, &id, &resp, &resp_len);
    return st ? st : decode_envelope(c, resp, resp_len, id, expect, r);
}

/* Consumes the literal lit at *p; 0 when it is there. */
static int take_lit(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

/* The runtime's compact encoding of its hot answers (lib/protocol.c), recognised without a JSON
 * tree: 0 when s is exactly {"id":ID,"response":{"type":"EXPECT"}} (data NULL), or is
 * {"id":ID,"response":{"type":"EXPECT","data":"RUN"}} (data non-NULL: *data is RUN, which
 * counts only if it then decodes as strict base64). Anything else, valid or not, is -1 and goes
 * through decode_envelope, which alone judges it: what this accepts, decode_envelope reads the
 * same. */
static int plain_response(const char *s, size_t n, uint64_t id, const char *expect, const char **data,
                          size_t *data_len)
{
    char digits[20];
    size_t k = sizeof digits;
    do {
        digits[--k] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    const char *p = s, *end = s + n;
    if (n > EG_MAX_MESSAGE) /* decode_envelope's first refusal (the transports already make it) */
        return -1;
    if (take_lit(&p, end, "{\"id\":") || (size_t)(end - p) < sizeof digits - k ||
        memcmp(p, digits + k, sizeof digits - k) != 0)
        return -1;
    p += sizeof digits - k;
    if (take_lit(&p, end, ",\"response\":{\"type\":\"") || take_lit(&p, end, expect) || take_lit(&p, end, "\""))
        return -1;
    if (data) {
        if (take_lit(&p, end, ",\"data\":\""))
            return -1;
        /* The run up to the closing "}} is taken unscanned: the caller's strict base64 decode,
         * which must succeed for the answer to stand, refuses every byte but the alphabet and
         * '=' (so no '"' or '\\' either: the JSON string is exactly that run). */
        if ((size_t)(end - p) < 3 || memcmp(end - 3, "\"}}", 3) != 0)
            return -1;
        *data = p;
        *data_len = (size_t)(end - 3 - p);
        return 0;
    }
    return take_lit(&p, end, "}}") || p != end ? -1 : 0;
}

/* exchange, for answers with no field but their type ("pong", "ok"): the plain encoding is
 * taken as it is, anything else decoded in full. */
static int exchange_bare(RuntimeClient *c, eg_jw *w, const char *expect)
{
    uint64_t id;
    const char *resp;
    size_t resp_len;
    eg_resp r;
    int st = send_request(c, w, 2, &id, &resp, &resp_len);
    if (st || !plain_response(resp, resp_len, id, expect, NULL, NULL))
        return st;
    return finish(&r, decode_envelope(c, resp, resp_len, id, expect, &r));
}

static int exchange(RuntimeClient *c, eg_jw *w, const char *expect, eg_resp *r)
{
    return exchange_n(c, w, 2, expect, r);
}

/* ------------------------------------------------------------------------------------------
 * Response fields
 */

/* A member that is absent or null counts as absent (optional fields may be sent as null). */
static const eg_json_node *field(eg_resp *r, const eg_json_node *obj, const char *key)
{
    const eg_json_node *v = eg_json_get(&r->doc, obj, key);
    return v && v->kind == EG_JSON_NULL ? NULL : v;
}

/* A string field without NULs; *out borrows from r. Absent: error if required, else NULL. */
static int get_str(RuntimeClient *c, eg_resp *r, const eg_json_node *obj, const char *key,
                   int required, const char **out, size_t *len_out)
{
    *out = NULL;
    const eg_json_node *v = field(r, obj, key);
    if (!v) {
        if (required)
            return bad_response(c, r, "field \"%s\" is missing", key);
        return 0;
    }
    size_t len;
    const char *s = eg_json_text(&r->doc, v, &len);
    if (v->kind != EG_JSON_STRING)
        return bad_response(c, r, "field \"%s\" is not a string", key);
    if (strlen(s) != len)
        return bad_response(c, r, "field \"%s\" contains a NUL character", key);
    *out = s;
    if (len_out)
        *len_out = len;
    return 0;
}

/* Like get_str, giving a malloc'd copy (out may be NULL: checked, not copied). */
static int dup_str(RuntimeClient *c, eg_resp *r, const eg_json_node *obj, const char *key,
                   int required, char **out)
{
    const char *s;
    size_t len = 0;
    int st = get_str(c, r, obj, key, required, &s, &len);
    if (st || !out || !s)
        return st;
    if (!(*out = eg_strndup(s, len)))
        return set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory");
    return 0;
}

static int get_u64(RuntimeClient *c, eg_resp *r, const eg_json_node *obj, const char *key,
                   int required, uint64_t *out, int *present)
{
    *out = 0;
    if (present)
        *present = 0;
    const eg_json_node *v = field(r, obj, key);
    if (!v) {
        if (required)
            return bad_response(c, r, "field \"%s\" is missing", key);
        return 0;
    }
    if (eg_json_u64(&r->doc, v, out))
        return bad_response(c, r, "field \"%s\" is not an integer in 0..2^64-1", key);
    if (present)
        *present = 1;
    return 0;
}

/* A required base64 field, decoded into a malloc'd buffer (never NULL on success). */
static int get_bytes(RuntimeClient *c, eg_resp *r, const eg_json_node *obj, const char *key,
                     uint8_t **data, size_t *len)
{
    const char *s;
    size_t n = 0;
    const eg_json_node *v = field(r, obj, key);
    if (!v)
        return bad_response(c, r, "field \"%s\" is missing", key);
    if (v->kind != EG_JSON_STRING)
        return bad_response(c, r, "field \"%s\" is not a string", key);
    s = eg_json_text(&r->doc, v, &n);
    size_t max = eg_b64_decoded_max(n);
    uint8_t *b = malloc(max ? max : 1);
    if (!b)
        return set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory");
    if (eg_b64_decode(s, n, b, len)) {
        free(b);
        return bad_response(c, r, "field \"%s\" is not valid base64", key);
    }
    *data = b;
    return 0;
}

/* A value as compact JSON text in a malloc'd string. */
static int to_json_text(RuntimeClient *c, eg_resp *r, const eg_json_node *v, char **out)
{
    eg_jw w;
    eg_jw_init(&w, EG_MAX_MESSAGE + 1);
    eg_jw_value(&w, &r->doc, v);
    eg_jw_raw(&w, "", 1); /* the terminating NUL */
    if (w.err) {
        int nomem = w.err == EG_JW_NOMEM;
        eg_jw_free(&w);
        return nomem ? set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory")
                     : set_error(c, ELASTOS_ERR_PROTOCOL, NULL,
                                 "malformed response: a value cannot be re-encoded");
    }
    *out = w.buf;
    return 0;
}


/* ------------------------------------------------------------------------------------------
 * The raw call
 */

int elastos_client_call(RuntimeClient *c, const char *request_json, char **response_json)
{
    eg_jw w;
    eg_resp r;
    if (response_json)
        *response_json = NULL;
    if (req_begin(c, &w, NULL))
        return bad_arg(c, &w, "no client");
    if (!request_json || !response_json)
        return bad_arg(c, &w, "request_json and response_json are required");
    eg_json_doc req;
    const char *why = NULL;
    size_t where = 0;
    /* The inner object sits at depth 2 of the envelope. */
    if (eg_json_parse(request_json, strlen(request_json), EG_MAX_DEPTH - 1, &req, &why,
                      &where)) {
        eg_jw_free(&w);
        return set_error(c, ELASTOS_ERR_INVALID, NULL,
                         "invalid argument: request_json: %s at byte %zu", why, where);
    }
    const eg_json_node *root = eg_json_root(&req);
    const eg_json_node *t = eg_json_get(&req, root, "type");
    if (root->kind != EG_JSON_OBJECT || !t || t->kind != EG_JSON_STRING) {
        eg_json_free(&req);
        return bad_arg(c, &w, "request_json must be an object with a string \"type\"");
    }
    eg_jw_value(&w, &req, root);
    eg_json_free(&req);
    int st = exchange_n(c, &w, 1, NULL, &r);
    if (!st)
        st = to_json_text(c, &r, r.obj, response_json);
    return finish(&r, st);
}

/* ------------------------------------------------------------------------------------------
 * Typed requests
 */

/* A string argument that must be present. */
#define NEED(x)                                                                          \
    do {                                                                                 \
        if (!(x))                                                                        \
            return bad_arg(c, &w, #x " is required");                                    \
    } while (0)

int elastos_ping(RuntimeClient *c)
{
    eg_jw w;
    if (req_begin(c, &w, "ping"))
        return bad_arg(c, &w, "no client");
    return exchange_bare(c, &w, "pong");
}

int elastos_get_runtime_info(RuntimeClient *c, char **version, char **name, char **id)
{
    eg_jw w;
    eg_resp r;
    char *v = NULL, *n = NULL, *i = NULL;
    if (version)
        *version = NULL;
    if (name)
        *name = NULL;
    if (id)
        *id = NULL;
    if (req_begin(c, &w, "get_runtime_info"))
        return bad_arg(c, &w, "no client");
    int st = exchange(c, &w, "runtime_info", &r);
    if (!st)
        st = dup_str(c, &r, r.obj, "version", 1, version ? &v : NULL);
    if (!st)
        st = dup_str(c, &r, r.obj, "capsule_name", 1, name ? &n : NULL);
    if (!st)
        st = dup_str(c, &r, r.obj, "capsule_id", 1, id ? &i : NULL);
    if (st) {
        free(v);
        free(n);
        free(i);
        return finish(&r, st);
    }
    if (version)
        *version = v;
    if (name)
        *name = n;
    if (id)
        *id = i;
    return finish(&r, 0);
}

int elastos_get_capsule_address(RuntimeClient *c, char **address)
{
    eg_jw w;
    eg_resp r;
    *address = NULL;
    if (req_begin(c, &w, "get_runtime_info"))
        return bad_arg(c, &w, "no client");
    int st = exchange(c, &w, "runtime_info", &r);
    if (!st)
        st = dup_str(c, &r, r.obj, "capsule_address", 1, address);
    return finish(&r, st);
}

static void put_constraints(eg_jw *w, const CapabilityConstraints *k)
{
    if (!k || (!k->max_uses && !k->expiry_secs && k->delegatable < 0))
        return;
    eg_jw_key(w, "constraints");
    eg_jw_obj_begin(w);
    if (k->max_uses) {
        eg_jw_key(w, "max_uses");
        eg_jw_u64(w, k->max_uses);
    }
    if (k->expiry_secs) {
        eg_jw_key(w, "expiry_secs");
        eg_jw_u64(w, k->expiry_secs);
    }
    if (k->delegatable >= 0) {
        eg_jw_key(w, "delegatable");
        eg_jw_bool(w, k->delegatable != 0);
    }
    eg_jw_obj_end(w);
}

int elastos_request_capability_ex(RuntimeClient *c, const char *resource, const char *action,
                                  const CapabilityConstraints *constraints, char **token,
                                  char **token_id, uint64_t *expires_at)
{
    eg_jw w;
    eg_resp r;
    char *t = NULL, *ti = NULL;
    uint64_t exp = 0;
    if (token)
        *token = NULL;
    if (token_id)
        *token_id = NULL;
    if (expires_at)
        *expires_at = 0;
    if (req_begin(c, &w, "request_capability"))
        return bad_arg(c, &w, "no client");
    NEED(resource);
    NEED(action);
    NEED(token);
    if (constraints && constraints->delegatable > 1)
        return bad_arg(c, &w, "constraints->delegatable must be -1, 0 or 1");
    eg_jw_key(&w, "resource");
    eg_jw_str(&w, resource);
    eg_jw_key(&w, "action");
    eg_jw_str(&w, action);
    put_constraints(&w, constraints);
    int st = exchange(c, &w, "capability_token", &r);
    if (!st)
        st = dup_str(c, &r, r.obj, "token", 1, &t);
    if (!st)
        st = dup_str(c, &r, r.obj, "token_id", 1, token_id ? &ti : NULL);
    if (!st)
        st = get_u64(c, &r, r.obj, "expires_at", 0, &exp, NULL);
    if (st) {
        free(t);
        free(ti);
        return finish(&r, st);
    }
    *token = t;
    if (token_id)
        *token_id = ti;
    if (expires_at)
        *expires_at = exp;
    return finish(&r, 0);
}

int elastos_request_capability(RuntimeClient *c, const char *resource, const char *action,
                               const CapabilityConstraints *constraints, char **token,
                               char **token_id)
{
    return elastos_request_capability_ex(c, resource, action, constraints, token, token_id,
                                         NULL);
}

/* {"token":T,"path":P} requests answered with a base64 "data" field. */
static int read_bytes(RuntimeClient *c, const char *type, const char *token, const char *key,
                      const char *path, const char *expect, uint8_t **data, size_t *len)
{
    eg_jw w;
    eg_resp r;
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (req_begin(c, &w, type))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(path);
    NEED(data);
    NEED(len);
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, key);
    eg_jw_str(&w, path);
    uint64_t id;
    const char *resp, *b64;
    size_t resp_len, b64_len;
    memset(&r, 0, sizeof r);
    int st = send_request(c, &w, 2, &id, &resp, &resp_len);
    if (st)
        return st;
    if (!plain_response(resp, resp_len, id, expect, &b64, &b64_len)) { /* the hot path: no JSON tree */
        size_t max = eg_b64_decoded_max(b64_len);
        uint8_t *b = malloc(max ? max : 1);
        if (!b)
            return set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory");
        if (!eg_b64_decode(b64, b64_len, b, len)) {
            *data = b;
            return 0;
        }
        free(b); /* not valid base64: the full decode says so */
    }
    st = decode_envelope(c, resp, resp_len, id, expect, &r);
    if (!st)
        st = get_bytes(c, &r, r.obj, "data", data, len);
    return finish(&r, st);
}

int elastos_storage_read(RuntimeClient *c, const char *token, const char *path, uint8_t **data,
                         size_t *len)
{
    return read_bytes(c, "storage_read", token, "path", path, "storage_data", data, len);
}

int elastos_fetch_content(RuntimeClient *c, const char *token, const char *uri, uint8_t **data,
                          size_t *len)
{
    return read_bytes(c, "fetch_content", token, "uri", uri, "content", data, len);
}

int elastos_storage_write(RuntimeClient *c, const char *token, const char *path,
                          const void *data, size_t len)
{
    eg_jw w;
    if (req_begin(c, &w, "storage_write"))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(path);
    NEED(data || !len);
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, "path");
    eg_jw_str(&w, path);
    eg_jw_key(&w, "content");
    eg_jw_base64(&w, data, len);
    return exchange_bare(c, &w, "ok");
}

int elastos_storage_list(RuntimeClient *c, const char *token, const char *path, char ***entries,
                         size_t *n)
{
    eg_jw w;
    eg_resp r;
    if (entries)
        *entries = NULL;
    if (n)
        *n = 0;
    if (req_begin(c, &w, "storage_list"))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(path);
    NEED(entries);
    NEED(n);
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, "path");
    eg_jw_str(&w, path);
    int st = exchange(c, &w, "storage_list", &r);
    if (st)
        return finish(&r, st);
    const eg_json_node *arr = field(&r, r.obj, "entries");
    if (!arr || arr->kind != EG_JSON_ARRAY)
        return finish(&r, bad_response(c, &r, "field \"%s\" is not an array", "entries"));
    /* One block: count + 1 pointers, then the strings. Sizes are bounded by the message. */
    size_t count = arr->count, bytes = 0;
    for (const eg_json_node *e = eg_json_first(&r.doc, arr); e; e = eg_json_next(&r.doc, e)) {
        size_t l = 0;
        const char *s = eg_json_text(&r.doc, e, &l);
        if (e->kind != EG_JSON_STRING || strlen(s) != l)
            return finish(&r, bad_response(c, &r, "field \"%s\" holds a non-string or a NUL",
                                           "entries"));
        bytes += l + 1;
    }
    char **block = malloc((count + 1) * sizeof(char *) + bytes);
    if (!block)
        return finish(&r, set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory"));
    char *p = (char *)(block + count + 1);
    size_t i = 0;
    for (const eg_json_node *e = eg_json_first(&r.doc, arr); e; e = eg_json_next(&r.doc, e)) {
        size_t l = 0;
        const char *s = eg_json_text(&r.doc, e, &l);
        memcpy(p, s, l + 1);
        block[i++] = p;
        p += l + 1;
    }
    block[count] = NULL;
    *entries = block;
    *n = count;
    return finish(&r, 0);
}

/* Requests answered with "ok": the caller has written the fields. */
static int expect_ok(RuntimeClient *c, eg_jw *w)
{
    return exchange_bare(c, w, "ok");
}

int elastos_storage_delete(RuntimeClient *c, const char *token, const char *path)
{
    eg_jw w;
    if (req_begin(c, &w, "storage_delete"))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(path);
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, "path");
    eg_jw_str(&w, path);
    return expect_ok(c, &w);
}

int elastos_send_message(RuntimeClient *c, const char *token, const char *to,
                         const void *payload, size_t len, const char *reply_to)
{
    eg_jw w;
    if (req_begin(c, &w, "send_message"))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(to);
    NEED(payload || !len);
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, "to");
    eg_jw_str(&w, to);
    eg_jw_key(&w, "payload");
    eg_jw_base64(&w, payload, len);
    if (reply_to) {
        eg_jw_key(&w, "reply_to");
        eg_jw_str(&w, reply_to);
    }
    return expect_ok(c, &w);
}

void elastos_messages_free(ElastosMessage *msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].id);
        free(msgs[i].from);
        free(msgs[i].payload);
        free(msgs[i].reply_to);
    }
    free(msgs);
}

int elastos_receive_messages(RuntimeClient *c, size_t max, ElastosMessage **msgs, size_t *n)
{
    eg_jw w;
    eg_resp r;
    if (msgs)
        *msgs = NULL;
    if (n)
        *n = 0;
    if (req_begin(c, &w, "receive_messages"))
        return bad_arg(c, &w, "no client");
    NEED(msgs);
    NEED(n);
    if (max) {
        eg_jw_key(&w, "max");
        eg_jw_u64(&w, max);
    }
    int st = exchange(c, &w, "messages", &r);
    if (st)
        return finish(&r, st);
    const eg_json_node *arr = field(&r, r.obj, "messages");
    if (!arr || arr->kind != EG_JSON_ARRAY)
        return finish(&r, bad_response(c, &r, "field \"%s\" is not an array", "messages"));
    size_t count = arr->count;
    ElastosMessage *m = count ? calloc(count, sizeof *m) : NULL;
    if (count && !m)
        return finish(&r, set_error(c, ELASTOS_ERR_NOMEM, NULL, "out of memory"));
    size_t i = 0;
    for (const eg_json_node *e = eg_json_first(&r.doc, arr); e; e = eg_json_next(&r.doc, e), i++) {
        if (e->kind != EG_JSON_OBJECT) {
            st = bad_response(c, &r, "field \"%s\" holds a non-object", "messages");
            break;
        }
        if ((st = dup_str(c, &r, e, "id", 1, &m[i].id)) ||
            (st = dup_str(c, &r, e, "from", 1, &m[i].from)) ||
            (st = get_bytes(c, &r, e, "payload", &m[i].payload, &m[i].payload_len)) ||
            (st = get_u64(c, &r, e, "timestamp", 1, &m[i].timestamp, NULL)) ||
            (st = dup_str(c, &r, e, "reply_to", 0, &m[i].reply_to)))
            break;
    }
    if (st) {
        elastos_messages_free(m, count);
        return finish(&r, st);
    }
    *msgs = m;
    *n = count;
    return finish(&r, 0);
}

int elastos_provider_call(RuntimeClient *c, const char *token, const char *uri,
                          const char *body_json, char **result_json)
{
    eg_jw w;
    eg_resp r;
    if (result_json)
        *result_json = NULL;
    if (req_begin(c, &w, "provider_call"))
        return bad_arg(c, &w, "no client");
    NEED(token);
    NEED(uri);
    NEED(body_json);
    NEED(result_json);
    eg_json_doc body;
    const char *why = NULL;
    size_t where = 0;
    /* body sits at depth 3 of the envelope */
    if (eg_json_parse(body_json, strlen(body_json), EG_MAX_DEPTH - 2, &body, &why, &where)) {
        eg_jw_free(&w);
        return set_error(c, ELASTOS_ERR_INVALID, NULL,
                         "invalid argument: body_json: %s at byte %zu", why, where);
    }
    eg_jw_key(&w, "token");
    eg_jw_str(&w, token);
    eg_jw_key(&w, "uri");
    eg_jw_str(&w, uri);
    eg_jw_key(&w, "body");
    eg_jw_value(&w, &body, eg_json_root(&body));
    eg_json_free(&body);
    int st = exchange(c, &w, "provider_result", &r);
    if (st)
        return finish(&r, st);
    const eg_json_node *v = eg_json_get(&r.doc, r.obj, "result");
    if (!v)
        return finish(&r, bad_response(c, &r, "field \"%s\" is missing", "result"));
    return finish(&r, to_json_text(c, &r, v, result_json));
}

int elastos_launch_capsule(RuntimeClient *c, const LaunchConfig *config, char **capsule_id)
{
    eg_jw w;
    eg_resp r;
    if (capsule_id)
        *capsule_id = NULL;
    if (req_begin(c, &w, "launch_capsule"))
        return bad_arg(c, &w, "no client");
    NEED(config);
    if (!config->cid && !config->name)
        return bad_arg(c, &w, "config needs a cid or a name");
    if (config->n_args && !config->args)
        return bad_arg(c, &w, "config->args is NULL");
    if (config->n_env && (!config->env_names || !config->env_values))
        return bad_arg(c, &w, "config->env_names / env_values is NULL");
    for (size_t i = 0; i < config->n_args; i++)
        if (!config->args[i])
            return bad_arg(c, &w, "config->args holds a NULL");
    for (size_t i = 0; i < config->n_env; i++)
        if (!config->env_names[i] || !config->env_values[i])
            return bad_arg(c, &w, "config->env_names / env_values holds a NULL");
    eg_jw_key(&w, "config");
    eg_jw_obj_begin(&w);
    if (config->cid) {
        eg_jw_key(&w, "cid");
        eg_jw_str(&w, config->cid);
    }
    if (config->name) {
        eg_jw_key(&w, "name");
        eg_jw_str(&w, config->name);
    }
    if (config->n_args) {
        eg_jw_key(&w, "args");
        eg_jw_arr_begin(&w);
        for (size_t i = 0; i < config->n_args; i++)
            eg_jw_str(&w, config->args[i]);
        eg_jw_arr_end(&w);
    }
    if (config->n_env) {
        eg_jw_key(&w, "env");
        eg_jw_obj_begin(&w);
        for (size_t i = 0; i < config->n_env; i++) {
            eg_jw_key(&w, config->env_names[i]);
            eg_jw_str(&w, config->env_values[i]);
        }
        eg_jw_obj_end(&w);
    }
    if (config->memory_mb || config->cpu_ms || config->wall_ms) {
        eg_jw_key(&w, "limits");
        eg_jw_obj_begin(&w);
        if (config->memory_mb) {
            eg_jw_key(&w, "memory_mb");
            eg_jw_u64(&w, config->memory_mb);
        }
        if (config->cpu_ms) {
            eg_jw_key(&w, "cpu_ms");
            eg_jw_u64(&w, config->cpu_ms);
        }
        if (config->wall_ms) {
            eg_jw_key(&w, "wall_ms");
            eg_jw_u64(&w, config->wall_ms);
        }
        eg_jw_obj_end(&w);
    }
    eg_jw_obj_end(&w);
    int st = exchange(c, &w, "capsule_launched", &r);
    char *id = NULL;
    if (!st)
        st = dup_str(c, &r, r.obj, "capsule_id", 1, capsule_id ? &id : NULL);
    if (!st && capsule_id)
        *capsule_id = id;
    return finish(&r, st);
}

int elastos_stop_capsule(RuntimeClient *c, const char *capsule_id)
{
    eg_jw w;
    if (req_begin(c, &w, "stop_capsule"))
        return bad_arg(c, &w, "no client");
    NEED(capsule_id);
    eg_jw_key(&w, "capsule_id");
    eg_jw_str(&w, capsule_id);
    return expect_ok(c, &w);
}

int elastos_list_capsules(RuntimeClient *c, char **capsules_json)
{
    eg_jw w;
    eg_resp r;
    if (capsules_json)
        *capsules_json = NULL;
    if (req_begin(c, &w, "list_capsules"))
        return bad_arg(c, &w, "no client");
    NEED(capsules_json);
    int st = exchange(c, &w, "capsule_list", &r);
    if (st)
        return finish(&r, st);
    const eg_json_node *v = field(&r, r.obj, "capsules");
    if (!v || v->kind != EG_JSON_ARRAY)
        return finish(&r, bad_response(c, &r, "field \"%s\" is not an array", "capsules"));
    return finish(&r, to_json_text(c, &r, v, capsules_json));
}

void elastos_decision_request_free(ElastosDecisionRequest *req)
{
    if (!req)
        return;
    free(req->capsule_name);
    free(req->capsule_id);
    free(req->publisher);
    free(req->resource);
    free(req->action);
    memset(req, 0, sizeof *req);
    req->constraints.delegatable = -1;
}

int elastos_get_decision_request(RuntimeClient *c, ElastosDecisionRequest *out)
{
    eg_jw w;
    eg_resp r;
    ElastosDecisionRequest d;
    memset(&d, 0, sizeof d);
    d.constraints.delegatable = -1;
    if (out)
        *out = d;
    if (req_begin(c, &w, "get_decision_request"))
        return bad_arg(c, &w, "no client");
    NEED(out);
    int st = exchange(c, &w, "decision_request", &r);
    if (st)
        return finish(&r, st);
    if ((st = get_u64(c, &r, r.obj, "request_id", 1, &d.request_id, NULL)) ||
        (st = dup_str(c, &r, r.obj, "capsule_name", 1, &d.capsule_name)) ||
        (st = dup_str(c, &r, r.obj, "capsule_id", 1, &d.capsule_id)) ||
        (st = dup_str(c, &r, r.obj, "publisher", 1, &d.publisher)) ||
        (st = dup_str(c, &r, r.obj, "resource", 1, &d.resource)) ||
        (st = dup_str(c, &r, r.obj, "action", 1, &d.action))) {
        elastos_decision_request_free(&d);
        return finish(&r, st);
    }
    const eg_json_node *k = field(&r, r.obj, "constraints");
    if (k) {
        uint64_t mu, ex;
        int has_mu;
        if (k->kind != EG_JSON_OBJECT) {
            st = bad_response(c, &r, "field \"%s\" is not an object", "constraints");
        } else if (!(st = get_u64(c, &r, k, "max_uses", 0, &mu, &has_mu)) &&
                   !(st = get_u64(c, &r, k, "expiry_secs", 0, &ex, NULL))) {
            const eg_json_node *dv = field(&r, k, "delegatable");
            int dk = dv ? dv->kind : 0;
            d.constraints.max_uses = (uint32_t)mu;
            d.constraints.expiry_secs = ex;
            d.constraints.delegatable = dk ? dk == EG_JSON_TRUE : -1;
            if (has_mu && mu > UINT32_MAX)
                st = bad_response(c, &r, "field \"%s\" is larger than 2^32-1", "max_uses");
            else if (dk && dk != EG_JSON_TRUE && dk != EG_JSON_FALSE)
                st = bad_response(c, &r, "field \"%s\" is not a boolean", "delegatable");
        }
        if (st) {
            elastos_decision_request_free(&d);
            return finish(&r, st);
        }
    }
    *out = d;
    return finish(&r, 0);
}

int elastos_grant_capability(RuntimeClient *c, uint64_t request_id, const char *scope,
                             char **token_id)
{
    eg_jw w;
    eg_resp r;
    if (token_id)
        *token_id = NULL;
    if (req_begin(c, &w, "grant_capability"))
        return bad_arg(c, &w, "no client");
    NEED(scope);
    eg_jw_key(&w, "request_id");
    eg_jw_u64(&w, request_id);
    eg_jw_key(&w, "scope");
    eg_jw_str(&w, scope);
    int st = exchange(c, &w, "capability_granted", &r);
    char *id = NULL;
    if (!st)
        st = dup_str(c, &r, r.obj, "token_id", 1, token_id ? &id : NULL);
    if (!st && token_id)
        *token_id = id;
    return finish(&r, st);
}

int elastos_deny_capability(RuntimeClient *c, uint64_t request_id, const char *reason)
{
    eg_jw w;
    if (req_begin(c, &w, "deny_capability"))
        return bad_arg(c, &w, "no client");
    NEED(reason);
    eg_jw_key(&w, "request_id");
    eg_jw_u64(&w, request_id);
    eg_jw_key(&w, "reason");
    eg_jw_str(&w, reason);
    return expect_ok(c, &w);
}

int elastos_ask_user(RuntimeClient *c, uint64_t request_id, uint32_t timeout_ms, char **answer)
{
    eg_jw w;
    eg_resp r;
    if (answer)
        *answer = NULL;
    if (req_begin(c, &w, "ask_user"))
        return bad_arg(c, &w, "no client");
    NEED(answer);
    eg_jw_key(&w, "request_id");
    eg_jw_u64(&w, request_id);
    eg_jw_key(&w, "timeout_ms");
    eg_jw_u64(&w, timeout_ms);
    int st = exchange(c, &w, "user_answer", &r);
    if (!st)
        st = dup_str(c, &r, r.obj, "answer", 1, answer);
    return finish(&r, st);
}

int elastos_revoke_capability(RuntimeClient *c, const char *token_id)
{
    eg_jw w;
    if (req_begin(c, &w, "revoke_capability"))
        return bad_arg(c, &w, "no client");
    NEED(token_id);
    eg_jw_key(&w, "token_id");
    eg_jw_str(&w, token_id);
    return expect_ok(c, &w);
}

/* ---- provider capsules (docs/providers.md) ------------------------------------------------ */

void elastos_provider_call_free(ElastosProviderCall *call)
{
    if (!call)
        return;
    free(call->scheme);
    free(call->caller);
    free(call->caller_instance);
    free(call->resource);
    free(call->action);
    free(call->op);
    free(call->body_json);
    memset(call, 0, sizeof *call);
}

int elastos_get_provider_call(RuntimeClient *c, ElastosProviderCall *out)
{
    eg_jw w;
    eg_resp r;
    ElastosProviderCall d;
    memset(&d, 0, sizeof d);
    if (out)
        *out = d;
    if (req_begin(c, &w, "get_provider_call"))
        return bad_arg(c, &w, "no client");
    NEED(out);
    int st = exchange(c, &w, "provider_request", &r);
    if (st)
        return finish(&r, st);
    const eg_json_node *body = eg_json_get(&r.doc, r.obj, "body");
    if ((st = get_u64(c, &r, r.obj, "call_id", 1, &d.call_id, NULL)) ||
        (st = dup_str(c, &r, r.obj, "scheme", 1, &d.scheme)) || (st = dup_str(c, &r, r.obj, "caller", 1, &d.caller)) ||
        (st = dup_str(c, &r, r.obj, "caller_instance", 1, &d.caller_instance)) ||
        (st = dup_str(c, &r, r.obj, "resource", 1, &d.resource)) ||
        (st = dup_str(c, &r, r.obj, "action", 1, &d.action)) || (st = dup_str(c, &r, r.obj, "op", 1, &d.op)) ||
        (st = body ? to_json_text(c, &r, body, &d.body_json) : bad_response(c, &r, "field \"%s\" is missing", "body"))) {
        elastos_provider_call_free(&d);
        return finish(&r, st);
    }
    *out = d;
    return finish(&r, 0);
}

int elastos_answer_provider_call(RuntimeClient *c, uint64_t call_id, const char *result_json)
{
    eg_jw w;
    if (req_begin(c, &w, "answer_provider_call"))
        return bad_arg(c, &w, "no client");
    NEED(result_json);
    eg_json_doc doc;
    const char *why = NULL;
    size_t where = 0;
    if (eg_json_parse(result_json, strlen(result_json), EG_MAX_DEPTH - 2, &doc, &why, &where)) {
        eg_jw_free(&w);
        return set_error(c, ELASTOS_ERR_INVALID, NULL, "invalid argument: result_json: %s at byte %zu", why, where);
    }
    eg_jw_key(&w, "call_id");
    eg_jw_u64(&w, call_id);
    eg_jw_key(&w, "result");
    eg_jw_value(&w, &doc, eg_json_root(&doc));
    eg_json_free(&doc);
    return expect_ok(c, &w);
}

int elastos_fail_provider_call(RuntimeClient *c, uint64_t call_id, const char *code, const char *message)
{
    eg_jw w;
    if (req_begin(c, &w, "fail_provider_call"))
        return bad_arg(c, &w, "no client");
    NEED(code);
    NEED(message);
    eg_jw_key(&w, "call_id");
    eg_jw_u64(&w, call_id);
    eg_jw_key(&w, "code");
    eg_jw_str(&w, code);
    eg_jw_key(&w, "message");
    eg_jw_str(&w, message);
    return expect_ok(c, &w);
}
