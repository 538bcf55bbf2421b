#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Issue 20, the vm launcher (a real guest on qemu:///system, trellisd):
# consoleproxy.scan boots a console proxy instance as a VM through
# vm.provision from console.vm_template, named as the instance, with its
# name and the core on the kernel command line; the instance is
# "starting", with no URL, until it reports; it counts in the reserve
# (the next scan adds none); drained, the scan stops it through
# vm.destroy, the VM goes, and the instance is retired (the scan forgets
# it once silent, as any retired one).
# (The test guest has no trellis-console inside: running it from that
# command line is the proxy image's part; the launcher's is tested here.)
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
cs_require
tpl=$(mktemp /tmp/trellis-cpvm.XXXXXX)
PV_CONFIG="console: {launcher: vm, vm_template: \"$tpl\", standby: 1, capacity: 2, max_instances: 1}"
cs_start
name=
vm_cleanup() {
	if [[ -n $name ]]; then
		tcli vm destroy "$name" --wait >/dev/null 2>&1
		virsh -c qemu:///system destroy "$name" >/dev/null 2>&1
		virsh -c qemu:///system undefine "$name" >/dev/null 2>&1
	fi
	rm -f "$tpl"
	cs_cleanup
}
trap vm_cleanup EXIT
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

cat >"$tpl" <<-J
	{"kernel": "$kernel", "initrd": "$initrd", "cmdline": "console=ttyS0 quiet",
	 "serial_log": "$PV_DIR/cpvm.serial.log", "console": "vnc",
	 "memory_mb": 128, "segment": "$CS_SEG"}
J

out=$(tcli -o json console scan --scanner t1)
name=$(json '" ".join(j["added"])' <<<"$out")
like "the reserve is short: the scan starts an instance through the vm launcher" "$name" '^cpvm-[0-9a-f]{8}$'
is "...listed as starting, launcher vm, no URL yet" "$(tcli -o json console proxies | json '[(p["launcher"], p["state"], p["url"]) for p in j["items"] if p["name"] == "'"$name"'"][0]')" "('vm', 'starting', '')"
st=
for i in $(seq 1 240); do
	st=$(virsh -c qemu:///system domstate "$name" 2>/dev/null | head -1)
	[[ $st == running ]] && break
	sleep 0.5
done
is "...a VM of that name boots (vm.provision from the template)" "$st" "running"
like "...in the inventory, made by Trellis" "$(tcli -o json vm show "$name" 2>&1)" '"origin": "trellis"'
cl=$(virsh -c qemu:///system dumpxml "$name" 2>/dev/null | sed -n 's/.*<cmdline>\(.*\)<\/cmdline>.*/\1/p')
like "...its kernel command line names the instance and the core" "$cl" "trellis\\.console\\.name=$name trellis\\.console\\.core=ipc://$PV_DIR/api\\.sock"
out=$(tcli -o json console scan --scanner t1)
is "a starting instance counts in the reserve: the next scan adds none" "$(json 'len(j["added"]) + len(j["draining"])' <<<"$out")" "0"

tcli console drain "$name" >/dev/null
out=$(tcli -o json console scan --scanner t1)
is "drained (no session): the scan removes it" "$(json '" ".join(j["removed"])' <<<"$out")" "$name"
gone=0
for i in $(seq 1 240); do
	virsh -c qemu:///system domstate "$name" >/dev/null 2>&1 || { gone=1; break; }
	sleep 0.5
done
is "...through vm.destroy: its VM is gone" "$gone" 1
is "...and not in the inventory" "$(tcli -o json vm show "$name" >/dev/null 2>&1; echo $?)" "$(tcli -o json vm show no-such-vm-$$ >/dev/null 2>&1; echo $?)"
is "...the instance is retired (a last report would not revive it)" "$(tcli -o json console proxies | json '[p["state"] for p in j["items"] if p["name"] == "'"$name"'"]')" "['retired']"
name=
done_testing
