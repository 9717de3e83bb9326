/*
 * fuzz_car.c - libFuzzer target for the CAR / dag-pb / UnixFS decoding of lib/fetch.c (what a
 * gateway or Kubo node sends), through el__fetch_check_car with the root taken from the CAR's
 * first block. Memory safety and bounded work are what is checked here (ASan, UBSan, libFuzzer's
 * timeouts); test_fetch.c checks that a changed CAR never gives back different bytes.
 * Corpus: tests/fuzz/corpus/car/ (CARs exported by Kubo, see tests/data/car/README).
 */
#include "elastos/fetch.h"
#include "internal.h" /* el__fetch_check_car: internal, for tests */

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int out = -1;
    if (out < 0 && (out = memfd_create("fuzz-out", MFD_CLOEXEC)) < 0)
        abort();
    if (ftruncate(out, 0) != 0 || lseek(out, 0, SEEK_SET) != 0)
        abort();
    el_error err;
    el_status s = el__fetch_check_car(data, size, NULL, out, &err);
    if (s != EL_OK && err.msg[0] == '\0')
        abort(); /* every refusal says why */
    return 0;
}
