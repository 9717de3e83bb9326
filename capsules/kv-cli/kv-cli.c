/*
 * kv-cli.c - a consumer of elastos://kv/: `kv-cli put K V`, `kv-cli get K` (prints V),
 * `kv-cli del K`, `kv-cli whoami` (prints what the provider was told of this call),
 * `kv-cli call OP...` (elastos://kv/OP with an empty body, for each OP in turn, in one run; prints
 * each result as JSON, or the error, on a line of its own; exits 1 when any failed).
 * `--show-token` first prints the token it holds on stderr (the tests check the provider never
 * sees it). The token is asked for every elastos://kv/ uri, action execute, like any capability: the
 * shell or an operator grant decides.
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include "../kv/kvjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: kv-cli [--show-token] put KEY VALUE | get KEY | del KEY | whoami | call OP...\n");
    return 64;
}

int main(int argc, char **argv)
{
    int a = 1, show = 0;
    if (a < argc && !strcmp(argv[a], "--show-token"))
        show = 1, a++;
    if (a >= argc)
        return usage();
    const char *op = argv[a];
    int want = !strcmp(op, "put") ? 3 : (!strcmp(op, "get") || !strcmp(op, "del")) ? 2 : !strcmp(op, "whoami") ? 1 : !strcmp(op, "call") ? -2 : 0;
    if (!want || (want > 0 && argc - a != want) || (want < 0 && argc - a < 2))
        return usage();
    for (int i = a + 1; want < 0 && i < argc; i++)
        if (strlen(argv[i]) > 40)
            return usage();
    RuntimeClient *c = elastos_client_open();
    if (!c)
        return 2;
    char *token = NULL, uri[64], *body = NULL, *result = NULL;
    size_t blen = 0;
    if (elastos_request_capability(c, "elastos://kv/*", "execute", NULL, &token, NULL) != 0) {
        printf("kv-cli: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
        return 1;
    }
    if (show)
        fprintf(stderr, "token: %s\n", token);
    if (want < 0) { /* call OP...: ops of the provider's own, with an empty body, one run */
        int rc = 0;
        for (int i = a + 1; i < argc; i++) {
            snprintf(uri, sizeof uri, "elastos://kv/%s", argv[i]);
            if (elastos_provider_call(c, token, uri, "{}", &result) != 0) {
                printf("kv-cli: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
                rc = 1;
            } else {
                printf("%s\n", result);
            }
            free(result);
            result = NULL;
        }
        free(token);
        elastos_client_close(c);
        return rc;
    }
    snprintf(uri, sizeof uri, "elastos://kv/%s", op);
    FILE *f = open_memstream(&body, &blen);
    fputc('{', f);
    if (want >= 2) {
        fputs("\"key\":", f);
        kvjson_put(f, argv[a + 1]);
    }
    if (want == 3) {
        fputs(",\"value\":", f);
        kvjson_put(f, argv[a + 2]);
    }
    fputc('}', f);
    fclose(f);
    int rc = 0;
    if (elastos_provider_call(c, token, uri, body, &result) != 0) {
        printf("kv-cli: %s: %s\n", elastos_client_error_code(c), elastos_client_error(c));
        rc = 1;
    } else if (!strcmp(op, "get")) {
        char *v = kvjson_get(result, "value");
        printf("%s\n", v ? v : "");
        free(v);
    } else if (!strcmp(op, "whoami")) {
        char *seen = kvjson_get(result, "seen");
        printf("%s\n", seen ? seen : result);
        free(seen);
    } else {
        printf("ok\n");
    }
    free(result);
    free(body);
    free(token);
    elastos_client_close(c);
    return rc;
}
