/*
 * webtest - a WAGI (CGI over WASI) test capsule for the HTTP front (tests/cli/test_web*.sh,
 * docs/web.md). What it does is chosen by the last segment of PATH_INFO:
 *   hello       "Content-Type: text/plain", body "hello from webtest"
 *   env         its whole environment, one NAME=VALUE a line, sorted (what a request gets)
 *   echo        the request body back (Content-Type as sent), with "X-Length: N"
 *   status      "Status: 201 Created" and "X-Test: yes"
 *   location    only "Location: /elsewhere" (the front makes it a 302)
 *   read        reads storage file "localhost://storage/greeting" and prints it, or "denied CODE" (status 403)
 *   write       writes the request body to storage file "localhost://storage/greeting"
 *   crash       aborts (a trap)              spin   loops forever (a limit)
 *   exit3       a good response, then exit 3
 *   inject-cr   a header value holding a CR + a second header (response splitting)
 *   inject-lf   a header line whose value hides "\nSet-Cookie" via a bare CR LF split
 *   badstatus   "Status: 2000 Oops"          nohead  a body without any header
 *   hop         "Transfer-Encoding: chunked" (a hop-by-hop header a capsule may not set)
 *   bighead     a 100 KiB header line         bigbody  4 MiB of body
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_body(size_t *n)
{
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap)
            b = realloc(b, cap *= 2);
    }
    *n = len;
    return b;
}

static volatile unsigned long sink;

int main(void)
{
    const char *pi = getenv("PATH_INFO");
    const char *mode = pi && strrchr(pi, '/') ? strrchr(pi, '/') + 1 : "";
    if (!strcmp(mode, "hello")) {
        printf("Content-Type: text/plain\n\nhello from webtest\n");
    } else if (!strcmp(mode, "env")) {
        size_t n = 0;
        while (environ[n])
            n++;
        qsort(environ, n, sizeof *environ, cmp);
        printf("Content-Type: text/plain\r\n\r\n");
        for (size_t i = 0; i < n; i++)
            printf("%s\n", environ[i]);
    } else if (!strcmp(mode, "echo")) {
        size_t n;
        char *b = read_body(&n);
        const char *ct = getenv("CONTENT_TYPE");
        printf("Content-Type: %s\nX-Length: %zu\n\n", ct && *ct ? ct : "application/octet-stream", n);
        fwrite(b, 1, n, stdout);
    } else if (!strcmp(mode, "status")) {
        printf("Status: 201 Created\nX-Test: yes\nContent-Type: text/plain\n\nmade\n");
    } else if (!strcmp(mode, "location")) {
        printf("Location: /elsewhere\n\n");
    } else if (!strcmp(mode, "read") || !strcmp(mode, "write")) {
        RuntimeClient *c = elastos_client_open();
        char *t = NULL, *tid = NULL;
        int w = !strcmp(mode, "write");
        if (!c || elastos_request_capability(c, "localhost://storage/*", w ? "write" : "read", NULL, &t, &tid) != 0) {
            printf("Status: 403 Forbidden\nContent-Type: text/plain\n\ndenied %s\n", c ? elastos_client_error_code(c) : "");
            return 0;
        }
        uint8_t *d;
        size_t n;
        if (w) {
            char *b = read_body(&n);
            if (elastos_storage_write(c, t, "localhost://storage/greeting", b, n) != 0) {
                printf("Status: 403 Forbidden\nContent-Type: text/plain\n\nwrite failed %s\n", elastos_client_error_code(c));
                return 0;
            }
            printf("Content-Type: text/plain\n\nwritten\n");
        } else if (elastos_storage_read(c, t, "localhost://storage/greeting", &d, &n) != 0) {
            printf("Status: 403 Forbidden\nContent-Type: text/plain\n\nread failed %s\n", elastos_client_error_code(c));
        } else {
            printf("Content-Type: text/plain\n\n%.*s\n", (int)n, (const char *)d);
        }
    } else if (!strcmp(mode, "crash")) {
        printf("Content-Type: text/plain\n\nsecret internals\n");
        fflush(stdout);
        abort();
    } else if (!strcmp(mode, "spin")) {
        for (;;)
            sink++;
    } else if (!strcmp(mode, "exit3")) {
        printf("Content-Type: text/plain\n\nfine\n");
        return 3;
    } else if (!strcmp(mode, "inject-cr")) {
        printf("Content-Type: text/plain\nX-A: a\rSet-Cookie: evil=1\n\nbody\n");
    } else if (!strcmp(mode, "inject-lf")) {
        printf("Content-Type: text/plain\nX-A: a\r\r\nSet-Cookie: evil=1\n\nbody\n");
    } else if (!strcmp(mode, "badstatus")) {
        printf("Status: 2000 Oops\nContent-Type: text/plain\n\nbody\n");
    } else if (!strcmp(mode, "nohead")) {
        printf("just a body\n");
    } else if (!strcmp(mode, "hop")) {
        printf("Content-Type: text/plain\nTransfer-Encoding: chunked\n\n0\r\n\r\n");
    } else if (!strcmp(mode, "bighead")) {
        printf("Content-Type: text/plain\nX-Big: ");
        for (int i = 0; i < 100 * 1024; i++)
            putchar('a');
        printf("\n\nbody\n");
    } else if (!strcmp(mode, "bigbody")) {
        printf("Content-Type: application/octet-stream\n\n");
        for (int i = 0; i < 4 * 1024 * 1024; i++)
            putchar('b');
    } else {
        printf("Status: 404 Not Found\nContent-Type: text/plain\n\nno mode %s\n", mode);
    }
    return 0;
}
