#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# api_link.t - the CLI's tcp:// API over the secure link (docs/agent.md,
# "The tcp:// API"): with the core's key pinned (TRELLIS_CORE_KEY, as
# `api status` says it) requests work; without it the CLI says what it
# needs; a key that is not the core's fails the handshake; a plaintext
# client gets no answer; and a capture of the port (tshark on lo) shows
# neither the API key nor what went and came back.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
command -v tshark >/dev/null || { echo "1..0 # SKIP tshark not installed"; exit 0; }
port=$((20000 + RANDOM % 20000))
tcp="tcp://127.0.0.1:$port"
printf 'api:\n  tcp: %s\n' "$tcp" >"$TD_DIR/tcp.yaml"
key=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" --api-key-add ops 2>/dev/null)
tshark -q -i lo -f "tcp port $port" -w "$TD_DIR/api.pcap" >"$TD_DIR/tshark.log" 2>&1 &
CAP=$!
TD_EXTRA_PIDS=$CAP
for i in $(seq 50); do grep -q "Capturing on" "$TD_DIR/tshark.log" && break; sleep 0.1; done
td_start --config "$TD_DIR/tcp.yaml" || { nok "trellisd starts" true; done_testing; }
lk=$(tcli -o json api status | json "j['link_key']")
like "api status says the core's link key" "$lk" '^[0-9a-f]{64}$'
is "...which is the one in the state dir" "$lk" "$(cut -d' ' -f1 "$TD_DIR/link.key")"
over() { TRELLIS_API_KEY=$key TRELLIS_CORE_KEY=$1 tcli --socket "$tcp" --timeout 5000 "${@:2}" 2>&1; }
secret_name=bu-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
ok "over tcp:// with the key pinned: a tenant is made" over "$lk" tenant create "$secret_name"
like "...and listed back" "$(over "$lk" tenant list)" "$secret_name"
out=$(TRELLIS_API_KEY=$key TRELLIS_CORE_KEY= tcli --socket "$tcp" tenant list 2>&1)
like "no key pinned: the CLI says what it needs" "$out" "needs the core's public key: set TRELLIS_CORE_KEY"
other=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(over "$other" tenant list)
like "another key pinned: the handshake fails" "$out" "handshake failed: .*not the pinned key"
nok "...and nothing is answered" grep -q "$secret_name" <<<"$out"
# A plaintext client (the API as it was): no answer, and the core says why.
out=$(timeout 5 nanocat --req --connect "$tcp" --data '{"v":1,"op":"tenant.list","args":{},"auth":"'"$key"'"}' \
	--recv-timeout 2 -A 2>&1)
nok "a plaintext request gets no answer" grep -q "$secret_name" <<<"$out"
ok "the core logs the refused connection" grep -q "api $tcp: refused a connection" "$TD_DIR/daemon.log"
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
sleep 0.5
kill -INT "$CAP"
wait "$CAP" 2>/dev/null
tshark -r "$TD_DIR/api.pcap" -Y "tcp.len > 0" -T fields -e tcp.payload 2>/dev/null | tr -d ':\n' | xxd -r -p >"$TD_DIR/payload.bin"
like "the capture holds the traffic" "$(stat -c %s "$TD_DIR/payload.bin")" '^[0-9]{3,}'
# The plaintext client's request is in clear, of course: look at the
# encrypted connections only (everything before it).
cut=$(grep -abo '{"v":1' "$TD_DIR/payload.bin" | head -1 | cut -d: -f1)
head -c "${cut:-999999999}" "$TD_DIR/payload.bin" >"$TD_DIR/secure.bin"
for s in "$key" "$secret_name" "tenant.create" '"ok"' '"auth"'; do
	nok "no '${s:0:20}' in clear on the secure connections" grep -aqF -- "$s" "$TD_DIR/secure.bin"
done
done_testing
