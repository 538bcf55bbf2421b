#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Host HA with two real hypervisor hosts on this machine (issue 23): host
# A is a libvirtd of this test's own (ha/lib.sh), host B the shared
# qemu:///system, both in one pod and cluster with one pool.  An
# HA-enabled guest provisioned on A; A's libvirtd is killed (its QEMU
# keeps running, as on a host whose management died).  The first fence
# fails: A is fence_failed and nothing restarts (the guest still runs on
# A).  The operator clears A; the second fence (the test fence: kills A's
# QEMU processes by PID) succeeds, and the guest comes back on B with the
# same disk and MAC and prints its boot marker there.  Every HA step is
# in the audit log.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../provision/lib.sh"
source "$(dirname "$0")/lib.sh"
lv_require
command -v unshare >/dev/null || { echo "1..0 # SKIP no unshare"; exit 0; }

dir=$(mktemp -d /tmp/trellis-ha.XXXXXX)
chmod 755 "$dir"
cleanup_ha() {
	ha_host_down
	rm -rf "$dir"
}
# The fence: refuses while $dir/deny exists, else kills host A's QEMU
# processes by PID (A's libvirtd is dead already) and says what it did.
cat >"$dir/fence.sh" <<F
#!/bin/sh
echo "fence \$1" >>"$dir/fence.log"
[ "\$1" = hostA ] || exit 1
[ -e "$dir/deny" ] && { echo "fence refused (test)" >&2; exit 1; }
for f in "$dir/a"/run/qemu/*.pid; do [ -s "\$f" ] && kill -9 "\$(cat "\$f")" 2>/dev/null; done
kill -9 \$(cat "$dir/a/libvirtd.pid" 2>/dev/null) 2>/dev/null
exit 0
F
# The probe: host A is alive while its libvirtd is.
cat >"$dir/probe.sh" <<P
#!/bin/sh
[ "\$1" = hostA ] || exit 0
kill -0 \$(cat "$dir/a/libvirtd.pid" 2>/dev/null) 2>/dev/null
P
chmod +x "$dir/fence.sh" "$dir/probe.sh"
touch "$dir/deny"

PV_CONFIG="host_refresh: 0
ha: {interval: 1s, fail_after: 3s, probe: [$dir/probe.sh, '{host}'], fence: [$dir/fence.sh, '{host}'], fence_timeout: 20s}"
pv_start
trap 'pv_cleanup; cleanup_ha' EXIT

# Host A in a cluster of its own in the same pod, with no pool yet: its
# first VM's disk goes to the shared pool (no cluster), which B reaches.
ha_join "$dir/a" hanet$$
mkdir -m 0711 "$PV_DIR/apool"
name=${PV_PREFIX}ha
log=$PV_DIR/$name.serial.log
ha_guest_on_a "$name" "$log" hanet$$
uuid=$HA_UUID
is "its record: host A" "$(tcli vm show "$name" -o json | jq_ 'j["host"]')" "hostA"
mac=$(virsh -c "$HA_A_URI" domiflist "$name" | awk '/52:54/ {print $5}')
disk=$(virsh -c "$HA_A_URI" domblklist "$name" | awk '/vda/ {print $2}')
qpid=$(cat "$dir/a/run/qemu/$name.pid" 2>/dev/null)
like "its disk is in the shared pool" "$disk" "/shpool/"

# A second HA VM whose disk is in a pool of A's cluster only: no other
# host reaches it, so it fits nowhere else.
ok "a pool of A's cluster only" tcli pool create apool --target "$PV_DIR/apool" --cluster pv/pv/ca
stuck=${PV_PREFIX}stuck
pv_run vm.provision "name=$stuck" "kernel=$kernel" "initrd=$initrd" \
	"cmdline=console=ttyS0 quiet" "serial_log=$PV_DIR/$stuck.log" host=hostA ha=true segment=hanet$$
is "a second HA VM on A, its disk in A's cluster's pool" "$(jq_ 'j["state"]+" "+j["outputs"]["pool"]' <<<"$PV_OUT")" "succeeded apool"
# What A's boot wrote: B's start may append to the log or start it anew.
a_ino=$(stat -c %i "$log") a_size=$(stat -c %s "$log")
ok "its QEMU runs on A (pid $qpid)" kill -0 "$qpid"

# ---- host A's management dies; the first fence fails ----
kill -9 "$HA_A_PID"
wait "$HA_A_PID" 2>/dev/null
st=
for _ in $(seq 1 40); do
	st=$(tcli host show hostA -o json | jq_ 'j["state"]')
	[[ $st == fence_failed ]] && break
	sleep 0.5
done
is "host A: failed, then fence_failed (the fence refused)" "$st" "fence_failed"
sleep 3
ok "no restart: the guest still runs on A" kill -0 "$qpid"
is "...and none on B" "$(virsh -c qemu:///system domstate "$name" 2>&1 | grep -c running)" "0"
is "ha status: no restart started" "$(tcli ha status -o json | jq_ 'len(j["restarts"])')" "0"
like "ha status: A's reason" "$(tcli ha status -o json | jq_ '[h for h in j["hosts"] if h["host"]=="hostA"][0]["reason"]')" "fence refused"

# ---- the operator clears A; the fence works now ----
rm -f "$dir/deny"
ok "ha clear hostA" tcli ha clear hostA
st=
for _ in $(seq 1 40); do
	st=$(tcli host show hostA -o json | jq_ 'j["state"]')
	[[ $st == fenced ]] && break
	sleep 0.5
done
is "host A fenced" "$st" "fenced"
ok "the fence killed A's QEMU (by PID)" ha_pid_gone "$qpid"
vst=$(ha_vm_where "$name")
is "the VM runs again, on host B (pvh), once its start is confirmed" "$vst" "running pvh"
[[ $vst == "running pvh" ]] || { diag "$(tcli ha status 2>&1 | tail -20)"; diag "$(tcli vm show "$name" 2>&1 | grep -i error)"; }
is "...the same uuid" "$(tcli vm show "$name" -o json | jq_ 'j["uuid"]')" "$uuid"
is "...the same disk" "$(virsh -c qemu:///system domblklist "$name" | awk '/vda/ {print $2}')" "$disk"
is "...the same MAC" "$(virsh -c qemu:///system domiflist "$name" | awk '/52:54/ {print $5}')" "$mac"
marker=0
for _ in $(seq 1 90); do
	n=$(grep -c TRELLIS-GUEST-UP "$log" 2>/dev/null)
	ino=$(stat -c %i "$log" 2>/dev/null) size=$(stat -c %s "$log" 2>/dev/null)
	[[ ${n:-0} -eq 0 || $ino != "$a_ino" || ${size:-0} -lt $a_size ]] && anew=1
	if [[ ${n:-0} -ge 2 ]] || { [[ ${n:-0} -ge 1 && -n ${anew:-} ]]; }; then
		marker=1
		break
	fi
	sleep 1
done
is "the guest prints its boot marker on B" "$marker" "1"
rs=
for _ in $(seq 1 30); do
	rs=$(tcli ha status -o json)
	[[ $(jq_ 'sum(1 for r in j["restarts"] if r["state"] == "running")' <<<"$rs") == 0 ]] && break
	sleep 1
done
is "ha status: the VM restarted on pvh" "$(jq_ '" ".join(r["state"]+":"+str(r["to"]) for r in j["restarts"] if r["name"]=="'"$name"'")' <<<"$rs")" "restarted:pvh"
is "ha status: the VM that fits nowhere is reported failed" "$(jq_ '" ".join(r["state"] for r in j["restarts"] if r["name"]=="'"$stuck"'")' <<<"$rs")" "failed"
like "...with placement's reason" "$(jq_ '" ".join(str(r["error"]) for r in j["restarts"] if r["name"]=="'"$stuck"'")' <<<"$rs")" "NOSPACE|no host|NOTFOUND"
show=$(tcli vm show "$stuck" -o json)
is "...its record: failed, not dropped" "$(jq_ 'j["state"]' <<<"$show")" "failed"
like "...with the reason" "$(jq_ 'j["spec"]["error"]' <<<"$show")" "HA restart from hostA failed"
is "...and nowhere running" "$(virsh -c qemu:///system domstate "$stuck" 2>&1 | grep -c running)" "0"
au=$(tcli audit list -o json 2>/dev/null)
for op in ha.host_failed ha.fence ha.clear ha.restart_started ha.restart; do
	like "audited: $op" "$au" "\"op\": \"$op\""
done
like "audited: the failed fence" "$(jq_ '" ".join(a["op"]+"="+a["result"] for a in j["items"] if a["op"]=="ha.fence")' <<<"$au")" "ha.fence=failed.*ha.fence=ok"
# pv_cleanup's vm.destroy takes the record's host (pvh now).
done_testing
