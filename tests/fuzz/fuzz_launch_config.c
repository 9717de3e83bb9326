/*
 * fuzz_launch_config.c - libFuzzer target for el__serve_launch_config_check (serve.h), the check
 * of the LaunchConfig a shell capsule sends with launch_capsule: any JSON is refused with a
 * one-line reason, or accepted with limits that never exceed the manifest's.
 */
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    json_error_t je;
    json_t *config = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!config)
        return 0;
    el_limits m = {.memory_mb = 32, .cpu_ms = 1000, .wall_ms = 2000, .storage_mb = 1, .max_instances = 4};
    el_limits out;
    el_error err;
    el_status a = el__serve_launch_config_check(config, NULL, NULL, &err);
    if (a != EL_OK && (!err.msg[0] || strchr(err.msg, '\n')))
        abort();
    el_status b = el__serve_launch_config_check(config, &m, &out, &err);
    if (b == EL_OK && (a != EL_OK || out.memory_mb > m.memory_mb || out.cpu_ms > m.cpu_ms || out.wall_ms > m.wall_ms ||
                       out.memory_mb < 1 || out.cpu_ms < 1 || out.wall_ms < 1 || out.storage_mb != m.storage_mb))
        abort();
    json_decref(config);
    return 0;
}
