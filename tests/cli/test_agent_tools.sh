#!/usr/bin/env bash
# Agent tools (docs/agent-capsules.md, "Tools"): in a real `elastos serve` daemon, the doc-agent
# capsule consults the wordcount-tool capsule by message, each with its own token, and gives the
# tool's answer to the model (tests/tools/ai_server.py). Without its message token the agent is
# denied (audited), and a send with no token or a token for another capsule is refused; the tool
# cannot answer without its own token; a tool that is not running is not_found.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
AG=$B/capsules/doc-agent.capsule
TOOL=$B/capsules/wordcount-tool.capsule
CT=$B/capsules/captest.capsule
BID=$(pub_id "$B/keys")   # capsules are addressed NAME@PUBLISHER_ID (docs/serve.md); all three are the build's
KEY=sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
audit_has() { "$E" audit show >"$WORK/audit" 2>&1; if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }

python3 "$ELASTOS_SRC_DIR/tests/tools/ai_server.py" "$WORK/port" "$WORK/ai.log" "$KEY" 300 & srv=$!
trap 'kill $srv 2>/dev/null; if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; fi; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
ai_bind "$(cat "$WORK/port")" "$KEY"

DCID=$("$E" install "$B/capsules/md-doc.capsule" 2>/dev/null)
DOC=elastos://cid/$DCID/guide.md
S=localhost://storage/memory.txt
G=(--grant "elastos://ai/chat:execute" --grant "$DOC:read" --grant "$S:read" --grant "$S:write")
# What wc says about the document: the tool must say the same.
WC="lines=$(wc -l <"$ELASTOS_SRC_DIR/capsules/md-doc/guide.md") words=$(wc -w <"$ELASTOS_SRC_DIR/capsules/md-doc/guide.md") bytes=$(wc -c <"$ELASTOS_SRC_DIR/capsules/md-doc/guide.md")"

wait_exit() { for _ in $(seq 1 500); do [ "$(ps_field "$1" state)" = exited ] && return 0; sleep 0.02; done; bad "$1 still running"; }
# detached ARGS...: runs a capsule in the daemon to its exit; its log in $WORK/log, exit in $RC.
detached() {
    local id
    id=$("$E" run --detach "$@" </dev/null) || { bad "launch $*"; RC=; return; }
    wait_exit "$id"
    RC=$(ps_field "$id" exit_code)
    "$E" logs "$id" >"$WORK/log"
}
ready() { for _ in $(seq 1 200); do "$E" logs "$1" >"$WORK/tlog"; grep -q "wordcount-tool: ready" "$WORK/tlog" && return 0; sleep 0.02; done; bad "tool not ready"; }

start_daemon

# --- the tool answers the agent, each through its own token ---------------------------------------
T1=$("$E" run --detach "$TOOL" --grant "elastos://capsule/doc-agent:message" -- 120) || bad "launch tool"
ready "$T1"
detached "$AG" "${G[@]}" --grant "elastos://capsule/wordcount-tool:message" -- ask --tool wordcount-tool "$DOC" "How many words are there?"
check '[ "$RC" = 0 ]'
contains "$WORK/log" "tool wordcount-tool: $WC"
contains "$WORK/log" "answer: From the document: $WC (earlier questions: 0)"
"$E" logs "$T1" >"$WORK/tlog"
contains "$WORK/tlog" "wordcount-tool: answered doc-agent@$BID: $WC"
# The model got the tool's result after the document.
python3 - "$WORK/ai.log" "$WC" >"$WORK/py" 2>&1 <<'PY'
import json, sys
b = json.loads(open(sys.argv[1]).readlines()[-1])["body"]
sysmsg = b["messages"][0]["content"]
assert "--- document ---\n# ElastOS data capsules" in sysmsg, sysmsg[:200]
assert sysmsg.endswith("\n--- tool wordcount-tool, given the document ---\n%s\n" % sys.argv[2]), sysmsg[-200:]
PY
if [ $? = 0 ]; then ok; else bad "the model did not get the tool's result: $(cat "$WORK/py")"; fi
audit_has "use capsule=doc-agent" "resource=elastos://capsule/wordcount-tool@$BID action=message"
audit_has "use capsule=wordcount-tool" "resource=elastos://capsule/doc-agent@$BID action=message"

# --- without its message token, the agent is denied (audited) and nothing reaches the tool --------
n_ai=$(wc -l <"$WORK/ai.log")
detached "$AG" "${G[@]}" -- ask --tool wordcount-tool "$DOC" "How many words are there?"
check '[ "$RC" = 1 ]'
contains "$WORK/log" "doc-agent: no token to message the tool wordcount-tool"
contains "$WORK/log" "(denied)"
audit_has "deny capsule=doc-agent" "resource=elastos://capsule/wordcount-tool@$BID action=message"
check '[ "$(wc -l <"$WORK/ai.log")" = "$n_ai" ]'
# A send with no token, or with a token for another capsule, is refused at the send (audited).
detached "$CT" -- send wordcount-tool "one two"
contains "$WORK/log" "send: error invalid_token"
detached "$CT" --grant "elastos://capsule/other:message" -- req elastos://capsule/other message send wordcount-tool "one two"
contains "$WORK/log" "req: ok"
contains "$WORK/log" "send: error denied"
audit_has "deny capsule=captest" "resource=elastos://capsule/wordcount-tool@$BID action=message"
"$E" logs "$T1" >"$WORK/tlog"
check '[ "$(grep -c "answered" "$WORK/tlog")" = 1 ]'                      # still only the first
check '[ "$(ps_field "$T1" state)" = running ]'

# --- "quit" ends the tool ---------------------------------------------------------------------------
detached "$CT" --grant "elastos://capsule/wordcount-tool:message" -- req elastos://capsule/wordcount-tool message send wordcount-tool quit
contains "$WORK/log" "send: ok"
wait_exit "$T1"
check '[ "$(ps_field "$T1" exit_code)" = 0 ]'
"$E" logs "$T1" >"$WORK/tlog"
contains "$WORK/tlog" "wordcount-tool: quit (asked by captest@$BID)"
contains "$WORK/tlog" "wordcount-tool: done, 1 answered"

# --- a tool without its own token cannot answer: the agent waits (bounded) and gives up ------------
T2=$("$E" run --detach "$TOOL" -- 120) || bad "launch tool"
ready "$T2"
detached "$AG" "${G[@]}" --grant "elastos://capsule/wordcount-tool:message" -- ask --tool wordcount-tool "$DOC" "How many words are there?"
check '[ "$RC" = 1 ]'
contains "$WORK/log" "doc-agent: the tool wordcount-tool did not answer within 5000 ms (timeout)"
lacks "$WORK/log" "answer:"
"$E" logs "$T2" >"$WORK/tlog"
contains "$WORK/tlog" "wordcount-tool: no token to answer doc-agent"
contains "$WORK/tlog" "(denied)"
audit_has "deny capsule=wordcount-tool" "resource=elastos://capsule/doc-agent@$BID action=message"
check '[ "$(wc -l <"$WORK/ai.log")" = "$n_ai" ]'                          # the model was not asked
expect 0 "$E" stop "$T2"

# --- a tool that is not running: not_found ----------------------------------------------------------
detached "$AG" "${G[@]}" --grant "elastos://capsule/wordcount-tool:message" -- ask --tool wordcount-tool "$DOC" "How many words are there?"
check '[ "$RC" = 1 ]'
contains "$WORK/log" "doc-agent: cannot reach the tool wordcount-tool"
contains "$WORK/log" "(not_found)"
# Under standalone run there is no other capsule either.
expect 1 "$E" run "${G[@]}" --grant "elastos://capsule/wordcount-tool:message" "$AG" -- ask --tool wordcount-tool "$DOC" "How many words?" </dev/null
contains "$WORK/err" "(not_found)"

# --- the tool's lifetime is bounded; usage errors ---------------------------------------------------
detached "$TOOL" -- 1
check '[ "$RC" = 0 ]'
contains "$WORK/log" "wordcount-tool: done, 0 answered"
detached "$TOOL" -- 0
check '[ "$RC" = 2 ]'
expect 2 "$E" run "$AG" -- ask --tool </dev/null
contains "$WORK/err" "usage: doc-agent ask [--tool NAME]..."

stop_daemon
check '[ "$DRC" = 0 ]'
expect 0 "$E" audit verify
finish
