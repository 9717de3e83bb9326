#!/usr/bin/env bash
# The local store (install, ls, rm), running NAME@RANGE (highest trusted match), and dependency
# resolution before launch: resolved, missing, wrong CID pin, unsatisfiable range, untrusted, cycle.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
"$E" keygen --out "$WORK/k2" >/dev/null 2>&1; "$E" trust add "$WORK/k2/publisher.pub" --name other >/dev/null 2>&1

# version V [KEY] [DEPS_JSON]: hello repacked as version V (optionally with dependencies); prints its CID.
version() {
    local v=$1 key=${2:-$B/keys/publisher.key} deps=${3:-} name=${4:-hello}
    rm -rf "$WORK/s"; cp -r "$B/capsules/hello.stage" "$WORK/s"
    python3 - "$WORK/s/capsule.json" "$v" "$deps" "$name" <<'PY'
import json, sys
p, v, deps, name = sys.argv[1:5]
m = json.load(open(p)); m["version"] = v; m["name"] = name
if deps: m["dependencies"] = json.loads(deps)
json.dump(m, open(p, "w"))
PY
    "$E" pack "$WORK/s" --key "$key" -o "$WORK/$name-$v.capsule" >/dev/null 2>&1 && "$E" install "$WORK/$name-$v.capsule" 2>/dev/null
}
c100=$(version 1.0.0); c120=$(version 1.2.0); c200=$(version 2.0.0); c150=$(version 1.5.0 "$WORK/k2/publisher.key")
check '[ -n "$c100" ] && [ -n "$c120" ] && [ -n "$c200" ] && [ -n "$c150" ]'
expect 0 "$E" ls
check '[ "$(grep -c " hello " "$WORK/out")" = 4 ] && [ "$(grep -c trusted "$WORK/out")" -ge 4 ]'

# NAME@RANGE picks the highest trusted match.
expect 0 "$E" inspect 'hello@^1.0.0'; contains "$WORK/out" "version:     1.5.0"
"$E" trust remove "$WORK/k2/publisher.pub" >/dev/null 2>&1                   # 1.5.0 no longer trusted
expect 0 "$E" inspect 'hello@^1.0.0'; contains "$WORK/out" "version:     1.2.0"
expect 0 "$E" inspect hello;          contains "$WORK/out" "version:     2.0.0"
expect 0 "$E" run 'hello@~1.0.0' </dev/null; contains "$WORK/out" "hello from hello"
expect 66 "$E" run 'hello@^3.0.0' </dev/null; expect_err_line
expect 66 "$E" run nosuchcapsule </dev/null; expect_err_line
expect 64 "$E" run 'hello@not-a-range' </dev/null; expect_err_line
expect 0 "$E" ls; contains "$WORK/out" "NOT VERIFIED/TRUSTED"

# Dependencies.
dep() { version 1.0.0 "" "$1" "app-$2" >/dev/null; "$E" run "app-$2" </dev/null >"$WORK/out" 2>"$WORK/err"; echo $?; }
check '[ "$(dep "[{\"name\":\"hello\",\"version\":\"^1.0.0\"}]" ok)" = 0 ]'
check '[ "$(dep "[{\"name\":\"hello\",\"version\":\"^1.0.0\",\"cid\":\"'$c120'\"}]" pinned)" = 0 ]'
check '[ "$(dep "[{\"name\":\"nosuch\",\"version\":\"*\"}]" missing)" = 66 ]'; expect_err_line
contains "$WORK/err" "dependency nosuch@* of app-missing"
check '[ "$(dep "[{\"name\":\"hello\",\"version\":\"^1.0.0\",\"cid\":\"'$c200'\"}]" wrongpin)" = 66 ]'; expect_err_line
contains "$WORK/err" "does not satisfy"
check '[ "$(dep "[{\"name\":\"hello\",\"version\":\"^9.0.0\"}]" range)" = 66 ]'; expect_err_line
check '[ "$(dep "[{\"name\":\"hello\",\"version\":\"1.5.0\",\"cid\":\"'$c150'\"}]" untrusted)" = 77 ]'; expect_err_line
# A cycle: cyc-a needs cyc-b, which needs cyc-a.
version 1.0.0 "" '[{"name":"cyc-b","version":"*"}]' cyc-a >/dev/null
version 1.0.0 "" '[{"name":"cyc-a","version":"*"}]' cyc-b >/dev/null
expect 66 "$E" run cyc-a </dev/null; expect_err_line
contains "$WORK/err" "cycle"
lacks "$WORK/out" "hello from"

# rm.
expect 0 "$E" rm "$c100"
expect 66 "$E" rm "$c100"; expect_err_line
expect 66 "$E" run "$c100" </dev/null; expect_err_line
expect 66 "$E" rm not-a-cid; expect_err_line      # a name, of nothing stored
expect 65 "$E" rm 'Not/A*Name'; expect_err_line
expect 65 "$E" rm 'x@^1'; expect_err_line
finish
