#!/usr/bin/env bash
# elastos epoch bump, tokens list|revoke, audit show [--json]|verify: output, exit codes, the
# records written by operator actions, and tampering with a copy of the state detected by
# `audit verify` (exit 65, one line naming the first bad record).
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { bad "the sqlite3 command-line tool is needed"; finish; exit; }
DB=$ELASTOS_HOME/state.db
T0=$(date +%s%3N)

# An empty log verifies; show prints nothing (or an empty JSON array).
expect 0 "$E" audit verify
check '[ "$(cat "$WORK/out")" = "audit: 0 records, chain intact" ]'
expect 0 "$E" audit show
check '[ ! -s "$WORK/out" ] && [ ! -s "$WORK/err" ]'
expect 0 "$E" audit show --json
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d != [])" "$WORK/out"'
expect 0 "$E" tokens list --all
check '[ ! -s "$WORK/out" ]'

# Epoch bumps print increasing epochs.
expect 0 "$E" epoch bump
e1=$(cat "$WORK/out")
expect 0 "$E" epoch bump
e2=$(cat "$WORK/out")
check '[[ "$e1" =~ ^[0-9]+$ ]] && [[ "$e2" =~ ^[0-9]+$ ]] && [ "$e1" -ge 2 ] && [ "$e2" = $((e1 + 1)) ]'
check '[ "$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = '"'epoch'"'")" = "$e2" ]'

# Token ids: exactly 32 lowercase hex characters.
for id in abc 0123456789ABCDEF0123456789abcdef 0123456789abcdef0123456789abcde \
          0123456789abcdef0123456789abcdef0 0123456789abcdef0123456789abcdeg "" " 0123456789abcdef0123456789abcde"; do
    expect 64 "$E" tokens revoke "$id"; expect_err_line
done
expect 64 "$E" tokens revoke; expect_err_line
expect 64 "$E" tokens revoke 0123456789abcdef0123456789abcdef extra; expect_err_line
check '[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit")" = 2 ]'   # refusals wrote nothing

# Revoking an id this host never issued is allowed (and audited).
GHOST=0123456789abcdef0123456789abcdef
expect 0 "$E" tokens revoke "$GHOST"

# Tokens as token.c records them (written here directly: issuing needs a capsule session):
# active, expired, used up, from an old epoch; listed newest first with their state.
now=$(date +%s)
H=00112233445566778899aabbccddeeff
sqlite3 "$DB" "INSERT INTO tokens(id, holder, capsule, publisher, resource, action, epoch, issued_at, expiry, max_uses, uses) VALUES
  ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '$H', 'notes', 'ed25519:00', 'localhost://storage/notes/*', 1, $e2, $now, 0, 0, 4),
  ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '$H', 'notes', 'ed25519:00', 'localhost://storage/b', 2, $e2, $((now - 1)), $((now - 60)), 0, 0),
  ('cccccccccccccccccccccccccccccccc', '$H', 'mail', 'ed25519:00', 'localhost://storage/c', 1, $e2, $((now - 2)), $((now + 3600)), 3, 3),
  ('dddddddddddddddddddddddddddddddd', '$H', 'old', 'ed25519:00', 'localhost://storage/d', 1, $e1 - 1, $((now - 3)), 0, 0, 0);" || bad "insert tokens"
expect 0 "$E" tokens list --all
check '[ "$(wc -l <"$WORK/out")" = 4 ]'
check '[ "$(cut -c1-32 "$WORK/out" | tr -d "\n")" = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbccccccccccccccccccccccccccccccccdddddddddddddddddddddddddddddddd ]'
# uses: recorded uses - the audit log's use records for a token without a use limit (none for
# this inserted row, whatever its uses column says), the runtime's counter for a limited one.
contains "$WORK/out" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa capsule=notes resource=localhost://storage/notes/* action=read uses=0/unlimited expires=never active"
check 'grep "^bbbb" "$WORK/out" | grep " action=write .* expired$" >/dev/null'
check 'grep "^cccc" "$WORK/out" | grep -E " uses=3/3 expires=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z used-up$" >/dev/null'
check 'grep "^dddd" "$WORK/out" | grep " revoked$" >/dev/null'

# Revoking a listed token: it shows as revoked, and the record names what was revoked.
expect 0 "$E" tokens revoke aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
expect 0 "$E" tokens list --all
check 'grep "^aaaa" "$WORK/out" | grep " revoked$" >/dev/null'
check '[ "$(grep -c " active$" "$WORK/out")" = 0 ]'
T1=$(date +%s%3N)

# audit show: the two bumps and the two revocations, in order, one line each.
expect 0 "$E" audit show
check '[ "$(wc -l <"$WORK/out")" = 4 ]'
check '[ "$(cut -d" " -f1,3 "$WORK/out" | tr "\n" ,)" = "1 epoch_bump,2 epoch_bump,3 revoke,4 revoke," ]'
check 'grep -qE "^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z " "$WORK/out"'
contains "$WORK/out" "reason=\"epoch bumped to $e1 by operator"
contains "$WORK/out" "reason=\"epoch bumped to $e2 by operator"
contains "$WORK/out" "revoke capsule=- resource=- action=- reason=\"revoked by operator\" token=$GHOST"
contains "$WORK/out" "revoke capsule=notes resource=localhost://storage/notes/* action=read reason=\"revoked by operator\" token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

# audit show --json: valid JSON, the same records, times within the test's run.
expect 0 "$E" audit show --json
python3 -m json.tool "$WORK/out" >/dev/null && ok || bad "audit show --json is not JSON"
check 'python3 - "$WORK/out" "$T0" "$T1" "$GHOST" <<EOF
import json, sys
d = json.load(open(sys.argv[1])); t0, t1 = int(sys.argv[2]), int(sys.argv[3])
assert isinstance(d, list) and len(d) == 4, d
assert [r["seq"] for r in d] == [1, 2, 3, 4]
assert [r["decision"] for r in d] == ["epoch_bump", "epoch_bump", "revoke", "revoke"]
assert [r["token_id"] for r in d] == ["", "", sys.argv[4], "a" * 32]
assert d[3]["capsule"] == "notes" and d[3]["capsule_id"] == "$H" and d[3]["action"] == "read"
assert all(t0 <= r["ts_ms"] <= t1 for r in d), (t0, t1, [r["ts_ms"] for r in d])
assert all(r["time"].endswith("Z") and r["time"][:4].isdigit() for r in d)
EOF'

expect 0 "$E" audit verify
check '[ "$(cat "$WORK/out")" = "audit: 4 records, chain intact" ]'

# Tampering, on copies of the whole home: verify fails with 65 and one line naming the record.
cp -r "$ELASTOS_HOME" "$WORK/copy"
sqlite3 "$WORK/copy/state.db" "UPDATE audit SET reason = 'nothing happened' WHERE seq = 3" || bad "tamper"
ELASTOS_HOME=$WORK/copy expect 65 "$E" audit verify; expect_err_line
contains "$WORK/err" "elastos: audit record 3: "
check '[ ! -s "$WORK/out" ]'
# show still shows it; a newline forged into a field cannot forge a line.
sqlite3 "$WORK/copy/state.db" "UPDATE audit SET capsule = 'x' || char(10) || '5 2030-01-01T00:00:00.000Z grant', reason = 'a' || char(10) || 'b' WHERE seq = 1"
ELASTOS_HOME=$WORK/copy expect 0 "$E" audit show
check '[ "$(wc -l <"$WORK/out")" = 4 ]'
contains "$WORK/out" 'capsule=x\x0a5\x202030-01-01T00:00:00.000Z\x20grant resource=- action=- reason="a\x0ab" token=-'
ELASTOS_HOME=$WORK/copy expect 0 "$E" audit show --json
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[0][\"capsule\"].startswith(\"x\n5 \")" "$WORK/out"'
ELASTOS_HOME=$WORK/copy expect 65 "$E" audit verify; expect_err_line
contains "$WORK/err" "elastos: audit record 1: "

cp -r "$ELASTOS_HOME" "$WORK/copy2"
sqlite3 "$WORK/copy2/state.db" "DELETE FROM audit WHERE seq = 4"
ELASTOS_HOME=$WORK/copy2 expect 65 "$E" audit verify; expect_err_line
contains "$WORK/err" "elastos: audit record 4: "
contains "$WORK/err" "newest records deleted"

cp -r "$ELASTOS_HOME" "$WORK/copy3"
sqlite3 "$WORK/copy3/state.db" "DELETE FROM audit WHERE seq = 2"
ELASTOS_HOME=$WORK/copy3 expect 65 "$E" audit verify; expect_err_line
contains "$WORK/err" "elastos: audit record 2: missing"

# The original is untouched and keeps appending.
expect 0 "$E" audit verify
check '[ "$(cat "$WORK/out")" = "audit: 4 records, chain intact" ]'
expect 0 "$E" epoch bump
expect 0 "$E" audit verify
check '[ "$(cat "$WORK/out")" = "audit: 5 records, chain intact" ]'

# Usage errors and help.
expect 64 "$E" audit; expect_err_line
expect 64 "$E" audit frob; expect_err_line
expect 64 "$E" audit verify extra; expect_err_line
expect 64 "$E" audit show --yaml; expect_err_line
expect 64 "$E" tokens; expect_err_line
expect 64 "$E" tokens list extra; expect_err_line
expect 64 "$E" tokens frob; expect_err_line
expect 64 "$E" epoch; expect_err_line
expect 64 "$E" epoch reset; expect_err_line
expect 64 "$E" epoch bump extra; expect_err_line
check '[ "$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = '"'epoch'"'")" = $((e2 + 1)) ]'
expect 0 "$E" audit --help; contains "$WORK/out" "usage: elastos audit show [--json] | verify"
expect 0 "$E" tokens --help; contains "$WORK/out" "usage: elastos tokens list [--json] [--all] | revoke ID"
expect 0 "$E" epoch --help; contains "$WORK/out" "usage: elastos epoch bump"
expect 0 "$E" --help
for c in "audit show [--json] | verify [--json]" "tokens list [--json] [--all] | revoke ID" "epoch bump"; do contains "$WORK/out" "elastos $c"; done
finish
