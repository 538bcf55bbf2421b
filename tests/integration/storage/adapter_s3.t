#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# The S3 round trip (issue 21): a real S3 endpoint (npm's s3rver, over
# HTTPS, pinned by tests/integration/storage/s3/package-lock.json and
# installed by test.sh) as the cloud side of a bridge, reached by the
# translated plugin with libcurl's SigV4 and no translation beyond the
# shipped S3 section (translations/s3.yaml): discovery of the bucket, a
# volume moved local -> S3 -> local with equal bytes and equal digests.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
s3rver=$TRELLIS_SRC/tests/integration/storage/s3/node_modules/.bin/s3rver
if [[ ! -x $s3rver ]] || ! command -v node >/dev/null; then
	skip "the S3 round trip" "no s3rver (npm ci in tests/integration/storage/s3, as test.sh does)"
	done_testing
fi
source "$TRELLIS_SRC/tests/integration/storage/adapter_lib.sh"
if [[ ! -f $TRELLIS_BUILD/plugins/translated.so ]]; then
	skip "the S3 round trip" "translated.so not built"
	done_testing
fi
mkdir -p "$SIM_DIR/s3"
"$s3rver" -d "$SIM_DIR/s3" -a 127.0.0.1 -p 0 --key "$SIM_DIR/key.pem" --cert "$SIM_DIR/cert.pem" \
	--configure-bucket vols >"$SIM_DIR/s3.log" 2>&1 &
TD_EXTRA_PIDS="${TD_EXTRA_PIDS:-} $!"
for _ in $(seq 100); do grep -q 'listening on' "$SIM_DIR/s3.log" && break; sleep 0.1; done
port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$SIM_DIR/s3.log" | grep -o '[0-9]*$')
ok "s3rver listens (HTTPS)" test -n "$port"
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not start"; exit 1; }
export TRELLIS_SOCKET=ipc://$TD_DIR/api.sock

S3_SECRET=S3RVER # s3rver's own key pair
like "an S3 credential: access key as the user, the secret key on stdin" \
	"$(echo "$S3_SECRET" | tcli storage credential add s3 --module translated --endpoint "https://127.0.0.1:$port" \
		--username S3RVER --translation "$TX_TRANSLATIONS/s3.yaml" --ca-file "$SIM_CA")" "name +s3"
d=$(tcli storage discover s3 -o json)
is "discovery over SigV4: the store is a system" "$(json '[s["id"] for s in j["systems"]]' <<<"$d")" "['S3-CLOUD-123456789000']"
is "... its bucket a pool (XML answers read as data)" "$(json '[(p["name"], p["class"]) for p in j["pools"]]' <<<"$d")" "[('vols', 'bucket')]"
like "pool create on the bucket" \
	"$(tcli pool create s3p --plugin translated --target S3-CLOUD-123456789000/vols --option credential=s3)" "name +s3p"
tcli pool create loc --target "$TD_DIR/loc" >/dev/null
tcli pool create loc2 --target "$TD_DIR/loc2" >/dev/null
cat >"$TD_DIR/mk.yaml" <<'Y'
workflow: t.mk
version: 1
steps:
  - id: v
    call: storage.volume_create
    with: {pool: loc, name: v1, size: 6291456, format: raw}
Y
tcli workflow run "$TD_DIR/mk.yaml" --wait >/dev/null 2>&1
head -c 6291456 /dev/urandom >"$TD_DIR/loc/v1"
sum0=$(sha256sum <"$TD_DIR/loc/v1" | cut -d' ' -f1)
like "a bridge to the cloud side" "$(tcli storage bridge create loc s3p)" "port +s3-endpoint"
tcli storage bridge create loc2 s3p >/dev/null
out=$(tcli volume transfer v1 --pool loc --to s3p --chunk 1048576 -o json 2>/dev/null)
dig=$(json 'j["digest"]' <<<"$out")
like "transfer local -> S3" "$dig" "^[0-9a-f]{32}$"
is "... the object is there, of the volume's size" \
	"$(tcli storage discover --pool s3p --fresh -o json | json '[(v["name"], v["capacity"]) for v in j["volumes"]]')" \
	"[('v1', 6291456)]"
out=$(tcli volume transfer v1 --pool s3p --to loc2 --name back --chunk 1048576 -o json 2>/dev/null)
is "transfer S3 -> local: the same digest" "$(json 'j["digest"]' <<<"$out")" "$dig"
is "... and the same bytes" "$(sha256sum <"$TD_DIR/loc2/back" | cut -d' ' -f1)" "$sum0"
cat >"$TD_DIR/rm.yaml" <<'Y'
workflow: t.rm
version: 1
steps:
  - id: v
    call: storage.volume_delete
    with: {pool: s3p, name: v1}
Y
tcli workflow run "$TD_DIR/rm.yaml" --wait >/dev/null 2>&1
is "a volume deleted on S3 is gone" "$(tcli storage discover --pool s3p --fresh -o json | json 'len(j["volumes"])')" 0
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
