#!/usr/bin/env bash
# Provider capsules (issue 17, docs/providers.md): binding a scheme (elastos provider
# add|list|remove: audited, persisted, built-in schemes and undeclared schemes refused), the kv
# round trip from kv-cli standalone and through the daemon, a consumer without a token denied
# (audited), the provider told the caller's address but never its token, keys kept per caller,
# a second capsule declaring elastos://kv/ but not bound never used, and a provider that
# crashes, hangs, stays silent or answers garbage giving the consumer a clear error, never a hang.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
KV=$B/capsules/kv.capsule CLI=$B/capsules/kv-cli.capsule PT=$B/capsules/provtest.capsule
G='localhost://storage/*:read,write,delete'
X='elastos://kv/*:execute'
BID=$(pub_id "$B/keys")
for c in "$KV" "$CLI" "$PT"; do "$E" install "$c" >/dev/null 2>&1 || bad "install $c"; done

# ---- binding ---------------------------------------------------------------------------------
for s in elastos://net/ elastos://cid/ elastos://capsule/; do
    expect 64 "$E" provider add "$s" kv; expect_err_line; contains "$WORK/err" "built-in scheme"
done
expect 64 "$E" provider add elastos://KV/ kv; expect_err_line; contains "$WORK/err" "a scheme is elastos://ROOT/"
expect 64 "$E" provider add elastos://kv kv; expect_err_line
expect 64 "$E" provider add elastos://kv/ 'kv@not a range'; expect_err_line
expect 66 "$E" provider add elastos://kv/ nosuchcapsule; expect_err_line
# kv-cli does not declare elastos://kv/: it cannot be bound to it.
expect 64 "$E" provider add elastos://kv/ kv-cli; expect_err_line; contains "$WORK/err" "does not declare this scheme"
# kv declares only elastos://kv/.
expect 64 "$E" provider add elastos://notes/ kv; expect_err_line; contains "$WORK/err" "does not declare"
expect 0 "$E" provider list; check '[ ! -s "$WORK/out" ]'
expect 0 "$E" provider add elastos://kv/ 'kv@^1' --grant "$G"
expect 64 "$E" provider add elastos://kv/ provtest; expect_err_line; contains "$WORK/err" "already bound to kv@^1"
# Persisted: another process lists it, with its grant.
expect 0 "$E" provider list; contains "$WORK/out" "elastos://kv/	kv@^1	"; contains "$WORK/out" "grants: $G"
expect 0 "$E" provider list --json
check "python3 -c 'import json,sys; v=json.load(open(\"$WORK/out\")); assert v[0][\"scheme\"]==\"elastos://kv/\" and v[0][\"grants\"]==[\"$G\"]'"
"$E" audit show >"$WORK/audit"; contains "$WORK/audit" 'provider_bind capsule=- resource=elastos://kv/'
contains "$WORK/audit" "kv@^1 by the operator; grants: $G"
# Nothing refused above was audited as a binding.
check '[ "$(grep -c provider_bind "$WORK/audit")" = 1 ]'
"$E" provider list --json >"$WORK/out"; check "python3 -c 'import json; v=json.load(open(\"$WORK/out\")); assert v[0][\"args\"]==[]'"
# A state database made before bindings had arguments: the column is added on open, the binding kept.
python3 -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute("ALTER TABLE providers DROP COLUMN args"); d.commit()' \
    "$ELASTOS_HOME/state.db" || bad "drop the args column"
check "! python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute(\"SELECT args FROM providers\")' \"$ELASTOS_HOME/state.db\" 2>/dev/null"
expect 0 "$E" provider list; contains "$WORK/out" "elastos://kv/	kv@^1	"; contains "$WORK/out" "grants: $G"
check "python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute(\"SELECT args FROM providers\")' \"$ELASTOS_HOME/state.db\""

# ---- standalone round trip -------------------------------------------------------------------
run_cli() { "$E" run kv-cli --grant "$X" -- "$@" </dev/null; }
expect 0 run_cli put greeting 'hello "world"'; contains "$WORK/out" ok
expect 0 run_cli get greeting; check '[ "$(cat "$WORK/out")" = "hello \"world\"" ]'
# The provider is told the caller's address and instance, never the caller's token.
expect 0 run_cli --show-token whoami
TOKEN=$(sed -n 's/^token: //p' "$WORK/err")
check '[ ${#TOKEN} -gt 40 ]'
contains "$WORK/out" "\"caller\":\"kv-cli@$BID\""
contains "$WORK/out" '"resource":"elastos://kv/whoami","action":"execute","op":"whoami"'
lacks "$WORK/out" "$TOKEN"
lacks "$WORK/out" '"token"'
# Keys are the caller's: another consumer (kv-cli under another name) does not see them.
D="$WORK/v-other"; cp -r "$B/capsules/kv-cli.stage" "$D"
sed -i 's/"name": "kv-cli"/"name": "kv-cli2"/' "$D/capsule.json"
"$E" pack "$D" --key "$B/keys/publisher.key" -o "$WORK/kv-cli2.capsule" >/dev/null 2>&1 || bad "pack kv-cli2"
expect 1 "$E" run "$WORK/kv-cli2.capsule" --grant "$X" -- get greeting </dev/null
contains "$WORK/out" "kv-cli: not_found: provider: no such key"
expect 0 run_cli del greeting
expect 1 run_cli get greeting; contains "$WORK/out" "not_found"
expect 1 run_cli call nosuchop; contains "$WORK/out" "kv-cli: not_found: provider: unknown op"
# Denied without a token (no grant, no terminal: the shell denies), and audited; nothing forwarded.
FWD=$("$E" audit show | grep -c ' forward ')
expect 1 "$E" run kv-cli -- get greeting </dev/null; contains "$WORK/out" "kv-cli: denied"
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" 'deny capsule=kv-cli resource=elastos://kv/* action=execute'
check '[ "$(grep -c " forward " "$WORK/audit")" = "$FWD" ]'
# Every forward is audited, naming the provider and the token used.
check 'grep -q "forward capsule=kv-cli resource=elastos://kv/get action=execute reason=\"to kv 1.0.0 (bafk" "$WORK/audit"'

# ---- the second declaring capsule, not bound, is never used ------------------------------------
expect 0 run_cli put k v1
expect 0 run_cli get k; check '[ "$(cat "$WORK/out")" = v1 ]'
lacks "$WORK/out" from-provtest
check '! grep -q "forward.*to provtest" "$WORK/audit"'

# ---- unbinding -------------------------------------------------------------------------------
expect 0 "$E" provider remove elastos://kv/
expect 66 "$E" provider remove elastos://kv/; expect_err_line
expect 1 run_cli get k; contains "$WORK/out" "kv-cli: not_found: no provider for this uri"
"$E" audit show >"$WORK/audit"; contains "$WORK/audit" 'provider_unbind capsule=- resource=elastos://kv/'
# Arguments after --: kept one per word, listed, audited; a bad one refused, nothing bound.
expect 64 "$E" provider add elastos://kv/ provtest -- "$(printf 'a\nb')"; expect_err_line; contains "$WORK/err" "argument 1"
expect 64 "$E" provider add elastos://kv/ provtest -- $(seq 1 17); expect_err_line; contains "$WORK/err" "at most 16"
expect 64 "$E" provider add elastos://kv/ provtest -- "$(head -c 1025 /dev/zero | tr '\0' a)"; expect_err_line
expect 0 "$E" provider list; check '[ ! -s "$WORK/out" ]'
expect 0 "$E" provider add elastos://kv/ provtest -- --mode 'two words'
"$E" provider list --json >"$WORK/out"
check "python3 -c 'import json; v=json.load(open(\"$WORK/out\")); assert v[0][\"args\"]==[\"--mode\",\"two words\"]'"
expect 0 "$E" provider list; contains "$WORK/out" "args: --mode two words"
"$E" audit show >"$WORK/audit"; contains "$WORK/audit" "; args: --mode two words"
expect 0 "$E" provider remove elastos://kv/

# ---- a misbehaving provider: a clear error, within its deadline (wall_ms 3000) -----------------
# Outside a call, get_provider_call is refused.
expect 1 "$E" run provtest </dev/null; contains "$WORK/out" "provtest: denied: only a provider capsule serving a call"
expect 0 "$E" provider add elastos://kv/ provtest --grant "$X"
# A provider holding a token for a bound scheme still cannot call a provider capsule: no chains.
expect 0 run_cli call chain; contains "$WORK/out" '{"chain":"denied"}'
check '[ "$("$E" audit show | grep -c "forward capsule=provtest")" = 0 ]' 
expect 0 run_cli get k; check '[ "$(cat "$WORK/out")" = from-provtest ]'
for op in crash hang silent garbage; do
    expect 1 timeout 60 "$E" run kv-cli --grant "$X" -- call "$op"
    contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/"
done
expect 1 run_cli call crash; contains "$WORK/out" "crashed"
expect 1 run_cli call hang; contains "$WORK/out" "was stopped at a limit"
expect 1 run_cli call silent; contains "$WORK/out" "ended without answering"
# A code that is not a protocol code is refused (the provider learns it), and the call fails.
expect 1 run_cli call badcode; contains "$WORK/out" "kv-cli: unavailable"
# Answered once: the first answer counts, the second is refused.
expect 0 run_cli call twice; contains "$WORK/out" '{"first":true}'
# Standalone, the provider is kept for the run: one instance takes every call of it (its count
# goes on), and one that crashes is started again by the run's next call.
expect 0 run_cli call count count count
check '[ "$(tr -d "\n" <"$WORK/out")" = "{\"served\":1}{\"served\":2}{\"served\":3}" ]'
expect 1 run_cli call count crash count
check '[ "$(sed -n 1p "$WORK/out")" = "{\"served\":1}" ] && [ "$(sed -n 3p "$WORK/out")" = "{\"served\":1}" ]'
check 'sed -n 2p "$WORK/out" | grep -qF "kv-cli: unavailable: the provider of elastos://kv/ crashed"'
# A provider that hangs is stopped at its deadline and the run goes on with a new instance;
# when the consumer exits, its kept provider (waiting for a call) ends with it.
expect 1 timeout 60 "$E" run kv-cli --grant "$X" -- call count hang count
check '[ "$(sed -n 3p "$WORK/out")" = "{\"served\":1}" ]'

# ---- through the daemon ----------------------------------------------------------------------
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ kv --grant "$G" >/dev/null || bad "rebind kv"
start_daemon || { finish; exit 1; }
P1=$("$E" run --detach kv-cli --grant "$X" -- put served yes) || bad "launch put"
wait_exit "$P1"
check '[ "$(ps_field "$P1" exit_code)" = 0 ]'
P2=$("$E" run --detach kv-cli --grant "$X" -- get served) || bad "launch get"
wait_exit "$P2"
"$E" logs "$P2" >"$WORK/out"; check '[ "$(cat "$WORK/out")" = yes ]'
# The daemon reuses the provider artifact it verified only while its store file is unchanged:
# bytes replaced in place (same inode) are refused at the next call, and the restored ones work.
KCID=$("$E" install "$KV" 2>/dev/null); KF=$ELASTOS_HOME/store/$KCID.capsule
check '[ -f "$KF" ]'
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ "$KCID" --grant "$G" >/dev/null || bad "bind kv by CID"
P5=$("$E" run --detach kv-cli --grant "$X" -- get served) || bad "launch get (by CID)"
wait_exit "$P5"
"$E" logs "$P5" >"$WORK/out"; check '[ "$(cat "$WORK/out")" = yes ]'
cp "$KF" "$WORK/kv.keep" && cat "$PT" >"$KF"
P5=$("$E" run --detach kv-cli --grant "$X" -- get served) || bad "launch get (replaced)"
wait_exit "$P5"
"$E" logs "$P5" >"$WORK/out"; contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/ is not available"
cat "$WORK/kv.keep" >"$KF"
P6=$("$E" run --detach kv-cli --grant "$X" -- get served) || bad "launch get (restored)"
wait_exit "$P6"
"$E" logs "$P6" >"$WORK/out"; check '[ "$(cat "$WORK/out")" = yes ]'
P3=$("$E" run --detach kv-cli -- get served) || bad "launch denied"
wait_exit "$P3"
"$E" logs "$P3" >"$WORK/out"; contains "$WORK/out" "kv-cli: denied"
# A hanging provider under the daemon: the consumer gets its error, the daemon keeps serving.
"$E" provider remove elastos://kv/ >/dev/null && "$E" provider add elastos://kv/ provtest >/dev/null || bad "rebind provtest"
P4=$("$E" run --detach kv-cli --grant "$X" -- call hang) || bad "launch hang"
for _ in $(seq 1 1500); do [ "$(ps_field "$P4" state)" = exited ] && break; sleep 0.02; done
"$E" logs "$P4" >"$WORK/out"; contains "$WORK/out" "kv-cli: unavailable: the provider of elastos://kv/ was stopped at a limit"
expect 0 "$E" ps
stop_daemon
check '[ "$DRC" = 0 ]'
finish
