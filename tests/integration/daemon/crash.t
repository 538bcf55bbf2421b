#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 at random instants while clients write: after each restart every
# acknowledged write is there, nothing half-made, integrity_check ok.
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

td_start || { echo "Bail out! trellisd does not start"; exit 1; }
tcli zone create z >/dev/null
tcli pod create p --zone z >/dev/null
acked=$TD_DIR/acked
: >"$acked"
n=0
for round in 1 2 3 4; do
	# Writers: each acknowledged create is appended to $acked.
	(
		i=0
		while :; do
			i=$((i + 1))
			name="r${round}c$i"
			if tcli --timeout 2000 cluster create "$name" --pod z/p >/dev/null 2>&1; then
				echo "$name" >>"$acked"
			fi
		done
	) &
	writer=$!
	TD_EXTRA_PIDS=$writer
	sleep "0.$((RANDOM % 5 + 3))"
	kill -9 "$TD_PID"
	wait "$TD_PID" 2>/dev/null
	TD_PID=
	kill "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null
	TD_EXTRA_PIDS=
	is "round $round: integrity_check after kill -9" \
		"$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA integrity_check' 2>&1)" ok
	td_start || { echo "Bail out! trellisd does not restart"; exit 1; }
	# Every page (--all): a fast run acknowledges more than one page.
	have=$(tcli cluster list --pod z/p --all -o json | json '"\n".join(i["name"] for i in j["items"])')
	missing=0
	while read -r name; do
		grep -qx "$name" <<<"$have" || { missing=$((missing + 1)); diag "lost: $name"; }
	done <"$acked"
	is "round $round: every acknowledged write survived ($(wc -l <"$acked") so far)" "$missing" 0
	n=$(wc -l <"$acked")
done
ok "the writers made progress" test "$n" -gt 10
is "foreign keys hold" "$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA foreign_key_check' 2>&1)" ""
td_stop
is "clean stop after the crashes" "$TD_RC" 0
done_testing
