#!/usr/bin/env bash
# Runs every `sh` code block of README.md and docs/capsule-development.md, line by line, in order,
# each document in a fresh directory with a fresh $ELASTOS_HOME: the commands must work exactly as
# written (a line that fails fails the test).
source "$(dirname "$0")/lib.sh"
: "${ELASTOS_SRC_DIR:?}"
export PATH="$(dirname "$E"):$PATH"
trap 'for h in "$WORK"/home-*; do ELASTOS_HOME=$h "$E" serve --stop >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT

# walk DOC TAG MIN: runs DOC's sh lines in $WORK/walk-TAG with ELASTOS_HOME=$WORK/home-TAG; all
# output lands in $WORK/all-TAG. MIN: the least number of lines the document must have.
walk() {
    local doc=$1 tag=$2 min=$3
    python3 - "$doc" >"$WORK/cmds-$tag.sh" <<'PY'
import sys
inside = False
for line in open(sys.argv[1]):
    if line.startswith("```"):
        inside = line.strip() == "```sh" if not inside else False
        continue
    if inside and line.strip():
        print(line.rstrip("\n"))
PY
    local n
    n=$(wc -l <"$WORK/cmds-$tag.sh")
    check "[ $n -ge $min ]"
    mkdir -p "$WORK/walk-$tag"
    local i=0 cmd
    while IFS= read -r cmd; do
        i=$((i + 1))
        if (cd "$WORK/walk-$tag" && ELASTOS_HOME="$WORK/home-$tag" bash -c "$cmd") >"$WORK/step-$tag.$i" 2>&1 </dev/null
        then ok; else bad "$tag step $i: $cmd :: $(tail -c 400 "$WORK/step-$tag.$i")"; fi
    done <"$WORK/cmds-$tag.sh"
    cat "$WORK"/step-"$tag".* >"$WORK/all-$tag"
}

walk "$ELASTOS_SRC_DIR/docs/capsule-development.md" guide 15
contains "$WORK/all-guide" "hello from hello-c (instance "
contains "$WORK/all-guide" "arg[2] = there"
contains "$WORK/all-guide" "hello from hello-rs (instance "
contains "$WORK/all-guide" "arg[2] = hand"
contains "$WORK/all-guide" "verified hello-c 0.1.0"
contains "$WORK/all-guide" "   1  This is notes-doc, a data capsule"            # opened in its viewer
contains "$WORK/all-guide" "memory: 0 earlier questions"                     # the agent ran, and
contains "$WORK/all-guide" "no ai endpoint is configured"                     # said what is missing
# `make run` runs the artifact `make pack KEY=...` signed: one key, one trusted publisher.
check '[ "$(ELASTOS_HOME="$WORK/home-guide" "$E" trust list | grep -vc "(system")" = 1 ]'
check '[ ! -e "$WORK/walk-guide/hello-c/keys" ]'

walk "$ELASTOS_SRC_DIR/README.md" readme 20
contains "$WORK/all-readme" "exit 77 (77): refused"
contains "$WORK/all-readme" "verified hello 0.1.0"
contains "$WORK/all-readme" "hello from hello (instance "
contains "$WORK/all-readme" "arg[2] = args"
contains "$WORK/all-readme" "wrote localhost://storage/last-run.txt"
contains "$WORK/all-readme" "arg[2] = name"
contains "$WORK/all-readme" "elastos serve: ready on $WORK/home-readme/serve.sock (pid "
contains "$WORK/all-readme" "elastos serve: running on $WORK/home-readme/serve.sock (pid "
contains "$WORK/all-readme" "elastos serve: stopped the daemon (pid "
contains "$WORK/all-readme" "elastos-shell (system, read-only)"
contains "$WORK/all-readme" "removed hello 0.1.0"
finish
