#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
#
# Runs trellis-plugin-check on every plugin the build made (BUILD/plugins/
# *.so), with its kind's default target, so a new plugin is checked as soon
# as its SConscript builds it.  One TAP line per plugin; the checker's
# FAIL lines are shown when it fails.
#
# A plugin that needs a special target gets its options from the table
# below, keyed by file name without .so.  "@NETNS@" stands for a network
# namespace this script makes (as root, with iproute2) and removes again;
# without one, network plugins run only their non-mutating checks.
source "$(dirname "$0")/../lib/tap.sh"

declare -A OPTS=(
	# No Xen on most machines: accept the plain UNAVAILABLE answer (and
	# run everything when there is a Xen dom0).
	[xen]="--target xen:/// --allow-unavailable"
	# Mutating checks in a throwaway namespace.
	[bridge]="--target netns:@NETNS@"
)

check=$TRELLIS_BUILD/bin/trellis-plugin-check
if [[ ! -x $check ]]; then
	skip "conformance of the built plugins" "$check is not built"
	done_testing
fi

netns=
if [[ $(id -u) == 0 ]] && command -v ip >/dev/null &&
	ip netns add "trchk-$$" 2>/dev/null; then
	netns=trchk-$$
	trap 'ip netns del "$netns" 2>/dev/null' EXIT
fi

shopt -s nullglob
plugins=("$TRELLIS_BUILD"/plugins/*.so)
if ((${#plugins[@]} == 0)); then
	skip "conformance of the built plugins" "no plugins in $TRELLIS_BUILD/plugins"
	done_testing
fi

for so in "${plugins[@]}"; do
	stem=${so##*/}
	stem=${stem%.so}
	opts=${OPTS[$stem]:-}
	if [[ $opts == *@NETNS@* ]]; then
		if [[ -n $netns ]]; then
			opts=${opts//@NETNS@/$netns}
		else
			diag "$stem: no network namespace (not root, or no iproute2):" \
				"mutating checks are skipped"
			opts=
		fi
	fi
	# shellcheck disable=SC2086 # opts is a word list on purpose
	out=$("$check" "$so" $opts 2>&1)
	rc=$?
	summary=$(tail -n 1 <<<"$out")
	if ((rc == 0)); then
		_tap_report 0 "$stem passes trellis-plugin-check${opts:+ ($opts)}: $summary"
	else
		_tap_report 1 "$stem passes trellis-plugin-check${opts:+ ($opts)}: $summary"
		grep -E '^FAIL' <<<"$out" | head -40 | sed 's/^/#   /'
		[[ $rc == 1 ]] || tail -n 5 <<<"$out" | sed 's/^/#   /'
	fi
done

done_testing
