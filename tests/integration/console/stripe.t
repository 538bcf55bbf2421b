#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Issue 20, image-stripe mode (plain HTTPS long-polling, no WebSocket): a
# real guest, trellisd, one trellis-console and Debian's chromium.  The
# page's canvas, drawn from PNG stripes, equals `virsh screenshot`; text
# typed in it reaches the guest (its serial log); two viewers of the VM
# share one VNC connection; a reused token is refused; the session's end
# is recorded; a page that stops polling between two polls (a tab closed
# while it drew) ends its session within seconds.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
cs_require
cs_start
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
step() { sed -n "${1}p" <<<"$2"; }

vm=${PV_PREFIX}st
if cs_guest "$vm"; then
	_tap_report 0 "a guest with a VNC console boots"
else
	_tap_report 1 "a guest with a VNC console boots"
	done_testing
fi
p1=$(cs_port)
cs_proxy cs1 "$p1"
is "trellis-console starts" "$?" 0
url=$(tcli vm console "$vm" --url --mode stripe)
like "trellis vm console --mode stripe: the stripe page's URL" "$url" "^https://127.0.0.1:$p1/stripe\?vm=$CS_UUID&token="
vport=$(cs_vnc_port "$vm")
shot=$PV_DIR/shot.ppm
word=stripe$$x$RANDOM
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 2500},
	{\"exec\": \"virsh -c qemu:///system screenshot $vm $shot >/dev/null && echo shot\"},
	{\"compare\": \"$shot\"}, {\"type\": \"$word\\n\"}, {\"sleep\": 2000},
	{\"eval\": \"typeof WebSocket === 'function' && performance.getEntriesByType('resource').filter(e => e.name.startsWith('ws')).length\"}]")
like "the browser shows the console from stripes" "$(step 2 "$out")" '"state":"connected"'
cmp=$(step 5 "$out")
diag "$cmp"
ok "the canvas is the guest's screen size" python3 -c "import json; c=json.loads('$cmp')['compare']; assert c['canvas'] == c['screenshot'], c"
ok "...and equals virsh screenshot within 0.5% of pixels" python3 -c "import json; c=json.loads('$cmp')['compare']; assert c['differing'] <= c['pixels'] * 0.005 and c['lit'] > 500, c"
ok "the text typed there reaches the guest (serial log)" grep -q "tty1: $word" "$CS_LOG"
is "no WebSocket was used" "$(step 8 "$out")" '{"value":0}'
# The page went without a word (a closed tab): its dropped poll says so.
for i in $(seq 1 50); do
	s=$(tcli -o json console sessions --limit 1)
	[[ $s == *'"state": "closed"'* ]] && break
	sleep 0.2
done
is "the session is recorded, mode stripe" "$(json 'j["items"][0]["mode"] + " " + j["items"][0]["proxy"]' <<<"$s")" "stripe cs1"
is "...and its end, by the browser" "$(json 'j["items"][0]["state"] + " " + j["items"][0]["closed_by"]' <<<"$s")" "closed browser"
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "the same token again: refused" "$(step 2 "$out")" '"state":"refused","message":"refused: console: token already used'

# Two viewers of the VM in this mode: one upstream VNC connection.
u1=$(tcli vm console "$vm" --url --mode stripe)
u2=$(tcli vm console "$vm" --url --mode stripe)
cs_browser "[{\"goto\": \"$u1\"}, {\"wait\": \"connected\"}, {\"sleep\": 7000}]" >"$PV_DIR/v1" &
b1=$!
sleep 1
out=$(cs_browser "[{\"goto\": \"$u2\"}, {\"wait\": \"connected\"}, {\"sleep\": 1000},
	{\"exec\": \"ss -Htn state established '( dport = :$vport )' | wc -l\"}]")
wait $b1
like "two viewers at once both see the console" "$(step 2 "$(cat "$PV_DIR/v1")")$(step 2 "$out")" '"state":"connected".*"state":"connected"'
is "...through one VNC connection" "$(step 4 "$out")" '{"exec":"1"}'

# A page that stops polling between two polls, without a word (a tab
# closed while it drew the last answer's stripes: no poll waits, none
# drops): its session ends within seconds, not after the idle timeout.
u3=$(tcli vm console "$vm" --url --mode stripe)
cs_browser "[{\"goto\": \"$u3\"}, {\"wait\": \"connected\"},
	{\"eval\": \"window.fetch = () => new Promise(() => {}); 'stubbed'\"}, {\"sleep\": 12000}]" >"$PV_DIR/v3" &
b3=$!
for i in $(seq 1 150); do grep -qs stubbed "$PV_DIR/v3" && break; sleep 0.1; done
# A key from the host changes the screen: the waiting poll is answered,
# and no other comes.
virsh -c qemu:///system send-key "$vm" KEY_A >/dev/null
t0=$SECONDS
st=
for i in $(seq 1 50); do
	st=$(tcli -o json console sessions --limit 1 | json 'j["items"][0]["state"] + " " + (j["items"][0]["closed_by"] or "")')
	[[ $st == closed* ]] && break
	sleep 0.2
done
alive=0
kill -0 "$b3" 2>/dev/null && alive=1
is "a page that stops polling between two polls: its session ends, by the browser" "$st" "closed browser"
is "...while the page is still open, within 10 s ($((SECONDS - t0)) s)" "$alive" 1
wait "$b3"
done_testing
