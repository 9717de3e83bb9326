#!/usr/bin/env bash
# `elastos tokens list` (issue 14): real use counts (the uses recorded: the audit log's use records
# of a token, the runtime's counter for a limited one), and only the tokens of instances running
# now unless --all - a standalone run and a daemon instance, seen while they run and gone after.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
S=localhost://storage
cd "$WORK"
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
trap '"$E" serve --stop >/dev/null 2>&1; kill $BG 2>/dev/null; rm -rf "$WORK"' EXIT
BG=
tok() { sed -n "s/^req: ok \([0-9a-f]\{32\}\).*/\1/p" "$WORK/out" | sed -n "${1:-1}p"; }

# --- use counts: three writes with one unlimited token, two reads with a two-use token ------------
expect 0 "$E" run --grant "$S/*:read,write" "$CT" -- req "$S/u.txt" write write "$S/u.txt" a write "$S/u.txt" b \
    write "$S/u.txt" c req "$S/u.txt" read 2 read "$S/u.txt" read "$S/u.txt" read "$S/u.txt" </dev/null
W=$(tok 1) R=$(tok 2)
check '[ ${#W} = 32 ] && [ ${#R} = 32 ]'
check '[ "$(grep -c "^write: ok" "$WORK/out")" = 3 ] && [ "$(grep -c "^read: ok" "$WORK/out")" = 2 ]'
expect 0 "$E" tokens list --all
check 'grep -q "^$W .* action=write uses=3/unlimited .*active$" "$WORK/out"'
check 'grep -q "^$R .* action=read uses=2/2 .*used-up$" "$WORK/out"'
# The count is the audit log's: as many use records as uses.
check '[ "$("$E" audit show | grep -c " use .*token=$W")" = 3 ]'
expect 0 "$E" tokens list --all --json
check 'python3 -c "
import json,sys
t = {x[\"id\"]: x for x in json.load(open(sys.argv[1]))}
assert t[sys.argv[2]][\"uses\"] == 3 and t[sys.argv[2]][\"max_uses\"] == 0, t[sys.argv[2]]
assert t[sys.argv[3]][\"uses\"] == 2 and t[sys.argv[3]][\"holder_running\"] is False
" "$WORK/out" "$W" "$R"'
# Without --all: the instance has exited, so its tokens are not listed (and that is said).
expect 0 "$E" tokens list
lacks "$WORK/out" "$W"; lacks "$WORK/out" "$R"
contains "$WORK/err" "not shown (tokens list --all shows them)"
expect 0 "$E" tokens list --json
check '[ "$(cat "$WORK/out")" = "[]" ]'
expect 0 "$E" -q tokens list
check '[ ! -s "$WORK/err" ]'
expect 64 "$E" tokens list --bogus; expect_err_line

# --- a standalone run while it runs: listed, with its uses so far; gone once it ends --------------
"$E" run --grant "$S/*:write" "$CT" -- req "$S/l.txt" write write "$S/l.txt" x sleep 8000 </dev/null >"$WORK/bg" 2>&1 &
BG=$!
for _ in $(seq 100); do grep -q "^write: ok" "$WORK/bg" && break; sleep 0.1; done
L=$(sed -n "s/^req: ok \([0-9a-f]\{32\}\).*/\1/p" "$WORK/bg")
check '[ ${#L} = 32 ]'
for _ in $(seq 30); do "$E" tokens list >"$WORK/live" 2>&1; grep -q "^$L .*uses=1/" "$WORK/live" && break; sleep 0.1; done
check 'grep -q "^$L .* uses=1/unlimited .* active$" "$WORK/live"'          # running: shown, not "(exited)"
lacks "$WORK/live" "$W"
kill $BG; wait $BG 2>/dev/null; BG=
expect 0 "$E" tokens list
lacks "$WORK/out" "$L"
expect 0 "$E" tokens list --all
contains "$WORK/out" "$L"

# --- a daemon instance: listed while it runs, not after it is stopped -----------------------------
"$E" serve >"$WORK/serve.log" 2>&1 &
expect 0 "$E" serve --status --wait 30
expect 0 "$E" run --detach --grant "$S/*:write" "$CT" -- req "$S/d.txt" write write "$S/d.txt" y sleep 15000
ID=$(cat "$WORK/out")
for _ in $(seq 100); do "$E" logs "$ID" >"$WORK/dlog" 2>&1; grep -q "^write: ok" "$WORK/dlog" && break; sleep 0.1; done
D=$(sed -n "s/^req: ok \([0-9a-f]\{32\}\).*/\1/p" "$WORK/dlog")
check '[ ${#D} = 32 ]'
expect 0 "$E" tokens list --json
check 'python3 -c "
import json,sys
t = {x[\"id\"]: x for x in json.load(open(sys.argv[1]))}
assert t[sys.argv[2]][\"holder_running\"] is True and t[sys.argv[2]][\"holder\"] == sys.argv[3], t
" "$WORK/out" "$D" "$ID"'
expect 0 "$E" stop "$ID"
expect 0 "$E" tokens list
lacks "$WORK/out" "$D"
expect 0 "$E" serve --stop
finish
