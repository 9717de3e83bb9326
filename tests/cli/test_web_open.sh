#!/usr/bin/env bash
# test_web_open.sh - `elastos open DOC --browser` (docs/web.md): the page fetched with curl from the
# printed one-time loopback URL equals md-viewer's --html output, carries a CSP that forbids
# scripts and remote loads, works once, checks Host; with xdg-open on PATH, that opens it.
. "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
DOC=$B/capsules/md-doc.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
expect 0 "$E" install "$B/capsules/md-viewer.capsule"
expect 0 "$E" open "$DOC" -- --html
cp "$WORK/out" "$WORK/want.html"
check 'grep -q "<html" "$WORK/want.html"'

# open_bg [ARGS...]: elastos open DOC --browser in the background (OPID); waits for the URL.
open_bg() {
    : >"$WORK/o.out"
    "$E" open "$DOC" --browser "$@" >"$WORK/o.out" 2>"$WORK/o.err" &
    OPID=$!
    for _ in $(seq 1 600); do grep -q '^http://' "$WORK/o.out" && break; sleep 0.05; done
    U=$(grep -m1 '^http://' "$WORK/o.out")
    HP=${U#http://}; HP=${HP%%/*}
}
open_bg
check '[[ "$U" =~ ^http://127\.0\.0\.1:[0-9]+/[0-9a-f]{32}$ ]]'
# Wrong Host, wrong path, wrong method: refused, and the page is still there.
check '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Host: evil.example" "$U")" = 421 ]'
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://$HP/")" = 404 ]'
# Another path of the same length: the last hex digit changed (it is 0 in one URL of 16).
if [ "${U: -1}" = 0 ]; then OTHER=${U%?}1; else OTHER=${U%?}0; fi
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "$OTHER")" = 404 ]'
check '[ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$U")" = 405 ]'
check '[ "$(curl -s -D "$WORK/h" -o "$WORK/got.html" -w "%{http_code}" "$U")" = 200 ]'
check 'cmp -s "$WORK/want.html" "$WORK/got.html"'
contains "$WORK/h" "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:"
lacks "$WORK/h" "script-src"
contains "$WORK/h" "Cache-Control: no-store"
contains "$WORK/h" "Content-Type: text/html; charset=utf-8"
wait "$OPID"
check '[ $? = 0 ]'
# Once: the URL is gone (nothing listens, or 404).
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "$U")" != 200 ]'

# With xdg-open on PATH, it is run (here: a stand-in that records what it was given and follows
# it). The one-time URL is a secret and a program's arguments are visible to every user (ps):
# xdg-open gets the path of a private page (0600, in a 0700 directory) that redirects to it,
# never the URL itself; the page goes when the gateway is done.
mkdir -p "$WORK/bin"
cat >"$WORK/bin/xdg-open" <<SH
#!/bin/sh
printf '%s\n' "\$*" >"$WORK/xdg.args"
stat -c %a "\$1" >"$WORK/xdg.mode"; stat -c %a "\$(dirname "\$1")" >>"$WORK/xdg.mode"
u=\$(sed -n 's/.*http-equiv="refresh" content="0;url=\([^"]*\)".*/\1/p' "\$1")
curl -s -o "$WORK/xdg.html" "\$u"
SH
chmod +x "$WORK/bin/xdg-open"
PATH="$WORK/bin:$PATH" "$E" open "$DOC" --browser >"$WORK/o2.out" 2>"$WORK/o2.err"
check '[ $? = 0 ]'
check 'cmp -s "$WORK/want.html" "$WORK/xdg.html"'
check 'grep -q "^http://127.0.0.1:" "$WORK/o2.out"'
lacks "$WORK/xdg.args" "http"
lacks "$WORK/xdg.args" "$(sed 's|.*/||' "$WORK/o2.out")"
check '[ "$(tr "\n" " " <"$WORK/xdg.mode")" = "600 700 " ]'
check '[ ! -e "$(cat "$WORK/xdg.args")" ]'
# Usage and a document that is not one.
expect 64 "$E" open --browser
expect_err_line
expect 64 "$E" open "$DOC" --browser --bogus
finish
