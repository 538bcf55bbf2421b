#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# The dashboard benchmark: the inventory page with 10,000 VMs next to the
# same page with 100 VMs, in the same run (two trellisds, stores made by
# bench-api populate), measured in Debian's chromium through Playwright's
# performance timings (inventory.mjs): first contentful paint, time to
# interactive (the tree and the first page of VMs shown) and the bytes
# transferred, over BENCH_ROUNDS (5) alternating cold loads.  Prints the
# medians and the ratios 10,000 / 100.  Fails only when it cannot
# measure, never on slow figures.  Target: interactive under 1 s on
# loopback, and less than 2x the 100-VM page.
source "$TRELLIS_SRC/tests/lib/tap.sh"
bench=$TRELLIS_BUILD/tests/bench/bench-api
node_dir=$TRELLIS_SRC/tests/integration/dashboard
if [[ ! -d $node_dir/node_modules/playwright-core || ! -x /usr/bin/chromium ]]; then
	skip "dashboard bench" "playwright-core (npm ci in tests/integration/dashboard) or chromium missing"
	done_testing
fi
if [[ ! -f $TRELLIS_BUILD/share/trellis/dashboard/index.html ]]; then
	skip "dashboard bench" "the dashboard was not built"
	done_testing
fi
dir=$(mktemp -d /tmp/trellis-bench-dash-XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
start() { # NAME VMS -> URL and KEY in ${NAME}_URL, ${NAME}_KEY
	local name=$1 n=$2 port=$((20000 + RANDOM % 20000)) key
	mkdir -p "$dir/$name"
	"$bench" populate "$dir/$name/trellis.db" "$n" >/dev/null || return 1
	printf 'http:\n  listen: 127.0.0.1:%s\n' "$port" >"$dir/$name/c.yaml"
	key=$("$TRELLIS_BUILD/bin/trellisd" --state-dir "$dir/$name" --config "$dir/$name/c.yaml" --api-key-add bench 2>/dev/null)
	"$TRELLIS_BUILD/bin/trellisd" --state-dir "$dir/$name" --foreground --config "$dir/$name/c.yaml" 2>"$dir/$name/log" &
	pids+=($!)
	local i
	for i in $(seq 1 100); do
		curl -s -f -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	printf -v "${name}_URL" '%s' "http://127.0.0.1:$port"
	printf -v "${name}_KEY" '%s' "$key"
}
ok "a trellisd with 10,000 VMs and one with 100" bash -c "true"
start BIG 10000 && start SMALL 100
ok "...both serve the dashboard" curl -s -f -o /dev/null "$BIG_URL/" -o /dev/null "$SMALL_URL/"
out=$(cd "$node_dir" && NODE_MODULES=$node_dir/node_modules BIG_URL=$BIG_URL BIG_KEY=$BIG_KEY SMALL_URL=$SMALL_URL \
	SMALL_KEY=$SMALL_KEY ROUNDS=${BENCH_ROUNDS:-5} timeout 240 node "$TRELLIS_SRC/tests/bench/dashboard/inventory.mjs" 2>&1)
rc=$?
is "every load measured" "$rc" 0
[[ $rc == 0 ]] || { printf '%s\n' "$out" | tail -15 | sed 's/^/#   /'; done_testing; }
[[ -n ${BENCH_VERBOSE:-} ]] && printf '%s\n' "$out" | sed 's/^/# /'
python3 - "$out" <<'PY' | while IFS= read -r l; do diag "$l"; done
import json, statistics, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")]
def med(which, k):
    v = [r[k] for r in rows if r["which"] == which and r[k] is not None]
    return statistics.median(v) if v else float("nan")
for k, unit, label in (("fcp_ms", "ms", "first contentful paint"),
                       ("interactive_ms", "ms", "interactive (tree + first 100 VMs)"),
                       ("bytes", "B", "transferred")):
    b, s = med("big", k), med("small", k)
    print("inventory page, %s: 10,000 VMs %.0f %s | 100 VMs %.0f %s | ratio %.2f"
          % (label, b, unit, s, unit, b / s if s else float("nan")))
print("target: interactive < 1000 ms on loopback and < 2x the 100-VM page")
PY
done_testing
