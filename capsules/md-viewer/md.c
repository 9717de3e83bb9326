/*
 * md.c - Markdown to plain text, ANSI terminal text or HTML (md.h). Blocks are found line by
 * line (containers - block quotes and list items - recurse on their stripped lines), inlines by
 * delimiter matching with memoized searches.
 */
#include "md.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NONE ((size_t)-1)
#define FFFD "\xEF\xBF\xBD"
#define LINK_TEXT_MAX 2048
#define LINK_DEST_MAX 4096
#define MAX_SEGS (2 * MD_MAX_DEPTH + 4)

/* ---- output buffer -------------------------------------------------------------------------- */

static void put(md_buf *b, const char *s, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *d = realloc(b->data, nc);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = nc;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void puts_(md_buf *b, const char *s) { put(b, s, strlen(s)); }

void md_buf_free(md_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate, above U+10FFFF */
    return k;
}

/* Untrusted text out: no control characters (C0 but tab, DEL, C1) and no invalid UTF-8 on a
 * terminal; in HTML also & < > " ' escaped. */
static void put_safe(md_buf *b, const char *s, size_t n, bool html)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        size_t k = utf8_len(u + i, n - i);
        const char *rep = NULL;
        if (k == 0) {
            rep = FFFD;
            k = 1;
        } else if (k == 1) {
            unsigned char c = u[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                rep = FFFD;
            else if (html)
                rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : c == '\'' ? "&#39;" : NULL;
        } else if (k == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0) {
            rep = FFFD; /* C1 controls: 0x9B is a CSI on some terminals */
        }
        if (rep) {
            put(b, s + i - run, run);
            run = 0;
            puts_(b, rep);
        } else {
            run += k;
        }
        i += k;
    }
    put(b, s + n - run, run);
}

/* ---- renderer state ------------------------------------------------------------------------- */

enum { S_BOLD = 1, S_ITALIC = 2, S_UNDER = 4, S_DIM = 8, S_CODE = 16, S_LINK = 32, S_HEAD = 64 };

typedef struct seg {
    char first[48], cont[48]; /* line prefix: on the container's first line, then after */
    bool used;
} seg;

typedef struct R {
    md_mode mode;
    md_buf *o;
    unsigned style;
    seg segs[MAX_SEGS];
    int nseg, depth;
    bool at_line_start;
    md_buf *title; /* HTML: the first heading's text, as plain text */
} R;

typedef struct line {
    const char *p;
    size_t n;
} line;

static void style_codes(R *r)
{
    if (r->mode != MD_ANSI || !r->style)
        return;
    static const struct {
        unsigned bit;
        const char *code;
    } map[] = {{S_BOLD, "1"}, {S_DIM, "2"}, {S_ITALIC, "3"}, {S_UNDER, "4"}, {S_CODE, "36"}, {S_LINK, "4;34"}, {S_HEAD, "35"}};
    char buf[64] = "\x1b[";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (r->style & map[i].bit) {
            if (buf[strlen(buf) - 1] != '[')
                strcat(buf, ";");
            strcat(buf, map[i].code);
        }
    strcat(buf, "m");
    puts_(r->o, buf);
}

static void line_start(R *r)
{
    if (!r->at_line_start || r->mode == MD_HTML)
        return;
    r->at_line_start = false;
    for (int i = 0; i < r->nseg; i++) {
        puts_(r->o, r->segs[i].used ? r->segs[i].cont : r->segs[i].first);
        r->segs[i].used = true;
    }
    style_codes(r);
}

static void newline(R *r)
{
    if (r->at_line_start)
        line_start(r); /* an empty line still carries its container prefix */
    if (r->mode == MD_ANSI && r->style)
        puts_(r->o, "\x1b[0m");
    puts_(r->o, "\n");
    r->at_line_start = true;
}

static void set_style(R *r, unsigned st)
{
    if (st == r->style)
        return;
    if (r->mode == MD_ANSI && !r->at_line_start && r->style)
        puts_(r->o, "\x1b[0m");
    r->style = st;
    if (!r->at_line_start)
        style_codes(r);
}

static void text(R *r, const char *s, size_t n)
{
    if (!n)
        return;
    line_start(r);
    put_safe(r->o, s, n, r->mode == MD_HTML);
}

static void raw(R *r, const char *s)
{
    line_start(r);
    puts_(r->o, s);
}

static void push_seg(R *r, const char *first, const char *cont)
{
    seg *g = &r->segs[r->nseg++];
    snprintf(g->first, sizeof g->first, "%s", first);
    snprintf(g->cont, sizeof g->cont, "%s", cont);
    g->used = false;
}

/* ---- inlines -------------------------------------------------------------------------------- */

typedef struct memo {
    size_t from, at;
} memo;

typedef struct inl {
    const char *s;
    size_t n;
    memo em[2][3]; /* [* or _][k-1]: first closer run of length >= k at or after from */
    memo bt[16];   /* [len-1]: first backtick run of exactly len at or after from */
} inl;

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_punct(char c) { return c > 32 && c < 127 && !is_alnum(c); }

static size_t run_len(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && s[j] == s[i])
        j++;
    return j - i;
}

static size_t find_closer(inl *x, char c, size_t k, size_t q)
{
    memo *m = &x->em[c == '_'][k - 1];
    if (m->from != NONE && q >= m->from && (m->at == NONE || m->at >= q))
        return m->at;
    size_t at = NONE;
    for (size_t i = q; i < x->n; i++) {
        if (x->s[i] != c || (i > 0 && x->s[i - 1] == c))
            continue;
        size_t len = run_len(x->s, x->n, i);
        if (len >= k && i > 0 && !is_space(x->s[i - 1]) && (c != '_' || i + len == x->n || !is_alnum(x->s[i + len]))) {
            at = i;
            break;
        }
        i += len - 1;
    }
    m->from = q;
    m->at = at;
    return at;
}

static size_t find_backticks(inl *x, size_t len, size_t q)
{
    memo *m = &x->bt[len - 1];
    if (m->from != NONE && q >= m->from && (m->at == NONE || m->at >= q))
        return m->at;
    size_t at = NONE;
    for (size_t i = q; i < x->n; i++) {
        if (x->s[i] != '`')
            continue;
        size_t l = run_len(x->s, x->n, i);
        if (l == len && (i == 0 || x->s[i - 1] != '`')) {
            at = i;
            break;
        }
        i += l - 1;
    }
    m->from = q;
    m->at = at;
    return at;
}

static bool url_allowed(const char *u, size_t n)
{
    static const char *const ok[] = {"http://", "https://", "mailto:"};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(ok[i]);
        if (n >= l && !strncasecmp(u, ok[i], l))
            return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (u[i] == '/' || u[i] == '?' || u[i] == '#')
            return true; /* relative: no scheme before the path */
        if (u[i] == ':')
            return false;
    }
    return true;
}

/* [text](dest "title"): on success fills the parts and returns the index after ')'. */
static size_t parse_link(const char *s, size_t p, size_t e, size_t *te, size_t *ds, size_t *dl)
{
    size_t i = p + 1, depth = 1, lim = e - p > LINK_TEXT_MAX ? p + LINK_TEXT_MAX : e;
    for (; i < lim; i++) {
        if (s[i] == '\\' && i + 1 < lim)
            i++;
        else if (s[i] == '[')
            depth++;
        else if (s[i] == ']' && --depth == 0)
            break;
    }
    if (i >= lim || i + 1 >= e || s[i + 1] != '(')
        return NONE;
    if (e - i > LINK_DEST_MAX) /* the target and title are bounded too: linear time overall */
        e = i + LINK_DEST_MAX;
    *te = i;
    i += 2;
    while (i < e && is_space(s[i]))
        i++;
    if (i < e && s[i] == '<') {
        *ds = ++i;
        while (i < e && s[i] != '>' && s[i] != '\n')
            i++;
        if (i >= e || s[i] != '>')
            return NONE;
        *dl = i++ - *ds;
    } else {
        *ds = i;
        int par = 0;
        for (; i < e && !is_space(s[i]); i++) {
            if (s[i] == '(')
                par++;
            else if (s[i] == ')' && par-- == 0)
                break;
        }
        *dl = i - *ds;
    }
    while (i < e && is_space(s[i]))
        i++;
    if (i < e && (s[i] == '"' || s[i] == '\'')) { /* a title: accepted and not shown */
        char q = s[i++];
        while (i < e && s[i] != q)
            i++;
        if (i >= e)
            return NONE;
        i++;
        while (i < e && is_space(s[i]))
            i++;
    }
    return i < e && s[i] == ')' ? i + 1 : NONE;
}

static void inline_range(R *r, inl *x, size_t p, size_t e, int depth);

static void styled(R *r, inl *x, size_t p, size_t e, unsigned bits, const char *open, const char *close, int depth)
{
    if (r->mode == MD_HTML) {
        raw(r, open);
        inline_range(r, x, p, e, depth + 1);
        raw(r, close);
        return;
    }
    unsigned saved = r->style;
    set_style(r, saved | bits);
    inline_range(r, x, p, e, depth + 1);
    set_style(r, saved);
}

static void link_out(R *r, inl *x, size_t ts, size_t te, const char *url, size_t ul, bool image, int depth)
{
    const char *s = x->s;
    if (r->mode == MD_HTML) {
        bool ok = url_allowed(url, ul);
        if (image) {
            raw(r, "<img src=\"");
            if (ok)
                put_safe(r->o, url, ul, true);
            raw(r, "\" alt=\"");
            put_safe(r->o, s + ts, te - ts, true);
            raw(r, "\">");
        } else if (ok) {
            raw(r, "<a href=\"");
            put_safe(r->o, url, ul, true);
            raw(r, "\">");
            inline_range(r, x, ts, te, depth + 1);
            raw(r, "</a>");
        } else {
            inline_range(r, x, ts, te, depth + 1);
        }
        return;
    }
    unsigned saved = r->style;
    bool bare = !image && te - ts == ul && !memcmp(s + ts, url, ul);
    if (image) {
        text(r, "[image: ", 8);
        text(r, s + ts, te - ts);
        text(r, "]", 1);
    } else {
        set_style(r, saved | S_LINK);
        if (bare)
            text(r, url, ul);
        else
            inline_range(r, x, ts, te, depth + 1);
        set_style(r, saved);
    }
    if (!bare && ul) {
        set_style(r, saved | S_DIM);
        text(r, " <", 2);
        text(r, url, ul);
        text(r, ">", 1);
        set_style(r, saved);
    }
}

static void inline_range(R *r, inl *x, size_t p, size_t e, int depth)
{
    const char *s = x->s;
    if (depth > 2 * MD_MAX_DEPTH) {
        text(r, s + p, e - p);
        return;
    }
    size_t lit = p; /* start of pending literal text */
#define FLUSH(to) (text(r, s + lit, (to)-lit))
    while (p < e) {
        char c = s[p];
        if (c == '\\' && p + 1 < e && (is_punct(s[p + 1]) || s[p + 1] == '\n')) {
            FLUSH(p);
            if (s[p + 1] == '\n') {
                if (r->mode == MD_HTML)
                    raw(r, "<br>\n");
                else
                    newline(r);
            } else {
                text(r, s + p + 1, 1);
            }
            p += 2;
            lit = p;
        } else if (c == '\n') {
            size_t sp = 0;
            while (sp < p - lit && s[p - 1 - sp] == ' ')
                sp++;
            FLUSH(p - sp);
            if (r->mode == MD_HTML)
                raw(r, sp >= 2 ? "<br>\n" : "\n");
            else if (sp >= 2)
                newline(r);
            else
                text(r, " ", 1);
            p++;
            while (p < e && (s[p] == ' ' || s[p] == '\t'))
                p++;
            lit = p;
        } else if (c == '`') {
            size_t n = run_len(s, e, p), close = n <= 16 ? find_backticks(x, n, p + n) : NONE;
            if (close == NONE || close >= e) {
                p += n;
                continue;
            }
            FLUSH(p);
            size_t a = p + n, b = close;
            if (b - a >= 2 && s[a] == ' ' && s[b - 1] == ' ')
                a++, b--;
            if (r->mode == MD_HTML)
                raw(r, "<code>");
            unsigned saved = r->style;
            set_style(r, saved | S_CODE);
            for (size_t i = a; i < b; i++) /* line ends inside a code span are spaces */
                text(r, s[i] == '\n' ? " " : s + i, 1);
            set_style(r, saved);
            if (r->mode == MD_HTML)
                raw(r, "</code>");
            p = lit = close + n;
        } else if ((c == '*' || c == '_') && (p == 0 || s[p - 1] != c)) {
            size_t n = run_len(s, e, p);
            bool opener = p + n < e && !is_space(s[p + n]) && (c == '*' || p == 0 || !is_alnum(s[p - 1]));
            size_t k = n > 3 ? 3 : n, close = NONE;
            for (; opener && k >= 1; k--)
                if ((close = find_closer(x, c, k, p + n)) != NONE && close < e)
                    break;
            if (!opener || k == 0 || close == NONE || close >= e) {
                p += n;
                continue;
            }
            FLUSH(p);
            text(r, s + p, n - k); /* opener characters beyond the match stay literal */
            if (k == 3)
                styled(r, x, p + n, close, S_BOLD | S_ITALIC, "<strong><em>", "</em></strong>", depth);
            else if (k == 2)
                styled(r, x, p + n, close, S_BOLD, "<strong>", "</strong>", depth);
            else
                styled(r, x, p + n, close, S_ITALIC, "<em>", "</em>", depth);
            p = lit = close + k;
        } else if (c == '[' || (c == '!' && p + 1 < e && s[p + 1] == '[')) {
            bool image = c == '!';
            size_t te, ds, dl, end = parse_link(s, p + image, e, &te, &ds, &dl);
            if (end == NONE) {
                p += 1 + image;
                continue;
            }
            FLUSH(p);
            link_out(r, x, p + image + 1, te, s + ds, dl, image, depth);
            p = lit = end;
        } else if (c == '<') {
            size_t i = p + 1;
            while (i < e && is_alnum(s[i]))
                i++;
            size_t j = i;
            if (i > p + 1 && i < e && s[i] == ':')
                while (j < e && s[j] != '>' && s[j] != '<' && !is_space(s[j]) && (unsigned char)s[j] >= 0x20)
                    j++;
            if (j == i || j >= e || s[j] != '>') {
                p++;
                continue;
            }
            FLUSH(p);
            link_out(r, x, p + 1, j, s + p + 1, j - p - 1, false, depth);
            p = lit = j + 1;
        } else {
            p++;
        }
    }
    FLUSH(e);
#undef FLUSH
}

static void render_inline(R *r, const char *s, size_t n)
{
    inl x = {.s = s, .n = n};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 3; k++)
            x.em[i][k].from = NONE;
    for (size_t i = 0; i < 16; i++)
        x.bt[i].from = NONE;
    inline_range(r, &x, 0, n, 0);
}

/* ---- blocks --------------------------------------------------------------------------------- */

static size_t indent_of(line l)
{
    size_t col = 0;
    for (size_t i = 0; i < l.n && (l.p[i] == ' ' || l.p[i] == '\t'); i++)
        col = l.p[i] == '\t' ? (col / 4 + 1) * 4 : col + 1;
    return col;
}

static line strip_cols(line l, size_t cols)
{
    size_t col = 0, i = 0;
    while (i < l.n && col < cols && (l.p[i] == ' ' || l.p[i] == '\t')) {
        col = l.p[i] == '\t' ? (col / 4 + 1) * 4 : col + 1;
        i++;
    }
    return (line){l.p + i, l.n - i};
}

static line trim(line l)
{
    while (l.n && is_space(l.p[0]))
        l.p++, l.n--;
    while (l.n && is_space(l.p[l.n - 1]))
        l.n--;
    return l;
}

static bool blank(line l) { return trim(l).n == 0; }

static bool is_fence(line l, char *ch, size_t *cnt)
{
    if (indent_of(l) > 3)
        return false;
    line t = strip_cols(l, 3);
    if (t.n < 3 || (t.p[0] != '`' && t.p[0] != '~'))
        return false;
    size_t k = run_len(t.p, t.n, 0);
    if (k < 3)
        return false;
    if (t.p[0] == '`' && memchr(t.p + k, '`', t.n - k))
        return false;
    *ch = t.p[0];
    *cnt = k;
    return true;
}

static int atx_level(line l, line *content)
{
    if (indent_of(l) > 3)
        return 0;
    line t = strip_cols(l, 3);
    size_t k = t.n ? run_len(t.p, t.n, 0) : 0;
    if (!t.n || t.p[0] != '#' || k > 6 || (k < t.n && t.p[k] != ' ' && t.p[k] != '\t'))
        return 0;
    line c = trim((line){t.p + k, t.n - k});
    size_t e = c.n; /* an optional closing run of # after a space */
    while (e && c.p[e - 1] == '#')
        e--;
    if (e == 0 || c.p[e - 1] == ' ' || c.p[e - 1] == '\t')
        c.n = e;
    *content = trim(c);
    return (int)k;
}

static bool is_hr(line l)
{
    if (indent_of(l) > 3)
        return false;
    line t = trim(l);
    if (!t.n || (t.p[0] != '-' && t.p[0] != '*' && t.p[0] != '_'))
        return false;
    size_t cnt = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] == t.p[0])
            cnt++;
        else if (t.p[i] != ' ' && t.p[i] != '\t')
            return false;
    }
    return cnt >= 3;
}

static int setext_level(line l)
{
    if (indent_of(l) > 3)
        return 0;
    line t = trim(l);
    if (!t.n || (t.p[0] != '=' && t.p[0] != '-') || run_len(t.p, t.n, 0) != t.n)
        return 0;
    return t.p[0] == '=' ? 1 : 2;
}

static bool is_quote(line l) { return indent_of(l) <= 3 && strip_cols(l, 3).n && strip_cols(l, 3).p[0] == '>'; }

typedef struct item {
    bool ordered, empty;
    char mark;      /* bullet character, or '.' / ')' */
    unsigned long start;
    size_t col;     /* column where the item's content starts */
    size_t mark_w;  /* bytes of the marker */
} item;

static bool is_item(line l, item *it)
{
    size_t ind = indent_of(l);
    if (ind > 3)
        return false;
    line t = strip_cols(l, 3);
    size_t w = 0;
    if (t.n && (t.p[0] == '-' || t.p[0] == '*' || t.p[0] == '+')) {
        it->ordered = false;
        it->mark = t.p[0];
        w = 1;
    } else {
        unsigned long v = 0;
        while (w < t.n && w < 9 && t.p[w] >= '0' && t.p[w] <= '9')
            v = v * 10 + (unsigned long)(t.p[w++] - '0');
        if (w == 0 || w >= t.n || (t.p[w] != '.' && t.p[w] != ')'))
            return false;
        it->ordered = true;
        it->mark = t.p[w++];
        it->start = v;
    }
    if (w < t.n && t.p[w] != ' ' && t.p[w] != '\t')
        return false;
    line rest = {t.p + w, t.n - w};
    it->mark_w = w;
    it->empty = blank(rest);
    size_t sp = indent_of(rest);
    it->col = ind + w + (it->empty || sp > 4 ? 1 : sp);
    return true;
}

static bool starts_block(line l, bool in_para)
{
    char ch;
    size_t cnt;
    line c;
    item it;
    if (is_fence(l, &ch, &cnt) || atx_level(l, &c) || is_hr(l) || is_quote(l))
        return true;
    return is_item(l, &it) && (!in_para || (!it.empty && (!it.ordered || it.start == 1)));
}

static void render_blocks(R *r, const line *L, size_t n, bool tight);

static void block_gap(R *r, bool *first, bool tight)
{
    if (!*first && !tight && r->mode != MD_HTML)
        newline(r);
    *first = false;
}

static void emit_heading(R *r, int level, const char *s, size_t n)
{
    if (r->mode == MD_HTML) {
        char tag[8];
        snprintf(tag, sizeof tag, "<h%d>", level);
        raw(r, tag);
        render_inline(r, s, n);
        snprintf(tag, sizeof tag, "</h%d>", level);
        raw(r, tag);
        raw(r, "\n");
        if (r->title && !r->title->len) {
            R t = {.mode = MD_PLAIN, .o = r->title, .at_line_start = true};
            render_inline(&t, s, n);
        }
        return;
    }
    unsigned saved = r->style;
    line_start(r);
    size_t from = r->o->len;
    set_style(r, saved | S_BOLD | (level <= 2 ? S_HEAD : 0) | (level == 1 ? S_UNDER : 0));
    render_inline(r, s, n);
    set_style(r, saved);
    size_t width = 0; /* code points of what was written, for the plain underline */
    for (size_t i = from; i < r->o->len; i++)
        width += ((unsigned char)r->o->data[i] & 0xC0) != 0x80;
    newline(r);
    if (r->mode == MD_PLAIN && level <= 2) {
        line_start(r);
        for (size_t i = 0; i < width; i++)
            puts_(r->o, level == 1 ? "=" : "-");
        newline(r);
    }
}

static void emit_code(R *r, const line *L, size_t n, line info)
{
    if (r->mode == MD_HTML) {
        raw(r, "<pre><code");
        size_t k = 0;
        while (k < info.n && (is_alnum(info.p[k]) || info.p[k] == '-' || info.p[k] == '_' || info.p[k] == '+'))
            k++;
        if (k) {
            raw(r, " class=\"language-");
            put_safe(r->o, info.p, k, true);
            raw(r, "\"");
        }
        raw(r, ">");
        for (size_t i = 0; i < n; i++) {
            put_safe(r->o, L[i].p, L[i].n, true);
            raw(r, "\n");
        }
        raw(r, "</code></pre>\n");
        return;
    }
    unsigned saved = r->style;
    for (size_t i = 0; i < n; i++) {
        line_start(r);
        puts_(r->o, "    ");
        set_style(r, saved | S_CODE);
        text(r, L[i].p, L[i].n);
        set_style(r, saved);
        newline(r);
    }
}

/* The lines of a paragraph joined by \n, leading indentation and the last line's trailing
 * spaces removed (other trailing spaces mark hard breaks). NULL when out of memory. */
static char *join_lines(const line *L, size_t n, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += L[i].n + 1;
    char *buf = malloc(total + 1);
    if (!buf)
        return NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        line l = strip_cols(L[i], SIZE_MAX);
        if (i + 1 == n)
            l = trim(l);
        memcpy(buf + *len, l.p, l.n);
        *len += l.n;
        if (i + 1 < n)
            buf[(*len)++] = '\n';
    }
    return buf;
}

static void emit_paragraph(R *r, const line *L, size_t n, bool tight)
{
    size_t len;
    char *buf = join_lines(L, n, &len);
    if (!buf) {
        r->o->oom = 1;
        return;
    }
    if (r->mode == MD_HTML && !tight)
        raw(r, "<p>");
    render_inline(r, buf, len);
    if (r->mode == MD_HTML)
        raw(r, tight ? "\n" : "</p>\n");
    else
        newline(r);
    free(buf);
}

/* Renders lines as a paragraph of text when nesting is too deep to recurse. */
static bool too_deep(R *r, const line *L, size_t n, bool tight)
{
    if (r->depth < MD_MAX_DEPTH && r->nseg + 2 < MAX_SEGS)
        return false;
    emit_paragraph(r, L, n, tight);
    return true;
}

static size_t emit_quote(R *r, const line *L, size_t n, size_t i)
{
    size_t j = i;
    line *q = malloc((n - i) * sizeof *q);
    if (!q) {
        r->o->oom = 1;
        return n;
    }
    size_t m = 0;
    bool para = false; /* a lazy continuation line continues a paragraph inside the quote */
    for (; j < n; j++) {
        if (is_quote(L[j])) {
            line t = strip_cols(L[j], 3);
            t.p++, t.n--;
            if (t.n && (t.p[0] == ' ' || t.p[0] == '\t'))
                t.p++, t.n--;
            q[m++] = t;
            para = !blank(t);
        } else if (para && !blank(L[j]) && !starts_block(L[j], true)) {
            q[m++] = L[j];
        } else {
            break;
        }
    }
    if (!too_deep(r, q, m, false)) {
        r->depth++;
        if (r->mode == MD_HTML) {
            raw(r, "<blockquote>\n");
            render_blocks(r, q, m, false);
            raw(r, "</blockquote>\n");
        } else {
            const char *bar = r->mode == MD_ANSI ? "\x1b[2m\xe2\x94\x82\x1b[0m " : "> ";
            push_seg(r, bar, bar);
            render_blocks(r, q, m, false);
            r->nseg--;
        }
        r->depth--;
    }
    free(q);
    return j;
}

typedef struct span {
    size_t from, n; /* into the list's stripped lines */
} span;

static size_t emit_list(R *r, const line *L, size_t n, size_t i)
{
    item first, it, next;
    is_item(L[i], &first);
    line *sl = malloc((n - i) * sizeof *sl);
    span *items = malloc((n - i) * sizeof *items);
    if (!sl || !items) {
        free(sl);
        free(items);
        r->o->oom = 1;
        return n;
    }
    size_t m = 0, ni = 0;
    bool loose = false;
    while (i < n && is_item(L[i], &it) && it.ordered == first.ordered && it.mark == first.mark) {
        items[ni].from = m;
        size_t ind = indent_of(L[i]);
        line t = strip_cols(L[i], 3);
        t = (line){t.p + it.mark_w, t.n - it.mark_w};
        t = strip_cols(t, it.col - ind - it.mark_w);
        sl[m++] = it.empty ? (line){t.p + t.n, 0} : t;
        size_t j = i + 1;
        bool prev_blank = false, inner_blank = false;
        for (; j < n; j++) {
            if (blank(L[j])) {
                if (prev_blank && it.empty && m - items[ni].from == 1)
                    break; /* an empty item followed by two blank lines ends */
                prev_blank = true;
                sl[m++] = L[j];
                continue;
            }
            if (indent_of(L[j]) >= it.col) {
                inner_blank |= prev_blank;
                sl[m++] = strip_cols(L[j], it.col);
            } else if (!prev_blank && !is_item(L[j], &next) && !starts_block(L[j], true) && !blank(sl[m - 1])) {
                sl[m++] = L[j]; /* lazy continuation of the item's paragraph */
            } else {
                break;
            }
            prev_blank = false;
        }
        size_t end = m;
        while (end > items[ni].from + 1 && blank(sl[end - 1]))
            end--;
        if (end < m && j < n) /* blank lines between this item and the next */
            loose |= is_item(L[j], &it) && it.ordered == first.ordered && it.mark == first.mark;
        loose |= inner_blank;
        items[ni].n = end - items[ni].from;
        ni++;
        i = j;
    }
    if (!too_deep(r, sl, m, !loose)) {
        r->depth++;
        if (r->mode == MD_HTML) {
            char open[48];
            if (first.ordered && first.start != 1)
                snprintf(open, sizeof open, "<ol start=\"%lu\">\n", first.start);
            else
                snprintf(open, sizeof open, first.ordered ? "<ol>\n" : "<ul>\n");
            raw(r, open);
        }
        for (size_t k = 0; k < ni; k++) {
            if (r->mode == MD_HTML) {
                raw(r, "<li>");
                render_blocks(r, sl + items[k].from, items[k].n, !loose);
                raw(r, "</li>\n");
                continue;
            }
            if (k && loose)
                newline(r);
            char bullet[48], pad[48];
            if (first.ordered)
                snprintf(bullet, sizeof bullet, "%lu. ", first.start + k);
            else
                snprintf(bullet, sizeof bullet, "%s", r->mode == MD_ANSI ? "\x1b[33m\xe2\x80\xa2\x1b[0m " : "- ");
            size_t w = first.ordered ? strlen(bullet) : 2;
            memset(pad, ' ', w);
            pad[w] = 0;
            push_seg(r, bullet, pad);
            if (items[k].n == 1 && blank(sl[items[k].from])) {
                line_start(r); /* an empty item still shows its bullet */
                newline(r);
            } else {
                render_blocks(r, sl + items[k].from, items[k].n, !loose);
            }
            r->nseg--;
        }
        if (r->mode == MD_HTML)
            raw(r, first.ordered ? "</ol>\n" : "</ul>\n");
        r->depth--;
    }
    free(sl);
    free(items);
    return i;
}

static void render_blocks(R *r, const line *L, size_t n, bool tight)
{
    bool first = true;
    size_t i = 0;
    while (i < n && !r->o->oom) {
        line l = L[i];
        if (blank(l)) {
            i++;
            continue;
        }
        char ch;
        size_t cnt;
        line content;
        int level;
        item it;
        if (indent_of(l) >= 4) { /* indented code */
            size_t j = i;
            while (j < n && (blank(L[j]) || indent_of(L[j]) >= 4))
                j++;
            size_t end = j;
            while (end > i && blank(L[end - 1]))
                end--;
            line *c = malloc((end - i) * sizeof *c);
            if (!c) {
                r->o->oom = 1;
                return;
            }
            for (size_t k = i; k < end; k++)
                c[k - i] = strip_cols(L[k], 4);
            block_gap(r, &first, tight);
            emit_code(r, c, end - i, (line){"", 0});
            free(c);
            i = j;
        } else if (is_fence(l, &ch, &cnt)) {
            size_t ind = indent_of(l), j = i + 1;
            line t = strip_cols(l, 3);
            line info = trim((line){t.p + cnt, t.n - cnt});
            for (; j < n; j++) {
                line c = trim(L[j]);
                if (indent_of(L[j]) <= 3 && c.n >= cnt && c.p[0] == ch && run_len(c.p, c.n, 0) == c.n)
                    break;
            }
            line *c = malloc((j - i) * sizeof *c + 1);
            if (!c) {
                r->o->oom = 1;
                return;
            }
            for (size_t k = i + 1; k < j; k++)
                c[k - i - 1] = strip_cols(L[k], ind);
            block_gap(r, &first, tight);
            emit_code(r, c, j - i - 1, info);
            free(c);
            i = j < n ? j + 1 : n;
        } else if ((level = atx_level(l, &content))) {
            block_gap(r, &first, tight);
            emit_heading(r, level, content.p, content.n);
            i++;
        } else if (is_hr(l)) {
            block_gap(r, &first, tight);
            if (r->mode == MD_HTML) {
                raw(r, "<hr>\n");
            } else {
                unsigned saved = r->style;
                set_style(r, saved | S_DIM);
                line_start(r);
                for (int k = 0; k < 40; k++)
                    puts_(r->o, r->mode == MD_ANSI ? "\xe2\x94\x80" : "-");
                set_style(r, saved);
                newline(r);
            }
            i++;
        } else if (is_quote(l)) {
            block_gap(r, &first, tight);
            i = emit_quote(r, L, n, i);
        } else if (is_item(l, &it)) {
            block_gap(r, &first, tight);
            i = emit_list(r, L, n, i);
        } else {
            size_t j = i + 1;
            while (j < n && !blank(L[j]) && !setext_level(L[j]) && !(indent_of(L[j]) < 4 && starts_block(L[j], true)))
                j++;
            block_gap(r, &first, tight);
            if (j < n && (level = setext_level(L[j]))) {
                size_t hl;
                char *h = join_lines(L + i, j - i, &hl);
                if (!h) {
                    r->o->oom = 1;
                    return;
                }
                emit_heading(r, level, h, hl);
                free(h);
                i = j + 1;
            } else {
                emit_paragraph(r, L + i, j - i, tight);
                i = j;
            }
        }
    }
}

/* ---- entry points --------------------------------------------------------------------------- */

static int render(const char *src, size_t len, md_mode mode, md_buf *out, md_buf *title)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += src[i] == '\n';
    line *L = malloc(n * sizeof *L);
    if (!L)
        return -1;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || src[i] == '\n') {
            size_t e = i;
            if (e > start && src[e - 1] == '\r')
                e--;
            if (i < len || e > start)
                L[k++] = (line){src + start, e - start};
            start = i + 1;
        }
    R r = {.mode = mode, .o = out, .at_line_start = true, .title = title};
    render_blocks(&r, L, k, false);
    if (mode == MD_ANSI && r.style)
        puts_(out, "\x1b[0m");
    free(L);
    return out->oom ? -1 : 0;
}

int md_render(const char *src, size_t len, md_mode mode, md_buf *out) { return render(src, len, mode, out, NULL); }

int md_render_page(const char *src, size_t len, const char *title, md_buf *out)
{
    md_buf body = {0}, first = {0};
    int rc = render(src, len, MD_HTML, &body, &first);
    if (rc == 0) {
        puts_(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
        const char *t = title ? title : first.len ? first.data : "Document";
        put_safe(out, t, strlen(t), true);
        puts_(out, "</title>\n<style>body{max-width:46em;margin:2em auto;padding:0 1em;font-family:sans-serif;"
                   "line-height:1.5}pre{background:#f4f4f4;padding:.8em;overflow:auto}code{background:#f4f4f4}"
                   "blockquote{border-left:4px solid #ccc;margin-left:0;padding-left:1em;color:#555}</style>\n"
                   "</head>\n<body>\n");
        put(out, body.data, body.len);
        puts_(out, "</body>\n</html>\n");
    }
    md_buf_free(&body);
    md_buf_free(&first);
    return rc || out->oom ? -1 : 0;
}
