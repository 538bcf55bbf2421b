#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/xen/run.sh [BUILD_DIR [SERIAL_LOG]] - boots Xen 4.17 with a Linux
# dom0 under QEMU (TCG emulation: no KVM, no nested virtualisation needed)
# and lets the image's /init run the Xen plugin's scenario.
#
# The serial console (Xen's, then dom0's) goes to SERIAL_LOG (default
# BUILD_DIR/test-logs/xen-serial.log).  Exits with QEMU's status: 0 when
# dom0 powered the machine off at the end, 124 when it hit the timeout
# (TRELLIS_XEN_TIMEOUT seconds, default 420).  The results are the XENT
# lines of the log; tests/xen/live.t reads them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-${TRELLIS_BUILD:-$src/build}}
build=$(cd "$build" && pwd)
serial=${2:-$build/test-logs/xen-serial.log}
mkdir -p "$(dirname "$serial")"

command -v qemu-system-x86_64 >/dev/null ||
	{ echo "run.sh: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 1; }
img=$("$here/build.sh" "$build" | tail -n 1)

# -cpu qemu64,+svm: Xen wants virtualisation extensions to offer HVM, and
# "max" crashes dom0 on its first instructions (SMAP emulation).  The
# module arguments follow the module's file name; -no-reboot turns dom0's
# `reboot -f` into QEMU's exit.
rc=0
timeout --kill-after=10 "${TRELLIS_XEN_TIMEOUT:-420}" \
	qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64,+svm -smp 2 \
	-m 2048 -nographic -no-reboot -serial stdio -monitor none -nic none \
	-kernel "$img/xen-4.17" \
	-append "console=com1 com1=115200 dom0_mem=512M,max:512M" \
	-initrd "$img/vmlinuz console=hvc0 earlyprintk=xen quiet loglevel=3,$img/dom0.cpio.gz" \
	</dev/null >"$serial" 2>&1 || rc=$?
exit $rc
