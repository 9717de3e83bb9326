/*
 * state.c - the runtime's SQLite state database, $ELASTOS_HOME/state.db: epoch, issued tokens,
 * revocations, use counts, the audit chain. Opened lazily, WAL, synchronous=FULL (a revocation
 * or an audit record is on disk when the call returns), busy timeout for concurrent processes.
 * state.db is created 0600 before SQLite opens it, because SQLite creates state.db-wal and
 * state.db-shm with the database file's mode: so they are private from their first byte.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('epoch', '1');"
    "CREATE TABLE IF NOT EXISTS tokens("
    "  id TEXT PRIMARY KEY, holder TEXT NOT NULL, capsule TEXT NOT NULL, publisher TEXT NOT NULL,"
    "  resource TEXT NOT NULL, action INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    "  issued_at INTEGER NOT NULL, expiry INTEGER NOT NULL, max_uses INTEGER NOT NULL,"
    "  uses INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS revoked(id TEXT PRIMARY KEY, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit("
    "  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, capsule TEXT NOT NULL, capsule_id TEXT NOT NULL,"
    "  publisher TEXT NOT NULL, resource TEXT NOT NULL, action TEXT NOT NULL, decision TEXT NOT NULL,"
    "  reason TEXT NOT NULL, token_id TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);"
    /* The content store's index (store.c): metadata of store/<cid>.capsule, and whether it is
     * pinned (installed on purpose) or only cached (fetched on demand, removable by gc). */
    "CREATE TABLE IF NOT EXISTS store("
    "  cid TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, type INTEGER NOT NULL,"
    "  publisher TEXT NOT NULL, size INTEGER NOT NULL, pinned INTEGER NOT NULL, added_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS store_name ON store(name);"
    /* The operator's bindings of schemes to provider capsules (provider.c): grants are
     * newline-separated RESOURCE:ACTION lines, args the provider's arguments, one per line
     * (a database made before args existed gets the column from add_columns below). */
    "CREATE TABLE IF NOT EXISTS providers("
    "  scheme TEXT PRIMARY KEY, target TEXT NOT NULL, grants TEXT NOT NULL, added_at INTEGER NOT NULL,"
    "  args TEXT NOT NULL DEFAULT '');"
    /* The operator's routes of the HTTP front (route.c): URL path prefix -> capsule, grants as in
     * providers. */
    "CREATE TABLE IF NOT EXISTS routes("
    "  prefix TEXT PRIMARY KEY, target TEXT NOT NULL, grants TEXT NOT NULL, added_at INTEGER NOT NULL);";

/* ---- prepared statements kept on rt->db (el__state_stmt) ---------------------------------------- */

#define STMT_CACHE_MAX 32

typedef struct el__stmt_cache {
    struct {
        const char *sql; /* the caller's literal: compared by address */
        sqlite3_stmt *st;
        bool out;        /* handed out, not yet done */
    } e[STMT_CACHE_MAX];
    size_t n;
} el__stmt_cache;

el_status el__state_stmt(el_runtime *rt, const char *sql, sqlite3_stmt **out, el_error *err)
{
    *out = NULL;
    sqlite3 *db;
    el_status s = el__state_db(rt, &db, err);
    if (s != EL_OK)
        return s;
    if (!rt->stmts)
        rt->stmts = calloc(1, sizeof *rt->stmts);
    el__stmt_cache *c = rt->stmts;
    size_t i = 0;
    while (c && i < c->n && c->e[i].sql != sql)
        i++;
    if (c && i < c->n && !c->e[i].out) {
        c->e[i].out = true;
        *out = c->e[i].st;
        return EL_OK;
    }
    bool keep = c && i == c->n && c->n < STMT_CACHE_MAX;
    if (sqlite3_prepare_v3(db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL) != SQLITE_OK) {
        *out = NULL;
        return el_error_set(err, EL_ERR_CONFIG, "state database: %s", sqlite3_errmsg(db));
    }
    if (keep) {
        c->e[c->n].sql = sql;
        c->e[c->n].st = *out;
        c->e[c->n++].out = true;
    }
    return EL_OK;
}

void el__state_stmt_done(el_runtime *rt, sqlite3_stmt *st)
{
    el__stmt_cache *c = rt->stmts;
    for (size_t i = 0; st && c && i < c->n; i++)
        if (c->e[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            c->e[i].out = false;
            return;
        }
    sqlite3_finalize(st);
}

/* The database closes with the runtime: its kept statements first (sqlite3_close refuses a
 * connection that still has statements). */
static void close_db(el_runtime *rt)
{
    el__stmt_cache *c = rt->stmts;
    for (size_t i = 0; c && i < c->n; i++)
        sqlite3_finalize(c->e[i].st);
    free(c);
    rt->stmts = NULL;
    sqlite3_close(rt->db);
    rt->db = NULL;
}

el_status el__state_db(el_runtime *rt, sqlite3 **out, el_error *err)
{
    if (rt->db) {
        *out = rt->db;
        return EL_OK;
    }
    el_status s = el__state_open(rt, &rt->db, err);
    if (s == EL_OK)
        el__runtime_on_close(rt, EL__TEARDOWN_DATABASE, close_db);
    *out = rt->db;
    return s;
}

/* Makes state.db and its -wal and -shm files (those that exist) private: the database is
 * created 0600 here if missing (O_EXCL, never through a symlink), and files of an older runtime
 * that created them 0644 are narrowed. SQLite then creates -wal and -shm with state.db's mode.
 * An existing file is never opened here: closing a descriptor of a file drops every POSIX lock
 * this process holds on it, SQLite's included (another connection of this process may be
 * using it), so existing files are only lstat'ed and chmod'ed by name. */
static el_status make_private(const char *path, el_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        int fd = errno == ENOENT ? open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
        if (fd < 0 && errno != EEXIST)
            return el_error_set(err, EL_ERR_CONFIG, "state database %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd); /* new and empty: nobody holds a lock on it yet */
    }
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        if (lstat(p, &st) != 0)
            continue; /* absent: SQLite creates it from state.db's mode */
        if (!S_ISREG(st.st_mode))
            return el_error_set(err, EL_ERR_CONFIG, "state database %s: not a regular file", p);
        if ((st.st_mode & 077) && chmod(p, 0600) != 0)
            return el_error_set(err, EL_ERR_CONFIG, "state database %s: cannot make it private: %s", p, strerror(errno));
    }
    return EL_OK;
}

/* Columns added to a table after it was first released: each is added to a database that lacks
 * it (inside the schema's transaction), so an older state.db keeps working. */
static int add_columns(sqlite3 *db)
{
    static const struct {
        const char *probe, *add;
    } cols[] = {
        {"SELECT args FROM providers LIMIT 0", "ALTER TABLE providers ADD COLUMN args TEXT NOT NULL DEFAULT ''"},
    };
    int rc = SQLITE_OK;
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof cols / sizeof cols[0]; i++) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(db, cols[i].probe, -1, &q, NULL) != SQLITE_OK)
            rc = sqlite3_exec(db, cols[i].add, NULL, NULL, NULL);
        sqlite3_finalize(q);
    }
    return rc;
}

el_status el__state_open(el_runtime *rt, sqlite3 **out, el_error *err)
{
    *out = NULL;
    char path[PATH_MAX];
    el_status s = el_runtime_path(rt, "state.db", path, sizeof path, err);
    if (s == EL_OK)
        s = make_private(path, err);
    if (s != EL_OK)
        return s;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, SCHEMA, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = add_columns(db);
        rc = sqlite3_exec(db, rc == SQLITE_OK ? "COMMIT;" : "ROLLBACK;", NULL, NULL, NULL) == SQLITE_OK ? rc : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK) {
        el_error_set(err, EL_ERR_CONFIG, "state database %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return EL_ERR_CONFIG;
    }
    *out = db;
    return EL_OK;
}
