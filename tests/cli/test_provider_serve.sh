#!/usr/bin/env bash
# Provider capsules kept by the daemon (issue 17, docs/providers.md "In elastos serve"): one
# provider instance started on first use serves many calls (ps shows it, its id unchanged, its
# start audited); unbinding stops it (audited); a crashed provider is restarted and the next
# call served; garbage gives a clear error; a hung provider gives its consumer an error at the
# call's deadline while the daemon serves another client, and is stopped (audited); the
# per-consumer bound on calls in flight refuses the call past it with `limit`. Event-based: each
# step waits for an instance to exit or an audit record to appear, with generous bounds. A
# consumer stopped mid-call does not stop its provider, unless the call it gave up passes its
# deadline unanswered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
KV=$B/capsules/kv.capsule CLI=$B/capsules/kv-cli.capsule PT=$B/capsules/provtest.capsule
G='localhost://storage/*:read,write,delete'
X='elastos://kv/*:execute'
for c in "$KV" "$CLI" "$PT"; do "$E" install "$c" >/dev/null 2>&1 || bad "install $c"; done
# provslow: provtest with a wall limit past the call's deadline (its hang outlives the deadline).
D="$WORK/provslow"; cp -r "$B/capsules/provtest.stage" "$D"
sed -i 's/"name": "provtest"/"name": "provslow"/; s/"wall_ms": 3000/"wall_ms": 120000/' "$D/capsule.json"
"$E" pack "$D" --key "$B/keys/publisher.key" -o "$WORK/provslow.capsule" >/dev/null 2>&1 || bad "pack provslow"
"$E" install "$WORK/provslow.capsule" >/dev/null 2>&1 || bad "install provslow"

# long_wait ID: waits (up to 60 s) until the instance has exited.
long_wait() { for _ in $(seq 1 3000); do [ "$(ps_field "$1" state)" = exited ] && return 0; sleep 0.02; done; bad "$1 still runs"; }
# dcall ARGS...: kv-cli ARGS through the daemon, with the token; its output in $WORK/out.
dcall() {
    local id
    id=$("$E" run --detach kv-cli --grant "$X" -- "$@") || { bad "launch kv-cli $*"; return; }
    long_wait "$id"
    "$E" logs "$id" >"$WORK/out"
    LAST=$id
}
# running NAME: the ids of NAME's running instances, one a line.
running() {
    "$E" ps --json | python3 -c "
import json, sys
for i in json.load(sys.stdin):
    if i['name'] == '$1' and i['state'] == 'running': print(i['id'])"
}

expect 0 "$E" provider add elastos://kv/ kv --grant "$G"
start_daemon --provider-calls 1 || { finish; exit 1; }

# ---- one kept instance serves many calls -------------------------------------------------------
dcall put a 1; contains "$WORK/out" ok
FIRST=$(running kv)
check '[ "$(echo "$FIRST" | grep -c .)" = 1 ]'
for i in 2 3 4 5; do dcall put "k$i" "v$i"; contains "$WORK/out" ok; done
dcall get k4; check '[ "$(cat "$WORK/out")" = v4 ]'
dcall whoami; contains "$WORK/out" '"op":"whoami"'
check '[ "$(running kv)" = "$FIRST" ]'
"$E" ps >"$WORK/ps"; contains "$WORK/ps" "$FIRST"
"$E" audit show >"$WORK/audit"
check '[ "$(grep -c "launch capsule=kv .*provider of elastos://kv/ started" "$WORK/audit")" = 1 ]'
check '[ "$(grep -c " forward capsule=kv-cli " "$WORK/audit")" = 7 ]'

# ---- unbinding stops it ----------------------------------------------------------------------
expect 0 "$E" provider remove elastos://kv/
long_wait "$FIRST"
for _ in $(seq 1 500); do "$E" audit show | grep -q "provider of elastos://kv/ stopped: unbound" && break; sleep 0.02; done
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" 'kill capsule=kv resource=- action=- reason="provider of elastos://kv/ stopped: unbound"'
dcall get k4; contains "$WORK/out" "kv-cli: not_found: no provider for this uri"

# ---- crash: a clear error, then restarted and the next call served ----------------------------
expect 0 "$E" provider add elastos://kv/ provtest --grant "$X"
dcall call crash; contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/ crashed"
dcall get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'
"$E" audit show >"$WORK/audit"
check '[ "$(grep -c "launch capsule=provtest .*provider of elastos://kv/ started" "$WORK/audit")" = 2 ]'
# Garbage (a malformed answer, then an exit): a clear error, the next call served again.
dcall call garbage; contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/ ended without answering"
dcall get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'
# A provider's own failure keeps its code and message.
dcall call badcode; contains "$WORK/out" "kv-cli: unavailable"

# ---- a hang: the consumer's error at the deadline, the daemon serving others meanwhile, the
# ---- bound per consumer refusing a second call in flight ----------------------------------------
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ provslow --grant "$X" >/dev/null || bad "bind provslow"
FWD=$("$E" audit show | grep -c " forward capsule=kv-cli ")
H=$("$E" run --detach kv-cli --grant "$X" -- call hang) || bad "launch hang"
# Its call is forwarded (so in flight) once its forward record is written.
for _ in $(seq 1 3000); do [ "$("$E" audit show | grep -c " forward capsule=kv-cli ")" -gt "$FWD" ] && break; sleep 0.02; done
check '[ "$("$E" audit show | grep -c " forward capsule=kv-cli ")" -gt "$FWD" ]'
for _ in $(seq 1 3000); do [ -n "$(running provslow)" ] && break; sleep 0.02; done
SLOW=$(running provslow)
check '[ -n "$SLOW" ]'
# The same consumer's second call is past the bound (1 here): refused at once, with limit.
dcall get k; contains "$WORK/out" "kv-cli: limit:"; contains "$WORK/out" "in flight for kv-cli@"
# Another client is served meanwhile: a capsule runs to its end, ps answers, the hung call waits.
O=$("$E" run --detach "$ST" -- hello) || bad "launch servetest"
long_wait "$O"
"$E" logs "$O" >"$WORK/out"; contains "$WORK/out" "hello from servetest"
expect 0 "$E" ps
check '[ "$(ps_field "$H" state)" = running ]'
long_wait "$H"
"$E" logs "$H" >"$WORK/out"
contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/ did not answer within its deadline"
long_wait "$SLOW"
"$E" audit show >"$WORK/audit"
check 'grep -q "kill capsule=provslow resource=- action=- reason=\"provider of elastos://kv/ stopped: call [0-9]* not answered within 10000 ms" "$WORK/audit"'
# Stopped and restarted: the next call is served by a new instance.
dcall get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'

# ---- a consumer stopped while the provider works on its call: the provider is not stopped; its
# ---- answer is dropped and the same instance serves the next call -------------------------------
# fwd_wait N: waits until more than N forward records of kv-cli are written.
fwd_wait() { for _ in $(seq 1 3000); do [ "$("$E" audit show | grep -c " forward capsule=kv-cli ")" -gt "$1" ] && return 0; sleep 0.02; done; bad "no forward record"; }
kills() { "$E" audit show | grep -c "kill capsule=provslow .*not answered within" || true; }
allkills() { "$E" audit show | grep -c "kill capsule=provslow " || true; }
K0=$(kills) A0=$(allkills)
FWD=$("$E" audit show | grep -c " forward capsule=kv-cli ")
C=$("$E" run --detach kv-cli --grant "$X" -- call slow) || bad "launch slow"
fwd_wait "$FWD"
for _ in $(seq 1 3000); do [ -n "$(running provslow)" ] && break; sleep 0.02; done
S2=$(running provslow)
check '[ -n "$S2" ]'
expect 0 "$E" stop "$C"
long_wait "$C"
dcall get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'
check '[ "$(running provslow)" = "$S2" ]'
check '[ "$(allkills)" = "$A0" ]'
# ---- ... but a call given up and never answered still stops the provider at its deadline --------
expect 0 "$E" stop "$S2"
long_wait "$S2"
FWD=$("$E" audit show | grep -c " forward capsule=kv-cli ")
C=$("$E" run --detach kv-cli --grant "$X" -- call hang) || bad "launch hang"
fwd_wait "$FWD"
for _ in $(seq 1 3000); do S3=$(running provslow); [ -n "$S3" ] && break; sleep 0.02; done
check '[ -n "$S3" ] && [ "$S3" != "$S2" ]'
expect 0 "$E" stop "$C"
long_wait "$C"
long_wait "$S3"
check '[ "$(kills)" -gt "$K0" ]'
dcall get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'

# ---- a rebind to the same capsule with fewer grants: the kept instance does not keep the old ones
# (the rebind lands between two calls; the next call runs under the new grants only).
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ kv --grant "$G" >/dev/null || bad "bind kv"
dcall put r1 1; contains "$WORK/out" ok
K1=$(running kv)
check '[ -n "$K1" ]'
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ kv --grant 'localhost://storage/*:read' >/dev/null || bad "rebind kv read-only"
dcall put r2 2; check '! grep -qx ok "$WORK/out"'; contains "$WORK/out" "kv-cli: "
check '[ -n "$(running kv)" ] && [ "$(running kv)" != "$K1" ]'

stop_daemon
check '[ "$DRC" = 0 ]'
finish
