/*
 * harness.h - a minimal unit-test harness: CHECK() records a failure and goes on, so one run
 * reports every broken assertion; main() returns non-zero when any failed (ctest reads that).
 */
#ifndef ELASTOS_TEST_HARNESS_H
#define ELASTOS_TEST_HARNESS_H
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "elastos/elastos.h"

static int el_test_failures, el_test_checks;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        el_test_checks++;                                                                \
        if (!(cond)) {                                                                   \
            el_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_STREQ(a, b)                                                                \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        el_test_checks++;                                                                \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
            el_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK_STREQ failed: \"%s\" != \"%s\"\n", __FILE__,   \
                    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                   \
        }                                                                                \
    } while (0)

/* rm -rf of a test's temporary directory (never follows symlinks). */
static int el_test_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}
static inline void rm_rf(const char *dir) { nftw(dir, el_test_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* SPEC section 7: an error message is one non-empty line. */
static inline bool one_line(const el_error *e) { return e->msg[0] != '\0' && strchr(e->msg, '\n') == NULL; }

#define TEST_DONE()                                                                      \
    (printf("%d checks, %d failed\n", el_test_checks, el_test_failures),                 \
     el_test_failures ? 1 : 0)

#endif
