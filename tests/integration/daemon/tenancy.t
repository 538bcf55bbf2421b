#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# Business units end to end (issue 17), as three real Unix users made
# here with useradd: a dc-admin and two BU admins, calling the CLI through
# setpriv on the local socket (each known by the local token only its uid
# can read), and with API keys over tcp://.  Every cross-BU attempt (list,
# show, start, delete, console, workflow status and cancel) is refused or
# not found exactly as a missing object, and audited; a bu-user cannot run
# admin or allocation ops or workflows its role does not name; the audit
# trail names who did what and holds no token.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]] || ! command -v useradd >/dev/null ||
	! command -v setpriv >/dev/null; then
	plan 1
	skip "needs root, useradd and setpriv" "tenancy"
	exit 0
fi
td_have_libvirt_plugin || {
	plan 1
	skip "needs the libvirt plugin (test:///default)" "tenancy"
	exit 0
}

sfx=$$
U_DC=trdc$sfx U_A=tra$sfx U_B=trb$sfx U_X=trx$sfx
cleanup_users() {
	local u
	for u in "$U_DC" "$U_A" "$U_B" "$U_X"; do
		userdel "$u" >/dev/null 2>&1 || true
	done
}
trap 'cleanup_users; td_cleanup' EXIT
for u in "$U_DC" "$U_A" "$U_B" "$U_X"; do
	useradd -M -N -s /usr/sbin/nologin "$u" || {
		plan 1
		skip "useradd $u failed" "tenancy"
		exit 0
	}
done
uid() { id -u "$1"; }
# as USER ARGS...: the CLI as that Unix user.
as() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups \
		-- "$TD_BIN/trellis" --timeout 5000 "$@" 2>&1
}
over() { TRELLIS_API_KEY=$1 tcli --socket "$tcp" --timeout 5000 "${@:2}" 2>&1; }

chmod 0711 "$TD_DIR"
port=$((20000 + RANDOM % 20000))
tcp="tcp://127.0.0.1:$port"
mkdir "$TD_DIR/wf"
# A workflow that records a VM as vm.provision's last step does (no guest
# needed): the VM is the BU's that started it.
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
outputs:
  uuid: "${steps.record.uuid}"
Y
cat >"$TD_DIR/wf/vm.nest.yaml" <<'Y'
workflow: vm.nest
version: 1
inputs:
  vmname: {type: string}
  id: {type: string}
steps:
  - id: sub
    call: workflow.run
    with: {workflow: vm.fake, inputs: {vmname: "${inputs.vmname}", id: "${inputs.id}"}}
Y
cat >"$TD_DIR/wf/vm.slow.yaml" <<'Y'
workflow: vm.slow
version: 1
steps:
  - id: nap
    call: core.sleep
    with: {duration: 60s}
Y
cat >"$TD_DIR/cfg.yaml" <<Y
api:
  socket_mode: "0666"
  tcp: $tcp
events:
  listen: ipc://$TD_DIR/events.sock
workflows:
  dirs: [$TD_DIR/wf]
chargeback:
  prices: $TD_DIR/prices.yaml
Y
cat >"$TD_DIR/prices.yaml" <<'Y'
currency: EUR
prices:
  vcpu_hour: 0.02
  memory_gib_hour: 0.005
  storage_gib_hour: 0.0001
  segment_hour: 0.01
Y
"$TD_BIN/trellisd" --state-dir "$TD_DIR" --config "$TD_DIR/cfg.yaml" \
	--api-key-add ops >/dev/null 2>&1
td_start --config "$TD_DIR/cfg.yaml" || exit 1

# ---- the data center sets up: BUs, users, a host ----
ok "bu create acme" tcli bu create acme
ok "tenant (the alias) create globex" tcli tenant create globex
ok "user create dc-admin with a uid" tcli user create dc --role dc-admin --uid "$(uid "$U_DC")"
ok "user create bu-admin of acme" tcli user create adm-a --role bu-admin --bu acme --uid "$(uid "$U_A")"
ok "user create bu-admin of globex" tcli user create adm-b --role bu-admin --bu globex --uid "$(uid "$U_B")"
out=$(tcli user create bad --role bu-user 2>&1)
like "a BU role needs a BU" "$out" "role bu-user acts inside a business unit: give --bu"
tcli zone create z1 >/dev/null
tcli pod create p1 --zone z1 >/dev/null
tcli cluster create c1 --pod p1 >/dev/null
ok "the dc-admin user adds a host" as "$U_DC" host add h1 --cluster c1 --hypervisor libvirt --uri test:///default

# ---- who is who on the local socket ----
w=$(as "$U_A" user whoami -o json)
is "adm-a is known by its uid" "$(json 'j["user"]+"/"+j["bu"]+"/"+j["role"]+"/"+j["via"]' <<<"$w")" "adm-a/acme/bu-admin/ipc"
w=$(tcli user whoami -o json)
is "root is the built-in dc-admin" "$(json 'j["user"]+"/"+j["role"]' <<<"$w")" "root/dc-admin"
out=$(as "$U_X" zone list)
like "a uid with no Trellis user is refused" "$out" "PERMISSION"
tok=$(ls -l "$TD_DIR/tokens/$(uid "$U_A")")
like "a local token is readable by its uid only" "$tok" "^-r-------- 1 $U_A "

# ---- each BU makes a VM ----
ua=aaaaaaaa-0000-4000-8000-$(printf '%012d' $sfx)
ub=bbbbbbbb-0000-4000-8000-$(printf '%012d' $sfx)
ok "adm-a records a VM" as "$U_A" workflow run vm.fake --input vmname=web-a --input id="$ua" --wait
ok "adm-b records a VM" as "$U_B" workflow run vm.fake --input vmname=web-b --input id="$ub" --wait
is "the VM is acme's" "$(tcli vm show web-a -o json | json 'j["tenant"]')" "acme"
un=cccccccc-0000-4000-8000-$(printf '%012d' $sfx)
ok "adm-a records a VM through a sub-workflow" as "$U_A" workflow run vm.nest --input vmname=web-n --input id="$un" --wait
is "...and it is acme's too" "$(tcli vm show web-n -o json | json 'j["tenant"]')" "acme"

# ---- scoping ----
is "adm-a lists only acme's VMs" "$(as "$U_A" vm list -o json | json '",".join(v["name"] for v in j["items"])')" "web-a,web-n"
is "adm-b lists only globex's VMs" "$(as "$U_B" vm list -o json | json '",".join(v["name"] for v in j["items"])')" "web-b"
is "the dc-admin lists every VM (not the test driver's)" "$(as "$U_DC" vm list --origin trellis -o json | json '",".join(sorted(v["name"] for v in j["items"]))')" "web-a,web-b,web-n"
other=$(as "$U_B" vm show web-a)
missing=$(as "$U_B" vm show web-zz)
is "another BU's VM is NOTFOUND as a missing one" "${other//web-a/X}" "${missing//web-zz/X}"
like "...and says NOTFOUND" "$other" "NOTFOUND"
out=$(as "$U_B" workflow run vm.start --input host=h1 --input uuid="$ua")
like "start of another BU's VM: not found" "$out" "NOTFOUND"
out=$(as "$U_B" workflow run vm.destroy --input vm=web-a)
like "delete of another BU's VM: not found" "$out" "NOTFOUND"
out=$(as "$U_B" vm console web-a)
like "console of another BU's VM: not found" "$out" "NOTFOUND: vm 'web-a' not found"
ok "adm-a starts a long workflow" as "$U_A" workflow run vm.slow
wid=$(tcli workflow list -o json | json '[i["id"] for i in j["items"] if i["workflow"]=="vm.slow"][0]')
out=$(as "$U_B" workflow status "$wid")
like "another BU's workflow instance: not found" "$out" "NOTFOUND: no workflow instance '$wid'"
out=$(as "$U_B" workflow cancel "$wid")
like "cancel of another BU's instance: not found" "$out" "NOTFOUND"
is "adm-b's workflow list holds none of acme's" "$(as "$U_B" workflow list -o json | json 'sum(1 for i in j["items"] if i["workflow"]=="vm.slow")')" "0"
ok "adm-a cancels its own" as "$U_A" workflow cancel "$wid"

# ---- roles ----
out=$(as "$U_A" zone create z9)
like "a bu-admin cannot run data-center ops" "$out" "PERMISSION: user 'adm-a' of BU acme may not call zone.create"
out=$(as "$U_A" events --count 1 2>&1)
like "a BU's user is not told where the event bus is (it carries every BU's events)" "$out" \
	"PERMISSION: user 'adm-a' of BU acme may not call events.info"
out=$(as "$U_A" -o json workflow run vm.slow --no-wait 2>&1)
nok "...nor does workflow.run give it the bus's address" grep -q '"events"' <<<"$out"
id=$(json 'j["id"]' <<<"$out" 2>/dev/null)
[[ -n $id ]] && as "$U_A" workflow cancel "$id" >/dev/null 2>&1
ok "adm-a makes a bu-user in acme" as "$U_A" user create usr-a --role bu-user
out=$(as "$U_A" user create boss --role dc-admin)
like "a bu-admin gives BU roles only" "$out" "PERMISSION"
out=$(as "$U_B" user show usr-a)
like "another BU's user: not found" "$out" "NOTFOUND: user 'usr-a' not found"
ok "usr-a gets the uid of the spare Unix user" tcli user create usr-x --role bu-user --bu acme --uid "$(uid "$U_X")"
out=$(as "$U_X" user list)
like "a bu-user cannot run admin ops" "$out" "PERMISSION"
out=$(as "$U_X" template create t1 --vcpus 1 --memory 64M --disk 1G)
like "a bu-user cannot make templates" "$out" "PERMISSION"
out=$(as "$U_X" audit list)
like "a bu-user cannot read the audit trail" "$out" "PERMISSION"

# ---- tcp:// with a user's API key ----
key=$(as "$U_B" user key add adm-b laptop -o json | json 'j["token"]')
like "adm-b makes itself an API key" "$key" "^tru_"
is "over tcp:// the key is adm-b's" "$(over "$key" user whoami -o json | json 'j["user"]+"/"+j["via"]')" "adm-b/tcp"
is "...and sees globex's VMs only" "$(over "$key" vm list -o json | json '",".join(v["name"] for v in j["items"])')" "web-b"
out=$(over "$key" vm show web-a)
like "...and another BU's VM is not found" "$out" "NOTFOUND"
ok "adm-b revokes it" as "$U_B" user key remove adm-b laptop
out=$(over "$key" vm list)
like "a revoked key is refused" "$out" "PERMISSION"

# ---- allocations: request -> approve -> provision ----
tcli network pool-create np1 --mode vxlan --first 7100 --last 7102 >/dev/null
out=$(as "$U_A" allocation request --vcpus 4 --memory 1G --segments 2 --netpool np1 -o json)
is "adm-a requests an allocation" "$(json 'j["name"]+" "+j["state"]+" "+j["requested_by"]' <<<"$out")" "acme-1 requested adm-a"
out=$(tcli allocation request --bu nope --vcpus 1 2>&1)
like "a request from an unregistered BU is refused" "$out" "NOTFOUND: tenant 'nope' not found"
is "...and nothing is stored" "$(tcli allocation list -o json | json 'len(j["items"])')" "1"
out=$(as "$U_A" allocation approve acme-1)
like "a bu-admin cannot approve" "$out" "PERMISSION"
out=$(as "$U_B" allocation show acme-1)
like "another BU's allocation: not found" "$out" "NOTFOUND: allocation 'acme-1' not found"
as "$U_B" allocation request --vcpus 15 --memory 512M --segments 2 --netpool np1 >/dev/null
ok "the dc-admin approves acme-1" as "$U_DC" allocation approve acme-1 --reason "budget ok"
for _ in $(seq 1 50); do
	st=$(tcli allocation show acme-1 -o json | json 'j["state"]')
	[[ $st == active || $st == failed ]] && break
	sleep 0.1
done
is "allocation.provision made it active" "$st" "active"
is "its segments are acme's" "$(as "$U_A" network list -o json | json '",".join(sorted(n["name"] for n in j["items"]))')" "acme-net1,acme-net2"
is "its compute is acme's quota" "$(as "$U_A" quota show -o json | json 'str(j["limits"]["vcpus"])+"/"+str(j["limits"]["memory_mib"])')" "4/1024"
out=$(as "$U_DC" allocation approve globex-1)
like "approval refused when capacity is short, naming it" "$out" "NOSPACE: allocation 'globex-1' cannot be approved: vcpus: requested 15, free 12 \\(short by 3\\); network segments: requested 2, free 1 \\(short by 1\\)"
is "...and it stays requested" "$(tcli allocation show globex-1 -o json | json 'j["state"]')" "requested"
ok "the dc-admin rejects it" as "$U_DC" allocation reject globex-1 --reason "too big"
mkdir -p "$TD_DIR/pool"
tcli pool create p1 --target "$TD_DIR/pool" >/dev/null
as "$U_B" allocation request --vcpus 1 --memory 64M --storage 1000000000G --pool p1 >/dev/null
out=$(as "$U_DC" allocation approve globex-2)
like "storage beyond the pool's capacity is refused, naming it" "$out" "NOSPACE: allocation 'globex-2' cannot be approved: storage \\(GiB\\): requested 1000000000, free [0-9]+ \\(short by [0-9]+\\)"
out=$(as "$U_A" allocation change --vcpus 4 --memory 1G --segments 1 --netpool np1)
like "shrinking below use is refused, naming the use" "$out" "CONFLICT: allocation for 'acme' cannot shrink network segments to 1: 2 in use"
tcli zone create zd >/dev/null
out=$(as "$U_A" allocation change --vcpus 8 --memory 1G --segments 2 --netpool np1 --zone zd -o json)
is "a change request" "$(json 'j["kind"]+" "+j["changes"]' <<<"$out")" "change acme-1"
ok "approved" as "$U_DC" allocation approve acme-2
for _ in $(seq 1 50); do
	st=$(tcli allocation show acme-2 -o json | json 'j["state"]')
	[[ $st == active || $st == failed ]] && break
	sleep 0.1
done
is "the change is active, the old one superseded" "$st $(tcli allocation show acme-1 -o json | json 'j["state"]')" "active superseded"
is "the quota follows it" "$(as "$U_A" quota show -o json | json 'j["limits"]["vcpus"]')" "8"
is "its zone is dedicated to acme" "$(tcli zone show zd -o json | json 'str(j["private"])+" "+j["owner"]+" "+str(j["exclusive"])')" "True acme True"
as "$U_B" allocation request --vcpus 1 --memory 64M --zone zd >/dev/null
out=$(as "$U_DC" allocation approve globex-3)
like "another BU's dedicated zone is refused" "$out" "NOSPACE: allocation 'globex-3' cannot be approved: zone zd: dedicated to business unit 'acme' already"

# ---- dedicated hosts and clusters ----
approve_active() { # NAME: approves it and waits for the workflow
	as "$U_DC" allocation approve "$1" >/dev/null || return 1
	for _ in $(seq 1 50); do
		st=$(tcli allocation show "$1" -o json | json 'j["state"]')
		[[ $st == active || $st == failed ]] && break
		sleep 0.1
	done
	[[ $st == active ]]
}
chg=(--vcpus 8 --memory 1G --segments 2 --netpool np1 --zone zd)
# h2: libvirt's test driver from a file, with no domain on it (h1 is full
# of test:///default's own "test" domain), in a cluster of its own.
cat >"$TD_DIR/node.xml" <<'X'
<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads>
  <active>8</active><mhz>2000</mhz><model>i686</model></cpu>
  <memory>8388608</memory>
</node>
X
tcli cluster create c2 --pod p1 >/dev/null
ok "the dc-admin adds host h2 in cluster c2" tcli host add h2 --cluster c2 --hypervisor libvirt --uri "test://$TD_DIR/node.xml"
out=$(as "$U_A" allocation change "${chg[@]}" --hosts nosuch 2>&1)
like "a dedicated host that does not exist is refused" "$out" "NOTFOUND: allocation for 'acme': no host 'nosuch'"
out=$(as "$U_A" allocation change "${chg[@]}" --hosts h2 -o json)
is "a change dedicating host h2" "$(json 'j["name"]+" "+",".join(j["hosts"])' <<<"$out")" "acme-3 h2"
ok "approved and active" approve_active acme-3
try_on() { # BU: the host placement picks for a 1-vCPU VM of BU, or the error
	tcli policy try --tenant "$1" --vcpus 1 --memory 64M -o json 2>&1 |
		python3 -c 'import json,sys; t=sys.stdin.read()
try: print(json.loads(t)["host"])
except Exception: print(t.strip())'
}
is "acme's VMs may go on its dedicated host" "$(try_on acme)" "h2"
like "another BU's may not" "$(try_on globex)" "NOSPACE.*exclusive to another tenant"
like "nor a VM without a BU" "$(tcli policy try --vcpus 1 --memory 64M 2>&1)" "NOSPACE.*exclusive to another tenant"
as "$U_B" allocation request --vcpus 1 --memory 64M --hosts h2 >/dev/null
out=$(as "$U_DC" allocation approve globex-4)
like "another BU's dedicated host is refused at approval" "$out" "NOSPACE: allocation 'globex-4' cannot be approved: host h2: dedicated to business unit 'acme' already"
out=$(as "$U_A" allocation change "${chg[@]}" --clusters z1/p1/c2 -o json)
is "a change dedicating cluster z1/p1/c2 instead" "$(json '",".join(j["clusters"])+" "+str("hosts" in j)' <<<"$out")" "z1/p1/c2 False"
ok "approved and active" approve_active acme-4
like "the cluster's host is still acme's alone" "$(try_on globex)" "NOSPACE.*exclusive to another tenant"
is "...for acme it is there" "$(try_on acme)" "h2"
ok "a change without dedications" as "$U_A" allocation change "${chg[@]}"
ok "approved and active" approve_active acme-5
is "the cluster is given back: globex may use h2 again" "$(try_on globex)" "h2"
# Approval checks the pool's capacity as its plugin reports it now: a
# stale record (here made to say 1 byte) is refreshed first.
python3 - "$TD_DIR/trellis.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE pool SET spec = json_set(COALESCE(spec, '{}'), "
          "'$.capacity_bytes', 1) WHERE name = 'p1'")
c.commit()
PY
as "$U_B" allocation request --vcpus 1 --memory 64M --storage 1G --pool p1 >/dev/null
ok "storage approved against the pool's fresh capacity" approve_active globex-5
like "...which its record now holds" "$(tcli pool show p1 -o json | json 'j["spec"]["capacity_bytes"] > 1')" "True"

# ---- reports ----
csv=$(as "$U_A" report chargeback -o csv)
like "chargeback as CSV" "$csv" "^BU,BASIS,RESOURCE,QUANTITY_HOURS,UNIT_PRICE,AMOUNT"
like "...of acme only" "$(grep -c '^globex' <<<"$csv")" "^0$"
is "chargeback as JSON" "$(as "$U_A" report chargeback --from 2026-01-01 -o json | json 'j["currency"]+" "+j["totals"][0]["bu"]')" "EUR acme"
is "utilization: acme's vcpus" "$(as "$U_A" report utilization -o json | json '[i["allocated"] for i in j["items"] if i["resource"]=="vcpus"][0]')" "8"
out=$(as "$U_A" report chargeback --bu globex)
like "another BU's report: not found" "$out" "NOTFOUND"

# ---- the audit trail ----
sleep 0.3
aud=$(as "$U_DC" audit list --limit 1000 -o json)
n=$(json 'sum(1 for r in j["items"] if r["user"]=="adm-b" and r["result"]=="denied" and r["code"]=="NOTFOUND")' <<<"$aud")
ok "every cross-BU attempt is audited ($n by adm-b)" test "$n" -ge 5
is "the refused zone.create is audited" "$(json 'sum(1 for r in j["items"] if r["op"]=="zone.create" and r["user"]=="adm-a" and r["result"]=="denied")' <<<"$aud")" "1"
mine=$(as "$U_A" audit list --limit 1000 -o json)
is "a bu-admin reads its BU's records only" "$(json 'sorted(set(r["bu"] for r in j["items"]))' <<<"$mine")" "['acme']"
is "audit list --op --user filters" "$(as "$U_DC" audit list --op 'user.key*' --user adm-b -o json | json 'sorted(set(r["op"] for r in j["items"]))')" "['user.key_add', 'user.key_remove']"
is "no token in the trail or the store" "$(cat "$TD_DIR"/trellis.db* | grep -ac "${key#tru_}")" "0"
is "no token in the daemon log" "$(grep -c "${key#tru_}" "$TD_DIR/daemon.log")" "0"

td_stop
is "clean stop" "$TD_RC" 0
done_testing
