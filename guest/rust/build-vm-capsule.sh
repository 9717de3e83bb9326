#!/bin/sh
# build-vm-capsule.sh DIR OUT.capsule KEY
#
# Builds the Rust capsule in DIR (a Cargo package with one binary, next to its capsule.json of
# type vm) as a static x86-64 Linux executable with Debian's toolchain
# (x86_64-unknown-linux-gnu, -C target-feature=+crt-static), makes a vm capsule directory of
# it with `elastos build-rootfs`, puts DIR/capsule.json in, and packs and signs it.
#
#   ELASTOS           the elastos binary (required; elastos-vm-init must be next to it)
#   CARGO, RUSTC      the toolchain (default /usr/bin/cargo, /usr/bin/rustc: Rust 1.63)
#   CARGO_TARGET_DIR  default ~/.cache/elastos/rust-vm-target/<hash of DIR's real path> (never
#                     inside the repo; one per source tree: cargo would mix up two checkouts)
set -eu

die() {
    echo "build-vm-capsule.sh: $*" >&2
    exit 1
}

[ $# -eq 3 ] || die "usage: build-vm-capsule.sh DIR OUT.capsule KEY (with ELASTOS=path/to/elastos)"
dir=$1
out=$2
key=$3
[ -n "${ELASTOS:-}" ] || die "set ELASTOS to the elastos binary"
[ -f "$dir/Cargo.toml" ] || die "$dir/Cargo.toml: not found"
[ -f "$dir/capsule.json" ] || die "$dir/capsule.json: not found"
[ -f "$key" ] || die "$key: not found"

CARGO=${CARGO:-/usr/bin/cargo}
RUSTC=${RUSTC:-/usr/bin/rustc}
tree=$(cd "$dir" && pwd -P | sha256sum | cut -c1-16)
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/elastos/rust-vm-target/$tree}
RUSTFLAGS="-C target-feature=+crt-static"
export RUSTC CARGO_TARGET_DIR RUSTFLAGS

name=$(sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/capsule.json" | head -n 1)
[ -n "$name" ] || die "$dir/capsule.json: no \"name\""

msgs=$("$CARGO" build --release --offline --target x86_64-unknown-linux-gnu --manifest-path "$dir/Cargo.toml" \
    --message-format=json-render-diagnostics)
exe=$(printf '%s\n' "$msgs" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[ -n "$exe" ] || die "cargo built no binary in $dir"
[ "$(printf '%s\n' "$exe" | wc -l)" -eq 1 ] || die "$dir builds more than one binary"

stage=$(mktemp -d "${TMPDIR:-/tmp}/elastos-rust-vm.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$exe" "$stage/bin"
strip "$stage/bin" 2>/dev/null || true
"$ELASTOS" build-rootfs "$stage/bin" --name "$name" -o "$stage/capsule" >/dev/null
cp "$dir/capsule.json" "$stage/capsule/capsule.json"
"$ELASTOS" pack "$stage/capsule" --key "$key" -o "$out"
