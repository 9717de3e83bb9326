/*
 * rtbench - measures, inside one capsule, each runtime path beside its plain-WASI peer:
 *   ping          elastos.call ping round trip      vs  clock_time_get (the cheapest WASI host call)
 *   storage read  4 KiB storage_read with a token   vs  open+read+close of the same file via /storage
 * Prints "NAME ns_per_call" lines. Run with --grant localhost://storage/ + "*" :read and :write.
 *   rtbench [N [ping|storage]]   N calls (100000); only that runtime path, without the peers
 *                                (instruction counts under callgrind)
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

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    const char *only = argc > 2 ? argv[2] : "";
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
