#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 240
# multi.t - several agents per zone and several private zones with
# different owner BUs at once (docs/agent.md): zone z1 of BU acme has
# agents a1 and a2, zone z2 of BU beta has b1, and a public zone has a
# direct host.  Each agent serves its own test-driver host (libvirt's
# test driver from a per-agent node XML: its own CPUs and memory).  Each
# agent's hosts are its own (bound, probed and reported by it alone); an
# agent cannot serve another zone; both BUs' placements run at the same
# time and each lands in its own private zone, each VM made by the agent
# of the host it was placed on; revoking a2 closes its link and
# disconnects its host only, while a1 and b1 keep serving.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../daemon/lib.sh"
td_have_libvirt_plugin || { echo "1..0 # SKIP no libvirt plugin"; exit 0; }
AG=$TD_BIN/trellis-agent
port=$((20000 + RANDOM % 20000))
cat >"$TD_DIR/cfg.yaml" <<YAML
agents:
  listen: [tcp://127.0.0.1:$port]
  heartbeat: 300ms
  dead_after: 3
YAML
td_start --config "$TD_DIR/cfg.yaml" || { nok "trellisd starts" true; done_testing; }
log=$TD_DIR/daemon.log
tcli tenant create acme >/dev/null
tcli tenant create beta >/dev/null
tcli zone create z1 --private --owner acme --exclusive --spill deny >/dev/null
tcli zone create z2 --private --owner beta --exclusive --spill deny >/dev/null
tcli zone create pub >/dev/null
for z in z1 z2 pub; do
	tcli pod create "p$z" --zone "$z" >/dev/null
	tcli cluster create "c$z" --pod "$z/p$z" >/dev/null
done

connected() { # NAME True|False, waiting up to 8 s
	local i
	for i in $(seq 1 80); do
		[[ $(tcli -o json agent show "$1" 2>/dev/null | json "j['link']['connected']") == "${2:-True}" ]] && return 0
		sleep 0.1
	done
	return 1
}
# One node XML per host: a machine of its own (CPUs, memory, no domain).
node() { # NAME CPUS MEM_KIB
	cat >"$TD_DIR/$1.xml" <<X
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>$2</cores><threads>1</threads><active>$2</active><mhz>2000</mhz></cpu>
<memory>$3</memory></node>
X
}
node ha1 2 4194304
node ha2 4 8388608
node hb1 6 12582912
node hp 8 16777216

# Three agents of two zones enrol and come up at the same time.
tcli zone agent-bundle z1 --out "$TD_DIR/a1.json" >/dev/null
tcli zone agent-bundle z1 --out "$TD_DIR/a2.json" >/dev/null
tcli zone agent-bundle z2 --out "$TD_DIR/b1.json" >/dev/null
declare -A PID
for a in a1 a2 b1; do
	"$AG" --state-dir "$TD_DIR/$a" --name "$a" --bundle "$TD_DIR/$a.json" \
		--report-interval 2 2>>"$TD_DIR/$a.log" &
	PID[$a]=$!
	TD_EXTRA_PIDS="${TD_EXTRA_PIDS:-} $!"
done
for a in a1 a2 b1; do ok "$a connects" connected "$a"; done
is "agent list: a1, a2 in z1 and b1 in z2" \
	"$(tcli -o json agent list | json "sorted((a['name'], a['zone'], a['link']['connected']) for a in j['items'])")" \
	"[('a1', 'z1', True), ('a2', 'z1', True), ('b1', 'z2', True)]"

out=$(tcli host add hx --cluster z1/pz1/cz1 --via-agent b1 --uri "test://$TD_DIR/hb1.xml" 2>&1)
like "b1 (zone z2) cannot serve a host of z1" "$out" "serves zone 'z2', not 'z1'"
ok "host ha1 via a1" tcli host add ha1 --cluster z1/pz1/cz1 --via-agent a1 --uri "test://$TD_DIR/ha1.xml"
ok "host ha2 via a2" tcli host add ha2 --cluster z1/pz1/cz1 --via-agent a2 --uri "test://$TD_DIR/ha2.xml"
ok "host hb1 via b1" tcli host add hb1 --cluster z2/pz2/cz2 --via-agent b1 --uri "test://$TD_DIR/hb1.xml"
ok "host hp, direct, in the public zone" tcli host add hp --cluster pub/ppub/cpub --uri "test://$TD_DIR/hp.xml"
hosts() { tcli -o json host list | json "sorted((h['name'], $1) for h in j['items'])"; }
is "each host bound to its own agent" "$(hosts "h.get('agent') or ''")" \
	"[('ha1', 'a1'), ('ha2', 'a2'), ('hb1', 'b1'), ('hp', '')]"
is "each host's capacity is its own node's" "$(hosts "h['cpus'], h['memory_kib']")" \
	"[('ha1', 2, 4194304), ('ha2', 4, 8388608), ('hb1', 6, 12582912), ('hp', 8, 16777216)]"
for a in a1 a2 b1; do
	is "$a probed its own host only" "$(grep -c 'hypervisor.host_probe: done' "$TD_DIR/$a.log")" 1
done
sleep 2.5 # a periodic report from each agent
for a in a1 a2 b1; do
	is "$a remembers its own host only" "$(json "sorted(h['name'] for h in j)" <"$TD_DIR/$a/hosts.json" 2>/dev/null ||
		json "sorted(j.keys())" <"$TD_DIR/$a/hosts.json")" "['h${a}']"
	is "$a's reports reach the core" "$(tcli -o json agent show "$a" | json "j['link']['reports'] > 0")" True
done

is "policy try: acme goes to its private zone z1" \
	"$(tcli policy try --memory 1G --tenant acme -o json | json 'j["zone"] if "zone" in j else j["host"]')" z1 ||
	tcli policy try --memory 1G --tenant acme -o json | sed 's/^/#   /'
is "policy try: beta goes to its private zone z2" \
	"$(tcli policy try --memory 1G --tenant beta -o json | json 'j["host"]')" hb1
is "policy try: a public request goes to the public zone" \
	"$(tcli policy try --memory 1G -o json | json 'j["host"]')" hp

# Both BUs' placements at once: place, then make the VM on that host.
cat >"$TD_DIR/mk.yaml" <<'YAML'
workflow: t.multi
version: 1
inputs:
  name: {type: string}
  bu: {type: string}
steps:
  - id: place
    call: policy.place
    with: {memory_mb: 256, vcpus: 1, tenant: "${inputs.bu}"}
  - id: vm
    call: hypervisor.vm_create
    needs: [place]
    with: {host: "${steps.place.host}", name: "${inputs.name}", memory_mb: 256, vcpus: 1}
outputs:
  host: "${steps.place.host}"
  uuid: "${steps.vm.uuid}"
YAML
declare -A WF
for i in 1 2 3; do
	for bu in acme beta; do
		WF[$bu$i]=$(tcli -o json workflow run "$TD_DIR/mk.yaml" --input "name=$bu-vm$i" \
			--input "bu=$bu" --no-wait | json "j['id']")
	done
done
done_wf() { # ID: waits for a final state, prints it
	[[ -n $1 ]] || { echo "no id"; return; }
	local i st
	for i in $(seq 1 150); do
		st=$(tcli -o json workflow status "$1" 2>/dev/null | json "j['state']" 2>/dev/null)
		[[ $st == succeeded || $st == failed ]] && break
		sleep 0.2
	done
	echo "$st"
}
declare -A ON
for k in "${!WF[@]}"; do
	st=$(done_wf "${WF[$k]}")
	is "workflow $k (placed and made at once with the others) succeeds" "$st" succeeded ||
		tcli workflow logs "${WF[$k]}" 2>&1 | tail -5 | sed 's/^/#   /'
	ON[$k]=$(tcli -o json workflow status "${WF[$k]}" | json "j['outputs']['host']")
done
for i in 1 2 3; do
	like "acme's VM $i landed in z1 (ha1 or ha2)" "${ON[acme$i]}" '^ha[12]$'
	is "beta's VM $i landed in z2 (hb1)" "${ON[beta$i]}" hb1
done
made() { grep -c 'hypervisor.vm_create: done' "$TD_DIR/$1.log"; }
is "b1 made beta's three VMs" "$(made b1)" 3
is "a1 and a2 made acme's three VMs between them" "$(($(made a1) + $(made a2)))" 3
n1=0
for i in 1 2 3; do [[ ${ON[acme$i]} == ha1 ]] && n1=$((n1 + 1)); done
is "a1 made exactly those placed on ha1" "$(made a1)" "$n1"
vms() { tcli -o json vm list | json "sorted((v['host'], v['name']) for v in j['items'] if v['name'].startswith(('acme', 'beta')))"; }
want=$(python3 -c "import sys; o=sys.argv[1:]; print(sorted([(o[i], ('acme' if i < 3 else 'beta') + '-vm%d' % (i % 3 + 1)) for i in range(6)]))" \
	"${ON[acme1]}" "${ON[acme2]}" "${ON[acme3]}" "${ON[beta1]}" "${ON[beta2]}" "${ON[beta3]}")
is "the core records each of the six VMs on the host it was placed on" "$(vms)" "$want"

# One agent revoked: its link and its host only.
ok "agent revoke a2" tcli agent revoke a2
for i in $(seq 1 30); do kill -0 "${PID[a2]}" 2>/dev/null || break; sleep 0.1; done
wait "${PID[a2]}"
is "a2 exits 2 (revoked)" "$?" 2
state() { tcli -o json host show "$1" | json "j['state']"; }
is "ha2 (a2's) is disconnected" "$(state ha2)" disconnected
sleep 1.2 # beyond the dead-link limit (3 x 300 ms): nothing else went
ok "a1 is still connected" connected a1
ok "b1 is still connected" connected b1
is "ha1 stays up" "$(state ha1)" up
is "hb1 stays up" "$(state hb1)" up
is "the core logged a2's link closed, and nobody else's" \
	"$(grep -o "agent '[a-z0-9]*' (zone '[a-z0-9]*'): link closed" "$log" | sort -u)" \
	"agent 'a2' (zone 'z1'): link closed"
is "policy try: acme now goes to ha1, not the disconnected ha2" \
	"$(tcli policy try --memory 1G --tenant acme -o json | json 'j["host"]')" ha1
a1n=$(made a1)
b1n=$(made b1)
w1=$(tcli -o json workflow run "$TD_DIR/mk.yaml" --input name=acme-vm4 --input bu=acme --no-wait | json "j['id']")
w2=$(tcli -o json workflow run "$TD_DIR/mk.yaml" --input name=beta-vm4 --input bu=beta --no-wait | json "j['id']")
is "after the revocation acme still places (on a1's host)" "$(done_wf "$w1")" succeeded
is "... and beta too (on b1's)" "$(done_wf "$w2")" succeeded
is "a1 made acme's new VM" "$(made a1)" $((a1n + 1))
is "b1 made beta's new VM" "$(made b1)" $((b1n + 1))
for a in a1 b1; do
	kill -TERM "${PID[$a]}"
	wait "${PID[$a]}"
	is "$a stops with 0" "$?" 0
done
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
[[ $TD_RC == 0 ]] || tail -15 "$log" | sed 's/^/#   /'
done_testing
