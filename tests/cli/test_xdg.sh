#!/usr/bin/env bash
# XDG base directories (issue 14): without ELASTOS_HOME, state in $XDG_DATA_HOME/elastos, the
# operator's config files read from $XDG_CONFIG_HOME/elastos and caches (compiled code) written to
# $XDG_CACHE_HOME/elastos, with the ~/.local/share, ~/.config and ~/.cache defaults; an old home's
# config/ and cache/ moved there once; with ELASTOS_HOME set, everything stays in it; an unsafe
# config or cache directory is refused like an unsafe home.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
HELLO=$B/capsules/hello.capsule
unset ELASTOS_HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME
cd "$WORK"
el() { HOME=$U "$E" "$@"; }

# --- the defaults under $HOME ---------------------------------------------------------------------
U=$WORK/u; mkdir -p "$U"
expect 0 el doctor
contains "$WORK/out" "ok    home: $U/.local/share/elastos"
contains "$WORK/out" "ok    config: $U/.config/elastos (egress, limits.json, shell)"
contains "$WORK/out" "ok    cache: $U/.cache/elastos"
expect 0 el trust add "$B/keys/publisher.pub" --name build
mkdir -p "$U/.config/elastos" && echo '{"memory_mb": 16}' >"$U/.config/elastos/limits.json"
expect 0 el inspect "$HELLO"
contains "$WORK/out" "lowered by config/limits.json"                  # read from ~/.config/elastos
expect 0 el run "$HELLO" </dev/null
contains "$WORK/out" "hello from hello"
check 'ls "$U"/.cache/elastos/wasm/*.cwasm >/dev/null 2>&1'            # compiled code cached there
check '[ ! -e "$U/.local/share/elastos/cache" ] && [ ! -e "$U/.local/share/elastos/config" ]'
check '[ -f "$U/.local/share/elastos/trust/publishers" ]'             # state stays in the home

# --- the XDG variables -----------------------------------------------------------------------------
X=$WORK/x
el_x() { HOME=$U XDG_DATA_HOME=$X/data XDG_CONFIG_HOME=$X/config XDG_CACHE_HOME=$X/cache "$E" "$@"; }
expect 0 el_x doctor
contains "$WORK/out" "home: $X/data/elastos"
contains "$WORK/out" "config: $X/config/elastos "
contains "$WORK/out" "cache: $X/cache/elastos"
expect 0 el_x trust add "$B/keys/publisher.pub"
expect 0 el_x run "$HELLO" </dev/null
check 'ls "$X"/cache/elastos/wasm/*.cwasm >/dev/null 2>&1'
expect 0 el_x inspect "$HELLO"
lacks "$WORK/out" "lowered by"                                        # ~/.config/elastos is not this setup's

# --- migration: an old home's config/ and cache/ move to the XDG places, once ----------------------
M=$WORK/m; mkdir -p "$M/.local/share/elastos/config" "$M/.local/share/elastos/cache/wasm"
chmod 700 "$M/.local/share/elastos"
echo '{"cpu_ms": 1234}' >"$M/.local/share/elastos/config/limits.json"
echo stale >"$M/.local/share/elastos/cache/wasm/old.cwasm"
HOME=$M expect 0 "$E" inspect "$HELLO"
contains "$WORK/out" "lowered by config/limits.json"
check '[ "$(cat "$M/.config/elastos/limits.json")" = "{\"cpu_ms\": 1234}" ] && [ ! -e "$M/.local/share/elastos/config" ]'
check '[ -f "$M/.cache/elastos/wasm/old.cwasm" ] && [ ! -e "$M/.local/share/elastos/cache" ]'
# A second old config/ appearing later is not merged over the new one: the XDG one is used.
mkdir -p "$M/.local/share/elastos/config" && echo '{"cpu_ms": 99}' >"$M/.local/share/elastos/config/limits.json"
HOME=$M expect 0 "$E" doctor
contains "$WORK/out" "config: $M/.config/elastos "
check '[ "$(cat "$M/.config/elastos/limits.json")" = "{\"cpu_ms\": 1234}" ]'

# --- ELASTOS_HOME set: one directory holds everything, as before -----------------------------------
export ELASTOS_HOME=$WORK/eh
expect 0 el doctor
contains "$WORK/out" "config: $ELASTOS_HOME/config "
contains "$WORK/out" "cache: $ELASTOS_HOME/cache"
unset ELASTOS_HOME

# --- an unsafe config or cache directory is refused (78), like an unsafe home ------------------------
chmod g+w "$U/.config/elastos"
expect 78 el trust list; expect_err_line
contains "$WORK/err" "$U/.config/elastos is writable by its group"
chmod g-w "$U/.config/elastos"
chmod o+w "$U/.cache/elastos"
expect 78 el run "$HELLO"; expect_err_line
contains "$WORK/err" "$U/.cache/elastos is writable by others"
chmod o-w "$U/.cache/elastos"
expect 0 el trust list
finish
