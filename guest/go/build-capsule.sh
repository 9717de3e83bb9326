#!/bin/sh
# build-capsule.sh DIR OUT.capsule KEY [MANIFEST]
#
# Builds the Go capsule in DIR (a Go main package, next to its capsule.json) and packs and signs
# it with the elastos binary named by $ELASTOS. MANIFEST (default DIR/capsule.json) decides
# the kind:
#   type wasm  GOOS=wasip1 GOARCH=wasm go build; the module is staged as the manifest's "entry"
#   type vm    CGO_ENABLED=0 GOOS=linux go build (a static executable), made into a vm capsule
#              directory with `elastos build-rootfs` (docs/vm.md)
# The stage directory is kept next to the output as OUT.stage (tests re-pack it).
# Offline by construction: GOPROXY=off and GOTOOLCHAIN=local (the SDK comes in by a replace
# directive to a directory), GOFLAGS=-trimpath.
#
#   ELASTOS   the elastos binary (required; for vm, elastos-vm-init must be next to it)
#   GO        the go command (default: go on PATH, else /usr/local/go/bin/go)
set -eu

die() {
    echo "build-capsule.sh: $*" >&2
    exit 1
}

[ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: build-capsule.sh DIR OUT.capsule KEY [MANIFEST] (with ELASTOS=path/to/elastos)"
dir=$1 out=$2 key=$3 manifest=${4:-$1/capsule.json}
[ -n "${ELASTOS:-}" ] || die "set ELASTOS to the elastos binary"
[ -f "$dir/go.mod" ] || die "$dir/go.mod: not found"
[ -f "$manifest" ] || die "$manifest: not found"
[ -f "$key" ] || die "$key: not found"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || die "Go is required (go on PATH or /usr/local/go; Go 1.21 or later)"
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-trimpath

field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$manifest" | head -n 1; }
type=$(field type)
stage=$(cd "$(dirname "$out")" && pwd)/$(basename "${out%.capsule}").stage
rm -rf "$stage" "$stage.tmp"
mkdir -p "$stage.tmp"
case $type in
wasm)
    entry=$(field entry)
    case $entry in
        "" | /* | ../* | */../* | *\\*) die "$manifest: entry \"$entry\" is not a path inside the capsule" ;;
    esac
    mkdir -p "$stage.tmp/$(dirname "$entry")"
    (cd "$dir" && GOOS=wasip1 GOARCH=wasm "$GO" build -ldflags=-s -o "$stage.tmp/$entry" .)
    ;;
vm)
    name=$(field name)
    (cd "$dir" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -ldflags=-s -o "$stage.tmp/bin" .)
    "$ELASTOS" build-rootfs "$stage.tmp/bin" --name "$name" -o "$stage.tmp/vm" >/dev/null
    rm "$stage.tmp/bin"
    mv "$stage.tmp/vm"/* "$stage.tmp/" && rmdir "$stage.tmp/vm"
    ;;
*) die "$manifest: type \"$type\" is not wasm or vm" ;;
esac
cp "$manifest" "$stage.tmp/capsule.json"
mv "$stage.tmp" "$stage"
"$ELASTOS" pack "$stage" --key "$key" -o "$out"
