/*
 * kvjson.h - the two JSON pieces the kv example capsules need, with no JSON library: reading a
 * string member of a flat object (the provider call's compact body) and writing a JSON string.
 * Header-only, shared by capsules/kv and capsules/kv-cli.
 */
#ifndef KVJSON_H
#define KVJSON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string value of member key of the flat JSON object text, unescaped (malloc'd), or NULL
 * when absent, not a string, or using an escape this reader does not take (\u above 0x7f). */
static inline char *kvjson_get(const char *text, const char *key)
{
    size_t kl = strlen(key);
    const char *p = text;
    while ((p = strchr(p, '"'))) {
        /* a member name is a string right after '{' or ','; values are skipped below */
        const char *q = p - 1;
        while (q >= text && (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r'))
            q--;
        bool name = q >= text && (*q == '{' || *q == ',');
        const char *end = p + 1;
        while (*end && *end != '"')
            end += *end == '\\' && end[1] ? 2 : 1;
        if (!*end)
            return NULL;
        if (name && (size_t)(end - p - 1) == kl && !memcmp(p + 1, key, kl)) {
            const char *v = end + 1;
            while (*v == ' ' || *v == ':')
                v++;
            if (*v != '"')
                return NULL;
            char *out = malloc(strlen(v) + 1), *w = out;
            if (!out)
                return NULL;
            for (v++; *v && *v != '"'; v++) {
                if (*v != '\\') {
                    *w++ = *v;
                    continue;
                }
                v++;
                char e = *v == 'b' ? '\b' : *v == 'f' ? '\f' : *v == 'n' ? '\n' : *v == 'r' ? '\r' : *v == 't' ? '\t'
                       : (*v == '"' || *v == '\\' || *v == '/') ? *v : 0;
                unsigned c = 0;
                if (e) {
                    *w++ = e;
                } else if (*v == 'u' && sscanf(v + 1, "%4x", &c) == 1 && c > 0 && c <= 0x7f) {
                    *w++ = (char)c;
                    v += 4;
                } else {
                    free(out);
                    return NULL;
                }
            }
            *w = 0;
            return out;
        }
        p = end + 1;
    }
    return NULL;
}

/* Writes s as a JSON string (quotes included) to f. */
static inline void kvjson_put(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

#endif
