#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# enrol.t - private zones' agents over the secure link (docs/agent.md):
# a token is printed once and only its hash is stored; an agent enrols
# with it and its link comes up; a reused, wrong, expired, other-zone
# token and a bad signature are each refused with the reason in the
# core's log and nothing changed; revoking closes the link at once and
# the agent is refused from then on; the first endpoint down, the next
# is used; a frozen agent's link is declared dead by the core, and the
# agent reconnects and authenticates again when it thaws; agents of two
# zones at once; an agent whose welcome never came may present the token
# it burnt again.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../daemon/lib.sh"
AG=$TD_BIN/trellis-agent
port=$((20000 + RANDOM % 20000))
dead=$((port + 1))
cat >"$TD_DIR/cfg.yaml" <<YAML
agents:
  listen: [tcp://127.0.0.1:$port]
  heartbeat: 300ms
  dead_after: 3
YAML
td_start --config "$TD_DIR/cfg.yaml" || { nok "trellisd starts" true; done_testing; }
log=$TD_DIR/daemon.log
tcli tenant create acme >/dev/null
tcli tenant create beta >/dev/null
tcli zone create z1 --private --owner acme >/dev/null
tcli zone create z2 --private --owner beta >/dev/null
tcli zone create pub >/dev/null
nok "a public zone gets no token" tcli zone token pub

tok=$(tcli zone token z1 --ttl 1h 2>/dev/null)
like "zone token prints a token" "$tok" '^tre_[0-9a-f]{64}$'
many=$(tcli zone token z1 --count 3 2>/dev/null)
is "zone token --count 3: three distinct tokens, one a line" "$(sort -u <<<"$many" | grep -cE '^tre_[0-9a-f]{64}$')" 3
is "... each stored as a hash" "$(sqlite3 "$TD_DIR/trellis.db" "SELECT count(*) FROM agent_token")" 4
nok "zone token --count 0 is refused" tcli zone token z1 --count 0
nok "zone token --count 10001 is refused" tcli zone token z1 --count 10001
nok "zone token --count on a public zone is refused" tcli zone token pub --count 2
is "... and nothing was stored by the refusals" "$(sqlite3 "$TD_DIR/trellis.db" "SELECT count(*) FROM agent_token")" 4
ok "only the token's hash is stored" \
	bash -c "! grep -aq '$tok' '$TD_DIR/trellis.db' '$TD_DIR/trellis.db-wal' 2>/dev/null"
ok "zone agent-bundle writes a 0600 bundle" tcli zone agent-bundle z1 --out "$TD_DIR/b1.json"
is "the bundle's mode" "$(stat -c %a "$TD_DIR/b1.json")" 600
key=$(json "j['core_key']" <"$TD_DIR/b1.json")

agents() { tcli -o json agent list | json "len(j['items'])"; }
link_is() { # NAME True|False: waits up to 6 s for the agent's link to be so
	local i
	for i in $(seq 1 60); do
		[[ $(tcli -o json agent show "$1" 2>/dev/null | json "j['link']['connected']") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
connected() { link_is "$1" True; }
gone() { link_is "$1" False; }
start_agent() { # DIR ARGS...: background; sets APID
	local d=$1
	shift
	"$AG" --state-dir "$TD_DIR/$d" "$@" 2>>"$TD_DIR/$d.log" &
	APID=$!
	TD_EXTRA_PIDS="${TD_EXTRA_PIDS:-} $APID"
}
refused_with() { # WHY DIR ARGS...: the agent exits 2, the log says WHY
	local why=$1 d=$2
	shift 2
	local n0
	n0=$(agents)
	timeout 20 "$AG" --state-dir "$TD_DIR/$d" "$@" 2>>"$TD_DIR/$d.log"
	local rc=$?
	is "refused ($why): the agent exits 2" "$rc" 2 ||
		sed 's/^/#   /' "$TD_DIR/$d.log" | tail -5
	ok "refused ($why): the core's log says so" grep -q "refused agent .*$why.*nothing changed" "$log"
	is "refused ($why): no agent was added" "$(agents)" "$n0"
}

start_agent a1 --name a1 --zone z1 --enroll "$tok" --core "tcp://127.0.0.1:$port" --core-key "$key"
a1=$APID
ok "a1 enrols and its link comes up" connected a1
ok "the core logs the enrolment" grep -q "agent 'a1' enrolled in zone 'z1'" "$log"
is "agent list: one agent, in z1" "$(tcli -o json agent list | json "j['items'][0]['zone']")" z1

refused_with "already used" a2 --name a2 --zone z1 --enroll "$tok" --core "tcp://127.0.0.1:$port" --core-key "$key"
refused_with "unknown enrolment token" a3 --name a3 --zone z1 --enroll "tre_$(printf '0%.0s' $(seq 64))" --core "tcp://127.0.0.1:$port" --core-key "$key"
short=$(tcli zone token z1 --ttl 1s 2>/dev/null)
sleep 2.2
refused_with "expired" a4 --name a4 --zone z1 --enroll "$short" --core "tcp://127.0.0.1:$port" --core-key "$key"
t2=$(tcli zone token z2 2>/dev/null)
refused_with "is for zone 'z2', not 'z1'" a5 --name a5 --zone z1 --enroll "$t2" --core "tcp://127.0.0.1:$port" --core-key "$key"
# An identity whose public half is another key's: the signature fails.
mkdir -p "$TD_DIR/a6"
cp "$TD_DIR/a1/agent.json" "$TD_DIR/a6/"
other=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s %s\n' "$other" "$(cut -d' ' -f2 "$TD_DIR/a1/identity")" >"$TD_DIR/a6/identity"
chmod 600 "$TD_DIR/a6/identity"
refused_with "bad signature" a6
# a1's name with another (valid) key: not its own.
t3=$(tcli zone token z1 2>/dev/null)
refused_with "already enrolled" a7 --name a1 --zone z1 --enroll "$t3" --core "tcp://127.0.0.1:$port" --core-key "$key"
ok "a1's link stayed up through the refusals" connected a1
wrong_key() { timeout 8 "$AG" --state-dir "$TD_DIR/a8" --name a8 --zone z1 --enroll "$t3" --core "tcp://127.0.0.1:$port" --core-key "$other" 2>"$TD_DIR/a8.log"; }
nok "a core key that is not the core's: no link" wrong_key
ok "... and the agent says why" grep -q "not the pinned key" "$TD_DIR/a8.log"

# Failover: the first endpoint refuses connections, the second is used.
t4=$(tcli zone token z2 2>/dev/null)
start_agent b1 --name b1 --zone z2 --enroll "$t4" --core "tcp://127.0.0.1:$dead,tcp://127.0.0.1:$port" --core-key "$key"
b1=$APID
ok "b1 (zone z2): first endpoint down, the next one is used" connected b1
ok "b1 says which endpoint it tried next" grep -q "next: tcp://127.0.0.1:$port" "$TD_DIR/b1.log"
is "two zones' agents are up at once" "$(tcli -o json agent list | json "sum(1 for a in j['items'] if a['link']['connected'])")" 2

# A frozen agent: the core declares its link dead; thawed, it comes back.
kill -STOP "$b1"
ok "a frozen agent's link is declared dead" gone b1
ok "the core logs why" grep -q "agent 'b1' (zone 'z2'): link closed: dead: no beat" "$log"
kill -CONT "$b1"
ok "thawed, b1 reconnects and authenticates again" connected b1
is "b1 connected twice" "$(grep -c "agent 'b1' (zone 'z2') connected" "$log")" 2

# Revocation closes the link at once; the agent is refused from then on.
ok "agent revoke" tcli agent revoke a1
for i in $(seq 1 30); do kill -0 "$a1" 2>/dev/null || break; sleep 0.1; done
nok "a1 leaves when its link is closed" kill -0 "$a1"
wait "$a1"
is "a1 exits 2 (revoked)" "$?" 2
ok "a1 says it was revoked" grep -q "revoked" "$TD_DIR/a1.log"
refused_with "is revoked" a1
nok "a second revoke is refused" tcli agent revoke a1
ok "b1 is still up" connected b1
kill -TERM "$b1"
wait "$b1"
is "b1 stops on SIGTERM with status 0" "$?" 0
ok "b1 closed its link cleanly" bash -c "for i in \$(seq 30); do grep -q \"agent 'b1' (zone 'z2'): link closed: closed by the agent\" '$log' && exit 0; sleep 0.1; done; exit 1"
# An agent that enrolled but never saw its welcome (its link went first,
# a busy core) comes back with its token: the token it burnt itself, with
# its own key, is accepted; anyone else's use of it stays refused.
mkdir -p "$TD_DIR/b1x"
cp "$TD_DIR/b1/identity" "$TD_DIR/b1x/"
chmod 600 "$TD_DIR/b1x/identity"
start_agent b1x --name b1 --zone z2 --enroll "$t4" --core "tcp://127.0.0.1:$port" --core-key "$key"
b1x=$APID
ok "b1's own key with the token it burnt: accepted" connected b1
is "still one agent b1" "$(tcli -o json agent list | json "sum(1 for a in j['items'] if a['name'] == 'b1')")" 1
kill -TERM "$b1x"
wait "$b1x"
refused_with "already used" b1y --name b1y --zone z2 --enroll "$t4" --core "tcp://127.0.0.1:$port" --core-key "$key"
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
