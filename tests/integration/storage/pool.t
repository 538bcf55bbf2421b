#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 60
# Storage pools and volumes through trellisd and the CLI (localfs): a pool
# is recorded only once its plugin opened it; volumes are read live from
# the plugin; volume delete goes through the storage.volume_delete action.
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

if [[ ! -f $TRELLIS_BUILD/plugins/localfs.so ]]; then
	skip "storage through the daemon" "localfs.so not built"
	done_testing
fi
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not start"; exit 1; }
P=$TD_DIR/pool1

like "pool create" "$(tcli pool create p1 --target "$P")" "name +p1"
ok "the plugin made the directory" test -d "$P"
like "pool show has capacity" "$(tcli pool show p1 -o json | json '[j["plugin"], j["target"], j["volumes"], j["capacity"] > 0]')" \
	"\['localfs', '$P', 0, True\]"
like "a relative target is refused" "$(tcli pool create p2 --target rel/dir 2>&1)" \
	"INVALID_ARG: pool 'p2': target must be an absolute directory path"
nok "and not recorded" tcli pool show p2
like "an unknown plugin is refused" "$(tcli pool create p3 --target /tmp/x --plugin nosuch 2>&1)" \
	"NOTFOUND: pool.create: no storage plugin 'nosuch' is loaded"
like "a duplicate pool is refused" "$(tcli pool create p1 --target "$P" 2>&1)" "CONFLICT"
like "pool list" "$(tcli pool list)" "p1 +localfs"

qemu-img create -q -f qcow2 "$P/disk0" 4M
qemu-img create -q -f raw "$P/.tmp.hidden.XXXX" 1M
like "volume list (live from the plugin): sizes in a table are human" "$(tcli volume list p1)" "disk0 +qcow2 +4 MiB"
qemu-img create -q -f raw "$P/disk1" 3M
is "pool show: provisioned is the volumes' virtual sizes (qcow2 4M + raw 3M)" \
	"$(tcli pool show p1 -o json | json '[j["volumes"], j["provisioned"]]')" "[2, 7340032]"
rm -f "$P/disk1"
is "hidden temp files are not volumes" "$(tcli volume list p1 -o json | json 'len(j["items"])')" 1
like "volume show" "$(tcli volume show disk0 --pool p1 -o json | json 'j["path"]')" "$P/disk0"
like "volume show POOL/NAME, as list names the pool" "$(tcli volume show p1/disk0 -o json | json 'j["path"]')" "$P/disk0"
like "volume show NAME without a pool says how to name it" "$(tcli volume show disk0 2>&1)" "name the volume POOL/disk0, or give --pool POOL"
like "volume show of a missing volume" "$(tcli volume show nope --pool p1 2>&1)" "NOTFOUND: pool 'p1': no volume 'nope'"
like "traversal refused" "$(tcli volume delete ../../etc/passwd --pool p1 2>&1)" "INVALID_ARG: .*invalid volume name"
ok "volume delete" tcli volume delete disk0 --pool p1
ok "volume delete again (idempotent)" tcli volume delete disk0 --pool p1
nok "the file is gone" test -e "$P/disk0"

# Per-pool options: --option KEY=VALUE (YAML values) and --options-file.
# localfs declares that its pools take none (an empty options schema), so
# any option is refused before the plugin sees it, and nothing is recorded
# (storage/schema.t has a plugin with options).
cat > "$TD_DIR/opts.yaml" <<'YAML'
tier: gold
YAML
like "a localfs pool takes no options" \
	"$(tcli pool create p4 --target "$TD_DIR/pool4" --options-file "$TD_DIR/opts.yaml" --option replicas=2 2>&1)" \
	"INVALID_ARG: pool 'p4' options: (replicas|tier): pool 'p4' options: unknown key '(replicas|tier)' \(known: none\)"
nok "... and nothing is recorded" tcli pool show p4
like "a bad --option is a usage error" "$(tcli pool create p5 --target "$TD_DIR/p5" --option novalue 2>&1)" \
	"--option expects KEY=VALUE"
echo '[1, 2]' >"$TD_DIR/list.yaml"
like "--options-file must be a map" "$(tcli pool create p5 --target "$TD_DIR/p5" --options-file "$TD_DIR/list.yaml" 2>&1)" \
	"list.yaml:1:1: expected a map of options"
like "localfs says it makes qcow2 and raw" "$(tcli plugin list -o json | json '[p["caps"] for p in j["items"] if p["name"] == "localfs"][0]')" \
	"qcow2,raw"

# pool delete: refused while volumes exist, naming them; then forgotten.
qemu-img create -q -f qcow2 "$P/keep1" 1M
qemu-img create -q -f qcow2 "$P/keep2" 1M
like "pool delete refused while volumes exist, naming them" \
	"$(tcli pool delete p1 2>&1)" "CONFLICT: pool 'p1' still has 2 volumes: 'keep1', 'keep2'"
ok "still recorded" tcli pool show p1
ok "delete the volumes" tcli volume delete keep1 --pool p1
ok "..." tcli volume delete keep2 --pool p1
like "pool delete" "$(tcli pool delete p1 -o json)" '"name": "p1"'
nok "forgotten" tcli pool show p1
ok "its data stays" test -d "$P"
like "pool delete of an unknown pool" "$(tcli pool delete p1 2>&1)" "NOTFOUND"
ok "the name can be used again" tcli pool create p1 --target "$P"
done_testing
