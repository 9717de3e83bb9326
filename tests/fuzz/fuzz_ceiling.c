/*
 * fuzz_ceiling.c - libFuzzer target for el__ceiling_parse (lib/ceiling.c), the parser of the
 * operator's $ELASTOS_HOME/config/limits.json: any text is refused with a one-line reason or
 * accepted, and an accepted ceiling never raises a limit when applied (el__ceiling_clamp).
 * Corpus: tests/fuzz/corpus/ceiling/.
 */
#include "../../lib/ceiling.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    el_ceiling c;
    el_error err = {0};
    el_status st = el__ceiling_parse((const char *)data, size, &c, &err);
    if (st != EL_OK) {
        if (st != EL_ERR_CONFIG || !err.msg[0] || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    el_limits l = {.memory_mb = 32, .cpu_ms = 1000, .wall_ms = 2000, .storage_mb = 1, .max_instances = 4};
    el_limits before = l;
    el_microvm_config vm = {.present = true, .memory_mb = 256};
    bool changed = el__ceiling_clamp(&c, &l, &vm);
    if (l.memory_mb > before.memory_mb || l.cpu_ms > before.cpu_ms || l.wall_ms > before.wall_ms ||
        l.storage_mb > before.storage_mb || l.max_instances > before.max_instances || vm.memory_mb > 256 ||
        l.memory_mb < 1 || l.cpu_ms < 1 || l.wall_ms < 1 || l.max_instances < 1)
        abort();
    if (!changed && memcmp(&l, &before, sizeof l) != 0)
        abort();
    return 0;
}
