/*
 * wasm.c - the wasm substrate (see wasm.h): engine set-up, the compiled-code cache, WASI
 * configuration with no ambient authority, limits, and running a capsule to its exit.
 */
#include "elastos/wasm.h"
#include "elastos/channel.h"
#include "elastos/protocol.h"
#include "internal.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wasi.h>
#include <wasmtime.h>

/* Everything that changes the machine code Wasmtime produces goes into the cache key. */
#define ENGINE_DESC "cranelift;opt=speed;epoch-interruption;v1"
#define CACHE_MAGIC "ELCWASM1"
#define CACHE_HDR (8 + 32 + 8)
#define CACHE_MAX_BYTES ((size_t)1 << 30)

static el_status wt_error(el_error *err, el_status code, const char *what, wasmtime_error_t *e, wasm_trap_t *t)
{
    wasm_byte_vec_t msg = {0};
    if (e)
        wasmtime_error_message(e, &msg);
    else if (t)
        wasm_trap_message(t, &msg);
    el_error_set(err, code, "%s: %.*s", what, (int)(msg.size > 400 ? 400 : msg.size), msg.data ? msg.data : "");
    /* Wasmtime messages can span lines; errors are one line. */
    for (char *p = err ? err->msg : NULL; p && *p; p++)
        if (*p == '\n')
            *p = ' ';
    wasm_byte_vec_delete(&msg);
    if (e)
        wasmtime_error_delete(e);
    if (t)
        wasm_trap_delete(t);
    return code;
}

static void engine_free(el_runtime *rt)
{
    wasm_engine_delete(rt->engine);
    rt->engine = NULL;
}

static el_status engine_slots(el_runtime *rt, unsigned slots, wasm_engine_t **out, el_error *err)
{
    if (!rt->engine) {
        wasm_config_t *cfg = wasm_config_new();
        if (!cfg)
            return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create a configuration");
        wasmtime_config_cranelift_opt_level_set(cfg, WASMTIME_OPT_LEVEL_SPEED);
        wasmtime_config_epoch_interruption_set(cfg, true);
        if (slots) {
            /* Instances, memories and tables come from pools reserved once: a launch takes a
             * slot (its memory image mapped copy-on-write) instead of mmap'ing a fresh one. The
             * memory reservation per slot is Wasmtime's default, so compiled code (and the cache
             * key) is the same as without the pool. */
            wasmtime_pooling_allocation_config_t *pc = wasmtime_pooling_allocation_config_new();
            wasmtime_pooling_allocation_config_total_core_instances_set(pc, slots);
            wasmtime_pooling_allocation_config_total_memories_set(pc, slots);
            wasmtime_pooling_allocation_config_total_tables_set(pc, slots);
            wasmtime_pooling_allocation_config_max_memory_size_set(pc, (size_t)4 << 30);
            wasmtime_pooling_allocation_config_table_elements_set(pc, 100000);
            wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pc, 64);
            wasmtime_pooling_allocation_strategy_set(cfg, pc);
            wasmtime_pooling_allocation_config_delete(pc);
            wasmtime_config_memory_init_cow_set(cfg, true);
        }
        rt->engine = wasm_engine_new_with_config(cfg);
        if (!rt->engine)
            return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create the engine");
        el__runtime_on_close(rt, EL__TEARDOWN_ENGINE, engine_free);
    }
    *out = rt->engine;
    return EL_OK;
}

static el_status engine(el_runtime *rt, wasm_engine_t **out, el_error *err) { return engine_slots(rt, 0, out, err); }

static void cache_path(el_runtime *rt, const uint8_t module_sha[32], char *out, size_t cap)
{
    uint8_t buf[256], key[32];
    size_t n = (size_t)snprintf((char *)buf, sizeof buf, "elastos-cwasm\n%s\n%s\n", WASMTIME_VERSION, ENGINE_DESC);
    memcpy(buf + n, module_sha, 32);
    el_sha256(buf, n + 32, key);
    char hex[65];
    el_hex_encode(key, 32, hex);
    snprintf(out, cap, "%s/cache/wasm/%s.cwasm", rt->home, hex);
}

/* Loads a cache entry; any problem (missing, short, bad checksum, rejected by Wasmtime) is a
 * miss, and a damaged entry is removed so it is rebuilt. */
static wasmtime_module_t *cache_load(wasm_engine_t *eng, const char *path)
{
    char *data;
    size_t len;
    el_error e;
    if (el_read_file(path, CACHE_MAX_BYTES, &data, &len, &e) != EL_OK)
        return NULL;
    wasmtime_module_t *m = NULL;
    uint64_t plen = 0;
    if (len >= CACHE_HDR && memcmp(data, CACHE_MAGIC, 8) == 0) {
        memcpy(&plen, data + 40, 8);
        uint8_t sum[32];
        if (plen == len - CACHE_HDR) {
            el_sha256(data + CACHE_HDR, plen, sum);
            if (memcmp(sum, data + 8, 32) == 0) {
                wasmtime_error_t *we = wasmtime_module_deserialize(eng, (uint8_t *)data + CACHE_HDR, plen, &m);
                if (we) {
                    wasmtime_error_delete(we);
                    m = NULL;
                }
            }
        }
    }
    free(data);
    if (!m)
        unlink(path);
    return m;
}

static void cache_store(el_runtime *rt, const char *path, wasmtime_module_t *m)
{
    wasm_byte_vec_t ser = {0};
    wasmtime_error_t *we = wasmtime_module_serialize(m, &ser);
    if (we) {
        wasmtime_error_delete(we);
        return;
    }
    size_t len = CACHE_HDR + ser.size;
    uint8_t *buf = malloc(len);
    char dir[PATH_MAX];
    el_error e;
    snprintf(dir, sizeof dir, "%s/cache/wasm", rt->home);
    if (buf && el_mkdirs(dir, 0700, &e) == EL_OK) {
        uint64_t plen = ser.size;
        memcpy(buf, CACHE_MAGIC, 8);
        el_sha256(ser.data, ser.size, buf + 8);
        memcpy(buf + 40, &plen, 8);
        memcpy(buf + CACHE_HDR, ser.data, ser.size);
        /* A failed cache write only costs the next run a compile. */
        (void)el_write_file_cache(path, buf, len, 0600, &e);
    }
    free(buf);
    wasm_byte_vec_delete(&ser);
}

static el_status load_module(el_runtime *rt, const el_artifact_file *f, wasmtime_module_t **out, bool *hit, el_error *err)
{
    wasm_engine_t *eng = NULL;
    el_status s = engine(rt, &eng, err);
    if (s != EL_OK)
        return s;
    char path[PATH_MAX];
    cache_path(rt, f->sha256, path, sizeof path);
    *out = cache_load(eng, path);
    *hit = *out != NULL;
    if (*out)
        return EL_OK;
    wasmtime_error_t *we = wasmtime_module_new(eng, f->data, f->size, out);
    if (we)
        return wt_error(err, EL_ERR_FORMAT, "invalid wasm module", we, NULL);
    cache_store(rt, path, *out);
    return EL_OK;
}

/* Deadlines: one ticker thread per engine bumps the epoch every EL_TICK_MS; each store's
 * deadline callback compares the clock with its own deadline and either lets the capsule run
 * one more tick or stops it. Per-store, so a shell consulted from inside a capsule's host call
 * (same engine) never trips the capsule's limit, nor the other way round. */
#define EL_TICK_MS 5

struct el_ticker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    wasm_engine_t *engine;
};

static void *ticker_main(void *arg)
{
    struct el_ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += EL_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT)
            wasmtime_engine_increment_epoch(t->engine);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void ticker_stop(el_runtime *rt);

static el_status ticker_start(el_runtime *rt, el_error *err)
{
    if (rt->ticker)
        return EL_OK;
    struct el_ticker *t = calloc(1, sizeof *t);
    if (!t)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    t->engine = rt->engine;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        free(t);
        return el_error_set(err, EL_ERR_INTERNAL, "cannot start the deadline thread");
    }
    rt->ticker = t;
    el__runtime_on_close(rt, EL__TEARDOWN_WORKERS, ticker_stop);
    return EL_OK;
}

static void ticker_stop(el_runtime *rt)
{
    struct el_ticker *t = rt->ticker;
    rt->ticker = NULL;
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

typedef enum { FIRED_NONE, FIRED_WALL, FIRED_CPU, FIRED_STOP, FIRED_QUOTA } fired_kind;

typedef struct deadline {
    struct timespec at;  /* wall-clock deadline (CLOCK_MONOTONIC) */
    uint64_t cpu_start;  /* this thread's CPU time at launch, ns */
    uint64_t cpu_ns;     /* the manifest's cpu_ms */
    fired_kind fired;
    const volatile int *stop; /* el_wasm_options.stop */
    /* A writable /storage mount: plain WASI writes bypass the storage provider's quota check,
     * so the directory is measured every few ticks instead (and once more at the end). */
    int quota_dir;       /* -1: none */
    uint64_t quota, used;
    unsigned ticks;
} deadline;

#define QUOTA_EVERY_TICKS 4 /* ~20 ms at the 5 ms epoch tick */

static uint64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Runs on the thread executing the capsule, so the thread CPU clock is the capsule's (plus the
 * runtime's work on its behalf in host calls). */
static wasmtime_error_t *deadline_cb(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                     wasmtime_update_deadline_kind_t *kind)
{
    (void)ctx;
    deadline *d = data;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > d->at.tv_sec || (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec)) {
        d->fired = FIRED_WALL;
        return wasmtime_error_new("wall-clock limit exceeded");
    }
    if (d->stop && *d->stop) {
        d->fired = FIRED_STOP;
        return wasmtime_error_new("stopped");
    }
    if (thread_cpu_ns() - d->cpu_start >= d->cpu_ns) {
        d->fired = FIRED_CPU;
        return wasmtime_error_new("CPU time limit exceeded");
    }
    if (d->quota_dir >= 0 && ++d->ticks % QUOTA_EVERY_TICKS == 0 && (d->used = el_storage_usage(d->quota_dir)) > d->quota) {
        d->fired = FIRED_QUOTA;
        return wasmtime_error_new("storage quota exceeded");
    }
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

static ptrdiff_t out_stdout(void *arg, const unsigned char *d, size_t n)
{
    const el_wasm_options *o = arg;
    return o->output ? o->output(o->output_arg, 1, d, n) : (ptrdiff_t)n;
}

static ptrdiff_t out_stderr(void *arg, const unsigned char *d, size_t n)
{
    const el_wasm_options *o = arg;
    return o->output ? o->output(o->output_arg, 2, d, n) : (ptrdiff_t)n;
}

static el_status wasi_setup(wasmtime_context_t *ctx, const el_manifest *m, const char *id, const el_wasm_options *o,
                            el_error *err)
{
    wasi_config_t *wc = wasi_config_new();
    if (!wc)
        return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create a WASI configuration");
    const char **argv = calloc(o->n_args + 1, sizeof *argv);
    if (!argv) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    argv[0] = m->name;
    for (size_t i = 0; i < o->n_args; i++)
        argv[i + 1] = o->args[i];
    size_t ne = 2;
    const char **names = calloc(o->n_env + 3, sizeof *names), **values = calloc(o->n_env + 3, sizeof *values);
    if (names && values) {
        names[0] = "ELASTOS_CAPSULE_NAME", values[0] = m->name;
        names[1] = "ELASTOS_CAPSULE_ID", values[1] = id;
        if (o->extra_env_name)
            names[ne] = o->extra_env_name, values[ne++] = o->extra_env_value;
        for (size_t i = 0; i < o->n_env; i++)
            names[ne] = o->env_names[i], values[ne++] = o->env_values[i];
    }
    bool ok = names && values && wasi_config_set_argv(wc, o->n_args + 1, argv) &&
              wasi_config_set_env(wc, ne, names, values);
    free(argv);
    free(names);
    free(values);
    if (!ok) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_USAGE, "capsule arguments must be valid UTF-8");
    }
    if (o->stdio == EL_STDIO_TTY) {
        ok = wasi_config_set_stdin_file(wc, "/dev/tty") && wasi_config_set_stdout_file(wc, "/dev/tty") &&
             wasi_config_set_stderr_file(wc, "/dev/tty");
    } else if (o->stdio == EL_STDIO_CUSTOM) {
        wasi_config_set_stdin_bytes(wc, &(wasm_byte_vec_t){0});
        wasi_config_set_stdout_custom(wc, out_stdout, (void *)o, NULL);
        wasi_config_set_stderr_custom(wc, out_stderr, (void *)o, NULL);
    } else if (o->stdio == EL_STDIO_NONE) {
        wasi_config_set_stdin_bytes(wc, &(wasm_byte_vec_t){0});
        wasi_config_inherit_stderr(wc);
    } else {
        wasi_config_inherit_stdin(wc);
        wasi_config_inherit_stdout(wc);
        wasi_config_inherit_stderr(wc);
    }
    if (ok && o->preopen_host)
        ok = wasi_config_preopen_dir(wc, o->preopen_host, o->preopen_guest, o->preopen_writable);
    if (!ok) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_IO, "cannot set up the capsule's stdio or directory");
    }
    wasmtime_error_t *we = wasmtime_context_set_wasi(ctx, wc); /* takes ownership of wc */
    return we ? wt_error(err, EL_ERR_INTERNAL, "wasmtime: WASI", we, NULL) : EL_OK;
}

typedef struct host_env {
    const el_channel *ch;
    el_wasm_gate_fn gate;
    void *gate_arg;
} host_env;

/* The elastos.call host function (docs/protocol.md): one request in, its response out, or kept
 * when it does not fit and fetched by call(0, 0, buf, n). */
static wasm_trap_t *host_call(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                              wasmtime_val_t *results, size_t nresults)
{
    (void)nargs;
    (void)nresults;
    wasmtime_context_t *ctx = wasmtime_caller_context(caller);
    /* the shared linker's function has no env: the run's host_env is the store's data */
    const host_env *he = env ? env : wasmtime_context_get_data(ctx);
    const el_channel *ch = he ? he->ch : NULL;
    if (!ch)
        return wasmtime_trap_new("elastos.call: no runtime channel", 32);
    wasmtime_extern_t mem;
    if (!wasmtime_caller_export_get(caller, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY)
        return wasmtime_trap_new("elastos.call: the capsule exports no memory", 43);
    uint8_t *base = wasmtime_memory_data(ctx, &mem.of.memory);
    size_t size = wasmtime_memory_data_size(ctx, &mem.of.memory);
    uint64_t rp = (uint32_t)args[0].of.i32, rl = (uint32_t)args[1].of.i32;
    uint64_t op = (uint32_t)args[2].of.i32, oc = (uint32_t)args[3].of.i32;
    if (rp + rl > size || op + oc > size)
        return wasmtime_trap_new("elastos.call: pointer outside the capsule's memory", 50);
    size_t *plen;
    char **pending = ch->kept(ch->arg, &plen);
    char *resp;
    size_t len;
    if (rp == 0 && rl == 0) {
        if (!*pending) {
            char *e = el_response_error(0, "bad_request", "no kept response to fetch", &len);
            resp = e;
        } else {
            resp = *pending;
            len = *plen;
            *pending = NULL;
        }
    } else {
        /* The request is copied out first: the capsule's memory may not alias what we write. */
        uint8_t *req = malloc(rl ? rl : 1);
        if (!req)
            return wasmtime_trap_new("elastos.call: out of memory", 27);
        memcpy(req, base + rp, rl);
        if (he->gate)
            he->gate(he->gate_arg, true);
        resp = ch->handle(ch->arg, req, rl, &len);
        if (he->gate)
            he->gate(he->gate_arg, false);
        free(req);
        free(*pending);
        *pending = NULL;
    }
    if (!resp)
        return wasmtime_trap_new("elastos.call: out of memory", 27);
    /* Host calls can grow memory? No, but re-read in case the handler ran wasm (the shell). */
    base = wasmtime_memory_data(ctx, &mem.of.memory);
    size = wasmtime_memory_data_size(ctx, &mem.of.memory);
    if (len <= oc && op + len <= size) {
        memcpy(base + op, resp, len);
        free(resp);
    } else {
        *pending = resp;
        *plen = len;
    }
    results[0].kind = WASMTIME_I32;
    results[0].of.i32 = (int32_t)len;
    return NULL;
}

static el_status define_host(wasmtime_linker_t *linker, host_env *s, el_error *err)
{
    wasm_valtype_vec_t params, results;
    wasm_valtype_t *p[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i32(), wasm_valtype_new_i32(), wasm_valtype_new_i32()};
    wasm_valtype_t *r[1] = {wasm_valtype_new_i32()};
    wasm_valtype_vec_new(&params, 4, p);
    wasm_valtype_vec_new(&results, 1, r);
    wasm_functype_t *ty = wasm_functype_new(&params, &results);
    wasmtime_error_t *we = wasmtime_linker_define_func(linker, "elastos", 7, "call", 4, ty, host_call, s, NULL);
    wasm_functype_delete(ty);
    return we ? wt_error(err, EL_ERR_INTERNAL, "wasmtime: elastos.call", we, NULL) : EL_OK;
}

/* The fast path of a long-lived host (el_wasm_prepare): one linker for all runs with a session,
 * and per module, by content hash, the compiled module and its InstancePre. */
#define PREPARED_MAX 256

typedef struct prepared {
    struct prepared *next;
    uint8_t sha[32];
    wasmtime_module_t *module;
    wasmtime_instance_pre_t *pre;
} prepared;

struct el_wasm_shared {
    pthread_mutex_t mu;
    wasmtime_linker_t *linker;
    prepared *mods;
    size_t n;
};

static void wasm_shared_free(struct el_wasm_shared *w)
{
    if (!w)
        return;
    while (w->mods) {
        prepared *p = w->mods;
        w->mods = p->next;
        wasmtime_instance_pre_delete(p->pre);
        wasmtime_module_delete(p->module);
        free(p);
    }
    wasmtime_linker_delete(w->linker);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void wshared_close(el_runtime *rt)
{
    wasm_shared_free(rt->wshared);
    rt->wshared = NULL;
}

el_status el_wasm_prepare(el_runtime *rt, unsigned slots, el_error *err)
{
    wasm_engine_t *eng;
    el_status s = engine_slots(rt, slots, &eng, err);
    if (s == EL_OK)
        s = ticker_start(rt, err);
    if (s != EL_OK || rt->wshared)
        return s;
    struct el_wasm_shared *w = calloc(1, sizeof *w);
    if (!w)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    pthread_mutex_init(&w->mu, NULL);
    w->linker = wasmtime_linker_new(eng);
    wasmtime_error_t *we = wasmtime_linker_define_wasi(w->linker);
    if (we)
        s = wt_error(err, EL_ERR_INTERNAL, "wasmtime: WASI linker", we, NULL);
    if (s == EL_OK)
        s = define_host(w->linker, NULL, err);
    if (s != EL_OK) {
        wasm_shared_free(w);
        return s;
    }
    rt->wshared = w;
    el__runtime_on_close(rt, EL__TEARDOWN_USERS, wshared_close);
    return EL_OK;
}

/* The InstancePre for f's module (compiled or loaded from the disk cache on first use). The
 * lock is held while loading, so many launches of a new module wait for one compile. */
static el_status prepared_get(el_runtime *rt, const el_artifact_file *f, const wasmtime_instance_pre_t **out, bool *hit,
                              el_error *err)
{
    struct el_wasm_shared *w = rt->wshared;
    pthread_mutex_lock(&w->mu);
    for (prepared *p = w->mods; p; p = p->next)
        if (memcmp(p->sha, f->sha256, 32) == 0) {
            *out = p->pre;
            *hit = true;
            pthread_mutex_unlock(&w->mu);
            return EL_OK;
        }
    el_status s = w->n >= PREPARED_MAX ? el_error_set(err, EL_ERR_INTERNAL, "too many distinct modules kept in memory")
                                       : EL_OK;
    prepared *p = s == EL_OK ? calloc(1, sizeof *p) : NULL;
    if (s == EL_OK && !p)
        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    if (s == EL_OK)
        s = load_module(rt, f, &p->module, hit, err);
    if (s == EL_OK) {
        wasmtime_error_t *we = wasmtime_linker_instantiate_pre(w->linker, p->module, &p->pre);
        if (we) {
            wasmtime_module_delete(p->module);
            s = wt_error(err, EL_ERR_FORMAT, "cannot start capsule", we, NULL);
        }
    }
    if (s == EL_OK) {
        memcpy(p->sha, f->sha256, 32);
        p->next = w->mods;
        w->mods = p;
        w->n++;
        *out = p->pre;
    } else {
        free(p);
    }
    pthread_mutex_unlock(&w->mu);
    return s;
}

el_status el_wasm_run(el_runtime *rt, const el_artifact *art, const el_wasm_options *opts, el_wasm_result *res,
                      el_error *err)
{
    static const el_wasm_options none;
    const el_wasm_options *o = opts ? opts : &none;
    const el_manifest *m = el_artifact_manifest(art);
    const el_limits *lim = o->limits ? o->limits : &m->limits;
    memset(res, 0, sizeof *res);
    if (m->type != EL_TYPE_WASM && m->type != EL_TYPE_AGENT)
        return el_error_set(err, EL_ERR_USAGE, "capsule %s is of type %s, not a wasm capsule", m->name,
                            el_capsule_type_name(m->type));
    const el_artifact_file *f = el_artifact_find(art, m->entry);
    if (!f)
        return el_error_set(err, EL_ERR_FORMAT, "entry %s is missing", m->entry);

    /* With el_wasm_prepare's shared linker: the module's InstancePre, kept in memory. */
    bool fast = rt->wshared && o->channel;
    const wasmtime_instance_pre_t *pre = NULL;
    wasmtime_module_t *module = NULL;
    el_status s = fast ? prepared_get(rt, f, &pre, &res->cache_hit, err) : load_module(rt, f, &module, &res->cache_hit, err);
    if (s != EL_OK)
        return s;
    if (o->capsule_id)
        snprintf(res->capsule_id, sizeof res->capsule_id, "%s", o->capsule_id);
    else
        el_random_hex(res->capsule_id, EL_CAPSULE_ID_LEN / 2);

    host_env he = {.ch = o->channel, .gate = o->gate, .gate_arg = o->gate_arg};
    wasmtime_store_t *store = wasmtime_store_new(rt->engine, fast ? &he : NULL, NULL);
    wasmtime_linker_t *linker = fast ? NULL : wasmtime_linker_new(rt->engine);
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasmtime_store_limiter(store, (int64_t)lim->memory_mb << 20, 1 << 20, 16, 16, 16);
    wasmtime_context_set_epoch_deadline(ctx, 1);
    wasmtime_error_t *we = fast ? NULL : wasmtime_linker_define_wasi(linker);
    if (we)
        s = wt_error(err, EL_ERR_INTERNAL, "wasmtime: WASI linker", we, NULL);
    if (s == EL_OK)
        s = wasi_setup(ctx, m, res->capsule_id, o, err);
    if (s == EL_OK && o->channel && !fast)
        s = define_host(linker, &he, err);

    deadline dl = {.cpu_start = thread_cpu_ns(), .cpu_ns = lim->cpu_ms * 1000000ULL, .stop = o->stop, .quota_dir = -1,
                   .quota = (uint64_t)lim->storage_mb << 20};
    if (o->preopen_host && o->preopen_writable)
        dl.quota_dir = open(o->preopen_host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    clock_gettime(CLOCK_MONOTONIC, &dl.at);
    dl.at.tv_sec += (time_t)(lim->wall_ms / 1000);
    dl.at.tv_nsec += (long)(lim->wall_ms % 1000) * 1000000L;
    if (dl.at.tv_nsec >= 1000000000L) {
        dl.at.tv_sec++;
        dl.at.tv_nsec -= 1000000000L;
    }
    wasmtime_store_epoch_deadline_callback(store, deadline_cb, &dl, NULL);
    if (s == EL_OK)
        s = ticker_start(rt, err);

    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    if (s == EL_OK) {
        we = fast ? wasmtime_instance_pre_instantiate(pre, ctx, &inst, &trap)
                  : wasmtime_linker_instantiate(linker, ctx, module, &inst, &trap);
        if (we || trap)
            s = wt_error(err, we ? EL_ERR_FORMAT : EL_ERR_TRAP, "cannot start capsule", we, trap);
    }
    if (s == EL_OK) {
        wasmtime_extern_t start;
        if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6, &start) || start.kind != WASMTIME_EXTERN_FUNC) {
            s = el_error_set(err, EL_ERR_FORMAT, "module %s exports no _start function (build it as a WASI command)", m->entry);
        } else {
            trap = NULL;
            wasmtime_trap_code_t tc = 0;
            we = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, &trap);
            int status;
            if (we && wasmtime_error_exit_status(we, &status)) {
                res->exit_code = status;
                wasmtime_error_delete(we);
            } else if (we || trap) {
                /* The C API's limiter makes memory.grow fail rather than trap, so a capsule that dies
                 * right after (malloc failed, abort) is told apart by its memory: within an eighth
                 * of the limit, the limit is why. The message carries the evidence. */
                wasmtime_extern_t mem;
                size_t mem_size = wasmtime_instance_export_get(ctx, &inst, "memory", 6, &mem) &&
                                          mem.kind == WASMTIME_EXTERN_MEMORY
                                      ? wasmtime_memory_data_size(ctx, &mem.of.memory)
                                      : 0;
                size_t limit = (size_t)lim->memory_mb << 20;
                bool mem_full = mem_size >= limit - limit / 8;
                if (dl.fired || mem_full) {
                    if (we)
                        wasmtime_error_delete(we);
                    if (trap)
                        wasm_trap_delete(trap);
                    if (dl.fired == FIRED_STOP)
                        s = el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: stopped by the operator", m->name);
                    else if (dl.fired == FIRED_QUOTA)
                        s = el_error_set(err, EL_ERR_LIMIT,
                                         "capsule %s killed: storage quota of %u MiB exceeded (%llu MiB in /storage)",
                                         m->name, lim->storage_mb, (unsigned long long)(dl.used >> 20));
                    else if (dl.fired == FIRED_WALL)
                        s = el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: wall-clock limit of %llu ms exceeded",
                                         m->name, (unsigned long long)lim->wall_ms);
                    else if (dl.fired == FIRED_CPU)
                        s = el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: CPU time limit of %llu ms exceeded",
                                         m->name, (unsigned long long)lim->cpu_ms);
                    else /* it crashed with its memory at the limit: the failed growth is why */
                        s = el_error_set(err, EL_ERR_LIMIT,
                                         "capsule %s killed: memory limit of %u MiB reached (it failed at %zu MiB)",
                                         m->name, lim->memory_mb, mem_size >> 20);
                } else if (trap && wasmtime_trap_code(trap, &tc) && tc == WASMTIME_TRAP_CODE_STACK_OVERFLOW) {
                    /* the stack is a limit too: 137 with a one-line reason, not a backtrace */
                    if (we)
                        wasmtime_error_delete(we);
                    wasm_trap_delete(trap);
                    s = el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: stack overflow (call stack exhausted)",
                                     m->name);
                } else {
                    s = wt_error(err, EL_ERR_TRAP, "capsule crashed", we, trap);
                }
            }
        }
    }
    if (s == EL_OK && dl.quota_dir >= 0 && (dl.used = el_storage_usage(dl.quota_dir)) > dl.quota)
        s = el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: storage quota of %u MiB exceeded (%llu MiB in /storage)",
                         m->name, lim->storage_mb, (unsigned long long)(dl.used >> 20));
    if (dl.quota_dir >= 0)
        close(dl.quota_dir);
    if (linker)
        wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    if (module)
        wasmtime_module_delete(module);
    return s;
}
