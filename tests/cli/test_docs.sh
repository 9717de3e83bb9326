#!/usr/bin/env bash
# Runs every `sh` code block of README.md and of every docs/*.md, line by line, in order, as a
# reader would in one terminal: each document in a fresh directory with a fresh $ELASTOS_HOME and
# one shell (variables, background jobs and `cd` carry over from line to line). The commands must
# work exactly as written: a line that fails fails the test, named with its number and text.
# EDITOR=true: a line that opens the reader's editor (vm.md) edits nothing here.
source "$(dirname "$0")/lib.sh"
: "${ELASTOS_SRC_DIR:?}"
export PATH="$(dirname "$E"):$PATH"
trap 'for h in "$WORK"/home-*; do ELASTOS_HOME=$h "$E" serve --stop >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT

# walk DOC TAG MIN: runs DOC's sh lines in $WORK/walk-TAG with ELASTOS_HOME=$WORK/home-TAG, in one
# shell; line i's output lands in $WORK/step-TAG.i, all of it in $WORK/all-TAG. MIN: the least
# number of lines the document must have.
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
    # Each line as a group of the one shell (a trailing comment ends at the group's newline), its
    # status appended to rc-TAG.
    python3 - "$WORK/cmds-$tag.sh" "$WORK" "$tag" >"$WORK/script-$tag.sh" <<'PY'
import shlex, sys
work, tag = sys.argv[2], sys.argv[3]
for i, c in enumerate((l.rstrip("\n") for l in open(sys.argv[1])), 1):
    out, rcs = shlex.quote(f"{work}/step-{tag}.{i}"), shlex.quote(f"{work}/rc-{tag}")
    print(f"{{ {c}\n}} >{out} 2>&1 </dev/null; echo \"$?\" >>{rcs}")
PY
    : >"$WORK/rc-$tag"
    (cd "$WORK/walk-$tag" && ELASTOS_HOME="$WORK/home-$tag" EDITOR=true bash "$WORK/script-$tag.sh") </dev/null
    local i=0 cmd rc
    while IFS= read -r cmd; do
        i=$((i + 1))
        rc=$(sed -n "${i}p" "$WORK/rc-$tag")
        if [ "$rc" = 0 ]; then ok; else bad "$tag step $i (exit ${rc:-none}): $cmd :: $(tail -c 400 "$WORK/step-$tag.$i" 2>/dev/null)"; fi
    done <"$WORK/cmds-$tag.sh"
    cat "$WORK"/step-"$tag".* >"$WORK/all-$tag" 2>/dev/null
}

walk "$ELASTOS_SRC_DIR/docs/capsule-development.md" guide 15
contains "$WORK/all-guide" "hello from hello-c (instance "
contains "$WORK/all-guide" "arg[2] = there"
contains "$WORK/all-guide" "hello from hello-rs (instance "
contains "$WORK/all-guide" "arg[2] = hand"
contains "$WORK/all-guide" "verified hello-c 0.1.0"
contains "$WORK/all-guide" "   1  This is notes-doc, a data capsule"            # opened in its viewer
contains "$WORK/all-guide" "memory: 0 earlier questions"                     # the agent ran, and
contains "$WORK/all-guide" "no provider for this uri"                         # said what is missing
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

walk "$ELASTOS_SRC_DIR/docs/serve.md" serve 6
contains "$WORK/all-serve" "exited 0"
contains "$WORK/all-serve" "hello from hello (instance "
contains "$WORK/all-serve" "arg[2] = b"
walk "$ELASTOS_SRC_DIR/docs/vm.md" vm 6
contains "$WORK/all-vm" "hello from app (instance "
contains "$WORK/all-vm" "arg[2] = args"

# Every other document with sh blocks is walked too, so none can be added unchecked.
for doc in "$ELASTOS_SRC_DIR"/docs/*.md; do
    case $(basename "$doc") in capsule-development.md | serve.md | vm.md) continue ;; esac
    grep -q '^```sh' "$doc" && walk "$doc" "$(basename "$doc" .md)" 1
done
finish
