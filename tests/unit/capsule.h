/*
 * capsule.h - for unit tests that need a real, signed, trusted capsule and a session on it
 * (test_broker.c, test_storage.c): a fresh home, a publisher key it trusts, a capsule packed
 * from a manifest, and a request helper that numbers the protocol ids.
 */
#ifndef ELASTOS_TEST_CAPSULE_H
#define ELASTOS_TEST_CAPSULE_H

#include "elastos/artifact.h"
#include "elastos/broker.h"
#include "elastos/trust.h"
#include "harness.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct test_capsule {
    char dir[PATH_MAX]; /* the temporary directory (home/ is the runtime's) */
    el_runtime *rt;
    el_artifact *art;
    el_session *s;
    uint64_t id; /* the last request id sent */
} test_capsule;

static inline void tc_put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    if (fd >= 0)
        close(fd);
}

/* Opens a runtime on a fresh home, packs a capsule with manifest `manifest` (its entry
 * main.wasm holds a few bytes: the session never runs it), trusts its publisher, opens it and
 * starts a session with grants (NULL-terminated RESOURCE:ACTION specs). The shell is pointed
 * at a file that does not exist, so anything the grants don't cover is denied. */
static inline bool tc_open(test_capsule *t, const char *tag, const char *manifest, const char *const *grants)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/el-test-%s-XXXXXX", tag);
    if (!mkdtemp(t->dir))
        return false;
    setenv("ELASTOS_SHELL", "/nonexistent/shell.capsule", 1);
    char home[PATH_MAX], src[PATH_MAX], f[PATH_MAX + 16], out[PATH_MAX], cid[EL_CID_MAX];
    snprintf(home, sizeof home, "%s/home", t->dir);
    snprintf(src, sizeof src, "%s/src", t->dir);
    snprintf(out, sizeof out, "%s/c.capsule", t->dir);
    mkdir(src, 0755);
    snprintf(f, sizeof f, "%s/capsule.json", src);
    tc_put(f, manifest);
    snprintf(f, sizeof f, "%s/main.wasm", src);
    tc_put(f, "(never run)");
    el_keypair kp;
    el_error err = {0};
    bool ok = el_runtime_open(home, &t->rt, &err) == EL_OK && el_sign_keypair_generate(&kp, &err) == EL_OK &&
              el_trust_add(t->rt, kp.pk, "test", &err) == EL_OK &&
              el_artifact_pack(src, &kp, out, NULL, cid, &err) == EL_OK &&
              el_artifact_open(t->rt, out, 0, &t->art, &err) == EL_OK &&
              el_broker_session_new(t->rt, t->art, NULL, &t->s, &err) == EL_OK;
    for (size_t i = 0; ok && grants && grants[i]; i++)
        ok = el_broker_session_grant(t->s, grants[i], &err) == EL_OK;
    if (!ok)
        fprintf(stderr, "%s: set-up: %s\n", tag, err.msg);
    return ok;
}

static inline void tc_close(test_capsule *t)
{
    el_broker_session_free(t->s);
    el_artifact_close(t->art);
    el_runtime_close(t->rt);
    rm_rf(t->dir);
}

/* Sends {"id": next, "request": body} and returns the response's inner object (new reference;
 * NULL when the answer is not JSON or has the wrong id). */
static inline json_t *tc_call(test_capsule *t, const char *body)
{
    size_t cap = strlen(body) + 64;
    char *msg = malloc(cap);
    int n = snprintf(msg, cap, "{\"id\":%llu,\"request\":%s}", (unsigned long long)++t->id, body);
    size_t len;
    char *resp = el_broker_session_handle(t->s, msg, (size_t)n, &len);
    free(msg);
    json_t *root = resp ? json_loadb(resp, len, 0, NULL) : NULL;
    free(resp);
    json_t *r = json_object_get(root, "response");
    bool id_ok = json_integer_value(json_object_get(root, "id")) == (json_int_t)t->id;
    json_incref(r);
    json_decref(root);
    if (!id_ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* The response's "type", or for an error "error:<code>" (static buffer). */
static inline const char *tc_kind(const json_t *r)
{
    static char k[128];
    const char *type = json_string_value(json_object_get(r, "type"));
    if (type && !strcmp(type, "error"))
        snprintf(k, sizeof k, "error:%s", json_string_value(json_object_get(r, "code")));
    else
        snprintf(k, sizeof k, "%s", type ? type : "(none)");
    return k;
}

/* Asks for resource/action and returns the token text (malloc'd) or NULL. */
static inline char *tc_token(test_capsule *t, const char *resource, const char *action)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"type\":\"request_capability\",\"resource\":\"%s\",\"action\":\"%s\"}", resource, action);
    json_t *r = tc_call(t, body);
    const char *tok = json_string_value(json_object_get(r, "token"));
    char *out = tok ? strdup(tok) : NULL;
    json_decref(r);
    return out;
}

#endif
