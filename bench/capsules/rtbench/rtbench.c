/*
 * rtbench - measures, inside one capsule, each runtime path beside its plain-WASI peer:
 *   ping          elastos.call ping round trip      vs  clock_time_get (the cheapest WASI host call)
 *   storage read  4 KiB storage_read with a token   vs  open+read+close of the same file via /storage
 * Prints "NAME ns_per_call" lines. Run with --grant localhost://storage/ + "*" :read and :write.
 *   rtbench [N [ping|storage]]   N calls (100000); only that runtime path, without the peers
 *                                (instruction counts under callgrind)
 *   rtbench N provider           N kv gets of 100 bytes through the elastos://kv/ provider capsule
 *                                vs N storage_reads of the same 100 bytes (grants: storage and
 *                                elastos://kv/ + "*" :execute): "kv_get_100 ns", "storage_read_100 ns"
 *   rtbench N egress URL         N GETs of URL through the egress provider (grant URL:read):
 *                                "egress_get ns"
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* N provider_calls of uri with body, each answer checked to hold want; ns per call, or -1. */
static double calls(RuntimeClient *c, int n, const char *tok, const char *uri, const char *body, const char *want)
{
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        char *r;
        if (elastos_provider_call(c, tok, uri, body, &r) != 0 || !strstr(r, want)) {
            fprintf(stderr, "rtbench: %s: %s\n", uri, elastos_client_error(c));
            return -1;
        }
        free(r);
    }
    return (now_ns() - t0) / n;
}

/* rtbench N provider | rtbench N egress URL (see the top of the file). */
static int providers(RuntimeClient *c, int n, const char *what, const char *url)
{
    char *tok, *rtok, *wtok;
    if (!strcmp(what, "egress")) {
        double t = url && elastos_request_capability(c, url, "read", NULL, &tok, NULL) == 0
                       ? calls(c, n, tok, url, "{\"max_bytes\":65536}", "\"status\":200")
                       : -1;
        printf("egress_get %.0f\n", t);
        return t < 0;
    }
    static char value[101], body[256];
    memset(value, 'v', 100);
    snprintf(body, sizeof body, "{\"key\":\"bench\",\"value\":\"%s\"}", value);
    if (elastos_request_capability(c, "elastos://kv/*", "execute", NULL, &tok, NULL) != 0 ||
        elastos_request_capability(c, "localhost://storage/*", "read", NULL, &rtok, NULL) != 0 ||
        elastos_request_capability(c, "localhost://storage/*", "write", NULL, &wtok, NULL) != 0 ||
        calls(c, 1, tok, "elastos://kv/put", body, "") < 0 ||
        elastos_storage_write(c, wtok, "localhost://storage/bench100.bin", value, 100) != 0) {
        fprintf(stderr, "rtbench: %s\n", elastos_client_error(c));
        return 1;
    }
    double kv = calls(c, n, tok, "elastos://kv/get", "{\"key\":\"bench\"}", value);
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        uint8_t *d;
        size_t len;
        if (elastos_storage_read(c, rtok, "localhost://storage/bench100.bin", &d, &len) != 0 || len != 100)
            return 1;
        free(d);
    }
    printf("kv_get_100 %.0f\nstorage_read_100 %.0f\n", kv, (now_ns() - t0) / n);
    return kv < 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    const char *only = argc > 2 ? argv[2] : "";
    if (n < 1)
        n = 1;
    if (!strcmp(only, "provider") || !strcmp(only, "egress")) {
        RuntimeClient *pc = elastos_client_open();
        int rc = pc ? providers(pc, n, only, argc > 3 ? argv[3] : NULL) : 1;
        elastos_client_close(pc);
        return rc;
    }
    RuntimeClient *c = elastos_client_open();
    char *rtok, *wtok;
    const char *path = "localhost://storage/bench.bin";
    if (!c || elastos_request_capability(c, "localhost://storage/*", "read", NULL, &rtok, NULL) != 0 ||
        elastos_request_capability(c, "localhost://storage/*", "write", NULL, &wtok, NULL) != 0) {
        fprintf(stderr, "rtbench: %s (run with --grant)\n", c ? elastos_client_error(c) : "no runtime");
        return 1;
    }
    static char block[4096];
    memset(block, 'b', sizeof block);
    if (elastos_storage_write(c, wtok, path, block, sizeof block) != 0)
        return 1;

    double t0 = now_ns();
    for (int i = 0; i < n && strcmp(only, "storage") != 0; i++)
        if (elastos_ping(c) != 0)
            return 1;
    double t1 = now_ns();
    for (int i = 0; i < n && !*only; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
    }
    double t2 = now_ns();
    printf("ping %.0f\nwasi_clock %.0f\n", (t1 - t0) / n, (t2 - t1) / n);

    int m = strcmp(only, "ping") != 0 ? n / 4 : 0;
    t0 = now_ns();
    for (int i = 0; i < m; i++) {
        uint8_t *d;
        size_t len;
        if (elastos_storage_read(c, rtok, path, &d, &len) != 0 || len != sizeof block)
            return 1;
        free(d);
    }
    t1 = now_ns();
    static char buf[8192];
    for (int i = 0; i < m && !*only; i++) {
        int fd = open("/storage/bench.bin", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) != (ssize_t)sizeof block)
            return 1;
        close(fd);
    }
    t2 = now_ns();
    printf("storage_read_4k %.0f\nwasi_read_4k %.0f\n", (t1 - t0) / m, (t2 - t1) / m);
    elastos_client_close(c);
    return 0;
}
