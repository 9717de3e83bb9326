#!/usr/bin/env bash
# Installable (issue 14): `cmake --install` to a prefix, and the .deb (cpack) unpacked into a
# scratch root with dpkg -x; both run from there: --version, doctor (the shipped shell trusted
# through the installed, read-only system trust store), the man page, and a capsule built with the
# installed C guest SDK through pkg-config, packed and run with the installed elastos.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
P=$WORK/prefix

expect 0 cmake --install "$B" --prefix "$P"
for f in bin/elastos lib/elastos/elastos-vm-init share/elastos/shell.capsule share/elastos/trust/publishers \
    share/elastos/capsules/hello.capsule share/man/man1/elastos.1 share/elastos/wasm32-wasi/include/elastos/guest.h \
    share/elastos/wasm32-wasi/lib/libelastos-guest.a share/pkgconfig/elastos-guest.pc \
    lib/cmake/ElastosGuest/ElastosGuestConfig.cmake lib/systemd/user/elastos.service \
    share/bash-completion/completions/elastos; do
    check "[ -f '$P/$f' ]"
done
check '[ "$(stat -c %a "$P/share/elastos/trust/publishers")" = 644 ] && [ "$(stat -c %a "$P/share/elastos/trust")" = 755 ]'
grep -q "^ExecStart=$P/bin/elastos serve$" "$P/lib/systemd/user/elastos.service" && ok || bad "unit ExecStart"
expect 0 "$P/bin/elastos" --version; contains "$WORK/out" "elastos 0."
ELASTOS_HOME=$WORK/h1 expect 0 "$P/bin/elastos" doctor
contains "$WORK/out" "ok    shell: $P/share/elastos/shell.capsule (publisher elastos-shell)"
contains "$WORK/out" "ok    system trust: $P/share/elastos/trust/publishers (1 publisher, read-only)"
MANWIDTH=80 man -l "$P/share/man/man1/elastos.1" >"$WORK/man" 2>"$WORK/man.err" </dev/null
check '[ ! -s "$WORK/man.err" ]'; contains "$WORK/man" "elastos doctor"
check 'bash -c "source \"$P/share/bash-completion/completions/elastos\" && complete -p elastos" >/dev/null'

# A capsule built against the installed SDK (pkg-config), packed and run with the installed tool.
mkdir -p "$WORK/cap"
cat >"$WORK/cap/main.c" <<'C'
#include <elastos/guest.h>
#include <stdio.h>
int main(void)
{
    CapsuleInfo info;
    if (elastos_capsule_info(&info) != 0)
        return 2;
    printf("installed sdk: %s\n", info.name);
    return 0;
}
C
printf '{"name":"sdkcheck","version":"1.0.0","type":"wasm","entry":"main.wasm"}\n' >"$WORK/cap/capsule.json"
flags=$(PKG_CONFIG_PATH=$P/share/pkgconfig pkg-config --cflags --libs elastos-guest)
check '[ -n "$flags" ]'
# shellcheck disable=SC2086
expect 0 clang-14 --target=wasm32-wasi -O2 "$WORK/cap/main.c" $flags -o "$WORK/cap/main.wasm"
export ELASTOS_HOME=$WORK/h2
"$P/bin/elastos" keygen --out "$WORK/keys" >/dev/null 2>&1
expect 0 "$P/bin/elastos" pack "$WORK/cap" --key "$WORK/keys/publisher.key" -o "$WORK/sdk.capsule"
expect 0 "$P/bin/elastos" trust add "$WORK/keys/publisher.pub" --name me
expect 0 "$P/bin/elastos" run "$WORK/sdk.capsule" </dev/null
contains "$WORK/out" "installed sdk: sdkcheck"
# find_package(ElastosGuest) from the prefix.
mkdir -p "$WORK/cm"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(p NONE)\nfind_package(ElastosGuest REQUIRED)\nmessage(STATUS "guest=${ELASTOS_GUEST_INCLUDE_DIR} elastos=${ELASTOS_EXECUTABLE}")\n' >"$WORK/cm/CMakeLists.txt"
expect 0 cmake -S "$WORK/cm" -B "$WORK/cm/b" -DCMAKE_PREFIX_PATH="$P"
contains "$WORK/out" "guest=$P/share/elastos/wasm32-wasi/include elastos=$P/bin/elastos"

# The .deb: built by cpack, unpacked into a scratch root, run from there.
mkdir -p "$WORK/pkg"
expect 0 cpack -G DEB --config "$B/CPackConfig.cmake" -B "$WORK/pkg"
deb=$(ls "$WORK"/pkg/elastos_*.deb 2>/dev/null | head -1)
check '[ -f "$deb" ]'
expect 0 dpkg-deb -I "$deb"; contains "$WORK/out" "Package: elastos"; contains "$WORK/out" "Depends: libc6"
expect 0 dpkg-deb -c "$deb"
contains "$WORK/out" "-rw-r--r-- root/root"
contains "$WORK/out" "./usr/share/elastos/trust/publishers"
contains "$WORK/out" "./usr/bin/elastos"
expect 0 dpkg -x "$deb" "$WORK/root"
expect 0 "$WORK/root/usr/bin/elastos" --version; contains "$WORK/out" "elastos 0."
ELASTOS_HOME=$WORK/h3 expect 0 "$WORK/root/usr/bin/elastos" doctor
contains "$WORK/out" "ok    shell: $WORK/root/usr/share/elastos/shell.capsule (publisher elastos-shell)"
ELASTOS_HOME=$WORK/h3 expect 77 "$WORK/root/usr/bin/elastos" verify "$WORK/root/usr/share/elastos/capsules/hello.capsule"
finish
