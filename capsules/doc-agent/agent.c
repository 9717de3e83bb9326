/*
 * doc-agent - an example agent capsule (manifest type "agent"). It answers a question about a
 * document it was given read access to, using a language model it reaches only through the
 * runtime's elastos://ai/chat provider (it never learns the model server's address or key), and
 * remembers earlier questions and answers in its own storage, so later runs have the context.
 *
 *   doc-agent ask [--tool NAME]... URI QUESTION...
 *                                   read URI (elastos://cid/<cid>[/path]), ask, print "answer: ..."
 *                                   With --tool NAME (at most 4): first send the document to the
 *                                   tool capsule NAME running in the daemon (elastos serve), wait
 *                                   up to 5 s for its answer, print "tool NAME: RESULT" and give
 *                                   the result to the model after the document.
 *   doc-agent memory                print what it remembers
 *   doc-agent forget                clear its memory
 *
 * Every capability goes through the runtime: a read token for URI, a token for elastos://ai/chat
 * (execute), read/write tokens for localhost://storage/memory.txt, and for each tool a token for
 * elastos://capsule/NAME (action message; the tool needs its own token to answer; a bare NAME is a
 * tool of the agent's own publisher, NAME@PUBLISHER_ID any other). The operator grants them
 * (elastos run --grant ...) or the shell decides; without them the agent gets "denied".
 * Exit status: 0 answered, 1 a capability or the provider failed, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEMORY "localhost://storage/memory.txt"
#define MAX_REMEMBERED 8 /* exchanges sent to the model as context */
#define MAX_DOC (512u << 10)
#define MAX_TOOLS 4
#define MAX_TOOL_INPUT (64u << 10) /* the first 64 KiB of the document go to a tool */
#define TOOL_WAIT_MS 5000

static RuntimeClient *c;

static int fail(const char *what)
{
    fprintf(stderr, "doc-agent: %s: %s (%s)\n", what, elastos_client_error(c), elastos_client_error_code(c));
    return 1;
}

/* ---- a growable string ---------------------------------------------------------------------- */

typedef struct str {
    char *p;
    size_t n, cap;
} str;

static void add(str *s, const char *d, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        while (nc < s->n + n + 1)
            nc *= 2;
        char *np = realloc(s->p, nc);
        if (!np) {
            fprintf(stderr, "doc-agent: out of memory\n");
            exit(1);
        }
        s->p = np;
        s->cap = nc;
    }
    memcpy(s->p + s->n, d, n);
    s->n += n;
    s->p[s->n] = 0;
}

static void adds(str *s, const char *d) { add(s, d, strlen(d)); }

/* A JSON string literal of d[0..n) (protocol.md escaping). */
static void add_json(str *s, const char *d, size_t n)
{
    adds(s, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)d[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch, esc[2] = 0;
            adds(s, esc);
        } else if (ch == '\n') {
            adds(s, "\\n");
        } else if (ch == '\t') {
            adds(s, "\\t");
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            adds(s, esc);
        } else {
            add(s, d + i, 1);
        }
    }
    adds(s, "\"");
}

static void add_message(str *s, const char *role, const char *content, size_t n)
{
    adds(s, s->p && s->p[s->n - 1] == '[' ? "{\"role\":" : ",{\"role\":");
    add_json(s, role, strlen(role));
    adds(s, ",\"content\":");
    add_json(s, content, n);
    adds(s, "}");
}

/* The value of the top-level string member "content" of the compact JSON object j, decoded
 * (\uXXXX to UTF-8, surrogate pairs joined). NULL when absent or malformed. */
static char *json_content(const char *j)
{
    const char *p = strstr(j, "{\"content\":\"") == j ? j + 12 : NULL;
    if (!p)
        return NULL; /* the runtime writes "content" first */
    str out = {0};
    adds(&out, "");
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            add(&out, p, 1);
            continue;
        }
        char e = *++p, ch = e;
        if (e == 'n')
            ch = '\n';
        else if (e == 't')
            ch = '\t';
        else if (e == 'r')
            ch = '\r';
        else if (e == 'b')
            ch = '\b';
        else if (e == 'f')
            ch = '\f';
        else if (e == 'u') {
            unsigned v = 0;
            for (int k = 1; k <= 4; k++) {
                char h = p[k];
                if (!h)
                    return free(out.p), NULL;
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
            }
            p += 4;
            if (v >= 0xD800 && v < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = 0;
                for (int k = 3; k <= 6; k++)
                    lo = lo * 16 + (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 32) - 'a' + 10);
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            char u[4];
            size_t k = v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
            if (k == 1)
                u[0] = (char)v;
            else if (k == 2)
                u[0] = (char)(0xC0 | v >> 6), u[1] = (char)(0x80 | (v & 0x3F));
            else if (k == 3)
                u[0] = (char)(0xE0 | v >> 12), u[1] = (char)(0x80 | ((v >> 6) & 0x3F)), u[2] = (char)(0x80 | (v & 0x3F));
            else
                u[0] = (char)(0xF0 | v >> 18), u[1] = (char)(0x80 | ((v >> 12) & 0x3F)),
                u[2] = (char)(0x80 | ((v >> 6) & 0x3F)), u[3] = (char)(0x80 | (v & 0x3F));
            add(&out, u, k);
            continue;
        } else if (!e) {
            return free(out.p), NULL;
        }
        add(&out, &ch, 1);
    }
    if (*p != '"')
        return free(out.p), NULL;
    return out.p;
}

/* ---- memory: records "Q <len>\n<bytes>\n" and "A <len>\n<bytes>\n" in storage ---------------- */

typedef struct exchange {
    const char *q, *a;
    size_t ql, al;
} exchange;

static size_t parse_memory(const char *m, size_t n, exchange *ex, size_t max)
{
    size_t count = 0, i = 0;
    exchange cur = {0};
    while (i < n) {
        char kind = m[i];
        char *end;
        unsigned long len = strtoul(m + i + 1, &end, 10);
        if ((kind != 'Q' && kind != 'A') || *end != '\n' || len > n - (size_t)(end + 1 - m))
            break; /* a damaged tail is forgotten, not trusted */
        const char *body = end + 1;
        if (kind == 'Q')
            cur.q = body, cur.ql = len;
        else if (cur.q) {
            cur.a = body, cur.al = len;
            if (count == max) { /* keep the newest */
                memmove(ex, ex + 1, (max - 1) * sizeof *ex);
                count--;
            }
            ex[count++] = cur;
            memset(&cur, 0, sizeof cur);
        }
        i = (size_t)(body - m) + len + 1;
    }
    return count;
}

static void add_record(str *s, char kind, const char *d, size_t n)
{
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%c%zu\n", kind, n);
    adds(s, hdr);
    add(s, d, n);
    adds(s, "\n");
}

static int load_memory(char **tok_r, uint8_t **mem, size_t *len)
{
    *mem = NULL;
    *len = 0;
    if (elastos_request_capability(c, MEMORY, "read", NULL, tok_r, NULL) != 0)
        return fail("no read access to its memory");
    if (elastos_storage_read(c, *tok_r, MEMORY, mem, len) != 0) {
        if (strcmp(elastos_client_error_code(c), "not_found") != 0)
            return fail("cannot read its memory");
        *mem = NULL;
        *len = 0;
    }
    return 0;
}

static int save_memory(const char *data, size_t len)
{
    char *tok = NULL;
    int rc = elastos_request_capability(c, MEMORY, "write", NULL, &tok, NULL) != 0 ? fail("no write access to its memory")
             : elastos_storage_write(c, tok, MEMORY, data, len) != 0             ? fail("cannot write its memory")
                                                                                  : 0;
    free(tok);
    return rc;
}

/* ---- tools: other capsules, reached by message ---------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The address an answer from the tool `name` comes from: name itself when it is NAME@PUBLISHER_ID,
 * else NAME@<this capsule's own publisher id> (a bare name is a capsule of our own publisher, to
 * the router as to us: a same-named capsule of someone else is another sender). */
static int tool_address(const char *name, char *out, size_t cap)
{
    char *mine = NULL;
    if (strchr(name, '@'))
        return snprintf(out, cap, "%s", name) < (int)cap ? 0 : -1;
    if (elastos_get_capsule_address(c, &mine) != 0 || !strchr(mine, '@')) {
        free(mine);
        return -1;
    }
    int r = snprintf(out, cap, "%s%s", name, strchr(mine, '@')) < (int)cap ? 0 : -1;
    free(mine);
    return r;
}

/* Sends d[0..n) to the tool capsule `name` with a token for elastos://capsule/<name> (message) and
 * waits up to TOOL_WAIT_MS for its answer (a message from the tool's address with reply_to set).
 * Returns the answer (malloc'd, NUL-terminated) or NULL with the reason on stderr. */
static char *ask_tool(const char *name, const uint8_t *d, size_t n)
{
    char res[128], from[96], *tok = NULL, *answer = NULL;
    if (tool_address(name, from, sizeof from) != 0) {
        fprintf(stderr, "doc-agent: %s: not a tool address (NAME or NAME@PUBLISHER_ID)\n", name);
        return NULL;
    }
    snprintf(res, sizeof res, "elastos://capsule/%s", name);
    if (elastos_request_capability(c, res, "message", NULL, &tok, NULL) != 0) {
        fprintf(stderr, "doc-agent: no token to message the tool %s: %s (%s)\n", name, elastos_client_error(c),
                elastos_client_error_code(c));
        return NULL;
    }
    int sent = elastos_send_message(c, tok, name, d, n > MAX_TOOL_INPUT ? MAX_TOOL_INPUT : n, NULL);
    free(tok);
    if (sent != 0) {
        fprintf(stderr, "doc-agent: cannot reach the tool %s: %s (%s)\n", name, elastos_client_error(c),
                elastos_client_error_code(c));
        return NULL;
    }
    for (long waited = 0; !answer && waited < TOOL_WAIT_MS; waited += 10) {
        ElastosMessage *m;
        size_t k;
        if (elastos_receive_messages(c, 16, &m, &k) != 0) {
            fprintf(stderr, "doc-agent: receive_messages: %s (%s)\n", elastos_client_error(c), elastos_client_error_code(c));
            return NULL;
        }
        for (size_t i = 0; i < k; i++) {
            if (!answer && m[i].reply_to && !strcmp(m[i].from, from)) {
                answer = malloc(m[i].payload_len + 1);
                if (!answer)
                    break;
                memcpy(answer, m[i].payload, m[i].payload_len);
                answer[m[i].payload_len] = 0;
            } else {
                fprintf(stderr, "doc-agent: ignored a message from %s\n", m[i].from);
            }
        }
        elastos_messages_free(m, k);
        if (!answer)
            sleep_ms(10);
    }
    if (!answer)
        fprintf(stderr, "doc-agent: the tool %s did not answer within %d ms (timeout)\n", name, TOOL_WAIT_MS);
    return answer;
}

/* ---- commands ------------------------------------------------------------------------------- */

static int ask(const char *const *tools, size_t n_tools, const char *uri, const char *question)
{
    char *tok_doc = NULL, *tok_ai = NULL, *tok_mem = NULL, *result = NULL, *tool_out[MAX_TOOLS] = {0};
    uint8_t *doc = NULL, *mem = NULL;
    size_t doc_len = 0, mem_len = 0;
    int rc = 1;
    if (elastos_request_capability(c, uri, "read", NULL, &tok_doc, NULL) != 0) {
        fail("no read access to the document");
        goto out;
    }
    if (elastos_fetch_content(c, tok_doc, uri, &doc, &doc_len) != 0) {
        fail("cannot read the document");
        goto out;
    }
    if (doc_len > MAX_DOC)
        doc_len = MAX_DOC;
    for (size_t i = 0; i < n_tools; i++) {
        if (!(tool_out[i] = ask_tool(tools[i], doc, doc_len)))
            goto out;
        printf("tool %s: %s\n", tools[i], tool_out[i]);
    }
    if (load_memory(&tok_mem, &mem, &mem_len) != 0)
        goto out;
    exchange ex[MAX_REMEMBERED];
    size_t n_ex = parse_memory((const char *)mem, mem_len, ex, MAX_REMEMBERED);
    printf("memory: %zu earlier exchange%s\n", n_ex, n_ex == 1 ? "" : "s");

    str sys = {0}, body = {0};
    adds(&sys, "You are doc-agent. Answer the user's questions about the document below, briefly and only "
               "from what it says.\n\n--- document ---\n");
    add(&sys, (const char *)doc, doc_len);
    for (size_t i = 0; i < n_tools; i++) {
        adds(&sys, "\n--- tool ");
        adds(&sys, tools[i]);
        adds(&sys, ", given the document ---\n");
        adds(&sys, tool_out[i]);
        adds(&sys, "\n");
    }
    adds(&body, "{\"messages\":[");
    add_message(&body, "system", sys.p, sys.n);
    for (size_t i = 0; i < n_ex; i++) {
        add_message(&body, "user", ex[i].q, ex[i].ql);
        add_message(&body, "assistant", ex[i].a, ex[i].al);
    }
    add_message(&body, "user", question, strlen(question));
    adds(&body, "],\"max_tokens\":512}");
    free(sys.p);

    if (elastos_request_capability(c, "elastos://ai/chat", "execute", NULL, &tok_ai, NULL) != 0) {
        fail("no access to the model");
    } else if (elastos_provider_call(c, tok_ai, "elastos://ai/chat", body.p, &result) != 0) {
        fail("the model could not answer");
    } else {
        char *answer = json_content(result);
        if (!answer) {
            fprintf(stderr, "doc-agent: the provider's result has no content\n");
        } else {
            printf("answer: %s\n", answer);
            str m = {0};
            adds(&m, "");
            size_t first = n_ex == MAX_REMEMBERED ? 1 : 0; /* the oldest falls out */
            for (size_t i = first; i < n_ex; i++) {
                add_record(&m, 'Q', ex[i].q, ex[i].ql);
                add_record(&m, 'A', ex[i].a, ex[i].al);
            }
            add_record(&m, 'Q', question, strlen(question));
            add_record(&m, 'A', answer, strlen(answer));
            rc = save_memory(m.p, m.n);
            free(m.p);
            free(answer);
        }
    }
    free(body.p);
out:
    free(tok_doc);
    free(tok_ai);
    free(tok_mem);
    free(result);
    free(doc);
    free(mem);
    for (size_t i = 0; i < n_tools; i++)
        free(tool_out[i]);
    return rc;
}

static int show_memory(void)
{
    char *tok = NULL;
    uint8_t *mem = NULL;
    size_t len = 0;
    if (load_memory(&tok, &mem, &len) != 0)
        return 1;
    exchange ex[MAX_REMEMBERED];
    size_t n = parse_memory((const char *)mem, len, ex, MAX_REMEMBERED);
    printf("memory: %zu exchange%s\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        printf("Q: %.*s\nA: %.*s\n", (int)ex[i].ql, ex[i].q, (int)ex[i].al, ex[i].a);
    free(tok);
    free(mem);
    return 0;
}

int main(int argc, char **argv)
{
    c = elastos_client_open();
    if (!c) {
        fprintf(stderr, "doc-agent: not running under elastos\n");
        return 1;
    }
    int rc;
    const char *tools[MAX_TOOLS];
    size_t n_tools = 0;
    int a = 2; /* after "ask": --tool NAME options, then URI QUESTION... */
    while (argc >= 2 && !strcmp(argv[1], "ask") && a + 1 < argc && !strcmp(argv[a], "--tool") && n_tools < MAX_TOOLS) {
        tools[n_tools++] = argv[a + 1];
        a += 2;
    }
    if (argc >= a + 2 && !strcmp(argv[1], "ask") && strcmp(argv[a], "--tool") != 0) {
        str q = {0};
        for (int i = a + 1; i < argc; i++) {
            if (i > a + 1)
                adds(&q, " ");
            adds(&q, argv[i]);
        }
        rc = ask(tools, n_tools, argv[a], q.p);
        free(q.p);
    } else if (argc == 2 && !strcmp(argv[1], "memory")) {
        rc = show_memory();
    } else if (argc == 2 && !strcmp(argv[1], "forget")) {
        rc = save_memory("", 0);
        if (!rc)
            printf("memory: cleared\n");
    } else {
        fprintf(stderr, "usage: doc-agent ask [--tool NAME]... URI QUESTION... | memory | forget\n");
        rc = 2;
    }
    elastos_client_close(c);
    return rc;
}
