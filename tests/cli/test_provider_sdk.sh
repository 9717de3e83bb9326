#!/usr/bin/env bash
# Provider capsules written with the Go and the Rust guest SDKs (tests/capsules/go-provider and
# rust-provider: get_provider_call, answer_provider_call, fail_provider_call) serving
# elastos://kv/ to the C consumer kv-cli, each in turn: standalone (one instance, one call), and
# through the daemon (one kept instance serving many calls: its count of calls served goes up,
# its id stays). The caller it is told is kv-cli's address; a failure keeps its code and message.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
CLI=$B/capsules/kv-cli.capsule
X='elastos://kv/*:execute'
BID=$(pub_id "$B/keys")
for c in "$B/capsules/go-provider.capsule" "$B/capsules/rust-provider.capsule" "$CLI"; do
    "$E" install "$c" >/dev/null 2>&1 || bad "install $c"
done
long_wait() { for _ in $(seq 1 3000); do [ "$(ps_field "$1" state)" = exited ] && return 0; sleep 0.02; done; bad "$1 still runs"; }

for lang in go rust; do
    P=$lang-provider
    "$E" provider remove elastos://kv/ >/dev/null 2>&1
    expect 0 "$E" provider add elastos://kv/ "$P"
    expect 0 "$E" run kv-cli --grant "$X" -- get k1 </dev/null
    check '[ "$(cat "$WORK/out")" = "$lang 1 kv-cli@$BID k1" ]'
    expect 1 "$E" run kv-cli --grant "$X" -- call nosuch </dev/null
    contains "$WORK/out" "kv-cli: not_found: provider: $P: no op nosuch"

    start_daemon || { finish; exit 1; }
    for i in 1 2 3; do
        id=$("$E" run --detach kv-cli --grant "$X" -- get "k$i") || bad "launch"
        long_wait "$id"
        "$E" logs "$id" >"$WORK/out"
        check '[ "$(cat "$WORK/out")" = "$lang $i kv-cli@$BID k$i" ]'
    done
    "$E" ps --json >"$WORK/ps"
    check "python3 -c 'import json; v=[i for i in json.load(open(\"$WORK/ps\")) if i[\"name\"]==\"$P\"]; assert len(v)==1 and v[0][\"state\"]==\"running\"'"
    stop_daemon
    check '[ "$DRC" = 0 ]'
done
finish
