#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the Xen dom0 image (tests/xen/build.sh puts it there).
#
# Brings up the Xen toolstack the way a dom0 distribution would (xen
# drivers, xenfs, xenstored, xen-init-dom0, xenconsoled), then runs the
# conformance checker and the scenario driver against the Trellis Xen
# plugin.  Everything it says goes to the serial console; lines that start
# with "XENT" are read by tests/xen/live.t on the host.  It ends with
# `reboot -f`, which (with QEMU's -no-reboot) ends the run.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu

fail_boot() {
	echo "XENT-FATAL $*"
	sync
	reboot -f
}

mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/xen /run/xenstored /var/lib/xen /var/log/xen/console
echo "XENT-BOOT dom0 kernel $(uname -r) is up"

for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
	insmod /lib/modules/$m.ko || fail_boot "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen || fail_boot "mount xenfs failed"
xenstored || fail_boot "xenstored did not start"
xen-init-dom0 || fail_boot "xen-init-dom0 failed"
xenconsoled --log=guest --log-dir=/var/log/xen/console ||
	fail_boot "xenconsoled did not start"
echo "XENT-TOOLS $(xl info | grep -E '^xen_version' | tr -s ' ') [$(cut -d' ' -f1 /proc/uptime) s]"

# Conformance: the checker the SDK ships, when the build has one.
if [ -x /trellis/trellis-plugin-check ]; then
	/trellis/trellis-plugin-check /trellis/xen.so --target xen:/// \
		--config /trellis/check.yaml --timeout 120 >/tmp/check.out 2>&1
	rc=$?
	sed 's/^/XENC /' /tmp/check.out
	summary=$(tail -n 1 /tmp/check.out)
	if [ $rc = 0 ]; then
		echo "XENT ok conformance - trellis-plugin-check: $summary"
	else
		echo "XENT not ok conformance - trellis-plugin-check exit $rc: $summary"
	fi
	xl list | sed 's/^/XENC xl list: /'
else
	echo "XENT-NOCHECK the build has no trellis-plugin-check"
fi

/trellis/trellis-xen-scenario /trellis/xen.so /guest/vmlinux /guest/initrd.gz 2>&1
echo "XENT-DONE"
sync
reboot -f
