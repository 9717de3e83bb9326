/*
 * store.c - the local content store of verified artifacts, keyed by CID (see store.h).
 *
 * Files are the truth: store/<cid>.capsule holds exactly the bytes of <cid>. The index (table
 * `store` in state.db) adds what a listing needs without reopening every artifact (name,
 * version, type, publisher, size) and whether the entry is pinned. Crash safety comes from the
 * order of writes: the row first, then the file (temp, fsync, rename, fsync of the directory).
 * A row whose file never arrived is dropped by reconcile(); a file without a row (an older
 * store, or a copy by hand) is verified and indexed as pinned, so nothing unknown is collected.
 * store/.lock (flock) serializes the writers: add, rm, gc and reconcile.
 */
#include "elastos/store.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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

/* Opens (creating) the store directory and takes its lock (LOCK_SH or LOCK_EX); *lock_fd gets the
 * descriptor to close. dir gets the store path (PATH_MAX). */
static el_status lock_store(el_runtime *rt, int op, char *dir, int *lock_fd, el_error *err)
{
    *lock_fd = -1;
    el_status s = el_runtime_path(rt, "store", dir, PATH_MAX, err);
    if (s == EL_OK)
        s = el_fs_mkdirs(dir, 0700, err);
    if (s != EL_OK)
        return s;
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot open the store lock %s: %s", path, strerror(errno));
    while (flock(fd, op) != 0) {
        if (errno != EINTR) {
            close(fd);
            return el_error_set(err, EL_ERR_IO, "cannot lock the store: %s", strerror(errno));
        }
    }
    *lock_fd = fd;
    return EL_OK;
}

static void unlock_store(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

static el_status db_fail(sqlite3 *db, el_error *err, const char *what)
{
    return el_error_set(err, EL_ERR_IO, "store index (%s): %s", what, sqlite3_errmsg(db));
}

/* Inserts or updates the row of an artifact; pinning is sticky unless the row is stale (its file
 * is gone: sticky == false). */
static el_status index_put(sqlite3 *db, const char *cid, const el_manifest *m, const char *publisher, uint64_t size,
                           bool pinned, bool sticky, el_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           sticky ? "INSERT INTO store(cid, name, version, type, publisher, size, pinned, added_at) "
                                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(cid) DO UPDATE SET "
                                    "pinned = max(pinned, excluded.pinned)"
                                  : "INSERT OR REPLACE INTO store(cid, name, version, type, publisher, size, pinned, "
                                    "added_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->version, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)m->type);
    sqlite3_bind_text(st, 5, publisher, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)size);
    sqlite3_bind_int(st, 7, pinned ? 1 : 0);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? EL_OK : db_fail(db, err, "insert");
}

static el_status index_delete(sqlite3 *db, const char *cid, el_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM store WHERE cid = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? EL_OK : db_fail(db, err, "delete");
}

/* Puts the verified artifact a (of CID cid) into the store: the index row, then the file. The
 * file is made from a's bytes (the ones that were verified), or, when from is not NULL, by
 * renaming from - a fsync'd file holding exactly those bytes, ours (a fetch's temp file, in
 * $ELASTOS_HOME/tmp) - into place, which saves writing and syncing the bytes again. */
static el_status put(el_runtime *rt, el_artifact *a, const char *cid, unsigned flags, const char *from, el_error *err)
{
    char dir[PATH_MAX], path[PATH_MAX], pub[EL_PK_TEXT];
    int lock = -1;
    sqlite3 *db = NULL;
    el_status s = el__state_db(rt, &db, err);
    if (s == EL_OK)
        s = lock_store(rt, LOCK_EX, dir, &lock, err);
    if (s == EL_OK && (size_t)snprintf(path, sizeof path, "%s/%s.capsule", dir, cid) >= sizeof path)
        s = el_error_set(err, EL_ERR_CONFIG, "store path too long");
    if (s == EL_OK) {
        el_sign_pubkey_format(el_artifact_publisher(a), pub);
        s = index_put(db, cid, el_artifact_manifest(a), pub, el_artifact_size(a), flags & EL_STORE_PIN,
                      access(path, F_OK) == 0, err);
    }
    bool placed = false;
    if (s == EL_OK && from) {
        /* Same file system as the store (both under $ELASTOS_HOME) in the usual case; else copy. */
        placed = rename(from, path) == 0;
        if (placed)
            s = el__fsync_dir_of(path, err);
    }
    /* Write the bytes that were verified (the mapping), not the file again: no check-then-use gap.
     * An entry already there is kept only if it holds exactly these bytes: a damaged or foreign
     * file at store/<cid>.capsule is replaced. */
    if (s == EL_OK && !placed && !holds(path, el_artifact_bytes(a), (size_t)el_artifact_size(a)))
        s = el_fs_write_file_atomic(path, el_artifact_bytes(a), (size_t)el_artifact_size(a), 0600, err);
    unlock_store(lock);
    return s;
}

/* Closes a, or hands it to *keep when keep is given and s is EL_OK. */
static el_status close_or_keep(el_artifact *a, el_artifact **keep, el_status s)
{
    if (keep && s == EL_OK)
        *keep = a;
    else
        el_artifact_close(a);
    return s;
}

el_status el__store_add_keep(el_runtime *rt, const char *file, unsigned flags, char cid_out[EL_CID_MAX],
                             el_artifact **keep, el_error *err)
{
    el_artifact *a;
    el_status s = el_artifact_open(rt, file, EL_OPEN_CID, &a, err);
    if (s != EL_OK)
        return s;
    s = el_artifact_cid(a, cid_out, err);
    if (s == EL_OK)
        s = put(rt, a, cid_out, flags, NULL, err);
    return close_or_keep(a, keep, s);
}

el_status el_store_add(el_runtime *rt, const char *file, unsigned flags, char cid_out[EL_CID_MAX], el_error *err)
{
    return el__store_add_keep(rt, file, flags, cid_out, NULL, err);
}

el_status el__store_add_fetched(el_runtime *rt, const char *tmp, el__prehash *ph, const char *cid, unsigned flags,
                                el_artifact **keep, el_error *err)
{
    el_artifact *a = NULL;
    char got[EL_CID_MAX];
    el_status s = el__prehash_size(ph) ? el__artifact_open_prehashed(rt, ph, tmp, EL_OPEN_CID, &a, err)
                                       : el_artifact_open(rt, tmp, EL_OPEN_CID, &a, err);
    if (s == EL_OK)
        s = el_artifact_cid(a, got, err);
    if (s == EL_OK && strcmp(got, cid) != 0)
        s = el_error_set(err, EL_ERR_TRUST, "fetched %s but the artifact's CID is %s", cid, got);
    if (s == EL_OK)
        s = put(rt, a, cid, flags, tmp, err);
    return a ? close_or_keep(a, keep, s) : s;
}

el_status el_store_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err)
{
    return el_store_add(rt, file, EL_STORE_PIN, cid_out, err);
}

/* true if name is "<valid cid>.capsule"; cid gets the CID. */
static bool entry_name(const char *name, char cid[EL_CID_MAX]) { return el__cid_store_name(name, cid); }

/* Makes the index match the files (caller holds the exclusive lock): drops rows without a file,
 * indexes (pinned) files without a row that open as artifacts. */
static el_status reconcile(el_runtime *rt, sqlite3 *db, const char *dir, el_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT cid FROM store", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    char (*gone)[EL_CID_MAX] = NULL;
    size_t ngone = 0, cap = 0;
    el_status s = EL_OK;
    int rc;
    while (s == EL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(st, 0);
        char path[PATH_MAX + EL_CID_MAX + 16];
        snprintf(path, sizeof path, "%s/%s.capsule", dir, cid ? cid : "");
        if (cid && access(path, F_OK) == 0)
            continue;
        if (!EL__GROW(gone, cap, ngone + 1, 16, SIZE_MAX)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        snprintf(gone[ngone++], EL_CID_MAX, "%s", cid ? cid : "");
    }
    sqlite3_finalize(st);
    for (size_t i = 0; s == EL_OK && i < ngone; i++)
        s = index_delete(db, gone[i], err);
    free(gone);
    if (s != EL_OK)
        return s;

    DIR *d = opendir(dir);
    if (!d)
        return el_error_set(err, EL_ERR_IO, "%s: %s", dir, strerror(errno));
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM store WHERE cid = ?1", -1, &st, NULL) != SQLITE_OK) {
        closedir(d);
        return db_fail(db, err, "prepare");
    }
    struct dirent *de;
    while (s == EL_OK && (de = readdir(d))) {
        char cid[EL_CID_MAX];
        if (!entry_name(de->d_name, cid))
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        el_artifact *a = NULL;
        el_error ignored;
        char actual[EL_CID_MAX], pub[EL_PK_TEXT];
        if (el_artifact_open(rt, path, EL_OPEN_ANY_PUBLISHER, &a, &ignored) == EL_OK &&
            el_artifact_cid(a, actual, &ignored) == EL_OK && !strcmp(actual, cid)) {
            el_sign_pubkey_format(el_artifact_publisher(a), pub);
            s = index_put(db, cid, el_artifact_manifest(a), pub, el_artifact_size(a), true, true, err);
        }
        el_artifact_close(a);
    }
    sqlite3_finalize(st);
    closedir(d);
    return s;
}

static int cmp_entry(const void *a, const void *b)
{
    const el_store_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : el_manifest_semver_compare(x->version, y->version);
}

/* Appends e to the vector *v. */
static bool push_entry(el_store_entry **v, size_t *n, size_t *cap, const el_store_entry *e)
{
    if (!EL__GROW(*v, *cap, *n + 1, 16, SIZE_MAX))
        return false;
    (*v)[(*n)++] = *e;
    return true;
}

/* The store directory's stamp: its device, inode, mtime and ctime, which change whenever an
 * entry is created, renamed or removed in it (every way reconcile's answer can change). stamp
 * (STAMP_MAX) gets the text; *mtime_ns the mtime. false if dir cannot be stat'ed. */
#define STAMP_MAX 128
#define STAMP_KEY "store_reconciled"
#define STAMP_MARGIN_NS 100000000LL /* 0.1 s: file times tick coarsely (a jiffy); see fresh_index */
static bool dir_stamp(const char *dir, char *stamp, long long *mtime_ns)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return false;
    snprintf(stamp, STAMP_MAX, "%llu:%llu:%lld.%09ld:%lld.%09ld", (unsigned long long)sb.st_dev,
             (unsigned long long)sb.st_ino, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec,
             (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec);
    *mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    return true;
}

/* true if the stamp recorded after the last reconcile (meta STAMP_KEY) equals stamp. */
static bool stamp_matches(el_runtime *rt, const char *stamp)
{
    sqlite3_stmt *st;
    el_error ignored;
    if (el__state_stmt(rt, "SELECT value FROM meta WHERE key = '" STAMP_KEY "'", &st, &ignored) != EL_OK)
        return false;
    bool same = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
                !strcmp((const char *)sqlite3_column_text(st, 0), stamp);
    el__state_stmt_done(rt, st);
    return same;
}

/* Records stamp (NULL: forgets it) as the directory state the index now matches. A failure only
 * means the next resolve reconciles again. */
static void stamp_record(sqlite3 *db, const char *stamp)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           stamp ? "INSERT OR REPLACE INTO meta(key, value) VALUES('" STAMP_KEY "', ?1)"
                                 : "DELETE FROM meta WHERE key = '" STAMP_KEY "'",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    if (stamp)
        sqlite3_bind_text(st, 1, stamp, -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* Brings the index up to date under the exclusive lock; db and dir (PATH_MAX) are filled. With
 * if_changed, the reconcile (a stat per row and an open per unknown file: linear in the store) is
 * skipped when the directory's stamp is the one recorded after the last reconcile, so a lookup
 * costs the same at 10 or 10,000 entries. Only creating, renaming or removing an entry can change
 * what reconcile finds, and each changes the stamp. The stamp is read under the lock, before
 * reconciling (a change during the reconcile leaves a newer stamp: reconciled again next time),
 * and recorded only when its mtime is older than the reconcile by STAMP_MARGIN_NS, since a second
 * change within the same clock tick could leave the mtime as it was (git's "racy" rule). Rows
 * without a file left by a crash may then survive until the next change; a lookup skips them
 * anyway (el_store_resolve opens and checks what it picks). */
static el_status fresh_index(el_runtime *rt, sqlite3 **db, char *dir, bool if_changed, el_error *err)
{
    int lock;
    char stamp[STAMP_MAX];
    long long mtime_ns = 0;
    el_status s = el__state_db(rt, db, err);
    if (s == EL_OK && if_changed && el_runtime_path(rt, "store", dir, PATH_MAX, err) == EL_OK &&
        dir_stamp(dir, stamp, &mtime_ns) && stamp_matches(rt, stamp))
        return EL_OK;
    if (s == EL_OK)
        s = lock_store(rt, LOCK_EX, dir, &lock, err);
    if (s != EL_OK)
        return s;
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    bool stamped = dir_stamp(dir, stamp, &mtime_ns) &&
                   mtime_ns < (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec - STAMP_MARGIN_NS;
    s = reconcile(rt, *db, dir, err);
    if (s == EL_OK)
        stamp_record(*db, stamped ? stamp : NULL);
    unlock_store(lock);
    return s;
}

el_status el_store_list(el_runtime *rt, el_store_entry **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3 *db;
    char dir[PATH_MAX];
    el_status s = fresh_index(rt, &db, dir, false, err);
    if (s != EL_OK)
        return s;
    DIR *d = opendir(dir);
    if (!d)
        return el_error_set(err, EL_ERR_IO, "%s: %s", dir, strerror(errno));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT pinned FROM store WHERE cid = ?1", -1, &st, NULL) != SQLITE_OK) {
        closedir(d);
        return db_fail(db, err, "prepare");
    }
    size_t cap = 0;
    struct dirent *de;
    while (s == EL_OK && (de = readdir(d))) {
        el_store_entry e = {0};
        if (!entry_name(de->d_name, e.cid))
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        e.size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, e.cid, -1, SQLITE_TRANSIENT);
        e.pinned = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 0;
        el_artifact *a = NULL;
        el_error ignored;
        if (el_artifact_open(rt, path, EL_OPEN_ANY_PUBLISHER, &a, &ignored) == EL_OK) {
            const el_manifest *m = el_artifact_manifest(a);
            char actual[EL_CID_MAX];
            snprintf(e.name, sizeof e.name, "%s", m->name);
            snprintf(e.version, sizeof e.version, "%s", m->version);
            e.type = m->type;
            el_sign_pubkey_format(el_artifact_publisher(a), e.publisher);
            e.trusted = el_artifact_publisher_name(a)[0] && el_artifact_cid(a, actual, &ignored) == EL_OK &&
                        !strcmp(actual, e.cid);
            el_artifact_close(a);
        } else {
            snprintf(e.name, sizeof e.name, "?");
            snprintf(e.version, sizeof e.version, "?");
        }
        if (!push_entry(out, n, &cap, &e))
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    sqlite3_finalize(st);
    closedir(d);
    if (s != EL_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
        return s;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_entry);
    return EL_OK;
}

el_status el_store_remove(el_runtime *rt, const char *cid, el_error *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    el_status s = el_store_locate(rt, cid, path, err);
    if (s != EL_OK)
        return s;
    sqlite3 *db;
    int lock = -1;
    s = el__state_db(rt, &db, err);
    if (s == EL_OK)
        s = lock_store(rt, LOCK_EX, dir, &lock, err);
    /* File first: a crash in between leaves a row without a file, which reconcile drops. */
    if (s == EL_OK && unlink(path) != 0)
        s = errno == ENOENT ? el_error_set(err, EL_ERR_NOTFOUND, "%s is not in the local store", cid)
                            : el_error_set(err, EL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    if (s == EL_OK)
        s = index_delete(db, cid, err);
    unlock_store(lock);
    return s;
}

/* Removes (or counts) leftovers of interrupted writes: "<cid>.capsule.tmp-*" in the store,
 * "fetch-<pid>-*" in $ELASTOS_HOME/tmp whose process is gone, and idle partial downloads. */
static el_status remove_leftovers(el_runtime *rt, const char *dir, bool dry_run, el_gc_report *r, el_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return el_error_set(err, EL_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".capsule.tmp-")) {
            r->leftovers++;
            if (!dry_run)
                (void)unlinkat(dirfd(d), de->d_name, 0);
        }
    closedir(d);
    char tmp[PATH_MAX];
    if (el_runtime_path(rt, "tmp", tmp, sizeof tmp, err) != EL_OK || !(d = opendir(tmp)))
        return EL_OK;
    while ((de = readdir(d))) {
        long pid;
        char *end;
        const char *name = de->d_name;
        if (strncmp(name, "fetch-", 6) && strncmp(name, ".fetch-", 7))
            continue;
        pid = strtol(name + (name[0] == '.' ? 7 : 6), &end, 10);
        if (pid <= 0 || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue; /* still running */
        r->leftovers++;
        if (!dry_run)
            (void)unlinkat(dirfd(d), name, 0);
    }
    closedir(d);
    /* Partial downloads kept for resuming (fetch.c), unless a fetch holds one right now. */
    char partial[PATH_MAX + 16];
    snprintf(partial, sizeof partial, "%s/partial", tmp);
    if (!(d = opendir(partial)))
        return EL_OK;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".car"))
            continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            r->leftovers++;
            if (!dry_run)
                (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        close(fd);
    }
    closedir(d);
    return EL_OK;
}

typedef struct gc_row {
    char cid[EL_CID_MAX];
    char name[65];
    char version[128];
    uint64_t size;
    bool pinned, live;
} gc_row;

/* Marks row i live and, through its manifest's dependencies, everything it needs. */
static void mark(el_runtime *rt, const char *dir, gc_row *rows, size_t n, size_t i, int depth)
{
    if (rows[i].live || depth > 64)
        return;
    rows[i].live = true;
    char path[PATH_MAX + EL_CID_MAX + 16];
    snprintf(path, sizeof path, "%s/%s.capsule", dir, rows[i].cid);
    el_artifact *a;
    el_error ignored;
    if (el_artifact_open(rt, path, EL_OPEN_ANY_PUBLISHER, &a, &ignored) != EL_OK)
        return;
    const el_manifest *m = el_artifact_manifest(a);
    for (size_t k = 0; k < m->n_dependencies; k++) {
        const el_dependency *dep = &m->dependencies[k];
        for (size_t j = 0; j < n; j++)
            if (dep->cid ? !strcmp(rows[j].cid, dep->cid)
                         : (!strcmp(rows[j].name, dep->name) && el_manifest_semver_satisfies(rows[j].version, dep->version)))
                mark(rt, dir, rows, n, j, depth + 1);
    }
    el_artifact_close(a);
}

el_status el_store_gc(el_runtime *rt, bool dry_run, el_gc_report *report, el_error *err)
{
    el_gc_report r = {0};
    sqlite3 *db;
    char dir[PATH_MAX];
    int lock;
    el_status s = el__state_db(rt, &db, err);
    if (s == EL_OK)
        s = lock_store(rt, LOCK_EX, dir, &lock, err);
    if (s != EL_OK)
        return s;
    s = remove_leftovers(rt, dir, dry_run, &r, err);
    if (s == EL_OK)
        s = reconcile(rt, db, dir, err);
    gc_row *rows = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    if (s == EL_OK && sqlite3_prepare_v2(db, "SELECT cid, name, version, size, pinned FROM store", -1, &st, NULL) !=
                          SQLITE_OK)
        s = db_fail(db, err, "prepare");
    while (s == EL_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (!EL__GROW(rows, cap, n + 1, 32, SIZE_MAX)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        gc_row *g = &rows[n++];
        memset(g, 0, sizeof *g);
        snprintf(g->cid, sizeof g->cid, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(g->name, sizeof g->name, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(g->version, sizeof g->version, "%s", (const char *)sqlite3_column_text(st, 2));
        g->size = (uint64_t)sqlite3_column_int64(st, 3);
        g->pinned = sqlite3_column_int(st, 4) != 0;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; s == EL_OK && i < n; i++)
        if (rows[i].pinned)
            mark(rt, dir, rows, n, i, 0);
    for (size_t i = 0; s == EL_OK && i < n; i++) {
        if (rows[i].live)
            continue;
        r.entries++;
        r.bytes += rows[i].size;
        if (dry_run)
            continue;
        char path[PATH_MAX + EL_CID_MAX + 16];
        snprintf(path, sizeof path, "%s/%s.capsule", dir, rows[i].cid);
        if (unlink(path) != 0 && errno != ENOENT)
            s = el_error_set(err, EL_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        else
            s = index_delete(db, rows[i].cid, err);
    }
    free(rows);
    unlock_store(lock);
    if (report)
        *report = r;
    return s;
}

typedef struct cand {
    char cid[EL_CID_MAX];
    char version[128];
} cand;

static int cmp_cand_desc(const void *a, const void *b)
{
    return el_manifest_semver_compare(((const cand *)b)->version, ((const cand *)a)->version);
}

el_status el_store_resolve(el_runtime *rt, const char *name, const char *range, char cid[EL_CID_MAX], char *path,
                           el_error *err)
{
    return el__store_resolve_open(rt, name, range, cid, path, NULL, err);
}

el_status el__store_resolve_open(el_runtime *rt, const char *name, const char *range, char cid[EL_CID_MAX], char *path,
                                 el_artifact **art, el_error *err)
{
    if (art)
        *art = NULL;
    if (!range)
        range = "*";
    if (!el_manifest_semver_range_valid(range))
        return el_error_set(err, EL_ERR_USAGE, "%s@%.100s: not a semver range", name, range);
    sqlite3 *db;
    char dir[PATH_MAX];
    el_status s = fresh_index(rt, &db, dir, true, err);
    if (s != EL_OK)
        return s;
    /* Candidates from the index, highest version first; the first that verifies from a trusted
     * publisher now wins (the index is a hint, the bytes decide). */
    sqlite3_stmt *st;
    if (el__state_stmt(rt, "SELECT cid, version FROM store WHERE name = ?1", &st, NULL) != EL_OK)
        return db_fail(db, err, "prepare");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    cand *v = NULL;
    size_t n = 0, cap = 0;
    while (s == EL_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *ver = (const char *)sqlite3_column_text(st, 1);
        if (!ver || !el_manifest_semver_satisfies(ver, range))
            continue;
        if (!EL__GROW(v, cap, n + 1, 8, SIZE_MAX)) {
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        snprintf(v[n].cid, sizeof v[n].cid, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(v[n].version, sizeof v[n].version, "%s", ver);
        n++;
    }
    el__state_stmt_done(rt, st);
    if (n)
        qsort(v, n, sizeof *v, cmp_cand_desc);
    bool found = false;
    for (size_t i = 0; s == EL_OK && i < n && !found; i++) {
        el_error ignored;
        el_artifact *a;
        char actual[EL_CID_MAX];
        if (el_store_locate(rt, v[i].cid, path, &ignored) != EL_OK ||
            el__artifact_open_cached(rt, path, &a, &ignored) != EL_OK)
            continue;
        const el_manifest *m = el_artifact_manifest(a);
        found = el_artifact_cid(a, actual, &ignored) == EL_OK && !strcmp(actual, v[i].cid) &&
                !strcmp(m->name, name) && el_manifest_semver_satisfies(m->version, range);
        if (found && art)
            *art = a;
        else
            el_artifact_close(a);
        if (found)
            memcpy(cid, v[i].cid, EL_CID_MAX);
    }
    free(v);
    if (s == EL_OK && !found)
        s = el_error_set(err, EL_ERR_NOTFOUND, "no installed, trusted capsule %s matches %s (see elastos ls)", name, range);
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
        else if (dm && !el_manifest_semver_satisfies(dm->version, d->version))
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
