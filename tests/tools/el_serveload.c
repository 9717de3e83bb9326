/*
 * el_serveload.c - load driver for `elastos serve` (tests and make bench): launches a capsule in
 * the daemon of $ELASTOS_HOME again and again, each run to exit and reaped, and reports latency;
 * optionally samples the daemon's resident memory and open descriptors.
 *   el-serveload seq N PATH [--pid PID] [--threads T] [--expect CODE] [--one] [-- ARGS...]
 * (--one: each launch is one request, run with "wait": true; else run, then wait with reap)
 * prints lines "key value": launches, seconds, launches_per_sec, p50_us, p99_us, max_us,
 * failures; with --pid also rss_kib_start (after the first 10% of launches, the warm-up),
 * rss_kib_end, fds_start, fds_end.
 *   el-serveload start N PATH [-- ARGS...]   launches N detached instances, prints their ids
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "elastos/serve.h"

#include <jansson.h>

static el_runtime *rt;
static const char *path;
static json_t *args;
static long expect_code = 0;
static int one_request = 0; /* --one: {"op":"run","wait":true} launches, runs and reaps in one request */

typedef struct worker {
    pthread_t th;
    long n;
    double *lat; /* microseconds */
    long failures;
    char first_error[512];
} worker;

/* el_serve_call with JSON values, releasing req. */
static el_status call(int fd, json_t *req, json_t **resp, el_error *err)
{
    char *text = json_dumps(req, JSON_COMPACT), *line = NULL;
    json_decref(req);
    el_status st = text ? el_serve_call(fd, text, &line, err) : el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    free(text);
    *resp = line ? json_loads(line, 0, NULL) : NULL;
    free(line);
    if (st == EL_OK && !json_is_object(*resp)) {
        json_decref(*resp);
        *resp = NULL;
        st = el_error_set(err, EL_ERR_IO, "serve: malformed response");
    }
    return st;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int launch_wait(int fd, worker *w, double *us)
{
    el_error err;
    json_t *resp = NULL;
    double t0 = now_us();
    if (one_request) {
        el_status st = call(fd, json_pack("{s:s, s:s, s:O, s:b}", "op", "run", "path", path, "args", args, "wait", 1),
                                     &resp, &err);
        *us = now_us() - t0;
        long code = resp ? (long)json_integer_value(json_object_get(json_object_get(resp, "instance"), "exit_code")) : -1;
        int bad = st != EL_OK || !json_is_true(json_object_get(resp, "ok")) || code != expect_code;
        if (bad && !w->first_error[0])
            snprintf(w->first_error, sizeof w->first_error, "exit %ld: %s", code,
                     st != EL_OK ? err.msg : json_string_value(json_object_get(resp, "error")));
        json_decref(resp);
        return bad ? -1 : 0;
    }
    el_status st = call(fd, json_pack("{s:s, s:s, s:O}", "op", "run", "path", path, "args", args), &resp, &err);
    const char *id = resp ? json_string_value(json_object_get(resp, "id")) : NULL;
    if (st != EL_OK || !id) {
        if (!w->first_error[0])
            snprintf(w->first_error, sizeof w->first_error, "%s", st != EL_OK ? err.msg : json_string_value(json_object_get(resp, "error")));
        json_decref(resp);
        return -1;
    }
    json_t *wr = NULL;
    st = call(fd, json_pack("{s:s, s:s, s:b}", "op", "wait", "id", id, "reap", 1), &wr, &err);
    *us = now_us() - t0;
    json_decref(resp);
    long code = wr ? (long)json_integer_value(json_object_get(json_object_get(wr, "instance"), "exit_code")) : -1;
    if (st != EL_OK || !json_is_true(json_object_get(wr, "ok")) || code != expect_code) {
        if (!w->first_error[0])
            snprintf(w->first_error, sizeof w->first_error, "exit %ld: %s", code,
                     wr ? json_string_value(json_object_get(json_object_get(wr, "instance"), "reason")) : err.msg);
        json_decref(wr);
        return -1;
    }
    json_decref(wr);
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    int fd;
    el_error err;
    if (el_serve_connect(rt, &fd, &err) != EL_OK) {
        snprintf(w->first_error, sizeof w->first_error, "%s", err.msg);
        w->failures = w->n;
        return NULL;
    }
    for (long i = 0; i < w->n; i++)
        if (launch_wait(fd, w, &w->lat[i]) != 0) {
            w->failures++;
            w->lat[i] = 0;
        }
    close(fd);
    return NULL;
}

/* The proc fields of pid: VmRSS in KiB and the number of open descriptors. */
static void sample(int pid, long *rss, long *fds)
{
    char p[64], line[256];
    *rss = *fds = -1;
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            *rss = atol(line + 6);
    if (f)
        fclose(f);
    snprintf(p, sizeof p, "/proc/%d/fd", pid);
    DIR *d = opendir(p);
    long n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d) {
        closedir(d);
        *fds = n;
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_seq(long n, int pid, int threads)
{
    worker *ws = calloc((size_t)threads, sizeof *ws);
    long warm = n / 10 ? n / 10 : 1, rss0 = -1, fds0 = -1, rss1 = -1, fds1 = -1;
    /* warm-up, then the measured launches */
    worker wu = {.n = warm, .lat = calloc((size_t)warm, sizeof(double))};
    worker_main(&wu);
    if (wu.failures) {
        fprintf(stderr, "el-serveload: warm-up failed: %s\n", wu.first_error);
        return 1;
    }
    struct timespec settle = {0, 300 * 1000000L}; /* the daemon closes its side of finished connections */
    if (pid > 0) {
        nanosleep(&settle, NULL);
        sample(pid, &rss0, &fds0);
    }
    double t0 = now_us();
    for (int t = 0; t < threads; t++) {
        ws[t].n = n / threads + (t < n % threads);
        ws[t].lat = calloc((size_t)ws[t].n + 1, sizeof(double));
        pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
    }
    long failures = 0, k = 0;
    double *all = calloc((size_t)n + 1, sizeof(double));
    for (int t = 0; t < threads; t++) {
        pthread_join(ws[t].th, NULL);
        failures += ws[t].failures;
        for (long i = 0; i < ws[t].n; i++)
            if (ws[t].lat[i] > 0)
                all[k++] = ws[t].lat[i];
        if (ws[t].first_error[0])
            fprintf(stderr, "el-serveload: %s\n", ws[t].first_error);
    }
    double secs = (now_us() - t0) / 1e6;
    for (int t = 0; t < threads; t++)
        free(ws[t].lat);
    free(ws);
    free(wu.lat);
    if (pid > 0) {
        nanosleep(&settle, NULL);
        sample(pid, &rss1, &fds1);
    }
    qsort(all, (size_t)k, sizeof *all, cmp);
    printf("launches %ld\nseconds %.3f\nlaunches_per_sec %.1f\n", n, secs, (double)n / secs);
    printf("p50_us %.1f\np99_us %.1f\nmax_us %.1f\nfailures %ld\n", k ? all[k / 2] : 0, k ? all[k * 99 / 100] : 0,
           k ? all[k - 1] : 0, failures);
    if (pid > 0)
        printf("rss_kib_start %ld\nrss_kib_end %ld\nfds_start %ld\nfds_end %ld\n", rss0, rss1, fds0, fds1);
    free(all);
    return failures ? 1 : 0;
}

static int run_start(long n)
{
    int fd;
    el_error err;
    if (el_serve_connect(rt, &fd, &err) != EL_OK) {
        fprintf(stderr, "el-serveload: %s\n", err.msg);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        json_t *resp;
        if (call(fd, json_pack("{s:s, s:s, s:O}", "op", "run", "path", path, "args", args), &resp, &err) != EL_OK) {
            fprintf(stderr, "el-serveload: %s\n", err.msg);
            return 1;
        }
        const char *id = json_string_value(json_object_get(resp, "id"));
        if (!id) {
            fprintf(stderr, "el-serveload: launch %ld: %s\n", i, json_string_value(json_object_get(resp, "error")));
            json_decref(resp);
            return 1;
        }
        printf("%s\n", id);
        json_decref(resp);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "seq") && strcmp(argv[1], "start"))) {
        fprintf(stderr, "usage: el-serveload seq|start N PATH [--pid PID] [--threads T] [--expect CODE] [-- ARGS...]\n");
        return 64;
    }
    long n = atol(argv[2]);
    path = argv[3];
    int pid = 0, threads = 1;
    args = json_array();
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--pid") && i + 1 < argc)
            pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--one"))
            one_request = 1;
        else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
            expect_code = atol(argv[++i]);
        else if (!strcmp(argv[i], "--")) {
            for (i++; i < argc; i++)
                json_array_append_new(args, json_string(argv[i]));
        }
    }
    el_error err;
    if (el_runtime_open(NULL, &rt, &err) != EL_OK) {
        fprintf(stderr, "el-serveload: %s\n", err.msg);
        return 1;
    }
    int rc = !strcmp(argv[1], "seq") ? run_seq(n, pid, threads < 1 ? 1 : threads) : run_start(n);
    el_runtime_close(rt);
    json_decref(args);
    return rc;
}
