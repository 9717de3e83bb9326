#!/usr/bin/env python3
# compare_builds.py BEFORE_BUILD AFTER_BUILD [ROUNDS]: the same rows from two build trees on one
# machine, alternating, medians (not part of make bench or the tests). Rows: rtbench ping + 4 KiB
# storage_read in a capsule, bench_broker, bench_token, serve launches/s with 1 and 2 clients.
import os, subprocess, sys, tempfile, time, statistics, re, json
builds = {"before": sys.argv[1], "after": sys.argv[2]}
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
res = {k: {} for k in builds}
def add(b, k, v): res[b].setdefault(k, []).append(v)
for r in range(rounds):
    for name, build in (builds.items() if r % 2 == 0 else reversed(list(builds.items()))):
        E = os.path.join(build, "bin", "elastos")
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, ELASTOS_HOME=home + "/h")
            run = lambda args, **kw: subprocess.run(args, env=env, check=True, capture_output=True, text=True, **kw).stdout
            run([E, "trust", "add", os.path.join(build, "keys", "publisher.pub")])
            rt = os.path.join(build, "capsules", "rtbench.capsule")
            out = run([E, "run", "--grant", "localhost://storage/*:read", "--grant", "localhost://storage/*:write", rt, "--", "200000"], stdin=subprocess.DEVNULL)
            v = dict(l.split() for l in out.splitlines())
            add(name, "ping_ns", float(v["ping"])); add(name, "storage_read_4k_ns", float(v["storage_read_4k"]))
            out = run([os.path.join(build, "bin", "bench_broker"), rt, os.path.join(build, "keys", "publisher.pub")])
            b = dict(l.split() for l in out.splitlines())
            add(name, "broker_ping_ns", float(b["broker_ping_ns"])); add(name, "broker_storage_read_4k_ns", float(b["broker_storage_read_4k_ns"]))
            out = run([os.path.join(build, "bin", "bench_token")])
            add(name, "token_checks_per_sec", float(re.search(r"token_checks_per_sec (\S+)", out).group(1)))
            d = subprocess.Popen([E, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(200):
                    if subprocess.run([E, "ps"], env=env, capture_output=True).returncode == 0: break
                    time.sleep(0.05)
                cap = os.path.join(build, "capsules", "hello.capsule")
                for t in (1, 2):
                    out = run([os.path.join(build, "bin", "el-serveload"), "seq", "20000", cap, "--one", "--threads", str(t)])
                    kv = {k: float(x) for k, x in (l.split() for l in out.splitlines())}
                    add(name, f"serve_{t}c_launches_per_sec", kv["launches_per_sec"]); add(name, f"serve_{t}c_p99_us", kv["p99_us"])
            finally:
                d.terminate(); d.wait()
print(f"load average now: {os.getloadavg()}")
rows = []
for k in res["before"]:
    b, a = statistics.median(res["before"][k]), statistics.median(res["after"][k])
    higher_better = k.endswith("per_sec")
    change = (a / b - 1) * 100 if higher_better else (b / a - 1) * 100
    print(f"{k:<30} before {b:>12.1f}  after {a:>12.1f}  {'+' if change >= 0 else ''}{change:.1f}% ({'better' if change >= 0 else 'worse'})")
    rows.append({"row": k, "before": b, "after": a, "change_pct_better": change})
json.dump(rows, open(os.environ.get("ELASTOS_COMPARE_JSON", "compare.json"), "w"), indent=1)
