/*
 * fuzz_cpio.c - libFuzzer target for lib/cpio.c's checker (it reads the rootfs of every vm
 * capsule before QEMU sees it) and el__cpio_has on what the checker accepts.
 *
 * Beyond "no crash, no leak, no UB": an accepted archive re-checks the same way when a valid
 * archive is appended (concatenation, as vm.c does), and a refusal always gives a reason.
 * Corpus: tests/fuzz/corpus/cpio/.
 */
#include "../../lib/cpio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160] = "";
    bool okay = el__cpio_check(data, size, 4096, why, sizeof why);
    if (!okay && !why[0])
        abort();
    if (!okay)
        return 0;
    (void)el__cpio_has(data, size, "init");
    (void)el__cpio_has(data, size, "lib/modules/x/virtio_console.ko");
    el_cpio c = {0};
    el__cpio_add(&c, "init", S_IFREG | 0755, "x", 1);
    el__cpio_finish(&c);
    size_t pad = (4 - size % 4) % 4; /* as vm.c appends: zeros up to a 4-byte boundary */
    uint8_t *cat = calloc(1, size + pad + c.len);
    if (cat) {
        memcpy(cat, data, size);
        memcpy(cat + size + pad, c.buf, c.len);
        if (!el__cpio_check(cat, size + pad + c.len, 4096 + 2, why, sizeof why) ||
            !el__cpio_has(cat, size + pad + c.len, "init"))
            abort();
        free(cat);
    }
    el__cpio_free(&c);
    return 0;
}
