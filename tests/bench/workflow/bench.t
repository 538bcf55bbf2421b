#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# A short run of the workflow engine benchmark (bench_workflow): journaled
# no-op steps per second for one wide workflow and for many concurrent
# small ones, against a journal-only baseline measured in the same run.
# Prints the figures as TAP diagnostics; fails only if it cannot measure.
# The full run: BUILD/tests/bench-bin/bench_workflow (10,000 steps, 1,000
# workflows, 5 runs).
source "$(dirname "$0")/../../lib/tap.sh"
bin=$TRELLIS_BUILD/tests/bench-bin/bench_workflow
if [[ ! -x $bin ]]; then
	skip "workflow benchmark" "no $bin (build first)"
	done_testing
fi
out=$("$bin" -n "${BENCH_STEPS:-2000}" -m "${BENCH_WORKFLOWS:-200}" -r "${BENCH_RUNS:-3}" 2>/dev/null)
rc=$?
while IFS= read -r line; do diag "$line"; done <<<"$out"
is "bench_workflow measured" "$rc" 0
like "it printed a steps/s figure" "$out" "journaled steps/s median"
done_testing
