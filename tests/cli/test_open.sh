#!/usr/bin/env bash
# Data capsules (SPEC section 7, elastos open): the Markdown document capsule opens in md-viewer
# (plain, ANSI, HTML), the viewer holds one read token for exactly that file, revoked when it
# exits; its attempt to read anything else is denied and audited; hostile documents can't drive
# the terminal or inject markup; the exit codes of a missing, untrusted or wrong-typed viewer.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
DOC=$B/capsules/md-doc.capsule
MV=$B/capsules/md-viewer.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
audit_has() { "$E" audit show >"$WORK/audit" 2>&1; if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }
# No escape byte left once the SGR sequences (ESC [ digits ; m) are removed.
only_sgr() { python3 -c 'import re,sys; d=open(sys.argv[1],"rb").read(); sys.exit(b"\x1b" in re.sub(rb"\x1b\[[0-9;]*m", b"", d) or b"\x07" in d or b"\x9b" in d)' "$1"; }

# --- no viewer installed yet: 66 -----------------------------------------------------------------
expect 66 "$E" open "$DOC"; expect_err_line
contains "$WORK/err" "md-viewer@^1.0.0"

# --- open FILE: the rendered document on stdout (plain: stdout is not a terminal) ---------------
VCID=$("$E" install "$MV" 2>/dev/null)
expect 0 "$E" open "$DOC"
cp "$WORK/out" "$WORK/plain"
contains "$WORK/plain" "ElastOS data capsules"
check '[ "$(sed -n 2p "$WORK/plain")" = "=====================" ]'
contains "$WORK/plain" "1. Read this document, through its token."
contains "$WORK/plain" "3. Nothing else: no files, no network, no other content."
contains "$WORK/plain" "- Tokens are signed by the runtime"
contains "$WORK/plain" "  - including the denied ones"
contains "$WORK/plain" "> The runtime makes no policy decisions. It verifies, isolates, and enforces."
contains "$WORK/plain" "    elastos open elastos-guide.capsule -- --html > guide.html"
contains "$WORK/plain" "the ElastOS project <https://elastos.io>"
contains "$WORK/plain" "Emphasis, strong, both, and a code span close this page."
lacks "$WORK/plain" "**"
check '! grep -q $'"'"'\x1b'"'"' "$WORK/plain"'
# open CID: the data capsule is now in the store under its CID
DCID=$("$E" cid "$DOC")
check '[ -f "$ELASTOS_HOME/store/$DCID.capsule" ]'
expect 0 "$E" open "$DCID"
check 'cmp -s "$WORK/out" "$WORK/plain"'

# --- ANSI styles with --color (forced: the test's stdout is not a terminal) ---------------------
expect 0 "$E" open "$DCID" -- --color
contains "$WORK/out" $'\e[1;4;35mElastOS data capsules\e[0m'
contains "$WORK/out" $'\e[3mviewer\e[0m'
contains "$WORK/out" $'\e[1mdata capsule\e[0m'
contains "$WORK/out" $'\e[36mmd-viewer\e[0m'
contains "$WORK/out" $'\e[4;34mthe ElastOS project\e[0m'
check 'only_sgr "$WORK/out"'

# --- --html: a whole page, escaped ------------------------------------------------------------------
expect 0 "$E" open "$DCID" -- --html
cp "$WORK/out" "$WORK/page.html"
contains "$WORK/page.html" "<!DOCTYPE html>"
contains "$WORK/page.html" "<title>ElastOS data capsules</title>"
contains "$WORK/page.html" "<h1>ElastOS data capsules</h1>"
contains "$WORK/page.html" '<a href="https://elastos.io">the ElastOS project</a>'
contains "$WORK/page.html" "Characters such as &lt;, &gt; and &amp; are text"
contains "$WORK/page.html" '<pre><code class="language-sh">elastos open elastos-guide.capsule'
contains "$WORK/page.html" "<li>including the denied ones"
contains "$WORK/page.html" "<strong><em>both</em></strong>"
# Well-formed: every element opened is closed in order (void elements aside).
cat >"$WORK/tags.py" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.tags = set(); self.bad = []
    def handle_starttag(self, t, a):
        self.tags.add(t)
        if t not in ("meta", "hr", "br", "img"): self.stack.append(t)
        for k, v in a:
            if k.startswith("on") or (k in ("href", "src") and v and v.split(":")[0].lower() in ("javascript", "data", "vbscript")): self.bad.append((t, k, v))
    def handle_endtag(self, t):
        if not self.stack or self.stack.pop() != t: self.bad.append(("unbalanced", t))
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
allowed = {"html","head","meta","title","style","body","h1","h2","h3","h4","h5","h6","p","em","strong","code","pre","a","img","ul","ol","li","blockquote","hr","br"}
print("tags:", " ".join(sorted(p.tags)))
sys.exit(1 if p.stack or p.bad or p.tags - allowed else 0)
PY
check 'python3 "$WORK/tags.py" "$WORK/page.html" >/dev/null'

# --- the token: one, for exactly the opened file, revoked when the viewer exited -------------------
URI="elastos://cid/$DCID/guide.md"
"$E" tokens list --all >"$WORK/tokens" 2>&1
check '[ "$(grep -c "resource=$URI " "$WORK/tokens")" = 4 ]'                   # one per open above
check '[ "$(grep "resource=$URI " "$WORK/tokens" | grep -c " revoked$")" = 4 ]'
check '[ "$(grep -c "resource=elastos://cid/" "$WORK/tokens")" = 4 ]'          # and no other
tid=$(grep "resource=$URI " "$WORK/tokens" | head -1 | cut -d' ' -f1)
audit_has "grant" "token=$tid"
audit_has "use" "token=$tid"
audit_has "revoke" "token=$tid"
audit_has "revoke" "the viewer exited"
"$E" audit show >"$WORK/audit" 2>&1
check '[ "$(grep "token=$tid" "$WORK/audit" | cut -d" " -f3 | tr "\n" " ")" = "grant use revoke " ]'

# --- the viewer reading anything else: denied, audited ---------------------------------------------
HCID=$("$E" install "$B/capsules/hello.capsule" 2>/dev/null)
expect 1 "$E" open "$DCID" -- --uri "elastos://cid/$HCID"
contains "$WORK/err" "cannot read elastos://cid/$HCID: denied"
lacks "$WORK/out" "hello"
audit_has "deny" "elastos://cid/$HCID"
expect 1 "$E" open "$DCID" -- --uri "elastos://cid/$DCID/capsule.json"        # another file of the same capsule
contains "$WORK/err" "denied"
audit_has "deny" "elastos://cid/$DCID/capsule.json"
expect 1 "$E" open "$DCID" -- --uri "elastos://cid/$DCID"                      # the whole artifact
contains "$WORK/err" "denied"
"$E" tokens list --all >"$WORK/tokens" 2>&1
check '! grep -q " active$" "$WORK/tokens"'

# --- the token is active exactly while the viewer runs (captest as a viewer, by CID) ---------------
CCID=$("$E" install "$B/capsules/captest.capsule" 2>/dev/null)
mkdir -p "$WORK/ct" && cp "$ELASTOS_SRC_DIR/capsules/md-doc/guide.md" "$WORK/ct/"
printf '{"name":"ctdoc","version":"1.0.0","type":"data","entry":"guide.md","viewer":"%s"}' "$CCID" >"$WORK/ct/capsule.json"
"$E" pack "$WORK/ct" --key "$B/keys/publisher.key" -o "$WORK/ct.capsule" >/dev/null 2>&1 || bad "pack ctdoc"
CTCID=$("$E" cid "$WORK/ct.capsule")
"$E" open "$WORK/ct.capsule" -- envtoken fetch "elastos://cid/$CTCID/guide.md" sleep 1500 fetch "elastos://cid/$CTCID/guide.md" \
    fetch "elastos://cid/$HCID" </dev/null >"$WORK/bg.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "^fetch: " "$WORK/bg.out" && break; sleep 0.05; done
"$E" tokens list >"$WORK/tokens.during" 2>&1
wait $pid; check "[ $? = 0 ]"
"$E" tokens list --all >"$WORK/tokens.after" 2>&1
check '[ "$(grep -c "^envtoken: ok elastos://cid/$CTCID/guide.md$" "$WORK/bg.out")" = 1 ]'
check '[ "$(grep -c "^fetch: ok $(stat -c %s "$WORK/ct/guide.md") bytes" "$WORK/bg.out")" = 2 ]'
check 'grep -q "^fetch: error denied" "$WORK/bg.out"'                             # another CID with the open token
check '[ "$(grep "resource=elastos://cid/$CTCID/guide.md " "$WORK/tokens.during" | grep -c " active$")" = 1 ]'
check '[ "$(grep "resource=elastos://cid/$CTCID/guide.md " "$WORK/tokens.after" | grep -c " revoked$")" = 1 ]'

# --- md-viewer alone renders stdin; hostile documents -------------------------------------------------
printf '# T\n\n<script>alert(1)</script> "q" & '"'"'a'"'"'\n\n[x](javascript:alert(1)) [y](JaVaScRiPt:alert(2)) ![i](data:text/html,x) [ok](/rel?a=1&b=2 "t")\n\nesc: \033]0;pwned\007 \033[2J c1: \302\233 bad: \377\376 nul-free\n\n```"><script>x\n</code></pre><script>alert(3)</script>\n```\n\n> > > > > > > > > > > > > > > > > > > > deep\n' >"$WORK/hostile.md"
expect 0 "$E" run "$MV" -- --html <"$WORK/hostile.md"
cp "$WORK/out" "$WORK/hostile.html"
check 'python3 "$WORK/tags.py" "$WORK/hostile.html" >/dev/null'
lacks "$WORK/hostile.html" "<script"
lacks "$WORK/hostile.html" "javascript:"
contains "$WORK/hostile.html" "&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp; &#39;a&#39;"
contains "$WORK/hostile.html" '<a href="/rel?a=1&amp;b=2">ok</a>'
contains "$WORK/hostile.html" '<img src="" alt="i">'
for mode in --plain --color; do
    expect 0 "$E" run "$MV" -- $mode <"$WORK/hostile.md"
    check 'only_sgr "$WORK/out"'
    contains "$WORK/out" "esc: �]0;pwned� �[2J c1: � bad: ��"
done

# --- exit codes --------------------------------------------------------------------------------------
expect 64 "$E" open; expect_err_line
expect 65 "$E" open "$B/capsules/hello.capsule"; expect_err_line                 # not a data capsule
contains "$WORK/err" "not a data capsule"
mkdir -p "$WORK/nov" && cp "$ELASTOS_SRC_DIR/capsules/md-doc/guide.md" "$WORK/nov/"
printf '{"name":"nov","version":"1.0.0","type":"data","entry":"guide.md"}' >"$WORK/nov/capsule.json"
expect 65 "$E" pack "$WORK/nov" --key "$B/keys/publisher.key" -o "$WORK/nov.capsule"; expect_err_line   # a data capsule needs a viewer
contains "$WORK/err" "viewer"
mkpack() { # mkpack NAME VIEWER [KEY]: a data capsule in $WORK/NAME.capsule
    mkdir -p "$WORK/$1" && cp "$ELASTOS_SRC_DIR/capsules/md-doc/guide.md" "$WORK/$1/"
    printf '{"name":"%s","version":"1.0.0","type":"data","entry":"guide.md","viewer":"%s"}' "$1" "$2" >"$WORK/$1/capsule.json"
    "$E" pack "$WORK/$1" --key "${3:-$B/keys/publisher.key}" -o "$WORK/$1.capsule" >/dev/null 2>&1 || bad "pack $1"
}
mkpack pinned "$VCID"                                          # viewer pinned by CID
expect 0 "$E" open "$WORK/pinned.capsule"
contains "$WORK/out" "ElastOS data capsules"
mkpack missing bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq
expect 66 "$E" open "$WORK/missing.capsule"; expect_err_line
mkpack noname "no-such-viewer@^2.0.0"
expect 66 "$E" open "$WORK/noname.capsule"; expect_err_line
mkpack dataview "$DCID"                                        # a viewer that is a data capsule
expect 65 "$E" open "$WORK/dataview.capsule"; expect_err_line
contains "$WORK/err" "must be a wasm capsule"
"$E" keygen --out "$WORK/k2" >/dev/null 2>&1
mkpack stranger md-viewer@^1.0.0 "$WORK/k2/publisher.key"       # data capsule from an unknown publisher
expect 77 "$E" open "$WORK/stranger.capsule"; expect_err_line
cp "$DOC" "$WORK/tampered.capsule"; printf 'X' | dd of="$WORK/tampered.capsule" bs=1 seek=700 conv=notrunc 2>/dev/null
expect 77 "$E" open "$WORK/tampered.capsule"; expect_err_line
# A viewer pinned by CID whose publisher is no longer trusted: 77, nothing runs.
"$E" trust add "$WORK/k2/publisher.pub" --name k2 >/dev/null 2>&1
"$E" pack "$B/capsules/md-viewer.stage" --key "$WORK/k2/publisher.key" -o "$WORK/mv2.capsule" >/dev/null 2>&1
V2=$("$E" install "$WORK/mv2.capsule" 2>/dev/null)
mkpack pinned2 "$V2"
expect 0 "$E" open "$WORK/pinned2.capsule"
"$E" trust remove "$(cat "$WORK/k2/publisher.pub")" >/dev/null 2>&1
expect 77 "$E" open "$WORK/pinned2.capsule"; expect_err_line
check '[ ! -s "$WORK/out" ]'

# --- a viewer pinned by CID and not installed is fetched from $ELASTOS_GATEWAYS (verified) ----------
rm -rf "$WORK/gw" && mkdir -p "$WORK/gw/ipfs"
"$E" rm "$VCID" >/dev/null 2>&1 || bad "rm viewer"
expect 66 "$E" open "$WORK/pinned.capsule"
cp "$MV" "$WORK/gw/ipfs/$VCID"
cat >"$WORK/gw.py" <<'PY'
import http.server, os, sys, threading
root = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        p = os.path.join(root, self.path.split("?")[0].lstrip("/"))
        if "format=raw" not in self.path or not os.path.isfile(p):
            self.send_response(404); self.end_headers(); return
        d = open(p, "rb").read()
        self.send_response(200); self.send_header("Content-Length", str(len(d))); self.end_headers(); self.wfile.write(d)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
threading.Timer(120, s.shutdown).start(); s.serve_forever()
PY
python3 "$WORK/gw.py" "$WORK/gw" "$WORK/gw.port" & gwpid=$!
for _ in $(seq 50); do [ -s "$WORK/gw.port" ] && break; sleep 0.1; done
ELASTOS_GATEWAYS=http://127.0.0.1:$(cat "$WORK/gw.port") no_proxy=127.0.0.1 expect 0 "$E" open "$WORK/pinned.capsule"
contains "$WORK/out" "ElastOS data capsules"
check '[ -f "$ELASTOS_HOME/store/$VCID.capsule" ]'
kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null

expect 0 "$E" audit verify
finish
