#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# The domain type probe on qemu:///system: kvm only where KVM really boots
# the guest kernel, qemu (TCG) otherwise; paid once and cached; overridable
# in config; never leaves a domain behind.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
trap 'rm -rf "$tmp"' EXIT
lv_setup

cache=$tmp/probe-cache
t0=$(date +%s%N)
out=$(hv -c "probe_cache=$cache" host-info 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
like "a fresh probe decides kvm or qemu" "$out" "domain_type=(kvm|qemu)"
type=$(grep -o 'domain_type=[a-z]*' <<<"$out" | cut -d= -f2)
like "...and says why" "$out" "domain type $type: (a kernel printed its banner under kvm|no kernel banner under kvm|a kvm domain does not start|no KVM in the capabilities)"
if [[ $out == *"no kernel banner under kvm"* ]]; then
	like "...and, when KVM failed, that TCG boots the same kernel" "$out" "a kernel printed its banner under qemu in [0-9]+ ms"
fi
diag "probe took $ms ms: $(grep -o 'domain type .*' <<<"$out" | head -1)"
like "the answer is in the cache file" "$(cat "$cache" 2>/dev/null)" "$(basename "$kernel")"$'.*\t'"$type"

t0=$(date +%s%N)
out=$(hv -c "probe_cache=$cache" host-info 2>&1)
ms2=$((($(date +%s%N) - t0) / 1000000))
like "a second connect reuses it" "$out" "domain_type=$type"
ok "...without probing again (${ms2} ms, no probe log)" bash -c "! grep -q 'domain type' <<<'$out' && (($ms2 < 3000))"

out=$(hv -c "probe_cache=$tmp/other" -c domain_type=qemu host-info 2>&1)
like "config domain_type: qemu skips the probe" "$out" "domain_type=qemu"
ok "...and writes no cache" test ! -e "$tmp/other"
out=$(hv -c domain_type=xen host-info 2>&1)
like "config domain_type: xen is refused" "$out" "error INVALID_ARG: config domain_type 'xen': want kvm or qemu"

is "no probe domain is left behind" "$(virsh -c qemu:///system list --all --name | grep -c 'trellis-.*-probe-')" "0"
done_testing
