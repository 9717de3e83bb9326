#!/usr/bin/env bash
# Publishing to and fetching from IPFS through a real Kubo node on loopback (profile
# unixfs-v1-2025): publish prints the same CID as `elastos cid`; fetch by CID into a fresh
# $ELASTOS_HOME verifies every byte (raw and dag-pb/CAR), skips a gateway that flips a byte,
# refuses when only bad gateways answer (nothing enters the store), and reports unknown CIDs (66).
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
source "$(dirname "$0")/kubo_lib.sh"
read -r API_PORT GW_PORT BAD_PORT CUT_PORT LOG_PORT DROP_PORT SPARE_PORT <<<"$(free_ports 7)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

start_kubo
BADGW=http://127.0.0.1:$BAD_PORT

# Proxies in front of the good gateway: "flip" flips one byte in the middle of every body,
# "cut" serves only the first half of it, "drop" breaks the connection halfway through a large
# body, "log" passes it through and logs each request path, Range header and status.
proxy() {
python3 - "$1" "$GW_PORT" "$2" "$WORK/proxy-$2.up" >"$WORK/proxy-$2.log" 2>&1 <<'PY' &
import http.server, sys, urllib.request, urllib.error
port, up, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        hdrs = {"Accept": self.headers.get("Accept", "*/*")}
        if self.headers.get("Range"): hdrs["Range"] = self.headers["Range"]
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (up, self.path), headers=hdrs)
        extra = {}
        try:
            r = urllib.request.urlopen(req, timeout=30); code, body = r.status, bytearray(r.read())
            if r.headers.get("Content-Range"): extra["Content-Range"] = r.headers["Content-Range"]
        except urllib.error.HTTPError as e:
            code, body = e.code, bytearray(e.read())
        if mode == "log": print(self.path, self.headers.get("Range", "-"), code, flush=True)
        if code == 200 and body and mode == "flip":
            body[len(body) // 2] ^= 0x01
        if code == 200 and mode == "cut":
            body = body[:len(body) // 2]
        self.send_response(code); self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items(): self.send_header(k, v)
        self.end_headers()
        if code == 200 and mode == "drop" and len(body) > 2000000:   # the connection breaks mid-body
            self.wfile.write(body[:len(body) // 2]); self.wfile.flush(); self.close_connection = True
            self.connection.shutdown(2); return
        self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
open(sys.argv[4], "w").close()   # bound: the test may use the port
srv.serve_forever()
PY
PIDS+=($!)
# Wait for this proxy's own "bound" mark, not for any answer on the port: a proxy that could not
# bind must fail the test, not let another listener on the port stand in for it.
local pid=$! up=$WORK/proxy-$2.up
for _ in $(seq 100); do [ -e "$up" ] && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
bad "proxy $2 on port $1 did not start: $(cat "$WORK/proxy-$2.log")"
}
proxy "$BAD_PORT" flip; proxy "$CUT_PORT" cut; CUTGW=http://127.0.0.1:$CUT_PORT

# Two capsules: hello (a single raw block) and one with a 3 MiB payload (a dag-pb tree).
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
cp "$B/capsules/hello.capsule" "$WORK/hello.capsule"
cp -r "$B/capsules/hello.stage" "$WORK/big"
head -c $((3 * 1048576)) /dev/urandom >"$WORK/big/payload.bin"
sed -i 's/"name": "hello"/"name": "hello-big"/' "$WORK/big/capsule.json"
"$E" pack "$WORK/big" --key "$B/keys/publisher.key" -o "$WORK/big.capsule" >/dev/null 2>&1 || bad "pack big"
HCID=$("$E" cid "$WORK/hello.capsule") BCID=$("$E" cid "$WORK/big.capsule")
check '[ "${HCID:0:7}" = bafkrei ] && [ "${BCID:0:7}" = bafybei ]'

# publish: the node's CID equals ours.
expect 0 "$E" publish "$WORK/hello.capsule" --api "$API"; check '[ "$(cat "$WORK/out")" = "$HCID" ]'
ELASTOS_KUBO_API=$API expect 0 "$E" publish "$WORK/big.capsule"; check '[ "$(cat "$WORK/out")" = "$BCID" ]'
"$IPFS" pin ls --type=recursive >"$WORK/pins" 2>&1   # (no grep -q after a pipe: SIGPIPE under pipefail)
check 'grep -q "$BCID" "$WORK/pins"'
# publish refuses an artifact that does not verify (tampered byte), and an unreachable API.
cp "$WORK/hello.capsule" "$WORK/bad.capsule"; printf 'X' | dd of="$WORK/bad.capsule" bs=1 seek=600 conv=notrunc 2>/dev/null
expect 77 "$E" publish "$WORK/bad.capsule" --api "$API"; expect_err_line
expect 66 "$E" publish "$WORK/hello.capsule" --api "http://127.0.0.1:$SPARE_PORT"; expect_err_line
expect 64 "$E" publish; expect_err_line

# fetch into a fresh home that trusts the build key.
export ELASTOS_HOME=$WORK/home2
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key (home2)"
expect 78 "$E" fetch "$HCID"; expect_err_line
expect 0 "$E" fetch "$HCID" --gateway "$GW"; check '[ "$(cat "$WORK/out")" = "$HCID" ]'
expect 0 "$E" run "$HCID" </dev/null; contains "$WORK/out" "hello from hello"
# A fetched capsule is verified as it streams in (one pass) and renamed into the store: the
# checks still refuse what the CID alone would let in - a tampered artifact served with its own
# (correct) CID (77), a signed archive whose SHA256SUMS is wrong (65), an unknown publisher (77) -
# and leave nothing behind. And the store holds exactly the bytes of the CID.
expect 0 "$E" fetch "$BCID" --gateway "$GW"; check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
size=$(stat -c %s "$WORK/big.capsule")
cp "$WORK/big.capsule" "$WORK/tampered.capsule"
printf 'X' | dd of="$WORK/tampered.capsule" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
head -c $((size - 2048)) "$WORK/big.capsule" >"$WORK/body"
printf 'X' | dd of="$WORK/body" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$ELASTOS_TESTTOOL" seal "$WORK/body" "$B/keys/publisher.key" "$WORK/badsums.capsule" || bad "seal badsums"
"$E" keygen --out "$WORK/stranger" >/dev/null 2>&1 || bad "keygen stranger"
"$E" pack "$WORK/big" --key "$WORK/stranger/publisher.key" -o "$WORK/stranger.capsule" >/dev/null 2>&1 || bad "pack stranger"
for f in tampered:77:"does not match its signature" badsums:65:SHA256SUMS stranger:77:publisher; do
    IFS=: read -r name code what <<<"$f"
    cid=$("$IPFS" add -Q --pin=false "$WORK/$name.capsule")
    check '[ "$cid" = "$("$E" cid "$WORK/$name.capsule")" ]'
    expect "$code" "$E" fetch "$cid" --gateway "$GW"; expect_err_line; contains "$WORK/err" "$what"
    check '[ ! -e "$ELASTOS_HOME/store/$cid.capsule" ] && [ -z "$(find "$ELASTOS_HOME/tmp" -name "fetch-*")" ]'
done
rm -rf "$ELASTOS_HOME/store"
# run CID and install CID fetch when missing (gateways configured); offline they don't.
rm -rf "$ELASTOS_HOME/store"
expect 66 "$E" run "$HCID" </dev/null; expect_err_line
ELASTOS_GATEWAYS="$GW" expect 0 "$E" run "$HCID" </dev/null; contains "$WORK/out" "hello from hello"
rm -rf "$ELASTOS_HOME/store"
ELASTOS_GATEWAYS="$GW" expect 0 "$E" install "$HCID"; check '[ -f "$ELASTOS_HOME/store/$HCID.capsule" ]'
expect 78 "$E" install bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq; expect_err_line
ELASTOS_GATEWAYS="http://127.0.0.1:1 $GW" expect 0 "$E" fetch "$BCID"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'

# A byte-flipping gateway first: skipped, the good one is used, the store holds the right bytes.
rm -rf "$ELASTOS_HOME/store"
expect 0 "$E" fetch "$BCID" --gateway "$BADGW" --gateway "$GW"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
expect 0 "$E" fetch "$HCID" --gateway "$BADGW" --gateway "$GW"
check 'cmp -s "$ELASTOS_HOME/store/$HCID.capsule" "$WORK/hello.capsule"'

# Only the bad gateway: refused (77), nothing in the store, no temp files.
rm -rf "$ELASTOS_HOME/store"
for c in "$HCID" "$BCID"; do
    expect 77 "$E" fetch "$c" --gateway "$BADGW"; expect_err_line; contains "$WORK/err" "$BADGW"
    check '[ ! -e "$ELASTOS_HOME/store/$c.capsule" ]'
done
# A gateway that serves half the bytes (truncated CAR, short raw blocks): refused, nothing stored;
# the verified blocks of the cut CAR are kept for resuming.
expect 77 "$E" fetch "$HCID" --gateway "$CUTGW"; expect_err_line
expect 77 "$E" fetch "$BCID" --gateway "$CUTGW"; expect_err_line; contains "$WORK/err" "does not match its CID"
check '[ ! -e "$ELASTOS_HOME/store/$HCID.capsule" ] && [ ! -e "$ELASTOS_HOME/store/$BCID.capsule" ]'
check '[ -z "$(find "$ELASTOS_HOME" -name "*.capsule*" -o -name ".*.capsule.*" -o -name "fetch-*")" ]'
check '[ -s "$ELASTOS_HOME/tmp/partial/$BCID.car" ]'
# Resume: the next fetch (through a logging proxy) asks only for the missing blocks, one by one.
proxy "$LOG_PORT" log
expect 0 "$E" fetch "$BCID" --gateway "http://127.0.0.1:$LOG_PORT"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
lacks "$WORK/proxy-log.log" "format=car"
nraw=$(grep -c "format=raw" "$WORK/proxy-log.log")
check '[ "$nraw" -ge 1 ] && [ "$nraw" -lt 4 ]'     # the tree has 4 blocks (root + 3 leaves)
check '[ ! -e "$ELASTOS_HOME/tmp/partial/$BCID.car" ]'

# Resume of a stream: a connection broken halfway keeps the bytes received (66, retry later);
# the next fetch asks for the rest only (Range), and the result is verified by its CID.
rm -rf "$ELASTOS_HOME/store" "$ELASTOS_HOME/tmp"
proxy "$DROP_PORT" drop
: >"$WORK/proxy-log.log"
expect 66 "$E" fetch "$BCID" --gateway "http://127.0.0.1:$DROP_PORT"; expect_err_line
check '[ -s "$ELASTOS_HOME/tmp/partial/$BCID.part" ]'
expect 0 "$E" fetch "$BCID" --gateway "http://127.0.0.1:$LOG_PORT"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
contains "$WORK/proxy-log.log" "/ipfs/$BCID bytes="
contains "$WORK/proxy-log.log" " 206"
check '[ ! -e "$ELASTOS_HOME/tmp/partial/$BCID.part" ]'
# A kept stream that already holds every byte (the range asked for is past the end: 416): the
# fetch starts over instead of failing forever.
rm -rf "$ELASTOS_HOME/store"; mkdir -p "$ELASTOS_HOME/tmp/partial"
cp "$WORK/big.capsule" "$ELASTOS_HOME/tmp/partial/$BCID.part"
: >"$WORK/proxy-log.log"
expect 0 "$E" fetch "$BCID" --gateway "http://127.0.0.1:$LOG_PORT"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
contains "$WORK/proxy-log.log" " 416"
# A kept stream whose bytes were altered on disk: the CID check fails, the fetch starts over.
expect 66 "$E" fetch "$BCID" --gateway "http://127.0.0.1:$DROP_PORT" -o "$WORK/dl.bin"; expect_err_line
printf 'XXXX' | dd of="$ELASTOS_HOME/tmp/partial/$BCID.part" bs=1 seek=1000 conv=notrunc 2>/dev/null
expect 0 "$E" fetch "$BCID" --gateway "$GW" -o "$WORK/dl.bin"
check 'cmp -s "$WORK/dl.bin" "$WORK/big.capsule"'

# Kubo's RPC API as the source (--api, or $ELASTOS_KUBO_API for run/install).
rm -rf "$ELASTOS_HOME/store"
expect 0 "$E" fetch "$BCID" --api "$API"; check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
expect 0 "$E" fetch "$HCID" --api "http://127.0.0.1:$BAD_PORT" --api "$API"
ELASTOS_KUBO_API=$API expect 0 "$E" run "$BCID" </dev/null; contains "$WORK/out" "hello from hello-big"
# A progress line on a terminal.
rm -rf "$ELASTOS_HOME/store"
script -qec "'$E' fetch '$BCID' --gateway '$GW'" /dev/null >"$WORK/tty" 2>&1
contains "$WORK/tty" "fetching $(echo "$BCID" | cut -c1-16)"; contains "$WORK/tty" "MiB"

# gc: what `run CID` fetched is cached (not pinned) and collected, unless a pinned capsule
# depends on it; installed capsules stay.
rm -rf "$ELASTOS_HOME/store"
ELASTOS_GATEWAYS="$GW" expect 0 "$E" run "$HCID" </dev/null
expect 0 "$E" ls; contains "$WORK/out" " cached "
expect 0 "$E" gc --dry-run; contains "$WORK/out" "would remove 1 cached capsule"
check '[ -e "$ELASTOS_HOME/store/$HCID.capsule" ]'
rm -rf "$WORK/app"; cp -r "$B/capsules/hello.stage" "$WORK/app"
python3 - "$WORK/app/capsule.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["name"] = "app"; m["dependencies"] = [{"name": "hello", "version": "*"}]
json.dump(m, open(sys.argv[1], "w"))
PY
"$E" pack "$WORK/app" --key "$B/keys/publisher.key" -o "$WORK/app.capsule" >/dev/null 2>&1 || bad "pack app"
expect 0 "$E" install "$WORK/app.capsule"
expect 0 "$E" gc; contains "$WORK/out" "removed 0 cached capsules"        # hello is needed by app
check '[ -e "$ELASTOS_HOME/store/$HCID.capsule" ]'
expect 0 "$E" rm "$("$E" cid "$WORK/app.capsule")"
expect 0 "$E" gc; contains "$WORK/out" "removed 1 cached capsule"
check '[ ! -e "$ELASTOS_HOME/store/$HCID.capsule" ]'
ELASTOS_GATEWAYS="$GW" expect 0 "$E" install "$HCID"                       # install pins
expect 0 "$E" gc; contains "$WORK/out" "removed 0 cached capsules"
expect 0 "$E" ls; contains "$WORK/out" " pinned "

# An unknown CID: 66, quickly.
head -c 5000 /dev/urandom >"$WORK/unknown"; UCID=$("$E" cid "$WORK/unknown")
start=$(date +%s)
expect 66 "$E" fetch "$UCID" --gateway "$GW"; expect_err_line
head -c 3000000 /dev/urandom >"$WORK/unknown"; UCID=$("$E" cid "$WORK/unknown")
expect 66 "$E" fetch "$UCID" --gateway "$GW" --gateway "$BADGW"; expect_err_line
check '[ $(( $(date +%s) - start )) -lt 30 ]'
expect 65 "$E" fetch not-a-cid --gateway "$GW"; expect_err_line
expect 64 "$E" fetch; expect_err_line
finish
