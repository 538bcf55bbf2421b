#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 60
# The storage.* actions inside workflows run by trellisd: create, clone and
# snapshot succeed and their outputs flow on; when a later step fails, the
# compensation (each action's undo) leaves the pool as it was.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

if [[ ! -f $TRELLIS_BUILD/plugins/localfs.so ]]; then
	skip "storage workflows" "localfs.so not built"
	done_testing
fi
if ! tcli workflow --help >/dev/null 2>&1; then
	skip "storage workflows" "this trellis has no workflow command yet"
	done_testing
fi
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not start"; exit 1; }
P=$TD_DIR/p1
ok "pool" tcli pool create p1 --target "$P"

wf() { # wf FILE FAIL: a workflow making d1, cloning it, snapshotting the clone
	cat >"$1" <<EOW
workflow: test.storage.$2
version: 1
inputs:
  pool: {type: string}
steps:
  - id: disk
    call: storage.volume_create
    with: {pool: "\${inputs.pool}", name: "d1-$2", size: "8M"}
  - id: copy
    call: storage.volume_clone
    needs: [disk]
    with: {pool: "\${inputs.pool}", source: "\${steps.disk.name}", name: "d2-$2"}
  - id: snap
    call: storage.snapshot_create
    needs: [copy]
    with: {pool: "\${inputs.pool}", volume: "\${steps.copy.name}", snapshot: "s1"}
  - id: last
    call: core.fail
    needs: [snap]
    with: {message: "planned failure", fail_attempts: $([[ $2 == bad ]] && echo 9 || echo 0)}
outputs:
  path: "\${steps.disk.path}"
EOW
}
wf "$TD_DIR/good.yaml" good
wf "$TD_DIR/bad.yaml" bad
ok "the workflows validate" tcli workflow validate "$TD_DIR/good.yaml" "$TD_DIR/bad.yaml"
out=$(tcli workflow run "$TD_DIR/good.yaml" --input pool=p1 --wait 2>&1)
like "create, clone and snapshot in a workflow" "$out" "succeeded +disk.*succeeded +copy.*succeeded +snap"
ok "the volumes are there" test -f "$P/d1-good" -a -f "$P/d2-good"
like "the snapshot is in the clone" "$(qemu-img snapshot -l "$P/d2-good")" "s1"
out=$(tcli workflow run "$TD_DIR/bad.yaml" --input pool=p1 --wait 2>&1)
like "a later step fails" "$out" "failed +last.*planned failure"
like "the compensation ran" "$out" "compensation: done"
is "and left nothing of that run in the pool" "$(ls -A "$P" | grep -c bad)" 0
is "the earlier run's volumes stay" "$(ls -A "$P" | tr '\n' ' ')" "d1-good d2-good "
done_testing
