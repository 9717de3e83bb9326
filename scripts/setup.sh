#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped, so a warm machine pays ~1 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

PKGS=(
  build-essential cmake ninja-build pkg-config
  libssl-dev libsodium-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev sqlite3
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev llvm-14
  rustc-web cargo-web rust-web-src lld-22   # current Rust (bookworm-security); wasm32-wasip1 std below
  openssl xxd curl python3 iproute2 util-linux
  qemu-system-x86 linux-image-cloud-amd64 musl-tools   # vm capsules: QEMU microvm, guest kernel, static init
  containerd runc libseccomp-dev protobuf-compiler   # the containerd shim (shim/, docs/containerd.md) and its tests
  libmicrohttpd-dev   # elastos-gateway: the HTTP front of `elastos serve --http` (docs/web.md)
  chromium   # the console's browser test (tests/browser/, playwright-core below)
)
# Node.js and npm for playwright-core, from Debian unless the machine has an npm already (e.g.
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
[ "${ELASTOS_SETUP_EXTRA:-}" ] && read -r -a extra <<<"$ELASTOS_SETUP_EXTRA" && PKGS+=("${extra[@]}")

missing=()
for p in "${PKGS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  # Debian's old Rust (1.63, target wasm32-wasi) conflicts with rustc-web: out in the same step.
  old=()
  for p in rustc cargo libstd-rust-dev-wasm32; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] && old+=("$p-")
  done
  echo "setup: installing ${missing[*]}${old:+ (removing ${old[*]%-})}" >&2
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" "${old[@]}" >/dev/null
fi

# playwright-core for the console's browser test (tests/browser/console.test.js drives Debian's
# chromium with it), installed from tests/browser/package-lock.json (pinned) into the cache once
# per lock file: a stamp check when done.
node_dir=${HOME}/.cache/elastos/node
lock_sum=$(sha256sum "$here/../tests/browser/package-lock.json" | cut -c1-16)
if [ "$(cat "$node_dir/.stamp" 2>/dev/null)" != "$lock_sum" ]; then
  mkdir -p "$node_dir"
  cp "$here/../tests/browser/package.json" "$here/../tests/browser/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null) && echo "$lock_sum" >"$node_dir/.stamp"
fi

# A wasm32-wasip1 std for that Rust, built once per compiler and cached (scripts/rust-wasm-std.sh;
# a stamp check when done).
bash "$here/rust-wasm-std.sh"

# Wasmtime's C API (rust-version 1.95) builds with rustup's toolchain when there is one
# (scripts/build-wasmtime.sh), else with Debian's rustc-web, which is new enough.
