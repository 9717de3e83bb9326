/*
 * runtime.h - the libelastos handle: one el_runtime per $ELASTOS_HOME.
 *
 * An el_runtime owns everything that is per-host state (home directory, trust store, lazily the
 * Wasmtime engine). Nothing in libelastos is global: two runtimes on two homes don't interact.
 * An el_runtime is used from one thread at a time.
 */
#ifndef ELASTOS_RUNTIME_H
#define ELASTOS_RUNTIME_H

#include "elastos/elastos.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_runtime el_runtime;
struct el_config;

/* Opens the runtime on home; NULL means $ELASTOS_HOME, else $XDG_DATA_HOME/elastos, else
 * ~/.local/share/elastos. The directory is created (mode 0700) when missing. */
EL_EXTERN el_status el_runtime_open(const char *home, el_runtime **out, el_error *err);
/* As el_runtime_open, configured by cfg (copied; config.h) instead of the environment and the
 * files under home/config; cfg NULL is el_runtime_open. With cfg, a NULL home comes from its
 * EL_CONFIG_HOME, EL_CONFIG_XDG_DATA_HOME or EL_CONFIG_USER_HOME, in that order. */
EL_EXTERN el_status el_runtime_open_config(const char *home, const struct el_config *cfg, el_runtime **out, el_error *err);
EL_EXTERN void el_runtime_close(el_runtime *rt);

/* Messages for the operator (never for a capsule): a lost audit record, a misconfigured
 * provider, a refused connection. One line each, without the "elastos: " prefix. */
typedef enum el_log_level { EL_LOG_ERROR, EL_LOG_WARNING, EL_LOG_INFO } el_log_level;
typedef void (*el_log_fn)(void *arg, el_log_level level, const char *msg);

/* Sends the runtime's messages to fn (called from any of the runtime's threads); fn NULL
 * restores the default, one line "elastos: [warning: ]msg" on stderr. Set it right after
 * opening: libelastos writes nowhere else. */
EL_EXTERN void el_runtime_set_log(el_runtime *rt, el_log_fn fn, void *arg);

/* The absolute home path; valid while rt is open. */
EL_EXTERN const char *el_runtime_home(const el_runtime *rt);
/* Where the operator's config files are read from ($ELASTOS_HOME/config when the home was named,
 * else $XDG_CONFIG_HOME/elastos) and where caches are kept ($ELASTOS_HOME/cache, else
 * $XDG_CACHE_HOME/elastos). */
EL_EXTERN const char *el_runtime_config_dir(const el_runtime *rt);
EL_EXTERN const char *el_runtime_cache_dir(const el_runtime *rt);

/* Joins home and a relative path into out (PATH_MAX); EL_ERR_CONFIG if it would not fit. */
EL_EXTERN el_status el_runtime_path(const el_runtime *rt, const char *rel, char *out, size_t cap, el_error *err);

/* The Wasmtime version libelastos was built with, e.g. "48.0.8". */
EL_EXTERN const char *el_runtime_wasmtime_version(void);

#ifdef __cplusplus
}
#endif
#endif
