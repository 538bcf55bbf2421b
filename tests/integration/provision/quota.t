#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# Issue 17's quota under concurrency, on a real trellisd, libvirtd and
# QEMU: 16 vm.provision at once for a business unit whose VM quota is 10
# give exactly 10 VMs; the 6 others fail at the placement step with a
# message naming the quota, its limit and its use, and leave no domain,
# volume or port behind (virsh, the pool directory and the segment's
# bridge agree with the store).  Destroying the 10 gives the quota back.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
# Room for 16 small VMs on a 2-CPU host that others' guests load too:
# only the quota may refuse them.
PV_POLICY_YAML='policy: roomy
description: vcpu and memory overcommit 32x (the quota test)
filters: [location, capacity]
weights: {binpack: 1.0}
top_n: 1
overcommit: {cpu: 32.0, memory: 32.0}'
pv_start
tcli policy set roomy --zone pv >/dev/null
# A segment of its own: another run's "default" on this kernel must not
# collide with ours.
seg=q$$
tcli network create "$seg" --pool pvvx >/dev/null
bridge=tr-bx$(tcli -o json network show "$seg" | jq_ 'j["vni"]')

ok "bu create q1" tcli bu create q1
ok "quota set q1 --vms 10" tcli quota set q1 --vms 10
mkdir -p "$PV_DIR/ops"
pids=()
for i in $(seq 1 16); do
	tcli --timeout 600000 -o json workflow run vm.provision \
		--input "name=${PV_PREFIX}q$i" --input memory_mb=64 --input bu=q1 \
		--input "segment=$seg" --input blank=true \
		--wait >"$PV_DIR/ops/$i.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
won=0 quota=0 other=0
for i in $(seq 1 16); do
	st=$(sed -n '/^{/,$p' "$PV_DIR/ops/$i.out" | jq_ 'j["state"] + " " + str(j.get("failed_step")) + " " + str(j.get("error"))' 2>/dev/null)
	case $st in
	"succeeded "*) won=$((won + 1)); PV_VMS+=("${PV_PREFIX}q$i $(sed -n '/^{/,$p' "$PV_DIR/ops/$i.out" | jq_ 'j["outputs"]["uuid"] + " " + j["outputs"]["claim"]')") ;;
	*"place"*"quota of VMs reached: limit 10, in use 10"*) quota=$((quota + 1)) ;;
	*) other=$((other + 1)); diag "provision $i: $st" ;;
	esac
done
is "exactly 10 of 16 concurrent provisions succeed" "$won" "10"
is "the 6 others fail at the placement step naming the quota" "$quota" "6"
is "...and nothing else" "$other" "0"
is "the store has 10 VMs of q1" "$(tcli -o json vm list --tenant q1 --limit 1000 | jq_ 'len(j["items"])')" "10"
is "quota show: 10 VMs in use" "$(tcli -o json quota show --bu q1 | jq_ 'j["use"]["vms"]')" "10"
domains=$(virsh -c qemu:///system list --all --name 2>/dev/null | grep -c "^${PV_PREFIX}q")
is "virsh has the 10 domains, no more" "$domains" "10"
disks=$(ls "$PV_DIR/pool" | grep -c "^${PV_PREFIX}q")
is "the pool has the 10 disks, no more" "$disks" "10"
# The VMs' ports: the bridge's, but for its VXLAN device (tr-x*).
ports() { ls "/sys/class/net/$bridge/brif" 2>/dev/null | grep -vc '^tr-x'; }
taps=$(ports)
is "the segment's bridge has the 10 ports, no more" "$taps" "10"
is "10 claims, each a live VM's" "$(tcli -o json policy claims | jq_ 'sum(1 for c in j["items"] if c["owner_state"] == "live" and c["owner"].startswith("vm:"))')" "10"

# Destroy them: the quota is free again.
gone=0
for v in "${PV_VMS[@]}"; do
	set -- $v
	tcli --timeout 600000 workflow run vm.destroy --input "vm=$1" --wait >/dev/null 2>&1 && gone=$((gone + 1))
done
PV_VMS=()
is "the 10 are destroyed" "$gone" "10"
is "quota show: none in use" "$(tcli -o json quota show --bu q1 | jq_ 'j["use"]["vms"]')" "0"
is "no claim left" "$(tcli -o json policy claims | jq_ 'len(j["items"])')" "0"
is "no domain left" "$(virsh -c qemu:///system list --all --name 2>/dev/null | grep -c "^${PV_PREFIX}q")" "0"
is "no disk left" "$(ls "$PV_DIR/pool" | grep -c "^${PV_PREFIX}q")" "0"
is "no port left" "$(ports)" "0"
done_testing
