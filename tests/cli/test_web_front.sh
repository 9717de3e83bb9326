#!/usr/bin/env bash
# test_web_front.sh - the HTTP front (docs/web.md): `elastos serve --http` runs elastos-gateway in
# a process of its own; routed requests run a real WAGI capsule (tests/capsules/webtest, built by
# the real toolchain) through the daemon's launch path, checked with curl and raw sockets:
# CGI variables for that request only, body on stdin, strict parsing of what the capsule answers
# (header injection refused), crashes and limits as 502/503 without internals, 404 for unrouted
# paths, Host checks, traversal, oversize bodies and headers, slowloris (headers and a trickled
# body), grants, restart. Port 80 and the gateway's lifetime: test_web_port80.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
expect 0 "$E" install "$WT"
expect 0 "$E" route add /app/ webtest
expect 0 "$E" route add /granted/ webtest --grant 'localhost://storage/*:read,write'

# Malformed --http: usage (64), one line; a wildcard is refused.
for a in 127.0.0.1:99999 0.0.0.0:0 '[::]:0' example.com:80 127.0.0.1: :80 '[::1:0' abc; do
    expect 64 "$E" serve --http "$a"
    expect_err_line
done
expect 64 "$E" serve --status --http 127.0.0.1:0

start_web || { finish; exit 1; }
GW=$(gateway_pid)
check '[ -n "$GW" ]'
# The parser lives in the gateway, not in the daemon: libmicrohttpd is mapped there only, and the
# gateway got no environment.
check '! grep -q microhttpd /proc/$DPID/maps'
check 'grep -q microhttpd /proc/$GW/maps'
check '[ ! -s /proc/$GW/environ ]'
expect 0 "$E" serve --status
contains "$WORK/out" "$URL/"

# A routed request: 200, the capsule's headers and body.
check '[ "$(code /app/hello)" = 200 ]'
check '[ "$(cat "$WORK/body")" = "hello from webtest" ]'
contains "$WORK/head" "Content-Type: text/plain"
check '[ "$(code /app/status)" = 201 ]'
contains "$WORK/head" "X-Test: yes"
check '[ "$(code /app/location)" = 302 ]'
contains "$WORK/head" "Location: /elsewhere"
check '[ "$(code /app/nomode)" = 404 ]'    # the capsule's own 404

# CGI variables, exactly this request's.
check '[ "$(code "/app/v/env?a=1&b=%20x" -X POST -H "X-Foo: bar" -H "Content-Type: text/x-t" --data-binary abc)" = 200 ]'
for v in REQUEST_METHOD=POST PATH_INFO=/v/env SCRIPT_NAME=/app "QUERY_STRING=a=1&b=%20x" SERVER_NAME=127.0.0.1 \
         "SERVER_PORT=${HOSTPORT##*:}" SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 CONTENT_TYPE=text/x-t \
         CONTENT_LENGTH=3 HTTP_X_FOO=bar "HTTP_HOST=$HOSTPORT" REMOTE_ADDR=127.0.0.1 X_MATCHED_ROUTE=/app/... \
         "X_FULL_URL=$URL/app/v/env?a=1&b=%20x" ELASTOS_CAPSULE_NAME=webtest; do
    check 'grep -qxF -- "$v" "$WORK/body"'
done
check '! grep -q "^HTTP_CONTENT_" "$WORK/body"'
cp "$WORK/body" "$WORK/env1"
check '[ "$(code /app/env -H "Proxy: http://evil:1/")" = 200 ]'   # httpoxy: no HTTP_PROXY
check '! grep -q "^HTTP_X_FOO=" "$WORK/body"'                     # the last request's header is gone
check '! grep -q "^HTTP_PROXY=" "$WORK/body"'
check '! grep -qE "^(HOME|PATH|ELASTOS_HOME|USER)=" "$WORK/body"' # nothing of the host
check 'grep -qx REQUEST_METHOD=GET "$WORK/body"'
check '[ "$(grep -c ^ELASTOS_CAPSULE_ID= "$WORK/env1")" = 1 ]'
check '[ "$(grep ^ELASTOS_CAPSULE_ID= "$WORK/env1")" != "$(grep ^ELASTOS_CAPSULE_ID= "$WORK/body")" ]'
# Cross-site requests that may change state are 403 (CSRF from another page in the browser);
# the same from this front's own origin, a plain GET from anywhere, or a client naming no site pass.
check '[ "$(code /app/echo -X POST --data-binary x -H "Origin: http://evil.example")" = 403 ]'
check '[ "$(code /app/echo -X POST --data-binary x -H "Origin: null")" = 403 ]'
check '[ "$(code /app/echo -X POST --data-binary x -H "Sec-Fetch-Site: cross-site")" = 403 ]'
check '[ "$(code /app/echo -X POST --data-binary x -H "Sec-Fetch-Site: same-site")" = 403 ]'
check '[ "$(code /app/echo -X PUT --data-binary x -H "Origin: http://127.0.0.1:1")" = 403 ]'
check '[ "$(code /app/echo -X POST --data-binary x -H "Origin: http://$HOSTPORT" -H "Sec-Fetch-Site: same-origin")" = 200 ]'
check '[ "$(code /app/hello -H "Origin: http://evil.example" -H "Sec-Fetch-Site: cross-site")" = 200 ]'

# The body on stdin, byte for byte.
head -c 300000 /dev/urandom >"$WORK/blob"
check '[ "$(code /app/echo --data-binary @"$WORK/blob" -H "Content-Type: application/x-blob")" = 200 ]'
check 'cmp -s "$WORK/blob" "$WORK/body"'
contains "$WORK/head" "X-Length: 300000"
# Keep-alive: two requests on one connection.
curl -s "$URL/app/hello" "$URL/app/hello" >"$WORK/two" 2>"$WORK/two.err"
check '[ "$(grep -c "hello from webtest" "$WORK/two")" = 2 ]'
# Concurrent requests.
pids=()
for i in $(seq 1 8); do curl -s -o "$WORK/par$i" -w '%{http_code}' "$URL/app/hello" >"$WORK/parc$i" & pids+=($!); done
wait "${pids[@]}"
for i in $(seq 1 8); do check '[ "$(cat "$WORK/parc$i")" = 200 ]'; done

# Unrouted paths: 404. A crash: 502; a limit: 503; a non-zero exit: 502; none tells why.
check '[ "$(code /nothing/here)" = 404 ]'
check '[ "$(code /)" = 404 ]'
check '[ "$(code /app)" = 404 ]'    # the prefix without its slash: the capsule runs, mode "app" unknown
check '[ "$(code /app/crash)" = 502 ]'
lacks "$WORK/body" "secret internals"
lacks "$WORK/body" "unreachable"
check '[ "$(code /app/spin)" = 503 ]'
lacks "$WORK/body" "limit"
check '[ "$(code /app/exit3)" = 502 ]'
lacks "$WORK/body" "fine"
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" "kill"

# What the capsule answers is parsed strictly: header injection and hop-by-hop fields refused.
for m in inject-cr inject-lf badstatus nohead hop bighead; do
    check '[ "$(code /app/$m)" = 502 ]'
    lacks "$WORK/head" "Set-Cookie"
    lacks "$WORK/head" "Transfer-Encoding"
done
contains "$WORK/serve.log" "elastos-gateway: /app/inject-cr: the capsule's answer is refused: a header value holds a control character"
check '[ "$(code /app/bigbody)" = 200 ]'
check '[ "$(wc -c <"$WORK/body")" = 4194304 ]'

# Host must be the bound address (DNS rebinding).
check '[ "$(code /app/hello -H "Host: evil.example")" = 421 ]'
check '[ "$(code /app/hello -H "Host: 127.0.0.1:1")" = 421 ]'
check '[ "$(code /app/hello -H "Host: localhost:${HOSTPORT##*:}")" = 200 ]'
# Not on port 80: the port-less forms are someone else's front (they are port 80's).
check '[ "$(code /app/hello -H "Host: ${HOSTPORT%:*}")" = 421 ]'
check '[ "$(code /app/hello -H "Host: localhost")" = 421 ]'
raw 'b"GET /app/hello HTTP/1.0\r\n\r\n"' >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 421"'
# Two Host fields: 400 whichever comes first (routing on the first let the second through).
raw "b\"GET /app/hello HTTP/1.1\\r\\nHost: $HOSTPORT\\r\\nHost: evil.example\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 400"'
raw "b\"GET /app/hello HTTP/1.1\\r\\nHost: $HOSTPORT\\r\\nHost: $HOSTPORT\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 400"'
# The client's CRLF tricks: a bare CR in a header value, a folded line, no request of its own.
raw "b\"GET /app/env HTTP/1.1\\r\\nHost: $HOSTPORT\\r\\nX-A: a\\rX-B: b\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 400"'
lacks "$WORK/r" "HTTP_X_B"
raw "b\"GET /app/env HTTP/1.1\\r\\nHost: $HOSTPORT\\r\\nX-A: a\\r\\n b\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -qE "^HTTP/1.1 (400|200)" && ! grep -q "^HTTP_X_A=a.*b" "$WORK/r" || head -1 "$WORK/r" | grep -q "^HTTP/1.1 400"'
raw "b\"GET http://$HOSTPORT/app/hello HTTP/1.1\\r\\nHost: $HOSTPORT\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 400"'

# Traversal and ambiguous paths: 400 before any route is looked up.
for p in /app/../secret /app/./hello /app/%2e%2e/x /app%2fhello /app/a%00b /app/%zz /app/x%2F..%2Fy; do
    check '[ "$(code "$p" --path-as-is)" = 400 ]'
done

# Oversize: a body over 512 KiB (413, with or without Content-Length), headers over 32 KiB (431).
# A body of exactly 512 KiB still runs (its base64 fits the daemon's 1 MiB request line).
head -c 524288 /dev/urandom >"$WORK/max"
check '[ "$(code /app/echo --data-binary @"$WORK/max")" = 200 ]'
head -c 524289 /dev/zero >"$WORK/big"
check '[ "$(code /app/echo --data-binary @"$WORK/big")" = 413 ]'
head -c 900000 /dev/zero >"$WORK/big"
check '[ "$(code /app/echo --data-binary @"$WORK/big")" = 413 ]'
head -c 1100000 /dev/zero >"$WORK/big"
check '[ "$(code /app/echo --data-binary @"$WORK/big")" = 413 ]'
check '[ "$(code /app/echo --data-binary @"$WORK/big" -H "Transfer-Encoding: chunked")" = 413 ]'
check '[ "$(code /app/hello -H "X-Big: $(head -c 40000 /dev/zero | tr "\0" a)")" = 431 ]'

# Slowloris: clients that never finish their headers are cut off (10 s bound; waited up to 60 s),
# and others are served meanwhile.
python3 - "$HOSTPORT" >"$WORK/slow" 2>&1 <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = []
for i in range(8):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET /app/hello HTTP/1.1\r\nHost: " + sys.argv[1].encode() + b"\r\n")
    socks.append(s)
start = time.monotonic()
closed = set()
while len(closed) < len(socks) and time.monotonic() - start < 60:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            s.sendall(b"X")          # one byte of a header every half second: never an end
            s.settimeout(0.05)
            if s.recv(1) == b"":
                closed.add(i)
        except socket.timeout:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.5)
print("closed", len(closed), "of", len(socks))
PY
SLOW=$!
# Meanwhile, a body trickled a byte a second after complete headers (each byte resets the 10 s of
# silence; the headers' deadline is over): cut off once its 30 s are up (BODY_DEADLINE_MS), long
# before the 100 bytes it announced are in (waited up to 75 bytes).
python3 - "$HOSTPORT" >"$WORK/trickle" 2>&1 <<'PY' &
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /app/echo HTTP/1.1\r\nHost: " + sys.argv[1].encode() +
          b"\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n")
sent, got, end = 0, b"", "not cut"
while sent < 75:
    try:
        s.sendall(b"x")
        sent += 1
        s.settimeout(1.0)
        b = s.recv(4096)               # a second a byte: whatever the gateway does meanwhile
        if b == b"":
            end = "cut"
            break
        got += b
        if got.startswith(b"HTTP/1.1 408"):
            end = "cut"
            break
        if got:
            end = "answered"
            break
    except socket.timeout:
        pass
    except OSError:
        end = "cut"
        break
print(end, "after", sent, "bytes:", got[:40])
PY
TRICKLE=$!
sleep 1
check '[ "$(code /app/hello)" = 200 ]'
wait $SLOW
contains "$WORK/slow" "closed 8 of 8"
check '[ "$(code /app/echo --data-binary "not held up")" = 200 ]' # bodies that do come are served
wait $TRICKLE
check 'grep -q "^cut after" "$WORK/trickle"'
grep -q "^cut after" "$WORK/trickle" || cat "$WORK/trickle" >&2 # what the client saw instead

# A routed capsule gets only its route's grants: /app/ has none, /granted/ storage read/write.
check '[ "$(code /app/read)" = 403 ]'
contains "$WORK/body" "denied"
check '[ "$(code /granted/write --data-binary "kept by a route")" = 200 ]'
check '[ "$(code /granted/read)" = 200 ]'
check '[ "$(cat "$WORK/body")" = "kept by a route" ]'
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" "operator_grant"
expect 0 "$E" audit verify

# Routes take effect at once; a gateway that dies is restarted.
expect 0 "$E" route remove /app/
check '[ "$(code /app/hello)" = 404 ]'
kill -9 "$GW"
for _ in $(seq 1 200); do
    NGW=$(gateway_pid)
    [ -n "$NGW" ] && [ "$NGW" != "$GW" ] && [ "$(code /granted/read)" = 200 ] && break
    sleep 0.1
done
check '[ -n "$NGW" ] && [ "$NGW" != "$GW" ]'
check '[ "$(code /granted/read)" = 200 ]'
contains "$WORK/serve.log" "restarting it"

# The gateway's connections to the daemon take op http alone, and no other client may use it.
printf '%s\n' '{"op":"http","method":"GET","path":"/granted/read","remote":"x"}' >"$WORK/req"
check 'python3 -c "
import socket,sys,json
s=socket.socket(socket.AF_UNIX); s.connect(\"$ELASTOS_HOME/serve.sock\"); s.sendall(open(\"$WORK/req\",\"rb\").read())
r=json.loads(s.makefile().readline()); assert r[\"ok\"] is False and r[\"code\"]==77, r"'

# A route by name had its type checked at `route add`; a newer capsule of that name that is a VM
# capsule is not launched for requests (a clear failure, no launch record), the route stays.
D="$WORK/webvm"; cp -r "$B/capsules/vmprobe.stage" "$D"
sed -i 's/"name": "vmprobe"/"name": "webtest"/; s/"version": "1.0.0"/"version": "9.0.0"/' "$D/capsule.json"
"$E" pack "$D" --key "$B/keys/publisher.key" -o "$WORK/webvm.capsule" >/dev/null 2>&1 || bad "pack webtest 9 (vm)"
"$E" install "$WORK/webvm.capsule" >/dev/null 2>&1 || bad "install webtest 9 (vm)"
L0=$("$E" audit show | grep -c " launch capsule=webtest ")
check '[ "$(code /granted/read)" = 502 ]'
check '[ "$("$E" audit show | grep -c " launch capsule=webtest ")" = "$L0" ]'
contains "$WORK/serve.log" "now resolves to a vm capsule, not wasm"

stop_web
check '[ "$DRC" = 0 ]'
check '! kill -0 "$NGW" 2>/dev/null'
finish
