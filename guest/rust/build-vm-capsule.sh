#!/bin/sh
# build-vm-capsule.sh DIR OUT.capsule KEY
#
# Builds the Rust capsule in DIR (a Cargo package with one binary, next to its capsule.json of
# type vm) with plain `cargo build --release`, run in DIR, whose .cargo/config.toml makes that a
# static x86-64 Linux executable (target x86_64-unknown-linux-gnu, +crt-static), makes a vm
# capsule directory of it with `elastos build-rootfs`, puts DIR/capsule.json in, and packs and
# signs it.
#
#   ELASTOS           the elastos binary (required; elastos-vm-init must be next to it)
#   CARGO, RUSTC      the toolchain (default as in build-capsule.sh: Debian's when it has the
#                     wasm32-wasip1 std, else cargo from PATH)
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

[ -f "$dir/.cargo/config.toml" ] || die "$dir/.cargo/config.toml: not found (it sets the static target)"
if [ -z "${CARGO:-}" ] && [ -d /usr/lib/rustlib/wasm32-wasip1/lib ]; then
    CARGO=/usr/bin/cargo RUSTC=${RUSTC:-/usr/bin/rustc}
fi
CARGO=${CARGO:-cargo}
tree=$(cd "$dir" && pwd -P | sha256sum | cut -c1-16)
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/elastos/rust-vm-target/$tree}
export CARGO_TARGET_DIR
[ -z "${RUSTC:-}" ] || export RUSTC

name=$(sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/capsule.json" | head -n 1)
[ -n "$name" ] || die "$dir/capsule.json: no \"name\""

pkg=$(sed -n '/^\[package\]/,/^\[/s/^name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/Cargo.toml" | head -n 1)
[ -n "$pkg" ] || die "$dir/Cargo.toml: no package name"
(cd "$dir" && "$CARGO" build --release)
exe=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$pkg
[ -f "$exe" ] || die "cargo built no $pkg in $dir"

stage=$(mktemp -d "${TMPDIR:-/tmp}/elastos-rust-vm.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$exe" "$stage/bin"
strip "$stage/bin" 2>/dev/null || true
"$ELASTOS" build-rootfs "$stage/bin" --name "$name" -o "$stage/capsule" >/dev/null
cp "$dir/capsule.json" "$stage/capsule/capsule.json"
"$ELASTOS" pack "$stage/capsule" --key "$key" -o "$out"
