/*
 * fuzz_manifest.c - libFuzzer target for the capsule.json parser (lib/manifest.c).
 *
 * Feeds arbitrary bytes to el_manifest_parse and checks, beyond "no crash, no leak, no UB":
 *  - a refusal leaves *out NULL and reports a one-line message starting "capsule.json: ";
 *  - an accepted manifest satisfies every rule the parser claims to enforce (valid name and
 *    SemVer version, safe entry path, limits within range, known actions, valid ranges), so a
 *    validation gap shows up as a crash, not just a memory error;
 *  - the SemVer helpers stay consistent on the same bytes read as a version and as a range.
 * The hostile seed corpus is tests/fuzz/corpus/manifest/ (run libFuzzer on a copy of it).
 */
#include "elastos/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            __builtin_trap();                                                            \
    } while (0)

static void check_manifest(const el_manifest *m)
{
    REQUIRE(m->name && m->version && m->entry);
    REQUIRE(el_manifest_semver_valid(m->version));
    REQUIRE(el_manifest_semver_compare(m->version, m->version) == 0);
    REQUIRE(el_manifest_path_safe(m->entry));
    REQUIRE(strncmp(m->entry, ".elastos/", 9) != 0);
    REQUIRE(el_manifest_type_name(m->type) != NULL);
    REQUIRE((m->viewer != NULL) == (m->type == EL_TYPE_DATA));
    REQUIRE(m->n_permissions <= 64);
    for (size_t i = 0; i < m->n_permissions; i++) {
        unsigned a = m->permissions[i].actions;
        REQUIRE(a != 0 && (a & ~0x3fu) == 0);
        REQUIRE(strncmp(m->permissions[i].resource, "localhost://", 12) == 0 ||
                strncmp(m->permissions[i].resource, "elastos://", 10) == 0 ||
                strncmp(m->permissions[i].resource, "http://", 7) == 0 ||
                strncmp(m->permissions[i].resource, "https://", 8) == 0);
        REQUIRE(strstr(m->permissions[i].resource, "/../") == NULL);
    }
    const el_limits *l = &m->limits;
    REQUIRE(l->memory_mb >= 1 && l->memory_mb <= 65536);
    REQUIRE(l->cpu_ms >= 1 && l->cpu_ms <= 86400000);
    REQUIRE(l->wall_ms >= 1 && l->wall_ms <= 86400000);
    REQUIRE(l->storage_mb <= 1048576);
    REQUIRE(l->max_instances >= 1 && l->max_instances <= 10000);
    REQUIRE(m->n_provides <= 8 && (m->n_provides == 0) == (m->provides == NULL));
    for (size_t i = 0; i < m->n_provides; i++) {
        size_t n = strlen(m->provides[i]);
        REQUIRE(n >= 12 && n <= 43 && strncmp(m->provides[i], "elastos://", 10) == 0 && m->provides[i][n - 1] == '/');
        REQUIRE(strchr(m->provides[i] + 10, '/') == m->provides[i] + n - 1);
        for (size_t j = 0; j < i; j++)
            REQUIRE(strcmp(m->provides[i], m->provides[j]) != 0);
    }
    REQUIRE(l->n_network <= 64);
    for (size_t i = 0; i < l->n_network; i++)
        REQUIRE(strstr(l->network[i], "://") != NULL);
    if (m->type == EL_TYPE_VM) {
        REQUIRE(m->microvm.vcpus >= 1 && m->microvm.vcpus <= 64);
        REQUIRE(m->microvm.memory_mb >= 16 && m->microvm.memory_mb <= 65536);
        REQUIRE(m->microvm.backend != NULL);
    } else {
        REQUIRE(!m->microvm.present && m->microvm.backend == NULL);
    }
    REQUIRE(m->n_dependencies <= 64);
    for (size_t i = 0; i < m->n_dependencies; i++) {
        REQUIRE(el_manifest_semver_range_valid(m->dependencies[i].version));
        (void)el_manifest_semver_satisfies(m->version, m->dependencies[i].version);
    }
    REQUIRE(m->n_authors <= 32);
}

static void check_semver(const uint8_t *data, size_t size)
{
    /* The input up to its first newline as a version, the rest as a range. */
    if (size > 600)
        return;
    char *buf = malloc(size + 1);
    if (!buf)
        return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *range = strchr(buf, '\n');
    if (range)
        *range++ = '\0';
    else
        range = buf;
    bool v = el_manifest_semver_valid(buf);
    bool r = el_manifest_semver_range_valid(range);
    bool s = el_manifest_semver_satisfies(buf, range);
    REQUIRE(!s || (v && r));
    int c1 = el_manifest_semver_compare(buf, range), c2 = el_manifest_semver_compare(range, buf);
    REQUIRE((c1 > 0) == (c2 < 0) && (c1 == 0) == (c2 == 0));
    if (v) {
        REQUIRE(el_manifest_semver_compare(buf, buf) == 0);
        if (strlen(buf) <= 256) { /* an exact version is a range (of at most 256 bytes) */
            REQUIRE(el_manifest_semver_range_valid(buf));
            REQUIRE(el_manifest_semver_satisfies(buf, buf));
        }
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    el_manifest *m = (el_manifest *)&m; /* must be overwritten with NULL on failure */
    el_error err;
    memset(&err, 0, sizeof err);
    el_status st = el_manifest_parse((const char *)data, size, &m, &err);
    if (st == EL_OK) {
        REQUIRE(m != NULL);
        check_manifest(m);
        el_manifest_free(m);
    } else {
        REQUIRE(m == NULL);
        REQUIRE(st == EL_ERR_FORMAT || st == EL_ERR_INTERNAL);
        REQUIRE(strncmp(err.msg, "capsule.json: ", 14) == 0);
        REQUIRE(strchr(err.msg, '\n') == NULL && strchr(err.msg, '\r') == NULL);
    }
    check_semver(data, size);
    return 0;
}
