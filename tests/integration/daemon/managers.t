#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Several managers on one PostgreSQL store (issue 24): each names itself,
# `api status` on any of them lists them all and who runs each leader-only
# periodic job; a job runs on exactly one manager, and moves to another
# when its holder is killed (its database session ends, and with it the
# advisory lock).  Needs test.sh's PostgreSQL cluster (TRELLIS_TEST_PG_DSN).
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

if [[ -z ${TRELLIS_TEST_PG_DSN:-} ]]; then
	skip "several managers" "no PostgreSQL cluster (TRELLIS_TEST_PG_DSN; test.sh starts one)"
	done_testing
fi
export TRELLIS_TEST_STORE=postgresql
printf 'host_refresh: 1s\nnetwork:\n  router_check: 1s\n' >"$TD_DIR/cfg.yaml"
td_start --config "$TD_DIR/cfg.yaml" || { echo "Bail out! trellisd does not start"; exit 1; }
A=$TRELLIS_SOCKET
B_DIR=$TD_DIR/b
mkdir -p "$B_DIR"
"$TD_BIN/trellisd" --state-dir "$B_DIR" --foreground --config "$TD_DIR/cfg.yaml" \
	2>>"$B_DIR/daemon.log" &
B_PID=$!
TD_EXTRA_PIDS=$B_PID
B=ipc://$B_DIR/api.sock
for _ in $(seq 100); do
	tcli --socket "$B" --timeout 1000 api status >/dev/null 2>&1 && break
	sleep 0.1
done
st() { tcli --socket "$1" api status -o json; }
holder() { json "[x['holder'] for x in j['cluster']['jobs'] if x['job'] == '$2'][0]" <<<"$(st "$1")"; }
name_of() { json "[m['name'] for m in j['cluster']['managers'] if m['self']][0]" <<<"$(st "$1")"; }
# both reach their first ticks
for _ in $(seq 50); do
	[[ $(holder "$A" inventory.routers) != None ]] && break
	sleep 0.2
done
NA=$(name_of "$A")
NB=$(name_of "$B")
is "the store is PostgreSQL" "$(st "$A" | json 'j["cluster"]["backend"]')" postgresql
like "a manager is named HOST:PID" "$NA" ":$TD_PID\$"
is "both managers see both" "$(st "$A" | json 'sorted(m["name"] for m in j["cluster"]["managers"])') $(st "$B" | json 'len(j["cluster"]["managers"])')" \
	"$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$NA" "$NB") 2"
h=$(holder "$A" inventory.routers)
ok "inventory.routers runs on one of them ($h)" test "$h" = "$NA" -o "$h" = "$NB"
is "... the same one, asked at either" "$(holder "$B" inventory.routers)" "$h"
sleep 2.5
is "... and stays there" "$(holder "$A" inventory.routers)" "$h"
hr=$(holder "$A" inventory.refresh)
ok "inventory.refresh too ($hr)" test "$hr" = "$NA" -o "$hr" = "$NB"
n=$(grep -c "inventory.routers: this manager runs it now" "$TD_DIR/daemon.log" "$B_DIR/daemon.log" | awk -F: '{s += $2} END {print s}')
is "exactly one manager says it took inventory.routers" "$n" 1
ok "a write through one is read through the other" tcli --socket "$A" zone create zone-ab
is "... (one store)" "$(tcli --socket "$B" zone list -o json | json '[z["name"] for z in j["items"]]')" "['zone-ab']"

# the holder dies: the job moves to the other within a few ticks
if [[ $h == "$NA" ]]; then
	kill -9 "$TD_PID"; wait "$TD_PID" 2>/dev/null; TD_PID=; LIVE=$B; LIVE_LOG=$B_DIR/daemon.log; LIVE_N=$NB
else
	kill -9 "$B_PID"; wait "$B_PID" 2>/dev/null; TD_EXTRA_PIDS=; LIVE=$A; LIVE_LOG=$TD_DIR/daemon.log; LIVE_N=$NA
fi
t0=$(date +%s.%N)
for _ in $(seq 100); do
	[[ $(holder "$LIVE" inventory.routers) == "$LIVE_N" ]] && break
	sleep 0.1
done
t1=$(date +%s.%N)
is "the holder killed: the other manager runs inventory.routers" "$(holder "$LIVE" inventory.routers)" "$LIVE_N"
diag "moved in $(python3 -c "print('%.1f s' % ($t1 - $t0))")"
like "... and says so" "$(cat "$LIVE_LOG")" "inventory.routers: this manager runs it now"
is "... and inventory.refresh" "$(holder "$LIVE" inventory.refresh)" "$LIVE_N"
is "the dead one is no longer listed" "$(st "$LIVE" | json 'len(j["cluster"]["managers"])')" 1
is "the survivor still answers" "$(tcli --socket "$LIVE" zone list -o json | json '[z["name"] for z in j["items"]]')" "['zone-ab']"

# one manager on SQLite: it runs every job itself
unset TRELLIS_TEST_STORE
S_DIR=$TD_DIR/s
mkdir -p "$S_DIR"
"$TD_BIN/trellisd" --state-dir "$S_DIR" --foreground 2>>"$S_DIR/daemon.log" &
S_PID=$!
TD_EXTRA_PIDS="$TD_EXTRA_PIDS $S_PID"
S=ipc://$S_DIR/api.sock
for _ in $(seq 100); do
	tcli --socket "$S" --timeout 1000 api status >/dev/null 2>&1 && break
	sleep 0.1
done
is "on SQLite: one manager, every job its own" \
	"$(st "$S" | json 'j["cluster"]["backend"], len(j["cluster"]["managers"]), all(x["holder"] == j["cluster"]["managers"][0]["name"] for x in j["cluster"]["jobs"])')" \
	"sqlite 1 True"
done_testing
