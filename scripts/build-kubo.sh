#!/usr/bin/env bash
# build-kubo.sh - builds Kubo v0.43.1 (the reference IPFS implementation, used by the tests as an
# independent CID implementation and, later, as a real IPFS node) from the Go module proxy into
# ~/.cache/elastos/kubo/bin/ipfs. Cached: a second call returns at once.
#
# `go install github.com/ipfs/kubo/cmd/ipfs@v0.43.1` cannot work from the module proxy alone:
# Kubo's go.mod replaces go-libp2p with an unreleased fork. We build the same release source
# with that replace dropped and quic-go/webtransport-go pinned to what go-libp2p v0.49.0 needs.
# That changes networking code only; the UnixFS importer (boxo) is exactly the release's.
set -euo pipefail
version=v0.43.1
cache=${ELASTOS_KUBO_CACHE:-$HOME/.cache/elastos/kubo}
bin=$cache/bin/ipfs
if [ -x "$bin" ] && [ "$("$bin" version --number 2>/dev/null)" = "${version#v}" ]; then
    echo "$bin"; exit 0
fi
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
command -v go >/dev/null || { echo "build-kubo: Go is required (https://go.dev)" >&2; exit 1; }
echo "build-kubo: building Kubo $version (once; cached in $cache)" >&2
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/ipfs/kubo@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
src=$cache/src
rm -rf "$src"; mkdir -p "$cache/bin"
cp -r "$dir" "$src"; chmod -R u+w "$src"
cd "$src"
go mod edit -dropreplace github.com/libp2p/go-libp2p \
    -require=github.com/quic-go/quic-go@v0.60.0 -require=github.com/quic-go/webtransport-go@v0.11.1
GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" ./cmd/ipfs >&2
mv "$bin.tmp" "$bin"
rm -rf "$src"
echo "$bin"
