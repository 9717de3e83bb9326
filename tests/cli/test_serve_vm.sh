#!/usr/bin/env bash
# vm capsules through the one launch path (issue 13): a VM capsule runs detached in elastos serve
# (ps shows it, logs has its console output, stop stops it within a bound, the kill is audited
# with its instance id), a wall-clock kill of a detached VM capsule is audited and shown by ps,
# and a standalone `run` of a VM capsule killed by its wall clock is audited too (before the
# launch layer, no VM kill was ever audited). Three VM boots (TCG here: a few seconds each).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
VP=$B/capsules/vmprobe.capsule
secs() { date +%s.%N; }
within() { if awk "BEGIN { exit !($2 - $1 < $3) }"; then ok; else bad "took $(awk "BEGIN { print $2 - $1 }") s, limit $3 s"; fi; }
wait_exit() { for _ in $(seq 1 600); do [ "$(ps_field "$1" state)" = exited ] && break; sleep 0.1; done; }
# audit_kill ID TEXT: a kill record for instance ID whose reason contains TEXT.
audit_kill() {
    "$E" audit show --json >"$WORK/audit.json" 2>&1 || { bad "audit show --json"; return; }
    if python3 - "$WORK/audit.json" "$1" "$2" <<'PY'; then ok; else bad "no kill record for $1 with '$2': $(tail -c 600 "$WORK/audit.json")"; fi
import json, sys
recs = json.load(open(sys.argv[1]))
sys.exit(0 if any(r["decision"] == "kill" and r["capsule_id"] == sys.argv[2] and sys.argv[3] in r["reason"]
                  for r in recs) else 1)
PY
}
wall_variant() {
    cp -r "$B/capsules/vmprobe.stage" "$WORK/wall"
    sed -i 's/"wall_ms": 60000/"wall_ms": 15000/' "$WORK/wall/capsule.json"
    "$E" pack "$WORK/wall" --key "$B/keys/publisher.key" -o "$WORK/wall.capsule" >/dev/null 2>&1 || bad "pack wall"
}

start_daemon

# --- detached: ps, logs, stop, audit ---------------------------------------------------------------
ID=$("$E" run --detach "$VP" -- hang 2>"$WORK/err") || bad "run --detach of a vm capsule: $(cat "$WORK/err")"
check '[ ${#ID} = 32 ]'
check '[ "$(ps_field "$ID" state)" = running ]'
check '[ "$(ps_field "$ID" name)" = vmprobe ]'
for _ in $(seq 1 900); do
    "$E" logs "$ID" >"$WORK/log" 2>&1
    grep -q "^ping: ok" "$WORK/log" && break
    sleep 0.1
done
# The console is the instance's log: identity, args, and the runtime channel served by the daemon.
check '[ "$(sed -n 1p "$WORK/log")" = "vmprobe vmprobe $ID" ]'
contains "$WORK/log" "arg[1] = hang"
contains "$WORK/log" "ping: ok"
"$E" ps >"$WORK/ps" 2>&1
check "grep '$ID' '$WORK/ps' | grep -q running"
t0=$(secs); expect 0 "$E" stop "$ID"; t1=$(secs)
within "$t0" "$t1" 5
contains "$WORK/out" "$ID exited 137: capsule vmprobe killed: stopped by the operator"
check '[ "$(ps_field "$ID" state)" = exited ]'
check '[ "$(ps_field "$ID" exit_code)" = 137 ]'
audit_kill "$ID" "stopped by the operator"
check '! pgrep -P "$DPID" >/dev/null'                            # its QEMU is gone

# --- detached: the wall clock kills it; ps and the audit say so ----------------------------------------
wall_variant
W=$("$E" run --detach "$WORK/wall.capsule" -- hang) || bad "run --detach wall"
wait_exit "$W"
check '[ "$(ps_field "$W" exit_code)" = 137 ]'
check '[[ "$(ps_field "$W" reason)" == *"wall-clock limit of 15000 ms exceeded"* ]]'
expect 0 "$E" logs "$W"                                            # (boot included: it may not have printed)
audit_kill "$W" "wall-clock limit of 15000 ms exceeded"

stop_daemon
check '[ "$DRC" = 0 ]'

# --- standalone run: the same kill, audited too ----------------------------------------------------
kills() { "$E" audit show --json | python3 -c '
import json, sys
print(" ".join(r["capsule_id"] for r in json.load(sys.stdin) if r["decision"] == "kill" and "wall-clock" in r["reason"]))'; }
before=$(kills)
expect 137 "$E" run "$WORK/wall.capsule" -- hang </dev/null
expect_err_line
contains "$WORK/err" "wall-clock limit of 15000 ms exceeded"
after=$(kills)
check '[ "$after" = "$before ${after##* }" ] && [ ${#after} -gt ${#before} ]'   # one more wall-clock kill
SID=${after##* }
check '[ ${#SID} = 32 ] && [ "$SID" != "$W" ]'
check 'grep -q "vmprobe vmprobe $SID" "$WORK/out" || [ ! -s "$WORK/out" ]'    # the instance that ran
expect 0 "$E" audit verify
finish
