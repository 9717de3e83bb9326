/*
 * json.c - the guest SDK's internal minimal JSON: a strict reader for the runtime's responses
 * and a compact writer for requests (see json.h for the exact rules). Dependency-free C17, safe
 * on any input: every read is bounds-checked, sizes are checked before they can overflow, and
 * recursion is bounded by the caller's depth limit.
 */
#include "json.h"

#include "base64.h"

#include <stdlib.h>
#include <string.h>

#define EG_JSON_MAX_INPUT ((size_t)1 << 30)

/* ------------------------------------------------------------------------------------------
 * UTF-8
 */

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 if it is invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

int eg_utf8_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (!k)
            return -1;
        i += k;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Reader
 */

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    unsigned max_depth;
    eg_json_doc *doc;
    const char *why;
} parser;

static int fail(parser *p, const char *why)
{
    if (!p->why)
        p->why = why;
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* Appends a node; returns its index, or -1 on allocation failure. */
static long new_node(parser *p, uint8_t kind)
{
    eg_json_doc *d = p->doc;
    if (d->n_nodes == d->cap_nodes) {
        size_t cap = d->cap_nodes ? d->cap_nodes * 2 : 16;
        if (cap > UINT32_MAX / 2 || cap > SIZE_MAX / sizeof(eg_json_node))
            return fail(p, "too many values");
        eg_json_node *nn = realloc(d->nodes, cap * sizeof *nn);
        if (!nn)
            return fail(p, "out of memory");
        d->nodes = nn;
        d->cap_nodes = cap;
    }
    eg_json_node *v = &d->nodes[d->n_nodes];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    return (long)d->n_nodes++;
}

/* Pool space: the pool is sized from the input length up front (decoded text is never longer
 * than its source, see eg_json_parse), so this only guards the invariant. */
static char *pool_take(parser *p, size_t n)
{
    eg_json_doc *d = p->doc;
    if (n + 1 > d->pool_cap - d->pool_len) {
        fail(p, "internal: text pool exhausted");
        return NULL;
    }
    return d->pool + d->pool_len;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->n - p->pos < 4)
        return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->s[p->pos + (size_t)i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail(p, "invalid \\u escape");
        v = v << 4 | d;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote; stores its decoded bytes in the pool. */
static int parse_string(parser *p, uint32_t *off, uint32_t *len)
{
    p->pos++; /* opening quote */
    /* The decoded text is at most as long as the source up to the closing quote. */
    char *o = pool_take(p, p->n - p->pos);
    if (!o)
        return -1;
    size_t k = 0;
    for (;;) {
        /* Runs of plain printable ASCII (all of a base64 payload) are copied in one go. */
        size_t run = p->pos;
        /* Eight bytes at a time while none is a quote, a backslash, a control byte or non-ASCII. */
        const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        while (run + 8 <= p->n) {
            uint64_t x, q, b;
            memcpy(&x, p->s + run, 8);
            q = x ^ (ones * '"');
            b = x ^ (ones * '\\');
            /* With no high bit set, x - 0x20.. borrows into a high bit exactly when a byte is < 0x20;
             * (v - 1..) & ~v & 0x80.. is non-zero exactly when v has a zero byte. */
            if ((x & highs) || ((x - ones * 0x20) & highs) || ((q - ones) & ~q & highs) || ((b - ones) & ~b & highs))
                break;
            run += 8;
        }
        while (run < p->n) {
            unsigned char b = (unsigned char)p->s[run];
            if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\')
                break;
            run++;
        }
        if (run > p->pos) {
            memcpy(o + k, p->s + p->pos, run - p->pos);
            k += run - p->pos;
            p->pos = run;
        }
        if (p->pos >= p->n)
            return fail(p, "unterminated string");
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail(p, "control character in string");
        if (c == '\\') {
            if (p->pos + 1 >= p->n)
                return fail(p, "unterminated string");
            unsigned char e = p->s[p->pos + 1];
            p->pos += 2;
            switch (e) {
            case '"': o[k++] = '"'; break;
            case '\\': o[k++] = '\\'; break;
            case '/': o[k++] = '/'; break;
            case 'b': o[k++] = '\b'; break;
            case 'f': o[k++] = '\f'; break;
            case 'n': o[k++] = '\n'; break;
            case 'r': o[k++] = '\r'; break;
            case 't': o[k++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(p, &cp))
                    return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(p, "lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                        return fail(p, "lone high surrogate");
                    p->pos += 2;
                    if (hex4(p, &lo))
                        return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, "high surrogate not followed by a low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                k += put_utf8(o + k, cp);
                break;
            }
            default:
                p->pos -= 1;
                return fail(p, "invalid escape");
            }
            continue;
        }
        if (c < 0x80) {
            o[k++] = (char)c;
            p->pos++;
            continue;
        }
        size_t q = utf8_seq(p->s + p->pos, p->n - p->pos);
        if (!q)
            return fail(p, "invalid UTF-8");
        memcpy(o + k, p->s + p->pos, q);
        k += q;
        p->pos += q;
    }
    o[k] = '\0';
    *off = (uint32_t)p->doc->pool_len;
    *len = (uint32_t)k;
    p->doc->pool_len += k + 1;
    return 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *p, eg_json_node *v)
{
    size_t start = p->pos;
    const unsigned char *s = p->s;
    if (p->pos < p->n && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->n || !is_digit(s[p->pos]))
        return fail(p, "invalid number");
    if (s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->n && is_digit(s[p->pos]))
            return fail(p, "leading zero in number");
    } else {
        while (p->pos < p->n && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->n && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->n || !is_digit(s[p->pos]))
            return fail(p, "invalid number");
        while (p->pos < p->n && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->n && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->n && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->n || !is_digit(s[p->pos]))
            return fail(p, "invalid number");
        while (p->pos < p->n && is_digit(s[p->pos]))
            p->pos++;
    }
    size_t k = p->pos - start;
    char *o = pool_take(p, k);
    if (!o)
        return -1;
    memcpy(o, s + start, k);
    o[k] = '\0';
    v->str = (uint32_t)p->doc->pool_len;
    v->len = (uint32_t)k;
    p->doc->pool_len += k + 1;
    return 0;
}

typedef struct keyref {
    const char *s;
    size_t n;
} keyref;

static int keyref_cmp(const void *a, const void *b)
{
    const keyref *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

/* Refuses an object whose members repeat a key: sort the keys, compare neighbours. */
static int check_duplicates(parser *p, size_t obj)
{
    eg_json_doc *d = p->doc;
    size_t n = d->nodes[obj].count;
    if (n < 2)
        return 0;
    keyref *k = malloc(n * sizeof *k);
    if (!k)
        return fail(p, "out of memory");
    size_t i = 0;
    for (uint32_t c = d->nodes[obj].first; c; c = d->nodes[c - 1].next) {
        k[i].s = d->pool + d->nodes[c - 1].key;
        k[i].n = d->nodes[c - 1].key_len;
        i++;
    }
    qsort(k, n, sizeof *k, keyref_cmp);
    int dup = 0;
    for (i = 1; i < n && !dup; i++)
        dup = keyref_cmp(&k[i - 1], &k[i]) == 0;
    free(k);
    return dup ? fail(p, "duplicate key") : 0;
}

static long parse_value(parser *p, unsigned depth);

/* Parses the members/elements of a container node at index self (opening bracket consumed). */
static int parse_container(parser *p, size_t self, int is_obj, unsigned depth)
{
    unsigned char close = is_obj ? '}' : ']';
    size_t last = 0; /* index + 1 of the last child */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        uint32_t koff = 0, klen = 0;
        if (is_obj) {
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != '"')
                return fail(p, p->pos >= p->n ? "unexpected end of input" : "expected a key");
            if (parse_string(p, &koff, &klen))
                return -1;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':')
                return fail(p, "expected ':'");
            p->pos++;
        }
        long child = parse_value(p, depth);
        if (child < 0)
            return -1;
        eg_json_node *c = &p->doc->nodes[child];
        c->key = koff;
        c->key_len = klen;
        if (last)
            p->doc->nodes[last - 1].next = (uint32_t)child + 1;
        else
            p->doc->nodes[self].first = (uint32_t)child + 1;
        last = (size_t)child + 1;
        p->doc->nodes[self].count++;
        skip_ws(p);
        if (p->pos >= p->n)
            return fail(p, "unexpected end of input");
        unsigned char c2 = p->s[p->pos++];
        if (c2 == close)
            break;
        if (c2 != ',')
            return fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    return is_obj ? check_duplicates(p, self) : 0;
}

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->n - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "invalid literal");
    p->pos += n;
    return 0;
}

/* Parses one value (leading whitespace allowed); returns its node index or -1. */
static long parse_value(parser *p, unsigned depth)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return fail(p, "unexpected end of input");
    unsigned char c = p->s[p->pos];
    long self;
    switch (c) {
    case '{':
    case '[':
        if (depth >= p->max_depth)
            return fail(p, "nesting too deep");
        if ((self = new_node(p, c == '{' ? EG_JSON_OBJECT : EG_JSON_ARRAY)) < 0)
            return -1;
        p->pos++;
        if (parse_container(p, (size_t)self, c == '{', depth + 1))
            return -1;
        return self;
    case '"': {
        uint32_t off, len;
        if ((self = new_node(p, EG_JSON_STRING)) < 0)
            return -1;
        if (parse_string(p, &off, &len))
            return -1;
        p->doc->nodes[self].str = off;
        p->doc->nodes[self].len = len;
        return self;
    }
    case 't':
        if ((self = new_node(p, EG_JSON_TRUE)) < 0)
            return -1;
        return literal(p, "true") ? -1 : self;
    case 'f':
        if ((self = new_node(p, EG_JSON_FALSE)) < 0)
            return -1;
        return literal(p, "false") ? -1 : self;
    case 'n':
        if ((self = new_node(p, EG_JSON_NULL)) < 0)
            return -1;
        return literal(p, "null") ? -1 : self;
    default:
        if (c != '-' && !is_digit(c))
            return fail(p, "unexpected character");
        if ((self = new_node(p, EG_JSON_NUMBER)) < 0)
            return -1;
        return parse_number(p, &p->doc->nodes[self]) ? -1 : self;
    }
}

int eg_json_parse(const char *text, size_t len, unsigned max_depth, eg_json_doc *doc,
                  const char **why, size_t *where)
{
    memset(doc, 0, sizeof *doc);
    parser p = {(const unsigned char *)text, len, 0, max_depth, doc, NULL};
    if (len > EG_JSON_MAX_INPUT || (!text && len)) {
        fail(&p, "input too large");
        goto bad;
    }
    /* Every string or number takes at least one byte more in the source than its decoded text
     * (the quotes; a number's terminator) except a top-level number, so len + 1 bytes hold all
     * decoded texts with their NULs. */
    doc->pool_cap = len + 1;
    doc->pool = malloc(doc->pool_cap);
    if (!doc->pool) {
        fail(&p, "out of memory");
        goto bad;
    }
    if (parse_value(&p, 0) < 0)
        goto bad;
    skip_ws(&p);
    if (p.pos != p.n) {
        fail(&p, "trailing bytes after the value");
        goto bad;
    }
    return 0;
bad:
    if (why)
        *why = p.why ? p.why : "invalid JSON";
    if (where)
        *where = p.pos;
    eg_json_free(doc);
    return -1;
}

void eg_json_free(eg_json_doc *doc)
{
    free(doc->nodes);
    free(doc->pool);
    memset(doc, 0, sizeof *doc);
}

const eg_json_node *eg_json_root(const eg_json_doc *doc)
{
    return doc->n_nodes ? &doc->nodes[0] : NULL;
}

const eg_json_node *eg_json_first(const eg_json_doc *doc, const eg_json_node *v)
{
    if (!v || (v->kind != EG_JSON_ARRAY && v->kind != EG_JSON_OBJECT) || !v->first)
        return NULL;
    return &doc->nodes[v->first - 1];
}

const eg_json_node *eg_json_next(const eg_json_doc *doc, const eg_json_node *v)
{
    return v && v->next ? &doc->nodes[v->next - 1] : NULL;
}

const eg_json_node *eg_json_get(const eg_json_doc *doc, const eg_json_node *obj, const char *key)
{
    if (!obj || obj->kind != EG_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const eg_json_node *c = eg_json_first(doc, obj); c; c = eg_json_next(doc, c))
        if (c->key_len == n && memcmp(doc->pool + c->key, key, n) == 0)
            return c;
    return NULL;
}

const char *eg_json_text(const eg_json_doc *doc, const eg_json_node *v, size_t *len)
{
    if (!v || (v->kind != EG_JSON_STRING && v->kind != EG_JSON_NUMBER))
        return NULL;
    if (len)
        *len = v->len;
    return doc->pool + v->str;
}

const char *eg_json_key(const eg_json_doc *doc, const eg_json_node *member, size_t *len)
{
    if (len)
        *len = member->key_len;
    return doc->pool + member->key;
}

int eg_json_u64(const eg_json_doc *doc, const eg_json_node *v, uint64_t *out)
{
    if (!v || v->kind != EG_JSON_NUMBER)
        return -1;
    const char *s = doc->pool + v->str;
    uint64_t x = 0;
    if (v->len == 0)
        return -1;
    for (size_t i = 0; i < v->len; i++) {
        if (!is_digit((unsigned char)s[i]))
            return -1; /* sign, fraction or exponent */
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Writer
 */

void eg_jw_init(eg_jw *w, size_t limit)
{
    memset(w, 0, sizeof *w);
    w->limit = limit;
    w->first[0] = 1;
}

void eg_jw_free(eg_jw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static int reserve(eg_jw *w, size_t n)
{
    if (w->err)
        return -1;
    if (n > w->limit || w->len > w->limit - n) {
        w->err = EG_JW_LIMIT;
        return -1;
    }
    if (w->len + n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
    if (cap > w->limit)
        cap = w->limit;
    char *b = realloc(w->buf, cap ? cap : 1);
    if (!b) {
        w->err = EG_JW_NOMEM;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

void eg_jw_raw(eg_jw *w, const char *s, size_t n)
{
    if (reserve(w, n))
        return;
    if (n)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Before a value: a comma between array elements (after a key: nothing). */
static void sep(eg_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth])
        eg_jw_raw(w, ",", 1);
    w->first[w->depth] = 0;
}

static void open_(eg_jw *w, char c)
{
    sep(w);
    if (w->depth >= EG_JW_MAX_DEPTH) {
        if (!w->err)
            w->err = EG_JW_DEPTH;
        return;
    }
    eg_jw_raw(w, &c, 1);
    w->first[++w->depth] = 1;
}

static void close_(eg_jw *w, char c)
{
    if (w->depth == 0) {
        if (!w->err)
            w->err = EG_JW_DEPTH;
        return;
    }
    w->depth--;
    eg_jw_raw(w, &c, 1);
}

void eg_jw_obj_begin(eg_jw *w) { open_(w, '{'); }
void eg_jw_obj_end(eg_jw *w) { close_(w, '}'); }
void eg_jw_arr_begin(eg_jw *w) { open_(w, '['); }
void eg_jw_arr_end(eg_jw *w) { close_(w, ']'); }

static void put_string(eg_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (w->err)
        return;
    size_t plain = 0; /* printable ASCII without '"' or '\\' is written as it is (and is UTF-8) */
    while (plain < n && (unsigned char)s[plain] >= 0x20 && (unsigned char)s[plain] < 0x7f && s[plain] != '"' &&
           s[plain] != '\\')
        plain++;
    if (plain == n && !reserve(w, n + 2)) { /* keys, types, tokens, paths: one copy */
        w->buf[w->len] = '"';
        memcpy(w->buf + w->len + 1, s, n);
        w->buf[w->len + n + 1] = '"';
        w->len += n + 2;
        return;
    }
    if (eg_utf8_check(s, n)) {
        w->err = EG_JW_UTF8;
        return;
    }
    eg_jw_raw(w, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t k = 0;
        switch (c) {
        case '"': esc[0] = '\\'; esc[1] = '"'; k = 2; break;
        case '\\': esc[0] = '\\'; esc[1] = '\\'; k = 2; break;
        case '\b': esc[0] = '\\'; esc[1] = 'b'; k = 2; break;
        case '\f': esc[0] = '\\'; esc[1] = 'f'; k = 2; break;
        case '\n': esc[0] = '\\'; esc[1] = 'n'; k = 2; break;
        case '\r': esc[0] = '\\'; esc[1] = 'r'; k = 2; break;
        case '\t': esc[0] = '\\'; esc[1] = 't'; k = 2; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                k = 6;
            }
        }
        if (!k) {
            run++;
            continue;
        }
        eg_jw_raw(w, s + i - run, run);
        run = 0;
        eg_jw_raw(w, esc, k);
    }
    eg_jw_raw(w, s + n - run, run);
    eg_jw_raw(w, "\"", 1);
}

void eg_jw_key(eg_jw *w, const char *key)
{
    if (w->after_key && !w->err)
        w->err = EG_JW_DEPTH; /* two keys in a row: a caller bug */
    if (!w->first[w->depth])
        eg_jw_raw(w, ",", 1);
    w->first[w->depth] = 0;
    put_string(w, key, strlen(key));
    eg_jw_raw(w, ":", 1);
    w->after_key = 1;
}

void eg_jw_strn(eg_jw *w, const char *s, size_t n)
{
    sep(w);
    put_string(w, s, n);
}

void eg_jw_str(eg_jw *w, const char *s)
{
    eg_jw_strn(w, s, strlen(s));
}

void eg_jw_u64(eg_jw *w, uint64_t v)
{
    char d[20];
    size_t k = sizeof d;
    do {
        d[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sep(w);
    eg_jw_raw(w, d + k, sizeof d - k);
}

void eg_jw_bool(eg_jw *w, int v)
{
    sep(w);
    if (v)
        eg_jw_raw(w, "true", 4);
    else
        eg_jw_raw(w, "false", 5);
}

void eg_jw_null(eg_jw *w)
{
    sep(w);
    eg_jw_raw(w, "null", 4);
}

void eg_jw_base64(eg_jw *w, const void *data, size_t n)
{
    size_t k = eg_b64_encoded_len(n);
    sep(w);
    if (k == SIZE_MAX) {
        if (!w->err)
            w->err = EG_JW_LIMIT;
        return;
    }
    eg_jw_raw(w, "\"", 1);
    if (reserve(w, k))
        return;
    eg_b64_encode(data, n, w->buf + w->len);
    w->len += k;
    eg_jw_raw(w, "\"", 1);
}

void eg_jw_value(eg_jw *w, const eg_json_doc *doc, const eg_json_node *v)
{
    if (w->err)
        return;
    switch (v->kind) {
    case EG_JSON_NULL: eg_jw_null(w); break;
    case EG_JSON_TRUE: eg_jw_bool(w, 1); break;
    case EG_JSON_FALSE: eg_jw_bool(w, 0); break;
    case EG_JSON_NUMBER:
        sep(w);
        eg_jw_raw(w, doc->pool + v->str, v->len);
        break;
    case EG_JSON_STRING: eg_jw_strn(w, doc->pool + v->str, v->len); break;
    case EG_JSON_ARRAY:
        eg_jw_arr_begin(w);
        for (const eg_json_node *c = eg_json_first(doc, v); c; c = eg_json_next(doc, c))
            eg_jw_value(w, doc, c);
        eg_jw_arr_end(w);
        break;
    case EG_JSON_OBJECT:
        eg_jw_obj_begin(w);
        for (const eg_json_node *c = eg_json_first(doc, v); c; c = eg_json_next(doc, c)) {
            /* keys may hold escaped NULs: write with their length, not via eg_jw_key */
            if (!w->first[w->depth])
                eg_jw_raw(w, ",", 1);
            w->first[w->depth] = 0;
            put_string(w, doc->pool + c->key, c->key_len);
            eg_jw_raw(w, ":", 1);
            w->after_key = 1;
            eg_jw_value(w, doc, c);
        }
        eg_jw_obj_end(w);
        break;
    default:
        if (!w->err)
            w->err = EG_JW_DEPTH;
    }
}
