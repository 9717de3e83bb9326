#!/usr/bin/env bash
# The capability enforcement matrix (SPEC section 6), with real capsules: every refusal is both
# denied to the capsule and present in the audit log; the positive paths work; the shell is
# consulted exactly when it should be; `audit verify` catches tampering in a copy of this log.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=${CAPTEST:-$B/capsules/captest.capsule}      # CAPTEST: the same operations in another SDK (go-captest)
CTSTAGE=${CT%.capsule}.stage
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
S=localhost://storage
run() { "$E" run "$@" </dev/null; }
line() { grep "^$1: " "$WORK/out" | sed -n "${2:-1}p"; }
# (No grep -q after a pipe: its early exit would SIGPIPE the first grep, which pipefail reports.)
audit_has() { "$E" audit show >"$WORK/audit" 2>&1; if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }
GRANT=(--grant "$S/*:read" --grant "$S/*:write" --grant "$S/*:delete")

# --- shell: the default one denies without a terminal or a policy --------------------------------
expect 0 run "$CT" -- req "$S/a.txt" write
check '[[ "$(line req)" == "req: error denied shell: no policy rule matches"* ]]'
audit_has "deny" "shell: no policy rule matches"
audit_has "request" "$S/a.txt"

# --- no token -------------------------------------------------------------------------------------
expect 0 run "$CT" -- read "$S/a.txt"
check '[[ "$(line read)" == "read: error invalid_token"* ]]'
audit_has "deny" "cannot decode"

# --- positive: operator grants, storage round trip across two runs ----------------------------------
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" write write "$S/notes/today.txt" "written in run one"
check '[ "$(line write)" = "write: ok" ]'
audit_has "operator_grant" "$S/*"
audit_has "grant" "covered by an operator"
audit_has "use" "$S/notes/today.txt"
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read read "$S/notes/today.txt" req "$S/*" read list "$S" list "$S/notes"
check '[ "$(line read)" = "read: ok written in run one" ]'
check '[ "$(line list 1)" = "list: ok notes/" ] && [ "$(line list 2)" = "list: ok today.txt" ]'
SD=$(echo "$ELASTOS_HOME"/storage/captest@*)     # storage/<name>@<publisher key prefix>
check '[ -f "$SD/notes/today.txt" ] && [ "$(stat -c %a "$SD")" = 700 ]'
check '[ "$(basename "$SD")" = "captest@$(sed -n "s/^ed25519:\(.\{16\}\).*/\1/p" "$B/keys/publisher.pub")" ]'
# Plain WASI: /storage is preopened only with a storage grant.
expect 0 run "${GRANT[@]}" "$CT" -- fs;  check '[ "$(line fs)" = "fs: ok" ]'
expect 0 run "$CT" -- fs;  check '[ "$(line fs)" = "fs: error no /storage" ]'
# --grant outside the manifest is refused up front.
expect 64 run --grant "localhost://secrets/*:read" "$CT" -- ping; expect_err_line
expect 64 run --grant "$S/*:admin" "$CT" -- ping; expect_err_line
expect 64 run --grant "nonsense" "$CT" -- ping; expect_err_line

# --- storage quota (manifest storage_mb 1), counted on every write of a run ------------------------
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/*" write writebig "$S/q1" 400 writebig "$S/q2" 400 writebig "$S/q3" 400 \
    req "$S/*" delete delete "$S/q1" delete "$S/q2"
check '[ "$(grep -c "^writebig: ok" "$WORK/out")" = 2 ] && [[ "$(line writebig 3)" == "writebig: error limit"* ]]'
check '[ ! -e "$SD/q3" ]'
# A path deeper than the quota walk counts is refused outright.
deep=$(printf 'd/%.0s' $(seq 40))
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/*" write write "$S/${deep}f" x
check '[[ "$(line write)" == "write: error bad_request"*"deeper"* ]]'
# Plain WASI writes to /storage count against the quota too: over it, the capsule is killed (137,
# one line, audited); under it, nothing happens.
expect 137 run "${GRANT[@]}" "$CT" -- fsfill 4096; expect_err_line
contains "$WORK/err" "storage quota of 1 MiB exceeded"
audit_has "kill" "storage quota"
rm -f "$SD/fsfill.bin"
expect 0 run "${GRANT[@]}" "$CT" -- fsfill 256; check '[ "$(line fsfill)" = "fsfill: ok 256 KiB" ]'
rm -f "$SD/fsfill.bin"
# WASI /storage is mounted read-only unless write and delete are both granted; never write-only.
expect 0 run --grant "$S/*:write" "$CT" -- fs;  check '[ "$(line fs)" = "fs: error no /storage" ]'

# --- wrong action -----------------------------------------------------------------------------------
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read write "$S/notes/today.txt" x delete "$S/notes/today.txt"
check '[[ "$(line write)" == "write: error denied"* ]] && [[ "$(line delete)" == "delete: error denied"* ]]'
audit_has "deny" "action"
check '[ "$(cat "$SD/notes/today.txt")" = "written in run one" ]'

# --- forged tokens: every character of a real token changed in turn ---------------------------------
n_before=$(refusal_count deny "invalid token")
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read forge "$S/notes/today.txt"
check '[[ "$(line forge)" =~ ^forge:\ ok\ 0\ of\ ([0-9]+)\ accepted$ ]]'
len=$(line forge | sed -n 's/.* of \([0-9]*\) accepted/\1/p')
check "[ ${len:-0} -gt 100 ]"
n_after=$(refusal_count deny "invalid token")
check "[ $((n_after - n_before)) -ge ${len:-1} ]"

# --- another capsule's token ---------------------------------------------------------------------
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read printtoken
tok=$(line token | sed 's/^token: //')
check '[ ${#tok} -gt 100 ]'
expect 0 run "$CT" -- settoken "$tok" read "$S/notes/today.txt"        # another instance
check '[[ "$(line read)" == "read: error denied"* ]]'
audit_has "deny" "another capsule"
cp -r "$CTSTAGE" "$WORK/other"
sed -i 's/"name": "captest"/"name": "othercap"/' "$WORK/other/capsule.json"
"$E" pack "$WORK/other" --key "$B/keys/publisher.key" -o "$WORK/other.capsule" >/dev/null 2>&1 || bad "pack othercap"
expect 0 run "$WORK/other.capsule" -- settoken "$tok" read "$S/notes/today.txt"   # another capsule
check '[[ "$(line read)" == "read: error denied"* ]]'
check '[ -z "$(ls "$ELASTOS_HOME"/storage/othercap@*/notes 2>/dev/null)" ]'
# The same name from another publisher gets storage of its own, not captest's.
"$E" keygen --out "$WORK/k2" >/dev/null 2>&1; "$E" trust add "$WORK/k2/publisher.pub" >/dev/null 2>&1
"$E" pack "$CTSTAGE" --key "$WORK/k2/publisher.key" -o "$WORK/impostor.capsule" >/dev/null 2>&1 || bad "pack impostor"
expect 0 run "${GRANT[@]}" "$WORK/impostor.capsule" -- req "$S/notes/today.txt" read read "$S/notes/today.txt"
check '[[ "$(line read)" == "read: error not_found"* ]]'
check '[ "$(ls -d "$ELASTOS_HOME"/storage/captest@* | wc -l)" = 2 ]'

# --- resource escapes -----------------------------------------------------------------------------
expect 0 run --grant "$S/*:read" --grant "$S/*:write" "$CT" -- req "$S/ab/x" write write "$S/ab/x" data \
    req "$S/ab/*" read read "$S/ab/x" read "$S/a" read "$S/abc" read "$S/ab/../x" read "$S/ab/./x" \
    read "$S/ab//x" read "$S/ab/%2e%2e/x" read "$S/ab/..%2fx" read "$S/ab\\x" read "localhost://storageX/ab/x" read "$S/../captest/ab/x"
check '[ "$(line read 1)" = "read: ok data" ]'
for k in 2 3; do check "[[ \"\$(line read $k)\" == 'read: error denied'* ]]"; done
for k in 4 5 6 7 8 9 10 11; do check "[[ \"\$(line read $k)\" == 'read: error '* ]] && [[ \"\$(line read $k)\" != 'read: ok'* ]]"; done
check '[ "$(grep -c "^read: ok" "$WORK/out")" = 1 ]'
audit_has "deny" "$S/abc"
audit_has "deny" "bad storage path"
# A request for a pattern broader than the manifest is outside it; whole segments only.
expect 0 run "$CT" -- req "localhost://*" read req "localhost://storageX/y" read
check '[ "$(grep -c "^req: error" "$WORK/out")" = 2 ]'

# --- outside the manifest: denied, audited, and the shell is never consulted ----------------------------
ts=$WORK/home/shell
"$E" install "$B/capsules/testshell.capsule" >"$WORK/tscid" 2>/dev/null || bad "install testshell"
mkdir -p "$ELASTOS_HOME/config"; cp "$WORK/tscid" "$ELASTOS_HOME/config/shell"     # replace the shell, by CID
echo run >"$ts/answer"
expect 0 run "$CT" -- req "localhost://secrets/key" read req "elastos://net/example.org:443" read
check '[ "$(grep -c "^req: error denied" "$WORK/out")" = 2 ]'
check '[ ! -e "$ts/calls" ]'
audit_has "deny" "outside the manifest"

# --- shell decisions: once, run, always, deny ----------------------------------------------------------
echo once >"$ts/answer"
expect 0 run "$CT" -- req "$S/once.txt" write write "$S/once.txt" 1 write "$S/once.txt" 2
check '[ "$(line req)" != "" ] && [[ "$(line req)" == "req: ok"* ]]'
check '[ "$(line write 1)" = "write: ok" ] && [[ "$(line write 2)" == "write: error limit"* ]]'
check '[ "$(wc -l <"$ts/calls")" = 1 ]'
audit_has "grant" "shell: grant once"
echo run >"$ts/answer"
expect 0 run "$CT" -- req "$S/run.txt" write req "$S/run.txt" write write "$S/run.txt" r
check '[ "$(grep -c "^req: ok" "$WORK/out")" = 2 ] && [ "$(line write)" = "write: ok" ]'
check '[ "$(wc -l <"$ts/calls")" = 2 ]'                  # the second request was covered by the run grant
expect 0 run "$CT" -- req "$S/run.txt" write                # but a new run asks again
check '[ "$(wc -l <"$ts/calls")" = 3 ]'
expect 0 run "$CT" -- req "$S/rc.txt" write 2 req "$S/rc.txt" write 2 req "$S/rc.txt" write   # dropping a limit asks again
check '[ "$(wc -l <"$ts/calls")" = 5 ]'
echo deny >"$ts/answer"
expect 0 run "$CT" -- req "$S/no.txt" write
check '[[ "$(line req)" == "req: error denied shell: testshell says no" ]]'
audit_has "deny" "testshell says no"
rm "$ELASTOS_HOME/config/shell"                             # back to the default shell

# --- persistent policy (the default shell's policy file) ---------------------------------------------
printf '# test policy\nallow captest localhost://storage/pol/* read,write\ndeny * localhost://storage/* *\n' >"$ts/policy"
expect 0 run "$CT" -- req "$S/pol/a" write write "$S/pol/a" p req "$S/pol/a" read read "$S/pol/a" req "$S/x" read
check '[ "$(line write)" = "write: ok" ] && [ "$(line read)" = "read: ok p" ]'
check '[[ "$(line req 3)" == "req: error denied shell: policy line 3: deny" ]]'
# NAME@PUBLISHER matches that publisher's capsule only: the impostor (same name, another trusted
# publisher) is not covered by captest@<build key>, while a bare name covers both.
printf 'allow captest@%s localhost://storage/pol/* read\n' "$(cat "$B/keys/publisher.pub")" >"$ts/policy"
expect 0 run "$CT" -- req "$S/pol/a" read
check '[[ "$(line req)" == "req: ok"* ]]'
expect 0 run "$WORK/impostor.capsule" -- req "$S/pol/a" read
check '[[ "$(line req)" == "req: error denied"* ]]'
printf 'allow captest localhost://storage/pol/* read\n' >"$ts/policy"
expect 0 run "$WORK/impostor.capsule" -- req "$S/pol/a" read
check '[[ "$(line req)" == "req: ok"* ]]'
printf 'allow captest\n' >"$ts/policy"
expect 0 run "$CT" -- req "$S/pol/a" read
check '[[ "$(line req)" == *"policy line 1 is malformed"* ]]'          # fail closed
rm "$ts/policy"

# --- expiry, max_uses ----------------------------------------------------------------------------------
# expiry_secs 2 expires at the second of issue + 2: valid for more than 1 s, whatever the
# fraction of the second it was issued in (docs/protocol.md), and surely expired 3.1 s later.
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read 0 2 read "$S/notes/today.txt" sleep 3100 read "$S/notes/today.txt"
check '[[ "$(line read 1)" == "read: ok"* ]] && [[ "$(line read 2)" == "read: error expired"* ]]'
audit_has "deny" "expired"
expect 0 run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read 3 repeat 5 read "$S/notes/today.txt"
check '[ "$(line repeat)" = "repeat: ok 3 of 5" ]'
audit_has "deny" "use"

# --- revocation and epoch bump while the capsule runs -------------------------------------------------
# The capsule reads once, then waits on its stdin (a fifo) until the revocation is done: ordered,
# not timed, so a slow machine cannot let the second read run first.
for how in revoke epoch; do
    rm -f "$WORK/gate"; mkfifo "$WORK/gate"
    "$E" run "${GRANT[@]}" "$CT" -- req "$S/notes/today.txt" read read "$S/notes/today.txt" readin read "$S/notes/today.txt" \
        <"$WORK/gate" >"$WORK/bg.out" 2>&1 &
    pid=$!
    exec 3>"$WORK/gate"
    for _ in $(seq 600); do grep -q "^read: " "$WORK/bg.out" && break; sleep 0.1; done
    tid=$(sed -n 's/^req: ok //p' "$WORK/bg.out")
    if [ $how = revoke ]; then expect 0 "$E" tokens revoke "$tid"; else expect 0 "$E" epoch bump; fi
    echo go >&3; exec 3>&-
    wait $pid
    check "grep -q '^read: ok' '$WORK/bg.out' && grep -q '^read: error revoked' '$WORK/bg.out'"
done
audit_has "revoke" "revoked by operator"
audit_has "epoch_bump" ""
# ...and they survive a restart of the runtime: listed as revoked by a fresh process.
"$E" tokens list --all >"$WORK/tokens" 2>&1
check "grep -F '$tid' '$WORK/tokens' | grep revoked >/dev/null"

# --- content by CID from the local store, verified against its CID --------------------------------
hcid=$("$E" install "$B/capsules/hello.capsule" 2>/dev/null)
check '[ -n "$hcid" ]'
hsize=$(stat -c %s "$B/capsules/hello.capsule")
expect 0 run --grant "elastos://cid/*:read" "$CT" -- req "elastos://cid/$hcid" read fetch "elastos://cid/$hcid" \
    req "elastos://cid/*" read fetch "elastos://cid/$hcid/capsule.json" fetch "elastos://cid/$hcid/nope" \
    fetch "elastos://cid/bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq" fetch "elastos://cid/$hcid/../x"
check '[ "$(line fetch 1)" = "fetch: ok $hsize bytes" ]'
check '[ "$(line fetch 2)" = "fetch: ok $(stat -c %s "$B/capsules/hello.stage/capsule.json") bytes" ]'
check '[[ "$(line fetch 3)" == "fetch: error not_found"* ]] && [[ "$(line fetch 4)" == "fetch: error not_found"* ]]'
check '[[ "$(line fetch 5)" == "fetch: error bad_request"* ]]'
expect 0 run --grant "elastos://cid/*:read" "$CT" -- req "elastos://cid/bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq" read fetch "elastos://cid/$hcid"
check '[[ "$(line fetch)" == "fetch: error denied"* ]]'                 # a token for another CID
# Stored bytes that no longer match their CID are refused, not served.
chmod u+w "$ELASTOS_HOME/store/$hcid.capsule"; printf 'X' | dd of="$ELASTOS_HOME/store/$hcid.capsule" bs=1 seek=600 conv=notrunc 2>/dev/null
expect 0 run --grant "elastos://cid/*:read" "$CT" -- req "elastos://cid/*" read fetch "elastos://cid/$hcid"
check '[[ "$(line fetch)" == "fetch: error denied"* ]]'
audit_has "use" "elastos://cid/$hcid"

# --- malformed protocol messages: an error response, never a crash ------------------------------------
expect 0 run "$CT" -- raw 'not json' raw '{"id":1}' raw '{"id":1,"request":{"type":"warp"}}' \
    raw '{"id":1,"request":{"type":"ping","x":1}}' raw '{"id":5,"request":{"type":"ping"}}' raw '{"id":2,"request":{"type":"ping"}}'
check '[ "$(grep -c "\"code\":\"bad_request\"" "$WORK/out")" = 5 ]'
check 'grep -q "\"response\":{\"type\":\"pong\"}" "$WORK/out"'

# --- the audit chain of all of the above verifies; tampering with a copy is caught ------------------
expect 0 "$E" audit verify
n=$("$E" audit show --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "[ $n -gt 100 ]"
for sql in "UPDATE audit SET decision='grant' WHERE seq=7" "DELETE FROM audit WHERE seq=9" \
           "UPDATE audit SET seq=-1 WHERE seq=5; UPDATE audit SET seq=5 WHERE seq=6; UPDATE audit SET seq=6 WHERE seq=-1" \
           "DELETE FROM audit WHERE seq=(SELECT max(seq) FROM audit)"; do
    rm -rf "$WORK/copy"; cp -r "$ELASTOS_HOME" "$WORK/copy"
    sqlite3 "$WORK/copy/state.db" "$sql" || bad "sqlite3 $sql"
    ELASTOS_HOME=$WORK/copy expect 65 "$E" audit verify; expect_err_line
done
finish
