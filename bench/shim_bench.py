#!/usr/bin/env python3
"""shim_bench.py BUILD_DIR [N] [JSON] - start-to-exit of the hello capsule three ways (issue 19):

  ctr run --runtime io.containerd.elastos.v1   (containerd, the shim, a youki container, el_launch)
  elastos run hello.capsule                    (the same artifact, no containerd)
  ctr run --runtime io.containerd.runc.v2      (a plain container: a static C hello with runc)

It starts its own containerd (own root, state and socket in a temporary directory), imports the
images, warms each once, then runs them alternating N times (default 10) and prints the median
and the spread of each, with the shim's ratio to each peer; with JSON (bench.py's file, as
bench/run.sh passes it) the rows are appended there. Nothing is asserted: this is `make bench`
material, never a test.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tarfile
import hashlib
import io


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def runc_image(path, hello_bin):
    """An OCI layout tar holding a one-file linux/amd64 image whose entrypoint is /hello."""
    lbuf = io.BytesIO()
    with tarfile.open(fileobj=lbuf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        data = open(hello_bin, "rb").read()
        info = tarfile.TarInfo("hello")
        info.size, info.mode = len(data), 0o755
        t.addfile(info, io.BytesIO(data))
    layer = lbuf.getvalue()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/hello"]},
                         "rootfs": {"type": "layers", "diff_ids": [digest(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": digest(layer), "size": len(layer)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest),
        "size": len(manifest), "annotations": {"io.containerd.image.name": "elastos.local/bench-runc:1"}}]}).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
        for b in (layer, config, manifest):
            files["blobs/sha256/" + digest(b)[7:]] = b
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def timed(cmd, env):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"shim_bench: {' '.join(cmd)} exited {r.returncode}: {r.stderr.decode()[-300:]}")
    return dt * 1000


def main():
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    if not os.path.exists(f"{build}/bin/containerd-shim-elastos-v1"):
        print("shim: not built (ELASTOS_SHIM=OFF): no containerd rows")
        return
    elastos, shim = f"{build}/bin/elastos", f"{build}/bin/containerd-shim-elastos-v1"
    hello = f"{build}/capsules/hello.capsule"
    for tool in ("containerd", "ctr", "cc"):
        if not shutil.which(tool):
            raise SystemExit(f"shim_bench: {tool} is not installed (scripts/setup.sh)")
    w = tempfile.mkdtemp(prefix="shim-bench-")
    env = dict(os.environ, ELASTOS_HOME=f"{w}/home", PATH=f"{w}/bin:" + os.environ["PATH"])
    os.makedirs(f"{w}/bin")
    os.symlink(shim, f"{w}/bin/containerd-shim-elastos-v1")
    with open(f"{w}/config.toml", "w") as f:
        f.write(f'version = 2\nroot = "{w}/root"\nstate = "{w}/state"\n'
                f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "{w}/c.sock"\n'
                f'[ttrpc]\n  address = "{w}/c.sock.ttrpc"\n')
    ctrd = subprocess.Popen(["containerd", "--config", f"{w}/config.toml"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctr = ["ctr", "-a", f"{w}/c.sock", "-n", "bench"]
    try:
        for _ in range(100):
            if subprocess.run(ctr + ["version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run([elastos, "trust", "add", f"{build}/keys/publisher.pub", "--name", "build"], env=env,
                       check=True, capture_output=True)
        subprocess.run([elastos, "oci", "pack", hello, "-o", f"{w}/hello.tar"], env=env, check=True,
                       capture_output=True)
        subprocess.run(ctr + ["image", "import", "--all-platforms", f"{w}/hello.tar"], check=True, capture_output=True)
        ref = json.loads(subprocess.run(["tar", "xOf", f"{w}/hello.tar", "index.json"], capture_output=True,
                                        check=True).stdout)["manifests"][0]["annotations"]["io.containerd.image.name"]
        with open(f"{w}/hello.c", "w") as f:
            f.write('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
        subprocess.run(["cc", "-static", "-O2", "-o", f"{w}/hello", f"{w}/hello.c"], check=True)
        runc_image(f"{w}/runc.tar", f"{w}/hello")
        have_runc = shutil.which("runc") is not None
        if have_runc:
            subprocess.run(ctr + ["image", "import", f"{w}/runc.tar"], check=True, capture_output=True)
        rows = {
            "ctr run (elastos shim)": lambda i: ctr + ["run", "--rm", "--runtime", "io.containerd.elastos.v1",
                                                      "--platform", "wasip1/wasm", ref, f"b-shim-{i}", "hello"],
            "elastos run": lambda i: [elastos, "run", hello],
        }
        if have_runc:
            rows["ctr run (runc, static C hello)"] = lambda i: ctr + ["run", "--rm", "elastos.local/bench-runc:1",
                                                                      f"b-runc-{i}"]
        times = {k: [] for k in rows}
        for k, cmd in rows.items():  # warm: compiled-code cache, snapshots
            timed(cmd("warm"), env)
        for i in range(n):
            for k, cmd in rows.items():
                times[k].append(timed(cmd(i), env))
        print(f"start-to-exit of hello, median of {n} (ms), load {os.getloadavg()[0]:.1f}")
        for k, v in times.items():
            print(f"  {k:34s} {statistics.median(v):8.1f}   (min {min(v):.1f}, max {max(v):.1f})")
        if not have_runc:
            print("  ctr run (runc)                     -        (runc is not installed)")
        shim = statistics.median(times["ctr run (elastos shim)"])
        peers = [k for k in times if k != "ctr run (elastos shim)"]
        for k in peers:
            p = statistics.median(times[k])
            print(f"  ratio shim vs {k:28s} {p / shim:5.2f}x  (higher is better for the shim)")
        if len(sys.argv) > 3 and os.path.exists(sys.argv[3]):
            with open(sys.argv[3]) as f:
                doc = json.load(f)
            for k in peers:
                p = statistics.median(times[k])
                doc["rows"].append({"row": f"hello start-to-exit: ctr run (elastos shim) vs {k}", "ours": shim,
                                    "peer": p, "unit": "ms", "ratio": p / shim, "higher_is_better": False})
            with open(sys.argv[3], "w") as f:
                json.dump(doc, f, indent=1)
    finally:
        ctrd.terminate()
        ctrd.wait()
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
