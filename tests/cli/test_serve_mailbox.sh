#!/usr/bin/env bash
# Mailboxes are bounded in bytes and charged to senders (issue 12, finding 8): a capsule that
# sends 256 messages of 760 KiB to a capsule that never reads them is refused (code "limit",
# with the reason) after a few MiB, and the daemon's memory stays bounded; the bytes are charged
# to the sender (it cannot go on filling another mailbox), freed when the recipient exits, and
# other capsules' messages still go through.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"; }
MSG='elastos://capsule/*:message'
HOARD=$(variant hoard '') HOARD2=$(variant hoard2 '') SENDER=$(variant sender '') INBOX=$(variant inbox '')

start_daemon || { finish; exit 1; }
H=$("$E" run --detach "$HOARD" -- idle) || bad "launch hoard"     # never reads its messages
H2=$("$E" run --detach "$HOARD2" -- idle) || bad "launch hoard2"
IB=$("$E" run --detach "$INBOX" --grant "$MSG" -- sink) || bad "launch inbox"
sleep 0.3
before=$(rss_kb)
S1=$("$E" run --detach "$SENDER" --grant "$MSG" -- blast hoard 256 760 hoard2); wait_exit "$S1"
"$E" logs "$S1" >"$WORK/s1"
contains "$WORK/s1" "blast: refused after"
contains "$WORK/s1" ": limit this capsule's undelivered messages would exceed 4096 KiB"
sent=$(sed -n 's/^blast: sent //p' "$WORK/s1")
check '[ -n "$sent" ] && [ "$sent" -ge 1 ] && [ "$sent" -le 8 ]'
after=$(rss_kb)
echo "daemon RSS: $before KiB before, $after KiB after $sent queued messages"
if [ "$ASAN" = 0 ]; then check '[ $((after - before)) -lt 40000 ]'; fi
# Charged to the sender: while its messages sit unread, it cannot fill another mailbox either.
contains "$WORK/s1" "blast: then hoard2: limit this capsule's undelivered messages"
# The recipient's own bound: another sender finds hoard's mailbox full.
S2=$("$E" run --detach "$SENDER" --grant "$MSG" -- blast hoard 1 760); wait_exit "$S2"
"$E" logs "$S2" >"$WORK/s2"
contains "$WORK/s2" ": limit the mailbox of hoard@"
# ... while its messages to another recipient go through.
S3=$("$E" run --detach "$SENDER" --grant "$MSG" -- blast hoard2 3 760); wait_exit "$S3"
"$E" logs "$S3" >"$WORK/s3"; contains "$WORK/s3" "blast: sent 3"
# Messages that are read free their charge at once.
S4=$("$E" run --detach "$SENDER" --grant "$MSG" -- blast inbox 2 1); wait_exit "$S4"
"$E" logs "$S4" >"$WORK/s4"; contains "$WORK/s4" "blast: sent 2"
T=$("$E" run --detach "$SENDER" --grant "$MSG" -- tell inbox small); wait_exit "$T"
"$E" logs "$T" >"$WORK/out"; contains "$WORK/out" "tell: ok"
sleep 0.2
"$E" logs "$IB" >"$WORK/inbox"; contains "$WORK/inbox" "got small from sender@"

# The recipient exits: its queued messages are freed, and its successor starts empty.
expect 0 "$E" stop "$H"
H3=$("$E" run --detach "$HOARD" -- idle) || bad "relaunch hoard"
sleep 0.2
S5=$("$E" run --detach "$SENDER" --grant "$MSG" -- blast hoard 2 760); wait_exit "$S5"
"$E" logs "$S5" >"$WORK/s5"; contains "$WORK/s5" "blast: sent 2"
stop_daemon
check '[ "$DRC" = 0 ]'
finish
