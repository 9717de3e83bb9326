#!/usr/bin/env bash
# containerd-shim-elastos-v1 under a real containerd (Debian's package), started here with its own
# root, state and socket in the test's directory: `elastos oci pack` images imported with
# `ctr image import` and run with `ctr run --runtime io.containerd.elastos.v1`. A signed capsule
# runs and its output and exit status arrive; unsigned, tampered, CID-mismatched and untrusted
# images are refused before anything runs; a memory bomb is stopped by its manifest's limit;
# pod annotations grant and narrow only within the manifest; `ctr task kill` and
# `ctr task delete --force` stop a running capsule; the node's audit records all of it.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
SHIM=$B/bin/containerd-shim-elastos-v1
HERE=$(cd "$(dirname "$0")" && pwd)
for t in containerd ctr python3; do command -v "$t" >/dev/null || { bad "$t is not installed (scripts/setup.sh installs it)"; finish; exit; }; done
check '[ -x "$SHIM" ]'
check '[ "$(id -u)" = 0 ]'   # containerd and its tasks need root

# --- the node: its state ($ELASTOS_HOME, trusting the build's publisher) and its containerd -------
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
C=$WORK/ctrd NS=elastos-test-$$
mkdir -p "$C/bin"
ln -s "$SHIM" "$C/bin/containerd-shim-elastos-v1"
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/c.sock"
[ttrpc]
  address = "$C/c.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
EOF
# containerd finds the shim on its PATH and passes its environment (ELASTOS_HOME) to it.
PATH="$C/bin:$PATH" containerd --config "$C/config.toml" >"$C/log" 2>&1 &
CTRD=$!
trap 'kill $CTRD 2>/dev/null; wait $CTRD 2>/dev/null; rm -rf "$WORK"' EXIT
ctr() { command ctr -a "$C/c.sock" -n "$NS" "$@"; }
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
check 'ctr version >/dev/null 2>&1' || { cat "$C/log" >&2; finish; exit; }
RT=(--runtime io.containerd.elastos.v1 --platform wasip1/wasm)
# crun ID IMAGE ARGS...: ctr run --rm, output in $WORK/out and $WORK/err, exit status checked by expect.
crun() { local id=$1 img=$2; shift 2; ctr run --rm "${RT[@]}" "$img" "$id" "$@" </dev/null; }

# --- a signed capsule: pack, import, run; output and exit status arrive --------------------------
expect 0 "$E" oci pack "$B/capsules/hello.capsule" -o "$WORK/hello.tar"
HELLO_CID=$("$E" cid "$B/capsules/hello.capsule")
check '[ "$(cat "$WORK/out")" = "elastos.local/hello:1.0.0 $HELLO_CID" ]'
tar tf "$WORK/hello.tar" >"$WORK/members" || bad "tar tf"
check 'grep -qx index.json "$WORK/members" && grep -qx oci-layout "$WORK/members"'
expect 0 ctr image import --all-platforms "$WORK/hello.tar"
expect 0 ctr image ls -q; contains "$WORK/out" "elastos.local/hello:1.0.0"
expect 0 crun t-hello elastos.local/hello:1.0.0 hello alpha "two words"
contains "$WORK/out" "hello from hello (instance "
contains "$WORK/out" "arg[1] = alpha"
contains "$WORK/out" "arg[2] = two words"
expect 3 crun t-exit3 elastos.local/hello:1.0.0 hello exit=3
expect 42 crun t-exit42 elastos.local/hello:1.0.0 hello exit=42
# Bad pack input: one clear line, nothing written.
expect 64 "$E" oci pack "$B/capsules/hello.capsule"; expect_err_line
expect 66 "$E" oci pack "$WORK/none.capsule" -o "$WORK/none.tar"; expect_err_line
check '[ ! -e "$WORK/none.tar" ]'

# --- refused before anything runs (77), each with one line on the task's stderr ------------------
refused() { # ID IMAGE-TAR REF WHAT
    expect 0 ctr image import --all-platforms "$2"
    expect 77 crun "$1" "$3" hello
    contains "$WORK/err" "elastos: refused: "
    contains "$WORK/err" "$4"
    lacks "$WORK/out" "hello from"
}
# Untrusted: a publisher the node does not trust.
"$E" keygen --out "$WORK/other" >/dev/null 2>&1 || bad keygen
"$E" pack "$B/capsules/hello.stage" --key "$WORK/other/publisher.key" -o "$WORK/untrusted.capsule" >/dev/null 2>&1 || bad "pack untrusted"
expect 0 "$E" oci pack "$WORK/untrusted.capsule" -o "$WORK/untrusted.tar" --name elastos.local/untrusted:1
refused t-untrusted "$WORK/untrusted.tar" elastos.local/untrusted:1 "not trusted"
# Tampered: one byte of the artifact flipped (every OCI digest made consistent again).
python3 "$HERE/oci_edit.py" "$WORK/hello.tar" "$WORK/tampered.tar" --flip 600 --name elastos.local/tampered:1 || bad oci_edit
refused t-tampered "$WORK/tampered.tar" elastos.local/tampered:1 "signature"
# Unsigned: the capsule's files as a plain tar, no signature.
tar -C "$B/capsules/hello.stage" -cf "$WORK/unsigned.capsule" . || bad "tar unsigned"
python3 "$HERE/oci_edit.py" "$WORK/hello.tar" "$WORK/unsigned.tar" --layer "$WORK/unsigned.capsule" --name elastos.local/unsigned:1 || bad oci_edit
refused t-unsigned "$WORK/unsigned.tar" elastos.local/unsigned:1 "signature"
# A valid, trusted artifact that is not the one the image announces (annotation of another CID).
PROBE_CID=$("$E" cid "$B/capsules/probe.capsule")
python3 "$HERE/oci_edit.py" "$WORK/hello.tar" "$WORK/swapped.tar" --cid "$PROBE_CID" --name elastos.local/swapped:1 || bad oci_edit
refused t-swapped "$WORK/swapped.tar" elastos.local/swapped:1 "is not the image's $PROBE_CID"

# --- limits: the manifest's memory limit stops a bomb; an annotation narrows, never widens -------
expect 0 "$E" oci pack "$B/capsules/probe.capsule" -o "$WORK/probe.tar"
expect 0 ctr image import --all-platforms "$WORK/probe.tar"
expect 137 crun t-bomb elastos.local/probe:0.1.0 probe bomb
contains "$WORK/err" "memory limit of 32 MiB reached"
expect 64 ctr run --rm "${RT[@]}" --annotation elastos.io/limits=memory_mb=4096 elastos.local/probe:0.1.0 t-bomb2 probe bomb </dev/null
contains "$WORK/err" "only narrow"
expect 137 ctr run --rm "${RT[@]}" --annotation elastos.io/limits=wall_ms=300 elastos.local/probe:0.1.0 t-narrow probe spin </dev/null
contains "$WORK/err" "wall-clock limit of 300 ms"
expect 64 ctr run --rm "${RT[@]}" --annotation elastos.io/limits=disk=1 elastos.local/probe:0.1.0 t-badlim probe ping </dev/null
contains "$WORK/err" "unknown limit 'disk'"

# --- grants from annotations: pre-authorize within the manifest, refuse anything wider -----------
S=localhost://storage
expect 0 "$E" oci pack "$B/capsules/captest.capsule" -o "$WORK/captest.tar"
expect 0 ctr image import --all-platforms "$WORK/captest.tar"
expect 0 ctr run --rm "${RT[@]}" --annotation "elastos.io/grant=$S/*:read,write" elastos.local/captest:1.0.0 t-grant \
    captest req "$S/notes.txt" write write "$S/notes.txt" "from a pod" </dev/null
contains "$WORK/out" "write: ok"
check '[ "$(cat "$ELASTOS_HOME"/storage/captest@*/notes.txt)" = "from a pod" ]'
expect 64 ctr run --rm "${RT[@]}" --annotation "elastos.io/grant=localhost://secrets/*:read" elastos.local/captest:1.0.0 t-widen \
    captest ping </dev/null
contains "$WORK/err" "elastos: refused: "
lacks "$WORK/out" "ping: ok"

# --- a running capsule is stopped by ctr task kill (137, audited) and by ctr task delete --force --
cp -r "$B/capsules/probe.stage" "$WORK/long"
sed -i 's/"name": "probe"/"name": "longprobe"/; s/"wall_ms": 2000/"wall_ms": 120000/' "$WORK/long/capsule.json"
"$E" pack "$WORK/long" --key "$B/keys/publisher.key" -o "$WORK/long.capsule" >/dev/null 2>&1 || bad "pack long"
expect 0 "$E" oci pack "$WORK/long.capsule" -o "$WORK/long.tar"
expect 0 ctr image import --all-platforms "$WORK/long.tar"
running() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id && $3 == "RUNNING"' | grep -q .; }
ctr run --rm "${RT[@]}" elastos.local/longprobe:0.1.0 t-kill longprobe spin </dev/null >"$WORK/kill.out" 2>"$WORK/kill.err" &
RUNPID=$!
for _ in $(seq 150); do running t-kill && break; sleep 0.2; done
check 'running t-kill'
sleep 0.5   # past the start: the capsule is spinning in Wasmtime
expect 0 ctr task kill t-kill
wait $RUNPID; check "[ $? = 137 ]"
contains "$WORK/kill.err" "stopped by the operator"
check '! running t-kill'
expect 0 ctr run -d "${RT[@]}" elastos.local/longprobe:0.1.0 t-del longprobe spin
for _ in $(seq 150); do running t-del && break; sleep 0.2; done
check 'running t-del'
expect 0 ctr task delete --force t-del
check '! ctr task ls 2>/dev/null | grep -q "^t-del "'
expect 0 ctr container rm t-del
check '! ctr container ls -q 2>/dev/null | grep -qx t-del'

# --- the node's audit: every launch, refusal and kill -------------------------------------------
"$E" audit show >"$WORK/audit" 2>&1 || bad "audit show"
audit_has() { if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }
audit_has "launch" "started by containerd (io.containerd.elastos.v1): $HELLO_CID"
audit_has "launch" "exited with status 42"
audit_has "deny" "not trusted"
audit_has "deny" "is not the image's $PROBE_CID"
audit_has "kill" "memory limit of 32 MiB"
audit_has "kill" "longprobe"
audit_has "operator_grant" "$S/*"
expect 0 "$E" audit verify

finish
