#!/usr/bin/env bash
# demo.sh ELASTOS_BIN - the main job end to end, in a throwaway $ELASTOS_HOME:
# make a publisher key, build+sign the hello capsule, trust the publisher, verify, run.
set -euo pipefail
elastos=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export ELASTOS_HOME="$work/home"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step elastos keygen --out "$work/keys"
pub=$("$elastos" keygen --out "$work/keys")
echo "$pub"

step "build hello.wasm with clang-14 --target=wasm32-wasi"
mkdir -p "$work/hello"
clang-14 --target=wasm32-wasi -O2 -I"$root/guest/c/include" "$root/capsules/hello/hello.c" \
    "$root/guest/c/src/capsule_info.c" -Wl,--strip-debug -o "$work/hello/hello.wasm"
cp "$root/capsules/hello/capsule.json" "$work/hello/"
ls -l "$work/hello"

step elastos pack hello --key keys/publisher.key -o hello.capsule
cid=$("$elastos" pack "$work/hello" --key "$work/keys/publisher.key" -o "$work/hello.capsule")
echo "$cid"

step elastos verify hello.capsule "   # before trusting the publisher: refused"
set +e; "$elastos" verify "$work/hello.capsule"; rc=$?; set -e
echo "(exit $rc)"; [ "$rc" = 77 ]

step elastos trust add keys/publisher.pub --name demo
"$elastos" trust add "$work/keys/publisher.pub" --name demo

step elastos verify hello.capsule
"$elastos" verify "$work/hello.capsule"

step elastos inspect hello.capsule
"$elastos" inspect "$work/hello.capsule"

step "echo 'stdin reaches the capsule' | elastos run hello.capsule -- one two"
echo 'stdin reaches the capsule' | "$elastos" run "$work/hello.capsule" -- one two

step "elastos install hello.capsule && elastos run $cid -- exit=3"
"$elastos" install "$work/hello.capsule"
set +e; "$elastos" run "$cid" -- exit=3 </dev/null; rc=$?; set -e
echo "(exit $rc)"; [ "$rc" = 3 ]

printf '\ndemo: OK\n'
