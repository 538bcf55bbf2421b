#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# Plugin config schemas and per-pool options (issue 16, ABI 1.1), with the
# SDK's storage skeleton as the vendor plugin: --check-config catches a
# typo in its section (FILE:LINE:COL), trellisd refuses to start without a
# configured plugin unless it is optional, plugin show documents the
# schema, a pool's options are checked against the options schema and
# reach pool_open (the skeleton's quota gives NOSPACE), and a raw-only
# plugin gets raw volumes from a workflow that names no format.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

skel=$TRELLIS_BUILD/tests/plugins/skel
if [[ ! -f $skel/skel_storage.so ]]; then
	skip "schemas through the daemon" "skel_storage.so not built"
	done_testing
fi
cfg=$TD_DIR/trellisd.yaml
check() { "$TD_BIN/trellisd" --config "$cfg" --plugin-dir "$skel" --check-config 2>&1; }

cat >"$cfg" <<'YAML'
plugins:
  skel-storage:
    default_quta: 1M
YAML
out=$(check); rc=$?
is "--check-config: a typo in a plugin's section fails (exit 1)" "$rc" 1
like "... naming FILE:LINE:COL of the key, with a guess" "$out" \
	"$cfg:3:5: plugins.skel-storage: unknown key 'default_quta' \(did you mean 'default_quota'\?\)"

cat >"$cfg" <<'YAML'
plugins:
  skel-storage: {default_quota: lots}
YAML
like "a value of the wrong type names its position and the type" "$(check)" \
	"$cfg:2:33: plugins.skel-storage.default_quota: expected a size \(like 4096, 64M or 2G\), got 'lots'"

cat >"$cfg" <<'YAML'
plugins:
  shmfs: {size: 1G}
YAML
out=$(check); rc=$?
is "a configured plugin that is not there fails --check-config" "$rc" 1
like "... naming it" "$out" "$cfg:2:3: plugins.shmfs: no plugin named 'shmfs' was found"
out=$("$TD_BIN/trellisd" --config "$cfg" --plugin-dir "$skel" --state-dir "$TD_DIR/s1" --foreground 2>&1); rc=$?
is "trellisd refuses to start without it (exit 1)" "$rc" 1
like "... and says why" "$out" "plugins.shmfs: no plugin named 'shmfs'"
cat >"$cfg" <<'YAML'
plugins:
  shmfs: {optional: true, size: 1G}
  skel-storage: {default_quota: 16M}
YAML
like "optional: true lets it be missing" "$(check)" "$cfg: ok"
cat >"$cfg" <<'YAML'
plugins:
  skel-storage: {optional: maybe}
YAML
like "optional must be a bool" "$(check)" "$cfg:2:28: plugins.skel-storage.optional: expected true or false"

# A good config: the daemon runs with it.
cat >"$cfg" <<'YAML'
plugins:
  skel-storage: {default_quota: 16M}
YAML
ok "a good config passes --check-config" check
td_start --config "$cfg" --plugin-dir "$skel" || { echo "Bail out! trellisd does not start"; exit 1; }
show=$(tcli plugin show skel-storage)
like "plugin show documents the config keys" "$show" "default_quota +size +0 +the quota of a pool that sets none"
like "... and the options of each pool" "$show" "quota +size +- +the most bytes"
like "... and the config given" "$show" "default_quota: '?16M'?"
is "plugin show -o json: the schema" \
	"$(tcli plugin show skel-storage -o json | json '[k["name"] + ":" + k["type"] for k in j["options_schema"]]')" "['quota:size']"
like "plugin show of a plugin without a schema" "$(tcli plugin show builtin)" "no schema: the plugin checks its own config"
like "plugin show of an unknown plugin" "$(tcli plugin show nosuch 2>&1)" "NOTFOUND: no plugin named 'nosuch'"

like "a pool option of the wrong type is refused before the plugin" \
	"$(tcli pool create bad --plugin skel-storage --target "$TD_DIR/bad" --option quota=much 2>&1)" \
	"INVALID_ARG: pool 'bad' options: quota: pool 'bad' options.quota: expected a size"
like "an unknown pool option is refused" \
	"$(tcli pool create bad --plugin skel-storage --target "$TD_DIR/bad" --option qouta=1M 2>&1)" \
	"unknown key 'qouta' \(did you mean 'quota'\?\)"
nok "... and nothing is recorded" tcli pool show bad
ok "pool create with --option quota=8M" tcli pool create sk --plugin skel-storage --target "$TD_DIR/sk" --option quota=8M
is "pool show: the quota is the pool's capacity (the option reached pool_open)" \
	"$(tcli pool show sk -o json | json '[j["capacity"], j["provisioned"], j["spec"]["options"]]')" \
	"[8388608, 0, {'quota': '8M'}]"
ok "a pool without options gets the config's default_quota" tcli pool create sk2 --plugin skel-storage --target "$TD_DIR/sk2"
is "... 16M" "$(tcli pool show sk2 -o json | json 'j["capacity"]')" 16777216

wf=$TD_DIR/vol.yaml
cat >"$wf" <<'YAML'
workflow: schema.vol
inputs:
  name: string
  size: {type: size}
steps:
  - id: v
    call: storage.volume_create
    with: {pool: sk, name: "${inputs.name}", size: "${inputs.size}"}
outputs:
  format: "${steps.v.format}"
YAML
out=$(tcli workflow run "$wf" --input name=v1 --input size=6M --wait 2>&1; tcli workflow status "$(tcli workflow list -o json | json 'j["items"][0]["id"]')" -o json)
like "a workflow that names no format works on a raw-only plugin" "$out" '"format": "raw"'
out=$(tcli workflow run "$wf" --input name=v2 --input size=4M --wait 2>&1)
like "a create past the pool's quota is NOSPACE" "$out" "NOSPACE: pool 'sk': volume 'v2': 4194304 more bytes would pass the pool's quota"
nok "... and leaves nothing behind" test -e "$TD_DIR/sk/v2" -o -e "$TD_DIR/sk/.v2.idem" -o -e "$TD_DIR/sk/.v2.tmp"
long=$(printf 'a%.0s' $(seq 1 128))
out=$(tcli workflow run "$wf" --input name="$long" --input size=1M --wait 2>&1)
like "a 128-character volume name is refused by the core" "$out" "INVALID_ARG: volume name 'a+\.\.\.' is 128 characters long; at most 127 fit"
like "pool delete names the volume" "$(tcli pool delete sk 2>&1)" "still has 1 volume: 'v1'"
td_stop
done_testing
