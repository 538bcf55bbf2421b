#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Placement through trellisd and the CLI: the shipped policies, selecting
# one per zone (kept across a restart), and dry-run placements that show
# where a VM would go or why it would not be placed.  Hosts are libvirt's
# test:///default: 16 cpus, 3 GiB, and a discovered 8 GiB VM, so the test
# adds a policy that overcommits memory 4x (12 GiB: 4 GiB left).
# trellis-timeout: 120
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

export TRELLIS_POLICY_DIR=$TD_DIR/policies
mkdir -p "$TRELLIS_POLICY_DIR"
cp "$TRELLIS_SRC"/policies/*.yaml "$TRELLIS_POLICY_DIR"/
sed -e 's/^policy: default/policy: roomy/' \
	-e 's/memory: 1.0}/memory: 4.0}/' -e 's/^top_n: 3/top_n: 1/' \
	"$TRELLIS_SRC/policies/default.yaml" >"$TRELLIS_POLICY_DIR/roomy.yaml"

ok "trellis policy --help" tcli policy --help
like "policy verbs" "$(tcli policy --help)" "list.*show.*set.*try"

td_start || { echo "Bail out! trellisd does not start"; exit 1; }
like "policy list: the shipped policies" "$(tcli policy list)" \
	"default +yes.*firstfit +no.*roomy +no.*spread +no"
is "policy show: filters (json)" \
	"$(tcli policy show default -o json | json 'j["filters"][:4]')" \
	"['location', 'spill', 'exclusive', 'capacity']"
is "policy show: overcommit and top N" \
	"$(tcli policy show default -o json | json '(j["overcommit"]["cpu"], j["top_n"], j["plugins"]["binpack"])')" \
	"(4.0, 3, 'builtin')"
out=$(tcli policy show nope 2>&1)
is "unknown policy: exit 1" "$?" 1
like "unknown policy: NOTFOUND" "$out" "NOTFOUND: unknown policy 'nope'"

if ! td_have_libvirt_plugin; then
	skip "placements on hosts" "libvirt plugin not built"
	done_testing
fi
tcli tenant create acme >/dev/null
tcli zone create pub >/dev/null
tcli zone create priv --private --owner acme --exclusive --spill deny >/dev/null
tcli pod create p1 --zone pub >/dev/null
tcli cluster create c1 --pod pub/p1 >/dev/null
tcli pod create p2 --zone priv >/dev/null
tcli cluster create c2 --pod priv/p2 >/dev/null
ok "roomy by default" tcli policy set roomy
ok "host h1 in pub" tcli host add h1 --cluster pub/p1/c1 --hypervisor libvirt --uri test:///default
# One URI is one host: h2 is the same test driver under its own URI.
ok "host h2 in priv" tcli host add h2 --cluster priv/p2/c2 --hypervisor libvirt --uri 'test:///default?host=h2'

is "try: a public request goes to pub" \
	"$(tcli policy try --memory 1G -o json | json 'j["host"]')" h1
is "try: the owner goes to its private zone" \
	"$(tcli policy try --memory 1G --tenant acme -o json | json 'j["host"]')" h2
out=$(tcli policy try --memory 1G --zone priv 2>&1)
is "try: exclusive zone refuses others: exit 1" "$?" 1
like "try: why not placed" "$out" \
	"NOSPACE: no host fits \\(2 hosts\\): location removed 1 \\(zone\\), exclusive removed 1"
out=$(tcli policy try --memory 5G 2>&1)
like "try: capacity explained" "$out" \
	"no host fits \\(2 hosts\\): exclusive removed 1 .*, capacity removed 1 \\(memory\\)"
is "try -o json: why not placed as data" \
	"$(tcli policy try --memory 1G --zone priv -o json | json '[(r["filter"], r["count"]) for r in j["error"]["details"]["removed"]] + [j["error"]["details"]["hosts"]]')" \
	"[('location', 1), ('exclusive', 1), 2]"
out=$(tcli policy try --memory 100G --tenant acme 2>&1)
like "try: spill deny is explained" "$out" \
	"capacity removed 1 \\(memory\\); tenant 'acme' may not spill"
out=$(tcli policy try --memory 1G --zone nowhere 2>&1)
like "try: unknown zone" "$out" "NOTFOUND: unknown zone 'nowhere'"

ok "set the zone policy" tcli policy set firstfit --zone pub
is "list shows the zone under its policy" \
	"$(tcli policy list -o json | json '[p["zones"] for p in j["items"] if p["name"] == "firstfit"]')" \
	"[['pub']]"
out=$(tcli policy try --memory 1G --zone pub 2>&1)
like "try: the zone's policy has its own overcommit (none)" "$out" \
	"capacity removed 1 \\(memory\\)"
ok "back to roomy for pub" tcli policy set roomy --zone pub
is "try: placed by the zone's policy" \
	"$(tcli policy try --memory 1G --zone pub -o json | json 'j["policy"]')" roomy
out=$(tcli policy set nope --zone pub 2>&1)
like "set: unknown policy" "$out" "NOTFOUND: unknown policy 'nope'"
out=$(tcli policy set firstfit --zone nowhere 2>&1)
is "set: unknown zone: exit 1" "$?" 1

# ---- policy.place in workflows: the claim holds, and the undo frees it ----
cat >"$TD_DIR/ok.yaml" <<'YAML'
workflow: t.place.ok
version: 1
inputs: {mem: {type: int, default: 3072}}
steps:
  - id: place
    call: policy.place
    with: {memory_mb: "${inputs.mem}", zone: pub}
outputs:
  host: "${steps.place.host}"
YAML
sed -e 's/t.place.ok/t.place.fail/' -e 's/^outputs:/  - {id: boom, call: core.fail, needs: [place], with: {message: boom}}\noutputs:/' \
	"$TD_DIR/ok.yaml" >"$TD_DIR/fail.yaml"
tcli workflow run "$TD_DIR/fail.yaml" --wait >/dev/null 2>&1
is "a failing workflow fails" "$?" 1
is "its claim was released: 3 GiB still fit" \
	"$(tcli policy try --memory 3G --zone pub -o json | json 'j["host"]')" h1
ok "a workflow places a VM" tcli workflow run "$TD_DIR/ok.yaml" --wait
out=$(tcli policy try --memory 3G --zone pub 2>&1)
like "its claim holds: 3 GiB no longer fit" "$out" \
	"no host fits \\(2 hosts\\): location removed 1 \\(zone\\), capacity removed 1 \\(memory\\)"
out=$(tcli workflow run "$TD_DIR/ok.yaml" --wait 2>&1)
like "the next one is refused with the reason" "$out" "NOSPACE: no host fits"

# ---- host attributes: tags, VM limit ----
like "policy host: no attributes yet" "$(tcli policy host h1 -o json)" '"tags": \[\]'
ok "policy host: tag and limit h1" tcli policy host h1 --tags ssd,fast --vm-limit 5
is "policy host: shows them" \
	"$(tcli policy host h1 -o json | json '(j["tags"], j["vm_limit"])')" "(['ssd', 'fast'], 5)"
is "try --tags: the tagged host" \
	"$(tcli policy try --memory 1M --tags '["fast"]' -o json | json 'j["host"]')" h1
out=$(tcli policy try --memory 1M --tags '["gpu"]' 2>&1)
like "try --tags: nobody has it" "$out" "tags removed 1 \\(missing tag\\)"
ok "policy host: h1 takes two VMs at most" tcli policy host h1 --vm-limit 2
out=$(tcli policy try --memory 1M --zone pub 2>&1)
like "try: at its VM limit (its discovered VM and the placed one)" "$out" "vm-limit removed 1 \\(at its VM limit\\)"
out=$(tcli policy host h1 --tags 'a b/c' 2>&1)
like "policy host: a bad tag is refused" "$out" "INVALID_ARG: tags 'a b/c'"

# ---- editing a policy file: re-read within 2 s; a broken edit changes nothing ----
cp "$TRELLIS_POLICY_DIR/roomy.yaml" "$TD_DIR/roomy.good"
printf 'policy: roomy\nfilters: [capacty]\n' >"$TRELLIS_POLICY_DIR/roomy.yaml"
sleep 2.2
out=$(tcli policy list -o json)
like "a broken policy file is reported with its place" "$out" \
	'roomy.yaml:2:11: unknown filter .capacty.'
like "the table says so on stderr" "$(tcli policy list 2>&1 >/dev/null)" \
	"policy files not loaded.*roomy.yaml:2:11"
is "the policies it had are kept" \
	"$(tcli policy show roomy -o json | json '(j["top_n"], j["filters"][3])')" "(1, 'capacity')"
sed -e 's/^top_n: 1/top_n: 2/' "$TD_DIR/roomy.good" >"$TRELLIS_POLICY_DIR/roomy.yaml"
sleep 2.2
is "a fixed file is read: top_n 2" \
	"$(tcli policy show roomy -o json | json 'j["top_n"]')" 2
is "no errors once fixed" "$(tcli policy list -o json | json '"errors" in j')" False

ok "set the default policy" tcli policy set spread
td_stop
td_start || { echo "Bail out! trellisd does not restart"; exit 1; }
is "the selections survive a restart" \
	"$(tcli policy list -o json | json '[(p["name"], p["default"], p["zones"]) for p in j["items"]]')" \
	"[('default', False, []), ('firstfit', False, []), ('roomy', False, ['pub']), ('spread', True, ['priv'])]"
td_stop
done_testing
