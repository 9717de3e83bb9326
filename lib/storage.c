/*
 * storage.c - the storage provider: each capsule's own persistent files under
 * $ELASTOS_HOME/storage/<capsule name>/, reached only through tokens (broker.c).
 *
 * Paths are walked one segment at a time with openat(O_NOFOLLOW), so neither a ".." nor a
 * symlink planted inside the directory can lead outside it; writes go to a temp file that is
 * renamed into place, so a reader never sees half a file.
 */
#include "internal.h"
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "localhost://storage"

el_status el_storage_parse(const char *uri, const char **rel, bool allow_root, el_error *err)
{
    size_t pl = strlen(PREFIX);
    if (strncmp(uri, PREFIX, pl) != 0 || (uri[pl] != 0 && uri[pl] != '/'))
        return el_error_set(err, EL_ERR_FORMAT, "not a storage path (expected localhost://storage/...): %.200s", uri);
    const char *r = uri[pl] ? uri + pl + 1 : uri + pl;
    if (!*r) {
        if (!allow_root)
            return el_error_set(err, EL_ERR_FORMAT, "a file path is required, not the storage root");
        *rel = r;
        return EL_OK;
    }
    if (strlen(r) > EL_STORAGE_PATH_MAX)
        return el_error_set(err, EL_ERR_FORMAT, "storage path longer than %d bytes", EL_STORAGE_PATH_MAX);
    int segments = 1;
    for (const char *q = r; *q; q++)
        segments += *q == '/';
    if (segments > EL_STORAGE_MAX_DEPTH)
        return el_error_set(err, EL_ERR_FORMAT, "storage path deeper than %d segments", EL_STORAGE_MAX_DEPTH);
    const char *seg = r;
    for (const char *p = r;; p++) {
        if (*p == '/' || *p == 0) {
            size_t n = (size_t)(p - seg);
            if (n == 0 || n > 255 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return el_error_set(err, EL_ERR_FORMAT, "bad storage path \"%.200s\" (empty, '.', '..' or overlong segment)", uri);
            if (!*p)
                break;
            seg = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '%' || *p == '*') {
            return el_error_set(err, EL_ERR_FORMAT, "bad storage path \"%.200s\" (control, '\\\\', '%%' or '*' character)", uri);
        }
    }
    *rel = r;
    return EL_OK;
}

/* Opens the capsule's storage root (created 0700 on first use). */
static int open_root(el_runtime *rt, const char *capsule, bool create, el_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/storage/%s", rt->home, capsule) >= sizeof path) {
        el_error_set(err, EL_ERR_CONFIG, "storage path too long");
        return -1;
    }
    if (create && el_mkdirs(path, 0700, err) != EL_OK)
        return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: %s", strerror(errno));
    return fd;
}

el_status el_storage_open(el_runtime *rt, const char *capsule, int *fd, el_error *err)
{
    *fd = open_root(rt, capsule, true, err);
    return *fd < 0 ? err->code : EL_OK;
}

el_status el_storage_root(el_runtime *rt, const char *capsule, char *out, size_t cap, el_error *err)
{
    int fd = open_root(rt, capsule, true, err);
    if (fd < 0)
        return err ? err->code : EL_ERR_IO;
    close(fd);
    if ((size_t)snprintf(out, cap, "%s/storage/%s", rt->home, capsule) >= cap)
        return el_error_set(err, EL_ERR_CONFIG, "storage path too long");
    return EL_OK;
}

/* Walks rel's directory part from the root; returns a dir fd and sets *leaf to the last segment.
 * With create, missing directories are made. */
static int walk_dirs(int root, const char *rel, bool create, char leaf[256], el_error *err)
{
    if (!strchr(rel, '/')) { /* the common case: a file at the top, no directory to open */
        snprintf(leaf, 256, "%s", rel);
        return dup(root);
    }
    int dfd = dup(root);
    const char *seg = rel;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        char name[256];
        memcpy(name, seg, n);
        name[n] = 0;
        if (!slash) {
            memcpy(leaf, name, n + 1);
            return dfd;
        }
        if (create && mkdirat(dfd, name, 0700) != 0 && errno != EEXIST) {
            el_error_set(err, EL_ERR_IO, "storage: cannot create %s: %s", name, strerror(errno));
            close(dfd);
            return -1;
        }
        int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        if (next < 0) {
            el_error_set(err, errno == ENOENT || errno == ENOTDIR ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: %s: %s", name,
                         errno == ELOOP ? "is a symlink" : strerror(errno));
            return -1;
        }
        dfd = next;
        seg = slash + 1;
    }
}

el_status el_storage_read(int root, const char *rel, size_t max, uint8_t **data, size_t *len, el_error *err)
{
    *data = NULL;
    *len = 0;
    int fd;
    if (!strchr(rel, '/')) {
        fd = openat(root, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    } else {
        char leaf[256];
        int dfd = walk_dirs(root, rel, false, leaf, err);
        if (dfd < 0)
            return err->code;
        fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
    }
    if (fd < 0)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: %s: %s", rel,
                            errno == ELOOP ? "is a symlink" : strerror(errno));
    struct stat st;
    el_status s = EL_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        s = el_error_set(err, EL_ERR_NOTFOUND, "storage: %s is not a file", rel);
    else if ((size_t)st.st_size > max)
        s = el_error_set(err, EL_ERR_LIMIT, "storage: %s is %lld bytes, more than a message can carry (%zu)", rel,
                         (long long)st.st_size, max);
    uint8_t *buf = s == EL_OK ? malloc((size_t)st.st_size + 1) : NULL;
    if (s == EL_OK && !buf)
        s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    size_t got = 0;
    while (s == EL_OK && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            s = el_error_set(err, EL_ERR_IO, "storage: read %s failed", rel);
        else
            got += (size_t)r;
    }
    close(fd);
    if (s != EL_OK) {
        free(buf);
        return s;
    }
    *data = buf;
    *len = got;
    return EL_OK;
}

static uint64_t tree_bytes(int dfd, int depth)
{
    uint64_t total = 0;
    /* openat(".") gives a description of its own: a dup would share (and move) the offset of
     * the session's root fd, and the next walk would see an empty directory. */
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth >= EL_STORAGE_MAX_DEPTH) {
            total = UINT64_MAX / 2; /* deeper than paths may go: fail closed */
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                total += tree_bytes(sub, depth + 1);
                close(sub);
            }
        } else {
            total += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return total;
}

uint64_t el_storage_usage(int root)
{
    return tree_bytes(root, 0);
}

el_status el_storage_write(int root, const char *rel, const void *data, size_t len, uint64_t quota_bytes, el_error *err)
{
    uint64_t used = tree_bytes(root, 0);
    if (used + len > quota_bytes) {
        return el_error_set(err, EL_ERR_LIMIT, "storage quota of %llu MiB exceeded",
                            (unsigned long long)(quota_bytes >> 20));
    }
    char leaf[256];
    int dfd = walk_dirs(root, rel, true, leaf, err);
    if (dfd < 0)
        return err->code;
    char tmp[300];
    char rnd[17];
    el_random_hex(rnd, 8);
    snprintf(tmp, sizeof tmp, ".tmp-%s", rnd);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    el_status s = EL_OK;
    if (fd < 0) {
        s = el_error_set(err, EL_ERR_IO, "storage: cannot write %s: %s", rel, strerror(errno));
    } else {
        if (!el_write_all(fd, data, len))
            s = el_error_set(err, EL_ERR_IO, "storage: write %s: %s", rel, strerror(errno));
        if (s == EL_OK && fsync(fd) != 0)
            s = el_error_set(err, EL_ERR_IO, "storage: fsync %s: %s", rel, strerror(errno));
        close(fd);
        struct stat st;
        if (s == EL_OK && fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            s = el_error_set(err, EL_ERR_FORMAT, "storage: %s is a directory", rel);
        if (s == EL_OK && renameat(dfd, tmp, dfd, leaf) != 0)
            s = el_error_set(err, EL_ERR_IO, "storage: rename %s: %s", rel, strerror(errno));
        if (s != EL_OK)
            unlinkat(dfd, tmp, 0);
        else
            fsync(dfd);
    }
    close(dfd);
    return s;
}

el_status el_storage_list(int root, const char *rel, json_t **entries, el_error *err)
{
    *entries = NULL;
    int dfd = dup(root);
    if (*rel) {
        close(dfd);
        char leaf[256];
        int parent = walk_dirs(root, rel, false, leaf, err);
        if (parent < 0)
            return err->code;
        dfd = openat(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(parent);
        if (dfd < 0)
            return el_error_set(err, EL_ERR_NOTFOUND, "storage: %s is not a directory", rel);
    }
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return el_error_set(err, EL_ERR_IO, "storage: cannot list %s", rel);
    }
    rewinddir(d);
    json_t *arr = json_array();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strncmp(de->d_name, ".tmp-", 5))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        char name[260];
        snprintf(name, sizeof name, "%s%s", de->d_name, S_ISDIR(st.st_mode) ? "/" : "");
        json_t *s = json_string(name);
        if (s)
            json_array_append_new(arr, s);
    }
    closedir(d);
    *entries = arr;
    return EL_OK;
}

el_status el_storage_delete(int root, const char *rel, el_error *err)
{
    char leaf[256];
    int dfd = walk_dirs(root, rel, false, leaf, err);
    if (dfd < 0)
        return err->code;
    el_status s = EL_OK;
    if (unlinkat(dfd, leaf, 0) != 0 && !(errno == EISDIR && unlinkat(dfd, leaf, AT_REMOVEDIR) == 0))
        s = el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: delete %s: %s", rel, strerror(errno));
    close(dfd);
    return s;
}
