/*
 * instance.c - instance slots (instance.h; el_launch_running is public, in launch.h). A running instance holds an
 * exclusive flock on one of the files $ELASTOS_HOME/run/<name>@<publisher prefix>/<K>, K below
 * the manifest's max_instances. Locks belong to open file descriptions, so they count across
 * processes and threads, and the kernel drops them when a process dies: a crash or kill -9
 * never leaks a slot. The scan starts at a random slot, so a nearly full set costs few tries.
 *
 * A held slot file names its instance (el__instance_label writes the instance id into it), so
 * el_launch_running can list the instances running on this host without taking any lock (a
 * test lock could make a launcher's LOCK_NB attempt fail): it matches the slot files against the
 * kernel's list of held flock locks, /proc/locks, by device and inode. A file that names an id
 * but is not locked belongs to an instance that has ended.
 */
#include "instance.h"
#include "elastos/launch.h"
#include "elastos/audit.h"
#include "elastos/sign.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

el_status el__instance_slot(el_runtime *rt, const el_artifact *art, int *out, el_error *err)
{
    const el_manifest *m = el_artifact_manifest(art);
    char pub[EL_PK_TEXT], dir[PATH_MAX];
    el_sign_pubkey_format(el_artifact_publisher(art), pub);
    if ((size_t)snprintf(dir, sizeof dir, "%s/run/%s@%.16s", el_runtime_home(rt), m->name, pub + strlen("ed25519:")) >=
        sizeof dir - 16)
        return el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long");
    unsigned n = m->limits.max_instances ? m->limits.max_instances : 1;
    char r[9];
    el__random_hex(r, 4);
    unsigned start = (unsigned)strtoul(r, NULL, 16) % n;
    for (unsigned i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%u", dir, (start + i) % n);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == ENOENT) { /* the first instance ever: make the directory */
            el_status st = el_fs_mkdirs(dir, 0700, err);
            if (st != EL_OK)
                return st;
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
            return el_error_set(err, EL_ERR_IO, "%s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            *out = fd;
            return EL_OK;
        }
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK)
            return el_error_set(err, EL_ERR_IO, "%s: %s", path, strerror(e));
    }
    return el_error_set(err, EL_ERR_LIMIT, "capsule %s already runs %u instances (resource_limits.max_instances)",
                        m->name, n);
}

el_status el__instance_audit_kill(el_runtime *rt, const el_artifact *art, const char *capsule_id, const char *reason,
                                 el_error *err)
{
    char pub[EL_PK_TEXT];
    el_sign_pubkey_format(el_artifact_publisher(art), pub);
    el_audit_record r = {.capsule = el_artifact_manifest(art)->name, .capsule_id = capsule_id, .publisher = pub,
                         .resource = "", .action = "", .decision = EL_AUDIT_KILL, .reason = reason, .token_id = ""};
    return el_audit_append(rt, &r, err);
}

el_status el__instance_label(int fd, const char *capsule_id, el_error *err)
{
    /* Ids have one length, so the slot file keeps its size and a launch costs one pwrite: a
     * truncate on every launch freed and re-allocated the file's block (a journalled metadata
     * change per launch, measured as ~1.5x the daemon's CPU per launch). */
    size_t n = strlen(capsule_id);
    struct stat sb;
    if (pwrite(fd, capsule_id, n, 0) != (ssize_t)n || fstat(fd, &sb) != 0 ||
        (sb.st_size != (off_t)n && ftruncate(fd, (off_t)n) != 0))
        return el_error_set(err, EL_ERR_IO, "labelling the instance slot: %s", strerror(errno));
    return EL_OK;
}

typedef struct held_lock {
    unsigned maj, min;
    unsigned long long ino;
} held_lock;

/* The flock locks held now (not the waiters), from /proc/locks, into *out (malloc'd). */
static el_status held_locks(held_lock **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return el_error_set(err, EL_ERR_IO, "/proc/locks: %s", strerror(errno));
    char line[256];
    size_t cap = 0;
    el_status st = EL_OK;
    while (st == EL_OK && fgets(line, sizeof line, f)) {
        held_lock h;
        char kind[16];
        /* "1: FLOCK  ADVISORY  WRITE 4598 fe:00:10846284 0 EOF"; a waiter has "->" after "1:" */
        if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%llu", kind, &h.maj, &h.min, &h.ino) != 4 || strcmp(kind, "FLOCK"))
            continue;
        if (!EL__GROW(*out, cap, *n + 1, 64, SIZE_MAX)) {
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        (*out)[(*n)++] = h;
    }
    fclose(f);
    return st;
}

static bool is_held(const held_lock *v, size_t n, const struct stat *st)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].ino == (unsigned long long)st->st_ino && v[i].maj == major(st->st_dev) && v[i].min == minor(st->st_dev))
            return true;
    return false;
}

/* Appends the id labelling slot file dir/name to *ids when its lock is held. */
static el_status add_if_running(int dirfd, const char *name, const held_lock *locks, size_t nl, el_instance_id **ids,
                                size_t *n, size_t *cap)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char id[33] = "";
    ssize_t k = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, id, 32, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (k != 32 || strspn(id, "0123456789abcdef") != 32 || !is_held(locks, nl, &st))
        return EL_OK;
    if (!EL__GROW(*ids, *cap, *n + 1, 16, SIZE_MAX))
        return EL_ERR_INTERNAL;
    memcpy((*ids)[(*n)++].id, id, 33);
    return EL_OK;
}

el_status el_launch_running(el_runtime *rt, el_instance_id **ids, size_t *n, el_error *err)
{
    *ids = NULL;
    *n = 0;
    char run[PATH_MAX];
    if ((size_t)snprintf(run, sizeof run, "%s/run", el_runtime_home(rt)) >= sizeof run)
        return el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long");
    DIR *top = opendir(run);
    if (!top)
        return errno == ENOENT ? EL_OK : el_error_set(err, EL_ERR_IO, "%s: %s", run, strerror(errno));
    held_lock *locks;
    size_t nl, cap = 0;
    el_status st = held_locks(&locks, &nl, err);
    struct dirent *e;
    while (st == EL_OK && (e = readdir(top))) {
        if (e->d_name[0] == '.')
            continue;
        int dfd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
            if (dfd >= 0)
                close(dfd);
            continue;
        }
        struct dirent *f;
        while (st == EL_OK && (f = readdir(d)))
            if (f->d_name[0] != '.' && add_if_running(dirfd(d), f->d_name, locks, nl, ids, n, &cap) != EL_OK)
                st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        closedir(d);
    }
    closedir(top);
    free(locks);
    if (st != EL_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return st;
}
