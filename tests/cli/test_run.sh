#!/usr/bin/env bash
# elastos run: output, args, stdin, exit codes, a fresh ELASTOS_CAPSULE_ID per launch, no host
# environment and no file system inside the sandbox, limits, and the compiled-code cache.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
HELLO=$B/capsules/hello.capsule PROBE=$B/capsules/probe.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"

# Refused before trust... then runs.
expect 0 "$E" verify "$HELLO"
echo "line one
line two" | expect 0 "$E" run "$HELLO" -- alpha "two words" --flag
contains "$WORK/out" "hello from hello (instance "
contains "$WORK/out" "arg[1] = alpha"
contains "$WORK/out" "arg[2] = two words"
contains "$WORK/out" "arg[3] = --flag"
contains "$WORK/out" "line one"
contains "$WORK/out" "line two"
check '[ ! -s "$WORK/err" ]'

expect 3 "$E" run "$HELLO" -- exit=3 </dev/null
expect 42 "$E" run "$HELLO" -- exit=42 </dev/null

# A fresh, unique instance id on every launch.
for i in 1 2 3 4 5; do "$E" run "$HELLO" </dev/null | sed -n 's/.*(instance \([0-9a-f]*\)).*/\1/p'; done >"$WORK/ids"
check '[ "$(wc -l <"$WORK/ids")" = 5 ] && [ "$(sort -u "$WORK/ids" | wc -l)" = 5 ]'
check 'grep -qE "^[0-9a-f]{32}$" "$WORK/ids"'

# Nothing from the host environment leaks in: exactly the two ELASTOS_ variables.
SECRET_TOKEN=hunter2 expect 0 "$E" run "$PROBE" -- env </dev/null
check '[ "$(wc -l <"$WORK/out")" = 2 ]'
contains "$WORK/out" "ELASTOS_CAPSULE_NAME=probe"
check 'grep -qE "^ELASTOS_CAPSULE_ID=[0-9a-f]{32}$" "$WORK/out"'
lacks "$WORK/out" "hunter2"
lacks "$WORK/out" "PATH="

# No preopened directories: the capsule sees no file system at all.
expect 0 "$E" run "$PROBE" -- fs </dev/null
check '[ "$(grep -c ": denied" "$WORK/out")" = 6 ]'
lacks "$WORK/out" ": ok"

# Limits: wall clock (manifest wall_ms 2000) -> 137 with a reason; memory (32 MiB) is capped.
expect 137 "$E" run "$PROBE" -- spin </dev/null; expect_err_line
contains "$WORK/err" "wall-clock limit"
expect 0 "$E" run "$PROBE" -- grow </dev/null
check '[ "$(sed -n "s/allocated \([0-9]*\) MiB/\1/p" "$WORK/out")" -le 32 ]'
expect 134 "$E" run "$PROBE" -- trap </dev/null; expect_err_line
# A C frame larger than the 64 KiB stack traps (the stack sits below the static data) instead of
# overwriting the capsule's static data and carrying on.
expect 134 "$E" run "$PROBE" -- deep </dev/null; expect_err_line
lacks "$WORK/out" "deep: returned"
expect 137 "$E" run "$PROBE" -- bomb </dev/null; expect_err_line
contains "$WORK/err" "memory limit of 32 MiB reached"
# CPU time is not wall time: a spinning capsule is stopped at its cpu_ms, a sleeping one is not.
cp -r "$B/capsules/probe.stage" "$WORK/cpu"; cp -r "$B/capsules/captest.stage" "$WORK/cpu2"
sed -i 's/"wall_ms": 2000/"wall_ms": 20000, "cpu_ms": 400/' "$WORK/cpu/capsule.json"
sed -i 's/"wall_ms": 20000/"wall_ms": 20000, "cpu_ms": 300/' "$WORK/cpu2/capsule.json"
"$E" pack "$WORK/cpu" --key "$B/keys/publisher.key" -o "$WORK/cpu.capsule" >/dev/null 2>&1 || bad "pack cpu"
"$E" pack "$WORK/cpu2" --key "$B/keys/publisher.key" -o "$WORK/cpu2.capsule" >/dev/null 2>&1 || bad "pack cpu2"
t0=$(date +%s%N)
expect 137 "$E" run "$WORK/cpu.capsule" -- spin </dev/null; expect_err_line
contains "$WORK/err" "CPU time limit of 400 ms exceeded"
check "[ \$(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]"
expect 0 "$E" run "$WORK/cpu2.capsule" -- sleep 1000 ping </dev/null
contains "$WORK/out" "ping: ok"

# Compiled-code cache: the first run fills it, a damaged entry is detected and rebuilt.
rm -rf "$ELASTOS_HOME/cache"
expect 0 "$E" run "$HELLO" </dev/null
check '[ "$(ls "$ELASTOS_HOME"/cache/wasm/*.cwasm | wc -l)" = 1 ]'
check '[ "$(stat -c %a "$ELASTOS_HOME/cache/wasm")" = 700 ]'
f=$(ls "$ELASTOS_HOME"/cache/wasm/*.cwasm)
sum_before=$(sha256sum <"$f")
python3 -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[len(d)//2]^=1; open(p,'wb').write(d)" "$f"
expect 0 "$E" run "$HELLO" -- after-corruption </dev/null
contains "$WORK/out" "arg[1] = after-corruption"
check '[ "$(sha256sum <"$f")" = "$sum_before" ]'        # rebuilt to the good bytes
printf 'garbage' >"$f"
expect 0 "$E" run "$HELLO" </dev/null
check '[ "$(sha256sum <"$f")" = "$sum_before" ]'

# Run by CID from the local store.
expect 0 "$E" install "$HELLO"
cid=$(cat "$WORK/out")
expect 7 "$E" run "$cid" -- exit=7 </dev/null
expect 66 "$E" run bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq </dev/null; expect_err_line
expect 66 "$E" run "$WORK/nope.capsule" </dev/null; expect_err_line

# Untrusted publisher: refused, nothing runs.
"$E" trust remove "$B/keys/publisher.pub" >/dev/null 2>&1
expect 77 "$E" run "$HELLO" -- exit=5 </dev/null; expect_err_line
lacks "$WORK/out" "hello from"
expect 77 "$E" run "$cid" </dev/null

# Usage errors.
expect 64 "$E" run; expect_err_line
expect 64 "$E" frobnicate; expect_err_line
for c in keygen pack verify cid inspect trust install run; do
    expect 0 "$E" "$c" --help; contains "$WORK/out" "usage: elastos $c"
done
finish
