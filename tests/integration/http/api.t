#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# The HTTP API against a real trellisd: API keys in the Authorization
# header (never in a URL), REST paths and POST /api/v1/ops/{op} through
# the same op table, error codes as statuses with the nanomsg error body,
# hostile input (a body over the limit, bad JSON, wrong content type, no
# Content-Length, slow and half-closed clients) answered 4xx or closed with
# the store unchanged, the event stream (SSE), and TLS.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"
http_start "max_body: 64K" "timeout: 2s" || { echo "Bail out! trellisd does not start"; exit 1; }

# -- keys --
like "no key: 401 with the nanomsg error body" "$(curl -s -w ' %{http_code}' "$URL/api/v1/zones")" \
	'^\{"ok":false,"error":\{"code":"PERMISSION","message":".*Authorization: Bearer.*"\}\} 401$'
like "... and WWW-Authenticate: Bearer" "$(curl -s -i "$URL/api/v1/zones" | tr -d '\r')" "www-authenticate: Bearer"
like "a wrong key: 401" "$(curl -s -H 'Authorization: Bearer trk_nope' -w ' %{http_code}' "$URL/api/v1/zones")" "unknown API key.* 401$"
like "not a bearer token: 401" "$(curl -s -u a:b -w ' %{http_code}' "$URL/api/v1/zones")" "Bearer TOKEN.* 401$"
like "a key in the URL is refused (400), even a valid one" \
	"$(hc "$URL/api/v1/zones?token=$TOKEN")" "never in a URL.* 400$"
like "... and refused keys are not logged" "$(grep -c "$TOKEN" "$TD_DIR/daemon.log")" "^0$"

# -- REST and ops --
like "POST /zones creates" "$(hc -H 'Content-Type: application/json' -d '{"name":"z1"}' "$URL/api/v1/zones")" \
	'^\{"ok":true,"result":\{"id":1,"name":"z1".* 200$'
like "... the change is logged with the key" "$(cat "$TD_DIR/daemon.log")" "zone.create by API key 't'"
like "again: CONFLICT, 409" "$(hc -H 'Content-Type: application/json' -d '{"name":"z1"}' "$URL/api/v1/zones")" '"code":"CONFLICT".* 409$'
like "GET /zones/z1" "$(hc "$URL/api/v1/zones/z1")" '"name":"z1".* 200$'
like "GET /zones lists" "$(hc "$URL/api/v1/zones?limit=10")" '"items":\[\{"id":1,"name":"z1".*"next":null\}\} 200$'
like "a query value typed by the schema: limit=x is 400" "$(hc "$URL/api/v1/zones?limit=x")" "expected an integer.* 400$"
like "an unknown query parameter: 400 from the op's schema" "$(hc "$URL/api/v1/zones?colour=red")" "INVALID_ARG.*colour.* 400$"
like "GET /vms/nope: NOTFOUND, 404" "$(hc "$URL/api/v1/vms/nope")" '"code":"NOTFOUND".* 404$'
like "POST /ops/zone.show: the generic path" "$(hc -H 'Content-Type: application/json' -d '{"name":"z1"}' "$URL/api/v1/ops/zone.show")" '"name":"z1".* 200$'
like "POST /ops/api.ops with no body" "$(hc -X POST "$URL/api/v1/ops/api.ops")" '"ok":true.* 200$'
like "an unknown op: 400" "$(hc -X POST "$URL/api/v1/ops/nope.nope")" "unknown op 'nope.nope'.* 400$"
like "an unknown argument: 400 naming it" "$(hc -H 'Content-Type: application/json' -d '{"name":"z2","colour":1}' "$URL/api/v1/zones")" "colour.* 400$"
like "GET on an ops path: 405" "$(hc "$URL/api/v1/ops/zone.list")" " 405$"
like "PUT /zones: 405" "$(hc -X PUT "$URL/api/v1/zones")" " 405$"
like "an unknown path: 404" "$(hc "$URL/api/v1/nothing")" '"code":"NOTFOUND".* 404$'
like "outside /api/v1: an unknown file is 404" "$(hc "$URL/nothing.html")" '"code":"NOTFOUND".* 404$'
if [[ -f $TRELLIS_BUILD/share/trellis/dashboard/index.html ]]; then
	like "...and / is the dashboard's page (docs/dashboard.md)" "$(hc "$URL/")" '<div id="app"></div>.* 200$'
else
	like "...and / is 404 without a built dashboard" "$(hc "$URL/")" 'no dashboard.* 404$'
fi
like "a path parameter and a body field collide: 400" \
	"$(hc -H 'Content-Type: application/json' -d '{"pool":"x"}' "$URL/api/v1/pools/p/volumes/v" -X DELETE)" " 400$"
like "POST /workflows/{name}/runs: an unknown workflow is refused by the op" \
	"$(hc -H 'Content-Type: application/json' -d '{}' "$URL/api/v1/workflows/no.such/runs")" '"ok":false.* (400|404)$'

# -- hostile input; the store stays as it was --
big=$(python3 -c 'print("{\"name\":\"" + "x"*70000 + "\"}")')
like "a body over http.max_body: 413" "$(hc -H 'Content-Type: application/json' --data-binary "$big" "$URL/api/v1/zones")" "exceeds the limit of 65536.* 413$"
like "bad JSON: 400 with the place" "$(hc -H 'Content-Type: application/json' -d '{"name":' "$URL/api/v1/zones")" "malformed JSON body.*line 1.* 400$"
like "a JSON array: 400" "$(hc -H 'Content-Type: application/json' -d '[1]' "$URL/api/v1/zones")" "must be a JSON object.* 400$"
like "not JSON (form data): 415" "$(hc -d 'name=z3' "$URL/api/v1/zones")" " 415$"
like "chunked body: 411" "$(hc -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -d '{"name":"z4"}' "$URL/api/v1/zones")" " 411$"
like "a body on a GET: 400" "$(hc -X GET -H 'Content-Type: application/json' -d '{"name":"z5"}' "$URL/api/v1/zones")" " 400$"

# Raw sockets: slowloris headers and bodies, half-closed sockets, garbage.
out=$(python3 - "$HTTP_PORT" "$TOKEN" <<'PY'
import socket, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(8); return s
def closed_within(s, secs):
    t = time.time()
    try:
        while True:
            d = s.recv(4096)
            if not d: return time.time() - t <= secs
    except (socket.timeout, ConnectionResetError): return False
# slow headers: one byte every 0.5 s never completes
s = conn(); t0 = time.time(); closed = False
for ch in b"GET /api/v1/zones HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a"*40:
    try: s.send(bytes([ch]))
    except OSError: closed = True; break
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"": closed = True; break
    except socket.timeout: pass
    except OSError: closed = True; break
    if time.time() - t0 > 8: break
print("slow-headers", "closed" if closed and time.time() - t0 < 8 else "open", round(time.time()-t0,1))
# slow body: headers whole, the body never completes
s = conn()
s.send(("POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":" % tok).encode())
print("slow-body", "closed" if closed_within(s, 6) else "open")
# half-closed in the middle of a body
s = conn()
s.send(("POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":\"half\"" % tok).encode())
s.shutdown(socket.SHUT_WR)
print("half-body", "closed" if closed_within(s, 6) else "open")
# half-closed after a whole GET: answered, or closed, never a hang
s = conn()
s.send(("GET /api/v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % tok).encode())
s.shutdown(socket.SHUT_WR)
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
except socket.timeout: data += b"TIMEOUT"
print("half-get", "ok" if b"TIMEOUT" not in data else "hang")
# garbage
s = conn(); s.send(b"\x00\x01\x02 garbage\r\n\r\n")
print("garbage", "closed" if closed_within(s, 6) else "open")
PY
)
like "slow headers are cut off (http.timeout)" "$out" "slow-headers closed"
like "a slow body is cut off" "$out" "slow-body closed"
like "a socket half-closed in a body is closed" "$out" "half-body closed"
like "a half-closed GET is answered or closed, never hangs" "$out" "half-get ok"
like "garbage is closed" "$out" "garbage closed"
like "after all that the store holds z1 alone" "$(hc "$URL/api/v1/zones")" '"items":\[\{"id":1,"name":"z1"[^]]*\],"next":null\}\} 200$'
ok "trellisd still runs" kill -0 "$TD_PID"

# -- events --
curl -s -N -H "Authorization: Bearer $TOKEN" "$URL/api/v1/events?topic=zone." >"$TD_DIR/sse" 2>&1 &
sse=$!
TD_EXTRA_PIDS=$sse
sleep 0.5
hc -H 'Content-Type: application/json' -d '{"name":"z6"}' "$URL/api/v1/zones" >/dev/null
hc -H 'Content-Type: application/json' -d '{"name":"t6"}' "$URL/api/v1/tenants" >/dev/null
hc -X DELETE "$URL/api/v1/zones/z6" >/dev/null
for _ in $(seq 1 30); do grep -q zone.deleted "$TD_DIR/sse" && break; sleep 0.1; done
kill "$sse" 2>/dev/null
like "SSE: the event with its id and topic" "$(cat "$TD_DIR/sse")" 'id: [0-9]+.event: zone.created.data: \{.*"name":"z6".*"topic":"zone.created"'
like "... and the next" "$(cat "$TD_DIR/sse")" "event: zone.deleted"
nok "... filtered by topic (no tenant.created)" grep -q tenant.created "$TD_DIR/sse"
like "the stream needs a key" "$(curl -s -w ' %{http_code}' "$URL/api/v1/events")" " 401$"
last=$(grep -m1 '^id: ' "$TD_DIR/sse" | cut -d' ' -f2)
timeout 2 curl -s -N -H "Authorization: Bearer $TOKEN" -H "Last-Event-ID: $last" "$URL/api/v1/events?topic=zone." >"$TD_DIR/sse2"
like "Last-Event-ID resumes after it" "$(cat "$TD_DIR/sse2")" "event: zone.deleted"
td_stop
is "SIGTERM: exit 0" "$TD_RC" 0

# -- TLS --
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TD_DIR/key.pem" -out "$TD_DIR/cert.pem" \
	-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
printf 'http:\n  listen: 0.0.0.0:%s\n' "$HTTP_PORT" >"$TD_DIR/notls.yaml"
"$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/notls.yaml" --foreground 2>"$TD_DIR/notls.err"
like "off loopback without a certificate: refuses to start" "$(cat "$TD_DIR/notls.err")" "TLS needs http.cert and http.key"
http_start "tls: true" "cert: $TD_DIR/cert.pem" "key: $TD_DIR/key.pem" || { echo "Bail out! no TLS daemon"; exit 1; }
like "HTTPS with the self-signed certificate" \
	"$(curl -s --cacert "$TD_DIR/cert.pem" -H "Authorization: Bearer $TOKEN" -w ' %{http_code}' "https://127.0.0.1:$HTTP_PORT/api/v1/zones")" \
	'"name":"z1".* 200$'
nok "plain HTTP on the TLS port gets no answer" \
	curl -s -f -m 3 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/api/v1/zones"
done_testing
