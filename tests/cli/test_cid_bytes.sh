#!/usr/bin/env bash
# A CID always runs its own bytes (issue 12, finding 10): an argument that parses as a CID is a
# CID - a file of that name in the current directory is not what runs, verifies, is inspected,
# installed or opened - and a store entry replaced by another (trusted, validly signed) artifact
# is refused (77, "holds other bytes") instead of running under the old CID: standalone, and in
# the daemon, whether or not it had cached the entry.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
HELLO=$B/capsules/hello.capsule

expect 0 "$E" install "$HELLO"; CID=$(cat "$WORK/out")
expect 0 "$E" install "$ST"; SCID=$(cat "$WORK/out")
check '[ -n "$CID" ] && [ -n "$SCID" ] && [ "$CID" != "$SCID" ]'

# A file named like the CID, holding another trusted artifact, in the current directory.
mkdir -p "$WORK/cwd" && cp "$ST" "$WORK/cwd/$CID"
cd "$WORK/cwd"
expect 0 "$E" run "$CID" </dev/null
contains "$WORK/out" "hello from hello"; lacks "$WORK/out" "servetest"
expect 0 "$E" verify "$CID"; contains "$WORK/out" "verified hello"
expect 0 "$E" inspect "$CID"; contains "$WORK/out" "name:        hello"
expect 0 "$E" install "$CID"; contains "$WORK/out" "$CID"
# ./CID is the file.
expect 0 "$E" verify "./$CID"; contains "$WORK/out" "verified servetest"
# A CID that is not in the store is not found (66), even with a file of that name here.
"$E" rm "$SCID" >/dev/null 2>&1
cp "$ST" "$WORK/cwd/$SCID"
expect 66 "$E" run "$SCID" </dev/null; expect_err_line
expect 66 "$E" verify "$SCID"; expect_err_line
cd "$WORK"

# The store entry replaced by another trusted artifact: refused, never run as $CID.
ENTRY=$ELASTOS_HOME/store/$CID.capsule
start_daemon || { finish; exit 1; }
D1=$("$E" run --detach "$CID" -- hello) || bad "run --detach CID"          # the daemon caches it
wait_exit "$D1"
check '[ "$(ps_field "$D1" exit_code)" = 0 ]'
cp "$ENTRY" "$WORK/hello.orig"
cp "$ST" "$ENTRY.tmp" && chmod 600 "$ENTRY.tmp" && mv "$ENTRY.tmp" "$ENTRY"
for cmd in run verify; do
    expect 77 "$E" $cmd "$CID" </dev/null; expect_err_line
    contains "$WORK/err" "holds other bytes"
done
expect 77 "$E" run --detach "$CID" -- hello; expect_err_line
contains "$WORK/err" "holds other bytes"
# In place (same inode), and with bytes the daemon has verified before under another CID.
cp "$WORK/hello.orig" "$ENTRY"
D2=$("$E" run --detach "$CID" -- hello) || bad "run --detach restored CID"
"$E" install "$ST" >/dev/null 2>&1
D3=$("$E" run --detach "$SCID" -- hello) || bad "run --detach servetest CID"   # cached under SCID
cat "$ST" >"$ENTRY"
expect 77 "$E" run --detach "$CID" -- hello; expect_err_line
contains "$WORK/err" "holds other bytes"
expect 77 "$E" run "$CID" </dev/null; expect_err_line
"$E" ps --json >"$WORK/ps"
check '! grep -q "\"cid\": *\"$CID\".*servetest" "$WORK/ps"'
stop_daemon
check '[ "$DRC" = 0 ]'
# ls notices too; rm + install repairs the entry.
expect 0 "$E" rm "$CID"
expect 0 "$E" install "$HELLO"
expect 0 "$E" run "$CID" </dev/null; contains "$WORK/out" "hello from hello"
finish
