#!/usr/bin/env bash
# Issue 12, finding 3: the audit fails closed. (a) With a damaged audit head no decision takes
# effect: no token is issued without its record. (b) With the disk really full (ELASTOS_HOME on
# a small tmpfs, filled while the capsule runs), token uses and decisions whose records cannot
# be written are refused ("unavailable"), no allowed use goes unaccounted (each is in the log or
# declared lost), and `audit verify` reports the loss instead of "chain intact".
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
S=localhost://storage
uses() { "$E" audit show --json | python3 -c 'import json,sys; print(sum(r["decision"] == "use" for r in json.load(sys.stdin)))'; }
ntokens() { "$E" tokens list --all 2>/dev/null | grep -c '^[0-9a-f]\{32\}'; }

# --- (a) a damaged head: the operator grant, the request and the grant are all refused -----------
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
expect 0 "$E" run --grant "$S/*:write" "$CT" -- req "$S/a" write write "$S/a" hello
check '[ "$(grep -c "ok" "$WORK/out")" = 2 ]'
t0=$(ntokens)
sqlite3 "$ELASTOS_HOME/state.db" "UPDATE meta SET value = 'damaged' WHERE key = 'audit_head_hash'" || bad "damage head"
"$E" run --grant "$S/*:read" "$CT" -- req "$S/a" read read "$S/a" >"$WORK/out" 2>"$WORK/err"; rc=$?
check '[ $rc != 0 ]'                                         # the run does not start without its record
lacks "$WORK/out" "read: ok"
contains "$WORK/err" "audit log cannot be written"
expect 0 "$E" run "$CT" -- req "$S/a" read                    # a request: its record cannot be written
check '[[ "$(grep "^req: " "$WORK/out")" == "req: error unavailable"* ]]'
check "[ $(ntokens) = $t0 ]"                                 # no token was issued
expect 65 "$E" audit verify

# --- (b) the disk fills up while the capsule runs ---------------------------------------------------
MNT=$WORK/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=6m,mode=0700 tmpfs "$MNT"; then
    bad "mount a tmpfs (this test needs root)"
    finish; exit
fi
trap 'umount "$MNT" 2>/dev/null; rm -rf "$WORK"' EXIT
export ELASTOS_HOME=$MNT/home
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key (tmpfs)"
expect 0 "$E" run --grant "$S/*:write" "$CT" -- req "$S/a" write write "$S/a" hello
u0=$(uses)
# req+read, then wait while the disk is filled; 2000 reads (queued before the writer fails),
# a pause (the writer has tried and failed), 2000 more reads, a request.
"$E" run --grant "$S/*:read" "$CT" -- req "$S/a" read read "$S/a" sleep 2500 repeat 2000 read "$S/a" sleep 800 \
    repeat 2000 read "$S/a" req "$S/b" read </dev/null >"$WORK/bg.out" 2>"$WORK/bg.err" &
pid=$!
for _ in $(seq 100); do grep -q "^read: " "$WORK/bg.out" && break; sleep 0.1; done
sleep 0.5                                                       # that read's record is written
dd if=/dev/zero of="$MNT/fill" bs=64k >/dev/null 2>&1           # until ENOSPC: the disk is full
check '[ "$(df --output=avail "$MNT" | tail -1)" -lt 64 ]'
wait $pid
n1=$(grep '^repeat: ' "$WORK/bg.out" | sed -n 1p | awk '{print $3}')
n2=$(grep '^repeat: ' "$WORK/bg.out" | sed -n 2p | awk '{print $3}')
check '[ "$n2" = 0 ]'            # refused once the writer had failed (only n1 could be queued before)
check '[[ "$(grep "^req: " "$WORK/bg.out" | sed -n 2p)" == "req: error unavailable"* ]]'
"$E" audit verify >"$WORK/v.out" 2>"$WORK/v.err"; vfull=$?
check '[ $vfull != 0 ]'                                                 # never "chain intact"
lacks "$WORK/v.out" "chain intact"
rm -f "$MNT/fill"                                                        # space again
"$E" audit verify >"$WORK/v.out" 2>"$WORK/v.err"; v=$?
lost=0
if [ -s "$ELASTOS_HOME/audit.lost" ]; then
    lost=$(awk '{n += $1} END {print n + 0}' "$ELASTOS_HOME/audit.lost")
    check '[ $v = 65 ]'                                                  # the loss is reported
    contains "$WORK/v.err" "audit records lost"
else
    check '[ $v = 0 ]'
fi
u1=$(uses)
# Every use the capsule was allowed (the first read, n1, n2) is in the log or declared lost.
check "[ $((1 + ${n1:-0} + ${n2:-0})) -le $((u1 - u0 + lost)) ]"
echo "disk full: $n1 + $n2 uses allowed, $((u1 - u0)) use records written, $lost declared lost"
finish
