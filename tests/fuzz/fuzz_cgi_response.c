/*
 * fuzz_cgi_response.c - libFuzzer target for the elastos-gateway's parsers of outside input
 * (gateway/cgi.h): a capsule's CGI response and a client's request target. Whatever is
 * accepted must be safe to put on the wire: a status in 200-599, field names that are HTTP
 * tokens, values without CR, LF, NUL or other control bytes, the body inside the input; a
 * target's path absolute, without control bytes or "." / ".." segments.
 */
#include <stdlib.h>
#include <string.h>

#include "cgi.h"

static void check_response(const char *d, size_t n)
{
    gw_cgi g;
    if (!gw_cgi_parse(d, n, &g)) {
        if (!g.why[0])
            abort();
        return;
    }
    if (g.status < 200 || g.status > 599 || g.body > n || g.n_fields > GW_CGI_FIELDS_MAX)
        abort();
    for (size_t i = 0; i < g.n_fields; i++) {
        const gw_field *f = &g.fields[i];
        if (!f->name_len || f->name < d || f->value + f->value_len > d + n)
            abort();
        for (size_t k = 0; k < f->name_len; k++)
            if ((unsigned char)f->name[k] <= 0x20 || f->name[k] == ':' || f->name[k] == 0x7f)
                abort();
        for (size_t k = 0; k < f->value_len; k++)
            if (((unsigned char)f->value[k] < 0x20 && f->value[k] != '\t') || f->value[k] == 0x7f)
                abort();
    }
}

static void check_target(const char *d, size_t n)
{
    char *t = malloc(n + 1), path[GW_PATH_MAX];
    if (!t)
        return;
    memcpy(t, d, n);
    t[n] = 0;
    const char *q;
    size_t ql;
    if (gw_target_parse(t, path, &q, &ql)) {
        size_t pl = strlen(path);
        if (path[0] != '/' || pl >= GW_PATH_MAX || strstr(path, "/../") || strstr(path, "/./") ||
            (pl >= 3 && !strcmp(path + pl - 3, "/..")) || (pl >= 2 && !strcmp(path + pl - 2, "/.")))
            abort();
        for (size_t k = 0; k < pl; k++)
            if ((unsigned char)path[k] < 0x20 || path[k] == 0x7f)
                abort();
        if (ql && (q < t || q + ql > t + n))
            abort();
    }
    free(t);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    check_response((const char *)data, size);
    check_target((const char *)data, size);
    return 0;
}
