/*
 * servetest - a test capsule for `elastos serve` (tests/cli/test_serve*.sh). One mode per run:
 *   hello               prints one line and exits 0
 *   echo                forever: answers every message with its own payload (reply_to set)
 *   ask NAME TEXT       sends TEXT to capsule NAME, waits up to 10 s for the answer, prints
 *                       "reply: TEXT" (exit 0) or "ask: ..." (exit 1)
 *   sink                forever: prints "got PAYLOAD from FROM" for every message, answers none
 *   blast NAME N KIB [NAME2]  sends N messages of KIB KiB each to NAME; when one is refused,
 *                       prints "blast: refused after K: CODE MESSAGE", then "blast: sent K"; with
 *                       NAME2, then one more to NAME2: "blast: then NAME2: ok" or ": CODE MESSAGE"
 *   tell NAME TEXT      sends TEXT to NAME once; prints "tell: ok" or "tell: CODE MESSAGE"
 *   addr                prints "addr: ADDRESS" (runtime_info's capsule_address)
 *   heartbeat           prints "beat N" every 20 ms, forever
 *   idle                sleeps forever, waking every 50 ms (a long-lived capsule doing nothing)
 *   spin                an infinite loop
 *   bomb                allocates until memory runs out, then aborts
 *   recurse             unbounded recursion (stack overflow)
 *   fill                writes 64 KiB files to its storage until refused; prints why, exits 3
 *   flood               sends requests (ping) as fast as it can, forever
 *   churn               forever: writes k<i%20> = "value-<i>-" + 4000 'x', reads it back, and prints
 *                       "churn: mismatch" if what it reads is not what it wrote
 *   write PATH TEXT / read PATH   one storage operation (prints "ok" / the content)
 *   reader PATH         asks for storage read (all of it; "reader: token" once it has it), then
 *                       reads PATH every 50 ms, forever, printing each change: "reader: read ok:
 *                       CONTENT" or "reader: read failed: CODE" (the console's test: revoked)
 *   net HOST:PORT BASE64 [MS]   one exchange through elastos://net/HOST:PORT (timeout MS, 3000); prints "net: RESULT_JSON"
 *   printenv            prints its environment, one variable per line
 *   launch NAME ARGS... / launchcid CID ARGS... / launchlim NAME MEMORY_MB ARGS... /
 *   launchenv NAME VAR VALUE ARGS...
 *                       launch_capsule (the shell only),
 *                       prints "launched ID", then list_capsules: "list: N running"
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static RuntimeClient *client(void)
{
    RuntimeClient *c = elastos_client_open();
    if (!c) {
        printf("servetest: no runtime\n");
        exit(2);
    }
    return c;
}

static volatile int stop_depth = -1; /* never reached: the optimizer can't know */

/* Recursion that uses only the wasm call stack, never the C stack in linear memory (no local
 * has its address taken), so it runs out of the engine's call stack ("stack overflow", 137),
 * not of the 64 KiB C stack below the data (that is probe deep's out-of-bounds trap, 134). The
 * result is mixed with n after the call so the call cannot become a loop. */
static int depth(int n)
{
    if (n == stop_depth)
        return 0;
    return (depth(n + 1) * 31) ^ n;
}

static char *token_for(RuntimeClient *c, const char *resource, const char *action)
{
    char *t = NULL, *tid = NULL;
    if (elastos_request_capability(c, resource, action, NULL, &t, &tid) != 0) {
        printf("servetest: no token for %s: %s %s\n", resource, elastos_client_error_code(c), elastos_client_error(c));
        fflush(stdout);
        return NULL;
    }
    free(tid);
    return t;
}

/* A token to message the capsule at address (or bare name) to; NULL with the reason printed. */
static char *capsule_token(RuntimeClient *c, const char *to)
{
    char res[128];
    snprintf(res, sizeof res, "elastos://capsule/%s", to);
    return token_for(c, res, "message");
}

/* Forever: each message is answered with its own payload (echo: tok) or printed (sink: NULL). */
static int serve_messages(RuntimeClient *c, const char *tok)
{
    for (;;) {
        ElastosMessage *m;
        size_t n;
        if (elastos_receive_messages(c, 16, &m, &n) != 0)
            return 1;
        for (size_t i = 0; i < n; i++)
            if (!tok)
                printf("got %.*s from %s\n", (int)m[i].payload_len, (const char *)m[i].payload, m[i].from);
            else if (elastos_send_message(c, tok, m[i].from, m[i].payload, m[i].payload_len, m[i].id) != 0)
                printf("echo: reply to %s failed: %s\n", m[i].from, elastos_client_error_code(c));
        elastos_messages_free(m, n);
        if (!n)
            sleep_ms(2);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "hello";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "hello")) {
        printf("hello from servetest\n");
    } else if (!strcmp(mode, "echo")) {
        RuntimeClient *c = client();
        char *tok = token_for(c, "elastos://capsule/*", "message");
        if (!tok)
            return 1;
        printf("echo: ready\n");
        return serve_messages(c, tok);
    } else if (!strcmp(mode, "ask") && argc > 3) {
        RuntimeClient *c = client();
        char *tok = capsule_token(c, argv[2]);
        if (!tok)
            return 1;
        if (elastos_send_message(c, tok, argv[2], argv[3], strlen(argv[3]), NULL) != 0) {
            printf("ask: send failed: %s %s\n", elastos_client_error_code(c), elastos_client_error(c));
            return 1;
        }
        for (int tries = 0; tries < 5000; tries++) {
            ElastosMessage *m;
            size_t n;
            if (elastos_receive_messages(c, 1, &m, &n) != 0)
                return 1;
            if (n) {
                printf("reply: %.*s\n", (int)m[0].payload_len, (const char *)m[0].payload);
                elastos_messages_free(m, n);
                return 0;
            }
            sleep_ms(2);
        }
        printf("ask: no reply\n");
        return 1;
    } else if (!strcmp(mode, "sink")) {
        RuntimeClient *c = client();
        printf("sink: ready\n");
        return serve_messages(c, NULL);
    } else if (!strcmp(mode, "blast") && argc > 4) {
        RuntimeClient *c = client();
        char *tok = capsule_token(c, argv[2]);
        long n = atol(argv[3]), kib = atol(argv[4]);
        char *buf = tok && kib > 0 ? malloc((size_t)kib << 10) : NULL;
        if (!buf)
            return 1;
        memset(buf, 'b', (size_t)kib << 10);
        long k = 0;
        for (; k < n; k++)
            if (elastos_send_message(c, tok, argv[2], buf, (size_t)kib << 10, NULL) != 0) {
                printf("blast: refused after %ld: %s %s\n", k, elastos_client_error_code(c), elastos_client_error(c));
                break;
            }
        printf("blast: sent %ld\n", k);
        if (argc > 5) {
            char *tok2 = capsule_token(c, argv[5]);
            if (!tok2)
                return 1;
            if (elastos_send_message(c, tok2, argv[5], buf, (size_t)kib << 10, NULL) != 0)
                printf("blast: then %s: %s %s\n", argv[5], elastos_client_error_code(c), elastos_client_error(c));
            else
                printf("blast: then %s: ok\n", argv[5]);
        }
    } else if (!strcmp(mode, "tell") && argc > 3) {
        RuntimeClient *c = client();
        char *tok = capsule_token(c, argv[2]);
        if (!tok) {
            printf("tell: %s\n", elastos_client_error_code(c));
            return 1;
        }
        if (elastos_send_message(c, tok, argv[2], argv[3], strlen(argv[3]), NULL) != 0) {
            printf("tell: %s %s\n", elastos_client_error_code(c), elastos_client_error(c));
            return 1;
        }
        printf("tell: ok\n");
    } else if (!strcmp(mode, "addr")) {
        RuntimeClient *c = client();
        char *a = NULL;
        if (elastos_get_capsule_address(c, &a) != 0)
            return 1;
        printf("addr: %s\n", a);
    } else if (!strcmp(mode, "heartbeat")) {
        for (unsigned long i = 0;; i++) {
            printf("beat %lu\n", i);
            sleep_ms(20);
        }
    } else if (!strcmp(mode, "idle")) {
        for (;;)
            sleep_ms(50);
    } else if (!strcmp(mode, "spin")) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    } else if (!strcmp(mode, "bomb")) {
        for (;;) {
            char *volatile p = malloc(1 << 20);
            if (!p)
                abort();
            p[0] = 1;
        }
    } else if (!strcmp(mode, "recurse")) {
        return depth(0);
    } else if (!strcmp(mode, "fill")) {
        RuntimeClient *c = client();
        char *tok = token_for(c, "localhost://storage/*", "write");
        if (!tok)
            return 1;
        static char buf[64 * 1024];
        memset(buf, 'f', sizeof buf);
        for (unsigned i = 0;; i++) {
            char path[64];
            snprintf(path, sizeof path, "localhost://storage/fill-%u", i);
            if (elastos_storage_write(c, tok, path, buf, sizeof buf) != 0) {
                printf("fill: refused after %u KiB: %s\n", i * 64, elastos_client_error_code(c));
                return 3;
            }
        }
    } else if (!strcmp(mode, "flood")) {
        RuntimeClient *c = client();
        for (unsigned long i = 0;; i++)
            if (elastos_ping(c) != 0)
                return 1;
    } else if (!strcmp(mode, "churn")) {
        RuntimeClient *c = client();
        char *wt = token_for(c, "localhost://storage/*", "write"), *rt = token_for(c, "localhost://storage/*", "read");
        if (!wt || !rt)
            return 1;
        static char buf[4100];
        for (unsigned long i = 0;; i++) {
            char path[64];
            snprintf(path, sizeof path, "localhost://storage/k%lu", i % 20);
            int n = snprintf(buf, sizeof buf, "value-%lu-", i);
            memset(buf + n, 'x', 4000);
            if (elastos_storage_write(c, wt, path, buf, (size_t)n + 4000) != 0) {
                printf("churn: write failed: %s\n", elastos_client_error_code(c));
                return 1;
            }
            uint8_t *d;
            size_t dn;
            if (elastos_storage_read(c, rt, path, &d, &dn) != 0 || dn != (size_t)n + 4000 || memcmp(d, buf, dn) != 0)
                printf("churn: mismatch at %lu\n", i);
            else
                free(d);
        }
    } else if (!strcmp(mode, "printenv")) {
        extern char **environ;
        for (char **e = environ; *e; e++)
            printf("%s\n", *e);
    } else if (((!strcmp(mode, "launch") || !strcmp(mode, "launchcid")) && argc > 2) ||
               (!strcmp(mode, "launchlim") && argc > 3) || (!strcmp(mode, "launchenv") && argc > 4)) {
        RuntimeClient *c = client();
        int lim = !strcmp(mode, "launchlim"), env = !strcmp(mode, "launchenv"), first = lim ? 4 : env ? 5 : 3;
        LaunchConfig lc;
        memset(&lc, 0, sizeof lc);
        if (!strcmp(mode, "launchcid"))
            lc.cid = argv[2];
        else
            lc.name = argv[2];
        lc.memory_mb = lim ? (uint32_t)atoi(argv[3]) : 0;
        const char *en[1] = {argv[3]}, *ev[1] = {argv[4]};
        if (env) {
            lc.env_names = en;
            lc.env_values = ev;
            lc.n_env = 1;
        }
        lc.args = (const char *const *)argv + first;
        lc.n_args = (size_t)(argc - first);
        char *id = NULL, *list = NULL;
        if (elastos_launch_capsule(c, &lc, &id) != 0) {
            printf("launch: error %s %s\n", elastos_client_error_code(c), elastos_client_error(c));
            return 1;
        }
        printf("launched %s\n", id);
        if (elastos_list_capsules(c, &list) != 0) {
            printf("list: error %s\n", elastos_client_error_code(c));
            return 1;
        }
        int n = 0;
        for (const char *p = list; (p = strstr(p, "\"running\"")) != NULL; p++)
            n++;
        printf("list: %d running\n", n);
    } else if (!strcmp(mode, "net") && argc > 3) {
        RuntimeClient *c = client();
        char uri[300], body[4096], *res = NULL;
        snprintf(uri, sizeof uri, "elastos://net/%s", argv[2]);
        char *tok = token_for(c, uri, "execute");
        if (!tok)
            return 1;
        snprintf(body, sizeof body, "{\"send\":\"%s\",\"timeout_ms\":%s}", argv[3], argc > 4 ? argv[4] : "3000");
        if (elastos_provider_call(c, tok, uri, body, &res) != 0) {
            printf("net: error %s %s\n", elastos_client_error_code(c), elastos_client_error(c));
            return 1;
        }
        printf("net: %s\n", res);
    } else if (!strcmp(mode, "reader") && argc > 2) {
        RuntimeClient *c = client();
        char *tok = token_for(c, "localhost://storage/*", "read");
        if (!tok)
            return 1;
        printf("reader: token\n");
        fflush(stdout);
        int last = -1; /* prints each change only: ok with the content, or the refusal's code */
        for (;;) {
            uint8_t *d = NULL;
            size_t dn = 0;
            int now = elastos_storage_read(c, tok, argv[2], &d, &dn) == 0;
            if (now != last) {
                if (now)
                    printf("reader: read ok: %.*s\n", (int)dn, (const char *)d);
                else
                    printf("reader: read failed: %s\n", elastos_client_error_code(c));
                fflush(stdout);
                last = now;
            }
            free(d);
            sleep_ms(50);
        }
    } else if (!strcmp(mode, "write") && argc > 3) {
        RuntimeClient *c = client();
        char *tok = token_for(c, "localhost://storage/*", "write");
        if (!tok || elastos_storage_write(c, tok, argv[2], argv[3], strlen(argv[3])) != 0) {
            printf("write: failed\n");
            return 1;
        }
        printf("ok\n");
    } else if (!strcmp(mode, "read") && argc > 2) {
        RuntimeClient *c = client();
        char *tok = token_for(c, "localhost://storage/*", "read");
        uint8_t *d;
        size_t n;
        if (!tok || elastos_storage_read(c, tok, argv[2], &d, &n) != 0) {
            printf("read: failed %s\n", elastos_client_error_code(c));
            return 1;
        }
        printf("%.*s\n", (int)n, (const char *)d);
    } else {
        printf("servetest: unknown mode %s\n", mode);
        return 64;
    }
    return 0;
}
