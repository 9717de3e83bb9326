# web_lib.sh - helpers for the HTTP front tests (sourced after lib.sh): a daemon with --http on a
# port the kernel picks, its URL, and a raw HTTP client for what curl will not send.
B=$ELASTOS_BUILD_DIR
WT=$B/capsules/webtest.capsule
DPID=
trap 'if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; fi; rm -rf "$WORK"' EXIT
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"

# start_web [ARGS...]: elastos serve --http ${WEB_HTTP:-127.0.0.1:0} ARGS in the background (DPID);
# waits for its ready line and sets URL (http://ADDR:PORT) and HOSTPORT from it.
start_web() {
    : >"$WORK/serve.out"
    "$E" serve --http "${WEB_HTTP:-127.0.0.1:0}" "$@" >"$WORK/serve.out" 2>>"$WORK/serve.log" &
    DPID=$!
    for _ in $(seq 1 600); do
        if grep -q 'ready on' "$WORK/serve.out"; then break; fi
        sleep 0.05
    done
    URL=$(sed -n 's|.*, \(http://[^/]*\)/$|\1|p' "$WORK/serve.out")
    HOSTPORT=${URL#http://}
    if [ -z "$URL" ]; then bad "the daemon did not come up with --http: $(tail -3 "$WORK/serve.log")"; return 1; fi
}

stop_web() {
    kill -TERM "$DPID"
    wait "$DPID"
    DRC=$?
    DPID=
    if grep -q "Sanitizer" "$WORK/serve.log"; then bad "daemon: $(grep -m3 -A12 Sanitizer "$WORK/serve.log")"; fi
}

# gateway_pid: the daemon's elastos-gateway child (empty when none).
gateway_pid() { pgrep -P "$DPID" -x elastos-gateway | head -1; }

# gone PID: the process is no more (a zombie nobody reaped yet counts as gone).
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }

# port_free ADDR PORT: nothing listens there (a bind with SO_REUSEADDR succeeds).
port_free() {
    python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)" "$1" "$2" 2>/dev/null
}

# code PATH [CURL ARGS...]: the status code curl gets for URL/PATH (000 when none).
code() { local p=$1; shift; curl -s -o "$WORK/body" -D "$WORK/head" -w '%{http_code}' "$@" "$URL$p"; }

# raw BYTES-AS-PYTHON-LITERAL: sends them on one connection, prints what came back (until the
# server closes, or 20 s).
raw() {
    python3 - "$HOSTPORT" "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(eval(sys.argv[2]))
s.settimeout(20)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
sys.stdout.buffer.write(out)
PY
}
