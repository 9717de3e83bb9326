#!/usr/bin/env bash
# `elastos cid` equals Kubo's CID (profile unixfs-v1-2025), an independent implementation, on
# fresh random files from 0 B to 64 MiB (chunk boundaries, random sizes), and a two-level tree
# (> 1024 chunks).
# Kubo is built by scripts/build-kubo.sh (make test does it); its absence fails this test.
source "$(dirname "$0")/lib.sh"
IPFS=${ELASTOS_KUBO:-$HOME/.cache/elastos/kubo/bin/ipfs}
[ -x "$IPFS" ] || { echo "FAIL: Kubo not found at $IPFS (run scripts/build-kubo.sh)" >&2; exit 1; }
export IPFS_PATH=$WORK/ipfs
"$IPFS" init --empty-repo >/dev/null 2>&1 || bad "ipfs init"
"$IPFS" config profile apply unixfs-v1-2025 >/dev/null 2>&1 || bad "profile"
check '[ "$("$IPFS" config Import.UnixFSChunker)" = size-1048576 ]'

MiB=1048576
sizes="0 1 11 1000 262144 $((MiB - 1)) $MiB $((MiB + 1)) $((2 * MiB)) $((7 * MiB)) $((7 * MiB + 12345))"
sizes="$sizes $((16 * MiB - 1)) $((32 * MiB + 1)) $((64 * MiB - 1)) $((64 * MiB))"
for _ in 1 2 3 4; do sizes="$sizes $(( (RANDOM * 32768 + RANDOM) % (64 * MiB) ))"; done   # random, < 64 MiB
for size in $sizes; do
    head -c "$size" /dev/urandom >"$WORK/f"
    ours=$("$E" cid "$WORK/f")
    theirs=$("$IPFS" add --only-hash -Q --pin=false "$WORK/f")
    if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then ok; else bad "size $size: elastos $ours, kubo $theirs"; fi
    n=$((${n:-0} + 1))
done
echo "elastos cid == kubo on $n random files (sizes: $sizes)"
# Multi-level: 1025 chunks + 1 byte, so the root links to two interior nodes.
head -c $((1025 * MiB + 1)) /dev/urandom >"$WORK/f"
ours=$("$E" cid "$WORK/f")
theirs=$("$IPFS" add --only-hash -Q --pin=false "$WORK/f")
if [ "$ours" = "$theirs" ]; then ok; else bad "multi-level: elastos $ours, kubo $theirs"; fi
rm -f "$WORK/f"
# A capsule artifact's CID is the same as Kubo's.
"$E" keygen --out "$WORK/k" >/dev/null 2>&1
mkdir -p "$WORK/c"; printf '{"name":"c","version":"1.0.0","type":"wasm","entry":"m.wasm"}' >"$WORK/c/capsule.json"
head -c 3000000 /dev/urandom >"$WORK/c/m.wasm"
ours=$("$E" pack "$WORK/c" --key "$WORK/k/publisher.key" -o "$WORK/c.capsule" 2>/dev/null)
check '[ "$ours" = "$("$IPFS" add --only-hash -Q --pin=false "$WORK/c.capsule")" ]'
# Errors: missing file and a directory.
expect 66 "$E" cid "$WORK/none"; expect_err_line
expect 64 "$E" cid; expect_err_line
finish
