/*
 * policy.h - the default shell's policy lines: the ONE parser, matcher and encoder of them.
 *
 * It is compiled into the shell capsule (wasm32-wasi, capsules/shell/shell.c) and into the
 * elastos tool (`elastos policy list|add|check`, cli/cmd_policy.c), so what the operator is shown
 * and what `policy add` writes is exactly what the shell will decide with. Pure C17: no I/O,
 * no globals (allocations: a copy of the text per walk, a scratch rule per decision).
 *
 * A line:  allow|deny  WHO  RESOURCE  ACTIONS      ('#' starts a comment, blank lines ignored)
 *   WHO      * | NAME@ed25519:<hex> | publisher:ed25519:<hex> | NAME (any publisher's NAME)
 *   RESOURCE * | exact URI | prefix pattern ending in / *, covering the request
 *   ACTIONS  * | comma-separated actions
 * WHO and RESOURCE are percent-encoded (%XX is the byte 0xXX; a space, tab, '#', '%', control
 * or non-ASCII byte must be written so). The whole text is parsed before any line applies: a
 * malformed line anywhere makes the file malformed (the shell then denies everything).
 */
#ifndef ELASTOS_SHELL_POLICY_H
#define ELASTOS_SHELL_POLICY_H

#include <stddef.h>

#define SHELL_POLICY_MAX (1 << 20) /* bytes of a policy file; a longer file is malformed */
#define SHELL_POLICY_FIELD_MAX 4096 /* a decoded WHO or RESOURCE, NUL included */
#define SHELL_POLICY_ACTS_MAX 256   /* ACTIONS, NUL included */
/* The longest line shell_policy_format writes (every byte of WHO and RESOURCE encoded), NUL included. */
#define SHELL_POLICY_LINE_MAX (2 * 3 * SHELL_POLICY_FIELD_MAX + SHELL_POLICY_ACTS_MAX + 16)

typedef struct shell_policy_rule {
    int allow, lineno;
    char who[SHELL_POLICY_FIELD_MAX], res[SHELL_POLICY_FIELD_MAX], acts[SHELL_POLICY_ACTS_MAX];
} shell_policy_rule;

/* A capability request as the shell sees it (publisher: "ed25519:<hex>"). */
typedef struct shell_policy_query {
    const char *name, *publisher, *resource, *action;
} shell_policy_query;

/* Called for each rule of a walk; a nonzero return stops the walk (and is returned). */
typedef int (*shell_policy_fn)(const shell_policy_rule *r, void *arg);

/* Walks the policy text[0..len) (not modified), calling fn (may be NULL) for each rule in order,
 * after checking that every line parses. Returns 0, fn's nonzero return, or -1 when the file is
 * malformed or memory runs out, with why (cap bytes) naming the line. fn is called only when the
 * whole text is well-formed. scratch: one rule of the caller's. */
int shell_policy_walk(const char *text, size_t len, shell_policy_rule *scratch, shell_policy_fn fn, void *arg, char *why,
                      size_t cap);

/* Whether rule r applies to request q (WHO, RESOURCE covering and ACTIONS listing). */
int shell_policy_matches(const shell_policy_rule *r, const shell_policy_query *q);

/* The decision of the policy text[0..len) for q: 1 allow, 0 deny, -1 no rule
 * matched, -2 malformed or out of memory. reason (cap bytes) says why ("policy line 3: allow");
 * *lineno is the deciding line (0 when none). */
int shell_policy_decide(const char *text, size_t len, const shell_policy_query *q, int *lineno, char *reason, size_t cap);

/* Writes the line "allow|deny WHO RESOURCE ACTIONS\n" (WHO and RESOURCE percent-encoded) for
 * r into out (cap bytes, NUL-terminated); its length, or 0 when it does not fit or the result
 * would not parse back to r. */
size_t shell_policy_format(const shell_policy_rule *r, char *out, size_t cap);

/* Whether who (decoded) is one of the WHO forms; when not, why (cap bytes) says what is wrong.
 * A bare NAME is valid (the shell accepts it) but *broad is set: it matches any publisher. */
int shell_policy_who_valid(const char *who, int *broad, char *why, size_t cap);

#endif
