/*
 * captest - a test capsule that runs protocol operations named by its arguments, in order,
 * printing one line per operation: "OP: ok [detail]" or "OP: error CODE". Operations:
 *   req RESOURCE ACTION [MAX_USES [EXPIRY_SECS]]  request a capability (kept as the current token)
 *   settoken TEXT         use TEXT as the current token      printtoken   print it
 *   envtoken              use $ELASTOS_OPEN_TOKEN (a viewer under elastos open); prints the URI
 *   read PATH | write PATH TEXT | list PATH | delete PATH   storage with the current token
 *   fetch URI             fetch_content with the current token
 *   call URI BODY         provider_call (e.g. elastos://ai/chat) with the current token
 *   send TO TEXT          send_message TEXT to capsule TO with the current token
 *   forge PATH            flip every character of the token in turn and try read: prints how
 *                         many forged tokens were accepted (must be 0)
 *   repeat N read PATH    N reads; prints how many succeeded
 *   reqflood N RES ACTION N capability requests for RES (RES ending in "#": RES0, RES1, ... each
 *                         a different resource); prints how many were ok, denied, limit, other
 *   raw JSON              send a raw message envelope through elastos.call, print the response
 *   ping | info | fs      ping, runtime info, list /storage through plain WASI
 *   sleep MS              pause (lets a test revoke or bump the epoch meanwhile)
 *   writebig PATH KIB     write KIB KiB of 'x' to PATH with the current token
 * Hostile plain-WASI operations (the limits must hold against them):
 *   pollin | readin       block in poll_oneoff on stdin (no timeout) | in fd_read on stdin
 *   unlinkfill KIB        open /storage/u.bin, unlink it, write KIB KiB to it, hold it 300 ms
 *   inodes N              create N empty files and N empty directories under /storage
 *   symlink TARGET NAME   create /storage/NAME -> TARGET
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __wasm__
__attribute__((import_module("elastos"), import_name("call"))) int elastos_raw_call(const void *, int, void *, int);
#else /* built natively into tests/capsules/vmprobe: no host import there */
static int elastos_raw_call(const void *m, int n, void *b, int cap)
{
    (void)m, (void)n, (void)b, (void)cap;
    return 0;
}
#endif

static RuntimeClient *c;
static char *token;

static void fail(const char *op)
{
    printf("%s: error %s %s\n", op, elastos_client_error_code(c), elastos_client_error(c));
}

int main(int argc, char **argv)
{
    c = elastos_client_open();
    if (!c) {
        printf("open: error no runtime\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "req") && i + 2 < argc) {
            CapabilityConstraints cc = ELASTOS_CONSTRAINTS_INIT;
            const char *res = argv[++i], *act = argv[++i];
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
                cc.max_uses = (uint32_t)atoi(argv[++i]);
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
                cc.expiry_secs = (uint64_t)atoi(argv[++i]);
            char *t = NULL, *tid = NULL;
            if (elastos_request_capability(c, res, act, &cc, &t, &tid) == 0) {
                free(token);
                token = t;
                printf("req: ok %s\n", tid);
                free(tid);
            } else {
                fail("req");
            }
        } else if (!strcmp(op, "writebig") && i + 2 < argc) {
            const char *p = argv[++i];
            size_t n = (size_t)atoi(argv[++i]) * 1024;
            char *buf = malloc(n ? n : 1);
            memset(buf, 'x', n);
            if (elastos_storage_write(c, token ? token : "", p, buf, n) == 0)
                printf("writebig: ok\n");
            else
                fail("writebig");
            free(buf);
        } else if (!strcmp(op, "settoken") && i + 1 < argc) {
            free(token);
            token = strdup(argv[++i]);
            printf("settoken: ok\n");
        } else if (!strcmp(op, "envtoken")) { /* the token elastos open hands a viewer */
            const char *t = getenv("ELASTOS_OPEN_TOKEN"), *u = getenv("ELASTOS_OPEN_URI");
            free(token);
            token = t ? strdup(t) : NULL;
            printf("envtoken: %s %s\n", t ? "ok" : "error none", u ? u : "");
        } else if (!strcmp(op, "printtoken")) {
            printf("token: %s\n", token ? token : "");
        } else if (!strcmp(op, "read") && i + 1 < argc) {
            uint8_t *d;
            size_t n;
            if (elastos_storage_read(c, token ? token : "", argv[++i], &d, &n) == 0) {
                printf("read: ok %.*s\n", (int)n, (const char *)d);
                free(d);
            } else
                fail("read");
        } else if (!strcmp(op, "write") && i + 2 < argc) {
            const char *p = argv[++i], *text = argv[++i];
            if (elastos_storage_write(c, token ? token : "", p, text, strlen(text)) == 0)
                printf("write: ok\n");
            else
                fail("write");
        } else if (!strcmp(op, "list") && i + 1 < argc) {
            char **e;
            size_t n;
            if (elastos_storage_list(c, token ? token : "", argv[++i], &e, &n) == 0) {
                printf("list: ok");
                for (size_t k = 0; k < n; k++)
                    printf(" %s", e[k]);
                printf("\n");
                free(e);
            } else
                fail("list");
        } else if (!strcmp(op, "delete") && i + 1 < argc) {
            if (elastos_storage_delete(c, token ? token : "", argv[++i]) == 0)
                printf("delete: ok\n");
            else
                fail("delete");
        } else if (!strcmp(op, "fetch") && i + 1 < argc) {
            uint8_t *d;
            size_t n;
            if (elastos_fetch_content(c, token ? token : "", argv[++i], &d, &n) == 0) {
                printf("fetch: ok %zu bytes\n", n);
                free(d);
            } else
                fail("fetch");
        } else if (!strcmp(op, "call") && i + 2 < argc) {
            char *res = NULL;
            const char *uri = argv[++i], *body = argv[++i];
            if (elastos_provider_call(c, token ? token : "", uri, body, &res) == 0) {
                printf("call: ok %s\n", res);
                free(res);
            } else
                fail("call");
        } else if (!strcmp(op, "send") && i + 2 < argc) {
            const char *to = argv[++i], *text = argv[++i];
            if (elastos_send_message(c, token ? token : "", to, text, strlen(text), NULL) == 0)
                printf("send: ok\n");
            else
                fail("send");
        } else if (!strcmp(op, "forge") && i + 1 < argc && token) {
            const char *p = argv[++i];
            size_t len = strlen(token), accepted = 0;
            char *f = strdup(token);
            static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            for (size_t k = 0; k < len; k++) {
                const char *pos = strchr(alphabet, token[k]);
                f[k] = alphabet[((pos ? (size_t)(pos - alphabet) : 0) + 1) % 64];
                uint8_t *d;
                size_t n;
                if (elastos_storage_read(c, f, p, &d, &n) == 0) {
                    accepted++;
                    free(d);
                }
                f[k] = token[k];
            }
            free(f);
            printf("forge: ok %zu of %zu accepted\n", accepted, len);
        } else if (!strcmp(op, "repeat") && i + 3 < argc && !strcmp(argv[i + 2], "read")) {
            int n = atoi(argv[++i]), okc = 0;
            i++;
            const char *p = argv[++i];
            for (int k = 0; k < n; k++) {
                uint8_t *d;
                size_t len;
                if (elastos_storage_read(c, token ? token : "", p, &d, &len) == 0) {
                    okc++;
                    free(d);
                }
            }
            printf("repeat: ok %d of %d\n", okc, n);
        } else if (!strcmp(op, "reqflood") && i + 3 < argc) {
            int n = atoi(argv[++i]), okc = 0, denied = 0, limit = 0, other = 0;
            const char *res = argv[++i], *act = argv[++i];
            size_t rl = strlen(res);
            int numbered = rl > 0 && res[rl - 1] == '#';
            char r[512];
            for (int k = 0; k < n; k++) {
                if (numbered)
                    snprintf(r, sizeof r, "%.*s%d", (int)(rl - 1), res, k);
                else
                    snprintf(r, sizeof r, "%s", res);
                CapabilityConstraints cc = ELASTOS_CONSTRAINTS_INIT;
                char *t = NULL, *tid = NULL;
                if (elastos_request_capability(c, r, act, &cc, &t, &tid) == 0) {
                    okc++;
                    free(t);
                    free(tid);
                    continue;
                }
                const char *code = elastos_client_error_code(c);
                if (code && !strcmp(code, "denied"))
                    denied++;
                else if (code && !strcmp(code, "limit"))
                    limit++;
                else
                    other++;
            }
            printf("reqflood: ok %d denied %d limit %d other %d\n", okc, denied, limit, other);
        } else if (!strcmp(op, "raw") && i + 1 < argc) {
            const char *m = argv[++i];
            static char buf[1 << 16];
            int n = elastos_raw_call(m, (int)strlen(m), buf, (int)sizeof buf - 1);
            printf("raw: %.*s\n", n < (int)sizeof buf ? n : 0, buf);
        } else if (!strcmp(op, "ping")) {
            printf(elastos_ping(c) == 0 ? "ping: ok\n" : "ping: error\n");
        } else if (!strcmp(op, "info")) {
            char *v, *n, *id;
            if (elastos_get_runtime_info(c, &v, &n, &id) == 0) {
                printf("info: ok %s %s %s\n", v, n, id);
                free(v);
                free(n);
                free(id);
            } else
                fail("info");
        } else if (!strcmp(op, "sleep") && i + 1 < argc) {
            long ms = atol(argv[++i]);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            printf("sleep: ok\n");
        } else if (!strcmp(op, "fsfill") && i + 1 < argc) { /* N KiB through plain WASI file writes */
            long kib = atol(argv[++i]);
            FILE *f = fopen("/storage/fsfill.bin", "w");
            static char chunk[65536];
            long done = 0;
            while (f && done < kib && fwrite(chunk, 1, 1024, f) == 1024)
                done++;
            int ok = f && done == kib && fclose(f) == 0;
            printf("fsfill: %s %ld KiB\n", ok ? "ok" : "error", done);
        } else if (!strcmp(op, "pollin")) {
            struct pollfd p = {.fd = 0, .events = POLLIN};
            int n = poll(&p, 1, -1);
            printf("pollin: ok %d\n", n);
        } else if (!strcmp(op, "readin")) {
            char b[16];
            ssize_t n = read(0, b, sizeof b);
            printf("readin: ok %zd\n", n);
        } else if (!strcmp(op, "unlinkfill") && i + 1 < argc) {
            long kib = atol(argv[++i]), done = 0;
            int fd = open("/storage/u.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600);
            static char chunk[1024];
            if (fd >= 0 && unlink("/storage/u.bin") == 0)
                while (done < kib && write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk)
                    done++;
            struct timespec ts = {0, 300000000L};
            nanosleep(&ts, NULL);
            printf("unlinkfill: %s %ld KiB\n", fd >= 0 && done == kib ? "ok" : "error", done);
            if (fd >= 0)
                close(fd);
        } else if (!strcmp(op, "inodes") && i + 1 < argc) {
            long n = atol(argv[++i]), made = 0;
            char name[64];
            for (long k = 0; k < n; k++) {
                snprintf(name, sizeof name, "/storage/f%ld", k);
                int fd = open(name, O_WRONLY | O_CREAT, 0600);
                snprintf(name, sizeof name, "/storage/d%ld", k);
                if (fd >= 0 && close(fd) == 0 && mkdir(name, 0700) == 0)
                    made++;
            }
            printf("inodes: %s %ld\n", made == n ? "ok" : "error", made);
        } else if (!strcmp(op, "symlink") && i + 2 < argc) {
            const char *target = argv[++i];
            char name[300];
            snprintf(name, sizeof name, "/storage/%s", argv[++i]);
            printf("symlink: %s\n", symlink(target, name) == 0 ? "ok" : "error");
        } else if (!strcmp(op, "fs")) {
            DIR *d = opendir("/storage");
            printf("fs: %s\n", d ? "ok" : "error no /storage");
            if (d)
                closedir(d);
        } else {
            printf("%s: error bad_script\n", op);
            return 64;
        }
        fflush(stdout);
    }
    free(token);
    elastos_client_close(c);
    return 0;
}
