/*
 * serve.h - `elastos serve`: one daemon process hosting many wasm capsules, and the client side
 * of its local API (docs/serve.md).
 *
 * The daemon listens on a Unix socket, $ELASTOS_HOME/serve.sock (mode 0600; every connection's
 * peer uid, from SO_PEERCRED, must be the daemon's own), never on TCP. Requests and responses
 * are one JSON object per line. Each capsule instance runs on its own thread with its own
 * Wasmtime store and broker session; all share one engine, the compiled-code cache, and the
 * verified artifacts (cached by content hash). Instances of one manifest are capped by its
 * resource_limits.max_instances. A capsule flooding the runtime with requests is throttled.
 * SIGTERM or SIGINT stops every capsule, flushes the audit queue and exits 0.
 */
#ifndef ELASTOS_SERVE_H
#define ELASTOS_SERVE_H

#include "elastos/manifest.h"
#include "elastos/runtime.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_serve_options {
    unsigned max_running;   /* capsules running at once; 0 = 1024 */
    size_t log_cap;         /* bytes of stdout+stderr kept per instance (the newest); 0 = 64 KiB */
    unsigned calls_per_sec; /* elastos.call requests per second per instance before throttling;
                               0 = 20000 */
    unsigned keep_exited;   /* exited instances kept for ps/logs; 0 = 256 */
    int ready_fd;           /* >= 0: "ready\n" is written there once the socket listens */
    unsigned provider_calls; /* calls to provider capsules in flight per consumer address; 0 = 4 */
    /* The HTTP front (docs/web.md), off when NULL: "PORT", "ADDR:PORT" or "[ADDR6]:PORT" (ADDR an
     * IP address or localhost, never a wildcard; PORT 0: one the kernel picks). The daemon binds
     * it and runs `gateway` (the elastos-gateway program) on it, restarted when it dies. */
    const char *http;
    const char *gateway;
    char *http_bound; /* with http: receives the bound "ADDR:PORT" (EL_SERVE_HTTP_MAX bytes) before ready */
} el_serve_options;

#define EL_SERVE_HTTP_MAX 64

/* Runs the daemon on rt until SIGTERM/SIGINT (read through a signalfd; SIGHUP is ignored). The
 * caller - the program's entry point - must first block SIGTERM, SIGINT and SIGHUP in every
 * thread (pthread_sigmask before starting threads, as cli/cmd_serve.c does) and ignore
 * SIGPIPE: libelastos changes no process-wide setting itself. EL_ERR_CONFIG when another
 * daemon holds this home; EL_ERR_USAGE for a malformed o->http, EL_ERR_IO when it cannot be bound. */
EL_EXTERN el_status el_serve(el_runtime *rt, const el_serve_options *o, el_error *err);

/* The socket path for rt's home (cap >= 108). */
EL_EXTERN el_status el_serve_socket_path(el_runtime *rt, char *out, size_t cap, el_error *err);

/* Client: connects to the daemon of rt's home. EL_ERR_NOTFOUND when none is running. */
EL_EXTERN el_status el_serve_connect(el_runtime *rt, int *fd, el_error *err);
/* Client: sends one request (the compact JSON text of an object, no newline; docs/serve.md) and
 * reads its response line into *resp (malloc'd, NUL-terminated, without the newline).
 * EL_ERR_IO when the daemon closed the connection first. */
EL_EXTERN el_status el_serve_call(int fd, const char *req, char **resp, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
