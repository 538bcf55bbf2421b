#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 400
# Runs the workflow loader's libFuzzer target for a bounded time over a
# seed corpus (the shipped workflows and the broken-file corpus).  Builds
# the fuzz build (clang, libFuzzer) first when it is not there.
#   FUZZ_SECONDS (default 40), TRELLIS_FUZZ_BUILD (default SRC/build-fuzz)
source "$(dirname "$0")/../../lib/tap.sh"
secs=${FUZZ_SECONDS:-40}
fb=${TRELLIS_FUZZ_BUILD:-$TRELLIS_SRC/build-fuzz}
bin=$fb/tests/fuzz/workflow_load
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v clang >/dev/null; then
	skip "fuzz workflow loader" "clang is not installed (tools/deps/core.txt)"
	done_testing
fi
if [[ ! -x $bin || -n $(find "$TRELLIS_SRC/core/workflow" "$TRELLIS_SRC/core/util" -newer "$bin" -name '*.[ch]' 2>/dev/null | head -1) ]]; then
	ok "build the fuzz target" \
		scons -C "$TRELLIS_SRC" -Q -j"$(nproc)" mode=fuzz build="${fb#"$TRELLIS_SRC"/}" "$bin"
else
	ok "fuzz target is built" test -x "$bin"
fi
[[ -x $bin ]] || done_testing

mkdir -p "$work/corpus" "$work/art"
cp "$TRELLIS_SRC"/workflows/*.yaml "$TRELLIS_SRC"/tests/unit/workflow/corpus/*.yaml \
	"$work/corpus/" 2>/dev/null
n_seeds=$(ls "$work/corpus" | wc -l)
ok "seed corpus is not empty ($n_seeds files)" test "$n_seeds" -gt 0
out=$("$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-dict="$TRELLIS_SRC/tests/fuzz/workflow/yaml.dict" \
	-artifact_prefix="$work/art/" -print_final_stats=1 \
	"$work/corpus" 2>&1)
rc=$?
is "fuzzer ran ${secs}s without a crash, leak or timeout" "$rc" 0
if [[ $rc != 0 ]]; then
	printf '%s\n' "$out" | grep -v '^#\|^INFO' | tail -40 | sed 's/^/#   /'
	for a in "$work"/art/*; do
		[[ -f $a ]] && diag "reproducer: $(base64 -w0 "$a")"
	done
fi
diag "$(printf '%s\n' "$out" | grep -E 'stat::number_of_executed_units|cov:' | tail -2 | tr '\n' ' ')"
done_testing
