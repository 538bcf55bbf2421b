#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Crash consistency of the workflow engine: trellisd is killed with -9 at
# random instants while instances of a workflow that makes marker volumes
# (plugins/test/marker) run; some instances fail on purpose and must be
# compensated.  After the last restart every acknowledged instance ends
# succeeded (all its markers exist) or failed with compensation done (none
# of its markers exist), and no marker was ever made twice.
#   CRASH_KILLS (default 200): how many kill -9.  crash-soak.sh runs more.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
kills=${CRASH_KILLS:-200}
plugdir=$TRELLIS_BUILD/tests/plugins
if [[ ! -e $plugdir/marker.so ]]; then
	skip "workflow crash consistency" "no $plugdir/marker.so (build first)"
	done_testing
fi
export TRELLIS_MARKER_DELAY_MS=${TRELLIS_MARKER_DELAY_MS:-15}
pool=$TD_DIR/pool
wf=$TD_DIR/crash.yaml
cat >"$wf" <<'YAML'
workflow: crash.test
inputs:
  n: string
  fail: {type: bool, default: false}
steps:
  - id: a
    call: storage.volume_create
    with: {pool: mk, name: "${inputs.n}-a"}
  - id: b
    call: storage.volume_create
    needs: a
    with: {pool: mk, name: "${inputs.n}-b"}
  - id: c
    call: storage.volume_create
    needs: a
    with: {pool: mk, name: "${inputs.n}-c"}
  - id: d
    call: storage.volume_create
    needs: [b, c]
    with: {pool: mk, name: "${inputs.n}-d"}
  - id: boom
    call: core.fail
    needs: d
    when: "${inputs.fail}"
    with: {message: failing on purpose}
YAML
start() { td_start --plugin-dir "$plugdir"; }
start || { echo "Bail out! trellisd does not start"; exit 1; }
ok "marker pool" tcli pool create mk --target "$pool" --plugin marker
acked=$TD_DIR/acked
: >"$acked"
t0=$SECONDS
for ((round = 1; round <= kills; round++)); do
	for k in 1 2; do
		n="r${round}i$k"
		fail=$(( RANDOM % 3 == 0 ? 1 : 0 ))
		[[ $fail == 1 ]] && f=true || f=false
		if id=$(tcli --timeout 3000 workflow run "$wf" --no-wait \
			--input "n=$n" --input "fail=$f" 2>/dev/null); then
			echo "$id $n $fail" >>"$acked"
		fi
	done
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$TD_PID" 2>/dev/null
	wait "$TD_PID" 2>/dev/null
	TD_PID=
	start || { echo "Bail out! trellisd does not restart after kill $round"; exit 1; }
done
diag "$kills kills in $((SECONDS - t0)) s, $(wc -l <"$acked") instances acknowledged"
ok "at least 200 kill -9 (CRASH_KILLS=$kills)" test "$kills" -ge 200 -o -n "${CRASH_SOAK:-}"

# Let everything finish.
deadline=$((SECONDS + 60))
while :; do
	busy=$(tcli workflow list -o json | json 'sum(1 for x in j["items"] if x["state"] in ("queued","running","compensating"))')
	[[ $busy == 0 || $SECONDS -ge $deadline ]] && break
	sleep 0.2
done
is "every instance finished after the last restart" "$busy" 0
if [[ $busy != 0 ]]; then
	stuck=$(tcli workflow list -o json | json '[x["id"] for x in j["items"] if x["state"] in ("queued","running","compensating")][0]')
	diag "stuck: $stuck"
	tcli workflow logs "$stuck" | sed 's/^/#   /'
	tail -20 "$TD_DIR/daemon.log" | sed 's/^/#   /'
fi

tcli workflow list --limit 100000 -o json >"$TD_DIR/list.json"
python3 - "$acked" "$TD_DIR/list.json" "$pool" <<'PY' >"$TD_DIR/verdict"
import collections, json, os, sys
acked = [l.split() for l in open(sys.argv[1]) if l.strip()]
states = {x["id"]: x for x in json.load(open(sys.argv[2]))["items"]}
pool = sys.argv[3]
markers = {f[:-len(".marker")] for f in os.listdir(pool) if f.endswith(".marker")}
creates = collections.Counter()
for line in open(os.path.join(pool, "journal.log")) if os.path.exists(os.path.join(pool, "journal.log")) else []:
    what, key, name = line.split()
    if what == "create":
        creates[key] += 1
bad = []
owned = set()
for id, n, fail in acked:
    x = states.get(id)
    if not x:
        bad.append("%s (%s): acknowledged but unknown after restarts" % (id, n)); continue
    mine = {m for m in markers if m.startswith(n + "-")}
    owned |= mine
    if fail == "0":
        if x["state"] != "succeeded":
            bad.append("%s (%s): %s: %s" % (id, n, x["state"], x.get("error")))
        elif mine != {n + s for s in ("-a", "-b", "-c", "-d")}:
            bad.append("%s (%s): succeeded but markers %s" % (id, n, sorted(mine)))
    else:
        if x["state"] != "failed" or x.get("compensation") != "done":
            bad.append("%s (%s): %s, compensation %s" % (id, n, x["state"], x.get("compensation")))
        if mine:
            bad.append("%s (%s): compensated but left %s" % (id, n, sorted(mine)))
twice = [k for k, c in creates.items() if c > 1]
leaked = sorted(markers - owned)
print("instances=%d succeeded=%d compensated=%d creates=%d" % (
    len(acked), sum(1 for a in acked if states.get(a[0], {}).get("state") == "succeeded"),
    sum(1 for a in acked if states.get(a[0], {}).get("compensation") == "done"),
    sum(creates.values())))
print("twice=%d leaked=%d bad=%d" % (len(twice), len(leaked), len(bad)))
for b in bad[:20]: print("BAD " + b)
for k in twice[:20]: print("TWICE " + k)
for m in leaked[:20]: print("LEAKED " + m)
PY
diag "$(head -1 "$TD_DIR/verdict")"
is "every instance succeeded or was compensated" "$(grep -c '^BAD' "$TD_DIR/verdict")" 0
is "no marker was made twice" "$(grep -c '^TWICE' "$TD_DIR/verdict")" 0
is "no marker was leaked" "$(grep -c '^LEAKED' "$TD_DIR/verdict")" 0
grep '^BAD\|^TWICE\|^LEAKED' "$TD_DIR/verdict" | head -20 | sed 's/^/# /'
ok "the database is intact" test "$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA integrity_check')" = ok
done_testing
