#!/usr/bin/env python3
"""vm_bench.py - boot to a vm capsule's first output, ours vs plain QEMU (see bench/README.md).

Ours:  `elastos run vmprobe.capsule` (verify the artifact, open the session, start QEMU microvm
       with the two virtio-console ports, the init's handshake, then the capsule prints).
Peer:  `qemu-system-x86_64 -M microvm` by hand with the same kernel, the same initramfs (the
       capsule's rootfs.cpio), the same kernel command line, memory and accelerator; the init
       finds no control port and runs the same binary at once.
Both are timed from process start to the first byte on stdout, alternating, median of N rounds.
The accelerator is what the runtime's probe chose (cached in $ELASTOS_HOME/cache/vm/accel).
"""
import argparse, glob, json, os, re, shutil, statistics, subprocess, time

def first_output(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    b = p.stdout.read(1)
    dt = time.perf_counter() - t
    p.stdout.read()
    p.wait(timeout=120)
    if not b:
        raise RuntimeError("no output from " + " ".join(cmd[:3]))
    return dt

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elastos"); ap.add_argument("--build"); ap.add_argument("--work")
    ap.add_argument("--json", help="append the row to this file (written by bench.py)")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ELASTOS_VM_BENCH_ROUNDS", "5")))
    a = ap.parse_args()
    E, build = a.elastos, a.build
    qemu = shutil.which(os.environ.get("ELASTOS_QEMU", "qemu-system-x86_64"))
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    kernel = os.environ.get("ELASTOS_VM_KERNEL") or (kernels[-1] if kernels else None)
    cap = os.path.join(build, "capsules", "vmprobe.capsule")
    rootfs = os.path.join(build, "capsules", "vmprobe.stage", "rootfs.cpio")
    if not qemu or not kernel or not os.path.exists(cap):
        print("vm boot: skipped (needs qemu-system-x86_64, a cloud kernel and the vmprobe capsule)")
        return
    subprocess.run([E, "trust", "add", os.path.join(build, "keys", "publisher.pub")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # One run first: it probes KVM (a bounded boot) and caches the verdict.
    subprocess.run([E, "run", cap], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    home = os.environ["ELASTOS_HOME"]
    accel = open(os.path.join(home, "cache", "vm", "accel")).read().split()[1] if os.path.exists(
        os.path.join(home, "cache", "vm", "accel")) else "tcg"
    append = "quiet loglevel=0 panic=-1 rdinit=/init"
    if accel == "tcg":
        mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read())
        if mhz:
            append += " tsc_early_khz=%d" % int(float(mhz.group(1)) * 1000)
    peer = [qemu, "-M", "microvm,acpi=on", "-accel", accel] + (["-cpu", "host"] if accel == "kvm" else []) + [
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-smp", "1", "-m", "128",
        "-kernel", kernel, "-initrd", rootfs, "-append", append, "-serial", "stdio"]
    ours_cmd = [E, "run", cap, "--", "exit", "0"]
    to, tp = [], []
    for _ in range(a.rounds):
        to.append(first_output(ours_cmd))
        tp.append(first_output(peer))
    o, p = statistics.median(to) * 1e3, statistics.median(tp) * 1e3
    print(f"{'vm boot to first output (ms), ' + accel + ': vs plain qemu':<44} ours {o:>12.3f} {'ms':<8} "
          f"peer {p:>12.3f} {'ms':<8} ratio {p / o:5.2f}x  (overhead {100 * (o - p) / p:+.1f}%)")
    if a.json and os.path.exists(a.json):
        with open(a.json) as f:
            doc = json.load(f)
        doc["rows"].append({"row": "vm boot to first output, " + accel, "ours": o, "peer": p, "unit": "ms",
                            "ratio": p / o, "higher_is_better": False})
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    if accel != "kvm":
        print("  (KVM not usable here: the probe chose TCG; the < 150 ms KVM target cannot be measured on this host)")

if __name__ == "__main__":
    main()
