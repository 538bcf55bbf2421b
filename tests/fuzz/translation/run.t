#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Runs the translated plugin's libFuzzer targets for a bounded time each
# (FUZZ_SECONDS, default 20): the interface translation file loader, from
# the shipped translation files and a few broken ones, and the XML
# answers, from S3-shaped documents.  Builds the fuzz build (clang, libFuzzer)
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
	"$fb/tests/fuzz/fuzz_itf" "$fb/tests/fuzz/fuzz_xml"
mkdir -p "$work/corpus" "$work/art" "$work/xml"
printf '<?xml version="1.0"?>\n<ListBucketResult><Name>b</Name><Contents><Key>v1</Key><Size>5</Size></Contents><Contents><Key>v2</Key><Size>7</Size></Contents></ListBucketResult>' >"$work/xml/1"
printf '<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets><Bucket><Name>a</Name></Bucket></Buckets></ListAllMyBucketsResult>' >"$work/xml/2"
printf '<Error><Code>NoSuchKey</Code><Message>m &amp; n</Message></Error>' >"$work/xml/3"
cp "$TRELLIS_SRC"/plugins/storage/translated/translations/*.yaml "$work/corpus/"
printf 'translation: 1\n' >"$work/corpus/min.yaml"
printf 'translation: 1\nsections:\n  - name: a\n    match: {vendor: {regex: "^A(c|C)me"}, model: "*"}\n    volume_id: {property: a.b.0, token: 3}\n' >"$work/corpus/re.yaml"
printf 'translation: 1\ndefaults:\n  ops:\n    pools: {method: GET, path: /p, items: x.y, fields: {key: k, nmae: n}}\n' >"$work/corpus/typo.yaml"
for t in itf:corpus xml:xml; do
	name=${t%%:*}
	bin=$fb/tests/fuzz/fuzz_$name
	if [[ ! -x $bin ]]; then
		_tap_report 1 "fuzz_$name built"
		continue
	fi
	out=$("$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/art/$name-" -print_final_stats=1 "$work/${t#*:}" 2>&1)
	rc=$?
	is "fuzz_$name ran ${secs}s without a crash, leak or timeout" "$rc" 0
	if [[ $rc != 0 ]]; then
		printf '%s\n' "$out" | grep -v '^#\|^INFO' | tail -30 | sed 's/^/#   /'
		for a in "$work"/art/$name-*; do
			[[ -f $a ]] && diag "reproducer: $(base64 -w0 "$a")"
		done
	fi
	diag "fuzz_$name: $(printf '%s\n' "$out" | grep -E 'stat::number_of_executed_units' | tail -1)"
done
done_testing
