#!/usr/bin/env bash
# Messaging binds names to publishers (issue 12, finding 6): two trusted publishers each run a
# capsule named "tool". A message to "tool" reaches only the sender's own publisher's tool, not
# the other publisher's that started first; `from` is the sender's address NAME@PUBLISHER_ID, so
# a same-named capsule of another publisher cannot pass for the sender; elastos://capsule/
# resources in grants, tokens and the audit carry the publisher, and a bare-name grant covers
# only the grantee's own publisher.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

"$E" keygen --out "$WORK/okeys" >/dev/null 2>&1 || bad "keygen"
"$E" trust add "$WORK/okeys/publisher.pub" --name other >/dev/null 2>&1 || bad "trust other"
BID=$(pub_id "$B/keys") OID=$(pub_id "$WORK/okeys")
check '[[ "$BID" =~ ^[0-9a-f]{16}$ ]] && [[ "$OID" =~ ^[0-9a-f]{16}$ ]] && [ "$BID" != "$OID" ]'

EVIL=$(variant_by "$WORK/okeys" evil-tool tool '')       # the other publisher's "tool"
TOOL=$(variant_by "$B/keys" good-tool tool '')           # ours
ASKER=$(variant asker '')                                # ours
MALLORY=$(variant_by "$WORK/okeys" mallory asker '')     # the other publisher's "asker"
INBOX=$(variant inbox '')                                # ours

start_daemon || { finish; exit 1; }
MSG='elastos://capsule/*:message'
# The other publisher's tool starts first, then ours.
EV=$("$E" run --detach "$EVIL" --grant "$MSG" -- sink) || bad "launch evil"
sleep 0.3
GT=$("$E" run --detach "$TOOL" --grant "$MSG" -- echo) || bad "launch tool"
sleep 0.3
check '[ "$(ps_field "$EV" address)" = "tool@$OID" ] && [ "$(ps_field "$GT" address)" = "tool@$BID" ]'

# "tool" from our asker: our tool answers; the other publisher's never sees it.
A1=$("$E" run --detach "$ASKER" --grant "$MSG" -- ask tool for-ours); wait_exit "$A1"
check '[ "$(ps_field "$A1" exit_code)" = 0 ]'
"$E" logs "$A1" >"$WORK/out"; contains "$WORK/out" "reply: for-ours"
"$E" logs "$EV" >"$WORK/evil"; lacks "$WORK/evil" "for-ours"
# Explicitly addressed, the other publisher's tool is reachable (its address names it).
A2=$("$E" run --detach "$ASKER" --grant "$MSG" -- tell "tool@$OID" to-theirs); wait_exit "$A2"
"$E" logs "$A2" >"$WORK/out"; contains "$WORK/out" "tell: ok"
sleep 0.2
"$E" logs "$EV" >"$WORK/evil"; contains "$WORK/evil" "got to-theirs from asker@$BID"

# from is the address: the other publisher's "asker" is told apart from ours.
IB=$("$E" run --detach "$INBOX" --grant "$MSG" -- sink) || bad "launch inbox"
sleep 0.2
M1=$("$E" run --detach "$MALLORY" --grant "$MSG" -- tell "inbox@$BID" spoofed); wait_exit "$M1"
A3=$("$E" run --detach "$ASKER" --grant "$MSG" -- tell inbox genuine); wait_exit "$A3"
sleep 0.2
"$E" logs "$IB" >"$WORK/inbox"
contains "$WORK/inbox" "got spoofed from asker@$OID"
contains "$WORK/inbox" "got genuine from asker@$BID"
check '! grep -qx "got .* from asker" "$WORK/inbox"'
# A bare name is the sender's own publisher's: the other publisher has no "inbox" running.
M2=$("$E" run --detach "$MALLORY" --grant "$MSG" -- tell inbox bare); wait_exit "$M2"
"$E" logs "$M2" >"$WORK/out"; contains "$WORK/out" "tell: not_found"
# A bare-name grant covers only the grantee's publisher: granted elastos://capsule/inbox, the other
# publisher's capsule may not message our inbox (the shell is asked, and denies: no tty).
M3=$("$E" run --detach "$MALLORY" --grant 'elastos://capsule/inbox:message' -- tell "inbox@$BID" sneaky); wait_exit "$M3"
"$E" logs "$M3" >"$WORK/out"; contains "$WORK/out" "tell: denied"
sleep 0.2
"$E" logs "$IB" >"$WORK/inbox"; lacks "$WORK/inbox" "sneaky"
# ... while ours, with the same grant, may.
A4=$("$E" run --detach "$ASKER" --grant 'elastos://capsule/inbox:message' -- tell inbox granted); wait_exit "$A4"
"$E" logs "$A4" >"$WORK/out"; contains "$WORK/out" "tell: ok"
# A capsule learns its own address from get_runtime_info.
AD=$("$E" run --detach "$MALLORY" -- addr); wait_exit "$AD"
"$E" logs "$AD" >"$WORK/out"; contains "$WORK/out" "addr: asker@$OID"

# Tokens and the audit name the publisher.
"$E" audit show >"$WORK/audit"
contains "$WORK/audit" "elastos://capsule/inbox@$BID"
contains "$WORK/audit" "elastos://capsule/tool@$BID"
"$E" tokens list --all >"$WORK/tokens"
contains "$WORK/tokens" "elastos://capsule/tool@$BID"
stop_daemon
check '[ "$DRC" = 0 ]'
finish
