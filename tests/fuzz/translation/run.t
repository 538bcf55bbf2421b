#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Runs the interface translation file loader's libFuzzer target for a
# bounded time (FUZZ_SECONDS, default 20) from the shipped translation
# files and a few broken ones.  Builds the fuzz build (clang, libFuzzer)
# first when it is missing or stale.
source "$(dirname "$0")/../../lib/tap.sh"
secs=${FUZZ_SECONDS:-20}
fb=${TRELLIS_FUZZ_BUILD:-$TRELLIS_SRC/build-fuzz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! command -v clang >/dev/null; then
	skip "fuzz translation files" "clang is not installed (tools/deps/core.txt)"
	done_testing
fi
ok "build the fuzz target" \
	scons -C "$TRELLIS_SRC" -Q -j"$(nproc)" mode=fuzz build="${fb#"$TRELLIS_SRC"/}" \
	"$fb/tests/fuzz/fuzz_itf"
mkdir -p "$work/corpus" "$work/art"
cp "$TRELLIS_SRC"/plugins/storage/translated/translations/*.yaml "$work/corpus/"
printf 'translation: 1\n' >"$work/corpus/min.yaml"
printf 'translation: 1\nsections:\n  - name: a\n    match: {vendor: {regex: "^A(c|C)me"}, model: "*"}\n    volume_id: {property: a.b.0, token: 3}\n' >"$work/corpus/re.yaml"
printf 'translation: 1\ndefaults:\n  ops:\n    pools: {method: GET, path: /p, items: x.y, fields: {key: k, nmae: n}}\n' >"$work/corpus/typo.yaml"
bin=$fb/tests/fuzz/fuzz_itf
if [[ ! -x $bin ]]; then
	_tap_report 1 "fuzz_itf built"
	done_testing
fi
out=$("$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/art/itf-" -print_final_stats=1 "$work/corpus" 2>&1)
rc=$?
is "fuzz_itf ran ${secs}s without a crash, leak or timeout" "$rc" 0
if [[ $rc != 0 ]]; then
	printf '%s\n' "$out" | grep -v '^#\|^INFO' | tail -30 | sed 's/^/#   /'
	for a in "$work"/art/itf-*; do
		[[ -f $a ]] && diag "reproducer: $(base64 -w0 "$a")"
	done
fi
diag "fuzz_itf: $(printf '%s\n' "$out" | grep -E 'stat::number_of_executed_units' | tail -1)"
done_testing
