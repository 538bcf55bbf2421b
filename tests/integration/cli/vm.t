#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# The VM verbs of the CLI on a real trellisd, libvirtd and the QEMU test
# guest (issue 18): vm create runs vm.provision and prints its outputs;
# vm show has the disks, NICs, pool and claim; network port list; vm
# stop --force, start and reboot by the name alone; trellis events
# streams vm.state as JSON lines; workflow watch and logs --follow; vm
# destroy removes exactly what the provision made and refuses a domain
# Trellis did not make unless --force; a VM with nothing to boot is
# refused; --wait's exit status is the workflow's; did-you-mean.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../provision/lib.sh"
lv_require
PV_CONFIG='host_refresh: 0'
pv_start

name=${PV_PREFIX}cli
log=$PV_DIR/$name.serial.log
pool=$PV_DIR/pool
T=$TRELLIS_BUILD/bin/trellis
sock=ipc://$PV_DIR/api.sock

# ---- create ----
out=$(tcli --timeout 600000 vm create "$name" --kernel "$kernel" --initrd "$initrd" \
	--cmdline "console=ttyS0 quiet" --serial-log "$log" --memory 128M \
	--network "$PV_NET" --console vnc --wait 2>&1)
rc=$?
is "vm create NAME --wait exits 0 when vm.provision succeeds" "$rc" 0
like "...printing the steps as they finish" "$out" "succeeded +record +hypervisor.vm_record"
like "...and the outputs in table mode: uuid" "$out" "uuid +[0-9a-f-]{36}"
like "...pool" "$out" "pool +pvpool"
like "...claim" "$out" "claim +wf-"
uuid=$(grep -oE 'uuid +[0-9a-f-]{36}' <<<"$out" | awk '{print $2}')
claim=$(grep -oE 'claim +[^ ]+' <<<"$out" | awk '{print $2}')
[[ -n $uuid ]] && PV_VMS+=("$name $uuid $claim")
[[ $rc -eq 0 ]] || { diag "$(head -30 <<<"$out")"; done_testing; }
if wait_marker "$log" 120; then
	_tap_report 0 "the guest boots"
else
	_tap_report 1 "the guest boots"
fi
like "vm list shows it with its memory in MiB" "$(tcli vm list)" "$name +$uuid +pvh +running +1 +128 MiB +trellis"

# ---- show ----
show=$(tcli vm show "$name")
like "vm show: the pool" "$show" "pool +pvpool"
like "...the claim it owns" "$show" "claim +$claim"
like "...the console" "$show" "console +vnc"
like "...its disk in a Disks table (pool, volume, size, format, path)" "$show" \
	"pvpool +$name-root +1 GiB +qcow2 +$pool/$name-root"
like "...its NIC in a NICs table (port, host, network, MAC, ifname)" "$show" \
	"$name-nic0 +pvh +$PV_NET +52:54:00:[0-9a-f:]+ +tr-t"
j=$(tcli -o json vm show "$name")
is "vm show -o json: claim" "$(jq_ 'j["claim"]' <<<"$j")" "$claim"
is "...disks[0].pool" "$(jq_ 'j["disks"][0]["pool"]' <<<"$j")" "pvpool"
is "...nics[0].segment" "$(jq_ 'j["nics"][0]["segment"]' <<<"$j")" "$PV_NET"
is "...memory_mib stays a number in JSON" "$(jq_ 'j["memory_mib"]' <<<"$j")" "128"
like "network port list: the VM's port" "$(tcli network port list --host pvh)" \
	"$name-nic0 +pvh +$name +$PV_NET +52:54:00"

# ---- events, stop --force, start, reboot ----
# Other runs' domains on qemu:///system send events too: this VM's are
# picked out by uuid.
"$T" -s "$sock" -o json events --topic vm. --count 200 >"$PV_DIR/ev.json" 2>&1 &
evp=$!
sleep 0.5
out=$(tcli --timeout 600000 vm stop "$name" --force --wait 2>&1)
is "vm stop NAME --force --wait exits 0" "$?" 0
like "...its steps: lookup, then stop" "$out" "succeeded +stop +hypervisor.vm_shutdown"
is "...and the domain is shut off" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "shut off"
for i in $(seq 1 50); do grep -q "\"uuid\":\"$uuid\"" "$PV_DIR/ev.json" && break; sleep 0.1; done
kill $evp 2>/dev/null
wait $evp 2>/dev/null
ev=$(grep -m1 "\"uuid\":\"$uuid\"" "$PV_DIR/ev.json")
like "trellis events ends on SIGTERM with its lines written" "$(head -1 "$PV_DIR/ev.json")" '^\{'
ok "...every line one JSON object" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$PV_DIR/ev.json"
like "trellis events --topic vm. -o json: one JSON object a line" "$ev" '^\{.*"topic":"vm.state"'
like "...for this VM" "$ev" "\"uuid\":\"$uuid\""
st=
for i in $(seq 1 50); do
	st=$(tcli -o json vm show "$name" | jq_ 'j["state"]')
	[[ $st == shutoff ]] && break
	sleep 0.1
done
is "vm show follows: shutoff" "$st" "shutoff"
out=$(tcli --timeout 600000 vm start "$name" --wait 2>&1)
is "vm start NAME --wait exits 0" "$?" 0
is "...and the domain runs" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "running"
: >"$log.reboot"
before=$(grep -c TRELLIS-GUEST-UP "$log" 2>/dev/null)
out=$(tcli --timeout 600000 vm reboot "$name" --force --wait 2>&1)
is "vm reboot NAME --force --wait exits 0" "$?" 0
like "...it stopped and started the VM" "$out" "succeeded +start +hypervisor.vm_start"
is "...and the domain runs" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "running"
up=0
for i in $(seq 1 1200); do
	[[ $(grep -c TRELLIS-GUEST-UP "$log" 2>/dev/null) -gt ${before:-0} ]] && { up=1; break; }
	sleep 0.1
done
is "...and the guest boots again" "$up" 1

# A graceful stop: an ACPI request (busybox acpid powers the guest off),
# then a power off if the grace ends first (a loaded machine's TCG guest
# may be slow to answer): shut off either way.
out=$(tcli --timeout 600000 vm stop "$name" --grace 20 --wait 2>&1)
is "vm stop NAME --grace 20 --wait exits 0" "$?" 0
is "...the domain is shut off" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "shut off"
tcli --timeout 600000 vm start "$name" --wait >/dev/null 2>&1

# ---- watch, logs --follow, --wait's status ----
id=$(tcli -o json workflow list --limit 1 | jq_ 'j["items"][0]["id"]')
out=$(tcli workflow watch "$id" 2>&1)
is "workflow watch ID of a finished instance exits 0 (succeeded)" "$?" 0
like "...and prints its steps and the end" "$out" "succeeded +start .*workflow $id succeeded"
out=$(tcli workflow logs "$id" --follow 2>&1)
is "workflow logs ID --follow exits 0" "$?" 0
like "...with its steps" "$out" "succeeded +lookup +vm.lookup"
tcli vm start "${PV_PREFIX}nosuch" --wait >/dev/null 2>&1
is "vm start of a VM that does not exist: --wait exits 1 (the workflow failed)" "$?" 1
id=$(tcli workflow run vm.start --input "vm=${PV_PREFIX}nosuch" --no-wait)
like "workflow run --no-wait prints the id" "$id" "^wf-"
tcli workflow watch "$id" >/dev/null 2>&1
is "...and workflow watch of it exits 1" "$?" 1

# ---- nothing to boot; errors ----
out=$(tcli vm create "${PV_PREFIX}blank" --network "$PV_NET" --wait 2>&1)
is "vm create without --kernel, --image or --blank fails" "$?" 1
like "...saying there is nothing to boot, at the first step" "$out" "at step boot: INVALID_ARG: nothing to boot"
nok "...and no disk was made" test -e "$pool/${PV_PREFIX}blank-root"
out=$(tcli workflow run vm.provision --input name=x --input memory_mb=lots --wait 2>&1)
like "memory_mb=lots is refused, echoing the value" "$out" "input 'memory_mb': expected int or a size \(512M, 2G\), got 'lots'"
out=$(tcli workflow run vm.provision --input name=x --input memroy_mb=1 --wait 2>&1)
like "a mistyped input: did you mean" "$out" "has no input 'memroy_mb' \(did you mean 'memory_mb'\?\)"
out=$(tcli workflow run vm.provison --input name=x 2>&1)
like "a mistyped workflow name: did you mean" "$out" "did you mean 'vm.provision'"
out=$(tcli workflow show vm.provision)
like "workflow show: inputs with type, default and description" "$out" "memory_mb +int +256 "
like "...the new image input" "$out" "image +string"
like "...its steps" "$out" "boot +vm.boot_check"

# ---- completion from the daemon; a socket closed to this user ----
comp() { TRELLIS_SOCKET=$sock "$T" __complete "$@" | paste -sd' '; }
like "completion: the vm verbs" "$(comp vm)" "create .*start .*stop .*reboot .*destroy"
like "completion: vm show completes VM names from the daemon" "$(comp vm show)" "$name"
like "completion: --host completes host names" "$(comp vm create x --host)" "pvh"
like "completion: workflow run completes workflow names, --input, --wait" "$(comp workflow run)" "--input --wait .*vm.provision"
like "completion: --input completes the workflow's inputs as NAME=" "$(comp workflow run vm.provision --input)" "memory_mb= "
like "completion: workflow watch completes instance ids" "$(comp workflow watch)" "wf-"
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$T" -s "$sock" vm list 2>&1)
	like "a socket this user may not open: said as a permission problem" "$out" \
		"permission denied on $sock: trellisd runs, but this user may not use its socket"
else
	skip "a socket this user may not open" "setpriv (util-linux) is missing"
fi

# ---- destroy ----
d=${PV_PREFIX}outside
cat >"$PV_DIR/d.xml" <<-X
	<domain type='qemu'><name>$d</name><memory unit='MiB'>32</memory>
	<os><type arch='x86_64'>hvm</type></os></domain>
X
virsh -c qemu:///system define "$PV_DIR/d.xml" >/dev/null
tcli host refresh pvh >/dev/null 2>&1
out=$(tcli vm destroy "$d" --wait 2>&1)
is "vm destroy of a domain Trellis did not make fails" "$?" 1
like "...refused, naming why" "$out" "CONFLICT: VM '$d' .* was not made by Trellis \(origin discovered\)"
ok "...and the domain is untouched" virsh -c qemu:///system dominfo "$d"
out=$(tcli vm destroy "$d" --force --wait 2>&1)
is "vm destroy --force destroys it" "$?" 0
nok "...the domain is gone" virsh -c qemu:///system dominfo "$d"
tap=$(virsh -c qemu:///system domiflist "$name" 2>/dev/null | awk '$1 ~ /^tr-t/ {print $1}')
out=$(tcli --timeout 600000 vm destroy "$name" --wait 2>&1)
is "vm destroy NAME --wait exits 0" "$?" 0
like "...printing what it removed: the claim" "$out" "claim +$claim"
nok "...the domain is gone" virsh -c qemu:///system dominfo "$name"
nok "...the disk is gone" test -e "$pool/$name-root"
nok "...the tap is gone" test -e "/sys/class/net/$tap"
nok "...the record is gone" tcli vm show "$name"
nok "...and the claim" bash -c "'$T' -s '$sock' policy claims | grep -q '$claim'"
PV_VMS=()

done_testing
