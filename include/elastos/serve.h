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

#include <jansson.h>
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
} el_serve_options;

/* Runs the daemon on rt until SIGTERM/SIGINT (read through a signalfd; SIGHUP is ignored). The
 * caller - the program's entry point - must first block SIGTERM, SIGINT and SIGHUP in every
 * thread (pthread_sigmask before starting threads, as cli/cmd_serve.c does) and ignore
 * SIGPIPE: libelastos changes no process-wide setting itself. EL_ERR_CONFIG when another
 * daemon holds this home. */
el_status el_serve(el_runtime *rt, const el_serve_options *o, el_error *err);

/* The socket path for rt's home (cap >= 108). */
el_status el_serve_socket_path(el_runtime *rt, char *out, size_t cap, el_error *err);

/* Parses one request line of the local API (docs/serve.md) strictly: one JSON object, no
 * duplicate keys, a known "op" and only that op's fields, each of the right type. *req is a new
 * reference on success; EL_ERR_USAGE with the reason otherwise. */
el_status el_serve_parse_request(const char *line, size_t len, json_t **req, el_error *err);

/* Checks a LaunchConfig (launch_capsule's config, docs/serve.md) strictly: known fields only,
 * cid or name, args an array of strings, env an object of strings whose names are not ELASTOS_*,
 * limits (memory_mb, cpu_ms, wall_ms) positive and, with manifest, no wider than it (narrowed
 * then gets the result). EL_ERR_USAGE with the reason otherwise. */
el_status el_serve_launch_config_check(const json_t *config, const el_limits *manifest, el_limits *narrowed,
                                       el_error *err);

/* Client: connects to the daemon of rt's home. EL_ERR_NOTFOUND when none is running. */
el_status el_serve_connect(el_runtime *rt, int *fd, el_error *err);
/* Client: sends one request object, reads its response (new reference). */
el_status el_serve_call(int fd, json_t *req, json_t **resp, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
