/*
 * bench_broker.c - host-side cost of the runtime protocol, without wasm: el_broker_session_handle for
 * ping and for a token-checked 4 KiB storage_read (what an elastos.call costs inside the runtime).
 *   bench_broker ARTIFACT PUBKEYFILE [N]   (the rtbench capsule and the key that signed it; N
 *   storage_reads, 50000 unless given, and 4N pings: a small N for callgrind)
 * Prints "broker_ping_ns N" and "broker_storage_read_4k_ns N".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elastos/broker.h"
#include "elastos/trust.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *call(el_session *s, unsigned long long *id, const char *inner, size_t *len)
{
    static char msg[16384];
    int n = snprintf(msg, sizeof msg, "{\"id\":%llu,\"request\":%s}", ++*id, inner);
    return el_broker_session_handle(s, msg, (size_t)n, len);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_broker ARTIFACT PUBKEYFILE [N]\n");
        return 64;
    }
    char home[] = "/tmp/elastos-bench-XXXXXX";
    el_runtime *rt;
    el_artifact *a;
    el_session *s;
    el_error err;
    uint8_t pk[EL_PK_BYTES];
    if (!mkdtemp(home) || el_runtime_open(home, &rt, &err) != EL_OK || el_sign_pubkey_parse(argv[2], pk, &err) != EL_OK ||
        el_trust_add(rt, pk, "bench", &err) != EL_OK || el_artifact_open(rt, argv[1], 0, &a, &err) != EL_OK ||
        el_broker_session_new(rt, a, NULL, &s, &err) != EL_OK || el_broker_session_grant(s, "localhost://storage/*:read", &err) != EL_OK ||
        el_broker_session_grant(s, "localhost://storage/*:write", &err) != EL_OK) {
        fprintf(stderr, "bench_broker: %s\n", err.msg);
        return 1;
    }
    unsigned long long id = 0;
    size_t len;
    char *r = call(s, &id, "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/*\",\"action\":\"write\"}", &len);
    char wtok[1024], rtok[1024], req[3 * 4096];
    sscanf(strstr(r, "\"token\":\"") + 9, "%1023[^\"]", wtok);
    free(r);
    r = call(s, &id, "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/*\",\"action\":\"read\"}", &len);
    sscanf(strstr(r, "\"token\":\"") + 9, "%1023[^\"]", rtok);
    free(r);
    static char b64[5500];
    memset(b64, 'A', 5460);
    b64[5460] = 0; /* 4095 bytes of zeros */
    snprintf(req, sizeof req, "{\"type\":\"storage_write\",\"token\":\"%s\",\"path\":\"localhost://storage/b.bin\",\"content\":\"%s\"}", wtok, b64);
    r = call(s, &id, req, &len);
    if (!strstr(r, "\"ok\"")) {
        fprintf(stderr, "bench_broker: write failed: %s\n", r);
        return 1;
    }
    free(r);
    int m = argc == 4 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 50000, n = 4 * m;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        free(call(s, &id, "{\"type\":\"ping\"}", &len));
    double t1 = now_ns();
    snprintf(req, sizeof req, "{\"type\":\"storage_read\",\"token\":\"%s\",\"path\":\"localhost://storage/b.bin\"}", rtok);
    for (int i = 0; i < m; i++) {
        r = call(s, &id, req, &len);
        if (i == 0 && !strstr(r, "storage_data")) {
            fprintf(stderr, "bench_broker: read failed: %s\n", r);
            return 1;
        }
        free(r);
    }
    double t2 = now_ns();
    printf("broker_ping_ns %.0f\nbroker_storage_read_4k_ns %.0f\n", (t1 - t0) / n, (t2 - t1) / m);
    el_broker_session_free(s);
    el_artifact_close(a);
    el_runtime_close(rt);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    return system(cmd) == 0 ? 0 : 1;
}
