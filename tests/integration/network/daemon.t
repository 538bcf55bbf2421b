#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 90
# Tenant networks through trellisd and the CLI: segment-id pools, the
# exhausted-pool message (nothing recorded), and `trellis network gc`
# removing from a host (a network namespace) what the store does not know.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

if [[ ! -f $TRELLIS_BUILD/plugins/bridge.so || ! -x $TRELLIS_BUILD/tests/bin-tools/netdrv ]]; then
	skip "network through the daemon" "bridge.so or netdrv not built"
	done_testing
fi
NS=tr5d$$
if [[ $(id -u) != 0 ]] || ! ip netns add $NS 2>/dev/null; then
	skip "network through the daemon" "need root and network namespaces"
	done_testing
fi
TD_EXTRA_CLEAN=$NS
trap 'ip netns del $NS 2>/dev/null; td_cleanup' EXIT
DRV=$TRELLIS_BUILD/tests/bin-tools/netdrv

td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not start"; exit 1; }
ok "segment-id pool" tcli network pool-create small --mode vxlan --first 7000 --last 7001
like "overlapping pool refused" "$(tcli network pool-create other --mode vxlan --first 7001 --last 7005 2>&1)" \
	"CONFLICT: .*overlaps pool 'small'"
ok "tenant" tcli tenant create acme
ok "network 1" tcli network create blue --pool small --tenant acme
ok "network 2" tcli network create red --pool small --option qos=gold --option burst=10
is "network show has its options (for segment_ensure)" \
	"$(tcli network show red -o json | json 'j["spec"]["options"]')" "{'burst': 10, 'qos': 'gold'}"
is "ids come from the pool" "$(tcli network list -o json | json '[s["vni"] for s in j["items"]]')" "[7000, 7001]"
out=$(tcli network create green --pool small 2>&1)
is "exhausted pool: exit 1" "$?" 1
like "exhausted pool: the message" "$out" \
	"NOSPACE: no free segment id in pool small \(range 7000-7001, all 2 in use\)"
nok "and nothing was recorded" tcli network show green
like "pool use" "$(tcli network pool-list)" "small +vxlan +7000 +7001 +2 +2"
ok "delete frees the id" tcli network delete red
is "the id is reused" "$(tcli network create green --pool small -o json | json 'j["vni"]')" 7001
like "vlan ranges are checked" "$(tcli network pool-create v --mode vlan --first 1 --last 5000 2>&1)" \
	"INVALID_ARG: .*not within vlan ids 1-4094"

# A host (namespace) with blue (known), a stray segment and a stray port.
ip -n $NS link set lo up
"$DRV" netns:$NS seg-ensure blue vxlan 7000 -- port-create vm1 blue -- \
	seg-ensure stray vxlan 9999 -- port-create lost stray >/dev/null 2>&1
out=$(tcli network gc h1 --uri netns:$NS --dry-run -o json | json '" ".join(r["what"] + "=" + r["name"] for r in j["removed"])')
like "gc --dry-run lists the unknown port" "$out" "port=lost"
like "...and the unknown segment" "$out" "segment=stray"
ok "...but removes nothing: the stray bridge is there" ip -n $NS link show tr-bx9999
ok "...and the stray port" ip -n $NS link show "$(ip -n $NS -o link show | grep -o 'tr-t[0-9a-f]*' | sort | tail -1)"
is "...both ports are still there" "$(ip -n $NS -o link show | grep -c 'tr-t')" 2
out=$(tcli network gc h1 --uri netns:$NS -o json | json '" ".join(r["what"] + "=" + r["name"] for r in j["removed"])')
like "gc removed the unknown port" "$out" "port=lost"
like "gc removed the unknown segment" "$out" "segment=stray"
like "and its VXLAN device" "$out" "link=tr-x9999"
ok "gc kept the known segment" ip -n $NS link show tr-bx7000
is "and the port on it" "$(ip -n $NS -o link show | grep -c 'tr-t')" 1
nok "the stray bridge is gone" ip -n $NS link show tr-bx9999

# The actions in a workflow: a port (which brings its segment to the host)
# and an opened port; a later failure undoes both, and the segment goes
# with its last port.
if tcli workflow --help >/dev/null 2>&1; then
	cat >"$TD_DIR/net.yaml" <<EOW
workflow: test.net
version: 1
inputs:
  fail: {type: int, default: 0}
steps:
  - id: port
    call: network.port_create
    with: {host: h2, uri: "netns:$NS", name: vm2-nic0, segment: green}
  - id: open
    call: network.port_open
    needs: [port]
    with: {host: h2, uri: "netns:$NS", port: "\${steps.port.name}", protocol: tcp, port_min: 22, ttl: 1h}
  - id: last
    call: core.fail
    needs: [open]
    with: {message: planned, fail_attempts: "\${inputs.fail}"}
EOW
	out=$(tcli workflow run "$TD_DIR/net.yaml" --input fail=9 --wait 2>&1)
	like "port_create and port_open in a workflow, then a failure" "$out" \
		"succeeded +port.*succeeded +open.*failed +last"
	like "compensated" "$out" "compensation: done"
	is "the port is gone (only blue's vm1 is left)" "$(ip -n $NS -o link show | grep -c ': tr-t')" 1
	nok "and the segment went with it" ip -n $NS link show tr-bx7001
	out=$(tcli workflow run "$TD_DIR/net.yaml" --wait 2>&1)
	like "the same workflow, succeeding" "$out" "succeeded +last"
	ok "green is on the host" ip -n $NS link show tr-bx7001
	is "with the new port" "$(ip -n $NS -o link show | grep -c ': tr-t')" 2
	like "with the opened port's rule" "$(ip netns exec $NS nft list table bridge trellis)" "tcp dport 22-22 counter packets [0-9]+ bytes [0-9]+ accept"
else
	skip "network actions in workflows" "this trellis has no workflow command yet"
fi
done_testing
