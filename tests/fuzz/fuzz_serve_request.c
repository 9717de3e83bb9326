/*
 * fuzz_serve_request.c - libFuzzer target for the daemon's local API parser
 * (el__serve_parse_request, serve.h): any bytes must be refused with a one-line reason or
 * accepted as an object whose "op" is known and whose fields have the declared types.
 */
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    json_t *req = NULL;
    el_error err;
    if (el__serve_parse_request((const char *)data, size, &req, &err) == EL_OK) {
        const char *op = json_string_value(json_object_get(req, "op"));
        if (!op)
            abort();
        json_t *path = json_object_get(req, "path");
        if (!strcmp(op, "run") && !json_is_string(path))
            abort();
        json_decref(req);
    } else if (req || !err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    return 0;
}
