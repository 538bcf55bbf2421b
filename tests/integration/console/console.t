#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# Issue 20 end to end: a real guest with a VNC console, trellisd, one
# trellis-console instance and Debian's chromium.  A BU user's `trellis vm
# console` mints a single-use token and prints the URL; the browser opens
# it; the noVNC canvas equals `virsh screenshot` of the guest; text typed
# in the browser reaches the guest (its serial log); the session and its
# end are recorded.  A reused token, an expired one, one for another VM
# and one of a user who lost access are refused in the browser, audited,
# and the VNC port sees no connection (an nftables SYN counter).  TLS
# only: the page and the WebSocket share the port; plain HTTP is
# refused.  When the VNC server goes, the browser is told.  The VNC
# password and the tokens are in no log.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
cs_require
# Sessions' VNC passwords expire after 3 s here: an open session outlives
# its password.
PV_CONFIG="console: {password_ttl: 3s}"
U=trcs$$
useradd -M -N -s /usr/sbin/nologin "$U" || { echo "1..0 # SKIP useradd failed"; exit 0; }
cs_start
chmod 0666 "$PV_DIR/api.sock"   # the BU user reaches the socket too
trap 'userdel "$U" >/dev/null 2>&1; cs_cleanup' EXIT
as() { setpriv --reuid="$(id -u "$U")" --regid="$(id -g "$U")" --clear-groups -- "$TRELLIS_BUILD/bin/trellis" -s "ipc://$PV_DIR/api.sock" --timeout 20000 "$@" 2>&1; }
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
step() { sed -n "${1}p" <<<"$2"; }

tcli bu create cbu >/dev/null
ok "a BU user with a Unix uid" tcli user create cuser --role bu-user --bu cbu --uid "$(id -u "$U")"
vm=${PV_PREFIX}con
if cs_guest "$vm" bu=cbu; then
	_tap_report 0 "a guest of that BU with a VNC console boots"
else
	_tap_report 1 "a guest of that BU with a VNC console boots"
	done_testing
fi
p1=$(cs_port)
cs_proxy cp1 "$p1"
is "trellis-console starts and reports" "$?" 0
like "...printing its certificate's fingerprint" "$(cat "$PV_DIR/cp-cp1/log")" \
	"SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}"
fp=$(openssl x509 -in "$PV_DIR/cp-cp1/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
like "...of the self-signed certificate it made" "$(cat "$PV_DIR/cp-cp1/log")" "$fp"
is "...whose key only it reads (0600)" "$(stat -c %a "$PV_DIR/cp-cp1/key.pem")" "600"
like "the proxy is listed with its load" "$(tcli console proxies)" "cp1 +https://127.0.0.1:$p1 +active +0 +50"

# ---- TLS only, one port ----
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$p1/vnc")
is "the page is served over TLS" "$code" "200"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$p1/novnc/core/rfb.js")
is "...and noVNC's files, on the same port" "$code" "200"
out=$(curl -s -m 5 "http://127.0.0.1:$p1/vnc" 2>&1; echo "rc=$?")
like "plain HTTP to that port gets no page" "$out" "rc=(52|56|35|1)$"
nok "...not even a status line" grep -q "HTTP/1" <<<"$out"

# ---- a token for a VM the user may see ----
out=$(as vm console "$vm" --url)
like "the BU user's trellis vm console --url prints the console URL" "$out" "^https://127.0.0.1:$p1/vnc\?vm=$CS_UUID&token=[A-Za-z0-9_-]{43}$"
url=$out
vport=$(cs_vnc_port "$vm")
ok "count SYNs to the VM's VNC port ($vport)" cs_count_syns "$vport"
shot=$PV_DIR/shot.ppm
word=typed$$x$RANDOM
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 2500},
	{\"exec\": \"virsh -c qemu:///system screenshot $vm $shot >/dev/null && echo shot\"},
	{\"compare\": \"$shot\"}, {\"type\": \"$word\\n\"}, {\"sleep\": 1500},
	{\"exec\": \"ss -Htn state established '( dport = :$vport )' | wc -l\"}, {\"sleep\": 300}]")
like "the browser connects through the proxy" "$(step 2 "$out")" '"state":"connected"'
nok "...and the token is gone from its address bar" grep -q token= <<<"$(step 2 "$out")"
cmp=$(step 5 "$out")
diag "$cmp"; diag "$(step 6 "$out") $(step 8 "$out")"
is "virsh screenshot taken meanwhile" "$(step 4 "$out")" '{"exec":"shot"}'
ok "the noVNC canvas is the guest's screen size" python3 -c "import json; c=json.loads('$cmp')['compare']; assert c['canvas'] == c['screenshot'], c"
ok "...and equals virsh screenshot within 0.5% of pixels" python3 -c "import json; c=json.loads('$cmp')['compare']; assert c['differing'] <= c['pixels'] * 0.005 and c['lit'] > 500, c"
ok "the text typed in the browser reaches the guest (serial log)" grep -q "tty1: $word" "$CS_LOG"
is "while open, the proxy holds one connection to the VNC port" "$(step 8 "$out")" '{"exec":"1"}'
is "one connection was made (SYN counter)" "$(cs_syns)" "1"
sleep 1.5
s=$(tcli -o json console sessions --limit 1)
is "the session is recorded: the user, the VM, the proxy" "$(json '" ".join(str(j["items"][0][k]) for k in ("user","vm","proxy","mode"))' <<<"$s")" "cuser $vm cp1 ws"
is "...and its end, by the browser, when the page went" "$(json 'j["items"][0]["state"] + " " + j["items"][0]["closed_by"]' <<<"$s")" "closed browser"
is "the user sees it in their BU's sessions" "$(as -o json console sessions | json 'len(j["items"])')" "1"

# ---- refusals, each before the proxy touches the VNC port ----
syn0=$(cs_syns)
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "the same URL again: refused in the browser (single use)" "$(step 2 "$out")" '"state":"refused","message":"refused: console: token already used'
exp=$(as vm console "$vm" --url --ttl 1s)
sleep 2.2
out=$(cs_browser "[{\"goto\": \"$exp\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "an expired token (--ttl 1s): refused" "$(step 2 "$out")" '"message":"refused: console: token expired'
t=$(as vm console "$vm" --url)
foreign=${t/vm=$CS_UUID/vm=00000000-0000-4000-8000-000000000001}
out=$(cs_browser "[{\"goto\": \"$foreign\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "a token for another VM: refused" "$(step 2 "$out")" '"message":"refused: console: the token is for another VM'
lost=$(as vm console "$vm" --url)
ok "the user is deleted (loses access)" tcli user delete cuser
out=$(cs_browser "[{\"goto\": \"$lost\"}, {\"wait\": \"refused\", \"ms\": 10000}]")
like "the token of a user who lost access: refused" "$(step 2 "$out")" "\"message\":\"refused: console: user 'cuser' no longer exists"
is "the VNC port saw no connection for any of them" "$(cs_syns)" "$syn0"
out=$(tcli vm console "$vm" --ttl 11m 2>&1)
like "a token lives at most 10 minutes" "$out" "INVALID_ARG: console.open: ttl must be 1s to 300s|INVALID_ARG: console.open: ttl must be 1s to 600s"
out=$(tcli -o json audit list --op 'console.redeem' --limit 50)
is "the four refusals are audited under the token's user" "$(json 'sum(1 for a in j["items"] if a["result"] == "denied" and a["user"] == "cuser" and a["object"] == "vm:'"$vm"'")' <<<"$out")" "4"
out=$(tcli -o json audit list --op 'console.redeem' --limit 50)

# ---- VNC passwords: one-time, expiring; an open session outlives its own ----
vcheck() { "$CS_BIN" --vnc-check "127.0.0.1:$vport" <<<"$1" 2>&1; }
pw=$(tcli -o json vm vnc "$vm" --ttl 3s | json 'j["password"]')
is "a one-time VNC password (trellis vm vnc --ttl 3s) opens the VNC server" "$(vcheck "$pw")" "ok"
sleep 5 # QEMU counts whole seconds: valid until the second after
like "...and once expired, a new connection with it fails" "$(vcheck "$pw")" "^refused: the VNC server refused"
pw=$(tcli -o json vm vnc "$vm" --ttl 60s | json 'j["password"]')
url=$(tcli vm console "$vm" --url)
word2=later$$x$RANDOM
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 5500},
	{\"type\": \"$word2\\n\"}, {\"sleep\": 1500}, {\"eval\": \"window.trellis.state\"}]")
is "a session still open after its password expired (3 s)" "$(step 6 "$out")" '{"value":"connected"}'
ok "...still carries typed text to the guest" grep -q "tty1: $word2" "$CS_LOG"
like "the session's fresh password replaced the one before" "$(vcheck "$pw")" "^refused: the VNC server refused"

# ---- a plain instance (--plain, on loopback: the splice path) ----
pp=$(cs_port)
cs_proxy cpp "$pp" --plain
is "a --plain instance on loopback starts" "$?" 0
url=$(tcli vm console "$vm" --url)
word3=plain$$x$RANDOM
out=$(cs_browser "[{\"goto\": \"$(sed "s#^https://127.0.0.1:[0-9]*/#http://127.0.0.1:$pp/#" <<<"$url")\"}, {\"wait\": \"connected\"}, {\"sleep\": 2500},
	{\"exec\": \"virsh -c qemu:///system screenshot $vm $shot >/dev/null && echo shot\"},
	{\"compare\": \"$shot\"}, {\"type\": \"$word3\\n\"}, {\"sleep\": 1500}]")
like "the browser connects through it (plain WebSocket)" "$(step 2 "$out")" '"state":"connected"'
cmp=$(step 5 "$out")
ok "...its canvas equals virsh screenshot within 0.5% of pixels" python3 -c "import json; c=json.loads('$cmp')['compare']; assert c['canvas'] == c['screenshot'] and c['differing'] <= c['pixels'] * 0.005 and c['lit'] > 500, c"
ok "...and typed text reaches the guest" grep -q "tty1: $word3" "$CS_LOG"
kill -TERM "${CS_PIDS[-1]}"
wait "${CS_PIDS[-1]}" 2>/dev/null

# ---- the end from the VNC side is signalled ----
url=$(tcli vm console "$vm" --url)
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 500},
	{\"exec\": \"virsh -c qemu:///system destroy $vm >/dev/null && echo gone\"},
	{\"wait\": \"closed\", \"ms\": 10000}]")
like "the VM goes while its console is open: the browser is told" "$(step 5 "$out")" '"state":"closed","message":"the VNC server ended the session"'
[[ $(step 5 "$out") == *closed* ]] || diag "$out"
sleep 1
s=$(tcli -o json console sessions --limit 1)
is "...and the core records the end, by the VNC side" "$(json 'j["items"][0]["state"] + " " + j["items"][0]["closed_by"]' <<<"$s")" "closed vnc"

# ---- no secret in any log ----
leak=0
for tok in "${url##*token=}" "${exp##*token=}" "${lost##*token=}"; do
	grep -rqF -- "$tok" "$PV_DIR/daemon.log" "$PV_DIR"/cp-*/log "$PV_DIR/state" 2>/dev/null && leak=1
done
is "no token is in the daemon's or the proxy's log, or the store" "$leak" "0"
done_testing
