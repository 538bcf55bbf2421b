#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Several managers: the CLI given several endpoints (--socket A,B or
# TRELLIS_SOCKET with commas) uses the first that accepts a connection,
# fails over to the next when one is gone, says which with -v, and names
# every endpoint when none answers.  Two real trellisd, each on its own
# state dir (they share nothing: which one answered shows in what it has).
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

td_start || { echo "Bail out! trellisd does not start"; exit 1; }
A=$TRELLIS_SOCKET
B_DIR=$TD_DIR/b
mkdir -p "$B_DIR"
"$TD_BIN/trellisd" --state-dir "$B_DIR" --foreground 2>>"$B_DIR/daemon.log" &
B_PID=$!
TD_EXTRA_PIDS=$B_PID
B=ipc://$B_DIR/api.sock
for _ in $(seq 100); do
	tcli --socket "$B" --timeout 1000 api status >/dev/null 2>&1 && break
	sleep 0.05
done
tcli --socket "$A" zone create zone-a >/dev/null
tcli --socket "$B" zone create zone-b >/dev/null
GONE=ipc://$TD_DIR/gone.sock
names() { json '[z["name"] for z in j["items"]]'; }

is "A,B: the first answers" "$(tcli --socket "$A,$B" zone list -o json | names)" "['zone-a']"
is "gone,A: the gone one is skipped" "$(tcli --socket "$GONE,$A" zone list -o json | names)" "['zone-a']"
err=$(tcli -v --socket "$GONE,$B" zone list -o json 2>&1 >/dev/null)
like "-v says the gone endpoint was skipped" "$err" "gone.sock: .*trying the next endpoint"
like "... and which one answered" "$err" "using $B"
is "TRELLIS_SOCKET with commas" \
	"$(TRELLIS_SOCKET="$GONE,$B" tcli zone list -o json | names)" "['zone-b']"
is "a dead tcp:// endpoint first, then an ipc:// one" \
	"$(tcli --socket "tcp://127.0.0.1:1,$A" zone list -o json | names)" "['zone-a']"
is "without -v nothing is said" "$(tcli --socket "$GONE,$A" zone list 2>&1 >/dev/null)" ""

# one manager dies: the same endpoint list now reaches the other
kill -9 "$TD_PID"
wait "$TD_PID" 2>/dev/null
TD_PID=
err=$(tcli -v --socket "$A,$B" zone list -o json 2>"$TD_DIR/err" | names)
is "A killed: A,B reaches B" "$err" "['zone-b']"
like "... and -v names B" "$(cat "$TD_DIR/err")" "using $B"
ok "a write through the list lands on B" tcli --socket "$A,$B" zone create zone-b2
is "... and only there" "$(tcli --socket "$B" zone list -o json | names)" "['zone-b', 'zone-b2']"

# none answers: one line naming each endpoint, exit 1
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null
TD_EXTRA_PIDS=
out=$(tcli --socket "$A,$B" zone list 2>&1)
is "none answers: exit 1" "$?" 1
like "... naming every endpoint" "$out" "no trellisd answers on any of the 2 endpoints: $A .*, $B "
is "... on one line" "$(wc -l <<<"$out")" 1
done_testing
