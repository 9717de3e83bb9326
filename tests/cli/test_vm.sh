#!/usr/bin/env bash
# vm capsules (docs/vm.md) under QEMU microvm, with the real Debian cloud kernel (TCG on CI; KVM
# where the probe shows it works): a C and a Rust native capsule built by the project's tooling
# (build-rootfs + pack) run with output, args, exit code and a fresh instance id; the capability
# checks of test_capabilities.sh against a VM capsule; boot failures with a clear error inside
# the deadline; memory and wall-clock limits; nothing left behind when the runtime is killed.
# About ten VM boots in all (each ~2-4 s under TCG).
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
VP=$B/capsules/vmprobe.capsule
RV=$B/capsules/rust-vm.capsule
S=localhost://storage
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
run() { "$E" run "$@" </dev/null; }
line() { grep "^$1: " "$WORK/out" | sed -n "${2:-1}p"; }
audit_has() { "$E" audit show >"$WORK/audit" 2>&1; if grep -F -- "$1" "$WORK/audit" | grep -F -- "$2" >/dev/null; then ok; else bad "audit lacks [$1 ... $2]"; fi; }
secs() { date +%s.%N; }
within() { if awk "BEGIN { exit !($2 - $1 < $3) }"; then ok; else bad "took $(awk "BEGIN { print $2 - $1 }") s, limit $3 s"; fi; }
# The capsule reached the runtime over its channel (on failure, show what it printed).
ping_ok() { if [ "$(line ping)" = "ping: ok" ]; then ok; else bad "no 'ping: ok' in: $(head -c 600 "$WORK/out") / $(head -c 600 "$WORK/err")"; fi; }
pack() { "$E" pack "$1" --key "$B/keys/publisher.key" -o "$2" >/dev/null 2>&1 || bad "pack $1"; }

# --- C capsule: stdout is exactly the capsule's (no kernel messages), args, exit code, identity -------
expect 7 run "$VP" -- exit 7 "two words"
check '[ "$(sed -n 1p "$WORK/out" | cut -d" " -f1-2)" = "vmprobe vmprobe" ]'
id1=$(sed -n 's/^vmprobe vmprobe \([0-9a-f]\{32\}\)$/\1/p' "$WORK/out")
check '[ ${#id1} = 32 ]'
check '[ "$(sed -n 2,4p "$WORK/out")" = "$(printf "arg[1] = exit\narg[2] = 7\narg[3] = two words")" ]'
ping_ok                     # the runtime channel, via the C SDK
check '[ "$(wc -l <"$WORK/out")" = 5 ] && [ ! -s "$WORK/err" ]'
# The acceleration probe ran (a bounded KVM boot where /dev/kvm exists) and its verdict is cached.
check 'grep -Eq "^[0-9a-f]{64} (kvm|tcg)$" "$ELASTOS_HOME/cache/vm/accel"'

# --- stdin: a pipe reaches the capsule byte for byte, and so does its end of file ----------------------
head -c 100000 /dev/urandom | base64 >"$WORK/in.txt"
"$E" run "$VP" -- cat <"$WORK/in.txt" >"$WORK/out" 2>"$WORK/err"
check '[ $? = 0 ]'
check '[ "$(tail -n 1 "$WORK/out")" = "cat: $(wc -c <"$WORK/in.txt") bytes" ]'
check 'sed -n "4,\$p" "$WORK/out" | head -n -1 | cmp -s - "$WORK/in.txt"'
# On a terminal: the guest's serial line is a cooked tty (\r\n endings, from the host's own
# OPOST), with the terminal's size, resized live (SIGWINCH in the guest); the host terminal is
# put back exactly as it was.
python3 - "$E" "$VP" >"$WORK/tty" 2>&1 <<'PY'
import fcntl, os, pty, select, struct, subprocess, sys, termios, time
m, s = pty.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
before = termios.tcgetattr(s)
p = subprocess.Popen([sys.argv[1], "run", sys.argv[2], "--", "winch"], stdin=s, stdout=s, stderr=s, start_new_session=True)
out, deadline, resized = b"", time.time() + 90, False
while time.time() < deadline:
    if select.select([m], [], [], 0.2)[0]:
        try:
            chunk = os.read(m, 65536)
        except OSError:
            break
        out += chunk
    if not resized and b"winsize: 30 100" in out:
        fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        resized = True
    if p.poll() is not None and not select.select([m], [], [], 0.2)[0]:
        break
p.wait(timeout=60)
print(repr(out))
print("exit=%d restored=%s" % (p.returncode, termios.tcgetattr(s) == before))
PY
contains "$WORK/tty" "exit=0 restored=True"
contains "$WORK/tty" 'ping: ok\r\n'
contains "$WORK/tty" 'winsize: 30 100\r\n'
contains "$WORK/tty" 'winsize: 40 120\r\n'
# The shell asks on that same terminal for a VM capsule (QEMU is frozen and the terminal cooked
# while it asks): answered "once", the write goes through.
python3 - "$E" "$VP" "$S" >"$WORK/tty2" 2>&1 <<'PY'
import os, pty, select, sys, time
e, vp, s = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(e, [e, "run", vp, "--", "cap", "req", s + "/p.txt", "write", "write", s + "/p.txt", "hi"])
out, deadline, prompts = b"", time.time() + 60, 0
while time.time() < deadline:
    if not select.select([fd], [], [], 0.2)[0]:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if out.count(b"[d]eny? ") > prompts:
        prompts += 1
        os.write(fd, b"o\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("\nexit=%d prompts=%d\n" % (os.waitstatus_to_exitcode(status), prompts))
PY
contains "$WORK/tty2" 'capsule "vmprobe"'
contains "$WORK/tty2" "write: ok"
contains "$WORK/tty2" "exit=0 prompts=1"
contains "$WORK/tty2" "[d]eny? o"                         # echoed: the terminal was cooked for the answer

# --- the KVM probe is bounded: with a CPU model that hangs early under this host's KVM (a PVM-based
# /dev/kvm hangs stock kernels), the probe boot is killed at its deadline and the capsule boots
# under TCG; on a host with working KVM the same run simply uses KVM. Fresh home: no cached verdict.
H2=$WORK/home2
ELASTOS_HOME=$H2 "$E" trust add "$B/keys/publisher.pub" >/dev/null 2>&1 || bad "trust (home2)"
t0=$(secs); ELASTOS_HOME=$H2 ELASTOS_VM_KVM_CPU=qemu64 ELASTOS_VM_KVM_PROBE_MS=3000 expect 4 run "$VP" -- exit 4; t1=$(secs)
ping_ok
check 'grep -Eq "^[0-9a-f]{64} (kvm|tcg)$" "$H2/cache/vm/accel"'
[ -e /dev/kvm ] || check 'grep -q " tcg$" "$H2/cache/vm/accel"'
within "$t0" "$t1" 40

# --- Rust capsule: the Rust SDK finds the channel by itself; same id in env and runtime_info --------
expect 5 run "$RV" -- a "b c" exit=5
id_r=$(sed -n 's/^rust-vm rust-vm \([0-9a-f]\{32\}\)$/\1/p' "$WORK/out")
check '[ ${#id_r} = 32 ] && [ "$id_r" != "$id1" ]'
check '[ "$(sed -n 2,4p "$WORK/out")" = "$(printf "arg[1] = a\narg[2] = b c\narg[3] = exit=5")" ]'
check '[ "$(line info)" = "info: rust-vm $id_r" ]'
check '[[ "$(line outside)" == "outside: error"*"denied"* ]]'

# --- capabilities: the same broker as wasm capsules ------------------------------------------------
n_before=$(refusal_count deny "invalid token")
GRANT=(--grant "$S/*:read" --grant "$S/*:write" --grant "$S/*:delete")
expect 0 run "${GRANT[@]}" "$VP" -- cap read "$S/n.txt" req "$S/n.txt" write write "$S/n.txt" "hello vm" \
    req "$S/n.txt" read read "$S/n.txt" forge "$S/n.txt" printtoken req "localhost://secrets/key" read \
    req "elastos://cid/bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq" read
id2=$(sed -n 's/^vmprobe vmprobe \([0-9a-f]\{32\}\)$/\1/p' "$WORK/out")
check '[ ${#id2} = 32 ] && [ "$id2" != "$id1" ]'           # a fresh instance id every launch
check '[[ "$(line read 1)" == "read: error invalid_token"* ]]'   # no token
check '[ "$(line write)" = "write: ok" ] && [ "$(line read 2)" = "read: ok hello vm" ]'   # granted round trip
check '[[ "$(line forge)" =~ ^forge:\ ok\ 0\ of\ ([0-9]+)\ accepted$ ]]'               # forged tokens refused
len=$(line forge | sed -n 's/.* of \([0-9]*\) accepted/\1/p')
check "[ ${len:-0} -gt 100 ]"
check '[[ "$(line req 3)" == "req: error denied outside the capsule"* ]]'             # outside the manifest
check '[[ "$(line req 4)" == "req: error denied shell: "* ]]'                          # the shell decided: no
tok=$(line token | sed 's/^token: //')
SD=$(echo "$ELASTOS_HOME"/storage/vmprobe@*)
check '[ "$(cat "$SD/n.txt")" = "hello vm" ]'
# The audit trail has the VM capsule's requests, grants, uses and denials.
audit_has "operator_grant" "$S/*"
audit_has "use" "$S/n.txt"
audit_has "deny" "outside the manifest"
audit_has "deny" "cannot decode"
check "[ \$(( \$(refusal_count deny 'invalid token') - n_before )) -ge ${len:-1} ]"
check '"$E" audit verify >/dev/null 2>&1'
# A token of another instance is refused (bound to its holder); storage persists across runs.
expect 0 run --grant "$S/*:read" "$VP" -- cap settoken "$tok" read "$S/n.txt" req "$S/n.txt" read read "$S/n.txt"
check '[[ "$(line read 1)" == "read: error denied"* ]]'
check '[ "$(line read 2)" = "read: ok hello vm" ]'
audit_has "deny" "another capsule"

# --- the kernel named by the manifest, by CID: the entry of a trusted capsule in the store. This
# rootfs has no modules (built with no kernel found); the runtime appends the host's modules for
# the release read from the kernel's header.
mkdir -p "$WORK/kcap"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -n 1)
cp "$kernel" "$WORK/kcap/vmlinuz"
printf '{"name": "cloud-kernel", "version": "1.0.0", "type": "data", "entry": "vmlinuz", "viewer": "md-viewer@^1.0.0"}\n' >"$WORK/kcap/capsule.json"
pack "$WORK/kcap" "$WORK/kernel.capsule"
kc=$("$E" install "$WORK/kernel.capsule" 2>/dev/null)
ELASTOS_VM_KERNEL=/nonexistent "$E" build-rootfs "$B/capsules/vmprobe.bin" --name vmprobe -o "$WORK/nomod" >/dev/null 2>&1 || bad "build-rootfs nomod"
check '! grep -qaF "lib/modules/${kernel#/boot/vmlinuz-}" "$WORK/nomod/rootfs.cpio"'
check 'grep -qaF "lib/modules/${kernel#/boot/vmlinuz-}" "$B/capsules/vmprobe.stage/rootfs.cpio"'
sed "s/\"vcpus\": 1/\"vcpus\": 1, \"kernel\": \"$kc\"/" "$B/capsules/vmprobe.stage/capsule.json" >"$WORK/nomod/capsule.json"
pack "$WORK/nomod" "$WORK/kcid.capsule"
expect 6 run "$WORK/kcid.capsule" -- exit 6
ping_ok
expect 0 "$E" rm "$kc"
expect 66 run "$WORK/kcid.capsule"; expect_err_line
contains "$WORK/err" "kernel $kc is not in the local store"

# --- limits ---------------------------------------------------------------------------------------
# Memory: the guest's OOM killer stops the capsule; the host sees 137 and the reason.
expect 137 run "$VP" -- oom    # the reason below says it was memory, not the wall clock
expect_err_line
contains "$WORK/err" "memory limit of 128 MiB"
# Scratch space: /tmp holds resource_limits.storage_mb (1 MiB here; unsized it would be half the RAM).
expect 0 run "$VP" -- fill
check '[ "$(line fill | tr -dc 0-9)" -le 1 ]'
# A crash is 134 with the signal named.
expect 134 run "$VP" -- crash
expect_err_line
contains "$WORK/err" "killed by signal 11"
# Wall clock: the manifest's wall_ms, boot included.
cp -r "$B/capsules/vmprobe.stage" "$WORK/wall"
# 20 s: room for a TCG boot on a loaded machine (the kill must come after the capsule ran).
sed -i 's/"wall_ms": 60000/"wall_ms": 20000/' "$WORK/wall/capsule.json"
pack "$WORK/wall" "$WORK/wall.capsule"
t0=$(secs); expect 137 run "$WORK/wall.capsule" -- hang; t1=$(secs)
expect_err_line
contains "$WORK/err" "wall-clock limit of 20000 ms"
within "$t0" "$t1" 25
ping_ok                     # it did run before the limit

# --- boot failures: a clear one-line error inside the deadline ---------------------------------------
printf 'this is not a kernel\n' >"$WORK/vmlinuz-bad"
t0=$(secs); ELASTOS_VM_KERNEL=$WORK/vmlinuz-bad expect 65 run "$VP"; t1=$(secs)
expect_err_line
contains "$WORK/err" "could not boot kernel $WORK/vmlinuz-bad"
within "$t0" "$t1" 10
# A rootfs that is not a cpio archive, and one cut short, are refused before booting.
cp -r "$B/capsules/vmprobe.stage" "$WORK/corrupt"
head -c 100000 "$B/capsules/vmprobe.stage/rootfs.cpio" >"$WORK/corrupt/rootfs.cpio"
pack "$WORK/corrupt" "$WORK/trunc.capsule"
expect 65 run "$WORK/trunc.capsule"; expect_err_line
contains "$WORK/err" "rootfs rootfs.cpio is not a newc cpio initramfs: "
head -c 4096 /dev/urandom >"$WORK/corrupt/rootfs.cpio"
pack "$WORK/corrupt" "$WORK/corrupt.capsule"
expect 65 run "$WORK/corrupt.capsule"; expect_err_line
# A well-formed archive whose /init the kernel cannot run: the VM stops, we say so.
ELASTOS_VM_INIT=$B/capsules/vmprobe.stage/capsule.json "$E" build-rootfs "$B/capsules/vmprobe.bin" --name badinit -o "$WORK/badinit" >/dev/null 2>&1 || bad "build-rootfs badinit"
pack "$WORK/badinit" "$WORK/badinit.capsule"
t0=$(secs); expect 65 run "$WORK/badinit.capsule"; t1=$(secs)
expect_err_line
contains "$WORK/err" "the VM stopped before its init started"
within "$t0" "$t1" 30
# An init that never answers: killed at the boot deadline.
printf 'int main(void) { for (;;) ; }\n' >"$WORK/hang.c"
cc -static -O2 -o "$WORK/hang" "$WORK/hang.c" || bad "cc -static"
ELASTOS_VM_INIT=$WORK/hang "$E" build-rootfs "$B/capsules/vmprobe.bin" --name silent -o "$WORK/silent" >/dev/null 2>&1 || bad "build-rootfs silent"
pack "$WORK/silent" "$WORK/silent.capsule"
t0=$(secs); ELASTOS_VM_BOOT_MS=4000 expect 65 run "$WORK/silent.capsule"; t1=$(secs)
expect_err_line
contains "$WORK/err" "did not boot within 4000 ms"
within "$t0" "$t1" 7

# --- cleanup: QEMU holds only its own descriptors, and dies with a killed runtime ------------------
"$E" run "$VP" -- hang </dev/null >"$WORK/bg.out" 2>&1 &
ep=$!
for _ in $(seq 300); do grep -q "^ping: ok" "$WORK/bg.out" && break; sleep 0.1; done
qp=$(pgrep -P $ep)
check '[ -n "$qp" ]'
ls -l /proc/$qp/fd >"$WORK/fds" 2>&1
lacks "$WORK/fds" "$ELASTOS_HOME"                           # no state.db, no audit, no storage
check '[ -z "$(grep -F -- "$WORK" "$WORK/fds" | grep -vF -- "$WORK/bg.out")" ]'   # only its stdout
n_sock=$(grep -c "socket:" "$WORK/fds")                    # the ports: stdin's is hung up (stdin is /dev/null)
check '[ "$n_sock" -ge 2 ] && [ "$n_sock" -le 3 ]'
check '[ -z "$(grep -E " (3|4) -> " "$WORK/fds" | grep -v "socket:")" ]'   # 3 runtime, 4 control
check 'grep -Eq "^NoNewPrivs:[[:space:]]+1" /proc/$qp/status'
if grep -q "elevateprivileges" /usr/bin/qemu-system-x86_64 2>/dev/null; then
    check 'grep -Eq "^Seccomp:[[:space:]]+2" /proc/$qp/status'   # -sandbox on
fi
if [ "$(id -u)" = 0 ]; then                                 # its own network namespace
    check '[ "$(readlink /proc/$qp/ns/net)" != "$(readlink /proc/self/ns/net)" ]'
fi
kill -9 $ep; wait $ep 2>/dev/null
gone=no
for _ in $(seq 30); do st=$(ps -o stat= -p "$qp" 2>/dev/null); if [ -z "$st" ] || [[ "$st" == Z* ]]; then gone=yes; break; fi; sleep 0.1; done
check '[ $gone = yes ]'

# --- build-rootfs refusals, backends ------------------------------------------------------------------
expect 65 "$E" build-rootfs /bin/true --name dyn -o "$WORK/dyn"; expect_err_line
contains "$WORK/err" "dynamically linked"
expect 64 "$E" build-rootfs "$B/capsules/vmprobe.bin" --name vmprobe -o "$B/capsules/vmprobe.stage"; expect_err_line
expect 64 "$E" build-rootfs "$B/capsules/vmprobe.bin" --name "Bad Name" -o "$WORK/bn"; expect_err_line
expect 65 "$E" build-rootfs "$B/capsules/vmprobe.stage/capsule.json" --name notelf -o "$WORK/ne"; expect_err_line
check '[ ! -e "$WORK/ne" ] && [ ! -e "$WORK/dyn" ]'
expect 0 "$E" inspect "$VP"
contains "$WORK/out" "microvm:     1 vcpus, 128 MiB, kernel (host default), backend auto"
cp -r "$B/capsules/vmprobe.stage" "$WORK/fc"
sed -i 's/"vcpus": 1/"vcpus": 1, "backend": "firecracker"/' "$WORK/fc/capsule.json"
pack "$WORK/fc" "$WORK/fc.capsule"
expect 78 run "$WORK/fc.capsule"; expect_err_line
finish
