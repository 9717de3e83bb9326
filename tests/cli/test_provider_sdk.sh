#!/usr/bin/env bash
# A provider capsule written with the Go guest SDK (tests/capsules/go-provider: GetProviderCall,
# AnswerProviderCall, FailProviderCall) serving elastos://kv/ to the C consumer kv-cli: standalone
# (one instance, one call), and through the daemon (one kept instance serving many calls: its
# count of calls served goes up, its id stays). The caller it is told is kv-cli's address; a
# failure keeps its code and message.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
GP=$B/capsules/go-provider.capsule CLI=$B/capsules/kv-cli.capsule
X='elastos://kv/*:execute'
BID=$(pub_id "$B/keys")
for c in "$GP" "$CLI"; do "$E" install "$c" >/dev/null 2>&1 || bad "install $c"; done
expect 0 "$E" provider add elastos://kv/ go-provider

expect 0 "$E" run kv-cli --grant "$X" -- get k1 </dev/null
check '[ "$(cat "$WORK/out")" = "go 1 kv-cli@$BID k1" ]'
expect 1 "$E" run kv-cli --grant "$X" -- call nosuch </dev/null
contains "$WORK/out" "kv-cli: not_found: provider: go-provider: no op nosuch"

long_wait() { for _ in $(seq 1 3000); do [ "$(ps_field "$1" state)" = exited ] && return 0; sleep 0.02; done; bad "$1 still runs"; }
start_daemon || { finish; exit 1; }
for i in 1 2 3; do
    id=$("$E" run --detach kv-cli --grant "$X" -- get "k$i") || bad "launch"
    long_wait "$id"
    "$E" logs "$id" >"$WORK/out"
    check '[ "$(cat "$WORK/out")" = "go $i kv-cli@$BID k$i" ]'
done
"$E" ps --json >"$WORK/ps"
check "python3 -c 'import json; v=[i for i in json.load(open(\"$WORK/ps\")) if i[\"name\"]==\"go-provider\"]; assert len(v)==1 and v[0][\"state\"]==\"running\"'"
stop_daemon
check '[ "$DRC" = 0 ]'
finish
