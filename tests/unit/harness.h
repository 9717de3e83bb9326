/*
 * harness.h - a minimal unit-test harness: CHECK() records a failure and goes on, so one run
 * reports every broken assertion; main() returns non-zero when any failed (ctest reads that).
 */
#ifndef ELASTOS_TEST_HARNESS_H
#define ELASTOS_TEST_HARNESS_H
#include <stdio.h>
#include <string.h>

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

#define TEST_DONE()                                                                      \
    (printf("%d checks, %d failed\n", el_test_checks, el_test_failures),                 \
     el_test_failures ? 1 : 0)

#endif
