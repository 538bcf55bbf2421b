#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 240
# Address management and per-network routers through trellisd (issue 23):
# a zone's IP ranges and their overlap refusals (naming both ranges);
# networks with a CIDR (given, or a /24 of the zone's tenant space) and
# same-tenant overlap refusals; two tenants on the same 10.1.1.0/24 with a
# router each; VM stand-ins (network namespaces on veth ports, addresses
# from network.ip_allocate as vm.provision takes them) that get their
# address by DHCP (udhcpc), resolve another VM's name, reach a "public"
# namespace through source NAT and are reached through a port forward;
# the other tenant cannot reach them; a router's dnsmasq that dies is
# restarted by the daemon's router check.  The "host" is a namespace the
# test makes (router uri netns:...), as is the public side.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
unlike() { if [[ "$2" =~ $3 ]]; then _tap_report 1 "$1"; printf '#   got:  %s\n' "$2"; else _tap_report 0 "$1"; fi; }
isnt() { if [[ "$2" != "$3" ]]; then _tap_report 0 "$1"; else _tap_report 1 "$1"; printf '#   got:  %s\n' "$2"; fi; }

if [[ ! -f $TRELLIS_BUILD/plugins/bridge.so || ! -f $TRELLIS_BUILD/plugins/libvirt.so ]]; then
	skip "routers" "bridge.so or libvirt.so not built"
	done_testing
fi
if ! command -v dnsmasq >/dev/null || ! command -v busybox >/dev/null; then
	skip "routers" "dnsmasq (dnsmasq-base) or busybox is not installed"
	done_testing
fi
S=$$
HNS=tr5rh$S PUB=tr5rp$S
VA1=tr5v1$S VA2=tr5v2$S VB1=tr5w1$S
NA=na$S NB=nb$S
if [[ $(id -u) != 0 ]] || ! ip netns add $HNS 2>/dev/null; then
	skip "routers" "need root and network namespaces"
	done_testing
fi
cleanup() {
	local n
	td_cleanup # first: its router check would make the routers again
	for n in $NA $NB; do
		[[ -f /run/trellis-bridge/routers/$n/pid ]] &&
			kill "$(cat /run/trellis-bridge/routers/$n/pid)" 2>/dev/null
		ip netns del trellis-r-$n 2>/dev/null
		rm -rf "/run/trellis-bridge/routers/$n"
	done
	for n in $PUB $VA1 $VA2 $VB1; do # the httpds the test started there
		ip netns pids $n 2>/dev/null | xargs -r kill 2>/dev/null
	done
	for n in $HNS $PUB $VA1 $VA2 $VB1; do ip netns del $n 2>/dev/null; done
}
trap cleanup EXIT
for n in $PUB $VA1 $VA2 $VB1; do ip netns add $n; done
ip -n $HNS link set lo up

cat >"$TD_DIR/trellisd.yaml" <<EOF
network:
  router_check: 2s
EOF
td_start -c "$TD_DIR/trellisd.yaml" -P "$TRELLIS_BUILD/plugins" ||
	{ echo "Bail out! trellisd does not start"; exit 1; }
tcli zone create z1 >/dev/null && tcli zone create z2 >/dev/null
tcli pod create p1 --zone z1 >/dev/null && tcli pod create p2 --zone z1 >/dev/null
tcli pod create q1 --zone z2 >/dev/null && tcli cluster create c1 --pod p1 >/dev/null
ok "a host for the routers" tcli host add h1 --cluster c1 --hypervisor libvirt --uri test:///default

# ---- ranges and their overlaps ----
PB=tr5pb$S
ok "z1's public range" tcli zone ip-range add z1 --kind public --cidr 198.51.100.0/24 \
	--gateway 198.51.100.1 --bridge $PB
out=$(tcli zone ip-range add z2 --kind public --cidr 198.51.100.128/25 2>&1)
is "another zone's overlapping public range: exit 1" "$?" 1
like "the refusal names both ranges" "$out" \
	"CONFLICT: public range 198.51.100.128/25 of zone z2 overlaps public range 198.51.100.0/24 of zone z1"
is "and nothing was recorded" "$(tcli zone ip-range list z2 -o json | json 'len(j["items"])')" 0
ok "pod p1's management subnet" tcli zone ip-range add z1 --kind management --pod p1 --cidr 10.250.0.0/24
like "p2's overlapping one in the same zone is refused, naming both" \
	"$(tcli zone ip-range add z1 --kind management --pod p2 --cidr 10.250.0.128/25 2>&1)" \
	"CONFLICT: management range 10.250.0.128/25 of pod p2 in zone z1 overlaps management range 10.250.0.0/24 of pod p1 in zone z1"
ok "the same subnet in another zone's pod is fine" \
	tcli zone ip-range add z2 --kind management --pod q1 --cidr 10.250.0.0/24
like "a tenant space over the public range is refused" \
	"$(tcli zone ip-range add z1 --kind tenant --cidr 198.51.0.0/16 2>&1)" \
	"CONFLICT: tenant range 198.51.0.0/16 of zone z1 overlaps public range 198.51.100.0/24 of zone z1"
ok "z1's tenant address space" tcli zone ip-range add z1 --kind tenant --cidr 10.1.0.0/16
like "host bits in a CIDR are refused, naming the block" \
	"$(tcli zone ip-range add z1 --kind tenant --cidr 10.9.1.5/24 2>&1)" \
	"INVALID_ARG: cidr: '10.9.1.5/24' has host bits set: the block is 10.9.1.0/24"
like "ip-range list" "$(tcli zone ip-range list z1)" "public +198.51.100.0/24 +198.51.100.1 +198.51.100.2 +198.51.100.254"

# ---- the host's public side: a bridge, and a "public" namespace on it ----
ip -n $HNS link add $PB type bridge && ip -n $HNS link set $PB up
ip -n $HNS link add tr5pu$S type veth peer name eth0 netns $PUB
ip -n $HNS link set tr5pu$S master $PB up
ip -n $PUB addr add 198.51.100.1/24 dev eth0 && ip -n $PUB link set eth0 up && ip -n $PUB link set lo up
mkdir -p "$TD_DIR/www" && echo public-ok >"$TD_DIR/www/index.html"
ip netns exec $PUB busybox httpd -p 80 -h "$TD_DIR/www"

# ---- two tenants, the same CIDR, a router each ----
tcli tenant create acme >/dev/null && tcli tenant create globex >/dev/null
tcli network pool-create vx$S --mode vxlan --first $((20000 + S % 10000 * 10)) --last $((20009 + S % 10000 * 10)) >/dev/null
out=$(tcli network create $NA --pool vx$S --tenant acme --zone z1 --cidr 10.1.1.0/24 \
	--router-host h1 --router-uri netns:$HNS -o json 2>&1)
is "acme's network with its router" "$(json 'j["router"]["routed"], j["spec"]["gateway"], j["spec"]["dhcp_first"]' <<<"$out" 2>&1)" \
	"True 10.1.1.1 10.1.1.2"
PUBA=$(json 'j["spec"]["public_ip"]' <<<"$out")
is "its router's public address comes from z1's public range" "$PUBA" 198.51.100.2
ok "globex's network on the same 10.1.1.0/24" tcli network create $NB --pool vx$S --tenant globex \
	--zone z1 --cidr 10.1.1.0/24 --router-host h1 --router-uri netns:$HNS
like "the same tenant overlapping its own network is refused" \
	"$(tcli network create x$S --pool vx$S --tenant acme --zone z1 --cidr 10.1.1.128/25 2>&1)" \
	"CONFLICT: 10.1.1.128/25 overlaps network '$NA' \(10.1.1.0/24\) of the same tenant acme in zone z1"
is "a default network gets a free /24 of the tenant space" \
	"$(tcli network create d$S --pool vx$S --tenant acme --zone z1 -o json | json 'j["spec"]["cidr"]')" 10.1.0.0/24
ok "the routers' namespaces exist" ip netns exec trellis-r-$NA true
ok "each router has its dnsmasq" test -s /run/trellis-bridge/routers/$NB/pid

# ---- VM stand-ins: an address as vm.provision takes one, a veth port ----
cat >"$TD_DIR/vm.yaml" <<EOW
workflow: test.vmnic
version: 1
inputs:
  vm: {type: string}
  net: {type: string}
steps:
  - id: ip
    call: network.ip_allocate
    with: {network: "\${inputs.net}", vm: "\${inputs.vm}"}
  - id: router
    call: network.router_ensure
    needs: ip
    with: {network: "\${inputs.net}"}
  - id: port
    call: network.port_create
    needs: router
    with: {host: h1, uri: "netns:$HNS", name: "\${inputs.vm}-nic0", segment: "\${inputs.net}", mac: "\${steps.ip.mac}", ip: "\${steps.ip.ip}", veth: true}
outputs:
  peer: "\${steps.port.peer}"
  ip: "\${steps.ip.address}"
EOW
cat >"$TD_DIR/udhcpc.sh" <<'EOS'
#!/bin/sh
# udhcpc's script for the VM stand-ins: address, route, and what it got.
case $1 in
bound|renew)
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route add default via "${router%% *}"
	echo "$ip $dns" >"$LEASE_OUT" ;;
esac
EOS
chmod +x "$TD_DIR/udhcpc.sh"
vm_nic() { # VM NET NS: the address it was given; the port's peer moved into NS as eth0
	local out peer
	out=$(tcli workflow run "$TD_DIR/vm.yaml" --input vm=$1 --input net=$2 --wait -o json 2>&1 |
		sed -n '/^{/,$p')
	peer=$(json 'j["outputs"]["peer"]' <<<"$out" 2>/dev/null)
	[[ -n $peer ]] || { diag "$out"; return 1; }
	ip -n $HNS link set "$peer" netns $3
	ip -n $3 link set "$peer" name eth0
	ip -n $3 link set eth0 up && ip -n $3 link set lo up
	json 'j["outputs"]["ip"]' <<<"$out"
}
dhcp() { # NS: runs udhcpc there, prints "ADDRESS DNS"
	LEASE_OUT=$TD_DIR/lease.$1 ip netns exec $1 busybox udhcpc -i eth0 -n -q -t 5 -T 1 \
		-s "$TD_DIR/udhcpc.sh" >/dev/null 2>&1
	cat "$TD_DIR/lease.$1" 2>/dev/null
}
A1=$(vm_nic v1$S $NA $VA1) A2=$(vm_nic v2$S $NA $VA2) B1=$(vm_nic w1$S $NB $VB1)
is "the allocation table hands out the first DHCP addresses" "$A1 $A2 $B1" "10.1.1.2 10.1.1.3 10.1.1.2"
like "ip list shows IP, MAC and VM" "$(tcli ip list --network $NA)" \
	"10.1.1.2 +$NA +52:54:0a:01:01:02 +v1$S +nic"
like "ip show of an address two networks hold asks for --network" "$(tcli ip show 10.1.1.2 2>&1)" \
	"CONFLICT: address 10.1.1.2 is allocated in 2 networks"
is "ip show --network" "$(tcli ip show 10.1.1.2 --network $NB -o json | json 'j["vm"]')" w1$S

is "DHCP: v1 gets its static lease, the router as DNS server" "$(dhcp $VA1)" "10.1.1.2 10.1.1.1"
is "DHCP: v2 too" "$(dhcp $VA2)" "10.1.1.3 10.1.1.1"
is "DHCP: globex's w1 gets the same address from its own router" "$(dhcp $VB1)" "10.1.1.2 10.1.1.1"
like "DNS: v1 resolves v2's name" "$(ip netns exec $VA1 busybox nslookup v2$S 10.1.1.1 2>&1)" \
	"Address: 10.1.1.3"
unlike "DNS: globex's router does not know acme's VMs" \
	"$(ip netns exec $VB1 busybox nslookup v2$S 10.1.1.1 2>&1)" "Address: 10.1.1.3"
like "NAT: v1 reaches the public namespace (which has no route back but to the router)" \
	"$(ip netns exec $VA1 timeout 3 busybox wget -q -O- http://198.51.100.1/ 2>&1)" public-ok

# ---- isolation: ARP is allowed on ports, so a reply proves L2 reach ----
ok "control: v1 reaches v2 on their segment" ip netns exec $VA1 busybox arping -c 2 -w 3 -I eth0 10.1.1.3
nok "globex's w1 cannot reach acme's v2 (same CIDR, other segment)" \
	ip netns exec $VB1 busybox arping -c 2 -w 3 -I eth0 10.1.1.3
nok "nor acme's v1 at its own address" ip netns exec $VB1 busybox arping -c 2 -w 3 -I eth0 -s 10.1.1.2 10.1.1.2

# ---- a provision that fails after taking an address gives it back ----
cat >"$TD_DIR/undo.yaml" <<EOW
workflow: test.ipundo
version: 1
steps:
  - id: ip
    call: network.ip_allocate
    with: {network: $NA, vm: u1$S}
  - id: boom
    call: core.fail
    needs: ip
    with: {message: planned}
EOW
out=$(tcli workflow run "$TD_DIR/undo.yaml" --wait -o json 2>&1)
like "the address was taken, then the failure compensated" "$out" \
	'succeeded +ip +network.ip_allocate.*"compensation": "done"'
unlike "a failed provision's undo releases the address it took (network.ip_release)" \
	"$(tcli ip list --network $NA)" "u1$S"

# ---- a port forward ----
mkdir -p "$TD_DIR/vmwww" && echo vm-v1 >"$TD_DIR/vmwww/index.html"
ip netns exec $VA1 busybox httpd -p 80 -h "$TD_DIR/vmwww"
like "forward add" "$(tcli network forward add $NA --public-port 8080 --vm v1$S --port 80 -o json 2>&1)" \
	"\"public_ip\": \"$PUBA\""
like "forward list" "$(tcli network forward list $NA)" "tcp +8080 +v1$S +10.1.1.2 +80"
like "the public namespace reaches v1 through the forward" \
	"$(ip netns exec $PUB timeout 3 busybox wget -q -O- http://$PUBA:8080/ 2>&1)" vm-v1
nok "and nothing else of the network from the public side" \
	ip netns exec $PUB timeout 2 busybox wget -q -O- http://$PUBA:8081/
like "a forward to a VM without an address in the network is refused" \
	"$(tcli network forward add $NA --public-port 8081 --vm w1$S --port 80 2>&1)" \
	"NOTFOUND: VM 'w1$S' has no address in network '$NA'"
out=$(tcli network forward remove $NA 8080 -o json)
is "forward remove" "$(json 'j["removed"]' <<<"$out")" True
nok "the forward is gone" ip netns exec $PUB timeout 2 busybox wget -q -O- http://$PUBA:8080/

# ---- a router whose dnsmasq dies is restarted by the daemon ----
pid=$(cat /run/trellis-bridge/routers/$NA/pid)
kill "$pid"
new=
for i in $(seq 1 50); do
	new=$(cat /run/trellis-bridge/routers/$NA/pid 2>/dev/null)
	[[ -n $new && $new != "$pid" ]] && kill -0 "$new" 2>/dev/null && break
	sleep 0.2
done
isnt "the daemon's router check restarted dnsmasq" "$new" "$pid"
like "and the restart is logged" "$(grep "router of network '$NA' was down" "$TD_DIR/daemon.log")" restarted
like "DNS works again" "$(ip netns exec $VA1 busybox nslookup v2$S 10.1.1.1 2>&1)" "Address: 10.1.1.3"

# ---- the daemon crashes: the routers keep serving, and are synced again ----
dpid=$(cat /run/trellis-bridge/routers/$NA/pid)
kill -9 "$TD_PID" && wait "$TD_PID" 2>/dev/null
TD_PID=
like "with trellisd dead, the router still answers DNS" \
	"$(ip netns exec $VA1 busybox nslookup v2$S 10.1.1.1 2>&1)" "Address: 10.1.1.3"
td_start -c "$TD_DIR/trellisd.yaml" -P "$TRELLIS_BUILD/plugins" ||
	{ echo "Bail out! trellisd does not restart"; exit 1; }
for i in $(seq 1 20); do grep -q "router of network '$NB'" "$TD_DIR/daemon.log" 2>/dev/null && break; sleep 0.2; done
is "after the restart the router is the same one (its dnsmasq was not restarted)" \
	"$(cat /run/trellis-bridge/routers/$NA/pid)" "$dpid"
is "and the store still has its addresses" "$(tcli ip list --network $NA -o json | json 'len(j["items"])')" 3

# ---- deletes ----
like "a network with VM addresses is not deleted" "$(tcli network delete $NB 2>&1)" \
	"CONFLICT: network '$NB' still has VM addresses \(w1$S 10.1.1.2\)"
cat >"$TD_DIR/rel.yaml" <<EOW
workflow: test.vmrel
version: 1
inputs:
  vm: {type: string}
steps:
  - id: ips
    call: network.ip_release
    with: {vm: "\${inputs.vm}"}
  - id: routers
    call: network.router_ensure
    needs: ips
    with: {networks: "\${steps.ips.networks}"}
EOW
ok "release w1's address (as vm.destroy does)" tcli workflow run "$TD_DIR/rel.yaml" --input vm=w1$S --wait
ok "then the network goes" tcli network delete $NB
nok "and its router with it" ip netns exec trellis-r-$NB true
is "its public address went back" "$(tcli ip list -o json | json '[i["owner"] for i in j["items"] if i["kind"] == "router"]')" "['$NA']"
done_testing
