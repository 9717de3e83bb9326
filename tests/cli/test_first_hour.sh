#!/usr/bin/env bash
# The first hour of a new user and an operator (issue 14): a fresh home has a working shell
# (system trust store), doctor says what is missing, ranges and names, the daemon's flags and
# status, the conventions (-V, --json, completions, the man page), hints that say what to do.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
S=localhost://storage
cd "$WORK"

# --- a fresh home: the shipped shell decides without trusting anything by hand ------------------
check '[ -f "$B/share/elastos/trust/publishers" ] && [ "$(stat -c %a "$B/share/elastos/trust/publishers")" = 644 ]'
expect 0 "$E" trust list
contains "$WORK/out" "elastos-shell (system, read-only)"
lacks "$WORK/out" "$(cat "$B/keys/publisher.pub")"            # the dev key is NOT system-trusted
expect 77 "$E" verify "$B/capsules/hello.capsule"                  # so the examples are refused
expect 0 "$E" verify "$B/capsules/shell.capsule"                   # and the shell is accepted
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust add build"
expect 0 "$E" run "$CT" -- req "$S/a.txt" write </dev/null
contains "$WORK/out" "req: error denied shell: no policy rule matches"   # the shell ran and decided
lacks "$WORK/out" "no usable shell"
PK=$(cat "$B/keys/publisher.pub")
mkdir -p "$ELASTOS_HOME/shell"
printf 'allow captest@%s %s/* write\n' "$PK" "$S" >"$ELASTOS_HOME/shell/policy"
expect 0 "$E" run "$CT" -- req "$S/a.txt" write </dev/null
contains "$WORK/out" "req: ok"
rm "$ELASTOS_HOME/shell/policy"
# The system store cannot be removed from a home, and says where it is.
expect 78 "$E" trust remove "$(sed -n 's/^\(ed25519:[0-9a-f]*\) .*/\1/p' "$B/share/elastos/trust/publishers")"
expect_err_line; contains "$WORK/err" "system trust store"
# doctor: all fine here, apart from notes.
expect 0 "$E" doctor
contains "$WORK/out" "ok    shell: "
contains "$WORK/out" "ok    system trust: "
contains "$WORK/out" "nothing to fix"

# A relocated install whose system store others can write: ignored, and doctor says how to fix it.
P=$WORK/prefix
mkdir -p "$P/bin" "$P/share/elastos/trust"
cp "$E" "$P/bin/elastos"; cp "$B/capsules/shell.capsule" "$P/share/elastos/shell.capsule"
cp "$B/share/elastos/trust/publishers" "$P/share/elastos/trust/publishers"
chmod 755 "$P/share/elastos/trust"; chmod 644 "$P/share/elastos/trust/publishers"
ELASTOS_HOME=$WORK/h2 expect 0 "$P/bin/elastos" verify "$P/share/elastos/shell.capsule"
chmod g+w "$P/share/elastos/trust/publishers"
ELASTOS_HOME=$WORK/h2 expect 77 "$P/bin/elastos" verify "$P/share/elastos/shell.capsule"
ELASTOS_HOME=$WORK/h2 expect 78 "$P/bin/elastos" doctor
contains "$WORK/out" "FIX   system trust: $P/share/elastos/trust/publishers: ignored: it (or its directory) is writable by others"
contains "$WORK/out" "FIX   shell: "
contains "$WORK/out" "elastos trust add ed25519:"
# The hint is whole: the full 64-hex key, twice, in one line.
ELASTOS_HOME=$WORK/h2 expect 77 "$P/bin/elastos" verify "$B/capsules/hello.capsule"; expect_err_line
check 'grep -Eq "publisher ed25519:[0-9a-f]{64} is not trusted \(add it with: elastos trust add ed25519:[0-9a-f]{64}\)$" "$WORK/err"'
# A capability request there is denied with a reason that names the fix (not a cut-off key).
ELASTOS_HOME=$WORK/h2 "$P/bin/elastos" trust add "$B/keys/publisher.pub" >/dev/null 2>&1
ELASTOS_HOME=$WORK/h2 expect 0 "$P/bin/elastos" run "$CT" -- req "$S/a.txt" write </dev/null
contains "$WORK/out" "no usable shell capsule (its publisher is not trusted; run elastos doctor for why and the fix)"

# --- trust remove NAME, trust list --json -------------------------------------------------------
"$E" keygen --out "$WORK/k" >/dev/null 2>&1
expect 0 "$E" trust add "$WORK/k/publisher.pub" --name alice
expect 0 "$E" trust list --json
check 'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert any(e[\"name\"]==\"alice\" and e[\"store\"]==\"home\" for e in v) and any(e[\"store\"]==\"system\" for e in v)" "$WORK/out"'
expect 0 "$E" trust remove alice
expect 0 "$E" trust list; lacks "$WORK/out" "alice"
expect 66 "$E" trust remove alice; expect_err_line; contains "$WORK/err" "no trusted publisher named \"alice\""

# --- versions: partial ranges, names vs directories, rm NAME[@VERSION] ---------------------------
"$E" trust add "$WORK/k/publisher.pub" --name alice >/dev/null 2>&1
for v in 1.0.0 1.2.3 1.3.0 2.0.0; do
    rm -rf "$WORK/st"; cp -r "$B/capsules/hello.stage" "$WORK/st"
    python3 - "$WORK/st/capsule.json" "$v" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["name"] = "greet"; m["version"] = sys.argv[2]
json.dump(m, open(sys.argv[1], "w"))
PY
    "$E" pack "$WORK/st" --key "$WORK/k/publisher.key" -o "$WORK/greet-$v.capsule" >/dev/null 2>&1 || bad "pack $v"
    "$E" install "$WORK/greet-$v.capsule" >/dev/null 2>&1 || bad "install $v"
done
runs_version() { # runs greet@RANGE and checks which version ran (ELASTOS_CAPSULE_NAME is the name;
    # the version shows in inspect of the resolved path, so ask `run` through ls order instead)
    expect 0 "$E" run "greet@$1" </dev/null
    contains "$WORK/out" "hello from greet"
}
for r in '^1.0' '1' '~1.2' '1.2' '^1' '>=1.2' '<2' '2' '=1.3' '^2.0'; do runs_version "$r"; done
expect 66 "$E" run 'greet@~1.4' </dev/null; expect_err_line
expect 66 "$E" run 'greet@3' </dev/null; expect_err_line
expect 64 "$E" run 'greet@1.x' </dev/null; expect_err_line
# A same-named directory does not hide the installed capsule.
mkdir greet
expect 0 "$E" run greet </dev/null; contains "$WORK/out" "hello from greet"
expect 0 "$E" verify greet
contains "$WORK/out" "verified greet 2.0.0"
expect 0 "$E" verify greet@1.2
contains "$WORK/out" "verified greet 1.2.3"
# ... and a path is a path: with a '/', or ending in .capsule.
expect 65 "$E" run ./greet </dev/null; expect_err_line; contains "$WORK/err" "./greet: not a regular file"
expect 66 "$E" run nothere.capsule </dev/null; expect_err_line; contains "$WORK/err" "nothere.capsule: no such file"
expect 0 "$E" rm greet@1.0.0; contains "$WORK/err" "removed greet 1.0.0"
expect 66 "$E" rm greet@1.0.0; expect_err_line
expect 0 "$E" ls --json
check 'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert sorted(e[\"version\"] for e in v if e[\"name\"]==\"greet\")==[\"1.2.3\",\"1.3.0\",\"2.0.0\"]" "$WORK/out"'
expect 0 "$E" rm greet
expect 0 "$E" ls --json; check '[ "$(cat "$WORK/out")" = "[]" ]'
rmdir greet

# --- hints --------------------------------------------------------------------------------------
expect 64 "$E" run "$B/capsules/hello.capsule" count </dev/null; expect_err_line
contains "$WORK/err" "capsule arguments go after --, as in elastos run $B/capsules/hello.capsule -- count"
expect 64 "$E" pack "$WORK/st" --key "$WORK/k/publisher.pub"; expect_err_line
contains "$WORK/err" "is a public key; pass the secret .key file"
expect 64 "$E" run "$B/capsules/md-doc.capsule" </dev/null; expect_err_line
contains "$WORK/err" "is a data capsule: it is opened, not run (elastos open "
# Grants take a list of actions.
GR="$S/*:read,write,delete"
expect 0 "$E" run --grant "$GR" "$CT" -- fs </dev/null; contains "$WORK/out" "fs: ok"
expect 64 "$E" run --grant "$S/*:read,,write" "$CT" -- fs </dev/null; expect_err_line
expect 64 "$E" run --grant "$S/*:read,bogus" "$CT" -- fs </dev/null; expect_err_line

# --- crash reports: the trap kind first, one line, named frames ---------------------------------
expect 134 "$E" run "$B/capsules/probe.capsule" -- trap </dev/null; expect_err_line
contains "$WORK/err" "elastos: capsule probe crashed: unreachable executed (a Rust panic, or abort() in C) at "
lacks "$WORK/err" "?"
# proc_exit(200): WASI reserves 126-255; said so plainly (README documents the rule).
mkdir -p "$WORK/ex"
printf '#include <stdlib.h>\nint main(void) { exit(200); }\n' >"$WORK/ex.c"
clang-14 --target=wasm32-wasi -O2 "$WORK/ex.c" -o "$WORK/ex/m.wasm" || bad "build ex"
printf '{"name":"ex","version":"1.0.0","type":"wasm","entry":"m.wasm"}' >"$WORK/ex/capsule.json"
"$E" pack "$WORK/ex" --key "$WORK/k/publisher.key" -o "$WORK/ex.capsule" >/dev/null 2>&1 || bad "pack ex"
expect 134 "$E" run "$WORK/ex.capsule" </dev/null; expect_err_line
contains "$WORK/err" "capsule ex crashed: exit status outside 0-125 (WASI reserves 126-255: exit with a lower status) at "

# A memory_mb below the module's own minimum says so, with the number to use (65).
mkdir -p "$WORK/mm"
printf 'int main(void) { return 0; }\n' >"$WORK/mm.c"
clang-14 --target=wasm32-wasi -O2 "$WORK/mm.c" -Wl,--initial-memory=2097152 -o "$WORK/mm/m.wasm" || bad "build mm"
printf '{"name":"mm","version":"1.0.0","type":"wasm","entry":"m.wasm","resource_limits":{"memory_mb":1}}' >"$WORK/mm/capsule.json"
# pack knows it already (65, nothing written): the runtime's own check (el_wasm_check).
expect 65 "$E" pack "$WORK/mm" --key "$WORK/k/publisher.key" -o "$WORK/mm.capsule"; expect_err_line
contains "$WORK/err" "elastos: pack: $WORK/mm/m.wasm: memory_mb 1 is below the module's minimum of 32 pages (2.0 MiB): raise resource_limits.memory_mb to 2"
check '[ ! -e "$WORK/mm.capsule" ] && [ -z "$(ls "$WORK" | grep "mm.capsule.tmp")" ]'
# At run time the same check: memory_mb 2 packs, and an operator ceiling of 1 makes it too small.
printf '{"name":"mm","version":"1.0.0","type":"wasm","entry":"m.wasm","resource_limits":{"memory_mb":2}}' >"$WORK/mm/capsule.json"
"$E" pack "$WORK/mm" --key "$WORK/k/publisher.key" -o "$WORK/mm.capsule" >/dev/null 2>&1 || bad "pack mm"
mkdir -p "$ELASTOS_HOME/config" && echo '{"memory_mb": 1}' >"$ELASTOS_HOME/config/limits.json"
expect 65 "$E" run "$WORK/mm.capsule" </dev/null; expect_err_line
contains "$WORK/err" "capsule mm cannot start: memory_mb 1 is below the module's minimum of 32 pages (2.0 MiB): raise resource_limits.memory_mb to 2"
rm "$ELASTOS_HOME/config/limits.json"

# pack refuses a wasm entry importing what the runtime does not provide, naming the import (65);
# and one that is not wasm at all, in one readable line.
mkdir -p "$WORK/imp"
printf 'extern int foo(void) __attribute__((import_module("env"), import_name("foo")));\nint main(void) { return foo(); }\n' >"$WORK/imp.c"
clang-14 --target=wasm32-wasi -O2 "$WORK/imp.c" -o "$WORK/imp/m.wasm" || bad "build imp"
printf '{"name":"imp","version":"1.0.0","type":"wasm","entry":"m.wasm"}' >"$WORK/imp/capsule.json"
expect 65 "$E" pack "$WORK/imp" --key "$WORK/k/publisher.key" -o "$WORK/imp.capsule"; expect_err_line
contains "$WORK/err" "m.wasm: it imports env::foo, which the runtime does not provide"
check '[ ! -e "$WORK/imp.capsule" ]'
echo 'not wasm' >"$WORK/imp/m.wasm"
expect 65 "$E" pack "$WORK/imp" --key "$WORK/k/publisher.key" -o "$WORK/imp.capsule"; expect_err_line
contains "$WORK/err" "not a valid wasm module: failed to parse WebAssembly module Caused by: magic header not detected"
lacks "$WORK/err" "?"

# --- serve: validated flags, the ready line, --status, --stop ----------------------------------
for bad_flag in "--max-running abc" "--max-running 99999999999" "--max-running 0" "--max-running -1" \
    "--calls-per-sec x" "--log-kib 999999999" "--max-running" "--ready-fd 1x" "--bogus"; do
    # shellcheck disable=SC2086
    expect 64 timeout 10 "$E" serve $bad_flag; expect_err_line
done
expect 64 timeout 10 "$E" serve --max-running 99999999999
contains "$WORK/err" "--max-running 99999999999 is out of range (want an integer from 1 to 4096)"
expect 64 timeout 10 "$E" serve --max-running abc
contains "$WORK/err" "--max-running \"abc\" is not a number"
expect 66 "$E" serve --status; expect_err_line; contains "$WORK/err" "no daemon is running on"
expect 66 "$E" serve --stop; expect_err_line
"$E" serve --max-running 8 >"$WORK/serve.out" 2>"$WORK/serve.err" &
DPID=$!
expect 0 "$E" serve --status --wait 60
contains "$WORK/out" "elastos serve: running on $ELASTOS_HOME/serve.sock (pid $DPID), 0 instances (0 running)"
contains "$WORK/serve.out" "elastos serve: ready on $ELASTOS_HOME/serve.sock (pid $DPID)"
# ID prefixes, wait, logs -f, ps start time and uptime.
ST=$B/capsules/servetest.capsule
expect 0 "$E" run --detach "$ST" -- hello; ID=$(cat "$WORK/out")
expect 0 "$E" wait "${ID:0:8}"
contains "$WORK/out" "$ID exited 0"
expect 0 "$E" logs "${ID:0:6}"; contains "$WORK/out" "hello from servetest"
expect 0 "$E" run --detach "$ST" -- heartbeat; HB=$(cat "$WORK/out")
expect 0 "$E" ps
check 'grep -q "STARTED  *UPTIME" "$WORK/out" && grep "^$HB" "$WORK/out" | grep -Eq "running  *-  *20[0-9-]+T[0-9:]+Z  *[0-9]+s"'
(sleep 1; "$E" stop "$HB" >/dev/null 2>&1) &
STOPPER=$!
expect 0 timeout 30 "$E" logs -f "${HB:0:10}"
check '[ "$(grep -c "^beat " "$WORK/out")" -ge 10 ]'
check '[ "$(grep "^beat " "$WORK/out" | sort | uniq -d | wc -l)" = 0 ]'   # nothing printed twice
wait "$STOPPER"
expect 66 "$E" logs ffffffffffff; expect_err_line
expect 64 "$E" wait XYZ; expect_err_line
# an ambiguous prefix: the empty-ish common prefix of two ids is refused (64), not guessed
P2=$(python3 -c "import os,sys; a,b=sys.argv[1],sys.argv[2]; print(os.path.commonprefix([a,b]))" "$ID" "$HB")
if [ -n "$P2" ]; then expect 64 "$E" logs "$P2"; expect_err_line; contains "$WORK/err" "ambiguous"; fi
expect 0 "$E" serve --stop
contains "$WORK/out" "elastos serve: stopped the daemon (pid $DPID)"
wait "$DPID"; check '[ $? = 0 ]'
contains "$WORK/serve.out" "elastos serve: stopped (pid $DPID)"
check '! kill -0 "$DPID" 2>/dev/null'

# --- conventions: -V, --json, completions, the man page ----------------------------------------
expect 0 "$E" -V; contains "$WORK/out" "elastos 0."
expect 64 "$E" --bogus; expect_err_line; contains "$WORK/err" "unknown option"
expect 0 "$E" verify "$B/capsules/shell.capsule" --json
check 'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert v[\"verified\"] and v[\"name\"]==\"shell\"" "$WORK/out"'
expect 0 "$E" tokens list --all --json
check 'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert isinstance(v, list) and all(\"uses\" in t and \"state\" in t for t in v) and len(v) > 0" "$WORK/out"'
expect 0 "$E" audit verify --json
check 'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert v[\"intact\"] and v[\"records\"] > 0" "$WORK/out"'
for sh in bash zsh fish; do expect 0 "$E" completion "$sh"; check '[ -s "$WORK/out" ]'; done
expect 64 "$E" completion tcsh; expect_err_line
"$E" completion bash >"$WORK/comp.bash"
check 'bash -c "source \"$WORK/comp.bash\" && complete -p elastos" | grep -q "_elastos"'
check 'bash -c "source \"$WORK/comp.bash\"; COMP_WORDS=(elastos ser); COMP_CWORD=1; _elastos; echo \${COMPREPLY[*]}" | grep -qw serve'
check 'bash -c "source \"$WORK/comp.bash\"; COMP_WORDS=(elastos serve --max); COMP_CWORD=2; _elastos; echo \${COMPREPLY[*]}" | grep -qw -- --max-running'
check '[ -f "$B/share/man/man1/elastos.1" ]'
MANWIDTH=100 man -l "$B/share/man/man1/elastos.1" >"$WORK/man.txt" 2>"$WORK/man.err" </dev/null
check '[ ! -s "$WORK/man.err" ]'
contains "$WORK/man.txt" "elastos serve [--max-running N]"
contains "$WORK/man.txt" "EXIT STATUS"
# The man page is the --help text: every command's usage line is in it.
"$E" --help | sed -n 's/^  elastos \([a-z-]*\) .*/\1/p; s/^  elastos \([a-z-]*\)$/\1/p' | sort -u >"$WORK/cmds"
while read -r c; do [ "$c" = help ] && continue; grep -q "elastos $c" "$WORK/man.txt" && ok || bad "man page lacks $c"; done <"$WORK/cmds"
finish
