/*
 * config.h - the operator's configuration of a runtime: one object instead of the environment.
 *
 * By default (el_runtime_open, or el_runtime_open_config with cfg NULL) libelastos reads the
 * documented environment variables and the operator's config files (under $ELASTOS_HOME/config/
 * when ELASTOS_HOME names the home, else $XDG_CONFIG_HOME/elastos/: runtime.c), each when it is
 * needed, exactly as the CLI documents them. An embedder that wants no ambient configuration
 * builds an el_config instead: then only what was set in it counts; the environment is never
 * consulted and config files come from the object (el_config_set_file), not from the disk.
 * lib/config.c is the only place in libelastos that reads either.
 */
#ifndef ELASTOS_CONFIG_H
#define ELASTOS_CONFIG_H

#include "elastos/elastos.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The settings, each named after its environment variable. */
typedef enum el_config_key {
    EL_CONFIG_HOME,                  /* ELASTOS_HOME: the state directory */
    EL_CONFIG_XDG_DATA_HOME,         /* XDG_DATA_HOME: else $XDG_DATA_HOME/elastos */
    EL_CONFIG_USER_HOME,             /* HOME: else ~/.local/share/elastos */
    EL_CONFIG_SHELL,                 /* ELASTOS_SHELL: the shell capsule (a path or a CID) */
    EL_CONFIG_FETCH_CONNECT_TIMEOUT, /* ELASTOS_FETCH_CONNECT_TIMEOUT (s), docs/distribution.md */
    EL_CONFIG_FETCH_STALL_TIMEOUT,   /* ELASTOS_FETCH_STALL_TIMEOUT (s) */
    EL_CONFIG_FETCH_TIMEOUT,         /* ELASTOS_FETCH_TIMEOUT (s): a whole fetch or publish */
    EL_CONFIG_QEMU,                  /* ELASTOS_QEMU, docs/vm.md */
    EL_CONFIG_VM_ACCEL,              /* ELASTOS_VM_ACCEL */
    EL_CONFIG_VM_KVM_CPU,            /* ELASTOS_VM_KVM_CPU */
    EL_CONFIG_VM_KERNEL,             /* ELASTOS_VM_KERNEL */
    EL_CONFIG_VM_BOOT_MS,            /* ELASTOS_VM_BOOT_MS */
    EL_CONFIG_VM_KVM_PROBE_MS,       /* ELASTOS_VM_KVM_PROBE_MS */
    EL_CONFIG_KUBO_API,              /* ELASTOS_KUBO_API: a Kubo RPC API to fetch CIDs from */
    EL_CONFIG_GATEWAYS,              /* ELASTOS_GATEWAYS: IPFS gateways, space-separated */
    EL_CONFIG_PATH,                  /* PATH: where QEMU is looked for */
    EL_CONFIG_TERM,                  /* TERM: passed to a VM capsule's console */
    EL_CONFIG_XDG_CONFIG_HOME,       /* XDG_CONFIG_HOME: config files in $XDG_CONFIG_HOME/elastos */
    EL_CONFIG_XDG_CACHE_HOME,        /* XDG_CACHE_HOME: caches in $XDG_CACHE_HOME/elastos */
    EL_CONFIG_COUNT
} el_config_key;

typedef struct el_config el_config;

/* An empty configuration: nothing set, so every setting has its default. */
EL_EXTERN el_status el_config_new(el_config **out, el_error *err);
EL_EXTERN void el_config_free(el_config *c);

/* Sets (copies) one setting; NULL or "" unsets it. EL_ERR_USAGE for an unknown key. */
EL_EXTERN el_status el_config_set(el_config *c, el_config_key key, const char *value, el_error *err);

/* Provides the text of an operator config file ("egress", "limits.json", "shell", ... under
 * $ELASTOS_HOME/config/), taken as private to the operator; NULL removes it. */
EL_EXTERN el_status el_config_set_file(el_config *c, const char *name, const char *text, el_error *err);

/* The environment variable a key stands for ("ELASTOS_HOME", ...); NULL past the end. */
EL_EXTERN const char *el_config_env_name(el_config_key key);

#ifdef __cplusplus
}
#endif
#endif
