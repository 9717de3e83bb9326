/*
 * kv.c - the kv provider capsule: serves elastos://kv/ once the operator binds it
 * (elastos provider add elastos://kv/ kv --grant with read, write and delete on all of localhost://storage/).
 *
 * It serves calls one after another until the runtime has no more for it (docs/providers.md:
 * elastos serve keeps one instance for many calls, a standalone run one for the run).
 * Ops (the uri after the scheme): get {key} -> {value}, put {key, value} -> {ok}, del {key} ->
 * {ok}, whoami -> {seen: the call exactly as the runtime gave it}. Each caller
 * (NAME@PUBLISHER_ID, set by the runtime) has its own keys: they live under
 * /storage/<hex of the caller>/<hex of the key>, in this provider's own storage, which its
 * operator grant mounts; the consumer's token never reaches it, so it cannot act as the caller.
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include "kvjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX 128
#define VALUE_MAX 65536

static void hex(const char *s, char *out)
{
    for (; *s; s++, out += 2)
        sprintf(out, "%02x", (unsigned char)*s);
    *out = 0;
}

/* /storage/<hex caller>[/<hex key>] into path; the directory is created with dir. */
static int key_path(const char *caller, const char *key, char *path, size_t cap, int dir)
{
    char hc[2 * 200 + 1], hk[2 * KEY_MAX + 1];
    if (strlen(caller) > 200 || (key && (!*key || strlen(key) > KEY_MAX)))
        return -1;
    hex(caller, hc);
    snprintf(path, cap, "/storage/%s", hc);
    if (dir && mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    if (key) {
        hex(key, hk);
        size_t n = strlen(path);
        snprintf(path + n, cap - n, "/%s", hk);
    }
    return 0;
}

static int answer_text(RuntimeClient *c, uint64_t id, char *json)
{
    int rc = json ? elastos_answer_provider_call(c, id, json) : elastos_fail_provider_call(c, id, "internal", "out of memory");
    free(json);
    return rc;
}

static int serve(RuntimeClient *c, const ElastosProviderCall *call)
{
    char path[1024], *buf = NULL;
    size_t len = 0;
    char *key = kvjson_get(call->body_json, "key");
    int rc;
    if (!strcmp(call->op, "whoami")) {
        char *raw = NULL;
        if (elastos_client_call(c, "{\"type\":\"get_provider_call\"}", &raw) != 0) {
            free(key);
            return elastos_fail_provider_call(c, call->call_id, "internal", "get_provider_call failed");
        }
        FILE *f = open_memstream(&buf, &len);
        fputs("{\"seen\":", f);
        kvjson_put(f, raw);
        fputs("}", f);
        fclose(f);
        free(raw);
        rc = answer_text(c, call->call_id, buf);
    } else if (strcmp(call->op, "get") && strcmp(call->op, "put") && strcmp(call->op, "del")) {
        rc = elastos_fail_provider_call(c, call->call_id, "not_found", "unknown op (get, put, del, whoami)");
    } else if (!key || key_path(call->caller, key, path, sizeof path, !strcmp(call->op, "put")) != 0) {
        rc = elastos_fail_provider_call(c, call->call_id, "bad_request", "body: {\"key\": 1 to 128 bytes}");
    } else if (!strcmp(call->op, "put")) {
        char *value = kvjson_get(call->body_json, "value");
        FILE *f = value && strlen(value) <= VALUE_MAX ? fopen(path, "w") : NULL;
        int ok = f && fputs(value, f) >= 0;
        if (f && fclose(f) != 0)
            ok = 0;
        rc = !value || strlen(value) > VALUE_MAX
                 ? elastos_fail_provider_call(c, call->call_id, "bad_request", "body: {\"key\", \"value\": at most 64 KiB}")
             : ok ? elastos_answer_provider_call(c, call->call_id, "{\"ok\":true}")
                  : elastos_fail_provider_call(c, call->call_id, "internal", "cannot write the value");
        free(value);
    } else if (!strcmp(call->op, "del")) {
        rc = unlink(path) == 0 ? elastos_answer_provider_call(c, call->call_id, "{\"ok\":true}")
                               : elastos_fail_provider_call(c, call->call_id, "not_found", "no such key");
    } else {
        /* The value is on the heap: a capsule's whole stack is 64 KiB, and a VALUE_MAX array
         * here overran it into the SDK's and libc's static data. */
        FILE *f = fopen(path, "r");
        char *value = f ? malloc(VALUE_MAX + 1) : NULL;
        size_t n = value ? fread(value, 1, VALUE_MAX, f) : 0;
        if (f)
            fclose(f);
        if (value)
            value[n] = 0;
        if (!f) {
            rc = elastos_fail_provider_call(c, call->call_id, "not_found", "no such key");
        } else if (!value) {
            rc = elastos_fail_provider_call(c, call->call_id, "internal", "out of memory");
        } else {
            FILE *o = open_memstream(&buf, &len);
            fputs("{\"value\":", o);
            kvjson_put(o, value);
            fputs("}", o);
            fclose(o);
            free(value);
            rc = answer_text(c, call->call_id, buf);
        }
    }
    free(key);
    return rc;
}

int main(void)
{
    RuntimeClient *c = elastos_client_open();
    if (!c)
        return 2;
    ElastosProviderCall call;
    int served = 0, rc = 0;
    /* One call after another until the runtime has none for this instance: a kept instance in
     * elastos serve serves many, a standalone run's instance one. */
    while (rc == 0 && elastos_get_provider_call(c, &call) == 0) {
        rc = serve(c, &call);
        if (rc)
            fprintf(stderr, "kv: answering failed: %s\n", elastos_client_error(c));
        elastos_provider_call_free(&call);
        served++;
    }
    if (!served)
        fprintf(stderr, "kv: not started for a call: %s\n", elastos_client_error(c));
    elastos_client_close(c);
    return rc || !served ? 1 : 0;
}
