/*
 * bench_verify.c - Ed25519 signature verifications per second on one core, through libelastos's
 * own verify path (domain-separated digest signature, libsodium), for `make bench`.
 * Prints "verify_per_sec N".
 */
#include <stdio.h>
#include <time.h>

#include "elastos/sign.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    el_keypair kp;
    el_error err;
    if (el_sign_keypair_generate(&kp, &err) != EL_OK)
        return 1;
    uint8_t digest[32] = {1, 2, 3}, sig[EL_SIG_BYTES];
    el_sign_digest(&kp, "elastos/artifact/v1", digest, sig);
    long n = 0, ok = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1000; i++, n++)
            ok += el_sign_verify_digest(kp.pk, "elastos/artifact/v1", digest, sig);
        t = now();
    } while (t - t0 < 2.0);
    if (ok != n) {
        fprintf(stderr, "bench_verify: a valid signature failed to verify\n");
        return 1;
    }
    printf("verify_per_sec %.0f\n", (double)n / (t - t0));
    return 0;
}
