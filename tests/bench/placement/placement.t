#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Placement benchmark, short version: 1k/10k/100k hosts, indexed pipeline
# against the full-scan baseline; then the store path with and without
# business-unit quotas.  Prints the figures as TAP diagnostics;
# fails only when it cannot measure (never on the figures themselves).
# The full run: build/tests/bench-bin/bench_placement (no options).
# trellis-timeout: 300
source "$(dirname "$0")/../../lib/tap.sh"
bin=$TRELLIS_BUILD/tests/bench-bin/bench_placement
if [[ ! -x $bin ]]; then
	skip "placement benchmark" "$bin is not built"
	done_testing
fi
out=$("$bin" --sizes 1000,10000,100000 --requests 20000 --baseline 40 2>&1)
rc=$?
while IFS= read -r line; do diag "$line"; done <<<"$out"
is "bench_placement ran" "$rc" 0
like "figures for 100,000 hosts" "$out" "hosts 100000  ratio: [0-9.]+x"
# Quotas (issue 17): the store path at 10,000 hosts and 1,000 business
# units, quotas off and on in one run (target: on >= 0.9x off).
out=$("$bin" --sizes 10000 --requests 10000 --quota 1000 2>&1)
rc=$?
while IFS= read -r line; do diag "$line"; done <<<"$out"
is "bench_placement --quota ran" "$rc" 0
like "quota ratio at 10,000 hosts" "$out" "hosts  10000  quota ratio: [0-9.]+x"
done_testing
