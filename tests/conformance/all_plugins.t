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
fi

# The translated storage plugin needs a vendor array: a simulated one
# (tests/fixtures/vendorsim.py, HTTPS), its credential's secret in a
# secrets dir, and the minimal translation file (the built-in defaults).
tx=$(mktemp -d /tmp/trellis-chk-tx-XXXXXX)
sim_pid=
cleanup() {
	[[ -n $netns ]] && ip netns del "$netns" 2>/dev/null
	[[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null
	rm -rf "$tx"
}
trap cleanup EXIT
if [[ -f $TRELLIS_BUILD/plugins/translated.so ]] && command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tx/key.pem" -out "$tx/cert.pem" \
		-days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	mkdir -m 700 "$tx/secrets"
	printf 'chk-pw-1' >"$tx/pw"
	install -m 600 "$tx/pw" "$tx/secrets/credential.chk"
	python3 "$(dirname "$0")/../fixtures/vendorsim.py" --dialect smis --state "$tx/a" \
		--port-file "$tx/port" --cert "$tx/cert.pem" --key "$tx/key.pem" \
		--password-file "$tx/pw" 2>/dev/null &
	sim_pid=$!
	for _ in $(seq 100); do [[ -s $tx/port ]] && break; sleep 0.05; done
	echo 'translation: 1' >"$tx/minimal.yaml"
	cat >"$tx/check.yaml" <<EOF
plugins:
  translated: {cache_ttl_s: 0}
target: ACMESYSTEMSINC-SYSTEM-12345/gold
options: {credential: chk, endpoint: "https://127.0.0.1:$(cat "$tx/port")", username: admin,
          translation: "$tx/minimal.yaml", ca_file: "$tx/cert.pem"}
EOF
	OPTS[translated]="--config $tx/check.yaml --secrets-dir $tx/secrets"
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
