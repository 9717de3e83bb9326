#!/usr/bin/env bash
# Go capsules built with the Go guest SDK (guest/go) by the real Go toolchain: go-notes as a wasm
# capsule (GOOS=wasip1, the elastos.call import) and the same source as a vm capsule
# (CGO_ENABLED=0 GOOS=linux, the virtio-console channel), each with a granted storage round trip
# across runs and a denial the capsule handles (a clear message, exit 1, nothing written).
# Go's wasm module imports only WASI preview 1 and elastos.call, and fits the 64 MiB limit.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
G=(--grant 'localhost://storage/*:read' --grant 'localhost://storage/*:write' --grant 'localhost://storage/*:delete')

# The module: what it imports (nothing the runtime does not provide), and its memory.
W=$B/capsules/go-notes.stage/go-notes.wasm
check '[ -f "$W" ]'
python3 - "$W" >"$WORK/imports" <<'PY' || bad "reading the module's imports"
import sys
d = open(sys.argv[1], 'rb').read()
def leb(i):
    r = s = 0
    while True:
        b = d[i]; i += 1; r |= (b & 0x7f) << s; s += 7
        if b < 0x80: return r, i
assert d[:4] == b'\0asm'
i = 8
while i < len(d):
    sid = d[i]; size, i = leb(i + 1); end = i + size
    if sid == 2:
        n, j = leb(i)
        for _ in range(n):
            l, j = leb(j); m = d[j:j + l].decode(); j += l
            l, j = leb(j); f = d[j:j + l].decode(); j += l
            kind = d[j]; j += 1
            assert kind == 0, "only function imports"
            _, j = leb(j)
            print(m, f)
    i = end
PY
check '[ "$(grep -c . "$WORK/imports")" -gt 5 ]'
check '! grep -v -e "^wasi_snapshot_preview1 " -e "^elastos call$" "$WORK/imports"'
check 'grep -q "^elastos call$" "$WORK/imports"'

for N in "$B/capsules/go-notes.capsule" "$B/capsules/go-notes-vm.capsule"; do
    name=$(basename "$N" .capsule)
    expect 0 "$E" run "${G[@]}" "$N" -- add "first note" </dev/null
    contains "$WORK/out" "added note 1"
    expect 0 "$E" run "${G[@]}" "$N" -- add "second note" </dev/null
    expect 0 "$E" run --grant 'localhost://storage/*:read' "$N" -- list </dev/null
    contains "$WORK/out" "1. first note"
    contains "$WORK/out" "2. second note"
    check '[ "$(cat "$ELASTOS_HOME"/storage/$name@*/notes.txt)" = "$(printf "first note\nsecond note")" ]'
    # Denied: the capsule says why and how to allow it, and exits 1; nothing is written.
    expect 1 "$E" run --grant 'localhost://storage/*:read' "$N" -- add "not allowed" </dev/null
    cat "$WORK/out" "$WORK/err" >"$WORK/both"                   # a vm's console carries both
    contains "$WORK/both" "notes: permission denied: may not write localhost://storage/notes.txt"
    contains "$WORK/both" "elastos run --grant 'localhost://storage/*:write'"
    lacks "$ELASTOS_HOME/storage/$name@"*/notes.txt "not allowed"
    "$E" audit show >"$WORK/audit" 2>&1
    check "grep deny '$WORK/audit' | grep -F '$name' >/dev/null"
done
# The wasm one once more: clear, then an empty list; usage errors exit 2.
N=$B/capsules/go-notes.capsule
expect 0 "$E" run "${G[@]}" "$N" -- clear </dev/null
contains "$WORK/out" "notes cleared"
expect 0 "$E" run "${G[@]}" "$N" -- list </dev/null
contains "$WORK/out" "no notes yet"
expect 2 "$E" run "$N" -- frobnicate </dev/null
contains "$WORK/err" "usage: notes add TEXT..."
finish
