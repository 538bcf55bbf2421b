# SPDX-License-Identifier: Apache-2.0
# fuzz.sh - what the libFuzzer runs (tests/fuzz/*/run.t) share; source it
# after tap.sh.
#   fuzz_begin WHAT TARGET...   sets secs (FUZZ_SECONDS, default 20), fb
#       (TRELLIS_FUZZ_BUILD, default SRC/build-fuzz) and work (a temporary
#       directory, removed at exit, with art/ for reproducers); without
#       clang skips WHAT and ends the file; builds the fuzz build's targets
#       (tests/fuzz/TARGET: clang, libFuzzer) when missing or stale.
#   fuzz_run NAME CORPUS [ARG...]   runs $fb/tests/fuzz/NAME for secs over
#       the CORPUS directory (more libFuzzer ARGs after it): one result,
#       the tail of a failure's output and its reproducers, and the count
#       of runs as a diagnostic.
fuzz_begin() {
	local what=$1 t targets=()
	shift
	secs=${FUZZ_SECONDS:-20}
	fb=${TRELLIS_FUZZ_BUILD:-$TRELLIS_SRC/build-fuzz}
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/art"
	if ! command -v clang >/dev/null; then
		skip "$what" "clang is not installed (tools/deps/core.txt)"
		done_testing
	fi
	for t in "$@"; do
		targets+=("$fb/tests/fuzz/$t")
	done
	if (($# > 1)); then
		ok "build the fuzz targets" \
			scons -C "$TRELLIS_SRC" -Q -j"$(nproc)" mode=fuzz \
			build="${fb#"$TRELLIS_SRC"/}" "${targets[@]}"
	else
		ok "build the fuzz target" \
			scons -C "$TRELLIS_SRC" -Q -j"$(nproc)" mode=fuzz \
			build="${fb#"$TRELLIS_SRC"/}" "${targets[@]}"
	fi
}

fuzz_run() {
	local name=$1 corpus=$2 bin out rc a
	shift 2
	bin=$fb/tests/fuzz/$name
	if [[ ! -x $bin ]]; then
		_tap_report 1 "$name built"
		return
	fi
	out=$("$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/art/$name-" -print_final_stats=1 "$@" \
		"$corpus" 2>&1)
	rc=$?
	is "$name ran ${secs}s without a crash, leak or timeout" "$rc" 0
	if [[ $rc != 0 ]]; then
		printf '%s\n' "$out" | grep -v '^#\|^INFO' | tail -30 | sed 's/^/#   /'
		for a in "$work"/art/"$name"-*; do
			[[ -f $a ]] && diag "reproducer: $(base64 -w0 "$a")"
		done
	fi
	diag "$name: $(printf '%s\n' "$out" | grep -E 'stat::number_of_executed_units' | tail -1)"
}
