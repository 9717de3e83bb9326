/*
 * runtime.c - el_runtime: resolving and creating $ELASTOS_HOME, and owning per-host state.
 *
 * The runtime is at the bottom of the state layer: it knows its home, its configuration and
 * log sink, and a list of teardowns. What the subsystems above create on it (the engine, the
 * ticker, the audit writer, the token cache, the database) they register with
 * el__runtime_on_close when they create it; el_runtime_close runs the list and calls nothing
 * above itself (docs/internals.md). Likewise the host layer registers how the shell capsule is
 * run (el__runtime_set_shell_runner), so the policy layer never calls a substrate.
 *
 * The home holds what decides trust (trust/, runtime.key, state.db): it is used only when it and
 * its trust/ belong to the user running elastos (or root) and nobody else can write them
 * (home_is_safe, the one place that rule lives).
 */
#include "internal.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wasmtime.h>

const char *el_runtime_wasmtime_version(void) { return WASMTIME_VERSION; }

static el_status default_home(const el_config *cfg, char *out, size_t cap, el_error *err)
{
    const char *h = el__config_in(cfg, EL_CONFIG_HOME);
    if (h)
        return (size_t)snprintf(out, cap, "%s", h) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long");
    const char *x = el__config_in(cfg, EL_CONFIG_XDG_DATA_HOME);
    if (x && *x == '/')
        return (size_t)snprintf(out, cap, "%s/elastos", x) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "XDG_DATA_HOME is too long");
    const char *home = el__config_in(cfg, EL_CONFIG_USER_HOME);
    if (!home || *home != '/')
        return el_error_set(err, EL_ERR_CONFIG, "cannot locate the state directory: set ELASTOS_HOME or HOME");
    return (size_t)snprintf(out, cap, "%s/.local/share/elastos", home) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "HOME is too long");
}

/* Whether dir (which need not exist when optional) may hold this user's trust decisions:
 * a directory, not a symlink, owned by the effective user or root, not writable by group or
 * others. Otherwise EL_ERR_CONFIG with a one-line reason naming the fix. */
static el_status dir_is_safe(const char *dir, bool optional, el_error *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return optional && errno == ENOENT ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "%s: %s", dir, strerror(errno));
    uid_t me = geteuid();
    if (!S_ISDIR(st.st_mode))
        return el_error_set(err, EL_ERR_CONFIG, "%s is not a directory (remove it, or choose another ELASTOS_HOME)", dir);
    if (st.st_uid != me && st.st_uid != 0)
        return el_error_set(err, EL_ERR_CONFIG,
                            "%s is owned by uid %u, not by you (uid %u): use your own directory as ELASTOS_HOME, "
                            "or chown it to yourself", dir, (unsigned)st.st_uid, (unsigned)me);
    if (st.st_mode & 022)
        return el_error_set(err, EL_ERR_CONFIG, "%s is writable by %s: run chmod go-w '%s'", dir,
                            (st.st_mode & 002) ? "others" : "its group", dir);
    return EL_OK;
}

/* One of the XDG base directories for kind ("config" or "cache", sub: ".config" or ".cache"):
 * $XDG_<KIND>_HOME/elastos when that is absolute, else $HOME/<sub>/elastos; false when neither
 * can be formed. */
static bool xdg_dir(const el_config *cfg, el_config_key key, const char *sub, char *out, size_t cap)
{
    const char *x = el__config_in(cfg, key), *home = el__config_in(cfg, EL_CONFIG_USER_HOME);
    if (x && *x == '/')
        return (size_t)snprintf(out, cap, "%s/elastos", x) < cap;
    return home && *home == '/' && (size_t)snprintf(out, cap, "%s/%s/elastos", home, sub) < cap;
}

/* Moves a home's old directory (home/config, home/cache) to its XDG place once, when the new one
 * does not exist yet; where it cannot be moved (another file system, say) the old one stays in
 * use, so nothing is lost: out is the directory to use. */
static void migrate(const char *old, const char *xdg, char *out, size_t cap)
{
    struct stat st;
    snprintf(out, cap, "%s", xdg);
    if (lstat(old, &st) != 0 || !S_ISDIR(st.st_mode) || lstat(xdg, &st) == 0)
        return;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", xdg);
    char *slash = strrchr(parent, '/');
    el_error ignored;
    if (slash && slash != parent)
        *slash = 0;
    if (!slash || el_fs_mkdirs(parent, 0700, &ignored) != EL_OK || rename(old, xdg) != 0)
        snprintf(out, cap, "%s", old);
}

/* Where rt's operator config files and caches live. Under the home when the home was named
 * (ELASTOS_HOME or the caller's argument): one directory holds everything, as before. Otherwise
 * the XDG base directories: $XDG_CONFIG_HOME/elastos (default ~/.config/elastos) and
 * $XDG_CACHE_HOME/elastos (~/.cache/elastos), the home ($XDG_DATA_HOME/elastos) keeping state;
 * an older home's config/ and cache/ are moved there the first time. */
static el_status place_dirs(el_runtime *rt, bool named, el_error *err)
{
    char old_cfg[PATH_MAX], old_cache[PATH_MAX], xdg[PATH_MAX];
    if ((size_t)snprintf(old_cfg, sizeof old_cfg, "%s/config", rt->home) >= sizeof old_cfg ||
        (size_t)snprintf(old_cache, sizeof old_cache, "%s/cache", rt->home) >= sizeof old_cache)
        return el_error_set(err, EL_ERR_CONFIG, "home path too long");
    snprintf(rt->config_dir, sizeof rt->config_dir, "%s", old_cfg);
    snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", old_cache);
    if (named)
        return EL_OK;
    if (xdg_dir(rt->config, EL_CONFIG_XDG_CONFIG_HOME, ".config", xdg, sizeof xdg))
        migrate(old_cfg, xdg, rt->config_dir, sizeof rt->config_dir);
    if (xdg_dir(rt->config, EL_CONFIG_XDG_CACHE_HOME, ".cache", xdg, sizeof xdg))
        migrate(old_cache, xdg, rt->cache_dir, sizeof rt->cache_dir);
    /* Config names the shell and holds keys; the cache holds native code that is loaded and
     * run: both must be as safe as the home. */
    el_status st = dir_is_safe(rt->config_dir, true, err);
    return st == EL_OK ? dir_is_safe(rt->cache_dir, true, err) : st;
}

/* The home and its trust/ directory must be safe (dir_is_safe): another user able to plant a
 * trust entry, a key or a state database would decide what this user runs. */
static el_status home_is_safe(const char *home, el_error *err)
{
    char trust[PATH_MAX];
    if ((size_t)snprintf(trust, sizeof trust, "%s/trust", home) >= sizeof trust)
        return el_error_set(err, EL_ERR_CONFIG, "home path too long");
    el_status st = dir_is_safe(home, false, err);
    return st == EL_OK ? dir_is_safe(trust, true, err) : st;
}

el_status el_runtime_open(const char *home, el_runtime **out, el_error *err)
{
    return el_runtime_open_config(home, NULL, out, err);
}

el_status el_runtime_open_config(const char *home, const el_config *cfg, el_runtime **out, el_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return el_error_set(err, EL_ERR_INTERNAL, "libsodium failed to initialize");
    el_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    pthread_mutex_init(&rt->teardown_mu, NULL);
    el_status st = el__config_copy(cfg, &rt->config, err);
    if (st == EL_OK)
        st = home ? ((size_t)snprintf(rt->home, sizeof rt->home, "%s", home) < sizeof rt->home
                         ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "home path too long"))
                  : default_home(rt->config, rt->home, sizeof rt->home, err);
    if (st == EL_OK)
        st = el_fs_mkdirs(rt->home, 0700, err);
    if (st == EL_OK) {
        char abs[PATH_MAX];
        if (!realpath(rt->home, abs))
            st = el_error_set(err, EL_ERR_CONFIG, "%s: %s", rt->home, strerror(errno));
        else
            snprintf(rt->home, sizeof rt->home, "%s", abs);
    }
    if (st == EL_OK)
        st = home_is_safe(rt->home, err);
    if (st == EL_OK)
        st = place_dirs(rt, home || el__config_in(rt->config, EL_CONFIG_HOME), err);
    if (st != EL_OK) {
        el_config_free(rt->config);
        pthread_mutex_destroy(&rt->teardown_mu);
        free(rt);
        return el_error_prefix(err, "ELASTOS_HOME");
    }
    *out = rt;
    return EL_OK;
}

void el__runtime_on_close(el_runtime *rt, el__teardown_phase phase, void (*fn)(el_runtime *rt))
{
    pthread_mutex_lock(&rt->teardown_mu);
    if (rt->n_teardown < EL__TEARDOWN_MAX) { /* a fixed set of subsystems, each registering once */
        rt->teardown[rt->n_teardown].phase = phase;
        rt->teardown[rt->n_teardown++].fn = fn;
    } else {
        abort(); /* a bug: raise EL__TEARDOWN_MAX */
    }
    pthread_mutex_unlock(&rt->teardown_mu);
}

void el__runtime_set_shell_runner(el_runtime *rt, el__shell_runner fn)
{
    pthread_mutex_lock(&rt->teardown_mu);
    rt->shell_runner = fn;
    pthread_mutex_unlock(&rt->teardown_mu);
}

el__shell_runner el__runtime_shell_runner(el_runtime *rt)
{
    pthread_mutex_lock(&rt->teardown_mu);
    el__shell_runner fn = rt->shell_runner;
    pthread_mutex_unlock(&rt->teardown_mu);
    return fn;
}

void el__runtime_set_asker(el_runtime *rt, el__asker fn, void *arg)
{
    pthread_mutex_lock(&rt->teardown_mu);
    rt->asker = fn;
    rt->asker_arg = arg;
    pthread_mutex_unlock(&rt->teardown_mu);
}

el__asker el__runtime_asker(el_runtime *rt, void **arg)
{
    pthread_mutex_lock(&rt->teardown_mu);
    el__asker fn = rt->asker;
    if (fn)
        *arg = rt->asker_arg;
    pthread_mutex_unlock(&rt->teardown_mu);
    return fn;
}

void el_runtime_close(el_runtime *rt)
{
    if (!rt)
        return;
    for (int phase = 0; phase < EL__TEARDOWN_PHASES; phase++)
        for (size_t i = rt->n_teardown; i-- > 0;)
            if ((int)rt->teardown[i].phase == phase)
                rt->teardown[i].fn(rt);
    el_config_free(rt->config);
    pthread_mutex_destroy(&rt->teardown_mu);
    free(rt);
}

const char *el_runtime_home(const el_runtime *rt) { return rt->home; }

const char *el_runtime_config_dir(const el_runtime *rt) { return rt->config_dir; }

const char *el_runtime_cache_dir(const el_runtime *rt) { return rt->cache_dir; }

el_status el_runtime_path(const el_runtime *rt, const char *rel, char *out, size_t cap, el_error *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", rt->home, rel) >= cap)
        return el_error_set(err, EL_ERR_CONFIG, "path under ELASTOS_HOME is too long: %s", rel);
    return EL_OK;
}
