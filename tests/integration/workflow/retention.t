#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# The journal's retention against a real trellisd: `workflow purge
# --older-than AGE` removes finished instances with their steps but never
# one that finished after an unfinished instance began (it may be that
# one's child); workflows.retention does the same by itself, a second
# after start and then every ten minutes; a bad retention is refused with
# its place in the config file.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
W=$TD_DIR
printf 'workflow: ret.echo\ninputs: {msg: string}\nsteps:\n  - {id: say, call: core.log, with: {message: "${inputs.msg}"}}\n' >"$W/echo.yaml"
printf 'workflow: ret.long\nsteps:\n  - {id: nap, call: core.sleep, with: {duration: 60s}}\n' >"$W/long.yaml"
# run MSG: runs echo.yaml to its end; prints the instance id.
run() {
	tcli -o json workflow run "$W/echo.yaml" --input "msg=$1" --wait |
		json 'j["id"]'
}
state() {
	tcli workflow status "$1" -o json 2>/dev/null | json 'j["state"]' 2>/dev/null ||
		echo absent
}
count() { td_sql "$1"; }

td_start || { echo "Bail out! trellisd does not start"; exit 1; }
out=$(tcli -o json workflow run "$W/echo.yaml" --input msg=x --wait 2>/dev/null)
ok "-o json run --wait: stdout is the JSON alone (step lines on stderr)" \
	python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"
tcli workflow purge --older-than 0 >/dev/null
a=$(run a)
b=$(run b)
like "two instances ran" "$a $b" "^wf-[0-9a-f]+ wf-[0-9a-f]+$"
long=$(tcli -o json workflow run "$W/long.yaml" --no-wait | json 'j["id"]')
c=$(run c)
is "a long one runs" "$(state "$long")" running

out=$(tcli workflow purge 2>&1)
is "purge without --older-than is a usage error (exit 2)" "$?" 2
like "... naming the option" "$out" "older-than"
out=$(tcli workflow purge --older-than soon 2>&1)
is "a bad age is refused (exit 1)" "$?" 1
like "... as INVALID_ARG naming the field" "$out" "INVALID_ARG.*older_than"
is "nothing went" "$(count 'SELECT count(*) FROM wf_instance')" 4

res=$(tcli -o json workflow purge --older-than 1h)
is "--older-than 1h: nothing that young goes" "$(json 'j["purged"]' <<<"$res")" 0
res=$(tcli -o json workflow purge --older-than 0)
is "--older-than 0: the two that ended before the long one began" \
	"$(json '[j["purged"], j["more"]]' <<<"$res")" "[2, False]"
is "the first is gone" "$(state "$a")" absent
is "... with its steps" \
	"$(count "SELECT count(*) FROM wf_step WHERE instance IN ('$a', '$b')")" 0
is "the one that ended after the long one began stays" "$(state "$c")" succeeded
is "... and the long one" "$(state "$long")" running

ok "the long one is cancelled" tcli workflow cancel "$long"
for _ in $(seq 1 50); do
	[[ $(state "$long") == running || $(state "$long") == compensating ]] || break
	sleep 0.1
done
is "... and ends" "$(state "$long")" cancelled
res=$(tcli -o json workflow purge --older-than 0)
is "nothing unfinished left: the rest goes" "$(json 'j["purged"]' <<<"$res")" 2
is "the journal is empty" "$(count 'SELECT count(*) FROM wf_instance') $(count 'SELECT count(*) FROM wf_step')" "0 0"

# workflows.retention: two instances finished two days ago, one now.
old1=$(run old1)
old2=$(run old2)
new=$(run new)
td_stop
td_sql "UPDATE wf_instance SET finished_at = finished_at - 2*86400*1000 WHERE id IN (?, ?)" "$old1" "$old2"
printf 'workflows:\n  retention: 1d\n' >"$W/retention.yaml"
td_start --config "$W/retention.yaml" || { echo "Bail out! trellisd does not restart"; exit 1; }
for _ in $(seq 1 50); do
	[[ $(count 'SELECT count(*) FROM wf_instance') == 1 ]] && break
	sleep 0.1
done
is "retention 1d: the two-day-old instances went by themselves" "$(state "$old1") $(state "$old2")" "absent absent"
is "... the recent one stays" "$(state "$new")" succeeded
like "... and the daemon log says so" "$(cat "$W/daemon.log")" "workflows.retention: 2 instances that finished over 86400 s ago"
td_stop
is "clean stop" "$TD_RC" 0

printf 'workflows:\n  retention: 10s\n' >"$W/bad.yaml"
out=$("$TD_BIN/trellisd" --state-dir "$W" --foreground --config "$W/bad.yaml" 2>&1)
is "a retention under a minute is refused (exit 1)" "$?" 1
like "... with its place and the rule" "$out" "bad.yaml:2:14: workflows.retention: expected 0 \(keep forever\) or a duration from 1m to 3650d"
printf 'workflows:\n  retention: 0\n' >"$W/keep.yaml"
td_start --config "$W/keep.yaml" || { echo "Bail out! trellisd does not restart"; exit 1; }
sleep 1.5
is "retention 0 keeps everything" "$(state "$new")" succeeded
td_stop
done_testing
