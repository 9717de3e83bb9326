/*
 * fuzz_request_fast.c - libFuzzer target comparing the protocol's two request parsers
 * differentially (lib/protocol.c): whatever el__request_fast (the hot path, no jansson tree)
 * accepts, el__request_parse (the strict full parser) must accept too, with the same id, the
 * same type and the same value for every field, and no field the full parser does not see. The
 * fast path may say no to anything (the full parser then decides), never yes to something the
 * full parser refuses or reads differently.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_internal.h" /* internal: the framing the library parses */

/* Compares one parse of each kind; aborts on any difference. */
static void same(const el_request *fast, const el_request *full)
{
    if (fast->id != full->id || fast->type != full->type || fast->body || !full->body)
        abort();
    size_t fields = 0;
    const char *key;
    json_t *v;
    json_object_foreach(full->body, key, v)
    {
        if (!strcmp(key, "type"))
            continue;
        const char *a = el__req_str(fast, key), *b = json_string_value(v);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        fields++;
    }
    size_t fast_fields = 0;
    for (int i = 0; i < EL_REQ_FIELDS; i++)
        fast_fields += fast->str[i] != NULL;
    if (fast_fields != fields)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    el_request fast, full;
    uint64_t id;
    el_error err;
    if (!el__request_fast(data, size, &fast))
        return 0;
    if (el__request_parse(data, size, &full, &id, &err) != EL_OK || id != fast.id)
        abort();
    same(&fast, &full);
    el__request_free(&fast);
    el__request_free(&full);
    return 0;
}
