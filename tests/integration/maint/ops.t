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
# The same over the REST paths (POST/GET/DELETE /api/v1/vms/{name}/maint,
# POST /api/v1/support/fetch), and the fetch's engineer signature: without
# one the escrow refuses, with a valid one a wrong code is NOTFOUND.
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
hport=$((port + 1))
URL=http://127.0.0.1:$hport
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
http:
  listen: 127.0.0.1:$hport
  timeout: 60s
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
like "the support role without an engineer key: the escrow refuses" \
	"$(echo ABCD-EFGH-JKMN-PQRS-TVWX | HOME=$TD_DIR as "$E" support fetch -)" \
	"PERMISSION: escrow: the fetch is not signed by a support engineer"
like "...audited by the escrow" "$(cat "$ESC/escrow-audit.log")" '"event":"FETCH_UNSIGNED".*"who":"eng"'
kg=$(tcli support keygen --out "$TD_DIR/eng.key" -o json)
like "support keygen makes the engineer's key" "$(json 'j["public_key"]' <<<"$kg")" '^[A-Za-z0-9+/]{43}=$'
is "...its secret readable by its owner only" "$(stat -c %a "$TD_DIR/eng.key")" 600
like "...and never overwrites one" "$(tcli support keygen --out "$TD_DIR/eng.key" 2>&1)" "never overwritten"
like "the vendor enrols it at the escrow" \
	"$("$TD_BIN/trellis-escrowd" --state "$ESC" engineer add eng-alice --key-file "$TD_DIR/eng.key.pub")" "enrolled"
like "the engineer's wrong code is refused" \
	"$(echo ABCD-EFGH-JKMN-PQRS-TVWX | as "$E" support fetch - --key "$TD_DIR/eng.key")" \
	"NOTFOUND: escrow: no entry for that code"
is "...and audited with the engineer's name" \
	"$(tcli audit list --op maint:FETCH_REFUSED -o json | json '",".join(i["user"] for i in j["items"])')" eng,eng
like "...by the escrow too, with the engineer it knows (no code in its log)" "$(cat "$ESC/escrow-audit.log")" \
	'"event":"FETCH_WRONG_CODE".*"who":"eng","engineer":"eng-alice"'
like "a key file that is not one is said so" \
	"$(as "$E" support fetch ABCD-EFGH-JKMN-PQRS-TVWX --key "$TD_DIR/cfg.yaml")" "is not an engineer key"

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

# ---- the REST paths ----
hc() { # KEY ARGS...: curl with the key, body then the status
	curl -s -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -w ' %{http_code}' "${@:2}"
}
doc=$TRELLIS_BUILD/share/trellis/openapi.json
is "openapi.json has /vms/{name}/maint: post, get, delete" \
	"$(json 'sorted(j["paths"]["/api/v1/vms/{name}/maint"].keys())' <"$doc")" "['delete', 'get', 'post']"
is "...and /support/fetch: post" "$(json 'sorted(j["paths"]["/api/v1/support/fetch"].keys())' <"$doc")" "['post']"
is "...naming their ops" "$(json '" ".join(j["paths"]["/api/v1/vms/{name}/maint"][m]["x-trellis-op"] for m in ("post","get","delete"))+" "+j["paths"]["/api/v1/support/fetch"]["post"]["x-trellis-op"]' <"$doc")" \
	"maint.enable maint.status maint.disable support.fetch"
like "GET /vms/{name}/maint: another BU's VM is 404" "$(hc "$B" "$URL/api/v1/vms/app-p/maint")" "NOTFOUND.* 404$"
like "...its own: the failed window, 200" "$(hc "$A" "$URL/api/v1/vms/app-p/maint")" '"state": *"failed".* 200$'
like "POST /vms/{name}/maint: a bu-user is 403" \
	"$(hc "$U" -X POST -d '{}' "$URL/api/v1/vms/app-a/maint")" "PERMISSION.* 403$"
like "...a VM without a port is 400" "$(hc "$A" -X POST -d '{"window":"1m"}' "$URL/api/v1/vms/app-a/maint")" \
	"no network port.* 400$"
like "...a bad close mode is 400" "$(hc "$A" -X POST -d '{"close_on":"never"}' "$URL/api/v1/vms/app-p/maint")" " 400$"
out=$(hc "$A" -X POST -d '{"window":"1m","close_on":"time"}' "$URL/api/v1/vms/app-p/maint")
like "...an appliance that cannot take the password fails closed" "$out" " (404|409|501|502|503)$"
like "...its window failed again (GET)" "$(hc "$A" "$URL/api/v1/vms/app-p/maint")" '"port_open": *false.* 200$'
is "...and no deposit stayed" "$(sqlite3 "$ESC/escrow.db" 'select count(*) from entries')" 0
like "DELETE /vms/{name}/maint: nothing open, the last window's status" \
	"$(hc "$A" -X DELETE "$URL/api/v1/vms/app-p/maint")" '"state": *"failed".* 200$'
like "POST /support/fetch: a bu-admin is 403" \
	"$(hc "$A" -X POST -d '{"code":"ABCD-EFGH-JKMN-PQRS-TVWX","reply_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}' "$URL/api/v1/support/fetch")" \
	"PERMISSION.* 403$"
like "...the engineer without a signature: the escrow refuses, 403" \
	"$(hc "$E" -X POST -d '{"code":"ABCD-EFGH-JKMN-PQRS-TVWX","reply_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}' "$URL/api/v1/support/fetch")" \
	"not signed by a support engineer.* 403$"
like "...without reply_key: 400" \
	"$(hc "$E" -X POST -d '{"code":"ABCD-EFGH-JKMN-PQRS-TVWX"}' "$URL/api/v1/support/fetch")" "needs reply_key.* 400$"
body=$("$TRELLIS_BUILD/tests/bin-tools/escrow-client" request "$TD_DIR/eng.key" ZZZZ-EFGH-JKMN-PQRS-TVWX "$TD_DIR/reply.sk" 2>&1)
like "...signed by the enrolled engineer (escrow-client), a wrong code is 404" \
	"$(hc "$E" -X POST -d "$body" "$URL/api/v1/support/fetch")" "no entry for that code.* 404$"
like "...the same signed request again is a replay, 403" \
	"$(hc "$E" -X POST -d "$body" "$URL/api/v1/support/fetch")" "a replay.* 403$"
done_testing
