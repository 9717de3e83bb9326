#!/usr/bin/env bash
# Rust capsules built with cargo and the elastos-guest crate: hello (output, args, stdin, exit
# code, fresh ids) and notes (storage through capabilities, persisting across runs; denied
# without a grant).
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
H=$B/capsules/rust-hello.capsule N=$B/capsules/rust-notes.capsule
printf 'line one\nline two\n' | expect 3 "$E" run "$H" -- a "b c" exit=3
contains "$WORK/out" "hello from rust-hello (instance "
contains "$WORK/out" "arg[2] = b c"
contains "$WORK/out" "line two"
id1=$(sed -n 's/.*(instance \([0-9a-f]*\)).*/\1/p' "$WORK/out")
expect 0 "$E" run "$H" </dev/null
id2=$(sed -n 's/.*(instance \([0-9a-f]*\)).*/\1/p' "$WORK/out")
check '[ ${#id1} = 32 ] && [ ${#id2} = 32 ] && [ "$id1" != "$id2" ]'
G=(--grant 'localhost://storage/*:read' --grant 'localhost://storage/*:write' --grant 'localhost://storage/*:delete')
expect 0 "$E" run "${G[@]}" "$N" -- add "first note" </dev/null
expect 0 "$E" run "${G[@]}" "$N" -- add "second note" </dev/null
expect 0 "$E" run "${G[@]}" "$N" -- list </dev/null
contains "$WORK/out" "1. first note"
contains "$WORK/out" "2. second note"
expect 1 "$E" run --grant 'localhost://storage/*:read' "$N" -- add "not allowed" </dev/null
contains "$WORK/err" "permission denied"
expect 0 "$E" run "${G[@]}" "$N" -- list </dev/null
lacks "$WORK/out" "not allowed"
expect 0 "$E" run "${G[@]}" "$N" -- clear </dev/null
expect 0 "$E" run "${G[@]}" "$N" -- list </dev/null
lacks "$WORK/out" "first note"
finish
