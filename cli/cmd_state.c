/* cmd_state.c - `elastos audit show [--json] | verify`, `elastos tokens list | revoke ID` and
 * `elastos epoch bump`: the operator's view of the state database (tokens, epoch, audit log). */
#include "cli.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elastos/audit.h"
#include "elastos/launch.h"
#include "elastos/manifest.h"
#include "elastos/token.h"

/* "2025-11-24T15:18:00.123Z" (with_ms) or "2025-11-24T15:18:00Z", UTC. */
static void iso_time(int64_t ms, bool with_ms, char out[40])
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 40, "@%" PRId64, ms);
        return;
    }
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, with_ms ? ".%03dZ" : "Z", (int)frac);
}

/* Prints a field as one shell-safe word: "-" when empty, control bytes, spaces, quotes and
 * backslashes as \xNN (the log holds what capsules asked for: never let it forge a line). */
static void put_word(const char *s)
{
    if (!*s) {
        fputs("-", stdout);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || *p == '\\' || *p == '"')
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

/* Prints a field in double quotes, escaping quotes, backslashes and control bytes. */
static void put_quoted(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

typedef struct show_state {
    bool json, failed;
    int64_t n;
} show_state;

/* A JSON string for s; bytes that are not valid UTF-8 become \xNN text. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t len = strlen(s);
    char *buf = malloc(4 * len + 1), *o = buf;
    if (!buf)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        o += *p < 0x80 ? sprintf(o, "%c", *p) : sprintf(o, "\\x%02x", *p);
    *o = 0;
    j = json_string(buf);
    free(buf);
    return j;
}

static int show_one(const el_audit_record *r, void *arg)
{
    show_state *st = arg;
    char when[40];
    iso_time(r->ts_ms, true, when);
    if (st->json) {
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
        json_object_set_new(o, "ts_ms", json_integer((json_int_t)r->ts_ms));
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "decision", jstr(r->decision));
        json_object_set_new(o, "capsule", jstr(r->capsule));
        json_object_set_new(o, "capsule_id", jstr(r->capsule_id));
        json_object_set_new(o, "publisher", jstr(r->publisher));
        json_object_set_new(o, "resource", jstr(r->resource));
        json_object_set_new(o, "action", jstr(r->action));
        json_object_set_new(o, "reason", jstr(r->reason));
        json_object_set_new(o, "token_id", jstr(r->token_id));
        char *text = o && json_object_size(o) == 11 ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!text) {
            st->failed = true;
            return 1;
        }
        printf("%s\n  %s", st->n ? "," : "[", text);
        free(text);
    } else {
        printf("%" PRId64 " %s ", r->seq, when);
        put_word(r->decision);
        fputs(" capsule=", stdout);
        put_word(r->capsule);
        fputs(" resource=", stdout);
        put_word(r->resource);
        fputs(" action=", stdout);
        put_word(r->action);
        fputs(" reason=", stdout);
        put_quoted(r->reason);
        fputs(" token=", stdout);
        put_word(r->token_id);
        putchar('\n');
    }
    st->n++;
    return 0;
}

static int audit_show(bool json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    show_state st = {.json = json};
    el_error err;
    el_status s = el_audit_each(rt, show_one, &st, &err);
    el_runtime_close(rt);
    if (json)
        fputs(st.n ? "\n]\n" : "[]\n", stdout);
    if (s != EL_OK)
        return cli_fail(&err);
    if (st.failed)
        return cli_failf(EL_ERR_INTERNAL, "audit show: cannot encode record %" PRId64 " as JSON", st.n + 1);
    return 0;
}

static int audit_verify(bool as_json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    int64_t n = 0, bad = 0;
    el_error err;
    el_status s = el_audit_verify(rt, &n, &bad, &err);
    el_runtime_close(rt);
    if (s != EL_OK)
        return cli_fail(&err);
    if (as_json)
        printf("{\"records\":%" PRId64 ",\"intact\":true}\n", n);
    else
        printf("audit: %" PRId64 " record%s, chain intact\n", n, n == 1 ? "" : "s");
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("audit", "missing subcommand");
    if (!strcmp(argv[1], "show")) {
        bool json = false;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--json") && !json)
                json = true;
            else
                return cli_usage("audit", "unexpected argument \"%s\"", argv[i]);
        }
        return audit_show(json);
    }
    if (!strcmp(argv[1], "verify")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
            return cli_usage("audit", "verify takes only --json");
        return audit_verify(argc == 3);
    }
    return cli_usage("audit", "unknown subcommand \"%s\"", argv[1]);
}

/* Records an operator action; on failure reports that the action itself did happen. */
static int audit_operator(el_runtime *rt, const el_audit_record *r, const char *done)
{
    el_error err;
    if (el_audit_append(rt, r, &err) == EL_OK)
        return 0;
    el_error_prefix(&err, "%s, but the audit record was not written", done);
    return cli_fail(&err);
}

static bool token_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == EL_TOKEN_ID_HEX - 1;
}

static const char *token_state(const el_token_info *t, uint64_t now)
{
    if (t->revoked)
        return "revoked";
    if (t->expiry && t->expiry <= now)
        return "expired";
    if (t->max_uses && t->uses >= t->max_uses)
        return "used-up";
    return "active";
}

static int cmp_info_id(const void *a, const void *b)
{
    return strcmp(((const el_token_info *)a)->id, ((const el_token_info *)b)->id);
}

typedef struct use_count {
    el_token_info *sorted; /* by id */
    uint64_t *n;           /* uses recorded, parallel to sorted */
    size_t len;
} use_count;

/* el_audit_each: one "use" record is one use of its token. */
static int count_use(const el_audit_record *r, void *arg)
{
    use_count *u = arg;
    if (strcmp(r->decision, EL_AUDIT_USE) || !*r->token_id)
        return 0;
    el_token_info key;
    snprintf(key.id, sizeof key.id, "%s", r->token_id);
    el_token_info *t = bsearch(&key, u->sorted, u->len, sizeof *u->sorted, cmp_info_id);
    if (t)
        u->n[t - u->sorted]++;
    return 0;
}

/* The uses recorded of each of v[0..n) into uses[]: the runtime's own counter for a token with a
 * use limit (what the use-count check enforces), else the audit log's "use" records of it (every
 * use that passed the token checks is one; a use reaches the log within ~0.1 s). */
static el_status token_uses(el_runtime *rt, const el_token_info *v, size_t n, uint64_t *uses, el_error *err)
{
    use_count u = {.sorted = malloc((n ? n : 1) * sizeof *v), .n = calloc(n ? n : 1, sizeof *u.n), .len = n};
    if (!u.sorted || !u.n) {
        free(u.sorted);
        free(u.n);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    if (n) { /* v is NULL when no token was ever issued */
        memcpy(u.sorted, v, n * sizeof *v);
        qsort(u.sorted, n, sizeof *v, cmp_info_id);
    }
    el_status st = el_audit_each(rt, count_use, &u, err);
    for (size_t i = 0; st == EL_OK && i < n; i++) {
        el_token_info *t = bsearch(&v[i], u.sorted, n, sizeof *v, cmp_info_id);
        uses[i] = v[i].max_uses ? v[i].uses : t ? u.n[t - u.sorted] : 0;
    }
    free(u.sorted);
    free(u.n);
    return st;
}

static int cmp_instance(const void *a, const void *b)
{
    return strcmp(((const el_instance_id *)a)->id, ((const el_instance_id *)b)->id);
}

/* live[i]: whether token i's holder instance runs now (el_launch_running). */
static el_status tokens_live(el_runtime *rt, const el_token_info *v, size_t n, bool *live, el_error *err)
{
    el_instance_id *ids = NULL;
    size_t k = 0;
    el_status st = el_launch_running(rt, &ids, &k, err);
    if (st != EL_OK)
        return st;
    if (k) /* ids is NULL when nothing runs */
        qsort(ids, k, sizeof *ids, cmp_instance);
    for (size_t i = 0; i < n; i++) {
        el_instance_id key;
        snprintf(key.id, sizeof key.id, "%s", v[i].holder);
        live[i] = k && bsearch(&key, ids, k, sizeof *ids, cmp_instance);
    }
    free(ids);
    return EL_OK;
}

static int tokens_list(bool as_json, bool all)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_token_info *v = NULL;
    size_t n = 0;
    el_error err;
    uint64_t *uses = NULL;
    bool *live = NULL;
    el_status s = el_token_list(rt, &v, &n, &err);
    if (s == EL_OK && (!(uses = calloc(n ? n : 1, sizeof *uses)) || !(live = calloc(n ? n : 1, sizeof *live))))
        s = el_error_set(&err, EL_ERR_INTERNAL, "out of memory");
    if (s == EL_OK)
        s = token_uses(rt, v, n, uses, &err);
    if (s == EL_OK)
        s = tokens_live(rt, v, n, live, &err);
    el_runtime_close(rt);
    if (s != EL_OK) {
        free(v);
        free(uses);
        free(live);
        return cli_fail(&err);
    }
    uint64_t now = (uint64_t)time(NULL);
    size_t hidden = 0;
    json_t *arr = as_json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const el_token_info *t = &v[i];
        if (!all && !live[i]) {
            hidden++;
            continue;
        }
        const char *act = el_manifest_action_name(t->action);
        char exp[40] = "never";
        if (t->expiry)
            iso_time((int64_t)t->expiry * 1000, false, exp);
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_string(t->id));
            json_object_set_new(o, "capsule", jstr(t->capsule));
            json_object_set_new(o, "holder", jstr(t->holder));
            json_object_set_new(o, "holder_running", json_boolean(live[i]));
            json_object_set_new(o, "resource", jstr(t->resource));
            json_object_set_new(o, "action", json_string(act ? act : "?"));
            json_object_set_new(o, "uses", json_integer((json_int_t)uses[i]));
            json_object_set_new(o, "max_uses", json_integer(t->max_uses));
            json_object_set_new(o, "expires", json_string(exp));
            json_object_set_new(o, "state", json_string(token_state(t, now)));
            json_array_append_new(arr, o);
            continue;
        }
        printf("%s capsule=", t->id);
        put_word(t->capsule);
        fputs(" resource=", stdout);
        put_word(t->resource);
        printf(" action=%s uses=%" PRIu64 "/", act ? act : "?", uses[i]);
        if (t->max_uses)
            printf("%" PRIu32, t->max_uses);
        else
            fputs("unlimited", stdout);
        printf(" expires=%s %s\n", exp, token_state(t, now)); /* --json also says holder_running */
    }
    if (arr) {
        char *text = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(arr);
    }
    if (hidden)
        cli_note("%zu token%s of instances that have exited not shown (tokens list --all shows them)", hidden,
                 hidden == 1 ? "" : "s");
    free(v);
    free(uses);
    free(live);
    return 0;
}

static int tokens_revoke(const char *id)
{
    if (!token_id_ok(id))
        return cli_usage("tokens", "a token id is %d lowercase hex characters", EL_TOKEN_ID_HEX - 1);
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    if (el_token_revoke(rt, id, &err) != EL_OK) {
        el_runtime_close(rt);
        return cli_fail(&err);
    }
    /* Name what was revoked in the record when this host issued the token. */
    el_token_info *v = NULL, *t = NULL;
    size_t n = 0;
    if (el_token_list(rt, &v, &n, &err) == EL_OK)
        for (size_t i = 0; i < n && !t; i++)
            if (!strcmp(v[i].id, id))
                t = &v[i];
    const char *act = t ? el_manifest_action_name(t->action) : NULL;
    el_audit_record r = {.capsule = t ? t->capsule : "", .capsule_id = t ? t->holder : "",
                         .resource = t ? t->resource : "", .action = act ? act : "",
                         .decision = EL_AUDIT_REVOKE, .reason = "revoked by operator", .token_id = id};
    char done[96];
    snprintf(done, sizeof done, "token %s revoked", id);
    rc = audit_operator(rt, &r, done);
    free(v);
    el_runtime_close(rt);
    if (!rc)
        cli_note("revoked token %s%s", id, t ? "" : " (not issued here: it can never be used)");
    return rc;
}

int cmd_tokens(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("tokens", "missing subcommand");
    if (!strcmp(argv[1], "list")) {
        bool json = false, all = false;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--json") && !json)
                json = true;
            else if (!strcmp(argv[i], "--all") && !all)
                all = true;
            else
                return cli_usage("tokens", "list takes only --json and --all");
        }
        return tokens_list(json, all);
    }
    if (!strcmp(argv[1], "revoke")) {
        if (argc != 3)
            return cli_usage("tokens", "revoke takes one token id");
        return tokens_revoke(argv[2]);
    }
    return cli_usage("tokens", "unknown subcommand \"%s\"", argv[1]);
}

int cmd_epoch(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("epoch", "missing subcommand");
    if (strcmp(argv[1], "bump"))
        return cli_usage("epoch", "unknown subcommand \"%s\"", argv[1]);
    if (argc != 2)
        return cli_usage("epoch", "bump takes no arguments");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    uint64_t epoch = 0;
    el_error err;
    if (el_token_epoch_bump(rt, &epoch, &err) != EL_OK) {
        el_runtime_close(rt);
        return cli_fail(&err);
    }
    char reason[128], done[64];
    snprintf(reason, sizeof reason, "epoch bumped to %" PRIu64 " by operator: every earlier token revoked", epoch);
    snprintf(done, sizeof done, "epoch bumped to %" PRIu64, epoch);
    el_audit_record r = {.decision = EL_AUDIT_EPOCH, .reason = reason};
    rc = audit_operator(rt, &r, done);
    el_runtime_close(rt);
    printf("%" PRIu64 "\n", epoch);
    return rc;
}
