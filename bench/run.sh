#!/usr/bin/env bash
# run.sh BUILD_DIR - every benchmark runs ours and its peer side by side, in one run, and prints
# the ratio. Peers: `openssl dgst -sha256`, `openssl speed ed25519`, and the `wasmtime` CLI of
# the same version as our Wasmtime (installed into ~/.cache/elastos/tools on first use), and
# curl against a Kubo gateway on loopback.
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(cd "$(dirname "$0")" && pwd)
E=$build/bin/elastos
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export ELASTOS_HOME=$work/home

wt_version=$(sed -n 's/.*WASMTIME_VERSION "\(.*\)"/\1/p' "$build/wasmtime/include/wasmtime.h")
tools=$HOME/.cache/elastos/tools
WASMTIME=$tools/bin/wasmtime
have=$([ -x "$WASMTIME" ] && "$WASMTIME" --version 2>/dev/null || true)
if [[ "$have" != *" $wt_version "* ]]; then
    echo "bench: installing wasmtime-cli $wt_version (once, cached in $tools)" >&2
    CARGO_TARGET_DIR=$HOME/.cache/elastos/wasmtime-cli-target PATH=$HOME/.cargo/bin:$PATH \
        cargo install wasmtime-cli --version "$wt_version" --locked --root "$tools" >&2
fi

KUBO=$HOME/.cache/elastos/kubo/bin/ipfs   # built by `make kubo` (a dependency of `make bench`)
# Every row also goes to $build/bench.json (ELASTOS_BENCH_JSON to change), vm boot included;
# ELASTOS_BENCH_ONLY=startup,scale,... runs only those sections of bench.py (see its --only).
json=${ELASTOS_BENCH_JSON:-$build/bench.json}
python3 "$here/bench.py" --elastos "$E" --build "$build" --wasmtime "$WASMTIME" --work "$work" --kubo "$KUBO" \
    --json "$json" --only "${ELASTOS_BENCH_ONLY:-}"
if [ -z "${ELASTOS_BENCH_ONLY:-}" ] || [[ ",$ELASTOS_BENCH_ONLY," == *,vm,* ]]; then
    python3 "$here/vm_bench.py" --elastos "$E" --build "$build" --work "$work" --json "$json"
fi
if [ -z "${ELASTOS_BENCH_ONLY:-}" ] || [[ ",$ELASTOS_BENCH_ONLY," == *,shim,* ]]; then
    python3 "$here/shim_bench.py" "$build" 10 "$json"   # hello through ctr run vs elastos run vs runc
fi
