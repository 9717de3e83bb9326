#!/usr/bin/env bash
# The operator's ceiling on resource_limits (issue 12, finding 13): $ELASTOS_HOME/config/limits.json
# caps whatever a signed manifest asks for - memory, CPU, wall clock, storage, instances - in
# standalone run and in the daemon; inspect shows the manifest's limits and the effective ones;
# a malformed ceiling is a configuration error (78), never ignored.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
mkdir -p "$ELASTOS_HOME/config"
CEIL=$ELASTOS_HOME/config/limits.json

# servetest asks for 32 MiB, 600 s of CPU and wall clock, 1 MiB of storage, 1000 instances.
# The wall clock is lowered only for the idler: a slow (ASan, loaded) machine must not reach it
# before the memory or storage limit under test.
echo '{"memory_mb": 16, "storage_mb": 0, "max_instances": 3}' >"$CEIL"
expect 137 "$E" run "$ST" -- bomb; expect_err_line
contains "$WORK/err" "memory limit of 16 MiB reached"
expect 3 "$E" run "$ST" --grant 'localhost://storage/*:write' -- fill
contains "$WORK/out" "refused after 0 KiB: limit"
echo '{"memory_mb": 16, "wall_ms": 1500, "storage_mb": 0, "max_instances": 3}' >"$CEIL"
expect 137 "$E" run "$ST" -- idle; expect_err_line
contains "$WORK/err" "wall-clock limit of 1500 ms exceeded"

expect 0 "$E" inspect "$ST"
contains "$WORK/out" "limits:      memory 16 MiB, cpu 600000 ms, wall 1500 ms, storage 0 MiB, 3 instances"
contains "$WORK/out" "manifest:    memory 32 MiB, cpu 600000 ms, wall 600000 ms, storage 1 MiB, 1000 instances (lowered by config/limits.json)"
expect 0 "$E" inspect --json "$ST"
check 'python3 -c "
import json, sys
o = json.load(open(\"$WORK/out\"))
m, e = o[\"manifest\"][\"resource_limits\"], o[\"effective_limits\"]
assert (m[\"memory_mb\"], m[\"wall_ms\"], m[\"storage_mb\"], m[\"max_instances\"]) == (32, 600000, 1, 1000), m
assert (e[\"memory_mb\"], e[\"wall_ms\"], e[\"storage_mb\"], e[\"max_instances\"], e[\"cpu_ms\"]) == (16, 1500, 0, 3, 600000), e
"'

# In the daemon: the same ceiling; a LaunchConfig cannot widen past it either (limits only narrow).
echo '{"memory_mb": 16, "cpu_ms": 400, "max_instances": 2}' >"$CEIL"
start_daemon || { finish; exit 1; }
B1=$("$E" run --detach "$ST" -- bomb); S1=$("$E" run --detach "$ST" -- spin)
for id in $B1 $S1; do for _ in $(seq 1 3000); do [ "$(ps_field "$id" state)" = exited ] && break; sleep 0.02; done; done
check '[ "$(ps_field "$B1" exit_code)" = 137 ] && [[ "$(ps_field "$B1" reason)" == *"memory limit of 16 MiB reached"* ]]'
check '[ "$(ps_field "$S1" exit_code)" = 137 ] && [[ "$(ps_field "$S1" reason)" == *"CPU time limit of 400 ms exceeded"* ]]'
I1=$("$E" run --detach "$ST" -- idle); I2=$("$E" run --detach "$ST" -- idle)
expect 137 "$E" run --detach "$ST" -- idle; expect_err_line
contains "$WORK/err" "max_instances"
stop_daemon

# A ceiling that is not what it should be is refused, with the reason.
for bad_ceiling in '{"memory_mb": "16"}' '{"memory": 16}' '{"cpu_ms": 0}' '[16]' 'not json'; do
    echo "$bad_ceiling" >"$CEIL"
    expect 78 "$E" run "$ST" -- hello; expect_err_line
    contains "$WORK/err" "limits.json"
done
rm -f "$CEIL"
expect 0 "$E" run "$ST" -- hello
finish
