#!/usr/bin/env bash
# The daemon fetches a missing CID on demand, like standalone `run` (issue 13: one resolve step
# in the launch layer), from a real Kubo node's gateway on loopback: `run --detach CID` and the
# shell's launch_capsule {cid} both fetch, verify, cache and run it; without a source the daemon
# refuses (66) and nothing enters the store.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
source "$(dirname "$0")/kubo_lib.sh"
PIDS=()
trap 'if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; fi; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
start_kubo

HCID=$("$E" publish "$B/capsules/hello.capsule" --api "$API" 2>"$WORK/err") || bad "publish hello: $(cat "$WORK/err")"
check '[ "$HCID" = "$("$E" cid "$B/capsules/hello.capsule")" ]'
STCID=$("$E" publish "$ST" --api "$API" 2>"$WORK/err") || bad "publish servetest: $(cat "$WORK/err")"
wait_exit() { for _ in $(seq 1 300); do [ "$(ps_field "$1" state)" = exited ] && break; sleep 0.05; done; }

# --- no source configured: the daemon refuses a missing CID (66), nothing is stored ---------------
start_daemon
expect 66 "$E" run --detach "$HCID"; expect_err_line
check '[ ! -e "$ELASTOS_HOME/store/$HCID.capsule" ]'
stop_daemon

# --- a gateway configured for the daemon: run --detach CID fetches, verifies, caches, runs ------------
export ELASTOS_GATEWAYS=$GW no_proxy=127.0.0.1
start_daemon
unset ELASTOS_GATEWAYS   # the daemon has it, the client does not: the daemon is what fetches
ID=$("$E" run --detach "$HCID" -- a b 2>"$WORK/err") || bad "run --detach CID: $(cat "$WORK/err")"
wait_exit "$ID"
check '[ "$(ps_field "$ID" exit_code)" = 0 ]'
check '[ "$(ps_field "$ID" cid)" = "$HCID" ]'
"$E" logs "$ID" >"$WORK/log"
contains "$WORK/log" "hello from hello"
check 'cmp -s "$ELASTOS_HOME/store/$HCID.capsule" "$B/capsules/hello.capsule"'

# --- the shell's launch_capsule {cid}: fetched by the daemon the same way --------------------------
ORCH=$(variant orch '')
mkdir -p "$ELASTOS_HOME/config" && echo "$ORCH" >"$ELASTOS_HOME/config/shell"
check '[ ! -e "$ELASTOS_HOME/store/$STCID.capsule" ]'
O=$("$E" run --detach "$ORCH" -- launchcid "$STCID" hello) || bad "run orch"
wait_exit "$O"
"$E" logs "$O" >"$WORK/log"
contains "$WORK/log" "launched "
CH=$(sed -n 's/^launched //p' "$WORK/log")
wait_exit "$CH"
check '[ "$(ps_field "$CH" exit_code)" = 0 ]'
check '[ "$(ps_field "$CH" cid)" = "$STCID" ]'
check 'cmp -s "$ELASTOS_HOME/store/$STCID.capsule" "$ST"'
# A CID no source has: refused with the fetch's reason, the orchestrator told so.
MISSING=bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq
O2=$("$E" run --detach "$ORCH" -- launchcid "$MISSING" hello) || bad "run orch 2"
wait_exit "$O2"
"$E" logs "$O2" >"$WORK/log"
contains "$WORK/log" "launch: error"
lacks "$WORK/log" "launched "
check '[ ! -e "$ELASTOS_HOME/store/$MISSING.capsule" ]'
rm -f "$ELASTOS_HOME/config/shell"
stop_daemon
check '[ "$DRC" = 0 ]'
finish
