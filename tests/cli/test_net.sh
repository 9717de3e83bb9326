#!/usr/bin/env bash
# Network only through tokens: provider_call on elastos://net/HOST:PORT needs the manifest's
# resource_limits.network allowlist AND a token (action execute); a real TCP peer on loopback.
# In the daemon, a capsule waiting on a slow peer does not hold up the others.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

RELEASE=$WORK/release python3 - >"$WORK/port" 2>/dev/null <<'PY' &
import os, socket, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); print(s.getsockname()[1], flush=True)
def serve(c):
    d = b""
    while True:
        x = c.recv(4096)
        if not x: break
        d += x
    # "slow" is held until the test releases it (or 60 s pass): the test orders, never times.
    if d == b"slow":
        for _ in range(600):
            if os.path.exists(os.environ["RELEASE"]): break
            time.sleep(0.1)
    c.sendall(b"echo:" + d); c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PEER=$!
trap 'kill $PEER 2>/dev/null; if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; fi; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
NET=$(variant netv "s|\"max_instances\": 1000|\"max_instances\": 1000, \"network\": [\"tcp://127.0.0.1:$PORT\"]|")
b64() { printf %s "$1" | base64; }

# Allowed: in the allowlist, with a token.
expect 0 "$E" run "$NET" --grant "elastos://net/127.0.0.1:$PORT:execute" -- net "127.0.0.1:$PORT" "$(b64 hello)"
contains "$WORK/out" "net: {\"data\":\"$(b64 echo:hello)\"}"
"$E" audit show >"$WORK/audit"
check "grep -q ' use capsule=netv resource=elastos://net/127.0.0.1:$PORT action=execute' '$WORK/audit'"
# Another port: not in the allowlist, even with a token for it.
expect 1 "$E" run "$NET" --grant "elastos://net/*:execute" -- net "127.0.0.1:$((PORT == 65535 ? 1 : PORT + 1))" "$(b64 x)"
contains "$WORK/out" "net: error denied not in the capsule's resource_limits.network allowlist"
# No allowlist at all (servetest's default): denied, token or not.
expect 1 "$E" run "$ST" --grant "elastos://net/*:execute" -- net "127.0.0.1:$PORT" "$(b64 x)"
contains "$WORK/out" "resource_limits.network allowlist"
# In the allowlist but no token: the shell is asked and (no policy, no tty) denies.
expect 1 "$E" run "$NET" -- net "127.0.0.1:$PORT" "$(b64 x)"
contains "$WORK/out" "no token for elastos://net/127.0.0.1:$PORT"
# Hostile URIs are refused before anything is resolved.
NET2=$(variant netw 's|"max_instances": 1000|"max_instances": 1000, "network": ["tcp://*:*"]|')
for bad in "127.0.0.1:0" "127.0.0.1:99999" "a..b:80" "host:80/x" ":80" "127.0.0.1"; do
    expect 1 "$E" run "$NET2" --grant "elastos://net/*:execute" -- net "$bad" "$(b64 x)"
    check "grep -qE 'net: error (bad_request|denied)|no token' '$WORK/out'"
done
# Nothing listens: unavailable (not a crash).
expect 1 "$E" run "$NET2" --grant "elastos://net/*:execute" -- net "127.0.0.1:1" "$(b64 x)"
contains "$WORK/out" "net: error unavailable"

# In the daemon: a capsule waiting on a slow peer; the others keep answering meanwhile.
ASKER=$(variant asker '')
start_daemon || { finish; exit 1; }
"$E" run --detach "$ST" --grant 'elastos://capsule/*:message' -- echo >/dev/null || bad "echo"
SLOW=$("$E" run --detach "$NET" --grant "elastos://net/127.0.0.1:$PORT:execute" -- net "127.0.0.1:$PORT" "$(b64 slow)" 60000)
sleep 0.3
ask_ok servetest while-slow
check '[ "$(ps_field "$SLOW" state)" = running ]'     # answered while the slow one still waits
touch "$WORK/release"
for _ in $(seq 1 600); do [ "$(ps_field "$SLOW" state)" = exited ] && break; sleep 0.05; done
"$E" logs "$SLOW" >"$WORK/out"
contains "$WORK/out" "net: {\"data\":\"$(b64 echo:slow)\"}"
stop_daemon
check '[ "$DRC" = 0 ]'
finish
