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
 *   RESOURCE * | exact URI | prefix pattern ending in / *, covering the request
 *   ACTIONS  * | comma-separated actions
 * WHO and RESOURCE are percent-encoded: %XX stands for the byte 0xXX, and a space, tab, '#',
 * '%', control byte or non-ASCII byte must be written so (resources never contain '%', so
 * decoding is unambiguous). The "always" line is written encoded, so it means exactly the
 * request that was approved: a resource with "#" or spaces cannot turn into a comment or into
 * extra fields. The whole file is parsed before any line is applied: a malformed line anywhere
 * denies everything (fail closed) and says which line is wrong.
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

#define POLICY_MAX (1 << 20) /* bytes of policy file read; a longer file is malformed */
#define FIELD_MAX 4096

/* Percent-decodes in[0..n) into out (FIELD_MAX bytes); false on a bad escape, a NUL or overflow. */
static int pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned char)in[i];
        if (v == '%') {
            if (i + 2 >= n)
                return 0;
            char hex[3] = {in[i + 1], in[i + 2], 0}, *end;
            if (!((hex[0] >= '0' && hex[0] <= '9') || (hex[0] >= 'A' && hex[0] <= 'F') || (hex[0] >= 'a' && hex[0] <= 'f')) ||
                !((hex[1] >= '0' && hex[1] <= '9') || (hex[1] >= 'A' && hex[1] <= 'F') || (hex[1] >= 'a' && hex[1] <= 'f')))
                return 0;
            v = (unsigned)strtoul(hex, &end, 16);
            i += 2;
            if (v == 0)
                return 0;
        }
        if (o + 1 >= FIELD_MAX)
            return 0;
        out[o++] = (char)v;
    }
    out[o] = 0;
    return 1;
}

/* Writes s percent-encoded (see the header) to f. */
static void pct_encode(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '#' || *p == '%')
            fprintf(f, "%%%02X", *p);
        else
            fputc(*p, f);
    }
}

typedef struct rule {
    int allow, lineno;
    char who[FIELD_MAX], res[FIELD_MAX], acts[256];
} rule;

/* Parses one line (comment already cut) into r; 0 blank, 1 rule, -1 malformed. */
static int parse_line(char *line, rule *r)
{
    char *tok[5];
    int n = 0;
    for (char *p = line; *p && n < 5;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            break;
        tok[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (*p)
            *p++ = 0;
    }
    if (n == 0)
        return 0;
    if (n != 4 || (strcmp(tok[0], "allow") && strcmp(tok[0], "deny")) || strlen(tok[3]) >= sizeof r->acts ||
        !pct_decode(tok[1], strlen(tok[1]), r->who) || !pct_decode(tok[2], strlen(tok[2]), r->res))
        return -1;
    r->allow = !strcmp(tok[0], "allow");
    strcpy(r->acts, tok[3]);
    return 1;
}

static int rule_matches(const rule *r, const ElastosDecisionRequest *q)
{
    const char *who = r->who, *at = strchr(who, '@');
    size_t nl = strlen(q->capsule_name);
    int who_ok = !strcmp(who, "*") || !strcmp(who, q->capsule_name) ||
                 (!strncmp(who, "publisher:", 10) && !strcmp(who + 10, q->publisher)) ||
                 (at && (size_t)(at - who) == nl && !strncmp(who, q->capsule_name, nl) && !strcmp(at + 1, q->publisher));
    return who_ok && covers(r->res, q->resource) && action_listed(r->acts, q->action);
}

/* Returns 1 allow, 0 deny, -1 no rule matched, -2 malformed (reason filled). The whole file
 * is read and every line parsed before the first matching rule decides. */
static int consult_policy(const ElastosDecisionRequest *q, char *reason, size_t cap)
{
    FILE *f = fopen(POLICY, "r");
    if (!f)
        return -1;
    char *text = malloc(POLICY_MAX + 1);
    size_t len = text ? fread(text, 1, POLICY_MAX + 1, f) : 0;
    int err = !text || ferror(f);
    fclose(f);
    if (err || len > POLICY_MAX) {
        snprintf(reason, cap, "the policy file is %s", err ? "unreadable" : "larger than 1 MiB");
        free(text);
        return -2;
    }
    text[len] = 0;
    if (memchr(text, 0, len)) { /* a NUL would hide the rest of its line */
        snprintf(reason, cap, "the policy file contains a NUL byte");
        free(text);
        return -2;
    }
    rule *r = malloc(sizeof *r);
    int verdict = -1, lineno = 0;
    char *line = text;
    while (r && line && *line) {
        char *nl = strchr(line, '\n'), *hash;
        if (nl)
            *nl = 0;
        lineno++;
        if ((hash = strchr(line, '#')))
            *hash = 0;
        int k = parse_line(line, r);
        if (k < 0) { /* anywhere in the file, even after a matching line: everything is denied */
            snprintf(reason, cap, "policy line %d is malformed (want: allow|deny WHO RESOURCE ACTIONS,"
                     " WHO and RESOURCE percent-encoded)", lineno);
            verdict = -2;
            break;
        }
        if (k > 0 && verdict == -1 && rule_matches(r, q)) {
            verdict = r->allow;
            snprintf(reason, cap, "policy line %d: %s", lineno, r->allow ? "allow" : "deny");
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!r) {
        snprintf(reason, cap, "out of memory reading the policy");
        verdict = -2;
    }
    free(r);
    free(text);
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
                    fputs("allow ", f);
                    pct_encode(f, q.capsule_name);
                    fputc('@', f);
                    pct_encode(f, q.publisher);
                    fputc(' ', f);
                    pct_encode(f, q.resource);
                    fprintf(f, " %s\n", q.action);
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
