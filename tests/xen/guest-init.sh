#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the small PV guest that the scenario creates through the plugin.
# It prints its marker on the PV console (xenconsoled logs it in dom0) and
# idles.  /sbin/poweroff lets the guest kernel honour a Xen shutdown
# request (it runs /sbin/poweroff on "control/shutdown = poweroff").
/bin/busybox mount -t proc proc /proc
echo "TRELLIS-GUEST-UP $(/bin/busybox uname -r)"
while :; do
	/bin/busybox sleep 60
done
