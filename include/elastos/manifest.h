/*
 * manifest.h - the capsule manifest, capsule.json (SPEC section 3), parsed strictly.
 *
 * Duplicate keys, unknown fields, wrong types and out-of-range values are errors (EL_ERR_FORMAT)
 * whose message names the field, e.g. "capsule.json: resource_limits.memory_mb: must be an
 * integer between 1 and 65536".
 */
#ifndef ELASTOS_MANIFEST_H
#define ELASTOS_MANIFEST_H

#include "elastos/elastos.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum el_capsule_type { EL_TYPE_WASM, EL_TYPE_VM, EL_TYPE_DATA, EL_TYPE_AGENT } el_capsule_type;

/* Bit set of actions (SPEC section 3). */
enum {
    EL_ACT_READ = 1 << 0,
    EL_ACT_WRITE = 1 << 1,
    EL_ACT_EXECUTE = 1 << 2,
    EL_ACT_MESSAGE = 1 << 3,
    EL_ACT_DELETE = 1 << 4,
    EL_ACT_ADMIN = 1 << 5,
};

typedef struct el_permission {
    char *resource;    // URI pattern, e.g. "localhost://storage/*"
    unsigned actions;  /* EL_ACT_* bits, at least one */
} el_permission;

typedef struct el_limits {
    uint32_t memory_mb;     /* default 256 */
    uint64_t cpu_ms;        /* CPU time; 0 = unlimited is NOT allowed: default 60000 */
    uint64_t wall_ms;       /* default 300000 */
    uint32_t storage_mb;    /* default 64 */
    uint32_t max_instances; /* default 16 */
    char **network;         /* allowlist of scheme://host:port patterns; default none */
    size_t n_network;
    uint32_t net_requests;  /* egress requests an instance may make; default EL_NET_REQUESTS_DEFAULT */
    uint64_t net_bytes;     /* their request and response bodies together; default EL_NET_BYTES_DEFAULT */
} el_limits;

#define EL_NET_REQUESTS_DEFAULT 1000
#define EL_NET_BYTES_DEFAULT ((long long)256 << 20)

typedef struct el_microvm_config {
    bool present;
    uint32_t vcpus;     /* default 1, 1..64 */
    uint32_t memory_mb; /* default 256, 16..65536 */
    char *kernel;       /* path inside the artifact or a CID; NULL = runtime default */
    char *rootfs;       /* path inside the artifact; NULL = entry is the rootfs/binary */
    char *boot_args;    /* NULL = none */
    char *backend;      /* "auto" (default), "qemu", "firecracker", "crosvm" */
} el_microvm_config;

typedef struct el_dependency {
    char *name;
    char *version; /* semver range */
    char *cid;     /* optional pin, NULL when absent */
} el_dependency;

typedef struct el_manifest {
    char *name;
    char *version;
    el_capsule_type type;
    char *entry;       /* required for every type (for data: the content file) */
    char *viewer;      /* data only */
    char *description; /* optional metadata, NULL when absent */
    char *license;
    char **authors;
    size_t n_authors;
    el_permission *permissions;
    size_t n_permissions;
    el_limits limits;
    el_microvm_config microvm;
    el_dependency *dependencies;
    size_t n_dependencies;
    char **provides;   /* URI prefixes it can serve as a provider ("elastos://kv/"); none: NULL */
    size_t n_provides;
} el_manifest;

/* Parses and validates len bytes of JSON. On success *out is a new manifest owned by the caller
 * (free with el_manifest_free). On failure *out is NULL and err names the offending field. */
EL_EXTERN el_status el_manifest_parse(const char *json, size_t len, el_manifest **out, el_error *err);

EL_EXTERN void el_manifest_free(el_manifest *m);

/* "wasm", "vm", "data", "agent". */
EL_EXTERN const char *el_manifest_type_name(el_capsule_type t);

/* Parses an action name ("read", ...) to its EL_ACT_* bit; 0 when unknown. */
EL_EXTERN unsigned el_manifest_action_from_name(const char *name);
EL_EXTERN const char *el_manifest_action_name(unsigned bit);

/* true if s is a scheme prefix a provider capsule can serve (`provides`): exactly
 * "elastos://ROOT/", ROOT 1 to 32 of [a-z0-9-] starting with a letter. */
EL_EXTERN bool el_manifest_scheme_prefix_valid(const char *s);

/* true if s is valid Semantic Versioning 2.0.0. */
EL_EXTERN bool el_manifest_semver_valid(const char *s);

/* true if path is a safe relative path inside an artifact: non-empty, no leading '/', no '..' or
 * '.' or empty segments, no NUL, no backslash, at most 255 bytes. */
EL_EXTERN bool el_manifest_path_safe(const char *path);

/* Version ranges (dependencies[].version, viewer "name@range"): "*", or space-separated
 * comparators that must all hold, each an optional operator (=, ^, ~, >=, >, <=, <) directly
 * followed by a full SemVer version: "1.2.3", "^1.2.3", ">=1.0.0 <2.0.0", or a partial one
 * (npm/Cargo style): "1" (1.x.x), "1.2" (1.2.x), "^1.0", "~1.2", ">=1.2". ^ keeps the left-most
 * non-zero component (^0.2.3 is >=0.2.3 <0.3.0), ~ keeps MAJOR.MINOR (~1 keeps MAJOR). */
EL_EXTERN bool el_manifest_semver_range_valid(const char *range);

/* SemVer 2.0.0 precedence: <0, 0, >0 (build metadata ignored). An invalid version sorts before
 * every valid one; two invalid ones compare as strings. */
EL_EXTERN int el_manifest_semver_compare(const char *a, const char *b);

/* true if version (valid SemVer) satisfies range (valid range). A pre-release version satisfies
 * only a range with a comparator naming a pre-release of the same MAJOR.MINOR.PATCH, so "*" and
 * "^1.0.0" match releases only (as npm and Cargo do). */
EL_EXTERN bool el_manifest_semver_satisfies(const char *version, const char *range);

#ifdef __cplusplus
}
#endif
#endif
