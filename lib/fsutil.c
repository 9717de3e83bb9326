/* fsutil.c - small, careful file-system helpers: bounded reads, atomic writes, mkdir -p. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

el_status el_fs_read_file(const char *path, size_t max, char **out, size_t *len, el_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return el_error_set(err, EL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return el_error_set(err, EL_ERR_FORMAT, "%s: too large (%lld bytes, limit %zu)", path,
                            (long long)st.st_size, max);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return el_error_set(err, EL_ERR_IO, "%s: read failed: %s", path, r ? strerror(errno) : "file shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *len = got;
    return EL_OK;
}

el_status el_fs_exe_path(char out[PATH_MAX], bool dir, el_error *err)
{
    ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
    if (n <= 0 || out[0] != '/')
        return el_error_set(err, EL_ERR_NOTFOUND, "cannot locate the elastos binary (/proc/self/exe)");
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (dir)
        *(slash == out ? slash + 1 : slash) = 0;
    return EL_OK;
}

el_status el__fsync_dir_of(const char *path, el_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? EL_OK : el_error_set(err, EL_ERR_IO, "fsync %s: %s", dir, strerror(errno));
}

bool el__write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

static el_status write_replace(const char *path, const void *data, size_t len, unsigned mode, bool durable,
                               el_error *err)
{
    char tmp[PATH_MAX];
    char rnd[17];
    el__random_hex(rnd, 8);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, rnd) >= sizeof tmp)
        return el_error_set(err, EL_ERR_USAGE, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (!el__write_all(fd, data, len))
        goto fail;
    if (fchmod(fd, mode & 0777) != 0 || (durable && fsync(fd) != 0))
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return durable ? el__fsync_dir_of(path, err) : EL_OK;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return el_error_set(err, EL_ERR_IO, "cannot write %s: %s", path, strerror(e));
}

el_status el_fs_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, el_error *err)
{
    return write_replace(path, data, len, mode, true, err);
}

el_status el__write_file_cache(const char *path, const void *data, size_t len, unsigned mode, el_error *err)
{
    return write_replace(path, data, len, mode, false, err);
}

el_status el_fs_mkdirs(const char *path, unsigned mode, el_error *err)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return el_error_set(err, EL_ERR_CONFIG, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return el_error_set(err, EL_ERR_CONFIG, "cannot create directory %s: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return el_error_set(err, EL_ERR_CONFIG, "%s is not a directory", buf);
    return EL_OK;
}

void el__random_hex(char *out, size_t nbytes)
{
    uint8_t b[64];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    randombytes_buf(b, nbytes);
    sodium_bin2hex(out, 2 * nbytes + 1, b, nbytes);
}

bool el__fs_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
