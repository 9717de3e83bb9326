/*
 * manifest.c - the strict parser and validator of capsule.json (SPEC section 3), and the small
 * pieces of grammar it needs: capsule names, safe artifact paths, Semantic Versioning 2.0.0
 * versions and version ranges, resource URI patterns and network allowlist patterns.
 *
 * The manifest is untrusted input (it arrives inside artifacts from anywhere), so the parser is
 * deliberately unforgiving: at most 64 KiB, no NUL byte, valid UTF-8, no duplicate keys, no
 * unknown fields, no wrong types, no out-of-range values. Every refusal is EL_ERR_FORMAT with a
 * one-line message that starts "capsule.json: " and names the field, e.g.
 *   capsule.json: resource_limits.memory_mb: must be an integer between 1 and 65536 (got 0)
 * Values quoted in messages are escaped (non-printable and non-ASCII bytes as \xNN) and
 * truncated, so a hostile manifest cannot inject terminal control sequences or extra lines.
 *
 * Design notes:
 *  - JSON is decoded by jansson (json_loadb, JSON_REJECT_DUPLICATES, without JSON_ALLOW_NUL,
 *    without JSON_DISABLE_EOF_CHECK, so trailing bytes after the value are an error).
 *  - Keys are checked for unknown names first, then required fields, then each field in the
 *    order of the SPEC table, so the first problem reported is deterministic.
 *  - On failure the partially built manifest is released with el_manifest_free, which accepts
 *    any partially filled manifest (counts are set together with their arrays, which are
 *    zero-initialised).
 *  - No global mutable state: everything here is re-entrant.
 */
#include "elastos/manifest.h"
#include "internal.h" /* el__strv_free */

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX_BYTES (64 * 1024)
#define MAX_PERMISSIONS 64
#define MAX_NETWORK 64
#define MAX_DEPENDENCIES 64
#define MAX_AUTHORS 32
#define MAX_AUTHOR_BYTES 256
#define MAX_LICENSE_BYTES 256
#define MAX_DESCRIPTION_BYTES 4096
#define MAX_BOOT_ARGS_BYTES 1024
#define MAX_VERSION_BYTES 256
#define MAX_RANGE_BYTES 256
#define MAX_RANGE_COMPARATORS 16
#define MAX_RESOURCE_BYTES 1024
#define MAX_NETWORK_PATTERN_BYTES 255
#define MAX_PATH_BYTES 255
#define MAX_PROVIDES 8
#define MAX_ROOT_BYTES 32
#define CID_MIN_LEN 50
#define CID_MAX_LEN 120

/* ---------------------------------------------------------------------------------------- */
/* Character classes (ASCII only, independent of the locale).                               */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_alpha(unsigned char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* ---------------------------------------------------------------------------------------- */
/* Error reporting.                                                                         */

/* Writes s into out (cap >= 16) as a printable one-line string: '"' and '\' escaped,
 * non-printable and non-ASCII bytes as \xNN, truncated with "..." when too long. With quotes,
 * the result is surrounded by double quotes. Returns out. */
static const char *escape_into(char *out, size_t cap, const char *s, bool quotes)
{
    size_t o = 0;
    if (quotes)
        out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        size_t n;
        if (quotes && (*p == '"' || *p == '\\')) {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            n = 2;
        } else if (*p >= 0x20 && *p < 0x7f) {
            tmp[0] = (char)*p;
            n = 1;
        } else {
            snprintf(tmp, sizeof tmp, "\\x%02x", *p);
            n = 4;
        }
        /* Keep room for "...", the closing quote and the NUL. */
        if (o + n + 5 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    if (quotes)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}

#define QBUF 100
#define Q(buf, s) escape_into((buf), sizeof(buf), (s), true)

static el_status fail(el_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static el_status fail(el_error *err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return el_error_set(err, EL_ERR_FORMAT, "capsule.json: %s", buf);
}

static el_status oom(el_error *err)
{
    return el_error_set(err, EL_ERR_INTERNAL, "capsule.json: out of memory");
}

/* A short description of a JSON value's type, for "(got ...)" in messages. */
static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

/* "(got X)" where X is the integer itself when v is an integer, else its type. */
static const char *got(char *buf, size_t cap, const json_t *v)
{
    if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, cap, "%s", jtype(v));
    return buf;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---------------------------------------------------------------------------------------- */
/* Names, paths, CIDs.                                                                      */

/* [a-z0-9][a-z0-9._-]{0,63} */
static bool name_valid_n(const char *s, size_t n)
{
    if (n < 1 || n > 64)
        return false;
    if (!is_lower((unsigned char)s[0]) && !is_digit((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_lower(c) && !is_digit(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

static bool name_valid(const char *s) { return name_valid_n(s, strlen(s)); }

/* NULL when path is a safe relative path, else why not. */
static const char *path_problem(const char *p)
{
    if (!p || !*p)
        return "is empty";
    size_t n = strlen(p);
    if (n > MAX_PATH_BYTES)
        return "is longer than 255 bytes";
    if (p[0] == '/')
        return "is absolute (starts with \"/\")";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\')
            return "contains a backslash";
        if (is_control(c))
            return "contains a control character";
    }
    const char *seg = p;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0)
            return "contains an empty segment (\"//\" or a trailing \"/\")";
        if (len == 1 && seg[0] == '.')
            return "contains a \".\" segment";
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return "contains a \"..\" segment";
        if (!slash)
            break;
        seg = slash + 1;
    }
    return NULL;
}

bool el_manifest_path_safe(const char *path) { return path_problem(path) == NULL; }

/* Paths named by the manifest (entry, kernel, rootfs) must also stay out of .elastos/, the
 * artifact's own metadata. */
static const char *manifest_path_problem(const char *p)
{
    const char *why = path_problem(p);
    if (why)
        return why;
    if (strcmp(p, ".elastos") == 0 || strncmp(p, ".elastos/", 9) == 0)
        return "is inside .elastos/, which is reserved for artifact metadata";
    return NULL;
}

/* CID-shaped: "baf..." in lowercase base32 ([a-z2-7]), 50..120 characters. The full check
 * (multibase, multicodec, multihash) is el_cid_validate's job when the CID is used. */
static bool cid_shaped(const char *s)
{
    size_t n = strlen(s);
    if (n < CID_MIN_LEN || n > CID_MAX_LEN || strncmp(s, "baf", 3) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_lower(c) && !(c >= '2' && c <= '7'))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Semantic Versioning 2.0.0.                                                               */

typedef struct semver {
    const char *core[3]; /* MAJOR, MINOR, PATCH digit strings (no leading zeros) */
    size_t core_len[3];
    const char *pre; /* pre-release identifiers without the '-', NULL when none */
    size_t pre_len;
} semver;

/* Parses exactly n bytes of s as a SemVer 2.0.0 version. NULL on success, else the reason. */
static const char *semver_parse(const char *s, size_t n, semver *v)
{
    static const char *const form = "must have the form MAJOR.MINOR.PATCH (e.g. 1.0.0)";
    size_t i = 0;
    memset(v, 0, sizeof *v);
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == start)
            return form;
        if (i - start > 1 && s[start] == '0')
            return "a numeric identifier has a leading zero";
        v->core[k] = s + start;
        v->core_len[k] = i - start;
        if (k < 2) {
            if (i >= n || s[i] != '.')
                return form;
            i++;
        }
    }
    if (i < n && s[i] == '-') {
        i++;
        v->pre = s + i;
        for (;;) {
            size_t start = i;
            bool numeric = true;
            while (i < n && s[i] != '.' && s[i] != '+') {
                unsigned char c = (unsigned char)s[i];
                if (!is_alnum(c) && c != '-')
                    return "the pre-release may contain only [0-9A-Za-z-] identifiers separated "
                           "by \".\"";
                if (!is_digit(c))
                    numeric = false;
                i++;
            }
            if (i == start)
                return "the pre-release has an empty identifier";
            if (numeric && i - start > 1 && s[start] == '0')
                return "a numeric pre-release identifier has a leading zero";
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
        v->pre_len = (size_t)(s + i - v->pre);
    }
    if (i < n && s[i] == '+') {
        i++;
        for (;;) {
            size_t start = i;
            while (i < n && s[i] != '.') {
                unsigned char c = (unsigned char)s[i];
                if (!is_alnum(c) && c != '-')
                    return "the build metadata may contain only [0-9A-Za-z-] identifiers "
                           "separated by \".\"";
                i++;
            }
            if (i == start)
                return "the build metadata has an empty identifier";
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i != n)
        return "unexpected characters after MAJOR.MINOR.PATCH";
    return NULL;
}

bool el_manifest_semver_valid(const char *s)
{
    semver v;
    return s && semver_parse(s, strlen(s), &v) == NULL;
}

static int sign(int c) { return (c > 0) - (c < 0); }

/* Compares two numeric identifiers without leading zeros, of any length. */
static int cmp_num(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    return sign(memcmp(a, b, an));
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

/* SemVer section 11: pre-release identifiers compared one by one; numeric ones numerically and
 * lower than alphanumeric ones, alphanumeric ones in ASCII order; a shorter set that is a
 * prefix of a longer one has lower precedence. */
static int cmp_pre(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    for (;;) {
        if (i >= an && j >= bn)
            return 0;
        if (i >= an)
            return -1;
        if (j >= bn)
            return 1;
        size_t ai = i, bj = j;
        while (i < an && a[i] != '.')
            i++;
        while (j < bn && b[j] != '.')
            j++;
        size_t al = i - ai, bl = j - bj;
        bool anum = all_digits(a + ai, al), bnum = all_digits(b + bj, bl);
        int c;
        if (anum && bnum)
            c = cmp_num(a + ai, al, b + bj, bl);
        else if (anum)
            c = -1;
        else if (bnum)
            c = 1;
        else {
            c = sign(memcmp(a + ai, b + bj, al < bl ? al : bl));
            if (c == 0 && al != bl)
                c = al < bl ? -1 : 1;
        }
        if (c)
            return c;
        if (i < an)
            i++; /* skip '.' */
        if (j < bn)
            j++;
    }
}

static int cmp_core(const semver *a, const semver *b, int upto)
{
    for (int k = 0; k < upto; k++) {
        int c = cmp_num(a->core[k], a->core_len[k], b->core[k], b->core_len[k]);
        if (c)
            return c;
    }
    return 0;
}

static int semver_cmp(const semver *a, const semver *b)
{
    int c = cmp_core(a, b, 3);
    if (c)
        return c;
    if (!a->pre && !b->pre)
        return 0;
    if (!a->pre)
        return 1; /* a release has higher precedence than its pre-releases */
    if (!b->pre)
        return -1;
    return cmp_pre(a->pre, a->pre_len, b->pre, b->pre_len);
}

int el_manifest_semver_compare(const char *a, const char *b)
{
    semver va, vb;
    bool oka = a && semver_parse(a, strlen(a), &va) == NULL;
    bool okb = b && semver_parse(b, strlen(b), &vb) == NULL;
    if (oka && okb)
        return semver_cmp(&va, &vb);
    if (oka != okb)
        return oka ? 1 : -1; /* an invalid version sorts before every valid one */
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return sign(strcmp(a, b));
}

/* Version ranges: "*" alone, or one or more comparators separated by spaces, all of which must
 * hold. A comparator is an optional operator (=, ^, ~, >=, >, <=, <) directly followed by a full
 * SemVer version or a partial one, MAJOR or MAJOR.MINOR (npm/Cargo style: "1" is 1.x.x, "1.2" is
 * 1.2.x, "^1.0" is >=1.0.0 <2.0.0, "~1.2" is >=1.2.0 <1.3.0, ">1.2" is >=1.3.0, "<=1.2" is
 * <1.3.0); the missing components count as 0 where a bound needs them. */
typedef enum range_op { OP_EQ, OP_CARET, OP_TILDE, OP_GE, OP_GT, OP_LE, OP_LT } range_op;

typedef struct comparator {
    range_op op;
    int parts; /* 3 for a full version, 1 or 2 for a partial one */
    semver v;
} comparator;

/* Parses exactly n bytes of s as a partial version, MAJOR or MAJOR.MINOR (no leading zeros, no
 * pre-release), into v with the missing components "0"; returns the number of components given,
 * or 0 when s is not a partial version. */
static int partial_parse(const char *s, size_t n, semver *v)
{
    memset(v, 0, sizeof *v);
    size_t i = 0;
    int k = 0;
    while (k < 2) {
        size_t start = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == start || (i - start > 1 && s[start] == '0'))
            return 0;
        v->core[k] = s + start;
        v->core_len[k] = i - start;
        k++;
        if (i == n)
            break;
        if (s[i] != '.' || k == 2)
            return 0;
        i++;
    }
    for (int z = k; z < 3; z++) {
        v->core[z] = "0";
        v->core_len[z] = 1;
    }
    return k;
}

typedef struct range {
    bool any;
    size_t n;
    comparator c[MAX_RANGE_COMPARATORS];
} range;

static const char *range_parse(const char *s, range *r)
{
    memset(r, 0, sizeof *r);
    if (!s || !*s)
        return "is empty";
    size_t len = strlen(s);
    if (len > MAX_RANGE_BYTES)
        return "is longer than 256 bytes";
    if (strcmp(s, "*") == 0) {
        r->any = true;
        return NULL;
    }
    if (s[0] == ' ' || s[len - 1] == ' ')
        return "has leading or trailing spaces";
    size_t i = 0;
    while (i < len) {
        if (r->n == MAX_RANGE_COMPARATORS)
            return "has more than 16 comparators";
        comparator *c = &r->c[r->n++];
        if (s[i] == '>' || s[i] == '<') {
            bool eq = i + 1 < len && s[i + 1] == '=';
            c->op = s[i] == '>' ? (eq ? OP_GE : OP_GT) : (eq ? OP_LE : OP_LT);
            i += eq ? 2 : 1;
        } else if (s[i] == '=' || s[i] == '^' || s[i] == '~') {
            c->op = s[i] == '=' ? OP_EQ : s[i] == '^' ? OP_CARET : OP_TILDE;
            i++;
        } else {
            c->op = OP_EQ;
        }
        size_t start = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i == start)
            return "has an operator without a version";
        c->parts = 3;
        if (semver_parse(s + start, i - start, &c->v) != NULL && (c->parts = partial_parse(s + start, i - start, &c->v)) == 0)
            return "has a comparator whose version is not SemVer MAJOR.MINOR.PATCH, MAJOR.MINOR or MAJOR "
                   "(supported: *, 1.2.3, 1.2, 1, with =, ^, ~, >=, >, <=, < before it, and "
                   "space-separated conjunctions)";
        while (i < len && s[i] == ' ')
            i++;
    }
    return NULL;
}

bool el_manifest_semver_range_valid(const char *range_text)
{
    range r;
    return range_parse(range_text, &r) == NULL;
}

static bool is_zero(const char *s, size_t n) { return n == 1 && s[0] == '0'; }

/* For a partial comparator (parts < 3) "=", ">" and "<=" compare only the components given
 * (1.2 is every 1.2.x); the other operators use the zero-filled version. */
static bool comparator_holds(const semver *v, const comparator *c)
{
    int cmp = semver_cmp(v, &c->v);
    int given = cmp_core(v, &c->v, c->parts);
    switch (c->op) {
    case OP_EQ: return c->parts == 3 ? cmp == 0 : given == 0;
    case OP_GE: return cmp >= 0;
    case OP_GT: return c->parts == 3 ? cmp > 0 : given > 0;
    case OP_LE: return c->parts == 3 ? cmp <= 0 : given <= 0;
    case OP_LT: return cmp < 0;
    case OP_TILDE: /* >=M.m.p <M.(m+1).0; ~M is >=M.0.0 <(M+1).0.0 */
        return cmp >= 0 && cmp_core(v, &c->v, c->parts == 1 ? 1 : 2) == 0;
    case OP_CARET: /* the left-most non-zero of the given components must not change */
        if (cmp < 0)
            return false;
        for (int k = 0; k < c->parts; k++)
            if (!is_zero(c->v.core[k], c->v.core_len[k]))
                return cmp_core(v, &c->v, k + 1) == 0;
        return given == 0;
    }
    return false;
}

/* A pre-release version satisfies a range only when some comparator names a pre-release of the
 * same MAJOR.MINOR.PATCH (as npm and Cargo do), so "^1.0.0" never picks "2.0.0-alpha" and "*"
 * matches releases only. Build metadata is ignored. */
bool el_manifest_semver_satisfies(const char *version, const char *range_text)
{
    semver v;
    range r;
    if (!version || semver_parse(version, strlen(version), &v) != NULL)
        return false;
    if (range_parse(range_text, &r) != NULL)
        return false;
    if (r.any)
        return v.pre == NULL;
    if (v.pre) {
        bool named = false;
        for (size_t i = 0; i < r.n; i++)
            if (r.c[i].v.pre && cmp_core(&v, &r.c[i].v, 3) == 0)
                named = true;
        if (!named)
            return false;
    }
    for (size_t i = 0; i < r.n; i++)
        if (!comparator_holds(&v, &r.c[i]))
            return false;
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Resource URI patterns and network allowlist patterns.                                    */

/* RFC 3986 pchar without percent-encoding (which could hide "." and ".." segments). */
static bool resource_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("-._~!$&'()+,;=:@", c) != NULL);
}

/* An elastos:// root (the built-in cid, capsule, net, or a scheme a provider capsule serves,
 * as in elastos://kv/ or elastos://ai/): 1 to MAX_ROOT_BYTES of [a-z0-9-], starting with a letter. */
static bool root_valid(const char *seg, size_t len)
{
    if (len == 0 || len > MAX_ROOT_BYTES || seg[0] < 'a' || seg[0] > 'z')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((seg[i] >= 'a' && seg[i] <= 'z') || (seg[i] >= '0' && seg[i] <= '9') || seg[i] == '-'))
            return false;
    return true;
}

bool el_manifest_scheme_prefix_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return len >= 12 && strncmp(s, "elastos://", 10) == 0 && s[len - 1] == '/' && root_valid(s + 10, len - 11);
}

bool el__manifest_web_any(const char *r)
{
    return r && (!strcmp(r, "http://*") || !strcmp(r, "https://*"));
}

static const char *resource_problem(const char *r)
{
    size_t n = strlen(r);
    if (n == 0)
        return "is empty";
    if (n > MAX_RESOURCE_BYTES)
        return "is longer than 1024 bytes";
    const char *rest;
    bool elastos = false, web = false;
    if (strncmp(r, "localhost://", 12) == 0) {
        rest = r + 12;
    } else if (strncmp(r, "elastos://", 10) == 0) {
        rest = r + 10;
        elastos = true;
    } else if (strncmp(r, "http://", 7) == 0 || strncmp(r, "https://", 8) == 0) {
        rest = r + (r[4] == 's' ? 8 : 7);
        web = true;
    } else {
        return "must start with localhost://, elastos://, http:// or https://";
    }
    if (web && el__manifest_web_any(r))
        return NULL; /* any host: the operator names it in a grant (docs/providers.md) */
    if (web) { /* egress (docs/providers.md): HOST:PORT, HOST lowercase name or [IPv6], PORT digits */
        size_t al = strcspn(rest, "/"), colon = al;
        while (colon > 0 && rest[colon - 1] != ':')
            colon--;
        bool ok = colon > 1 && colon < al && strspn(rest + colon, "0123456789") == al - colon && al - colon <= 5;
        if (ok && rest[0] == '[')
            ok = rest[colon - 2] == ']' && strspn(rest + 1, "0123456789abcdef:.") == colon - 3;
        else if (ok)
            ok = strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-") == colon - 1;
        if (!ok)
            return "must name HOST:PORT after http:// or https:// (lowercase host or [IPv6], explicit port)";
    }
    if (!*rest)
        return "names no resource after the scheme";
    const char *seg = rest;
    for (size_t idx = 0;; idx++) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0)
            return "contains an empty segment (\"//\" or a trailing \"/\")";
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return "contains a \".\" or \"..\" segment";
        if (len == 1 && seg[0] == '*') {
            if (slash)
                return "may use \"*\" only as a final \"/*\" segment";
            if (idx == 0)
                return "must name a root before \"/*\" (e.g. localhost://storage/*)";
        } else if (!(web && idx == 0)) { /* a web authority was checked above */
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)seg[i];
                if (c == '*')
                    return "may use \"*\" only as a final \"/*\" segment";
                if (c == '%')
                    return "contains \"%\" (percent-encoding is not allowed)";
                if (!resource_char(c))
                    return "contains a character not allowed in a URI path";
            }
        }
        if (idx == 0 && elastos && !root_valid(seg, len))
            return "names a malformed elastos:// root (1 to 32 of [a-z0-9-], starting with a letter: "
                   "cid, capsule, net, or a provider capsule's scheme such as kv or ai)";
        if (!slash)
            break;
        seg = slash + 1;
    }
    return NULL;
}

/* scheme://host:port, scheme [a-z][a-z0-9+.-]*, host [A-Za-z0-9.-]+ (no empty label) or "*",
 * port 1..65535 (no leading zero) or "*". */
static const char *network_problem(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > MAX_NETWORK_PATTERN_BYTES)
        return "is longer than 255 bytes";
    size_t i = 0;
    if (!is_lower((unsigned char)s[0]))
        return "must start with a scheme of lowercase letters (scheme://host:port)";
    while (i < n && (is_lower((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
                     s[i] == '+' || s[i] == '.' || s[i] == '-'))
        i++;
    if (strncmp(s + i, "://", 3) != 0)
        return "must have the form scheme://host:port";
    i += 3;
    size_t hs = i;
    while (i < n && s[i] != ':')
        i++;
    size_t hl = i - hs;
    if (hl == 0)
        return "has an empty host";
    if (!(hl == 1 && s[hs] == '*')) {
        for (size_t k = hs; k < hs + hl; k++) {
            unsigned char c = (unsigned char)s[k];
            if (!is_alnum(c) && c != '.' && c != '-')
                return "has a host that is neither \"*\" nor made of [A-Za-z0-9.-]";
            if (c == '.' && (k == hs || k + 1 == hs + hl || s[k + 1] == '.'))
                return "has a host with an empty label";
        }
    }
    if (i >= n)
        return "has no port (scheme://host:port, port 1..65535 or *)";
    i++;
    const char *port = s + i;
    size_t pl = n - i;
    if (pl == 1 && port[0] == '*')
        return NULL;
    if (pl == 0 || pl > 5 || !all_digits(port, pl) || port[0] == '0')
        return "has a port that is neither \"*\" nor 1..65535";
    long p = strtol(port, NULL, 10);
    if (p < 1 || p > 65535)
        return "has a port that is neither \"*\" nor 1..65535";
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Actions and types.                                                                       */

static const struct {
    const char *name;
    unsigned bit;
} ACTIONS[] = {
    {"read", EL_ACT_READ},       {"write", EL_ACT_WRITE},   {"execute", EL_ACT_EXECUTE},
    {"message", EL_ACT_MESSAGE}, {"delete", EL_ACT_DELETE}, {"admin", EL_ACT_ADMIN},
};

unsigned el_manifest_action_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
        if (strcmp(ACTIONS[i].name, name) == 0)
            return ACTIONS[i].bit;
    return 0;
}

const char *el_manifest_action_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
        if (ACTIONS[i].bit == bit)
            return ACTIONS[i].name;
    return NULL;
}

const char *el_manifest_type_name(el_capsule_type t)
{
    switch (t) {
    case EL_TYPE_WASM: return "wasm";
    case EL_TYPE_VM: return "vm";
    case EL_TYPE_DATA: return "data";
    case EL_TYPE_AGENT: return "agent";
    }
    return "unknown";
}

/* ---------------------------------------------------------------------------------------- */
/* Field helpers. `path` is the field's dotted name used in messages ("microvm_config.kernel"). */

/* Every key of obj must be in allowed (NULL-terminated). where is NULL at the top level. */
static el_status check_keys(json_t *obj, const char *where, const char *const *allowed,
                            el_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        (void)value;
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0)
                known = true;
        if (!known) {
            char q[QBUF];
            if (where)
                return fail(err, "%s: unknown field %s", where, Q(q, key));
            return fail(err, "unknown field %s", Q(q, key));
        }
    }
    return EL_OK;
}

/* Text rules for free-form strings. */
enum { TEXT_NONEMPTY = 1, TEXT_MULTILINE = 2 };

/* Gets an optional string field; *out stays NULL when absent. */
static el_status get_string(json_t *obj, const char *key, const char *path, size_t max,
                            const char **out, el_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return EL_OK;
    if (!json_is_string(v))
        return fail(err, "%s: must be a string (got %s)", path, jtype(v));
    if (json_string_length(v) > max)
        return fail(err, "%s: must be at most %zu bytes (got %zu)", path, max,
                    json_string_length(v));
    *out = json_string_value(v);
    return EL_OK;
}

static el_status check_text(const char *s, const char *path, int flags, el_error *err)
{
    if ((flags & TEXT_NONEMPTY) && !*s)
        return fail(err, "%s: must not be empty", path);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (is_control(*p) && !((flags & TEXT_MULTILINE) && (*p == '\n' || *p == '\t')))
            return fail(err, "%s: contains a control character", path);
    return EL_OK;
}

static el_status get_int(json_t *obj, const char *key, const char *path, long long lo,
                         long long hi, long long def, long long *out, el_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v)
        return EL_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char g[64];
        return fail(err, "%s: must be an integer between %lld and %lld (got %s)", path, lo, hi,
                    got(g, sizeof g, v));
    }
    *out = (long long)json_integer_value(v);
    return EL_OK;
}

/* Stores a copy of s in *dst. */
static el_status store(char **dst, const char *s, el_error *err)
{
    *dst = dup_str(s);
    return *dst ? EL_OK : oom(err);
}

/* ---------------------------------------------------------------------------------------- */
/* Sections.                                                                                */

static el_status parse_permissions(json_t *arr, el_manifest *m, el_error *err)
{
    static const char *const keys[] = {"resource", "actions", NULL};
    if (!json_is_array(arr))
        return fail(err, "permissions: must be an array of {\"resource\", \"actions\"} objects "
                         "(got %s)", jtype(arr));
    size_t n = json_array_size(arr);
    if (n > MAX_PERMISSIONS)
        return fail(err, "permissions: at most %d entries allowed (got %zu)", MAX_PERMISSIONS, n);
    if (n == 0)
        return EL_OK;
    m->permissions = calloc(n, sizeof *m->permissions);
    if (!m->permissions)
        return oom(err);
    m->n_permissions = n;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        char where[48], path[64], q[QBUF];
        el_status st;
        snprintf(where, sizeof where, "permissions[%zu]", i);
        if (!json_is_object(p))
            return fail(err, "%s: must be an object with \"resource\" and \"actions\" (got %s)",
                        where, jtype(p));
        if ((st = check_keys(p, where, keys, err)) != EL_OK)
            return st;

        snprintf(path, sizeof path, "%s.resource", where);
        const char *res;
        if ((st = get_string(p, "resource", path, MAX_RESOURCE_BYTES, &res, err)) != EL_OK)
            return st;
        if (!res)
            return fail(err, "%s: missing required field \"resource\"", where);
        const char *why = resource_problem(res);
        if (why)
            return fail(err, "%s: %s %s", path, Q(q, res), why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->permissions[j].resource, res) == 0)
                return fail(err, "%s: duplicate resource %s (list all its actions in one entry)",
                            path, Q(q, res));
        if ((st = store(&m->permissions[i].resource, res, err)) != EL_OK)
            return st;

        snprintf(path, sizeof path, "%s.actions", where);
        json_t *acts = json_object_get(p, "actions");
        if (!acts)
            return fail(err, "%s: missing required field \"actions\"", where);
        if (!json_is_array(acts) || json_array_size(acts) == 0)
            return fail(err, "%s: must be a non-empty array of action names (got %s%s)", path,
                        json_is_array(acts) ? "an empty " : "",
                        json_is_array(acts) ? "array" : jtype(acts));
        size_t k;
        json_t *a;
        json_array_foreach(acts, k, a) {
            if (!json_is_string(a))
                return fail(err, "%s[%zu]: must be an action name (got %s)", path, k, jtype(a));
            unsigned bit = el_manifest_action_from_name(json_string_value(a));
            if (!bit)
                return fail(err, "%s: unknown action %s (known: read, write, execute, message, "
                                 "delete, admin)", path, Q(q, json_string_value(a)));
            if (m->permissions[i].actions & bit)
                return fail(err, "%s: duplicate action %s", path, Q(q, json_string_value(a)));
            m->permissions[i].actions |= bit;
        }
    }
    return EL_OK;
}

/* The integer limits: key, bounds, default, and where each lives in el_limits (one table, so
 * a limit's bounds and default are written once). */
static const struct int_limit {
    const char *key, *path;
    long long lo, hi, def;
    size_t off;
    bool wide; /* a uint64_t (else uint32_t) */
} int_limits[] = {
    {"memory_mb", "resource_limits.memory_mb", 1, 65536, 256, offsetof(el_limits, memory_mb), false},
    {"cpu_ms", "resource_limits.cpu_ms", 1, 86400000, 60000, offsetof(el_limits, cpu_ms), true},
    {"wall_ms", "resource_limits.wall_ms", 1, 86400000, 300000, offsetof(el_limits, wall_ms), true},
    {"storage_mb", "resource_limits.storage_mb", 0, 1048576, 64, offsetof(el_limits, storage_mb), false},
    {"max_instances", "resource_limits.max_instances", 1, 10000, 16, offsetof(el_limits, max_instances), false},
    {"requests", "resource_limits.network.requests", 0, 1000000000, EL_NET_REQUESTS_DEFAULT,
     offsetof(el_limits, net_requests), false},
    {"bytes", "resource_limits.network.bytes", 0, (long long)1 << 50, EL_NET_BYTES_DEFAULT, offsetof(el_limits, net_bytes),
     true},
};
#define N_INT_LIMITS (sizeof int_limits / sizeof *int_limits)
#define FIRST_NET_LIMIT 5 /* int_limits[5..] are inside resource_limits.network */

/* Sets the integer limits int_limits[from..to) from obj (their defaults when absent). */
static el_status parse_int_limits(json_t *obj, el_limits *l, size_t from, size_t to, el_error *err)
{
    for (size_t i = from; i < to; i++) {
        const struct int_limit *t = &int_limits[i];
        long long v;
        el_status st = get_int(obj, t->key, t->path, t->lo, t->hi, t->def, &v, err);
        if (st != EL_OK)
            return st;
        if (t->wide)
            *(uint64_t *)(void *)((char *)l + t->off) = (uint64_t)v;
        else
            *(uint32_t *)(void *)((char *)l + t->off) = (uint32_t)v;
    }
    return EL_OK;
}

/* resource_limits.network's allowlist: an array of "scheme://host:port" patterns. path names
 * it in messages. */
static el_status parse_allowlist(json_t *net, const char *path, el_limits *l, el_error *err)
{
    if (!json_is_array(net))
        return fail(err, "%s: must be an array of \"scheme://host:port\" strings (got %s)", path, jtype(net));
    size_t n = json_array_size(net);
    if (n > MAX_NETWORK)
        return fail(err, "%s: at most %d entries allowed (got %zu)", path, MAX_NETWORK, n);
    if (n == 0)
        return EL_OK;
    l->network = calloc(n, sizeof *l->network);
    if (!l->network)
        return oom(err);
    l->n_network = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(net, i);
        char q[QBUF];
        if (!json_is_string(e))
            return fail(err, "%s[%zu]: must be a \"scheme://host:port\" string (got %s)", path, i, jtype(e));
        const char *s = json_string_value(e);
        const char *why = network_problem(s);
        if (why)
            return fail(err, "%s[%zu]: %s %s", path, i, Q(q, s), why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->network[j], s) == 0)
                return fail(err, "%s[%zu]: duplicate entry %s", path, i, Q(q, s));
        el_status st = store(&l->network[i], s, err);
        if (st != EL_OK)
            return st;
    }
    return EL_OK;
}

/* resource_limits.network: the allowlist array, or {"allow"?: allowlist, "requests"?: N,
 * "bytes"?: N} bounding also the egress requests an instance makes and their bytes. */
static el_status parse_network(json_t *net, el_limits *l, el_error *err)
{
    static const char *const keys[] = {"allow", "requests", "bytes", NULL};
    if (!json_is_object(net))
        return parse_allowlist(net, "resource_limits.network", l, err);
    el_status st = check_keys(net, "resource_limits.network", keys, err);
    if (st == EL_OK)
        st = parse_int_limits(net, l, FIRST_NET_LIMIT, N_INT_LIMITS, err);
    json_t *allow = json_object_get(net, "allow");
    if (st == EL_OK && allow)
        st = parse_allowlist(allow, "resource_limits.network.allow", l, err);
    return st;
}

static el_status parse_limits(json_t *obj, el_manifest *m, el_error *err)
{
    static const char *const keys[] = {"memory_mb", "cpu_ms",        "wall_ms", "storage_mb",
                                       "network",   "max_instances", NULL};
    el_limits *l = &m->limits;
    json_t *none = json_object();
    if (!none)
        return oom(err);
    el_status st = parse_int_limits(none, l, 0, N_INT_LIMITS, err); /* the defaults */
    json_decref(none);
    if (st != EL_OK || !obj)
        return st;
    if (!json_is_object(obj))
        return fail(err, "resource_limits: must be an object (got %s)", jtype(obj));
    if ((st = check_keys(obj, "resource_limits", keys, err)) != EL_OK)
        return st;
    if ((st = parse_int_limits(obj, l, 0, FIRST_NET_LIMIT, err)) != EL_OK)
        return st;
    json_t *net = json_object_get(obj, "network");
    return net ? parse_network(net, l, err) : EL_OK;
}

/* kernel / rootfs: a safe path inside the artifact or a CID. */
static el_status get_path_or_cid(json_t *obj, const char *key, const char *path, char **dst,
                                 el_error *err)
{
    const char *s;
    el_status st = get_string(obj, key, path, 4096, &s, err);
    if (st != EL_OK || !s)
        return st;
    if (!cid_shaped(s)) {
        const char *why = manifest_path_problem(s);
        if (why) {
            char q[QBUF];
            return fail(err, "%s: %s is neither a CID nor a safe relative path: it %s", path,
                        Q(q, s), why);
        }
    }
    return store(dst, s, err);
}

static el_status parse_microvm(json_t *obj, el_manifest *m, el_error *err)
{
    static const char *const keys[] = {"vcpus",  "memory_mb", "kernel", "rootfs",
                                       "boot_args", "backend", NULL};
    el_microvm_config *c = &m->microvm;
    if (m->type != EL_TYPE_VM) {
        if (obj)
            return fail(err, "microvm_config: only allowed when type is \"vm\" (type is \"%s\")",
                        el_manifest_type_name(m->type));
        return EL_OK;
    }
    c->vcpus = 1;
    c->memory_mb = 256;
    el_status st;
    if (!obj)
        return store(&c->backend, "auto", err);
    if (!json_is_object(obj))
        return fail(err, "microvm_config: must be an object (got %s)", jtype(obj));
    if ((st = check_keys(obj, "microvm_config", keys, err)) != EL_OK)
        return st;
    c->present = true;
    long long v;
    if ((st = get_int(obj, "vcpus", "microvm_config.vcpus", 1, 64, 1, &v, err)))
        return st;
    c->vcpus = (uint32_t)v;
    if ((st = get_int(obj, "memory_mb", "microvm_config.memory_mb", 16, 65536, 256, &v, err)))
        return st;
    c->memory_mb = (uint32_t)v;
    if ((st = get_path_or_cid(obj, "kernel", "microvm_config.kernel", &c->kernel, err)))
        return st;
    if ((st = get_path_or_cid(obj, "rootfs", "microvm_config.rootfs", &c->rootfs, err)))
        return st;

    const char *s;
    if ((st = get_string(obj, "boot_args", "microvm_config.boot_args", MAX_BOOT_ARGS_BYTES, &s,
                         err)))
        return st;
    if (s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                return fail(err, "microvm_config.boot_args: must be printable ASCII");
        if ((st = store(&c->boot_args, s, err)))
            return st;
    }

    if ((st = get_string(obj, "backend", "microvm_config.backend", 64, &s, err)))
        return st;
    if (!s)
        s = "auto";
    if (strcmp(s, "auto") && strcmp(s, "qemu") && strcmp(s, "firecracker") && strcmp(s, "crosvm")) {
        char q[QBUF];
        return fail(err, "microvm_config.backend: must be one of auto, qemu, firecracker, crosvm "
                         "(got %s)", Q(q, s));
    }
    return store(&c->backend, s, err);
}

static el_status parse_dependencies(json_t *arr, el_manifest *m, el_error *err)
{
    static const char *const keys[] = {"name", "version", "cid", NULL};
    if (!json_is_array(arr))
        return fail(err, "dependencies: must be an array of {\"name\", \"version\"} objects "
                         "(got %s)", jtype(arr));
    size_t n = json_array_size(arr);
    if (n > MAX_DEPENDENCIES)
        return fail(err, "dependencies: at most %d entries allowed (got %zu)", MAX_DEPENDENCIES,
                    n);
    if (n == 0)
        return EL_OK;
    m->dependencies = calloc(n, sizeof *m->dependencies);
    if (!m->dependencies)
        return oom(err);
    m->n_dependencies = n;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(arr, i);
        el_dependency *dep = &m->dependencies[i];
        char where[48], path[64], q[QBUF];
        el_status st;
        snprintf(where, sizeof where, "dependencies[%zu]", i);
        if (!json_is_object(d))
            return fail(err, "%s: must be an object with \"name\" and \"version\" (got %s)",
                        where, jtype(d));
        if ((st = check_keys(d, where, keys, err)) != EL_OK)
            return st;

        const char *s;
        snprintf(path, sizeof path, "%s.name", where);
        if ((st = get_string(d, "name", path, 4096, &s, err)))
            return st;
        if (!s)
            return fail(err, "%s: missing required field \"name\"", where);
        if (!name_valid(s))
            return fail(err, "%s: %s is not a valid capsule name ([a-z0-9][a-z0-9._-]{0,63})",
                        path, Q(q, s));
        if (strcmp(s, m->name) == 0)
            return fail(err, "%s: a capsule cannot depend on itself", path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->dependencies[j].name, s) == 0)
                return fail(err, "%s: duplicate dependency %s", path, Q(q, s));
        if ((st = store(&dep->name, s, err)))
            return st;

        snprintf(path, sizeof path, "%s.version", where);
        if ((st = get_string(d, "version", path, 4096, &s, err)))
            return st;
        if (!s)
            return fail(err, "%s: missing required field \"version\"", where);
        range r;
        const char *why = range_parse(s, &r);
        if (why)
            return fail(err, "%s: %s is not a valid version range: it %s", path, Q(q, s), why);
        if ((st = store(&dep->version, s, err)))
            return st;

        snprintf(path, sizeof path, "%s.cid", where);
        if ((st = get_string(d, "cid", path, 4096, &s, err)))
            return st;
        if (s) {
            if (!cid_shaped(s))
                return fail(err, "%s: %s is not a CID (expected \"baf...\", base32)", path,
                            Q(q, s));
            if ((st = store(&dep->cid, s, err)))
                return st;
        }
    }
    return EL_OK;
}

static el_status parse_viewer(json_t *root, el_manifest *m, el_error *err)
{
    json_t *v = json_object_get(root, "viewer");
    if (m->type != EL_TYPE_DATA) {
        if (v)
            return fail(err, "viewer: only allowed when type is \"data\" (type is \"%s\")",
                        el_manifest_type_name(m->type));
        return EL_OK;
    }
    if (!v)
        return fail(err, "missing required field \"viewer\" (a data capsule names the CID or "
                         "name@range of its viewer)");
    const char *s;
    el_status st = get_string(root, "viewer", "viewer", 4096, &s, err);
    if (st)
        return st;
    if (!cid_shaped(s)) {
        const char *at = strchr(s, '@');
        range r;
        if (!at || !name_valid_n(s, (size_t)(at - s)) || range_parse(at + 1, &r) != NULL) {
            char q[QBUF];
            return fail(err, "viewer: %s is neither a CID nor name@range (e.g. "
                             "\"image-viewer@^1.0.0\")", Q(q, s));
        }
    }
    return store(&m->viewer, s, err);
}

static el_status parse_metadata(json_t *root, el_manifest *m, el_error *err)
{
    el_status st;
    const char *s;
    if ((st = get_string(root, "description", "description", MAX_DESCRIPTION_BYTES, &s, err)))
        return st;
    if (s) {
        if ((st = check_text(s, "description", TEXT_MULTILINE, err)))
            return st;
        if ((st = store(&m->description, s, err)))
            return st;
    }
    if ((st = get_string(root, "license", "license", MAX_LICENSE_BYTES, &s, err)))
        return st;
    if (s) {
        if ((st = check_text(s, "license", TEXT_NONEMPTY, err)))
            return st;
        if ((st = store(&m->license, s, err)))
            return st;
    }
    json_t *a = json_object_get(root, "authors");
    if (!a)
        return EL_OK;
    if (!json_is_array(a))
        return fail(err, "authors: must be an array of strings (got %s)", jtype(a));
    size_t n = json_array_size(a);
    if (n > MAX_AUTHORS)
        return fail(err, "authors: at most %d entries allowed (got %zu)", MAX_AUTHORS, n);
    if (n == 0)
        return EL_OK;
    m->authors = calloc(n, sizeof *m->authors);
    if (!m->authors)
        return oom(err);
    m->n_authors = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        char path[32];
        snprintf(path, sizeof path, "authors[%zu]", i);
        if (!json_is_string(e))
            return fail(err, "%s: must be a string (got %s)", path, jtype(e));
        if (json_string_length(e) > MAX_AUTHOR_BYTES)
            return fail(err, "%s: must be at most %d bytes (got %zu)", path, MAX_AUTHOR_BYTES,
                        json_string_length(e));
        if ((st = check_text(json_string_value(e), path, TEXT_NONEMPTY, err)))
            return st;
        if ((st = store(&m->authors[i], json_string_value(e), err)))
            return st;
    }
    return EL_OK;
}

/* provides: the URI prefixes a provider capsule can serve (docs/providers.md), each exactly
 * "elastos://ROOT/" (root_valid), no duplicates. Declaring is not binding: the operator binds
 * (elastos provider add), so nothing here gives the capsule any scheme. */
static el_status parse_provides(json_t *arr, el_manifest *m, el_error *err)
{
    if (!json_is_array(arr))
        return fail(err, "provides: must be an array of URI prefixes such as \"elastos://kv/\" (got %s)", jtype(arr));
    size_t n = json_array_size(arr);
    if (n > MAX_PROVIDES)
        return fail(err, "provides: at most %d entries allowed (got %zu)", MAX_PROVIDES, n);
    if (n == 0)
        return EL_OK;
    m->provides = calloc(n, sizeof *m->provides);
    if (!m->provides)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        char path[32], q[QBUF];
        snprintf(path, sizeof path, "provides[%zu]", i);
        if (!json_is_string(e))
            return fail(err, "%s: must be a string (got %s)", path, jtype(e));
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);
        if (len != strlen(s) || !el_manifest_scheme_prefix_valid(s))
            return fail(err, "%s: %s is not a scheme prefix \"elastos://ROOT/\" (ROOT: 1 to 32 of "
                             "[a-z0-9-], starting with a letter)", path, Q(q, s));
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->provides[j], s) == 0)
                return fail(err, "%s: duplicate prefix %s", path, Q(q, s));
        el_status st = store(&m->provides[i], s, err);
        if (st != EL_OK)
            return st;
        m->n_provides++;
    }
    return EL_OK;
}

static el_status parse_root(json_t *root, el_manifest *m, el_error *err)
{
    static const char *const keys[] = {"name",           "version",      "type",
                                       "entry",          "permissions",  "resource_limits",
                                       "microvm_config", "dependencies", "viewer",
                                       "description",    "authors",      "license",
                                       "provides",       NULL};
    static const char *const required[] = {"name", "version", "type", "entry", NULL};
    if (!json_is_object(root))
        return fail(err, "the top level must be a JSON object (got %s)", jtype(root));
    el_status st;
    if ((st = check_keys(root, NULL, keys, err)) != EL_OK)
        return st;
    for (size_t i = 0; required[i]; i++)
        if (!json_object_get(root, required[i]))
            return fail(err, "missing required field \"%s\"", required[i]);

    char q[QBUF];
    const char *s;
    if ((st = get_string(root, "name", "name", 4096, &s, err)))
        return st;
    if (!name_valid(s))
        return fail(err, "name: %s is not a valid capsule name (1 to 64 of [a-z0-9._-], "
                         "starting with a lowercase letter or digit)", Q(q, s));
    if ((st = store(&m->name, s, err)))
        return st;

    if ((st = get_string(root, "version", "version", 4096, &s, err)))
        return st;
    semver v;
    const char *why = strlen(s) > MAX_VERSION_BYTES ? "is longer than 256 bytes"
                                                    : semver_parse(s, strlen(s), &v);
    if (why)
        return fail(err, "version: %s is not a Semantic Versioning 2.0.0 version: %s", Q(q, s),
                    why);
    if ((st = store(&m->version, s, err)))
        return st;

    if ((st = get_string(root, "type", "type", 4096, &s, err)))
        return st;
    if (strcmp(s, "wasm") == 0)
        m->type = EL_TYPE_WASM;
    else if (strcmp(s, "vm") == 0)
        m->type = EL_TYPE_VM;
    else if (strcmp(s, "data") == 0)
        m->type = EL_TYPE_DATA;
    else if (strcmp(s, "agent") == 0)
        m->type = EL_TYPE_AGENT;
    else
        return fail(err, "type: must be one of wasm, vm, data, agent (got %s)", Q(q, s));

    if ((st = get_string(root, "entry", "entry", 4096, &s, err)))
        return st;
    why = manifest_path_problem(s);
    if (why)
        return fail(err, "entry: %s is not a safe relative path inside the artifact: it %s",
                    Q(q, s), why);
    if ((st = store(&m->entry, s, err)))
        return st;

    json_t *v2;
    if ((v2 = json_object_get(root, "permissions")) && (st = parse_permissions(v2, m, err)))
        return st;
    if ((st = parse_limits(json_object_get(root, "resource_limits"), m, err)))
        return st;
    if ((st = parse_microvm(json_object_get(root, "microvm_config"), m, err)))
        return st;
    if ((v2 = json_object_get(root, "dependencies")) && (st = parse_dependencies(v2, m, err)))
        return st;
    if ((st = parse_viewer(root, m, err)))
        return st;
    if ((v2 = json_object_get(root, "provides")) && (st = parse_provides(v2, m, err)))
        return st;
    return parse_metadata(root, m, err);
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points.                                                                            */

static el_status syntax_error(const json_error_t *jerr, el_error *err)
{
    char text[QBUF * 2];
    escape_into(text, sizeof text, jerr->text, false);
    switch (json_error_code(jerr)) {
    case json_error_out_of_memory:
        return oom(err);
    case json_error_null_character:
        return fail(err, "line %d, column %d: a string contains \\u0000 (NUL), which is not "
                         "allowed", jerr->line, jerr->column);
    case json_error_invalid_utf8:
        return fail(err, "line %d, column %d: invalid UTF-8 (%s)", jerr->line, jerr->column,
                    text);
    case json_error_duplicate_key:
        return fail(err, "line %d, column %d: duplicate key (%s)", jerr->line, jerr->column,
                    text);
    default:
        return fail(err, "line %d, column %d: invalid JSON: %s", jerr->line, jerr->column, text);
    }
}

el_status el_manifest_parse(const char *json, size_t len, el_manifest **out, el_error *err)
{
    if (out)
        *out = NULL;
    if (!out || (!json && len))
        return el_error_set(err, EL_ERR_USAGE, "capsule.json: invalid arguments");
    if (len == 0)
        return fail(err, "is empty");
    if (len > MANIFEST_MAX_BYTES)
        return fail(err, "too large (%zu bytes; at most %d)", len, MANIFEST_MAX_BYTES);
    const char *nul = memchr(json, '\0', len);
    if (nul)
        return fail(err, "contains a NUL byte at offset %zu", (size_t)(nul - json));

    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return syntax_error(&jerr, err);
    el_manifest *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        return oom(err);
    }
    el_status st = parse_root(root, m, err);
    json_decref(root);
    if (st != EL_OK) {
        el_manifest_free(m);
        return st;
    }
    *out = m;
    return EL_OK;
}

void el_manifest_free(el_manifest *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->version);
    free(m->entry);
    free(m->viewer);
    free(m->description);
    free(m->license);
    el__strv_free(m->authors, m->n_authors);
    el__strv_free(m->provides, m->n_provides);
    if (m->permissions)
        for (size_t i = 0; i < m->n_permissions; i++)
            free(m->permissions[i].resource);
    free(m->permissions);
    el__strv_free(m->limits.network, m->limits.n_network);
    free(m->microvm.kernel);
    free(m->microvm.rootfs);
    free(m->microvm.boot_args);
    free(m->microvm.backend);
    if (m->dependencies)
        for (size_t i = 0; i < m->n_dependencies; i++) {
            free(m->dependencies[i].name);
            free(m->dependencies[i].version);
            free(m->dependencies[i].cid);
        }
    free(m->dependencies);
    free(m);
}
