#!/usr/bin/env bash
# Issue 12, finding 4: a capsule cannot fill the disk through the audit. 20,000 refused
# capability requests (the same one, then 20,000 different ones) and 3,000 uses of forged tokens
# write a bounded number of records: identical refusals are coalesced into one record with a
# count and first/last times, requests are rate-limited per instance, and refusals written one
# by one are bounded per instance. The audit stays a complete account (the counts add up to
# every refusal) and `audit verify` verifies.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"

# account ID: "RECORDS REFUSALS" for instance ID: how many deny/throttle records it has, and how
# many refusals they stand for ("repeated N times, ...": N; any other: 1).
account() {
    "$E" audit show --json | python3 -c '
import json, re, sys
recs = [r for r in json.load(sys.stdin) if r["capsule_id"] == sys.argv[1] and r["decision"] in ("deny", "throttle")]
n = 0
for r in recs:
    m = re.match(r"repeated (\d+) times, first at \d+ ms, last at \d+ ms: ", r["reason"])
    n += int(m.group(1)) if m else 1
print(len(recs), n)' "$1"
}
instance() { sed -n 's/^info: ok [^ ]* [^ ]* //p' "$WORK/out"; }
size_kb() { du -sk "$ELASTOS_HOME" | cut -f1; }

# --- the same refused request, 20,000 times (outside the manifest) --------------------------------
expect 0 "$E" run "$CT" -- info reqflood 20000 elastos://nope/x read
id=$(instance)
read -r ok denied limit other < <(sed -n 's/^reqflood: ok \([0-9]*\) denied \([0-9]*\) limit \([0-9]*\) other \([0-9]*\)$/\1 \2 \3 \4/p' "$WORK/out")
check "[ '$ok' = 0 ] && [ '$other' = 0 ] && [ $((denied + limit)) = 20000 ]"
check "[ ${limit:-0} -gt 0 ]"                                       # the rate limit bit
read -r records refusals < <(account "$id")
echo "same request: $records records for $refusals refusals ($denied denied, $limit over the rate limit)"
check "[ ${records:-99999} -le 10 ]"
check "[ ${refusals:-0} = 20000 ]"                                  # a complete account

# --- 20,000 different refused requests: the per-instance bound -------------------------------------
expect 0 "$E" run "$CT" -- info reqflood 20000 'elastos://nope/#' read
id=$(instance)
read -r records refusals < <(account "$id")
echo "different requests: $records records for $refusals refusals"
check "[ ${records:-99999} -le 300 ]"
check "[ ${refusals:-0} = 20000 ]"

# --- refused uses: 3,000 reads with a token that does not decode, then forged tokens ------------
expect 0 "$E" run "$CT" -- info settoken AAAA repeat 3000 read localhost://storage/x
id=$(instance)
read -r records refusals < <(account "$id")
check "[ ${records:-99999} -le 5 ] && [ ${refusals:-0} = 3000 ]"
expect 0 "$E" run --grant 'localhost://storage/*:read' "$CT" -- info req localhost://storage/x read forge localhost://storage/x
id=$(instance)
len=$(sed -n 's/^forge: ok 0 of \([0-9]*\) accepted$/\1/p' "$WORK/out")
read -r records refusals < <(account "$id")
check "[ ${len:-0} -gt 100 ] && [ ${refusals:-0} = ${len:-x} ]"    # each forged use accounted for

# --- the whole log: small, and it verifies ----------------------------------------------------------
kb=$(size_kb)
echo "ELASTOS_HOME after the floods: ${kb} KiB"
check "[ $kb -lt 4096 ]"
expect 0 "$E" audit verify
finish
