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
        /* run names its capsule by "path", "cid" or "name" (op_run wants exactly one): each one
         * given has the declared type, a string. */
        static const char *const run_keys[] = {"path", "cid", "name"};
        for (size_t i = 0; !strcmp(op, "run") && i < 3; i++) {
            json_t *v = json_object_get(req, run_keys[i]);
            if (v && !json_is_string(v))
                abort();
        }
        json_decref(req);
    } else if (req || !err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    return 0;
}
