/*
 * shell - the default shell capsule: the policy half of the capability flow (SPEC section 1).
 * The runtime runs it once per undecided capability request. It decides, in this order:
 *   1. the first matching rule of /config/policy ($ELASTOS_HOME/shell/policy on the host);
 *   2. on a terminal (ELASTOS_SHELL_TTY=1): asks the user - once, for this run, always, deny;
 *      "always" appends an allow rule for NAME@PUBLISHER to the policy file;
 *   3. otherwise: deny.
 * Policy lines:  allow|deny  WHO  RESOURCE  ACTIONS      ('#' starts a comment)
 *   WHO      * | NAME@ed25519:<hex> (that publisher's capsule NAME) | publisher:ed25519:<hex>
 *            | NAME (a capsule of that name from ANY trusted publisher: broader, avoid)
 *   RESOURCE * | exact URI | prefix pattern ending in / *  (no space), covering the request
 *   ACTIONS  * | comma-separated actions
 * A malformed policy file denies everything (fail closed) and says which line is wrong.
 */
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY "/config/policy"

static int covers(const char *pattern, const char *resource)
{
    size_t pl = strlen(pattern);
    if (!strcmp(pattern, "*") || !strcmp(pattern, resource))
        return 1;
    /* "P/" + "*" covers anything below P/, including narrower patterns "P/x/" + "*". */
    return pl >= 2 && !strcmp(pattern + pl - 2, "/*") && strlen(resource) > pl - 1 &&
           !strncmp(pattern, resource, pl - 1);
}

static int action_listed(const char *list, const char *action)
{
    if (!strcmp(list, "*"))
        return 1;
    size_t al = strlen(action);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == al && !strncmp(p, action, n))
            return 1;
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

/* Returns 1 allow, 0 deny, -1 no rule matched, -2 malformed (reason filled). */
static int consult_policy(const ElastosDecisionRequest *q, char *reason, size_t cap)
{
    FILE *f = fopen(POLICY, "r");
    if (!f)
        return -1;
    char line[2048];
    int lineno = 0, verdict = -1;
    while (verdict == -1 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char verb[16], who[256], res[1100], acts[256], extra[2];
        int n = sscanf(line, "%15s %255s %1099s %255s %1s", verb, who, res, acts, extra);
        if (n <= 0)
            continue;
        if (n != 4 || (strcmp(verb, "allow") && strcmp(verb, "deny"))) {
            snprintf(reason, cap, "policy line %d is malformed (want: allow|deny WHO RESOURCE ACTIONS)", lineno);
            verdict = -2;
            break;
        }
        const char *at = strchr(who, '@');
        size_t nl = strlen(q->capsule_name);
        int who_ok = !strcmp(who, "*") || !strcmp(who, q->capsule_name) ||
                     (!strncmp(who, "publisher:", 10) && !strcmp(who + 10, q->publisher)) ||
                     (at && (size_t)(at - who) == nl && !strncmp(who, q->capsule_name, nl) &&
                      !strcmp(at + 1, q->publisher));
        if (who_ok && covers(res, q->resource) && action_listed(acts, q->action)) {
            verdict = !strcmp(verb, "allow");
            snprintf(reason, cap, "policy line %d: %s", lineno, verb);
        }
    }
    fclose(f);
    return verdict;
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
                FILE *f = fopen(POLICY, "a");
                if (f) {
                    fprintf(f, "allow %s@%s %s %s\n", q.capsule_name, q.publisher, q.resource, q.action);
                    fclose(f);
                }
            }
            if (a == 'd')
                rc = elastos_deny_capability(c, q.request_id, "denied by the user");
            else
                rc = elastos_grant_capability(c, q.request_id, a == 'o' ? "once" : a == 'r' ? "run" : "always", NULL);
        } else {
            rc = elastos_deny_capability(c, q.request_id, "no policy rule matches and there is no terminal to ask");
        }
    }
    if (rc != 0)
        fprintf(stderr, "shell: %s\n", elastos_client_error(c));
    elastos_decision_request_free(&q);
    elastos_client_close(c);
    return rc ? 1 : 0;
}
