#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# replay.t - a replayed capture of an earlier handshake fails
# (docs/agent.md, "Handshake"): a real agent's links go through a tiny
# recording relay on loopback (sp_replay.py: the bytes of nanomsg's TCP
# transport as an attacker on the path sees them), one that enrols with
# its token and one that authenticates again later.  Each capture,
# replayed byte for byte to trellisd from a new connection, gets a fresh
# challenge, and its captured first frame fails: the core's log says
# why, and nothing changes (no agent, no session, the host stays as it
# was, the real agent's link undisturbed), whether the real agent is up
# or away.  The capture holds no token in clear.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../daemon/lib.sh"
td_have_libvirt_plugin || { echo "1..0 # SKIP no libvirt plugin"; exit 0; }
AG=$TD_BIN/trellis-agent
SP="python3 $(dirname "$0")/sp_replay.py"
port=$((20000 + RANDOM % 20000))
pport=$((port + 1))
cat >"$TD_DIR/cfg.yaml" <<YAML
agents:
  listen: [tcp://127.0.0.1:$port]
  heartbeat: 300ms
  dead_after: 3
YAML
td_start --config "$TD_DIR/cfg.yaml" || { nok "trellisd starts" true; done_testing; }
log=$TD_DIR/daemon.log
cap=$TD_DIR/capture.jsonl
$SP record "$pport" "$port" "$cap" 2>"$TD_DIR/rec.log" &
TD_EXTRA_PIDS=$!
tcli tenant create acme >/dev/null
tcli zone create z1 --private --owner acme >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create c1 --pod z1/p1 >/dev/null
# The agent dials the recording relay, which forwards to the core.
tcli zone agent-bundle z1 --out "$TD_DIR/b.json" --endpoints "tcp://127.0.0.1:$pport" >/dev/null 2>&1
tok=$(json "j['token']" <"$TD_DIR/b.json")
link_is() {
	local i
	for i in $(seq 1 80); do
		[[ $(tcli -o json agent show "$1" 2>/dev/null | json "j['link']['connected']") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
start_a1() {
	"$AG" --state-dir "$TD_DIR/a1" "$@" 2>>"$TD_DIR/a1.log" &
	A1=$!
	TD_EXTRA_PIDS="$TD_EXTRA_PIDS $A1"
}
start_a1 --name a1 --bundle "$TD_DIR/b.json"
ok "a1 enrols through the recording relay (capture 1: with its token)" link_is a1 True
cat >"$TD_DIR/h1.xml" <<X
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active><mhz>2000</mhz></cpu>
<memory>2097152</memory></node>
X
ok "a host behind a1" tcli host add h1 --cluster z1/p1/c1 --via-agent a1 --uri "test://$TD_DIR/h1.xml"
kill -TERM "$A1"
wait "$A1"
ok "a1 went away" link_is a1 False
start_a1
ok "a1 connects again (capture 2: authentication without token)" link_is a1 True
is "the relay saw two connections" "$(python3 -c "import json,sys; print(len({json.loads(l)['conn'] for l in open(sys.argv[1])}))" "$cap")" 2
ok "the capture holds no token in clear" \
	bash -c "! grep -q '$(printf %s "$tok" | od -An -tx1 | tr -d ' \n')' '$cap' && ! grep -q '${tok#tre_}' '$cap'"

snap() { # what must not change
	printf '%s|%s|%s|%s|%s\n' \
		"$(tcli -o json agent list | json "[(a['name'], a['zone'], a['revoked_at']) for a in j['items']]")" \
		"$(tcli -o json host show h1 | json "(j['state'], j['agent'])")" \
		"$(grep -c "connected: " "$log")" "$(grep -c "enrolled" "$log")" \
		"$(grep -c "link closed" "$log")"
}
refusals() { grep -c "refused agent '?' .*its first frame fails: frame fails authentication.*replayed.*nothing changed" "$log"; }
replay() { # CONN: replays that capture's first four client messages
	$SP replay "$port" "$cap" "$1" 4 >"$TD_DIR/replay$1.out" 2>&1
}
first_answer() { # CONN FILE: the first message the core sent (a CHALLENGE)
	python3 -c "import json,sys
for l in open(sys.argv[2]):
    r = json.loads(l) if l.startswith('{') else {}
    if r.get('dir') == 's2c' and r.get('conn', int(sys.argv[1])) == int(sys.argv[1]):
        print(r['hex'][:160]); break" "$1" "$2"
}
for conn in 1 2; do
	before=$(snap)
	r0=$(refusals)
	since=$(tcli -o json agent show a1 | json "j['link']['connected_ms']")
	ok "capture $conn replayed to trellisd (a1 up)" replay "$conn"
	sleep 0.5
	is "capture $conn: the core refused it, saying why" "$(refusals)" $((r0 + 1)) ||
		tail -3 "$log" | sed 's/^/#   /'
	fresh=$(first_answer "$conn" "$TD_DIR/replay$conn.out")
	ok "capture $conn: the core's challenge was a fresh one" \
		test -n "$fresh" -a "$fresh" != "$(first_answer "$conn" "$cap")"
	is "capture $conn: nothing changed" "$(snap)" "$before"
	ok "capture $conn: a1's own link is undisturbed" \
		test "$(tcli -o json agent show a1 | json "j['link']['connected_ms']")" -ge "$since"
done

# The agent away: a replay does not bring it (or its host) back.
kill -TERM "$A1"
wait "$A1"
ok "a1 away again" link_is a1 False
is "h1 is disconnected" "$(tcli -o json host show h1 | json "j['state']")" disconnected
before=$(snap)
r0=$(refusals)
ok "capture 2 replayed with a1 away" replay 2
sleep 0.5
is "refused again" "$(refusals)" $((r0 + 1))
is "nothing changed: a1 not connected, h1 still disconnected" "$(snap)" "$before"
nok "a1 is not connected" link_is a1 True
for conn in 1 2; do
	is "replayed capture $conn got one message back, the challenge: no welcome, no command" \
		"$(grep -c '"s2c"' "$TD_DIR/replay$conn.out")" 1
done
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
