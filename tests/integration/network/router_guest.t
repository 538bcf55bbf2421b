#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# A routed network with real test guests (issue 23): vm.provision on a real
# trellisd and qemu:///system puts two guests on a network with a router;
# each guest's init runs udhcpc (ip=dhcp) and gets the address the
# allocation table gave its NIC; the first resolves the second's name
# through the router's dnsmasq and fetches a page from a "public"
# namespace through the router's source NAT; the public namespace reaches
# the first guest's web server through a port forward.  vm.destroy gives
# the addresses back.  The public side is a bridge and a namespace the
# test makes; nothing leaves the machine.
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/provision/lib.sh"
lv_require
if ! command -v dnsmasq >/dev/null || ! command -v busybox >/dev/null; then
	echo "1..0 # SKIP dnsmasq (dnsmasq-base) or busybox is not installed"
	exit 0
fi
S=$$
NET=gn$S PB=tr5gb$S PUB=tr5gp$S
PV_CONFIG="network: {router_check: 5s}"
pv_start
g_cleanup() {
	[[ -f /run/trellis-bridge/routers/$NET/pid ]] &&
		kill "$(cat /run/trellis-bridge/routers/$NET/pid)" 2>/dev/null
	ip netns del trellis-r-$NET 2>/dev/null
	rm -rf "/run/trellis-bridge/routers/$NET"
	ip netns pids $PUB 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del $PUB 2>/dev/null
	ip link del $PB 2>/dev/null
	ip link del tr5gu$S 2>/dev/null
}
trap 'pv_cleanup; g_cleanup' EXIT # the daemon first (its router check)

# The public side: a bridge on this host and a namespace on it (the
# "internet": 198.51.100.1 with a web server, no route to the tenants).
ip link add $PB type bridge && ip link set $PB up
ip netns add $PUB
ip link add tr5gu$S type veth peer name eth0 netns $PUB
ip link set tr5gu$S master $PB up
ip -n $PUB addr add 198.51.100.1/24 dev eth0
ip -n $PUB link set eth0 up && ip -n $PUB link set lo up
mkdir -p "$PV_DIR/www" && echo public-ok >"$PV_DIR/www/index.html"
ip netns exec $PUB busybox httpd -p 80 -h "$PV_DIR/www"

ok "the zone's public range, on that bridge" tcli zone ip-range add pv --kind public \
	--cidr 198.51.100.0/24 --gateway 198.51.100.1 --bridge $PB
out=$(tcli network create $NET --pool pvvx --zone pv --cidr 10.1.1.0/24 --router-host pvh -o json 2>&1)
like "a routed network on the host" "$out" '"netns": "trellis-r-'$NET'"'
PUBA=$(jq_ 'j["spec"]["public_ip"]' <<<"$out" 2>/dev/null)

v1=${PV_PREFIX}r1 v2=${PV_PREFIX}r2
log1=$PV_DIR/r1.log log2=$PV_DIR/r2.log
pv_run vm.provision "name=$v2" "kernel=$kernel" "initrd=$initrd" segment=$NET \
	"cmdline=console=ttyS0 quiet ip=dhcp" "serial_log=$log2"
is "the second guest is provisioned on the network" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" succeeded
pv_track "$v2"
pv_run vm.provision "name=$v1" "kernel=$kernel" "initrd=$initrd" segment=$NET \
	"cmdline=console=ttyS0 quiet ip=dhcp trellis.serve=guest-$S trellis.resolve=$v2 trellis.fetch=http://198.51.100.1/" \
	"serial_log=$log1"
is "the first guest is provisioned on the network" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" succeeded
pv_track "$v1"
a2=$(tcli ip list --network $NET -o json | jq_ '[i["address"] for i in j["items"] if i.get("vm") == "'$v2'"][0]' 2>/dev/null)
a1=$(tcli ip list --network $NET -o json | jq_ '[i["address"] for i in j["items"] if i.get("vm") == "'$v1'"][0]' 2>/dev/null)
is "the allocation table gave them the first addresses" "$a2 $a1" "10.1.1.2 10.1.1.3"

wait_for() { # FILE PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 2; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
if wait_marker "$log1" 180 && wait_marker "$log2" 180; then
	_tap_report 0 "both guests boot"
else
	_tap_report 1 "both guests boot"
	tail -5 "$log1" "$log2" | sed 's/^/#   /'
fi
ok "guest 1 got its address by DHCP (udhcpc)" wait_for "$log1" "eth0 by DHCP: $a1/24" 60
ok "guest 2 too" wait_for "$log2" "eth0 by DHCP: $a2/24" 60
ok "guest 1 resolves guest 2's name through the router" wait_for "$log1" "resolve $v2: $a2" 60
ok "guest 1 reaches the public namespace through NAT" wait_for "$log1" "fetch http://198.51.100.1/: public-ok" 60
grep 'trellis-guest:' "$log1" | sed 's/^/# guest 1: /' | tail -6

ok "a port forward to guest 1's web server" \
	tcli network forward add $NET --public-port 8080 --vm "$v1" --port 80
got=
for i in $(seq 1 20); do
	got=$(ip netns exec $PUB timeout 3 busybox wget -q -O- "http://$PUBA:8080/" 2>/dev/null) && break
	sleep 1
done
is "the public namespace reaches guest 1 through the forward" "$got" "guest-$S"

pv_run vm.destroy "vm=$v1"
is "vm.destroy of guest 1" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" succeeded
is "its address went back" \
	"$(tcli ip list --network $NET -o json | jq_ '[i["vm"] for i in j["items"] if i["kind"] == "nic"]')" "['$v2']"
unlike_host=$(cat /run/trellis-bridge/routers/$NET/hosts 2>/dev/null)
is "and the router forgot its name" "$(grep -c "$v1" <<<"$unlike_host")" 0
done_testing
