/*
 * shell - the default shell capsule: the policy half of the capability flow (SPEC section 1).
 * The runtime runs it once per undecided capability request. It decides, in this order:
 *   1. the first matching rule of /config/policy ($ELASTOS_HOME/shell/policy on the host);
 *   2. on a terminal (ELASTOS_SHELL_TTY=1): asks the user - once, for this run, always, deny;
 *      "always" appends an allow rule for NAME@PUBLISHER to the policy file;
 *   3. otherwise, the daemon's console when there is one (elastos_ask_user: the operator answers
 *      in the browser, the same four answers, "always" remembered alike; 60 s, then deny);
 *   4. otherwise: deny.
 * Policy lines (allow|deny WHO RESOURCE ACTIONS, WHO and RESOURCE percent-encoded) are parsed,
 * matched and encoded by policy.c, the one implementation, shared with `elastos policy`
 * (resources never contain '%', so decoding is unambiguous). The "always" line is written
 * encoded, so it means exactly the request that was approved: a resource with "#" or spaces
 * cannot turn into a comment or into extra fields. The whole file is parsed before any line is
 * applied: a malformed line anywhere denies everything (fail closed) and says which line.
 */
#include <elastos/guest.h>

#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY "/config/policy"

/* Returns 1 allow, 0 deny, -1 no rule matched, -2 malformed (reason filled): the policy file
 * read whole, then decided by the one policy-line parser (policy.c). */
static int consult_policy(const ElastosDecisionRequest *q, char *reason, size_t cap)
{
    FILE *f = fopen(POLICY, "r");
    if (!f)
        return -1;
    char *text = malloc(SHELL_POLICY_MAX + 1);
    size_t len = text ? fread(text, 1, SHELL_POLICY_MAX + 1, f) : 0;
    int err = !text || ferror(f);
    fclose(f);
    if (err) {
        snprintf(reason, cap, "the policy file is unreadable");
        free(text);
        return -2;
    }
    text[len] = 0;
    shell_policy_query pq = {.name = q->capsule_name, .publisher = q->publisher, .resource = q->resource,
                             .action = q->action};
    int lineno;
    int v = shell_policy_decide(text, len, &pq, &lineno, reason, cap);
    free(text);
    return v;
}

/* Appends the "always" line for q: encoded by policy.c, so it means exactly this request. */
static void remember(const ElastosDecisionRequest *q)
{
    shell_policy_rule *r = calloc(1, sizeof *r);
    char *line = malloc(SHELL_POLICY_LINE_MAX);
    size_t n = 0;
    if (r && line && strlen(q->capsule_name) + strlen(q->publisher) + 1 < sizeof r->who &&
        strlen(q->resource) < sizeof r->res && strlen(q->action) < sizeof r->acts) {
        r->allow = 1;
        snprintf(r->who, sizeof r->who, "%s@%s", q->capsule_name, q->publisher);
        snprintf(r->res, sizeof r->res, "%s", q->resource);
        snprintf(r->acts, sizeof r->acts, "%s", q->action);
        n = shell_policy_format(r, line, SHELL_POLICY_LINE_MAX);
    }
    FILE *f = n ? fopen(POLICY, "a") : NULL;
    if (f) {
        fwrite(line, 1, n, f);
        fclose(f);
    } else {
        fprintf(stderr, "shell: could not save the \"always\" answer to the policy file\n");
    }
    free(line);
    free(r);
}

static char ask(const ElastosDecisionRequest *q)
{
    for (int tries = 0; tries < 5; tries++) {
        printf("\nelastos: capsule \"%s\" (instance %.8s, publisher %.24s...) asks to %s\n  %s\n"
               "  [o]nce = this one use only, [r]un = until this run ends, [a]lways = also later runs\n"
               "  (saved to the policy file)\n"
               "  allow [o]nce, for this [r]un, [a]lways, or [d]eny? ",
               q->capsule_name, q->capsule_id, q->publisher, q->action, q->resource);
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof line, stdin))
            return 'd';
        char c = line[0];
        if (c == 'o' || c == 'r' || c == 'a' || c == 'd')
            return c;
    }
    return 'd';
}

/* No terminal: asks the daemon's console (elastos_ask_user), and decides by its answer as the
 * terminal's ("always" remembered the same way). Nobody to ask ("no_console": plain run, or a
 * daemon without a console) denies as before; nobody answering in time denies, saying so. */
static int ask_console(RuntimeClient *c, const ElastosDecisionRequest *q)
{
    char *answer = NULL;
    if (elastos_ask_user(c, q->request_id, 0, &answer) != 0) {
        const char *code = elastos_client_error_code(c);
        char why[300];
        if (!strcmp(code, "no_console"))
            snprintf(why, sizeof why, "no policy rule matches and there is no terminal to ask");
        else
            snprintf(why, sizeof why, "no policy rule matches and nobody answered in the console (%.200s)",
                     elastos_client_error(c));
        return elastos_deny_capability(c, q->request_id, why);
    }
    int rc;
    if (!strcmp(answer, "always"))
        remember(q);
    if (!strcmp(answer, "once") || !strcmp(answer, "run") || !strcmp(answer, "always"))
        rc = elastos_grant_capability(c, q->request_id, answer, NULL);
    else
        rc = elastos_deny_capability(c, q->request_id, "denied in the console");
    free(answer);
    return rc;
}

int main(void)
{
    RuntimeClient *c = elastos_client_open();
    if (!c)
        return 2;
    ElastosDecisionRequest q;
    if (elastos_get_decision_request(c, &q) != 0) {
        fprintf(stderr, "shell: %s\n", elastos_client_error(c));
        elastos_client_close(c);
        return 1;
    }
    char reason[256] = "";
    int rc = 0;
    int v = consult_policy(&q, reason, sizeof reason);
    if (v == 1) {
        rc = elastos_grant_capability(c, q.request_id, "run", NULL);
    } else if (v == 0 || v == -2) {
        rc = elastos_deny_capability(c, q.request_id, reason);
    } else {
        const char *tty = getenv("ELASTOS_SHELL_TTY");
        if (tty && !strcmp(tty, "1")) {
            char a = ask(&q);
            if (a == 'a') {
                remember(&q);
            }
            if (a == 'd')
                rc = elastos_deny_capability(c, q.request_id, "denied by the user");
            else
                rc = elastos_grant_capability(c, q.request_id, a == 'o' ? "once" : a == 'r' ? "run" : "always", NULL);
        } else {
            rc = ask_console(c, &q);
        }
    }
    if (rc != 0)
        fprintf(stderr, "shell: %s\n", elastos_client_error(c));
    elastos_decision_request_free(&q);
    elastos_client_close(c);
    return rc ? 1 : 0;
}
