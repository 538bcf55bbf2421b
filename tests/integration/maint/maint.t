#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# Maintenance mode end to end (issue 22): a real appliance guest
# (tests/guest/build.sh appliance: dropbear, qemu-guest-agent, root
# locked, busybox httpd on 443) provisioned by a real trellisd on
# qemu:///system with a bridge-plugin NIC, a real trellis-escrowd (behind
# a relay that records the link), a support engineer with an API key, and
# real ssh (dbclient) from a network namespace on the VM's segment.
#   - before: 443 answers, 22 is closed, root is locked for every password;
#   - enable prints an access code; a dc-admin cannot fetch; a wrong code
#     is refused and audited; the engineer fetches the password once and
#     logs in; a second connection during the session is refused; logoff
#     locks again: port closed, old password invalid, escrow entry gone;
#   - neither the code nor the password is in the daemon log, the store,
#     the events, the audit, the workflow logs, or the escrow capture;
#   - the escrow serves engineers only: the customer holding the code and
#     asking the escrow directly is refused, so is a revoked engineer and
#     a replay of the engineer's signed request taken from the capture;
#   - the close modes (time: the window ends, the port open until then
#     with a session going on past it; connect; first-attempt), a
#     password lifetime shorter than the window, a daemon killed during a
#     window and restarted after it, escrow down, and the escrow's
#     rate limit after wrong codes.
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/provision/lib.sh"
lv_require
for t in dbclient nanocat sqlite3 setpriv curl; do
	command -v $t >/dev/null || {
		echo "1..0 # SKIP $t is not installed"
		exit 0
	}
done
here=$(cd "$(dirname "$0")" && pwd)
S=$$
ns=tr22n$S
vhost=tr22h$S
vpeer=tr22p$S
p_esc=$((21000 + S % 9000))
p_cap=$((p_esc + 1))
p_api=$((p_esc + 2))
p_http=$((p_esc + 3))
HURL=http://127.0.0.1:$p_http
ESC=$(mktemp -d /tmp/trellis-escrow.XXXXXX)
ESC_PID= CAP_PID= SUB_PID=
escrow_up() {
	"$TRELLIS_BUILD/bin/trellis-escrowd" --state "$ESC" --listen "tcp://127.0.0.1:$p_esc" \
		2>>"$ESC/escrowd.log" &
	ESC_PID=$!
	sleep 0.3
}
cleanup22() {
	[[ -n $SUB_PID ]] && kill "$SUB_PID" 2>/dev/null
	[[ -n $CAP_PID ]] && kill "$CAP_PID" 2>/dev/null
	[[ -n $ESC_PID ]] && kill "$ESC_PID" 2>/dev/null
	ip netns del $ns 2>/dev/null
	ip link del $vhost 2>/dev/null
	pv_cleanup
	rm -rf "$ESC"
}
pubkey=$("$TRELLIS_BUILD/bin/trellis-escrowd" --state "$ESC" --public-key)
escrow_up
python3 "$here/tcpcap.py" $p_cap $p_esc "$ESC/capture.bin" 2>/dev/null &
CAP_PID=$!
PV_API_TCP=tcp://127.0.0.1:$p_api
PV_CONFIG="escrow: {endpoint: \"tcp://127.0.0.1:$p_cap\", public_key: \"$pubkey\"}
http: {listen: \"127.0.0.1:$p_http\", timeout: 120s}"
pv_start
trap cleanup22 EXIT
nanocat --sub --connect "ipc://$PV_DIR/events.sock" -A >"$PV_DIR/events.txt" 2>/dev/null &
SUB_PID=$!

if g=$("$TRELLIS_SRC/tests/guest/build.sh" appliance 2>"$PV_DIR/guest.log"); then
	eval "$g"
	_tap_report 0 "appliance guest built"
else
	_tap_report 1 "appliance guest built"
	sed 's/^/#   /' "$PV_DIR/guest.log" | tail -20
	done_testing
fi
net=10.$((100 + S % 50)).$((S % 250)).
ip=${net}2
name=${PV_PREFIX}app
log=$PV_DIR/$name.serial.log
# A segment of this run's own: "default" may exist on this host already,
# made by another test's trellisd.
seg=tr22s$S
ok "a network of this run's own" tcli network create $seg --pool pvvx
pv_run vm.provision "name=$name" "kernel=$kernel" "initrd=$initrd" memory_mb=256 segment=$seg \
	"cmdline=console=ttyS0 quiet ip=$ip::${net}1:24::eth0:off" "serial_log=$log"
is "vm.provision starts the appliance" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" succeeded
uuid=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT" 2>/dev/null)
[[ -n $uuid ]] && pv_track "$name"
up=0
for ((i = 0; i < 900; i++)); do
	grep -q TRELLIS-APPLIANCE-UP "$log" 2>/dev/null && up=1 && break
	sleep 0.2
done
is "the appliance is up (marker)" "$up" 1
((up)) || {
	tail -20 "$log" | sed 's/^/#   /'
	done_testing
}

# The engineer's end: a namespace on the VM's segment (a veth into its
# bridge; the bridge filters what reaches the VM's port).
tap=$(virsh -c qemu:///system domiflist "$name" | awk '/tr-/ {print $1; exit}')
br=$(basename "$(readlink "/sys/class/net/$tap/master")")
ip netns add $ns
ip link add $vhost type veth peer name $vpeer
ip link set $vhost master "$br" up
ip link set $vpeer netns $ns
ip -n $ns addr add ${net}1/24 dev $vpeer
ip -n $ns link set $vpeer up
ip -n $ns link set lo up
DRV=$TRELLIS_BUILD/tests/bin-tools/netdrv
port=$name-nic0
# The customer's service port is open, as it always is.
like "the service port 443 is open to the segment" \
	"$("$DRV" local rule-add "$port" tcp ports=443 2>&1)" "^rule=r"

tcp_open() { ip netns exec $ns timeout "${2:-3}" bash -c "exec 3<>/dev/tcp/$ip/$1" 2>/dev/null; }
# ssh_as_root PASSWORD COMMAND...: dbclient from the namespace, the
# password from DROPBEAR_PASSWORD (never a terminal), bounded by timeout.
ssh_as_root() {
	local pw=$1
	shift
	ip netns exec $ns env DROPBEAR_PASSWORD="$pw" HOME=$PV_DIR timeout "${SSH_TMO:-20}" \
		dbclient -y -y -T root@$ip "$@" </dev/null 2>&1
}
# The engineer over tcp:// (an encrypted link: the core's public key),
# with the engineer's own key enrolled at the escrow.
eng() {
	TRELLIS_CORE_KEY=$(cut -d' ' -f1 "$PV_DIR/state/link.key" 2>/dev/null) \
		TRELLIS_ENGINEER_KEY=${ENG_FILE:-$PV_DIR/alice.key} \
		TRELLIS_API_KEY=$ENG_KEY tcli --socket "$PV_API_TCP" "$@"
}
# The escrow's hash of a code (anyone can make it: the code is the secret).
code_hash() {
	python3 -c 'import hashlib,sys
c=sys.argv[1].replace("-","").replace(" ","").upper().encode()
print(hashlib.blake2b(c,key=b"trellis-escrow-v1",digest_size=32).hexdigest())' "$1"
}
# Straight to the escrow (not through trellisd): REQUEST JSON -> answer.
escrow_direct() { timeout 10 nanocat --req --connect "tcp://127.0.0.1:$p_esc" --data "$1" -A 2>&1; }
# The signed fetch request of code hash $1 as the capture of the link holds it.
captured_fetch() {
	python3 -c 'import json,re,sys
b=open(sys.argv[1],"rb").read().decode("latin-1")
for m in re.finditer(r"\{\"op\":\"fetch\"",b):
    try:
        j,_=json.JSONDecoder().raw_decode(b,m.start())
    except ValueError:
        continue
    if j.get("code_hash")==sys.argv[2] and j.get("proof"):
        print(json.dumps(j,separators=(",",":")))' "$ESC/capture.bin" "$1" | tail -1
}
status() { tcli -o json maint status "$name" | jq_ "j[\"$1\"]"; }
wait_field() { # FIELD VALUE SECONDS: until maint status says so
	local i
	for ((i = 0; i < $3 * 2; i++)); do
		[[ $(status "$1" 2>/dev/null) == "$2" ]] && return 0
		sleep 0.5
	done
	return 1
}
wait_state() { wait_field state "$1" "$2"; }
audited() { tcli -o json audit list --op "maint:$1" --all | jq_ 'len(j["items"])'; }
# Over the REST paths: KEY ARGS... -> the body, then the HTTP status.
hc() {
	curl -s -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--max-time 300 -w ' %{http_code}' "${@:2}"
}
EC=$TRELLIS_BUILD/tests/bin-tools/escrow-client

http_get() {
	ip netns exec $ns timeout 5 bash -c "exec 3<>/dev/tcp/$ip/443 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>&1
}
like "443 answers (busybox httpd)" "$(http_get)" "trellis appliance"
nok "22 is closed before maintenance" tcp_open 22
rid=$("$DRV" local rule-add "$port" tcp ports=22 ttl=120 2>&1 | sed -n 's/^rule=//p')
ok "(22 opened by hand, to try root)" tcp_open 22 10
fails=0
for pw in "" root toor trellis admin; do
	ssh_as_root "$pw" echo yes | grep -q '^yes' || fails=$((fails + 1))
done
is "a fresh appliance: root login fails for every password tried" "$fails" 5
"$DRV" local rule-delete "$rid" >/dev/null 2>&1

# ---- the support engineer ----
ok "a data-center operator, for the REST paths" tcli user create opsadm --role dc-admin
OPS_KEY=$(tcli -o json user key add opsadm k | jq_ 'j["token"]')
ok "a support engineer" tcli user create eng --role support
ENG_KEY=$(tcli -o json user key add eng laptop | jq_ 'j["token"]')
like "...with an API key" "$ENG_KEY" "^tru_"
kg=$(tcli -o json support keygen --out "$PV_DIR/alice.key")
like "...and an engineer key of their own (support keygen)" "$(jq_ 'j["public_key"]' <<<"$kg")" '^[A-Za-z0-9+/]{43}=$'
like "the vendor enrols it at the escrow" \
	"$("$TRELLIS_BUILD/bin/trellis-escrowd" --state "$ESC" engineer add alice --key-file "$PV_DIR/alice.key.pub" 2>&1)" enrolled
tcli support keygen --out "$PV_DIR/bob.key" >/dev/null
"$TRELLIS_BUILD/bin/trellis-escrowd" --state "$ESC" engineer add bob --key-file "$PV_DIR/bob.key.pub" >/dev/null 2>&1
like "another engineer, enrolled and revoked" \
	"$("$TRELLIS_BUILD/bin/trellis-escrowd" --state "$ESC" engineer revoke bob 2>&1)" revoked

# ---- enable, fetch, log in, log off ----
out=$(tcli -o json maint enable "$name" --window 120s --close-on auth 2>&1)
code1=$(jq_ 'j["code"]' <<<"$out" 2>/dev/null)
like "maint enable prints an access code" "$code1" '^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$'
[[ -n $code1 ]] || diag "$out"
is "...and the window is open" "$(jq_ 'j["state"]' <<<"$out" 2>/dev/null)" open
like "root cannot fetch (only support may)" "$(tcli support fetch "$code1" 2>&1)" PERMISSION
like "a wrong code is refused" "$(eng support fetch ABCD-EFGH-JKMN-PQRS-TVWX 2>&1)" NOTFOUND
h1=$(code_hash "$code1")
rk=$(head -c 32 /dev/urandom | base64)
like "the customer with the code, asking the escrow directly: refused" \
	"$(escrow_direct "{\"op\":\"fetch\",\"code_hash\":\"$h1\",\"reply_key\":\"$rk\",\"who\":\"customer\"}")" \
	'"error":"PERMISSION".*not signed by a support engineer'
like "...audited by the escrow, on that very entry" "$(cat "$ESC/escrow-audit.log")" \
	"\"event\":\"FETCH_UNSIGNED\",\"entry\":\"${h1:0:12}\",\"who\":\"customer\""
like "the support role without an engineer key: refused" \
	"$(ENG_FILE=$PV_DIR/none.key eng support fetch "$code1" 2>&1)" "No such file"
like "a revoked engineer is refused" "$(ENG_FILE=$PV_DIR/bob.key eng support fetch "$code1" 2>&1)" \
	"PERMISSION: escrow: engineer 'bob' is revoked"
like "...audited by the escrow with the engineer" "$(cat "$ESC/escrow-audit.log")" \
	"\"event\":\"FETCH_REVOKED\",\"entry\":\"${h1:0:12}\",\"who\":\"eng\",\"engineer\":\"bob\""
is "none of them took the entry" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 1
f1=$(echo "$code1" | eng -o json support fetch -)
pw1=$(jq_ 'j["password"]' <<<"$f1")
like "the engineer fetches the password with the code" "$pw1" '^[A-Za-z0-9]{24}$'
is "...as the engineer the escrow enrolled" "$(jq_ 'j["engineer"]' <<<"$f1")" alice
like "...audited by the escrow with the engineer" "$(cat "$ESC/escrow-audit.log")" \
	"\"event\":\"FETCH\",\"entry\":\"${h1:0:12}\",\"who\":\"eng\",\"engineer\":\"alice\""
like "...once" "$(eng support fetch "$code1" 2>&1)" NOTFOUND
signed=$(captured_fetch "$h1")
like "the capture of the link holds the engineer's signed request" "$signed" '"proof":\{"engineer_key"'
like "...which, replayed to the escrow, is refused" "$(escrow_direct "$signed")" '"error":"PERMISSION".*a replay'
like "...and audited as a replay" "$(cat "$ESC/escrow-audit.log")" \
	"\"event\":\"FETCH_REPLAY\",\"entry\":\"${h1:0:12}\""
ok "the port is open in the window" tcp_open 22 10
ssh_as_root "$pw1" "echo in-$S; sleep 8" >"$PV_DIR/ssh1.out" &
sshpid=$!
in=0
for ((i = 0; i < 30; i++)); do
	grep -qs "in-$S" "$PV_DIR/ssh1.out" && in=1 && break
	sleep 0.5
done
is "ssh as root with the fetched password works" "$in" 1
sleep 3
is "the state is session" "$(status state)" session
nok "a second connection during the session is refused" tcp_open 22 3
wait $sshpid
ok "logoff locks the appliance again" wait_state locked 20
nok "the port is closed again" tcp_open 22 3
rid=$("$DRV" local rule-add "$port" tcp ports=22 ttl=120 2>&1 | sed -n 's/^rule=//p')
is "the old password is invalid (login denied)" "$(ssh_as_root "$pw1" echo yes | grep -c '^yes')" 0
"$DRV" local rule-delete "$rid" >/dev/null 2>&1
is "the escrow entry is gone" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 0
for e in REQUEST GENERATED DEPOSIT PASSWORD_SET PORT_OPENED CONNECT LOGIN PORT_CLOSED LOGOFF LOCKED; do
	like "audited: $e" "$(audited $e)" '^[1-9]'
done
like "audited: RETRIEVED by the engineer" \
	"$(tcli -o json audit list --op maint:RETRIEVED --user eng | jq_ 'len(j["items"])')" '^1$'
like "...naming the escrow's engineer" \
	"$(tcli -o json audit list --op maint:RETRIEVED --user eng | jq_ 'j["items"][0]["object"]')" "by engineer alice"
like "audited: the wrong code and the refusals, by the engineer" \
	"$(tcli -o json audit list --op maint:FETCH_REFUSED --user eng | jq_ 'len(j["items"])')" '^[3-9]'

# ---- the window ends with no connection (close-on time) ----
out=$(tcli -o json maint enable "$name" --window 15s --close-on time 2>&1)
code2=$(jq_ 'j["code"]' <<<"$out" 2>/dev/null)
like "a second enable gives a code" "$code2" '^[0-9A-Z-]{24}$'
[[ $code2 != "$code1" ]]
is "...another one" "$?" 0
is "its escrow entry is there" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 1
ok "the window ends with no connection: locked" wait_state locked 40
nok "...the port is closed" tcp_open 22 3
is "...the escrow entry is gone" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 0
like "...WINDOW_EXPIRED is audited" "$(audited WINDOW_EXPIRED)" '^[1-9]'

# ---- close-on time with a login: open until the deadline (over REST) ----
out=$(hc "$OPS_KEY" -X POST -d '{"window":"30s","close_on":"time"}' "$HURL/api/v1/vms/$name/maint")
like "POST /api/v1/vms/{name}/maint: enable --close-on time, 200" "$out" ' 200$'
out=${out% *}
code4=$(jq_ 'j["result"]["code"]' <<<"$out" 2>/dev/null)
like "...with its access code" "$code4" '^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$'
is "...open" "$(jq_ 'j["result"]["state"]' <<<"$out" 2>/dev/null)" open
deadline=$(jq_ 'j["result"]["window_expires_at"]' <<<"$out" 2>/dev/null)
like "GET /api/v1/vms/{name}/maint: the window, 200" "$(hc "$OPS_KEY" "$HURL/api/v1/vms/$name/maint")" \
	'"mode": *"time".* 200$'
body=$("$EC" request "$PV_DIR/alice.key" "$code4" "$PV_DIR/reply.sk")
ans=$(hc "$ENG_KEY" -X POST -d "$body" "$HURL/api/v1/support/fetch")
like "POST /api/v1/support/fetch, signed by the engineer: 200, sealed" "$ans" '"sealed".* 200$'
pw4=$("$EC" open "$PV_DIR/reply.sk" <<<"${ans% *}")
like "...the engineer opens the password" "$pw4" '^[A-Za-z0-9]{24}$'
SSH_TMO=90 ssh_as_root "$pw4" "echo in-$S; sleep 38; echo still-$S" >"$PV_DIR/ssh4.out" &
sshpid=$!
ok "...and logs in" wait_state session 20
sleep 2
is "time mode: the port stays open after the login" "$(status port_open)" True
ok "...a second connection is still accepted" tcp_open 22 5
((deadline > $(date +%s) + 2))
is "...(all that before the deadline)" "$?" 0
ok "the deadline closes the port" wait_field port_open False 40
t_closed=$(date +%s)
((t_closed >= deadline))
is "...not before it" "$?" 0
nok "...new connections are refused" tcp_open 22 3
like "...WINDOW_EXPIRED says the session goes on" \
	"$(tcli -o json audit list --op maint:WINDOW_EXPIRED --all | jq_ '[x["object"] for x in j["items"]]')" "the session goes on"
is "...the session does go on" "$(status state)" session
wait $sshpid
like "...to its end, past the deadline" "$(cat "$PV_DIR/ssh4.out")" "still-$S"
ok "its logoff locks the appliance" wait_state locked 20
rid=$("$DRV" local rule-add "$port" tcp ports=22 ttl=120 2>&1 | sed -n 's/^rule=//p')
is "...the password is invalid" "$(ssh_as_root "$pw4" echo yes | grep -c '^yes')" 0
"$DRV" local rule-delete "$rid" >/dev/null 2>&1

# ---- close-on connect ----
out=$(tcli -o json maint enable "$name" --window 60s --close-on connect 2>&1)
is "enable --close-on connect" "$(jq_ 'j["state"]' <<<"$out" 2>/dev/null)" open
ok "a connection reaches the port" tcp_open 22 10
ok "the first connection closes the port" wait_field port_open False 10
nok "...the next connection is refused" tcp_open 22 3
like "DELETE /api/v1/vms/{name}/maint locks it: 200" "$(hc "$OPS_KEY" -X DELETE "$HURL/api/v1/vms/$name/maint")" \
	'"state": *"locked".* 200$'
is "...state locked" "$(status state)" locked

# ---- close-on first-attempt ----
out=$(tcli -o json maint enable "$name" --window 60s --close-on first-attempt 2>&1)
is "enable --close-on first-attempt" "$(jq_ 'j["state"]' <<<"$out" 2>/dev/null)" open
ok "a connection alone leaves it open" tcp_open 22 10
sleep 2
is "...still open after a bare connection" "$(status port_open)" True
ssh_as_root wrong-password true >/dev/null
ok "the first (failed) attempt closes the port" wait_field port_open False 10
like "...AUTH_FAILED is audited" "$(audited AUTH_FAILED)" '^[1-9]'
ok "disable" tcli maint disable "$name"

# ---- a password lifetime shorter than the window ----
out=$(tcli -o json maint enable "$name" --window 60s --password-ttl 12s --close-on time 2>&1)
code3=$(jq_ 'j["code"]' <<<"$out" 2>/dev/null)
pw3=$(echo "$code3" | eng -o json support fetch - | jq_ 'j["password"]')
[[ -n $pw3 && $pw3 != "$pw1" ]]
is "two enables give different passwords" "$?" 0
ok "the password's lifetime ends first" wait_field password_valid False 20
ok "...the port is still open" tcp_open 22 10
is "...but login fails" "$(ssh_as_root "$pw3" echo yes | grep -c '^yes')" 0
like "PASSWORD_EXPIRED is audited" "$(audited PASSWORD_EXPIRED)" '^[1-9]'
ok "disable" tcli maint disable "$name"

# ---- killed during a window, restarted after its end ----
out=$(tcli -o json maint enable "$name" --window 12s --close-on auth 2>&1)
is "enable before the crash" "$(jq_ 'j["state"]' <<<"$out" 2>/dev/null)" open
kill -KILL "$PV_PID"
wait "$PV_PID" 2>/dev/null
sleep 15
TRELLIS_POLICY_DIR=$PV_DIR/policies LD_PRELOAD=$(lv_preload) \
	"$TRELLIS_BUILD/bin/trellisd" -c "$PV_DIR/trellisd.yaml" -f 2>>"$PV_DIR/daemon.log" &
PV_PID=$!
for ((i = 0; i < 100; i++)); do
	tcli --timeout 1000 api status >/dev/null 2>&1 && break
	sleep 0.1
done
ok "restarted after the deadline: locked at start" wait_state locked 30
nok "...the port is closed" tcp_open 22 3
like "...the restart's WINDOW_EXPIRED is audited" \
	"$(tcli -o json audit list --op maint:WINDOW_EXPIRED --all | jq_ '[x["object"] for x in j["items"]]')" "while trellisd was down"

# ---- escrow down ----
kill "$ESC_PID"
wait "$ESC_PID" 2>/dev/null
ESC_PID=
out=$(tcli maint enable "$name" --window 60s 2>&1)
like "escrow down: enable fails" "$out" UNAVAILABLE
is "...the window failed" "$(status state)" failed
nok "...the port never opened" tcp_open 22 3
escrow_up

# ---- the escrow's rate limit ----
for i in 1 2 3 4 5; do eng support fetch "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZ$i" >/dev/null 2>&1; done
like "five wrong codes: the escrow refuses fetches for a while" \
	"$(eng support fetch ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZ6 2>&1)" BUSY

# ---- no secret anywhere ----
sleep 1
tcli -o json audit list --all >"$PV_DIR/audit.json"
for id in $(tcli -o json workflow list --limit 1000 | jq_ '" ".join(x["id"] for x in j["items"])'); do
	tcli -o json workflow logs "$id"
	tcli -o json workflow status "$id"
done >"$PV_DIR/wf.json" 2>&1
tcli -o json maint status "$name" >"$PV_DIR/status.json"
leaks=
for s in "$code1" "$code2" "$code3" "$code4" "$pw1" "$pw3" "$pw4" "${code1//-/}"; do
	[[ -n $s ]] || continue
	for f in "$PV_DIR/daemon.log" "$PV_DIR/events.txt" "$PV_DIR/audit.json" \
		"$PV_DIR/wf.json" "$PV_DIR/status.json" "$ESC/escrowd.log" \
		"$ESC/escrow-audit.log" "$ESC/capture.bin"; do
		grep -qaF -- "$s" "$f" 2>/dev/null && leaks+=" $(basename "$f")"
	done
	grep -rqaF -- "$s" "$PV_DIR/state" "$ESC/escrow.db" 2>/dev/null && leaks+=" store"
done
is "no code or password in log, events, audit, journal, status, store, escrow or its capture" "${leaks:-none}" none
like "the capture holds the deposits (sealed)" "$(grep -ac '"op":"deposit"' "$ESC/capture.bin")" '^[1-9]'
like "the events tell the story" "$(grep -c '^maint\.' "$PV_DIR/events.txt")" '^[1-9]'
done_testing
