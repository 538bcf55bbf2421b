#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# Who may do what in maintenance mode, on a real trellisd and a real
# trellis-escrowd without a guest (the libvirt test driver): a BU's admin
# opens windows on its own VMs only (another BU's VM is NOTFOUND, as a
# missing one), a bu-user and an auditor may not, support.fetch is the
# support role's alone (not dc-admin's "*"), a wrong code is refused and
# audited with the engineer's name, and an enable whose appliance cannot
# take the password fails closed: its escrow deposit is withdrawn, no port
# opened, and the journal holds the access code only as "***".
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
td_have_libvirt_plugin || {
	plan 1
	skip "needs the libvirt plugin (test:///default)" "maint ops"
	exit 0
}
ESC=$TD_DIR/escrow
mkdir -p "$ESC"
"$TD_BIN/trellis-escrowd" --state "$ESC" --listen "ipc://$ESC/escrow.sock" 2>>"$ESC/log" &
TD_EXTRA_PIDS=$!
pub=$("$TD_BIN/trellis-escrowd" --state "$ESC" --public-key)
port=$((20000 + RANDOM % 20000))
tcp="tcp://127.0.0.1:$port"
mkdir "$TD_DIR/wf"
# VM records as vm.provision's last step makes them (no guest needed):
# without a port, and with one.
cat >"$TD_DIR/wf/vm.fake.yaml" <<'Y'
workflow: vm.fake
version: 1
inputs:
  vmname: {type: string}
  id: {type: string}
steps:
  - id: record
    call: hypervisor.vm_record
    with: {host: h1, uuid: "${inputs.id}", name: "${inputs.vmname}", vcpus: 1, memory_mb: 64}
Y
cat >"$TD_DIR/wf/vm.fakep.yaml" <<'Y'
workflow: vm.fakep
version: 1
inputs:
  vmname: {type: string}
  id: {type: string}
steps:
  - id: record
    call: hypervisor.vm_record
    with:
      host: h1
      uuid: "${inputs.id}"
      name: "${inputs.vmname}"
      vcpus: 1
      memory_mb: 64
      ports: [{host: h1, name: "${inputs.vmname}-nic0", key: k}]
Y
cat >"$TD_DIR/cfg.yaml" <<Y
api:
  tcp: $tcp
events:
  listen: ipc://$TD_DIR/events.sock
workflows:
  dirs: [$TD_DIR/wf]
escrow:
  endpoint: ipc://$ESC/escrow.sock
  public_key: "$pub"
Y
"$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/cfg.yaml" \
	--api-key-add ops >/dev/null 2>&1
td_start --config "$TD_DIR/cfg.yaml" || exit 1
as() { # KEY ARGS...
	TRELLIS_API_KEY=$1 tcli --socket "$tcp" --timeout 15000 "${@:2}" 2>&1
}
key() { tcli user key add "$1" k -o json | json 'j["token"]'; }

tcli bu create acme >/dev/null
tcli bu create globex >/dev/null
tcli zone create z1 >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create c1 --pod p1 >/dev/null
ok "a host on the libvirt test driver" tcli host add h1 --cluster c1 --hypervisor libvirt --uri test:///default
tcli user create adm-a --role bu-admin --bu acme >/dev/null
tcli user create adm-b --role bu-admin --bu globex >/dev/null
tcli user create usr-a --role bu-user --bu acme >/dev/null
tcli user create eng --role support >/dev/null
tcli user create aud --role auditor >/dev/null
A=$(key adm-a) B=$(key adm-b) U=$(key usr-a) E=$(key eng) X=$(key aud)
like "users and their keys" "$A $B $U $E $X" "^tru_[^ ]+ tru_[^ ]+ tru_[^ ]+ tru_[^ ]+ tru_[^ ]+$"
sfx=$(printf '%012d' $$)
ua=aaaaaaaa-0000-4000-8000-$sfx
up=bbbbbbbb-0000-4000-8000-$sfx
ok "adm-a records a VM without a port" as "$A" workflow run vm.fake --input vmname=app-a --input id="$ua" --wait
ok "...and one with a port" as "$A" workflow run vm.fakep --input vmname=app-p --input id="$up" --wait

# ---- who may open a window ----
other=$(as "$B" maint enable app-a)
missing=$(as "$B" maint enable app-zz)
is "another BU's VM is NOTFOUND, as a missing one" "${other//app-a/X}" "${missing//app-zz/X}"
like "...NOTFOUND" "$other" NOTFOUND
like "a bu-user may not" "$(as "$U" maint enable app-a)" "PERMISSION: .*maint.enable"
like "an auditor may not" "$(as "$X" maint enable app-a)" "PERMISSION"
like "a VM without a port of Trellis's cannot be opened" "$(as "$A" maint enable app-a)" \
	"INVALID_ARG: VM 'app-a' has no network port"
like "no window yet" "$(as "$A" maint status app-a)" "NOTFOUND: VM .* has had no maintenance window"
out=$(as "$A" maint enable app-p --close-on sometimes)
rc=$?
is "an unknown close mode is a usage error" "$rc" 2
like "...said so" "$out" "bad value .*for --close-on"

# ---- who may fetch ----
like "dc-admin (root) may not fetch: support only" "$(tcli support fetch ABCD-EFGH-JKMN-PQRS-TVWX 2>&1)" \
	"PERMISSION: .*only the support role"
like "a bu-admin may not fetch" "$(as "$A" support fetch ABCD-EFGH-JKMN-PQRS-TVWX)" "PERMISSION"
like "the engineer's wrong code is refused" "$(echo ABCD-EFGH-JKMN-PQRS-TVWX | as "$E" support fetch -)" \
	"NOTFOUND: escrow: no entry for that code"
is "...and audited with the engineer's name" \
	"$(tcli audit list --op maint:FETCH_REFUSED -o json | json '",".join(i["user"] for i in j["items"])')" eng
like "...by the escrow too (no code in its log)" "$(cat "$ESC/escrow-audit.log")" '"event":"FETCH_WRONG_CODE".*"who":"eng"'

# ---- an appliance that cannot take the password: fail closed ----
out=$(as "$A" maint enable app-p --window 1m)
like "enable fails when the guest cannot take the password" "$out" "(NOTFOUND|UNAVAILABLE|NOTSUP|CONFLICT)"
is "...the window failed" "$(as "$A" maint status app-p -o json | json 'j["state"]')" failed
is "...the port was never opened" "$(as "$A" maint status app-p -o json | json 'j["port_open"]')" False
is "...and the deposit is withdrawn" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 0
like "the escrow saw the deposit and its withdrawal" "$(cat "$ESC/escrow-audit.log")" '"DEPOSIT".*"DELETE"'
wid=$(tcli workflow list -o json | json '[i["id"] for i in j["items"] if i["workflow"]=="maint.enable"][0]')
logs=$(tcli workflow logs "$wid" -o json)
like "the journal keeps the access code as ***" "$(json '[s["inputs"].get("code") for s in j["steps"] if s["step"]=="deposit"][0]' <<<"$logs")" '^\*\*\*$'
like "...and the workflow's outputs hold no code" "$(tcli workflow status "$wid" -o json | json 'sorted((j.get("outputs") or {}).keys())')" '^\[\]$|withdraw'
for e in REQUEST GENERATED ENABLE_FAILED; do
	like "audited: $e" "$(tcli audit list --op "maint:$e" -o json | json 'len(j["items"])')" '^[1-9]'
done
done_testing
