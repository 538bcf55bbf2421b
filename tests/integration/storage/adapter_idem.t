#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# Idempotency keys of the translated plugin across a restart (issue 21): a
# vendor array keeps no key with a volume, so the plugin keeps them in its
# state dir (host->state_dir: STATE_DIR/plugins/translated/made.json).
# A volume create is made to hang at the simulated array after the volume
# exists (POST /_sim/hold), trellisd is killed -9 meanwhile, and after the
# restart the workflow's replay of the step (same key) finds the volume as
# its own instead of CONFLICT; another request's create of that name is
# still CONFLICT.  Also the upgrade from the files of before: credential
# and bridge files in the state dir become rows of the store at start.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
source "$TRELLIS_SRC/tests/integration/storage/adapter_lib.sh"
adapter_setup "idempotency keys across a restart"

printf '%s\n' "$PW_A" | tcli storage credential add acme --module translated \
	--endpoint "$(sim_url A)" --username admin --ca-file "$SIM_CA" \
	--translation "$TX_TRANSLATIONS/acme-az.yaml" >/dev/null
tcli pool create arrA --plugin translated --target ACME-AZ-12345/gold --option credential=acme >/dev/null
cat >"$TD_DIR/mk.yaml" <<'Y'
workflow: t.mk
version: 1
inputs: {name: {type: string}}
steps:
  - id: v
    call: storage.volume_create
    with: {pool: arrA, name: "${inputs.name}", size: 1048576, format: raw}
    retry: {attempts: 3, backoff: 1s}
Y
vendor_has() { # name: how many volumes of that name the array holds
	python3 -c 'import json,sys; print(sum(1 for v in json.load(open(sys.argv[1]))["volumes"] if v.get("name") == sys.argv[2]))' \
		"$SIM_DIR/A/array.json" "$1"
}
made=$TD_DIR/plugins/translated/made.json

sim_post A hold '{"create": 20}' >/dev/null
id=$(tcli workflow run "$TD_DIR/mk.yaml" -i name=idem1 -o json | json 'j["id"]')
for _ in $(seq 200); do [[ $(vendor_has idem1 2>/dev/null) == 1 ]] && break; sleep 0.05; done
is "the array made the volume (and holds its answer back)" "$(vendor_has idem1)" 1
like "... the key was on disk before the array answered" "$(cat "$made" 2>/dev/null)" "\|ACME-AZ-12345/gold\|idem1\":\"$id/v\""
kill -9 "$TD_PID"; wait "$TD_PID" 2>/dev/null; TD_PID=
sim_post A hold '{"create": 0}' >/dev/null
# the upgrade: records as the files of before (STATE_DIR/credentials,
# bridges), made from the store's own row of acme (its secret sealed
# under the same key)
mkdir -p "$TD_DIR/credentials" "$TD_DIR/bridges"
python3 - "$TD_DIR" <<'PY'
import json, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect("file:%s/trellis.db?mode=ro" % d, uri=True)
rec = json.loads(db.execute("SELECT body FROM tr_storage_credential WHERE name = 'acme'").fetchone()[0])
rec["name"] = "acme-old"
json.dump(rec, open("%s/credentials/acme-old.json" % d, "w"))
json.dump({"name": "old-b", "a": "arrA", "b": "far", "port": "p0", "address": "", "state": "connected",
           "created_at": 1}, open("%s/bridges/old-b.json" % d, "w"))
PY
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not restart"; exit 1; }
like "upgrade: a credential file of before is a row now" "$(tcli storage credential show acme-old)" "endpoint +https://127.0.0.1"
like "... a bridge file too" "$(tcli storage bridge list)" "old-b +arrA +far"
nok "... and the files and their folders are gone" ls -d "$TD_DIR/credentials" "$TD_DIR/bridges"
like "... the secret still opens (discovery through the moved credential)" \
	"$(tcli storage discover acme-old -o json 2>&1)" '"ACME-AZ-12345"'

is "after the restart the replayed create finds its volume" "$(wf_final "$id")" succeeded
is "... one volume, not two" "$(vendor_has idem1)" 1
is "... no CONFLICT on the way" "$(grep -c 'idem1.*already exists' "$TD_DIR/daemon.log")" 0

out=$(tcli workflow run "$TD_DIR/mk.yaml" -i name=idem1 --wait 2>&1)
like "another request's create of that name is CONFLICT" "$out" "already exists \(made by another request\)"
is "... and nothing more is made" "$(vendor_has idem1)" 1

cat >"$TD_DIR/rm.yaml" <<'Y'
workflow: t.rm
version: 1
steps:
  - id: d
    call: storage.volume_delete
    with: {pool: arrA, name: idem1}
Y
ok "a plain delete removes it" tcli workflow run "$TD_DIR/rm.yaml" --wait
is "... at the array" "$(vendor_has idem1)" 0
nok "... and its key is forgotten" grep -q idem1 "$made"
td_stop
done_testing
