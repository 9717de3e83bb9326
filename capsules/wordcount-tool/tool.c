/*
 * wordcount-tool - an example tool capsule for agent capsules (docs/agent-capsules.md, "Tools").
 * Launched in the daemon (elastos run --detach), it polls receive_messages and answers every
 * message with "lines=L words=W bytes=B" of its payload (lines: newlines; words: runs of
 * non-space bytes, as wc counts them), sent back to the sender with send_message, reply_to set to
 * the message's id. Answering needs its own token for elastos://capsule/<sender> (action
 * message; the sender's address, NAME@PUBLISHER_ID, as the runtime set it in from), requested
 * once per sender through the normal capability flow (an operator grant, e.g. --grant
 * elastos://capsule/doc-agent:message for a doc-agent of the same publisher, or the shell's
 * policy); without it the
 * message goes unanswered and the refusal is printed (its log: elastos logs ID).
 *
 *   wordcount-tool [SECONDS]   serve for at most SECONDS (default 600, at most 3600), or until a
 *                              message whose payload is exactly "quit"
 *
 * Exit status: 0 quit or lifetime over, 1 the runtime failed, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 5
#define MAX_SENDERS 16 /* tokens kept, one per sender address */

static RuntimeClient *c;

static struct sender {
    char name[96]; /* the sender's address, NAME@PUBLISHER_ID (a message's from) */
    char *token;   /* NULL: refused (asked again next time) */
} senders[MAX_SENDERS];
static size_t n_senders;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The token to answer `name`, requested on first need; NULL (and the reason printed) if refused. */
static const char *token_for(const char *name)
{
    struct sender *s = NULL;
    for (size_t i = 0; i < n_senders; i++)
        if (!strcmp(senders[i].name, name))
            s = &senders[i];
    if (s && s->token)
        return s->token;
    if (!s) {
        s = &senders[n_senders < MAX_SENDERS ? n_senders++ : MAX_SENDERS - 1]; /* the last slot is reused */
        free(s->token);
        s->token = NULL;
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    char res[128];
    snprintf(res, sizeof res, "elastos://capsule/%s", name);
    if (elastos_request_capability(c, res, "message", NULL, &s->token, NULL) != 0) {
        s->token = NULL;
        printf("wordcount-tool: no token to answer %s: %s (%s)\n", name, elastos_client_error(c), elastos_client_error_code(c));
        return NULL;
    }
    return s->token;
}

static void count(const uint8_t *d, size_t n, char *out, size_t cap)
{
    size_t lines = 0, words = 0;
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
        int sp = d[i] == ' ' || (d[i] >= '\t' && d[i] <= '\r');
        lines += d[i] == '\n';
        words += !sp && !in_word;
        in_word = !sp;
    }
    snprintf(out, cap, "lines=%zu words=%zu bytes=%zu", lines, words, n);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long secs = 600;
    if (argc > 2 || (argc == 2 && ((secs = strtol(argv[1], NULL, 10)) < 1 || secs > 3600))) {
        fprintf(stderr, "usage: wordcount-tool [SECONDS (1..3600)]\n");
        return 2;
    }
    c = elastos_client_open();
    if (!c) {
        fprintf(stderr, "wordcount-tool: not running under elastos\n");
        return 1;
    }
    printf("wordcount-tool: ready\n");
    double end = now_s() + (double)secs;
    int rc = 0, quit = 0;
    unsigned long answered = 0;
    while (!quit && now_s() < end) {
        ElastosMessage *m;
        size_t n;
        if (elastos_receive_messages(c, 16, &m, &n) != 0) {
            fprintf(stderr, "wordcount-tool: receive_messages: %s (%s)\n", elastos_client_error(c), elastos_client_error_code(c));
            rc = 1;
            break;
        }
        for (size_t i = 0; i < n && !quit; i++) {
            if (m[i].payload_len == 4 && !memcmp(m[i].payload, "quit", 4)) {
                printf("wordcount-tool: quit (asked by %s)\n", m[i].from);
                quit = 1;
                break;
            }
            const char *tok = token_for(m[i].from);
            if (!tok)
                continue;
            char result[128];
            count(m[i].payload, m[i].payload_len, result, sizeof result);
            if (elastos_send_message(c, tok, m[i].from, result, strlen(result), m[i].id) != 0) {
                printf("wordcount-tool: answer to %s failed: %s (%s)\n", m[i].from, elastos_client_error(c), elastos_client_error_code(c));
                if (strcmp(elastos_client_error_code(c), "not_found") != 0)
                    for (size_t k = 0; k < n_senders; k++) /* revoked or expired: ask again next time */
                        if (!strcmp(senders[k].name, m[i].from))
                            free(senders[k].token), senders[k].token = NULL;
            } else {
                printf("wordcount-tool: answered %s: %s\n", m[i].from, result);
                answered++;
            }
        }
        elastos_messages_free(m, n);
        if (!n)
            sleep_ms(POLL_MS);
    }
    printf("wordcount-tool: done, %lu answered\n", answered);
    for (size_t i = 0; i < n_senders; i++)
        free(senders[i].token);
    elastos_client_close(c);
    return rc;
}
