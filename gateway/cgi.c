/*
 * cgi.c - the elastos-gateway's strict parsers of outside input (cgi.h): the request target of
 * an HTTP client and the CGI response of a capsule. Both are written to refuse: whatever is not
 * plainly well-formed is refused whole, so that no byte a capsule or a client chooses can end a
 * header early, add one, or step outside a route (fuzzed by tests/fuzz/fuzz_cgi_response.c).
 */
#include "cgi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool gw_target_parse(const char *t, char *out, const char **query, size_t *query_len)
{
    if (!t || t[0] != '/' || strchr(t, '#'))
        return false;
    const char *q = strchr(t, '?');
    size_t raw = q ? (size_t)(q - t) : strlen(t), w = 0;
    *query = q ? q + 1 : "";
    *query_len = strlen(*query);
    if (*query_len > GW_QUERY_MAX)
        return false;
    for (size_t i = 0; i < *query_len; i++)
        if ((unsigned char)(*query)[i] <= 0x20 || (*query)[i] == 0x7f)
            return false;
    for (size_t i = 0; i < raw; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '%') {
            int hi = i + 2 < raw ? hexval(t[i + 1]) : -1, lo = hi >= 0 ? hexval(t[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (unsigned char)(hi * 16 + lo);
            if (c == '/')
                return false; /* an escaped slash would be a segment boundary nobody sees */
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || w + 1 >= GW_PATH_MAX)
            return false;
        out[w++] = (char)c;
    }
    out[w] = 0;
    for (const char *seg = out + 1;; seg = strchr(seg, '/') + 1) { /* the decoded segments */
        size_t l = strcspn(seg, "/");
        if ((l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!seg[l])
            return true;
    }
}

/* RFC 9110 tchar. */
static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool named(const gw_field *f, const char *name)
{
    return f->name_len == strlen(name) && !strncasecmp(f->name, name, f->name_len);
}

static bool refuse(gw_cgi *r, const char *why)
{
    snprintf(r->why, sizeof r->why, "%s", why);
    return false;
}

/* The Status value "NNN" or "NNN reason" (printable reason), 200-599; -1 otherwise. */
static int status_of(const gw_field *f)
{
    const char *v = f->value;
    if (f->value_len < 3 || (f->value_len > 3 && v[3] != ' '))
        return -1;
    for (int i = 0; i < 3; i++)
        if (v[i] < '0' || v[i] > '9')
            return -1;
    int s = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return s >= 200 && s <= 599 ? s : -1;
}

bool gw_cgi_parse(const char *out, size_t len, gw_cgi *r)
{
    memset(r, 0, sizeof *r);
    static const char *const hop[] = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"};
    bool have_status = false, have_type = false, have_loc = false;
    long long content_length = -1;
    size_t i = 0;
    for (;;) {
        size_t lim = len < GW_CGI_HEAD_MAX ? len : GW_CGI_HEAD_MAX;
        const char *nl = i < lim ? memchr(out + i, '\n', lim - i) : NULL;
        if (!nl)
            return refuse(r, len > GW_CGI_HEAD_MAX ? "header section too long" : "no end of the header section");
        size_t end = (size_t)(nl - out), le = end > i && out[end - 1] == '\r' ? end - 1 : end;
        if (le == i) { /* the empty line */
            r->body = end + 1;
            break;
        }
        if (r->n_fields == GW_CGI_FIELDS_MAX)
            return refuse(r, "too many header fields");
        size_t n = i;
        while (n < le && tchar((unsigned char)out[n]))
            n++;
        if (n == i || n >= le || out[n] != ':' || n - i > 64)
            return refuse(r, "a header line is not Name: value (Name an HTTP token)");
        size_t v = n + 1, ve = le;
        while (v < ve && (out[v] == ' ' || out[v] == '\t'))
            v++;
        while (ve > v && (out[ve - 1] == ' ' || out[ve - 1] == '\t'))
            ve--;
        for (size_t k = v; k < ve; k++) {
            unsigned char c = (unsigned char)out[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return refuse(r, "a header value holds a control character (CR, LF, NUL...)");
        }
        gw_field f = {out + i, out + v, n - i, ve - v};
        i = end + 1;
        for (size_t h = 0; h < sizeof hop / sizeof hop[0]; h++)
            if (named(&f, hop[h]))
                return refuse(r, "a hop-by-hop header field (Connection, Transfer-Encoding, ...)");
        if (f.name_len >= 6 && !strncasecmp(f.name, "proxy-", 6))
            return refuse(r, "a Proxy-* header field");
        if (named(&f, "status")) {
            if (have_status || (r->status = status_of(&f)) < 0)
                return refuse(r, "Status is not one NNN[ reason] in 200-599");
            have_status = true;
            continue;
        }
        if (named(&f, "content-length")) {
            char num[24];
            if (content_length >= 0 || f.value_len == 0 || f.value_len > 18 || strspn(f.value, "0123456789") < f.value_len)
                return refuse(r, "Content-Length is not one decimal number");
            snprintf(num, sizeof num, "%.*s", (int)f.value_len, f.value);
            content_length = atoll(num);
            continue;
        }
        if (named(&f, "location")) {
            if (have_loc || f.value_len == 0)
                return refuse(r, "Location given twice or empty");
            have_loc = true;
        }
        have_type |= named(&f, "content-type");
        r->fields[r->n_fields++] = f;
    }
    if (!have_status && !have_type && !have_loc)
        return refuse(r, "none of Content-Type, Location and Status");
    if (content_length >= 0 && (unsigned long long)content_length != len - r->body)
        return refuse(r, "Content-Length is not the body's length");
    if (!have_status)
        r->status = have_loc ? 302 : 200;
    return true;
}
