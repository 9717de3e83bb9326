#!/usr/bin/env bash
# Issue 12, finding 12: the state directory. An ELASTOS_HOME or a trust/ that another user owns
# or can write is refused (exit 78, one line saying what to fix) - the attack: another user
# (uid 65534, a real other uid through setpriv) plants a trust entry for their own key in a
# trust/ they own, and verify would accept their capsule. state.db-wal and state.db-shm are
# created private (0600), and an older home's 0644 ones are narrowed.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
expect 0 "$E" verify "$CT"

# The attacker's key and capsule, and a trust entry for it (made in a scratch home).
"$E" keygen --out "$WORK/evil" >/dev/null 2>&1 || bad "keygen"
"$E" pack "$B/capsules/captest.stage" --key "$WORK/evil/publisher.key" -o "$WORK/evil.capsule" >/dev/null 2>&1 || bad "pack"
ELASTOS_HOME=$WORK/scratch "$E" trust add "$WORK/evil/publisher.pub" --name evil >/dev/null 2>&1 || bad "scratch trust"
expect 77 "$E" verify "$WORK/evil.capsule"                      # not trusted here

# --- trust/ owned by another user, who plants their entry -----------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    bad "this test needs root and setpriv (a real other uid)"
    finish; exit
fi
chmod 0711 "$WORK" "$ELASTOS_HOME"
chmod -R a+rX "$WORK/scratch"
chown 65534:65534 "$ELASTOS_HOME/trust"
# Owning trust/, uid 65534 can replace the root-owned trust file by its own (rename over it).
T=$ELASTOS_HOME/trust/publishers
check '[ -f "$T" ]'
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "cp '$WORK/scratch/trust/publishers' '$T.new' && mv -f '$T.new' '$T'" ||
    bad "plant as uid 65534"
check '[ "$(stat -c %u "$T")" = 65534 ]'
expect 78 "$E" verify "$WORK/evil.capsule"                      # refused, not accepted
expect_err_line
contains "$WORK/err" "trust is owned by uid 65534"
contains "$WORK/err" "chown"
expect 78 "$E" run "$CT" -- ping                                # every command refuses that home
rm -f "$T"
chown 0:0 "$ELASTOS_HOME/trust"
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key again"
expect 0 "$E" verify "$CT"

# --- the home itself owned by another user ----------------------------------------------------------
chown 65534:65534 "$ELASTOS_HOME"
expect 78 "$E" verify "$CT"; expect_err_line
contains "$WORK/err" "is owned by uid 65534"
chown 0:0 "$ELASTOS_HOME"

# --- writable by group or others --------------------------------------------------------------------
chmod 0777 "$ELASTOS_HOME"
expect 78 "$E" verify "$CT"; expect_err_line
contains "$WORK/err" "chmod go-w"
chmod 0700 "$ELASTOS_HOME"
chmod 0775 "$ELASTOS_HOME/trust"
expect 78 "$E" tokens list; expect_err_line
contains "$WORK/err" "writable by its group"
chmod 0700 "$ELASTOS_HOME/trust"
expect 0 "$E" verify "$CT"
chmod 0700 "$WORK"

# --- state.db and its -wal/-shm files are private ---------------------------------------------------
# In a fresh home (trust/ only), the first process creates state.db and its -wal/-shm: look at
# them while it runs (the last connection's close removes -wal/-shm).
export ELASTOS_HOME=$WORK/fresh
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key (fresh)"
check '[ ! -e "$ELASTOS_HOME/state.db" ]'
"$E" run --grant 'localhost://storage/*:write' "$CT" -- req localhost://storage/a write write localhost://storage/a x \
    sleep 300 </dev/null >"$WORK/bg.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -e "$ELASTOS_HOME/state.db-wal" ] && [ -e "$ELASTOS_HOME/state.db-shm" ] && break; sleep 0.05; done
for f in state.db state.db-wal state.db-shm; do
    check "[ \"\$(stat -c %a '$ELASTOS_HOME/$f')\" = 600 ]"
done
wait $pid
# An older home's 0644 files are narrowed on the next open.
rm -rf "$WORK/old"; mkdir -m 0700 "$WORK/old"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.execute("CREATE TABLE t(x)"); c.execute("INSERT INTO t VALUES(1)"); c.commit(); import os; os.chmod(sys.argv[1], 0o644); os._exit(0)' "$WORK/old/state.db"
chmod 0644 "$WORK/old"/state.db*
check '[ -e "$WORK/old/state.db-wal" ]'
ELASTOS_HOME=$WORK/old expect 0 "$E" tokens list
for f in "$WORK"/old/state.db*; do check "[ \"\$(stat -c %a '$f')\" = 600 ]"; done
finish
