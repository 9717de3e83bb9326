/*
 * test_broker.c - the capability core (lib/broker.c) and the provider table (lib/provider.c),
 * through el_broker_session_handle on a real signed capsule, real tokens and a real audit trail:
 * request ids, the capability flow (manifest, grants, the shell consulted and absent), the
 * routing of every provider request through the table, the one status-to-code table as the
 * capsule reads it (bad_request, not_found, denied, unavailable, unsupported), and a runtime
 * configured by an el_config instead of the environment, with its log sink; and that the shell
 * capsule is run only by the host's shell runner (launch.c), never by the policy layer itself.
 * (The storage provider has its own file: test_storage.c.)
 */
#include "capsule.h"
#include "internal.h"
#include "elastos/audit.h"
#include "elastos/config.h"
#include "elastos/launch.h"
#include "provider.h" /* internal: the tables themselves (curl's UNITTEST pattern) */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *const MANIFEST =
    "{\"name\":\"brokertest\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"main.wasm\","
    "\"permissions\":[{\"resource\":\"localhost://storage/*\",\"actions\":[\"read\",\"write\"]},"
    "{\"resource\":\"elastos://net/*\",\"actions\":[\"execute\"]},"
    "{\"resource\":\"elastos://ai/chat\",\"actions\":[\"execute\"]},"
    "{\"resource\":\"elastos://capsule/*\",\"actions\":[\"message\"]}],"
    "\"resource_limits\":{\"storage_mb\":1,\"network\":[\"tcp://127.0.0.1:*\"]}}";

static void test_protocol_core(void)
{
    test_capsule t;
    CHECK(tc_open(&t, "broker-core", MANIFEST, NULL));
    json_t *r = tc_call(&t, "{\"type\":\"ping\"}");
    CHECK_STREQ(tc_kind(r), "pong");
    json_decref(r);
    r = tc_call(&t, "{\"type\":\"get_runtime_info\"}");
    CHECK_STREQ(tc_kind(r), "runtime_info");
    CHECK_STREQ(json_string_value(json_object_get(r, "version")), EL_VERSION);
    CHECK_STREQ(json_string_value(json_object_get(r, "capsule_name")), "brokertest");
    CHECK_STREQ(json_string_value(json_object_get(r, "capsule_id")), el_broker_session_capsule_id(t.s));
    json_decref(r);
    /* An id out of order is refused and does not count. */
    size_t len;
    const char *late = "{\"id\":9,\"request\":{\"type\":\"ping\"}}";
    char *resp = el_broker_session_handle(t.s, late, strlen(late), &len);
    CHECK(resp && strstr(resp, "\"bad_request\"") && strstr(resp, "out of order"));
    free(resp);
    r = tc_call(&t, "{\"type\":\"ping\"}");
    CHECK_STREQ(tc_kind(r), "pong");
    json_decref(r);
    /* The shell-only requests are the core's, refused to anyone else. */
    r = tc_call(&t, "{\"type\":\"revoke_capability\",\"token_id\":\"00\"}");
    CHECK_STREQ(tc_kind(r), "error:denied");
    json_decref(r);
    tc_close(&t);
}

static int count_decisions(const el_audit_record *rec, void *arg)
{
    int *n = arg;
    n[0] += !strcmp(rec->decision, EL_AUDIT_DENY) && strstr(rec->reason, "shell not consulted");
    n[1] += !strcmp(rec->decision, EL_AUDIT_GRANT);
    n[2] += !strcmp(rec->decision, EL_AUDIT_DENY) && strstr(rec->reason, "no usable shell");
    return 0;
}

static void test_capability_flow(void)
{
    const char *const grants[] = {"localhost://storage/*:read", NULL};
    test_capsule t;
    CHECK(tc_open(&t, "broker-flow", MANIFEST, grants));
    /* Outside the manifest: denied without asking the shell. */
    json_t *r = tc_call(&t, "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/*\",\"action\":\"delete\"}");
    CHECK_STREQ(tc_kind(r), "error:denied");
    json_decref(r);
    /* Covered by the operator's grant: a token, audited as a grant. */
    char *tok = tc_token(&t, "localhost://storage/notes", "read");
    CHECK(tok != NULL);
    free(tok);
    /* Inside the manifest, not granted: the shell decides; there is none, so denied. */
    r = tc_call(&t, "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/x\",\"action\":\"write\"}");
    CHECK_STREQ(tc_kind(r), "error:denied");
    CHECK(strstr(json_string_value(json_object_get(r, "message")), "no usable shell capsule") != NULL);
    json_decref(r);
    /* A --grant outside the manifest is refused. */
    el_error err;
    CHECK(el_broker_session_grant(t.s, "elastos://cid/*:read", &err) == EL_ERR_USAGE && one_line(&err));
    int n[3] = {0};
    CHECK(el_audit_flush(t.rt, &err) == EL_OK);
    CHECK(el_audit_each(t.rt, count_decisions, n, &err) == EL_OK);
    CHECK(n[0] == 1 && n[1] == 1 && n[2] == 1);
    tc_close(&t);
}

/* A manifest's "http://" "*" lets the operator grant any one http host (the ai provider's URL),
 * but never becomes a token: a grant and a request still name a host, and https stays apart. */
static void test_web_any(void)
{
    static const char *const WEB =
        "{\"name\":\"webany\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"main.wasm\","
        "\"permissions\":[{\"resource\":\"http://*\",\"actions\":[\"write\"]}]}";
    const char *const grants[] = {"http://127.0.0.1:9/v1/chat/completions:write", NULL};
    test_capsule t;
    CHECK(tc_open(&t, "broker-webany", WEB, grants));
    char *tok = tc_token(&t, "http://127.0.0.1:9/v1/chat/completions", "write");
    CHECK(tok != NULL);
    free(tok);
    el_error err;
    CHECK(el_broker_session_grant(t.s, "http://model.example:8080/*:write", &err) == EL_OK);
    CHECK(el_broker_session_grant(t.s, "https://model.example:443/v1:write", &err) == EL_ERR_USAGE && one_line(&err));
    CHECK(el_broker_session_grant(t.s, "http://127.0.0.1:9/v1:read", &err) == EL_ERR_USAGE);
    CHECK(el_broker_session_grant(t.s, "http://*:write", &err) != EL_OK);
    json_t *r = tc_call(&t, "{\"type\":\"request_capability\",\"resource\":\"http://*\",\"action\":\"write\"}");
    CHECK_STREQ(tc_kind(r), "error:bad_request");
    json_decref(r);
    r = tc_call(&t, "{\"type\":\"request_capability\",\"resource\":\"https://127.0.0.1:9/x\",\"action\":\"write\"}");
    CHECK_STREQ(tc_kind(r), "error:denied");
    json_decref(r);
    tc_close(&t);
}

/* A loopback port nothing listens on (bound, then closed). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_providers(void)
{
    const char *const grants[] = {"elastos://net/*:execute", "elastos://capsule/*:message", NULL};
    test_capsule t;
    CHECK(tc_open(&t, "broker-prov", MANIFEST, grants));
    /* No provider for the uri: not_found, naming the schemes there are. */
    json_t *r = tc_call(&t, "{\"type\":\"provider_call\",\"token\":\"x\",\"uri\":\"elastos://nowhere/x\",\"body\":{}}");
    CHECK_STREQ(tc_kind(r), "error:not_found");
    const char *m = json_string_value(json_object_get(r, "message"));
    CHECK(m && strstr(m, "elastos://net/") && !strstr(m, "elastos://ai/"));
    json_decref(r);

    /* net: a port nothing listens on is unavailable (net.c's I/O failure, through the table). */
    char uri[64], body[512];
    snprintf(uri, sizeof uri, "elastos://net/127.0.0.1:%d", dead_port());
    char *tok = tc_token(&t, uri, "execute");
    CHECK(tok != NULL);
    snprintf(body, sizeof body, "{\"type\":\"provider_call\",\"token\":\"%s\",\"uri\":\"%s\",\"body\":{\"timeout_ms\":2000}}",
             tok ? tok : "", uri);
    r = tc_call(&t, body);
    CHECK_STREQ(tc_kind(r), "error:unavailable");
    json_decref(r);
    /* a bad body: bad_request, before the token is spent */
    snprintf(body, sizeof body, "{\"type\":\"provider_call\",\"token\":\"%s\",\"uri\":\"%s\",\"body\":{\"bogus\":1}}",
             tok ? tok : "", uri);
    r = tc_call(&t, body);
    CHECK_STREQ(tc_kind(r), "error:bad_request");
    json_decref(r);
    /* outside the allowlist (tcp://127.0.0.1:* only): denied */
    free(tok);
    tok = tc_token(&t, "elastos://net/10.0.0.1:80", "execute");
    snprintf(body, sizeof body, "{\"type\":\"provider_call\",\"token\":\"%s\",\"uri\":\"elastos://net/10.0.0.1:80\",\"body\":{}}",
             tok ? tok : "");
    r = tc_call(&t, body);
    CHECK_STREQ(tc_kind(r), "error:denied");
    CHECK(strstr(json_string_value(json_object_get(r, "message")), "allowlist") != NULL);
    json_decref(r);
    free(tok);

    /* messaging without a router: nobody to send to, nothing to receive. */
    r = tc_call(&t, "{\"type\":\"receive_messages\"}");
    CHECK_STREQ(tc_kind(r), "messages");
    CHECK(json_array_size(json_object_get(r, "messages")) == 0);
    json_decref(r);
    r = tc_call(&t, "{\"type\":\"send_message\",\"token\":\"x\",\"to\":\"Not A Name\",\"payload\":\"aGk=\"}");
    CHECK_STREQ(tc_kind(r), "error:bad_request");
    json_decref(r);
    tok = tc_token(&t, "elastos://capsule/other", "message");
    snprintf(body, sizeof body, "{\"type\":\"send_message\",\"token\":\"%s\",\"to\":\"other\",\"payload\":\"aGk=\"}", tok ? tok : "");
    r = tc_call(&t, body);
    CHECK_STREQ(tc_kind(r), "error:not_found");
    json_decref(r);
    free(tok);

    /* orchestration is the orchestrator's only */
    r = tc_call(&t, "{\"type\":\"list_capsules\"}");
    CHECK_STREQ(tc_kind(r), "error:denied");
    json_decref(r);
    tc_close(&t);
}

/* The tables themselves: every provider request is answered by exactly the provider that
 * declares it, and each failure status reads as one code. */
static void test_tables(void)
{
    size_t slot;
    CHECK(el__provider_find(EL_REQ_STORAGE_LIST, NULL, &slot) == &el__prov_storage);
    CHECK(el__provider_find(EL_REQ_FETCH_CONTENT, NULL, &slot) == &el__prov_cid);
    CHECK(el__provider_find(EL_REQ_PROVIDER_CALL, "elastos://net/h:1", &slot) == &el__prov_net);
    CHECK(el__provider_find(EL_REQ_PROVIDER_CALL, "elastos://ai/chat", &slot) == NULL); /* a capsule's (broker.c) */
    CHECK(el__provider_find(EL_REQ_PROVIDER_CALL, "https://h:443/", &slot) == &el__prov_egress);
    CHECK(el__provider_find(EL_REQ_PROVIDER_CALL, "tcp://h:1", &slot) == NULL);
    CHECK(el__provider_find(EL_REQ_SEND_MESSAGE, NULL, &slot) == &el__prov_msg);
    CHECK(el__provider_find(EL_REQ_STOP_CAPSULE, NULL, &slot) == &el__prov_orch);
    CHECK(el__provider_find(EL_REQ_PING, NULL, &slot) == NULL);
    CHECK(el__provider_find(EL_REQ_REQUEST_CAPABILITY, NULL, &slot) == NULL);
    for (size_t i = 0; el__provider_at(i); i++)
        for (size_t j = i + 1; el__provider_at(j); j++) /* no request type served twice, but provider_call */
            CHECK(!(el__provider_at(i)->requests & el__provider_at(j)->requests & ~EL__REQ_BIT(EL_REQ_PROVIDER_CALL)));
    CHECK_STREQ(el__status_code(EL_ERR_FORMAT), "bad_request");
    CHECK_STREQ(el__status_code(EL_ERR_USAGE), "bad_request");
    CHECK_STREQ(el__status_code(EL_ERR_NOTFOUND), "not_found");
    CHECK_STREQ(el__status_code(EL_ERR_TRUST), "denied");
    CHECK_STREQ(el__status_code(EL_ERR_LIMIT), "limit");
    CHECK_STREQ(el__status_code(EL__ERR_UNAVAILABLE), "unavailable");
    CHECK_STREQ(el__status_code(EL__ERR_UNSUPPORTED), "unsupported");
    CHECK_STREQ(el__status_code(EL_ERR_IO), "internal");
    CHECK_STREQ(el__status_code(EL_ERR_CONFIG), "internal");
}

typedef struct logged {
    int n;
    char last[1024];
} logged;

static void capture(void *arg, el_log_level level, const char *msg)
{
    logged *l = arg;
    l->n++;
    snprintf(l->last, sizeof l->last, "%d %s", (int)level, msg);
}

/* An embedder's el_config: the environment is not consulted, config files come from the
 * object, and messages for the operator go to the embedder's sink. */
static void test_embedder_config(void)
{
    char dir[] = "/tmp/el-test-broker-cfg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("ELASTOS_KUBO_API", "http://127.0.0.1:1", 1); /* must be ignored */
    el_config *cfg;
    el_error err;
    CHECK(el_config_new(&cfg, &err) == EL_OK);
    CHECK(el_config_set(cfg, EL_CONFIG_HOME, dir, &err) == EL_OK);
    CHECK(el_config_set(cfg, (el_config_key)999, "x", &err) == EL_ERR_USAGE);
    CHECK_STREQ(el_config_env_name(EL_CONFIG_KUBO_API), "ELASTOS_KUBO_API");
    el_runtime *rt;
    CHECK(el_runtime_open_config(NULL, cfg, &rt, &err) == EL_OK);
    CHECK(rt && !strncmp(el_runtime_home(rt), "/tmp/", 5));
    CHECK(el__config(rt, EL_CONFIG_KUBO_API) == NULL); /* the environment's API was not taken */
    char *text = NULL, path[4096];
    size_t len;
    unsigned mode;
    CHECK(el__config_file(rt, "egress", 4096, &text, &len, &mode, path, sizeof path, &err) == EL_ERR_NOTFOUND);
    el_runtime_close(rt);
    /* A config file given in the object (not on the disk): read as the operator's own, private;
     * messages for the operator go to the embedder's sink. */
    CHECK(el_config_set_file(cfg, "egress", "allow 127.0.0.1\n", &err) == EL_OK);
    CHECK(el_runtime_open_config(NULL, cfg, &rt, &err) == EL_OK);
    CHECK(el__config_file(rt, "egress", 4096, &text, &len, &mode, path, sizeof path, &err) == EL_OK);
    CHECK(text && !strcmp(text, "allow 127.0.0.1\n") && len == 16 && !(mode & 077));
    free(text);
    logged lg = {0};
    el_runtime_set_log(rt, capture, &lg);
    el__log(rt, EL_LOG_WARNING, "for the operator %d", 7);
    CHECK(lg.n == 1 && strstr(lg.last, "for the operator 7"));
    el_runtime_close(rt);
    el_config_free(cfg);
    unsetenv("ELASTOS_KUBO_API");
    rm_rf(dir);
}

/* The shell is run by the host layer, not by shell.c: on a runtime where nothing was launched
 * (no shell runner registered) a question for a usable, trusted shell is denied saying so; once
 * el_launch_prepare has registered launch.c's runner, the same question reaches the real shell
 * capsule, whose policy file grants it. */
static void test_shell_runner(void)
{
    test_capsule t;
    CHECK(tc_open(&t, "broker-runner", MANIFEST, NULL));
    char shell[PATH_MAX], pub[PATH_MAX], policy[PATH_MAX];
    snprintf(shell, sizeof shell, "%s/capsules/shell.capsule", ELASTOS_BUILD_DIR);
    snprintf(pub, sizeof pub, "%s/keys/publisher.pub", ELASTOS_BUILD_DIR);
    snprintf(policy, sizeof policy, "%s/home/shell", t.dir);
    mkdir(policy, 0700);
    snprintf(policy, sizeof policy, "%s/home/shell/policy", t.dir);
    tc_put(policy, "allow * localhost://storage/x write\n");
    uint8_t pk[EL_PK_BYTES];
    el_error err;
    CHECK(el_sign_pubkey_parse(pub, pk, &err) == EL_OK && el_trust_add(t.rt, pk, "build", &err) == EL_OK);
    setenv("ELASTOS_SHELL", shell, 1);
    const char *ask = "{\"type\":\"request_capability\",\"resource\":\"localhost://storage/x\",\"action\":\"write\"}";
    json_t *r = tc_call(&t, ask);
    CHECK_STREQ(tc_kind(r), "error:denied");
    CHECK(strstr(json_string_value(json_object_get(r, "message")), "no host runs the shell capsule") != NULL);
    json_decref(r);
    char cid[EL_CID_MAX];
    CHECK(el_artifact_cid(t.art, cid, &err) == EL_OK);
    el_launch_spec spec = {.artifact = t.art, .artifact_cid = cid};
    el_launch_ctx *l = NULL;
    CHECK(el_launch_prepare(t.rt, &spec, &l, &err) == EL_OK); /* registers the runner; runs nothing */
    el_launch_free(l);
    char *tok = tc_token(&t, "localhost://storage/x", "write");
    CHECK(tok != NULL);
    free(tok);
    setenv("ELASTOS_SHELL", "/nonexistent/shell.capsule", 1);
    tc_close(&t);
}

int main(void)
{
    test_protocol_core();
    test_capability_flow();
    test_providers();
    test_web_any();
    test_tables();
    test_embedder_config();
    test_shell_runner();
    return TEST_DONE();
}
