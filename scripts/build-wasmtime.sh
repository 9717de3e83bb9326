#!/usr/bin/env bash
# build-wasmtime.sh TARGET_DIR STAGE_DIR
# Builds the in-tree staticlib (third_party/wasmtime) with Cargo and stages the library and the
# headers the crate's build script generated into STAGE_DIR/{lib,include}, 
set -euo pipefail
target=$1 stage=$2
here=$(cd "$(dirname "$0")/.." && pwd)
crate="$here/third_party/wasmtime"
export CARGO_TARGET_DIR="$target"
# Prefer rustup's toolchain: Wasmtime needs a newer rustc than Debian's 1.63.
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$stage/lib" "$target"
json=$(mktemp); trap 'rm -f "$json"' EXIT
echo "-- building Wasmtime C API with $(cargo --version) (cached in $target)" >&2
cargo build --manifest-path "$crate/Cargo.toml" --release --locked --message-format=json >"$json"
inc=$(python3 - "$json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "build-script-executed" and "wasmtime-c-api-impl" in m.get("package_id", ""):
        print(m["out_dir"] + "/include")
PY
)
[ -f "$inc/wasmtime/conf.h" ] || { echo "build-wasmtime: generated headers not found ($inc)" >&2; exit 1; }
rm -rf "$stage/include"; cp -r "$inc" "$stage/include"
cp -f "$target/release/libelastos_wasmtime.a" "$stage/lib/libelastos_wasmtime.a.tmp"
mv -f "$stage/lib/libelastos_wasmtime.a.tmp" "$stage/lib/libelastos_wasmtime.a"
