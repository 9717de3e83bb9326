/*
 * policy.c - the default shell's policy lines (policy.h): parsing, matching, deciding and
 * encoding, in one place for the shell capsule and for `elastos policy`. Kept free of I/O so it
 * builds unchanged for wasm32-wasi and for the host, and so a fuzzer can drive it directly.
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }

static unsigned hex_val(char c) { return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10); }

/* Percent-decodes in[0..n) into out (SHELL_POLICY_FIELD_MAX bytes); 0 on a bad escape, an
 * encoded NUL or overflow. */
static int pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned char)in[i];
        if (v == '%') {
            if (i + 2 >= n || !is_hex(in[i + 1]) || !is_hex(in[i + 2]))
                return 0;
            v = hex_val(in[i + 1]) << 4 | hex_val(in[i + 2]);
            i += 2;
            if (v == 0)
                return 0;
        }
        if (o + 1 >= SHELL_POLICY_FIELD_MAX)
            return 0;
        out[o++] = (char)v;
    }
    out[o] = 0;
    return 1;
}

/* Appends s percent-encoded to out at *o (cap bytes); 0 when it does not fit. */
static int pct_encode(const char *s, char *out, size_t cap, size_t *o)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int n = *p <= 0x20 || *p >= 0x7f || *p == '#' || *p == '%'
                    ? snprintf(out + *o, cap - *o, "%%%02X", *p)
                    : snprintf(out + *o, cap - *o, "%c", *p);
        if (n < 0 || (size_t)n >= cap - *o)
            return 0;
        *o += (size_t)n;
    }
    return 1;
}

/* Parses one line (comment already cut) into r; 0 blank, 1 rule, -1 malformed. */
static int parse_line(char *line, shell_policy_rule *r)
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

/* One pass over text[0..len) (cut in place): parses every line, handing each rule to fn when
 * fn is not NULL; 0, fn's nonzero return, or -1 (why filled) at the first malformed line. */
static int walk_pass(char *text, size_t len, shell_policy_rule *r, shell_policy_fn fn, void *arg, char *why, size_t cap)
{
    int lineno = 0;
    for (char *line = text, *stop = text + len; line < stop;) {
        char *nl = memchr(line, '\n', (size_t)(stop - line));
        char *end = nl ? nl : stop;
        *end = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        int k = parse_line(line, r);
        if (k < 0) {
            snprintf(why, cap, "policy line %d is malformed (want: allow|deny WHO RESOURCE ACTIONS,"
                     " WHO and RESOURCE percent-encoded)", lineno);
            return -1;
        }
        if (k > 0 && fn) {
            r->lineno = lineno;
            int rc = fn(r, arg);
            if (rc)
                return rc;
        }
        line = end + 1;
    }
    return 0;
}

int shell_policy_walk(const char *text, size_t len, shell_policy_rule *r, shell_policy_fn fn, void *arg, char *why,
                      size_t cap)
{
    if (len > SHELL_POLICY_MAX) {
        snprintf(why, cap, "the policy file is larger than 1 MiB");
        return -1;
    }
    if (memchr(text, 0, len)) { /* a NUL would hide the rest of its line */
        snprintf(why, cap, "the policy file contains a NUL byte");
        return -1;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        snprintf(why, cap, "out of memory reading the policy");
        return -1;
    }
    /* Every line is checked before the first rule is handed out: one malformed line anywhere,
     * even after the deciding one, makes the whole file malformed (fail closed). */
    memcpy(copy, text, len);
    int rc = walk_pass(copy, len, r, NULL, NULL, why, cap);
    if (rc == 0 && fn) {
        memcpy(copy, text, len);
        rc = walk_pass(copy, len, r, fn, arg, why, cap);
    }
    free(copy);
    return rc;
}

static int covers(const char *pattern, const char *resource)
{
    size_t pl = strlen(pattern);
    if (!strcmp(pattern, "*") || !strcmp(pattern, resource))
        return 1;
    /* "P/" + "*" covers anything below P/, including narrower patterns "P/x/" + "*". */
    return pl >= 2 && !strcmp(pattern + pl - 2, "/*") && strlen(resource) > pl - 1 && !strncmp(pattern, resource, pl - 1);
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

int shell_policy_matches(const shell_policy_rule *r, const shell_policy_query *q)
{
    const char *who = r->who, *at = strchr(who, '@');
    size_t nl = strlen(q->name);
    int who_ok = !strcmp(who, "*") || !strcmp(who, q->name) ||
                 (!strncmp(who, "publisher:", 10) && !strcmp(who + 10, q->publisher)) ||
                 (at && (size_t)(at - who) == nl && !strncmp(who, q->name, nl) && !strcmp(at + 1, q->publisher));
    return who_ok && covers(r->res, q->resource) && action_listed(r->acts, q->action);
}

typedef struct decide_state {
    const shell_policy_query *q;
    int verdict, lineno;
} decide_state;

static int decide_one(const shell_policy_rule *r, void *arg)
{
    decide_state *d = arg;
    if (!shell_policy_matches(r, d->q))
        return 0;
    d->verdict = r->allow;
    d->lineno = r->lineno;
    return 1; /* the first matching line decides (the file was checked whole already) */
}

int shell_policy_decide(const char *text, size_t len, const shell_policy_query *q, int *lineno, char *reason, size_t cap)
{
    *lineno = 0;
    shell_policy_rule *r = malloc(sizeof *r);
    if (!r) {
        snprintf(reason, cap, "out of memory reading the policy");
        return -2;
    }
    decide_state d = {.q = q, .verdict = -1};
    int rc = shell_policy_walk(text, len, r, decide_one, &d, reason, cap);
    free(r);
    if (rc < 0)
        return -2;
    if (d.verdict >= 0) {
        *lineno = d.lineno;
        snprintf(reason, cap, "policy line %d: %s", d.lineno, d.verdict ? "allow" : "deny");
    }
    return d.verdict;
}

size_t shell_policy_format(const shell_policy_rule *r, char *out, size_t cap)
{
    size_t o = 0;
    int n = snprintf(out, cap, "%s ", r->allow ? "allow" : "deny");
    if (n < 0 || (size_t)n >= cap)
        return 0;
    o = (size_t)n;
    if (!pct_encode(r->who, out, cap, &o) || o + 1 >= cap)
        return 0;
    out[o++] = ' ';
    if (!pct_encode(r->res, out, cap, &o))
        return 0;
    n = snprintf(out + o, cap - o, " %s\n", r->acts);
    if (n < 0 || (size_t)n >= cap - o)
        return 0;
    o += (size_t)n;
    /* The line must mean exactly r: parse it back (ACTIONS is written as given). */
    shell_policy_rule *back = malloc(sizeof *back);
    char *copy = malloc(o + 1);
    int same = 0;
    if (back && copy) {
        memcpy(copy, out, o + 1);
        copy[o - 1] = 0; /* the newline */
        same = !strchr(copy, '#') && parse_line(copy, back) == 1 && back->allow == r->allow &&
               !strcmp(back->who, r->who) && !strcmp(back->res, r->res) && !strcmp(back->acts, r->acts);
    }
    free(back);
    free(copy);
    return same ? o : 0;
}

static int pubkey_ok(const char *s)
{
    if (strncmp(s, "ed25519:", 8))
        return 0;
    size_t n = 0;
    for (s += 8; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

static int name_ok(const char *s, size_t n)
{
    int ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-';
    return ok;
}

int shell_policy_who_valid(const char *who, int *broad, char *why, size_t cap)
{
    *broad = 0;
    const char *at = strchr(who, '@');
    if (!strcmp(who, "*"))
        return 1;
    if (!strncmp(who, "publisher:", 10)) {
        if (pubkey_ok(who + 10))
            return 1;
        snprintf(why, cap, "WHO publisher:KEY needs KEY as ed25519:<64 lowercase hex digits>");
        return 0;
    }
    if (at) {
        if (name_ok(who, (size_t)(at - who)) && pubkey_ok(at + 1))
            return 1;
        snprintf(why, cap, "WHO NAME@PUBLISHER needs a capsule name (1-64 of a-z 0-9 . _ -) and ed25519:<64 lowercase hex digits>");
        return 0;
    }
    if (name_ok(who, strlen(who))) {
        *broad = 1;
        return 1;
    }
    snprintf(why, cap, "WHO must be *, NAME@ed25519:<hex>, publisher:ed25519:<hex> or a capsule NAME");
    return 0;
}
