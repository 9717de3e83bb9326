/*
 * ai.c - the elastos://ai/ provider (ai.h): the operator's model endpoint configuration, the
 * capsule's chat request checked and rebuilt, one OpenAI-compatible chat-completions call with
 * the one HTTP client, http.c (timeouts, response size cap, no redirects), and the answer parsed from untrusted
 * bytes. The endpoint and its credentials never reach the capsule, not even in error messages.
 */
#include "ai.h"
#include "http.h"
#include "internal.h"
#include "provider.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CONTENT_BYTES ((size_t)768 << 10) /* all message contents of one request together */

/* ---- configuration ------------------------------------------------------------------------- */

static el_status set_url(el_ai_config *cfg, const char *url, el_error *err)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return el_error_set(err, EL_ERR_CONFIG, "ai: url must start with http:// or https://");
    static const char tail[] = "/chat/completions";
    bool full = n >= sizeof tail - 1 && !memcmp(url + n - (sizeof tail - 1), tail, sizeof tail - 1);
    int w = snprintf(cfg->url, sizeof cfg->url, "%.*s%s", (int)n, url, full ? "" : tail);
    if (w < 0 || (size_t)w >= sizeof cfg->url)
        return el_error_set(err, EL_ERR_CONFIG, "ai: url is too long");
    for (const char *p = cfg->url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return el_error_set(err, EL_ERR_CONFIG, "ai: url holds a space or control character");
    return EL_OK;
}

static el_status set_key(el_ai_config *cfg, const char *key, el_error *err)
{
    size_t n = strlen(key);
    while (n && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--; /* a key file written by echo */
    if (n >= sizeof cfg->key)
        return el_error_set(err, EL_ERR_CONFIG, "ai: the api key is too long");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < ' ' || key[i] == 0x7f)
            return el_error_set(err, EL_ERR_CONFIG, "ai: the api key holds a control character");
    memcpy(cfg->key, key, n);
    cfg->key[n] = 0;
    return EL_OK;
}

static el_status load_file(el_runtime *rt, el_ai_config *cfg, bool *found, el_error *err)
{
    char path[4200];
    unsigned mode;
    json_t *root;
    *found = false;
    el_status rs = el__config_json(rt, "ai.json", 64 << 10, &root, &mode, path, sizeof path, err);
    if (rs == EL_ERR_NOTFOUND)
        return EL_OK;
    if (rs != EL_OK)
        return el_error_prefix(err, "ai");
    el_status s = EL_OK;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        bool str = json_is_string(v), pos = json_is_integer(v) && json_integer_value(v) > 0;
        if (!strcmp(k, "url") && str)
            s = set_url(cfg, json_string_value(v), err);
        else if (!strcmp(k, "model") && str && strlen(json_string_value(v)) < sizeof cfg->model)
            snprintf(cfg->model, sizeof cfg->model, "%s", json_string_value(v));
        else if (!strcmp(k, "api_key") && str) {
            if (mode & 077)
                s = el_error_set(err, EL_ERR_CONFIG, "ai: %s holds an api_key but others can read it (chmod 600 it)", path);
            else
                s = set_key(cfg, json_string_value(v), err);
        } else if (!strcmp(k, "api_key_file") && str) {
            char *key;
            size_t kl;
            el_error e2;
            if (el_fs_read_file(json_string_value(v), 8192, &key, &kl, &e2) != EL_OK)
                s = el_error_set(err, EL_ERR_CONFIG, "ai: api_key_file: %s", e2.msg);
            else {
                s = strlen(key) == kl ? set_key(cfg, key, err)
                                      : el_error_set(err, EL_ERR_CONFIG, "ai: api_key_file holds a NUL byte");
                explicit_bzero(key, kl);
                free(key);
            }
        } else if (!strcmp(k, "timeout_ms") && pos && json_integer_value(v) <= 3600000)
            cfg->timeout_ms = (long)json_integer_value(v);
        else if (!strcmp(k, "max_response_bytes") && pos && json_integer_value(v) <= (64 << 20))
            cfg->max_response = (size_t)json_integer_value(v);
        else
            s = el_error_set(err, EL_ERR_CONFIG, "ai: %s: field \"%.64s\" is unknown or has a wrong type or value",
                             path, k);
        if (s != EL_OK)
            break;
    }
    json_decref(root);
    *found = s == EL_OK && cfg->url[0];
    return s;
}

el_status el__ai_config_load(el_runtime *rt, el_ai_config *cfg, el_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = EL_AI_DEFAULT_TIMEOUT_MS;
    cfg->max_response = EL_AI_DEFAULT_MAX_RESPONSE;
    bool found;
    el_status s = load_file(rt, cfg, &found, err);
    if (s != EL_OK)
        return s;
    const char *v;
    if ((v = el__config(rt, EL_CONFIG_AI_URL)) && (s = set_url(cfg, v, err)) != EL_OK)
        return s;
    if ((v = el__config(rt, EL_CONFIG_AI_KEY)) && (s = set_key(cfg, v, err)) != EL_OK)
        return s;
    if ((v = el__config(rt, EL_CONFIG_AI_MODEL))) {
        if (strlen(v) >= sizeof cfg->model)
            return el_error_set(err, EL_ERR_CONFIG, "ai: ELASTOS_AI_MODEL is too long");
        snprintf(cfg->model, sizeof cfg->model, "%s", v);
    }
    if ((v = el__config(rt, EL_CONFIG_AI_TIMEOUT_MS))) {
        char *end;
        long t = strtol(v, &end, 10);
        if (*end || t <= 0 || t > 3600000)
            return el_error_set(err, EL_ERR_CONFIG, "ai: ELASTOS_AI_TIMEOUT_MS must be 1..3600000");
        cfg->timeout_ms = t;
    }
    if (!cfg->url[0])
        return el_error_set(err, EL_ERR_NOTFOUND, "no ai endpoint is configured on this host "
                                                  "(the operator sets ELASTOS_AI_URL or config/ai.json)");
    return EL_OK;
}

/* ---- the request ---------------------------------------------------------------------------- */

el_status el__ai_build_request(const el_ai_config *cfg, const json_t *body, char **out, el_error *err)
{
    *out = NULL;
    if (!json_is_object(body))
        return el_error_set(err, EL_ERR_FORMAT, "body must be an object {\"messages\": [...]}");
    const char *k;
    json_t *v;
    json_t *req = json_object();
    if (cfg->model[0])
        json_object_set_new(req, "model", json_string(cfg->model));
    json_t *msgs = NULL;
    el_status s = EL_OK;
    json_object_foreach((json_t *)body, k, v)
    {
        if (!strcmp(k, "messages"))
            msgs = v;
        else if (!strcmp(k, "max_tokens") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                 json_integer_value(v) <= 1000000)
            json_object_set_new(req, k, json_integer(json_integer_value(v)));
        else if (!strcmp(k, "temperature") && json_is_number(v) && json_number_value(v) >= 0 &&
                 json_number_value(v) <= 2)
            json_object_set_new(req, k, json_real(json_number_value(v)));
        else {
            s = el_error_set(err, EL_ERR_FORMAT, !strcmp(k, "model") ? "body: the operator chooses the model"
                                                                      : "body: field \"%.64s\" is unknown or out of range", k);
            break;
        }
    }
    size_t n = json_array_size(msgs), total = 0;
    if (s == EL_OK && (!json_is_array(msgs) || n == 0 || n > EL_AI_MAX_MESSAGES))
        s = el_error_set(err, EL_ERR_FORMAT, "body.messages must be an array of 1..%d messages", EL_AI_MAX_MESSAGES);
    json_t *out_msgs = json_array();
    for (size_t i = 0; s == EL_OK && i < n; i++) {
        json_t *m = json_array_get(msgs, i), *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        const char *r = json_string_value(role);
        if (!json_is_object(m) || json_object_size(m) != 2 || !r || !json_is_string(content) ||
            (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))) {
            s = el_error_set(err, EL_ERR_FORMAT, "body.messages[%zu] must be {\"role\": system|user|assistant, "
                                                 "\"content\": string}", i);
            break;
        }
        total += json_string_length(content);
        if (total > MAX_CONTENT_BYTES) {
            s = el_error_set(err, EL_ERR_FORMAT, "body.messages: more than %zu bytes of content", MAX_CONTENT_BYTES);
            break;
        }
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(r));
        json_object_set_new(o, "content", json_stringn(json_string_value(content), json_string_length(content)));
        json_array_append_new(out_msgs, o);
    }
    json_object_set_new(req, "messages", out_msgs);
    json_object_set_new(req, "stream", json_false());
    if (s == EL_OK && !(*out = json_dumps(req, JSON_COMPACT)))
        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    json_decref(req);
    return s;
}

/* ---- the response --------------------------------------------------------------------------- */

el_status el__ai_parse_response(const char *data, size_t len, json_t **result, el_error *err)
{
    *result = NULL;
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return el_error_set(err, EL_ERR_FORMAT, "the model server's answer is not a JSON object");
    }
    json_t *choices = json_object_get(root, "choices"), *c0 = json_array_get(choices, 0);
    json_t *msg = json_object_get(c0, "message"), *content = json_object_get(msg, "content");
    el_status s = EL_OK;
    if (!json_is_array(choices) || !json_is_object(c0) || !json_is_object(msg))
        s = el_error_set(err, EL_ERR_FORMAT, "the model server's answer has no choices[0].message");
    else if (!json_is_string(content))
        s = el_error_set(err, EL_ERR_FORMAT, "the model server's answer has no text content");
    if (s != EL_OK) {
        json_decref(root);
        return s;
    }
    json_t *r = json_object();
    json_object_set_new(r, "content", json_stringn(json_string_value(content), json_string_length(content)));
    json_t *fr = json_object_get(c0, "finish_reason"), *model = json_object_get(root, "model");
    if (json_is_string(fr) && json_string_length(fr) <= 64)
        json_object_set_new(r, "finish_reason", json_string(json_string_value(fr)));
    if (json_is_string(model) && json_string_length(model) <= 256)
        json_object_set_new(r, "model", json_string(json_string_value(model)));
    json_t *usage = json_object_get(root, "usage"), *u = json_object();
    static const char *const fields[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
    for (size_t i = 0; i < 3; i++) {
        json_t *x = json_object_get(usage, fields[i]);
        if (json_is_integer(x) && json_integer_value(x) >= 0)
            json_object_set_new(u, fields[i], json_integer(json_integer_value(x)));
    }
    if (json_object_size(u))
        json_object_set_new(r, "usage", u);
    else
        json_decref(u);
    json_decref(root);
    *result = r;
    return EL_OK;
}

/* ---- the call ------------------------------------------------------------------------------- */

typedef struct buf {
    char *data;
    size_t len, max;
    bool over;
} buf;

static size_t on_write(void *arg, const char *p, size_t k, long status)
{
    (void)status;
    buf *b = arg;
    if (k > b->max - b->len) {
        b->over = true;
        return 0;
    }
    char *nd = realloc(b->data, b->len + k + 1);
    if (!nd)
        return 0;
    memcpy(nd + b->len, p, k);
    b->data = nd;
    b->len += k;
    b->data[b->len] = 0;
    return k;
}

/* What an upstream HTTP error status means to the capsule (provider.h's statuses). */
static el_status http_status(long status)
{
    return status == 400 ? EL_ERR_FORMAT : status == 404 ? EL_ERR_NOTFOUND : (status == 413 || status == 429) ? EL_ERR_LIMIT
                                                                                                              : EL_ERR_INTERNAL;
}

el_status el__ai_call(el_runtime *rt, const char *op, const json_t *body, json_t **result, el_error *err)
{
    *result = NULL;
    if (strcmp(op, "chat") != 0)
        return el_error_set(err, EL_ERR_NOTFOUND, "the ai provider has no operation \"%.64s\" (only chat)", op);
    el_ai_config cfg;
    el_error cerr;
    el_status s = el__ai_config_load(rt, &cfg, &cerr);
    if (s != EL_OK) {
        if (s == EL_ERR_NOTFOUND)
            return el_error_set(err, EL__ERR_UNSUPPORTED, "%s", cerr.msg);
        el__log(rt, EL_LOG_ERROR, "%s", cerr.msg); /* for the operator; the capsule gets less */
        return el_error_set(err, s, "the ai provider is misconfigured on this host");
    }
    char *req;
    if ((s = el__ai_build_request(&cfg, body, &req, err)) != EL_OK) {
        explicit_bzero(cfg.key, sizeof cfg.key);
        return s;
    }
    char auth[sizeof cfg.key + 32];
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", auth};
    if (cfg.key[0])
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg.key);
    buf b = {.max = cfg.max_response};
    el__http_request hr = {.url = cfg.url, .headers = headers, .n_headers = cfg.key[0] ? 3 : 2, .post = true,
                           .body = req, .body_len = strlen(req), .on_data = on_write, .ud = &b,
                           .connect_ms = cfg.timeout_ms < 10000 ? cfg.timeout_ms : 10000L, .total_ms = cfg.timeout_ms};
    el__http_result res;
    el_error herr;
    s = el__http_perform(&hr, &res, &herr); /* (http.c wipes its copies of the headers) */
    explicit_bzero(auth, sizeof auth);
    explicit_bzero(cfg.key, sizeof cfg.key);
    free(req);
    long status = res.status;
    if (s == EL_ERR_CONFIG) { /* no libcurl (no secret in the message: a library name and dlopen's reason) */
        s = el_error_set(err, EL__ERR_UNSUPPORTED, "the ai provider cannot make HTTP requests on this host: %s",
                         herr.msg);
    } else if (s != EL_OK) {
        s = b.over ? el_error_set(err, EL_ERR_LIMIT, "the model server's answer exceeds %zu bytes", cfg.max_response)
            : res.outcome == EL_HTTP_TIMEOUT
                ? el_error_set(err, EL_ERR_LIMIT, "the model server did not answer within %ld ms", cfg.timeout_ms)
                : el_error_set(err, EL_ERR_INTERNAL, "the model server is unreachable (%s)", res.generic);
    } else if (status < 200 || status > 299) {
        /* The server's own message is not passed on: some quote the credentials they refused. */
        s = el_error_set(err, http_status(status), "the model server answered HTTP %ld%s", status,
                         status == 401 || status == 403 ? " (the operator's credentials were refused)" : "");
    } else if (el__ai_parse_response(b.data ? b.data : "", b.len, result, err) != EL_OK) {
        s = err->code = EL_ERR_INTERNAL; /* the server's fault, not the capsule's request */
    }
    free(b.data);
    return s;
}
