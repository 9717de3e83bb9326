#!/bin/sh
# build-capsule.sh DIR OUT.capsule KEY
#
# Builds the Rust capsule in DIR (a Cargo package with one binary, next to its capsule.json)
# with the seed's command, `cargo build --target wasm32-wasip1 --release`, run in DIR, stages
# the module as the manifest's "entry" together with capsule.json, and packs and signs it with
# the elastos binary named by $ELASTOS.
#
#   ELASTOS           the elastos binary (required)
#   CARGO, RUSTC      the toolchain. Default: Debian's (/usr/bin/cargo, /usr/bin/rustc) when its
#                     sysroot has the wasm32-wasip1 std (scripts/setup.sh puts it there), else
#                     cargo and rustc from PATH (e.g. rustup's, after `rustup target add
#                     wasm32-wasip1`)
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

if [ -z "${CARGO:-}" ] && [ -d /usr/lib/rustlib/wasm32-wasip1/lib ]; then
    CARGO=/usr/bin/cargo RUSTC=${RUSTC:-/usr/bin/rustc}
fi
CARGO=${CARGO:-cargo}
tree=$(cd "$dir" && pwd -P | sha256sum | cut -c1-16)
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/elastos/rust-guest-target/$tree}
export CARGO_TARGET_DIR
[ -z "${RUSTC:-}" ] || export RUSTC

# The manifest's entry: a relative path inside the capsule.
entry=$(sed -n 's/.*"entry"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/capsule.json" | head -n 1)
[ -n "$entry" ] || die "$dir/capsule.json: no \"entry\""
case $entry in
    /* | ../* | */../* | *\\*) die "$dir/capsule.json: entry \"$entry\" is not a path inside the capsule" ;;
esac

# Build; the package's one binary is <package name>.wasm.
pkg=$(sed -n '/^\[package\]/,/^\[/s/^name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/Cargo.toml" | head -n 1)
[ -n "$pkg" ] || die "$dir/Cargo.toml: no package name"
(cd "$dir" && "$CARGO" build --target wasm32-wasip1 --release)
wasm=$CARGO_TARGET_DIR/wasm32-wasip1/release/$pkg.wasm
[ -f "$wasm" ] || die "cargo built no $pkg.wasm in $dir"

stage=$(mktemp -d "${TMPDIR:-/tmp}/elastos-rust-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$(dirname "$entry")"
cp "$wasm" "$stage/$entry"
cp "$dir/capsule.json" "$stage/capsule.json"
"$ELASTOS" pack "$stage" --key "$key" -o "$out"
