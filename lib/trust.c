/* trust.c - the publisher trust store ($ELASTOS_HOME/trust/publishers) and the read-only system
 * store installed with the runtime, see trust.h. */
#include "elastos/trust.h"
#include "internal.h"
#include "ceiling.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRUST_FILE "trust/publishers"
#define TRUST_MAX_BYTES (1 << 20)

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > EL_TRUST_NAME_MAX)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._@-", *p)))
            return false;
    return true;
}

static el_status parse(const char *path, char *text, el_trust_entry **out, size_t *n, el_error *err);
static el_status load_file(const char *path, el_trust_entry **out, size_t *n, el_error *err);

/* Parses the store; a damaged store is a configuration error, never "trust nothing" silently. */
static el_status load(el_runtime *rt, el_trust_entry **out, size_t *n, el_error *err)
{
    char path[PATH_MAX];
    *out = NULL;
    *n = 0;
    el_status st = el_runtime_path(rt, TRUST_FILE, path, sizeof path, err);
    if (st != EL_OK)
        return st;
    return load_file(path, out, n, err);
}

/* Reads and parses the trust file at path (absent: empty). */
static el_status load_file(const char *path, el_trust_entry **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    char *text;
    size_t len;
    el_status st = el_fs_read_file(path, TRUST_MAX_BYTES, &text, &len, err);
    if (st == EL_ERR_NOTFOUND)
        return EL_OK;
    if (st == EL_ERR_FORMAT || st == EL_ERR_IO) { /* too large, not a regular file, unreadable */
        if (err)
            err->code = EL_ERR_CONFIG;
        return EL_ERR_CONFIG;
    }
    if (st != EL_OK)
        return st;
    return parse(path, text, out, n, err);
}

/* Parses text (freed here) of the trust file at path. */
static el_status parse(const char *path, char *text, el_trust_entry **out, size_t *n, el_error *err)
{
    size_t cap = 0;
    el_trust_entry *v = NULL;
    int lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (!*line || *line == '#')
            continue;
        char *sp = strchr(line, ' ');
        if (sp)
            *sp = 0;
        el_trust_entry e = {0};
        if (strncmp(line, "ed25519:", 8) != 0 || strlen(line) != 8 + 64 || !el_sign_hex_decode(line + 8, 64, e.pk) ||
            (sp && !name_ok(sp + 1))) {
            free(v);
            free(text);
            return el_error_set(err, EL_ERR_CONFIG, "%s:%d: malformed trust entry", path, lineno);
        }
        snprintf(e.name, sizeof e.name, "%s", sp ? sp + 1 : "-");
        if (!EL__GROW(v, cap, *n + 1, 8, SIZE_MAX)) {
            free(v);
            free(text);
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        }
        v[(*n)++] = e;
    }
    free(text);
    *out = v;
    return EL_OK;
}

static el_status save(el_runtime *rt, const el_trust_entry *v, size_t n, el_error *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    el_status st = el_runtime_path(rt, "trust", dir, sizeof dir, err);
    if (st == EL_OK)
        st = el_fs_mkdirs(dir, 0700, err);
    if (st == EL_OK)
        st = el_runtime_path(rt, TRUST_FILE, path, sizeof path, err);
    if (st != EL_OK)
        return st;
    size_t cap = 64 + n * (EL_PK_TEXT + EL_TRUST_NAME_MAX + 2);
    char *buf = malloc(cap);
    if (!buf)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    size_t len = (size_t)snprintf(buf, cap, "# elastos trusted publishers: ed25519:<key> <name>\n");
    for (size_t i = 0; i < n; i++) {
        char pk[EL_PK_TEXT];
        el_sign_pubkey_format(v[i].pk, pk);
        len += (size_t)snprintf(buf + len, cap - len, "%s %s\n", pk, v[i].name);
    }
    st = el_fs_write_file_atomic(path, buf, len, 0600, err);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* The system trust store, installed read-only with the runtime (as /usr/share/keyrings is):    */
/* <directory of the elastos binary>/../share/elastos/trust/publishers, holding the publisher  */
/* of the shipped shell capsule, so a fresh home has a working shell without trusting anything */
/* the user did not install. It is only read, never written, and used only when it and its     */
/* directory belong to root or to this user and are writable by nobody else: whoever could     */
/* change it could change the binary beside it, so it adds no trust the binary doesn't have.   */

el_status el_trust_system_path(char out[PATH_MAX], el_error *err)
{
    char exe[PATH_MAX];
    if (el_fs_exe_path(exe, true, err) != EL_OK)
        return EL_ERR_NOTFOUND;
    char *slash = strrchr(exe, '/'); /* <prefix>/bin -> <prefix> */
    if (slash)
        *slash = 0;
    if ((size_t)snprintf(out, PATH_MAX, "%s/share/elastos/%s", exe, TRUST_FILE) >= PATH_MAX)
        return el_error_set(err, EL_ERR_NOTFOUND, "the elastos binary's path is too long");
    return EL_OK;
}

/* EL_OK when st is owned by root or this user and writable by neither group nor others. */
static bool system_owned(const struct stat *st) { return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022); }

el_status el_trust_system_check_file(const char *path, el_error *err)
{
    struct stat st, dst;
    if (lstat(path, &st) != 0)
        return el_error_set(err, EL_ERR_NOTFOUND, "%s: no system trust store", path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (!S_ISREG(st.st_mode) || stat(dir, &dst) != 0)
        return el_error_set(err, EL_ERR_CONFIG, "%s: not a regular file", path);
    if (!system_owned(&st) || !system_owned(&dst))
        return el_error_set(err, EL_ERR_CONFIG,
                            "%s: ignored: it (or its directory) is writable by others or owned by another user "
                            "(make it root-owned, mode 0644)",
                            path);
    return EL_OK;
}

el_status el_trust_list_system(el_trust_entry **out, size_t *n, el_error *err)
{
    char path[PATH_MAX];
    *out = NULL;
    *n = 0;
    el_status st = el_trust_system_path(path, err);
    if (st == EL_OK)
        st = el_trust_system_check_file(path, err);
    if (st != EL_OK)
        return st;
    return load_file(path, out, n, err);
}

/* EL_OK (entry filled) when the system store names pk; anything else is "not there". */
static bool system_trusts(const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry)
{
    el_trust_entry *v;
    size_t n;
    if (el_trust_list_system(&v, &n, NULL) != EL_OK)
        return false;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        if (memcmp(v[i].pk, pk, EL_PK_BYTES) == 0) {
            found = true;
            if (entry)
                *entry = v[i];
        }
    free(v);
    return found;
}

el_status el_trust_add(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], const char *name, el_error *err)
{
    if (name && !name_ok(name))
        return el_error_set(err, EL_ERR_USAGE, "bad publisher name \"%.80s\": use 1-64 of [A-Za-z0-9._@-]", name);
    el_trust_entry *v;
    size_t n;
    el_status st = load(rt, &v, &n, err);
    if (st != EL_OK)
        return st;
    size_t i;
    for (i = 0; i < n && memcmp(v[i].pk, pk, EL_PK_BYTES) != 0; i++)
        ;
    size_t cap = n;
    if (i == n) {
        if (!EL__GROW(v, cap, n + 1, 8, SIZE_MAX)) {
            free(v);
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        }
        memcpy(v[n].pk, pk, EL_PK_BYTES);
        n++;
    }
    snprintf(v[i].name, sizeof v[i].name, "%s", name ? name : "-");
    st = save(rt, v, n, err);
    free(v);
    return st;
}

el_status el_trust_remove(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], el_error *err)
{
    el_trust_entry *v;
    size_t n;
    el_status st = load(rt, &v, &n, err);
    if (st != EL_OK)
        return st;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].pk, pk, EL_PK_BYTES) != 0)
            v[w++] = v[i];
    if (w == n) {
        free(v);
        char t[EL_PK_TEXT], sys[PATH_MAX];
        el_sign_pubkey_format(pk, t);
        if (system_trusts(pk, NULL) && el_trust_system_path(sys, NULL) == EL_OK)
            return el_error_set(err, EL_ERR_CONFIG, "%s is in the system trust store %s, which is read-only "
                                "(installed with elastos; remove it there as root)", t, sys);
        return el_error_set(err, EL_ERR_NOTFOUND, "%s is not in the trust store", t);
    }
    st = save(rt, v, w, err);
    free(v);
    return st;
}

el_status el_trust_list(el_runtime *rt, el_trust_entry **out, size_t *n, el_error *err)
{
    return load(rt, out, n, err);
}

el_status el_trust_check(el_runtime *rt, const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry, el_error *err)
{
    el_trust_entry *v;
    size_t n;
    el_status st = load(rt, &v, &n, err);
    if (st != EL_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].pk, pk, EL_PK_BYTES) == 0) {
            if (entry)
                *entry = v[i];
            free(v);
            return EL_OK;
        }
    free(v);
    if (system_trusts(pk, entry))
        return EL_OK;
    char t[EL_PK_TEXT];
    el_sign_pubkey_format(pk, t);
    return el_error_set(err, EL_ERR_TRUST, "publisher %s is not trusted (add it with: elastos trust add %s)", t, t);
}

static el_status trust_of(void *rt, const uint8_t pk[EL_PK_BYTES], el_trust_entry *entry, el_error *err)
{
    return el_trust_check(rt, pk, entry, err);
}

/* Opening an artifact is verifying it against this runtime's trust store (artifact.h); a store
 * entry is also checked to be its CID's bytes (the CID's SHA-256 pass overlaps the signature
 * check, EL_OPEN_CID), and the limits are lowered to the operator's ceiling (ceiling.c). */
el_status el_artifact_open(el_runtime *rt, const char *path, unsigned flags, el_artifact **out, el_error *err)
{
    char want[EL_CID_MAX];
    bool stored = el__cid_store_entry(rt->home, path, want);
    el_status s = el__artifact_load(path, stored ? flags | EL_OPEN_CID : flags, trust_of, rt, out, err);
    if (s == EL_OK && stored)
        s = el__artifact_check_stored(rt->home, *out, path, err);
    if (s == EL_OK)
        s = el__ceiling_apply(rt, *out, err);
    if (s != EL_OK && *out) {
        el_artifact_close(*out);
        *out = NULL;
        el_error_prefix(err, "%s", path);
    }
    return s;
}

el_status el__artifact_open_prehashed(el_runtime *rt, el__prehash *p, const char *name, unsigned flags,
                                      el_artifact **out, el_error *err)
{
    return el__artifact_load_prehashed(p, name, flags, trust_of, rt, out, err);
}

/* ---- el__artifact_open_cached ----------------------------------------------------------------
 * The artifact opened last through it, kept verified while its file keeps its identity (device,
 * inode, size, mtime, ctime), so resolving NAME@RANGE and opening the result, call after call (a
 * provider capsule's binding, provider.c), do not hash and check the signature of the same bytes
 * again: a reuse re-checks the store entry's CID and the publisher's trust, as serve.c's cache
 * of launched artifacts does. cache_mu guards every runtime's entry. */
struct el__art_cache {
    char path[PATH_MAX];
    struct stat st;
    el_artifact *a;
};
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void cache_free(el_runtime *rt)
{
    if (rt->art_cache)
        el_artifact_close(rt->art_cache->a);
    free(rt->art_cache);
    rt->art_cache = NULL;
}

/* Keeps a (opened from path, whose identity was st before and after) as the entry. */
static void cache_put(el_runtime *rt, const char *path, const struct stat *st, el_artifact *a)
{
    el_artifact *old = NULL;
    pthread_mutex_lock(&cache_mu);
    if (!rt->art_cache && (rt->art_cache = calloc(1, sizeof *rt->art_cache)))
        el__runtime_on_close(rt, EL__TEARDOWN_STATE, cache_free);
    if (rt->art_cache && strlen(path) < sizeof rt->art_cache->path) {
        old = rt->art_cache->a;
        el__artifact_ref(a);
        rt->art_cache->a = a;
        rt->art_cache->st = *st;
        snprintf(rt->art_cache->path, sizeof rt->art_cache->path, "%s", path);
    }
    pthread_mutex_unlock(&cache_mu);
    el_artifact_close(old);
}

el_status el__artifact_open_cached(el_runtime *rt, const char *path, el_artifact **out, el_error *err)
{
    struct stat st, after;
    bool have = stat(path, &st) == 0;
    el_artifact *hit = NULL;
    pthread_mutex_lock(&cache_mu);
    const struct el__art_cache *c = rt->art_cache;
    if (have && c && c->a && !strcmp(c->path, path) && el__fs_same_file(&c->st, &st))
        el__artifact_ref(hit = c->a);
    pthread_mutex_unlock(&cache_mu);
    if (hit) {
        el_status st2 = el__artifact_check_stored(el_runtime_home(rt), hit, path, err);
        if (st2 == EL_OK)
            st2 = el_trust_check(rt, el_artifact_publisher(hit), NULL, err);
        if (st2 != EL_OK) {
            el_artifact_close(hit);
            el_error_prefix(err, "%s", path);
            return st2;
        }
        *out = hit;
        return EL_OK;
    }
    el_status s = el_artifact_open(rt, path, 0, out, err);
    if (s == EL_OK && have && stat(path, &after) == 0 && el__fs_same_file(&st, &after))
        cache_put(rt, path, &st, *out);
    return s;
}
