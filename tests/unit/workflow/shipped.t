#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 60
# The shipped workflows (workflows/*.yaml) validate with the actions this
# build registers.  While an action kind is not built yet (no
# core/actions/<kind>.c), a file whose only errors are unknown actions of
# that kind is skipped with the reason; any other error fails.
source "$(dirname "$0")/../../lib/tap.sh"
cli=$TRELLIS_BUILD/bin/trellis
if [[ ! -x $cli ]]; then
	skip "shipped workflows" "no $cli (build first)"
	done_testing
fi
for f in "$TRELLIS_SRC"/workflows/*.yaml; do
	name=$(basename "$f")
	out=$("$cli" workflow validate "$f" 2>&1)
	rc=$?
	if [[ $rc == 0 ]]; then
		_tap_report 0 "$name validates"
		continue
	fi
	other=$(printf '%s\n' "$out" | grep -v "unknown action '\(hypervisor\)\.[a-z_]*'")
	if [[ -z $other ]]; then
		skip "$name validates" "hypervisor actions are not registered in this build"
	else
		_tap_report 1 "$name validates"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
done
out=$("$cli" workflow graph "$TRELLIS_SRC/tests/unit/workflow/corpus/cycle.yaml" 2>&1)
is "graph of an invalid file fails with its errors" "$?" 1
like "graph error names the place" "$out" "cycle.yaml:3:5: dependency cycle"
good=$(mktemp /tmp/trellis-wf-XXXXXX.yaml)
trap 'rm -f "$good"' EXIT
printf 'workflow: g\nsteps:\n  - {id: a, call: core.log, with: {message: x}}\n  - {id: b, call: core.log, needs: a, with: {message: y}}\n' >"$good"
dot=$("$cli" workflow graph "$good" --format dot)
like "graph --format dot draws the edges" "$dot" '"a" -> "b";'
if command -v dot >/dev/null; then
	svg=$("$cli" workflow graph "$good" --format svg)
	like "graph --format svg runs Graphviz" "$svg" '<svg'
else
	skip "graph --format svg" "graphviz is not installed"
fi
out=$("$cli" workflow validate "$good" "$TRELLIS_SRC/tests/unit/workflow/corpus/scalars.yaml" 2>&1)
is "validate exits 1 when any file has an error" "$?" 1
like "validate says which files are fine" "$out" "ok \(workflow g, 2 steps\)"
like "validate prints FILE:LINE:COL for the others" "$out" "scalars.yaml:3:10: timeout"
json=$("$cli" -o json workflow validate "$good")
like "validate -o json" "$json" '"ok": true'
done_testing
