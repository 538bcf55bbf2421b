# SPDX-License-Identifier: Apache-2.0
# tests/lib/tap.sh - TAP helpers for shell tests.  Source it, then:
#   plan 3            (optional)
#   ok "what" cmd...  runs cmd, reports ok/not ok
#   is "what" "$got" "$want"
#   like "what" "$got" "regex"
#   skip "what" "why"
#   done_testing      prints the plan if none was given; exits 1 on failure
# Environment: TRELLIS_SRC, TRELLIS_BUILD (set by tests/run.py; defaults to
# the source tree and build/).
TRELLIS_SRC=${TRELLIS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TRELLIS_BUILD=${TRELLIS_BUILD:-$TRELLIS_SRC/build}
export TRELLIS_SRC TRELLIS_BUILD
_tap_n=0
_tap_fail=0
_tap_planned=0

plan() { _tap_planned=1; echo "1..$1"; }
_tap_report() { # status desc
	_tap_n=$((_tap_n + 1))
	if [[ $1 == 0 ]]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_fail=$((_tap_fail + 1))
	fi
}
ok() {
	local desc=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		_tap_report 0 "$desc"
	else
		_tap_report 1 "$desc"
		printf '# command: %s\n' "$*"
		printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
	fi
}
nok() { # expects the command to fail
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		_tap_report 1 "$desc"
		printf '# command unexpectedly succeeded: %s\n' "$*"
	else
		_tap_report 0 "$desc"
	fi
}
is() {
	if [[ "$2" == "$3" ]]; then
		_tap_report 0 "$1"
	else
		_tap_report 1 "$1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
	fi
}
like() {
	if [[ "$2" =~ $3 ]]; then
		_tap_report 0 "$1"
	else
		_tap_report 1 "$1"
		printf '#   got:  %s\n#   want match: %s\n' "$2" "$3" | head -20
	fi
}
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}
diag() { printf '# %s\n' "$*"; }
done_testing() {
	[[ $_tap_planned == 1 ]] || echo "1..$_tap_n"
	[[ $_tap_fail == 0 ]]
	exit $?
}
