#!/usr/bin/env bash
# elastos serve at scale: 200 capsules running at once in one daemon (and one more still
# answering beside them), then 10,000 sequential launches (launch, run to exit, reap) with no
# growth in the daemon's resident memory or open descriptors, checked against thresholds.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
ASKER=$(variant asker '')
HELLO=$B/capsules/hello.capsule
N_AT_ONCE=${SERVE_AT_ONCE:-200}
N_SEQ=${SERVE_SEQ:-10000}

# hello's code compiled ahead (install), so the launches below load it from the cache: this test
# is about launching at scale, and the daemon's first cold compile (a forked compiler child) is
# covered by test_serve; under ASan, that fork right after 200 capsule threads ended once hung the
# child until hello's wall clock (see the session note).
"$E" install "$HELLO" >/dev/null 2>&1 || bad "install hello"
start_daemon || { finish; exit 1; }
rss() { awk '/^VmRSS:/ {print $2}' /proc/$DPID/status; }
GOOD=$("$E" run --detach "$ST" --grant 'elastos://capsule/*:message' -- echo) || bad "launch echo"
ask_ok servetest warm
rss0=$(rss)

# 200 at once.
expect 0 "$L" start "$N_AT_ONCE" "$ST" -- idle
check '[ "$(wc -l <"$WORK/out")" = "$N_AT_ONCE" ]'
sleep 1
running=$("$E" ps --json | python3 -c "import json,sys; print(sum(i['state'] == 'running' for i in json.load(sys.stdin)))")
check '[ "$running" = $((N_AT_ONCE + 1)) ]'
rss1=$(rss)
per=$(( (rss1 - rss0) / N_AT_ONCE ))
echo "$N_AT_ONCE idle capsules: daemon RSS $rss0 -> $rss1 KiB, $per KiB per capsule (linear memory included)"
if [ "$ASAN" = 0 ]; then check '[ "$per" -lt 4096 ]'; fi
ask_ok servetest with-200-running
xargs -P 16 -n 1 "$E" stop <"$WORK/out" >"$WORK/stopped" || bad "stop the 200"
check '[ "$(grep -c "exited 137: capsule servetest killed: stopped by the operator" "$WORK/stopped")" = "$N_AT_ONCE" ]'
running=$("$E" ps --json | python3 -c "import json,sys; print(sum(i['state'] == 'running' for i in json.load(sys.stdin)))")
check '[ "$running" = 1 ]'

# Sequential launches, each run to exit and reaped: memory and descriptors must not grow.
t0=$(date +%s%N)
expect 0 "$L" seq "$N_SEQ" "$HELLO" --pid "$DPID"
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
cat "$WORK/out"
echo "$N_SEQ sequential launches in $secs ms"
v() { sed -n "s/^$1 //p" "$WORK/out"; }
check '[ "$(v failures)" = 0 ]'
# Descriptors: the same (2 of slack for a connection closing at the moment of a sample; a leak
# per launch would be thousands).
check '[ "$(v fds_end)" -le $(( $(v fds_start) + 2 )) ]'
# Growth threshold: 8 MiB over the whole run (a leak of 1 KiB per launch would be ~10 MiB).
if [ "$ASAN" = 0 ]; then check '[ $(( $(v rss_kib_end) - $(v rss_kib_start) )) -lt 8192 ]'; fi
ask_ok servetest after-seq
stop_daemon
check '[ "$DRC" = 0 ]'
expect 0 "$E" audit verify
finish
