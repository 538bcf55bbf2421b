#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, starts trellisd on its embedded defaults
# and runs the demo.  (The demo grows as the daemon does.)
#   ./run.sh          trellisd stays running in the background afterwards
#                     (log /var/lib/trellis/trellisd.log, PID file
#                     /var/lib/trellis/trellisd.pid), so the commands it
#                     prints at the end work
#   KEEP=0 ./run.sh   stop the trellisd it started when the demo ends
#   ./run.sh --stop   stop the trellisd a previous ./run.sh left running
set -euo pipefail
cd "$(dirname "$0")"
pidfile=/var/lib/trellis/trellisd.pid
daemon_log=/var/lib/trellis/trellisd.log

if [[ ${1:-} == --stop ]]; then
	if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		pid=$(cat "$pidfile")
		kill -TERM "$pid"
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "trellisd (pid $pid) did not stop within 10 s" >&2
			exit 1
		fi
		rm -f "$pidfile"
		echo "trellisd (pid $pid) stopped; its VMs keep running (libvirt's)"
	else
		echo "no trellisd started by ./run.sh is running ($pidfile)"
	fi
	exit 0
elif [[ -n ${1:-} ]]; then
	echo "usage: ./run.sh [--stop]   (KEEP=0 ./run.sh stops trellisd at the end)" >&2
	exit 2
fi

tools/install-deps.sh
scons -Q -j"$(nproc)"
echo "== plugins =="
build/bin/trellisd --list-plugins

# ---- trellisd and the inventory demo (issue 4) ----
# trellisd on its embedded defaults: state in /var/lib/trellis, API on
# ipc:///run/trellis/api.sock (the CLI's default).  It stays running in the
# background (its own session, so it outlives this script and the
# terminal) unless KEEP=0.
trellis=$PWD/build/bin/trellis
started=
if ! $trellis --timeout 2000 api status >/dev/null 2>&1; then
	install -d -m 0750 /var/lib/trellis
	setsid build/bin/trellisd --foreground </dev/null >>"$daemon_log" 2>&1 &
	started=$!
	echo "$started" >"$pidfile"
	if [[ ${KEEP:-1} == 0 ]]; then
		trap '[[ -n $started ]] && kill -TERM $started && wait $started; rm -f "$pidfile"' EXIT
	fi
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
	echo "== trellis vm create $guest =="
	rm -f "$serial"
	$trellis --timeout 600000 vm create $guest --host local --kernel "$kernel" \
		--initrd "$initrd" --cmdline "console=ttyS0 quiet" \
		--serial-log "$serial" --console vnc --wait ||
		echo "vm create $guest failed (see above)" >&2
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
if [[ ${KEEP:-1} == 0 && -n $started ]]; then
	cat <<MSG

KEEP=0: trellisd stops now, so the trellis commands below need it again
(./run.sh starts it, and leaves it running).
MSG
else
	cat <<MSG

trellisd runs in the background: log $daemon_log, pid $(cat "$pidfile" 2>/dev/null || echo "?")
(started before this run, or by ./run.sh). Stop it with ./run.sh --stop
(or run KEEP=0 ./run.sh next time).
MSG
fi
cat <<MSG

  export PATH=$PWD/build/bin:\$PATH
  trellis vm list
  trellis vm show $guest               # disks, NICs, pool, claim
  trellis vm vnc $guest --ttl 5m       # VNC address, port, one-time password
  trellis vm console $guest            # a browser console URL (docs/console.md)
  trellis vm stop $guest; trellis vm start $guest
  trellis vm destroy $guest            # the VM, its disk, its NIC and its claim
  trellis events --topic vm.           # the event bus, live (Ctrl-C ends)

The guest's serial console (a busybox shell):  virsh -c qemu:///system console $guest
  (leave it with Ctrl-]); its log:              $serial
MSG
