/*
 * test_protocol.c - the runtime side of the protocol (lib/protocol.c): strict request parsing,
 * the fast path for the hot requests (checked against the full parser), base64, response encoding, and the shared vectors that the guest
 * SDKs encode (tests/data/protocol-vectors.txt) - every request an SDK sends must parse here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_internal.h" /* internal: the framing the library parses */
#include "harness.h"

#include <sodium.h>

/* Both parsers on one message: when the fast path accepts it, the full parser must accept it
 * too with the same id, type and fields (tests/fuzz/fuzz_request_fast.c does this on random
 * input). Returns whether the fast path took it. */
static bool both(const char *msg, size_t len)
{
    el_request f, q;
    uint64_t id;
    el_error err;
    if (!el__request_fast(msg, len, &f))
        return false;
    CHECK(f.body == NULL);
    bool ok = el__request_parse(msg, len, &q, &id, &err) == EL_OK;
    CHECK(ok);
    if (ok) {
        CHECK(q.id == f.id && q.type == f.type);
        const char *key;
        json_t *v;
        int n = 0, fn = 0;
        json_object_foreach(q.body, key, v)
        {
            if (strcmp(key, "type") != 0) {
                CHECK_STREQ(el__req_str(&f, key), json_string_value(v));
                n++;
            }
        }
        for (int i = 0; i < EL_REQ_FIELDS; i++)
            fn += f.str[i] != NULL;
        CHECK(n == fn);
        el__request_free(&q);
    }
    el__request_free(&f);
    return true;
}

static void test_vectors(void)
{
    FILE *f = fopen(ELASTOS_TEST_DATA "/protocol-vectors.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int requests = 0, parsed = 0, responses = 0, encoded_same = 0, fast = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        char kind[16], name[64];
        int off = 0;
        if (sscanf(line, "%15s %63s %n", kind, name, &off) != 2 || line[0] == '#')
            continue;
        const char *json = line + off;
        if (!strcmp(kind, "request")) {
            requests++;
            fast += both(json, strlen(json));
            el_request q;
            uint64_t id;
            el_error err;
            if (el__request_parse(json, strlen(json), &q, &id, &err) == EL_OK) {
                parsed++;
                el__request_free(&q);
            } else if (strstr(json, "18446744073709551615") && strstr(err.msg, "too big integer")) {
                parsed++; /* integers above 2^63-1 are refused by the runtime, by design */
            } else {
                fprintf(stderr, "vector %s does not parse: %s\n", name, err.msg);
            }
        } else if (!strcmp(kind, "response")) {
            /* Every response vector is an envelope of the shape the runtime sends. */
            responses++;
            json_error_t je;
            json_t *v = json_loads(json, JSON_REJECT_DUPLICATES, &je);
            encoded_same += (v && json_is_integer(json_object_get(v, "id")) &&
                             json_is_string(json_object_get(json_object_get(v, "response"), "type"))) ||
                            (!v && strstr(json, "18446744073709551615")); /* beyond what the runtime sends */
            json_decref(v);
        }
    }
    free(line);
    fclose(f);
    CHECK(requests >= 19);
    CHECK(parsed == requests);
    /* What the SDKs send for ping, get_runtime_info, storage_* and fetch_content with plain
     * strings takes the fast path (the vectors with escapes, UTF-8 or DEL do not). */
    CHECK(fast >= 6);
    CHECK(responses >= 19);
    CHECK(encoded_same == responses);
}

static void bad(const char *msg, const char *want)
{
    el_request q;
    uint64_t id;
    el_error err = {0};
    el_status s = el__request_parse(msg, strlen(msg), &q, &id, &err);
    CHECK(s == EL_ERR_FORMAT);
    CHECK(!both(msg, strlen(msg))); /* a refusal is always the full parser's */
    if (s != EL_ERR_FORMAT || !strstr(err.msg, want))
        fprintf(stderr, "  for %s: got \"%s\", wanted \"%s\"\n", msg, err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
    if (s == EL_OK)
        el__request_free(&q);
}

static void test_strict(void)
{
    bad("", "malformed JSON");
    bad("[]", "JSON object");
    bad("{\"id\":1}", "envelope");
    bad("{\"id\":0,\"request\":{\"type\":\"ping\"}}", "positive integer");
    bad("{\"id\":-3,\"request\":{\"type\":\"ping\"}}", "positive integer");
    bad("{\"id\":\"1\",\"request\":{\"type\":\"ping\"}}", "positive integer");
    bad("{\"id\":1,\"request\":{\"type\":\"ping\"},\"x\":1}", "envelope");
    bad("{\"id\":1,\"id\":2,\"request\":{\"type\":\"ping\"}}", "duplicate");
    bad("{\"id\":1,\"request\":{\"type\":\"ping\",\"type\":\"ping\"}}", "duplicate");
    bad("{\"id\":1,\"request\":{}}", "type must be a string");
    bad("{\"id\":1,\"request\":{\"type\":7}}", "type must be a string");
    bad("{\"id\":1,\"request\":{\"type\":\"teleport\"}}", "unknown request type");
    bad("{\"id\":1,\"request\":{\"type\":\"ping\",\"extra\":true}}", "unknown field");
    bad("{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":\"t\"}}", "missing field \"path\"");
    bad("{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":1,\"path\":\"p\"}}", "token must be a string");
    bad("{\"id\":1,\"request\":{\"type\":\"receive_messages\",\"max\":-1}}", "non-negative integer");
    bad("{\"id\":1,\"request\":{\"type\":\"launch_capsule\",\"config\":[]}}", "must be an object");
    bad("{\"id\":1,\"request\":{\"type\":\"ping\"}} trailing", "malformed JSON");
    char nul[] = "{\"id\":1,\"request\":{\"type\":\"ping\"}}";
    el_request q;
    uint64_t id;
    el_error err;
    nul[5] = 0;
    CHECK(el__request_parse(nul, sizeof nul - 1, &q, &id, &err) == EL_ERR_FORMAT);
    /* The size cap: 1 MiB passes the size check, one byte more does not. */
    size_t big = EL_MSG_MAX + 1;
    char *m = malloc(big + 1);
    memset(m, ' ', big);
    m[big] = 0;
    CHECK(el__request_parse(m, big, &q, &id, &err) == EL_ERR_FORMAT && strstr(err.msg, "1 MiB"));
    CHECK(el__request_parse(m, big - 1, &q, &id, &err) == EL_ERR_FORMAT && !strstr(err.msg, "1 MiB"));
    free(m);
    /* A good one, with its id readable even when refused. */
    const char *ok = "{\"id\":42,\"request\":{\"type\":\"storage_read\",\"token\":\"t\",\"path\":\"p\"}}";
    CHECK(el__request_parse(ok, strlen(ok), &q, &id, &err) == EL_OK);
    CHECK(q.id == 42 && q.type == EL_REQ_STORAGE_READ);
    CHECK_STREQ(el__req_str(&q, "path"), "p");
    el__request_free(&q);
    const char *idonly = "{\"id\":9,\"request\":{\"type\":\"nope\"}}";
    CHECK(el__request_parse(idonly, strlen(idonly), &q, &id, &err) == EL_ERR_FORMAT && id == 9);
}

static void test_fast(void)
{
    el_request q;
    const char *yes = "{\"id\":17,\"request\":{\"type\":\"ping\"}}";
    CHECK(el__request_fast(yes, strlen(yes), &q) && q.id == 17 && q.type == EL_REQ_PING && !q.text);
    el__request_free(&q);
    const char *rd = "{\"id\":5,\"request\":{\"type\":\"storage_read\",\"path\":\"localhost://storage/a b\",\"token\":\"T.k-_\"}}";
    CHECK(both(rd, strlen(rd)));
    CHECK(el__request_fast(rd, strlen(rd), &q) && q.type == EL_REQ_STORAGE_READ);
    CHECK_STREQ(el__req_str(&q, "path"), "localhost://storage/a b");
    CHECK_STREQ(el__req_str(&q, "token"), "T.k-_");
    CHECK(el__req_str(&q, "content") == NULL);
    el__request_free(&q);
    /* A long plain value crosses the 8-byte scan; a bad byte at each offset sends it to the full
     * parser. */
    char big[600];
    for (int at = -1; at < 40; at++) {
        int n = snprintf(big, sizeof big, "{\"id\":2,\"request\":{\"type\":\"storage_write\",\"token\":\"t\",\"path\":\"p\",\"content\":\"");
        int start = n;
        for (int i = 0; i < 40; i++)
            big[n++] = 'A';
        n += snprintf(big + n, sizeof big - (size_t)n, "\"}}");
        if (at < 0) {
            CHECK(both(big, (size_t)n));
            continue;
        }
        const char badc[] = {'\\', 0x1f, 0x7f, (char)0xc3, '\t'};
        for (size_t b = 0; b < sizeof badc; b++) {
            char save = big[start + at];
            big[start + at] = badc[b];
            CHECK(!el__request_fast(big, (size_t)n, &q));
            big[start + at] = save;
        }
    }
    const char *no[] = {"{\"id\":017,\"request\":{\"type\":\"ping\"}}", "{\"id\":1,\"request\":{\"type\":\"ping\"}} ",
                        "{\"id\":1, \"request\":{\"type\":\"ping\"}}", "{\"id\":1,\"request\":{\"type\":\"pong\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"storage_read\"}}", "{\"id\":,\"request\":{\"type\":\"ping\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"ping\",\"x\":1}}", "{\"id\":99999999999999999999,\"request\":{\"type\":\"ping\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":\"t\",\"token\":\"t\",\"path\":\"p\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":\"t\",\"path\":\"p\",\"type\":\"ping\"}}",
                        "{\"id\":1,\"request\":{\"token\":\"t\",\"type\":\"storage_read\",\"path\":\"p\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"send_message\",\"token\":\"t\",\"to\":\"a\",\"payload\":\"p\"}}",
                        "{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":\"t\",\"path\":\"p\"}}}",
                        "{\"id\":1,\"request\":{\"type\":\"storage_read\",\"token\":\"t\",\"path\":\"p"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECK(!el__request_fast(no[i], strlen(no[i]), &q));
}

static void test_base64(void)
{
    uint8_t data[300];
    for (int i = 0; i < 300; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= 300; n++) {
        char *e = el_protocol_base64_encode(data, n);
        size_t got = 999;
        uint8_t *d = e ? el_protocol_base64_decode(e, &got) : NULL;
        CHECK(e && strlen(e) == (n + 2) / 3 * 4);
        CHECK(d && got == n && (n == 0 || !memcmp(d, data, n)));
        char ref[420]; /* an independent encoder (libsodium's) agrees byte for byte */
        sodium_bin2base64(ref, sizeof ref, data, n, sodium_base64_VARIANT_ORIGINAL);
        CHECK(e && !strcmp(e, ref));
        free(e);
        free(d);
    }
    size_t len;
    uint8_t *d = el_protocol_base64_decode("SGVsbG8=", &len);
    CHECK(d && len == 5 && !memcmp(d, "Hello", 5));
    free(d);
    const char *reject[] = {"SGVsbG8", "SGVsbG9=", "SGV=bG8=", "S===", "SGVsbG8=\n", "SG Vs", "SGVs!G8=", "SGVsbG-_"};
    for (size_t i = 0; i < sizeof reject / sizeof *reject; i++) {
        d = el_protocol_base64_decode(reject[i], &len);
        CHECK(d == NULL);
        free(d);
    }
    size_t rl;
    char *r = el__response_data(7, "storage_data", "Hello", 5, &rl);
    CHECK_STREQ(r, "{\"id\":7,\"response\":{\"type\":\"storage_data\",\"data\":\"SGVsbG8=\"}}");
    CHECK(r && rl == strlen(r));
    free(r);
    r = el__response_error(3, "denied", "bad \xff utf8", &rl);
    CHECK(r && strstr(r, "\"code\":\"denied\""));
    free(r);
}

/* A provider_call whose body is an array nested so that the whole message is `levels` deep
 * (envelope 1, request 2, body 3...), optionally with brackets inside a string. */
static char *nested(int levels, const char *inner)
{
    size_t cap = 256 + 2 * (size_t)levels + strlen(inner);
    char *m = malloc(cap), *p = m;
    p += sprintf(p, "{\"id\":1,\"request\":{\"type\":\"provider_call\",\"token\":\"t\",\"uri\":\"u\",\"body\":");
    for (int i = 2; i < levels; i++)
        *p++ = '[';
    p += sprintf(p, "%s", inner);
    for (int i = 2; i < levels; i++)
        *p++ = ']';
    sprintf(p, "}}");
    return m;
}

/* The documented limit (docs/protocol.md): 32 levels counting the envelope; 33 is refused
 * before the JSON parser sees it, and brackets inside strings do not count. */
static void test_depth(void)
{
    el_request q;
    uint64_t id;
    el_error err;
    char *m = nested(32, "\"[[[[{{{{\\\"[[\"");
    CHECK(el__request_parse(m, strlen(m), &q, &id, &err) == EL_OK);
    if (q.body)
        el__request_free(&q);
    free(m);
    m = nested(33, "1");
    CHECK(el__request_parse(m, strlen(m), &q, &id, &err) == EL_ERR_FORMAT && strstr(err.msg, "deeper than 32"));
    free(m);
    m = nested(5000, "1"); /* far past jansson's own 2048 */
    CHECK(el__request_parse(m, strlen(m), &q, &id, &err) == EL_ERR_FORMAT && strstr(err.msg, "deeper than 32"));
    free(m);
    /* Objects count as arrays do: 31 nested under the request's config make 33 levels. */
    char objs[512], *p = objs;
    p += sprintf(p, "{\"id\":1,\"request\":{\"type\":\"launch_capsule\",\"config\":");
    for (int i = 0; i < 30; i++)
        p += sprintf(p, "{\"a\":");
    p += sprintf(p, "{}");
    for (int i = 0; i < 32; i++)
        *p++ = '}';
    *p = 0;
    CHECK(el__request_parse(objs, strlen(objs), &q, &id, &err) == EL_ERR_FORMAT && strstr(err.msg, "deeper than 32"));
    objs[strlen(objs) - 1] = 0; /* one brace short: malformed JSON, still refused for depth first */
    CHECK(el__request_parse(objs, strlen(objs), &q, &id, &err) == EL_ERR_FORMAT);
}

int main(void)
{
    test_vectors();
    test_strict();
    test_depth();
    test_fast();
    test_base64();
    return TEST_DONE();
}
