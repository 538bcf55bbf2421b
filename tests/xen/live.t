#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
#
# tests/xen/live.t - the Xen plugin against a live Xen 4.17.
#
# Boots Xen with a Linux dom0 under QEMU emulation, once (tests/xen/run.sh;
# the image is built and cached by tests/xen/build.sh).  Inside dom0 the
# conformance checker and trellis-xen-scenario exercise the plugin through
# the core's loader and dispatch and compare each step with `xl`.  Each
# "XENT" line they print on the serial console becomes one TAP line here;
# a check that never reported is a failure, and any failure shows the last
# lines of the serial console.
#
# Budget: about 20 s to fetch and build the image the first time (cached
# after), then 95-180 s for the boot and the scenario under TCG on 2 cores.
source "$(dirname "$0")/../lib/tap.sh"

build=$TRELLIS_BUILD
serial=$build/test-logs/xen-serial.log
runlog=$build/test-logs/xen-run.log
# The ids trellis-xen-scenario reports, in order (see tests/xen/scenario.c).
checks=(load connect host-cpus host-memory host-version create list
	create-replay create-dup-name pause resume guest-boot shutdown
	create-paused shutdown-timeout shutdown-force start destroy
	info-destroyed destroy-again err-unknown
	err-unknown-pause err-memory-impossible err-memory-nospace
	err-no-kernel err-no-leftover err-dom0 err-bad-uuid err-flags)

if [[ ! -f $build/plugins/xen.so ]]; then
	skip "Xen plugin against a live Xen" \
		"$build/plugins/xen.so not built (apt-get install libxen-dev)"
	done_testing
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "Xen plugin against a live Xen" \
		"qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
	done_testing
fi

mkdir -p "$build/test-logs"
t0=$SECONDS
rc=0
"$TRELLIS_SRC/tests/xen/run.sh" "$build" "$serial" >"$runlog" 2>&1 || rc=$?
diag "boot and scenario took $((SECONDS - t0)) s (QEMU exit status $rc)"
out=$(tr -d '\r' <"$serial" 2>/dev/null || true)

is "the image was built and QEMU ran" "$([[ -s $serial ]] && echo yes || echo no)" yes
like "Xen booted a Linux dom0" "$out" $'(^|\n)XENT-BOOT '
like "the Xen toolstack came up in dom0 (xenstored, xen-init-dom0, xenconsoled)" \
	"$out" $'(^|\n)XENT-TOOLS xen_version : 4\\.17'

if grep -q '^XENT-NOCHECK' <<<"$out"; then
	skip "conformance" "the build has no trellis-plugin-check"
else
	line=$(grep -E '^XENT (ok|not ok) conformance - ' <<<"$out" | head -n 1)
	like "conformance: ${line#*conformance - }" "$line" '^XENT ok '
	[[ $line == "XENT ok "* ]] ||
		grep -E '^XENC (FAIL|.*passed)' <<<"$out" | sed 's/^/#   /'
fi

for id in "${checks[@]}"; do
	line=$(grep -E "^XENT (ok|not ok) $id - " <<<"$out" | head -n 1)
	if [[ -z $line ]]; then
		like "$id: did not report" "" '^XENT ok '
	else
		like "$id: ${line#* - }" "$line" '^XENT ok '
	fi
done
like "the scenario ran to its end" "$out" $'(^|\n)XENT-END failures=0'
is "dom0 powered the machine off at the end (QEMU exit status)" "$rc" 0

if ((_tap_fail > 0)); then
	diag "--- fatal markers ---"
	grep -E '^XENT-FATAL' <<<"$out" | sed 's/^/#   /'
	diag "--- last 40 lines of $serial ---"
	tail -n 40 <<<"$out" | sed 's/^/#   /'
	diag "--- $runlog ---"
	tail -n 20 "$runlog" | sed 's/^/#   /'
fi
done_testing
