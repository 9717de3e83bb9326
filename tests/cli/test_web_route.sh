#!/usr/bin/env bash
# test_web_route.sh - `elastos route add/list/remove` (docs/web.md): strict prefixes and targets,
# one-line errors with SPEC section 7 exit codes, persisted in state.db, audited.
. "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
WT=$B/capsules/webtest.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
expect 0 "$E" install "$WT"
CID=$("$E" cid "$WT")

# Malformed prefixes: usage (64), one line each, nothing stored.
long=/$(printf 'a%.0s' $(seq 1 64))/$(printf 'b%.0s' $(seq 1 64))/$(printf 'c%.0s' $(seq 1 64))/$(printf 'd%.0s' $(seq 1 64))/
for p in app/ /app /../ /a/../ /./ /a//b/ /a/%2e/ '/a b/' '' '/a?b/' '/a#/' "$(printf '/a\r\n/')" "$long" \
         "/$(printf 'x%.0s' $(seq 1 65))/"; do
    expect 64 "$E" route add "$p" webtest
    expect_err_line
done
# The console's own paths (/console, under /console/, /metrics) cannot be routed: 64, one line.
for p in /console/ /console/x/ /metrics/; do
    expect 64 "$E" route add "$p" webtest
    expect_err_line
    contains "$WORK/err" "operator's console"
done
# Malformed, missing, untrusted targets.
expect 64 "$E" route add /app/ 'Web Test'
expect_err_line
expect 64 "$E" route add /app/ 'webtest@not-a-range'
expect 66 "$E" route add /app/ nosuch
expect_err_line
expect 66 "$E" route add /app/ 'webtest@^2'
expect 64 "$E" route add /app/ webtest --grant nocolon
expect 64 "$E" route add /app/ webtest --bogus
expect 64 "$E" route
expect 64 "$E" route frob
expect 64 "$E" route list --xml
expect 64 "$E" route remove
expect 0 "$E" route list
check '[ ! -s "$WORK/out" ]'

# Good routes, by name and by CID, with grants; persisted; listed sorted by prefix.
expect 0 "$E" route add /app/ 'webtest@^1' --grant 'localhost://storage/*:read'
contains "$WORK/out" "/app/ -> webtest@^1"
expect 0 "$E" route add / "$CID"
expect 0 "$E" route add /app/v2/ webtest
expect 64 "$E" route add /app/ webtest       # already routed
contains "$WORK/err" "already routed"
expect 0 "$E" route list
check '[ "$(cut -f1,2 "$WORK/out")" = "$(printf "/\t%s\n/app/\twebtest@^1\n/app/v2/\twebtest" "$CID")" ]'
contains "$WORK/out" "grants: localhost://storage/*:read"
expect 0 "$E" route list --json
check 'python3 -c "
import json,sys
v=json.load(open(\"$WORK/out\"))
assert [r[\"prefix\"] for r in v]==[\"/\",\"/app/\",\"/app/v2/\"], v
assert v[1][\"grants\"]==[\"localhost://storage/*:read\"] and v[0][\"grants\"]==[], v
assert all(r[\"added_at\"].endswith(\"Z\") for r in v)
"'
check '[ "$(sqlite3 "$ELASTOS_HOME/state.db" "SELECT count(*) FROM routes")" = 3 ]'

# Untrusted publisher: refused (77) at add.
"$E" keygen --out "$WORK/k2" >/dev/null 2>&1
cp -r "$B/capsules/webtest.stage" "$WORK/w2" && sed -i 's/"name": "webtest"/"name": "webother"/' "$WORK/w2/capsule.json"
"$E" trust add "$WORK/k2/publisher.pub" --name other >/dev/null 2>&1
"$E" pack "$WORK/w2" --key "$WORK/k2/publisher.key" -o "$WORK/w2.capsule" >/dev/null 2>&1 || bad "pack webother"
expect 0 "$E" install "$WORK/w2.capsule"
OCID=$("$E" cid "$WORK/w2.capsule")
"$E" trust remove other >/dev/null 2>&1 || bad "trust remove"
expect 77 "$E" route add /other/ "$OCID"   # by CID: found, refused by trust
expect_err_line
expect 66 "$E" route add /other/ webother  # by name: only trusted capsules match

# Remove: exact prefix only; 66 for an unknown one.
expect 66 "$E" route remove /app
expect_err_line
expect 0 "$E" route remove /app/v2/
expect 66 "$E" route remove /app/v2/
expect 0 "$E" route list
check '[ "$(wc -l <"$WORK/out")" = 2 ]'

# Audited: every add and remove, the chain intact.
"$E" audit show >"$WORK/audit" 2>&1
check '[ "$(grep -c route_add "$WORK/audit")" = 3 ]'
check '[ "$(grep -c route_remove "$WORK/audit")" = 1 ]'
contains "$WORK/audit" "grants: localhost://storage/*:read"
expect 0 "$E" audit verify
# Beside the console's paths but not one of them: routable.
expect 0 "$E" route add /consoles/ webtest
expect 0 "$E" route add /metrics/v1/ webtest
expect 0 "$E" route remove /consoles/
expect 0 "$E" route remove /metrics/v1/
finish
