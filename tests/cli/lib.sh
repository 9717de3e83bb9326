# lib.sh - shared helpers for the CLI tests (sourced). Each test gets a fresh $ELASTOS_HOME and
# work directory, and counts its own checks; any failed check makes the script exit non-zero.
set -uo pipefail
: "${ELASTOS_BIN:?run through ctest}"
E=$ELASTOS_BIN
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export ELASTOS_HOME="$WORK/home"
PASS=0 FAIL=0

ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }

# expect CODE CMD... : runs CMD, checks its exit status; output lands in $WORK/out, $WORK/err.
expect() {
    local want=$1; shift
    "$@" >"$WORK/out" 2>"$WORK/err"
    local got=$?
    if [ "$got" = "$want" ]; then ok; else bad "exit $got (want $want): $* :: $(head -c 300 "$WORK/err")"; fi
}
# expect_err_line: stderr is exactly one line starting "elastos: " (SPEC section 7).
expect_err_line() {
    if [ "$(wc -l <"$WORK/err")" = 1 ] && grep -q '^elastos: ' "$WORK/err"; then ok; else bad "stderr not one 'elastos: ' line: $(cat "$WORK/err")"; fi
}
contains() { if grep -qF -- "$2" "$1"; then ok; else bad "$1 lacks '$2': $(head -c 300 "$1")"; fi; }
lacks() { if grep -qF -- "$2" "$1"; then bad "$1 has '$2'"; else ok; fi; }
check() { if eval "$1"; then ok; else bad "$1"; fi; }

# A trusted publisher key for the test, and the build's capsules.
setup_publisher() {
    "$E" keygen --out "$WORK/keys" >/dev/null 2>&1 || { bad keygen; return; }
    "$E" trust add "$WORK/keys/publisher.pub" --name test >/dev/null 2>&1 || bad "trust add"
}

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
# How many refusals the matching records stand for: identical refusals are coalesced into one
# record "repeated N times, ..." (issue 12, finding 4), which counts N.
refusal_count() {
    "$E" audit show 2>/dev/null | grep -F -- "$1" | grep -F -- "$2" |
        sed -n 's/.*reason="repeated \([0-9]*\) times, .*/\1/p; t; s/.*/1/p' | awk '{n += $1} END {print n + 0}'
}
# free_ports N: N distinct loopback ports that were free a moment ago (all bound at once, so no two
# are the same; separate calls could hand out one port twice).
free_ports() { python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"; }
# ai_bind PORT KEY [TIMEOUT_MS [URL]]: binds elastos://ai/ to the ai-provider capsule for the
# OpenAI-compatible server on 127.0.0.1:PORT (docs/agent-capsules.md): the URL granted to the
# provider, the model and timeout as its arguments, the key in the egress config (0600) as the
# operator's Authorization header for that origin, and 127.0.0.1 allowed.
ai_bind() {
    local o="http://127.0.0.1:$1" u="${4:-http://127.0.0.1:$1/v1}"
    "$E" install "$ELASTOS_BUILD_DIR/capsules/ai-provider.capsule" >/dev/null 2>&1 || bad "install ai-provider"
    "$E" provider remove elastos://ai/ >/dev/null 2>&1
    mkdir -p "$ELASTOS_HOME/config"
    (umask 077 && printf 'allow 127.0.0.1\nheader %s Authorization: Bearer %s\n' "$o" "$2" >"$ELASTOS_HOME/config/egress")
    "$E" provider add elastos://ai/ ai-provider --grant "${u%/}/chat/completions:write" -- --url "$u" \
        --model tiny-test --timeout-ms "${3:-5000}" >/dev/null 2>&1 || bad "bind elastos://ai/ to ai-provider"
}
