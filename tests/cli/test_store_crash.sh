#!/usr/bin/env bash
# The store under crashes and concurrency: `elastos install` killed with SIGKILL at random points,
# 50 times, always leaves a consistent store (every stored file is exactly the bytes of its CID
# and verifies, the index matches the files, the state database passes integrity_check, gc clears
# the leftovers and a reinstall works); concurrent installs of the same CID all succeed with one
# entry; gc keeps pinned entries.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"

# Artifacts large enough (8-24 MiB) that an install takes tens of milliseconds to verify and write.
for i in 1 2 3; do
    rm -rf "$WORK/s"; cp -r "$B/capsules/hello.stage" "$WORK/s"
    head -c $((i * 8 * 1048576)) /dev/urandom >"$WORK/s/payload.bin"
    sed -i "s/\"name\": \"hello\"/\"name\": \"big$i\"/" "$WORK/s/capsule.json"
    "$E" pack "$WORK/s" --key "$B/keys/publisher.key" -o "$WORK/big$i.capsule" >/dev/null 2>&1 || bad "pack big$i"
done

# consistent: every file in store/ is a verified <cid>.capsule (or a temp leftover), the index
# has a row exactly for each stored file, and the database is intact.
consistent() {
    local f name cid rows files
    for f in "$ELASTOS_HOME"/store/*; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        case "$name" in
            *.capsule.tmp-*) continue ;;
            *.capsule) cid=${name%.capsule}
                [ "$("$E" cid "$f")" = "$cid" ] || { echo "stored bytes of $cid do not match" >&2; return 1; }
                "$E" verify "$f" >/dev/null 2>&1 || { echo "$cid does not verify" >&2; return 1; } ;;
            *) echo "unexpected file $name" >&2; return 1 ;;
        esac
    done
    "$E" ls >"$WORK/ls" 2>&1 || { echo "ls failed: $(cat "$WORK/ls")" >&2; return 1; }   # ls reconciles the index
    if grep -q 'NOT VERIFIED' "$WORK/ls"; then echo "ls: $(cat "$WORK/ls")" >&2; return 1; fi
    rows=$(sqlite3 "$ELASTOS_HOME/state.db" 'SELECT cid FROM store ORDER BY cid' | tr '\n' ' ')
    files=$(cd "$ELASTOS_HOME/store" && ls -1 -- *.capsule 2>/dev/null | sed 's/\.capsule$//' | sort | tr '\n' ' ')
    [ "$rows" = "$files" ] || { echo "index [$rows] != files [$files]" >&2; return 1; }
    [ "$(sqlite3 "$ELASTOS_HOME/state.db" 'PRAGMA integrity_check')" = ok ] || { echo "state.db damaged" >&2; return 1; }
}

# 50 installs killed at random points (0-80 ms after start; an install of these takes ~20-100 ms).
mid=0 fails=0
for i in $(seq 50); do
    art=$WORK/big$(( (i % 3) + 1 )).capsule
    [ $((i % 5)) = 0 ] && "$E" rm "$("$E" cid "$art")" >/dev/null 2>&1   # sometimes start from absent
    "$E" install "$art" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$(( RANDOM % 9 ))$(( RANDOM % 10 ))"
    kill -9 "$pid" 2>/dev/null && mid=$((mid + 1))
    wait "$pid" 2>/dev/null
    consistent || fails=$((fails + 1))
done
echo "kill -9 during install: 50 runs, $mid killed while running, $fails inconsistent"
check '[ "$fails" = 0 ]'
check '[ "$mid" -ge 10 ]'   # most kills must land during the install, or the test proves little
expect 0 "$E" gc
check '[ -z "$(find "$ELASTOS_HOME/store" -name "*.tmp-*")" ]'
for i in 1 2 3; do expect 0 "$E" install "$WORK/big$i.capsule"; done
check consistent
expect 0 "$E" ls; check '[ "$(grep -c " pinned " "$WORK/out")" = 3 ]'

# Concurrent installs of the same CID: all succeed, one entry, intact.
"$E" rm "$("$E" cid "$WORK/big2.capsule")" >/dev/null 2>&1
pids=()
for _ in 1 2 3 4 5 6; do "$E" install "$WORK/big2.capsule" >/dev/null 2>"$WORK/cerr.$_" & pids+=($!); done
cfail=0
for p in "${pids[@]}"; do wait "$p" || cfail=$((cfail + 1)); done
check '[ "$cfail" = 0 ]'
check consistent
expect 0 "$E" ls; check '[ "$(grep -c " big2 " "$WORK/out")" = 1 ]'

# gc keeps pinned (installed) entries and removes nothing else here.
expect 0 "$E" gc --dry-run; contains "$WORK/out" "would remove 0 cached capsules"
expect 0 "$E" gc; contains "$WORK/out" "removed 0 cached capsules"
expect 0 "$E" ls; check '[ "$(grep -c " pinned " "$WORK/out")" = 3 ]'
expect 64 "$E" gc --bogus; expect_err_line
finish
