#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 420
# site_plugins.t - a private site's storage and network, made by the
# agent's own plugins: the agent runs in a network namespace behind
# nftables that drop every inbound connection (as in site.t); its pool
# (localfs, `pool create --via-agent`) and its host's segment and ports
# (bridge) are the site's, so the core relays their storage.* and
# network.* actions to the agent as it relays the hypervisor's.  A real
# test guest is provisioned on the agent's host: its disk and its NIC
# were made by the agent's plugins (the agent's log, the core's relay
# log), and are confirmed where they live (the pool's file, virsh
# domblklist/domiflist, the tap on the site's bridge); destroy takes
# them away again through the agent.  The agent's config file
# (agent.yaml) gives its plugins their sections: localfs's template_dirs
# holds at the site (a template outside it refused there), a section
# its plugin's schema refuses, an unknown plugin, a failed init and a bad
# key each stop the agent before it connects, naming FILE:LINE and the
# plugin.
source "$(dirname "$0")/../../lib/tap.sh"
LVLIB=$TRELLIS_SRC/tests/integration/libvirt/lib.sh
source "$LVLIB"
source "$(dirname "$0")/lib.sh"
lv_require
for t in nft ip; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
S=$$
ns=trsp$S                   # the private site
hostns=trsph$S              # a name for the namespace of the site's taps
va=trpa$S vb=trpb$S         # veth: core side, site side
net=172.$((16 + S % 16)).$(((S + 97) % 250))
core_ip=$net.1 site_ip=$net.2
p1=$((20000 + (S + 7) % 20000))
D=$(mktemp -d /tmp/trellis-sitepl.XXXXXX)
chmod 755 "$D"
mkdir -m 0755 "$D/templates"
PFX=trellis-sitepl$S-
DPID= APID=
tcli() { "$TRELLIS_BUILD/bin/trellis" -s "ipc://$D/api.sock" "$@"; }
jq_() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
VNI=$((20000 + (S % 3000) * 4))
cleanup() {
	[[ -n $APID ]] && kill -TERM "$APID" 2>/dev/null
	[[ -n $DPID ]] && kill -TERM "$DPID" 2>/dev/null
	[[ -n "$APID$DPID" ]] && wait $APID $DPID 2>/dev/null
	lv_purge "$PFX"
	ip link del "$va" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip netns del "$hostns" 2>/dev/null
	site_segments_del "$VNI"
	rm -rf "$D"
}
trap cleanup EXIT
lv_setup

# ---- the site ----
site_up "$ns" "$va" "$vb" "$core_ip" "$site_ip"
ok "the site's firewall is in place" ip netns exec "$ns" nft list table inet trsite
# The site's hosts run their guests' taps where libvirtd is (this
# machine's namespace): the agent's network plugin works there
# (network.context in its config), named for it.
ip netns attach "$hostns" $$

# ---- the core ----
cat >"$D/trellisd.yaml" <<C
state_dir: $D/state
api: {listen: "ipc://$D/api.sock"}
events: {listen: "ipc://$D/events.sock"}
log: {level: debug}
plugins: {libvirt: {probe_kernel: "$kernel"}}
agents:
  listen: [tcp://$core_ip:$p1]
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
tcli zone create pub >/dev/null
tcli pod create pp --zone pub >/dev/null
tcli cluster create pc --pod pub/pp >/dev/null
tcli zone agent-bundle z1 --out "$D/bundle.json" >/dev/null 2>&1

# ---- the agent's config: each refusal stops it before it connects ----
agent_once() { # CONFIG-TEXT: runs the agent with it; its status, its words in $D/once.log
	printf '%s\n' "$1" >"$D/bad.yaml"
	ip netns exec "$ns" timeout 20 "$TRELLIS_BUILD/bin/trellis-agent" \
		--state-dir "$D/agent-bad" --name bad --bundle "$D/bundle.json" \
		--config "$D/bad.yaml" --plugin-dir "$TRELLIS_BUILD/plugins" >"$D/once.log" 2>&1
}
agent_once "plugins:
  localfs: {qemu_img_timeout_s: many}"
is "a section its plugin's schema refuses: the agent does not start" "$?" 1
like "...the reason names the file, the line and the plugin" "$(cat "$D/once.log")" \
	"bad.yaml:2:[0-9]+: plugins.localfs: plugin .*localfs.so refused: config: .*qemu_img_timeout_s"
like "...and says it is not starting" "$(cat "$D/once.log")" "not starting: 1 plugin"
agent_once "plugins:
  localfs: {qemu_img_timeout_s: 0}"
is "a plugin whose init fails: the agent does not start" "$?" 1
like "...named, with its init's reason, at its line" "$(cat "$D/once.log")" \
	"bad.yaml:2:[0-9]+: plugins.localfs: .*(init failed|qemu_img_timeout_s)"
agent_once "plugins:
  nosuch: {}"
is "a plugin that does not exist: the agent does not start" "$?" 1
like "...named at its line" "$(cat "$D/once.log")" "bad.yaml:2:[0-9]+: plugins.nosuch: no plugin named 'nosuch'"
agent_once "network: {context: elsewhere}"
is "a bad network context: the agent does not start" "$?" 1
like "...FILE:LINE:COL and the key" "$(cat "$D/once.log")" "bad.yaml:1:[0-9]+: network.context: expected local or netns:NAME"
agent_once "plugin: {}"
is "an unknown key: the agent does not start" "$?" 1
like "...named at its line" "$(cat "$D/once.log")" "bad.yaml:1:1: unknown key"
nok "no refused start enrolled an agent" bash -c "tcli agent list | grep -qw bad"

# ---- the agent, with its plugins' sections ----
mkdir -p "$D/agent"
cat >"$D/agent/agent.yaml" <<Y
plugins:
  libvirt: {probe_kernel: "$kernel"}
  localfs: {template_dirs: ["$D/templates"]}
network:
  context: netns:$hostns
Y
ip netns exec "$ns" env LD_PRELOAD="$(lv_preload)" "$TRELLIS_BUILD/bin/trellis-agent" \
	--state-dir "$D/agent" --name a1 --bundle "$D/bundle.json" \
	--plugin-dir "$TRELLIS_BUILD/plugins" --report-interval 10 2>>"$D/agent.log" &
APID=$!
ok "the agent (config in its state dir) enrols and connects" agent_connected a1
ok "host add --via-agent on qemu:///system" \
	tcli host add pva --cluster z1/p1/c1 --via-agent a1 --uri qemu:///system

# ---- the site's pool ----
nok "a pool at the site needs a cluster" tcli pool create sp --target "$D/pool" --via-agent a1
like "...of the agent's zone" "$(tcli pool create sp --target "$D/pool" --via-agent a1 --cluster pub/pp/pc 2>&1)" \
	"agent 'a1' serves zone 'z1', not 'pub'"
ok "nothing made by a refused pool" test ! -e "$D/pool"
ok "pool create --via-agent: the site's localfs opens it" \
	tcli pool create sp --target "$D/pool" --cluster z1/p1/c1 --via-agent a1
is "...its record says whose site it is" "$(tcli -o json pool show sp | jq_ "j['spec']['agent']")" a1
ok "...the pool's directory was made at the site" test -d "$D/pool"
ok "...by the agent's localfs (relayed)" grep -q "storage.pool_open: done" "$D/agent.log"
like "pool show reads its capacity through the agent" "$(tcli -o json pool show sp)" '"capacity": [1-9]'
n0=$(grep -c "storage.pool_info: done" "$D/agent.log")
[[ $n0 -ge 1 ]] && _tap_report 0 "...storage.pool_info ran at the site" || _tap_report 1 "...storage.pool_info ran at the site"

# template_dirs from the agent's config holds at the site.
qemu-img create -q -f qcow2 "$D/templates/base.qcow2" 32M
qemu-img create -q -f qcow2 "$D/outside.qcow2" 32M
vol() { # NAME TEMPLATE
	cat >"$D/vol.yaml" <<Y
workflow: t.vol
version: 1
steps:
  - id: v
    call: storage.volume_create
    with: {pool: sp, name: "$1", size_gb: 1, template: "$2"}
Y
	tcli --timeout 120000 -o json workflow run "$D/vol.yaml" --wait >"$D/vol.out" 2>&1
}
vol ${PFX}t1 "$D/templates/base.qcow2"
is "a volume over a template in the site's template_dirs is made" \
	"$(sed -n '/^{/,$p' "$D/vol.out" | jq_ "j['state']")" succeeded
ok "...in the site's pool" test -f "$D/pool/${PFX}t1"
vol ${PFX}t2 "$D/outside.qcow2"
is "a template outside the site's template_dirs is refused at the site" \
	"$(sed -n '/^{/,$p' "$D/vol.out" | jq_ "j['state']")" failed
like "...by the agent's localfs, with its reason" "$(cat "$D/vol.out")" "template_dirs|not (with)?in"
ok "...and nothing is made" test ! -e "$D/pool/${PFX}t2"

# ---- the network ----
ok "a network for the zone" bash -c "
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network pool-create spx --mode vxlan --first $VNI --last $((VNI + 3)) >/dev/null &&
	'$TRELLIS_BUILD/bin/trellis' -s 'ipc://$D/api.sock' network create default --pool spx >/dev/null"

# ---- vm.provision: disk and NIC made by the site's plugins ----
vm=${PFX}g1
slog=$D/$vm.serial.log
tcli --timeout 600000 -o json workflow run vm.provision --input "name=$vm" --input host=pva \
	--input bu=acme --input "kernel=$kernel" --input "initrd=$initrd" \
	--input "cmdline=console=ttyS0 quiet" --input "serial_log=$slog" --wait >"$D/run.log" 2>&1
out=$(sed -n '/^{/,$p' "$D/run.log")
is "vm.provision on the agent's host succeeds" "$(jq_ "j['state']" <<<"$out" 2>/dev/null)" succeeded ||
	sed 's/^/#   /' "$D/run.log" | head -20
uuid=$(jq_ "j['outputs']['uuid']" <<<"$out" 2>/dev/null)
for a in storage.volume_create network.port_create hypervisor.vm_create hypervisor.vm_start; do
	ok "$a ran on the agent (its log)" grep -q "$a: done" "$D/agent.log"
	ok "...relayed by the core (its log)" grep -q "relay: $a on 'a1'" "$D/daemon.log"
done
if wait_marker "$slog" 300; then _tap_report 0 "the guest boots (its marker)"; else _tap_report 1 "the guest boots (its marker)"; fi
is "virsh: the domain runs" "$(virsh -c qemu:///system domstate "$vm" 2>&1)" running
tcli -o json vm show "$vm" >"$D/vm.json"
cp "$D/vm.json" /tmp/agent5-vm.json 2>/dev/null
disk=$(jq_ "j['spec']['disks'][0]['path']" <"$D/vm.json")
like "its disk is in the site's pool" "$disk" "^$D/pool/"
ok "...a file there" test -f "$disk"
like "virsh: the guest's disk is that file" "$(virsh -c qemu:///system domblklist "$vm")" "vda +$disk"
ifname=$(jq_ "j['spec']['ports'][0]['ifname']" <"$D/vm.json")
mac=$(jq_ "j['spec']['ports'][0]['mac']" <"$D/vm.json")
like "the port has a tap and a MAC" "$ifname $mac" "^[a-z0-9-]+ [0-9a-f:]{17}$"
like "virsh: the guest's NIC is the site's port" "$(virsh -c qemu:///system domiflist "$vm")" "$ifname .*$mac"
br=$(basename "$(readlink -f "/sys/class/net/$ifname/master")")
like "...on the segment's bridge the site's plugin made" "$br" "^tr-bx$VNI$"
ok "...the bridge is up with the tap in it" test -e "/sys/class/net/$br/brif/$ifname"

# ---- destroy: the site's plugins take disk and NIC away ----
tcli --timeout 300000 -o json workflow run vm.destroy --input "vm=$vm" --wait >"$D/destroy.log" 2>&1
is "vm.destroy succeeds" "$(sed -n '/^{/,$p' "$D/destroy.log" | jq_ "j['state']" 2>/dev/null)" succeeded ||
	sed 's/^/#   /' "$D/destroy.log" | head -20
ok "storage.volume_delete ran on the agent" grep -q "storage.volume_delete: done" "$D/agent.log"
ok "network.port_delete ran on the agent" grep -q "network.port_delete: done" "$D/agent.log"
nok "virsh: the domain is gone" virsh -c qemu:///system domstate "$vm"
ok "the disk is gone from the site's pool" test ! -e "$disk"
ok "the tap is gone" test ! -e "/sys/class/net/$ifname"
is "nothing got into the site from outside" "$(site_counter "$ns" inbound_new)" 0
# The agents and trellisd stop cleanly, with no sanitizer report (ASan).
for p in $APID $DPID; do kill -TERM "$p" 2>/dev/null; done
wait $APID $DPID 2>/dev/null
nok "no sanitizer report from trellisd or the agents" grep -l "Sanitizer" "$D/daemon.log" "$D/agent.log"
APID= APIDS= DPID=
done_testing
