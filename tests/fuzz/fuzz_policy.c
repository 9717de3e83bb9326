/*
 * fuzz_policy.c - libFuzzer target for the default shell's policy-line parser
 * (capsules/shell/policy.c), which reads the operator's policy file in the shell capsule and in
 * `elastos policy`.
 *
 * Beyond "no crash, no leak, no UB": a refused file always gives a reason; every rule of an
 * accepted file can be written back as one line (shell_policy_format re-parses it to the same
 * rule), and a file made of those lines is accepted and decides like the original.
 * Corpus: tests/fuzz/corpus/policy/.
 */
#include "../../capsules/shell/policy.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rewrite {
    char *out;
    size_t n, cap;
} rewrite;

static int rewrite_one(const shell_policy_rule *r, void *arg)
{
    rewrite *w = arg;
    char *line = malloc(SHELL_POLICY_LINE_MAX);
    size_t n = line ? shell_policy_format(r, line, SHELL_POLICY_LINE_MAX) : 0;
    if (!line)
        return 1;
    if (!n) /* a rule that parsed must be writable as a line */
        abort();
    if (w->n + n > w->cap) {
        size_t cap = (w->n + n) * 2;
        char *p = realloc(w->out, cap + 1);
        if (!p) {
            free(line);
            return 1;
        }
        w->out = p;
        w->cap = cap;
    }
    memcpy(w->out + w->n, line, n);
    w->n += n;
    free(line);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SHELL_POLICY_MAX + 1)
        return 0;
    char *text = malloc(size + 1);
    shell_policy_rule *r = malloc(sizeof *r);
    if (!text || !r) {
        free(text);
        free(r);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = 0;
    char why[320] = "";
    rewrite w = {0};
    int rc = shell_policy_walk(text, size, r, rewrite_one, &w, why, sizeof why);
    if (rc < 0 && !why[0])
        abort();
    if (rc == 0) {
        char why2[320] = "";
        if (shell_policy_walk(w.out ? w.out : "", w.n, r, NULL, NULL, why2, sizeof why2) != 0)
            abort();
        shell_policy_query q = {.name = "notes", .publisher = "ed25519:ab", .resource = "localhost://storage/a b",
                                .action = "read"};
        int l1, l2;
        char r1[320], r2[320];
        int v1 = shell_policy_decide(text, size, &q, &l1, r1, sizeof r1);
        int v2 = shell_policy_decide(w.out ? w.out : "", w.n, &q, &l2, r2, sizeof r2);
        if (v1 != v2 || (v1 == -2) != (v2 == -2))
            abort();
    }
    int broad;
    (void)shell_policy_who_valid(text, &broad, why, sizeof why);
    free(w.out);
    free(text);
    free(r);
    return 0;
}
