#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile input on the API socket: random bytes, truncated and deeply
# nested JSON, huge strings, wrong types, vanished clients.  Each request
# is answered with an error, the daemon stays up, the store is unchanged.
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

td_start || { echo "Bail out! trellisd does not start"; exit 1; }
tcli zone create z >/dev/null
tcli pod create p --zone z >/dev/null
# The inventory: everything but the audit trail, which records the
# refused attempts (that is its job).
dump() { sqlite3 "$TD_DIR/trellis.db" .dump | grep -v '^INSERT INTO audit ' | sha256sum; }
before=$(dump)

# send FILE: one request, prints the answer (empty on timeout).
send() {
	nanocat --req --connect "$TRELLIS_SOCKET" -F "$1" --recv-timeout 5 --raw 2>/dev/null
}
# expect_error WHAT FILE [REGEX]
expect_error() {
	local out
	out=$(send "$2")
	if [[ -z $out ]]; then
		is "$1: answered" "(no answer)" "an error"
		return
	fi
	like "$1: answered with an error" "$out" "^\{\"ok\":false,\"error\":\{\"code\":\"[A-Z_]+\",\"message\":\"${3:-.*}"
}
f=$TD_DIR/req
for i in 1 2 3 4 5; do
	head -c $((RANDOM % 4000 + 1)) /dev/urandom >"$f"
	expect_error "random bytes #$i" "$f" "malformed request"
done
printf '{' >"$f"
expect_error "one byte" "$f" "malformed request"
printf '\0\0\0\0' >"$f"
expect_error "NUL bytes" "$f" "malformed request"
printf '{"v":1,"op":"zone.create","args":{"name":"tr' >"$f"
expect_error "truncated JSON" "$f" "malformed request"
python3 -c 'print("{\"v\":1,\"op\":\"zone.list\",\"args\":" + "[" * 200000)' >"$f"
expect_error "deeply nested arrays" "$f" "malformed request"
python3 -c 'print("{\"v\":1,\"op\":\"zone.list\",\"args\":" + "{\"a\":" * 100000 + "1" + "}" * 100000 + "}")' >"$f"
expect_error "deeply nested objects" "$f" "malformed request"
python3 -c 'import sys; sys.stdout.write("{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"" + "x" * 2000000 + "\"}}")' >"$f"
expect_error "2 MB string (over api.max_message)" "$f" "request of [0-9]+ bytes exceeds the limit"
python3 -c 'import sys; sys.stdout.write("{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"" + "x" * 500000 + "\"}}")' >"$f"
expect_error "500 KB name (within the limit)" "$f" "zone name must be 1 to 63"
for body in \
	'{"v":1,"op":"zone.create","args":{"name":42}}' \
	'{"v":1,"op":"zone.create","args":{"name":"x","private":"true"}}' \
	'{"v":1,"op":"zone.create","args":{"name":["x"]}}' \
	'{"v":1,"op":"zone.create","args":{"name":null}}' \
	'{"v":1,"op":"zone.create","args":"name"}' \
	'{"v":1,"op":["zone.create"]}' \
	'{"v":"1","op":"zone.list"}' \
	'{"v":1,"op":"zone.create","args":{"name":"x","owner":{}}}' \
	'{"v":1,"op":"zone.list","args":{"limit":1e999}}' \
	'{"v":1,"op":"vm.list","args":{"limit":-5}}' \
	'{"v":1,"op":"zone.drop_tables"}' \
	'{"v":1,"op":"zone.create","args":{"name":"x\u0000y"}}' \
	'{"v":1,"op":"zone.create","args":{"name":"x; DROP TABLE zone"}}' \
	'{"v":1,"op":"pod.create","args":{"name":"q","zone":"z'"'"' OR 1=1 --"}}' \
	'"just a string"' 'null' '12345'; do
	printf '%s' "$body" >"$f"
	expect_error "wrong types: $body" "$f"
done

# Oversized past the transport cap: nanomsg drops the connection; the
# daemon must stay up for everyone else.
head -c 6000000 /dev/zero >"$f"
send "$f" >/dev/null
ok "daemon answers after a 6 MB message" tcli api status

# Vanished clients: requests whose senders are gone before the answer.
printf '{"v":1,"op":"zone.list"}' >"$f"
(
	pids=()
	for i in $(seq 1 20); do
		timeout -s KILL 0.02 nanocat --req --connect "$TRELLIS_SOCKET" \
			-F "$f" --recv-timeout 5 >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
) 2>/dev/null
ok "daemon answers after 20 vanished clients" tcli zone show z
ok "daemon still running" kill -0 "$TD_PID"
is "store unchanged by all of it" "$(dump)" "$before"
td_stop
is "clean stop" "$TD_RC" 0
done_testing
