#!/usr/bin/env bash
# Two hosts: two network namespaces joined by a veth pair, each with its own Kubo node (profile
# unixfs-v1-2025, no bootstrap peers, no internet). A capsule published on host A is run by CID
# on host B with a fresh $ELASTOS_HOME, fetched through B's own gateway and B's own RPC API (B's
# node gets the blocks from A over bitswap). Needs root (ip netns), as CI has.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
IPFS=${ELASTOS_KUBO:-$HOME/.cache/elastos/kubo/bin/ipfs}
[ -x "$IPFS" ] || { echo "FAIL: Kubo not found at $IPFS (run scripts/build-kubo.sh)" >&2; exit 1; }
unset ELASTOS_GATEWAYS ELASTOS_KUBO_API
NA=elA-$$ NB=elB-$$
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NA" && ip netns add "$NB" || { echo "FAIL: cannot create network namespaces (need root)" >&2; exit 1; }
ip link add "va$$" type veth peer name "vb$$"
ip link set "va$$" netns "$NA"; ip link set "vb$$" netns "$NB"
ip -n "$NA" addr add 10.231.0.1/24 dev "va$$"; ip -n "$NB" addr add 10.231.0.2/24 dev "vb$$"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set "va$$" up; ip -n "$NB" link set "vb$$" up

# node NS NAME IP: a Kubo node in NS, API on 127.0.0.1:5001 and gateway on 127.0.0.1:8080 of
# that namespace (each has its own loopback), swarm on IP:4001.
node() {
    local ns=$1 name=$2 ip=$3
    export IPFS_PATH=$WORK/ipfs-$name
    "$IPFS" init --empty-repo >/dev/null 2>&1 || bad "ipfs init $name"
    "$IPFS" config profile apply unixfs-v1-2025 >/dev/null 2>&1 || bad "profile $name"
    "$IPFS" bootstrap rm --all >/dev/null 2>&1
    "$IPFS" config Addresses.API /ip4/127.0.0.1/tcp/5001
    "$IPFS" config Addresses.Gateway /ip4/127.0.0.1/tcp/8080
    "$IPFS" config --json Addresses.Swarm "[\"/ip4/$ip/tcp/4001\"]"
    "$IPFS" config Routing.Type none
    ip netns exec "$ns" env IPFS_PATH="$IPFS_PATH" "$IPFS" daemon >"$WORK/ipfs-$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 150); do
        ip netns exec "$ns" curl -s -o /dev/null -X POST http://127.0.0.1:5001/api/v0/id && break; sleep 0.2
    done
    check 'ip netns exec "$ns" curl -s -o /dev/null -X POST http://127.0.0.1:5001/api/v0/id'
}
node "$NA" a 10.231.0.1
node "$NB" b 10.231.0.2
IDA=$(ip netns exec "$NA" curl -s -X POST http://127.0.0.1:5001/api/v0/id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
check '[ -n "$IDA" ]'
check 'ip netns exec "$NB" curl -s -f -X POST "http://127.0.0.1:5001/api/v0/swarm/connect?arg=/ip4/10.231.0.1/tcp/4001/p2p/$IDA" >/dev/null'

# Host A publishes hello (one raw block) and a 5 MiB capsule (a dag-pb tree).
cp "$B/capsules/hello.capsule" "$WORK/hello.capsule"
cp -r "$B/capsules/hello.stage" "$WORK/big"
head -c $((5 * 1048576)) /dev/urandom >"$WORK/big/payload.bin"
sed -i 's/"name": "hello"/"name": "hello-big"/' "$WORK/big/capsule.json"
"$E" pack "$WORK/big" --key "$B/keys/publisher.key" -o "$WORK/big.capsule" >/dev/null 2>&1 || bad "pack big"
HCID=$("$E" cid "$WORK/hello.capsule") BCID=$("$E" cid "$WORK/big.capsule")
export ELASTOS_HOME=$WORK/home-a ELASTOS_FETCH_STALL_TIMEOUT=15
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust (home-a)"
expect 0 ip netns exec "$NA" "$E" publish "$WORK/hello.capsule" --api http://127.0.0.1:5001
check '[ "$(cat "$WORK/out")" = "$HCID" ]'
expect 0 ip netns exec "$NA" "$E" publish "$WORK/big.capsule" --api http://127.0.0.1:5001
check '[ "$(cat "$WORK/out")" = "$BCID" ]'

# Host B: a fresh home that trusts the publisher; nothing there, and B's node never had the bytes.
export ELASTOS_HOME=$WORK/home-b
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust (home-b)"
expect 66 ip netns exec "$NB" "$E" run "$HCID" </dev/null; expect_err_line
ELASTOS_GATEWAYS=http://127.0.0.1:8080 expect 0 ip netns exec "$NB" "$E" run "$HCID" -- </dev/null
contains "$WORK/out" "hello from hello"
ELASTOS_KUBO_API=http://127.0.0.1:5001 expect 0 ip netns exec "$NB" "$E" run "$BCID" </dev/null
contains "$WORK/out" "hello from hello-big"
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
# Again through B's gateway into another fresh home (B's node now has the blocks cached).
export ELASTOS_HOME=$WORK/home-b2
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust (home-b2)"
expect 0 ip netns exec "$NB" "$E" fetch "$BCID" --gateway http://127.0.0.1:8080
check 'cmp -s "$ELASTOS_HOME/store/$BCID.capsule" "$WORK/big.capsule"'
# Host A's loopback services are not reachable from B (the hosts share nothing but the link).
check '! ip netns exec "$NB" curl -s -m 2 -o /dev/null http://10.231.0.1:8080/'
finish
