#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The API benchmark, short version: vm.show and vm.list (100 per page) with
# 10,000 VMs in the store, 1 and 16 clients, against a raw nanomsg echo
# server measured in the same run, in alternating phases of BENCH_SECONDS
# (0.05), BENCH_ROUNDS (60) rounds of one phase on each.  Prints the figures
# as TAP diagnostics; fails only when it cannot measure, never on slow
# figures.
#   BENCH_ROUNDS=200 tests/bench/api/api.t   a longer run
#   BENCH_VERBOSE=1 ...                      every round's figures too
# trellis-timeout: 180
source "$TRELLIS_SRC/tests/lib/tap.sh"
bench=$TRELLIS_BUILD/tests/bench/bench-api
dir=$(mktemp -d /tmp/trellis-bench-XXXXXX)
pid=
cleanup() {
	[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

ok "populate a store with 10,000 VMs" "$bench" populate "$dir/trellis.db" 10000
# What the daemon itself spends per request, without the transport.
cost=$("$bench" cost "$dir/trellis.db" 2>&1)
is "in-process cost measured" "$?" 0
while IFS= read -r line; do diag "$line"; done <<<"$cost"
"$TRELLIS_BUILD/bin/trellisd" --state-dir "$dir" --foreground \
	--config /dev/null 2>"$dir/log" &
pid=$!
for i in $(seq 1 100); do
	"$TRELLIS_BUILD/bin/trellis" --socket "ipc://$dir/api.sock" --timeout 1000 \
		api status >/dev/null 2>&1 && break
	sleep 0.05
done
ok "trellisd is up" "$TRELLIS_BUILD/bin/trellis" --socket "ipc://$dir/api.sock" api status
out=$("$bench" run "ipc://$dir/api.sock" "${BENCH_SECONDS:-0.05}" "${BENCH_ROUNDS:-60}" 2>&1)
rc=$?
while IFS= read -r line; do diag "$line"; done <<<"$out"
is "measured (${BENCH_ROUNDS:-60} rounds of ${BENCH_SECONDS:-0.05} s on each server)" "$rc" 0
diag "targets: vm.show >= 0.8x echo with 1 client, >= 0.6x with 16; p99 <= 2 ms"
done_testing
