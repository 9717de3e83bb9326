#!/usr/bin/env bash
# run.sh FUZZER CORPUS_DIR - replays every hostile input of CORPUS_DIR, then fuzzes for
# ${ELASTOS_FUZZ_SECONDS:-20} s, on a temporary copy so libFuzzer never writes into the tree.
set -euo pipefail
fuzzer=$1 corpus=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/corpus"
"$fuzzer" -runs=0 "$work/corpus" 2>"$work/replay.log" || { cat "$work/replay.log"; exit 1; }
"$fuzzer" -max_total_time="${ELASTOS_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$work/" "$work/corpus" 2>"$work/fuzz.log" || { tail -40 "$work/fuzz.log"; exit 1; }
grep -E '^#[0-9]+ *DONE' "$work/fuzz.log" || tail -2 "$work/fuzz.log"
