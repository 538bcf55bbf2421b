#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 420
# multi_site.t - several agents in one private zone, each with a real
# host: sites A and B are network namespaces of their own, each behind
# nftables that drop every inbound connection, each with its agent (a1,
# a2) of zone z1.  a1's host is this machine's libvirtd, a2's a second
# real libvirtd with its own sockets, state and host UUID
# (tests/integration/ha/lib.sh): two machines as Trellis sees them.
# Each site has its own pool (localfs through its agent) in its host's
# cluster.  Two guests, placed by Trellis (spreading; the second by name
# on the other host when other runs' guests on the shared libvirtd skew
# free memory): one on each host, each made by its own host's agent (disk, NIC,
# domain), boots (its marker), and is confirmed with virsh on its own
# libvirtd (and absent from the other's).  Revoking a2 disconnects pvb
# only; a1's guest is still served (stopped through a1).
source "$(dirname "$0")/../../lib/tap.sh"
LVLIB=$TRELLIS_SRC/tests/integration/libvirt/lib.sh
source "$LVLIB"
source "$TRELLIS_SRC/tests/integration/ha/lib.sh"
source "$(dirname "$0")/lib.sh"
lv_require
for t in nft ip unshare; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
S=$$
hostns=trmsh$S
p1=$((20000 + (S + 13) % 20000))
D=$(mktemp -d /tmp/trellis-msite.XXXXXX)
chmod 755 "$D"
PFX=trellis-msite$S-
DPID= APIDS=
VNI=$((21000 + (S % 3000) * 4))
tcli() { "$TRELLIS_BUILD/bin/trellis" -s "ipc://$D/api.sock" "$@"; }
jq_() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
cleanup() {
	local p
	for p in $APIDS; do kill -TERM "$p" 2>/dev/null; done
	[[ -n $DPID ]] && kill -TERM "$DPID" 2>/dev/null
	# (never a bare wait: site B's libvirtd is a child too)
	[[ -n "$APIDS$DPID" ]] && wait $APIDS $DPID 2>/dev/null
	lv_purge "$PFX"
	[[ -n $HA_A_URI ]] && for d in $(virsh -c "$HA_A_URI" list --all --name 2>/dev/null | grep "^$PFX"); do
		virsh -c "$HA_A_URI" destroy "$d" >/dev/null 2>&1
		virsh -c "$HA_A_URI" undefine "$d" >/dev/null 2>&1
	done
	ha_host_down
	for s in A B; do
		ip link del "trm${s}a$S" 2>/dev/null
		ip netns del "trms$s$S" 2>/dev/null
	done
	ip netns del "$hostns" 2>/dev/null
	site_segments_del "$VNI"
	rm -rf "$D"
}
trap cleanup EXIT
lv_setup
if ha_host_up "$D/b"; then
	_tap_report 0 "a second libvirtd (site B's host) with its own sockets and host UUID"
else
	_tap_report 1 "a second libvirtd (site B's host) with its own sockets and host UUID"
	tail -5 "$D/b/libvirtd.out" | sed 's/^/#   /'
	done_testing
fi
ip netns attach "$hostns" $$

# ---- two sites ----
site() { # LETTER INDEX: site L's netns trmsL$S; prints the core side's address
	local net=172.$((16 + (S + $2) % 16)).$(((S + 31 * $2) % 250))
	site_up "trms$1$S" "trm$1a$S" "trm$1b$S" "$net.1" "$net.2" && echo "$net.1"
}
ipA=$(site A 1)
ipB=$(site B 2)
ok "two sites, each behind its firewall" bash -c "ip netns exec trmsA$S nft list table inet trsite >/dev/null && ip netns exec trmsB$S nft list table inet trsite >/dev/null"

# ---- the core ----
# Placement spreads, deterministically: the emptiest host takes the
# next guest (a policy of the test's own beside the shipped ones).
mkdir "$D/policies"
cp "$TRELLIS_SRC"/policies/*.yaml "$D/policies/"
cat >"$D/policies/spread1.yaml" <<P
policy: spread1
description: the emptiest host, always (multi_site.t)
filters: [location, spill, exclusive, capacity, vm-limit, tags, affinity, anti-affinity]
weights: {spread: 1.0}
top_n: 1
overcommit: {cpu: 4.0, memory: 1.0}
P
export TRELLIS_POLICY_DIR=$D/policies
cat >"$D/trellisd.yaml" <<C
state_dir: $D/state
api: {listen: "ipc://$D/api.sock"}
events: {listen: "ipc://$D/events.sock"}
plugins: {libvirt: {probe_kernel: "$kernel"}}
agents:
  listen: [tcp://$ipA:$p1, tcp://$ipB:$p1]
  heartbeat: 300ms
  dead_after: 3
C
LD_PRELOAD=$(lv_preload) "$TRELLIS_BUILD/bin/trellisd" -c "$D/trellisd.yaml" -f 2>>"$D/daemon.log" &
DPID=$!
for i in $(seq 100); do tcli --timeout 1000 api status >/dev/null 2>&1 && break; sleep 0.05; done
ok "trellisd is up" tcli api status
tcli tenant create acme >/dev/null
tcli zone create z1 --private --owner acme >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create ca --pod z1/p1 >/dev/null
tcli cluster create cb --pod z1/p1 >/dev/null
ok "z1 places with spread1" tcli policy set spread1 --zone z1

# ---- an agent at each site ----
agent() { # NAME SITE CORE-IP
	tcli zone agent-bundle z1 --out "$D/$1.bundle" --endpoints "tcp://$3:$p1" >/dev/null 2>&1
	mkdir -p "$D/$1"
	printf 'plugins: {libvirt: {probe_kernel: "%s"}}\nnetwork: {context: "netns:%s"}\n' "$kernel" "$hostns" >"$D/$1/agent.yaml"
	ip netns exec "trms$2$S" env LD_PRELOAD="$(lv_preload)" "$TRELLIS_BUILD/bin/trellis-agent" \
		--state-dir "$D/$1" --name "$1" --bundle "$D/$1.bundle" \
		--plugin-dir "$TRELLIS_BUILD/plugins" --report-interval 10 2>>"$D/$1.log" &
	APIDS="$APIDS $!"
}
agent a1 A "$ipA"
agent a2 B "$ipB"
ok "a1 connects from site A" agent_connected a1
ok "a2 connects from site B" agent_connected a2
like "...each on its own site's endpoint" "$(tcli -o json agent show a1 | jq_ "j['link']['params']") $(tcli -o json agent show a2 | jq_ "j['link']['params']")" \
	"endpoint=tcp://$ipA:$p1.* endpoint=tcp://$ipB:$p1"
is "both are agents of z1" "$(tcli -o json agent list | jq_ "' '.join(sorted(a['name'] + ':' + a['zone'] for a in j['items']))")" "a1:z1 a2:z1"

ok "host pva through a1 (this machine's libvirtd)" \
	tcli host add pva --cluster z1/p1/ca --via-agent a1 --uri qemu:///system
ok "host pvb through a2 (the second libvirtd)" \
	tcli host add pvb --cluster z1/p1/cb --via-agent a2 --uri "$HA_A_URI"
is "pva is bound to a1, pvb to a2" \
	"$(tcli -o json host show pva | jq_ "j['agent']") $(tcli -o json host show pvb | jq_ "j['agent']")" "a1 a2"
is "pvb's memory as its own libvirtd says" "$(tcli -o json host show pvb | jq_ "j['memory_kib']")" \
	"$(virsh -c "$HA_A_URI" nodeinfo | awk '/^Memory size/{print $3}')"
nok "the machine of pva cannot be added again through a2" \
	tcli host add pvx --cluster z1/p1/cb --via-agent a2 --uri qemu:///system
ok "a pool at each site, in its host's cluster" bash -c "
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' pool create spa --target '$D/poolA' --cluster z1/p1/ca --via-agent a1 >/dev/null &&
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' pool create spb --target '$D/poolB' --cluster z1/p1/cb --via-agent a2 >/dev/null"
ok "a network for the zone" bash -c "
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network pool-create spx --mode vxlan --first $VNI --last $((VNI + 3)) >/dev/null &&
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network create default --pool spx >/dev/null"

# ---- two guests, placed by Trellis ----
provision() { # NAME [HOST]
	tcli --timeout 600000 -o json workflow run vm.provision --input "name=$1" ${2:+--input host=$2} \
		--input bu=acme --input "kernel=$kernel" --input "initrd=$initrd" \
		--input "cmdline=console=ttyS0 quiet" --input "serial_log=$D/$1.serial.log" --wait >"$D/$1.run" 2>&1
	sed -n '/^{/,$p' "$D/$1.run" | jq_ "j['state']" 2>/dev/null
}
g1=${PFX}g1 g2=${PFX}g2
is "the first guest is provisioned" "$(provision "$g1")" succeeded || sed 's/^/#   /' "$D/$g1.run" | head -20
h1=$(tcli -o json vm show "$g1" | jq_ "j['host']")
like "placement put the first on one of the zone's hosts" "$h1" '^pv[ab]$'
# The second: placement again when it spreads them, else on the other
# host by name.  Spread weighs free memory, and the shared libvirtd's
# free memory moves with other runs' guests, so it may not.
is "the second guest is provisioned" "$(provision "$g2")" succeeded || sed 's/^/#   /' "$D/$g2.run" | head -20
h2=$(tcli -o json vm show "$g2" | jq_ "j['host']")
if [[ $h2 == "$h1" ]]; then
	diag "placement put both on $h1 (free memory skewed by other guests): a third on the other host by name"
	tcli --timeout 600000 workflow run vm.destroy --input "vm=$g2" --wait >/dev/null 2>&1
	other_h=$([[ $h1 == pva ]] && echo pvb || echo pva)
	is "the second guest on $other_h" "$(provision "$g2" "$other_h")" succeeded || sed 's/^/#   /' "$D/$g2.run" | head -20
	h2=$(tcli -o json vm show "$g2" | jq_ "j['host']")
fi
is "one guest on each host" "$(echo "$h1 $h2" | tr ' ' '\n' | sort | xargs)" "pva pvb"
uri_of() { [[ $1 == pva ]] && echo qemu:///system || echo "$HA_A_URI"; }
agent_of() { [[ $1 == pva ]] && echo a1 || echo a2; }
other() { [[ $1 == pva ]] && echo pvb || echo pva; }
for g in "$g1" "$g2"; do
	h=$(tcli -o json vm show "$g" | jq_ "j['host']")
	ag=$(agent_of "$h")
	oa=$(agent_of "$(other "$h")")
	if wait_marker "$D/$g.serial.log" 300; then _tap_report 0 "$g boots on $h (its marker)"; else _tap_report 1 "$g boots on $h (its marker)"; fi
	is "virsh on $h's libvirtd: $g runs" "$(virsh -c "$(uri_of "$h")" domstate "$g" 2>&1)" running
	nok "...and the other libvirtd has no $g" virsh -c "$(uri_of "$(other "$h")")" domstate "$g"
	for a in storage.volume_create network.port_create hypervisor.vm_create hypervisor.vm_start; do
		n_own=$(grep -c "$a: done" "$D/$ag.log")
		[[ $n_own -ge 1 ]] && _tap_report 0 "$a for $g ran on $ag" || _tap_report 1 "$a for $g ran on $ag"
	done
	disk=$(tcli -o json vm show "$g" | jq_ "j['spec']['disks'][0]['path']")
	site=$([[ $h == pva ]] && echo A || echo B)
	like "...its disk is in site $site's pool" "$disk" "^$D/pool$site/"
	like "...virsh: that disk is the guest's" "$(virsh -c "$(uri_of "$h")" domblklist "$g")" "vda +$disk"
done
# Each agent made one guest: its own host's.
# (a guest of h1 destroyed above counts at h1's agent: its domains made
# are those it still has plus those destroyed)
made() { echo $(($(grep -c 'hypervisor.vm_create: done' "$D/$1.log") - $(grep -c 'hypervisor.vm_destroy: done' "$D/$1.log"))); }
is "a1 and a2 each have one domain made, their own host's" "$(made a1) $(made a2)" "1 1"
# pvx was probed through a2 and then refused (pva's machine): a2's next
# full report names it, the core tells a2 to forget it.
for i in $(seq 250); do [[ $(jq_ "' '.join(sorted(j))" <"$D/a2/hosts.json") == pvb ]] && break; sleep 0.1; done
is "each agent knows its own host only (the refused one forgotten)" \
	"$(jq_ "' '.join(sorted(j))" <"$D/a1/hosts.json") / $(jq_ "' '.join(sorted(j))" <"$D/a2/hosts.json")" "pva / pvb"
ok "...a2 was told by the core" grep -q "host pvx: not this agent's at the core; no longer reported" "$D/a2.log"

# ---- a2 revoked: pvb disconnected, a1 serves on ----
ok "revoke a2" tcli agent revoke a2
for i in $(seq 50); do [[ $(tcli -o json host show pvb | jq_ "j['state']") == disconnected ]] && break; sleep 0.1; done
is "pvb is disconnected" "$(tcli -o json host show pvb | jq_ "j['state']")" disconnected
is "pva is up" "$(tcli -o json host show pva | jq_ "j['state']")" up
ga=$([[ $h1 == pva ]] && echo "$g1" || echo "$g2")
ua=$(tcli -o json vm show "$ga" | jq_ "j['uuid']")
cat >"$D/stop.yaml" <<Y
workflow: t.stop
version: 1
steps:
  - id: s
    call: hypervisor.vm_shutdown
    with: {host: pva, uuid: "$ua", timeout_s: 2}
    timeout: 2m
Y
ok "a1 still serves pva: a stop through it" tcli --timeout 300000 workflow run "$D/stop.yaml" --wait
for i in $(seq 50); do [[ $(virsh -c qemu:///system domstate "$ga") == "shut off" ]] && break; sleep 0.2; done
is "virsh: $ga is shut off" "$(virsh -c qemu:///system domstate "$ga" 2>&1)" "shut off"
is "nothing got into site A from outside" "$(site_counter trmsA$S inbound_new)" 0
is "nothing got into site B from outside" "$(site_counter trmsB$S inbound_new)" 0
# The agents and trellisd stop cleanly, with no sanitizer report (ASan).
for p in $APIDS $DPID; do kill -TERM "$p" 2>/dev/null; done
wait $APIDS $DPID 2>/dev/null
nok "no sanitizer report from trellisd or the agents" grep -l "Sanitizer" "$D/daemon.log" "$D/a1.log" "$D/a2.log"
APID= APIDS= DPID=
done_testing
