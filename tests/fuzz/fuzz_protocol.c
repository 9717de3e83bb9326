/*
 * fuzz_protocol.c - libFuzzer target for the runtime side of the protocol: the input is one
 * message handed to a real session (el_broker_session_handle) of a real, signed capsule with a storage
 * grant, twice (the second time out of order). The session must always answer with one valid
 * JSON response and never crash, leak, or write outside the capsule's storage; and what
 * el__request_parse accepts is never nested deeper than EL_MSG_MAX_DEPTH (docs/protocol.md).
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elastos/broker.h"
#include "protocol_internal.h" /* internal: the framing the library parses */
#include "elastos/trust.h"

static el_runtime *rt;
static el_artifact *art;
static char home[] = "/dev/shm/elastos-fuzz-protocol-XXXXXX";

static void cleanup(void)
{
    char cmd[sizeof home + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_protocol: could not remove %s\n", home);
}

static void setup(void)
{
    if (!mkdtemp(home)) {
        strcpy(home, "/tmp/elastos-fuzz-protocol-XXXXXX");
        if (!mkdtemp(home))
            abort();
    }
    atexit(cleanup);
    char dir[PATH_MAX], path[PATH_MAX];
    el_error err;
    el_keypair kp;
    snprintf(dir, sizeof dir, "%s/src", home);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/capsule.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"name\":\"fz\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"m.wasm\",\"permissions\":["
          "{\"resource\":\"localhost://storage/*\",\"actions\":[\"read\",\"write\",\"delete\"]},"
          "{\"resource\":\"elastos://cid/*\",\"actions\":[\"read\"]}]}", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/m.wasm", dir);
    f = fopen(path, "w");
    fputs("\0asm", f);
    fclose(f);
    char out[PATH_MAX], cid[EL_CID_MAX];
    snprintf(out, sizeof out, "%s/fz.capsule", home);
    if (el_runtime_open(home, &rt, &err) != EL_OK || el_sign_keypair_generate(&kp, &err) != EL_OK ||
        el_artifact_pack(dir, &kp, out, NULL, cid, &err) != EL_OK || el_trust_add(rt, kp.pk, "fuzz", &err) != EL_OK ||
        el_artifact_open(rt, out, 0, &art, &err) != EL_OK) {
        fprintf(stderr, "fuzz_protocol setup: %s\n", err.msg);
        abort();
    }
    setenv("ELASTOS_SHELL", "/nonexistent", 1); /* decisions deny without running a shell */
}

static void answer_is_valid(const char *r, size_t len)
{
    json_error_t je;
    json_t *v = r ? json_loadb(r, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!v || !json_is_integer(json_object_get(v, "id")) ||
        !json_is_string(json_object_get(json_object_get(v, "response"), "type")))
        abort();
    json_decref(v);
}

/* Levels of arrays and objects in v, v itself counting 1 (scalars 0). */
static int depth_of(json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            int c = depth_of(e);
            d = c > d ? c : d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            int c = depth_of(e);
            d = c > d ? c : d;
        }
    } else {
        return 0;
    }
    return d + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rt)
        setup();
    el_request q;
    uint64_t qid;
    el_error perr;
    if (el__request_parse(data, size, &q, &qid, &perr) == EL_OK) {
        if (depth_of(q.body) + 1 > EL_MSG_MAX_DEPTH) /* + 1: the envelope around the body */
            abort();
        el__request_free(&q);
    }
    el_session *s;
    el_error err;
    if (el_broker_session_new(rt, art, NULL, &s, &err) != EL_OK)
        abort();
    el_broker_session_grant(s, "localhost://storage/*:read", &err);
    el_broker_session_grant(s, "localhost://storage/*:write", &err);
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *r = el_broker_session_handle(s, data, size, &len);
        answer_is_valid(r, len);
        free(r);
    }
    el_broker_session_free(s);
    return 0;
}
