/*
 * protocol.c - strict parsing of RuntimeRequest messages and encoding of RuntimeResponses
 * (docs/protocol.md). Every request type declares its fields; anything else is bad_request.
 */
#include "protocol_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

typedef enum { F_STR, F_UINT, F_BOOL, F_OBJ, F_ARR, F_ANY } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    int required;
} field;

typedef struct req_spec {
    const char *name;
    field fields[EL_REQ_FIELDS];
    /* The consumers of this type read its fields only through el__req_str / el__req_uint, never
     * q->body, so el__request_fast may answer for it (without a jansson tree). */
    bool fast;
} req_spec;

static const req_spec SPECS[EL_REQ_COUNT] = {
    [EL_REQ_PING] = {"ping", {{0}}, true},
    [EL_REQ_GET_RUNTIME_INFO] = {"get_runtime_info", {{0}}, true},
    [EL_REQ_REQUEST_CAPABILITY] = {"request_capability", {{"resource", F_STR, 1}, {"action", F_STR, 1}, {"constraints", F_OBJ, 0}}, false},
    [EL_REQ_STORAGE_READ] = {"storage_read", {{"token", F_STR, 1}, {"path", F_STR, 1}}, true},
    [EL_REQ_STORAGE_WRITE] = {"storage_write", {{"token", F_STR, 1}, {"path", F_STR, 1}, {"content", F_STR, 1}}, true},
    [EL_REQ_STORAGE_LIST] = {"storage_list", {{"token", F_STR, 1}, {"path", F_STR, 1}}, true},
    [EL_REQ_STORAGE_DELETE] = {"storage_delete", {{"token", F_STR, 1}, {"path", F_STR, 1}}, true},
    [EL_REQ_FETCH_CONTENT] = {"fetch_content", {{"token", F_STR, 1}, {"uri", F_STR, 1}}, true},
    [EL_REQ_SEND_MESSAGE] = {"send_message", {{"token", F_STR, 1}, {"to", F_STR, 1}, {"payload", F_STR, 1}, {"reply_to", F_STR, 0}}, false},
    [EL_REQ_RECEIVE_MESSAGES] = {"receive_messages", {{"max", F_UINT, 0}}, false},
    [EL_REQ_PROVIDER_CALL] = {"provider_call", {{"token", F_STR, 1}, {"uri", F_STR, 1}, {"body", F_ANY, 1}}, false},
    [EL_REQ_LAUNCH_CAPSULE] = {"launch_capsule", {{"config", F_OBJ, 1}}, false},
    [EL_REQ_STOP_CAPSULE] = {"stop_capsule", {{"capsule_id", F_STR, 1}}, false},
    [EL_REQ_LIST_CAPSULES] = {"list_capsules", {{0}}, false},
    [EL_REQ_GRANT_CAPABILITY] = {"grant_capability", {{"request_id", F_UINT, 1}, {"scope", F_STR, 1}}, false},
    [EL_REQ_DENY_CAPABILITY] = {"deny_capability", {{"request_id", F_UINT, 1}, {"reason", F_STR, 1}}, false},
    [EL_REQ_REVOKE_CAPABILITY] = {"revoke_capability", {{"token_id", F_STR, 1}}, false},
    [EL_REQ_GET_DECISION_REQUEST] = {"get_decision_request", {{0}}, false},
    [EL_REQ_GET_PROVIDER_CALL] = {"get_provider_call", {{0}}, false},
    [EL_REQ_ANSWER_PROVIDER_CALL] = {"answer_provider_call", {{"call_id", F_UINT, 1}, {"result", F_ANY, 1}}, false},
    [EL_REQ_FAIL_PROVIDER_CALL] = {"fail_provider_call", {{"call_id", F_UINT, 1}, {"code", F_STR, 1}, {"message", F_STR, 1}}, false},
    [EL_REQ_ASK_USER] = {"ask_user", {{"request_id", F_UINT, 1}, {"timeout_ms", F_UINT, 0}}, false},
};

const char *el__req_type_name(el_req_type t) { return t < EL_REQ_COUNT ? SPECS[t].name : "?"; }

static int kind_ok(json_t *v, field_kind k)
{
    switch (k) {
    case F_STR: return json_is_string(v);
    case F_UINT: return json_is_integer(v) && json_integer_value(v) >= 0;
    case F_BOOL: return json_is_boolean(v);
    case F_OBJ: return json_is_object(v);
    case F_ARR: return json_is_array(v);
    case F_ANY: return 1;
    }
    return 0;
}

static const char *kind_name(field_kind k)
{
    static const char *names[] = {"a string", "a non-negative integer", "a boolean", "an object", "an array", "a value"};
    return names[k];
}

/* The deepest nesting of arrays and objects in buf, counting the outermost value as 1, or
 * stopping early (returning max + 1) once it passes max. Brackets inside strings do not count;
 * the text need not be valid JSON (the parser judges that): this only keeps a deeply nested
 * message from reaching jansson, whose own limit is 2048 levels. */
static int nesting_depth(const char *buf, size_t len, int max)
{
    int depth = 0, deepest = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\')
                i++; /* the escaped byte cannot end the string */
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest && (deepest = depth) > max)
                return max + 1;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

el_status el__request_parse(const void *buf, size_t len, el_request *req, uint64_t *id_out, el_error *err)
{
    memset(req, 0, sizeof *req);
    *id_out = 0;
    if (len > EL_MSG_MAX)
        return el_error_set(err, EL_ERR_FORMAT, "message of %zu bytes exceeds the 1 MiB limit", len);
    if (memchr(buf, 0, len))
        return el_error_set(err, EL_ERR_FORMAT, "message contains a NUL byte");
    if (nesting_depth(buf, len, EL_MSG_MAX_DEPTH) > EL_MSG_MAX_DEPTH)
        return el_error_set(err, EL_ERR_FORMAT, "message nested deeper than %d levels", EL_MSG_MAX_DEPTH);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return el_error_set(err, EL_ERR_FORMAT, "malformed JSON at column %d: %s", je.column, je.text);
    el_status s = EL_OK;
    json_t *idv = json_is_object(root) ? json_object_get(root, "id") : NULL;
    json_t *body = json_is_object(root) ? json_object_get(root, "request") : NULL;
    if (!json_is_object(root))
        s = el_error_set(err, EL_ERR_FORMAT, "a message must be a JSON object");
    else if (!json_is_integer(idv) || json_integer_value(idv) < 1)
        s = el_error_set(err, EL_ERR_FORMAT, "\"id\" must be a positive integer");
    else
        *id_out = (uint64_t)json_integer_value(idv);
    if (s == EL_OK && (json_object_size(root) != 2 || !json_is_object(body)))
        s = el_error_set(err, EL_ERR_FORMAT, "the envelope must be exactly {\"id\":N,\"request\":{...}}");
    const char *type = s == EL_OK ? json_string_value(json_object_get(body, "type")) : NULL;
    if (s == EL_OK && !type)
        s = el_error_set(err, EL_ERR_FORMAT, "request.type must be a string");
    int t = -1;
    for (int i = 0; s == EL_OK && i < EL_REQ_COUNT && t < 0; i++)
        if (!strcmp(type, SPECS[i].name))
            t = i;
    if (s == EL_OK && t < 0)
        s = el_error_set(err, EL_ERR_FORMAT, "unknown request type \"%.64s\"", type);
    if (s == EL_OK) {
        const req_spec *sp = &SPECS[t];
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v)
        {
            if (!strcmp(key, "type"))
                continue;
            const field *f = NULL;
            for (int i = 0; i < EL_REQ_FIELDS && sp->fields[i].name && !f; i++)
                if (!strcmp(sp->fields[i].name, key))
                    f = &sp->fields[i];
            if (!f) {
                s = el_error_set(err, EL_ERR_FORMAT, "%s: unknown field \"%.64s\"", sp->name, key);
                break;
            }
            if (!kind_ok(v, f->kind)) {
                s = el_error_set(err, EL_ERR_FORMAT, "%s.%s must be %s", sp->name, key, kind_name(f->kind));
                break;
            }
        }
        for (int i = 0; s == EL_OK && i < EL_REQ_FIELDS && sp->fields[i].name; i++)
            if (sp->fields[i].required && !json_object_get(body, sp->fields[i].name))
                s = el_error_set(err, EL_ERR_FORMAT, "%s: missing field \"%s\"", sp->name, sp->fields[i].name);
    }
    if (s != EL_OK) {
        json_decref(root);
        return s;
    }
    req->id = *id_out;
    req->type = (el_req_type)t;
    req->body = json_incref(body);
    json_decref(root);
    return EL_OK;
}

/* ---- the fast path -------------------------------------------------------------------------------
 * The SDKs' hot requests are compact and plain: {"id":N,"request":{"type":"T","k":"v",...}} with
 * no whitespace, "type" first and every value a string of printable ASCII without escapes
 * (tokens, storage paths and base64 are). el__request_fast accepts exactly that shape and nothing
 * else; every other message, valid or not, goes to el__request_parse, which alone decides what is
 * refused and with which message. So the fast path can only say yes to what the full parser would
 * also accept with the same id, type and field values (tests/fuzz/fuzz_request_fast.c checks it
 * differentially), and the strictness stays in one place. */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when some byte of x is below n (n <= 0x80; exact for bytes below 0x80). */
static inline uint64_t byte_below(uint64_t x, unsigned n) { return (x - ONES * n) & ~x & HIGHS; }

/* The closing quote of a plain string starting at p, or NULL when a byte before it is a control
 * character, a backslash, DEL or non-ASCII (those strings are the full parser's to judge). Eight
 * bytes at a time: a 4 KiB storage_write carries 5.5 KB of base64. */
static const char *plain_end(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        if ((x & HIGHS) | byte_below(x, 0x20) | byte_below(x ^ (ONES * '"'), 1) | byte_below(x ^ (ONES * '\\'), 1) |
            byte_below(x ^ (ONES * 0x7f), 1))
            break; /* the byte loop finds which */
        p += 8;
    }
    for (; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            return NULL;
    }
    return NULL;
}

/* Consumes the literal lit at *p; false when it is not there. */
static bool take(const char **p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}
#define TAKE(p, end, lit) take(p, end, lit, sizeof lit - 1)

/* A plain string at *p (after its opening quote); on success *p is past the closing quote. */
static bool take_plain(const char **p, const char *end, const char **s, size_t *n)
{
    const char *q = plain_end(*p, end);
    if (!q)
        return false;
    *s = *p;
    *n = (size_t)(q - *p);
    *p = q + 1;
    return true;
}

bool el__request_fast(const void *buf, size_t len, el_request *req)
{
    const char *p = buf, *end = p + len, *name, *key, *val[EL_REQ_FIELDS] = {0};
    size_t name_len, key_len, val_len[EL_REQ_FIELDS] = {0}, text_len = 0;
    memset(req, 0, sizeof *req);
    if (len > EL_MSG_MAX || !TAKE(&p, end, "{\"id\":"))
        return false;
    uint64_t id = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 18) /* 18 digits: below 2^63 */
        id = id * 10 + (uint64_t)(*p++ - '0');
    if (p == digits || *digits == '0' || !TAKE(&p, end, ",\"request\":{\"type\":\"") ||
        !take_plain(&p, end, &name, &name_len))
        return false;
    int t = -1;
    for (int i = 0; i < EL_REQ_COUNT && t < 0; i++)
        if (SPECS[i].fast && strlen(SPECS[i].name) == name_len && !memcmp(SPECS[i].name, name, name_len))
            t = i;
    if (t < 0)
        return false;
    const req_spec *sp = &SPECS[t];
    unsigned seen = 0;
    while (TAKE(&p, end, ",\"")) {
        if (!take_plain(&p, end, &key, &key_len) || !TAKE(&p, end, ":\""))
            return false;
        int f = -1;
        for (int i = 0; i < EL_REQ_FIELDS && sp->fields[i].name && f < 0; i++)
            if (strlen(sp->fields[i].name) == key_len && !memcmp(sp->fields[i].name, key, key_len))
                f = i;
        if (f < 0 || sp->fields[f].kind != F_STR || (seen & 1u << f) || !take_plain(&p, end, &val[f], &val_len[f]))
            return false;
        seen |= 1u << f;
        text_len += val_len[f] + 1;
    }
    if (!TAKE(&p, end, "}}") || p != end)
        return false;
    for (int i = 0; i < EL_REQ_FIELDS && sp->fields[i].name; i++)
        if (sp->fields[i].required && !(seen & 1u << i))
            return false;
    if (text_len && !(req->text = malloc(text_len)))
        return false;
    char *o = req->text;
    for (int i = 0; i < EL_REQ_FIELDS; i++)
        if (seen & 1u << i) {
            memcpy(o, val[i], val_len[i]);
            o[val_len[i]] = 0;
            req->str[i] = o;
            o += val_len[i] + 1;
        }
    req->id = id;
    req->type = (el_req_type)t;
    return true;
}

void el__request_free(el_request *req)
{
    json_decref(req->body);
    free(req->text);
    req->body = NULL;
    req->text = NULL;
}

const char *el__req_str(const el_request *r, const char *field)
{
    if (r->body || r->type >= EL_REQ_COUNT)
        return json_string_value(json_object_get(r->body, field));
    for (int i = 0; i < EL_REQ_FIELDS && SPECS[r->type].fields[i].name; i++) /* parsed by el__request_fast */
        if (!strcmp(SPECS[r->type].fields[i].name, field))
            return r->str[i];
    return NULL;
}

uint64_t el__req_uint(const el_request *r, const char *field, uint64_t dflt)
{
    json_t *v = json_object_get(r->body, field); /* the fast path parses no integer fields */
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : dflt;
}

char *el__response_encode(uint64_t id, json_t *resp, size_t *len)
{
    json_t *env = json_object();
    json_object_set_new(env, "id", json_integer((json_int_t)id));
    json_object_set_new(env, "response", resp);
    char *text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(env);
    *len = text ? strlen(text) : 0;
    return text;
}

/* Writes {"id":ID,"response":{"type":"TYPE" at o (at most 54 + strlen(type) bytes); returns the
 * end. By hand: snprintf was a third of a ping's time in the runtime. */
static char *response_head(char *o, uint64_t id, const char *type)
{
    static const char a[] = "{\"id\":", b[] = ",\"response\":{\"type\":\"";
    char digits[20];
    size_t k = sizeof digits, tl = strlen(type);
    do {
        digits[--k] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    memcpy(o, a, sizeof a - 1);
    o += sizeof a - 1;
    memcpy(o, digits + k, sizeof digits - k);
    o += sizeof digits - k;
    memcpy(o, b, sizeof b - 1);
    o += sizeof b - 1;
    memcpy(o, type, tl);
    o += tl;
    *o++ = '"';
    return o;
}

char *el__response_type(uint64_t id, const char *type, size_t *len)
{
    char *r = malloc(strlen(type) + 64);
    if (!r)
        return NULL;
    char *o = response_head(r, id, type);
    memcpy(o, "}}", 3);
    *len = (size_t)(o + 2 - r);
    return r;
}

char *el__response_error(uint64_t id, const char *code, const char *message, size_t *len)
{
    json_t *r = json_object();
    json_object_set_new(r, "type", json_string("error"));
    json_object_set_new(r, "code", json_string(code));
    /* Messages may quote hostile input: make sure they are valid UTF-8 for the encoder. */
    json_t *m = json_string(message);
    json_object_set_new(r, "message", m ? m : json_string("(message not valid UTF-8)"));
    return el__response_encode(id, r, len);
}

/* Plain table-driven base64: the payloads are not secret, and libsodium's constant-time coder
 * costs ~4x more per byte on the storage hot path (measured with perf). */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Two output characters for each 12-bit value (filled once): a 4 KiB storage_read spends most of
 * its encoding time here, and two lookups per 3 bytes with one 8-byte store per 6 bytes cost a
 * third of four lookups and four stores per 3 bytes. */
static uint16_t B64_PAIR[4096];
static pthread_once_t b64_pair_once = PTHREAD_ONCE_INIT;

static void b64_pair_fill(void)
{
    for (unsigned v = 0; v < 4096; v++) {
        char two[2] = {B64[v >> 6], B64[v & 63]};
        memcpy(&B64_PAIR[v], two, 2);
    }
}

/* Encodes into out ((len + 2) / 3 * 4 + 1 bytes); returns the length written (NUL-terminated). */
static size_t base64_encode_into(const void *data, size_t len, char *out)
{
    const uint8_t *p = data;
    char *o = out;
    size_t i = 0;
    pthread_once(&b64_pair_once, b64_pair_fill);
    for (; i + 8 <= len; i += 6) { /* reads 8 bytes, uses 6 */
        uint64_t v;
        memcpy(&v, p + i, 8);
        v = __builtin_bswap64(v); /* p[i] in the top byte */
        uint16_t c[4] = {B64_PAIR[v >> 52], B64_PAIR[(v >> 40) & 4095], B64_PAIR[(v >> 28) & 4095],
                         B64_PAIR[(v >> 16) & 4095]};
        memcpy(o, c, 8);
        o += 8;
    }
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        o[0] = B64[v >> 18];
        o[1] = B64[(v >> 12) & 63];
        o[2] = B64[(v >> 6) & 63];
        o[3] = B64[v & 63];
        o += 4;
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        o[0] = B64[v >> 18];
        o[1] = B64[(v >> 12) & 63];
        o[2] = o[3] = '=';
        o += 4;
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        o[0] = B64[v >> 18];
        o[1] = B64[(v >> 12) & 63];
        o[2] = B64[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    *o = 0;
    return (size_t)(o - out);
}

char *el_protocol_base64_encode(const void *data, size_t len)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (out)
        base64_encode_into(data, len, out);
    return out;
}

/* Strict: length a multiple of 4, padding only at the end, unused bits zero. */
uint8_t *el_protocol_base64_decode(const char *text, size_t *len)
{
    static int8_t rev[256];
    size_t tl = strlen(text);
    if (tl % 4)
        return NULL;
    if (!rev['B']) { /* idempotent fill: every thread writes the same values */
        memset(rev, -1, sizeof rev);
        for (int i = 0; i < 64; i++)
            rev[(uint8_t)B64[i]] = (int8_t)i;
    }
    uint8_t *out = malloc(tl / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < tl; i += 4) {
        int a = rev[(uint8_t)text[i]], b = rev[(uint8_t)text[i + 1]];
        bool last = i + 4 == tl;
        int c = last && text[i + 2] == '=' && text[i + 3] == '=' ? -2 : rev[(uint8_t)text[i + 2]];
        int d = last && text[i + 3] == '=' ? -2 : rev[(uint8_t)text[i + 3]];
        /* Reject bad characters, padding in the middle, and non-zero unused bits (non-canonical). */
        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) || (c == -2 && (b & 15)) ||
            (c >= 0 && d == -2 && (c & 3))) {
            free(out);
            return NULL;
        }
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        if (c >= 0)
            out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
        if (d >= 0)
            out[o++] = (uint8_t)((c & 3) << 6 | d);
    }
    *len = o;
    return out;
}

char *el__response_data(uint64_t id, const char *type, const void *data, size_t n, size_t *len)
{
    char *out = malloc(strlen(type) + 64 + (n + 2) / 3 * 4 + 4);
    if (!out)
        return NULL;
    char *o = response_head(out, id, type);
    memcpy(o, ",\"data\":\"", 9);
    o += 9;
    o += base64_encode_into(data, n, o);
    memcpy(o, "\"}}", 4);
    *len = (size_t)(o + 3 - out);
    return out;
}
