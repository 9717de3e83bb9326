/*
 * http-get.c - `http-get [-X METHOD] [-d DATA] [-H 'Name: value']... [--follow N]
 * [--max-bytes N] [--timeout-ms N] [--token-for PATTERN] [-i] URL`: one HTTP(S) request through the runtime's egress
 * provider (docs/providers.md "Egress"), the body on stdout like `curl -s` (-i: the status line
 * "HTTP <status>" and any location first). It asks for a token for exactly the URL's resource,
 * SCHEME://HOST:PORT/PATH (the port made explicit, the query left out), which its manifest's
 * permissions must cover: repack it with the APIs you call (--token-for asks for PATTERN instead,
 * e.g. the pattern of a whole API, to follow a redirect inside it). Errors: "http-get: CODE: MESSAGE"
 * on stdout, exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include "../kv/kvjson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: http-get [-X METHOD] [-d DATA] [-H 'Name: value']... [--follow N] [--max-bytes N] "
                    "[--timeout-ms N] [--token-for PATTERN] [-i] URL\n");
    return 64;
}

/* SCHEME://HOST:PORT/PATH of url (port made explicit, no query); 0 on success. */
static int resource_of(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    int https = !strncmp(url, "https://", 8);
    const char *host = p + 3, *end = host + strcspn(host, "/?#");
    const char *colon = NULL;
    for (const char *q = host; q < end; q++)
        if (*q == ':' && (host[0] != '[' || (q > host && q[-1] == ']')))
            colon = q;
    const char *path = *end == '/' ? end : "/";
    size_t pl = *end == '/' ? strcspn(end, "?#") : 1;
    int n = colon ? snprintf(out, cap, "%.*s%.*s", (int)(end - url), url, (int)pl, path)
                  : snprintf(out, cap, "%.*s:%s%.*s", (int)(end - url), url, https ? "443" : "80", (int)pl, path);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static char *b64(const char *s)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    for (size_t i = 0; out && i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16 | (i + 1 < n ? (uint32_t)(unsigned char)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned char)s[i + 2] : 0);
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    if (out)
        out[o] = 0;
    return out;
}

static void unb64_print(const char *s)
{
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *T = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *c = strchr(T, *s);
        if (!c)
            return;
        acc = acc << 6 | (uint32_t)(c - T);
        if ((bits += 6) >= 8) {
            bits -= 8;
            putchar((int)(acc >> bits & 0xff));
        }
    }
}

int main(int argc, char **argv)
{
    const char *method = NULL, *data = NULL, *url = NULL, *hdr[16], *token_for = NULL;
    long follow = -1, max = -1, tmo = -1;
    int nh = 0, show = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-i"))
            show = 1;
        else if (i + 1 < argc && !strcmp(a, "-X"))
            method = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "-d"))
            data = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "-H") && nh < 16)
            hdr[nh++] = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--follow"))
            follow = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--max-bytes"))
            max = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--token-for"))
            token_for = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--timeout-ms"))
            tmo = atol(argv[++i]);
        else if (!url && a[0] != '-')
            url = a;
        else
            return usage();
    }
    char resource[1100];
    if (!url || resource_of(url, resource, sizeof resource))
        return usage();
    const char *m = method ? method : data ? "POST" : "GET";
    int write = strcmp(m, "GET") && strcmp(m, "HEAD");
    RuntimeClient *c = elastos_client_open();
    if (!c)
        return 2;
    char *token = NULL, *body = NULL, *result = NULL;
    size_t blen = 0;
    if (elastos_request_capability(c, token_for ? token_for : resource, write ? "write" : "read", NULL, &token, NULL) != 0) {
        printf("http-get: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
        return 1;
    }
    FILE *f = open_memstream(&body, &blen);
    fprintf(f, "{\"method\":\"%s\"", m);
    if (data) {
        char *d = b64(data);
        fprintf(f, ",\"body\":\"%s\"", d ? d : "");
        free(d);
    }
    if (nh) {
        fputs(",\"headers\":{", f);
        for (int i = 0; i < nh; i++) {
            char name[128];
            size_t nl = strcspn(hdr[i], ":");
            snprintf(name, sizeof name, "%.*s", (int)nl, hdr[i]);
            const char *v = hdr[i][nl] ? hdr[i] + nl + 1 : "";
            while (*v == ' ')
                v++;
            fputs(i ? "," : "", f);
            kvjson_put(f, name);
            fputc(':', f);
            kvjson_put(f, v);
        }
        fputc('}', f);
    }
    if (follow >= 0)
        fprintf(f, ",\"follow\":%ld", follow);
    if (max >= 0)
        fprintf(f, ",\"max_bytes\":%ld", max);
    if (tmo >= 0)
        fprintf(f, ",\"timeout_ms\":%ld", tmo);
    fputc('}', f);
    fclose(f);
    int rc = 0;
    if (elastos_provider_call(c, token, url, body, &result) != 0) {
        printf("http-get: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
        rc = 1;
    } else {
        char *b = kvjson_get(result, "body"), *loc = kvjson_get(result, "location");
        const char *st = strstr(result, "\"status\":");
        if (show)
            printf("HTTP %ld%s%s\n", st ? atol(st + 9) : 0L, loc ? " location: " : "", loc ? loc : "");
        if (b)
            unb64_print(b);
        fflush(stdout);
        free(b);
        free(loc);
    }
    free(result);
    free(body);
    free(token);
    elastos_client_close(c);
    return rc;
}
