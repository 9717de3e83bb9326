/*
 * wasm.h - the wasm substrate: running a verified wasm capsule under Wasmtime + WASI preview1.
 *
 * The capsule gets: stdio inherited from the caller; argv = [manifest name, args...]; an
 * environment of exactly ELASTOS_CAPSULE_NAME and ELASTOS_CAPSULE_ID (fresh per launch); no
 * preopened directories; its manifest's memory limit and wall-clock deadline.
 * Compiled code is cached under $ELASTOS_HOME/cache/wasm, keyed by the module's content hash,
 * the Wasmtime version and the engine configuration; every cache entry carries a SHA-256 that is
 * checked before Wasmtime sees it, and a bad entry is discarded and rebuilt.
 */
#ifndef ELASTOS_WASM_H
#define ELASTOS_WASM_H

#include "elastos/artifact.h"
#include "elastos/runtime.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EL_CAPSULE_ID_LEN 32 /* hex characters */
#define EL_WASM_STUCK_GRACE_MS 1000

struct el_channel;

typedef enum el_stdio { EL_STDIO_INHERIT, EL_STDIO_TTY, EL_STDIO_NONE, EL_STDIO_CUSTOM } el_stdio;

/* EL_STDIO_CUSTOM: stdin is el_wasm_options.input (empty without) and every write to stdout (fd 1) or stderr (fd 2) is passed
 * to output(output_arg, fd, data, len), which returns len (or a negative errno). */
typedef ptrdiff_t (*el_wasm_output_fn)(void *arg, int fd, const unsigned char *data, size_t len);

/* Called with enter=true before and enter=false after each elastos.call request is handled
 * (serve.c: serializes access to the shared runtime and throttles floods). */
typedef void (*el_wasm_gate_fn)(void *arg, bool enter);

/* How to launch. Zero-initialised options give: no args, a fresh id, no elastos.call import,
 * no file system, inherited stdio. */
typedef struct el_wasm_options {
    const char *const *args;  /* argv[1..]; argv[0] is the manifest name */
    size_t n_args;
    const char *capsule_id;   /* 32 hex chars, or NULL for a fresh one */
    const struct el_channel *channel; /* serves the elastos.call import (channel.h); NULL = no import */
    const char *preopen_host; /* host directory to mount, or NULL */
    const char *preopen_guest;
    bool preopen_writable;
    el_stdio stdio;           /* TTY: stdin/stdout/stderr on /dev/tty */
    const char *extra_env_name; /* one more environment variable, or NULL */
    const char *extra_env_value;
    const char *const *env_names; /* n_env more environment variables (elastos open, LaunchConfig) */
    const char *const *env_values;
    size_t n_env;
    el_wasm_output_fn output;   /* with EL_STDIO_CUSTOM */
    void *output_arg;
    const unsigned char *input; /* with EL_STDIO_CUSTOM: all of stdin (copied; an HTTP request's body) */
    size_t input_len;
    el_wasm_gate_fn gate;       /* NULL: none */
    void *gate_arg;
    const volatile int *stop;   /* when it becomes nonzero, the capsule is stopped (137) */
    /* A standalone run's last resort: a capsule blocked in a host call that cannot be cut short
     * (fd_read on an inherited stdin, fd_write to a full pipe) when a limit passes is not
     * stopped by it; if it is still there EL_WASM_STUCK_GRACE_MS later, stuck(stuck_arg, reason)
     * is called on a watchdog thread with the one-line reason, and is expected to end the process
     * (exit 137). NULL: no watchdog (a daemon's capsules have no such calls: their stdio never
     * blocks, and poll_oneoff is bounded). */
    void (*stuck)(void *arg, const char *reason);
    void *stuck_arg;
    const el_limits *limits;    /* instead of the manifest's (a LaunchConfig narrows them); NULL: its own */
} el_wasm_options;

typedef struct el_wasm_result {
    int exit_code;                          /* the capsule's exit status when it ran */
    bool cache_hit;                         /* compiled code came from the cache */
    char capsule_id[EL_CAPSULE_ID_LEN + 1]; /* the instance id the capsule was given */
} el_wasm_result;

/* For a long-lived host of many capsules (serve.c). Creates the engine and the deadline thread
 * now, so that several threads may then call el_wasm_run on this runtime at once (each with its
 * own session). With slots > 0 the engine uses Wasmtime's pooling allocator for that many
 * instances at once (copy-on-write memory images); runs with a session then share one linker,
 * and each module is compiled (or loaded from the cache) once and kept in memory with its
 * pre-instantiation (InstancePre), keyed by its content hash. Call before any other wasm use. */
EL_EXTERN el_status el_wasm_prepare(el_runtime *rt, unsigned slots, el_error *err);

/* Cold compiles in an exec'd process: a child forked from a multithreaded process (the daemon)
 * must not go on to run Wasmtime, so when exe is set each compile forks, execs exe with the
 * arguments "__compile CPU_NS" (the code on fd 0, the answer to fd 1) and exe must hand that
 * call to el_wasm_compile_main (the elastos binary does). exe NULL (the default) compiles in the
 * forked child itself, right for a single-threaded caller. exe is copied; false if too long. */
EL_EXTERN bool el_wasm_set_compiler(el_runtime *rt, const char *exe);
/* The body of "exe __compile CPU_NS": compiles the wasm read from fd 0 under an ITIMER_PROF
 * budget of CPU_NS and writes 'O' and the serialized code, or 'E' and Wasmtime's message, to
 * fd 1. Returns the process's exit status (0 when something was written). Prints nothing. */
EL_EXTERN int el_wasm_compile_main(int argc, char **argv);

/* Runs the entry module of a verified artifact (type wasm or agent) to completion.
 * Returns EL_OK when the capsule ran and exited (result->exit_code is its status), EL_ERR_LIMIT
 * when a limit stopped it, EL_ERR_TRAP when it crashed, other codes when it could not start. */
/* Checks, before anything runs (elastos pack), that wasm[0..len) is a module the runtime can
 * start with memory_mb: a valid module, importing only what the runtime provides (the same
 * linker el_wasm_run uses: WASI preview 1 and elastos.call, with their types), whose memory
 * minimum fits memory_mb (the same check el_wasm_run makes). EL_ERR_FORMAT with the reason:
 * "it imports env::foo, which the runtime does not provide (...)", "memory_mb 1 is below the
 * module's minimum of 17 pages (1.1 MiB): raise resource_limits.memory_mb to 2". */
EL_EXTERN el_status el_wasm_check(const uint8_t *wasm, size_t len, unsigned memory_mb, el_error *err);

EL_EXTERN el_status el_wasm_run(el_runtime *rt, const el_artifact *art, const el_wasm_options *opts, el_wasm_result *result,
                      el_error *err);

#ifdef __cplusplus
}
#endif
#endif
