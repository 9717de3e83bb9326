# kubo_lib.sh - a real Kubo node on loopback for the IPFS tests (sourced after lib.sh).
# start_kubo: an offline node (profile unixfs-v1-2025) on API_PORT and GW_PORT (kernel-chosen
# unless set), its pid appended to PIDS; sets API and GW to its RPC API and gateway URLs.
IPFS=${ELASTOS_KUBO:-$HOME/.cache/elastos/kubo/bin/ipfs}
[ -x "$IPFS" ] || { echo "FAIL: Kubo not found at $IPFS (run scripts/build-kubo.sh)" >&2; exit 1; }
export IPFS_PATH=$WORK/ipfs
unset ELASTOS_GATEWAYS ELASTOS_KUBO_API
start_kubo() {
    [ -n "${API_PORT:-}" ] && [ -n "${GW_PORT:-}" ] || read -r API_PORT GW_PORT <<<"$(free_ports 2)"
    "$IPFS" init --empty-repo >/dev/null 2>&1 || bad "ipfs init"
    "$IPFS" config profile apply unixfs-v1-2025 >/dev/null 2>&1 || bad "profile"
    "$IPFS" config Addresses.API "/ip4/127.0.0.1/tcp/$API_PORT" || bad "config API"
    "$IPFS" config Addresses.Gateway "/ip4/127.0.0.1/tcp/$GW_PORT" || bad "config Gateway"
    "$IPFS" config --json Addresses.Swarm '[]' || bad "config Swarm"
    "$IPFS" daemon --offline >"$WORK/ipfs.log" 2>&1 &
    PIDS+=($!)
    API=http://127.0.0.1:$API_PORT GW=http://127.0.0.1:$GW_PORT
    for _ in $(seq 100); do
        curl -s -o /dev/null -X POST "$API/api/v0/id" && break; sleep 0.2
    done
    check 'curl -s -o /dev/null -X POST "$API/api/v0/id"'
}
