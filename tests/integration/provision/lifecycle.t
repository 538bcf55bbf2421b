#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 500
# The VM lifecycle as the seed states it (issue 23): a start of a VM that
# runs is a no-op; a disk is never made again (its inode stays); a stop
# takes the NIC away and the network's bridge stays while another VM of
# that network runs on the host, going with the last; a start brings the
# NIC back; a start the hypervisor refuses leaves the VM failed with the
# reason.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
pv_start
ok "a network of this run" tcli network create lcnet$$ --pool pvvx
# A kernel of its own for vm2, so that its start can be made to fail.
cp "$kernel" "$PV_DIR/vmlinuz.vm2"
chmod 644 "$PV_DIR/vmlinuz.vm2"

prov() { # NAME KERNEL
	pv_run vm.provision "name=$1" "kernel=$2" "initrd=$initrd" \
		"cmdline=console=ttyS0 quiet" "serial_log=$PV_DIR/$1.log" segment=lcnet$$
	is "provision $1" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" "succeeded"
	pv_track "$1"
}
v1=${PV_PREFIX}lc1 v2=${PV_PREFIX}lc2
prov "$v1" "$kernel"
prov "$v2" "$PV_DIR/vmlinuz.vm2"
ok "$v1 boots" wait_marker "$PV_DIR/$v1.log" 90
tap1=$(virsh -c qemu:///system domiflist "$v1" | awk '/ethernet/ {print $1}')
br=$(basename "$(readlink "/sys/class/net/$tap1/master")")
disk1=$(virsh -c qemu:///system domblklist "$v1" | awk '/vda/ {print $2}')
ino=$(stat -c %i "$disk1")
diag "$v1: tap $tap1 on bridge $br, disk $disk1 (inode $ino)"
id1=$(virsh -c qemu:///system domid "$v1")

pv_run vm.start "vm=$v1"
is "start of a running VM succeeds" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "succeeded"
is "...as a no-op: it was running" "$(jq_ 'j["outputs"]["was"]' <<<"$PV_OUT")" "running"
is "...the same QEMU (domain id)" "$(virsh -c qemu:///system domid "$v1")" "$id1"
is "...nothing started: the start step was skipped" "$(jq_ '[s["state"] for s in j["steps"] if s["id"]=="start"][0]' <<<"$PV_OUT" 2>/dev/null || echo skipped)" "skipped"

pv_run vm.stop "vm=$v1" grace=5
is "stop $v1" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "succeeded"
nok "its NIC is gone ($tap1)" test -e "/sys/class/net/$tap1"
ok "the bridge stays: $v2 of the network runs here" test -e "/sys/class/net/$br"
pv_run vm.start "vm=$v1"
is "start $v1 again" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "succeeded"
ok "its NIC is back on the bridge" test -e "/sys/class/net/$br/brif/$tap1"
is "its disk was not made again (inode $ino)" "$(stat -c %i "$disk1")" "$ino"
is "its record: running on pvh" "$(tcli vm show "$v1" -o json | jq_ 'j["state"]+" "+j["host"]')" "running pvh"

pv_run vm.stop "vm=$v1" grace=5
pv_run vm.stop "vm=$v2" grace=5
is "stop $v2 too" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "succeeded"
nok "the bridge went with the network's last VM on the host" test -e "/sys/class/net/$br"

# A start the hypervisor refuses: vm2's kernel is gone.
rm -f "$PV_DIR/vmlinuz.vm2"
pv_run vm.start "vm=$v2"
is "a start the hypervisor refuses fails" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "failed"
show=$(tcli vm show "$v2" -o json)
is "the VM is recorded failed" "$(jq_ 'j["state"]' <<<"$show")" "failed"
like "...with the reason" "$(jq_ 'j["spec"]["error"]' <<<"$show")" "vmlinuz.vm2"
nok "...and its NIC went again" test -e "/sys/class/net/$br"
cp "$kernel" "$PV_DIR/vmlinuz.vm2"
pv_run vm.start "vm=$v2"
is "with its kernel back it starts" "$(tcli vm show "$v2" -o json | jq_ 'j["state"]')" "running"
[[ $(tcli vm show "$v2" -o json | jq_ 'j["state"]') == running ]] || diag "$(head -30 "$PV_DIR/run.log")"
done_testing
