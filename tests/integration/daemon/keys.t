#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# API keys over their life, against a real trellisd on tcp://: a key made
# to expire is refused once expired, naming it; every change made over
# tcp:// is logged with the key's name (the audit trail), and so is a
# console; refused requests are logged without flooding the log;
# --api-key-list shows names and expiry (and -o json), never a hash;
# --api-key-remove takes a key out, keeping the rest of the file, and the
# running daemon refuses it at once (the command sends it SIGHUP); with no
# daemon running the commands say so.  (cli.t covers making keys, SIGHUP
# and a broken file.)
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"
port=$((20000 + RANDOM % 20000))
tcp="tcp://127.0.0.1:$port"
printf 'api:\n  tcp: %s\n' "$tcp" >"$TD_DIR/tcp.yaml"
keyd() { "$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/tcp.yaml" "$@"; }
over() { TRELLIS_API_KEY=$1 tcli --socket "$tcp" --timeout 5000 "${@:2}" 2>&1; }
# loaded N: waits for the Nth "API keys:" line of the log (5 s).
loaded() {
	for _ in $(seq 1 50); do
		[[ $(grep -c "API keys: " "$TD_DIR/daemon.log") -ge $1 ]] && return 0
		sleep 0.1
	done
	return 1
}
# hup N: SIGHUP, then loaded N.
hup() {
	kill -HUP "$TD_PID"
	loaded "$1"
}

ops=$(keyd --api-key-add ops 2>"$TD_DIR/add.err")
like "no daemon runs: --api-key-add says so" "$(cat "$TD_DIR/add.err")" \
	"no trellisd runs on $TD_DIR; one reads the keys when it starts"
ci=$(keyd --api-key-add ci --api-key-expires 90d 2>"$TD_DIR/add.err")
is "--api-key-expires: exit 0" "$?" 0
like "... and says when it expires" "$(cat "$TD_DIR/add.err")" "API key 'ci' added to .*api-keys \(expires: 20[0-9-]+T[0-9:]+Z\)"
keyd --api-key-add x --api-key-expires 10s >/dev/null 2>"$TD_DIR/add.err"
is "an expiry under a minute: usage error (exit 2)" "$?" 2
like "... naming the value" "$(cat "$TD_DIR/add.err")" "--api-key-expires '10s': expected a duration of 1m or more"
keyd --api-key-list --api-key-expires 1d >/dev/null 2>&1
is "--api-key-expires without --api-key-add: exit 2" "$?" 2

list=$(keyd --api-key-list)
like "--api-key-list: a key that never expires" "$list" "ops +never +valid"
like "... and one that does" "$list" "ci +20[0-9-]+T[0-9:]+Z +valid"
nok "... and no hash" grep -qE "[0-9a-f]{64}" <<<"$list"
is "--api-key-list -o json" \
	"$(keyd --api-key-list -o json | json '[(k["name"], k["expires"] == "never", k["expired"]) for k in j["items"]]')" \
	"[('ops', True, False), ('ci', False, False)]"

td_start --config "$TD_DIR/tcp.yaml" || { echo "Bail out! trellisd does not start"; exit 1; }
like "a valid key works" "$(over "$ci" zone create zc)" "name +zc"
like "the change is logged with the key's name" "$(cat "$TD_DIR/daemon.log")" \
	"api $tcp: zone.create by API key 'ci'"
over "$ci" zone list >/dev/null
nok "reads are not" grep -q "zone.list by API key" "$TD_DIR/daemon.log"
over "$ops" vm vnc nosuchvm >/dev/null
like "a console is, although it changes nothing" "$(cat "$TD_DIR/daemon.log")" "vm.console by API key 'ops'"
audited=$(grep -c "by API key" "$TD_DIR/daemon.log")
ok "a change over ipc://" tcli zone create zi
is "... writes no audit line (no key to name)" "$(grep -c "by API key" "$TD_DIR/daemon.log")" "$audited"

# Expire ci by hand: its line gets an expiry in the past.
sed -i 's/^\(ci [0-9a-f]*\).*/\1 expires=1000/' "$TD_DIR/api-keys"
ok "SIGHUP reads the expiry" hup 2
out=$(over "$ci" zone show zc)
is "an expired key: exit 1" "$?" 1
like "... PERMISSION, naming the key" "$out" "PERMISSION: $tcp: API key 'ci' has expired"
is "--api-key-list says so" "$(keyd --api-key-list | awk '$1 == "ci" {print $2, $3}')" "1970-01-01T00:16:40Z expired"
like "the other key still works" "$(over "$ops" zone show zc)" "name +zc"

# Refusals are logged, at most once a second.
sleep 1.1
for i in $(seq 1 30); do over trk_bad zone list >/dev/null; done
n=$(grep -c "request refused" "$TD_DIR/daemon.log")
ok "refusals are logged ($n lines for 31)" test "$n" -ge 1 -a "$n" -le 10
like "... with a count" "$(cat "$TD_DIR/daemon.log")" "request refused: no valid API key \([0-9]+ refused so far\)"
is "daemon.status counts them" "$(tcli api status -o json | json 'j["api"]["refused"]')" 31
nok "... and no token" grep -qE "${ops#trk_}|${ci#trk_}|trk_bad" "$TD_DIR/daemon.log"

printf '# the CI robot is gone\n' >>"$TD_DIR/api-keys"
keyd --api-key-remove ci 2>"$TD_DIR/rm.err"
is "--api-key-remove: exit 0" "$?" 0
like "... and tells the running daemon" "$(cat "$TD_DIR/rm.err")" \
	"API key 'ci' removed from .*api-keys.*the trellisd running on $TD_DIR \(pid $TD_PID\) reads the keys again now"
is "the file keeps the other key and the comment" \
	"$(awk '{print $1}' "$TD_DIR/api-keys" | tr '\n' ' ')" "ops # "
is "... and stays 0600" "$(stat -c %a "$TD_DIR/api-keys")" 600
keyd --api-key-remove ci 2>"$TD_DIR/rm.err"
is "removing it again: exit 1" "$?" 1
like "... no key named 'ci'" "$(cat "$TD_DIR/rm.err")" "no key named 'ci'"
ok "... which reads them again, with no SIGHUP of ours" loaded 3
like "a removed key is refused" "$(over "$ci" zone show zc)" "PERMISSION: $tcp: unknown API key"
ok "the kept one works" over "$ops" zone delete zc
like "... and its change is logged" "$(cat "$TD_DIR/daemon.log")" "zone.delete by API key 'ops'"
td_stop
is "clean stop" "$TD_RC" 0
done_testing
