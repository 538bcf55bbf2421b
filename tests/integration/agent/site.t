#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 420
# site.t - a private site for real: trellis-agent runs in a network
# namespace whose only way out is a veth to the core, behind nftables that
# drop every inbound connection; the core (trellisd) is on the other side
# (the root namespace, where libvirtd and the guests' taps are).  Proves
# that the management side never opens a connection to the site (every
# TCP SYN on the veth comes from the site; an inbound connection attempt
# is dropped and counted), that the first endpoint blocked makes the agent
# use the next, that a capture of the link shows no token, command, VM
# name or path in clear, and that a real test guest is provisioned, started,
# stopped, given a disk and a NIC and destroyed through the agent, each
# confirmed with virsh.  A link cut (veth down) during a step, then
# restored: the agent reconnects, authenticates again and the step runs
# exactly once.
source "$(dirname "$0")/../../lib/tap.sh"
LVLIB=$TRELLIS_SRC/tests/integration/libvirt/lib.sh
source "$LVLIB"
source "$(dirname "$0")/lib.sh"
lv_require
for t in nft tshark ip; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
S=$$
ns=trsite$S                 # the private site
va=trsa$S vb=trsb$S         # veth: core side, site side
net=172.$((16 + S % 16)).$((S % 250))
core_ip=$net.1 site_ip=$net.2
p1=$((20000 + S % 20000)) p2=$((p1 + 1)) probe=$((p1 + 2))
D=$(mktemp -d /tmp/trellis-site.XXXXXX)
chmod 755 "$D"
mkdir -m 0711 "$D/pool"
PFX=trellis-site$S-
DPID= APID= CAP=
tcli() { "$TRELLIS_BUILD/bin/trellis" -s "ipc://$D/api.sock" "$@"; }
jq_() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
cleanup() {
	[[ -n $CAP ]] && kill -INT "$CAP" 2>/dev/null
	[[ -n $APID ]] && kill -TERM "$APID" 2>/dev/null
	[[ -n $DPID ]] && kill -TERM "$DPID" 2>/dev/null
	wait 2>/dev/null
	lv_purge "$PFX"
	ip link del "$va" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	[[ -n ${hostns:-} ]] && ip netns del "$hostns" 2>/dev/null
	site_segments_del "$VNI"
	rm -rf "$D" "${tmp:-}"
}
VNI=$((30000 + (S % 3000) * 4))
trap cleanup EXIT
lv_setup

# ---- the site: a namespace, a veth, a firewall that lets nothing in ----
site_up "$ns" "$va" "$vb" "$core_ip" "$site_ip" \
	"ip daddr $core_ip tcp dport $p1 counter name first_blocked drop
		ct state new counter name outbound_new accept"
ok "the site's firewall is in place" ip netns exec "$ns" nft list table inet trsite
nftc() { site_counter "$ns" "$1"; }

# The capture runs from before enrolment to the end.
tshark -q -i "$va" -f tcp -w "$D/link.pcap" >"$D/tshark.log" 2>&1 &
CAP=$!
for i in $(seq 50); do grep -q "Capturing on" "$D/tshark.log" && break; sleep 0.1; done

# ---- the core, in the root namespace ----
cat >"$D/trellisd.yaml" <<C
state_dir: $D/state
api: {listen: "ipc://$D/api.sock"}
events: {listen: "ipc://$D/events.sock"}
plugins: {libvirt: {probe_kernel: "$kernel"}}
agents:
  listen: [tcp://$core_ip:$p1, tcp://$core_ip:$p2]
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
tcli cluster create c1 --pod z1/p1 >/dev/null
tcli zone agent-bundle z1 --out "$D/bundle.json" >/dev/null 2>&1
token=$(jq_ "j['token']" <"$D/bundle.json")
like "the bundle names both endpoints, the blocked one first" \
	"$(jq_ "','.join(j['endpoints'])" <"$D/bundle.json")" "^tcp://$core_ip:$p1,tcp://$core_ip:$p2$"

# ---- the agent, in the site ----
# Its hosts' taps are where libvirtd is (this machine's namespace): its
# network plugin works there (network.context; site_plugins.t).
hostns=trsiteh$S
ip netns attach "$hostns" $$
mkdir -p "$D/agent"
printf 'network: {context: "netns:%s"}\n' "$hostns" >"$D/agent/agent.yaml"
ip netns exec "$ns" env LD_PRELOAD="$(lv_preload)" "$TRELLIS_BUILD/bin/trellis-agent" \
	--state-dir "$D/agent" --name a1 --bundle "$D/bundle.json" \
	--plugin-dir "$TRELLIS_BUILD/plugins" --report-interval 10 2>>"$D/agent.log" &
APID=$!
connected() { agent_connected "$@"; }
ok "the agent enrols from the site and its link comes up" connected a1
ok "the first endpoint is blocked: the agent says so and uses the next" \
	grep -q "next: tcp://$core_ip:$p2" "$D/agent.log"
like "the firewall dropped the agent's tries of the first endpoint" "$(nftc first_blocked)" '^[1-9]'
like "the link is on the second endpoint" "$(tcli -o json agent show a1 | jq_ "j['link']['params']")" "endpoint=tcp://$core_ip:$p2"

# The core cannot reach the site: a connection from the core's side to a
# port that listens in the site is dropped, and counted.
ip netns exec "$ns" python3 -c "
import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$site_ip',$probe)); s.listen(1); time.sleep(8)" &
lsn=$!
sleep 0.3
in0=$(nftc inbound_new)
nok "a connection from the core's side into the site fails" \
	timeout 3 bash -c "exec 3<>/dev/tcp/$site_ip/$probe"
like "...dropped by the site's firewall (counted)" "$(nftc inbound_new)" "^[1-9]"
kill "$lsn" 2>/dev/null
wait "$lsn" 2>/dev/null

# ---- a host behind the agent, on the real libvirtd ----
ok "host add --via-agent on qemu:///system" \
	tcli host add pva --cluster z1/p1/c1 --via-agent a1 --uri qemu:///system
tcli -o json host show pva >"$D/h.json"
ni=$(virsh -c qemu:///system nodeinfo)
is "its CPUs as virsh nodeinfo says" "$(jq_ "j['cpus']" <"$D/h.json")" "$(awk '/^CPU\(s\)/{print $2}' <<<"$ni")"
is "its memory as virsh nodeinfo says" "$(jq_ "j['memory_kib']" <"$D/h.json")" "$(awk '/^Memory size/{print $3}' <<<"$ni")"
is "its state is up, bound to a1" "$(jq_ "j['state'] + ' ' + j['agent']" <"$D/h.json")" "up a1"
ok "pool and network for the zone" bash -c "
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' pool create sp --target '$D/pool' --cluster z1/p1/c1 >/dev/null &&
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network pool-create spx --mode vxlan --first $VNI --last $((VNI + 3)) >/dev/null &&
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network create default --pool spx >/dev/null"

# ---- vm.provision through the agent: a real guest boots ----
vm=${PFX}g1
slog=$D/$vm.serial.log
tcli --timeout 600000 -o json workflow run vm.provision --input "name=$vm" --input host=pva \
	--input bu=acme --input "kernel=$kernel" --input "initrd=$initrd" \
	--input "cmdline=console=ttyS0 quiet" --input "serial_log=$slog" --wait >"$D/run.log" 2>&1
out=$(sed -n '/^{/,$p' "$D/run.log")
is "vm.provision on the agent's host succeeds" "$(jq_ "j['state']" <<<"$out" 2>/dev/null)" succeeded ||
	sed 's/^/#   /' "$D/run.log" | head -20
uuid=$(jq_ "j['outputs']['uuid']" <<<"$out" 2>/dev/null)
ok "vm_create and vm_start ran on the agent" bash -c \
	"grep -q 'hypervisor.vm_create: done' '$D/agent.log' && grep -q 'hypervisor.vm_start: done' '$D/agent.log'"
if wait_marker "$slog" 120; then _tap_report 0 "the guest boots (its marker)"; else _tap_report 1 "the guest boots (its marker)"; fi
is "virsh: the domain runs" "$(virsh -c qemu:///system domstate "$vm" 2>&1)" running
like "trellis vm list shows it on pva" "$(tcli vm list)" "$vm +$uuid +pva +running"
# The VMs of pva as Trellis has them (name:state), and as virsh does:
# this test's only (the libvirtd is shared with other runs).
tr_vms() { tcli -o json vm list --host pva --all | jq_ "' '.join(sorted(v['name'] + ':' + v['state'] for v in j['items'] if v['name'].startswith('$PFX')))"; }
virsh_vms() {
	local d out=()
	for d in $(virsh -c qemu:///system list --all --name | grep "^$PFX" | sort); do
		out+=("$d:$(virsh -c qemu:///system domstate "$d" | sed 's/shut off/shutoff/')")
	done
	echo "${out[*]}"
}
is "the VMs Trellis sees on pva are virsh list's" "$(tr_vms)" "$(virsh_vms)"

# Deltas: a VM made outside Trellis appears at once, long before the next
# full report (every 10 s here), and goes when it is undefined.
d0=$(tcli -o json agent show a1 | jq_ "j['link']['deltas']")
out_vm=${PFX}outside
cat >"$D/outside.xml" <<X
<domain type='qemu'><name>$out_vm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>$kernel</kernel><initrd>$initrd</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
<devices><serial type='null'/></devices></domain>
X
virsh -c qemu:///system define "$D/outside.xml" >/dev/null
seen() { local i; for i in $(seq 30); do [[ $(tr_vms) == *"$1"* ]] && return 0; sleep 0.1; done; return 1; }
gone_vm() { local i; for i in $(seq 30); do [[ $(tr_vms) != *"$1"* ]] && return 0; sleep 0.1; done; return 1; }
ok "a VM defined outside Trellis appears within 3 s (a delta)" seen "$out_vm:shutoff"
is "...discovered, not Trellis's" "$(tcli -o json vm list --host pva --origin discovered | jq_ "[v['name'] for v in j['items'] if v['name'] == '$out_vm']")" "['$out_vm']"
virsh -c qemu:///system start "$out_vm" >/dev/null
ok "started outside Trellis: running, at once" seen "$out_vm:running"
like "the agent sent deltas" "$(tcli -o json agent show a1 | jq_ "j['link']['deltas'] - $d0")" '^[1-9]'
is "Trellis and virsh agree again" "$(tr_vms)" "$(virsh_vms)"
# Convergence: the next full report leaves the same state the deltas made.
r0=$(tcli -o json agent show a1 | jq_ "j['link']['reports']")
before=$(tr_vms)
for i in $(seq 400); do
	[[ $(tcli -o json agent show a1 | jq_ "j['link']['reports']") -gt $r0 ]] && break
	sleep 0.1
done
like "a full report came" "$(tcli -o json agent show a1 | jq_ "j['link']['reports'] - $r0")" '^[1-9]'
is "after it, the same VMs in the same states as the deltas left" "$(tr_vms)" "$before"
virsh -c qemu:///system destroy "$out_vm" >/dev/null
virsh -c qemu:///system undefine "$out_vm" >/dev/null
ok "undefined outside Trellis: it goes (a delta)" gone_vm "$out_vm"

step() { # ACTION [MORE-ARGS]: a one-step workflow on the guest, run to its end
	cat >"$D/$1.yaml" <<Y
workflow: t.$1
version: 1
steps:
  - id: s
    call: hypervisor.$1
    with: {host: pva, uuid: "$uuid"${2:-}}
    timeout: 2m
Y
	tcli --timeout 300000 workflow run "$D/$1.yaml" --wait >"$D/$1.out" 2>&1
}
qemu-img create -q -f qcow2 "$D/pool/$vm-data.qcow2" 16M
chmod 644 "$D/pool/$vm-data.qcow2"
ok "disk_attach through the agent" step disk_attach ", target: vdb, disk: {path: \"$D/pool/$vm-data.qcow2\", format: qcow2}"
like "virsh: the disk is attached" "$(virsh -c qemu:///system domblklist "$vm")" "vdb +$D/pool/$vm-data.qcow2"
ok "disk_detach through the agent" step disk_detach ", target: vdb"
for i in $(seq 50); do virsh -c qemu:///system domblklist "$vm" | grep -q vdb || break; sleep 0.2; done
nok "virsh: the disk is gone" bash -c "virsh -c qemu:///system domblklist '$vm' | grep -q vdb"
br=tr-bx$VNI
mac=52:54:00:7e:$(printf %02x $((S % 256))):09
ok "nic_attach through the agent" step nic_attach ", mac: \"$mac\", nic: {bridge: $br}"
like "virsh: the NIC is attached" "$(virsh -c qemu:///system domiflist "$vm")" "$mac"
ok "nic_detach through the agent" step nic_detach ", mac: \"$mac\""
for i in $(seq 50); do virsh -c qemu:///system domiflist "$vm" | grep -q "$mac" || break; sleep 0.2; done
nok "virsh: the NIC is gone" bash -c "virsh -c qemu:///system domiflist '$vm' | grep -q '$mac'"

# ---- the link cut (veth down) during a step, then restored ----
n0=$(grep -c "hypervisor.vm_shutdown: done" "$D/agent.log")
c0=$(grep -c "agent 'a1' (zone 'z1') connected" "$D/daemon.log")
cat >"$D/cut.yaml" <<Y
workflow: t.cut
version: 1
steps:
  - id: off
    call: hypervisor.vm_shutdown
    with: {host: pva, uuid: "$uuid", timeout_s: 2}
    timeout: 2m
Y
ip link set "$va" down
tcli workflow run "$D/cut.yaml" --no-wait >"$D/cut.out" 2>&1
wid=$(head -1 "$D/cut.out")
sleep 2.5
is "while the link is cut the domain still runs" "$(virsh -c qemu:///system domstate "$vm" 2>&1)" running
ok "the core declared the link dead" grep -q "agent 'a1' (zone 'z1'): link closed: dead" "$D/daemon.log"
is "...and the agent's host is disconnected" "$(tcli -o json host show pva | jq_ "j['state']")" disconnected
ip link set "$va" up
ok "the link is restored: the agent reconnects" connected a1 300
is "...and authenticated again (one more 'connected')" \
	"$(grep -c "agent 'a1' (zone 'z1') connected" "$D/daemon.log")" "$((c0 + 1))"
st=
for i in $(seq 100); do
	st=$(tcli -o json workflow status "$wid" 2>/dev/null | jq_ "j['state']" 2>/dev/null)
	[[ $st == succeeded || $st == failed ]] && break
	sleep 0.2
done
is "the step cut by the link succeeds" "$st" succeeded
is "...and ran exactly once on the agent" "$(grep -c "hypervisor.vm_shutdown: done" "$D/agent.log")" "$((n0 + 1))"
is "virsh: the domain is stopped" "$(virsh -c qemu:///system domstate "$vm" 2>&1)" "shut off"
for i in $(seq 50); do [[ $(tcli -o json host show pva | jq_ "j['state']") == up ]] && break; sleep 0.1; done
is "the host is up again" "$(tcli -o json host show pva | jq_ "j['state']")" up

ok "vm_start through the agent" step vm_start
is "virsh: running again" "$(virsh -c qemu:///system domstate "$vm" 2>&1)" running
tcli --timeout 300000 -o json workflow run vm.destroy --input "vm=$vm" --wait >"$D/destroy.log" 2>&1
is "vm.destroy through the agent succeeds" "$(sed -n '/^{/,$p' "$D/destroy.log" | jq_ "j['state']" 2>/dev/null)" succeeded
is "virsh: no domain is left" "$(virsh -c qemu:///system list --all --name | grep -c "^$vm$")" 0

# ---- what the wire showed ----
kill -INT "$CAP"
wait "$CAP" 2>/dev/null
CAP=
syn_from=$(tshark -r "$D/link.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e ip.src 2>/dev/null | sort | uniq -c)
diag "TCP SYNs on the veth, by source: $(tr -s ' \n' ' ' <<<"$syn_from")"
like "connections were opened on the veth" "$syn_from" "$site_ip"
ok "every one the site's (ours to the core's endpoints, and the probe we made)" bash -c \
	"tshark -r '$D/link.pcap' -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $core_ip && tcp.dstport != $probe' -T fields -e frame.number 2>/dev/null | grep -q . && exit 1 || exit 0"
is "the site's firewall counted new outbound connections only: inbound were the probe's" \
	"$(tshark -r "$D/link.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $core_ip" -T fields -e tcp.dstport 2>/dev/null | sort -u | tr '\n' ' ')" "$probe "
tshark -r "$D/link.pcap" -Y "tcp.port == $p2 && tcp.len > 0" -T fields -e tcp.payload 2>/dev/null | tr -d ':\n' | xxd -r -p >"$D/payload.bin"
like "the link carried data" "$(stat -c %s "$D/payload.bin")" '^[0-9]{4,}'
for secret in "$token" "$vm" "hypervisor.vm_create" '"cmd"' "$D/pool" "qemu:///system" "$uuid" "acme"; do
	nok "no '${secret:0:24}' in clear on the wire" grep -aqF -- "$secret" "$D/payload.bin"
done
kill -TERM "$APID"
wait "$APID"
is "the agent stops with status 0" "$?" 0
APID=
kill -TERM "$DPID"
wait "$DPID"
is "trellisd stops cleanly" "$?" 0
DPID=
done_testing
