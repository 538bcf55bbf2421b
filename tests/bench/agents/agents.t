#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The agents benchmark (issue 19), short version: N simulated agents
# (agent-sim: each a real link with its own Ed25519 identity, handshake
# and enrolment token) connect to one trellisd; prints the time to
# connect them all, the daemon's RSS per agent, and host.refresh's
# round trip p50/p99 through the relay (a real trellis-agent, libvirt's
# test driver) next to the same op on a direct host, measured in the
# same run, alternating, with the N agents up.  Fails only when it
# cannot measure, never on slow figures.
# The suite runs N=100 (BENCH_AGENTS), heartbeat 2s (BENCH_HEARTBEAT); the
# issue's runs:
#   BENCH_AGENTS="100 1000 10000" BENCH_ROUNDS=400 tests/bench/agents/agents.t
# BENCH_PERF=FILE records trellisd with perf while the round trips run.
# trellis-timeout: 300
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
td_have_libvirt_plugin || { echo "1..0 # SKIP no libvirt plugin"; exit 0; }
SIM=$TRELLIS_BUILD/tests/bench/agent-sim
port=$((20000 + RANDOM % 20000))
cat >"$TD_DIR/cfg.yaml" <<YAML
agents:
  listen: [tcp://127.0.0.1:$port]
  heartbeat: ${BENCH_HEARTBEAT:-2s}
  dead_after: 3
YAML
# BENCH_PROFILE=1: the daemon logs each relayed call's stages (debug).
[[ -n ${BENCH_PROFILE:-} ]] && printf 'log:\n  level: debug\n' >>"$TD_DIR/cfg.yaml"
td_start --config "$TD_DIR/cfg.yaml" || { nok "trellisd starts" true; done_testing; }
tcli tenant create acme >/dev/null
tcli zone create z1 --private --owner acme >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create c1 --pod z1/p1 >/dev/null
tcli zone create pub >/dev/null
tcli pod create pp --zone pub >/dev/null
tcli cluster create pc --pod pub/pp >/dev/null
tcli zone agent-bundle z1 --out "$TD_DIR/b.json" >/dev/null 2>&1
key=$(json "j['core_key']" <"$TD_DIR/b.json")
"$TD_BIN/trellis-agent" --state-dir "$TD_DIR/a0" --name a0 --bundle "$TD_DIR/b.json" \
	2>>"$TD_DIR/a0.log" &
TD_EXTRA_PIDS=$!
for i in $(seq 50); do [[ $(tcli -o json agent show a0 2>/dev/null | json "j['link']['connected']" 2>/dev/null) == True ]] && break; sleep 0.1; done
# Two test-driver hosts that are two machines (their own node UUIDs).
node() {
	cat >"$TD_DIR/$1.xml" <<X
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active><mhz>2000</mhz></cpu>
<memory>4194304</memory></node>
X
}
node direct
node relayed
ok "a direct host" tcli host add hd --cluster pub/pp/pc --uri "test://$TD_DIR/direct.xml"
ok "a host behind the real agent a0" tcli host add hr --cluster z1/p1/c1 --via-agent a0 --uri "test://$TD_DIR/relayed.xml"
rss() { awk '/^VmRSS/{print $2}' "/proc/$TD_PID/status"; }
SIMS=()
for n in ${BENCH_AGENTS:-100}; do
	rss0=$(rss)
	m0=$(date +%s%3N)
	tcli --timeout 120000 zone token z1 --ttl 1h --count "$n" 2>/dev/null >"$TD_DIR/tok"
	m1=$(date +%s%3N)
	is "N=$n: $n enrolment tokens minted in one call" "$(wc -l <"$TD_DIR/tok")" "$n"
	diag "N=$n: minted $n tokens in $((m1 - m0)) ms (zone token --count)"
	# agent-sim holds 500 agents a process (nanomsg: 512 sockets).
	split -l 500 -a 3 -d "$TD_DIR/tok" "$TD_DIR/tok.$n."
	SIMS=()
	t0=$(date +%s%3N)
	for f in "$TD_DIR"/tok.$n.*; do
		"$SIM" agents "tcp://127.0.0.1:$port" "$key" z1 "$f" 3600 >"$f.out" 2>"$f.err" &
		SIMS+=($!)
	done
	TD_EXTRA_PIDS="$TD_EXTRA_PIDS ${SIMS[*]}"
	up=1
	for f in "$TD_DIR"/tok.$n.*[0-9]; do
		for i in $(seq 6000); do grep -q connected "$f.out" && break; [[ -s $f.err ]] && break; sleep 0.1; done
		grep -q connected "$f.out" || { up=0; sed 's/^/#   /' "$f.err" | tail -3; }
	done
	is "$n simulated agents connect" "$up" 1
	# From the first process's start to the last agent's welcome.
	ms=$(cat "$TD_DIR"/tok.$n.*.out | awk -v t0="$t0" '/connected/{if ($8 - t0 > m) m = $8 - t0} END {print m}')
	# A link that went dead in the storm is being made again: a while.
	for i in $(seq 30); do
		seen=$(tcli --timeout 60000 -o json agent list 2>/dev/null | json "sum(1 for a in j['items'] if a['link']['connected'])" 2>/dev/null || echo "?")
		[[ $seen == $((n + 1)) ]] && break
		sleep 1
	done
	is "...and the core sees them all" "$seen" "$((n + 1))"
	rss1=$(rss)
	diag "N=$n: connected all in $ms ms ($((${#SIMS[@]})) agent-sim processes); trellisd RSS $((rss0)) -> $((rss1)) KiB: $(((rss1 - rss0) * 1024 / n)) bytes per agent"
	# BENCH_PERF=FILE: perf records trellisd (call graphs, its threads)
	# for BENCH_PERF_S seconds while the round trips run: FILE.N.
	PERF=
	if [[ -n ${BENCH_PERF:-} ]] && command -v perf >/dev/null; then
		perf record -q -g -p "$TD_PID" -o "$BENCH_PERF.$n" -- sleep "${BENCH_PERF_S:-15}" >/dev/null 2>&1 &
		PERF=$!
	fi
	out=$("$SIM" rtt "ipc://$TD_DIR/api.sock" hd hr "${BENCH_ROUNDS:-100}" 2>&1)
	[[ -n $PERF ]] && wait "$PERF"
	diag "N=$n: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	is "N=$n: host.refresh measured on both hosts" "$?" 0
	while IFS= read -r line; do diag "N=$n: $line"; done <<<"$out"
	if [[ -n ${BENCH_PROFILE:-} ]]; then
		# The stages' p50/p99 over this N's relayed calls (us).
		grep "relay: hypervisor.host_probe on 'a0'" "$TD_DIR/daemon.log" |
			sed -n "$((${PROF_SEEN:-0} + 1)),\$p" >"$TD_DIR/prof.$n"
		PROF_SEEN=$(grep -c "relay: hypervisor.host_probe on 'a0'" "$TD_DIR/daemon.log")
		python3 - "$TD_DIR/prof.$n" "$n" <<'PY'
import re, sys
rows = [list(map(int, re.findall(r'(-?\d+)', l.split("'a0': ", 1)[1])))
        for l in open(sys.argv[1])]
names = ['total', 'before queued', 'queued to answer', 'agent spawn',
         'agent run', 'wakeup']
for i, nm in enumerate(names):
    v = sorted(r[i] for r in rows if len(r) == 6)
    if v:
        print('# N=%s: relay stage %-16s p50 %6d us  p99 %6d us  (%d calls)'
              % (sys.argv[2], nm, v[len(v) // 2], v[min(len(v) - 1, len(v) * 99 // 100)], len(v)))
PY
	fi
	kill -TERM "${SIMS[@]}" 2>/dev/null
	wait "${SIMS[@]}" 2>/dev/null
	diag "N=$n: links that went dead and were made again: $(cat "$TD_DIR"/tok.$n.*.out | awk -F': ' '/links made again/{s += $2} END {print s + 0}'); a0's: $(grep -c "connected to" "$TD_DIR/a0.log") links in all"
done
diag "targets: 10,000 agents on one trellisd; the relay adds <= 1 ms at p99 over a direct host at 1,000 agents"
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
