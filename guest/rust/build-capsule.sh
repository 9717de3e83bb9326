#!/bin/sh
# build-capsule.sh DIR OUT.capsule KEY
#
# Builds the Rust capsule in DIR (a Cargo package with one binary, next to its capsule.json)
# for wasm32-wasi with Debian's toolchain, stages the module as the manifest's "entry" together
# with capsule.json, and packs and signs it with the elastos binary named by $ELASTOS.
#
#   ELASTOS           the elastos binary (required)
#   CARGO, RUSTC      the toolchain (default /usr/bin/cargo, /usr/bin/rustc: Rust 1.63)
#   RUST_WASM_TARGET  default wasm32-wasi (newer toolchains call the same ABI wasm32-wasip1)
#   CARGO_TARGET_DIR  default ~/.cache/elastos/rust-guest-target/<hash of DIR's real path>
#                     (never inside the repo; one per source tree, because cargo names its
#                     outputs without the source path and would mix up two checkouts)
set -eu

die() {
    echo "build-capsule.sh: $*" >&2
    exit 1
}

[ $# -eq 3 ] || die "usage: build-capsule.sh DIR OUT.capsule KEY (with ELASTOS=path/to/elastos)"
dir=$1
out=$2
key=$3
[ -n "${ELASTOS:-}" ] || die "set ELASTOS to the elastos binary"
[ -f "$dir/Cargo.toml" ] || die "$dir/Cargo.toml: not found"
[ -f "$dir/capsule.json" ] || die "$dir/capsule.json: not found"
[ -f "$key" ] || die "$key: not found"

CARGO=${CARGO:-/usr/bin/cargo}
RUSTC=${RUSTC:-/usr/bin/rustc}
target=${RUST_WASM_TARGET:-wasm32-wasi}
tree=$(cd "$dir" && pwd -P | sha256sum | cut -c1-16)
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/elastos/rust-guest-target/$tree}
export RUSTC CARGO_TARGET_DIR

# The manifest's entry: a relative path inside the capsule.
entry=$(sed -n 's/.*"entry"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/capsule.json" | head -n 1)
[ -n "$entry" ] || die "$dir/capsule.json: no \"entry\""
case $entry in
    /* | ../* | */../* | *\\*) die "$dir/capsule.json: entry \"$entry\" is not a path inside the capsule" ;;
esac

# Build; cargo names the module it produced in its JSON messages ("executable").
msgs=$("$CARGO" build --release --offline --target "$target" --manifest-path "$dir/Cargo.toml" \
    --message-format=json-render-diagnostics)
wasm=$(printf '%s\n' "$msgs" | sed -n 's/.*"executable":"\([^"]*\.wasm\)".*/\1/p')
[ -n "$wasm" ] || die "cargo built no .wasm binary in $dir"
[ "$(printf '%s\n' "$wasm" | wc -l)" -eq 1 ] || die "$dir builds more than one binary"
[ -f "$wasm" ] || die "$wasm: not found"

stage=$(mktemp -d "${TMPDIR:-/tmp}/elastos-rust-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$(dirname "$entry")"
cp "$wasm" "$stage/$entry"
cp "$dir/capsule.json" "$stage/capsule.json"
"$ELASTOS" pack "$stage" --key "$key" -o "$out"
