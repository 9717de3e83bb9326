#!/usr/bin/env bash
# build-shim.sh BUILD_DIR OUT
# Builds containerd-shim-elastos-v1 (shim/, a Cargo crate on runwasi's containerd-shim-wasm from
# crates.io, pinned by shim/Cargo.lock) into OUT. Its engine is shim/src/engine.c over
# libelastos's public API, linked with BUILD_DIR's libelastos.a and Wasmtime staticlib into one
# relocatable object in which only shim_launch stays global: the Rust std inside Wasmtime's
# staticlib is then private to that object and never clashes with the shim's own. (No archive:
# binutils' LLVM plugin cannot index Rust objects; the object is linked as it is.)
# Cargo's target dir is cached outside the clone, like Wasmtime's (scripts/build-wasmtime.sh):
#   ELASTOS_SHIM_TARGET  default ~/.cache/elastos/shim-target
set -euo pipefail
build=$(cd "$1" && pwd) out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
# rustup's toolchain: containerd-shim-wasm 1.0 is edition 2024 (rustc 1.85 or later).
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${ELASTOS_SHIM_TARGET:-$HOME/.cache/elastos/shim-target}
eng="$build/shim"
mkdir -p "$eng" "$CARGO_TARGET_DIR"
cc -std=c17 -O2 -fPIC -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE -I"$here/include" -c "$here/shim/src/engine.c" -o "$eng/engine.o"
ld -r -o "$eng/combined.o" "$eng/engine.o" "$build/lib/libelastos.a" "$build/wasmtime/lib/libelastos_wasmtime.a"
# The object's one COMDAT group (the unwinder's DW.ref.rust_eh_personality) gets a name of its
# own, or the linker would keep the shim's copy and discard this one, which its unwind tables use.
objcopy --keep-global-symbol=shim_launch \
  --redefine-sym DW.ref.rust_eh_personality=DW.ref.elastos_engine_eh_personality "$eng/combined.o" "$eng/engine-isolated.o"
if readelf -gW "$eng/engine-isolated.o" | grep 'COMDAT group' | grep -v elastos_engine_eh_personality >&2; then
  echo "build-shim: the engine object has COMDAT groups the shim's own code may share (above)" >&2; exit 1
fi
# Every Rust symbol must have been resolved inside the object: one left undefined would bind to
# the shim's std instead of the staticlib's.
if readelf -sW "$eng/engine-isolated.o" | awk '$7 == "UND" && ($5 == "GLOBAL" || $5 == "WEAK") {print $8}' |
  grep -E '^(_ZN|_R|__rust|rust_)' >&2; then
  echo "build-shim: the engine object leaves Rust symbols undefined (above)" >&2; exit 1
fi
rm -f "$eng/combined.o"
echo "-- building containerd-shim-elastos-v1 with $(cargo --version) (cached in $CARGO_TARGET_DIR)" >&2
ELASTOS_SHIM_ENGINE_DIR="$eng" cargo build --manifest-path "$here/shim/Cargo.toml" --release --locked ${ELASTOS_SHIM_JOBS:+-j "$ELASTOS_SHIM_JOBS"}
mkdir -p "$(dirname "$out")"
cp -f "$CARGO_TARGET_DIR/release/containerd-shim-elastos-v1" "$out.tmp"
mv -f "$out.tmp" "$out"
