#!/usr/bin/env bash
# kubo-cid-vectors.sh - regenerates tests/data/cid-vectors.txt with Kubo, an independent
# implementation of the IPFS UnixFS importer, so that the CID test vectors of libelastos
# (SPEC section 4, profile unixfs-v1-2025) come from somebody else's code.
#
# Usage: scripts/kubo-cid-vectors.sh [OUTPUT]     (default: tests/data/cid-vectors.txt)
# Environment: IPFS   the Kubo binary (default: ipfs on PATH, else ~/go/bin/ipfs)
#              CC     C compiler for tests/data/gen-bytes.c (default: cc)
#              KUBO_BUILD_NOTE  optional line recorded in the header (how that Kubo was built)
#
# Needs no daemon and no network: a throwaway repository (IPFS_PATH=$(mktemp -d)) and
# `ipfs add --only-hash`. The content of every vector is produced by tests/data/gen-bytes.c
# and streamed into Kubo, so nothing big is ever written to disk. Takes about a minute
# (two of the vectors are 1 GiB).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$here/tests/data/cid-vectors.txt}
IPFS=${IPFS:-$(command -v ipfs || echo "$HOME/go/bin/ipfs")}
CC=${CC:-cc}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export IPFS_PATH=$work/ipfs

"$CC" -std=c17 -O2 -Wall -Wextra -Werror -o "$work/gen-bytes" "$here/tests/data/gen-bytes.c"
gen=$work/gen-bytes

kubo_version=$("$IPFS" version --number)
"$IPFS" init --empty-repo >/dev/null
"$IPFS" config profile apply unixfs-v1-2025 >/dev/null

# The profile must really select what SPEC section 4 says; stop if this Kubo disagrees.
expect() {
  local got
  got=$("$IPFS" config "$1")
  if [ "$got" != "$2" ]; then
    echo "kubo-cid-vectors: Kubo config $1 is '$got', expected '$2'" >&2
    exit 1
  fi
}
expect Import.CidVersion 1
expect Import.UnixFSRawLeaves true
expect Import.UnixFSChunker size-1048576
expect Import.HashFunction sha2-256
expect Import.UnixFSFileMaxLinks 1024
expect Import.UnixFSDAGLayout balanced
expect Import.UnixFSPBNodeFieldOrder links-first

add() { "$IPFS" add --only-hash --quiet --quieter --pin=false; }

# The two vectors written in SPEC section 4 must come out of Kubo unchanged.
spec_hello=$(printf 'Hello world' | add)
spec_empty=$(printf '' | add)
[ "$spec_hello" = bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq ] ||
  { echo "kubo-cid-vectors: Kubo gives $spec_hello for 'Hello world', not SPEC's vector" >&2; exit 1; }
[ "$spec_empty" = bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku ] ||
  { echo "kubo-cid-vectors: Kubo gives $spec_empty for the empty file, not SPEC's vector" >&2; exit 1; }

MiB=1048576
# seed size: one line each; sizes chosen around the chunk (1 MiB) and fan-out (1024) limits.
vectors=(
  "1 0"
  "2 1"
  "3 11"
  "4 $((MiB - 1))"
  "5 $MiB"
  "6 $((MiB + 1))"
  "7 $((2 * MiB))"
  "8 $((5 * MiB))"
  "9 $((7 * MiB))"
  "10 $((7 * MiB + 12345))"
  "11 $((1024 * MiB))"
  "12 $((1024 * MiB + 1))"
)

tmp=$work/vectors.txt
{
  echo "# cid-vectors.txt - CIDs computed by Kubo $kubo_version (an independent implementation) with the"
  echo "# UnixFS import profile unixfs-v1-2025 (SPEC section 4): CIDv1, base32, sha2-256, 1 MiB raw leaves,"
  echo "# balanced dag-pb/UnixFS tree of at most 1024 links per node, links before data."
  echo "#"
  echo "# Line format: <generator-spec> <size-in-bytes> <cid>"
  echo "# Generator xorshift64star:SEED (the only one used here): x = SEED; per step"
  echo "#   x ^= x >> 12; x ^= x << 25; x ^= x >> 27; w = x * 0x2545F4914F6CDD1D (mod 2^64);"
  echo "# emit the 8 bytes of w little-endian; cut the stream after <size> bytes."
  echo "# Reference implementation: tests/data/gen-bytes.c (gen-bytes SEED SIZE > file)."
  echo "#"
  echo "# Produced by scripts/kubo-cid-vectors.sh, which runs (IPFS_PATH a fresh temporary dir):"
  echo "#   ipfs init --empty-repo"
  echo "#   ipfs config profile apply unixfs-v1-2025"
  echo "#   ipfs config Import.<key>   # checks CidVersion=1 UnixFSRawLeaves=true"
  echo "#       # UnixFSChunker=size-1048576 HashFunction=sha2-256 UnixFSFileMaxLinks=1024"
  echo "#       # UnixFSDAGLayout=balanced UnixFSPBNodeFieldOrder=links-first"
  echo "#   gen-bytes SEED SIZE | ipfs add --only-hash --quiet --quieter --pin=false"
  echo "# The same Kubo also gives SPEC's two vectors:"
  echo "#   'Hello world' -> $spec_hello"
  echo "#   empty file    -> $spec_empty"
  if [ -n "${KUBO_BUILD_NOTE:-}" ]; then
    echo "Kubo build: $KUBO_BUILD_NOTE" | fold -s -w 96 | sed 's/ *$//; s/^/# /'
  fi
  for v in "${vectors[@]}"; do
    read -r seed size <<<"$v"
    cid=$("$gen" "$seed" "$size" | add)
    echo "xorshift64star:$seed $size $cid"
  done
} >"$tmp"
mv "$tmp" "$out"
echo "kubo-cid-vectors: wrote $out (Kubo $kubo_version)" >&2
