/*
 * serve.c - the `elastos serve` daemon (include/elastos/serve.h, docs/serve.md): the local
 * socket and its line-JSON API, one thread per capsule instance, the verified-artifact cache,
 * the per-instance log ring, message routing between capsules, request throttling, and a
 * graceful shutdown.
 *
 * Locking: rt_mu serializes everything that touches the shared el_runtime's mutable state (the
 * state database, the audit queue, broker sessions: taken around every elastos.call through the
 * wasm gate, and released while a request waits on the network); mu guards the instance list and
 * mailboxes; art_mu the verified-artifact cache (verification itself runs under no lock). Order:
 * rt_mu, then mu, then art_mu, never the other way round. Capsule code runs with none held.
 */
#include "elastos/serve.h"
#include "serve_internal.h"
#include "shell_internal.h"
#include "elastos/artifact.h"
#include "elastos/audit.h"
#include "elastos/broker.h"
#include "elastos/launch.h"
#include "elastos/route.h"
#include "protocol_internal.h"
#include "elastos/sign.h"
#include "elastos/store.h"
#include "elastos/trust.h"
#include "elastos/wasm.h"
#include "broker_internal.h"
#include "internal.h"
#include "provider.h"
#include "elastos/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "serve_daemon.h"

#define LINE_MAX_BYTES (1 << 20)
#define MAILBOX_MAX 256
/* Undelivered messages are held in the daemon's memory: bounded per recipient, per sender
 * (charged to whoever sent them, until they are received or their recipient exits) and in all. */
#define MAILBOX_BYTES_MAX ((size_t)4 << 20)
#define OUTBOX_BYTES_MAX ((size_t)4 << 20)
#define MAILBOXES_BYTES_MAX ((size_t)64 << 20)
#define MESSAGE_OVERHEAD 256 /* charged per message besides its payload and reply_to */
#define ART_CACHE_MAX 64
#define CONNS_MAX 512

el_status el_serve_socket_path(el_runtime *rt, char *out, size_t cap, el_error *err)
{
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
    if ((size_t)snprintf(out, cap, "%s/serve.sock", el_runtime_home(rt)) >= (cap < max ? cap : max))
        return el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long for a Unix socket path (%zu bytes at most)",
                            max - sizeof "/serve.sock");
    return EL_OK;
}

/* ---- audit (rt_mu held) ----------------------------------------------------------------------- */

static void audit_inst(serve *sv, inst *in, const char *decision, const char *reason)
{
    char pub[EL_PK_TEXT] = "";
    if (in->ca)
        el_sign_pubkey_format(el_artifact_publisher(in->ca->art), pub);
    el_audit_record r = {.capsule = in->name, .capsule_id = in->id, .publisher = pub, .resource = "",
                         .action = "", .decision = decision, .reason = reason, .token_id = ""};
    el_error err;
    if (el_audit_append(sv->rt, &r, &err) != EL_OK)
        el__log(sv->rt, EL_LOG_WARNING, "audit append failed: %s", err.msg);
}

/* ---- verified artifacts, cached by content hash ------------------------------------------------ */

static void art_release(serve *sv, cached_art *ca)
{
    if (!ca)
        return;
    pthread_mutex_lock(&sv->art_mu);
    bool last = --ca->refs == 0;
    pthread_mutex_unlock(&sv->art_mu);
    if (last) {
        el_artifact_close(ca->art);
        free(ca);
    }
}

/* A cached entry by file identity (fst) or content hash (sha); art_mu held. Takes a reference. */
static cached_art *art_find(serve *sv, const struct stat *fst, const uint8_t *sha)
{
    for (cached_art *ca = sv->arts; ca; ca = ca->next)
        if ((fst && el__fs_same_file(&ca->st, fst)) || (sha && memcmp(ca->sha, sha, 32) == 0)) {
            if (fst && sha)
                ca->st = *fst;
            ca->refs++;
            return ca;
        }
    return NULL;
}

/* The publisher of a cached artifact must still be trusted (trust can be removed meanwhile),
 * and a store entry must still be its CID's bytes (the cache matched it by file identity or by
 * content: it may hold another entry's). A string compare: the CID was computed when cached. */
static el_status art_trusted(serve *sv, cached_art *ca, const char *path, el_error *err)
{
    el_status st = el__artifact_check_stored(el_runtime_home(sv->rt), ca->art, path, err);
    if (st != EL_OK)
        el_error_prefix(err, "%s", path);
    else if (el_trust_check(sv->rt, el_artifact_publisher(ca->art), NULL, err) != EL_OK)
        st = el_error_set(err, EL_ERR_TRUST, "%s: publisher is not trusted (elastos trust add)", path);
    if (st != EL_OK)
        art_release(sv, ca);
    return st;
}

/* Opens path through the cache. What runs is always a verified private copy: the file's identity
 * (device, inode, size, mtime, ctime) only decides whether its bytes are hashed again, and bytes
 * with the hash of an artifact verified earlier reuse it (its publisher's trust checked again).
 * Verification itself runs under no lock (the trust store is a file; el_artifact_open only reads
 * the home's paths), so launching a large artifact holds up no other capsule. */
static el_status art_get(serve *sv, const char *path, cached_art **out, el_error *err)
{
    struct stat fst;
    bool have_st = stat(path, &fst) == 0;
    pthread_mutex_lock(&sv->art_mu);
    cached_art *ca = have_st ? art_find(sv, &fst, NULL) : NULL;
    pthread_mutex_unlock(&sv->art_mu);
    if (ca)
        return (*out = ca, art_trusted(sv, ca, path, err));
    char *data;
    size_t len;
    el_status st = el_fs_read_file(path, (size_t)1 << 30, &data, &len, err);
    if (st != EL_OK)
        return st;
    uint8_t sha[32];
    el_sign_sha256(data, len, sha);
    free(data);
    pthread_mutex_lock(&sv->art_mu);
    ca = art_find(sv, have_st ? &fst : NULL, sha);
    pthread_mutex_unlock(&sv->art_mu);
    if (ca)
        return (*out = ca, art_trusted(sv, ca, path, err));
    ca = calloc(1, sizeof *ca);
    if (!ca)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if ((st = el_artifact_open(sv->rt, path, EL_OPEN_CID, &ca->art, err)) != EL_OK ||
        (st = el_artifact_cid(ca->art, ca->cid, err)) != EL_OK) {
        el_artifact_close(ca->art);
        free(ca);
        return st;
    }
    /* Keyed by what was verified: the file's identity only if it did not change while read. */
    el_sign_sha256(el_artifact_bytes(ca->art), (size_t)el_artifact_size(ca->art), ca->sha);
    if (have_st && memcmp(ca->sha, sha, 32) == 0)
        ca->st = fst;
    ca->refs = 2;
    ca->in_cache = true;
    cached_art *old = NULL;
    pthread_mutex_lock(&sv->art_mu);
    cached_art *dup = art_find(sv, NULL, ca->sha); /* verified meanwhile by another launch */
    if (!dup) {
        ca->next = sv->arts;
        sv->arts = ca;
        if (++sv->n_arts > ART_CACHE_MAX) { /* drop the oldest */
            cached_art **pp = &sv->arts;
            while ((*pp)->next)
                pp = &(*pp)->next;
            old = *pp;
            *pp = NULL;
            sv->n_arts--;
        }
    }
    pthread_mutex_unlock(&sv->art_mu);
    art_release(sv, old);
    if (dup) {
        el_artifact_close(ca->art);
        free(ca);
        ca = dup;
    }
    *out = ca;
    return EL_OK;
}

/* ---- instances -------------------------------------------------------------------------------- */

static ptrdiff_t inst_output(void *arg, int fd, const unsigned char *d, size_t n)
{
    inst *in = arg;
    http_capture *c = in->cap;
    if (c && fd == 1) { /* only the capsule's own thread writes it, and op_http reads it after */
        if (c->len + n > HTTP_OUT_MAX || !EL__GROW(c->out, c->cap, c->len + n, 16384, HTTP_OUT_MAX)) {
            c->overflow = true;
            return (ptrdiff_t)n;
        }
        memcpy(c->out + c->len, d, n);
        c->len += n;
        return (ptrdiff_t)n;
    }
    pthread_mutex_lock(&in->log_mu);
    for (size_t i = 0; i < n; i++) {
        in->log[in->log_head] = d[i];
        in->log_head = (in->log_head + 1) % in->log_cap;
    }
    in->log_len = in->log_len + n > in->log_cap ? in->log_cap : in->log_len + n;
    in->log_total += n;
    pthread_mutex_unlock(&in->log_mu);
    return (ptrdiff_t)n;
}

/* Around every elastos.call: throttle a flood, then hold the runtime. */
static void inst_gate(void *arg, bool enter)
{
    inst *in = arg;
    serve *sv = in->sv;
    if (!enter) {
        pthread_mutex_unlock(&sv->rt_mu);
        return;
    }
    int64_t t = mono_ms();
    unsigned per_window = sv->o.calls_per_sec / 10 ? sv->o.calls_per_sec / 10 : 1; /* 100 ms windows */
    if (t - in->win_start_ms >= 100) {
        in->win_start_ms = t;
        in->win_calls = 0;
    }
    if (++in->win_calls > per_window) {
        int64_t wait = in->win_start_ms + 100 - t;
        if (wait > 0) {
            struct timespec ts = {0, (long)wait * 1000000L};
            nanosleep(&ts, NULL);
        }
        in->win_start_ms = mono_ms();
        in->win_calls = 1;
        in->throttled++;
        if (!in->throttle_audited) {
            in->throttle_audited = true;
            char why[128];
            snprintf(why, sizeof why, "more than %u requests per second: throttled", sv->o.calls_per_sec);
            pthread_mutex_lock(&sv->rt_mu);
            audit_inst(sv, in, EL_AUDIT_THROTTLE, why);
            pthread_mutex_unlock(&sv->rt_mu);
        }
    }
    pthread_mutex_lock(&sv->rt_mu);
}

static void outbox_release(outbox *o) /* mu held */
{
    if (o && --o->refs == 0)
        free(o);
}

/* Takes m off its charges: recipient in, its sender, the daemon (mu held). Keeps m->m. */
static void message_uncharge(inst *in, message *m)
{
    in->mb_bytes -= m->cost;
    in->sv->mb_bytes -= m->cost;
    m->sender->bytes -= m->cost;
    outbox_release(m->sender);
}

static void mailbox_free(inst *in) /* mu held, or the daemon is gone */
{
    while (in->mb_head) {
        message *m = in->mb_head;
        in->mb_head = m->next;
        message_uncharge(in, m);
        json_decref(m->m);
        free(m);
    }
    in->mb_tail = NULL;
    in->mb_n = 0;
}

static void inst_free(inst *in)
{
    el_launch_free(in->l);
    for (size_t i = 0; in->args && i < in->n_args; i++)
        free(in->args[i]);
    free(in->args);
    for (size_t i = 0; in->grants && i < in->n_grants; i++)
        free(in->grants[i]);
    free(in->grants);
    for (size_t i = 0; in->env && i < 2 * in->n_env; i++)
        free(in->env[i]);
    free(in->env);
    mailbox_free(in);
    outbox_release(in->out);
    pthread_mutex_destroy(&in->log_mu);
    free(in->log);
    free(in);
}

/* Drops the oldest exited instances beyond keep_exited (mu held). */
static void prune_exited(serve *sv)
{
    while (sv->exited > sv->o.keep_exited) {
        inst **pp = &sv->insts, **last = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->state == ST_EXITED)
                last = pp;
        if (!last)
            return;
        inst *old = *last;
        *last = old->next;
        sv->exited--;
        inst_free(old);
    }
}


/* Runs a prepared instance to its end on this thread (el_launch_run audits a kill), then frees
 * its launch and records how it ended. */
static void run_inst(inst *in)
{
    serve *sv = in->sv;
    el_launch_result res;
    el_error err = {0};
    el_status st = el_launch_run(in->l, &res, &err);
    int code = st == EL_OK ? res.exit_code : (int)st;
    el__console_exited(sv, code, res.killed, in->stop, st == EL_OK ? NULL : err.msg);

    pthread_mutex_lock(&sv->rt_mu);
    el_launch_free(in->l); /* session, slot */
    in->l = NULL;
    art_release(sv, in->ca);
    in->ca = NULL;
    pthread_mutex_lock(&sv->mu);
    in->state = ST_EXITED;
    in->exit_code = code;
    if (in->cap)
        in->cap->exit_code = code;
    in->ended_ms = el__clock_ms(CLOCK_REALTIME);
    snprintf(in->reason, sizeof in->reason, "%s", st == EL_OK ? "" : err.msg);
    mailbox_free(in);
    if (in->kept)
        el__kept_ended(in, st);
    sv->running--;
    sv->exited++;
    prune_exited(sv);
    pthread_cond_broadcast(&sv->cv);
    pthread_mutex_unlock(&sv->mu);
    pthread_mutex_unlock(&sv->rt_mu);
}

#define IDLE_WORKERS_MAX 32
#define IDLE_WORKER_SECS 10

/* A capsule thread: runs its instance, then waits up to IDLE_WORKER_SECS for another. Reuse
 * spares a launch the thread creation and Wasmtime's per-thread set-up. */
static void *worker_main(void *arg)
{
    inst *in = arg;
    serve *sv = in->sv;
    while (in) {
        run_inst(in);
        in = NULL;
        pthread_mutex_lock(&sv->mu);
        if (!sv->stopping && sv->idle_workers < IDLE_WORKERS_MAX) {
            sv->idle_workers++;
            struct timespec until = el__mono_deadline(IDLE_WORKER_SECS * 1000);
            int rc = 0;
            while (!sv->work_q && !sv->stopping && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&sv->work_cv, &sv->mu, &until);
            if (sv->work_q) { /* the launcher counted this worker busy when it queued the work */
                in = sv->work_q;
                sv->work_q = in->qnext;
            } else {
                sv->idle_workers--;
            }
        }
        if (!in) {
            sv->workers--;
            pthread_cond_broadcast(&sv->cv);
        }
        pthread_mutex_unlock(&sv->mu);
    }
    return NULL;
}

/* Hands in to an idle capsule thread, or starts one (mu held). */
static int start_inst(serve *sv, inst *in)
{
    if (sv->idle_workers > 0) {
        sv->idle_workers--;
        in->qnext = NULL;
        inst **pp = &sv->work_q;
        while (*pp)
            pp = &(*pp)->qnext;
        *pp = in;
        pthread_cond_signal(&sv->work_cv);
        return 0;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &at, worker_main, in);
    pthread_attr_destroy(&at);
    if (rc == 0)
        sv->workers++;
    return rc;
}

static inst *find_inst(serve *sv, const char *id) /* mu held */
{
    for (inst *in = sv->insts; in; in = in->next)
        if (!strcmp(in->id, id))
            return in;
    return NULL;
}

/* ---- messages between capsules (the broker's router) -------------------------------------------- */

/* The sender's outbox, made on its first send with the sender's own reference (mu held). */
static outbox *outbox_of(inst *in)
{
    if (!in->out && (in->out = calloc(1, sizeof *in->out)))
        in->out->refs = 1;
    return in->out;
}

/* Why a message of cost bytes from sender to dest cannot be queued, or EL_OK (mu held). */
static el_status mailbox_room(serve *sv, inst *sender, inst *dest, size_t cost, el_error *err)
{
    size_t queued = sender && sender->out ? sender->out->bytes : 0;
    if (dest->mb_n >= MAILBOX_MAX)
        return el_error_set(err, EL_ERR_LIMIT, "the mailbox of %s is full (%d messages)", dest->addr, MAILBOX_MAX);
    if (queued + cost > OUTBOX_BYTES_MAX)
        return el_error_set(err, EL_ERR_LIMIT, "this capsule's undelivered messages would exceed %zu KiB (%zu KiB queued): "
                            "wait until they are received", OUTBOX_BYTES_MAX >> 10, queued >> 10);
    if (dest->mb_bytes + cost > MAILBOX_BYTES_MAX)
        return el_error_set(err, EL_ERR_LIMIT, "the mailbox of %s is full (%zu KiB of %zu KiB)", dest->addr,
                            dest->mb_bytes >> 10, MAILBOX_BYTES_MAX >> 10);
    if (sv->mb_bytes + cost > MAILBOXES_BYTES_MAX)
        return el_error_set(err, EL_ERR_LIMIT, "the daemon holds %zu MiB of undelivered messages, its bound",
                            MAILBOXES_BYTES_MAX >> 20);
    return EL_OK;
}

/* Queues a message for the oldest running instance at address to (name and publisher id),
 * charged to its sender (the instance from_id, at address from). */
static el_status route_send(void *arg, const char *from, const char *from_id, const char *to, const char *payload,
                            const char *reply_to, el_error *err)
{
    serve *sv = arg;
    size_t cost = strlen(payload) + (reply_to ? strlen(reply_to) : 0) + MESSAGE_OVERHEAD;
    pthread_mutex_lock(&sv->mu);
    inst *dest = NULL, *sender = find_inst(sv, from_id);
    for (inst *in = sv->insts; in; in = in->next) /* newest first: the last match is the oldest */
        if (in->state == ST_RUNNING && !strcmp(in->addr, to) && in != sender)
            dest = in;
    el_status st = EL_OK;
    message *m = NULL;
    if (!dest)
        st = el_error_set(err, EL_ERR_NOTFOUND, "no capsule %s is running", to);
    else if (!sender)
        st = el_error_set(err, EL_ERR_INTERNAL, "the sending instance is not known to the daemon");
    else if ((st = mailbox_room(sv, sender, dest, cost, err)) != EL_OK)
        ;
    else if (!outbox_of(sender) || !(m = calloc(1, sizeof *m)))
        st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if (st == EL_OK) {
        char id[32];
        snprintf(id, sizeof id, "m%llu", (unsigned long long)++sv->msg_seq);
        m->m = json_pack("{s:s, s:s, s:s, s:I}", "id", id, "from", from, "payload", payload, "timestamp",
                         (json_int_t)(el__clock_ms(CLOCK_REALTIME) / 1000));
        if (m->m && reply_to)
            json_object_set_new(m->m, "reply_to", json_string(reply_to));
        if (!m->m) {
            free(m);
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        } else {
            m->cost = cost;
            m->sender = sender->out;
            m->sender->refs++;
            m->sender->bytes += cost;
            dest->mb_bytes += cost;
            sv->mb_bytes += cost;
            if (dest->mb_tail)
                dest->mb_tail->next = m;
            else
                dest->mb_head = m;
            dest->mb_tail = m;
            dest->mb_n++;
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return st;
}

static json_t *route_receive(void *arg, const char *capsule_id, size_t max)
{
    serve *sv = arg;
    json_t *a = json_array();
    pthread_mutex_lock(&sv->mu);
    inst *in = find_inst(sv, capsule_id);
    while (in && in->mb_head && json_array_size(a) < max) {
        message *m = in->mb_head;
        in->mb_head = m->next;
        if (!in->mb_head)
            in->mb_tail = NULL;
        in->mb_n--;
        message_uncharge(in, m);
        json_array_append_new(a, m->m);
        free(m);
    }
    pthread_mutex_unlock(&sv->mu);
    return a;
}

/* ---- API operations --------------------------------------------------------------------------- */

static void run_inst(inst *in);

/* A request blocked on the network lets other capsules' requests through (rt_mu is the gate's). */
static void unblock(void *arg, bool begin)
{
    serve *sv = arg;
    if (begin)
        pthread_mutex_unlock(&sv->rt_mu);
    else
        pthread_mutex_lock(&sv->rt_mu);
}

static el_status orch_launch(void *arg, const json_t *config, char *id, el_error *err);
static el_status orch_stop(void *arg, const char *capsule_id, el_error *err);
static json_t *orch_list(void *arg);


static char **strings(json_t *a, size_t *n)
{
    *n = json_array_size(a);
    char **v = calloc(*n + 1, sizeof *v);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (v) v[i] = strdup(json_string_value(e));
    return v;
}

/* The LaunchConfig limits object as limits to narrow to (el__limits_narrow; 0: keep); anything
 * but memory_mb, cpu_ms, wall_ms of positive integers is refused. */
static el_status config_limits(json_t *l, el_limits *want, el_error *err)
{
    *want = (el_limits){0};
    const char *k;
    json_t *v;
    json_object_foreach(l, k, v)
    {
        json_int_t x = json_integer_value(v);
        bool mem = !strcmp(k, "memory_mb"), cpu = !strcmp(k, "cpu_ms"), wall = !strcmp(k, "wall_ms");
        if (!json_is_integer(v) || x < 1 || !(mem || cpu || wall) || (mem && x > UINT32_MAX))
            return el_error_set(err, EL_ERR_USAGE, "config.limits.%.32s: not a limit, or not a positive integer", k);
        if (mem)
            want->memory_mb = (uint32_t)x;
        else if (cpu)
            want->cpu_ms = (uint64_t)x;
        else
            want->wall_ms = (uint64_t)x;
    }
    return EL_OK;
}

/* lim narrowed by the LaunchConfig limits object l (NULL: unchanged). */
static el_status narrow(el_limits *lim, json_t *l, el_error *err)
{
    el_limits want;
    el_status st = config_limits(l, &want, err);
    return st == EL_OK ? el__limits_narrow(lim, &want, "config.limits", err) : st;
}

el_status el__serve_launch_config_check(const json_t *config, const el_limits *manifest, el_limits *narrowed,
                                       el_error *err)
{
    if (!json_is_object(config))
        return el_error_set(err, EL_ERR_USAGE, "config must be an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)config, k, v)
    {
        if (strcmp(k, "cid") && strcmp(k, "name") && strcmp(k, "args") && strcmp(k, "env") && strcmp(k, "limits"))
            return el_error_set(err, EL_ERR_USAGE, "config: unknown field %.32s", k);
    }
    json_t *cid = json_object_get(config, "cid"), *name = json_object_get(config, "name");
    json_t *args = json_object_get(config, "args"), *env = json_object_get(config, "env");
    json_t *limits = json_object_get(config, "limits");
    if ((!cid && !name) || (cid && (!json_is_string(cid) || json_string_length(cid) >= EL_CID_MAX)) ||
        (name && (!json_is_string(name) || json_string_length(name) > 200)))
        return el_error_set(err, EL_ERR_USAGE, "config needs a cid or a name (NAME[@RANGE]), as strings");
    if (args && (!json_is_array(args) || json_array_size(args) > 4096))
        return el_error_set(err, EL_ERR_USAGE, "config.args must be an array of at most 4096 strings");
    size_t i;
    json_t *e;
    json_array_foreach(args, i, e) if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) return
        el_error_set(err, EL_ERR_USAGE, "config.args must hold strings without NUL");
    if (env && (!json_is_object(env) || json_object_size(env) > 256))
        return el_error_set(err, EL_ERR_USAGE, "config.env must be an object of at most 256 strings");
    json_object_foreach(env, k, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) || !*k ||
            !strncmp(k, "ELASTOS_", 8) || strchr(k, '='))
            return el_error_set(err, EL_ERR_USAGE, "config.env.%.32s: a name (not ELASTOS_*, no '=') and a string value", k);
    }
    if (limits && !json_is_object(limits))
        return el_error_set(err, EL_ERR_USAGE, "config.limits must be an object");
    el_limits wide = {.memory_mb = UINT32_MAX, .cpu_ms = UINT64_MAX, .wall_ms = UINT64_MAX};
    el_limits lim = manifest ? *manifest : wide;
    el_status st = narrow(&lim, limits, err);
    if (st == EL_OK && narrowed)
        *narrowed = lim;
    return st;
}

/* Is ca the shell capsule this runtime consults? Looked up again when $ELASTOS_HOME/config/shell
 * changes, and at least once a second (a replaced artifact file). rt_mu held. */
static bool is_shell(serve *sv, const cached_art *ca)
{
    char conf[PATH_MAX];
    struct stat cst;
    snprintf(conf, sizeof conf, "%s/config/shell", el_runtime_home(sv->rt));
    bool have_conf = stat(conf, &cst) == 0;
    if (have_conf != sv->shell_conf_present || (have_conf && !el__fs_same_file(&cst, &sv->shell_conf_st)) ||
        mono_ms() - sv->shell_checked_ms >= 1000) {
        sv->shell_conf_present = have_conf;
        if (have_conf)
            sv->shell_conf_st = cst;
        char shell[PATH_MAX];
        el_error ignored;
        cached_art *sa = NULL;
        sv->shell_cid[0] = 0;
        if (el_shell_locate(sv->rt, shell, &ignored) == EL_OK && art_get(sv, shell, &sa, &ignored) == EL_OK)
            snprintf(sv->shell_cid, sizeof sv->shell_cid, "%s", sa->cid);
        art_release(sv, sa);
        sv->shell_checked_ms = mono_ms();
    }
    return sv->shell_cid[0] && !strcmp(sv->shell_cid, ca->cid);
}

/* The runtime, for the launch layer's own use of it from a capsule thread (kill audit). */
static void inst_hold(void *arg, bool hold)
{
    inst *in = arg;
    if (hold)
        pthread_mutex_lock(&in->sv->rt_mu);
    else
        pthread_mutex_unlock(&in->sv->rt_mu);
}


/* Prepares an instance through the launch layer (el_launch_prepare: type, dependencies, slot,
 * session, grants, storage) with this daemon's hooks, registers it, then starts it on a capsule
 * thread, or (here) leaves it for the caller to run_inst. rt_mu held. */
static el_status launch_locked(serve *sv, const launch_spec *ls, bool here, inst **out, el_error *err)
{
    *out = NULL;
    inst *in = calloc(1, sizeof *in);
    if (!in) {
        art_release(sv, ls->ca);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    in->sv = sv;
    in->ca = ls->ca;
    in->cap = ls->cap;
    pthread_mutex_init(&in->log_mu, NULL);
    in->log_cap = sv->o.log_cap;
    in->log = malloc(in->log_cap);
    in->args = strings(ls->args, &in->n_args);
    in->grants = strings(ls->grants, &in->n_grants);
    el_status st = in->log && in->args && in->grants ? EL_OK : el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if (st == EL_OK && ls->env) {
        in->n_env = json_object_size(ls->env);
        in->env = calloc(2 * in->n_env + 1, sizeof *in->env);
        const char *k;
        json_t *v;
        size_t i = 0;
        json_object_foreach(ls->env, k, v) /* checked by el__serve_launch_config_check */
        {
            if (in->env) {
                in->env[i] = strdup(k);
                in->env[in->n_env + i++] = strdup(json_string_value(v));
            }
        }
    }
    const el_manifest *m = el_artifact_manifest(in->ca->art);
    in->limits = m->limits;
    if (st == EL_OK)
        st = narrow(&in->limits, ls->limits, err);
    if (st == EL_OK) {
        snprintf(in->name, sizeof in->name, "%s", m->name);
        el_sign_capsule_address(m->name, el_artifact_publisher(in->ca->art), in->addr);
        snprintf(in->cid, sizeof in->cid, "%s", in->ca->cid);
        /* The shell capsule, running here, orchestrates: it may launch, stop and list capsules. */
        in->router = (el_msg_router){.send = route_send, .receive = route_receive, .arg = sv,
                                     .orchestrator = is_shell(sv, in->ca), .launch = orch_launch, .stop = orch_stop,
                                     .list = orch_list, .blocking = unblock};
        in->spec = (el_launch_spec){.artifact = in->ca->art, .artifact_cid = in->ca->cid,
                                    .args = (const char *const *)in->args, .n_args = in->n_args,
                                    .grants = (const char *const *)in->grants, .n_grants = in->n_grants,
                                    .env_names = (const char *const *)in->env,
                                    .env_values = in->env ? (const char *const *)in->env + in->n_env : NULL,
                                    .n_env = in->env ? in->n_env : 0, .limits = ls->limits ? &in->limits : NULL,
                                    .stdio = EL_STDIO_CUSTOM, .output = inst_output, .output_arg = in,
                                    .input = ls->input, .input_len = ls->input_len,
                                    .gate = inst_gate, .gate_arg = in, .lock = inst_hold, .stop = &in->stop,
                                    .router = &in->router};
        st = el_launch_prepare(sv->rt, &in->spec, &in->l, err);
    }
    if (st == EL_OK && ls->kept) { /* a kept provider takes its calls from its record */
        in->kept = ls->kept;
        el__session_serve_host(el__launch_session(in->l),
                               &(el__provider_host){.next = el__kept_next, .answer = el__kept_answer, .arg = in});
    } else if (st == EL_OK) { /* its calls to bound schemes go to kept providers */
        el__session_set_forward(el__launch_session(in->l), el__kept_forward, sv);
    }
    if (st == EL_OK) {
        snprintf(in->id, sizeof in->id, "%s", el_launch_capsule_id(in->l));
        pthread_mutex_lock(&sv->mu);
        if (sv->stopping)
            st = el_error_set(err, EL_ERR_CONFIG, "the daemon is shutting down");
        else if (sv->running >= sv->o.max_running)
            st = el_error_set(err, EL_ERR_LIMIT, "the daemon already runs %u capsules", sv->running);
        if (st == EL_OK) {
            in->state = ST_RUNNING;
            in->started_ms = el__clock_ms(CLOCK_REALTIME);
            int rc = here ? 0 : start_inst(sv, in);
            if (rc != 0)
                st = el_error_set(err, EL_ERR_LIMIT, "cannot start a thread for the capsule: %s", strerror(rc));
            if (st == EL_OK) {
                in->next = sv->insts;
                sv->insts = in;
                sv->running++;
                if (in->kept)
                    el__kept_attach(in);
            }
        }
        pthread_mutex_unlock(&sv->mu);
    }
    if (st != EL_OK) {
        el_launch_free(in->l);
        in->l = NULL;
        art_release(sv, in->ca);
        inst_free(in);
        return st;
    }
    el__console_launched(sv);
    *out = in;
    return EL_OK;
}

/* The runtime, released while the launch layer fetches a CID (sv: rt_mu held around it). */
static void sv_hold(void *arg, bool hold)
{
    unblock(arg, !hold);
}

/* The file a "cid" or "name" (NAME[@RANGE]) names, a missing CID fetched from the configured
 * sources with the runtime released meanwhile. rt_mu held. */
static el_status resolve_locked(serve *sv, const char *cid, const char *name, char *path, el_error *err)
{
    return el_launch_resolve(sv->rt, cid ? cid : name, EL_LAUNCH_NO_FILE | EL_LAUNCH_FETCH, sv_hold, sv, path, err);
}

/* The API's run; with here, runs the capsule on the calling thread (run with "wait"). */
static json_t *op_run(serve *sv, json_t *req, bool here)
{
    launch_spec ls = {.path = json_string_value(json_object_get(req, "path")),
                      .args = json_object_get(req, "args"),
                      .grants = json_object_get(req, "grants")};
    const char *cid = json_string_value(json_object_get(req, "cid")),
               *name = json_string_value(json_object_get(req, "name"));
    if (!!ls.path + !!cid + !!name != 1)
        return sv_fail(EL_ERR_USAGE, "run needs one of \"path\" (absolute), \"cid\" or \"name\"");
    if (ls.path && *ls.path != '/')
        return sv_fail(EL_ERR_USAGE, "run needs an absolute \"path\"");
    el_error err = {0};
    inst *in;
    char path[PATH_MAX];
    el_status st = EL_OK;
    if (!ls.path) {
        pthread_mutex_lock(&sv->rt_mu);
        st = resolve_locked(sv, cid, name, path, &err);
        pthread_mutex_unlock(&sv->rt_mu);
        ls.path = path;
    }
    if (st == EL_OK)
        st = art_get(sv, ls.path, &ls.ca, &err); /* verified before taking the runtime */
    if (st != EL_OK)
        return sv_fail(st, err.msg);
    pthread_mutex_lock(&sv->rt_mu);
    st = launch_locked(sv, &ls, here, &in, &err);
    json_t *r = st == EL_OK ? json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "id", in->id, "name", in->name, "cid", in->cid)
                            : sv_fail(st, err.msg);
    pthread_mutex_unlock(&sv->rt_mu); /* a capsule thread may have finished: in is not touched after this */
    if (st == EL_OK && here)
        run_inst(in);
    return r;
}

/* ---- the orchestrator's launch_capsule, stop_capsule, list_capsules (rt_mu held: inside a call) */

static el_status orch_launch(void *arg, const json_t *config, char *id, el_error *err)
{
    serve *sv = arg;
    el_status st = el__serve_launch_config_check(config, NULL, NULL, err);
    if (st != EL_OK)
        return st;
    const char *cid = json_string_value(json_object_get(config, "cid"));
    const char *name = json_string_value(json_object_get(config, "name"));
    json_t *args = json_object_get(config, "args"), *env = json_object_get(config, "env"),
           *limits = json_object_get(config, "limits");
    char path[PATH_MAX];
    if ((st = resolve_locked(sv, cid, name, path, err)) != EL_OK)
        return st;
    launch_spec ls = {.path = path, .args = args, .env = env, .limits = limits};
    unblock(sv, true); /* verifying may take a while: other capsules' requests go on */
    st = art_get(sv, path, &ls.ca, err);
    unblock(sv, false);
    if (st != EL_OK)
        return st;
    inst *in;
    st = launch_locked(sv, &ls, false, &in, err);
    if (st == EL_OK)
        snprintf(id, 33, "%s", in->id);
    return st;
}

static el_status orch_stop(void *arg, const char *capsule_id, el_error *err)
{
    serve *sv = arg;
    pthread_mutex_lock(&sv->mu);
    inst *in = find_inst(sv, capsule_id);
    if (in)
        in->stop = 1; /* it stops within a tick; not waited for here (the shell's call holds rt_mu) */
    pthread_mutex_unlock(&sv->mu);
    return in ? EL_OK : el_error_set(err, EL_ERR_NOTFOUND, "no capsule instance %.40s", capsule_id);
}

static json_t *inst_json(inst *in);

static json_t *orch_list(void *arg)
{
    serve *sv = arg;
    json_t *a = json_array();
    pthread_mutex_lock(&sv->mu);
    for (inst *in = sv->insts; in; in = in->next)
        json_array_append_new(a, inst_json(in));
    pthread_mutex_unlock(&sv->mu);
    return a;
}

static json_t *inst_json(inst *in) /* mu held */
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", in->id, "name", in->name, "address", in->addr,
                          "cid", in->cid, "state",
                          in->state == ST_RUNNING ? "running" : "exited", "started_ms", (json_int_t)in->started_ms,
                          "throttled", (json_int_t)in->throttled);
    if (in->state == ST_EXITED) {
        json_object_set_new(o, "exit_code", json_integer(in->exit_code));
        json_object_set_new(o, "reason", json_string(in->reason));
        json_object_set_new(o, "ended_ms", json_integer(in->ended_ms));
    }
    return o;
}

static json_t *op_ps(serve *sv)
{
    json_t *a = json_array();
    pthread_mutex_lock(&sv->mu);
    for (inst *in = sv->insts; in; in = in->next)
        json_array_append_new(a, inst_json(in));
    json_t *r = json_pack("{s:b, s:o, s:i}", "ok", 1, "instances", a, "running", (int)sv->running);
    pthread_mutex_unlock(&sv->mu);
    return r;
}

static json_t *op_wait(serve *sv, const char *id, bool reap);

/* Forgets an exited instance (mu held). */
static void forget_inst(serve *sv, inst *in)
{
    for (inst **pp = &sv->insts; *pp; pp = &(*pp)->next)
        if (*pp == in) {
            *pp = in->next;
            break;
        }
    sv->exited--;
    inst_free(in);
}

/* How long stop waits for its capsule, and shutdown for all of them. A capsule sees its stop flag
 * within an epoch tick in its code and within a poll slice in a blocking WASI call (wasm.c), so
 * this is only reached by one stuck in something else. */
#define STOP_GRACE_MS 5000

/* Waits (mu held) until no capsule runs or, with id, until that one exited or was forgotten;
 * false when the grace period ended first. */
static bool wait_stopped(serve *sv, const char *id)
{
    struct timespec until = el__mono_deadline(STOP_GRACE_MS);
    for (;;) {
        inst *in = id ? find_inst(sv, id) : NULL;
        if (id ? !in || in->state != ST_RUNNING : sv->running == 0)
            return true;
        if (pthread_cond_timedwait(&sv->cv, &sv->mu, &until) == ETIMEDOUT)
            return false;
    }
}

static json_t *op_stop(serve *sv, const char *id)
{
    pthread_mutex_lock(&sv->mu);
    inst *in = id ? find_inst(sv, id) : NULL;
    if (in)
        in->stop = 1;
    bool stopped = !in || wait_stopped(sv, id);
    pthread_mutex_unlock(&sv->mu);
    if (!in)
        return sv_fail(EL_ERR_NOTFOUND, "no such instance (elastos ps lists them)");
    if (!stopped)
        return sv_fail(EL_ERR_LIMIT, "the instance did not stop within the grace period (it is still marked to stop)");
    return op_wait(sv, id, false);
}

/* Waits for id to exit; with reap, forgets it afterwards. */
static json_t *op_wait(serve *sv, const char *id, bool reap)
{
    pthread_mutex_lock(&sv->mu);
    inst *in = id ? find_inst(sv, id) : NULL;
    json_t *r;
    if (!in)
        r = sv_fail(EL_ERR_NOTFOUND, "no such instance (elastos ps lists them)");
    else {
        /* re-found after every wake-up: it may have been pruned or reaped meanwhile */
        while ((in = find_inst(sv, id)) && in->state == ST_RUNNING)
            pthread_cond_wait(&sv->cv, &sv->mu);
        if (!in)
            r = sv_fail(EL_ERR_NOTFOUND, "the instance exited and was forgotten");
        else {
            r = json_pack("{s:b, s:o}", "ok", 1, "instance", inst_json(in));
            if (reap)
                forget_inst(sv, in);
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return r;
}

static json_t *op_logs(serve *sv, const char *id)
{
    pthread_mutex_lock(&sv->mu);
    inst *in = id ? find_inst(sv, id) : NULL;
    json_t *r;
    if (!in)
        r = sv_fail(EL_ERR_NOTFOUND, "no such instance (elastos ps lists them)");
    else {
        pthread_mutex_lock(&in->log_mu);
        unsigned char *buf = malloc(in->log_len ? in->log_len : 1);
        size_t start = (in->log_head + in->log_cap - in->log_len) % in->log_cap;
        for (size_t i = 0; buf && i < in->log_len; i++)
            buf[i] = in->log[(start + i) % in->log_cap];
        char *b64 = buf ? el_protocol_base64_encode(buf, in->log_len) : NULL;
        r = b64 ? json_pack("{s:b, s:s, s:I, s:I}", "ok", 1, "data", b64, "total", (json_int_t)in->log_total,
                            "dropped", (json_int_t)(in->log_total - in->log_len))
                : sv_fail(EL_ERR_INTERNAL, "out of memory");
        pthread_mutex_unlock(&in->log_mu);
        free(buf);
        free(b64);
    }
    pthread_mutex_unlock(&sv->mu);
    return r;
}

typedef struct api_field {
    const char *name;
    int type; /* JSON_STRING, JSON_ARRAY (of strings), JSON_TRUE (a boolean) */
    bool required;
} api_field;

typedef struct api_op {
    const char *op;
    api_field f[8];
} api_op;

static const api_op OPS[] = {
    {"run", {{"path", JSON_STRING, false}, {"cid", JSON_STRING, false}, {"name", JSON_STRING, false},
             {"args", JSON_ARRAY, false}, {"grants", JSON_ARRAY, false}, {"wait", JSON_TRUE, false}}},
    {"ps", {{0}}},
    {"stop", {{"id", JSON_STRING, true}}},
    {"wait", {{"id", JSON_STRING, true}, {"reap", JSON_TRUE, false}}},
    {"logs", {{"id", JSON_STRING, true}}},
    {"ping", {{0}}},
    {"console_login", {{0}}},
    {"http", {{"method", JSON_STRING, true}, {"path", JSON_STRING, true}, {"query", JSON_STRING, false},
              {"headers", JSON_ARRAY, false}, {"body", JSON_STRING, false}, {"remote", JSON_STRING, true}}},
};

el_status el__serve_parse_request(const char *line, size_t len, json_t **out, el_error *err)
{
    *out = NULL;
    if (len > LINE_MAX_BYTES)
        return el_error_set(err, EL_ERR_USAGE, "request of %zu bytes exceeds 1 MiB", len);
    json_error_t je;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    const char *op = json_string_value(json_object_get(req, "op"));
    const api_op *spec = NULL;
    for (size_t i = 0; op && i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].op, op))
            spec = &OPS[i];
    el_status st = EL_OK;
    if (!json_is_object(req))
        st = el_error_set(err, EL_ERR_USAGE, "a request is one JSON object per line");
    else if (!spec)
        st = el_error_set(err, EL_ERR_USAGE, "\"op\" must be one of run, ps, stop, wait, logs, ping, console_login, http");
    const char *key;
    json_t *v;
    if (st == EL_OK)
        json_object_foreach(req, key, v)
        {
            if (!strcmp(key, "op"))
                continue;
            const api_field *f = NULL;
            for (size_t i = 0; i < sizeof spec->f / sizeof spec->f[0] && spec->f[i].name && !f; i++)
                if (!strcmp(spec->f[i].name, key))
                    f = &spec->f[i];
            bool ok = f && (f->type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == (json_type)f->type);
            size_t i;
            json_t *e;
            if (ok && f->type == JSON_ARRAY)
                json_array_foreach(v, i, e) ok = ok && json_is_string(e);
            if (!ok) {
                st = el_error_set(err, EL_ERR_USAGE, "%s: %s \"%.64s\"", op, f ? "bad value for" : "unknown field", key);
                break;
            }
        }
    for (size_t i = 0; st == EL_OK && i < sizeof spec->f / sizeof spec->f[0] && spec->f[i].name; i++)
        if (spec->f[i].required && !json_object_get(req, spec->f[i].name))
            st = el_error_set(err, EL_ERR_USAGE, "%s needs \"%s\"", op, spec->f[i].name);
    if (st != EL_OK) {
        json_decref(req);
        return st;
    }
    *out = req;
    return EL_OK;
}

static json_t *dispatch(serve *sv, json_t *req)
{
    const char *op = json_string_value(json_object_get(req, "op"));
    const char *id = json_string_value(json_object_get(req, "id"));
    if (!op)
        return sv_fail(EL_ERR_USAGE, "a request needs \"op\"");
    if (!strcmp(op, "run") && json_is_true(json_object_get(req, "wait"))) { /* launch, run to exit, reap */
        json_t *r = op_run(sv, req, true);
        const char *nid = json_string_value(json_object_get(r, "id"));
        if (!nid)
            return r;
        json_t *w = op_wait(sv, nid, true);
        json_decref(r);
        return w;
    }
    if (!strcmp(op, "run"))
        return op_run(sv, req, false);
    if (!strcmp(op, "ps"))
        return op_ps(sv);
    if (!strcmp(op, "stop"))
        return op_stop(sv, id);
    if (!strcmp(op, "wait"))
        return op_wait(sv, id, json_is_true(json_object_get(req, "reap")));
    if (!strcmp(op, "logs"))
        return op_logs(sv, id);
    if (!strcmp(op, "http"))
        return el__front_request(sv, req);
    if (!strcmp(op, "console_login"))
        return el__console_login(sv);
    if (!strcmp(op, "ping")) {
        json_t *r = json_pack("{s:b, s:i}", "ok", 1, "pid", (int)getpid());
        if (sv->http_addr[0])
            json_object_set_new(r, "http", json_string(sv->http_addr));
        return r;
    }
    return sv_fail(EL_ERR_USAGE, "unknown op (run, ps, stop, wait, logs, ping, console_login)");
}

/* ---- connections ------------------------------------------------------------------------------ */

/* A connection may hold its thread only while it is used: one that sends nothing is closed after
 * CONN_IDLE_MS, one whose request has begun but not ended after CONN_LINE_MS (a half-sent
 * request holds no slot for ever), and when CONNS_MAX are open a new client evicts the one that
 * has waited longest for a request (never one whose request is being answered). The daemon admits
 * only its own uid (SO_PEERCRED), so a per-uid cap is this cap; what it bounds is threads. */
#define CONN_IDLE_MS 60000
#define CONN_LINE_MS 10000
#define CONN_SLICE_MS 500 /* how often a waiting connection looks whether the daemon stops */

typedef struct conn {
    struct conn *next; /* sv->conn_list (mu) */
    serve *sv;
    int fd;
    bool busy;          /* a request is being answered: never evicted (mu) */
    bool evicted;       /* shut down to make room (mu) */
    int64_t idle_since; /* mono_ms since it waits for a request (mu) */
    char *buf;          /* received bytes [0, len) of cap; the next request starts at 0 */
    size_t len, cap;
    bool eof;
    bool http_only;     /* the gateway's (docs/web.md): op http alone, which no other client may use */
} conn;

enum { RL_LINE, RL_EOF, RL_LONG, RL_SLOW, RL_IDLE };

/* Waits for the next request line of c: RL_LINE with *n its length (without the newline; the
 * last line may lack one), RL_EOF at the end of the stream (or evicted, or the daemon stops
 * while no request is under way), RL_LONG over LINE_MAX_BYTES, RL_SLOW when a begun line is not
 * complete within CONN_LINE_MS, RL_IDLE when nothing came within CONN_IDLE_MS. */
static int conn_read_line(conn *c, size_t *n)
{
    serve *sv = c->sv;
    int64_t start = mono_ms(), begun_at = start;
    size_t scanned = 0;
    for (;;) {
        char *nl = c->len ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl || (c->eof && c->len)) {
            *n = nl ? (size_t)(nl - c->buf) : c->len;
            return *n > LINE_MAX_BYTES ? RL_LONG : RL_LINE;
        }
        scanned = c->len;
        if (c->len > LINE_MAX_BYTES)
            return RL_LONG;
        if (c->eof)
            return RL_EOF;
        if (!EL__GROW(c->buf, c->cap, c->len + 1, 4096, 2 * (size_t)LINE_MAX_BYTES))
            return RL_LONG;
        int64_t now = mono_ms(), deadline = c->len ? begun_at + CONN_LINE_MS : start + CONN_IDLE_MS;
        if (now >= deadline)
            return c->len ? RL_SLOW : RL_IDLE;
        pthread_mutex_lock(&sv->mu);
        bool gone = c->evicted || (sv->stopping && !c->len);
        pthread_mutex_unlock(&sv->mu);
        if (gone)
            return RL_EOF;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline - now < CONN_SLICE_MS ? deadline - now : CONN_SLICE_MS));
        if (r < 0 && errno != EINTR)
            return RL_EOF;
        if (r <= 0)
            continue;
        ssize_t got = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            pthread_mutex_lock(&sv->mu);
            bool evicted = c->evicted;
            pthread_mutex_unlock(&sv->mu);
            if (evicted)
                return RL_EOF; /* a half-sent request of an evicted connection is not answered */
            c->eof = true;
            continue;
        }
        if (!c->len)
            begun_at = mono_ms();
        c->len += (size_t)got;
    }
}

/* Drops the line of n bytes (and its newline) from c's buffer. */
static void conn_consume(conn *c, size_t n)
{
    size_t used = n < c->len ? n + 1 : c->len;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

static void conn_set_busy(conn *c, bool busy)
{
    pthread_mutex_lock(&c->sv->mu);
    c->busy = busy;
    c->idle_since = mono_ms();
    pthread_mutex_unlock(&c->sv->mu);
}

/* Answers why the connection ends (RL_LONG, RL_SLOW), and for RL_LONG reads what is left of the
 * line (bounded in bytes and time) so that the client gets the answer rather than a reset. */
static void conn_refuse(conn *c, int why)
{
    char msg[160];
    json_t *r = why == RL_LONG ? sv_fail(EL_ERR_USAGE, "request line longer than 1 MiB")
                               : (snprintf(msg, sizeof msg, "request not complete within %d s: connection closed",
                                           CONN_LINE_MS / 1000),
                                  sv_fail(EL_ERR_USAGE, msg));
    char *out = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    bool ok = out && el__write_all(c->fd, out, strlen(out)) && el__write_all(c->fd, "\n", 1);
    free(out);
    shutdown(c->fd, SHUT_WR);
    int64_t until = mono_ms() + CONN_LINE_MS;
    char sink[65536];
    for (size_t drained = 0; ok && why == RL_LONG && drained < ((size_t)64 << 20) && mono_ms() < until;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, CONN_SLICE_MS) < 0 && errno != EINTR)
            break;
        ssize_t got = read(c->fd, sink, sizeof sink);
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
            break;
        drained += got > 0 ? (size_t)got : 0;
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    serve *sv = c->sv;
    size_t n;
    int rl;
    while ((rl = conn_read_line(c, &n)) == RL_LINE) {
        conn_set_busy(c, true);
        json_t *resp, *req = NULL;
        el_error err;
        if (el__serve_parse_request(c->buf, n, &req, &err) != EL_OK)
            resp = sv_fail(err.code, err.msg);
        else if (c->http_only != !strcmp(json_string_value(json_object_get(req, "op")), "http"))
            resp = sv_fail(EL_ERR_TRUST, c->http_only ? "the HTTP front's connections take op http only"
                                                   : "op http is the HTTP front's own");
        else
            resp = dispatch(sv, req);
        json_decref(req);
        conn_consume(c, n);
        char *out = json_dumps(resp, JSON_COMPACT);
        json_decref(resp);
        bool ok = out && el__write_all(c->fd, out, strlen(out)) && el__write_all(c->fd, "\n", 1);
        free(out);
        conn_set_busy(c, false);
        if (!ok)
            break;
    }
    if (rl == RL_LONG || rl == RL_SLOW)
        conn_refuse(c, rl);
    pthread_mutex_lock(&sv->mu);
    for (conn **pp = &sv->conn_list; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    close(c->fd); /* under mu: an eviction never shuts down a descriptor reused meanwhile */
    sv->conns--;
    pthread_cond_broadcast(&sv->cv);
    pthread_mutex_unlock(&sv->mu);
    free(c->buf);
    free(c);
    return NULL;
}

/* Room for one more connection (mu held): below CONNS_MAX, or by evicting the connection that
 * has waited longest for a request. Evicted ones end within a moment; past 2 * CONNS_MAX (all
 * of them answering, or being evicted) a client is refused. */
static bool conn_admit(serve *sv)
{
    if (sv->conns < CONNS_MAX)
        return true;
    conn *victim = NULL;
    for (conn *c = sv->conn_list; c; c = c->next)
        if (!c->busy && !c->evicted && (!victim || c->idle_since < victim->idle_since))
            victim = c;
    if (!victim || sv->conns >= 2 * CONNS_MAX)
        return false;
    victim->evicted = true;
    shutdown(victim->fd, SHUT_RDWR);
    return true;
}

static void conn_start(serve *sv, int fd, bool http_only);

static void accept_one(serve *sv, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cr = {.uid = (uid_t)-1};
    socklen_t cl = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 || cr.uid != geteuid()) {
        el__log(sv->rt, EL_LOG_ERROR, "serve: refused a connection from uid %d (only uid %d may use this daemon)",
                (int)cr.uid, (int)geteuid());
        close(fd);
        return;
    }
    conn_start(sv, fd, false);
}

/* Serves fd as a client connection on a thread of its own (closed when there is no room). */
static void conn_start(serve *sv, int fd, bool http_only)
{
    struct timeval tv = {.tv_sec = CONN_LINE_MS / 1000}; /* a client that reads no answer frees its thread */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    conn *c = calloc(1, sizeof *c);
    pthread_mutex_lock(&sv->mu);
    bool room = c && conn_admit(sv);
    if (room) {
        c->sv = sv;
        c->fd = fd;
        c->http_only = http_only;
        c->idle_since = mono_ms();
        c->next = sv->conn_list;
        sv->conn_list = c;
        sv->conns++;
    }
    pthread_mutex_unlock(&sv->mu);
    if (!room) { /* one thread per connection: a bound on both */
        static const char msg[] = "{\"ok\":false,\"code\":137,\"error\":\"too many connections to the daemon, all "
                                  "of them busy\"}\n";
        (void)!write(fd, msg, sizeof msg - 1);
        close(fd);
        free(c);
        return;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    /* default stack size: a "run" with "wait" runs the capsule on this thread */
    pthread_t th;
    if (pthread_create(&th, &at, conn_main, c) != 0) {
        pthread_mutex_lock(&sv->mu);
        sv->conn_list = c->next; /* still first: only this thread adds, under mu */
        sv->conns--;
        close(fd);
        pthread_mutex_unlock(&sv->mu);
        free(c);
    }
    pthread_attr_destroy(&at);
}

static el_status listen_socket(serve *sv, int *out, int *lock_fd, el_error *err)
{
    char path[PATH_MAX], lock[PATH_MAX];
    el_status st = el_serve_socket_path(sv->rt, path, sizeof path, err);
    if (st != EL_OK)
        return st;
    snprintf(lock, sizeof lock, "%s/serve.lock", el_runtime_home(sv->rt));
    int lf = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lf < 0)
        return el_error_set(err, EL_ERR_IO, "%s: %s", lock, strerror(errno));
    if (flock(lf, LOCK_EX | LOCK_NB) != 0) {
        close(lf);
        return el_error_set(err, EL_ERR_CONFIG, "another elastos serve is running on %s (elastos ps talks to it)",
                            el_runtime_home(sv->rt));
    }
    unlink(path); /* left by a daemon that was killed: we hold the lock, so it is stale */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    /* The socket is created 0600: Linux gives a bound socket the mode of its inode (less the
     * umask), so set that first - no window, and no process-wide umask change. */
    int rc = fd < 0 || fchmod(fd, 0600) != 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 128) != 0) {
        st = el_error_set(err, EL_ERR_IO, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(lf);
        return st;
    }
    *out = fd;
    *lock_fd = lf;
    return EL_OK;
}

/* Runs in, launched to run here, on this thread to its end, then forgets it (no lock held). */
static void run_here(serve *sv, inst *in)
{
    char id[EL_CAPSULE_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", in->id);
    run_inst(in);
    pthread_mutex_lock(&sv->mu);
    if ((in = find_inst(sv, id)) && in->state == ST_EXITED)
        forget_inst(sv, in);
    pthread_mutex_unlock(&sv->mu);
}

/* What the daemon's features (serve_kept.c, serve_console.c, serve_http.c) may call of it. */
static const el__sv_ops sv_ops = {.audit = audit_inst,     .art_get = art_get,       .art_release = art_release,
                                  .find_inst = find_inst,  .unblock = unblock,       .launch = launch_locked,
                                  .resolve = resolve_locked, .run_here = run_here,   .conn_start = conn_start};

el_status el_serve(el_runtime *rt, const el_serve_options *opts, el_error *err)
{
    serve *sv = calloc(1, sizeof *sv);
    if (!sv)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    sv->rt = rt;
    sv->ops = &sv_ops;
    sv->http_fd = sv->gw_ctl = -1;
    sv->con = el__console_new();
    if (opts)
        sv->o = *opts;
    else
        sv->o.ready_fd = -1;
    if (!sv->o.max_running)
        sv->o.max_running = 1024;
    if (!sv->o.log_cap)
        sv->o.log_cap = 64 * 1024;
    if (!sv->o.calls_per_sec)
        sv->o.calls_per_sec = 20000;
    if (!sv->o.keep_exited)
        sv->o.keep_exited = 256;
    if (!sv->o.provider_calls)
        sv->o.provider_calls = PROVIDER_CALLS_DEFAULT;
    pthread_mutex_init(&sv->rt_mu, NULL);
    pthread_mutex_init(&sv->mu, NULL);
    pthread_mutex_init(&sv->art_mu, NULL);
    el__cond_init_mono(&sv->cv);
    el__cond_init_mono(&sv->work_cv);
    el__cond_init_mono(&sv->pcv);

    /* The entry point blocked these and ignores SIGPIPE (serve.h): process-wide settings are
     * the program's, not the library's. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    int lfd = -1, lock_fd = -1;
    el_status st = sfd < 0 ? el_error_set(err, EL_ERR_INTERNAL, "signalfd: %s", strerror(errno)) : EL_OK;
    if (st == EL_OK)
        st = el_wasm_prepare(rt, sv->o.max_running + 64, err);
    if (st == EL_OK)
        st = listen_socket(sv, &lfd, &lock_fd, err);
    if (st == EL_OK && sv->o.http && !sv->o.gateway)
        st = el_error_set(err, EL_ERR_USAGE, "serve: an HTTP front needs the elastos-gateway program");
    if (st == EL_OK && sv->o.http)
        st = el__http_listen(sv, sv->o.http, err);
    int64_t gw_backoff = 1000;
    if (st == EL_OK && sv->http_fd >= 0) {
        if (sv->o.http_bound)
            snprintf(sv->o.http_bound, EL_SERVE_HTTP_MAX, "%s", sv->http_addr);
        el__gw_spawn(sv, sv->o.gateway, &gw_backoff);
        if (sv->con) /* the shell, with no terminal, may ask the console (serve_console.c) */
            el__runtime_set_asker(rt, el__console_ask, sv);
    }
    if (st == EL_OK && sv->o.ready_fd >= 0) {
        (void)!write(sv->o.ready_fd, "ready\n", 6);
        close(sv->o.ready_fd);
    }
    int64_t last_flush = mono_ms();
    while (st == EL_OK) {
        struct pollfd p[3] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN},
                              {.fd = sv->gw_ctl, .events = POLLIN}};
        int n = poll(p, 3, 1000);
        if (n < 0 && errno != EINTR) {
            st = el_error_set(err, EL_ERR_INTERNAL, "poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            (void)!read(sfd, &si, sizeof si);
            if (si.ssi_signo != SIGHUP)
                break;
        }
        if (n > 0 && (p[0].revents & POLLIN))
            accept_one(sv, lfd);
        if (n > 0 && sv->gw_ctl >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
            el__gw_ctl_read(sv);
        el__gw_check(sv, sv->o.gateway, &gw_backoff);
        if (mono_ms() - last_flush >= 1000) { /* token uses are batched: write them at least every second */
            pthread_mutex_lock(&sv->rt_mu);
            el_error fe;
            (void)el_audit_flush(rt, &fe);
            el__kept_check(sv); /* unbound providers stop */
            pthread_mutex_unlock(&sv->rt_mu);
            last_flush = mono_ms();
        }
    }

    /* Shutdown: no new requests, no new launches, stop every capsule, let connections finish,
     * flush the audit. */
    el__gw_stop(sv);
    char path[PATH_MAX];
    if (lfd >= 0) {
        close(lfd);
        if (el_serve_socket_path(rt, path, sizeof path, NULL) == EL_OK)
            unlink(path);
    }
    pthread_mutex_lock(&sv->mu);
    sv->stopping = true;
    for (inst *in = sv->insts; in; in = in->next)
        in->stop = 1;
    pthread_cond_broadcast(&sv->pcv); /* kept providers waiting for a call end */
    el__console_wake(sv);              /* and shell questions waiting for the console */
    bool all_stopped = wait_stopped(sv, NULL);
    pthread_cond_broadcast(&sv->work_cv); /* idle capsule threads exit */
    while (all_stopped && sv->workers > 0)
        pthread_cond_wait(&sv->cv, &sv->mu);
    if (!all_stopped) { /* the process ends them: the lock is released, nothing they use is freed */
        unsigned stuck = sv->running;
        pthread_mutex_unlock(&sv->mu);
        if (lock_fd >= 0)
            close(lock_fd);
        return el_error_set(err, EL_ERR_LIMIT, "%u capsule%s did not stop within %d s: exiting without them", stuck,
                            stuck == 1 ? "" : "s", STOP_GRACE_MS / 1000);
    }
    struct timespec until = el__mono_deadline(2000);
    while (sv->conns > 0 && pthread_cond_timedwait(&sv->cv, &sv->mu, &until) == 0)
        ;
    int conns = sv->conns;
    pthread_mutex_unlock(&sv->mu);
    pthread_mutex_lock(&sv->rt_mu);
    el_error fe;
    if (el_audit_flush(rt, &fe) != EL_OK && st == EL_OK)
        st = el_error_set(err, fe.code, "%s", fe.msg);
    pthread_mutex_unlock(&sv->rt_mu);
    if (conns > 0) /* a client still connected: its thread uses sv, so sv is not freed */
        return st;
    while (sv->insts) {
        inst *in = sv->insts;
        sv->insts = in->next;
        inst_free(in);
    }
    while (sv->arts) {
        cached_art *ca = sv->arts;
        sv->arts = ca->next;
        el_artifact_close(ca->art);
        free(ca);
    }
    if (sfd >= 0)
        close(sfd);
    if (lock_fd >= 0)
        close(lock_fd);
    pthread_mutex_destroy(&sv->rt_mu);
    pthread_mutex_destroy(&sv->mu);
    pthread_mutex_destroy(&sv->art_mu);
    pthread_cond_destroy(&sv->cv);
    pthread_cond_destroy(&sv->work_cv);
    pthread_cond_destroy(&sv->pcv);
    el__kept_free_all(sv);
    el__runtime_set_asker(rt, NULL, NULL);
    el__console_free(sv->con);
    free(sv);
    return st;
}

/* ---- client ----------------------------------------------------------------------------------- */

el_status el_serve_connect(el_runtime *rt, int *out, el_error *err)
{
    char path[PATH_MAX];
    el_status st = el_serve_socket_path(rt, path, sizeof path, err);
    if (st != EL_OK)
        return st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return el_error_set(err, EL_ERR_NOTFOUND, "no elastos serve is running on %s (start one with elastos serve)",
                            el_runtime_home(rt));
    }
    *out = fd;
    return EL_OK;
}

el_status el_serve_call(int fd, const char *req, char **resp, el_error *err)
{
    *resp = NULL;
    size_t n = strlen(req);
    char *out = malloc(n + 1);
    if (!out)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    memcpy(out, req, n);
    out[n] = '\n';
    /* A daemon that refuses the connection answers why and closes: the write may then fail
     * (EPIPE: the caller ignores SIGPIPE), and the answer is still there to be read. */
    bool ok = el__write_all(fd, out, n + 1);
    int werr = errno;
    free(out);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (!EL__GROW(buf, cap, len + 1, 4096, (size_t)64 << 20))
            break;
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char *nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
        if (nl) {
            *nl = 0;
            *resp = buf;
            return EL_OK;
        }
    }
    free(buf);
    if (!ok)
        return el_error_set(err, EL_ERR_IO, "serve: cannot send the request: %s", strerror(werr));
    return el_error_set(err, EL_ERR_IO, "serve: the daemon closed the connection or sent a malformed response");
}
