#!/usr/bin/env bash
# Agent capsules and the elastos://ai/ provider (the ai-provider capsule, bound by the operator;
# its requests go through egress), against tests/tools/ai_server.py (a minimal OpenAI-compatible
# chat-completions server on loopback): the doc-agent capsule answers a question about a document
# through its token; without the token it is denied (audited); the operator's key (egress's
# credential header) reaches the server but never a capsule, the provider included; its memory
# persists across runs; timeouts, size cap, malformed answers, HTTP errors and a bad binding map
# to protocol error codes.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
AG=$B/capsules/doc-agent.capsule
CT=$B/capsules/captest.capsule
KEY=sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
audit_has() { "$E" audit show >"$WORK/audit" 2>&1; if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

python3 "$ELASTOS_SRC_DIR/tests/tools/ai_server.py" "$WORK/port" "$WORK/ai.log" "$KEY" 300 & srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port") URL=http://127.0.0.1:$(cat "$WORK/port")/v1

DCID=$("$E" install "$B/capsules/md-doc.capsule" 2>/dev/null)
DOC=elastos://cid/$DCID/guide.md
S=localhost://storage/memory.txt
G=(--grant "elastos://ai/chat:execute" --grant "$DOC:read" --grant "$S:read" --grant "$S:write")
agent() { "$E" run "$@" </dev/null; }

# --- not bound: no provider for elastos://ai/ ----------------------------------------------------
expect 1 agent "${G[@]}" "$AG" -- ask "$DOC" "Who signs tokens?"
contains "$WORK/err" "no provider for this uri"
contains "$WORK/err" "(not_found)"

# --- the operator's binding, the key in the egress config (0600) -----------------------------------
ai_bind "$PORT" "$KEY" 3000
expect 0 "$E" provider list; contains "$WORK/out" "args: --url $URL --model tiny-test --timeout-ms 3000"
lacks "$WORK/out" "$KEY"
chmod 644 "$ELASTOS_HOME/config/egress"                        # readable by others: refused
expect 1 agent "${G[@]}" "$AG" -- ask "$DOC" "Who signs tokens?"
contains "$WORK/err" "misconfigured"
contains "$WORK/err" "chmod 600"                               # the operator's line, on the host's stderr
chmod 600 "$ELASTOS_HOME/config/egress"

# --- run 1: an answer from the document, through the token -----------------------------------------
expect 0 agent "${G[@]}" "$AG" -- ask "$DOC" "Who signs tokens?"
cp "$WORK/out" "$WORK/run1"
contains "$WORK/run1" "memory: 0 earlier exchanges"
contains "$WORK/run1" "answer: From the document: - Tokens are signed by the runtime (earlier questions: 0)"
audit_has "use" "resource=elastos://ai/chat action=execute reason=\"provider_call\""
audit_has "use" "resource=$DOC"
# What the server got: the operator's model and key, the document, the question.
python3 - "$WORK/ai.log" "$KEY" >"$WORK/req1" <<'PY' || bad "server log"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
assert r["path"] == "/v1/chat/completions", r["path"]
assert r["authorization"] == "Bearer " + sys.argv[2]
b = r["body"]
assert b["model"] == "tiny-test" and b["stream"] is False and b["max_tokens"] == 512
assert [m["role"] for m in b["messages"]] == ["system", "user"]
assert "The runtime makes no policy decisions." in b["messages"][0]["content"]
print(b["messages"][1]["content"])
PY
check '[ "$(cat "$WORK/req1")" = "Who signs tokens?" ]'

# --- run 2: memory persisted in its own storage ----------------------------------------------------
expect 0 agent "${G[@]}" "$AG" -- ask "$DOC" "Is every use audited?"
contains "$WORK/out" "memory: 1 earlier exchange"
contains "$WORK/out" "answer: From the document: - Every use is audited (earlier questions: 1; the last one was: Who signs tokens?)"
SD=$(echo "$ELASTOS_HOME"/storage/doc-agent@*)
check '[ -f "$SD/memory.txt" ] && grep -q "Who signs tokens?" "$SD/memory.txt"'
expect 0 agent --grant "$S:read" "$AG" -- memory
contains "$WORK/out" "memory: 2 exchanges"
contains "$WORK/out" "Q: Is every use audited?"

# --- without the token: denied, audited ---------------------------------------------------------
n=$(wc -l <"$WORK/ai.log")
expect 1 agent --grant "$DOC:read" --grant "$S:read" "$AG" -- ask "$DOC" "Who signs tokens?"
contains "$WORK/err" "no access to the model"
contains "$WORK/err" "(denied)"
audit_has "deny" "resource=elastos://ai/chat"
BODY='{"messages":[{"role":"user","content":"Who signs tokens?"}]}'
expect 0 "$E" run "$CT" -- call elastos://ai/chat "$BODY" </dev/null            # no token at all
contains "$WORK/out" "call: error invalid_token"
expect 0 "$E" run --grant "elastos://cid/*:read" "$CT" -- req "$DOC" read call elastos://ai/chat "$BODY" </dev/null
contains "$WORK/out" "call: error denied"                                         # a token for something else
audit_has "deny" "elastos://ai/chat action=execute"
check '[ "$(wc -l <"$WORK/ai.log")" = "$n" ]'                                      # nothing reached the server
# The runtime's copy is the only one: the capsule holds the answer, never the endpoint or key.
expect 0 "$E" run --grant "elastos://ai/chat:execute" "$CT" -- req elastos://ai/chat execute call elastos://ai/chat "$BODY" </dev/null
contains "$WORK/out" 'call: ok {"content":"The document does not say. (earlier questions: 0)","finish_reason":"stop","model":"tiny-test","usage":{'
contains "$WORK/out" '"model":"tiny-test"'
# ...a capsule sees no trace of the key or the endpoint: not in its environment, not in any answer
OPENAI_API_KEY=$KEY expect 0 "$E" run "$B/capsules/probe.capsule" -- env </dev/null
cat "$WORK/out" "$WORK/err" >"$WORK/probe"
contains "$WORK/probe" "ELASTOS_CAPSULE_NAME=probe"
lacks "$WORK/probe" "$KEY"
lacks "$WORK/probe" "127.0.0.1"
# ...nor when the server refuses a key and quotes it back (as some hosted APIs do).
sed -i "s/Bearer $KEY/Bearer sk-wrong-quoted-back/" "$ELASTOS_HOME/config/egress"
expect 1 agent "${G[@]}" "$AG" -- ask "$DOC" "Who signs tokens?"
contains "$WORK/err" "HTTP 401 (the operator's credentials were refused) (internal)"
check 'grep -q "sk-wrong-quoted-back" "$WORK/ai.log"'                               # the server did get it
sed -i "s/Bearer sk-wrong-quoted-back/Bearer $KEY/" "$ELASTOS_HOME/config/egress"
"$E" audit show >"$WORK/audit" 2>&1
cat "$WORK"/run1 "$WORK/out" "$WORK/err" "$WORK/audit" >"$WORK/seen"
lacks "$WORK/seen" "$KEY"
lacks "$WORK/seen" "sk-wrong-quoted-back"
cat "$WORK"/run1 "$WORK/out" "$WORK/err" | grep -vF "elastos: ai-provider:" | grep -qF "$URL" && bad "a consumer saw the endpoint" || ok
contains "$WORK/audit" "resource=$URL/chat/completions action=write"   # the operator sees where the provider went
check 'grep -q "Bearer $KEY" "$WORK/ai.log"'

# --- errors mapped to protocol codes ---------------------------------------------------------------
call() { expect 0 "$E" run --grant "elastos://ai/chat:execute" "$CT" -- req elastos://ai/chat execute call elastos://ai/chat "$1" </dev/null; }
q() { printf '{"messages":[{"role":"user","content":"%s"}]}' "$1"; }
call "$(q 'a SLOW one')";      contains "$WORK/out" "call: error limit provider: the model server did not answer within 3000 ms"
call "$(q 'a HUGE one')";      contains "$WORK/out" "call: error limit provider: the model server's answer exceeds"
call "$(q 'a BROKEN one')";    contains "$WORK/out" "call: error internal provider: the model server's answer is not a JSON object"
call "$(q 'ERROR500 please')"; contains "$WORK/out" "call: error internal provider: the model server answered HTTP 500"
call "$(q 'NOCONTENT')";       contains "$WORK/out" "call: error internal provider: the model server's answer has no text content"
call '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}'; contains "$WORK/out" "call: error bad_request provider: body: the operator chooses the model"
call '{"messages":[]}';        contains "$WORK/out" "call: error bad_request provider: body.messages must be an array"
call '{"messages":[{"role":"tool","content":"x"}]}'; contains "$WORK/out" "call: error bad_request provider: body.messages[0]"
call '"just a string"';        contains "$WORK/out" "call: error bad_request provider: body must be an object"
call "$(q 'x')"; contains "$WORK/out" 'call: ok {"content":'                         # still bound
# An endpoint that is down is an internal error that names no endpoint.
ai_bind 9 "$KEY" 3000
call "$(q 'x')"; contains "$WORK/out" "call: error internal provider: the model server is unreachable"
lacks "$WORK/out" "127.0.0.1"
# A bad binding argument: misconfigured, the reason on the host's stderr only.
"$E" provider remove elastos://ai/ >/dev/null
"$E" provider add elastos://ai/ ai-provider --grant "$URL/chat/completions:write" -- --url "ftp://127.0.0.1/v1" >/dev/null 2>&1 || bad "bind with a bad url"
call "$(q 'x')"; contains "$WORK/out" "call: error internal provider: the ai provider is misconfigured on this host"
contains "$WORK/err" "--url must start with http:// or https://"
# No grant for the URL: the provider cannot reach it (it is not asked for with a token of its own).
n=$(wc -l <"$WORK/ai.log")
"$E" provider remove elastos://ai/ >/dev/null
"$E" provider add elastos://ai/ ai-provider -- --url "$URL" >/dev/null 2>&1 || bad "bind without a grant"
call "$(q 'x')"; contains "$WORK/out" "call: error unsupported provider: the ai provider holds no grant for its model server"
check '[ "$(wc -l <"$WORK/ai.log")" = "$n" ]'
# The agent type runs like wasm; its manifest says agent.
"$E" inspect "$AG" >"$WORK/inspect" 2>&1
contains "$WORK/inspect" "agent"

expect 0 "$E" audit verify
finish
