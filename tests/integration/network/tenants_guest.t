#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Two tenants on the same address space, with real guests (issue 23): two
# business units (acme, globex), a network each, both 10.1.1.0/24 with
# the same gateway 10.1.1.1, a router each on qemu:///system (two router
# namespaces, two dnsmasq), and real test guests that take their address
# by DHCP (udhcpc).  acme has one guest, which gets 10.1.1.2; globex has
# two, 10.1.1.2 (the same address) and 10.1.1.3 (a web server).  From
# inside the guests: acme's guest reaches its own router (ping 10.1.1.1,
# its own name through the router's DNS) but not globex's 10.1.1.3 (no
# answer: that address does not exist in its segment), while globex's
# first guest reaches both its router and 10.1.1.3 and fetches its page.
# So the same address space is isolated per tenant, not shared.
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/provision/lib.sh"
lv_require
if ! command -v dnsmasq >/dev/null || ! command -v busybox >/dev/null; then
	echo "1..0 # SKIP dnsmasq (dnsmasq-base) or busybox is not installed"
	exit 0
fi
S=$$
NA=ta$S NB=tb$S
PV_CONFIG="network: {router_check: 5s}"
pv_start
t_cleanup() {
	local n
	for n in $NA $NB; do
		[[ -f /run/trellis-bridge/routers/$n/pid ]] &&
			kill "$(cat /run/trellis-bridge/routers/$n/pid)" 2>/dev/null
		ip netns del trellis-r-$n 2>/dev/null
		rm -rf "/run/trellis-bridge/routers/$n"
	done
}
trap 'pv_cleanup; t_cleanup' EXIT # the daemon first (its router check)

ok "two business units" eval 'tcli tenant create acme$S >/dev/null && tcli tenant create globex$S >/dev/null'
ok "acme's network 10.1.1.0/24 with a router on the host" \
	tcli network create $NA --pool pvvx --tenant acme$S --zone pv --cidr 10.1.1.0/24 --router-host pvh
ok "globex's network on the same 10.1.1.0/24, its own router" \
	tcli network create $NB --pool pvvx --tenant globex$S --zone pv --cidr 10.1.1.0/24 --router-host pvh
sa=$(tcli network show $NA -o json | jq_ 'str(j["vni"])+" "+j["spec"]["gateway"]' 2>/dev/null)
sb=$(tcli network show $NB -o json | jq_ 'str(j["vni"])+" "+j["spec"]["gateway"]' 2>/dev/null)
is "the same gateway, two segments" "${sa#* } ${sb#* } $([[ ${sa% *} != "${sb% *}" ]] && echo apart)" "10.1.1.1 10.1.1.1 apart"

a1=${PV_PREFIX}a1 b1=${PV_PREFIX}b1 b2=${PV_PREFIX}b2
la=$PV_DIR/a1.log lb1=$PV_DIR/b1.log lb2=$PV_DIR/b2.log
provision() { # NAME NET LOG CMDLINE...
	local n=$1 net=$2 l=$3
	shift 3
	pv_run vm.provision "name=$n" "kernel=$kernel" "initrd=$initrd" segment=$net \
		"cmdline=console=ttyS0 quiet ip=dhcp $*" "serial_log=$l"
	is "guest $n is provisioned on $net" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" succeeded
	pv_track "$n"
}
# globex first (10.1.1.2, then its web server 10.1.1.3), so that the web
# server holds 10.1.1.3 before acme's guest tries that address.  VM ports
# take no new inbound traffic by default: the web server's port is opened
# to ping and port 80 from 10.1.1.0/24, which acme's guest's address is
# in too; only the segments keep it out.
provision "$b1" $NB "$lb1" "trellis.fetch=http://10.1.1.3/ trellis.ping=10.1.1.1,10.1.1.3"
provision "$b2" $NB "$lb2" "trellis.serve=globex-$S"
cat >"$PV_DIR/open.yaml" <<W
workflow: test.open
version: 1
steps:
  - id: http
    call: network.port_open
    with: {host: pvh, port: $b2-nic0, protocol: tcp, port_min: 80, source: 10.1.1.0/24}
  - id: ping
    call: network.port_open
    with: {host: pvh, port: $b2-nic0, protocol: icmp, source: 10.1.1.0/24}
W
like "the web server's port opened to 10.1.1.0/24 (tcp 80, ping)" \
	"$(tcli workflow run "$PV_DIR/open.yaml" --wait 2>&1)" "succeeded +ping"
provision "$a1" $NA "$la" "trellis.resolve=$a1 trellis.ping=10.1.1.1,10.1.1.3 trellis.probe=http://10.1.1.3/"
addr() { tcli ip list --network "$1" -o json | jq_ '[i["address"] for i in j["items"] if i.get("vm") == "'$2'"][0]' 2>/dev/null; }
is "the allocation tables: acme 10.1.1.2; globex 10.1.1.2 and its web server 10.1.1.3" \
	"$(addr $NA "$a1") $(addr $NB "$b1") $(addr $NB "$b2")" "10.1.1.2 10.1.1.2 10.1.1.3"

wait_for() { # FILE PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 2; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
if wait_marker "$la" 180 && wait_marker "$lb1" 180 && wait_marker "$lb2" 180; then
	_tap_report 0 "the three guests boot"
else
	_tap_report 1 "the three guests boot"
fi
b2a=$(addr $NB "$b2") b1a=$(addr $NB "$b1")
ok "acme's guest got 10.1.1.2 by DHCP from its router" wait_for "$la" "eth0 by DHCP: 10.1.1.2/24" 60
ok "globex's web server got $b2a by DHCP from its router" wait_for "$lb2" "eth0 by DHCP: $b2a/24" 60
ok "globex's other guest got $b1a" wait_for "$lb1" "eth0 by DHCP: $b1a/24" 60
ok "acme's guest resolves its own name through its router" wait_for "$la" "resolve $a1: 10.1.1.2" 60
ok "acme's guest reaches its own router (ping 10.1.1.1)" wait_for "$la" "ping 10.1.1.1: ok" 90
ok "globex's guest reaches its own router" wait_for "$lb1" "ping 10.1.1.1: ok" 90
ok "globex's guest reaches globex's web server at 10.1.1.3 (ping)" wait_for "$lb1" "ping 10.1.1.3: ok" 90
ok "...and fetches its page" wait_for "$lb1" "fetch http://10.1.1.3/: globex-$S" 60
ok "acme's guest does not reach 10.1.1.3, globex's web server (no ping answer)" wait_for "$la" "ping 10.1.1.3: no answer" 90
ok "...nor its page (the port admits 10.1.1.0/24: only the segment keeps acme out)" wait_for "$la" "probe http://10.1.1.3/: failed" 60
is "...never an answer" "$(grep -c 'ping 10.1.1.3: ok\|probe http://10.1.1.3/: globex' "$la")" 0
grep 'trellis-guest:' "$la" | sed 's/^/# acme: /' | tail -5
grep 'trellis-guest:' "$lb1" | sed 's/^/# globex: /' | tail -5
# The host's view: the same address and even the same MAC (made from the
# address) in both tenants, on two bridges; two router namespaces with
# the same gateway address.
ports=$(tcli network port list -o json)
pa=$(jq_ '[p["ifname"] for p in j["items"] if p["vm"] == "'$a1'"][0]' <<<"$ports")
pb=$(jq_ '[p["ifname"] for p in j["items"] if p["vm"] == "'$b1'"][0]' <<<"$ports")
is "acme's and globex's 10.1.1.2 have the same MAC" \
	"$(jq_ '" ".join(sorted(set(p["mac"] for p in j["items"] if p["vm"] in ("'$a1'", "'$b1'"))))' <<<"$ports")" "52:54:0a:01:01:02"
ba=$(basename "$(readlink "/sys/class/net/$pa/master")") bb=$(basename "$(readlink "/sys/class/net/$pb/master")")
ok "...on two bridges ($ba, $bb)" test -n "$ba" -a -n "$bb" -a "$ba" != "$bb"
is "both routers hold 10.1.1.1, each in its namespace" \
	"$(ip -n trellis-r-$NA -4 -o addr | grep -c '10.1.1.1/24') $(ip -n trellis-r-$NB -4 -o addr | grep -c '10.1.1.1/24')" "1 1"
for v in "$a1" "$b1" "$b2"; do pv_run vm.destroy "vm=$v"; done
is "the VMs go and give their addresses back" \
	"$(tcli ip list --network $NA -o json | jq_ 'len([i for i in j["items"] if i["kind"] == "nic"])') $(tcli ip list --network $NB -o json | jq_ 'len([i for i in j["items"] if i["kind"] == "nic"])')" "0 0"
PV_VMS=()
done_testing
