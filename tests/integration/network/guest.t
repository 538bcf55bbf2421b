#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# The real test guest on a bridge-plugin segment: the bridge plugin makes a
# segment and a tap port on this host ("local"), the libvirt plugin starts
# the guest with its vNIC on that tap (nic ifname), and a network-namespace
# endpoint on the same segment pings it - after a rule opened ICMP, since
# traffic into a VM port is denied by default.
source "$(dirname "$0")/../../lib/tap.sh"
LVLIB=$TRELLIS_SRC/tests/integration/libvirt/lib.sh
if [[ ! -f $LVLIB || ! -x $TRELLIS_SRC/tests/guest/build.sh || ! -x $TRELLIS_SRC/tools/libvirt-up.sh ]]; then
	echo "1..0 # SKIP the libvirt test helpers or the guest builder are not in this tree"
	exit 0
fi
source "$LVLIB"
lv_require
DRV=$TRELLIS_BUILD/tests/bin-tools/netdrv
if [[ ! -x $DRV || ! -f $TRELLIS_BUILD/plugins/bridge.so ]]; then
	echo "1..0 # SKIP netdrv or bridge.so not built"
	exit 0
fi

S=$$
name=trellis-netguest-$S
seg=tr5g$S
id=$((16000000 + S % 700000))
ns=tr5ge$S
net=10.$((150 + S % 50)).$((S % 250)).
vmmac=52:54:00:5e:$(printf %02x $((S % 256))):02
cleanup() {
	lv_purge "$name"
	"$DRV" local port-delete ${seg}-vm -- port-delete ${seg}-ep release >/dev/null 2>&1
	"$DRV" local seg-release $seg >/dev/null 2>&1
	ip netns del $ns 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
lv_setup

out=$("$DRV" local seg-ensure $seg local $id tenant=acme -- \
	port-create ${seg}-vm $seg mac=$vmmac -- port-create ${seg}-ep $seg veth 2>&1)
like "segment, VM tap port and endpoint port on this host" "$out" \
	"bridge=tr-bl$id .*ifname=(tr-t[0-9a-f]{8}) bridge=tr-bl$id mac=$vmmac peer=-.*peer=tr-g"
tap=$(grep -o -m1 'ifname=tr-t[0-9a-f]*' <<<"$out" | head -1 | cut -d= -f2)
peer=$(grep -o 'peer=tr-g[0-9a-f]*' <<<"$out" | cut -d= -f2)
ip netns add $ns
ip link set "$peer" netns $ns
ip -n $ns link set "$peer" name eth0
ip -n $ns addr add ${net}1/24 dev eth0
ip -n $ns link set eth0 up
ip -n $ns link set lo up

qemu-img create -q -f qcow2 "$tmp/root.qcow2" 64M
log=$tmp/serial.log
out=$(hv create "$name" --key "netguest/$S" --memory 256 --kernel "$kernel" --initrd "$initrd" \
	--cmdline "console=ttyS0 quiet ip=${net}2::${net}1:24::eth0:off" \
	--disk "$tmp/root.qcow2,format=qcow2" --nic "ifname=$tap,mac=$vmmac" \
	--serial-log "$log" --start 2>&1)
like "the guest starts with its vNIC on the port's tap" "$out" "state=running"
if wait_marker "$log" 120; then
	_tap_report 0 "the guest is up (boot marker)"
else
	_tap_report 1 "the guest is up (boot marker)"
	sed 's/^/#   /' "$log" | tail -15
fi
like "libvirt attached the domain to the tap" "$(virsh -c qemu:///system domiflist "$name")" "$tap"

ping_guest() {
	local tries=$1 i
	for ((i = 0; i < tries; i++)); do
		ip netns exec $ns busybox ping -c1 -W1 ${net}2 >/dev/null 2>&1 && return 0
	done
	return 1
}
nok "default deny: the endpoint cannot ping the guest" ping_guest 3
like "open ICMP into the VM port" "$("$DRV" local rule-add ${seg}-vm icmp 2>&1)" "^rule=r"
ok "the endpoint pings the guest on the segment" ping_guest 30
done_testing
