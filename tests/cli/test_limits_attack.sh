#!/usr/bin/env bash
# Limits hold under attack (issue 12, findings 1, 5, 7, 9 and the /storage symlink of 13), each
# shown with the attack itself, by hostile capsules: captest's plain-WASI operations and modules
# generated here (16 memories; one that takes Cranelift seconds to compile).
#   1. blocking in WASI (sleep, poll on stdin) ends at wall_ms; in the daemon `stop` returns and
#      SIGTERM ends the daemon, which releases its lock (a new one starts);
#   5. /storage quota counts a file unlinked while open, and empty files and directories;
#   7. compiling is bounded by wall_ms (killed at the deadline), and in the daemon one module's compile does not
#      hold up another capsule's launch;
#   9. memory_mb cannot be multiplied by declaring many memories (multi-memory is refused);
#  13. a capsule cannot plant a symlink in /storage.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
S=localhost://storage
GRANT=(--grant "$S/*:read" --grant "$S/*:write" --grant "$S/*:delete")
line() { grep "^$1: " "$WORK/out" | sed -n "${2:-1}p"; }

# cvariant NAME 'SED-EXPR': a copy of captest named NAME with its manifest edited; prints the path.
cvariant() {
    local d="$WORK/c-$1"
    rm -rf "$d"
    cp -r "$B/capsules/captest.stage" "$d"
    sed -i "s/\"name\": \"captest\"/\"name\": \"$1\"/; $2" "$d/capsule.json"
    "$E" pack "$d" --key "$B/keys/publisher.key" -o "$WORK/$1.capsule" >/dev/null 2>&1 || bad "pack $1"
    echo "$WORK/$1.capsule"
}
# wvariant NAME WASM 'LIMITS': a capsule NAME whose entry is the module WASM; prints the path.
wvariant() {
    local d="$WORK/w-$1"
    rm -rf "$d"; mkdir -p "$d"
    cp "$2" "$d/m.wasm"
    printf '{"name": "%s", "version": "1.0.0", "type": "wasm", "entry": "m.wasm", "resource_limits": %s}\n' "$1" "$3" >"$d/capsule.json"
    "$E" pack "$d" --key "$B/keys/publisher.key" -o "$WORK/$1.capsule" >/dev/null 2>&1 || bad "pack $1"
    echo "$WORK/$1.capsule"
}

# Modules: MODE many-memories N PAGES | slow-compile VALUES BLOCKS (values live across many
# blocks: register allocation takes seconds for a module of ~90 KiB).
python3 - "$WORK" <<'PY'
import sys
out = sys.argv[1]
def leb(n):
    b = bytearray()
    while True:
        x = n & 0x7f; n >>= 7
        if n: b.append(x | 0x80)
        else: b.append(x); return bytes(b)
def sleb(n):
    b = bytearray()
    while True:
        x = n & 0x7f; n >>= 7
        if (n == 0 and not x & 0x40) or (n == -1 and x & 0x40): b.append(x); return bytes(b)
        b.append(x | 0x80)
def vec(items): return leb(len(items)) + b''.join(items)
def sec(i, body): return bytes([i]) + leb(len(body)) + body
def name(s): return leb(len(s)) + s.encode()
def module(body, nmem=1, pages=1):
    return (b'\x00asm\x01\x00\x00\x00' + sec(1, vec([b'\x60\x00\x00'])) + sec(3, vec([leb(0)])) +
            sec(5, vec([b'\x00' + leb(pages)] * nmem)) +
            sec(7, vec([name('_start') + b'\x00' + leb(0), name('memory') + b'\x02' + leb(0)])) +
            sec(10, vec([leb(len(body)) + body])))
# 16 memories of 32 MiB each: every one within memory_mb 32, 512 MiB in all.
body = bytearray(vec([]))
for m in range(16):  # touch the last page of each memory (i32.store8 with memory index m)
    body += b'\x41' + sleb(32 * 65536 - 1) + b'\x41\x01' + (b'\x3a\x00\x00' if m == 0 else b'\x3a\x40' + leb(m) + b'\x00')
open(out + '/mem16.wasm', 'wb').write(module(bytes(body) + b'\x0b', nmem=16, pages=512))
n, blocks = 2000, 8000
body = bytearray()
for k in range(n): body += b'\x42' + sleb(k) + b'\x21' + leb(k)
for b in range(blocks): body += b'\x02\x40\x20' + leb(b % n) + b'\x50\x0d\x00\x0b'
for k in range(n): body += b'\x20' + leb(k) + b'\x1a'
open(out + '/slow.wasm', 'wb').write(module(vec([leb(n) + b'\x7e']) + bytes(body) + b'\x0b'))
PY

# --- 9: memory_mb covers all of an instance's memories ------------------------------------------
# elastos pack refuses it; an artifact packed without that check (a publisher's own tooling) is
# refused again by the runtime, which never relies on the packer.
mkdir -p "$WORK/w-mem16"; cp "$WORK/mem16.wasm" "$WORK/w-mem16/m.wasm"
echo '{"name": "mem16", "version": "1.0.0", "type": "wasm", "entry": "m.wasm", "resource_limits": {"memory_mb": 32, "wall_ms": 10000}}' >"$WORK/w-mem16/capsule.json"
expect 65 "$E" pack "$WORK/w-mem16" --key "$B/keys/publisher.key" -o "$WORK/mem16.capsule"; expect_err_line
contains "$WORK/err" "multiple memories"
"$ELASTOS_TESTTOOL" pack "$WORK/w-mem16" "$B/keys/publisher.key" "$WORK/mem16.capsule" || bad "testtool pack mem16"
expect 65 "$E" run "$WORK/mem16.capsule"; expect_err_line
contains "$WORK/err" "multiple memories"

# --- 1: a capsule blocked in WASI is stopped at its limit ----------------------------------------
# (Compiling counts against the limits (7): captest's code is compiled and cached first, under
# captest's own wall_ms, so the 2 s below are the sleeper's alone even on a slow machine.)
expect 0 "$E" run "$B/capsules/captest.capsule" -- ping </dev/null
SLEEPY=$(cvariant sleepy 's/"wall_ms": 20000/"wall_ms": 2000/')
expect 137 timeout 60 "$E" run "$SLEEPY" -- sleep 3600000 </dev/null; expect_err_line
contains "$WORK/err" "wall-clock limit of 2000 ms exceeded"
# poll_oneoff on stdin with no timeout (a pipe that never writes): it does not block the run.
expect 0 timeout 60 "$E" run "$SLEEPY" -- pollin < <(exec sleep 100 2>/dev/null)
kill $! 2>/dev/null
check '[ "$(line pollin)" = "pollin: ok 1" ]'
# fd_read on that stdin cannot be cut short in-process: standalone, the watchdog ends the run
# (137, the reason, audited) once the limit has passed.
expect 137 timeout 60 "$E" run "$SLEEPY" -- readin < <(exec sleep 100 2>/dev/null)
kill $! 2>/dev/null
expect_err_line
contains "$WORK/err" "wall-clock limit of 2000 ms exceeded"
"$E" audit show >"$WORK/audit" 2>&1
check 'grep -F " kill capsule=sleepy" "$WORK/audit" | grep -qF "wall-clock limit"'

# --- 13: no symlinks in /storage -------------------------------------------------------------------
expect 0 "$E" run "${GRANT[@]}" "$B/capsules/captest.capsule" -- symlink ../../../../etc/passwd pw symlink x y </dev/null
check '[ "$(line symlink 1)" = "symlink: error" ] && [ "$(line symlink 2)" = "symlink: error" ]'
SD=$(echo "$ELASTOS_HOME"/storage/captest@*)
check '[ -d "$SD" ] && [ -z "$(find "$SD" -type l)" ]'

# --- 5: the storage quota counts blocks and inodes, unlinked-but-open files included -----------
# (captest: storage_mb 1) A file unlinked while open still holds its blocks.
expect 137 "$E" run "${GRANT[@]}" "$B/capsules/captest.capsule" -- unlinkfill 8192 </dev/null; expect_err_line
contains "$WORK/err" "storage quota of 1 MiB exceeded"
expect 0 "$E" run "${GRANT[@]}" "$B/capsules/captest.capsule" -- unlinkfill 256 </dev/null
check '[ "$(line unlinkfill)" = "unlinkfill: ok 256 KiB" ]'
# Empty files and directories are not free: at storage_mb 0 there is room for none.
NOROOM=$(cvariant noroom 's/"storage_mb": 1/"storage_mb": 0/')
expect 137 "$E" run "${GRANT[@]}" "$NOROOM" -- inodes 3000 </dev/null; expect_err_line
contains "$WORK/err" "storage quota of 0 MiB exceeded"
check '[ "$(find "$ELASTOS_HOME"/storage/noroom@* -mindepth 1 | wc -l)" -lt 3000 ]'
rm -rf "$ELASTOS_HOME"/storage/noroom@*/*
expect 0 "$E" run "${GRANT[@]}" "$NOROOM" -- req "$S/*" write write "$S/empty" "" </dev/null
check '[[ "$(line write)" == "write: error limit"* ]]'
# At storage_mb 1, 3000 of them (each at least a 4 KiB block) are over it too.
expect 137 "$E" run "${GRANT[@]}" "$B/capsules/captest.capsule" -- inodes 3000 </dev/null; expect_err_line
contains "$WORK/err" "storage quota of 1 MiB exceeded"
rm -rf "${SD:?}"/*

# --- 7: compiling is bounded by the capsule's limits ---------------------------------------------
SLOW=$(wvariant slow "$WORK/slow.wasm" '{"cpu_ms": 50, "wall_ms": 1000}')
expect 137 timeout 60 "$E" run "$SLOW" </dev/null; expect_err_line
contains "$WORK/err" "capsule slow killed"

# --- the daemon: stop, compile isolation, SIGTERM ------------------------------------------------
start_daemon || { finish; exit 1; }
# A sleeper with a long wall_ms: stop ends it within its grace, not after an hour.
LONG=$(cvariant long 's/"wall_ms": 20000/"wall_ms": 3600000/')
SID=$("$E" run --detach "$LONG" -- sleep 3600000) || bad "launch sleeper"
sleep 0.3
expect 0 timeout 30 "$E" stop "$SID"
check '[ "$(ps_field "$SID" exit_code)" = 137 ]'
# One module's long compile does not hold up another capsule's launch.
SLOWD=$(wvariant slowd "$WORK/slow.wasm" '{"cpu_ms": 600000, "wall_ms": 600000}')
CID=$("$E" run --detach "$SLOWD") || bad "launch slow compile"
sleep 0.3
expect 0 timeout 60 "$E" run "$ST" -- hello
check '[ "$(ps_field "$CID" state)" = running ]'
expect 0 timeout 30 "$E" stop "$CID"
check '[ "$(ps_field "$CID" exit_code)" = 137 ]'
# SIGTERM while capsules sleep in WASI: the daemon ends, and a new one can start.
"$E" run --detach "$LONG" -- sleep 3600000 >/dev/null || bad "launch sleeper 2"
"$E" run --detach "$LONG" -- sleep 3600000 >/dev/null || bad "launch sleeper 3"
sleep 0.3
kill -TERM "$DPID"
for _ in $(seq 1 400); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
check '! kill -0 "$DPID" 2>/dev/null'
kill -9 "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=
start_daemon || { finish; exit 1; }
expect 0 "$E" run "$ST" -- hello
stop_daemon
check '[ "$DRC" = 0 ]'

finish
