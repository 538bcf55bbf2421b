#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# The provision benchmark: time from `trellis workflow run vm.provision`
# to the domain running, against the same work done by hand with the tools
# a user would otherwise use (qemu-img create of the same volume, a tap on
# the same bridge, virsh create of the same domain XML), and against the
# plugin driven directly (hvdrv: the same volume and tap, then vm_create).
# The three alternate within each round, on one host, in one run.  Prints
# the medians and the ratio as TAP diagnostics (target: Trellis at most
# 1.10x the hand-made baseline); it fails only when it cannot measure,
# never on slow figures.
#   BENCH_ROUNDS=15 tests/bench/provision/provision.t     a longer run
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/provision/lib.sh"
lv_require
rounds=${BENCH_ROUNDS:-3}
PV_PREFIX=trellis-bench$$-
pv_start

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
running() { [[ $(virsh -c qemu:///system domstate "$1" 2>/dev/null) == running ]]; }
cmdline="console=ttyS0 quiet"

# The anchor VM keeps the segment (bridge + VXLAN device) on the host for
# the whole run, as in steady state, and gives the domain XML the hand path
# replays.
anchor=${PV_PREFIX}anchor
pv_run vm.provision "name=$anchor" host=pvh "kernel=$kernel" "initrd=$initrd" "cmdline=$cmdline"
if [[ $(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null) != succeeded ]]; then
	_tap_report 1 "the anchor VM is provisioned"
	sed 's/^/#   /' "$PV_DIR/run.log" | tail -10
	done_testing
fi
pv_track "$anchor"
_tap_report 0 "the anchor VM is provisioned"
virsh -c qemu:///system dumpxml --inactive "$anchor" >"$PV_DIR/anchor.xml"
atap=$(grep -o "<target dev='[^']*' managed='no'/>" "$PV_DIR/anchor.xml" | cut -d"'" -f2)
bridge=$(basename "$(readlink "/sys/class/net/$atap/master")")
like "the segment's bridge is known" "$bridge" "^tr-"

# The anchor's XML for another name, disk and tap (uuid and MAC left to
# libvirt, our metadata dropped).
hand_xml() { # NAME DISK TAP
	python3 - "$PV_DIR/anchor.xml" "$@" <<-'PY'
		import sys, xml.etree.ElementTree as ET
		src, name, disk, tap = sys.argv[1:5]
		d = ET.parse(src).getroot()
		d.find('name').text = name
		for tag in ('uuid', 'metadata'):
		    e = d.find(tag)
		    if e is not None:
		        d.remove(e)
		dev = d.find('devices')
		dev.find('disk').find('source').set('file', disk)
		nic = dev.find('interface')
		nic.find('target').set('dev', tap)
		nic.remove(nic.find('mac'))
		print(ET.tostring(d, encoding='unicode'))
	PY
}

declare -a T_TRELLIS T_HAND T_DIRECT
fail=0
trellis_round() {
	local n=${PV_PREFIX}t$1 t0
	t0=$(date +%s%N)
	pv_run vm.provision "name=$n" host=pvh "kernel=$kernel" "initrd=$initrd" "cmdline=$cmdline"
	local t=$(ms "$t0")
	local uuid claim
	uuid=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT" 2>/dev/null)
	claim=$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT" 2>/dev/null)
	if [[ -z $uuid ]] || ! running "$n"; then
		fail=1
		diag "trellis round $1 failed: $(tail -3 "$PV_DIR/run.log")"
		return
	fi
	T_TRELLIS+=("$t")
	pv_track "$n"
	pv_run vm.destroy host=pvh "uuid=$uuid" "name=$n" pool=pvpool "claim=$claim"
	unset 'PV_VMS[-1]'
}
hand_round() {
	local n=${PV_PREFIX}h$1 disk=$PV_DIR/pool/hand-$1.qcow2 tap=trbh$$x$1 t0
	hand_xml "$n" "$disk" "$tap" >"$PV_DIR/hand-$1.xml"
	t0=$(date +%s%N)
	qemu-img create -q -f qcow2 "$disk" 1G &&
		ip tuntap add dev "$tap" mode tap &&
		ip link set "$tap" master "$bridge" &&
		ip link set "$tap" up &&
		virsh -q -c qemu:///system create "$PV_DIR/hand-$1.xml" >/dev/null
	local t=$(ms "$t0")
	if running "$n"; then T_HAND+=("$t"); else
		fail=1
		diag "hand round $1 failed"
	fi
	virsh -q -c qemu:///system destroy "$n" >/dev/null 2>&1
	ip link del "$tap" 2>/dev/null
	rm -f "$disk"
}
direct_round() {
	local n=${PV_PREFIX}d$1 disk=$PV_DIR/pool/direct-$1.qcow2 tap=trbd$$x$1 t0 out
	t0=$(date +%s%N)
	qemu-img create -q -f qcow2 "$disk" 1G &&
		ip tuntap add dev "$tap" mode tap &&
		ip link set "$tap" master "$bridge" &&
		ip link set "$tap" up &&
		out=$(hv create "$n" --memory 256 --kernel "$kernel" --initrd "$initrd" \
			--cmdline "$cmdline" --disk "$disk,format=qcow2" --nic "ifname=$tap" \
			--start 2>&1)
	local t=$(ms "$t0")
	if running "$n"; then T_DIRECT+=("$t"); else
		fail=1
		diag "plugin-direct round $1 failed: $out"
	fi
	hv destroy "$(grep -o -m1 'uuid=[0-9a-f-]*' <<<"$out" | cut -d= -f2)" >/dev/null 2>&1
	ip link del "$tap" 2>/dev/null
	rm -f "$disk"
}

for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then
		trellis_round "$r"; hand_round "$r"; direct_round "$r"
	else
		hand_round "$r"; direct_round "$r"; trellis_round "$r"
	fi
done
is "every round measured" "$fail" "0"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
if ((${#T_TRELLIS[@]} && ${#T_HAND[@]} && ${#T_DIRECT[@]})); then
	mt=$(median "${T_TRELLIS[@]}") mh=$(median "${T_HAND[@]}") md=$(median "${T_DIRECT[@]}")
	diag "provision to running, $rounds rounds (ms): trellis ${T_TRELLIS[*]} | hand ${T_HAND[*]} | plugin-direct ${T_DIRECT[*]}"
	diag "median: trellis workflow $mt ms, by hand $mh ms, plugin direct $md ms"
	diag "ratio trellis/hand: $(python3 -c "print('%.2f' % ($mt / $mh))")x (target <= 1.10x); plugin-direct/hand: $(python3 -c "print('%.2f' % ($md / $mh))")x"
fi
done_testing
