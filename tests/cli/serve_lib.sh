# serve_lib.sh - helpers for the elastos serve tests (sourced after lib.sh): starting and
# stopping the daemon, capsule variants with other names and limits.
B=$ELASTOS_BUILD_DIR
L=${ELASTOS_SERVELOAD:-$B/bin/el-serveload}
ST=$B/capsules/servetest.capsule
DPID=
trap 'if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; fi; rm -rf "$WORK"' EXIT
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"

# start_daemon [ARGS...]: starts elastos serve in the background (DPID), waits until it answers.
start_daemon() {
    "$E" serve "$@" 2>>"$WORK/serve.log" &
    DPID=$!
    for _ in $(seq 1 100); do
        if "$E" ps >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    bad "the daemon did not come up: $(tail -3 "$WORK/serve.log")"
    return 1
}

# stop_daemon: SIGTERM, and the exit status it ended with in $DRC; a sanitizer report fails.
stop_daemon() {
    kill -TERM "$DPID"
    wait "$DPID"
    DRC=$?
    DPID=
    if grep -q "Sanitizer" "$WORK/serve.log"; then bad "daemon: $(grep -m3 -A12 Sanitizer "$WORK/serve.log")"; fi
}
# An ASan build keeps freed memory in quarantine: resident-memory thresholds don't apply.
ASAN=0
libs=$(ldd "$E" 2>/dev/null)   # (no grep -q after a pipe under pipefail: SIGPIPE made this flaky)
case $libs in *libasan*) ASAN=1 ;; esac

# variant_by KEYDIR LABEL NAME 'SED-EXPR': a copy of servetest named NAME with its manifest edited,
# signed with KEYDIR/publisher.key, written to $WORK/LABEL.capsule; prints the path.
variant_by() {
    local d="$WORK/v-$2"
    rm -rf "$d"
    cp -r "$B/capsules/servetest.stage" "$d"
    sed -i "s/\"name\": \"servetest\"/\"name\": \"$3\"/; $4" "$d/capsule.json"
    "$E" pack "$d" --key "$1/publisher.key" -o "$WORK/$2.capsule" >/dev/null 2>&1 || bad "pack $2"
    echo "$WORK/$2.capsule"
}

# variant NAME 'SED-EXPR': the build publisher's copy of servetest named NAME; prints the path.
variant() { variant_by "$B/keys" "$1" "$1" "$2"; }

# pub_id KEYDIR: the publisher id of a key (first 16 hex digits), as in capsule addresses.
pub_id() { sed 's/^ed25519://' "$1/publisher.pub" | head -c 16; }

# wait_exit ID: waits (up to 4 s) until the instance has exited.
wait_exit() { for _ in $(seq 1 200); do [ "$(ps_field "$1" state)" = exited ] && break; sleep 0.02; done; }

# state_of ID: the instance's state field from ps --json ("running", "exited" or "").
ps_field() {
    "$E" ps --json | python3 -c "
import json, sys
for i in json.load(sys.stdin):
    if i['id'] == '$1': print(i.get('$2', ''))"
}

# ask NAME TEXT: runs the asker capsule in the daemon, waits for it; prints its exit and log.
ask_ok() {
    local t0 id st
    t0=$(date +%s%N)
    id=$("$E" run --detach "$ASKER" --grant 'elastos://capsule/*:message' -- ask "$1" "$2") || { bad "ask launch"; return; }
    # Waits up to 60 s: a loaded machine is slow, not wrong (latency is for make bench).
    for _ in $(seq 1 3000); do
        st=$(ps_field "$id" state)
        [ "$st" = exited ] && break
        sleep 0.02
    done
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "$(ps_field "$id" exit_code)" = 0 ] && [ "$("$E" logs "$id")" = "reply: $2" ]; then ok; else
        bad "ask $1 $2: exit $(ps_field "$id" exit_code), log $("$E" logs "$id")"; fi
    echo "$ms" >>"$WORK/ask_ms"
}
