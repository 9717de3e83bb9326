#!/usr/bin/env bash
# test_web_port80.sh - the HTTP front (docs/web.md) bound on port 80, and its lifetime: a browser
# sends `Host: 127.0.0.1` (no port) for http://127.0.0.1/, which the gateway takes there and only
# there, with the Origin check consistent with it; and a daemon killed with SIGKILL takes its
# gateway with it and leaves the port free, even when it dies while the gateway is still starting
# (between the daemon's fork and the gateway's first instruction: an elastos-gateway beside a
# hard link of elastos that waits before it execs the real one holds that moment open).
# Tests run as root, so port 80 can be bound; 127.0.0.2:80 when something holds 127.0.0.1:80.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
expect 0 "$E" install "$WT"
expect 0 "$E" route add /app/ webtest

ADDR=127.0.0.1
port_free 127.0.0.1 80 || ADDR=127.0.0.2
port_free "$ADDR" 80 || { bad "port 80 is taken on 127.0.0.1 and 127.0.0.2"; finish; exit 1; }
WEB_HTTP=$ADDR:80 start_web || { finish; exit 1; }
check '[ "$HOSTPORT" = "$ADDR:80" ]'
GW=$(gateway_pid)
check '[ -n "$GW" ]'
# The gateway holds nothing of the daemon's but fds 0-3 (/dev/null, its log, the listener): no
# descriptor of the gateway's own (its control end, libmicrohttpd's) is one the daemon has.
shared_fds() {
    local f t
    for f in /proc/$GW/fd/*; do
        case ${f##*/} in 0 | 1 | 2 | 3) continue ;; esac
        t=$(readlink "$f") || continue
        for d in /proc/$DPID/fd/*; do [ "$(readlink "$d")" = "$t" ] && echo "${f##*/}=$t"; done
    done
}
check '[ -e /proc/$GW/fd/4 ] && [ -z "$(shared_fds)" ]'

# hostcode HOST [CURL ARGS...]: the status of GET /app/hello (or as the args say) with that Host.
hostcode() { local h=$1; shift; code /app/hello -H "Host: $h" "$@"; }

# What a browser sends for http://ADDR/: the port-less Host, with the port or without.
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://$ADDR/app/hello")" = 200 ]'   # curl leaves :80 out
check '[ "$(hostcode "$ADDR")" = 200 ]'
check '[ "$(hostcode "$ADDR:80")" = 200 ]'
raw "b\"GET /app/env HTTP/1.1\\r\\nHost: $ADDR\\r\\nConnection: close\\r\\n\\r\\n\"" >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 200"'
check 'grep -qx "HTTP_HOST=$ADDR" "$WORK/r"'
if [ "$ADDR" = 127.0.0.1 ]; then
    check '[ "$(hostcode localhost)" = 200 ]'
    check '[ "$(hostcode localhost:80)" = 200 ]'
    check '[ "$(hostcode LocalHost)" = 200 ]'
else
    check '[ "$(hostcode localhost)" = 421 ]' # localhost is 127.0.0.1, not this address
fi
# Everything else is still 421: another port, another address, another name, near misses.
for h in evil.example "$ADDR:8080" "$ADDR:" "$ADDR:080" "$ADDR." 127.0.0.3 "[::1]" localhost:8080 localhost. \
         "evil.example:80" "$ADDR:80:80"; do
    check '[ "$(hostcode "$h")" = 421 ]'
done
raw 'b"GET /app/hello HTTP/1.0\r\n\r\n"' >"$WORK/r"
check 'head -1 "$WORK/r" | grep -q "^HTTP/1.1 421"'

# Origin (CSRF) with the port-less Host: a browser's Origin never says :80, whatever the Host.
post() { code /app/echo -X POST --data-binary x -H "Host: $1" -H "Origin: $2"; }
check '[ "$(post "$ADDR" "http://$ADDR")" = 200 ]'
check '[ "$(post "$ADDR:80" "http://$ADDR")" = 200 ]'
check '[ "$(post "$ADDR" "http://$ADDR:80")" = 200 ]'
check '[ "$(post "$ADDR" "http://evil.example")" = 403 ]'
check '[ "$(post "$ADDR" "http://$ADDR:8080")" = 403 ]'
check '[ "$(post "$ADDR" "null")" = 403 ]'
check '[ "$(post "$ADDR" "https://$ADDR")" = 403 ]'
if [ "$ADDR" = 127.0.0.1 ]; then
    check '[ "$(post localhost "http://localhost")" = 200 ]'
    check '[ "$(post localhost:80 "http://localhost")" = 200 ]'
    check '[ "$(post localhost "http://$ADDR")" = 403 ]'   # two origins, as the browser sees them
    check '[ "$(post "$ADDR" "http://localhost")" = 403 ]'
fi

# SIGKILL the daemon: its gateway goes too (waited up to 30 s), and port 80 is free.
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
for _ in $(seq 1 300); do gone "$GW" && break; sleep 0.1; done
check 'gone "$GW"'
for _ in $(seq 1 100); do port_free "$ADDR" 80 && break; sleep 0.1; done
check 'port_free "$ADDR" 80'
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://$ADDR/app/hello")" = 000 ]'

# The same while the gateway is starting: the daemon dies after its fork, before the gateway runs.
# The wrapper (what the daemon starts: the elastos-gateway beside elastos) records its pid, waits
# 5 s (its sleep gets none of the front's descriptors), then execs the real gateway. Killed with
# its daemon, it never gets there; a gateway started after its daemon died would never know.
mkdir -p "$WORK/bin"
ln "$E" "$WORK/bin/elastos" 2>/dev/null || cp "$E" "$WORK/bin/elastos"
cat >"$WORK/bin/elastos-gateway" <<EOF
#!/bin/sh
echo \$\$ >"$WORK/wrapped.tmp" && mv "$WORK/wrapped.tmp" "$WORK/wrapped"
/bin/sleep 5 3<&- 4<&-
exec "$B/bin/elastos-gateway" "\$@"
EOF
chmod +x "$WORK/bin/elastos-gateway"
E=$WORK/bin/elastos WEB_HTTP=$ADDR:80 start_web || { finish; exit 1; }
for _ in $(seq 1 300); do [ -s "$WORK/wrapped" ] && break; sleep 0.05; done
W=$(cat "$WORK/wrapped" 2>/dev/null)
check '[ -n "$W" ] && [ "$(awk "/^PPid:/ {print \$2}" /proc/$W/status)" = "$DPID" ]'
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
for _ in $(seq 1 300); do [ -n "$W" ] && gone "$W" && break; sleep 0.1; done
check '[ -n "$W" ] && gone "$W"'
for _ in $(seq 1 100); do port_free "$ADDR" 80 && break; sleep 0.1; done
check 'port_free "$ADDR" 80'
if [ -n "$W" ] && ! gone "$W"; then kill -9 "$W"; fi # the failure's leftover: the orphan gateway
finish
