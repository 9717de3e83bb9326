/*
 * test_guest_sdk.c - unit test of the C guest SDK's RuntimeClient (guest/c/src), built natively.
 *
 * The SDK sources are #included, so the test reaches their internals (channels, JSON, base64)
 * and builds the wasm transport against a stand-in for the elastos.call host import.
 *  - protocol vectors (tests/data/protocol-vectors.txt): every typed helper, called with the
 *    arguments the vector describes, over the native line transport (a socketpair; a thread
 *    plays the runtime), must write exactly the vector's request line; the vector's response
 *    must decode to the expected values, which are written out here independently;
 *  - request ids: 1, 2, 3... shared by all clients, id 0 (not counted) reuses the id, a wrong
 *    id is refused and makes the channel unusable;
 *  - hostile responses (truncated, wrong types, huge numbers, bad base64, bad escapes and
 *    UTF-8, deep nesting, missing fields, trailing garbage, duplicate keys, 2 MiB lines, EOF):
 *    an error return, no crash, no leak (run under ASan too);
 *  - the 1 MiB limit at its exact boundary, both ways; local argument checks;
 *  - the wasm transport's "response longer than the buffer" path, via the fake import;
 *  - plain answers: every call with a fast decode (pong, ok, storage_data, content) ends the
 *    same (status, code, message, ids, data) as the strict decode, for the runtime's own
 *    answers (lib/protocol.c's encoders) and near misses, after a call that left an error;
 *  - base64 round trips for lengths 0..300 against a bit-by-bit reference, strict decoding;
 *  - JSON string escaping of every ASCII byte, round trips, strict parsing, depth bound.
 */
#define ELASTOS_GUEST_FAKE_IMPORT 1
#include "../../guest/c/src/base64.c"
#include "../../guest/c/src/json.c"
#include "../../guest/c/src/runtime_client.c"

#include "harness.h"
#include "protocol_internal.h"

#include <jansson.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef ELASTOS_TEST_DATA
#define ELASTOS_TEST_DATA "tests/data"
#endif

/* E of protocol-vectors.txt: quote, backslash, short escapes, control bytes, DEL, UTF-8. */
static const char E[] = "We\"ird\\name\n\t\r\b\f\x01\x1f\x7f \xc3\xa9\xe6\x97\xa5\xe6\x9c\xac"
                        "\xf0\x9f\x98\x80/";
#define CID "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq"
#define PUB "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"

/* ------------------------------------------------------------------------------------------
 * Vectors
 */

typedef struct vec {
    int is_request;
    char name[80];
    char *json;
    size_t len;
} vec;

static vec vecs[256];
static size_t n_vecs;

static void load_vectors(void)
{
    const char *path = ELASTOS_TEST_DATA "/protocol-vectors.txt";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        CHECK(sp1 && sp2 && n_vecs < 256);
        if (!sp1 || !sp2 || n_vecs >= 256)
            continue;
        vec *v = &vecs[n_vecs];
        *sp1 = *sp2 = '\0';
        CHECK(!strcmp(line, "request") || !strcmp(line, "response"));
        v->is_request = !strcmp(line, "request");
        CHECK(strlen(sp1 + 1) < sizeof v->name);
        snprintf(v->name, sizeof v->name, "%s", sp1 + 1);
        v->len = (size_t)(line + n - (sp2 + 1));
        v->json = malloc(v->len + 1);
        memcpy(v->json, sp2 + 1, v->len + 1);
        n_vecs++;
    }
    free(line);
    fclose(f);
}

static const vec *find_vec(int is_request, const char *name)
{
    for (size_t i = 0; i < n_vecs; i++)
        if (vecs[i].is_request == is_request && !strcmp(vecs[i].name, name))
            return &vecs[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------
 * A fake runtime on the other end of a socketpair, in a thread.
 */

typedef struct fake_rt {
    pthread_t th;
    int fd;
    int stop[2]; /* rt_join writes here: a runtime still waiting for a request gives up */
    int read_request; /* read one request line first */
    const char *resp; /* then send these bytes (may be NULL) */
    size_t resp_len;
    int dribble;     /* send them one byte at a time */
    int close_after; /* then shut the write side */
    char *req;       /* what was read */
    size_t req_len;
} fake_rt;

static void *rt_main(void *arg)
{
    fake_rt *r = arg;
    if (r->read_request) {
        size_t cap = 4096;
        r->req = malloc(cap);
        for (;;) {
            struct pollfd pf[2] = {{r->fd, POLLIN, 0}, {r->stop[0], POLLIN, 0}};
            if (poll(pf, 2, 20000) <= 0 || (pf[1].revents && !pf[0].revents))
                break; /* stopped (or 20 s without a request) */
            if (r->req_len + 1 >= cap)
                r->req = realloc(r->req, cap *= 2);
            ssize_t k = read(r->fd, r->req + r->req_len, cap - 1 - r->req_len);
            if (k <= 0)
                break;
            r->req_len += (size_t)k;
            if (memchr(r->req + r->req_len - (size_t)k, '\n', (size_t)k))
                break;
        }
        r->req[r->req_len] = '\0'; /* NUL-terminated for the checks */
    }
    const char *p = r->resp;
    size_t left = r->resp && (!r->read_request || r->req_len) ? r->resp_len : 0;
    while (left) {
        ssize_t k = send(r->fd, p, r->dribble ? 1 : left, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        p += k;
        left -= (size_t)k;
    }
    if (r->close_after)
        shutdown(r->fd, SHUT_WR);
    return NULL;
}

static void rt_start(fake_rt *r, int fd, const char *resp, size_t resp_len)
{
    memset(r, 0, sizeof *r);
    CHECK(pipe(r->stop) == 0);
    r->fd = fd;
    r->read_request = 1;
    r->resp = resp;
    r->resp_len = resp_len;
}

static void rt_run(fake_rt *r)
{
    CHECK(pthread_create(&r->th, NULL, rt_main, r) == 0);
}

static void rt_join(fake_rt *r)
{
    CHECK(write(r->stop[1], "x", 1) == 1);
    pthread_join(r->th, NULL);
    close(r->stop[0]);
    close(r->stop[1]);
}

/* "<json>\n" in a malloc'd buffer. */
static char *with_nl(const char *json, size_t len)
{
    char *s = malloc(len + 1);
    memcpy(s, json, len);
    s[len] = '\n';
    return s;
}

/* A private channel on a fresh socketpair: sv[0] is the client's end. */
typedef struct pch {
    int sv[2];
    eg_channel ch;
    RuntimeClient *c;
} pch;

static void pch_open(pch *p)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv) == 0);
    CHECK(channel_init_fd(&p->ch, p->sv[0]) == 0);
    p->c = client_new(&p->ch);
    CHECK(p->c != NULL);
}

static void pch_close(pch *p)
{
    elastos_client_close(p->c);
    free(p->ch.buf);
    if (p->sv[0] >= 0)
        close(p->sv[0]);
    close(p->sv[1]);
}

/* Calls fn(c) with the runtime answering `resp` (NUL-terminated JSON, a newline is added);
 * returns fn's status and the request line read (malloc'd, with its newline) in *req. */
#define EXCHANGE(p, resp, req_out, call)                                                 \
    ({                                                                                   \
        fake_rt rt_;                                                                     \
        char *line_ = with_nl((resp), strlen(resp));                                     \
        rt_start(&rt_, (p)->sv[1], line_, strlen(resp) + 1);                             \
        rt_run(&rt_);                                                                    \
        int st_ = (call);                                                                \
        rt_join(&rt_);                                                                   \
        free(line_);                                                                     \
        *(req_out) = rt_.req;                                                            \
        st_;                                                                             \
    })

/* For calls that must be refused locally: a runtime that answers any request it gets with an
 * id-0 error (so a wrongly sent request makes the call return ELASTOS_ERR_RUNTIME instead of
 * hanging, and leaves the id unused). Evaluates to the call's status; checks nothing was sent. */
#define ZERO_ERR                                                                         \
    "{\"id\":0,\"response\":{\"type\":\"error\",\"code\":\"x\",\"message\":\"sent\"}}\n"
#define GUARD(p, call)                                                                   \
    ({                                                                                   \
        fake_rt g_;                                                                      \
        rt_start(&g_, (p)->sv[1], ZERO_ERR, strlen(ZERO_ERR));                           \
        rt_run(&g_);                                                                     \
        int s_ = (call);                                                                 \
        rt_join(&g_);                                                                    \
        CHECK(g_.req_len == 0);                                                          \
        free(g_.req);                                                                    \
        s_;                                                                              \
    })

static int req_is(char *req, const char *expect)
{
    size_t n = strlen(expect);
    int ok = req && strlen(req) >= n && !memcmp(req, expect, n) && req[n] == '\n';
    if (!ok)
        fprintf(stderr, "request: expected %s\n", expect);
    free(req);
    return ok;
}

/* ------------------------------------------------------------------------------------------
 * Vector handlers: the call each vector describes, and the decoded values expected.
 */

typedef void (*vec_fn)(RuntimeClient *c);

static void h_ping(RuntimeClient *c)
{
    CHECK(elastos_ping(c) == 0);
    CHECK_STREQ(elastos_client_error(c), "");
    CHECK_STREQ(elastos_client_error_code(c), "");
}

static void h_get_runtime_info(RuntimeClient *c)
{
    char *v = NULL, *n = NULL, *i = NULL;
    CHECK(elastos_get_runtime_info(c, &v, &n, &i) == 0);
    CHECK_STREQ(v, "0.1.0");
    CHECK_STREQ(n, "hello");
    CHECK_STREQ(i, "hello-7f3a");
    free(v), free(n), free(i);
}

static void cap_check(RuntimeClient *c, const char *res, const char *act,
                      const CapabilityConstraints *k, const char *tok, const char *tid,
                      uint64_t exp)
{
    char *t = NULL, *ti = NULL;
    uint64_t e = 99;
    CHECK(elastos_request_capability_ex(c, res, act, k, &t, &ti, &e) == 0);
    CHECK_STREQ(t, tok);
    CHECK_STREQ(ti, tid);
    CHECK(e == exp);
    free(t), free(ti);
}

static void h_request_capability(RuntimeClient *c)
{
    cap_check(c, "localhost://storage/notes/*", "read", NULL, "tok.AAA", "tid-1", 0);
}

static void h_request_capability_constraints(RuntimeClient *c)
{
    CapabilityConstraints k = {3, 3600, 0};
    cap_check(c, "elastos://ai/chat", "execute", &k, "tok.BBB", "tid-2", 1767225600);
}

static void h_request_capability_delegatable(RuntimeClient *c)
{
    CapabilityConstraints k = {0, 0, 1};
    cap_check(c, "localhost://storage/shared/*", "write", &k, "tok.CCC", "tid-3", 0);
}

static void h_request_capability_unset(RuntimeClient *c)
{
    CapabilityConstraints k = ELASTOS_CONSTRAINTS_INIT;
    char *t = NULL;
    CHECK(elastos_request_capability(c, "elastos://cid/*", "read", &k, &t, NULL) == 0);
    CHECK_STREQ(t, "tok.DDD");
    free(t);
}

static void read_check(RuntimeClient *c, const char *path, const char *expect, size_t n)
{
    uint8_t *d = NULL;
    size_t len = 99;
    CHECK(elastos_storage_read(c, "tok.AAA", path, &d, &len) == 0);
    CHECK(d != NULL && len == n && (n == 0 || !memcmp(d, expect, n)));
    free(d);
}

static void h_storage_read(RuntimeClient *c)
{
    read_check(c, "localhost://storage/notes/today.txt", "Hello, world!", 13);
}

static void h_storage_read_escapes(RuntimeClient *c)
{
    char path[128];
    snprintf(path, sizeof path, "localhost://storage/%s", E);
    read_check(c, path, "", 0);
}

static void write_check(RuntimeClient *c, const void *d, size_t n)
{
    CHECK(elastos_storage_write(c, "tok.AAA", "localhost://storage/notes/a.bin", d, n) == 0);
}

static void h_storage_write_pad0(RuntimeClient *c) { write_check(c, "abc", 3); }
static void h_storage_write_pad1(RuntimeClient *c) { write_check(c, "hello", 5); }
static void h_storage_write_pad2(RuntimeClient *c) { write_check(c, "\x00\x01\xfe\xff", 4); }
static void h_storage_write_empty(RuntimeClient *c) { write_check(c, NULL, 0); }

static void h_storage_list(RuntimeClient *c)
{
    char **e = NULL;
    size_t n = 99;
    CHECK(elastos_storage_list(c, "tok.AAA", "localhost://storage/notes", &e, &n) == 0);
    CHECK(n == 3 && e != NULL);
    if (n == 3 && e) {
        CHECK_STREQ(e[0], "a.txt");
        CHECK_STREQ(e[1], "sub/");
        CHECK_STREQ(e[2], "caf\xc3\xa9 \"q\".txt");
        CHECK(e[3] == NULL);
    }
    free(e);
}

static void h_storage_list_empty(RuntimeClient *c)
{
    char **e = NULL;
    size_t n = 99;
    CHECK(elastos_storage_list(c, "tok.AAA", "localhost://storage/empty", &e, &n) == 0);
    CHECK(n == 0 && e != NULL && e[0] == NULL);
    free(e);
}

static void h_storage_delete(RuntimeClient *c)
{
    CHECK(elastos_storage_delete(c, "tok.AAA", "localhost://storage/notes/a.bin") == 0);
}

static void h_fetch_content(RuntimeClient *c)
{
    uint8_t *d = NULL;
    size_t len = 0;
    CHECK(elastos_fetch_content(c, "tok.AAA", "elastos://cid/" CID, &d, &len) == 0);
    CHECK(d && len == 11 && !memcmp(d, "Hello world", 11));
    free(d);
}

static void h_send_message(RuntimeClient *c)
{
    CHECK(elastos_send_message(c, "tok.AAA", "peer", "\xff\x00\x80\x7f\x41", 5, NULL) == 0);
}

static void h_send_message_reply(RuntimeClient *c)
{
    CHECK(elastos_send_message(c, "tok.AAA", E, "hi", 2, "msg-7") == 0);
}

static void h_receive_messages(RuntimeClient *c)
{
    ElastosMessage *m = NULL;
    size_t n = 0;
    CHECK(elastos_receive_messages(c, 10, &m, &n) == 0);
    CHECK(n == 2 && m != NULL);
    if (n == 2 && m) {
        CHECK_STREQ(m[0].id, "msg-1");
        CHECK_STREQ(m[0].from, "peer");
        CHECK(m[0].payload_len == 2 && !memcmp(m[0].payload, "hi", 2));
        CHECK(m[0].timestamp == 1767225600);
        CHECK(m[0].reply_to == NULL);
        CHECK_STREQ(m[1].id, "msg-2");
        CHECK_STREQ(m[1].from, "caf\xc3\xa9");
        CHECK(m[1].payload_len == 3 && !memcmp(m[1].payload, "abc", 3));
        CHECK(m[1].timestamp == 0);
        CHECK_STREQ(m[1].reply_to, "msg-7");
    }
    elastos_messages_free(m, n);
}

static void h_receive_messages_default(RuntimeClient *c)
{
    ElastosMessage *m = (ElastosMessage *)&m;
    size_t n = 99;
    CHECK(elastos_receive_messages(c, 0, &m, &n) == 0);
    CHECK(n == 0 && m == NULL);
}

static void h_provider_call(RuntimeClient *c)
{
    /* Whitespace, a raw newline, \/ and needless \u escapes: all normalized away. */
    const char *body =
        "{ \"model\" : \"llama\", \"messages\" : [ { \"role\" : \"user\", \"content\" : "
        "\"We\\\"ird\\\\name\\n\\t\\r\\b\\f\\u0001\\u001F\\u007f \\u00e9\xe6\x97\xa5\xe6\x9c\xac"
        "\\ud83d\\ude00\\/\" } ],\n \"temperature\" : 0.7, \"max_tokens\" : 256,\t\"stream\" : "
        "false, \"stop\" : null, \"n\" : -1 }";
    char *r = NULL;
    CHECK(elastos_provider_call(c, "tok.AAA", "elastos://ai/chat", body, &r) == 0);
    CHECK_STREQ(r, "{\"text\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"tokens\":[1,2,3],"
                   "\"score\":-1.5e3,\"done\":true,\"extra\":null}");
    free(r);
}

static void h_provider_call_empty(RuntimeClient *c)
{
    char *r = NULL;
    CHECK(elastos_provider_call(c, "tok.AAA", "elastos://ai/models", "{ }", &r) == 0);
    CHECK_STREQ(r, "\"plain\"");
    free(r);
}

static void launch_check(RuntimeClient *c, const LaunchConfig *cfg, const char *expect)
{
    char *id = NULL;
    CHECK(elastos_launch_capsule(c, cfg, &id) == 0);
    CHECK_STREQ(id, expect);
    free(id);
}

static void h_launch_capsule(RuntimeClient *c)
{
    const char *args[] = {"--flag", E, ""};
    const char *names[] = {"LANG", "GREETING"};
    const char *values[] = {"C.UTF-8", "h\xc3\xa9llo \"x\""};
    LaunchConfig cfg = {CID, NULL, args, 3, names, values, 2, 64, 0, 5000};
    launch_check(c, &cfg, "hello-0002");
}

static void h_launch_capsule_name(RuntimeClient *c)
{
    LaunchConfig cfg = {0};
    cfg.name = "hello";
    launch_check(c, &cfg, "hello-0003");
}

static void h_launch_capsule_limits(RuntimeClient *c)
{
    LaunchConfig cfg = {0};
    cfg.cid = CID;
    cfg.name = "hello";
    cfg.memory_mb = 16;
    cfg.cpu_ms = 1000;
    cfg.wall_ms = 2000;
    launch_check(c, &cfg, "hello-0004");
}

static void h_stop_capsule(RuntimeClient *c)
{
    CHECK(elastos_stop_capsule(c, "hello-0002") == 0);
}

static void h_list_capsules(RuntimeClient *c)
{
    char *j = NULL;
    CHECK(elastos_list_capsules(c, &j) == 0);
    CHECK_STREQ(j, "[{\"capsule_id\":\"hello-0003\",\"name\":\"hello\",\"state\":\"running\"}]");
    free(j);
}

static void h_list_capsules_empty(RuntimeClient *c)
{
    char *j = NULL;
    CHECK(elastos_list_capsules(c, &j) == 0);
    CHECK_STREQ(j, "[]");
    free(j);
}

static void h_get_decision_request(RuntimeClient *c)
{
    ElastosDecisionRequest d;
    CHECK(elastos_get_decision_request(c, &d) == 0);
    CHECK(d.request_id == 42);
    CHECK_STREQ(d.capsule_name, "notes");
    CHECK_STREQ(d.capsule_id, "notes-0001");
    CHECK_STREQ(d.publisher, PUB);
    CHECK_STREQ(d.resource, "localhost://storage/notes/*");
    CHECK_STREQ(d.action, "write");
    CHECK(d.constraints.max_uses == 1 && d.constraints.expiry_secs == 60 &&
          d.constraints.delegatable == 0);
    elastos_decision_request_free(&d);
    CHECK(d.capsule_name == NULL && d.action == NULL && d.request_id == 0);
}

static void h_get_decision_request_unconstrained(RuntimeClient *c)
{
    ElastosDecisionRequest d;
    CHECK(elastos_get_decision_request(c, &d) == 0);
    CHECK(d.request_id == UINT64_MAX);
    CHECK_STREQ(d.capsule_name, "caf\xc3\xa9");
    CHECK_STREQ(d.capsule_id, "cafe-0009");
    CHECK_STREQ(d.publisher, PUB);
    CHECK_STREQ(d.resource, "elastos://ai/chat");
    CHECK_STREQ(d.action, "execute");
    CHECK(d.constraints.max_uses == 0 && d.constraints.expiry_secs == 0 &&
          d.constraints.delegatable == -1);
    elastos_decision_request_free(&d);
}

static void h_grant_capability(RuntimeClient *c)
{
    char *t = NULL;
    CHECK(elastos_grant_capability(c, 42, "once", &t) == 0);
    CHECK_STREQ(t, "tid-42");
    free(t);
}

static void h_deny_capability(RuntimeClient *c)
{
    CHECK(elastos_deny_capability(c, UINT64_MAX, E) == 0);
}

static void h_get_provider_call(RuntimeClient *c)
{
    ElastosProviderCall call;
    CHECK(elastos_get_provider_call(c, &call) == 0);
    CHECK(call.call_id == 7);
    CHECK_STREQ(call.scheme, "elastos://kv/");
    CHECK_STREQ(call.caller, "kv-cli@a7b3d8fd6543d43f");
    CHECK_STREQ(call.caller_instance, "a353d75764540f19771ce05531e989ff");
    CHECK_STREQ(call.resource, "elastos://kv/get");
    CHECK_STREQ(call.action, "execute");
    CHECK_STREQ(call.op, "get");
    CHECK_STREQ(call.body_json, "{\"key\":\"caf\xc3\xa9\",\"n\":[1,-2.5e1,null]}");
    elastos_provider_call_free(&call);
}

static void h_answer_provider_call(RuntimeClient *c)
{
    char result[256];
    /* E written as JSON text: the SDK re-encodes it compactly */
    snprintf(result, sizeof result, "{ \"value\" : \"%s\" , \"ok\" : true }",
             "We\\\"ird\\\\name\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f \xc3\xa9\xe6\x97\xa5\xe6\x9c\xac"
             "\\ud83d\\ude00\\/");
    CHECK(elastos_answer_provider_call(c, 7, result) == 0);
}

static void h_fail_provider_call(RuntimeClient *c)
{
    CHECK(elastos_fail_provider_call(c, UINT64_MAX, "not_found", E) == 0);
}

static void h_revoke_capability(RuntimeClient *c)
{
    CHECK(elastos_revoke_capability(c, "tid-42") == 0);
}

static void runtime_error(RuntimeClient *c, int st, const char *code, const char *msg)
{
    CHECK(st == ELASTOS_ERR_RUNTIME);
    CHECK_STREQ(elastos_client_error_code(c), code);
    CHECK_STREQ(elastos_client_error(c), msg);
}

static void h_storage_read_denied(RuntimeClient *c)
{
    uint8_t *d = (uint8_t *)&d;
    size_t len = 99;
    int st = elastos_storage_read(c, "tok.AAA", "localhost://storage/secret.txt", &d, &len);
    runtime_error(c, st, "denied", "no token covers localhost://storage/secret.txt for read");
    CHECK(d == NULL && len == 0);
}

static void h_storage_write_limit(RuntimeClient *c)
{
    int st = elastos_storage_write(c, "tok.AAA", "localhost://storage/big.bin", "abc", 3);
    runtime_error(c, st, "limit", "quota \"64 MiB\" exceeded\n\xc3\xa9");
}

static void h_fetch_content_expired(RuntimeClient *c)
{
    uint8_t *d = NULL;
    size_t len = 0;
    int st = elastos_fetch_content(c, "tok.OLD", "elastos://cid/" CID, &d, &len);
    runtime_error(c, st, "expired", "token expired");
    CHECK(d == NULL);
}

static void h_revoke_capability_unknown(RuntimeClient *c)
{
    runtime_error(c, elastos_revoke_capability(c, "tid-999"), "not_found", "no token tid-999");
}

static void h_send_message_revoked(RuntimeClient *c)
{
    runtime_error(c, elastos_send_message(c, "tok.REV", "peer", "hi", 2, NULL), "revoked",
                  "token tid-7 was revoked");
}

static const struct {
    const char *name;
    vec_fn fn;
} handlers[] = {
#define H(n) {#n, h_##n}
    H(ping), H(get_runtime_info), H(request_capability), H(request_capability_constraints),
    H(request_capability_delegatable), H(request_capability_unset), H(storage_read),
    H(storage_read_escapes), H(storage_write_pad0), H(storage_write_pad1),
    H(storage_write_pad2), H(storage_write_empty), H(storage_list), H(storage_list_empty),
    H(storage_delete), H(fetch_content), H(send_message), H(send_message_reply),
    H(receive_messages), H(receive_messages_default), H(provider_call), H(provider_call_empty),
    H(launch_capsule), H(launch_capsule_name), H(launch_capsule_limits), H(stop_capsule),
    H(list_capsules), H(list_capsules_empty), H(get_decision_request),
    H(get_decision_request_unconstrained), H(grant_capability), H(deny_capability),
    H(revoke_capability), H(storage_read_denied), H(storage_write_limit),
    H(fetch_content_expired), H(revoke_capability_unknown), H(send_message_revoked),
    H(get_provider_call), H(answer_provider_call), H(fail_provider_call),
#undef H
};
#define N_HANDLERS (sizeof handlers / sizeof handlers[0])

/* elastos_client_open's environment handling, then the whole vector session on its channel. */
static void test_vectors(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    unsetenv("ELASTOS_RUNTIME_FD");
    CHECK(elastos_client_open() == NULL);
    int closed = dup(sv[1]);
    close(closed);
    char num[32];
    snprintf(num, sizeof num, "%d", closed);
    const char *bad[] = {"", "abc", "-1", "3x", "99999999999", "2147483648", "0003", num};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("ELASTOS_RUNTIME_FD", bad[i], 1);
        CHECK(elastos_client_open() == NULL);
    }
    snprintf(num, sizeof num, "%d", sv[0]);
    setenv("ELASTOS_RUNTIME_FD", num, 1);
    RuntimeClient *c = elastos_client_open();
    CHECK(c != NULL);
    if (!c)
        return;

    int used[N_HANDLERS] = {0};
    size_t n_requests = 0;
    uint64_t expect_id = 1;
    for (size_t i = 0; i < n_vecs; i++) {
        if (!vecs[i].is_request)
            continue;
        n_requests++;
        const vec *rq = &vecs[i], *rs = find_vec(0, rq->name);
        size_t h = 0;
        while (h < N_HANDLERS && strcmp(handlers[h].name, rq->name))
            h++;
        CHECK(rs != NULL);
        CHECK(h < N_HANDLERS);
        if (!rs || h == N_HANDLERS) {
            fprintf(stderr, "vector %s: no response or no handler\n", rq->name);
            continue;
        }
        char idbuf[40];
        snprintf(idbuf, sizeof idbuf, "{\"id\":%llu,", (unsigned long long)expect_id++);
        CHECK(!strncmp(rq->json, idbuf, strlen(idbuf))); /* the file's ids run 1, 2, 3... */
        used[h]++;
        char *line = with_nl(rs->json, rs->len);
        fake_rt rt;
        rt_start(&rt, sv[1], line, rs->len + 1);
        rt_run(&rt);
        handlers[h].fn(c);
        rt_join(&rt);
        int same = rt.req_len == rq->len + 1 && !memcmp(rt.req, rq->json, rq->len) &&
                   rt.req[rq->len] == '\n';
        CHECK(same);
        if (!same)
            fprintf(stderr, "vector %s:\n  expected %s\n  got      %.*s\n", rq->name, rq->json,
                    (int)rt.req_len, rt.req ? rt.req : "");
        free(rt.req);
        free(line);
    }
    CHECK(n_requests == N_HANDLERS);
    for (size_t h = 0; h < N_HANDLERS; h++) {
        CHECK(used[h] == 1);
        if (used[h] != 1)
            fprintf(stderr, "handler %s used %d times\n", handlers[h].name, used[h]);
    }

    /* A second client shares the process's numbering; closing one keeps the channel. */
    RuntimeClient *c2 = elastos_client_open();
    CHECK(c2 != NULL);
    elastos_client_close(c);
    char expect[64], resp[64];
    snprintf(expect, sizeof expect, "{\"id\":%llu,\"request\":{\"type\":\"ping\"}}",
             (unsigned long long)expect_id);
    snprintf(resp, sizeof resp, "{\"id\":%llu,\"response\":{\"type\":\"pong\"}}",
             (unsigned long long)expect_id);
    pch p = {{sv[0], sv[1]}, {0}, c2};
    char *req;
    CHECK(EXCHANGE(&p, resp, &req, elastos_ping(c2)) == 0);
    CHECK(req_is(req, expect));
    elastos_client_close(c2);
    close(sv[0]);
    close(sv[1]);
    unsetenv("ELASTOS_RUNTIME_FD");
}

/* ------------------------------------------------------------------------------------------
 * Ids
 */

static void test_ids(void)
{
    pch p;
    char *req;
    const char *ping1 = "{\"id\":1,\"request\":{\"type\":\"ping\"}}";
    const char *ping2 = "{\"id\":2,\"request\":{\"type\":\"ping\"}}";

    /* id 0: the runtime did not count the request; the client reuses its id. */
    pch_open(&p);
    int st = EXCHANGE(&p, "{\"id\":0,\"response\":{\"type\":\"error\",\"code\":\"bad_request\","
                          "\"message\":\"unreadable envelope\"}}",
                      &req, elastos_ping(p.c));
    CHECK(st == ELASTOS_ERR_RUNTIME);
    CHECK_STREQ(elastos_client_error_code(p.c), "bad_request");
    CHECK_STREQ(elastos_client_error(p.c), "unreadable envelope");
    CHECK(req_is(req, ping1));
    st = EXCHANGE(&p, "{\"id\":0,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c));
    CHECK(st == ELASTOS_ERR_PROTOCOL);
    CHECK(req_is(req, ping1));
    CHECK(EXCHANGE(&p, "{\"id\":1,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c)) ==
          0);
    CHECK(req_is(req, ping1));
    CHECK(EXCHANGE(&p, "{\"id\":2,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c)) ==
          0);
    CHECK(req_is(req, ping2));
    /* A wrong id is refused and leaves the channel unusable: nothing more is sent. */
    st = EXCHANGE(&p, "{\"id\":7,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c));
    CHECK(st == ELASTOS_ERR_PROTOCOL);
    CHECK(strstr(elastos_client_error(p.c), "id 7") != NULL);
    CHECK(req_is(req, "{\"id\":3,\"request\":{\"type\":\"ping\"}}"));
    CHECK(GUARD(&p, elastos_ping(p.c)) == ELASTOS_ERR_TRANSPORT);
    CHECK(strstr(elastos_client_error(p.c), "id 7") != NULL);
    pch_close(&p);

    /* Wrong id 2 for request 1 (an off-by-one runtime). */
    pch_open(&p);
    st = EXCHANGE(&p, "{\"id\":2,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c));
    CHECK(st == ELASTOS_ERR_PROTOCOL);
    free(req);
    pch_close(&p);

    /* Two lines for one request: the extra one is taken as the next response -> mismatch. */
    pch_open(&p);
    st = EXCHANGE(&p, "{\"id\":1,\"response\":{\"type\":\"pong\"}}\n"
                      "{\"id\":1,\"response\":{\"type\":\"pong\"}}",
                  &req, elastos_ping(p.c));
    CHECK(st == 0);
    free(req);
    CHECK(elastos_ping(p.c) == ELASTOS_ERR_PROTOCOL);
    char buf[64] = {0};
    CHECK(read(p.sv[1], buf, sizeof buf - 1) > 0);
    CHECK(req_is(strdup(buf), ping2));
    pch_close(&p);
}

/* ------------------------------------------------------------------------------------------
 * Hostile responses
 */

enum { K_PING, K_INFO, K_CAP, K_READ, K_LIST, K_RECV, K_PROVIDER, K_LAUNCH, K_CAPSULES,
       K_DECISION, K_GRANT, K_RAW };

/* Calls the helper of kind k; checks outputs are clear on failure and frees them. */
static int call_kind(RuntimeClient *c, int k)
{
    int st = -100;
    switch (k) {
    case K_PING: st = elastos_ping(c); break;
    case K_INFO: {
        char *a = (char *)1, *b = (char *)1, *d = (char *)1;
        st = elastos_get_runtime_info(c, &a, &b, &d);
        CHECK(st == 0 || (!a && !b && !d));
        free(a), free(b), free(d);
        break;
    }
    case K_CAP: {
        char *t = (char *)1, *ti = (char *)1;
        uint64_t e = 1;
        CapabilityConstraints k2 = {1, 2, 1};
        st = elastos_request_capability_ex(c, "r", "a", &k2, &t, &ti, &e);
        CHECK(st == 0 || (!t && !ti && !e));
        free(t), free(ti);
        break;
    }
    case K_READ: {
        uint8_t *d = (uint8_t *)1;
        size_t n = 1;
        st = elastos_storage_read(c, "t", "p", &d, &n);
        CHECK(st == 0 || (!d && !n));
        free(d);
        break;
    }
    case K_LIST: {
        char **e = (char **)1;
        size_t n = 1;
        st = elastos_storage_list(c, "t", "p", &e, &n);
        CHECK(st == 0 || (!e && !n));
        free(e);
        break;
    }
    case K_RECV: {
        ElastosMessage *m = (ElastosMessage *)1;
        size_t n = 1;
        st = elastos_receive_messages(c, 5, &m, &n);
        CHECK(st == 0 || (!m && !n));
        elastos_messages_free(st == 0 ? m : NULL, n);
        break;
    }
    case K_PROVIDER: {
        char *r = (char *)1;
        st = elastos_provider_call(c, "t", "u", "{}", &r);
        CHECK(st == 0 || !r);
        free(r);
        break;
    }
    case K_LAUNCH: {
        char *id = (char *)1;
        LaunchConfig cfg = {0};
        cfg.name = "x";
        st = elastos_launch_capsule(c, &cfg, &id);
        CHECK(st == 0 || !id);
        free(id);
        break;
    }
    case K_CAPSULES: {
        char *j = (char *)1;
        st = elastos_list_capsules(c, &j);
        CHECK(st == 0 || !j);
        free(j);
        break;
    }
    case K_DECISION: {
        ElastosDecisionRequest d;
        memset(&d, 0xAB, sizeof d);
        st = elastos_get_decision_request(c, &d);
        CHECK(st == 0 || (!d.capsule_name && !d.capsule_id && !d.publisher && !d.resource &&
                          !d.action && d.request_id == 0));
        elastos_decision_request_free(&d);
        break;
    }
    case K_GRANT: {
        char *t = (char *)1;
        st = elastos_grant_capability(c, 1, "once", &t);
        CHECK(st == 0 || !t);
        free(t);
        break;
    }
    case K_RAW: {
        char *r = (char *)1;
        st = elastos_client_call(c, "{\"type\":\"ping\"}", &r);
        CHECK(st == 0 || !r);
        free(r);
        break;
    }
    }
    return st;
}

typedef struct hostile {
    int kind, expect;
    const char *line; /* without the newline; may hold NULs */
    size_t len;
} hostile;

#define OK_ 0
#define PR_ ELASTOS_ERR_PROTOCOL
#define RT_ ELASTOS_ERR_RUNTIME
#define HL(k, e, s) {k, e, s, sizeof(s) - 1}
#define ENV(r) "{\"id\":1,\"response\":" r "}"
#define PONGX(x) ENV("{\"type\":\"pong\",\"x\":" x "}")

static const hostile hostiles[] = {
    /* framing and envelope */
    HL(K_PING, OK_, ENV("{\"type\":\"pong\"}")),
    HL(K_PING, PR_, ""),
    HL(K_PING, PR_, " "),
    HL(K_PING, PR_, "{\"id\":1,\"response\":{\"type\":\"pong\"}"),
    HL(K_PING, PR_, "{\"id\":1,\"response\":{\"type\":\"po"),
    HL(K_PING, PR_, "{\"id\":1,\"resp"),
    HL(K_PING, PR_, ENV("{\"type\":\"pong\"}") "x"),
    HL(K_PING, PR_, ENV("{\"type\":\"pong\"}") ENV("{\"type\":\"pong\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"pong\"}") "\0"),
    HL(K_PING, PR_, "\0" ENV("{\"type\":\"pong\"}")),
    HL(K_PING, PR_, "\xef\xbb\xbf" ENV("{\"type\":\"pong\"}")),
    HL(K_PING, PR_, "[1]"),
    HL(K_PING, PR_, "null"),
    HL(K_PING, PR_, "\"pong\""),
    HL(K_PING, PR_, "1"),
    HL(K_PING, PR_, "{\"id\":\"1\",\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":1.0,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":1e0,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":-1,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":01,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":18446744073709551617,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":99999999999999999999999999999999,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":null,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, "{\"id\":1}"),
    HL(K_PING, PR_, "{\"id\":1,\"response\":[]}"),
    HL(K_PING, PR_, "{\"id\":1,\"response\":\"pong\"}"),
    HL(K_PING, PR_, ENV("{}")),
    HL(K_PING, PR_, ENV("{\"type\":7}")),
    HL(K_PING, PR_, ENV("{\"type\":null}")),
    HL(K_PING, PR_, ENV("{\"type\":\"ok\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"pong\\u0000\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"PONG\"}")),
    HL(K_PING, PR_, "{\"id\":1,\"id\":1,\"response\":{\"type\":\"pong\"}}"),
    HL(K_PING, PR_, ENV("{\"type\":\"pong\",\"type\":\"pong\"}")),
    HL(K_PING, PR_, PONGX("{\"a\":1,\"b\":2,\"a\":3}")),
    HL(K_PING, OK_, PONGX("{\"a\\u0000b\":1,\"a\\u0000c\":2}")),
    HL(K_PING, PR_, PONGX("{\"a\\u0000b\":1,\"a\\u0000b\":2}")),
    /* error responses */
    HL(K_PING, RT_, ENV("{\"type\":\"error\",\"code\":\"denied\",\"message\":\"no\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"code\":\"denied\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"message\":\"m\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"code\":\"\",\"message\":\"m\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"code\":5,\"message\":\"m\"}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"code\":\"x\",\"message\":[]}")),
    HL(K_PING, PR_, ENV("{\"type\":\"error\",\"code\":\"a\\u0000b\",\"message\":\"m\"}")),
    /* strings: escapes and UTF-8 (in an unknown member, which is still parsed strictly) */
    HL(K_PING, OK_, PONGX("\"\\ud83d\\ude00 \\u00e9 \\/ \\b\"")),
    HL(K_PING, PR_, PONGX("\"a\x01" "b\"")),
    HL(K_PING, PR_, PONGX("\"a\nb\"")),
    HL(K_PING, PR_, PONGX("\"\\x\"")),
    HL(K_PING, PR_, PONGX("\"\\u12\"")),
    HL(K_PING, PR_, PONGX("\"\\uZZZZ\"")),
    HL(K_PING, PR_, PONGX("\"\\ud800\"")),
    HL(K_PING, PR_, PONGX("\"\\udc00\"")),
    HL(K_PING, PR_, PONGX("\"\\ud800\\u0041\"")),
    HL(K_PING, PR_, PONGX("\"\\ud800\\ud800\"")),
    HL(K_PING, PR_, PONGX("\"\\ud800x\"")),
    HL(K_PING, PR_, PONGX("\"\\")),
    HL(K_PING, PR_, PONGX("\"\xff\"")),
    HL(K_PING, PR_, PONGX("\"\xc0\x80\"")),
    HL(K_PING, PR_, PONGX("\"\xc1\xbf\"")),
    HL(K_PING, PR_, PONGX("\"\xe0\x80\x80\"")),
    HL(K_PING, PR_, PONGX("\"\xed\xa0\x80\"")),
    HL(K_PING, PR_, PONGX("\"\xf4\x90\x80\x80\"")),
    HL(K_PING, PR_, PONGX("\"\xf8\x88\x80\x80\x80\"")),
    HL(K_PING, PR_, PONGX("\"\xe6\x97\"")),
    HL(K_PING, PR_, PONGX("\"\x80\"")),
    HL(K_PING, PR_, PONGX("'a'")),
    /* numbers and literals */
    HL(K_PING, OK_, PONGX("-1.5e+300")),
    HL(K_PING, OK_, PONGX("1e999999999")),
    HL(K_PING, PR_, PONGX("1.")),
    HL(K_PING, PR_, PONGX(".5")),
    HL(K_PING, PR_, PONGX("+1")),
    HL(K_PING, PR_, PONGX("1e")),
    HL(K_PING, PR_, PONGX("-")),
    HL(K_PING, PR_, PONGX("NaN")),
    HL(K_PING, PR_, PONGX("Infinity")),
    HL(K_PING, PR_, PONGX("tru")),
    HL(K_PING, PR_, PONGX("nulll")),
    HL(K_PING, PR_, PONGX("[1,]")),
    HL(K_PING, PR_, PONGX("{\"a\":1,}")),
    HL(K_PING, PR_, PONGX("[1 2]")),
    HL(K_PING, PR_, PONGX("{\"a\" 1}")),
    HL(K_PING, PR_, PONGX("{1:2}")),
    /* depth: envelope (1) + response (2) + 30 arrays = 32 is the most allowed */
    HL(K_PING, OK_, PONGX("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")),
    HL(K_PING, PR_, PONGX("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")),
    HL(K_PING, PR_, PONGX("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[")),
    /* runtime_info */
    HL(K_INFO, OK_, ENV("{\"type\":\"runtime_info\",\"version\":\"v\",\"capsule_name\":\"n\","
                        "\"capsule_id\":\"i\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"runtime_info\",\"version\":\"v\",\"capsule_name\":\"n\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"runtime_info\",\"version\":null,\"capsule_name\":\"n\","
                        "\"capsule_id\":\"i\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"runtime_info\",\"version\":1,\"capsule_name\":\"n\","
                        "\"capsule_id\":\"i\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"runtime_info\",\"version\":\"v\",\"capsule_name\":\"n\","
                        "\"capsule_id\":\"i\\u0000j\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"runtime_info\",\"version\":\"v\",\"capsule_name\":[\"n\"],"
                        "\"capsule_id\":\"i\"}")),
    HL(K_INFO, PR_, ENV("{\"type\":\"pong\"}")),
    /* capability_token */
    HL(K_CAP, OK_, ENV("{\"type\":\"capability_token\",\"token\":\"t\",\"token_id\":\"i\","
                       "\"expires_at\":18446744073709551615}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token_id\":\"i\"}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":\"t\"}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":\"t\",\"token_id\":\"i\","
                       "\"expires_at\":-5}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":\"t\",\"token_id\":\"i\","
                       "\"expires_at\":1.5}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":\"t\",\"token_id\":\"i\","
                       "\"expires_at\":\"1\"}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":\"t\",\"token_id\":\"i\","
                       "\"expires_at\":18446744073709551616}")),
    HL(K_CAP, PR_, ENV("{\"type\":\"capability_token\",\"token\":true,\"token_id\":\"i\"}")),
    HL(K_CAP, RT_, ENV("{\"type\":\"error\",\"code\":\"invalid_token\",\"message\":\"x\"}")),
    /* storage_data: strict base64 */
    HL(K_READ, OK_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG8=\"}")),
    HL(K_READ, OK_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVs\\u0062G8=\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG8\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG8==\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGV$bG8=\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG9=\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"====\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"A\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVs bG8=\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVs\\nbG8=\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG8=\\u0000\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SG==SGVs\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":\"SGVsbG8-\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":12}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\",\"data\":null}")),
    HL(K_READ, PR_, ENV("{\"type\":\"storage_data\"}")),
    HL(K_READ, PR_, ENV("{\"type\":\"content\",\"data\":\"\"}")),
    /* storage_list */
    HL(K_LIST, OK_, ENV("{\"type\":\"storage_list\",\"entries\":[\"a\",\"b/\"]}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\",\"entries\":\"a\"}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\",\"entries\":[\"a\",1]}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\",\"entries\":[\"a\\u0000b\"]}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\",\"entries\":{\"a\":\"b\"}}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\",\"entries\":[null]}")),
    HL(K_LIST, PR_, ENV("{\"type\":\"storage_list\"}")),
    /* messages */
    HL(K_RECV, OK_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"\",\"timestamp\":1,\"reply_to\":null}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":{}}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":null}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[1]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"\"}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"\",\"timestamp\":\"1\"}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"\",\"timestamp\":18446744073709551616}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"QQ\",\"timestamp\":1}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"\",\"timestamp\":1,\"reply_to\":3}]}")),
    HL(K_RECV, PR_, ENV("{\"type\":\"messages\",\"messages\":[{\"id\":\"1\",\"from\":\"f\","
                        "\"payload\":\"QQ==\",\"timestamp\":1,\"reply_to\":\"r\"},"
                        "{\"id\":\"2\",\"from\":\"f\",\"payload\":\"QQ==\"}]}")),
    /* provider_result, capsule_launched, capsule_list */
    HL(K_PROVIDER, OK_, ENV("{\"type\":\"provider_result\",\"result\":null}")),
    HL(K_PROVIDER, PR_, ENV("{\"type\":\"provider_result\"}")),
    HL(K_PROVIDER, PR_, ENV("{\"type\":\"provider_result\",\"result\":[[[[[[[[[[[[[[[[[[[[[[[["
                            "[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}")),
    HL(K_LAUNCH, OK_, ENV("{\"type\":\"capsule_launched\",\"capsule_id\":\"x-1\"}")),
    HL(K_LAUNCH, PR_, ENV("{\"type\":\"capsule_launched\"}")),
    HL(K_LAUNCH, PR_, ENV("{\"type\":\"capsule_launched\",\"capsule_id\":{}}")),
    HL(K_CAPSULES, OK_, ENV("{\"type\":\"capsule_list\",\"capsules\":[1,\"a\",{}]}")),
    HL(K_CAPSULES, PR_, ENV("{\"type\":\"capsule_list\",\"capsules\":{}}")),
    HL(K_CAPSULES, PR_, ENV("{\"type\":\"capsule_list\"}")),
    /* decision_request */
    HL(K_DECISION, OK_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{\"max_uses\":4294967295}}")),
    HL(K_DECISION, OK_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":null}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"capsule_name\":\"n\","
                            "\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{}}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{\"max_uses\":4294967296}}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{\"delegatable\":\"yes\"}}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{\"expiry_secs\":-1}}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":[]}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{}}")),
    HL(K_DECISION, PR_, ENV("{\"type\":\"decision_request\",\"request_id\":\"1\",\"capsule_name\":"
                            "\"n\",\"capsule_id\":\"i\",\"publisher\":\"p\",\"resource\":\"r\","
                            "\"action\":\"a\",\"constraints\":{}}")),
    /* capability_granted, raw call */
    HL(K_GRANT, OK_, ENV("{\"type\":\"capability_granted\",\"token_id\":\"t\"}")),
    HL(K_GRANT, PR_, ENV("{\"type\":\"capability_granted\",\"token_id\":7}")),
    HL(K_GRANT, PR_, ENV("{\"type\":\"ok\"}")),
    HL(K_RAW, OK_, ENV("{\"type\":\"anything\",\"v\":[1]}")),
    HL(K_RAW, PR_, "{\"id\":1,\"response\":\"pong\"}"),
    HL(K_RAW, RT_, ENV("{\"type\":\"error\",\"code\":\"unsupported\",\"message\":\"m\"}")),
};

static void test_hostile(void)
{
    for (size_t i = 0; i < sizeof hostiles / sizeof *hostiles; i++) {
        const hostile *h = &hostiles[i];
        pch p;
        pch_open(&p);
        char *line = with_nl(h->line, h->len);
        fake_rt rt;
        rt_start(&rt, p.sv[1], line, h->len + 1);
        rt_run(&rt);
        int st = call_kind(p.c, h->kind);
        rt_join(&rt);
        CHECK(st == h->expect);
        CHECK(st == 0 ? elastos_client_error(p.c)[0] == '\0'
                      : elastos_client_error(p.c)[0] != '\0');
        CHECK(st == ELASTOS_ERR_RUNTIME ? elastos_client_error_code(p.c)[0] != '\0'
                                        : elastos_client_error_code(p.c)[0] == '\0');
        if (st != h->expect)
            fprintf(stderr, "hostile #%zu (%.60s): got %d (%s), expected %d\n", i, h->line, st,
                    elastos_client_error(p.c), h->expect);
        CHECK(rt.req_len > 0 && rt.req[rt.req_len - 1] == '\n');
        free(rt.req);
        free(line);
        pch_close(&p);
    }
}

/* ------------------------------------------------------------------------------------------
 * Transport failures and the 1 MiB limit
 */

/* One exchange where the runtime sends `bytes` (no newline added); the client end is closed
 * before joining, so a runtime blocked on a huge write gets EPIPE. */
static int raw_exchange(pch *p, const char *bytes, size_t n, int close_after, int dribble,
                        int k)
{
    fake_rt rt;
    rt_start(&rt, p->sv[1], bytes, n);
    rt.close_after = close_after;
    rt.dribble = dribble;
    rt_run(&rt);
    int st = call_kind(p->c, k);
    close(p->sv[0]);
    p->sv[0] = -1;
    rt_join(&rt);
    free(rt.req);
    return st;
}

/* A storage_data line of exactly `total` bytes before the newline (spaces pad it). */
static char *data_line(size_t total, size_t *b64_len)
{
    const char *pre = "{\"id\":1,\"response\":{\"type\":\"storage_data\",\"data\":\"";
    const char *post = "\"}}";
    size_t fixed = strlen(pre) + strlen(post);
    size_t b = (total - fixed) / 4 * 4, pad = total - fixed - b;
    char *s = malloc(total + 1);
    size_t k = 0;
    memcpy(s, pre, strlen(pre));
    k += strlen(pre);
    for (size_t i = 0; i < b; i++)
        s[k++] = "QUJD"[i % 4]; /* "ABC" repeated */
    s[k++] = '"';
    memset(s + k, ' ', pad);
    k += pad;
    s[k++] = '}';
    s[k++] = '}';
    s[k] = '\n';
    *b64_len = b;
    return s;
}

static void test_transport(void)
{
    pch p;

    /* EOF before any response, EOF in the middle of one: transport errors, then unusable. */
    pch_open(&p);
    fake_rt rt;
    rt_start(&rt, p.sv[1], NULL, 0);
    rt.close_after = 1;
    rt_run(&rt);
    CHECK(elastos_ping(p.c) == ELASTOS_ERR_TRANSPORT);
    rt_join(&rt);
    free(rt.req);
    CHECK(strstr(elastos_client_error(p.c), "closed") != NULL);
    CHECK(GUARD(&p, elastos_ping(p.c)) == ELASTOS_ERR_TRANSPORT);
    pch_close(&p);

    pch_open(&p);
    const char *half = "{\"id\":1,\"response\":{\"ty";
    CHECK(raw_exchange(&p, half, strlen(half), 1, 0, K_PING) == ELASTOS_ERR_TRANSPORT);
    pch_close(&p);

    /* A response arriving one byte at a time. */
    pch_open(&p);
    const char *slow = "{\"id\":1,\"response\":{\"type\":\"storage_data\",\"data\":\"QUJD\"}}\n";
    CHECK(raw_exchange(&p, slow, strlen(slow), 0, 1, K_READ) == 0);
    pch_close(&p);

    /* A 2 MiB line: refused without reading it all; the channel is then unusable. */
    pch_open(&p);
    size_t big = 2 << 20, bl;
    char *line = data_line(big, &bl);
    fake_rt rt2;
    rt_start(&rt2, p.sv[1], line, big + 1);
    rt_run(&rt2);
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK(elastos_storage_read(p.c, "t", "p", &d, &n) == ELASTOS_ERR_PROTOCOL);
    CHECK(d == NULL);
    CHECK(elastos_ping(p.c) == ELASTOS_ERR_TRANSPORT);
    close(p.sv[0]);
    p.sv[0] = -1;
    rt_join(&rt2);
    free(rt2.req);
    free(line);
    pch_close(&p);

    /* Exactly 1 MiB: accepted and decoded; one byte more: refused. */
    pch_open(&p);
    line = data_line(EG_MAX_MESSAGE, &bl);
    rt_start(&rt2, p.sv[1], line, EG_MAX_MESSAGE + 1);
    rt_run(&rt2);
    CHECK(elastos_storage_read(p.c, "t", "p", &d, &n) == 0);
    rt_join(&rt2);
    free(rt2.req);
    CHECK(d != NULL && n == bl / 4 * 3);
    int all = d != NULL;
    for (size_t i = 0; d && i < n; i++)
        all &= d[i] == (uint8_t)"ABC"[i % 3];
    CHECK(all);
    free(d);
    free(line);
    pch_close(&p);

    pch_open(&p);
    line = data_line(EG_MAX_MESSAGE + 1, &bl);
    CHECK(raw_exchange(&p, line, EG_MAX_MESSAGE + 2, 0, 0, K_READ) == ELASTOS_ERR_PROTOCOL);
    free(line);
    pch_close(&p);

    /* Requests: exactly 1 MiB on the wire is sent; one byte more is refused locally, without
     * sending anything or using an id. */
    const char *pre = "{\"id\":1,\"request\":{\"type\":\"storage_write\",\"token\":\"";
    const char *mid = "\",\"path\":\"p\",\"content\":\"";
    size_t fixed = strlen(pre) + strlen(mid) + 3, data_len = 786000;
    size_t tok_len = EG_MAX_MESSAGE - fixed - eg_b64_encoded_len(data_len);
    char *tok = malloc(tok_len + 2);
    memset(tok, 't', tok_len + 1);
    tok[tok_len] = '\0';
    uint8_t *payload = calloc(1, data_len);
    pch_open(&p);
    char *req = NULL;
    CHECK(EXCHANGE(&p, "{\"id\":1,\"response\":{\"type\":\"ok\"}}", &req,
                   elastos_storage_write(p.c, tok, "p", payload, data_len)) == 0);
    CHECK(req && strlen(req) == EG_MAX_MESSAGE + 1 && req[EG_MAX_MESSAGE] == '\n');
    free(req);
    tok[tok_len] = 't';
    tok[tok_len + 1] = '\0';
    CHECK(GUARD(&p, elastos_storage_write(p.c, tok, "p", payload, data_len)) ==
          ELASTOS_ERR_INVALID);
    CHECK(strstr(elastos_client_error(p.c), "1 MiB") != NULL);
    CHECK(GUARD(&p, elastos_storage_write(p.c, "t", "p", payload, 1 << 20)) ==
          ELASTOS_ERR_INVALID);
    CHECK(EXCHANGE(&p, "{\"id\":2,\"response\":{\"type\":\"pong\"}}", &req, elastos_ping(p.c)) ==
          0);
    CHECK(req_is(req, "{\"id\":2,\"request\":{\"type\":\"ping\"}}"));
    pch_close(&p);
    free(tok);
    free(payload);
}

/* ------------------------------------------------------------------------------------------
 * Local argument checks and the raw call
 */

static void test_arguments(void)
{
    pch p;
    pch_open(&p);
    RuntimeClient *c = p.c;
    uint8_t *d;
    size_t n;
    char *s;
    CHECK(GUARD(&p, elastos_ping(NULL)) == ELASTOS_ERR_INVALID);
    CHECK(elastos_client_error(NULL)[0] != '\0');
    CHECK_STREQ(elastos_client_error_code(NULL), "");
    elastos_client_close(NULL);
    elastos_messages_free(NULL, 3);
    elastos_decision_request_free(NULL);
    CHECK(GUARD(&p, elastos_storage_read(c, NULL, "p", &d, &n)) == ELASTOS_ERR_INVALID);
    CHECK(strstr(elastos_client_error(c), "token") != NULL);
    CHECK(GUARD(&p, elastos_storage_read(c, "t", "p", NULL, &n)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_storage_write(c, "t", "p", NULL, 3)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_send_message(c, "t", "to", NULL, 1, NULL)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_storage_read(c, "t", "localhost://storage/\xff", &d, &n)) ==
          ELASTOS_ERR_INVALID);
    CHECK(strstr(elastos_client_error(c), "UTF-8") != NULL);
    CHECK(GUARD(&p, elastos_storage_read(c, "t", "\xed\xa0\x80", &d, &n)) == ELASTOS_ERR_INVALID);
    CapabilityConstraints k = {0, 0, 2};
    CHECK(GUARD(&p, elastos_request_capability(c, "r", "a", &k, &s, NULL)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_request_capability(c, "r", "a", NULL, NULL, NULL)) ==
          ELASTOS_ERR_INVALID);
    LaunchConfig cfg = {0};
    CHECK(GUARD(&p, elastos_launch_capsule(c, &cfg, &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_launch_capsule(c, NULL, &s)) == ELASTOS_ERR_INVALID);
    cfg.name = "x";
    cfg.n_args = 1;
    CHECK(GUARD(&p, elastos_launch_capsule(c, &cfg, &s)) == ELASTOS_ERR_INVALID);
    const char *args[] = {NULL};
    cfg.args = args;
    CHECK(GUARD(&p, elastos_launch_capsule(c, &cfg, &s)) == ELASTOS_ERR_INVALID);
    cfg.n_args = 0;
    cfg.n_env = 1;
    CHECK(GUARD(&p, elastos_launch_capsule(c, &cfg, &s)) == ELASTOS_ERR_INVALID);
    const char *names[] = {"A"}, *values[] = {"\xc3"};
    cfg.env_names = names;
    cfg.env_values = values;
    CHECK(GUARD(&p, elastos_launch_capsule(c, &cfg, &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_provider_call(c, "t", "u", "{\"a\":", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_provider_call(c, "t", "u", "{} {}", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_provider_call(c, "t", "u", "{\"a\":1,\"a\":2}", &s)) ==
          ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, "{", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, "[]", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, "{\"type\":1}", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, "{\"kind\":\"ping\"}", &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, NULL, &s)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_client_call(c, "{\"type\":\"ping\"}", NULL)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_deny_capability(c, 1, NULL)) == ELASTOS_ERR_INVALID);
    CHECK(GUARD(&p, elastos_get_decision_request(c, NULL)) == ELASTOS_ERR_INVALID);

    /* The raw call compacts the request and returns the inner response; no id was used. */
    char *req = NULL, *resp = NULL;
    CHECK(EXCHANGE(&p,
                   "{\"id\":1,\"response\":{ \"type\" : \"pong\", \"x\" : [ 1 , \"\\u00e9\" ] }}",
                   &req, elastos_client_call(c, " {\"type\" :\n\"ping\" , \"n\": 1e3}\t", &resp)) ==
          0);
    CHECK(req_is(req, "{\"id\":1,\"request\":{\"type\":\"ping\",\"n\":1e3}}"));
    CHECK_STREQ(resp, "{\"type\":\"pong\",\"x\":[1,\"\xc3\xa9\"]}");
    free(resp);
    resp = (char *)1;
    CHECK(EXCHANGE(&p, "{\"id\":2,\"response\":{\"type\":\"error\",\"code\":\"unsupported\","
                       "\"message\":\"no such request\"}}",
                   &req, elastos_client_call(c, "{\"type\":\"dance\"}", &resp)) ==
          ELASTOS_ERR_RUNTIME);
    CHECK(req_is(req, "{\"id\":2,\"request\":{\"type\":\"dance\"}}"));
    CHECK(resp == NULL);
    CHECK_STREQ(elastos_client_error_code(c), "unsupported");
    CHECK_STREQ(elastos_client_error(c), "no such request");
    /* A long runtime message is cut at a character boundary, never mid-sequence. */
    char longmsg[2048];
    int k2 = snprintf(longmsg, sizeof longmsg,
                      "{\"id\":3,\"response\":{\"type\":\"error\",\"code\":\"internal\","
                      "\"message\":\"");
    for (int i = 0; i < 400; i++)
        k2 += snprintf(longmsg + k2, sizeof longmsg - (size_t)k2, "\xe6\x97\xa5");
    snprintf(longmsg + k2, sizeof longmsg - (size_t)k2, "\"}}");
    CHECK(EXCHANGE(&p, longmsg, &req, elastos_ping(c)) == ELASTOS_ERR_RUNTIME);
    free(req);
    size_t ml = strlen(elastos_client_error(c));
    CHECK(ml > 400 && ml < 512 && ml % 3 == 0 && eg_utf8_check(elastos_client_error(c), ml) == 0);
    pch_close(&p);
}

/* ------------------------------------------------------------------------------------------
 * The wasm transport, against a fake elastos.call
 */

static struct {
    int mode; /* 0 normal, 1 negative, 2 huge, 3 wrong fetch length */
    const char *resp;
    size_t resp_len;
    char *kept;
    size_t kept_len;
    char req[256];
    size_t req_len;
    int calls, fetches;
} fk;

int32_t elastos_call_import(const void *req, int32_t req_len, void *resp, int32_t resp_cap)
{
    if (!req && req_len == 0) {
        fk.fetches++;
        if (!fk.kept)
            return -1;
        if (fk.mode == 3)
            return (int32_t)fk.kept_len - 1;
        if ((size_t)resp_cap < fk.kept_len)
            return (int32_t)fk.kept_len;
        memcpy(resp, fk.kept, fk.kept_len);
        free(fk.kept);
        fk.kept = NULL;
        return (int32_t)fk.kept_len;
    }
    fk.calls++;
    fk.req_len = (size_t)req_len;
    memcpy(fk.req, req, fk.req_len < sizeof fk.req ? fk.req_len : sizeof fk.req);
    if (fk.mode == 1)
        return -1;
    if (fk.mode == 2)
        return 2000000;
    free(fk.kept);
    fk.kept = NULL;
    if (fk.resp_len <= (size_t)resp_cap) {
        memcpy(resp, fk.resp, fk.resp_len);
        return (int32_t)fk.resp_len;
    }
    fk.kept = malloc(fk.resp_len);
    memcpy(fk.kept, fk.resp, fk.resp_len);
    fk.kept_len = fk.resp_len;
    return (int32_t)fk.resp_len;
}

static void test_call_transport(void)
{
    eg_channel ch;
    CHECK(channel_init_call(&ch) == 0);
    RuntimeClient *c = client_new(&ch);
    memset(&fk, 0, sizeof fk);
    fk.resp = "{\"id\":1,\"response\":{\"type\":\"pong\"}}";
    fk.resp_len = strlen(fk.resp);
    CHECK(elastos_ping(c) == 0);
    const char *ping1 = "{\"id\":1,\"request\":{\"type\":\"ping\"}}";
    CHECK(fk.req_len == strlen(ping1) && !memcmp(fk.req, ping1, fk.req_len)); /* no '\n' */
    CHECK(fk.calls == 1 && fk.fetches == 0);

    /* A 150 KB response: longer than the 16 KiB buffer, fetched with call(0, 0, buf, n). */
    size_t n = 112500, b = eg_b64_encoded_len(n);
    uint8_t *src = malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    const char *pre = "{\"id\":2,\"response\":{\"type\":\"storage_data\",\"data\":\"";
    char *big = malloc(strlen(pre) + b + 4);
    strcpy(big, pre);
    eg_b64_encode(src, n, big + strlen(pre));
    strcpy(big + strlen(pre) + b, "\"}}");
    fk.resp = big;
    fk.resp_len = strlen(big);
    uint8_t *d = NULL;
    size_t len = 0;
    CHECK(elastos_storage_read(c, "t", "p", &d, &len) == 0);
    CHECK(d && len == n && !memcmp(d, src, n));
    CHECK(fk.calls == 2 && fk.fetches == 1 && fk.kept == NULL);
    free(d);
    /* The grown buffer now takes it in one call. */
    memcpy(big + 6, "3", 1);
    CHECK(elastos_storage_read(c, "t", "p", &d, &len) == 0);
    CHECK(d && len == n && !memcmp(d, src, n));
    CHECK(fk.calls == 3 && fk.fetches == 1);
    free(d);

    /* A fetch that returns another length; a length over 1 MiB; a failing call. */
    eg_channel ch2;
    CHECK(channel_init_call(&ch2) == 0);
    RuntimeClient *c2 = client_new(&ch2);
    memcpy(big + 6, "1", 1);
    fk.mode = 3;
    CHECK(elastos_storage_read(c2, "t", "p", &d, &len) == ELASTOS_ERR_PROTOCOL);
    CHECK(d == NULL);
    fk.mode = 2;
    CHECK(elastos_ping(c2) == ELASTOS_ERR_PROTOCOL);
    CHECK(strstr(elastos_client_error(c2), "1 MiB") != NULL);
    fk.mode = 1;
    CHECK(elastos_ping(c2) == ELASTOS_ERR_TRANSPORT);
    CHECK(elastos_ping(c2) == ELASTOS_ERR_TRANSPORT);
    CHECK(fk.calls == 6); /* the last ping was not sent: the channel is unusable */
    free(fk.kept);
    fk.kept = NULL;
    elastos_client_close(c2);
    free(ch2.buf);
    elastos_client_close(c);
    free(ch.buf);
    free(big);
    free(src);
}

/* ------------------------------------------------------------------------------------------
 * Plain answers: the fast decode (plain_response, no JSON tree) against the strict one
 */

/* What a call left: its status, error code and message, the next id, whether the channel
 * broke, and the bytes a read returned. */
typedef struct outcome {
    int st;
    char code[64], msg[512];
    uint64_t next_id;
    int broken;
    uint8_t *data;
    size_t len;
} outcome;

enum { P_PING, P_WRITE, P_ANSWER, P_FAIL, P_DELETE, P_READ, P_FETCH };

static const char *plain_expect(int k)
{
    return k == P_PING ? "pong" : k == P_READ ? "storage_data" : k == P_FETCH ? "content" : "ok";
}

/* The SDK call of kind k answered with s (over the fake elastos.call), its request id being
 * id, on a client whose last call failed with a runtime error (so a stale code would show). */
static outcome fast_outcome(int k, uint64_t id, const char *s, size_t n)
{
    eg_channel ch;
    CHECK(channel_init_call(&ch) == 0);
    RuntimeClient *c = client_new(&ch);
    memset(&fk, 0, sizeof fk);
    static const char stale[] = "{\"id\":1,\"response\":{\"type\":\"error\",\"code\":\"denied\",\"message\":\"stale\"}}";
    fk.resp = stale;
    fk.resp_len = sizeof stale - 1;
    CHECK(elastos_ping(c) == ELASTOS_ERR_RUNTIME && !strcmp(c->code, "denied"));
    ch.next_id = id;
    fk.resp = s;
    fk.resp_len = n;
    outcome o = {0};
    switch (k) {
    case P_PING: o.st = elastos_ping(c); break;
    case P_WRITE: o.st = elastos_storage_write(c, "t", "p", "abc", 3); break;
    case P_ANSWER: o.st = elastos_answer_provider_call(c, 7, "{\"ok\":true}"); break;
    case P_FAIL: o.st = elastos_fail_provider_call(c, 7, "not_found", "no such key"); break;
    case P_DELETE: o.st = elastos_storage_delete(c, "t", "p"); break;
    case P_READ: o.st = elastos_storage_read(c, "t", "p", &o.data, &o.len); break;
    case P_FETCH: o.st = elastos_fetch_content(c, "t", "u", &o.data, &o.len); break;
    }
    CHECK(fk.calls == 2);
    snprintf(o.code, sizeof o.code, "%s", c->code);
    snprintf(o.msg, sizeof o.msg, "%s", c->msg);
    o.next_id = ch.next_id;
    o.broken = ch.broken;
    free(fk.kept);
    fk.kept = NULL;
    elastos_client_close(c);
    free(ch.buf);
    return o;
}

/* The same answer through the strict decode alone (decode_envelope, then the "data" field), as
 * every call read its answer before the fast path. */
static outcome strict_outcome(int k, uint64_t id, const char *s, size_t n)
{
    eg_channel ch;
    CHECK(channel_init_call(&ch) == 0);
    RuntimeClient *c = client_new(&ch);
    ch.next_id = id + 1; /* sent */
    eg_resp r;
    outcome o = {0};
    o.st = decode_envelope(c, s, n, id, plain_expect(k), &r);
    if (!o.st && (k == P_READ || k == P_FETCH))
        o.st = get_bytes(c, &r, r.obj, "data", &o.data, &o.len);
    resp_free(&r);
    snprintf(o.code, sizeof o.code, "%s", c->code);
    snprintf(o.msg, sizeof o.msg, "%s", c->msg);
    o.next_id = ch.next_id;
    o.broken = ch.broken;
    elastos_client_close(c);
    free(ch.buf);
    return o;
}

/* Feeds answer s to call kind k both ways; they must agree on everything. Returns the status. */
static int plain_same(int k, uint64_t id, const char *s, size_t n)
{
    outcome f = fast_outcome(k, id, s, n), g = strict_outcome(k, id, s, n);
    int same = f.st == g.st && !strcmp(f.code, g.code) && !strcmp(f.msg, g.msg) && f.next_id == g.next_id &&
               f.broken == g.broken && f.len == g.len && !f.data == !g.data &&
               (!f.data || !memcmp(f.data, g.data, f.len));
    if (!same)
        fprintf(stderr, "answer %.*s to %s: fast %d '%s' '%s' next %llu broken %d len %zu; strict %d '%s' '%s' next %llu broken %d len %zu\n",
                (int)(n > 200 ? 200 : n), s, plain_expect(k), f.st, f.code, f.msg, (unsigned long long)f.next_id,
                f.broken, f.len, g.st, g.code, g.msg, (unsigned long long)g.next_id, g.broken, g.len);
    CHECK(same);
    free(f.data);
    free(g.data);
    return f.st;
}

#define PLAIN(k, id, s) plain_same(k, id, s, sizeof(s) - 1)

static void test_plain_answers(void)
{
    static const uint8_t bytes[] = {0, 1, 0xfe, 0xff, '"', '\\', 'a'};
    const uint64_t ids[] = {1, 9, 10, 4096, 12345678901234567890u};
    /* The runtime's own answers (lib/protocol.c): by hand and through jansson, which is how
     * answer_provider_call and fail_provider_call are answered (the ones kv gets). */
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (int k = P_PING; k <= P_FETCH; k++) {
            size_t n;
            char *a = k == P_READ || k == P_FETCH ? el__response_data(ids[i], plain_expect(k), bytes, sizeof bytes, &n)
                                                  : el__response_type(ids[i], plain_expect(k), &n);
            CHECK(plain_same(k, ids[i], a, n) == 0);
            free(a);
            if (k == P_READ || k == P_FETCH) {
                a = el__response_data(ids[i], plain_expect(k), NULL, 0, &n);
                CHECK(plain_same(k, ids[i], a, n) == 0);
                free(a);
            }
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string(plain_expect(k)));
            if (k == P_READ || k == P_FETCH)
                json_object_set_new(o, "data", json_string("AAH+/w=="));
            a = el__response_encode(ids[i], o, &n);
            if (ids[i] <= INT64_MAX) /* jansson's integers are signed */
                CHECK(plain_same(k, ids[i], a, n) == 0);
            free(a);
            a = el__response_error(ids[i], "not_found", "no \"such\" call", &n);
            CHECK(plain_same(k, ids[i], a, n) == (ids[i] <= INT64_MAX ? ELASTOS_ERR_RUNTIME : ELASTOS_ERR_PROTOCOL));
            free(a);
            a = el__response_error(0, "bad_request", "unreadable", &n); /* id 0: not counted */
            CHECK(plain_same(k, ids[i], a, n) == ELASTOS_ERR_RUNTIME);
            free(a);
        }
    }
    /* Near misses: valid or not, each must come out as the strict decode says. */
    for (int k = P_PING; k <= P_DELETE; k++) {
        char s[200];
        const char *t = plain_expect(k);
        const char *forms[] = {
            "{\"id\":3,\"response\":{\"type\":\"%s\"}}",        "{\"id\":3,\"response\":{\"type\":\"%s\",\"x\":1}}",
            "{\"id\":3,\"response\":{\"type\":\"%s\"} }",       "{ \"id\":3,\"response\":{\"type\":\"%s\"}}",
            "{\"response\":{\"type\":\"%s\"},\"id\":3}",        "{\"id\":3,\"response\":{\"type\":\"%s\"}}x",
            "{\"id\":3,\"response\":{\"type\":\"%s\"}}{}",      "{\"id\":03,\"response\":{\"type\":\"%s\"}}",
            "{\"id\":3.0,\"response\":{\"type\":\"%s\"}}",      "{\"id\":4,\"response\":{\"type\":\"%s\"}}",
            "{\"id\":2,\"response\":{\"type\":\"%s\"}}",        "{\"id\":0,\"response\":{\"type\":\"%s\"}}",
            "{\"id\":3,\"response\":{\"type\":\"%sx\"}}",       "{\"id\":3,\"response\":{\"type\":\"%s\",\"type\":\"ok\"}}",
            "{\"id\":3,\"response\":{\"type\":\"%s\\u0000\"}}", "{\"id\":3,\"response\":{\"type\":\"%s\"}",
            "{\"id\":3,\"response\":{\"type\":\"%s\"}}\n",      "{\"id\":3,\"id\":3,\"response\":{\"type\":\"%s\"}}",
            "{\"id\":3,\"response\":{\"type\":\"%s\"},\"response\":{\"type\":\"error\"}}",
            "{\"id\":3,\"response\":{\"type\":\"error\",\"code\":\"denied\",\"message\":\"%s\"}}",
            "{\"id\":3,\"response\":{\"code\":\"denied\",\"type\":\"%s\"}}",
        };
        for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
            snprintf(s, sizeof s, forms[i], t);
            plain_same(k, 3, s, strlen(s));
        }
        /* the type escaped: strict reads it as the expected type, the fast path leaves it */
        snprintf(s, sizeof s, "{\"id\":3,\"response\":{\"type\":\"\\u00%02x%s\"}}", t[0], t + 1);
        CHECK(plain_same(k, 3, s, strlen(s)) == 0);
        plain_same(k, 3, "{\"id\":3,\"response\":{\"type\":\"pong\"}}", 36);
        plain_same(k, 3, "{\"id\":3,\"response\":{\"type\":\"ok\"}}", 34);
    }
    static const char *const data_forms[] = {
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJ\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW=j\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWI=\"}}", /* nonzero unused bits */
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW\\u004aj\"}}", /* escaped: strict only */
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW\\/j\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW\tj\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW j\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\",\"x\":1}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\",\"data\":\"YWJj\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW\"}},\"x\":\"Jj\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\"}} ",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\"}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":1}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\"}}",
        "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"\"}}\"}}",
        "{\"id\":6,\"response\":{\"type\":\"storage_data\",\"data\":\"YWJj\"}}",
        "{\"id\":5,\"response\":{\"type\":\"content\",\"data\":\"YWJj\"}}",
        "{\"id\":5,\"response\":{\"data\":\"YWJj\",\"type\":\"storage_data\"}}",
    };
    for (size_t i = 0; i < sizeof data_forms / sizeof data_forms[0]; i++)
        plain_same(P_READ, 5, data_forms[i], strlen(data_forms[i]));
    CHECK(PLAIN(P_READ, 5, "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"YW\\u004aj\"}}") == 0);
    /* One over the 1 MiB message limit, plain in every other way: refused both ways. */
    size_t big = EG_MAX_MESSAGE + 1, head = strlen("{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"");
    char *b = malloc(big);
    memcpy(b, "{\"id\":5,\"response\":{\"type\":\"storage_data\",\"data\":\"", head);
    memset(b + head, 'A', big - head - 3);
    memcpy(b + big - 3, "\"}}", 3);
    CHECK(plain_response(b, big, 5, "storage_data", &(const char *){0}, &(size_t){0}) == -1);
    free(b);
}

/* ------------------------------------------------------------------------------------------
 * base64
 */

/* Reference encoder: bit by bit, independent of base64.c's grouping. */
static size_t ref_b64(const uint8_t *d, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bits = n * 8, k = 0;
    for (size_t pos = 0; pos < bits; pos += 6) {
        unsigned v = 0;
        for (size_t j = 0; j < 6; j++) {
            size_t bit = pos + j;
            unsigned b = bit < bits ? (d[bit / 8] >> (7 - bit % 8)) & 1 : 0;
            v = v << 1 | b;
        }
        out[k++] = A[v];
    }
    while (k % 4)
        out[k++] = '=';
    return k;
}

static int b64_rejects(const char *s)
{
    uint8_t out[64];
    size_t n;
    return eg_b64_decode(s, strlen(s), out, &n) != 0;
}

static void test_base64(void)
{
    static const char *const rfc[][2] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < 7; i++) {
        char out[16] = {0};
        size_t n = strlen(rfc[i][0]);
        CHECK(eg_b64_encoded_len(n) == strlen(rfc[i][1]));
        eg_b64_encode(rfc[i][0], n, out);
        CHECK_STREQ(out, rfc[i][1]);
        uint8_t dec[16];
        size_t dl = 99;
        CHECK(eg_b64_decode(rfc[i][1], strlen(rfc[i][1]), dec, &dl) == 0);
        CHECK(dl == n && !memcmp(dec, rfc[i][0], n));
    }
    uint64_t x = 88172645463325252ull;
    int ok = 1;
    for (size_t n = 0; n <= 300; n++) {
        uint8_t src[300], dec[300];
        char enc[400], ref[400];
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            src[i] = (uint8_t)(x >> 24);
        }
        size_t el = eg_b64_encoded_len(n);
        ok &= el == (n + 2) / 3 * 4;
        eg_b64_encode(src, n, enc);
        size_t rl = ref_b64(src, n, ref);
        ok &= rl == el && !memcmp(enc, ref, el);
        size_t pads = 0;
        while (pads < el && enc[el - 1 - pads] == '=')
            pads++;
        ok &= pads == (3 - n % 3) % 3;
        size_t dl = 0;
        ok &= eg_b64_decoded_max(el) >= n;
        ok &= eg_b64_decode(enc, el, dec, &dl) == 0 && dl == n && !memcmp(dec, src, n);
        /* Any single-character corruption to a non-alphabet byte is refused. */
        if (el) {
            char save = enc[n % el];
            enc[n % el] = '*';
            ok &= eg_b64_decode(enc, el, dec, &dl) != 0;
            enc[n % el] = save;
        }
    }
    CHECK(ok);
    CHECK(eg_b64_encoded_len(SIZE_MAX) == SIZE_MAX);
    const char *bad[] = {"A",    "AA",   "AAA",   "A===", "AA=A", "=AAA",     "AAAA=",
                         "AB==", "AAB=", "Zh==",  "Zm9=", "A\nAA", "AAAA====", "AA==AAAA",
                         "AA-_", "AA ="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(b64_rejects(bad[i]));
    CHECK(!b64_rejects("AA=="));
    CHECK(!b64_rejects("AAA="));
    CHECK(!b64_rejects("+/+/"));
    uint8_t out[8];
    size_t n;
    CHECK(eg_b64_decode("AAAA\0AAA", 8, out, &n) != 0);
}

/* ------------------------------------------------------------------------------------------
 * JSON
 */

static char *write_str(const char *s, size_t n)
{
    eg_jw w;
    eg_jw_init(&w, 1 << 20);
    eg_jw_strn(&w, s, n);
    eg_jw_raw(&w, "", 1);
    if (w.err) {
        eg_jw_free(&w);
        return NULL;
    }
    return w.buf;
}

static int parses(const char *s, unsigned depth)
{
    eg_json_doc d;
    int r = eg_json_parse(s, strlen(s), depth, &d, NULL, NULL);
    if (r == 0)
        eg_json_free(&d);
    return r == 0;
}

static void test_json(void)
{
    /* Every ASCII byte, escaped per the protocol and read back. */
    int ok = 1;
    for (int ch = 0; ch < 128; ch++) {
        char s[3] = {'a', (char)ch, 'b'}, expect[16];
        switch (ch) {
        case '"': strcpy(expect, "\"a\\\"b\""); break;
        case '\\': strcpy(expect, "\"a\\\\b\""); break;
        case '\b': strcpy(expect, "\"a\\bb\""); break;
        case '\f': strcpy(expect, "\"a\\fb\""); break;
        case '\n': strcpy(expect, "\"a\\nb\""); break;
        case '\r': strcpy(expect, "\"a\\rb\""); break;
        case '\t': strcpy(expect, "\"a\\tb\""); break;
        default:
            if (ch < 0x20)
                snprintf(expect, sizeof expect, "\"a\\u%04xb\"", ch);
            else
                snprintf(expect, sizeof expect, "\"a%cb\"", ch);
        }
        char *got = write_str(s, 3);
        int same = got && !strcmp(got, expect);
        if (!same)
            fprintf(stderr, "escape of 0x%02x: got %s, expected %s\n", ch, got ? got : "-",
                    expect);
        ok &= same;
        eg_json_doc d;
        if (got && eg_json_parse(got, strlen(got), 4, &d, NULL, NULL) == 0) {
            size_t l = 0;
            const char *t = eg_json_text(&d, eg_json_root(&d), &l);
            ok &= l == 3 && !memcmp(t, s, 3);
            eg_json_free(&d);
        } else {
            ok = 0;
        }
        free(got);
    }
    CHECK(ok);

    /* E and every escape form read back. */
    char *we = write_str(E, strlen(E));
    CHECK_STREQ(we, "\"We\\\"ird\\\\name\\n\\t\\r\\b\\f\\u0001\\u001f\x7f \xc3\xa9\xe6\x97\xa5"
                    "\xe6\x9c\xac\xf0\x9f\x98\x80/\"");
    free(we);
    const char *esc = "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u65E5\\ud83d\\ude00"
                      "\\uDBFF\\uDFFF"
                      "\\u0000\"";
    const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
    eg_json_doc d;
    CHECK(eg_json_parse(esc, strlen(esc), 1, &d, NULL, NULL) == 0);
    size_t l = 0;
    const char *t = eg_json_text(&d, eg_json_root(&d), &l);
    CHECK(l == sizeof want && t && !memcmp(t, want, sizeof want)); /* with the trailing NUL */
    char *back = NULL;
    if (t) {
        back = write_str(t, l);
        CHECK_STREQ(back, "\"\\\"\\\\/\\b\\f\\n\\r\\tA\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"
                          "\xf4\x8f\xbf\xbf\\u0000\"");
    }
    free(back);
    eg_json_free(&d);

    /* The writer refuses invalid UTF-8. */
    const char *bad_utf8[] = {"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\x97",
                              "\x80", "a\xc3"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
        CHECK(eg_utf8_check(bad_utf8[i], strlen(bad_utf8[i])) != 0);
        CHECK(write_str(bad_utf8[i], strlen(bad_utf8[i])) == NULL);
    }
    CHECK(eg_utf8_check("\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80", 9) == 0);

    /* Strict parsing. */
    const char *good[] = {"0", "-0", "1.5e+10", "1E5", "-12.34e-5", " [ ] ", "{}", "\"\"",
                          "[true,false,null]", "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}", "\t\r\n1\n"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(parses(good[i], 32));
    const char *bad[] = {"",    " ",     "01",     "1.",     ".5",      "-",    "+1",
                         "1e",  "tru",   "nul",    "[1,]",   "{\"a\":1,}", "{'a':1}",
                         "[1 2]", "{\"a\" 1}", "{1:2}", "\"abc", "[", "]", "\"\\u00\"",
                         "NaN", "Infinity", "[1]]", "{\"a\":1}}", "1 2", "[\"\\a\"]",
                         "\"\\u0\"", "-01", "0x10", "[.1]", "{\"a\"}", "{,}", "[,1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(!parses(bad[i], 32));
        if (parses(bad[i], 32))
            fprintf(stderr, "accepted: %s\n", bad[i]);
    }
    char deep[80];
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = '\0';
    CHECK(parses(deep, 32));
    CHECK(!parses(deep, 31));
    const char *why = NULL;
    size_t where = 0;
    CHECK(eg_json_parse(deep, 64, 31, &d, &why, &where) != 0);
    CHECK(why && strstr(why, "deep") && where == 31);

    /* Integers. */
    static const struct {
        const char *s;
        int ok;
        uint64_t v;
    } ints[] = {{"0", 1, 0},         {"18446744073709551615", 1, UINT64_MAX},
                {"18446744073709551616", 0, 0}, {"99999999999999999999", 0, 0},
                {"-0", 0, 0},        {"1e3", 0, 0},  {"1.0", 0, 0}, {"42", 1, 42}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        CHECK(eg_json_parse(ints[i].s, strlen(ints[i].s), 1, &d, NULL, NULL) == 0);
        uint64_t v = 7;
        int r = eg_json_u64(&d, eg_json_root(&d), &v);
        CHECK((r == 0) == ints[i].ok && (!ints[i].ok || v == ints[i].v));
        eg_json_free(&d);
    }

    /* Duplicate keys among many. */
    size_t nk = 5000;
    char *obj = malloc(nk * 16 + 16);
    size_t k = 0;
    obj[k++] = '{';
    for (size_t i = 0; i < nk; i++)
        k += (size_t)sprintf(obj + k, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    strcpy(obj + k, "}");
    CHECK(parses(obj, 2));
    sprintf(obj + k, ",\"k%zu\":0}", nk / 2);
    CHECK(!parses(obj, 2));
    free(obj);

    /* Re-encoding a parsed value is compact and stable. */
    const char *in = " { \"b\" : [ 1 , -2.5e3 , \"\\u00e9\\n\" ] , \"a\" : { } , \"c\" : null } ";
    CHECK(eg_json_parse(in, strlen(in), 8, &d, NULL, NULL) == 0);
    eg_jw w;
    eg_jw_init(&w, 1024);
    eg_jw_value(&w, &d, eg_json_root(&d));
    eg_jw_raw(&w, "", 1);
    CHECK(w.err == 0);
    CHECK_STREQ(w.buf, "{\"b\":[1,-2.5e3,\"\xc3\xa9\\n\"],\"a\":{},\"c\":null}");
    eg_jw_free(&w);
    eg_json_free(&d);

    /* The writer's size limit. */
    eg_jw_init(&w, 8);
    eg_jw_str(&w, "123456");
    CHECK(w.err == 0 && w.len == 8);
    eg_jw_raw(&w, "x", 1);
    CHECK(w.err == EG_JW_LIMIT);
    eg_jw_free(&w);
}

/* A broken client may wait forever for a response; fail instead of hanging ctest. */
static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "test_guest_sdk: timed out (a call is blocked)\n";
    if (write(2, m, sizeof m - 1) < 0)
        _exit(3);
    _exit(3);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(120);
    load_vectors();
    CHECK(n_vecs >= 2 * N_HANDLERS);
    test_vectors();
    test_ids();
    test_hostile();
    test_transport();
    test_arguments();
    test_call_transport();
    test_plain_answers();
    test_base64();
    test_json();
    for (size_t i = 0; i < n_vecs; i++)
        free(vecs[i].json);
    return TEST_DONE();
}
