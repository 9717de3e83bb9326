#!/usr/bin/env bash
# Runs every `sh` code block of docs/capsule-development.md, in order, in a fresh directory with
# a fresh $ELASTOS_HOME: the guide's commands must work exactly as written.
source "$(dirname "$0")/lib.sh"
: "${ELASTOS_SRC_DIR:?}"
export PATH="$(dirname "$E"):$PATH"
doc=$ELASTOS_SRC_DIR/docs/capsule-development.md
python3 - "$doc" >"$WORK/cmds.sh" <<'PY'
import sys
inside = False
for line in open(sys.argv[1]):
    if line.startswith("```"):
        inside = line.strip() == "```sh" if not inside else False
        continue
    if inside and line.strip():
        print(line.rstrip("\n"))
PY
n=$(wc -l <"$WORK/cmds.sh")
check "[ $n -ge 15 ]"
mkdir -p "$WORK/walk"
i=0
while IFS= read -r cmd; do
    i=$((i + 1))
    if (cd "$WORK/walk" && bash -c "$cmd") >"$WORK/step.$i" 2>&1 </dev/null; then ok; else bad "step $i: $cmd :: $(tail -c 400 "$WORK/step.$i")"; fi
done <"$WORK/cmds.sh"
cat "$WORK"/step.* >"$WORK/all"
contains "$WORK/all" "hello from hello-c (instance "
contains "$WORK/all" "arg[2] = there"
contains "$WORK/all" "hello from hello-rs (instance "
contains "$WORK/all" "arg[2] = hand"
contains "$WORK/all" "verified hello-c 0.1.0"
finish
