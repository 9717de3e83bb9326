/* runtime.c - el_runtime: resolving and creating $ELASTOS_HOME, and owning per-host state. */
#include "internal.h"

#include "elastos/artifact.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>
#include <wasmtime.h>

const char *el_wasmtime_version(void) { return WASMTIME_VERSION; }

static el_status default_home(char *out, size_t cap, el_error *err)
{
    const char *h = getenv("ELASTOS_HOME");
    if (h && *h)
        return (size_t)snprintf(out, cap, "%s", h) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long");
    const char *x = getenv("XDG_DATA_HOME");
    if (x && *x == '/')
        return (size_t)snprintf(out, cap, "%s/elastos", x) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "XDG_DATA_HOME is too long");
    const char *home = getenv("HOME");
    if (!home || *home != '/')
        return el_error_set(err, EL_ERR_CONFIG, "cannot locate the state directory: set ELASTOS_HOME or HOME");
    return (size_t)snprintf(out, cap, "%s/.local/share/elastos", home) < cap ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "HOME is too long");
}

el_status el_runtime_open(const char *home, el_runtime **out, el_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return el_error_set(err, EL_ERR_INTERNAL, "libsodium failed to initialize");
    el_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    el_status st = home ? ((size_t)snprintf(rt->home, sizeof rt->home, "%s", home) < sizeof rt->home
                               ? EL_OK : el_error_set(err, EL_ERR_CONFIG, "home path too long"))
                        : default_home(rt->home, sizeof rt->home, err);
    if (st == EL_OK)
        st = el_mkdirs(rt->home, 0700, err);
    if (st == EL_OK) {
        char abs[PATH_MAX];
        if (!realpath(rt->home, abs))
            st = el_error_set(err, EL_ERR_CONFIG, "%s: %s", rt->home, strerror(errno));
        else
            snprintf(rt->home, sizeof rt->home, "%s", abs);
    }
    if (st != EL_OK) {
        free(rt);
        return el_error_prefix(err, "ELASTOS_HOME");
    }
    *out = rt;
    return EL_OK;
}

void el_runtime_close(el_runtime *rt)
{
    if (!rt)
        return;
    el_ticker_stop(rt->ticker);
    el_wasm_shared_free(rt->wshared);
    el_audit_buf_free(rt);
    el_artifact_close(rt->shell);
    if (rt->engine)
        wasm_engine_delete(rt->engine);
    el_token_cache_free(rt->tokens);
    sqlite3_close(rt->db);
    free(rt);
}

const char *el_runtime_home(const el_runtime *rt) { return rt->home; }

el_status el_runtime_path(const el_runtime *rt, const char *rel, char *out, size_t cap, el_error *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", rt->home, rel) >= cap)
        return el_error_set(err, EL_ERR_CONFIG, "path under ELASTOS_HOME is too long: %s", rel);
    return EL_OK;
}
