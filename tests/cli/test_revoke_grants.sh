#!/usr/bin/env bash
# Issue 12, finding 2: revocation ends access. A running capsule whose requests are covered by an
# operator grant (--grant), a "for this run" answer, an "always" answer or an "always" policy
# line asks again after another process revoked its token (elastos tokens revoke) or bumped the
# epoch: the grant is gone, the shell is consulted again, and the drop is audited - in a
# standalone run and in elastos serve.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
CT=$B/capsules/captest.capsule
S=localhost://storage
ts=$ELASTOS_HOME/shell
mkdir -p "$ts"

# attack HOW ARGS...: captest gets a token (req), uses it, sleeps while this script revokes that
# token (HOW=revoke) or bumps the epoch (HOW=epoch) from another process, then uses the old token
# and asks again for the same capability; the transcript is left in $WORK/bg.out. With
# SERVE=1 the capsule runs in the daemon (run --detach) instead.
SCRIPT=(req "$S/r.txt" write write "$S/r.txt" one sleep 2500 write "$S/r.txt" two req "$S/r.txt" write write "$S/r.txt" three)
SERVE=0
attack() {
    local how=$1; shift
    local pid= id=
    : >"$WORK/bg.out"
    if [ $SERVE = 1 ]; then
        id=$("$E" run --detach "$@" "$CT" -- "${SCRIPT[@]}") || bad "run --detach"
    else
        "$E" run "$@" "$CT" -- "${SCRIPT[@]}" </dev/null >"$WORK/bg.out" 2>&1 &
        pid=$!
    fi
    for _ in $(seq 100); do
        if [ -n "$id" ]; then "$E" logs "$id" >"$WORK/bg.out" 2>/dev/null; fi
        grep -q "^write: " "$WORK/bg.out" && break
        sleep 0.1
    done
    local tid
    tid=$(sed -n 's/^req: ok //p' "$WORK/bg.out" | head -1)
    check '[ -n "$tid" ]'
    if [ "$how" = revoke ]; then expect 0 "$E" tokens revoke "$tid"; else expect 0 "$E" epoch bump; fi
    if [ -n "$pid" ]; then wait $pid; fi
    if [ -n "$id" ]; then
        for _ in $(seq 100); do [ "$(ps_field "$id" state)" = exited ] && break; sleep 0.1; done
        "$E" logs "$id" >"$WORK/bg.out" 2>&1
    fi
    check "grep -q '^write: error revoked' '$WORK/bg.out'"      # the old token is dead either way
}
req2() { grep '^req: ' "$WORK/bg.out" | sed -n 2p; }
calls() { if [ -f "$ts/calls" ]; then wc -l <"$ts/calls"; else echo 0; fi; }

# --- an operator grant: after the revocation the default shell (no terminal, no policy) decides ----
for how in revoke epoch; do
    attack $how --grant "$S/*:write"
    check '[[ "$(req2)" == "req: error denied shell: no policy rule matches"* ]]'
    check '[ "$(grep -c "^write: ok" "$WORK/bg.out")" = 1 ]'        # nothing written after the revocation
done
"$E" audit show >"$WORK/audit"
check 'grep " revoke " "$WORK/audit" | grep -q "grant dropped: its token [0-9a-f]* was revoked"'
check 'grep " revoke " "$WORK/audit" | grep -q "grant dropped: epoch bumped"'

# --- "for this run" and "always" answers (a replacement shell that logs each consultation) --------
"$E" install "$B/capsules/testshell.capsule" >"$WORK/tscid" 2>/dev/null || bad "install testshell"
mkdir -p "$ELASTOS_HOME/config"; cp "$WORK/tscid" "$ELASTOS_HOME/config/shell"
for answer in run always; do
    for how in revoke epoch; do
        echo $answer >"$ts/answer"
        before=$(calls)
        attack $how
        check '[[ "$(req2)" == "req: ok"* ]]'                     # the shell said yes again...
        check "[ $(($(calls) - before)) = 2 ]"                    # ...because it was asked again
    done
done
rm "$ELASTOS_HOME/config/shell"

# --- an "always" policy line of the default shell: it stays, but the shell is consulted again -----
printf 'allow captest@%s localhost://storage/* write\n' "$(cat "$B/keys/publisher.pub")" >"$ts/policy"
for how in revoke epoch; do
    attack $how
    check '[[ "$(req2)" == "req: ok"* ]]'
    tid2=$(sed -n 's/^req: ok //p' "$WORK/bg.out" | sed -n 2p)
    "$E" audit show >"$WORK/audit"
    check "grep ' grant ' '$WORK/audit' | grep '$tid2' | grep -q 'shell: grant for this run'"   # not "covered by"
done
rm "$ts/policy"

# --- the same in elastos serve: revocation by another process reaches the daemon's instance ------
start_daemon
SERVE=1
for how in revoke epoch; do
    attack $how --grant "$S/*:write"
    check '[[ "$(req2)" == "req: error denied shell: no policy rule matches"* ]]'
    check '[ "$(grep -c "^write: ok" "$WORK/bg.out")" = 1 ]'
done
stop_daemon
check '[ "$DRC" = 0 ]'
SERVE=0

# --- without a revocation the grant still covers later requests (the shell is not asked) ----------
echo run >"$ts/answer"
cp "$WORK/tscid" "$ELASTOS_HOME/config/shell"
before=$(calls)
expect 0 "$E" run "$CT" -- req "$S/r.txt" write req "$S/r.txt" write req "$S/r.txt" write
check '[ "$(grep -c "^req: ok" "$WORK/out")" = 3 ]'
check "[ $(($(calls) - before)) = 1 ]"

expect 0 "$E" audit verify
finish
