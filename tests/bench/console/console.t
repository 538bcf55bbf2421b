#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# The console proxy benchmark (issue 20), short version.  One VNC-like
# source (bench-console source: endless 64 KiB writes, or an echo) is
# reached, alternately in each of BENCH_ROUNDS (5) rounds, through
#   trellis-console (--plain --bench-target: the relay path alone, no
#                    token, the same code as a console session's relay),
#   websockify (Debian's),
#   a plain C TCP relay (bench-console relay: a thread per direction),
#   trellis-console --no-splice (the read path: what splice() gains),
# and directly; then the two proxies again over TLS (trellis-console's
# own TLS port, websockify --cert, the same certificate), since the plain
# runs leave out what a browser's real path costs.  Figures: server-to-client MiB/s (BENCH_SECONDS, 1 s per
# run), MiB per CPU second of the proxy process (what a loaded machine's
# CPU share does not skew), and round-trip latency of one-byte pings
# (median of 2000 a path, the paths pinged in turn, one ping each, so
# that all see the same moment's load; added = through a proxy minus
# direct), medians over the rounds with ratios, and the load average;
# then BENCH_SESSIONS (1000) concurrent sessions on one trellis-console
# process at 10 updates/s each: how many stay up, and its RSS per session.
# Prints TAP diagnostics; fails only when it cannot measure.
source "$TRELLIS_SRC/tests/lib/tap.sh"
bench=$TRELLIS_BUILD/tests/bench/bench-console
proxy=$TRELLIS_BUILD/bin/trellis-console
rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECONDS:-1}
nsess=${BENCH_SESSIONS:-1000}
dir=$(mktemp -d /tmp/trellis-bench-console.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
if ! command -v websockify >/dev/null || [[ ! -x $bench || ! -x $proxy ]]; then
	skip "console benchmark" "needs websockify (tools/deps/console.txt), bench-console and trellis-console"
	done_testing
fi
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ps=$(port) pr=$(port) pt=$(port) pw=$(port)
"$bench" source "$ps" 10 & pids+=($!)
"$bench" relay "$pr" "$ps" & pids+=($!)
"$proxy" --plain --listen "127.0.0.1:$pt" --bench-target "127.0.0.1:$ps" \
	--state-dir "$dir" >"$dir/proxy.log" 2>&1 &
pids+=($!)
tpid=$!
# The same without the splice path (what splice() gains).
pn=$(port)
"$proxy" --plain --no-splice --listen "127.0.0.1:$pn" --bench-target "127.0.0.1:$ps" \
	--state-dir "$dir" >"$dir/proxy-nosplice.log" 2>&1 &
pids+=($!)
npid=$!
websockify "127.0.0.1:$pw" "127.0.0.1:$ps" >"$dir/websockify.log" 2>&1 & pids+=($!)
wpid=$!
# TLS: trellis-console makes its certificate; websockify uses the same.
tt=$(port) wt=$(port)
mkdir "$dir/tls"
"$proxy" --listen "127.0.0.1:$tt" --bench-target "127.0.0.1:$ps" \
	--state-dir "$dir/tls" >"$dir/proxy-tls.log" 2>&1 &
pids+=($!)
for i in $(seq 1 50); do [[ -s $dir/tls/key.pem ]] && break; sleep 0.1; done
websockify --cert "$dir/tls/cert.pem" --key "$dir/tls/key.pem" --ssl-only \
	"127.0.0.1:$wt" "127.0.0.1:$ps" >"$dir/websockify-tls.log" 2>&1 &
pids+=($!)
rpid=${pids[1]}
# CPU ticks a process and its reaped children used (websockify forks a
# child per connection): the proxies' cost per MiB, which a loaded
# machine's share of CPU does not skew.
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
up=0
for i in $(seq 1 100); do
	"$bench" tput ws "$pw" 0.05 >/dev/null 2>&1 && "$bench" tput ws "$pt" 0.05 >/dev/null 2>&1 &&
		"$bench" tput raw "$pr" 0.05 >/dev/null 2>&1 &&
		"$bench" tput ws "$pn" 0.05 >/dev/null 2>&1 &&
		"$bench" tput wss "$tt" 0.05 >/dev/null 2>&1 &&
		"$bench" tput wss "$wt" 0.05 >/dev/null 2>&1 && { up=1; break; }
	sleep 0.1
done
is "the source, the relay, trellis-console and websockify run" "$up" 1
((up)) || done_testing
# What the fast paths carry is the source's stream, frame by frame and
# byte by byte, also when a slow reader fills the proxy's socket.
chk=$("$bench" check ws "$pt" 1)
like "the stream through trellis-console is intact, fast and slow reader" "$chk" '^ok '
diag "  $chk"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
: >"$dir/t.trellis"; : >"$dir/t.websockify"; : >"$dir/t.relay"; : >"$dir/t.nosplice"
: >"$dir/e.trellis"; : >"$dir/e.websockify"; : >"$dir/e.relay"; : >"$dir/e.nosplice"
: >"$dir/l.trellis"; : >"$dir/l.websockify"; : >"$dir/l.relay"; : >"$dir/l.direct"
: >"$dir/t.direct"; : >"$dir/t.tls-trellis"; : >"$dir/t.tls-websockify"; : >"$dir/l.tls-trellis"; : >"$dir/l.tls-websockify"
fail=0
for ((r = 0; r < rounds; r++)); do
	# Rotate the order so that none always goes first.
	order=(trellis websockify relay nosplice)
	order=("${order[@]:r%4}" "${order[@]:0:r%4}")
	for w in "${order[@]}"; do
		case $w in
		trellis) k=ws p=$pt pp=$tpid ;;
		nosplice) k=ws p=$pn pp=$npid ;;
		websockify) k=ws p=$pw pp=$wpid ;;
		relay) k=raw p=$pr pp=$rpid ;;
		esac
		c0=$(ticks "$pp")
		v=$("$bench" tput "$k" "$p" "$secs") || fail=1
		sleep 0.2 # websockify's child exits and is reaped
		c1=$(ticks "$pp")
		echo "$v" >>"$dir/t.$w"
		python3 -c "print('%.0f' % ($v * $secs / max(($c1 - $c0) / $hz, 0.01)))" >>"$dir/e.$w"
	done
	v=$("$bench" tput raw "$ps" "$secs") || fail=1
	echo "$v" >>"$dir/t.direct"
	for w in tls-trellis tls-websockify; do
		[[ $w == tls-trellis ]] && p=$tt || p=$wt
		v=$("$bench" tput wss "$p" "$secs") || fail=1
		echo "$v" >>"$dir/t.$w"
	done
	if l=$("$bench" latmix 2000 "ws:$pt" "ws:$pw" "raw:$pr" "raw:$ps" "wss:$tt" "wss:$wt"); then
		w=0
		for f in trellis websockify relay direct tls-trellis tls-websockify; do
			w=$((w + 1))
			sed -n "${w}p" <<<"$l" | cut -d' ' -f1 >>"$dir/l.$f"
		done
	else
		fail=1
	fi
	[[ -n ${BENCH_VERBOSE:-} ]] && diag "round $r: $(paste -d' ' "$dir"/t.* | tail -1)"
done
is "every run measured" "$fail" 0
T=$(med <"$dir/t.trellis") W=$(med <"$dir/t.websockify") R=$(med <"$dir/t.relay")
LT=$(med <"$dir/l.trellis") LW=$(med <"$dir/l.websockify") LR=$(med <"$dir/l.relay") LD=$(med <"$dir/l.direct")
ratio() { python3 -c "print('%.2f' % ($1 / $2) if $2 else 'n/a')"; }
diag "throughput, server to client, median of $rounds x ${secs}s (MiB/s):"
diag "  trellis-console $T   websockify $W   plain C relay $R"
diag "  trellis-console / websockify = $(ratio "$T" "$W")x (target >= 2)"
diag "  trellis-console / plain relay = $(ratio "$T" "$R")x (target >= 0.7)"
ET=$(med <"$dir/e.trellis") EW=$(med <"$dir/e.websockify") ER=$(med <"$dir/e.relay")
diag "cost, MiB relayed per CPU second of the proxy process (median):"
diag "  trellis-console $ET   websockify $EW   plain C relay $ER   (trellis-console --no-splice $(med <"$dir/e.nosplice"), $(med <"$dir/t.nosplice") MiB/s)"
diag "  trellis-console / websockify = $(ratio "$ET" "$EW")x; / plain relay = $(ratio "$ET" "$ER")x"
# On two CPUs the source, the client (each near a core when alone: D
# MiB/s) and the proxy share the machine: MiB/s ~ 2 / (2/D + 1/E) for a
# proxy relaying E MiB per CPU second, and no proxy does better than
# D, i.e. 1 + D / (2 EW) times websockify.
D=$(med <"$dir/t.direct")
diag "the source and the client alone: $D MiB/s"
if [[ $(nproc) == 2 ]]; then
	diag "  on 2 CPUs, MiB/s ~ 2 / (2/$D + 1/cost): trellis-console / websockify predicted $(python3 -c "print('%.2f' % ((2 / $D + 1 / $EW) / (2 / $D + 1 / $ET)))")x; a proxy costing nothing: $(python3 -c "print('%.2f' % (1 + $D / (2 * $EW)))")x at most"
fi
aT=$(python3 -c "print('%.1f' % ($LT - $LD))") aW=$(python3 -c "print('%.1f' % ($LW - $LD))") aR=$(python3 -c "print('%.1f' % ($LR - $LD))")
diag "round trip, median of 2000 one-byte pings (us): direct $LD"
diag "  added: trellis-console $aT   websockify $aW   plain relay $aR"
diag "  trellis-console / websockify added latency = $(ratio "$aT" "$aW")x (target <= 0.5)"
T2=$(med <"$dir/t.tls-trellis") W2=$(med <"$dir/t.tls-websockify")
aT2=$(python3 -c "print('%.1f' % ($(med <"$dir/l.tls-trellis") - $LD))") aW2=$(python3 -c "print('%.1f' % ($(med <"$dir/l.tls-websockify") - $LD))")
diag "over TLS (both on the same certificate): MiB/s trellis-console $T2   websockify $W2: $(ratio "$T2" "$W2")x"
diag "  added round trip (us): trellis-console $aT2   websockify $aW2: $(ratio "$aT2" "$aW2")x"
diag "load average before $load0, after $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# Sessions per process at a fixed update rate (10/s of 1 KiB each).
rss() { awk '/^VmRSS/ {print $2}' "/proc/$tpid/status"; }
r0=$(rss)
"$bench" hold "$pt" "$nsess" 3 >"$dir/hold" &
hp=$!
sleep 3.6
r1=$(rss)
wait $hp
read -r opened live kibs <"$dir/hold"
is "$nsess concurrent sessions open on one trellis-console process" "$opened" "$nsess"
is "...and all of them get their updates" "$live" "$nsess"
diag "sessions: $live of $nsess live at 10 updates/s, $kibs KiB/s in all; RSS $r0 -> $r1 KiB: $(python3 -c "print('%.1f' % (($r1 - $r0) / $nsess))") KiB per session"
done_testing
