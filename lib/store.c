/* store.c - the local content store of verified artifacts, keyed by CID (see store.h). */
#include "elastos/store.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

el_status el_store_locate(el_runtime *rt, const char *cid, char *path, el_error *err)
{
    el_status s = el_cid_validate(cid, err);
    if (s != EL_OK)
        return s;
    if ((size_t)snprintf(path, PATH_MAX, "%s/store/%s.capsule", rt->home, cid) >= PATH_MAX)
        return el_error_set(err, EL_ERR_CONFIG, "store path too long");
    struct stat st;
    if (stat(path, &st) != 0)
        return el_error_set(err, EL_ERR_NOTFOUND, "%s is not in the local store (install it with: elastos install FILE)", cid);
    return EL_OK;
}

/* true if path is a regular file of mode 0600 holding exactly data[0..len). */
static bool holds(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 &&
                (uint64_t)st.st_size == len;
    uint8_t buf[65536];
    for (size_t off = 0; same && off < len;) {
        ssize_t r = read(fd, buf, len - off < sizeof buf ? len - off : sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        same = r > 0 && memcmp(buf, data + off, (size_t)r) == 0;
        off += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    return same;
}

el_status el_store_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err)
{
    el_artifact *a;
    el_status s = el_artifact_open(rt, file, 0, &a, err);
    if (s != EL_OK)
        return s;
    char dir[PATH_MAX], path[PATH_MAX];
    s = el_artifact_cid(a, cid_out, err);
    if (s == EL_OK)
        s = el_runtime_path(rt, "store", dir, sizeof dir, err);
    if (s == EL_OK)
        s = el_mkdirs(dir, 0700, err);
    if (s == EL_OK && (size_t)snprintf(path, sizeof path, "%s/%s.capsule", dir, cid_out) >= sizeof path)
        s = el_error_set(err, EL_ERR_CONFIG, "store path too long");
    /* Write the bytes that were verified (the mapping), not the file again: no check-then-use gap. */
    /* An entry already there is kept only if it holds exactly these bytes: a damaged or foreign
     * file at store/<cid>.capsule is replaced. */
    if (s == EL_OK && !holds(path, el_artifact_bytes(a), (size_t)el_artifact_size(a)))
        s = el_write_file_atomic(path, el_artifact_bytes(a), (size_t)el_artifact_size(a), 0600, err);
    el_artifact_close(a);
    return s;
}

static int cmp_entry(const void *a, const void *b)
{
    const el_store_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : el_semver_compare(x->version, y->version);
}

el_status el_store_list(el_runtime *rt, el_store_entry **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    char dir[PATH_MAX];
    el_status s = el_runtime_path(rt, "store", dir, sizeof dir, err);
    if (s != EL_OK)
        return s;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? EL_OK : el_error_set(err, EL_ERR_IO, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 8 || strcmp(de->d_name + len - 8, ".capsule") != 0 || len - 8 >= EL_CID_MAX)
            continue;
        el_store_entry e = {0};
        memcpy(e.cid, de->d_name, len - 8);
        el_error ignored;
        if (el_cid_validate(e.cid, &ignored) != EL_OK)
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        el_artifact *a = NULL;
        if (el_artifact_open(rt, path, EL_OPEN_ANY_PUBLISHER, &a, &ignored) == EL_OK) {
            const el_manifest *m = el_artifact_manifest(a);
            char actual[EL_CID_MAX];
            snprintf(e.name, sizeof e.name, "%s", m->name);
            snprintf(e.version, sizeof e.version, "%s", m->version);
            e.type = m->type;
            el_pubkey_format(el_artifact_publisher(a), e.publisher);
            e.trusted = el_artifact_publisher_name(a)[0] && el_artifact_cid(a, actual, &ignored) == EL_OK &&
                        !strcmp(actual, e.cid);
            el_artifact_close(a);
        } else {
            snprintf(e.name, sizeof e.name, "?");
            snprintf(e.version, sizeof e.version, "?");
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            el_store_entry *nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                closedir(d);
                free(*out);
                *out = NULL;
                *n = 0;
                return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            }
            *out = nv;
        }
        (*out)[(*n)++] = e;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_entry);
    return EL_OK;
}

el_status el_store_remove(el_runtime *rt, const char *cid, el_error *err)
{
    char path[PATH_MAX];
    el_status s = el_store_locate(rt, cid, path, err);
    if (s != EL_OK)
        return s;
    if (unlink(path) != 0)
        return el_error_set(err, EL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return EL_OK;
}

el_status el_store_resolve(el_runtime *rt, const char *name, const char *range, char cid[EL_CID_MAX], char *path,
                           el_error *err)
{
    if (!range)
        range = "*";
    if (!el_semver_range_valid(range))
        return el_error_set(err, EL_ERR_USAGE, "%s@%.100s: not a semver range", name, range);
    el_store_entry *v;
    size_t n;
    el_status s = el_store_list(rt, &v, &n, err);
    if (s != EL_OK)
        return s;
    const el_store_entry *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i].trusted && !strcmp(v[i].name, name) && el_semver_satisfies(v[i].version, range) &&
            (!best || el_semver_compare(v[i].version, best->version) > 0))
            best = &v[i];
    if (best) {
        memcpy(cid, best->cid, EL_CID_MAX);
        s = el_store_locate(rt, cid, path, err);
    } else {
        s = el_error_set(err, EL_ERR_NOTFOUND, "no installed, trusted capsule %s matches %s (see elastos ls)", name, range);
    }
    free(v);
    return s;
}

#define DEPS_MAX_DEPTH 32

static el_status check_deps(el_runtime *rt, const el_manifest *m, const char **chain, int depth, el_error *err)
{
    for (size_t i = 0; i < m->n_dependencies; i++) {
        const el_dependency *d = &m->dependencies[i];
        for (int k = 0; k <= depth; k++)
            if (!strcmp(chain[k], d->name))
                return el_error_set(err, EL_ERR_NOTFOUND, "dependency cycle: %s -> ... -> %s needs %s again", chain[0],
                                    m->name, d->name);
        if (depth + 1 >= DEPS_MAX_DEPTH)
            return el_error_set(err, EL_ERR_NOTFOUND, "dependencies nested deeper than %d", DEPS_MAX_DEPTH);
        char cid[EL_CID_MAX], path[PATH_MAX];
        el_status s;
        if (d->cid) {
            s = el_store_locate(rt, d->cid, path, err);
            if (s == EL_OK)
                snprintf(cid, sizeof cid, "%s", d->cid);
        } else {
            s = el_store_resolve(rt, d->name, d->version, cid, path, err);
        }
        el_artifact *a = NULL;
        if (s == EL_OK)
            s = el_artifact_open(rt, path, 0, &a, err);
        char actual[EL_CID_MAX];
        if (s == EL_OK)
            s = el_artifact_cid(a, actual, err);
        if (s == EL_OK && strcmp(actual, cid) != 0)
            s = el_error_set(err, EL_ERR_NOTFOUND, "stored bytes do not match CID %s", cid);
        const el_manifest *dm = s == EL_OK ? el_artifact_manifest(a) : NULL;
        if (dm && strcmp(dm->name, d->name) != 0)
            s = el_error_set(err, EL_ERR_NOTFOUND, "CID %s is capsule %s, not %s", cid, dm->name, d->name);
        else if (dm && !el_semver_satisfies(dm->version, d->version))
            s = el_error_set(err, EL_ERR_NOTFOUND, "%s %s does not satisfy %s", dm->name, dm->version, d->version);
        if (s == EL_OK) {
            chain[depth + 1] = d->name;
            s = check_deps(rt, dm, chain, depth + 1, err);
        }
        el_artifact_close(a);
        if (s != EL_OK)
            return el_error_prefix(err, "dependency %s@%s of %s", d->name, d->version, m->name);
    }
    return EL_OK;
}

el_status el_store_check_deps(el_runtime *rt, const el_manifest *m, el_error *err)
{
    const char *chain[DEPS_MAX_DEPTH + 1] = {m->name};
    return check_deps(rt, m, chain, 0, err);
}
