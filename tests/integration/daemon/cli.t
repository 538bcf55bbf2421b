#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellisd driven through the trellis CLI: the inventory tree, hosts on
# libvirt's test:///default, errors and exit codes, output formats,
# events, config errors, the state dir lock, shutdown and restart.
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

# ---- help and usage, no daemon needed ----
ok "trellisd --help" "$TD_BIN/trellisd" --help
ok "trellis --help" tcli --help
like "trellisd --list-plugins -o json" \
	"$("$TD_BIN/trellisd" --list-plugins -o json | json '" ".join(sorted(p["name"] for p in j if p["state"] == "loaded"))')" \
	"builtin"
like "trellisd --list-plugins table" "$("$TD_BIN/trellisd" --list-plugins)" "NAME +KIND +VERSION"
like "trellisd --print-defaults" "$("$TD_BIN/trellisd" --print-defaults)" "listen: ipc:///run/trellis/api.sock"
like "trellis zone --help lists verbs" "$(tcli zone --help)" "create.*list.*show.*delete"
like "verb help shows options" "$(tcli zone create --help)" "--private.*--owner.*--exclusive.*--spill"
tcli bogus >/dev/null 2>&1
is "unknown noun: exit 2" "$?" 2
out=$(tcli --socket "ipc://$TD_DIR/none.sock" zone list 2>&1)
rc=$?
is "daemon not running: exit 1" "$rc" 1
is "daemon not running: one line" "$(printf '%s\n' "$out" | wc -l)" 1
like "daemon not running: names the socket" "$out" "ipc://$TD_DIR/none.sock"
out=$(timeout 10 "$TD_BIN/trellis" --socket tcp://127.0.0.1:1 zone list 2>&1)
is "tcp:// daemon not running: exit 1 at once" "$?" 1
like "tcp:// daemon not running: names the socket" "$out" "not answering on tcp://127.0.0.1:1"

# ---- config errors name file:line:col ----
cfg=$TD_DIR/bad.yaml
printf 'api:\n  listen: ipc:///tmp/x.sock\n  colour: blue\n' >"$cfg"
out=$("$TD_BIN/trellisd" --config "$cfg" --check-config 2>&1)
is "unknown config key: exit 1" "$?" 1
like "unknown config key: file:line:col" "$out" "bad.yaml:3:3: unknown key 'api.colour'"
printf 'workers:\n  threads: many\n' >"$cfg"
like "bad config value: file:line:col" "$("$TD_BIN/trellisd" --config "$cfg" --check-config 2>&1)" \
	"bad.yaml:2:12: workers.threads: expected a positive integer"
printf 'api:\n  threads: 17\n' >"$cfg"
like "api.threads out of range: file:line:col" "$("$TD_BIN/trellisd" --config "$cfg" --check-config 2>&1)" \
	"bad.yaml:2:12: api.threads: expected auto or 1 to 16, got '17'"
printf 'api:\n  listen: 5\n  thraeds: 2\nbogus: 1\nworkers: {threads: lots}\n' >"$cfg"
out=$("$TD_BIN/trellisd" --config "$cfg" --check-config 2>&1)
like "--check-config reports every problem, not the first: 1" "$out" "bad.yaml:2:11: api.listen: '5' is not an ipc:// or tcp:// address"
like "...2, with a guess for a mistyped key" "$out" "bad.yaml:3:3: unknown key 'api.thraeds' \(did you mean 'api.threads'\?\)"
like "...3" "$out" "bad.yaml:4:1: unknown key 'bogus'"
like "...4" "$out" "bad.yaml:5:20: workers.threads: expected a positive integer"
like "...and counts them" "$out" "bad.yaml: 4 problems"
ok "embedded defaults are a valid config" "$TD_BIN/trellisd" --check-config

# ---- the daemon ----
printf 'host_refresh: 1s\n' >"$TD_DIR/run.yaml"
td_start --config "$TD_DIR/run.yaml" || { echo "Bail out! trellisd does not start"; exit 1; }
is "api socket mode 0660" "$(stat -c %a "$TD_DIR/api.sock")" 660
out=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" --foreground 2>&1)
is "second daemon on the state dir refuses" "$?" 1
like "second daemon names the holder's pid" "$out" "in use by another trellisd \\(pid $TD_PID"

ok "zone create" tcli zone create z1
out=$(tcli zone create z1 2>&1)
is "duplicate zone: exit 1" "$?" 1
like "duplicate zone: CONFLICT" "$out" "CONFLICT: zone 'z1' already exists"
tcli zone create >/dev/null 2>&1
is "missing name: exit 2" "$?" 2
tcli zone create z9 --frobnicate >/dev/null 2>&1
is "unknown option: exit 2" "$?" 2
tcli zone create z9 --spill maybe >/dev/null 2>&1
is "bad choice: exit 2" "$?" 2
ok "tenant create" tcli tenant create acme
ok "private zone" tcli zone create z2 --private --owner acme --exclusive --spill deny
is "private zone fields (json)" \
	"$(tcli zone show z2 -o json | json '[j["private"], j["owner"], j["exclusive"], j["spill"]]')" \
	"[True, 'acme', True, 'deny']"
is "yaml output parses" \
	"$(tcli zone show z2 -o yaml | python3 -c 'import yaml,sys; d=yaml.safe_load(sys.stdin); print(d["owner"], d["private"])')" \
	"acme True"
like "zone list table" "$(tcli zone list)" "NAME +PRIVATE +OWNER.*z2 +yes +acme"
out=$(tcli zone create z3 --owner acme 2>&1)
like "owner without --private is refused" "$out" "private zones only"
ok "pod create" tcli pod create p1 --zone z1
ok "same pod name in another zone" tcli pod create p1 --zone z2
like "ambiguous short name lists candidates" "$(tcli pod show p1 2>&1)" "ambiguous.*z1/p1.*z2/p1"
is "full path resolves" "$(tcli pod show z2/p1 -o json | json 'j["zone"]')" z2
ok "cluster create" tcli cluster create c1 --pod z1/p1
out=$(tcli zone delete z1 2>&1)
is "zone delete with pods: exit 1" "$?" 1
like "zone delete names the children" "$out" "CONFLICT: zone 'z1' is not empty: it has pod p1"
like "pod delete names the children" "$(tcli pod delete z1/p1 2>&1)" "cluster c1"
like "tenant owning a zone is not deletable" "$(tcli tenant delete acme 2>&1)" "zone z2"

# ---- hosts through the libvirt plugin ----
if td_have_libvirt_plugin; then
	nanocat --sub --connect "ipc://$TD_DIR/events.sock" --subscribe host. \
		-A --recv-timeout 10 >"$TD_DIR/events.out" 2>/dev/null &
	TD_EXTRA_PIDS=$!
	sleep 0.3
	ok "host add test:///default" tcli host add h1 --cluster c1 --hypervisor libvirt --uri test:///default \
		--option region=eu-1 --option weight=3
	h=$(tcli host show h1 -o json)
	ni=$(virsh -c test:///default nodeinfo 2>/dev/null)
	if [[ -n $ni ]]; then
		is "discovered cpus = virsh nodeinfo" "$(json 'j["cpus"]' <<<"$h")" \
			"$(awk -F: '/^CPU\(s\)/{gsub(/ /,"",$2); print $2}' <<<"$ni")"
		is "discovered memory = virsh nodeinfo" "$(json 'j["memory_kib"]' <<<"$h")" \
			"$(awk -F: '/^Memory size/{gsub(/[ KiB]/,"",$2); print $2}' <<<"$ni")"
	else
		skip "discovered cpus = virsh nodeinfo" "virsh not installed"
		skip "discovered memory = virsh nodeinfo" "virsh not installed"
	fi
	is "host state and plugin" "$(json '[j["state"], j["hypervisor"], j["cluster"]]' <<<"$h")" \
		"['up', 'libvirt', 'z1/p1/c1']"
	is "host show has the host's options (for connect)" \
		"$(json 'j["spec"]["options"]' <<<"$h")" "{'region': 'eu-1', 'weight': 3}"
	out=$(tcli host add h2 --cluster c1 --uri test:///nonexistent/path.xml 2>&1)
	is "unreachable host: exit 1" "$?" 1
	like "unreachable host: the plugin's error" "$out" "trellis: [A-Z]+: .+"
	like "unreachable host is not recorded" "$(tcli host show h2 2>&1)" "NOTFOUND"
	out=$(tcli host add h3 --cluster c1 --hypervisor nosuch --uri test:///default 2>&1)
	like "unknown plugin refused" "$out" "no hypervisor plugin 'nosuch'"
	# Issue 14: one hypervisor added as two hosts counts its capacity
	# twice; the second is refused, naming the first.
	out=$(tcli host add ux-h --cluster c1 --hypervisor libvirt --uri test:///default 2>&1)
	is "the same URI as a second host: exit 1" "$?" 1
	like "the same URI is refused naming the first host" "$out" \
		"CONFLICT: host 'ux-h': test:///default is already host 'h1'"
	like "the refused host is not recorded" "$(tcli host show ux-h 2>&1)" "NOTFOUND"
	like "vm list shows the discovered VM" "$(tcli vm list)" "test +[0-9a-f-]{36} +h1 +running"
	is "vm show by name" "$(tcli vm show test -o json | json 'j["host"]')" h1
	ok "host refresh" tcli host refresh h1
	t1=$(tcli host show h1 -o json | json 'j["refreshed_at"]')
	sleep 2.2
	t2=$(tcli host show h1 -o json | json 'j["refreshed_at"]')
	ok "hosts are refreshed in the background (host_refresh: 1s)" test "$t2" -gt "$t1"
	like "plugin list" "$(tcli plugin list)" "libvirt +hypervisor"
	like "cluster delete names its host" "$(tcli cluster delete c1 2>&1)" "host h1"
	sleep 0.3
	kill "$TD_EXTRA_PIDS" 2>/dev/null
	wait "$TD_EXTRA_PIDS" 2>/dev/null
	TD_EXTRA_PIDS=
	like "events: host.added published" "$(cat "$TD_DIR/events.out")" 'host.added \{.*"name":"h1"'
	like "events: host.refreshed published" "$(cat "$TD_DIR/events.out")" 'host.refreshed'
	ok "host remove" tcli host remove h1
	is "discovered VMs leave with their host" "$(tcli vm list -o json | json 'len(j["items"])')" 0
else
	for t in "host add" "capacity" "host refresh" "events"; do
		skip "$t" "plugins/libvirt.so is not built"
	done
fi

# ---- many clients at once ----
pids=()
for i in $(seq 1 16); do
	tcli tenant create "t$i" >/dev/null 2>&1 &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "16 concurrent clients all answered" "$fails" 0
# Concurrent lists go to the reader threads (their own connections).
pids=()
for i in $(seq 1 16); do
	tcli zone list -o json >"$TD_DIR/read.$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
good=0
for i in $(seq 1 16); do
	[[ $(json '[z["owner"] for z in j["items"] if z["name"] == "z2"]' <"$TD_DIR/read.$i" 2>/dev/null) == "['acme']" ]] &&
		good=$((good + 1))
done
is "16 concurrent lists all right" "$good" 16

# ---- shutdown and restart ----
td_stop
is "SIGTERM: clean exit" "$TD_RC" 0
is "store integrity after shutdown" "$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA integrity_check')" ok
port=$((20000 + RANDOM % 20000))
printf 'api:\n  tcp: tcp://127.0.0.1:%d\n' "$port" >"$TD_DIR/tcp.yaml"
# ---- tcp:// needs API keys ----
out=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/tcp.yaml" --foreground 2>&1)
is "api.tcp without API keys: refuses to start" "$?" 1
like "and says how to make one" "$out" "api-keys: No such file.*trellisd --api-key-add NAME"
token=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/tcp.yaml" --api-key-add ops 2>"$TD_DIR/keyadd.err")
is "--api-key-add: exit 0" "$?" 0
like "--api-key-add prints the token once" "$token" "^trk_[0-9a-f]{64}$"
like "and says where the key went" "$(cat "$TD_DIR/keyadd.err")" "API key 'ops' added to $TD_DIR/api-keys"
is "the keys file is 0600" "$(stat -c %a "$TD_DIR/api-keys")" 600
nok "the keys file holds no token" grep -q "${token#trk_}" "$TD_DIR/api-keys"
"$TD_BIN/trellisd" --state-dir "$TD_DIR" --api-key-add ops >/dev/null 2>"$TD_DIR/keyadd.err"
is "a second key of the same name: exit 1" "$?" 1
like "naming it" "$(cat "$TD_DIR/keyadd.err")" "a key named 'ops' exists already"
td_start --config "$TD_DIR/tcp.yaml"
like "state survives a restart" "$(tcli zone list)" "z2 +yes +acme"
tcp="tcp://127.0.0.1:$port"
out=$(TRELLIS_API_KEY= tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)
is "tcp:// without a key: exit 1" "$?" 1
like "tcp:// without a key: PERMISSION" "$out" "PERMISSION: $tcp: requests on tcp:// need an API key"
out=$(TRELLIS_API_KEY=trk_0000 tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)
like "tcp:// with a wrong key: PERMISSION" "$out" "PERMISSION: $tcp: unknown API key"
like "tcp:// with the key answers" \
	"$(TRELLIS_API_KEY=$token tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "owner +acme"
printf '%s\n' "$token" >"$TD_DIR/key"
like "--api-key-file works too" \
	"$(tcli --socket "$tcp" --api-key-file "$TD_DIR/key" --timeout 5000 zone show z2 2>&1)" "owner +acme"
token2=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" --api-key-add ci 2>"$TD_DIR/keyadd.err")
like "a key added while the daemon runs: it is told (SIGHUP)" "$(cat "$TD_DIR/keyadd.err")" \
	"the trellisd running on $TD_DIR \(pid $TD_PID\) reads the keys again now"
for i in $(seq 1 50); do grep -q "API keys: 2" "$TD_DIR/daemon.log" && break; sleep 0.1; done
like "and the new key is accepted" \
	"$(TRELLIS_API_KEY=$token2 tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "owner +acme"
nok "no token in the daemon's log" grep -qE "${token#trk_}|${token2#trk_}" "$TD_DIR/daemon.log"
# Revoking: the file without its keys, then SIGHUP.
cp "$TD_DIR/api-keys" "$TD_DIR/api-keys.saved"
: >"$TD_DIR/api-keys"
kill -HUP "$TD_PID"
for i in $(seq 1 50); do grep -q "has no key: every tcp:// request is refused" "$TD_DIR/daemon.log" && break; sleep 0.1; done
like "removing every key and SIGHUP revokes them" \
	"$(TRELLIS_API_KEY=$token tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "unknown API key"
printf 'garbage\n' >"$TD_DIR/api-keys"
kill -HUP "$TD_PID"
for i in $(seq 1 50); do grep -q "refused until the keys file loads" "$TD_DIR/daemon.log" && break; sleep 0.1; done
like "a keys file that does not load: logged with its line" "$(cat "$TD_DIR/daemon.log")" \
	"SIGHUP: every tcp:// request is refused until the keys file loads .*: $TD_DIR/api-keys:1: expected NAME"
cp "$TD_DIR/api-keys.saved" "$TD_DIR/api-keys"
kill -HUP "$TD_PID"
for i in $(seq 1 50); do [[ $(grep -c "API keys: 2" "$TD_DIR/daemon.log") -ge 2 ]] && break; sleep 0.1; done
like "the keys come back with the file" \
	"$(TRELLIS_API_KEY=$token tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "owner +acme"
rm "$TD_DIR/api-keys"
kill -HUP "$TD_PID"
for i in $(seq 1 50); do [[ $(grep -c "refused until the keys file loads" "$TD_DIR/daemon.log") -ge 2 ]] && break; sleep 0.1; done
like "deleting the keys file and SIGHUP fails closed" \
	"$(TRELLIS_API_KEY=$token tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "unknown API key"
cp "$TD_DIR/api-keys.saved" "$TD_DIR/api-keys"
kill -HUP "$TD_PID"
for i in $(seq 1 50); do [[ $(grep -c "API keys: 2" "$TD_DIR/daemon.log") -ge 3 ]] && break; sleep 0.1; done
like "and come back again" \
	"$(TRELLIS_API_KEY=$token tcli --socket "$tcp" --timeout 5000 zone show z2 2>&1)" "owner +acme"
is "tenants survive a restart" "$(tcli tenant list -o json --limit 1000 | json 'len(j["items"])')" 17
is "list --all follows the pages" "$(tcli tenant list -o json --limit 5 --all | json '[len(j["items"]), j["next"]]')" "[17, None]"
like "one page says how to get the next" "$(tcli tenant list --limit 5 2>&1 >/dev/null)" "more: --after [0-9]+"
out=$(tcli tenant list --limit -5 2>&1)
like "--limit -5 is refused naming the limit" "$out" "INVALID_ARG: (bu|tenant).list: limit must be 1 to 1000, got -5"
unlike_after=$([[ $out == *after* ]] && echo mentions || echo no)
is "...and no 'after' that was never given" "$unlike_after" "no"
like "an unknown enum value is a usage error listing the values" "$(tcli vm list --state bogus 2>&1)" \
	"bad value 'bogus' for --state \(one of: running, .*\)"
tcli vm list --state bogus >/dev/null 2>&1
is "...exit 2" "$?" 2
tcli tenant list --all --after 3 >/dev/null 2>&1
is "--all with --after: exit 2" "$?" 2
td_stop

# ---- background mode ----
"$TD_BIN/trellisd" --state-dir "$TD_DIR" >/dev/null 2>&1
is "daemonized start returns 0" "$?" 0
bgpid=$(cat "$TD_DIR/trellisd.lock" 2>/dev/null)
TD_EXTRA_PIDS=$bgpid # killed by the cleanup if the test fails midway
ok "daemonized trellisd answers" tcli api status
if [[ -n $bgpid ]]; then
	kill -TERM "$bgpid"
	for i in $(seq 1 50); do kill -0 "$bgpid" 2>/dev/null || break; sleep 0.1; done
	nok "daemonized trellisd stops on SIGTERM" kill -0 "$bgpid"
fi

# ---- bash completion ----
comp=$TRELLIS_SRC/contrib/trellis.bash-completion
like "completion: nouns" "$(tcli __complete)" "zone"
like "completion: verbs" "$(tcli __complete zone | paste -sd' ')" "create list show delete"
ok "completion file parses" bash -n "$comp"
done_testing
