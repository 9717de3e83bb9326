/*
 * provtest.c - a provider capsule that misbehaves on purpose, for tests/cli/test_provider.sh.
 * Declares elastos://kv/ like capsules/kv; by op: crash (traps), hang (spins until the runtime's
 * deadline), silent (exits without answering), garbage (sends a malformed answer, then exits),
 * twice (answers, then tries again and reports the refusal in its second result), badcode (fails
 * with a code that is not a protocol code), chain (calls elastos://kv/ itself with a token it
 * holds, and answers what the runtime said: a provider cannot call a provider capsule), get
 * (answers {"value":"from-provtest"}: told apart from the real kv when it must never be used),
 * slow (answers after 4 s, then serves further calls as get: one instance, many calls), count
 * (answers {"served":N}, N the calls this instance has taken, and serves every further call so:
 * it tells one instance kept across calls from one started per call).
 * Run as an ordinary capsule (no call), it prints the refusal of get_provider_call.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
    RuntimeClient *c = elastos_client_open();
    ElastosProviderCall call;
    if (!c)
        return 1;
    if (elastos_get_provider_call(c, &call) != 0) {
        printf("provtest: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
        return 1;
    }
    const char *op = call.op;
    if (!strcmp(op, "crash"))
        __builtin_trap();
    if (!strcmp(op, "hang"))
        for (volatile unsigned long i = 0;; i++)
            ;
    if (!strcmp(op, "slow")) {
        struct timespec t = {.tv_sec = 4};
        nanosleep(&t, NULL);
        do {
            if (elastos_answer_provider_call(c, call.call_id, "{\"value\":\"from-provtest\"}") != 0)
                return 3;
        } while (elastos_get_provider_call(c, &call) == 0);
        return 0;
    }
    if (!strcmp(op, "count")) {
        unsigned served = 0;
        char out[64];
        do {
            snprintf(out, sizeof out, "{\"served\":%u}", ++served);
            if (!strcmp(call.op, "crash"))
                __builtin_trap();
            if (!strcmp(call.op, "hang"))
                for (volatile unsigned long i = 0;; i++)
                    ;
            if (elastos_answer_provider_call(c, call.call_id, out) != 0)
                return 3;
        } while (elastos_get_provider_call(c, &call) == 0);
        return 0;
    }
    if (!strcmp(op, "silent"))
        return 0;
    if (!strcmp(op, "garbage")) {
        char *r = NULL;
        elastos_client_call(c, "{\"type\":\"answer_provider_call\",\"call_id\":\"x\",\"result\":1}", &r);
        free(r);
        return 0;
    }
    if (!strcmp(op, "badcode"))
        return elastos_fail_provider_call(c, call.call_id, "pwned", "forged") == 0 ? 0 : 3;
    if (!strcmp(op, "chain")) {
        char *token = NULL, *res = NULL, out[700];
        if (elastos_request_capability(c, "elastos://kv/*", "execute", NULL, &token, NULL) != 0 ||
            elastos_provider_call(c, token, "elastos://kv/get", "{}", &res) == 0)
            snprintf(out, sizeof out, "{\"chain\":\"unexpected: %s\"}", res ? "answered" : "no token");
        else
            snprintf(out, sizeof out, "{\"chain\":\"%s\"}", elastos_client_error_code(c));
        free(res);
        free(token);
        return elastos_answer_provider_call(c, call.call_id, out) == 0 ? 0 : 3;
    }
    if (!strcmp(op, "twice")) {
        elastos_answer_provider_call(c, call.call_id, "{\"first\":true}");
        int rc = elastos_answer_provider_call(c, call.call_id, "{\"second\":true}");
        fprintf(stderr, "second answer: %d %s\n", rc, elastos_client_error_code(c));
        return 0;
    }
    return elastos_answer_provider_call(c, call.call_id, "{\"value\":\"from-provtest\"}") == 0 ? 0 : 3;
}
