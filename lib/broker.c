/*
 * broker.c - the capability core: a capsule instance's side of the runtime protocol
 * (include/elastos/broker.h). Sessions, request ids, the capability flow, grants, token checks
 * on every use and the audit live here; the work a token unlocks is the providers' (provider.h,
 * lib/prov_*.c), reached through the provider table, and every provider failure becomes a
 * protocol code through the one table there.
 *
 * Auditing fails closed: a decision (request, grant, operator grant) is written through before
 * it takes effect and a use is queued (audit.c) before it is performed; when the record cannot
 * be written the request is refused with code "unavailable" (docs/protocol.md). Refusals are
 * recorded but bounded per instance (refuse()): identical refusals are coalesced into one record
 * with a count and first/last times, at most REFUSAL_RECORDS_MAX refusals are written one by one,
 * and capability requests are rate-limited (REQ_RATE per second, REQ_BURST at once).
 *
 * Grants (operator --grant, "for this run", "always") remember the epoch they were made in and
 * the tokens issued under them: revoking one of those tokens, or an epoch bump, drops the grant,
 * so the next request goes to the shell again (drop_stale_grants; audited). That check runs on
 * the request path only, from the in-memory revocation state token.c keeps current; the
 * token-check path is unchanged.
 */
#include "elastos/broker.h"
#include "elastos/audit.h"
#include "protocol_internal.h"
#include "shell_internal.h"
#include "elastos/token.h"
#include "broker_internal.h"
#include "internal.h"
#include "provider.h"
#include "storage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct grant {
    char *resource; /* pattern */
    unsigned action;
    uint64_t max_uses, expiry; /* the scope decided; 0 = unlimited */
    bool delegatable;
    uint64_t epoch;        /* the epoch it was made in: a later bump drops it */
    uint8_t (*issued)[16]; /* ids of the tokens issued under it: revoking one drops it */
    size_t n_issued;
} grant;

#define REFUSAL_KINDS 8           /* distinct refusals counted at once per instance */
#define REFUSAL_RECORDS_MAX 256   /* refusals written one by one per instance; then only counted */
#define REFUSAL_FLUSH_MS 10000    /* a running count reaches the audit at least this often */
#define REQ_RATE 100              /* capability requests per second per instance, sustained */
#define REQ_BURST 200             /* ... and at once */

/* A refusal already written, and how many identical ones came after it (not yet written). */
typedef struct refusal {
    char *decision, *resource, *action, *reason, *token_id;
    uint64_t count;
    int64_t first_ms, last_ms; /* of the refusals counted */
} refusal;

struct el_session {
    el_runtime *rt;
    const el_artifact *art;
    const el_manifest *m;
    char capsule_id[33];
    char publisher[EL_PK_TEXT];
    uint64_t last_id;
    grant *grants; /* operator grants and "for this run" decisions */
    size_t n_grants;
    char *pending;
    size_t pending_len;
    void *pstate[EL__PROV_MAX]; /* each provider's per-session state (provider.h) */
    char storage_key[128]; /* the capsule's address, "<name>@<publisher id>" (el_sign_capsule_address):
                              it names its storage and its mailbox, so same-named capsules of
                              two publishers share neither */
    /* shell sessions only */
    bool is_shell;
    el_decision_request decide;
    char *decide_strings[5];
    bool decided;
    el_decision decision;
    char reason[256];
    el_msg_router router; /* send == NULL: none */
    el_channel channel;   /* this session as a substrate's channel (el_broker_session_channel) */
    uint64_t seen_revoked;  /* revocations known when the grants were last checked */
    refusal refusals[REFUSAL_KINDS + 1]; /* the last: everything past REFUSAL_RECORDS_MAX */
    refusal uses; /* the last use a provider asked coalesced (el__pcall.coalesce), and its repeats */
    uint64_t refusal_records; /* refusals written one by one so far */
    double req_tokens;        /* the request rate limit's bucket */
    int64_t req_last_ms;
    bool audit_warned;        /* a failed audit append was reported (once per instance) */
    /* provider capsules (provider.h): the host's runner for this session's forwards, and, in a
     * provider instance's own session (serving), the host its calls come from, the call it
     * serves and its answer */
    el__forward_fn forward;
    void *forward_arg;
    bool serving;
    bool have_call;         /* call holds a call taken from host */
    el__provider_host host;
    el__fwd call;
    char *call_strings[7];
    json_t *call_body;
    bool answered;
    json_t *answer;          /* answer_provider_call's result */
    const char *answer_code; /* fail_provider_call's code (one of fail_codes) */
    char answer_msg[256];
};

/* Records one event of this instance. A token's uses are queued (written within ~0.1 s, and
 * refused while the writer's last attempt failed: audit.c): a use, and the forward of a call to
 * a provider capsule, which is that use's other half (which provider took it, the call id).
 * Every other record is written through before this returns. Not EL_OK: the record is not in
 * the audit (the caller refuses what it was about to allow). */
static el_status audit(el_session *s, const char *decision, const char *resource, const char *action,
                       const char *reason, const char *token_id)
{
    el_audit_record r = {.capsule = s->m->name,
                         .capsule_id = s->capsule_id,
                         .publisher = s->publisher,
                         .resource = resource ? resource : "",
                         .action = action ? action : "",
                         .decision = decision,
                         .reason = reason ? reason : "",
                         .token_id = token_id ? token_id : ""};
    el_error err;
    bool use = !strcmp(decision, EL_AUDIT_USE) || !strcmp(decision, EL_AUDIT_FORWARD);
    el_status st = use ? el_audit_defer(s->rt, &r, &err) : el_audit_append(s->rt, &r, &err);
    if (st != EL_OK && !s->audit_warned) { /* once per instance: a failing disk fails every record */
        el__log(s->rt, EL_LOG_WARNING, "audit append failed: %s", err.msg);
        s->audit_warned = true;
    }
    return st;
}

/* The answer to a request whose record could not be written: refused (docs/protocol.md). */
static char *audit_unavailable(uint64_t id, size_t *len)
{
    return el__response_error(id, "unavailable", "refused: the audit log cannot be written", len);
}

/* ---- refusals: recorded, coalesced, bounded per instance ----------------------------------------- */

static void refusal_clear(refusal *k)
{
    free(k->decision);
    free(k->resource);
    free(k->action);
    free(k->reason);
    free(k->token_id);
    memset(k, 0, sizeof *k);
}

/* Writes k's running count (if any) as one record standing for that many refusals:
 * "repeated N times, first at T1 ms, last at T2 ms: <reason>", so the audit accounts for every
 * refusal (a record without that prefix stands for one). */
static void refusal_flush(el_session *s, refusal *k)
{
    if (!k->count)
        return;
    char why[600];
    snprintf(why, sizeof why, "repeated %llu times, first at %lld ms, last at %lld ms: %.400s",
             (unsigned long long)k->count, (long long)k->first_ms, (long long)k->last_ms, k->reason);
    audit(s, k->decision, k->resource, k->action, why, k->token_id);
    k->count = 0;
}

static bool refusal_is(const refusal *k, const char *d, const char *res, const char *act, const char *why,
                       const char *tid)
{
    return k->decision && !strcmp(k->decision, d) && !strcmp(k->resource, res) && !strcmp(k->action, act) &&
           !strcmp(k->reason, why) && !strcmp(k->token_id, tid);
}

/* Counts one more of k's kind; a count REFUSAL_FLUSH_MS old is written (refusal_flush). */
static void refusal_count(el_session *s, refusal *k, int64_t now)
{
    if (!k->count++)
        k->first_ms = now;
    k->last_ms = now;
    if (now - k->first_ms >= REFUSAL_FLUSH_MS)
        refusal_flush(s, k);
}

/* Makes k stand for a new kind (its earlier count written first), none of it counted yet. Out of
 * memory, k is left empty: the next of the kind is written again, never lost. */
static void refusal_start(el_session *s, refusal *k, const char *d, const char *res, const char *act, const char *why,
                          const char *tid, int64_t now)
{
    refusal_flush(s, k);
    refusal_clear(k);
    k->decision = strdup(d);
    k->resource = strdup(res);
    k->action = strdup(act);
    k->reason = strdup(why);
    k->token_id = strdup(tid);
    k->last_ms = now;
    if (!k->decision || !k->resource || !k->action || !k->reason || !k->token_id)
        refusal_clear(k);
}

/* Records a refusal (decision deny or throttle). The first of a kind is written at once; the
 * identical ones after it are counted and written as one record (refusal_flush) when another
 * kind takes its slot, when the count is REFUSAL_FLUSH_MS old, or when the instance ends. Past
 * REFUSAL_RECORDS_MAX written refusals, every new kind only adds to one running count. */
static void refuse(el_session *s, const char *decision, const char *resource, const char *action, const char *reason,
                   const char *token_id)
{
    const char *res = resource ? resource : "", *act = action ? action : "", *why = reason ? reason : "",
               *tid = token_id ? token_id : "";
    int64_t now = el__clock_ms(CLOCK_REALTIME);
    refusal *k = NULL, *oldest = &s->refusals[0];
    for (int i = 0; i < REFUSAL_KINDS && !k; i++) {
        if (refusal_is(&s->refusals[i], decision, res, act, why, tid))
            k = &s->refusals[i];
        else if (!s->refusals[i].decision || (oldest->decision && s->refusals[i].last_ms < oldest->last_ms))
            oldest = &s->refusals[i];
    }
    if (!k && s->refusal_records >= REFUSAL_RECORDS_MAX) {
        k = &s->refusals[REFUSAL_KINDS];
        if (!k->decision) {
            k->decision = strdup(EL_AUDIT_DENY);
            k->resource = strdup("*");
            k->action = strdup("*");
            k->reason = strdup("refusals of this instance past the per-instance record limit");
            k->token_id = strdup("");
        }
    }
    if (k && k->decision && k->resource && k->action && k->reason && k->token_id) {
        refusal_count(s, k, now);
        return;
    }
    /* A new kind: written now, and remembered in the least recently seen slot. */
    audit(s, decision, res, act, why, tid);
    s->refusal_records++;
    refusal_start(s, oldest, decision, res, act, why, tid, now);
}

/* Writes every running count older than REFUSAL_FLUSH_MS (all of them with all). */
static void refusals_flush(el_session *s, bool all)
{
    int64_t now = el__clock_ms(CLOCK_REALTIME);
    for (int i = 0; i <= REFUSAL_KINDS; i++)
        if (s->refusals[i].count && (all || now - s->refusals[i].first_ms >= REFUSAL_FLUSH_MS))
            refusal_flush(s, &s->refusals[i]);
    if (s->uses.count && (all || now - s->uses.first_ms >= REFUSAL_FLUSH_MS))
        refusal_flush(s, &s->uses);
}

/* A use identical to the session's last coalesced one (same resource, action, request type and
 * token) is counted, not written: true then. Else the count so far is written (one record
 * "repeated N times, ..."), and this use becomes the one counted against (false: the caller
 * writes it). Counts are written after REFUSAL_FLUSH_MS too, and when the session ends. */
static bool use_coalesced(el_session *s, const char *resource, const char *action, const char *why, const char *tid)
{
    int64_t now = el__clock_ms(CLOCK_REALTIME);
    refusal *k = &s->uses;
    if (refusal_is(k, EL_AUDIT_USE, resource, action, why, tid)) {
        refusal_count(s, k, now);
        return true;
    }
    refusal_start(s, k, EL_AUDIT_USE, resource, action, why, tid, now);
    return false;
}

/* The request rate limit: true when this request may go on (a token bucket of REQ_BURST,
 * refilled at REQ_RATE per second). */
static bool request_allowed(el_session *s)
{
    int64_t now = el__clock_ms(CLOCK_REALTIME);
    if (s->req_last_ms == 0)
        s->req_tokens = REQ_BURST;
    else
        s->req_tokens += (double)(now - s->req_last_ms) * REQ_RATE / 1000.0;
    if (s->req_tokens > REQ_BURST)
        s->req_tokens = REQ_BURST;
    s->req_last_ms = now;
    if (s->req_tokens < 1)
        return false;
    s->req_tokens -= 1;
    return true;
}

static el_status session_init(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out,
                              el_error *err)
{
    el_session *s = calloc(1, sizeof *s);
    if (!s)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    s->rt = rt;
    s->art = art;
    s->m = el_artifact_manifest(art);
    if (capsule_id)
        snprintf(s->capsule_id, sizeof s->capsule_id, "%s", capsule_id);
    else
        el__random_hex(s->capsule_id, 16);
    el_sign_pubkey_format(el_artifact_publisher(art), s->publisher);
    el_sign_capsule_address(s->m->name, el_artifact_publisher(art), s->storage_key);
    *out = s;
    return EL_OK;
}

el_status el_broker_session_new(el_runtime *rt, const el_artifact *art, const char *capsule_id, el_session **out, el_error *err)
{
    return session_init(rt, art, capsule_id, out, err);
}

/* A session for the shell capsule deciding q (copied). */
static el_status session_new_shell(el_runtime *rt, const el_artifact *art, const char *capsule_id,
                                   const el_decision_request *q, el_session **out, el_error *err)
{
    el_status st = session_init(rt, art, capsule_id, out, err);
    if (st != EL_OK)
        return st;
    el_session *s = *out;
    s->is_shell = true;
    s->decide = *q;
    const char *src[5] = {q->capsule_name, q->capsule_id, q->publisher, q->resource, q->action};
    for (int i = 0; i < 5; i++)
        s->decide_strings[i] = strdup(src[i] ? src[i] : "");
    s->decide.capsule_name = s->decide_strings[0];
    s->decide.capsule_id = s->decide_strings[1];
    s->decide.publisher = s->decide_strings[2];
    s->decide.resource = s->decide_strings[3];
    s->decide.action = s->decide_strings[4];
    s->decide.constraints = q->constraints ? json_incref(q->constraints) : NULL;
    snprintf(s->reason, sizeof s->reason, "shell made no decision");
    return EL_OK;
}

/* What the shell answered; EL_DECIDE_DENY with "shell made no decision" when it said nothing. */
static el_decision shell_result(const el_session *s, char reason[256])
{
    snprintf(reason, 256, "%s", s->reason);
    return s->decided ? s->decision : EL_DECIDE_DENY;
}

/* Consults the shell capsule on q: one run of it (shell.c) on a shell session of its own, whose
 * answer the run leaves in that session. Always a decision: deny when the shell is missing,
 * crashes or says nothing. */
static void decide(el_runtime *rt, const el_decision_request *q, el_decision *d, char reason[256])
{
    *d = EL_DECIDE_DENY;
    const el_artifact *shell;
    if (el__shell_load(rt, &shell, reason) != EL_OK)
        return;
    char id[33];
    el__random_hex(id, 16);
    el_session *ss;
    el_error err;
    if (session_new_shell(rt, shell, id, q, &ss, &err) != EL_OK) {
        snprintf(reason, 256, "%.200s", err.msg);
        return;
    }
    if (el__shell_run(rt, el_broker_session_channel(ss), reason) == EL_OK)
        *d = shell_result(ss, reason);
    el_broker_session_free(ss);
}

void el_broker_session_free(el_session *s)
{
    if (!s)
        return;
    refusals_flush(s, true);
    for (int i = 0; i <= REFUSAL_KINDS; i++)
        refusal_clear(&s->refusals[i]);
    refusal_clear(&s->uses);
    for (size_t i = 0; i < s->n_grants; i++) {
        free(s->grants[i].resource);
        free(s->grants[i].issued);
    }
    free(s->grants);
    free(s->pending);
    for (size_t i = 0; i < EL__PROV_MAX; i++) {
        const el__provider *p = el__provider_at(i);
        if (p && p->end && s->pstate[i])
            p->end(s->pstate[i]);
    }
    for (int i = 0; i < 5; i++)
        free(s->decide_strings[i]);
    json_decref(s->decide.constraints);
    for (int i = 0; i < 7; i++)
        free(s->call_strings[i]);
    json_decref(s->call_body);
    json_decref(s->answer);
    free(s);
}

const char *el_broker_session_capsule_id(const el_session *s) { return s->capsule_id; }

void el__session_set_router(el_session *s, const el_msg_router *r)
{
    if (r)
        s->router = *r;
    else
        memset(&s->router, 0, sizeof s->router);
}

static char *channel_handle(void *s, const void *msg, size_t len, size_t *out_len)
{
    return el_broker_session_handle(s, msg, len, out_len);
}

static char **channel_kept(void *arg, size_t **len)
{
    el_session *s = arg;
    *len = &s->pending_len;
    return &s->pending;
}

const el_channel *el_broker_session_channel(el_session *s)
{
    s->channel = (el_channel){.handle = channel_handle, .kept = channel_kept, .arg = s, .capsule_id = s->capsule_id};
    return &s->channel;
}

/* ---- capability flow ------------------------------------------------------------------------ */

/* Does pattern outer cover everything inner names? inner is a concrete resource or a pattern
 * ending in "/" "*"; a pattern is covered by itself or by a broader pattern, on whole segments.
 * outer "*" after http:// or https:// (manifests only) covers every valid inner of its scheme. */
static bool covers(const char *outer, const char *inner)
{
    size_t il = strlen(inner), ol = strlen(outer);
    bool web_any = el__manifest_web_any(outer);
    if (il < 2 || strcmp(inner + il - 2, "/*") != 0) /* a concrete resource */
        return web_any ? !strncmp(outer, inner, ol - 1) && el_token_resource_match(inner, inner)
                       : el_token_resource_match(outer, inner);
    char probe[EL_RESOURCE_MAX + 8];
    snprintf(probe, sizeof probe, "%.*s_", (int)(il - 1), inner); /* a child of inner's prefix */
    if (web_any)
        return !strncmp(outer, inner, ol - 1) && el_token_resource_match(inner, probe);
    if (!strcmp(outer, inner))
        return true;
    return ol >= 2 && !strcmp(outer + ol - 2, "/*") && il > ol && !strncmp(outer, inner, ol - 1) &&
           el_token_resource_match(outer, probe);
}

/* Whether the manifest lists resource/action; its elastos://capsule/NAME entries mean this
 * capsule's publisher's NAME (el__capsule_resource). */
static bool pattern_in_manifest(const el_session *s, const char *resource, unsigned action)
{
    const el_manifest *m = s->m;
    char buf[EL_RESOURCE_MAX + 1];
    for (size_t i = 0; i < m->n_permissions; i++)
        if ((m->permissions[i].actions & action) &&
            covers(el__capsule_resource(s->storage_key, m->permissions[i].resource, buf), resource))
            return true;
    return false;
}

/* A grant covers a later request only if the request is at least as narrow as what was
 * decided: a limit the shell saw can't be dropped by asking again. */
static bool within(uint64_t decided, uint64_t asked) { return decided == 0 || (asked != 0 && asked <= decided); }

static el_status add_grant(el_session *s, const char *resource, unsigned action, uint64_t max_uses, uint64_t expiry,
                           bool delegatable, uint64_t epoch, el_error *err)
{
    grant *ng = realloc(s->grants, (s->n_grants + 1) * sizeof *ng);
    if (!ng)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    s->grants = ng;
    grant *g = &ng[s->n_grants];
    memset(g, 0, sizeof *g);
    if (!(g->resource = strdup(resource)))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    g->action = action;
    g->max_uses = max_uses;
    g->expiry = expiry;
    g->delegatable = delegatable;
    g->epoch = epoch;
    s->n_grants++;
    return EL_OK;
}

/* Remembers that token id was issued under grant i; false when out of memory (then the caller
 * must not hand the token out: its revocation could not drop the grant). */
static bool grant_issued(el_session *s, size_t i, const uint8_t id[16])
{
    grant *g = &s->grants[i];
    if ((g->n_issued & (g->n_issued - 1)) == 0) { /* 0, 1, 2, 4, ...: grow by doubling */
        uint8_t(*n)[16] = realloc(g->issued, (g->n_issued ? 2 * g->n_issued : 1) * sizeof *n);
        if (!n)
            return false;
        g->issued = n;
    }
    memcpy(g->issued[g->n_issued++], id, 16);
    return true;
}

/* Drops every grant made before the current epoch, and every grant one of whose tokens is
 * revoked (by anyone, in any process), each with an audit record: the next request it would
 * have covered goes to the shell. The issued ids are scanned only when the number of
 * revocations changed since the last look. Not EL_OK: the revocation state could not be read
 * (the caller refuses the request). */
static el_status drop_stale_grants(el_session *s, el_error *err)
{
    if (!s->n_grants)
        return EL_OK;
    uint64_t epoch, n_revoked;
    el_status st = el__token_state(s->rt, &epoch, &n_revoked, err);
    if (st != EL_OK)
        return st;
    bool scan = n_revoked != s->seen_revoked;
    s->seen_revoked = n_revoked;
    size_t keep = 0;
    for (size_t i = 0; i < s->n_grants; i++) {
        grant *g = &s->grants[i];
        char why[160] = "", tid[EL_TOKEN_ID_HEX] = "";
        if (g->epoch < epoch)
            snprintf(why, sizeof why, "grant dropped: epoch bumped to %llu; the shell decides again",
                     (unsigned long long)epoch);
        for (size_t k = 0; scan && !why[0] && k < g->n_issued; k++)
            if (el__token_revoked(s->rt, g->issued[k])) {
                el_sign_hex_encode(g->issued[k], 16, tid);
                snprintf(why, sizeof why, "grant dropped: its token %s was revoked; the shell decides again", tid);
            }
        if (why[0]) {
            audit(s, EL_AUDIT_REVOKE, g->resource, el_manifest_action_name(g->action), why, tid);
            free(g->resource);
            free(g->issued);
            continue;
        }
        s->grants[keep++] = *g;
    }
    s->n_grants = keep;
    return EL_OK;
}

static el_status grant_one(el_session *s, const char *spec, el_error *err);

/* RESOURCE:ACTION[,ACTION]...: one operator grant per action (as in "RESOURCE:read,write"). */
el_status el_broker_session_grant(el_session *s, const char *spec, el_error *err)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || !strchr(colon, ','))
        return grant_one(s, spec, err);
    size_t rl = (size_t)(colon - spec);
    if (rl > EL_RESOURCE_MAX)
        return grant_one(s, spec, err); /* refused there, with the reason */
    for (const char *a = colon + 1;;) {
        const char *comma = strchr(a, ',');
        size_t al = comma ? (size_t)(comma - a) : strlen(a);
        char one[EL_RESOURCE_MAX + 32];
        if (al == 0 || al > 16)
            return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: expected RESOURCE:ACTION[,ACTION]... (actions: read, "
                                "write, execute, message, delete, admin)", spec);
        snprintf(one, sizeof one, "%.*s:%.*s", (int)rl, spec, (int)al, a);
        el_status st = grant_one(s, one, err);
        if (st != EL_OK || !comma)
            return st;
        a = comma + 1;
    }
}

static el_status grant_one(el_session *s, const char *spec, el_error *err)
{
    const char *colon = strrchr(spec, ':');
    unsigned action = colon ? el_manifest_action_from_name(colon + 1) : 0;
    if (!colon || !action || colon == spec || colon - spec > EL_RESOURCE_MAX)
        return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: expected RESOURCE:ACTION (action one of read, write, execute, message, delete, admin)", spec);
    char given[EL_RESOURCE_MAX + 1], buf[EL_RESOURCE_MAX + 1];
    snprintf(given, sizeof given, "%.*s", (int)(colon - spec), spec);
    const char *resource = el__capsule_resource(s->storage_key, given, buf);
    if (!pattern_in_manifest(s, resource, action))
        return el_error_set(err, EL_ERR_USAGE, "--grant %.200s: outside the capsule's manifest permissions", spec);
    uint64_t epoch, n_revoked;
    el_status st = el__token_state(s->rt, &epoch, &n_revoked, err);
    if (st == EL_OK && audit(s, EL_AUDIT_OPERATOR, resource, colon + 1, "granted on the command line", NULL) != EL_OK)
        st = el_error_set(err, EL_ERR_IO, "--grant %.200s: refused: the audit log cannot be written", spec);
    if (st == EL_OK)
        st = add_grant(s, resource, action, 0, 0, true, epoch, err);
    return st;
}

bool el_broker_session_storage_preopen(el_session *s, char *host_dir, size_t cap, bool *writable)
{
    bool r = false, w = false, d = false;
    for (size_t i = 0; i < s->n_grants; i++)
        if (!strcmp(s->grants[i].resource, "localhost://storage/*")) {
            r |= s->grants[i].action == EL_ACT_READ;
            w |= s->grants[i].action == EL_ACT_WRITE;
            d |= s->grants[i].action == EL_ACT_DELETE;
        }
    /* WASI can only mount read-only or read-write (which includes unlink), never write-only:
     * mount only what the grants fully cover. */
    el_error err;
    if (!r || el__storage_root(s->rt, s->storage_key, host_dir, cap, &err) != EL_OK)
        return false;
    *writable = w && d;
    return true;
}

#define obj_type(type) el__response_obj(type)

/* Issues a token to the capsule and writes its grant record; on success *issued is true and
 * tok_id holds the token's id. A token whose record cannot be written is revoked at once and
 * refused. */
static char *issue(el_session *s, uint64_t id, const char *resource, const char *action_name, unsigned action,
                   uint32_t max_uses, uint64_t expiry, bool delegatable, const char *why, uint8_t tok_id[16],
                   bool *issued, size_t *len)
{
    *issued = false;
    el_token_request tr = {.holder_hex = s->capsule_id,
                           .capsule_name = s->m->name,
                           .publisher = s->publisher,
                           .resource = resource,
                           .action = action,
                           .expiry_secs = expiry,
                           .max_uses = max_uses,
                           .delegatable = delegatable};
    char *text = NULL;
    el_token tok;
    el_error err;
    if (el_token_issue(s->rt, &tr, &text, &tok, &err) != EL_OK) {
        refuse(s, EL_AUDIT_DENY, resource, action_name, err.msg, NULL);
        return el__response_error(id, "internal", err.msg, len);
    }
    char tid[EL_TOKEN_ID_HEX];
    el_sign_hex_encode(tok.id, 16, tid);
    if (audit(s, EL_AUDIT_GRANT, resource, action_name, why, tid) != EL_OK) {
        el_token_revoke(s->rt, tid, &err); /* never usable: no record says it was granted */
        free(text);
        return audit_unavailable(id, len);
    }
    memcpy(tok_id, tok.id, 16);
    *issued = true;
    json_t *r = obj_type("capability_token");
    json_object_set_new(r, "token", json_string(text));
    json_object_set_new(r, "token_id", json_string(tid));
    if (tok.expiry)
        json_object_set_new(r, "expires_at", json_integer((json_int_t)tok.expiry));
    free(text);
    return el__response_encode(id, r, len);
}

/* Index of the first grant covering the request, or -1. */
static ptrdiff_t grant_covering(const el_session *s, const char *resource, unsigned action, uint64_t max_uses,
                                uint64_t expiry, bool delegatable)
{
    for (size_t i = 0; i < s->n_grants; i++) {
        const grant *g = &s->grants[i];
        if (g->action == action && covers(g->resource, resource) && within(g->max_uses, max_uses) &&
            within(g->expiry, expiry) && (g->delegatable || !delegatable))
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Issues under grant gi (already in s->grants) and remembers the token there. */
static char *issue_under(el_session *s, size_t gi, uint64_t id, const char *resource, const char *action_name,
                         unsigned action, uint32_t max_uses, uint64_t expiry, bool delegatable, const char *why,
                         size_t *len)
{
    uint8_t tid[16];
    bool issued;
    char *r = issue(s, id, resource, action_name, action, max_uses, expiry, delegatable, why, tid, &issued, len);
    if (issued && !grant_issued(s, gi, tid)) {
        char hex[EL_TOKEN_ID_HEX];
        el_error err;
        el_sign_hex_encode(tid, 16, hex);
        el_token_revoke(s->rt, hex, &err);
        free(r);
        return el__response_error(id, "internal", "out of memory", len);
    }
    return r;
}

static char *request_capability(el_session *s, const el_request *q, size_t *len)
{
    char buf[EL_RESOURCE_MAX + 1];
    const char *resource = el__capsule_resource(s->storage_key, el__req_str(q, "resource"), buf),
               *action_name = el__req_str(q, "action");
    unsigned action = el_manifest_action_from_name(action_name);
    json_t *c = json_object_get(q->body, "constraints");
    uint64_t max_uses = 0, expiry = 0;
    bool delegatable = false;
    if (c) {
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            bool ok = (!strcmp(k, "max_uses") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                       json_integer_value(v) <= UINT32_MAX) ||
                      (!strcmp(k, "expiry_secs") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                       json_integer_value(v) <= 10L * 365 * 86400) ||
                      (!strcmp(k, "delegatable") && json_is_boolean(v));
            if (!ok)
                return el__response_error(q->id, "bad_request", "constraints: unknown field or bad value", len);
        }
        max_uses = el__req_uint(&(el_request){.body = c}, "max_uses", 0);
        expiry = el__req_uint(&(el_request){.body = c}, "expiry_secs", 0);
        delegatable = json_is_true(json_object_get(c, "delegatable"));
    }
    if (!action)
        return el__response_error(q->id, "bad_request", "unknown action", len);
    if (strlen(resource) > EL_RESOURCE_MAX || el__manifest_web_any(resource) ||
        !(el_token_resource_match(resource, resource) ||
                                               (strlen(resource) > 2 && !strcmp(resource + strlen(resource) - 2, "/*"))))
        return el__response_error(q->id, "bad_request", "malformed resource", len);
    refusals_flush(s, false);
    if (!request_allowed(s)) {
        refuse(s, EL_AUDIT_THROTTLE, resource, action_name, "capability requests over the per-instance rate limit", NULL);
        return el__response_error(q->id, "limit", "too many capability requests: slow down", len);
    }
    if (!pattern_in_manifest(s, resource, action)) { /* one refusal record stands for the request */
        refuse(s, EL_AUDIT_DENY, resource, action_name, "outside the manifest's permissions (shell not consulted)", NULL);
        return el__response_error(q->id, "denied", "outside the capsule's manifest permissions", len);
    }
    if (audit(s, EL_AUDIT_REQUEST, resource, action_name, "", NULL) != EL_OK)
        return audit_unavailable(q->id, len);
    el_error err;
    if (drop_stale_grants(s, &err) != EL_OK) {
        refuse(s, EL_AUDIT_DENY, resource, action_name, err.msg, NULL);
        return el__response_error(q->id, "internal", err.msg, len);
    }
    ptrdiff_t gi = grant_covering(s, resource, action, max_uses, expiry, delegatable);
    if (gi >= 0)
        return issue_under(s, (size_t)gi, q->id, resource, action_name, action, (uint32_t)max_uses, expiry,
                           delegatable, "covered by an operator or run grant", len);
    if (s->is_shell) {
        refuse(s, EL_AUDIT_DENY, resource, action_name, "the shell holds no capabilities", NULL);
        return el__response_error(q->id, "denied", "the shell holds no capabilities", len);
    }
    el_decision_request dq = {.request_id = ++s->rt->decision_seq,
                              .capsule_name = s->m->name,
                              .capsule_id = s->capsule_id,
                              .publisher = s->publisher,
                              .resource = resource,
                              .action = action_name,
                              .constraints = c};
    el_decision d;
    char reason[256];
    decide(s->rt, &dq, &d, reason);
    if (d == EL_DECIDE_DENY) {
        char why[300];
        snprintf(why, sizeof why, "shell: %s", reason);
        refuse(s, EL_AUDIT_DENY, resource, action_name, why, NULL);
        return el__response_error(q->id, "denied", why, len);
    }
    const char *why = d == EL_DECIDE_ONCE ? "shell: grant once" : d == EL_DECIDE_RUN ? "shell: grant for this run"
                                                                                     : "shell: grant always";
    if (d == EL_DECIDE_ONCE) {
        uint8_t tid[16];
        bool issued;
        return issue(s, q->id, resource, action_name, action, 1, expiry, delegatable, why, tid, &issued, len);
    }
    /* "for this run" and "always": a grant for the rest of the run, made in the current epoch
     * (a bump since the last look already dropped the older grants above). */
    uint64_t epoch, n_revoked;
    if (el__token_state(s->rt, &epoch, &n_revoked, &err) != EL_OK ||
        add_grant(s, resource, action, max_uses, expiry, delegatable, epoch, &err) != EL_OK) {
        refuse(s, EL_AUDIT_DENY, resource, action_name, err.msg, NULL);
        return el__response_error(q->id, "internal", err.msg, len);
    }
    return issue_under(s, s->n_grants - 1, q->id, resource, action_name, action, (uint32_t)max_uses, expiry,
                       delegatable, why, len);
}

/* Checks the token for one use of resource/action (the core's service to providers, provider.h):
 * EL_OK when allowed, else the refusal (audited) with c->code the token's protocol code. */
static el_status check_use(el__pcall *c, const char *resource, unsigned action, el_token *tok, el_error *err)
{
    el_session *s = c->core;
    const char *code = "invalid_token";
    el_token t = {0};
    el_status st = el_token_check(s->rt, el__req_str(c->q, "token"), s->capsule_id, resource, action, &t, &code, err);
    char tid[EL_TOKEN_ID_HEX] = "";
    if (st == EL_OK || code == NULL || strcmp(code, "invalid_token") != 0)
        el_sign_hex_encode(t.id, 16, tid);
    if (st != EL_OK) {
        refuse(s, EL_AUDIT_DENY, resource, el_manifest_action_name(action), err->msg, tid);
        c->code = code ? code : "denied";
        return st;
    }
    const char *act = el_manifest_action_name(action), *why = el__req_type_name(c->q->type);
    el_error ae;
    if (c->coalesce && el__audit_writable(s->rt, &ae) == EL_OK && use_coalesced(s, resource, act, why, tid)) {
        if (tok)
            *tok = t;
        return EL_OK;
    }
    if (audit(s, EL_AUDIT_USE, resource, act, why, tid) != EL_OK) {
        refusal_clear(&s->uses); /* the next use of this kind is written (and refused) again */
        refuse(s, EL_AUDIT_DENY, resource, el_manifest_action_name(action), "the audit log cannot be written", tid);
        c->code = "unavailable";
        return el_error_set(err, EL_ERR_IO, "refused: the audit log cannot be written");
    }
    if (tok)
        *tok = t;
    return EL_OK;
}

/* A provider's audit record (the core's service, provider.h); its refusals are coalesced and
 * bounded like every other (refuse). */
static void pcall_audit(el__pcall *c, const char *decision, const char *resource, const char *action,
                        const char *reason, const char *token_id)
{
    if (!strcmp(decision, EL_AUDIT_DENY) || !strcmp(decision, EL_AUDIT_THROTTLE))
        refuse(c->core, decision, resource, action, reason, token_id);
    else
        audit(c->core, decision, resource, action, reason, token_id);
}

/* Hands q to the provider that serves it; every failure becomes a protocol error code through
 * the one table (el__status_code), or the token check's own code. */
static char *provide(el_session *s, const el_request *q, size_t *len)
{
    size_t slot;
    const char *uri = q->type == EL_REQ_PROVIDER_CALL ? el__req_str(q, "uri") : NULL;
    const el__provider *p = el__provider_find(q->type, uri, &slot);
    void *no_state = NULL;
    if (!p && q->type != EL_REQ_PROVIDER_CALL)
        return el__response_error(q->id, "unsupported", "not available in this runtime version", len);
    if (!p) /* a scheme bound to a provider capsule, or not_found (prov_capsule.c) */
        p = &el__prov_capsule;
    el__pcall c = {.rt = s->rt,
                   .m = s->m,
                   .capsule_id = s->capsule_id,
                   .owner_key = s->storage_key,
                   .router = &s->router,
                   .q = q,
                   .len = len,
                   .state = p == &el__prov_capsule ? &no_state : &s->pstate[slot],
                   .use = check_use,
                   .audit = pcall_audit,
                   .forward = s->forward,
                   .forward_arg = s->forward_arg,
                   .core = s};
    char *resp = NULL;
    el_error err = {.code = EL_OK, .msg = ""};
    el_status st = p->call(&c, &resp, &err);
    if (st != EL_OK)
        return el__response_error(q->id, c.code ? c.code : el__status_code(st), err.msg, len);
    return resp ? resp : el__response_error(q->id, "internal", "out of memory", len);
}

static char *shell_op(el_session *s, const el_request *q, size_t *len)
{
    if (!s->is_shell)
        return el__response_error(q->id, "denied", "only the shell capsule may do this", len);
    if (q->type == EL_REQ_GET_DECISION_REQUEST) {
        json_t *r = obj_type("decision_request");
        json_object_set_new(r, "request_id", json_integer((json_int_t)s->decide.request_id));
        json_object_set_new(r, "capsule_name", json_string(s->decide.capsule_name));
        json_object_set_new(r, "capsule_id", json_string(s->decide.capsule_id));
        json_object_set_new(r, "publisher", json_string(s->decide.publisher));
        json_object_set_new(r, "resource", json_string(s->decide.resource));
        json_object_set_new(r, "action", json_string(s->decide.action));
        json_object_set_new(r, "constraints", s->decide.constraints ? json_deep_copy(s->decide.constraints) : json_object());
        return el__response_encode(q->id, r, len);
    }
    if (q->type == EL_REQ_REVOKE_CAPABILITY) {
        el_error err;
        const char *tid = el__req_str(q, "token_id");
        if (el_token_revoke(s->rt, tid, &err) != EL_OK)
            return el__response_error(q->id, "bad_request", err.msg, len);
        audit(s, EL_AUDIT_REVOKE, "", "", "revoked by the shell", tid);
        return el__response_encode(q->id, obj_type("ok"), len);
    }
    if (el__req_uint(q, "request_id", 0) != s->decide.request_id)
        return el__response_error(q->id, "not_found", "no such pending decision", len);
    if (s->decided)
        return el__response_error(q->id, "bad_request", "this decision was already made", len);
    if (q->type == EL_REQ_ASK_USER) { /* the host's asker waits, the runtime released (internal.h) */
        void *arg = NULL;
        el__asker ask = el__runtime_asker(s->rt, &arg);
        if (!ask)
            return el__response_error(q->id, "no_console", "there is no console to ask here", len);
        char answer[8] = "", why[256] = "";
        uint64_t t = el__req_uint(q, "timeout_ms", 0);
        el_status st = ask(arg, &s->decide, t > UINT32_MAX ? UINT32_MAX : (unsigned)t, answer, why);
        if (st == EL_ERR_NOTFOUND)
            return el__response_error(q->id, "no_console", why, len);
        if (st != EL_OK)
            return el__response_error(q->id, "timeout", why, len);
        json_t *r = obj_type("user_answer");
        json_object_set_new(r, "answer", json_string(answer));
        return el__response_encode(q->id, r, len);
    }
    if (q->type == EL_REQ_DENY_CAPABILITY) {
        s->decided = true;
        s->decision = EL_DECIDE_DENY;
        snprintf(s->reason, sizeof s->reason, "%s", el__req_str(q, "reason"));
        return el__response_encode(q->id, obj_type("ok"), len);
    }
    const char *scope = el__req_str(q, "scope");
    el_decision d = !strcmp(scope, "once") ? EL_DECIDE_ONCE : !strcmp(scope, "run") ? EL_DECIDE_RUN
                    : !strcmp(scope, "always")                                      ? EL_DECIDE_ALWAYS
                                                                                    : EL_DECIDE_DENY;
    if (d == EL_DECIDE_DENY)
        return el__response_error(q->id, "bad_request", "scope must be once, run or always", len);
    s->decided = true;
    s->decision = d;
    snprintf(s->reason, sizeof s->reason, "granted (%s)", scope);
    json_t *r = obj_type("capability_granted");
    json_object_set_new(r, "token_id", json_string("")); /* the token is issued to the requester */
    return el__response_encode(q->id, r, len);
}

/* ---- provider capsules: the session of a provider instance (provider.h) --------------------- */

void el__session_set_forward(el_session *s, el__forward_fn fn, void *arg)
{
    s->forward = fn;
    s->forward_arg = arg;
}

/* Makes f (copied) the call s serves, unanswered; the previous one's copy is dropped. */
static el_status take_call(el_session *s, const el__fwd *f, el_error *err)
{
    for (int i = 0; i < 7; i++) {
        free(s->call_strings[i]);
        s->call_strings[i] = NULL;
    }
    json_decref(s->call_body);
    json_decref(s->answer);
    s->call_body = s->answer = NULL;
    s->answered = false;
    s->answer_code = NULL;
    s->answer_msg[0] = 0;
    s->have_call = true;
    s->call = *f;
    const char *src[7] = {f->scheme, f->caller, f->caller_instance, f->resource, f->action, f->op, f->cid};
    for (int i = 0; i < 7; i++)
        if (!(s->call_strings[i] = strdup(src[i] ? src[i] : "")))
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    s->call.scheme = s->call_strings[0];
    s->call.caller = s->call_strings[1];
    s->call.caller_instance = s->call_strings[2];
    s->call.resource = s->call_strings[3];
    s->call.action = s->call_strings[4];
    s->call.op = s->call_strings[5];
    s->call.cid = s->call_strings[6];
    s->call.art = NULL;
    s->call.target = NULL;
    s->call.grants = NULL;
    s->call.n_grants = 0;
    s->call_body = f->body ? json_deep_copy(f->body) : json_null();
    s->call.body = s->call_body;
    return s->call_body ? EL_OK : el_error_set(err, EL_ERR_INTERNAL, "out of memory");
}

void el__session_serve_host(el_session *s, const el__provider_host *h)
{
    s->serving = true;
    s->forward = NULL; /* a provider instance cannot forward in turn: no chains, no loops */
    s->host = *h;
}

/* The codes a provider capsule may fail a call with (docs/protocol.md "Errors"). */
static const char *fail_code(const char *c)
{
    static const char *const codes[] = {"bad_request", "not_found", "denied", "limit", "unavailable", "unsupported",
                                        "internal"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(c, codes[i]))
            return codes[i];
    return NULL;
}

/* get_provider_call, answer_provider_call, fail_provider_call: a provider instance's only way to
 * learn its call and answer it, once. */
static char *provider_op(el_session *s, const el_request *q, size_t *len)
{
    if (!s->serving)
        return el__response_error(q->id, "denied", "only a provider capsule serving a call may do this", len);
    if (q->type == EL_REQ_GET_PROVIDER_CALL && (!s->have_call || s->answered)) { /* the next call: waited for */
        el_error e = {.code = EL_OK, .msg = ""};
        const el__fwd *next = NULL;
        el_status st = s->host.next(s->host.arg, &next, &e);
        if (st == EL_OK)
            st = take_call(s, next, &e);
        if (st != EL_OK)
            return el__response_error(q->id, el__status_code(st), e.msg, len);
    }
    if (q->type == EL_REQ_GET_PROVIDER_CALL) {
        const el__fwd *f = &s->call;
        json_t *r = obj_type("provider_request");
        json_object_set_new(r, "call_id", json_integer((json_int_t)f->call_id));
        json_object_set_new(r, "scheme", json_string(f->scheme));
        json_object_set_new(r, "caller", json_string(f->caller));
        json_object_set_new(r, "caller_instance", json_string(f->caller_instance));
        json_object_set_new(r, "resource", json_string(f->resource));
        json_object_set_new(r, "action", json_string(f->action));
        json_object_set_new(r, "op", json_string(f->op));
        json_object_set_new(r, "body", json_incref(s->call_body));
        return el__response_encode(q->id, r, len);
    }
    if (!s->have_call || el__req_uint(q, "call_id", 0) != s->call.call_id)
        return el__response_error(q->id, "not_found", "no such pending call", len);
    if (s->answered)
        return el__response_error(q->id, "bad_request", "this call was already answered", len);
    if (q->type == EL_REQ_FAIL_PROVIDER_CALL) {
        const char *code = fail_code(el__req_str(q, "code"));
        if (!code)
            return el__response_error(q->id, "bad_request", "code: not a protocol error code", len);
        s->answer_code = code;
        snprintf(s->answer_msg, sizeof s->answer_msg, "%.200s", el__req_str(q, "message"));
        for (char *p = s->answer_msg; *p; p++) /* one line: it reaches the consumer */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    } else {
        s->answer = json_incref(json_object_get(q->body, "result"));
    }
    s->answered = true;
    s->host.answer(s->host.arg, s->call.call_id, s->answer, s->answer_code, s->answer_msg);
    return el__response_encode(q->id, obj_type("ok"), len);
}

char *el_broker_session_handle(el_session *s, const void *msg, size_t msg_len, size_t *len)
{
    el_request q;
    uint64_t id = 0;
    el_error err;
    /* The SDKs' plain hot requests skip the jansson tree; anything else is the full parser's. */
    if (!el__request_fast(msg, msg_len, &q) && el__request_parse(msg, msg_len, &q, &id, &err) != EL_OK) {
        /* A refused body with the expected id still counts, or client and runtime would stay
         * out of step for good (docs/protocol.md). */
        if (id && id == s->last_id + 1)
            s->last_id = id;
        return el__response_error(id, "bad_request", err.msg, len);
    }
    if (q.id != s->last_id + 1) {
        char m[128];
        snprintf(m, sizeof m, "request id %llu out of order (expected %llu)", (unsigned long long)q.id,
                 (unsigned long long)s->last_id + 1);
        el__request_free(&q);
        return el__response_error(q.id, "bad_request", m, len);
    }
    s->last_id = q.id;
    char *resp;
    switch (q.type) {
    case EL_REQ_PING:
        resp = el__response_type(q.id, "pong", len);
        break;
    case EL_REQ_GET_RUNTIME_INFO: {
        json_t *r = obj_type("runtime_info");
        json_object_set_new(r, "version", json_string(EL_VERSION));
        json_object_set_new(r, "capsule_name", json_string(s->m->name));
        json_object_set_new(r, "capsule_id", json_string(s->capsule_id));
        json_object_set_new(r, "capsule_address", json_string(s->storage_key));
        resp = el__response_encode(q.id, r, len);
        break;
    }
    case EL_REQ_REQUEST_CAPABILITY:
        resp = request_capability(s, &q, len);
        break;
    case EL_REQ_GRANT_CAPABILITY:
    case EL_REQ_DENY_CAPABILITY:
    case EL_REQ_REVOKE_CAPABILITY:
    case EL_REQ_GET_DECISION_REQUEST:
    case EL_REQ_ASK_USER:
        resp = shell_op(s, &q, len);
        break;
    case EL_REQ_GET_PROVIDER_CALL:
    case EL_REQ_ANSWER_PROVIDER_CALL:
    case EL_REQ_FAIL_PROVIDER_CALL:
        resp = provider_op(s, &q, len);
        break;
    default: /* everything else is a provider's (the table in provider.c) */
        resp = provide(s, &q, len);
    }
    el__request_free(&q);
    return resp;
}
