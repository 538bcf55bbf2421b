#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# relay.t - actions relayed through a private zone's agent (docs/agent.md),
# on loopback with libvirt's test driver: `host add --via-agent` probes
# the host through the agent (capacity as `virsh nodeinfo` says), the
# host is bound to the agent, a workflow's hypervisor steps on it run on
# the agent, the agent's inventory report reaches the core, data an
# operator enters by hand (host set) holds over the reports until
# cleared, and a step
# whose link is cut (the agent frozen) completes exactly once when the
# link comes back.
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
tcli zone create z1 --private --owner acme >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create c1 --pod z1/p1 >/dev/null
tcli zone create pub >/dev/null
tcli pod create pp --zone pub >/dev/null
tcli cluster create pc --pod pub/pp >/dev/null
tcli zone agent-bundle z1 --out "$TD_DIR/b.json" >/dev/null
connected() {
	local i
	for i in $(seq 1 80); do
		[[ $(tcli -o json agent show "$1" 2>/dev/null | json "j['link']['connected']") == True ]] && return 0
		sleep 0.1
	done
	return 1
}
"$AG" --state-dir "$TD_DIR/a1" --name a1 --bundle "$TD_DIR/b.json" --report-interval 2 2>>"$TD_DIR/a1.log" &
a1=$!
TD_EXTRA_PIDS="$a1"
ok "a1 connects" connected a1

out=$(tcli host add hx --cluster pub/pp/pc --via-agent a1 --uri test:///default 2>&1)
like "a host of another zone than the agent's is refused" "$out" "serves zone 'z1', not 'pub'"
out=$(tcli host add hy --cluster z1/p1/c1 --via-agent nobody --uri test:///default 2>&1)
like "an unknown agent is refused" "$out" "agent 'nobody' not found"
ok "host add --via-agent" tcli host add h1 --cluster z1/p1/c1 --via-agent a1 --uri test:///default
ok "the probe ran on the agent" grep -q "hypervisor.host_probe: done" "$TD_DIR/a1.log"
h() { tcli host show h1 -o json >"$TD_DIR/h.json"; json "$1" <"$TD_DIR/h.json"; }
is "the host is bound to a1" "$(h "j['agent']")" a1
ni=$(virsh -c test:///default nodeinfo)
is "cpus as virsh nodeinfo" "$(h "j['cpus']")" "$(awk '/^CPU\(s\)/{print $2}' <<<"$ni")"
is "memory as virsh nodeinfo" "$(h "j['memory_kib']")" "$(awk '/^Memory size/{print $3}' <<<"$ni")"

cat >"$TD_DIR/mk.yaml" <<'YAML'
workflow: t.mk
version: 1
inputs:
  name: {type: string}
steps:
  - id: vm
    call: hypervisor.vm_create
    with: {host: h1, name: "${inputs.name}", memory_mb: 64, vcpus: 1}
  - id: info
    call: hypervisor.vm_info
    needs: [vm]
    with: {host: h1, uuid: "${steps.vm.uuid}"}
outputs:
  uuid: "${steps.vm.uuid}"
  state: "${steps.info.state}"
YAML
ok "a workflow's hypervisor steps on h1" tcli workflow run "$TD_DIR/mk.yaml" --input name=r1 --wait
n=$(grep -c "hypervisor.vm_create: done" "$TD_DIR/a1.log")
is "vm_create ran on the agent once" "$n" 1

# The report: the agent's full report refreshes the host.
r0=$(h "j['refreshed_at']")
sleep 3.2
ok "the periodic report refreshed h1" test "$(h "j['refreshed_at']")" -gt "$r0"

# Host data entered by hand holds over the agent's reports until cleared.
ok "host set: an operator enters h1's data by hand" tcli host set h1 --cpus 64 --memory 128G --cpu-model hand-entered
is "the host shows it" "$(h "(j['cpus'], j['memory_kib'], j['cpu_model'])")" "(64, 134217728, 'hand-entered')"
is "... and says it was entered by hand" "$(h "sorted(j['spec']['manual'])")" "['cpu_model', 'cpus', 'memory_kib']"
r1=$(h "j['refreshed_at']")
sleep 3.2
ok "a later report refreshed h1" test "$(h "j['refreshed_at']")" -gt "$r1"
is "... and the data entered by hand held" "$(h "(j['cpus'], j['memory_kib'])")" "(64, 134217728)"
nok "host set with nothing to set is refused" tcli host set h1
nok "host set on an unknown host is refused" tcli host set nohost --cpus 2
ok "host set --clear" tcli host set h1 --clear
ok "host refresh" tcli host refresh h1
is "cleared: the hypervisor's figures again" "$(h "(j['cpus'], j['memory_kib'], 'manual' in (j.get('spec') or {}))")" \
	"($(awk '/^CPU\(s\)/{print $2}' <<<"$ni"), $(awk '/^Memory size/{print $3}' <<<"$ni"), False)"

# A link cut during a step: the command waits, is sent again when the
# agent is back, and runs once.
kill -STOP "$a1"
tcli workflow run "$TD_DIR/mk.yaml" --input name=r2 --no-wait >/dev/null
sleep 2
kill -CONT "$a1"
ok "a1 reconnects" connected a1
for i in $(seq 1 100); do grep -q "hypervisor.vm_info: done" <(sed -n '/r2\|vm_create/,$p' "$TD_DIR/a1.log") && [[ $(grep -c "hypervisor.vm_create: done" "$TD_DIR/a1.log") -ge 2 ]] && break; sleep 0.1; done
is "the step cut by the link ran once" "$(grep -c "hypervisor.vm_create: done" "$TD_DIR/a1.log")" 2
ok "the core logged the dead link" grep -q "agent 'a1' (zone 'z1'): link closed: dead" "$log"
last=$(tcli -o json workflow list | json "j['items'][0]['state']")
for i in $(seq 1 50); do last=$(tcli -o json workflow list | json "j['items'][0]['state']"); [[ $last == succeeded ]] && break; sleep 0.2; done
is "its workflow succeeded" "$last" succeeded
kill -TERM "$a1"
wait "$a1"
is "a1 stops with 0" "$?" 0
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
[[ $TD_RC == 0 ]] || tail -15 "$log" | sed 's/^/#   /'
done_testing
