#!/usr/bin/env bash
# `elastos policy list|add|remove|check` (issue 14): the operator's editing of the default shell's
# policy file, with the shell's own parser. What `add` writes the real shell decides with (a real
# capsule's request allowed, then denied by a --first rule); `check` gives the shell's answer and
# the deciding line; WHO and RESOURCE are percent-encoded and read back exactly; bad rules are
# refused (64) and a malformed file is never edited (65), the file unchanged byte for byte; the
# global -q and -v flags.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
S=localhost://storage
P=$ELASTOS_HOME/shell/policy
cd "$WORK"
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
PK=$(cat "$B/keys/publisher.pub")
line() { grep "^$1: " "$WORK/out" | sed -n "${2:-1}p"; }

# --- nothing yet --------------------------------------------------------------------------------
expect 0 "$E" policy list
check '[ ! -s "$WORK/out" ]'; contains "$WORK/err" "no policy file"
expect 66 "$E" policy check "$CT" "$S/a.txt" write
contains "$WORK/out" "undecided: no line of $P matches"

# --- add, list, and the real shell deciding with it ------------------------------------------------
expect 0 "$E" policy add allow "captest@$PK" "$S/pol/*" read,write
contains "$WORK/out" "added line 1: allow captest@$PK $S/pol/* read,write"
expect 0 "$E" run "$CT" -- req "$S/pol/a" write write "$S/pol/a" hello </dev/null
check '[[ "$(line req)" == "req: ok"* ]] && [ "$(line write)" = "write: ok" ]'
expect 0 "$E" policy check "$CT" "$S/pol/a" write                 # by capsule: name and publisher
contains "$WORK/out" "allow: $P line 1: allow captest@$PK $S/pol/* read,write"
expect 0 "$E" policy check "captest@$PK" "$S/pol/a" read           # by NAME@PUBLISHER
expect 66 "$E" policy check "captest@$PK" "$S/pol/a" delete
expect 66 "$E" policy check "other@$PK" "$S/pol/a" read
# --first puts a rule before the others: now the shell denies the same request.
expect 0 "$E" policy add deny '*' "$S/*" '*' --first
contains "$WORK/out" "added line 1: deny * $S/* *"
expect 0 "$E" run "$CT" -- req "$S/pol/a" write </dev/null
check '[[ "$(line req)" == "req: error denied shell: policy line 1: deny" ]]'
expect 77 "$E" policy check "$CT" "$S/pol/a" write
contains "$WORK/out" "deny: $P line 1: deny * $S/* *"
expect 0 "$E" policy list
check '[ "$(wc -l <"$WORK/out")" = 2 ]'
check 'grep -q "^   1  deny \* $S/\* \*$" "$WORK/out" && grep -q "^   2  allow captest@$PK $S/pol/\* read,write$" "$WORK/out"'
# The same rule twice is not added twice.
expect 0 "$E" policy add deny '*' "$S/*" '*'
contains "$WORK/err" "line 1 is this rule already"
check '[ "$(grep -c . "$P")" = 2 ]'
expect 0 "$E" policy remove 1
contains "$WORK/out" "removed line 1: deny * $S/* *"
expect 0 "$E" policy check "$CT" "$S/pol/a" write

# --- percent-encoding: spaces, '#', '%' and non-ASCII are written encoded and read back exactly ----
R="$S/my notes #1/caf$(printf '\xc3\xa9')/*"
expect 0 "$E" policy add allow "captest@$PK" "$R" read
check 'grep -qxF "allow captest@$PK $S/my%20notes%20%231/caf%C3%A9/* read" "$P"'
expect 0 "$E" policy list --json
check 'python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r[1][\"resource\"] == sys.argv[2], r" "$WORK/out" "$R"'
expect 0 "$E" policy check "captest@$PK" "$S/my notes #1/caf$(printf '\xc3\xa9')/x.txt" read
contains "$WORK/out" "line 2"
expect 66 "$E" policy check "captest@$PK" "$S/my notes/x.txt" read   # no longer one word short of a comment

# --- refused rules: nothing written --------------------------------------------------------------
cp "$P" "$WORK/before"
expect 64 "$E" policy add allow 'bad who' '*' read;          expect_err_line; contains "$WORK/err" "WHO must be"
expect 64 "$E" policy add allow "x@ed25519:abc" '*' read;    expect_err_line; contains "$WORK/err" "64 lowercase hex"
expect 64 "$E" policy add allow '*' 'no-scheme' read;        expect_err_line; contains "$WORK/err" "RESOURCE"
expect 64 "$E" policy add allow '*' "$S/../x" read;          expect_err_line
expect 64 "$E" policy add allow '*' '*' read,frob;           expect_err_line; contains "$WORK/err" "ACTIONS"
expect 64 "$E" policy add allow '*' '*' read,,write;         expect_err_line
expect 64 "$E" policy add maybe '*' '*' read;                expect_err_line
expect 64 "$E" policy add allow '*' '*';                     expect_err_line
expect 64 "$E" policy check "$CT" "$S/a" frob;               expect_err_line
expect 64 "$E" policy remove x;                              expect_err_line
expect 66 "$E" policy remove 99;                             expect_err_line
check 'cmp -s "$P" "$WORK/before"'
# A bare NAME is accepted (the shell reads it) with a note that it is broad.
expect 0 "$E" policy add allow captest "$S/bare/*" read
contains "$WORK/err" "ANY trusted publisher"

# --- a malformed file: the shell denies everything; policy says which line and edits nothing -------
printf 'allow captest\n' >>"$P"
cp "$P" "$WORK/before"
N=$(grep -c '' "$P")
expect 65 "$E" policy list;                                  expect_err_line; contains "$WORK/err" "policy line $N is malformed"
expect 65 "$E" policy add allow '*' '*' read;                expect_err_line
expect 65 "$E" policy remove 1;                              expect_err_line
expect 65 "$E" policy check "$CT" "$S/pol/a" read;           expect_err_line
check 'cmp -s "$P" "$WORK/before"'
expect 0 "$E" run "$CT" -- req "$S/pol/a" read </dev/null
check '[[ "$(line req)" == *"policy line $N is malformed"* ]]'
# The edit is atomic: no temporary file is left beside it.
check '[ "$(ls "$ELASTOS_HOME/shell" | grep -vc "^policy$")" = 0 ]'
rm "$P"

# --- a line the shell wrote ("always", from a terminal answer) is one `policy list` reads -------------
printf 'allow captest@%s %s/t.txt write\n' "$PK" "$S" >"$P"
expect 0 "$E" policy list
contains "$WORK/out" "   1  allow captest@$PK $S/t.txt write"

# --- -q and -v: the same meaning for every command ----------------------------------------------
expect 0 "$E" -q policy add allow '*' "$S/q/*" read
check '[ ! -s "$WORK/err" ] && grep -q "^added line" "$WORK/out"'      # the result stays, the note goes
expect 0 "$E" policy add allow captest "$S/q2/*" read --quiet
check '[ ! -s "$WORK/err" ]'
expect 0 "$E" -v policy check "$CT" "$S/q/a" read
contains "$WORK/err" "elastos: home $ELASTOS_HOME"
contains "$WORK/err" "is $CT"                                           # what CAPSULE resolved to
contains "$WORK/err" "asked as captest@$PK for read $S/q/a"
expect 0 "$E" keygen --out "$WORK/k2"
contains "$WORK/err" "wrote"
expect 0 "$E" -q keygen --out "$WORK/k3"
check '[ ! -s "$WORK/err" ] && grep -q "^ed25519:" "$WORK/out"'
expect 0 "$E" -q trust add "$WORK/k3/publisher.pub"
check '[ ! -s "$WORK/err" ]'
expect 0 "$E" -v run "$B/capsules/hello.capsule"
contains "$WORK/err" "exited 0"
expect 0 "$E" run "$B/capsules/hello.capsule" -- -v                      # after --: the capsule's
lacks "$WORK/err" "exited 0"
contains "$WORK/out" "arg[1] = -v"
expect 0 "$E" --help
contains "$WORK/out" "-q, --quiet"
finish
