#!/usr/bin/env bash
# `elastos new --type data|agent` (issue 14), end to end with the real toolchain and runtime:
# build, sign with a project key the user trusts by hand, then open the data capsule in its
# viewer (found by name among installed capsules, given a read token for exactly the content,
# revoked at exit) and run the agent against a real OpenAI-compatible server on loopback
# (tests/tools/ai_server.py), its memory kept across runs. And `make run` grants exactly the
# manifest's permissions (run --grant-manifest): narrowing capsule.json narrows what runs.
source "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$E"):$PATH"
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
cd "$WORK"
trusted() { "$E" trust list | grep -vc "(system"; }

# --- data: a data capsule and its viewer ------------------------------------------------------
expect 0 "$E" new doc --type data
contains "$WORK/out" "created ./doc (c data capsule)"
contains "$WORK/out" "make pack             # sign into doc-viewer.capsule and doc.capsule"
check '[ -f doc/capsule.json ] && [ -f doc/content.txt ] && [ -f doc/viewer/capsule.json ] && [ -f doc/viewer/src/main.c ] && [ -f doc/sdk/include/elastos/guest.h ]'
expect 0 make -C doc
check '[ -f doc/out/viewer/doc-viewer.wasm ] && [ -f doc/out/data/content.txt ]'
expect 2 make -C doc pack                                     # no key: nothing signed, nothing trusted
contains "$WORK/err" "no key keys/publisher.key: run make key"
expect 0 make -C doc key
expect 0 make -C doc pack
check '[ -f doc/doc.capsule ] && [ -f doc/doc-viewer.capsule ]'
check '[ "$(trusted)" = 0 ]'                                   # the scaffold trusted nothing
expect 2 make -C doc run </dev/null
contains "$WORK/err" "not trusted"
expect 0 "$E" trust add doc/keys/publisher.pub --name doc-dev   # the user's own step
expect 0 make -C doc run ARGS=--numbered </dev/null
DCID=$("$E" cid doc/doc.capsule)
contains "$WORK/out" "== elastos://cid/$DCID/content.txt ($(stat -c %s doc/content.txt) bytes) =="
contains "$WORK/out" "   1  This is doc, a data capsule"
expect 0 "$E" inspect doc/doc.capsule --json
check 'python3 -c "import json,sys; m=json.load(open(sys.argv[1]))[\"manifest\"]; assert m[\"type\"]==\"data\" and m[\"viewer\"]==\"doc-viewer@^0.1.0\", m" "$WORK/out"'
expect 0 "$E" tokens list --all
check '[ "$(grep -c "resource=elastos://cid/$DCID/content.txt .* revoked$" "$WORK/out")" = 1 ]'   # one token, ended with the viewer
expect 2 "$E" run doc/doc-viewer.capsule </dev/null          # the viewer alone says how to use it
contains "$WORK/err" "elastos open doc.capsule"
expect 64 "$E" new x --type data --lang rust; expect_err_line
expect 64 "$E" new "$(printf 'a%.0s' {1..60})" --type data; expect_err_line
check '[ ! -e x ]'

# --- agent: the model through elastos://ai/chat, memory in its storage --------------------------
KEY=sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
python3 "$ELASTOS_SRC_DIR/tests/tools/ai_server.py" "$WORK/port" "$WORK/ai.log" "$KEY" 300 & srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
"$E" trust add "$ELASTOS_BUILD_DIR/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust the build key (ai-provider)"
ai_bind "$(cat "$WORK/port")" "$KEY"
expect 0 "$E" new helper --type agent
contains "$WORK/out" "created ./helper (c agent capsule)"
expect 0 make -C helper pack KEY=../doc/keys/publisher.key
expect 0 "$E" inspect helper/helper.capsule --json
check 'python3 -c "import json,sys; m=json.load(open(sys.argv[1]))[\"manifest\"]; assert m[\"type\"]==\"agent\", m" "$WORK/out"'
expect 0 make -C helper run ARGS="Which capsule answers briefly?" </dev/null
contains "$WORK/out" "memory: 0 earlier questions"
contains "$WORK/out" "answer: "
check 'python3 -c "
import json,sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
b = reqs[-1][\"body\"]
assert b[\"messages\"][-1] == {\"role\": \"user\", \"content\": \"Which capsule answers briefly?\"}, b
assert b[\"model\"] == \"tiny-test\" and reqs[-1][\"authorization\"] == \"Bearer \" + sys.argv[2]
" "$WORK/ai.log" "$KEY"'
expect 0 make -C helper run ARGS="And again?" </dev/null
contains "$WORK/out" "memory: 1 earlier question"
check '[ "$(cat "$ELASTOS_HOME"/storage/helper@*/memory.txt)" = 2 ]'
# The grants were exactly the manifest's permissions, audited as operator grants.
"$E" audit show >"$WORK/audit"
check 'grep " operator_grant capsule=helper resource=elastos://ai/chat action=execute" "$WORK/audit" >/dev/null'
check 'grep " operator_grant capsule=helper resource=localhost://storage/memory.txt " "$WORK/audit" >/dev/null'
check '! grep " operator_grant capsule=helper resource=localhost://storage/\* " "$WORK/audit" >/dev/null'
expect 2 "$E" run helper/helper.capsule </dev/null          # no question: says what to do
contains "$WORK/err" "ask me something"

# --- make run follows the manifest: narrowed, the capsule gets no storage grant ----------------
expect 0 "$E" new plain --type wasm
python3 - plain/capsule.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["permissions"] = []
json.dump(m, open(sys.argv[1], "w"))
PY
expect 0 make -C plain run KEY=../doc/keys/publisher.key </dev/null
contains "$WORK/out" "storage not granted: "
lacks "$WORK/out" "wrote localhost://storage/last-run.txt"
expect 0 "$E" run plain/plain.capsule --grant-manifest -v </dev/null
lacks "$WORK/err" "--grant '"
finish
