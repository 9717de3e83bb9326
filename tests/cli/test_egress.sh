#!/usr/bin/env bash
# Egress (issue 17, docs/providers.md "Egress"): capsules call HTTP(S) through the runtime with a
# token for the URL, against a real loopback server (tests/tools/egress_server.py). GET and POST
# work once the operator allows 127.0.0.1; a URL outside the token is refused; a redirect is not
# followed unless asked, and a hop outside the token is refused; 127.0.0.1, [::1],
# [::ffff:127.0.0.1], 0x7f000001, 2130706433, 127.1 and localhost are all refused (denied, by the
# address check, audited) while the operator has not allowed them, and 169.254.169.254 always;
# oversize and slow responses are cut at their limits; request headers cannot set Host or
# hop-by-hop headers; the operator's credential header reaches the server, never the capsule.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
SRV= DPID=
trap 'for p in $SRV $DPID; do kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
python3 "$ELASTOS_SRC_DIR/tests/tools/egress_server.py" "$WORK/port" "$WORK/srv.log" &
SRV=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
P=$(cat "$WORK/port")
check '[ -n "$P" ]'
L="http://127.0.0.1:$P"
# http-get repacked with permissions for this server's port (and the refused forms' resources).
D="$WORK/hg"; cp -r "$B/capsules/http-get.stage" "$D"
# Literal forms of every refused range (nothing listens there: the refusal comes first).
RANGES="0.0.0.0 10.1.2.3 100.64.0.1 172.16.0.1 192.168.1.1 198.18.0.1 224.0.0.1 255.255.255.255 [::] [fc00::1]
[fe80::1] [ff02::1] [::127.0.0.1] [64:ff9b::7f00:1] [64:ff9b::a9fe:a9fe] [2002:c0a8:101::1] [2001:db8::1]"
python3 - "$D/capsule.json" "$P" "$RANGES" <<'PY'
import json, sys
p, port = sys.argv[1], sys.argv[2]
m = json.load(open(p))
m["permissions"] = [{"resource": r % port if "%s" in r else r, "actions": a} for r, a in [
    ("http://127.0.0.1:%s/*", ["read", "write"]), ("http://[::1]:%s/*", ["read"]),
    ("http://[::ffff:127.0.0.1]:%s/*", ["read"]), ("http://localhost:%s/*", ["read"]),
    ("http://rebind.test:%s/*", ["read"]),
    ("http://169.254.169.254:80/*", ["read"])] + [("http://%s:80/*" % h, ["read"]) for h in sys.argv[3].split()]]
json.dump(m, open(p, "w"))
PY
"$E" pack "$D" --key "$B/keys/publisher.key" -o "$WORK/hg.capsule" >/dev/null 2>&1 || bad "pack http-get"
GR=(--grant "$L/*:read,write" --grant "http://[::1]:$P/*:read" --grant "http://[::ffff:127.0.0.1]:$P/*:read"
    --grant "http://localhost:$P/*:read" --grant "http://169.254.169.254:80/*:read" --grant "http://rebind.test:$P/*:read")
for h in $RANGES; do GR+=(--grant "http://$h:80/*:read"); done
hg() { "$E" run "$WORK/hg.capsule" "${GR[@]}" -- "$@" </dev/null; }
denied_by_address() { # URL TOKEN-PATTERN: refused by the address check, and audited as such
    expect 1 hg --token-for "$2" "$1"
    contains "$WORK/out" "http-get: denied: "
    contains "$WORK/out" "a non-public address the operator does not allow"
}

# ---- nothing allowed: every loopback form is refused before any connection -------------------
N0=$(grep -c '^GET' "$WORK/srv.log" 2>/dev/null || echo 0)
denied_by_address "$L/data" "$L/*"
denied_by_address "http://2130706433:$P/data" "$L/*"
denied_by_address "http://0x7f000001:$P/data" "$L/*"
denied_by_address "http://127.1:$P/data" "$L/*"
denied_by_address "http://[::1]:$P/data" "http://[::1]:$P/*"
denied_by_address "http://[::ffff:127.0.0.1]:$P/data" "http://[::ffff:127.0.0.1]:$P/*"
denied_by_address "http://localhost:$P/data" "http://localhost:$P/*"
denied_by_address "http://169.254.169.254/latest/meta-data/" "http://169.254.169.254:80/*"
for h in $RANGES; do denied_by_address "http://$h/x" "http://$h:80/*"; done
N1=$(grep -c '^GET' "$WORK/srv.log" 2>/dev/null || echo 0)
check '[ "$N0" = "$N1" ]'   # the server saw none of them
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" "deny capsule=http-get resource=http://127.0.0.1:$P/data action=read reason=\"127.0.0.1 resolves to 127.0.0.1, a non-public address"
contains "$WORK/audit" "resource=http://[::ffff:127.0.0.1]:$P/data action=read reason=\"[::ffff:127.0.0.1] resolves to ::ffff:127.0.0.1"

# ---- the operator allows 127.0.0.1 (the egress file, owner-only) ------------------------------
mkdir -p "$ELASTOS_HOME/config"
printf 'allow 127.0.0.1\nheader %s X-Api-Key: s3cret-key-42\n' "$L" >"$ELASTOS_HOME/config/egress"
chmod 644 "$ELASTOS_HOME/config/egress"
expect 1 hg "$L/data"; contains "$WORK/out" "http-get: unsupported: egress is misconfigured"
chmod 600 "$ELASTOS_HOME/config/egress"
expect 0 hg "$L/data"; check '[ "$(wc -c <"$WORK/out")" = 4096 ] && [ "$(tr -d x <"$WORK/out" | wc -c)" = 0 ]'
expect 0 hg -d 'hello=1' "$L/echo"; check '[ "$(cat "$WORK/out")" = "got:hello=1" ]'
expect 0 hg -X PUT -d 'v' "$L/echo"; check '[ "$(cat "$WORK/out")" = "got:v" ]'
grep -q '^POST /echo' "$WORK/srv.log" && ok || bad "the server saw no POST"
# Numeric forms are read by libcurl's parser, so they are what is checked: now allowed.
expect 0 hg --token-for "$L/*" "http://2130706433:$P/data"; check '[ "$(wc -c <"$WORK/out")" = 4096 ]'
# Only the allowed address: ::1 (and its IPv4-mapped form of 127.0.0.1) stay refused.
denied_by_address "http://[::1]:$P/data" "http://[::1]:$P/*"
denied_by_address "http://[::ffff:127.0.0.1]:$P/data" "http://[::ffff:127.0.0.1]:$P/*"
denied_by_address "http://169.254.169.254/latest/meta-data/" "http://169.254.169.254:80/*"

# ---- DNS rebinding: the connection goes to the address that was checked ------------------------
# el-rebind.so answers rebind.test with 127.0.0.1 (allowed) on the first lookup and
# 169.254.169.254 on every later one. The runtime looks the name up once, checks the answer and
# pins libcurl to it: one lookup, and the request reaches the loopback server. (A second lookup
# by libcurl would connect to the metadata address and fail.)
RB=$B/bin/el-rebind.so
check '[ -f "$RB" ]'
expect 0 env LD_PRELOAD="$RB" REBIND_LOG="$WORK/rebind.log" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$E" run "$WORK/hg.capsule" "${GR[@]}" -- --token-for "http://rebind.test:$P/*" --timeout-ms 5000 \
    "http://rebind.test:$P/data" </dev/null
check '[ "$(wc -c <"$WORK/out")" = 4096 ]'
check '[ "$(grep -c "^lookup" "$WORK/rebind.log")" = 1 ]'
contains "$WORK/srv.log" "Host: rebind.test:$P"

# ---- the token bounds the URL ------------------------------------------------------------------
expect 1 hg --token-for "$L/data" "$L/echo"; contains "$WORK/out" "http-get: denied: token"

# ---- %-encoded and dot paths: a token for /api/ never reaches /admin ----------------------------
# The attack: %2e%2e or %2f that a server decodes into a step out of the token's prefix. The path
# checked is libcurl's parse (dot segments removed, so /api/../admin is checked as /admin), and a
# resource holds no '%' at all (the one resource rule, token.c), so each is refused before any
# connection, and the server never sees /admin.
expect 0 hg --token-for "$L/api/*" "$L/api/ok?q=a%2fb"; check '[ "$(cat "$WORK/out")" = ok ]'
for u in "$L/api/%2e%2e/admin" "$L/api/%2E%2E/admin" "$L/api/..%2fadmin" "$L/api%2f..%2fadmin" \
         "$L/api/%2e%2e%2fadmin" "$L/api/%252e%252e/admin" "$L/api/../admin" "$L/api/./../admin"; do
    expect 1 hg --token-for "$L/api/*" "$u"; contains "$WORK/out" "http-get: "
done
check '! grep -qi "admin\|%2e" "$WORK/srv.log"'

# ---- redirects: not followed unless asked, each hop re-checked ---------------------------------
expect 0 hg -i "$L/redirect?to=http://169.254.169.254/latest"
contains "$WORK/out" "HTTP 302 location: http://169.254.169.254/latest"
expect 1 hg --follow 3 "$L/redirect?to=http://169.254.169.254/latest"; contains "$WORK/out" "http-get: denied"
grep -q '169.254' "$WORK/srv.log" && ok || bad "the redirect was requested"
expect 0 hg --follow 3 --token-for "$L/*" "$L/redirect?to=$L/data"; check '[ "$(wc -c <"$WORK/out")" = 4096 ]'
expect 1 hg --follow 3 --token-for "$L/redirect" "$L/redirect?to=$L/data"; contains "$WORK/out" "does not cover http://127.0.0.1:$P/data"

# ---- identical uses in a row are coalesced: a redirect loop followed 5 times is 6 requests, and
# ---- the audit holds the first use and one record standing for the 5 repeats ---------------------
N0=$(grep -c '^GET /loop' "$WORK/srv.log" || true)
expect 0 hg -i --follow 5 "$L/loop"; contains "$WORK/out" "HTTP 302"
check '[ "$(($(grep -c "^GET /loop" "$WORK/srv.log") - N0))" = 6 ]'
"$E" audit show >"$WORK/audit"
check '[ "$(grep -c "use capsule=http-get resource=http://127.0.0.1:$P/loop " "$WORK/audit")" = 2 ]'
contains "$WORK/audit" "resource=http://127.0.0.1:$P/loop action=read reason=\"repeated 5 times, first at "

# ---- limits ------------------------------------------------------------------------------------
expect 1 hg --max-bytes 1000 "$L/big"; contains "$WORK/out" "http-get: limit: the response is larger than max_bytes (1000)"
expect 1 timeout 30 "$E" run "$WORK/hg.capsule" "${GR[@]}" -- --timeout-ms 1000 "$L/slow"
contains "$WORK/out" "http-get: limit: no complete response within timeout_ms (1000)"

# ---- the instance's network budget (resource_limits.network {requests, bytes}) ----------------
# hg repacked with one request (a redirect's second hop is a second request) and with 5000 bytes
# and with 3000 bytes (a 2-byte answer fits; a 4096-byte answer, or a 3001-byte request body, not).
for b in 'r {"requests": 1}' 'b {"bytes": 3000}'; do
    python3 - "$D/capsule.json" "$WORK/hg${b%% *}.json" "${b#* }" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["resource_limits"]["network"] = json.loads(sys.argv[3])
json.dump(m, open(sys.argv[2], "w"))
PY
    rm -rf "$WORK/hg${b%% *}"; cp -r "$D" "$WORK/hg${b%% *}"; cp "$WORK/hg${b%% *}.json" "$WORK/hg${b%% *}/capsule.json"
    "$E" pack "$WORK/hg${b%% *}" --key "$B/keys/publisher.key" -o "$WORK/hg${b%% *}.capsule" >/dev/null 2>&1 || bad "pack hg${b%% *}"
done
expect 0 "$E" run "$WORK/hgr.capsule" "${GR[@]}" -- "$L/data" </dev/null; check '[ "$(wc -c <"$WORK/out")" = 4096 ]'
expect 1 "$E" run "$WORK/hgr.capsule" "${GR[@]}" -- --follow 3 --token-for "$L/*" "$L/redirect?to=$L/data" </dev/null
contains "$WORK/out" "http-get: limit: this instance made its 1 requests (resource_limits.network.requests)"
expect 0 "$E" run "$WORK/hgb.capsule" "${GR[@]}" -- "$L/api/ok" </dev/null; check '[ "$(cat "$WORK/out")" = ok ]'
expect 1 "$E" run "$WORK/hgb.capsule" "${GR[@]}" -- "$L/data" </dev/null
contains "$WORK/out" "http-get: limit: the response would pass this instance's 3000 bytes (resource_limits.network.bytes)"
expect 1 "$E" run "$WORK/hgb.capsule" "${GR[@]}" -- -X POST -d "$(head -c 3001 /dev/zero | tr '\0' x)" "$L/echo" </dev/null
contains "$WORK/out" "http-get: limit: the request would pass this instance's 3000 bytes (resource_limits.network.bytes)"

# ---- headers: the capsule's are checked; the operator's credential stays with the runtime -----
for h in 'Host: evil.example' 'Transfer-Encoding: chunked' 'Connection: close' 'Proxy-Authorization: x' 'X-Api-Key: mine'; do
    expect 1 hg -H "$h" "$L/headers"; contains "$WORK/out" "http-get: "
done
expect 0 hg -H 'X-Trace: t1' "$L/headers"; check '[ "$(cat "$WORK/out")" = ok ]'
contains "$WORK/srv.log" "X-Api-Key: s3cret-key-42"
contains "$WORK/srv.log" "X-Trace: t1"
lacks "$WORK/out" "s3cret"
"$E" audit show >"$WORK/audit"; lacks "$WORK/audit" "s3cret"
# The attack: a server that quotes the credential back, in its body or in a redirect's Location.
# egress masks every word of 8 bytes or more of the operator's header values in both.
expect 0 hg "$L/quote"; check '[ "$(cat "$WORK/out")" = "key was: *************" ]'
grep -q "^GET /quote" "$WORK/srv.log" && ok || bad "the server saw no /quote"
expect 0 hg -i "$L/quote-redirect"; lacks "$WORK/out" "s3cret"; contains "$WORK/out" "k=*************"

# ---- through the daemon: the same rules, the runtime released while the network is waited on --
"$E" serve 2>>"$WORK/serve.log" &
DPID=$!
for _ in $(seq 1 100); do "$E" ps >/dev/null 2>&1 && break; sleep 0.05; done
I1=$("$E" run --detach "$WORK/hg.capsule" "${GR[@]}" -- "$L/data") || bad "launch in serve"
I2=$("$E" run --detach "$WORK/hg.capsule" "${GR[@]}" -- --token-for "http://[::1]:$P/*" "http://[::1]:$P/data") || bad "launch 2"
for _ in $(seq 1 300); do
    "$E" ps --json >"$WORK/ps"
    [ "$(grep -o '"state":"exited"' "$WORK/ps" | wc -l)" -ge 2 ] && break
    sleep 0.05
done
"$E" logs "$I1" >"$WORK/out"; check '[ "$(wc -c <"$WORK/out")" = 4096 ]'
"$E" logs "$I2" >"$WORK/out"; contains "$WORK/out" "a non-public address the operator does not allow"
kill -TERM "$DPID"; wait "$DPID"; check '[ $? = 0 ]'
if grep -q Sanitizer "$WORK/serve.log"; then bad "daemon: $(grep -m3 -A12 Sanitizer "$WORK/serve.log")"; fi
finish
