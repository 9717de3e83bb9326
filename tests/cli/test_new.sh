#!/usr/bin/env bash
# `elastos new` scaffolds a capsule project that builds, packs and runs with one command each
# (make, make pack, make run), from any directory, with the SDK vendored from the binary.
source "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$E"):$PATH"
cd "$WORK"
expect 0 "$E" new notes-c --lang c
contains "$WORK/out" "created ./notes-c"
check '[ -f notes-c/capsule.json ] && [ -f notes-c/src/main.c ] && [ -f notes-c/sdk/include/elastos/guest.h ] && [ -f notes-c/Makefile ]'
expect 0 make -C notes-c
check '[ -f notes-c/out/notes-c.wasm ]'
# The scaffold never changes host trust on its own: no key, no pack; `make key` only makes one.
expect 2 make -C notes-c pack
contains "$WORK/err" "no key keys/publisher.key: run make key"
expect 0 make -C notes-c key
contains "$WORK/out" "elastos trust add keys/publisher.pub --name notes-c-dev"
check '[ "$(stat -c %a notes-c/keys/publisher.key)" = 600 ]'
check '[ ! -e "$ELASTOS_HOME/trust/publishers" ] || ! grep -q ed25519 "$ELASTOS_HOME/trust/publishers"'
expect 0 make -C notes-c pack
check '[ -f notes-c/notes-c.capsule ]'
check '[ ! -e "$ELASTOS_HOME/trust/publishers" ] || ! grep -q ed25519 "$ELASTOS_HOME/trust/publishers"'
expect 77 "$E" verify notes-c/notes-c.capsule
expect 0 "$E" trust add notes-c/keys/publisher.pub --name notes-c-dev
expect 0 "$E" verify notes-c/notes-c.capsule
expect 0 make -C notes-c run ARGS="one two"
contains "$WORK/out" "hello from notes-c (instance "
contains "$WORK/out" "arg[2] = two"
contains "$WORK/out" "wrote localhost://storage/last-run.txt"
check '[ "$(cat "$ELASTOS_HOME"/storage/notes-c@*/last-run.txt)" = ok ]'
# A capsule packed with another KEY is run as it is: `make run` never re-signs it.
expect 0 "$E" keygen --out "$WORK/k2"
rm -f notes-c/notes-c.capsule
expect 0 make -C notes-c pack KEY="$WORK/k2/publisher.key"
"$E" cid notes-c/notes-c.capsule >"$WORK/cid1"
expect 2 make -C notes-c run
contains "$WORK/err" "is not trusted"
"$E" cid notes-c/notes-c.capsule >"$WORK/cid2"
check 'cmp -s "$WORK/cid1" "$WORK/cid2"'
check '[ ! -e notes-c/keys/publisher.key.new ]'
rm -f notes-c/notes-c.capsule
expect 0 make -C notes-c pack
# Refusals: existing directory, bad name, bad language, vm not yet.
expect 64 "$E" new notes-c; expect_err_line
expect 64 "$E" new Bad_Name; expect_err_line
expect 64 "$E" new x --lang cobol; expect_err_line
expect 64 "$E" new y --type container; expect_err_line
check '[ ! -e x ] && [ ! -e y ]'
# --type vm, C and Rust: the same sources as a static binary in a vm capsule (one boot each).
for lang in c rust; do
    expect 0 "$E" new "vm-$lang" --lang $lang --type vm
    contains "$WORK/out" "($lang vm capsule)"
    expect 0 make -C "vm-$lang" pack KEY=../notes-c/keys/publisher.key
    check '[ -f "vm-$lang/vm-$lang.capsule" ] && [ -f "vm-$lang/out/vm/rootfs.cpio" ]'
    expect 0 make -C "vm-$lang" run ARGS="one two"
    contains "$WORK/out" "hello from vm-$lang (instance "
    contains "$WORK/out" "arg[2] = two"
    contains "$WORK/out" "wrote localhost://storage/last-run.txt"
    check '[ "$(cat "$ELASTOS_HOME"/storage/vm-$lang@*/last-run.txt)" = ok ]'
done
finish
