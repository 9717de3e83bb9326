/*
 * test_storage.c - the storage provider (lib/prov_storage.c over lib/storage.c) through the
 * capability core, with real tokens on a real signed capsule: write, read, list and delete each
 * need a token for exactly that action and path; paths that could leave the capsule's directory
 * are refused; listing needs a token for a whole directory; the quota refuses a write (limit,
 * audited) and keeps the files it had; a symlink planted in the directory is never followed.
 */
#include "capsule.h"
#include "elastos/audit.h"
#include "protocol_internal.h" /* internal: the framing the library parses */

#include <dirent.h>

static const char *const MANIFEST =
    "{\"name\":\"storetest\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"main.wasm\","
    "\"permissions\":[{\"resource\":\"localhost://storage/*\",\"actions\":[\"read\",\"write\",\"delete\"]}],"
    "\"resource_limits\":{\"storage_mb\":1}}";

static json_t *op(test_capsule *t, const char *type, const char *token, const char *path, const char *content_b64)
{
    size_t cap = strlen(path) + (token ? strlen(token) : 0) + (content_b64 ? strlen(content_b64) : 0) + 128;
    char *body = malloc(cap);
    if (content_b64)
        snprintf(body, cap, "{\"type\":\"%s\",\"token\":\"%s\",\"path\":\"%s\",\"content\":\"%s\"}", type,
                 token ? token : "", path, content_b64);
    else
        snprintf(body, cap, "{\"type\":\"%s\",\"token\":\"%s\",\"path\":\"%s\"}", type, token ? token : "", path);
    json_t *r = tc_call(t, body);
    free(body);
    return r;
}

static int count_quota_denials(const el_audit_record *r, void *arg)
{
    *(int *)arg += !strcmp(r->decision, EL_AUDIT_DENY) && strstr(r->reason, "quota") != NULL;
    return 0;
}

/* The capsule's storage directory on the host (home/storage/<name>@<key prefix>). */
static void storage_dir(const test_capsule *t, char *out, size_t cap)
{
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/home/storage", t->dir);
    snprintf(out, cap, "%s", base);
    DIR *d = opendir(base);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (!strncmp(de->d_name, "storetest@", 10))
            snprintf(out, cap, "%s/%s", base, de->d_name);
    if (d)
        closedir(d);
}

int main(void)
{
    const char *const grants[] = {"localhost://storage/*:read", "localhost://storage/*:write",
                                  "localhost://storage/*:delete", NULL};
    test_capsule t;
    if (!tc_open(&t, "storage", MANIFEST, grants)) {
        CHECK(!"set-up");
        return TEST_DONE();
    }
    char *w = tc_token(&t, "localhost://storage/*", "write"), *r = tc_token(&t, "localhost://storage/*", "read");
    char *d = tc_token(&t, "localhost://storage/*", "delete");
    char *file_tok = tc_token(&t, "localhost://storage/notes/a.txt", "read");
    CHECK(w && r && d && file_tok);

    /* Write, read back, list, with the right tokens. */
    json_t *x = op(&t, "storage_write", w, "localhost://storage/notes/a.txt", "aGVsbG8="); /* "hello" */
    CHECK_STREQ(tc_kind(x), "ok");
    json_decref(x);
    x = op(&t, "storage_read", r, "localhost://storage/notes/a.txt", NULL);
    CHECK_STREQ(tc_kind(x), "storage_data");
    CHECK_STREQ(json_string_value(json_object_get(x, "data")), "aGVsbG8=");
    json_decref(x);
    x = op(&t, "storage_read", file_tok, "localhost://storage/notes/a.txt", NULL); /* a token for just that file */
    CHECK_STREQ(tc_kind(x), "storage_data");
    json_decref(x);
    x = op(&t, "storage_list", r, "localhost://storage/notes", NULL);
    CHECK_STREQ(tc_kind(x), "storage_list");
    json_t *e = json_object_get(x, "entries");
    CHECK(json_array_size(e) == 1 && !strcmp(json_string_value(json_array_get(e, 0)), "a.txt"));
    json_decref(x);

    /* A token for another action, or a file token to list: refused. */
    x = op(&t, "storage_write", r, "localhost://storage/notes/b.txt", "eA==");
    CHECK(!strcmp(tc_kind(x), "error:denied") || !strcmp(tc_kind(x), "error:invalid_token"));
    json_decref(x);
    x = op(&t, "storage_list", file_tok, "localhost://storage/notes", NULL);
    CHECK_STREQ(tc_kind(x), "error:denied");
    CHECK(strstr(json_string_value(json_object_get(x, "message")), "whole directory") != NULL);
    json_decref(x);
    x = op(&t, "storage_read", NULL, "localhost://storage/notes/a.txt", NULL); /* no token at all */
    CHECK(strncmp(tc_kind(x), "error:", 6) == 0);
    json_decref(x);

    /* Paths that could leave the directory: bad_request, nothing touched. */
    static const char *const bad[] = {"localhost://storage/../x", "localhost://storage/a/../../x", "localhost://storage//x",
                                      "localhost://storage/a\\\\b", "localhost://storage/%2e%2e", "localhost://other/x",
                                      "localhost://storage/"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        x = op(&t, "storage_write", w, bad[i], "eA==");
        CHECK_STREQ(tc_kind(x), "error:bad_request");
        json_decref(x);
    }
    x = op(&t, "storage_write", w, "localhost://storage/x", "not base64!");
    CHECK_STREQ(tc_kind(x), "error:bad_request");
    json_decref(x);

    /* A symlink planted in the directory (by anyone but the capsule) is not followed. */
    char dir[PATH_MAX], link[PATH_MAX + 16], secret[PATH_MAX + 16];
    storage_dir(&t, dir, sizeof dir);
    snprintf(secret, sizeof secret, "%s/secret", t.dir);
    tc_put(secret, "do not read");
    snprintf(link, sizeof link, "%s/link", dir);
    CHECK(symlink(secret, link) == 0);
    x = op(&t, "storage_read", r, "localhost://storage/link", NULL);
    CHECK(strncmp(tc_kind(x), "error:", 6) == 0 && !json_object_get(x, "data"));
    json_decref(x);
    unlink(link);

    /* The quota (storage_mb 1): a write past it is refused (limit, audited); what was there stays. */
    size_t big = (size_t)700 << 10;
    uint8_t *raw = calloc(1, big);
    char *b64 = el_protocol_base64_encode(raw, big);
    x = op(&t, "storage_write", w, "localhost://storage/big1", b64);
    CHECK_STREQ(tc_kind(x), "ok");
    json_decref(x);
    x = op(&t, "storage_write", w, "localhost://storage/big2", b64);
    CHECK_STREQ(tc_kind(x), "error:limit");
    json_decref(x);
    free(raw);
    free(b64);
    x = op(&t, "storage_read", r, "localhost://storage/notes/a.txt", NULL);
    CHECK_STREQ(tc_kind(x), "storage_data");
    json_decref(x);
    x = op(&t, "storage_read", r, "localhost://storage/big2", NULL);
    CHECK_STREQ(tc_kind(x), "error:not_found");
    json_decref(x);
    el_error err;
    int quota = 0;
    CHECK(el_audit_flush(t.rt, &err) == EL_OK && el_audit_each(t.rt, count_quota_denials, &quota, &err) == EL_OK);
    CHECK(quota == 1);

    /* Delete, then it is gone. */
    x = op(&t, "storage_delete", d, "localhost://storage/notes/a.txt", NULL);
    CHECK_STREQ(tc_kind(x), "ok");
    json_decref(x);
    x = op(&t, "storage_read", r, "localhost://storage/notes/a.txt", NULL);
    CHECK_STREQ(tc_kind(x), "error:not_found");
    json_decref(x);

    free(w);
    free(r);
    free(d);
    free(file_tok);
    tc_close(&t);
    return TEST_DONE();
}
