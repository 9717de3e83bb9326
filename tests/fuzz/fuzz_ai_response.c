/*
 * fuzz_ai_response.c - libFuzzer target for the ai provider's parsing of outside input
 * (lib/ai.c): the model server's chat-completions answer (el__ai_parse_response) and a capsule's
 * request body (el__ai_build_request), both untrusted.
 *
 * Beyond "no crash, no leak, no UB" it checks that an accepted answer yields exactly the result
 * shape the capsule is promised ({"content": string, finish_reason?, model?, usage?} and
 * nothing else), and that an accepted body becomes an upstream request naming only the
 * operator's model, with roles and contents copied through unchanged.
 * The hostile seed corpus is tests/fuzz/corpus/ai_response/.
 */
#include "ai.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            __builtin_trap();                                                            \
    } while (0)

static void check_result(json_t *r)
{
    REQUIRE(json_is_object(r));
    REQUIRE(json_is_string(json_object_get(r, "content")));
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v)
    {
        REQUIRE(!strcmp(k, "content") || !strcmp(k, "finish_reason") || !strcmp(k, "model") || !strcmp(k, "usage"));
        if (!strcmp(k, "usage")) {
            const char *uk;
            json_t *uv;
            json_object_foreach(v, uk, uv) REQUIRE(json_is_integer(uv) && json_integer_value(uv) >= 0);
        } else {
            REQUIRE(json_is_string(v));
        }
    }
    char *text = json_dumps(r, JSON_COMPACT);
    REQUIRE(text);
    free(text);
}

static void check_request(const json_t *body, const char *req)
{
    json_t *r = json_loads(req, JSON_REJECT_DUPLICATES, NULL);
    REQUIRE(json_is_object(r));
    REQUIRE(!strcmp(json_string_value(json_object_get(r, "model")), "operator-model"));
    json_t *in = json_object_get(body, "messages"), *out = json_object_get(r, "messages");
    REQUIRE(json_array_size(in) == json_array_size(out) && json_array_size(out) >= 1);
    for (size_t i = 0; i < json_array_size(out); i++)
        REQUIRE(json_equal(json_array_get(in, i), json_array_get(out, i)));
    json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *result = NULL;
    el_error err;
    if (el__ai_parse_response((const char *)data, size, &result, &err) == EL_OK)
        check_result(result);
    else
        REQUIRE(result == NULL && err.code == EL_ERR_FORMAT && !strchr(err.msg, '\n'));
    json_decref(result);

    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (body) {
        el_ai_config cfg = {.url = "http://127.0.0.1:1/v1/chat/completions", .model = "operator-model"};
        char *req = NULL;
        if (el__ai_build_request(&cfg, body, &req, &err) == EL_OK)
            check_request(body, req);
        else
            REQUIRE(req == NULL);
        free(req);
        json_decref(body);
    }
    return 0;
}
