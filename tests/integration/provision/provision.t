#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 400
# vm.provision on a real trellisd and qemu:///system boots the test guest
# (its marker in the serial log); vm.destroy leaves no trace (no domain, no
# volume, no tap, no record); a provision that fails at the hypervisor step
# (more memory than the host has, admitted by an overcommitting policy)
# compensates the port and the volume it made.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
pv_start

name=${PV_PREFIX}demo
log=$PV_DIR/$name.serial.log
# The daemon's event stream: libvirt's lifecycle events come out as vm.state.
nanocat --sub --connect "ipc://$PV_DIR/events.sock" --subscribe vm.state -A \
	>"$PV_DIR/events.txt" 2>/dev/null &
sub=$!
sleep 0.3
pv_run vm.provision "name=$name" "kernel=$kernel" "initrd=$initrd" \
	"cmdline=console=ttyS0 quiet" "serial_log=$log" console=vnc
state=$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)
is "workflow run vm.provision succeeds" "$state" "succeeded"
[[ $state == succeeded ]] || diag "$(head -12 "$PV_DIR/run.log")"
uuid=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT" 2>/dev/null)
[[ -n $uuid ]] && pv_track "$name"
disk=$(jq_ 'j["outputs"]["disk"]' <<<"$PV_OUT" 2>/dev/null)
claim=$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT" 2>/dev/null)
if [[ $state != succeeded || -z $uuid ]]; then
	done_testing
fi

if wait_marker "$log" 120; then
	_tap_report 0 "the guest boots: its marker is in the serial log"
else
	_tap_report 1 "the guest boots: its marker is in the serial log"
	sed 's/^/#   /' "$log" 2>/dev/null | tail -10
fi
like "trellis vm list shows it, running, made by Trellis" "$(tcli vm list)" \
	"$name +$uuid +pvh +running +1 +256 MiB +trellis"
kill "$sub" 2>/dev/null
wait "$sub" 2>/dev/null
ev=$(grep -F "$uuid" "$PV_DIR/events.txt")
like "its start reached the daemon's event stream as vm.state" "$ev" 'vm.state.*"state": ?"running"'
diag "$(grep -m1 -E '"event": ?"started"' <<<"$ev" | cut -c1-160)"
out=$(tcli -o json vm vnc "$name" --ttl 60s 2>&1)
like "trellis vm vnc gives a VNC endpoint and a one-time password" "$out" \
	'"password": "[A-Za-z0-9]{8}"'
pw=$(jq_ 'j["password"]' <<<"$out" 2>/dev/null)
port=$(jq_ 'j["port"]' <<<"$out" 2>/dev/null)
sec=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 12 <&3 >/dev/null; printf 'RFB 003.008\n' >&3; head -c 2 <&3 | od -An -tu1" 2>/dev/null | tr -s ' ')
is "...on a VNC server that demands it (RFB security type 2)" "$sec" " 1 2"
ok "...and the password is in no log of the daemon" bash -c "[[ -n '$pw' ]] && ! grep -rq -- '$pw' '$PV_DIR/daemon.log' '$PV_DIR/state'"
xml=$(virsh -c qemu:///system dumpxml "$name" 2>&1)
like "its disk is the pool's volume, as qcow2" "$xml" "<driver name='qemu' type='qcow2'/>"$'\n'" *<source file='$disk'"
tap=$(grep -o "<target dev='[^']*' managed='no'/>" <<<"$xml" | cut -d"'" -f2)
like "its NIC is the network port's tap" "$tap" "^tr-"
ok "...which is on the segment's bridge" test -e "/sys/class/net/$tap/master"

pv_run vm.destroy host=pvh "uuid=$uuid" "name=$name" pool=pvpool "claim=$claim"
is "workflow run vm.destroy succeeds" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" "succeeded"
PV_VMS=()
is "no domain is left (virsh list --all)" "$(virsh -c qemu:///system list --all --name | grep -c "^$name$")" "0"
ok "its volume is gone" test ! -e "$disk"
ok "its tap is gone" test ! -e "/sys/class/net/$tap"
ok "trellis vm list no longer has it" bash -c "! $TRELLIS_BUILD/bin/trellis -s ipc://$PV_DIR/api.sock vm list | grep -q '$uuid'"

# A failure at the hypervisor step: the overcommitting policy admits more
# memory than the host has; the plugin refuses it; the port and volume
# made before are compensated.
tcli policy set memhog --zone pv >/dev/null
host_mib=$(($(tcli -o json host show pvh | jq_ 'j["memory_kib"]') / 1024))
big=${PV_PREFIX}big
pv_run vm.provision "name=$big" "memory_mb=$((host_mib + host_mib / 2))"
is "a provision with more memory than the host fails" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" "failed"
is "...at the hypervisor step" "$(jq_ 'j["failed_step"]' <<<"$PV_OUT" 2>/dev/null)" "vm"
like "...saying why" "$(jq_ 'j["error"]' <<<"$PV_OUT" 2>/dev/null)" "NOSPACE: VM '$big': memory [0-9]+ MiB exceeds the host's total"
like "...and compensates what it made" "$(jq_ 'j["compensation"]' <<<"$PV_OUT" 2>/dev/null)" "done"
ok "the volume it made is gone" test ! -e "$PV_DIR/pool/$big-root"
logs=$(tcli workflow logs "$(jq_ 'j["id"]' <<<"$PV_OUT")" 2>&1)
like "the port step was undone" "$logs" "port +[^ ]+ +succeeded +[0-9]+ +[0-9]+ +undone"
like "the disk step was undone" "$logs" "disk +[^ ]+ +succeeded +[0-9]+ +[0-9]+ +undone"
is "no domain of it exists" "$(virsh -c qemu:///system list --all --name | grep -c "^$big$")" "0"
done_testing
