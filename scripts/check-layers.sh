#!/usr/bin/env bash
# check-layers.sh LIBELASTOS_A [SRC_DIR] - fails when a file of lib/ uses a layer above its own,
# when files use each other in a cycle, when a process-wide symbol is used outside the one
# file allowed to, or when the public/internal naming and visibility rules are broken (among
# them: a public header's functions carry the header's prefix) (the map:
# scripts/layers.txt; the reasons: docs/internals.md).
# Uses: `nm` of each object in the archive (who defines and who needs each symbol) and the
# #include "..." lines of lib/*.c. Prints every violation, one per line; exit 1 if any.
set -euo pipefail
lib=${1:?usage: check-layers.sh path/to/libelastos.a [source dir]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
exec python3 - "$lib" "$src" <<'PY'
import collections, glob, os, re, subprocess, sys

lib, src = sys.argv[1], sys.argv[2]
layer_of, order, header_owner, allowed = {}, [], {}, {}
for line in open(os.path.join(src, "scripts/layers.txt")):
    w = line.split("#", 1)[0].split()
    if not w:
        continue
    if w[0] == "header":
        header_owner[w[1]] = w[2]
    elif w[0] == "symbol":
        allowed[w[1]] = set(w[2:])
    else:
        order.append(w[0])
        for f in w[1:]:
            layer_of[f] = len(order) - 1

problems = []
sources = sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(src, "lib/*.c")))
for s in sources:
    if s not in layer_of:
        problems.append(f"lib/{s}.c has no layer in scripts/layers.txt")

# Who defines and who needs each symbol, per object of the archive.
def nm(*args):
    return subprocess.run(["nm", "-A", *args, lib], check=True, capture_output=True, text=True).stdout.splitlines()
def split(l):  # "ARCHIVE:MEMBER.c.o:ADDRESS TYPE SYMBOL"
    member, rest = l[len(lib) + 1:].split(":", 1)
    return member.replace(".c.o", "").replace(".o", ""), rest.split()
defs, needs = {}, collections.defaultdict(set)
for l in nm("--defined-only", "-g"):
    member, w = split(l)
    if len(w) >= 3:
        defs[w[-1]] = member
for l in nm("-u"):
    member, w = split(l)
    if w:
        needs[member].add(w[-1])

edges = collections.defaultdict(dict)  # user -> {used module: example symbol}
for user, syms in needs.items():
    for sym in sorted(syms):
        owner = defs.get(sym)
        if owner and owner != user:
            edges[user].setdefault(owner, sym)
        if sym in allowed and user not in allowed[sym]:
            where = ", ".join(sorted(allowed[sym])) or "nowhere in lib/ (the program's entry point does it)"
            problems.append(f"{user}.c uses {sym}: allowed only in {where}")

def check_edge(user, used, why):
    lu, lb = layer_of.get(user), layer_of.get(used)
    if lu is not None and lb is not None and lb > lu:
        problems.append(f"{user}.c ({order[lu]}) uses {used} ({order[lb]}, a layer above): {why}")

for user in edges:
    for used, sym in edges[user].items():
        check_edge(user, used, sym)

# Includes of lib/*.c: the header's owner is the file of the same name (or the map's header line).
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
for s in sources:
    for n, line in enumerate(open(os.path.join(src, f"lib/{s}.c")), 1):
        m = inc.match(line)
        if not m:
            continue
        h = m.group(1)
        owner = header_owner.get(h, os.path.basename(h)[:-2] if h.endswith(".h") else None)
        if owner and owner != "-" and owner != s:
            if owner not in layer_of:
                problems.append(f"lib/{s}.c:{n} includes {h}, which has no layer in scripts/layers.txt")
            else:
                check_edge(s, owner, f'#include "{h}" (lib/{s}.c:{n})')

# Cycles in the link graph (Tarjan's strongly connected components).
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, {}):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(set(edges) | set(defs.values())):
    if v not in index:
        strong(v)
for c in comps:
    detail = "; ".join(f"{a} -> {b} ({edges[a][b]})" for a in c for b in sorted(edges.get(a, {})) if b in c)
    problems.append(f"link cycle of {len(c)} files: {' '.join(c)}: {detail}")

# Visibility (libelastos is built with -fvisibility=hidden): a function a public header declares
# is EL_EXTERN (exported), and nothing else is.
# Naming: a public header's functions carry its prefix: el_NAME or el_NAME_... for
# include/elastos/NAME.h, or the prefix of the file the map's header line gives it (elastos.h: error).
public = {}
for h in glob.glob(os.path.join(src, "include/elastos/*.h")):
    base = os.path.basename(h)[:-2]
    prefixes = {base, header_owner.get(f"elastos/{base}.h", base)}
    for m in re.finditer(r"^EL_EXTERN\b[^;{]*?\b(el_[a-z0-9_]+)\s*\(", open(h).read(), re.M):
        public[m.group(1)] = os.path.basename(h)
        if not any(m.group(1) == f"el_{p}" or m.group(1).startswith(f"el_{p}_") for p in sorted(prefixes)):
            want = " or ".join(f"el_{p}_" for p in sorted(prefixes))
            problems.append(f"include/elastos/{base}.h declares {m.group(1)}: its functions are {want}...")
    for m in re.finditer(r"^(?!EL_EXTERN|typedef|static|#)[A-Za-z_][^;{(]*?\b(el_[a-z0-9_]+)\s*\(", open(h).read(), re.M):
        problems.append(f"include/elastos/{os.path.basename(h)} declares {m.group(1)} without EL_EXTERN")
# Naming (docs/internals.md): what only lib/ headers declare is internal, el__ (two underscores).
for h in glob.glob(os.path.join(src, "lib/*.h")):
    for m in re.finditer(r"^(?!typedef|static|#)[A-Za-z_][^;{(]*?\b(el_[a-z0-9][a-z0-9_]*)\s*\(", open(h).read(), re.M):
        problems.append(f"lib/{os.path.basename(h)} declares {m.group(1)}: an internal function is el__{m.group(1)[3:]}")
out = subprocess.run(["readelf", "-sW", lib], check=True, capture_output=True, text=True).stdout
member = "?"
for l in out.splitlines():
    if l.startswith("File: "):
        member = l.rsplit("(", 1)[-1].rstrip(")").replace(".c.o", "")
        continue
    w = l.split()
    if len(w) < 8 or w[4] != "GLOBAL" or w[6] == "UND" or w[3] not in ("FUNC", "OBJECT"):
        continue
    name, vis = w[7], w[5]
    if vis == "DEFAULT" and name not in public:
        problems.append(f"{member}.c exports {name}, which no public header declares EL_EXTERN")

for p in problems:
    print("check-layers: " + p)
n_edges = sum(len(v) for v in edges.values())
print(f"check-layers: {len(sources)} files, {n_edges} links, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
