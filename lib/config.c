/*
 * config.c - the operator's configuration (include/elastos/config.h): the only place in
 * libelastos that reads the environment or an operator config file.
 *
 * A runtime opened without an el_config looks each setting up in the environment when it is
 * needed (so a setting changed between two calls counts, as the CLI always had it), and reads
 * <config dir>/<name> from the disk ($ELASTOS_HOME/config, or $XDG_CONFIG_HOME/elastos: runtime.c). A runtime opened with one uses only the object's
 * copy, taken at open. Either way every caller asks here, through el__config*, so the rule
 * "where does a setting come from" is made once.
 */
#include "elastos/config.h"
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 8

static const char *const env_names[EL_CONFIG_COUNT] = {
    [EL_CONFIG_HOME] = "ELASTOS_HOME",
    [EL_CONFIG_XDG_DATA_HOME] = "XDG_DATA_HOME",
    [EL_CONFIG_USER_HOME] = "HOME",
    [EL_CONFIG_SHELL] = "ELASTOS_SHELL",
    [EL_CONFIG_FETCH_CONNECT_TIMEOUT] = "ELASTOS_FETCH_CONNECT_TIMEOUT",
    [EL_CONFIG_FETCH_STALL_TIMEOUT] = "ELASTOS_FETCH_STALL_TIMEOUT",
    [EL_CONFIG_FETCH_TIMEOUT] = "ELASTOS_FETCH_TIMEOUT",
    [EL_CONFIG_QEMU] = "ELASTOS_QEMU",
    [EL_CONFIG_VM_ACCEL] = "ELASTOS_VM_ACCEL",
    [EL_CONFIG_VM_KVM_CPU] = "ELASTOS_VM_KVM_CPU",
    [EL_CONFIG_VM_KERNEL] = "ELASTOS_VM_KERNEL",
    [EL_CONFIG_VM_BOOT_MS] = "ELASTOS_VM_BOOT_MS",
    [EL_CONFIG_VM_KVM_PROBE_MS] = "ELASTOS_VM_KVM_PROBE_MS",
    [EL_CONFIG_KUBO_API] = "ELASTOS_KUBO_API",
    [EL_CONFIG_GATEWAYS] = "ELASTOS_GATEWAYS",
    [EL_CONFIG_PATH] = "PATH",
    [EL_CONFIG_TERM] = "TERM",
    [EL_CONFIG_XDG_CONFIG_HOME] = "XDG_CONFIG_HOME",
    [EL_CONFIG_XDG_CACHE_HOME] = "XDG_CACHE_HOME",
};

struct el_config {
    char *values[EL_CONFIG_COUNT];
    struct {
        char *name, *text;
    } files[MAX_FILES];
};

const char *el_config_env_name(el_config_key key) { return (unsigned)key < EL_CONFIG_COUNT ? env_names[key] : NULL; }

el_status el_config_new(el_config **out, el_error *err)
{
    if (!(*out = calloc(1, sizeof **out)))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    return EL_OK;
}

void el_config_free(el_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < EL_CONFIG_COUNT; i++)
        free(c->values[i]);
    for (int i = 0; i < MAX_FILES; i++) {
        free(c->files[i].name);
        if (c->files[i].text) {
            explicit_bzero(c->files[i].text, strlen(c->files[i].text)); /* may hold a key */
            free(c->files[i].text);
        }
    }
    free(c);
}

el_status el_config_set(el_config *c, el_config_key key, const char *value, el_error *err)
{
    if ((unsigned)key >= EL_CONFIG_COUNT)
        return el_error_set(err, EL_ERR_USAGE, "el_config_set: unknown key %d", (int)key);
    char *v = value && *value ? strdup(value) : NULL;
    if (value && *value && !v)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    free(c->values[key]);
    c->values[key] = v;
    return EL_OK;
}

el_status el_config_set_file(el_config *c, const char *name, const char *text, el_error *err)
{
    int slot = -1;
    for (int i = 0; i < MAX_FILES && slot < 0; i++)
        if (c->files[i].name && !strcmp(c->files[i].name, name))
            slot = i;
    for (int i = 0; i < MAX_FILES && slot < 0; i++)
        if (!c->files[i].name)
            slot = i;
    if (slot < 0)
        return el_error_set(err, EL_ERR_USAGE, "el_config_set_file: at most %d files", MAX_FILES);
    free(c->files[slot].name);
    free(c->files[slot].text);
    c->files[slot].name = c->files[slot].text = NULL;
    if (!text)
        return EL_OK;
    if (!(c->files[slot].name = strdup(name)) || !(c->files[slot].text = strdup(text)))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    return EL_OK;
}

el_status el__config_copy(const el_config *src, el_config **out, el_error *err)
{
    *out = NULL;
    if (!src)
        return EL_OK;
    el_status st = el_config_new(out, err);
    for (int i = 0; st == EL_OK && i < EL_CONFIG_COUNT; i++)
        st = el_config_set(*out, (el_config_key)i, src->values[i], err);
    for (int i = 0; st == EL_OK && i < MAX_FILES; i++)
        if (src->files[i].name)
            st = el_config_set_file(*out, src->files[i].name, src->files[i].text, err);
    if (st != EL_OK) {
        el_config_free(*out);
        *out = NULL;
    }
    return st;
}

const char *el__config_in(const el_config *cfg, el_config_key key)
{
    if ((unsigned)key >= EL_CONFIG_COUNT)
        return NULL;
    const char *v = cfg ? cfg->values[key] : getenv(env_names[key]);
    return v && *v ? v : NULL;
}

const char *el__config(const el_runtime *rt, el_config_key key) { return el__config_in(rt->config, key); }

unsigned long long el__config_uint(const el_runtime *rt, el_config_key key, unsigned long long dflt)
{
    const char *v = el__config(rt, key);
    if (!v || *v < '0' || *v > '9')
        return dflt;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    return *end || x == 0 || errno ? dflt : x;
}

el_status el__config_file(const el_runtime *rt, const char *name, size_t max, char **text, size_t *len,
                          unsigned *mode, char *path, size_t path_cap, el_error *err)
{
    *text = NULL;
    snprintf(path, path_cap, "%s/%s", rt->config_dir, name);
    if (rt->config) {
        for (int i = 0; i < MAX_FILES; i++)
            if (rt->config->files[i].name && !strcmp(rt->config->files[i].name, name)) {
                size_t n = strlen(rt->config->files[i].text);
                if (n > max)
                    return el_error_set(err, EL_ERR_LIMIT, "%s: longer than %zu bytes", path, max);
                if (!(*text = strdup(rt->config->files[i].text)))
                    return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
                *len = n;
                *mode = 0600;
                return EL_OK;
            }
        return el_error_set(err, EL_ERR_NOTFOUND, "%s: not in the runtime's configuration", path);
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_CONFIG, "cannot read %s: %s", path,
                            strerror(errno));
    *mode = (unsigned)st.st_mode & 07777;
    return el_fs_read_file(path, max, text, len, err);
}

el_status el__json_object(const char *text, size_t len, const char *what, json_t **root, el_error *err)
{
    json_error_t je;
    *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (json_is_object(*root))
        return EL_OK;
    json_decref(*root);
    *root = NULL;
    return el_error_set(err, EL_ERR_CONFIG, "%s is not a JSON object", what);
}

el_status el__config_json(const el_runtime *rt, const char *name, size_t max, json_t **root, unsigned *mode,
                          char *path, size_t path_cap, el_error *err)
{
    *root = NULL;
    char *text;
    size_t len;
    el_status st = el__config_file(rt, name, max, &text, &len, mode, path, path_cap, err);
    if (st != EL_OK) {
        if (st != EL_ERR_NOTFOUND && err)
            err->code = EL_ERR_CONFIG;
        return st == EL_ERR_NOTFOUND ? st : EL_ERR_CONFIG;
    }
    st = el__json_object(text, len, path, root, err);
    explicit_bzero(text, len);
    free(text);
    return st;
}
