/*
 * test_cpio.c - lib/cpio.c: the newc writer produces what the checker (and the kernel's format)
 * accepts, byte-identically across builds; the checker refuses truncation, bad magic, bad
 * sizes, names without NUL, a missing trailer; el__cpio_has finds members in concatenations.
 */
#include "../../lib/cpio.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void build(el_cpio *c)
{
    memset(c, 0, sizeof *c);
    CHECK(el__cpio_add(c, "etc", S_IFDIR | 0755, NULL, 0));
    CHECK(el__cpio_add(c, "etc/a", S_IFREG | 0644, "hello", 5));
    CHECK(el__cpio_add(c, "init", S_IFREG | 0755, "1234", 4));
    CHECK(el__cpio_finish(c));
}

int main(void)
{
    el_cpio a, b;
    build(&a);
    build(&b);
    char why[160] = "";
    CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0); /* deterministic */
    CHECK(a.len % 4 == 0);
    CHECK(memcmp(a.buf, "070701", 6) == 0);
    /* The second header (after 110 + "etc\0" padded to 116): etc/a, ino 2, 0100644, size 5. */
    CHECK(memcmp(a.buf + 116, "07070100000002000081A4", 22) == 0);
    CHECK(memcmp(a.buf + 116 + 6 + 8 * 6, "00000005", 8) == 0);
    CHECK(el__cpio_check(a.buf, a.len, 100, why, sizeof why));
    CHECK(el__cpio_has(a.buf, a.len, "etc/a"));
    CHECK(el__cpio_has(a.buf, a.len, "init"));
    CHECK(!el__cpio_has(a.buf, a.len, "etc/b"));
    CHECK(!el__cpio_has(a.buf, a.len, "etc/"));

    /* Two archives concatenated (as vm.c appends the kernel modules), with zero padding. */
    size_t cl = a.len * 2 + 512;
    uint8_t *cat = calloc(1, cl);
    memcpy(cat, a.buf, a.len);
    memcpy(cat + a.len + 512, b.buf, b.len);
    CHECK(el__cpio_check(cat, cl, 100, why, sizeof why));
    CHECK(el__cpio_has(cat, cl, "init"));

    /* Every truncation is refused. */
    int accepted = 0;
    for (size_t n = 0; n < a.len; n++)
        accepted += el__cpio_check(a.buf, n, 100, why, sizeof why);
    CHECK(accepted == 0);
    /* Bad magic, a non-hex size, a size running past the end, a name without its NUL. */
    uint8_t *m = malloc(a.len);
    memcpy(m, a.buf, a.len);
    m[5] = '2';
    CHECK(!el__cpio_check(m, a.len, 100, why, sizeof why) && strstr(why, "no newc header"));
    memcpy(m, a.buf, a.len);
    m[6 + 8 * 6] = 'x';
    CHECK(!el__cpio_check(m, a.len, 100, why, sizeof why) && strstr(why, "malformed header"));
    memcpy(m, a.buf, a.len);
    memcpy(m + 6 + 8 * 6, "7FFFFFFF", 8);
    CHECK(!el__cpio_check(m, a.len, 100, why, sizeof why) && strstr(why, "past the end"));
    memcpy(m, a.buf, a.len);
    m[110 + 3] = 'x'; /* "etc\0" -> "etcx" */
    CHECK(!el__cpio_check(m, a.len, 100, why, sizeof why) && strstr(why, "bad name"));
    /* Member count bound. */
    CHECK(!el__cpio_check(a.buf, a.len, 2, why, sizeof why) && strstr(why, "more than 2"));
    CHECK(!el__cpio_check(a.buf, 0, 100, why, sizeof why) && strstr(why, "empty"));
    free(m);
    free(cat);
    el__cpio_free(&a);
    el__cpio_free(&b);
    return TEST_DONE();
}
