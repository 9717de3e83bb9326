/*
 * state.c - the runtime's SQLite state database, $ELASTOS_HOME/state.db: epoch, issued tokens,
 * revocations, use counts, the audit chain. Opened lazily, WAL, synchronous=FULL (a revocation
 * or an audit record is on disk when the call returns), busy timeout for concurrent processes.
 */
#include "internal.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

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
    "CREATE INDEX IF NOT EXISTS store_name ON store(name);";

static void close_db(el_runtime *rt)
{
    sqlite3_close(rt->db);
    rt->db = NULL;
}

el_status el_state_db(el_runtime *rt, sqlite3 **out, el_error *err)
{
    if (rt->db) {
        *out = rt->db;
        return EL_OK;
    }
    el_status s = el_state_open(rt, &rt->db, err);
    if (s == EL_OK)
        el__runtime_on_close(rt, EL__TEARDOWN_DATABASE, close_db);
    *out = rt->db;
    return s;
}

el_status el_state_open(el_runtime *rt, sqlite3 **out, el_error *err)
{
    *out = NULL;
    char path[PATH_MAX];
    el_status s = el_runtime_path(rt, "state.db", path, sizeof path, err);
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
        rc = sqlite3_exec(db, rc == SQLITE_OK ? "COMMIT;" : "ROLLBACK;", NULL, NULL, NULL) == SQLITE_OK ? rc : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK) {
        el_error_set(err, EL_ERR_CONFIG, "state database %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return EL_ERR_CONFIG;
    }
    chmod(path, 0600);
    *out = db;
    return EL_OK;
}
