#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# Issue 20, several proxy instances on one core (a real guest, trellisd,
# Debian's chromium): a token minted once works on either instance, and
# only once, even when both redeem it at the same moment (cloudstack
# #13422); a drained instance hands its session over and the browser
# resumes it on the other with a resume ticket, no new token; an
# instance that stops tells the browser and the core.  consoleproxy.scan
# with the process launcher: two scanners at once, only one acts; the
# reserve short, an instance is added; too much, one drains and goes;
# trellisd stops: the instance it launched closes its session (the
# browser is told, the end recorded) and stops before trellisd does.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
cs_require
first=$((30000 + ($$ % 500) * 20))
PV_CONFIG="console: {standby: 2, capacity: 2, first_port: $first, max_instances: 4}"
cs_start
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
step() { sed -n "${1}p" <<<"$2"; }
on() { sed "s#^https://127.0.0.1:[0-9]*/#https://127.0.0.1:$1/#" <<<"$2"; }

vm=${PV_PREFIX}px
if cs_guest "$vm"; then
	_tap_report 0 "a guest with a VNC console boots"
else
	_tap_report 1 "a guest with a VNC console boots"
	done_testing
fi
pa=$(cs_port)
pb=$(cs_port)
while [[ $pb == "$pa" ]]; do pb=$(cs_port); done
cs_proxy pa "$pa"
is "instance pa starts" "$?" 0
cs_proxy pb "$pb"
is "instance pb starts" "$?" 0
pid_a=${CS_PIDS[0]} pid_b=${CS_PIDS[1]}

# ---- one token, two instances ----
url=$(tcli vm console "$vm" --url)
out=$(cs_browser "[{\"goto\": \"$(on "$pb" "$url")\"}, {\"wait\": \"connected\"}]")
like "a token minted once works on pb" "$(step 2 "$out")" '"state":"connected"'
out=$(cs_browser "[{\"goto\": \"$(on "$pa" "$url")\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "...and then not on pa: already used" "$(step 2 "$out")" '"message":"refused: console: token already used \(at [0-9]+, by proxy .pb.\)'
url=$(tcli vm console "$vm" --url)
cs_browser "[{\"goto\": \"$(on "$pa" "$url")\"}, {\"wait\": \"connected\", \"ms\": 8000}]" >"$PV_DIR/race-a" &
ra=$!
cs_browser "[{\"goto\": \"$(on "$pb" "$url")\"}, {\"wait\": \"connected\", \"ms\": 8000}]" >"$PV_DIR/race-b" &
rb=$!
wait $ra $rb
won=$(cat "$PV_DIR/race-a" "$PV_DIR/race-b" | grep -c '"state":"connected"')
lost=$(cat "$PV_DIR/race-a" "$PV_DIR/race-b" | grep -c '"state":"refused","message":"refused: console: token already used')
is "the same token on both at once: exactly one session" "$won/$lost" "1/1"

# ---- drain: the session moves to pb, the browser follows ----
url=$(tcli vm console "$vm" --url)
out=$(cs_browser "[{\"goto\": \"$(on "$pa" "$url")\"}, {\"wait\": \"connected\"},
	{\"exec\": \"$TRELLIS_BUILD/bin/trellis -s ipc://$PV_DIR/api.sock console drain pa >/dev/null && echo draining\"},
	{\"waitUrl\": \"^https://127.0.0.1:$pb/vnc\", \"ms\": 15000}, {\"wait\": \"connected\"},
	{\"eval\": \"window.trellis.kind\"}, {\"sleep\": 1000}]")
like "a session on pa" "$(step 2 "$out")" '"state":"connected"'
like "pa drains: the browser moves to pb" "$(step 4 "$out")" "\"url\":\"https://127.0.0.1:$pb/vnc\?vm=$CS_UUID\""
like "...and is connected there" "$(step 5 "$out")" '"state":"connected"'
is "...with a resume ticket, not a new token" "$(step 6 "$out")" '{"value":"resume"}'
s=$(tcli -o json console sessions --limit 3)
is "the store: pa's session was handed over by the drain" "$(json '[(x["proxy"], x["state"], x["closed_by"]) for x in j["items"] if x["proxy"] == "pa"][0]' <<<"$s")" "('pa', 'handed-over', 'drain')"
is "...and pb's session resumed it" "$(json '[x["resumed_from"] == [y["id"] for y in j["items"] if y["proxy"] == "pa"][0] for x in j["items"] if x["proxy"] == "pb"][0]' <<<"$s")" "True"
gone=0
for i in $(seq 1 50); do kill -0 "$pid_a" 2>/dev/null || { gone=1; break; }; sleep 0.2; done
is "pa, drained, exits by itself" "$gone" "1"
like "...and leaves the list" "$(tcli console proxies)" "^NAME.*"$'\n'"pb "

# ---- an instance that stops tells the browser and the core ----
url=$(tcli vm console "$vm" --url)
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"exec\": \"kill -TERM $pid_b; echo sent\"},
	{\"wait\": \"closed\", \"ms\": 10000}]")
like "pb stops while a console is open: the browser is told" "$(step 4 "$out")" '"state":"closed","message":"the console proxy stops"'
wait "$pid_b" 2>/dev/null
sleep 0.5
is "...the core records it" "$(tcli -o json console sessions --limit 1 | json 'j["items"][0]["state"] + " " + j["items"][0]["closed_by"]')" "closed proxy"
is "...and no instance is left" "$(tcli -o json console proxies | json 'len(j["items"])')" "0"
CS_PIDS=()

# ---- the scan ----
tcli -o json console scan --scanner ms1 >"$PV_DIR/scan1" 2>&1 &
s1=$!
tcli -o json console scan --scanner ms2 >"$PV_DIR/scan2" 2>&1 &
s2=$!
wait $s1 $s2
acted=$(cat "$PV_DIR/scan1" "$PV_DIR/scan2" | grep -c '"acted": true')
held=$(cat "$PV_DIR/scan1" "$PV_DIR/scan2" | grep -c '"lease_holder": "ms[12]"')
is "two scanners at once: one acts, the other finds the lease held" "$acted/$held" "1/1"
w=$(grep -l '"acted": true' "$PV_DIR/scan1" "$PV_DIR/scan2" | sed 's/.*scan//')
w=ms$w
added=$(python3 -c "import json,sys; print(' '.join(n for f in sys.argv[1:] for n in json.load(open(f)).get('added', [])))" "$PV_DIR/scan1" "$PV_DIR/scan2")
like "the reserve is short (0 of 2): the scan starts an instance" "$added" "^cp-[0-9]+$"
up=0
for i in $(seq 1 50); do
	tcli -o json console proxies | grep -q '"state": "active"' && { up=1; break; }
	sleep 0.2
done
is "...which runs and reports" "$up" "1"
out=$(tcli -o json console scan --scanner "$w")
is "with 2 free sessions the next scan does nothing" "$(json 'len(j["added"]) + len(j["draining"])' <<<"$out")" "0"
url=$(tcli vm console "$vm" --url)
like "console.open assigns the launched instance" "$url" "^https://127.0.0.1:${added#cp-}/"
cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 6000}]" >"$PV_DIR/held" &
br=$!
for i in $(seq 1 50); do
	[[ $(tcli -o json console sessions --state open | json 'len(j["items"])') == 1 ]] && break
	sleep 0.2
done
out=$(tcli -o json console scan --scanner "$w")
added2=$(json '" ".join(j["added"])' <<<"$out")
like "one session on it (1 of 2 free): the scan adds another" "$added2" "^cp-[0-9]+$"
wait $br
like "...while the browser was connected" "$(step 2 "$(cat "$PV_DIR/held")")" '"state":"connected"'
sleep 2
for i in $(seq 1 30); do
	[[ $(tcli -o json console proxies | json 'sum(1 for p in j["items"] if p["state"] == "active" and p["sessions"] == 0)') == 2 ]] && break
	sleep 0.3
done
out=$(tcli -o json console scan --scanner "$w")
dr=$(json '" ".join(j["draining"])' <<<"$out")
like "the session ended (4 free, 2 wanted): one instance drains" "$dr" "^cp-[0-9]+$"
sleep 1.5
out=$(tcli -o json console scan --scanner "$w")
is "...and the next scan removes it" "$(json '" ".join(j["removed"])' <<<"$out")" "$dr"
pid=$(ss -Htlnp "( sport = :${dr#cp-} )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1)
gone=0
for i in $(seq 1 50); do
	ss -Htln "( sport = :${dr#cp-} )" | grep -q . || { gone=1; break; }
	sleep 0.2
done
is "...its process is gone" "$gone" "1"
is "one instance is left" "$(tcli -o json console proxies | json 'len(j["items"])')" "1"

# ---- trellisd stops: the instances it launched stop first ----
left=$(tcli -o json console proxies | json 'j["items"][0]["name"] + " " + str(j["items"][0]["pid"])')
lname=${left% *} lpid=${left#* }
url=$(tcli vm console "$vm" --url)
like "console.open assigns the launched instance that is left" "$url" "^https://127.0.0.1:${lname#cp-}/"
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"exec\": \"kill -TERM $PV_PID; echo sent\"},
	{\"wait\": \"closed\", \"ms\": 15000}]")
like "trellisd stops while a console is open on it: the browser is told" "$(step 4 "$out")" '"state":"closed","message":"the console proxy stops"'
wait "$PV_PID"
is "trellisd stops cleanly" "$?" 0
alive=1
kill -0 "$lpid" 2>/dev/null || alive=0
is "...and the instance it launched did not outlive it" "$alive" 0
ss -Htln "( sport = :${lname#cp-} )" | grep -q . && listening=1 || listening=0
is "...nothing listens on its port" "$listening" 0
like "...the log says the instance stopped before the daemon did" "$(grep -o "instance '$lname' (pid $lpid) closes its sessions and stops\|the instances trellisd started have stopped\|finishing [0-9]* requests in flight" "$PV_DIR/daemon.log" | tr '\n' '|')" "closes its sessions and stops\|the instances trellisd started have stopped\|finishing"
cs_daemon_again
is "trellisd starts again on the same state" "$?" 0
is "...the session's end was recorded while trellisd stopped" "$(tcli -o json console sessions --limit 1 | json 'j["items"][0]["state"] + " " + j["items"][0]["closed_by"] + " " + j["items"][0]["proxy"]')" "closed proxy $lname"
is "...and no instance is listed" "$(tcli -o json console proxies | json 'len(j["items"])')" "0"
done_testing
