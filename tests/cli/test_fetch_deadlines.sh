#!/usr/bin/env bash
# Deadlines of IPFS transfers (issue 12, finding 13) against real misbehaving HTTP servers on
# loopback: a gateway that trickles 2 bytes/s (a stall, though never silent), one that sends
# steadily but never ends (the overall deadline), and a Kubo API that takes the upload and never
# answers (publish). Each must end with one clear line and its exit code, nothing installed.
# Also: without a loadable libcurl, HTTP commands fail with 78 and the others still work.
# (`timeout 120` only bounds a hung command so that the test fails instead of hanging: the
# deadlines under test are 2-3 s; nothing here measures speed.)
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
unset ELASTOS_GATEWAYS ELASTOS_KUBO_API
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

# bad_server PORT MODE: trickle (200, then 2 bytes/s forever), endless (200, 16 KiB/s forever),
# mute (reads the request, then says nothing, keeping the connection open).
bad_server() {
python3 - "$1" "$2" >"$WORK/server-$2.log" 2>&1 <<'PY' &
import http.server, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def body(self):
        if mode == "mute":
            n = int(self.headers.get("Content-Length", "0"))
            while n > 0:
                n -= len(self.rfile.read(min(n, 65536)) or b"x" * n)
            time.sleep(3600); return
        self.send_response(200); self.send_header("Content-Length", str(1 << 30)); self.end_headers()
        step, pause = (b"ab", 1.0) if mode == "trickle" else (b"x" * 4096, 0.25)
        while True:
            self.wfile.write(step); self.wfile.flush(); time.sleep(pause)
    do_GET = body
    do_POST = body
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && break; sleep 0.1; done
}
read -r T_PORT S_PORT M_PORT <<<"$(free_ports 3)"
bad_server "$T_PORT" trickle; bad_server "$S_PORT" endless; bad_server "$M_PORT" mute

"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
cp -r "$B/capsules/hello.stage" "$WORK/big"
head -c $((3 * 1048576)) /dev/urandom >"$WORK/big/payload.bin"
"$E" pack "$WORK/big" --key "$B/keys/publisher.key" -o "$WORK/big.capsule" >/dev/null 2>&1 || bad "pack big"
BCID=$("$E" cid "$WORK/big.capsule") HCID=$("$E" cid "$B/capsules/hello.capsule")
check '[ "${BCID:0:7}" = bafybei ] && [ "${HCID:0:7}" = bafkrei ]'

# 1. A trickle of 2 bytes/s is a stall (below 1 KiB/s for the stall window): 66, named.
for cid in "$BCID" "$HCID"; do
    expect 66 env ELASTOS_FETCH_STALL_TIMEOUT=2 timeout 120 "$E" fetch "$cid" --gateway "http://127.0.0.1:$T_PORT"
    expect_err_line
    contains "$WORK/err" "stalled"
    contains "$WORK/err" "127.0.0.1:$T_PORT"
done
# The same through `run CID` (fetched on demand from $ELASTOS_GATEWAYS).
expect 66 env ELASTOS_FETCH_STALL_TIMEOUT=2 ELASTOS_GATEWAYS="http://127.0.0.1:$T_PORT" timeout 120 "$E" run "$BCID"
contains "$WORK/err" "stalled"

# 2. Fast enough never to stall, but never done: the overall deadline of the fetch ends it.
expect 66 env ELASTOS_FETCH_STALL_TIMEOUT=2 ELASTOS_FETCH_TIMEOUT=3 timeout 120 "$E" fetch "$BCID" \
    --gateway "http://127.0.0.1:$S_PORT"
expect_err_line
contains "$WORK/err" "3 s deadline"
# ... across sources: the deadline is the fetch's, not each source's (the second is not tried).
expect 66 env ELASTOS_FETCH_STALL_TIMEOUT=2 ELASTOS_FETCH_TIMEOUT=3 timeout 120 "$E" fetch "$HCID" \
    --gateway "http://127.0.0.1:$S_PORT" --gateway "http://127.0.0.1:$T_PORT"
contains "$WORK/err" "not tried"

# 3. publish to an API that takes the upload and never answers: the stall deadline, then the
# overall one (with a stall window longer than it).
expect 74 env ELASTOS_FETCH_STALL_TIMEOUT=2 timeout 120 "$E" publish "$WORK/big.capsule" --api "http://127.0.0.1:$M_PORT"
expect_err_line
contains "$WORK/err" "stalled"
expect 74 env ELASTOS_FETCH_STALL_TIMEOUT=60 ELASTOS_FETCH_TIMEOUT=3 timeout 120 "$E" publish "$WORK/big.capsule" \
    --api "http://127.0.0.1:$M_PORT"
contains "$WORK/err" "deadline"

# Nothing entered the store.
expect 0 "$E" ls
lacks "$WORK/out" "$BCID"
lacks "$WORK/out" "$HCID"

# 4. No usable libcurl (a library of its soname without libcurl's functions first on the search
# path): HTTP commands say so (78), everything else works without it.
mkdir -p "$WORK/nocurl"
printf 'int not_curl;\n' | cc -shared -fPIC -x c - -o "$WORK/nocurl/libcurl.so.4" || bad "cc"
expect 78 env LD_LIBRARY_PATH="$WORK/nocurl" "$E" fetch "$BCID" --gateway "http://127.0.0.1:$T_PORT"
expect_err_line
contains "$WORK/err" "libcurl"
expect 78 env LD_LIBRARY_PATH="$WORK/nocurl" "$E" publish "$WORK/big.capsule" --api "http://127.0.0.1:$M_PORT"
contains "$WORK/err" "libcurl"
expect 0 env LD_LIBRARY_PATH="$WORK/nocurl" "$E" --version
expect 0 env LD_LIBRARY_PATH="$WORK/nocurl" "$E" verify "$WORK/big.capsule"
expect 0 env LD_LIBRARY_PATH="$WORK/nocurl" "$E" run "$B/capsules/hello.capsule"

finish
