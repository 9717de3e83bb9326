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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "localhost://storage"

el_status el__storage_parse(const char *uri, const char **rel, bool allow_root, el_error *err)
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
    if (create && el_fs_mkdirs(path, 0700, err) != EL_OK)
        return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: %s", strerror(errno));
    return fd;
}

el_status el__storage_open(el_runtime *rt, const char *capsule, int *fd, el_error *err)
{
    *fd = open_root(rt, capsule, true, err);
    return *fd < 0 ? err->code : EL_OK;
}

el_status el__storage_root(el_runtime *rt, const char *capsule, char *out, size_t cap, el_error *err)
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

el_status el__storage_read(int root, const char *rel, size_t max, uint8_t **data, size_t *len, el_error *err)
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

/* ---- the quota ledger ---------------------------------------------------------------------------
 * What a capsule's storage holds is counted as allocated blocks, and every file and directory
 * costs at least one 4 KiB block (so empty files and directories are not free), including files
 * that were unlinked while still open (they keep their blocks until closed).
 *
 * Measuring that exactly means walking the tree, so it is done rarely: each storage directory has
 * one ledger per process (shared by every instance of the capsule, with a lock of its own) whose
 * estimate only grows: every write, create or mkdir is charged an upper bound of what it can add
 * (through the storage provider here, through WASI in wasm.c's shadowed calls), and frees are not
 * credited. Only when a charge would take the estimate past the quota is the tree measured again
 * (exactly), and only if something was charged or freed since the last measure; the estimate is
 * then reset to the truth. So a capsule far below its quota never walks, one at its quota walks
 * at most once per change, and the walk is bounded by the quota itself (at most quota / 4 KiB
 * entries can be there). Limitation: another process writing the same directory at the same time
 * (two standalone runs of one capsule) is seen only at this process's next measure. */

#define QUOTA_BLOCK 4096ULL

struct el__quota {
    struct el__quota *next;
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX]; /* for recognising its unlinked files among the process's fds */
    pthread_mutex_t mu;
    uint64_t est;   /* >= what the directory holds */
    bool exact;     /* est was measured and nothing was charged or freed since */
};

static pthread_mutex_t quotas_mu = PTHREAD_MUTEX_INITIALIZER; /* the list only, never held long */
static struct el__quota *quotas;

/* What one entry costs: its allocated blocks, at least one block. */
static uint64_t entry_cost(const struct stat *st)
{
    uint64_t b = (uint64_t)st->st_blocks * 512;
    return b < QUOTA_BLOCK ? QUOTA_BLOCK : b;
}

/* Sum of entry_cost over everything below dfd (not dfd itself); deeper than paths may go counts
 * as over any quota (fail closed). */
static uint64_t tree_cost(int dfd, int depth)
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
            total = UINT64_MAX / 2;
            break;
        }
        total += entry_cost(&st);
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                total += tree_cost(sub, depth + 1);
                close(sub);
            }
        }
    }
    closedir(d);
    return total;
}

/* What files under path that are unlinked but still open in this process hold: each of our fds
 * whose file has no link left and whose last name was under path, counted once per inode. */
static uint64_t unlinked_cost(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return UINT64_MAX / 2; /* cannot tell: fail closed */
    size_t pl = strlen(path), n = 0;
    struct { dev_t dev; ino_t ino; } seen[256];
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        struct stat st;
        if (*end || fd < 0 || fd == dirfd(d) || fstat((int)fd, &st) != 0 || st.st_nlink != 0 || !S_ISREG(st.st_mode))
            continue;
        char link[PATH_MAX + 16], proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
        ssize_t l = readlink(proc, link, sizeof link - 1);
        if (l <= (ssize_t)pl || memcmp(link, path, pl) != 0 || link[pl] != '/')
            continue;
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = seen[i].dev == st.st_dev && seen[i].ino == st.st_ino;
        if (dup)
            continue;
        if (n < sizeof seen / sizeof *seen)
            seen[n].dev = st.st_dev, seen[n].ino = st.st_ino, n++;
        total += entry_cost(&st);
    }
    closedir(d);
    return total;
}

el__quota *el__quota_get(int root)
{
    struct stat st;
    if (fstat(root, &st) != 0)
        return NULL;
    for (int pass = 0; pass < 2; pass++) {
        pthread_mutex_lock(&quotas_mu);
        el__quota *q = quotas;
        while (q && !(q->dev == st.st_dev && q->ino == st.st_ino))
            q = q->next;
        pthread_mutex_unlock(&quotas_mu);
        if (q || pass)
            return q;
        /* First use of this directory in this process: measured once, outside the list's lock. */
        if (!(q = calloc(1, sizeof *q)))
            return NULL;
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", root);
        ssize_t l = readlink(proc, q->path, sizeof q->path - 1);
        q->path[l > 0 ? l : 0] = 0;
        q->dev = st.st_dev;
        q->ino = st.st_ino;
        q->est = tree_cost(root, 0) + unlinked_cost(q->path);
        q->exact = true;
        pthread_mutex_init(&q->mu, NULL);
        pthread_mutex_lock(&quotas_mu);
        el__quota *other = quotas;
        while (other && !(other->dev == st.st_dev && other->ino == st.st_ino))
            other = other->next;
        if (!other) {
            q->next = quotas;
            quotas = q;
        }
        pthread_mutex_unlock(&quotas_mu);
        if (other) { /* another thread measured it meanwhile */
            pthread_mutex_destroy(&q->mu);
            free(q);
            return other;
        }
        return q;
    }
    return NULL;
}

/* Charges bytes (an upper bound of what an operation about to happen may add) against quota,
 * measuring root again when the estimate would pass it. False, and nothing charged, when the
 * operation would take the directory over its quota; *used (may be NULL) gets the bytes counted. */
static bool quota_charge(el__quota *q, int root, uint64_t bytes, uint64_t quota, uint64_t *used)
{
    pthread_mutex_lock(&q->mu);
    if (q->est + bytes > quota && !q->exact) { /* maybe over: measure again */
        q->est = tree_cost(root, 0) + unlinked_cost(q->path);
        q->exact = true;
    }
    bool ok = q->est + bytes <= quota;
    if (ok && bytes) {
        q->est += bytes;
        q->exact = false;
    }
    if (used)
        *used = q->est + (ok ? 0 : bytes);
    pthread_mutex_unlock(&q->mu);
    return ok;
}

uint64_t el__quota_measure(el__quota *q, int root)
{
    pthread_mutex_lock(&q->mu);
    q->est = tree_cost(root, 0) + unlinked_cost(q->path);
    q->exact = true;
    uint64_t used = q->est;
    pthread_mutex_unlock(&q->mu);
    return used;
}

/* Something under the directory may have been freed: the next charge that would pass the quota
 * measures again. */
static void quota_freed(el__quota *q)
{
    pthread_mutex_lock(&q->mu);
    q->exact = false;
    pthread_mutex_unlock(&q->mu);
}

/* What writing len bytes can add: len rounded up to whole 4 KiB blocks, at least one. */
static uint64_t block_bytes(uint64_t len)
{
    uint64_t b = (len + QUOTA_BLOCK - 1) / QUOTA_BLOCK * QUOTA_BLOCK;
    return b < QUOTA_BLOCK ? QUOTA_BLOCK : b;
}

el_status el__storage_write(int root, const char *rel, const void *data, size_t len, uint64_t quota_bytes, el_error *err)
{
    /* The new file (a temp file renamed over the old one, whose blocks are freed then) and, at
     * most, one new block for each directory on its path. */
    el__quota *q = el__quota_get(root);
    uint64_t charge = block_bytes(len);
    for (const char *p = rel; (p = strchr(p, '/')); p++)
        charge += QUOTA_BLOCK;
    if (!q || !quota_charge(q, root, charge, quota_bytes, NULL))
        return el_error_set(err, EL_ERR_LIMIT, "storage quota of %llu MiB exceeded",
                            (unsigned long long)(quota_bytes >> 20));
    char leaf[256];
    int dfd = walk_dirs(root, rel, true, leaf, err);
    if (dfd < 0)
        return err->code;
    char tmp[300];
    char rnd[17];
    el__random_hex(rnd, 8);
    snprintf(tmp, sizeof tmp, ".tmp-%s", rnd);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    el_status s = EL_OK;
    if (fd < 0) {
        s = el_error_set(err, EL_ERR_IO, "storage: cannot write %s: %s", rel, strerror(errno));
    } else {
        if (!el__write_all(fd, data, len))
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

el_status el__storage_list(int root, const char *rel, json_t **entries, el_error *err)
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

el_status el__storage_delete(int root, const char *rel, el_error *err)
{
    char leaf[256];
    int dfd = walk_dirs(root, rel, false, leaf, err);
    if (dfd < 0)
        return err->code;
    el_status s = EL_OK;
    if (unlinkat(dfd, leaf, 0) != 0 && !(errno == EISDIR && unlinkat(dfd, leaf, AT_REMOVEDIR) == 0))
        s = el_error_set(err, errno == ENOENT ? EL_ERR_NOTFOUND : EL_ERR_IO, "storage: delete %s: %s", rel, strerror(errno));
    close(dfd);
    el__quota *q = s == EL_OK ? el__quota_get(root) : NULL;
    if (q)
        quota_freed(q);
    return s;
}
