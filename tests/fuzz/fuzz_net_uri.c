/*
 * fuzz_net_uri.c - libFuzzer target for el__net_parse (net.h), the parser of the capsule-supplied
 * elastos://net/HOST:PORT URI: any bytes are refused or split into a host of [A-Za-z0-9.-]
 * without empty labels and a port of 1..65535; nothing is resolved or connected.
 */
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *uri = malloc(size + 1);
    if (!uri)
        return 0;
    memcpy(uri, data, size);
    uri[size] = 0;
    char host[256], port[8];
    el_error err;
    if (el__net_parse(uri, host, port, &err) == EL_OK) {
        size_t hl = strlen(host);
        long p = atol(port);
        if (hl == 0 || hl > 255 || p < 1 || p > 65535 || host[0] == '.' || host[hl - 1] == '.' || strstr(host, ".."))
            abort();
        for (size_t i = 0; i < hl; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", host[i]))
                abort();
    }
    free(uri);
    return 0;
}
