#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A slow host never blocks the others: host add against a libvirt
# endpoint that accepts and then never answers runs on a worker while
# every other request is answered at once; SIGTERM then stops the daemon
# within shutdown_grace, with the store closed cleanly.
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

if ! td_have_libvirt_plugin; then
	skip "slow host" "plugins/libvirt.so is not built"
	done_testing
fi
if td_asan_breaks_libvirt_rpc; then
	skip "slow host" "AddressSanitizer's xdr interceptors break libvirt's remote protocol"
	done_testing
fi
# The silent endpoint: accepts TCP connections and never says a word.
python3 - "$TD_DIR/port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
PY
TD_EXTRA_PIDS=$!
for _ in $(seq 1 50); do [[ -s $TD_DIR/port ]] && break; sleep 0.1; done
port=$(cat "$TD_DIR/port")
printf 'shutdown_grace: 2s\n' >"$TD_DIR/cfg.yaml"
td_start --config "$TD_DIR/cfg.yaml" || { echo "Bail out! trellisd does not start"; exit 1; }
tcli zone create z >/dev/null
tcli pod create p --zone z >/dev/null
tcli cluster create c --pod p >/dev/null

tcli --timeout 60000 host add stuck --cluster c --uri "qemu+tcp://127.0.0.1:$port/system" \
	>"$TD_DIR/stuck.out" 2>&1 &
stuck=$!
sleep 1
ok "the slow host add is still waiting" kill -0 "$stuck"
t0=$(date +%s%N)
for i in $(seq 1 20); do tcli zone show z >/dev/null || break; done
ms=$((($(date +%s%N) - t0) / 1000000))
is "20 other requests answered meanwhile" "$i" 20
ok "and quickly (${ms} ms for 20)" test "$ms" -lt 5000
# A client that gives up on its slow request and goes away.
timeout 0.5 "$TD_BIN/trellis" --timeout 60000 host add stuck2 --cluster c \
	--uri "qemu+tcp://127.0.0.1:$port/system" >/dev/null 2>&1
ok "a vanished slow client does not block either" tcli zone show z
t0=$(date +%s)
td_stop
dt=$(($(date +%s) - t0))
ok "SIGTERM stops within shutdown_grace despite the stuck op (${dt} s)" test "$dt" -le 6
kill "$stuck" 2>/dev/null
wait "$stuck" 2>/dev/null
is "store integrity after the forced stop" "$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA integrity_check')" ok
like "the log says why it did not wait" "$(cat "$TD_DIR/daemon.log")" "still running after shutdown_grace"
done_testing
