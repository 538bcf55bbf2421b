#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Cloud bridges and transfers (issue 21) through a real trellisd and the
# CLI: bridges between a local pool and two simulated vendor arrays of
# different dialects (HTTPS, real bytes in files), a volume moved
# local -> array A -> array B -> local with equal checksums at every hop,
# a transfer that resumes after the endpoint is cut and after trellisd is
# killed, a failed transfer that leaves no destination volume, wrong
# credentials that leave no bridge, assignment rules and a host migration
# of assignments, and vdisk.provision (an impossible size creates nothing).
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

source "$TRELLIS_SRC/tests/integration/storage/adapter_lib.sh"
adapter_setup "storage bridges"
# every event of the run, for the progress and the secrets checks (nanomsg
# reconnects by itself after the restart below)
nanocat --sub --connect "ipc://$TD_DIR/events.sock" --subscribe "" --ascii \
	>"$TD_DIR/events.txt" 2>/dev/null &
TD_EXTRA_PIDS="${TD_EXTRA_PIDS:-} $!"

cred() { # name sim password file
	printf '%s\n' "$3" | tcli storage credential add "$1" --module translated \
		--endpoint "$(sim_url "$2")" --username admin --ca-file "$SIM_CA" \
		--translation "$TX_TRANSLATIONS/$4" >/dev/null
}
cred acme A "$PW_A" acme-az.yaml
cred cx B "$PW_B" cx9.yaml
tcli pool create arrA --plugin translated --target ACME-AZ-12345/gold --option credential=acme >/dev/null
tcli pool create arrB --plugin translated --target CONEX-SYSTEM-SN2D0043/bulk --option credential=cx >/dev/null
tcli pool create loc --target "$TD_DIR/loc" >/dev/null
tcli pool create loc2 --target "$TD_DIR/loc2" >/dev/null
like "pools on the two arrays" "$(tcli pool list)" "arrA +translated +ACME-AZ-12345/gold.*arrB +translated"

# a raw local volume with 24 MiB of random bytes
run_wf() { tcli workflow run "$@" --wait -o json 2>/dev/null; }
cat >"$TD_DIR/mk.yaml" <<'EOF'
workflow: t.mk
version: 1
inputs: {pool: {type: string}, name: {type: string}, size: {type: int}}
steps:
  - id: v
    call: storage.volume_create
    with: {pool: "${inputs.pool}", name: "${inputs.name}", size: "${inputs.size}", format: raw}
EOF
run_wf "$TD_DIR/mk.yaml" -i pool=loc -i name=v1 -i size=25165824 >/dev/null
head -c 25165824 /dev/urandom >"$TD_DIR/loc/v1"
sum0=$(sha256sum <"$TD_DIR/loc/v1" | cut -d' ' -f1)

# ---- bridges ----
out=$(tcli storage bridge create loc arrA)
like "bridge create: B's access port selected and connected" "$out" "port +iqn.2026-01.com.acme:az1000.tp0"
like "... the connection request reached the array (translated)" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"])' "$SIM_DIR/A/array.json")" \
	"'port': 'iqn.2026-01.com.acme:az1000.tp0', 'from': 'arrA'"
like "bridge create through the other dialect" "$(tcli storage bridge create arrA arrB --name a-to-b)" "port +fe-b-0"
like "a port can be chosen" "$(tcli storage bridge create loc2 arrB --port fe-b-0)" "address +nvme\+tcp://198.51.100.8:4420"
like "bridge list" "$(tcli storage bridge list)" "a-to-b +arrA +arrB +fe-b-0 .*loc--arrA +loc +arrA"
like "bridge show" "$(tcli storage bridge show a-to-b)" "state +connected"
like "a transfer needs a bridge" "$(tcli volume transfer v1 --pool loc --to loc2 2>&1)" \
	"no bridge between pools 'loc' and 'loc2'"

# ---- transfers: local -> A -> B -> local ----
out=$(tcli volume transfer v1 --pool loc --to arrA)
like "transfer loc -> arrA shows progress" "$out" "transfer 100%  25165824 of 25165824 bytes"
like "... and ends with the digest (XXH3-128)" "$out" "transferred to arrA/v1: 25165824 bytes, digest [0-9a-f]{32}$"
dig1=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' <<<"$out" | tail -1)
vid=$(tcli storage discover --pool arrA -o json | json '[v["id"] for v in j["volumes"] if v["name"] == "v1"][0]')
is "... the array holds the same bytes" "$(sha256sum <"$SIM_DIR/A/vol-$vid.img" | cut -d' ' -f1)" "$sum0"
out=$(tcli volume transfer v1 --pool arrA --to arrB --name v1b)
like "transfer arrA -> arrB (two dialects)" "$out" "transferred to arrB/v1b"
is "... with the same end-to-end digest" "$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' <<<"$out" | tail -1)" "$dig1"
tcli storage bridge create loc2 arrB >/dev/null 2>&1 # exists already (as loc2--arrB): fine
out=$(tcli volume transfer v1b --pool arrB --to loc2 --name back)
like "transfer arrB -> loc2 (back)" "$out" "transferred to loc2/back"
is "... the bytes came back unchanged" "$(sha256sum <"$TD_DIR/loc2/back" | cut -d' ' -f1)" "$sum0"
like "volume show on the array pool" "$(tcli volume show v1b --pool arrB)" "format +raw"

out=$(tcli volume transfer v1 --pool loc --to arrA --name snapv --snapshot -o json 2>/dev/null)
is "--snapshot: the copy reads a clone made first, same digest" "$(json 'j["digest"]' <<<"$out")" "$dig1"
nok "... and the clone is gone afterwards" ls "$TD_DIR"/loc/xfer-*
out=$(tcli volume transfer v1 --pool loc --to arrA --name b2 --digest blake2b -o json 2>/dev/null)
like "--digest blake2b: BLAKE2b-256 digests" "$(json '[j["digest"], j["bytes"]]' <<<"$out")" "\['[0-9a-f]{64}', 25165824\]"
vid=$(tcli storage discover --pool arrA --fresh -o json | json '[v["id"] for v in j["volumes"] if v["name"] == "b2"][0]')
is "... the same bytes" "$(sha256sum <"$SIM_DIR/A/vol-$vid.img" | cut -d' ' -f1)" "$sum0"
out=$(run_wf bridge.establish -i a=loc2 -i b=arrA)
is "the shipped workflow bridge.establish" "$(json '[j["state"], j["outputs"]["port"]]' <<<"$out")" \
	"['succeeded', 'iqn.2026-01.com.acme:az1000.tp0']"

# ---- interrupted: the endpoint is cut ----
sim_post B cut '{"after": 3}' >/dev/null
( sleep 2; sim_post B heal >/dev/null ) &
heal=$!
out=$(tcli volume transfer back --pool loc2 --to arrB --name resumed -o json 2>/dev/null)
wait $heal
is "cut endpoint: the transfer ends with the same digest" "$(json 'j["digest"]' <<<"$out")" "$dig1"
ok "... resuming from the last verified chunk (not from 0)" test "$(json 'j["resumed_from"]' <<<"$out")" -gt 0
vid=$(tcli storage discover --pool arrB --fresh -o json | json '[v["id"] for v in j["volumes"] if v["name"] == "resumed"][0]')
is "... and the array holds the bytes" "$(sha256sum <"$SIM_DIR/B/vol-$vid.img" | cut -d' ' -f1)" "$sum0"

# ---- interrupted: trellisd is killed mid-transfer ----
run_wf "$TD_DIR/mk.yaml" -i pool=loc -i name=big -i size=100663296 >/dev/null
head -c 100663296 /dev/urandom >"$TD_DIR/loc/big"
sumbig=$(sha256sum <"$TD_DIR/loc/big" | cut -d' ' -f1)
id=$(tcli volume transfer big --pool loc --to arrA --chunk 131072 --no-wait)
xfer_rows() { # the progress rows of the store (core/creds: tr_volume_transfer)
	python3 -c 'import sqlite3,sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM tr_volume_transfer").fetchone()[0])' \
		"$TD_DIR/trellis.db" 2>/dev/null
}
for _ in $(seq 400); do
	[[ $(xfer_rows) -gt 0 ]] && break
	sleep 0.02
done
sleep 0.3
kill -9 "$TD_PID"; wait "$TD_PID" 2>/dev/null; TD_PID=
ok "killed mid-copy: a progress row of the store says how far it got" test "$(xfer_rows)" -gt 0
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not restart"; exit 1; }
is "after the restart the transfer finishes" "$(wf_final "$id")" succeeded
ok "... resumed from the last verified chunk" test "$(tcli workflow status "$id" -o json | json 'j["outputs"]["resumed_from"]')" -gt 0
vid=$(tcli storage discover --pool arrA --fresh -o json | json '[v["id"] for v in j["volumes"] if v["name"] == "big"][0]')
is "... with the source's bytes" "$(sha256sum <"$SIM_DIR/A/vol-$vid.img" | cut -d' ' -f1)" "$sumbig"

# ---- a failure leaves no half-made destination ----
sim_post A cut '{"after": 2}' >/dev/null
out=$(tcli volume transfer v1 --pool loc --to arrA --name doomed 2>&1)
sim_post A heal >/dev/null
like "a transfer that keeps failing fails" "$out" "failed"
nok "... and leaves no destination volume" grep -q '"doomed"' <<<"$(tcli storage discover --pool arrA --fresh -o json)"

# ---- wrong credentials: no bridge, no assignment ----
tcli storage credential delete cx >/dev/null
cred cx B 'wrong-password' cx9.yaml
like "bridge create with wrong credentials fails cleanly" "$(tcli storage bridge create arrA arrB --name bad 2>&1)" "AUTH"
nok "... no bridge is recorded" grep -q '"bad"' <<<"$(tcli storage bridge list -o json)"
is "... nor left in the store" "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM tr_storage_bridge WHERE name = ?", ("bad",)).fetchone()[0])' "$TD_DIR/trellis.db")" 0
tcli storage credential delete cx >/dev/null
cred cx B "$PW_B" cx9.yaml

# ---- assignments ----
like "assign one volume to a host's initiators" \
	"$(tcli storage assign v1 --pool arrA --host h1 --initiators iqn.h1:a,iqn.h1:b)" "host +h1"
is "... discovery shows the view" \
	"$(tcli storage discover --pool arrA --fresh -o json | json '[(a["host"], a["initiators"]) for a in j["assignments"] if a["host"] == "h1"]')" \
	"[('h1', ['iqn.h1:a', 'iqn.h1:b'])]"
cat >"$TD_DIR/two.yaml" <<'EOF'
workflow: t.two
version: 1
steps:
  - id: a
    call: storage.assign
    with: {pool: arrA, volume: [v1, big], host: h1, initiators: [iqn.h1:a]}
EOF
like "two volumes at once are refused, with the reason" "$(run_wf "$TD_DIR/two.yaml" | json 'j["error"]')" \
	"an assignment takes one volume, not 2"
like "an initiator of another host is refused, naming it" \
	"$(tcli storage assign v1 --pool arrA --host h2 --initiators iqn.h1:a 2>&1)" \
	"initiator 'iqn.h1:a' belongs to host 'h1', not 'h2'"
like "a port named for another host is refused" \
	"$(tcli storage assign v1 --pool arrA --host h2 --initiators iqn.x@h3 2>&1)" \
	"initiators of one host only"
like "migration: reassign to the new host" \
	"$(tcli storage reassign v1 --pool arrA --from h1 --to h2 --initiators iqn.h2:a)" "to +h2"
is "... the new host's initiators are added and the old host's removed" \
	"$(tcli storage discover --pool arrA --fresh -o json | json 'sorted((a["host"], a["initiators"]) for a in j["assignments"] if a["host"] in ("h1", "h2"))')" \
	"[('h2', ['iqn.h2:a'])]"
like "unassign" "$(tcli storage unassign v1 --pool arrA --host h2)" "host +h2"
is "... the view is gone" \
	"$(tcli storage discover --pool arrA --fresh -o json | json '[a for a in j["assignments"] if a["host"] == "h2"]')" "[]"

# ---- vdisk.provision ----
out=$(run_wf vdisk.provision -i name=huge -i size=1099511627776 -i host=h5 -i initiators=iqn.h5:a -i "pools=arrA arrB")
is "vdisk.provision: an impossible size fails" "$(json 'j["state"]' <<<"$out")" failed
like "... with the reason" "$(json 'j["error"]' <<<"$out")" "no pool has 1099511627776 bytes free \(the most is [0-9]+, in arrB\)"
nok "... and nothing is created" grep -q '"huge"' <<<"$(tcli storage discover --pool arrA --fresh -o json; tcli storage discover --pool arrB --fresh -o json)"
out=$(run_wf vdisk.provision -i name=vd1 -i size=8388608 -i host=h5 -i initiators=iqn.h5:a -i "pools=arrB arrA")
is "vdisk.provision picks a pool with room, creates and assigns" "$(json '[j["state"], j["outputs"]["pool"]]' <<<"$out")" "['succeeded', 'arrB']"
is "... the volume is assigned to the host" \
	"$(tcli storage discover --pool arrB --fresh -o json | json '[a["initiators"] for a in j["assignments"] if a["host"] == "h5"]')" "[['iqn.h5:a']]"

like "transfers published their progress as events" "$(grep -c 'volume.transfer.progress' "$TD_DIR/events.txt")" "^[1-9][0-9]*$"
like "... and the bridges theirs" "$(cat "$TD_DIR/events.txt")" "storage.bridge.established"
nok "no secret in the daemon's log" grep -q -e "$PW_A" -e "$PW_B" "$TD_DIR/daemon.log"
nok "... nor in any event" grep -q -e "$PW_A" -e "$PW_B" "$TD_DIR/events.txt"
nok "... nor in the state dir" grep -rqa -e "$PW_A" -e "$PW_B" "$TD_DIR" --exclude-dir=sims --exclude=events.txt
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
