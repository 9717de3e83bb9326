#!/usr/bin/env bash
# rust-wasm-std.sh - gives Debian's current Rust (rustc-web) a wasm32-wasip1 target, so that the
# plain `cargo build --target wasm32-wasip1 --release` works with no flags or variables.
#
# Debian ships rustc 1.96 without a wasm32 standard library. This script builds one from the
# Rust source Debian ships (rust-web-src, whose library/vendor holds std's dependencies, so no
# network is needed) with -Zbuild-std, caches the result per compiler (release + commit hash)
# in ~/.cache/elastos/rust-std-wasm32-wasip1/, and installs it into the compiler's sysroot laid
# out exactly as rustup lays out its own wasm32-wasip1 component:
#   <sysroot>/lib/rustlib/wasm32-wasip1/lib/*.rlib                 the std built here
#   <sysroot>/lib/rustlib/wasm32-wasip1/lib/self-contained/        Debian's wasi-libc objects
#                                                                  (crt1-*.o, libc.a), linked
#                                                                  by the target's self-contained
#                                                                  default
#   <sysroot>/lib/rustlib/<host>/bin/rust-lld -> lld-22            the target's default linker,
#                                                                  found there by rustc itself
# and an elastos-stamp naming the compiler it was built for. A second run with the same compiler
# only reads the stamp (milliseconds), so setup can call it on every build; a new compiler (a
# Debian security update) is detected by the stamp and gets a fresh std.
#
#   RUSTC, CARGO   the toolchain (default /usr/bin/rustc, /usr/bin/cargo)
#   WASI_LIBC      wasi-libc's directory (default /usr/lib/wasm32-wasi)
#   RUST_LLD       the lld to use as rust-lld (default /usr/lib/llvm-22/bin/lld)
#   ELASTOS_CACHE  default ~/.cache/elastos
# Writes the sysroot with sudo when it is not writable (setup runs as root on Debian).
set -euo pipefail

die() { echo "rust-wasm-std: $*" >&2; exit 1; }

RUSTC=${RUSTC:-/usr/bin/rustc}
CARGO=${CARGO:-/usr/bin/cargo}
WASI_LIBC=${WASI_LIBC:-/usr/lib/wasm32-wasi}
RUST_LLD=${RUST_LLD:-/usr/lib/llvm-22/bin/lld}
target=wasm32-wasip1

vv=$("$RUSTC" -vV) || die "$RUSTC does not run"
release=$(sed -n 's/^release: //p' <<<"$vv")
commit=$(sed -n 's/^commit-hash: //p' <<<"$vv")
host=$(sed -n 's/^host: //p' <<<"$vv")
sysroot=$("$RUSTC" --print sysroot)
dest=$sysroot/lib/rustlib/$target
stamp="rustc $release $commit"
[ "$(cat "$dest/elastos-stamp" 2>/dev/null)" = "$stamp" ] && exit 0

src=$sysroot/lib/rustlib/src/rust
[ -f "$src/library/Cargo.lock" ] || die "$src/library: not found (install rust-web-src)"
[ -f "$WASI_LIBC/crt1-command.o" ] || die "$WASI_LIBC/crt1-command.o: not found (install wasi-libc)"
[ -x "$RUST_LLD" ] || die "$RUST_LLD: not found (install lld-22)"
SUDO=""
if ! { [ -w "$sysroot/lib/rustlib" ] && { [ ! -e "$dest" ] || [ -w "$dest" ]; }; }; then
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
fi

# The linker and the C library first: the std build below links a program with them, which
# checks the whole arrangement before anything is installed as the target's std.
$SUDO mkdir -p "$dest/lib/self-contained" "$sysroot/lib/rustlib/$host/bin"
for f in crt1-command.o crt1-reactor.o libc.a; do
    $SUDO ln -sfn "$WASI_LIBC/$f" "$dest/lib/self-contained/$f"
done
$SUDO ln -sfn "$RUST_LLD" "$sysroot/lib/rustlib/$host/bin/rust-lld"

cache=${ELASTOS_CACHE:-$HOME/.cache/elastos}/rust-std-$target/$release-${commit:0:12}
if [ ! -f "$cache/ok" ]; then
    echo "rust-wasm-std: building the $target std for rustc $release (once, ~1 min)" >&2
    rm -rf "$cache"
    mkdir -p "$cache/seed/src" "$cache/lib"
    printf '[package]\nname = "elastos-std-seed"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n' \
        >"$cache/seed/Cargo.toml"
    printf 'fn main() {\n    println!("std ok");\n}\n' >"$cache/seed/src/main.rs"
    # std's dependencies from the vendored copies; -Cembed-bitcode=yes so user crates can use
    # lto (what rustup's prebuilt std does); -Zbuild-std is unstable, hence RUSTC_BOOTSTRAP.
    (cd "$cache/seed" &&
        RUSTC="$RUSTC" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" CARGO_TARGET_DIR="$cache/target" \
            "$CARGO" build --release --offline --target "$target" \
            -Zbuild-std=std,panic_abort,proc_macro,test \
            --config "source.crates-io.replace-with=\"rust-src-vendor\"" \
            --config "source.rust-src-vendor.directory=\"$src/library/vendor\"" \
            -q) || die "the $target std did not build (see above)"
    [ -f "$cache/target/$target/release/elastos-std-seed.wasm" ] || die "the $target std built no program"
    for f in "$cache/target/$target/release/deps"/lib*.rlib; do
        case ${f##*/} in libelastos_std_seed-*) continue ;; esac
        cp "$f" "$cache/lib/"
    done
    rm -rf "$cache/target"
    touch "$cache/ok"
fi

# Install: the old std out, this one in, the stamp last (so an interrupted run is redone).
$SUDO rm -f "$dest/elastos-stamp" "$dest"/lib/*.rlib
$SUDO cp "$cache"/lib/*.rlib "$dest/lib/"
printf '%s\n' "$stamp" | $SUDO tee "$dest/elastos-stamp" >/dev/null
