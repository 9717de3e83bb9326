/*
 * serve_daemon.h - the records `elastos serve` shares between its files (internal to
 * libelastos): the daemon (serve), its instances (inst), their verified artifacts (cached_art),
 * what a launch is made from (launch_spec), and the daemon's services (el__sv_ops) its
 * features (serve_kept.c, serve_http.c, serve_console.c) call. Locking as serve.c's opening
 * comment says: rt_mu, then mu, then art_mu.
 *
 * Shaped so: serve.c is the daemon (socket, API, instances, messages); serve_kept.c (provider
 * capsules kept across calls), serve_http.c (the HTTP front) and serve_console.c (the operator's
 * console) are features on top of it, reaching the daemon only through sv->ops (its services
 * as a const table of function pointers, as Redis's rio), so the dependency runs one way: serve.c
 * uses them, never the other way round.
 */
#ifndef ELASTOS_LIB_SERVE_DAEMON_H
#define ELASTOS_LIB_SERVE_DAEMON_H

#include "elastos/launch.h"
#include "elastos/serve.h"
#include "internal.h"
#include "provider.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

typedef struct cached_art {
    struct cached_art *next;
    uint8_t sha[32];
    struct stat st; /* of the file it was last opened from: unchanged file, no re-hash */
    el_artifact *art;
    char cid[EL_CID_MAX];
    int refs;     /* instances using it, plus one while it is in the cache */
    bool in_cache;
} cached_art;

/* What one sender has queued and not yet had received; shared by the sender and its messages,
 * freed with the last of them (a message may outlive its sender's instance). mu guards it. */
typedef struct outbox {
    size_t bytes;
    unsigned refs;
} outbox;

typedef struct message {
    struct message *next;
    json_t *m;
    size_t cost;    /* charged to sender, recipient and the daemon */
    outbox *sender;
} message;

typedef enum { ST_RUNNING, ST_EXITED } inst_state;

/* What one request of the HTTP front collects of its capsule's run (op_http owns it): stdout up
 * to HTTP_OUT_MAX bytes, then how the instance ended (run_inst fills those). */
#define HTTP_OUT_MAX ((size_t)8 << 20)
typedef struct http_capture {
    unsigned char *out;
    size_t len, cap;
    bool overflow;
    int exit_code;
} http_capture;

typedef struct serve serve;
typedef struct kept kept;
typedef struct console console;
typedef struct el__sv_ops el__sv_ops;

typedef struct inst {
    struct inst *next;
    struct inst *qnext; /* in the work queue */
    serve *sv;
    char id[EL_CAPSULE_ID_LEN + 1];
    char name[72];
    char addr[EL_ADDRESS_MAX]; /* "<name>@<publisher id>": where its messages go */
    char cid[EL_CID_MAX];
    inst_state state;
    int exit_code;
    char reason[300];
    cached_art *ca;
    el_launch_ctx *l;     /* the launch (launch.h): slot, session, grants; NULL once it ended */
    el_launch_spec spec;  /* what l was prepared from; points into this instance */
    char **args;
    size_t n_args;
    char **grants;
    size_t n_grants;
    char **env; /* n_env names, then n_env values */
    size_t n_env;
    el_limits limits; /* the manifest's, narrowed by a LaunchConfig */
    el_msg_router router;
    volatile int stop;
    int64_t started_ms, ended_ms;
    /* stdout+stderr: a ring of the newest log_cap bytes */
    pthread_mutex_t log_mu;
    unsigned char *log;
    size_t log_cap, log_len, log_head; /* head: where the next byte goes */
    uint64_t log_total;
    /* throttling */
    int64_t win_start_ms;
    unsigned win_calls;
    uint64_t throttled;
    bool throttle_audited;
    /* mailbox */
    message *mb_head, *mb_tail;
    size_t mb_n, mb_bytes;
    outbox *out; /* what it sent, undelivered (NULL until its first send) */
    kept *kept;  /* a kept provider's instance: its record (NULL: an ordinary capsule) */
    http_capture *cap; /* an HTTP front request's: its stdout goes there, not to the log */
} inst;

struct serve {
    el_runtime *rt;
    const el__sv_ops *ops; /* its services to serve_kept.c */
    el_serve_options o;
    pthread_mutex_t rt_mu, mu;
    pthread_mutex_t art_mu; /* the artifact cache; innermost */
    pthread_cond_t cv; /* an instance exited */
    inst *insts;       /* newest first */
    unsigned running, exited;
    cached_art *arts;
    size_t n_arts;
    uint64_t msg_seq;
    size_t mb_bytes; /* in every mailbox */
    int conns; /* connection threads alive */
    struct conn *conn_list; /* their connections (mu) */
    char shell_cid[EL_CID_MAX]; /* the shell capsule's CID ("" none), as of shell_checked_ms */
    int64_t shell_checked_ms;
    bool shell_conf_present;    /* and config/shell as it was then */
    struct stat shell_conf_st;
    bool stopping;
    /* capsule threads: a finished one waits a while for the next instance (thread reuse) */
    pthread_cond_t work_cv;
    inst *work_q;
    unsigned idle_workers, workers;
    /* kept provider instances (mu; pcv: a call was queued, taken, answered or cut) */
    kept *kepts;
    pthread_cond_t pcv;
    /* the HTTP front (docs/web.md): the bound listener, handed to the gateway process, and the
     * gateway's control socket, on which it asks for daemon connections (main loop only) */
    int http_fd, gw_ctl;
    pid_t gw_pid;
    int64_t gw_started_ms;
    char http_addr[EL_SERVE_HTTP_MAX];
    console *con; /* serve_console.c's state (NULL: out of memory at start) */
};

/* What to launch: the artifact at path, and LaunchConfig's extras (all may be NULL). */
typedef struct launch_spec {
    const char *path;
    json_t *args, *grants; /* arrays of strings */
    json_t *env;           /* object of strings (env and limits: checked by el__serve_launch_config_check) */
    json_t *limits;        /* {memory_mb?, cpu_ms?, wall_ms?}: narrowing only */
    cached_art *ca;        /* the verified artifact (el__sv_art_get), handed over */
    kept *kept;            /* a kept provider's instance for this record (NULL: none) */
    const unsigned char *input; /* stdin (an HTTP request's body; must outlive the run) */
    size_t input_len;
    http_capture *cap;     /* an HTTP request's: collects stdout and the exit */
} launch_spec;

#define PROVIDER_CALLS_DEFAULT 4 /* el_serve_options.provider_calls when 0 */

/* Milliseconds on the monotonic clock: deadlines and intervals. */
static inline int64_t mono_ms(void) { return el__clock_ms(CLOCK_MONOTONIC); }

/* A refusal of the local API: {"ok":false,"code":CODE,"error":MSG} (docs/serve.md). */
static inline json_t *sv_fail(el_status code, const char *msg)
{
    return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", (int)code, "error", msg);
}

/* ---- the daemon's services to its features (serve.c fills sv->ops) ------------------------------ */

struct el__sv_ops {
    /* Appends an audit record for instance in (rt_mu held). */
    void (*audit)(serve *sv, inst *in, const char *decision, const char *reason);
    /* Opens path through the verified-artifact cache (takes art_mu itself; no other lock needed). */
    el_status (*art_get)(serve *sv, const char *path, cached_art **out, el_error *err);
    /* Gives back a reference art_get returned (takes art_mu itself). */
    void (*art_release)(serve *sv, cached_art *ca);
    /* The instance with id, running or exited; NULL when none (mu held). */
    inst *(*find_inst)(serve *sv, const char *id);
    /* The router's blocking hook: begin releases rt_mu (a request waits on the outside), !begin
     * takes it back. arg is the serve. */
    void (*unblock)(void *arg, bool begin);
    /* Prepares and registers an instance from ls and starts it on a capsule thread, or (here)
     * leaves it for the caller to run (rt_mu held); *out the instance. */
    el_status (*launch)(serve *sv, const launch_spec *ls, bool here, inst **out, el_error *err);
    /* The file a cid or name (NAME[@RANGE]) names, a missing CID fetched with the runtime
     * released meanwhile (rt_mu held). */
    el_status (*resolve)(serve *sv, const char *cid, const char *name, char *path, el_error *err);
    /* Runs in (launched with here) on the calling thread to its end, then forgets it (no lock
     * held; in is not valid afterwards). */
    void (*run_here)(serve *sv, inst *in);
    /* Serves fd as a new connection of the local API on a thread of its own (http_only: the
     * gateway's, which may send op "http" only); fd is closed when that cannot start. */
    void (*conn_start)(serve *sv, int fd, bool http_only);
};

/* ---- serve_kept.c: provider capsules kept across calls ------------------------------------------ */

/* The forward hook of every ordinary instance's session (el__forward_fn; rt_mu held, released
 * while waiting): queues the call on its provider's record, starts the provider when none runs,
 * waits for the answer until the call's deadline. arg is the serve. */
el_status el__kept_forward(void *arg, const el__fwd *f, json_t **result, const char **code, el_error *err);
/* el__provider_host.next and .answer of a kept provider instance (arg: the inst). */
el_status el__kept_next(void *arg, const el__fwd **f, el_error *err);
void el__kept_answer(void *arg, uint64_t call_id, const json_t *result, const char *code, const char *message);
/* in, just registered, is now its record's running instance (mu held). */
void el__kept_attach(inst *in);
/* A kept provider's instance ended with st (rt_mu and mu held): the call it took fails. */
void el__kept_ended(inst *in, el_status st);
/* Once a second from the main loop (rt_mu held): stops unbound or rebound providers, and those
 * that left a cut call unanswered past its deadline. Audited. */
void el__kept_check(serve *sv);
/* Frees every kept record (the daemon ends; no instance runs). */
void el__kept_free_all(serve *sv);

/* ---- serve_http.c: the HTTP front's listener, the gateway process, its requests (docs/web.md) -- */

/* Binds and listens on spec ("PORT", "ADDR:PORT", "[ADDR6]:PORT"; an IP address or localhost,
 * never a wildcard) into sv->http_fd; sv->http_addr becomes the bound address. EL_ERR_USAGE for
 * a bad spec, EL_ERR_IO when it cannot listen. */
el_status el__http_listen(serve *sv, const char *spec, el_error *err);
/* Starts the gateway program on the listener; on failure logs and doubles *backoff_ms (main loop). */
void el__gw_spawn(serve *sv, const char *gateway, int64_t *backoff_ms);
/* The gateway's control socket is readable: answers its requests for connections (main loop). */
void el__gw_ctl_read(serve *sv);
/* Once per main-loop turn: restarts a gateway that exited (after its backoff). */
void el__gw_check(serve *sv, const char *gateway, int64_t *backoff_ms);
/* Stops the gateway (SIGTERM, SIGKILL after 2 s) and closes the front's sockets. */
void el__gw_stop(serve *sv);
/* Op "http" (the gateway's connections only): the request runs its route's capsule once, on this
 * thread, or goes to the console (docs/web.md); timed and counted for /metrics. No lock held. */
json_t *el__front_request(serve *sv, json_t *req);

/* ---- serve_console.c: the operator's console and /metrics (docs/web.md) ----------------------- */

struct el_decision_request;
console *el__console_new(void);
void el__console_free(console *c);
/* Op "console_login" (ordinary clients): a fresh single-use login code, answered as the login URL
 * {"ok":true,"url":...,"expires_s":120}; 78 when the daemon has no HTTP front. Audited. */
json_t *el__console_login(serve *sv);
/* The gateway's request (op "http") for a console path, answered as op_http answers (a CGI
 * response in "stdout"). No lock held. */
json_t *el__console_http(serve *sv, json_t *req);
/* The counters: an instance launched; one ended (code: its exit status or the status that ended
 * it; killed, stopped as el_launch_result and the stop flag say; why: the message, may be NULL);
 * the front answered a request of route ("none": no route) in us microseconds. No lock held. */
void el__console_launched(serve *sv);
void el__console_exited(serve *sv, int code, bool killed, bool stopped, const char *why);
void el__console_observe(serve *sv, const char *route, int64_t us);
/* The daemon's asker (el__asker; arg the serve): a pending request at /console until answered or
 * timed out; rt_mu held on entry, released while it waits. */
el_status el__console_ask(void *arg, const struct el_decision_request *q, unsigned timeout_ms, char answer[8],
                          char reason[256]);
/* The daemon stops (sv->stopping set, mu held or not): waiting askers give up at once. */
void el__console_wake(serve *sv);

#endif
