/*
 * serve_kept.c - provider capsules kept across calls by `elastos serve` (serve_daemon.h,
 * provider.h, docs/providers.md "In elastos serve"): the per-scheme record, its queue of
 * consumers' calls, the provider instance's next/answer, deadlines, cut calls, backoff, and
 * unbinding. A feature on top of the daemon: it reaches the daemon only through sv->ops (serve_daemon.h),
 * so serve.c uses this file and not the other way round (scripts/layers.txt: no cycles).
 */
#include "serve_daemon.h"
#include "broker_internal.h"
#include "elastos/audit.h"
#include "elastos/provider.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- provider capsules kept across calls (provider.h, docs/providers.md) ----------------------
 *
 * A bound scheme's provider runs as one ordinary instance of this daemon (ps lists it, its
 * launch and end are audited like any), started by the first call and kept: each consumer's
 * provider_call is queued on its kept record and the consumer's thread waits for the answer
 * with the runtime released, so a slow or hung provider holds up its own consumers only. The
 * instance takes calls one by one (get_provider_call waits for the next). A call has a deadline;
 * past it the consumer gets unavailable and the instance, which did not answer, is stopped. A
 * consumer that is stopped (or a daemon that stops) while its call is taken gives the call up
 * without stopping the provider: the record keeps the call as cut (its id and deadline), the
 * provider's answer to it is dropped, and the provider is stopped only if that deadline passes
 * first (el__kept_check). An
 * instance that ends with a call taken or waiting is restarted by the next waiting call after a
 * backoff that doubles per failure and is reset by an answer; one that is unbound (provider
 * remove) or rebound is stopped within a second. A consumer address has at most
 * provider_calls calls in flight, a provider at most PROVIDER_QUEUE_MAX waiting.
 *
 * Locks: records, queues and calls are guarded by mu; pcv is signalled on every change. A
 * consumer's call (pcall, on its stack) points into its request, which lives until the
 * consumer's forward returns, and that needs rt_mu: so whatever holds rt_mu may read a call it
 * found under mu, even one its consumer gave up on meanwhile. */
#define PROVIDER_BACKOFF_MS 100
#define PROVIDER_BACKOFF_MAX_MS 5000
#define PROVIDER_QUEUE_MAX 64

typedef enum { PC_QUEUED, PC_TAKEN, PC_DONE } pcall_state;

typedef struct pcall {
    struct pcall *next; /* in its record's queue */
    const el__fwd *f;
    uint64_t call_id;
    char caller[EL_ADDRESS_MAX];
    pcall_state state;
    json_t *result;   /* the answer (PC_DONE, code == NULL) */
    const char *code; /* or a failure: a protocol code and msg */
    el_status st;
    char msg[300];
} pcall;

struct kept {
    struct kept *next;
    serve *sv;
    char scheme[EL_RESOURCE_MAX + 1];
    char target[EL_RESOURCE_MAX + 1];
    char cid[EL_CID_MAX];
    json_t *grants;   /* the binding's, as a launch's grants */
    json_t *args;     /* the binding's arguments, as a launch's args */
    inst *in;         /* its running instance, NULL none */
    bool starting;    /* a consumer is starting it */
    pcall *q, *cur;   /* waiting calls (oldest first); the one the instance took (or &cut) */
    pcall cut;        /* a taken call whose consumer gave up: its answer is dropped */
    int64_t cut_deadline; /* when the instance is stopped if it has not answered cut */
    unsigned failures; /* since the last answer */
    int64_t not_before; /* no start before this (mono_ms): the backoff */
};

/* Waits on cv for at most ms (a monotonic clock). */
static void cv_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, int64_t ms)
{
    struct timespec t = el__mono_deadline(ms);
    pthread_cond_timedwait(cv, m, &t);
}

/* Ends pc with a failure (mu held). */
static void pcall_fail(pcall *pc, el_status st, const char *msg)
{
    pc->state = PC_DONE;
    pc->st = st;
    pc->code = el__status_code(st);
    snprintf(pc->msg, sizeof pc->msg, "%s", msg);
}

/* Counts a failure of k's instance: the next start waits (mu held). */
static void kept_backoff(kept *k)
{
    int64_t d = PROVIDER_BACKOFF_MS;
    for (unsigned i = 0; i < k->failures && d < PROVIDER_BACKOFF_MAX_MS; i++)
        d *= 2;
    k->failures++;
    k->not_before = mono_ms() + (d < PROVIDER_BACKOFF_MAX_MS ? d : PROVIDER_BACKOFF_MAX_MS);
}

/* Takes pc off k's queue (mu held). */
static void kept_unqueue(kept *k, pcall *pc)
{
    for (pcall **pp = &k->q; *pp; pp = &(*pp)->next)
        if (*pp == pc) {
            *pp = pc->next;
            return;
        }
}

/* Whether a kept record's grants or args (a json array of strings) are exactly g[0..n), in order. */
static bool same_list(const json_t *have, const char *const *g, size_t n)
{
    if (json_array_size(have) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_string_value(json_array_get(have, i)), g[i]))
            return false;
    return true;
}

/* The record for f's scheme, made on first use; a new CID, target, set of grants or args bound to it
 * (an upgrade, a rebind) stops the instance of the old one (mu held). NULL: out of memory. */
static kept *kept_of(serve *sv, const el__fwd *f)
{
    kept *k = sv->kepts;
    while (k && strcmp(k->scheme, f->scheme))
        k = k->next;
    if (!k) {
        if (!(k = calloc(1, sizeof *k)) || !(k->grants = json_array()) || !(k->args = json_array())) {
            if (k)
                json_decref(k->grants);
            free(k);
            return NULL;
        }
        k->sv = sv;
        snprintf(k->scheme, sizeof k->scheme, "%s", f->scheme);
        k->next = sv->kepts;
        sv->kepts = k;
    }
    if (strcmp(k->cid, f->cid) || strcmp(k->target, f->target ? f->target : "") ||
        !same_list(k->grants, f->grants, f->n_grants) || !same_list(k->args, f->args, f->n_args)) {
        if (k->in)
            k->in->stop = 1;
        snprintf(k->cid, sizeof k->cid, "%s", f->cid);
        snprintf(k->target, sizeof k->target, "%s", f->target ? f->target : "");
        json_array_clear(k->grants);
        for (size_t i = 0; i < f->n_grants; i++)
            json_array_append_new(k->grants, json_string(f->grants[i]));
        json_array_clear(k->args);
        for (size_t i = 0; i < f->n_args; i++)
            json_array_append_new(k->args, json_string(f->args[i]));
    }
    return k;
}

/* How many calls caller has waiting or taken, over every provider (mu held). */
static unsigned calls_in_flight(serve *sv, const char *caller)
{
    unsigned n = 0;
    for (kept *k = sv->kepts; k; k = k->next) {
        for (pcall *pc = k->q; pc; pc = pc->next)
            n += !strcmp(pc->caller, caller);
        n += k->cur && !strcmp(k->cur->caller, caller);
    }
    return n;
}

/* Starts k's instance: its CID resolved and verified like any launch, the binding's grants, its
 * manifest's limits (rt_mu held, released while verifying). */
static el_status kept_start(serve *sv, kept *k, el_error *err)
{
    char path[PATH_MAX], cid[EL_CID_MAX];
    pthread_mutex_lock(&sv->mu);
    snprintf(cid, sizeof cid, "%s", k->cid);
    pthread_mutex_unlock(&sv->mu);
    launch_spec ls = {.path = path, .args = k->args, .grants = k->grants, .kept = k};
    el_status st = sv->ops->resolve(sv, cid, NULL, path, err);
    if (st == EL_OK) {
        sv->ops->unblock(sv, true);
        st = sv->ops->art_get(sv, path, &ls.ca, err);
        sv->ops->unblock(sv, false);
    }
    inst *in = NULL;
    if (st == EL_OK)
        st = sv->ops->launch(sv, &ls, false, &in, err);
    if (st != EL_OK)
        return st;
    char why[EL_RESOURCE_MAX + 64];
    snprintf(why, sizeof why, "provider of %s started (kept for its calls)", k->scheme);
    sv->ops->audit(sv, in, EL_AUDIT_LAUNCH, why);
    return EL_OK;
}

/* The host's forward (el__forward_fn; rt_mu held, released while waiting): queues f on its
 * provider's record, starts the instance when none runs (after the backoff), and waits for the
 * answer until the deadline. */
el_status el__kept_forward(void *arg, const el__fwd *f, json_t **result, const char **code, el_error *err)
{
    serve *sv = arg;
    pcall pc = {.f = f, .call_id = f->call_id, .state = PC_QUEUED};
    snprintf(pc.caller, sizeof pc.caller, "%s", f->caller);
    *result = NULL;
    *code = NULL;
    pthread_mutex_lock(&sv->mu);
    kept *k = kept_of(sv, f);
    unsigned queued = 0, flying = k ? calls_in_flight(sv, f->caller) : 0, cap = sv->o.provider_calls;
    for (pcall *q = k ? k->q : NULL; q; q = q->next)
        queued++;
    el_status st = !k                            ? el_error_set(err, EL_ERR_INTERNAL, "out of memory")
                   : flying >= cap               ? el_error_set(err, EL_ERR_LIMIT,
                                                                "%u calls to providers already in flight for %s (the daemon's bound per consumer)",
                                                                flying, f->caller)
                   : queued >= PROVIDER_QUEUE_MAX ? el_error_set(err, EL_ERR_LIMIT, "the provider of %s has %u calls waiting",
                                                                f->scheme, queued)
                                                  : EL_OK;
    if (st != EL_OK) {
        pthread_mutex_unlock(&sv->mu);
        return st;
    }
    pcall **pp = &k->q;
    while (*pp)
        pp = &(*pp)->next;
    *pp = &pc;
    pthread_cond_broadcast(&sv->pcv);
    pthread_mutex_unlock(&sv->mu);

    sv->ops->unblock(sv, true);
    int64_t deadline = mono_ms() + EL__PROVIDER_CALL_MS;
    bool stop_it = false;
    char why[400] = "", stop_id[EL_CAPSULE_ID_LEN + 1] = "";
    pthread_mutex_lock(&sv->mu);
    while (pc.state != PC_DONE) {
        int64_t t = mono_ms();
        inst *me = sv->ops->find_inst(sv, f->caller_instance);
        bool late = t >= deadline;
        if (late || sv->stopping || (me && me->stop)) {
            if (pc.state == PC_QUEUED)
                kept_unqueue(k, &pc);
            if (k->cur == &pc && late) { /* taken and not answered in time: the instance is stopped */
                k->cur = NULL;
                stop_it = k->in != NULL;
                if (k->in) {
                    k->in->stop = 1;
                    snprintf(stop_id, sizeof stop_id, "%s", k->in->id);
                }
                kept_backoff(k);
            } else if (k->cur == &pc) { /* given up: the provider may finish it, within its deadline */
                k->cut = (pcall){.call_id = pc.call_id, .state = PC_TAKEN};
                k->cut_deadline = deadline;
                k->cur = &k->cut;
            }
            el_error m;
            if (late)
                el__provider_late(f->scheme, &m);
            else
                el_error_set(&m, EL__ERR_UNAVAILABLE, "the provider of %s call was cut: the caller or the daemon stops",
                             f->scheme);
            pcall_fail(&pc, EL__ERR_UNAVAILABLE, m.msg);
            snprintf(why, sizeof why, "provider of %s stopped: call %llu not answered within %d ms", f->scheme,
                     (unsigned long long)pc.call_id, EL__PROVIDER_CALL_MS);
            break;
        }
        if (!k->in && !k->starting && pc.state == PC_QUEUED && t >= k->not_before) {
            k->starting = true;
            pthread_mutex_unlock(&sv->mu);
            el_error se = {.code = EL_OK, .msg = ""};
            pthread_mutex_lock(&sv->rt_mu);
            el_status ss = kept_start(sv, k, &se);
            pthread_mutex_unlock(&sv->rt_mu);
            pthread_mutex_lock(&sv->mu);
            k->starting = false;
            if (ss != EL_OK) {
                el__log(sv->rt, EL_LOG_WARNING, "provider of %s (%s): %s", f->scheme, k->cid, se.msg);
                kept_backoff(k);
                if (pc.state == PC_QUEUED) {
                    kept_unqueue(k, &pc);
                    el_error e;
                    el__provider_ended(f->scheme, ss, &e);
                    pcall_fail(&pc, EL__ERR_UNAVAILABLE, e.msg);
                }
            }
            pthread_cond_broadcast(&sv->pcv);
            continue;
        }
        int64_t wake = deadline - t;
        if (!k->in && k->not_before > t && k->not_before - t < wake)
            wake = k->not_before - t;
        cv_wait_ms(&sv->pcv, &sv->mu, wake < 200 ? wake + 1 : 200);
    }
    pthread_mutex_unlock(&sv->mu);
    sv->ops->unblock(sv, false);
    if (stop_it) { /* audited as the one that did not answer (mu held: it may be reaped) */
        pthread_mutex_lock(&sv->mu);
        inst *stopped = sv->ops->find_inst(sv, stop_id);
        if (stopped)
            sv->ops->audit(sv, stopped, EL_AUDIT_KILL, why);
        pthread_mutex_unlock(&sv->mu);
    }
    if (pc.code) {
        *code = pc.code;
        if (pc.st == EL_OK) /* the provider's own failure */
            return el_error_set(err, EL_ERR_INTERNAL, "provider: %s", pc.msg);
        return el_error_set(err, pc.st, "%s", pc.msg);
    }
    *result = pc.result;
    return EL_OK;
}

/* el__provider_host.next for instance in (rt_mu held, released while waiting). */
el_status el__kept_next(void *arg, const el__fwd **f, el_error *err)
{
    inst *in = arg;
    serve *sv = in->sv;
    kept *k = in->kept;
    sv->ops->unblock(sv, true);
    pthread_mutex_lock(&sv->mu);
    el_status st = EL_OK;
    for (;;) {
        if (in->stop || sv->stopping || k->in != in) {
            st = el_error_set(err, EL_ERR_NOTFOUND, "no more calls: this provider instance is stopping");
            break;
        }
        if (k->cur == NULL && k->q) {
            pcall *pc = k->q;
            k->q = pc->next;
            pc->state = PC_TAKEN;
            k->cur = pc;
            uint64_t id = pc->call_id;
            /* the call is read with the runtime held (its consumer cannot return meanwhile) */
            pthread_mutex_unlock(&sv->mu);
            sv->ops->unblock(sv, false);
            pthread_mutex_lock(&sv->mu);
            bool mine = k->cur == pc && k->in == in;
            if (k->cur == &k->cut && k->cut.call_id == id) /* cut before this instance read it */
                k->cur = NULL;
            pthread_mutex_unlock(&sv->mu);
            if (mine) {
                *f = pc->f;
                return EL_OK;
            }
            sv->ops->unblock(sv, true);
            pthread_mutex_lock(&sv->mu);
            continue;
        }
        cv_wait_ms(&sv->pcv, &sv->mu, 500);
    }
    pthread_mutex_unlock(&sv->mu);
    sv->ops->unblock(sv, false);
    return st;
}

/* el__provider_host.answer for instance in (rt_mu held). */
void el__kept_answer(void *arg, uint64_t call_id, const json_t *result, const char *code, const char *message)
{
    inst *in = arg;
    serve *sv = in->sv;
    kept *k = in->kept;
    json_t *copy = code ? NULL : json_deep_copy(result ? result : json_null());
    pthread_mutex_lock(&sv->mu);
    pcall *pc = k->cur;
    if (pc == &k->cut && k->in == in && pc->call_id == call_id) { /* its consumer gave up: dropped */
        k->cur = NULL;
        k->failures = 0;
        pthread_cond_broadcast(&sv->pcv);
    } else if (pc && k->in == in && pc->call_id == call_id) {
        k->cur = NULL;
        k->failures = 0;
        pc->state = PC_DONE;
        if (code) {
            pc->code = code;
            pc->st = EL_OK;
            snprintf(pc->msg, sizeof pc->msg, "%s", message ? message : "");
        } else if (!copy) {
            pcall_fail(pc, EL_ERR_INTERNAL, "out of memory");
        } else {
            pc->result = copy;
            copy = NULL;
        }
        pthread_cond_broadcast(&sv->pcv);
    }
    pthread_mutex_unlock(&sv->mu);
    json_decref(copy);
}

/* the launch (sv->ops->launch): in is now its record's running instance (mu held). */
void el__kept_attach(inst *in)
{
    in->kept->in = in;
}

/* run_inst: a kept provider's instance ended, run ending with st (rt_mu and mu held): the call
 * it took fails, and a call it left taken or waiting makes the next start wait. */
void el__kept_ended(inst *in, el_status st)
{
    kept *k = in->kept;
    if (k->in != in)
        return;
    k->in = NULL;
    if (k->cur) {
        el_error e;
        el__provider_ended(k->scheme, st, &e);
        pcall_fail(k->cur, EL__ERR_UNAVAILABLE, e.msg);
        k->cur = NULL;
        kept_backoff(k);
    } else if (k->q) {
        kept_backoff(k);
    }
    pthread_cond_broadcast(&in->sv->pcv);
}

/* Stops k's instance if the call its consumer gave up is still unanswered at its deadline
 * (mu held). Audited like a deadline its consumer saw. Returns whether it did. */
static bool kept_cut_late(serve *sv, kept *k)
{
    if (k->cur != &k->cut || !k->in || k->in->stop || mono_ms() < k->cut_deadline)
        return false;
    char why[EL_RESOURCE_MAX + 96];
    snprintf(why, sizeof why, "provider of %s stopped: call %llu not answered within %d ms", k->scheme,
             (unsigned long long)k->cut.call_id, EL__PROVIDER_CALL_MS);
    k->cur = NULL;
    k->in->stop = 1;
    kept_backoff(k);
    sv->ops->audit(sv, k->in, EL_AUDIT_KILL, why);
    pthread_cond_broadcast(&sv->pcv);
    return true;
}

/* Stops the kept instances whose scheme is no longer bound to what started them, or that did
 * not answer a cut call in time (the main loop, every second; rt_mu held). Audited. */
void el__kept_check(serve *sv)
{
    for (kept *k = sv->kepts; k; k = k->next) {
        pthread_mutex_lock(&sv->mu);
        inst *in = !kept_cut_late(sv, k) && k->in && !k->in->stop ? k->in : NULL;
        pthread_mutex_unlock(&sv->mu);
        if (!in)
            continue;
        el_provider_binding b;
        el_error e;
        el_status st = el__provider_bound(sv->rt, k->scheme, &b, &e);
        pthread_mutex_lock(&sv->mu);
        bool gone = st == EL_ERR_NOTFOUND ||
                    (st == EL_OK && (strcmp(b.target, k->target) ||
                                     !same_list(k->grants, (const char *const *)b.grants, b.n_grants) ||
                                     !same_list(k->args, (const char *const *)b.args, b.n_args)));
        pthread_mutex_unlock(&sv->mu);
        if (st == EL_OK)
            el__provider_binding_clear(&b);
        if (!gone)
            continue;
        char why[EL_RESOURCE_MAX + 64];
        snprintf(why, sizeof why, "provider of %s stopped: %s", k->scheme, st == EL_OK ? "rebound" : "unbound");
        pthread_mutex_lock(&sv->mu);
        in->stop = 1;
        sv->ops->audit(sv, in, EL_AUDIT_KILL, why);
        pthread_cond_broadcast(&sv->pcv);
        pthread_mutex_unlock(&sv->mu);
    }
}

void el__kept_free_all(serve *sv)
{
    while (sv->kepts) {
        kept *k = sv->kepts;
        sv->kepts = k->next;
        json_decref(k->grants);
        json_decref(k->args);
        free(k);
    }
}

