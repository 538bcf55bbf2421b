#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, starts trellisd on its embedded defaults
# and runs the demo.  (The demo grows as the daemon does.)
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
scons -Q -j"$(nproc)"
echo "== plugins =="
build/bin/trellisd --list-plugins

# ---- trellisd and the inventory demo (issue 4) ----
# trellisd on its embedded defaults: state in /var/lib/trellis, API on
# ipc:///run/trellis/api.sock (the CLI's default).  KEEP=1 leaves it running.
trellis=build/bin/trellis
started=
if ! $trellis --timeout 2000 api status >/dev/null 2>&1; then
	build/bin/trellisd --foreground 2>>/tmp/trellisd-demo.log &
	started=$!
	trap '[[ -n $started && -z ${KEEP:-} ]] && kill -TERM $started && wait $started' EXIT
	for _ in $(seq 1 100); do
		$trellis --timeout 1000 api status >/dev/null 2>&1 && break
		sleep 0.1
	done
fi
echo "== trellisd =="
$trellis api status
echo "== inventory =="
$trellis zone show demo >/dev/null 2>&1 || $trellis zone create demo >/dev/null
$trellis pod show demo/pod1 >/dev/null 2>&1 || $trellis pod create pod1 --zone demo >/dev/null
$trellis cluster show demo/pod1/c1 >/dev/null 2>&1 || $trellis cluster create c1 --pod demo/pod1 >/dev/null
if $trellis host show demo-test >/dev/null 2>&1; then
	$trellis host refresh demo-test >/dev/null
else
	$trellis host add demo-test --cluster demo/pod1/c1 --hypervisor libvirt --uri test:///default >/dev/null ||
		echo "(host add needs plugins/libvirt.so)"
fi
$trellis zone list
$trellis host list
$trellis vm list

# ---- a real guest through vm.provision (issue 6) ----
# libvirtd on this machine, the test guest (tests/guest), the local host on
# qemu:///system with a pool and a network, then vm.provision boots the
# guest and we wait for its boot marker on the serial console.
echo "== libvirt =="
tools/libvirt-up.sh
eval "$(tests/guest/build.sh)"
if ! $trellis host show local >/dev/null 2>&1; then
	$trellis host add local --cluster demo/pod1/c1 --hypervisor libvirt --uri qemu:///system >/dev/null
fi
# QEMU runs as libvirt-qemu: the pool directory must let it reach volumes
# (so not under the daemon's private state directory).
install -d -m 0711 /var/lib/trellis-pools /var/lib/trellis-pools/demo
$trellis pool show demo-pool >/dev/null 2>&1 ||
	$trellis pool create demo-pool --target /var/lib/trellis-pools/demo --cluster demo/pod1/c1 >/dev/null
$trellis network pool-show demo-vx >/dev/null 2>&1 ||
	$trellis network pool-create demo-vx --mode vxlan --first 9000 --last 9099 >/dev/null
$trellis network show default >/dev/null 2>&1 || $trellis network create default --pool demo-vx >/dev/null
$trellis host show local | grep -E '^(name|uri|state|domain_type) '

guest=demo-guest
serial=/var/log/trellis/$guest.serial.log
mkdir -p /var/log/trellis
if ! $trellis vm show $guest >/dev/null 2>&1; then
	echo "== workflow run vm.provision ($guest) =="
	rm -f "$serial"
	out=$($trellis --timeout 600000 -o json workflow run vm.provision --input name=$guest \
		--input host=local --input "kernel=$kernel" --input "initrd=$initrd" \
		--input "cmdline=console=ttyS0 quiet" --input "serial_log=$serial" \
		--input console=vnc --wait) || true
	sed '/^{/,$d' <<<"$out"
	sed -n '/^{/,$p' <<<"$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
if j["state"] != "succeeded":
    sys.exit("vm.provision %s at step %s: %s" % (j["state"], j["failed_step"], j["error"]))
o = j["outputs"]
print("trellis workflow run vm.destroy --input vm=%s --wait" % o["uuid"])
' >/var/lib/trellis/$guest.destroy
fi
echo "== waiting for the guest's boot marker =="
for _ in $(seq 1 600); do
	grep -q TRELLIS-GUEST-UP "$serial" 2>/dev/null && break
	sleep 0.2
done
if grep -q TRELLIS-GUEST-UP "$serial" 2>/dev/null; then
	echo "$guest is up: $(grep -m1 TRELLIS-GUEST-UP "$serial") (in $serial)"
else
	echo "no boot marker in $serial after 120 s" >&2
fi
echo "== trellis vm list =="
$trellis vm list
cat <<MSG

The guest's serial console (a busybox shell):   virsh -c qemu:///system console $guest
  (leave it with Ctrl-]); its log:               $serial
Its VNC console is locked until Trellis issues a one-time password:
  $trellis vm vnc $guest --ttl 5m         (then a VNC viewer on ADDRESS:PORT)
To destroy it and everything vm.provision made for it (trellisd must run;
KEEP=1 ./run.sh leaves it running):
  $(cat /var/lib/trellis/$guest.destroy 2>/dev/null || echo "trellis workflow run vm.destroy ... (see docs/hypervisor-libvirt.md)")
MSG
