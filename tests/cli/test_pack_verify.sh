#!/usr/bin/env bash
# Packing is deterministic; verify accepts only intact artifacts from trusted publishers, and
# refuses (exit 77) unsigned ones, unknown publishers, wrong keys and EVERY single-byte flip.
source "$(dirname "$0")/lib.sh"
setup_publisher

mk_capsule() { # DIR: a tiny valid capsule
    mkdir -p "$1/sub"
    printf '{"name":"tiny","version":"1.0.0","type":"wasm","entry":"m.wasm"}' >"$1/capsule.json"
    printf '\0asm\1\0\0\0' >"$1/m.wasm"
    printf 'data\n' >"$1/sub/notes.txt"
}
mk_capsule "$WORK/src"

# --- keys -------------------------------------------------------------------------------------
check '[ "$(stat -c %a "$WORK/keys/publisher.key")" = 600 ]'
expect 78 "$E" keygen --out "$WORK/keys"; expect_err_line              # never overwrites a key
cp "$WORK/keys/publisher.key" "$WORK/loose.key"; chmod 644 "$WORK/loose.key"
expect 78 "$E" pack "$WORK/src" --key "$WORK/loose.key" -o "$WORK/x.capsule"; expect_err_line
contains "$WORK/err" "chmod 600"
expect 66 "$E" pack "$WORK/src" --key "$WORK/nokey" -o "$WORK/x.capsule"; expect_err_line
expect 64 "$E" pack "$WORK/src"; expect_err_line

# --- determinism --------------------------------------------------------------------------------
expect 0 "$E" pack "$WORK/src" --key "$WORK/keys/publisher.key" -o "$WORK/a.capsule"
cid1=$(cat "$WORK/out")
touch -d '2001-01-01' "$WORK/src/m.wasm"; chmod 600 "$WORK/src/sub/notes.txt"   # metadata must not matter
expect 0 "$E" pack "$WORK/src" --key "$WORK/keys/publisher.key" -o "$WORK/b.capsule"
cid2=$(cat "$WORK/out")
check '[ -n "$cid1" ] && [ "$cid1" = "$cid2" ]'
check 'cmp -s "$WORK/a.capsule" "$WORK/b.capsule"'
expect 0 "$E" cid "$WORK/a.capsule"
check '[ "$(cat "$WORK/out")" = "$cid1" ]'
check 'tar tf "$WORK/a.capsule" >"$WORK/list" && [ "$(head -1 "$WORK/list")" = capsule.json ]'  # a standard tool lists it
check '[ "$(tail -2 "$WORK/list" | tr "\n" " ")" = ".elastos/SHA256SUMS .elastos/SIGNATURE " ]'
printf 'x' >>"$WORK/src/sub/notes.txt"
expect 0 "$E" pack "$WORK/src" --key "$WORK/keys/publisher.key" -o "$WORK/c.capsule"
check '[ "$(cat "$WORK/out")" != "$cid1" ]'                                     # new content, new CID
( cd "$WORK" && "$E" pack src --key keys/publisher.key >/dev/null 2>&1 ) && check '[ -f "$WORK/tiny-1.0.0.capsule" ]' || bad "default output name"

# --- verify ---------------------------------------------------------------------------------------
expect 0 "$E" verify "$WORK/a.capsule"
contains "$WORK/out" "verified tiny 1.0.0"
tar cf "$WORK/unsigned.capsule" -C "$WORK/src" capsule.json m.wasm sub/notes.txt
expect 77 "$E" verify "$WORK/unsigned.capsule"; expect_err_line
: >"$WORK/empty.capsule"
expect 77 "$E" verify "$WORK/empty.capsule"; expect_err_line
head -c 3000 "$WORK/a.capsule" >"$WORK/trunc.capsule"
expect 77 "$E" verify "$WORK/trunc.capsule"; expect_err_line
expect 66 "$E" verify "$WORK/missing.capsule"; expect_err_line
expect 64 "$E" verify; expect_err_line

"$E" keygen --out "$WORK/other" >/dev/null 2>&1
expect 0 "$E" pack "$WORK/src" --key "$WORK/other/publisher.key" -o "$WORK/other.capsule"
expect 77 "$E" verify "$WORK/other.capsule"; expect_err_line                   # unknown publisher
contains "$WORK/err" "not trusted"
expect 0 "$E" inspect "$WORK/other.capsule"                                     # inspect still shows it
contains "$WORK/out" "NOT TRUSTED"

# Wrong key: the signature block names the trusted key, but the signature is by another key.
python3 - "$WORK/a.capsule" "$WORK/other.capsule" "$WORK/wrongkey.capsule" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read(); o = open(sys.argv[2], 'rb').read()
# Same body, signature line from the other key's artifact (different digest domain too).
sig_a = a[-1536:-1024]; sig_o = o[-1536:-1024]
i = sig_a.index(b'signature '); j = sig_o.index(b'signature ')
forged = sig_a[:i] + sig_o[j:j + 10 + 128] + sig_a[i + 10 + 128:]
open(sys.argv[3], 'wb').write(a[:-1536] + forged + a[-1024:])
PY
expect 77 "$E" verify "$WORK/wrongkey.capsule"; expect_err_line
contains "$WORK/err" "invalid signature"

"$E" trust remove "$WORK/keys/publisher.pub" >/dev/null 2>&1
expect 77 "$E" verify "$WORK/a.capsule"                                         # removed publisher
"$E" trust add "$WORK/keys/publisher.pub" >/dev/null 2>&1

# --- every single-byte flip, all positions --------------------------------------------------------
size=$(stat -c %s "$WORK/a.capsule")
python3 - "$E" "$WORK/a.capsule" "$WORK/flip.capsule" <<'PY'
import subprocess, sys
elastos, src, dst = sys.argv[1:4]
data = bytearray(open(src, 'rb').read())
bad = []
for i in range(len(data)):
    data[i] ^= 0xFF
    open(dst, 'wb').write(data)
    r = subprocess.run([elastos, 'verify', dst], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 77 or not r.stderr.startswith(b'elastos: ') or r.stderr.count(b'\n') != 1:
        bad.append((i, r.returncode, r.stderr[:100]))
    data[i] ^= 0xFF
print("flipped %d positions, %d not refused with 77" % (len(data), len(bad)))
for b in bad[:10]:
    print("  position %d: exit %d %r" % b)
sys.exit(1 if bad else 0)
PY
check "[ $? = 0 ] && [ $size -gt 4000 ]"

# --- a large artifact (its entries are hashed on a second thread beside the seal digest) --------
# Intact: verifies. An entry's byte changed and the body sealed again with the trusted key (the
# seal holds, only SHA256SUMS can tell): refused, naming the entry, whichever thread hashed it.
mk_capsule "$WORK/big"
head -c $((3 * 1048576)) /dev/urandom >"$WORK/big/a.bin"; head -c $((3 * 1048576)) /dev/urandom >"$WORK/big/b.bin"
expect 0 "$E" pack "$WORK/big" --key "$WORK/keys/publisher.key" -o "$WORK/big.capsule"
expect 0 "$E" verify "$WORK/big.capsule"
bsize=$(stat -c %s "$WORK/big.capsule")
for at in 1000000 4000000; do   # inside a.bin, inside b.bin
    head -c $((bsize - 2048)) "$WORK/big.capsule" >"$WORK/body"
    printf 'X' | dd of="$WORK/body" bs=1 seek=$at conv=notrunc 2>/dev/null
    "$ELASTOS_TESTTOOL" seal "$WORK/body" "$WORK/keys/publisher.key" "$WORK/resealed.capsule" || bad "seal"
    expect 65 "$E" verify "$WORK/resealed.capsule"; expect_err_line; contains "$WORK/err" "SHA256SUMS"
done

finish
