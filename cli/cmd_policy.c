/*
 * cmd_policy.c - `elastos policy list|add|remove|check`: the operator's view and editing of the
 * default shell's policy file, $ELASTOS_HOME/shell/policy (docs/capabilities.md).
 *
 * Every line is read, written and decided by capsules/shell/policy.c, the same code the shell
 * capsule is built from, so `list` shows what the shell sees, `add` writes a line the shell will
 * read back exactly (WHO and RESOURCE percent-encoded), and `check` gives the shell's answer.
 * An edit is atomic: the new file is written beside the old one (O_EXCL, 0600, fsync) and renamed
 * over it only when the whole new text parses; a malformed file is never edited (fix it first),
 * so nothing is ever half-written.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elastos/fs.h"
#include "elastos/manifest.h"
#include "elastos/sign.h"
#include "elastos/token.h"
#include "policy.h"

#define WHY_MAX 320

/* The policy file of rt's home into path (PATH_MAX) and, when it exists, its text (*text
 * malloc'd, NUL-terminated; NULL and *len 0 when absent). 0 or a printed error's exit code. */
static int read_policy(el_runtime *rt, char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    snprintf(path, PATH_MAX, "%s/shell/policy", el_runtime_home(rt));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : cli_failf(EL_ERR_CONFIG, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cli_failf(EL_ERR_CONFIG, "%s: not a regular file", path);
    }
    char *buf = malloc(SHELL_POLICY_MAX + 2);
    size_t n = 0;
    ssize_t k = 1;
    while (buf && n < SHELL_POLICY_MAX + 1 && (k = read(fd, buf + n, SHELL_POLICY_MAX + 1 - n)) > 0)
        n += (size_t)k;
    close(fd);
    if (!buf || k < 0) {
        free(buf);
        return cli_failf(EL_ERR_IO, "%s: cannot read it", path);
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}

/* Checks text whole with the shell's parser; 0, or 65 printed naming the line. */
static int check_text(const char *path, const char *text, size_t len, shell_policy_rule *scratch)
{
    char why[WHY_MAX];
    if (shell_policy_walk(text, len, scratch, NULL, NULL, why, sizeof why) == 0)
        return 0;
    return cli_failf(EL_ERR_FORMAT, "%s: %s: the shell denies every request until it is fixed", path, why);
}

typedef struct list_state {
    json_t *arr;
    size_t n;
} list_state;

static int list_one(const shell_policy_rule *r, void *arg)
{
    list_state *ls = arg;
    ls->n++;
    if (ls->arr) {
        json_t *o = json_object();
        json_object_set_new(o, "line", json_integer(r->lineno));
        json_object_set_new(o, "decision", json_string(r->allow ? "allow" : "deny"));
        json_object_set_new(o, "who", json_string(r->who));
        json_object_set_new(o, "resource", json_string(r->res));
        json_object_set_new(o, "actions", json_string(r->acts));
        if (json_object_size(o) != 5) { /* a field that is not UTF-8 */
            json_decref(o);
            return 1;
        }
        json_array_append_new(ls->arr, o);
        return 0;
    }
    char *line = malloc(SHELL_POLICY_LINE_MAX);
    size_t n = line ? shell_policy_format(r, line, SHELL_POLICY_LINE_MAX) : 0;
    if (!n) {
        free(line);
        return 1;
    }
    printf("%4d  %s", r->lineno, line); /* the canonical (encoded) form: one line, always */
    free(line);
    return 0;
}

static int policy_list(bool as_json)
{
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char path[PATH_MAX], *text;
    size_t len;
    rc = read_policy(rt, path, &text, &len);
    el_runtime_close(rt);
    shell_policy_rule *r = malloc(sizeof *r);
    if (!rc && !r)
        rc = cli_failf(EL_ERR_INTERNAL, "out of memory");
    if (!rc && text)
        rc = check_text(path, text, len, r);
    list_state ls = {.arr = as_json ? json_array() : NULL};
    if (!rc && text && shell_policy_walk(text, len, r, list_one, &ls, (char[WHY_MAX]){0}, WHY_MAX) != 0)
        rc = cli_failf(EL_ERR_INTERNAL, "policy list: cannot show line %zu", ls.n);
    if (!rc && ls.arr) {
        char *s = json_dumps(ls.arr, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
        free(s);
    }
    if (!rc && !ls.n)
        cli_note("%s: %s: the shell asks on a terminal, or denies", path, text ? "no rules" : "no policy file");
    json_decref(ls.arr);
    free(r);
    free(text);
    return rc;
}

/* Whether pattern is a resource pattern as the runtime names resources: "*", a URI, or a URI
 * prefix ending in "/" "*" (judged by the runtime's own matcher, el_token_resource_match). */
static bool resource_ok(const char *pattern)
{
    size_t n = strlen(pattern);
    if (!strcmp(pattern, "*"))
        return true;
    if (n >= 2 && !strcmp(pattern + n - 2, "/*")) {
        char below[EL_RESOURCE_MAX + 2];
        if (n + 1 > sizeof below)
            return false;
        snprintf(below, sizeof below, "%.*sx", (int)(n - 1), pattern);
        return el_token_resource_match(pattern, below);
    }
    return el_token_resource_match(pattern, pattern);
}

/* Whether acts is "*" or a comma-separated list of known actions, each once. */
static bool actions_ok(const char *acts)
{
    if (!strcmp(acts, "*"))
        return true;
    unsigned seen = 0;
    char buf[SHELL_POLICY_ACTS_MAX], *save = NULL;
    if (!*acts || strlen(acts) >= sizeof buf || acts[strlen(acts) - 1] == ',' || strstr(acts, ",,") || acts[0] == ',')
        return false;
    snprintf(buf, sizeof buf, "%s", acts);
    for (char *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        unsigned bit = el_manifest_action_from_name(a);
        if (!bit || (seen & bit))
            return false;
        seen |= bit;
    }
    return true;
}

/* Writes text[0..len) as path atomically (el_fs_write_file_atomic: a file beside it, synced,
 * renamed over it), making the shell's directory first. 0 or a printed error's code; on
 * failure path is unchanged. */
static int write_atomic(const char *path, const char *text, size_t len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    el_error err;
    if (el_fs_mkdirs(dir, 0700, &err) != EL_OK || el_fs_write_file_atomic(path, text, len, 0600, &err) != EL_OK)
        return cli_fail(&err);
    return 0;
}

typedef struct find_state {
    const shell_policy_rule *want;
    int found;
} find_state;

static int find_same(const shell_policy_rule *r, void *arg)
{
    find_state *f = arg;
    if (r->allow == f->want->allow && !strcmp(r->who, f->want->who) && !strcmp(r->res, f->want->res) &&
        !strcmp(r->acts, f->want->acts))
        f->found = r->lineno;
    return f->found != 0;
}

/* The 1-based number of the line at byte off of text. */
static int line_of(const char *text, size_t off)
{
    int n = 1;
    for (size_t i = 0; i < off; i++)
        n += text[i] == '\n';
    return n;
}

static int policy_add(int argc, char **argv)
{
    const char *f[4];
    int nf = 0;
    bool first = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--first"))
            first = true;
        else if (nf < 4 && (argv[i][0] != '-' || nf > 0))
            f[nf++] = argv[i];
        else
            return cli_usage("policy", "add: unexpected argument \"%s\"", argv[i]);
    }
    if (nf != 4)
        return cli_usage("policy", "add needs allow|deny WHO RESOURCE ACTIONS");
    if (strcmp(f[0], "allow") && strcmp(f[0], "deny"))
        return cli_usage("policy", "add: the decision is allow or deny, not \"%s\"", f[0]);
    int broad;
    char why[WHY_MAX];
    if (!shell_policy_who_valid(f[1], &broad, why, sizeof why))
        return cli_usage("policy", "add: %s (got \"%.80s\")", why, f[1]);
    if (strlen(f[2]) >= SHELL_POLICY_FIELD_MAX || !resource_ok(f[2]))
        return cli_usage("policy", "add: RESOURCE \"%.200s\" is not * or a resource pattern (scheme://authority/path,"
                         " optionally ending in /*)", f[2]);
    if (!actions_ok(f[3]))
        return cli_usage("policy", "add: ACTIONS \"%.80s\" is not * or a comma-separated list of read, write, execute,"
                         " message, delete, admin", f[3]);
    shell_policy_rule *r = calloc(2, sizeof *r);
    char *line = malloc(SHELL_POLICY_LINE_MAX);
    if (!r || !line) {
        free(r);
        free(line);
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    }
    r->allow = !strcmp(f[0], "allow");
    snprintf(r->who, sizeof r->who, "%s", f[1]);
    snprintf(r->res, sizeof r->res, "%s", f[2]);
    snprintf(r->acts, sizeof r->acts, "%s", f[3]);
    size_t n = shell_policy_format(r, line, SHELL_POLICY_LINE_MAX);
    el_runtime *rt = NULL;
    char path[PATH_MAX], *text = NULL, *next = NULL;
    size_t len = 0;
    int rc = n ? cli_open_runtime(&rt) : cli_failf(EL_ERR_FORMAT, "policy add: the rule cannot be written as one line");
    if (!rc)
        rc = read_policy(rt, path, &text, &len);
    if (!rc && text)
        rc = check_text(path, text, len, r + 1);
    find_state fs = {.want = r};
    if (!rc && text)
        shell_policy_walk(text, len, r + 1, find_same, &fs, why, sizeof why);
    if (!rc && fs.found) {
        cli_note("%s: line %d is this rule already: nothing changed", path, fs.found);
    } else if (!rc) {
        /* The new text: the line first (it then decides before every other) or last. */
        bool sep = !first && len && text[len - 1] != '\n';
        size_t total = len + n + sep;
        if (!(next = malloc(total + 1)))
            rc = cli_failf(EL_ERR_INTERNAL, "out of memory");
        else if (first) {
            memcpy(next, line, n);
            memcpy(next + n, text ? text : "", len);
        } else {
            memcpy(next, text ? text : "", len);
            next[len] = '\n';
            memcpy(next + len + sep, line, n);
        }
        if (!rc && total > SHELL_POLICY_MAX)
            rc = cli_failf(EL_ERR_LIMIT, "%s: the policy file would be larger than 1 MiB", path);
        if (!rc)
            rc = check_text(path, next, total, r + 1); /* what is renamed in must parse whole */
        if (!rc)
            rc = write_atomic(path, next, total);
        if (!rc) {
            printf("added line %d: %s", first ? 1 : line_of(next, len + sep), line);
            if (broad)
                cli_note("WHO \"%s\" matches a capsule of that name from ANY trusted publisher; NAME@PUBLISHER is narrower",
                         f[1]);
        }
    }
    el_runtime_close(rt);
    free(next);
    free(text);
    free(line);
    free(r);
    return rc;
}

/* Byte offsets of line lineno (1-based) of text: [*start, *end), the newline included. */
static bool line_span(const char *text, size_t len, int lineno, size_t *start, size_t *end)
{
    int n = 1;
    size_t i = 0;
    for (; i < len && n < lineno; i++)
        n += text[i] == '\n';
    if (n != lineno || i >= len)
        return false;
    *start = i;
    const char *nl = memchr(text + i, '\n', len - i);
    *end = nl ? (size_t)(nl - text) + 1 : len;
    return true;
}

static int policy_remove(int argc, char **argv)
{
    unsigned long long lineno;
    if (argc != 3)
        return cli_usage("policy", "remove takes one LINE number (see elastos policy list)");
    int rc = cli_parse_uint("policy", "remove LINE", argv[2], 1, 1u << 20, &lineno);
    if (rc)
        return rc;
    el_runtime *rt;
    if ((rc = cli_open_runtime(&rt)))
        return rc;
    char path[PATH_MAX], *text = NULL, *next = NULL;
    size_t len = 0, start = 0, end = 0;
    shell_policy_rule *r = malloc(sizeof *r);
    rc = r ? read_policy(rt, path, &text, &len) : cli_failf(EL_ERR_INTERNAL, "out of memory");
    el_runtime_close(rt);
    if (!rc && !text)
        rc = cli_failf(EL_ERR_NOTFOUND, "%s: no policy file", path);
    if (!rc)
        rc = check_text(path, text, len, r);
    if (!rc && !line_span(text, len, (int)lineno, &start, &end))
        rc = cli_failf(EL_ERR_NOTFOUND, "%s has no line %llu", path, lineno);
    if (!rc) {
        /* Only a rule line: a comment or blank line is not what `policy list` numbered. */
        char *one = strndup(text + start, end - start);
        int is_rule = one && shell_policy_walk(one, strlen(one), r, NULL, NULL, (char[WHY_MAX]){0}, WHY_MAX) == 0;
        char *hash = one ? strchr(one, '#') : NULL;
        if (hash)
            *hash = 0;
        is_rule = is_rule && one && strspn(one, " \t\r\n") != strlen(one);
        free(one);
        if (!is_rule)
            rc = cli_failf(EL_ERR_NOTFOUND, "%s: line %llu is not a rule (see elastos policy list)", path, lineno);
    }
    if (!rc && !(next = malloc(len - (end - start) + 1)))
        rc = cli_failf(EL_ERR_INTERNAL, "out of memory");
    if (!rc) {
        memcpy(next, text, start);
        memcpy(next + start, text + end, len - end);
        rc = write_atomic(path, next, len - (end - start));
    }
    if (!rc)
        printf("removed line %llu: %.*s%s", lineno, (int)(end - start), text + start,
               text[end - 1] == '\n' ? "" : "\n");
    free(next);
    free(text);
    free(r);
    return rc;
}

/* WHO of a check: NAME@ed25519:<hex> as given, or the name and publisher of a capsule
 * (FILE|CID|NAME[@RANGE], verified). 0 or a printed error's code. */
static int check_who(el_runtime *rt, const char *arg, char name[65], char pub[EL_PK_TEXT])
{
    const char *at = strstr(arg, "@ed25519:");
    int broad;
    char why[WHY_MAX];
    if (at) {
        if (!shell_policy_who_valid(arg, &broad, why, sizeof why))
            return cli_usage("policy", "check: %s", why);
        snprintf(name, 65, "%.*s", (int)(at - arg), arg);
        snprintf(pub, EL_PK_TEXT, "%s", at + 1);
        return 0;
    }
    char path[PATH_MAX];
    el_artifact *a;
    el_error err;
    int rc = cli_resolve(rt, arg, path);
    if (rc)
        return rc;
    if (el_artifact_open(rt, path, 0, &a, &err) != EL_OK)
        return cli_fail(&err);
    snprintf(name, 65, "%s", el_artifact_manifest(a)->name);
    el_sign_pubkey_format(el_artifact_publisher(a), pub);
    el_artifact_close(a);
    return 0;
}

static int policy_check(int argc, char **argv)
{
    if (argc != 5)
        return cli_usage("policy", "check needs CAPSULE|NAME@PUBLISHER RESOURCE ACTION");
    if (!el_manifest_action_from_name(argv[4]))
        return cli_usage("policy", "check: unknown action \"%.40s\" (read, write, execute, message, delete, admin)", argv[4]);
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char name[65], pub[EL_PK_TEXT], path[PATH_MAX], *text = NULL;
    size_t len = 0;
    rc = check_who(rt, argv[2], name, pub);
    if (!rc)
        rc = read_policy(rt, path, &text, &len);
    el_runtime_close(rt);
    if (rc)
        return rc;
    shell_policy_query q = {.name = name, .publisher = pub, .resource = argv[3], .action = argv[4]};
    char reason[WHY_MAX] = "";
    int lineno = 0;
    int v = text ? shell_policy_decide(text, len, &q, &lineno, reason, sizeof reason) : -1;
    if (v == -2) {
        free(text);
        return cli_failf(EL_ERR_FORMAT, "%s: %s: the shell denies every request until it is fixed", path, reason);
    }
    cli_verbose("asked as %s@%s for %s %s", name, pub, argv[4], argv[3]);
    if (v >= 0) {
        size_t s = 0, e = 0;
        line_span(text, len, lineno, &s, &e);
        printf("%s: %s line %d: %.*s%s", v ? "allow" : "deny", path, lineno, (int)(e - s), text + s,
               e && text[e - 1] == '\n' ? "" : "\n");
    } else {
        printf("undecided: no line of %s matches: the shell asks on a terminal (once, for this run, always"
               " or deny) and denies without one\n", path);
    }
    free(text);
    return v == 1 ? 0 : v == 0 ? EL_ERR_TRUST : EL_ERR_NOTFOUND;
}

int cmd_policy(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("policy", "missing subcommand");
    if (!strcmp(argv[1], "list")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json")))
            return cli_usage("policy", "list takes only --json");
        return policy_list(argc == 3);
    }
    if (!strcmp(argv[1], "add"))
        return policy_add(argc, argv);
    if (!strcmp(argv[1], "remove"))
        return policy_remove(argc, argv);
    if (!strcmp(argv[1], "check"))
        return policy_check(argc, argv);
    return cli_usage("policy", "unknown subcommand \"%s\" (list, add, remove or check)", argv[1]);
}
