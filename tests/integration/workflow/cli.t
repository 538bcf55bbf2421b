#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# trellis workflow ... against a real trellisd: run --wait shows each step
# and exits non-zero with the failing step's error; compensation; cancel;
# list --state; logs; defs; secrets never reach the CLI, the journal, the
# daemon log or the event stream.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
td_start || { echo "Bail out! trellisd does not start"; exit 1; }
W=$TD_DIR
# wait_running ID STEP: until the step is running (at most 10 s).
wait_running() {
	local i
	for i in $(seq 1 100); do
		[[ $(tcli workflow logs "$1" -o json | json "[s['state'] for s in j['steps'] if s['step'] == '$2'][0]") == running ]] && return 0
		sleep 0.1
	done
	return 1
}
secret=Sesame-$RANDOM-Open
# Watch the event stream for the whole test.
if command -v nanocat >/dev/null; then
	nanocat --sub --connect "ipc://$TD_DIR/events.sock" --subscribe workflow. -A \
		>"$W/events.txt" 2>/dev/null &
	TD_EXTRA_PIDS=$!
	sleep 0.2
fi

cat >"$W/ok.yaml" <<'YAML'
workflow: cli.ok
inputs:
  token: secret
  wait: {type: duration, default: 50ms}
steps:
  - id: first
    call: core.sleep
    with: {duration: "${inputs.wait}"}
  - id: second
    call: core.log
    needs: first
    with: {message: "token is ${inputs.token}"}
outputs:
  said: "${steps.second.message}"
YAML
printf '%s\n' "$secret" >"$W/token"
out=$(tcli workflow run "$W/ok.yaml" --input "token=@$W/token" --wait 2>&1)
is "run --wait of a good workflow exits 0" "$?" 0
like "one line per step with its state" "$out" "succeeded +first +core.sleep"
like "the last line says it succeeded" "$out" "workflow wf-[0-9a-f]+ succeeded"
okid=$(printf '%s\n' "$out" | sed -n 's/^workflow \(wf-[0-9a-f]*\) started$/\1/p')
printf 'workflow: cli.echo\ninputs: {msg: string}\nsteps:\n  - {id: say, call: core.log, with: {message: "${inputs.msg}"}}\noutputs: {said: "${steps.say.message}"}\n' >"$W/echo.yaml"
printf 'from-a-file\n' >"$W/msg"
like "--input K=@FILE reads the value from the file" \
	"$(tcli -o json workflow run "$W/echo.yaml" --input "msg=@$W/msg" --wait)" \
	'"said": "from-a-file"'

status=$(tcli workflow status "$okid" -o json)
like "status has the outputs, redacted" "$status" '"said": "token is \*\*\*"'

cat >"$W/fail.yaml" <<'YAML'
workflow: cli.fail
steps:
  - id: made
    call: core.log
    with: {message: thing}
    undo: {call: core.log, with: {message: unmade}}
  - id: breaks
    call: core.fail
    needs: made
    with: {message: the disk is on fire, code: BACKEND}
    retry: {attempts: 2, backoff: 10ms}
YAML
out=$(tcli workflow run "$W/fail.yaml" --wait 2>&1)
is "run --wait of a failing workflow exits 1" "$?" 1
like "it prints the failing step's error" "$out" "failed at step breaks: BACKEND: the disk is on fire"
like "and the compensation" "$out" "compensation: done"
failid=$(printf '%s\n' "$out" | sed -n 's/^workflow \(wf-[0-9a-f]*\) started$/\1/p')
logs=$(tcli workflow logs "$failid")
like "logs: the failed step, its call and attempts" "$logs" "breaks +core.fail +failed +2 "
like "logs: the undone step" "$logs" "made +core.log +succeeded +1 .* undone"
list=$(tcli workflow list --state failed -o json)
like "list --state failed has it" "$list" "$failid"
unlike_ok=$(printf '%s' "$list" | grep -c "$okid")
is "list --state failed leaves the succeeded one out" "$unlike_ok" 0

cat >"$W/long.yaml" <<'YAML'
workflow: cli.long
steps:
  - id: made
    call: core.log
    with: {message: x}
    undo: {call: core.log, with: {message: y}}
  - id: wait
    call: core.sleep
    needs: made
    with: {duration: 60s}
YAML
longid=$(tcli workflow run "$W/long.yaml" --no-wait)
like "run --no-wait prints the id" "$longid" "^wf-[0-9a-f]+$"
wait_running "$longid" wait
out=$(tcli workflow cancel "$longid" 2>&1)
is "cancel answers" "$?" 0
for i in $(seq 1 50); do
	st=$(tcli workflow status "$longid" -o json | json 'j["state"] + "/" + str(j["compensation"])')
	[[ $st == cancelled/* ]] && break
	sleep 0.1
done
is "a cancelled instance is compensated" "$st" "cancelled/done"

out=$(tcli workflow run "$W/ok.yaml" --no-wait 2>&1)
is "a missing required input is refused" "$?" 1
like "naming the input" "$out" "missing required input 'token'"
printf 'workflow: bad\nsteps:\n  - id: a\n    call: core.nope\n' >"$W/bad.yaml"
out=$(tcli workflow run "$W/bad.yaml" 2>&1)
is "an invalid file is refused" "$?" 1
like "with FILE:LINE:COL" "$out" "bad.yaml:4:11: unknown action 'core.nope'"
defs=$(tcli workflow defs -o json)
like "defs lists the shipped workflows" "$defs" '"name": "vm.start"'
g=$(tcli workflow graph vm.provision --format dot)
like "graph NAME draws a loaded definition" "$g" '"place" -> "disk";'

all=$(tcli workflow logs "$okid" -o json; tcli workflow list -o json; tcli workflow status "$okid" -o json)
is "the secret is not in CLI output" "$(printf '%s' "$all" | grep -c "$secret")" 0
is "the secret is not in the database" "$(cat "$TD_DIR"/trellis.db* | grep -ac "$secret")" 0
is "the secret is not in the daemon log" "$(grep -c "$secret" "$TD_DIR/daemon.log")" 0
if [[ -n ${TD_EXTRA_PIDS:-} ]]; then
	sleep 0.2
	ev=$(cat "$W/events.txt")
	like "events: step finished with a duration" "$ev" 'workflow.step.finished.*"duration_ms"'
	like "events: instance finished" "$ev" "workflow.finished.*$failid"
	is "the secret is not in the events" "$(grep -c "$secret" "$W/events.txt")" 0
else
	skip "event stream checks" "nanocat (nanomsg-utils) is not installed"
fi
# SIGTERM while a step runs: the daemon stops at once (the step is asked
# to stop) and the instance carries on after the restart.
longid2=$(tcli workflow run "$W/long.yaml" --no-wait)
wait_running "$longid2" wait
t0=$SECONDS
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
ok "it stopped without waiting for the 60 s step" test $((SECONDS - t0)) -lt 10
td_start || { echo "Bail out! trellisd does not restart"; exit 1; }
st=$(tcli workflow status "$longid2" -o json | json 'j["state"]')
is "the instance resumed after the restart" "$st" running
tcli workflow cancel "$longid2" >/dev/null
for i in $(seq 1 50); do
	st=$(tcli workflow status "$longid2" -o json | json 'j["state"] + "/" + str(j["compensation"])')
	[[ $st == cancelled/* ]] && break
	sleep 0.1
done
is "and can be cancelled there" "$st" "cancelled/done"
att=$(tcli workflow logs "$longid2" -o json | json '[s["attempts"] for s in j["steps"] if s["step"] == "wait"][0]')
is "the interrupted step ran again (attempt 2)" "$att" 2
td_stop
done_testing
