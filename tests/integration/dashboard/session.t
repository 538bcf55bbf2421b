#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# The dashboard's door on a real trellisd, with curl: its files at /
# (gzip, caching, CSP; nothing outside them), logins by password and by
# API key, the session cookie's flags, CSRF on every state-changing
# request, a session's requests scoped as its user's (the API's own
# checks), logout revoking the session and its event stream, a BU
# session's events without their data, and no password anywhere.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/http/lib.sh"
dash=$TRELLIS_BUILD/share/trellis/dashboard
if [[ ! -f $dash/index.html ]]; then
	skip "dashboard door" "the dashboard was not built (node/npm missing)"
	done_testing
fi
http_start "session_ttl: 2h" || { echo "Bail out! trellisd does not start"; exit 1; }
jar=$TD_DIR/jar
cs() { curl -s -b "$jar" -c "$jar" -w ' %{http_code}' "$@"; }
pw='correct horse battery'

# -- files --
like "GET / is the dashboard's page" "$(curl -s -i "$URL/" | tr -d '\r')" \
	'^HTTP/1.1 200.*content-type: text/html; charset=utf-8.*cache-control: no-cache.*content-security-policy: default-src '"'self'"
asset=$(grep -o '/assets/index-[^"]*\.js' "$dash/index.html" | head -1)
hdr=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "$URL$asset" | tr -d '\r')
like "its script goes gzipped to a browser that takes it, cached for good" "$hdr" \
	'content-type: text/javascript.*content-encoding: gzip.*immutable'
is "...and is the build's file" "$(curl -s -H 'Accept-Encoding: gzip' "$URL$asset" | gunzip | sha256sum)" "$(sha256sum <"$dash${asset}")"
like "plain to one that does not" "$(curl -s -o /dev/null -D - "$URL$asset" | tr -d '\r')" 'content-length: [0-9]+'
nok "...without content-encoding" bash -c "curl -s -o /dev/null -D - '$URL$asset' | grep -qi content-encoding"
like "an unknown file: 404 in the API's body" "$(curl -s -w ' %{http_code}' "$URL/nope.js")" 'NOTFOUND.* 404$'
like "no way out of the directory" "$(curl -s --path-as-is -w ' %{http_code}' "$URL/assets/../../../../etc/passwd")" ' 404$'
like "...nor with encoded dots" "$(curl -s --path-as-is -w ' %{http_code}' "$URL/%2e%2e/%2e%2e/etc/passwd")" ' 404$'
like "POST /: 405" "$(curl -s -X POST -w ' %{http_code}' "$URL/")" ' 405$'

# -- users --
tcli bu create acme >/dev/null
tcli bu create beta >/dev/null
tcli user create alice --role bu-user --bu acme >/dev/null
tcli user create boss --role dc-admin >/dev/null
tcli user create nopw --role dc-admin >/dev/null
like "a short password is refused" "$(echo short | tcli user passwd alice --stdin 2>&1)" 'INVALID_ARG.*8 to 1024'
ok "trellis user passwd sets one from stdin" bash -c "echo '$pw' | $TD_BIN/trellis user passwd alice --stdin"
echo 'boss password!' | tcli user passwd boss --stdin >/dev/null
like "trellis user show says it has one" "$(tcli -o json user passwd alice --remove 2>&1; echo "$pw" | tcli user passwd alice --stdin -o json)" '"password": true'
like "...without a terminal and --stdin it refuses" "$(tcli user passwd alice </dev/null 2>&1)" 'not a terminal'

# -- login --
bad=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"alice","password":"wrong one"}' "$URL/api/v1/auth/login")
like "a wrong password: 401, in the API's words" "$bad" '"code":"PERMISSION","message":"wrong user name or password"\}\} 401$'
is "an unknown user: the same answer" "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"nobody","password":"x"}' "$URL/api/v1/auth/login")" "$bad"
is "a user without a password: the same" "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"nopw","password":"wrong one"}' "$URL/api/v1/auth/login")" "$bad"
like "a bad body: 400 naming the field" "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"a","pass":"x"}' "$URL/api/v1/auth/login")" "unknown field 'pass'.* 400$"
like "GET login: 405" "$(curl -s -w ' %{http_code}' "$URL/api/v1/auth/login")" ' 405$'
like "a login from another origin: 403" "$(curl -s -w ' %{http_code}' -H 'Origin: https://evil.example' -H 'Content-Type: application/json' -d "{\"user\":\"alice\",\"password\":\"$pw\"}" "$URL/api/v1/auth/login")" ' 403$'
out=$(curl -s -i -c "$jar" -H 'Content-Type: application/json' -d "{\"user\":\"alice\",\"password\":\"$pw\"}" "$URL/api/v1/auth/login" | tr -d '\r')
like "the right password: a session" "$out" '"user":"alice","role":"bu-user","bu":"acme","scope":"bu","csrf":"[A-Za-z0-9_-]{43}"'
like "...in a cookie: HttpOnly, Secure, SameSite=Strict, expiring with session_ttl" "$out" \
	'set-cookie: trellis_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=7200; HttpOnly; Secure; SameSite=Strict'
like "...not cached" "$out" 'cache-control: no-store'
csrf=$(sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p' <<<"$out")
like "GET auth/session gives the session back (a reloaded page)" "$(cs "$URL/api/v1/auth/session")" "\"csrf\":\"$csrf\".* 200$"

# -- the session's requests: the API's identity and scoping --
like "a read with the cookie runs as alice" "$(cs -X GET "$URL/api/v1/bu")" ' 404$'
bus=$(cs -X POST -H "X-CSRF-Token: $csrf" "$URL/api/v1/ops/bu.list")
like "bu.list through the session: her BU only" "$bus" '"items":\[\{[^]]*"name":"acme"[^]]*\]'
nok "...not the other" grep -q beta <<<"$bus"
like "a POST without the CSRF token: 403" "$(cs -X POST "$URL/api/v1/ops/auth.whoami")" 'CSRF.* 403$'
like "...with a wrong one: 403" "$(cs -X POST -H 'X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' "$URL/api/v1/ops/auth.whoami")" 'CSRF.* 403$'
like "...with the right one but from another origin: 403" "$(cs -X POST -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example' "$URL/api/v1/ops/auth.whoami")" ' 403$'
like "...with the right one: whoami is alice, through http" "$(cs -X POST -H "X-CSRF-Token: $csrf" -H "Origin: $URL" "$URL/api/v1/ops/auth.whoami")" \
	'"user":"alice","role":"bu-user","via":"http","bu":"acme","scope":"bu".* 200$'
like "DELETE needs it too" "$(cs -X DELETE "$URL/api/v1/zones/z")" 'CSRF.* 403$'
like "her role's limits hold: zone.create is PERMISSION" "$(cs -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"name":"z9"}' "$URL/api/v1/zones")" \
	'may not call zone.create.* 403$'
like "...and the refusal is audited as hers" "$(tcli audit list --user alice)" 'zone.create.*denied'
like "a change goes through: workflow.run, as hers" "$(cs -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"name":"alices-vm"}' "$URL/api/v1/vms")" '"id":"wf-.* 200$'
like "...logged with her name and the door" "$(cat "$TD_DIR/daemon.log")" "workflow.run by API key 'alice \(password\)'"
like "an Authorization header wins over the cookie" "$(curl -s -b "$jar" -H "Authorization: Bearer $TOKEN" -X POST "$URL/api/v1/ops/auth.whoami")" '"user":"root"'

# -- events --
curl -s -N -b "$jar" "$URL/api/v1/events" >"$TD_DIR/alice.sse" 2>/dev/null &
sse=$!
TD_EXTRA_PIDS="$sse"
curl -s -N -H "Authorization: Bearer $TOKEN" "$URL/api/v1/events" >"$TD_DIR/root.sse" 2>/dev/null &
sse2=$!
TD_EXTRA_PIDS="$sse $sse2"
sleep 0.5
tcli zone create secretzone >/dev/null
sleep 0.5
like "a BU session's stream says what changed..." "$(cat "$TD_DIR/alice.sse")" 'event: zone.created'
nok "...but not which object (the page asks the API, which scopes it)" grep -q secretzone "$TD_DIR/alice.sse"
like "an operator's stream has the data" "$(cat "$TD_DIR/root.sse")" '"name": ?"secretzone"'

# -- logout --
like "logout without the CSRF token: 403" "$(cs -X POST "$URL/api/v1/auth/logout")" ' 403$'
out=$(curl -s -i -b "$jar" -X POST -H "X-CSRF-Token: $csrf" "$URL/api/v1/auth/logout" | tr -d '\r')
like "logout: 200 and the cookie cleared" "$out" 'set-cookie: trellis_session=; Path=/; Max-Age=0'
like "the old cookie is refused from then on" "$(cs "$URL/api/v1/tenants")" 'session has ended.* 401$'
sleep 0.3
tcli zone create after-logout >/dev/null
sleep 0.5
ok "...and its event stream closed" bash -c "! kill -0 $sse 2>/dev/null"
kill "$sse2" 2>/dev/null

# -- an API key as the login --
key=$(tcli -o json user key add boss dash | json 'j["token"]')
out=$(curl -s -c "$jar" -H 'Content-Type: application/json' -d "{\"key\":\"$key\"}" "$URL/api/v1/auth/login")
like "an API key logs in as its user" "$out" '"user":"boss","role":"dc-admin","bu":null,"scope":"global".*"login":"key"'
like "...and the session runs with the key" "$(cs "$URL/api/v1/zones/secretzone")" '"name":"secretzone".* 200$'
tcli user key remove boss dash >/dev/null
like "a revoked key ends what its session can do" "$(cs "$URL/api/v1/zones/secretzone")" 'unknown API key.* 401$'
like "a wrong key does not log in" "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"key":"trk_nope"}' "$URL/api/v1/auth/login")" 'unknown API key.* 401$'
like "the operator's own key logs in as root" "$(curl -s -H 'Content-Type: application/json' -d "{\"key\":\"$TOKEN\"}" "$URL/api/v1/auth/login")" '"user":"root","role":"dc-admin"'
tcli user delete alice >/dev/null
out=$(curl -s -c "$jar" -H 'Content-Type: application/json' -d "{\"user\":\"boss\",\"password\":\"boss password!\"}" "$URL/api/v1/auth/login")
tcli user delete boss >/dev/null
like "a deleted user's session can do nothing" "$(cs "$URL/api/v1/zones")" ' 401$'

# -- failed logins --
tcli user create victim --role bu-user --bu acme >/dev/null
echo 'victim password' | tcli user passwd victim --stdin >/dev/null
tcli user create bystander --role bu-user --bu acme >/dev/null
echo 'bystander password' | tcli user passwd bystander --stdin >/dev/null
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"user":"victim","password":"guess guess"}' "$URL/api/v1/auth/login"
done
like "five failed logins: the user is held off, even with the right password" \
	"$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"victim","password":"victim password"}' "$URL/api/v1/auth/login")" \
	'"code":"BUSY","message":"too many failed logins for this user: try again in [0-9]+ s".* 429$'
like "...another user is not" "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"user":"bystander","password":"bystander password"}' "$URL/api/v1/auth/login")" '"user":"bystander".* 200$'

# -- ops the dashboard added --
g=$(hc -H 'Content-Type: application/json' -d '{"name":"vm.provision"}' "$URL/api/v1/ops/workflow.graph")
like "workflow.graph: the DAG as DOT and Graphviz's SVG" "$g" '"dot":"digraph.*"svg":".*<svg.*class=\\"node\\".* 200$'
like "...an unknown one is NOTFOUND" "$(hc -H 'Content-Type: application/json' -d '{"name":"nope"}' "$URL/api/v1/ops/workflow.graph")" "no workflow called 'nope'.* 404$"

# -- secrets --
is "no password or key is in the log" "$(grep -c -e "$pw" -e 'boss password' -e "$key" "$TD_DIR/daemon.log")" "0"
is "...nor in the store" "$(cat "$TD_DIR"/trellis.db* 2>/dev/null | grep -c -a -e "$pw" -e 'boss password' -e "$key")" "0"
done_testing
