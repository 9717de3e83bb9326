/*
 * test_ai.c - the ai provider's pure parts (lib/ai.c): configuration precedence and checks, the
 * capsule body checked and rebuilt for upstream, the server's answer reduced to the result.
 * (The HTTP call itself is tested end to end in tests/cli/test_agent.sh.)
 */
#include "ai.h"
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>

static void test_config(void)
{
    char home[] = "/tmp/el-test-ai-XXXXXX";
    CHECK(mkdtemp(home) != NULL);
    el_runtime *rt;
    el_error err;
    CHECK(el_runtime_open(home, &rt, &err) == EL_OK);
    unsetenv("ELASTOS_AI_URL");
    unsetenv("ELASTOS_AI_KEY");
    unsetenv("ELASTOS_AI_MODEL");
    unsetenv("ELASTOS_AI_TIMEOUT_MS");
    el_ai_config cfg;
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_NOTFOUND && one_line(&err));

    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/config", home);
    snprintf(path, sizeof path, "%s/ai.json", dir);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "w");
    fputs("{\"url\":\"https://models.example/v1/\",\"model\":\"m1\",\"api_key\":\"sk-1\",\"timeout_ms\":5000}", f);
    fclose(f);
    chmod(path, 0600);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_OK);
    CHECK_STREQ(cfg.url, "https://models.example/v1/chat/completions");
    CHECK_STREQ(cfg.model, "m1");
    CHECK_STREQ(cfg.key, "sk-1");
    CHECK(cfg.timeout_ms == 5000 && cfg.max_response == EL_AI_DEFAULT_MAX_RESPONSE);

    chmod(path, 0644); /* a key others can read */
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG && strstr(err.msg, "chmod 600") && !strstr(err.msg, "sk-1"));
    chmod(path, 0600);

    setenv("ELASTOS_AI_URL", "http://127.0.0.1:8080/v1/chat/completions", 1);
    setenv("ELASTOS_AI_KEY", "sk-env\n", 1);
    setenv("ELASTOS_AI_MODEL", "m2", 1);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_OK);
    CHECK_STREQ(cfg.url, "http://127.0.0.1:8080/v1/chat/completions");
    CHECK_STREQ(cfg.key, "sk-env");
    CHECK_STREQ(cfg.model, "m2");
    setenv("ELASTOS_AI_URL", "file:///etc/passwd", 1);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG && one_line(&err));
    setenv("ELASTOS_AI_URL", "http://a b", 1);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG);
    unsetenv("ELASTOS_AI_URL");
    setenv("ELASTOS_AI_TIMEOUT_MS", "0", 1);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG);
    unsetenv("ELASTOS_AI_TIMEOUT_MS");
    setenv("ELASTOS_AI_KEY", "sk\x01x", 1);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG && !strstr(err.msg, "sk"));
    unsetenv("ELASTOS_AI_KEY");
    unsetenv("ELASTOS_AI_MODEL");

    f = fopen(path, "w");
    fputs("{\"url\":\"http://x/v1\",\"proxy\":\"http://evil\"}", f);
    fclose(f);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG && strstr(err.msg, "proxy"));
    f = fopen(path, "w");
    fputs("{\"url\":\"http://x/v1\",\"url\":\"http://y/v1\"}", f);
    fclose(f);
    CHECK(el__ai_config_load(rt, &cfg, &err) == EL_ERR_CONFIG);
    el_runtime_close(rt);
    rm_rf(home);
}

static el_status build(const char *body, char **out, el_error *err)
{
    el_ai_config cfg = {.model = "m"};
    json_t *b = json_loads(body, 0, NULL);
    el_status s = el__ai_build_request(&cfg, b, out, err);
    json_decref(b);
    return s;
}

static void test_request(void)
{
    char *out = NULL;
    el_error err;
    CHECK(build("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"q \\\"x\\\"\"}],"
                "\"max_tokens\":7,\"temperature\":0.5}", &out, &err) == EL_OK);
    CHECK_STREQ(out, "{\"model\":\"m\",\"max_tokens\":7,\"temperature\":0.5,\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                     "{\"role\":\"user\",\"content\":\"q \\\"x\\\"\"}],\"stream\":false}");
    free(out);
    const char *bad[] = {"[]", "{}", "{\"messages\":[]}", "{\"messages\":{}}", "{\"messages\":[{\"role\":\"user\"}]}",
                         "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":\"n\"}]}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":1}]}",
                         "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = NULL;
        CHECK(build(bad[i], &out, &err) == EL_ERR_FORMAT && out == NULL && one_line(&err));
    }
}

static void test_response(void)
{
    json_t *r;
    el_error err;
    const char *ok = "{\"id\":\"c\",\"model\":\"tiny\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                     "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":5,\"x\":1},\"extra\":true}";
    CHECK(el__ai_parse_response(ok, strlen(ok), &r, &err) == EL_OK);
    char *t = json_dumps(r, JSON_COMPACT);
    CHECK_STREQ(t, "{\"content\":\"hi\",\"finish_reason\":\"stop\",\"model\":\"tiny\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":5}}");
    free(t);
    json_decref(r);
    const char *bad[] = {"", "null", "[]", "{\"choices\":[]}", "{\"choices\":[{\"message\":{\"content\":null}}]}",
                         "{\"choices\":[{\"text\":\"legacy\"}]}", "{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"x\":1,\"x\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(el__ai_parse_response(bad[i], strlen(bad[i]), &r, &err) == EL_ERR_FORMAT && r == NULL && one_line(&err));
}

int main(void)
{
    test_config();
    test_request();
    test_response();
    return TEST_DONE();
}
