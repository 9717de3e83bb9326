#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped, so a warm machine pays ~1 s.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libssl-dev libsodium-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev sqlite3
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev llvm-14
  cargo rustc libstd-rust-dev-wasm32
  openssl xxd curl python3 iproute2 util-linux
  qemu-system-x86 linux-image-cloud-amd64 musl-tools   # vm capsules: QEMU microvm, guest kernel, static init
)
[ "${ELASTOS_SETUP_EXTRA:-}" ] && read -r -a extra <<<"$ELASTOS_SETUP_EXTRA" && PKGS+=("${extra[@]}")

missing=()
for p in "${PKGS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust toolchain used only to build Wasmtime's C API (needs a recent rustc; Debian's is 1.63).
if ! command -v rustup >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "setup: a recent Rust toolchain (rustup) is required to build Wasmtime's C API" >&2
  exit 1
fi
