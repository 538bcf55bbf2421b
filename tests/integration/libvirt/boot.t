#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# The libvirt plugin against qemu:///system with the real test guest, in one
# boot: create (disk with IOPS caps, NIC on a bridge with bandwidth caps,
# serial log, VNC) and start; the marker shows in the serial log; the guest
# answers ping on the bridge; a replayed create returns the same VM; the
# console is password-protected; disk and NIC hotplug; pause/resume;
# graceful shutdown; destroy leaves no trace.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require

name=trellis-boot-$$
br=trbr$$
net=10.$((200 + $$ % 50)).$(($$ % 250)).
cleanup() {
	lv_purge "$name"
	ip link del "$br" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
lv_setup

info=$(hv host-info 2>&1)
like "host_info names a domain type (probed)" "$info" "domain_type=(kvm|qemu)[[:space:]]"
diag "$info"

ip link add "$br" type bridge && ip addr add "${net}1/24" dev "$br" && ip link set "$br" up
qemu-img create -q -f qcow2 "$tmp/root.qcow2" 64M
qemu-img create -q -f qcow2 "$tmp/data.qcow2" 16M
log=$tmp/serial.log
key="boot-test/$$/vm"
nic="bridge=$br,mac=52:54:00:aa:$(printf %02x $(($$ % 256))):01"
create=(create "$name" --key "$key" --memory 256 --kernel "$kernel" --initrd "$initrd"
	--cmdline "console=ttyS0 quiet ip=${net}2::${net}1:24::eth0:off"
	--disk "$tmp/root.qcow2,format=qcow2,riops=500,wiops=400"
	--serial-log "$log" --vnc --start)
# libvirt's NIC caps need the htb and sfq qdiscs; some host kernels lack sfq.
if tc qdisc add dev "$br" root handle 1: htb 2>/dev/null && tc qdisc add dev "$br" parent 1: handle 2: sfq 2>/dev/null; then
	qos=1
	create+=(--nic "$nic,in=2000,out=1000")
else
	qos=0
	out=$(hv "${create[@]}" --nic "$nic,in=2000,out=1000" 2>&1)
	like "NIC caps on a host without sch_sfq: NOTSUP, saying why" "$out" \
		"error NOTSUP: VM '$name': start .*: the host kernel lacks a queueing discipline"
	is "...and no half-made domain is left" "$(virsh -c qemu:///system list --all --name | grep -c "^$name$")" "0"
	create+=(--nic "$nic")
fi
tc qdisc del dev "$br" root 2>/dev/null || true
out=$(hv "${create[@]}" \; sleep 300 2>&1)
like "vm_create defines and starts it" "$out" "uuid=[0-9a-f-]{36} name=$name state=running"
like "a libvirt lifecycle event became a vm.state event" "$out" \
	"event vm.state plugin=libvirt uuid=[0-9a-f-]+ name=$name state=running event=started"
uuid=$(grep -o -m1 'uuid=[0-9a-f-]\{36\} name=' <<<"$out" | cut -d= -f2 | cut -d' ' -f1)
if [[ -z $uuid ]]; then
	diag "no VM: the remaining checks need one"
	done_testing
fi

t0=$(date +%s.%N)
if wait_marker "$log" 90; then
	_tap_report 0 "the guest's boot marker is in its serial log"
	diag "marker after $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
else
	_tap_report 1 "the guest's boot marker is in its serial log"
	sed 's/^/#   /' "$log" | tail -15
fi

xml=$(virsh -c qemu:///system dumpxml "$name")
like "the disk carries its IOPS caps (<iotune>)" "$xml" "<read_iops_sec>500</read_iops_sec>"
if ((qos)); then
	like "the NIC carries its bandwidth caps" "$xml" "<inbound average=.2000./>"
else
	skip "the NIC carries its bandwidth caps" "host kernel lacks sch_sfq"
fi
like "the idempotency key is in our metadata namespace" "$xml" "<trellis:key>$key</trellis:key>"

ok "the guest answers ping on the bridge" bash -c "for i in \$(seq 1 30); do busybox ping -c1 -W1 ${net}2 >/dev/null 2>&1 && exit 0; sleep 0.3; done; exit 1"

out=$(hv "${create[@]}" 2>&1)
like "a replayed create with the same key returns the same VM" "$out" "uuid=$uuid name=$name state=running"
is "...and made no second domain" "$(virsh -c qemu:///system list --all --name | grep -c "^$name$")" "1"

out=$(hv console "$uuid" 60 2>&1)
like "vm_console gives a VNC endpoint and a one-time password" "$out" \
	"protocol=vnc host=127.0.0.1 port=59[0-9][0-9] password=[A-Za-z0-9]{8} expires_at=[0-9]+"
port=$(grep -o 'port=[0-9]*' <<<"$out" | cut -d= -f2)
# RFB handshake: the server must offer VNC authentication (type 2) only.
sec=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 12 <&3 >/dev/null; printf 'RFB 003.008\n' >&3; head -c 2 <&3 | od -An -tu1" 2>/dev/null | tr -s ' ')
is "the VNC server demands the password (RFB security type 2)" "$sec" " 1 2"
dump=$(virsh -c qemu:///system dumpxml --inactive "$name")
pw=$(grep -o 'password=[A-Za-z0-9]*' <<<"$out" | cut -d= -f2)
ok "the password is not in the persistent config" bash -c "! grep -q -- '$pw' <<<'$dump'"

out=$(hv disk-attach "$uuid" "$tmp/data.qcow2,format=qcow2" 2>&1 \; disk-attach "$uuid" "$tmp/data.qcow2,format=qcow2" 2>&1)
like "hot-attach a disk (twice: the replay is a no-op)" "$out" "ok disk-attach.*ok disk-attach"
like "...it is there as vdb" "$(virsh -c qemu:///system domblklist "$name")" "vdb +$tmp/data.qcow2"
out=$(hv disk-detach "$uuid" vdb 2>&1)
like "hot-detach it (the guest releases it)" "$out" "ok disk-detach"
is "...it is gone" "$(virsh -c qemu:///system domblklist "$name" | grep -c vdb)" "0"

out=$(hv nic-attach "$uuid" "bridge=$br" "boot-test/$$/nic" \; nic-attach "$uuid" "bridge=$br" "boot-test/$$/nic" 2>&1)
like "hot-attach a NIC (twice, same key: one NIC)" "$out" "ok nic-attach.*ok nic-attach"
is "...the domain has two NICs" "$(virsh -c qemu:///system domiflist "$name" | grep -c "$br")" "2"
mac0=${nic#*mac=}
mac=$(virsh -c qemu:///system domiflist "$name" | awk -v b="$br" -v m="$mac0" '$3 == b && $5 != m {print $5}' | head -1)
out=$(hv nic-detach "$uuid" "$mac" 2>&1)
like "hot-detach the NIC by its MAC" "$out" "ok nic-detach"
is "...one NIC left" "$(virsh -c qemu:///system domiflist "$name" | grep -c "$br")" "1"

out=$(hv pause "$uuid" \; info "$uuid" \; resume "$uuid" \; info "$uuid" 2>&1)
like "pause, then resume" "$out" "state=paused.*state=running"

out=$(hv shutdown "$uuid" 30 2>&1)
like "a graceful shutdown (ACPI, no force) finishes in time" "$out" "ok shutdown"
like "...the VM is shut off" "$(hv info "$uuid" 2>&1)" "state=shutoff"

out=$(hv destroy "$uuid" "$key" \; destroy "$uuid" "$key" \; info "$uuid" 2>&1)
like "destroy, then destroy again (already gone: success)" "$out" "ok destroy.*ok destroy"
like "...vm_info says NOTFOUND" "$out" "error NOTFOUND: VM $uuid"
is "virsh list --all has no trace of it" "$(virsh -c qemu:///system list --all --name | grep -c "^$name$")" "0"
done_testing
