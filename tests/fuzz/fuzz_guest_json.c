/*
 * fuzz_guest_json.c - libFuzzer target for the C guest SDK's response decoding
 * (guest/c/src/runtime_client.c, json.c, base64.c, #included here).
 *
 * The input is taken as the runtime's answer to a request with id 1 and fed, through an
 * in-memory transport, to every typed request function and the raw call. Beyond "no crash, no
 * leak, no UB" it checks what the SDK promises:
 *  - the status is 0, ELASTOS_ERR_PROTOCOL, ELASTOS_ERR_RUNTIME or ELASTOS_ERR_NOMEM; on failure
 *    every output is clear, the error message is set, and the error code is set exactly for
 *    ELASTOS_ERR_RUNTIME;
 *  - on success every returned string is valid UTF-8 without NULs and every JSON text output
 *    parses back and re-encodes to the same bytes;
 *  - the channel's next id is 2 after a counted response, 1 after an id-0 one;
 *  - the JSON reader/writer pair is idempotent on the input (parse, write, parse, write: equal),
 *    and strict base64 accepts only canonical encodings (decode, encode: equal).
 * The hostile seed corpus is tests/fuzz/corpus/guest_json/ (run libFuzzer on a copy of it).
 */
#include "../../guest/c/src/base64.c"
#include "../../guest/c/src/json.c"
#include "../../guest/c/src/runtime_client.c"

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            __builtin_trap();                                                            \
    } while (0)

/* The transport: whatever the request, the response is the fuzz input. */
static int mem_xfer(eg_channel *ch, const char *req, size_t len, const char **resp,
                    size_t *resp_len, char *err, size_t errlen)
{
    (void)req, (void)len, (void)err, (void)errlen;
    *resp = ch->user;
    *resp_len = ch->user_len;
    return 0;
}

static void check_str(const char *s)
{
    REQUIRE(s != NULL);
    REQUIRE(eg_utf8_check(s, strlen(s)) == 0);
}

static void check_opt_str(const char *s)
{
    if (s)
        check_str(s);
}

/* JSON text output: parses and re-encodes to itself. */
static void check_json_text(const char *s)
{
    check_str(s);
    eg_json_doc d;
    REQUIRE(eg_json_parse(s, strlen(s), 64, &d, NULL, NULL) == 0);
    eg_jw w;
    eg_jw_init(&w, strlen(s) + 1);
    eg_jw_value(&w, &d, eg_json_root(&d));
    REQUIRE(w.err == 0 && w.len == strlen(s) && memcmp(w.buf, s, w.len) == 0);
    eg_jw_free(&w);
    eg_json_free(&d);
}

static void check_status(RuntimeClient *c, int st)
{
    REQUIRE(st == 0 || st == ELASTOS_ERR_PROTOCOL || st == ELASTOS_ERR_RUNTIME ||
            st == ELASTOS_ERR_NOMEM);
    const char *msg = elastos_client_error(c), *code = elastos_client_error_code(c);
    REQUIRE(msg && code);
    REQUIRE(st == 0 ? msg[0] == '\0' : msg[0] != '\0');
    REQUIRE(st == ELASTOS_ERR_RUNTIME ? code[0] != '\0' : code[0] == '\0');
    REQUIRE(c->ch->next_id == 1 || c->ch->next_id == 2);
    REQUIRE(st == 0 ? c->ch->next_id == 2 : 1);
}

static void run_kind(const uint8_t *data, size_t size, int k)
{
    eg_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.xfer = mem_xfer;
    ch.next_id = 1;
    ch.fd = -1;
    ch.user = data;
    ch.user_len = size;
    RuntimeClient *c = client_new(&ch);
    if (!c)
        return;
    int st = -100;
    switch (k) {
    case 0: st = elastos_ping(c); break;
    case 1: {
        char *v = (char *)1, *n = (char *)1, *i = (char *)1;
        st = elastos_get_runtime_info(c, &v, &n, &i);
        if (st) {
            REQUIRE(!v && !n && !i);
        } else {
            check_str(v), check_str(n), check_str(i);
        }
        free(v), free(n), free(i);
        break;
    }
    case 2: {
        char *t = (char *)1, *ti = (char *)1;
        uint64_t e = 1;
        CapabilityConstraints kk = {1, 2, 0};
        st = elastos_request_capability_ex(c, "r", "a", &kk, &t, &ti, &e);
        if (st) {
            REQUIRE(!t && !ti && !e);
        } else {
            check_str(t), check_str(ti);
        }
        free(t), free(ti);
        break;
    }
    case 3:
    case 4: {
        uint8_t *d = (uint8_t *)1;
        size_t n = 1;
        st = k == 3 ? elastos_storage_read(c, "t", "p", &d, &n)
                    : elastos_fetch_content(c, "t", "u", &d, &n);
        REQUIRE(st ? !d && !n : d != NULL);
        free(d);
        break;
    }
    case 5: {
        char **e = (char **)1;
        size_t n = 1;
        st = elastos_storage_list(c, "t", "p", &e, &n);
        if (st) {
            REQUIRE(!e && !n);
        } else {
            REQUIRE(e && e[n] == NULL);
            for (size_t i = 0; i < n; i++)
                check_str(e[i]);
        }
        free(e);
        break;
    }
    case 6: {
        ElastosMessage *m = (ElastosMessage *)1;
        size_t n = 1;
        st = elastos_receive_messages(c, 3, &m, &n);
        if (st) {
            REQUIRE(!m && !n);
        } else {
            REQUIRE(n == 0 ? m == NULL : m != NULL);
            for (size_t i = 0; i < n; i++) {
                check_str(m[i].id), check_str(m[i].from), check_opt_str(m[i].reply_to);
                REQUIRE(m[i].payload != NULL);
            }
            elastos_messages_free(m, n);
        }
        break;
    }
    case 7:
    case 8:
    case 9: {
        char *j = (char *)1;
        st = k == 7   ? elastos_provider_call(c, "t", "u", "{\"a\":[1,\"b\"]}", &j)
             : k == 8 ? elastos_list_capsules(c, &j)
                      : elastos_client_call(c, "{\"type\":\"x\"}", &j);
        if (st)
            REQUIRE(j == NULL);
        else
            check_json_text(j);
        free(j);
        break;
    }
    case 10: {
        char *id = (char *)1;
        LaunchConfig cfg = {0};
        cfg.name = "n";
        st = elastos_launch_capsule(c, &cfg, &id);
        if (st)
            REQUIRE(id == NULL);
        else
            check_str(id);
        free(id);
        break;
    }
    case 11: {
        ElastosDecisionRequest d;
        memset(&d, 0x5A, sizeof d);
        st = elastos_get_decision_request(c, &d);
        if (st) {
            REQUIRE(!d.capsule_name && !d.capsule_id && !d.publisher && !d.resource &&
                    !d.action && !d.request_id);
        } else {
            check_str(d.capsule_name), check_str(d.capsule_id), check_str(d.publisher);
            check_str(d.resource), check_str(d.action);
            REQUIRE(d.constraints.delegatable >= -1 && d.constraints.delegatable <= 1);
        }
        elastos_decision_request_free(&d);
        break;
    }
    case 12: {
        char *t = (char *)1;
        st = elastos_grant_capability(c, 7, "run", &t);
        if (st)
            REQUIRE(t == NULL);
        else
            check_str(t);
        free(t);
        break;
    }
    case 13: st = elastos_storage_write(c, "t", "p", "abc", 3); break;
    }
    check_status(c, st);
    elastos_client_close(c);
}

static void check_json_roundtrip(const uint8_t *data, size_t size)
{
    eg_json_doc d1, d2;
    if (eg_json_parse((const char *)data, size, EG_MAX_DEPTH, &d1, NULL, NULL))
        return;
    eg_jw w1, w2;
    eg_jw_init(&w1, 4 * size + 16);
    eg_jw_value(&w1, &d1, eg_json_root(&d1));
    REQUIRE(w1.err == 0 || w1.err == EG_JW_NOMEM);
    if (w1.err == 0) {
        REQUIRE(eg_json_parse(w1.buf, w1.len, EG_MAX_DEPTH, &d2, NULL, NULL) == 0);
        REQUIRE(d2.n_nodes == d1.n_nodes);
        eg_jw_init(&w2, w1.len);
        eg_jw_value(&w2, &d2, eg_json_root(&d2));
        REQUIRE(w2.err == 0 && w2.len == w1.len && memcmp(w1.buf, w2.buf, w1.len) == 0);
        eg_jw_free(&w2);
        eg_json_free(&d2);
    }
    eg_jw_free(&w1);
    eg_json_free(&d1);
}

static void check_base64(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return;
    uint8_t out[3072];
    size_t n;
    if (eg_b64_decode((const char *)data, size, out, &n))
        return;
    REQUIRE(n <= eg_b64_decoded_max(size));
    char enc[4096 + 4];
    REQUIRE(eg_b64_encoded_len(n) == size);
    eg_b64_encode(out, n, enc);
    REQUIRE(memcmp(enc, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int k = 0; k <= 13; k++)
        run_kind(data, size, k);
    check_json_roundtrip(data, size);
    check_base64(data, size);
    return 0;
}
