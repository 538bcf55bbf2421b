#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 60
# The dashboard's front-end unit tests (dashboard/test/*.test.js: the
# page's pure functions) with node's own test runner, its TAP output
# passed through as one check per test.
source "$TRELLIS_SRC/tests/lib/tap.sh"
if ! command -v node >/dev/null; then
	skip "dashboard front-end tests" "node is not installed (tools/deps/http.txt)"
	done_testing
fi
out=$(cd "$TRELLIS_SRC/dashboard" && node --test --test-reporter=tap test/ 2>&1)
rc=$?
while IFS= read -r l; do
	if [[ $l =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
		_tap_report 0 "front-end: ${BASH_REMATCH[1]}"
	elif [[ $l =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
		_tap_report 1 "front-end: ${BASH_REMATCH[1]}"
	fi
done <<<"$out"
is "node --test passes" "$rc" 0
[[ $rc == 0 ]] || printf '%s\n' "$out" | grep -v '^ok' | tail -30 | sed 's/^/#   /'
done_testing
