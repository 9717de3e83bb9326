/*
 * bench_token.c - capability-token checks per second on one core (el_token_check of a token
 * without max_uses: decode, cached signature, holder/action/resource/epoch/revocation/time
 * checks, one "PRAGMA data_version" probe), for `make bench`. Runs on a fresh temporary
 * $ELASTOS_HOME, removed afterwards. Prints "token_checks_per_sec N"; exits non-zero if any
 * check fails.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elastos/manifest.h"
#include "elastos/token.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    char home[] = "/tmp/el-bench-token-XXXXXX";
    if (!mkdtemp(home)) {
        perror("bench_token: mkdtemp");
        return 1;
    }
    int rc = 1;
    el_error err;
    el_runtime *rt = NULL;
    char *text = NULL;
    const char *holder = "0123456789abcdef0123456789abcdef";
    if (el_runtime_open(home, &rt, &err) != EL_OK) {
        fprintf(stderr, "bench_token: %s\n", err.msg);
        goto out;
    }
    el_token_request req = {.holder_hex = holder, .capsule_name = "bench", .publisher = "",
                            .resource = "localhost://storage/notes/*", .action = EL_ACT_READ};
    if (el_token_issue(rt, &req, &text, NULL, &err) != EL_OK) {
        fprintf(stderr, "bench_token: issue: %s\n", err.msg);
        goto out;
    }
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1000; i++, n++) {
            const char *code;
            if (el_token_check(rt, text, holder, "localhost://storage/notes/today.txt", EL_ACT_READ, NULL, &code,
                               &err) != EL_OK) {
                fprintf(stderr, "bench_token: a valid token failed its check (%s): %s\n", code, err.msg);
                goto out;
            }
        }
        t = now();
    } while (t - t0 < 2.0);
    printf("token_checks_per_sec %.0f\n", (double)n / (t - t0));
    rc = 0;
out:
    free(text);
    el_runtime_close(rt);
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
