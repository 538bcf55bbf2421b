#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Issue 14 on a real trellisd, libvirtd and QEMU guests: no step adopts or
# deletes what it did not make.
#  - a re-used VM name is refused before any step makes anything, and the
#    running VM keeps its tap, disk and domain; the plugins refuse an
#    existing port or volume under another key (CONFLICT, never adopted);
#  - vm.destroy reads the VM's own record: a uuid paired with another
#    VM's name is refused and nothing is deleted; a mistyped claim too;
#    a destroy by name alone releases the VM's own claim;
#  - a volume or port of a VM is not deleted as another VM's;
#  - releasing a claim that does not exist is an error;
#  - a claim whose VM was forgotten is released by the orphan check, and
#    logged;
#  - a domain made outside Trellis with a VM's name: discovery and
#    provision keep them apart.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
PV_CONFIG='placement: {orphan_check: 1s}
host_refresh: 0'
pv_start

a=${PV_PREFIX}a
b=${PV_PREFIX}b
pool=$PV_DIR/pool
taps() { ip -o link show | grep -o 'tr-t[0-9a-f]*' | sort -u; }
tap_of() { virsh -c qemu:///system domiflist "$1" 2>/dev/null | awk '$1 ~ /^tr-t/ {print $1}'; }
state_of() { jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null; }
provision() { pv_run vm.provision "name=$1" memory_mb=64 "${@:2}"; }

provision "$a"
is "VM a is provisioned" "$(state_of)" "succeeded"
ua=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT")
claim_a=$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT")
pv_track "$a"
tap_a=$(tap_of "$a")
like "...with its tap" "$tap_a" '^tr-t'

# 1. The same name again: refused at the first step, nothing made.
provision "$a"
is "a second provision of name a fails" "$(state_of)" "failed"
is "...at the name step, before anything is made" "$(jq_ 'j["failed_step"]' <<<"$PV_OUT")" "name"
like "...naming the VM that has the name" "$(jq_ 'j["error"]' <<<"$PV_OUT")" \
	"CONFLICT: VM name '$a' is taken: VM $ua on host pvh"
is "...with nothing to compensate" "$(jq_ 'j["compensation"]' <<<"$PV_OUT")" "none"
ok "a's tap is still there" test -e "/sys/class/net/$tap_a"
ok "a's disk is still there" test -e "$pool/$a-root"
is "a still runs" "$(virsh -c qemu:///system domstate "$a" 2>&1)" "running"

# The plugins themselves: a port or a volume under another key is CONFLICT.
cat >"$PV_DIR/grab.yaml" <<-Y
	workflow: grab
	version: 1
	inputs: {name: {type: string}}
	steps:
	  - id: port
	    call: network.port_create
	    with: {host: pvh, name: "\${inputs.name}-nic0", segment: $PV_NET}
	  - id: disk
	    call: storage.volume_create
	    with: {pool: pvpool, name: "\${inputs.name}-root", size_gb: 1}
Y
pv_run "$PV_DIR/grab.yaml" "name=$a"
is "a workflow that makes a's port and disk under its own key fails" "$(state_of)" "failed"
like "...the port: CONFLICT, not adopted" "$(cat "$PV_DIR/run.log")" "port '$a-nic0' already exists"
like "...the volume: CONFLICT, not adopted" "$(cat "$PV_DIR/run.log")" "CONFLICT.*$a-root"
ok "a's tap survives the compensation" test -e "/sys/class/net/$tap_a"
ok "a's disk survives the compensation" test -e "$pool/$a-root"

# 2. A destroy whose inputs disagree with the record deletes nothing.
provision "$b"
is "VM b is provisioned" "$(state_of)" "succeeded"
ub=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT")
claim_b=$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT")
pv_track "$b"
tap_b=$(tap_of "$b")
pv_run vm.destroy "uuid=$ub" "name=$a" pool=pvpool
is "vm.destroy with b's uuid and a's name fails" "$(state_of)" "failed"
like "...saying which input disagrees with b's record" "$(jq_ 'j["error"]' <<<"$PV_OUT")" \
	"CONFLICT: VM $ub: name '$a' disagrees with the VM's record \(name '$b'\); nothing was changed"
is "...and b still runs" "$(virsh -c qemu:///system domstate "$b" 2>&1)" "running"
ok "...and a's disk is there" test -e "$pool/$a-root"
ok "...and b's disk is there" test -e "$pool/$b-root"
ok "...and both taps" test -e "/sys/class/net/$tap_a" -a -e "/sys/class/net/$tap_b"
pv_run vm.destroy "vm=$b" claim=nosuch/place
is "vm.destroy with a mistyped claim fails" "$(state_of)" "failed"
like "...naming the claim b owns" "$(jq_ 'j["error"]' <<<"$PV_OUT")" "claim 'nosuch/place' disagrees"

# 3. Claims: who owns them; releasing one that does not exist is an error.
out=$(tcli policy claims --host pvh)
like "policy claims lists a's claim, owned by VM a, live" "$out" \
	"$claim_a +pvh +1 +64 MiB +1 GiB +vm:$ua +live"
cat >"$PV_DIR/release.yaml" <<-Y
	workflow: release
	version: 1
	inputs: {claim: {type: string}}
	steps:
	  - {id: r, call: policy.release, with: {claim: "\${inputs.claim}"}}
Y
pv_run "$PV_DIR/release.yaml" claim=wf-nosuch/place
like "releasing a claim that does not exist fails" "$(jq_ 'j["error"]' <<<"$PV_OUT")" \
	"NOTFOUND: no placement claim 'wf-nosuch/place' \(it was never made\)"

# A volume or port of VM a is not deleted as b's.
cat >"$PV_DIR/steal.yaml" <<-Y
	workflow: steal
	version: 1
	inputs: {name: {type: string}, vm: {type: string}}
	steps:
	  - id: disk
	    call: storage.volume_delete
	    with: {pool: pvpool, name: "\${inputs.name}-root", vm: "\${inputs.vm}"}
	  - id: port
	    call: network.port_delete
	    with: {host: pvh, name: "\${inputs.name}-nic0", vm: "\${inputs.vm}"}
	    needs: disk
Y
pv_run "$PV_DIR/steal.yaml" "name=$a" "vm=$ub"
like "deleting a's volume as b's is refused" "$(jq_ 'j["error"]' <<<"$PV_OUT")" \
	"CONFLICT: volume 'pvpool/$a-root' belongs to VM $a \($ua\)"
ok "...and it is there" test -e "$pool/$a-root"

# Destroy by name alone: the record gives host, disk, port and claim.
pv_run vm.destroy "vm=$b"
is "vm.destroy vm=b (name only) succeeds" "$(state_of)" "succeeded"
is "...and released b's own claim, read from its record" "$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT")" "$claim_b"
ok "...b's disk is gone" test ! -e "$pool/$b-root"
ok "...b's tap is gone" test ! -e "/sys/class/net/$tap_b"
nok "...b's domain is gone" virsh -c qemu:///system domstate "$b"
nok "...and its claim is no longer listed" bash -c "$TRELLIS_BUILD/bin/trellis -s ipc://$PV_DIR/api.sock policy claims | grep -q 'vm:$ub'"
ok "a is untouched: tap, disk, domain" bash -c "test -e /sys/class/net/$tap_a && test -e $pool/$a-root && virsh -c qemu:///system domstate $a | grep -q running"
PV_VMS=("$a $ua $claim_a")

# 4. An orphan claim: its VM's record is forgotten outside vm.destroy.
c=${PV_PREFIX}c
provision "$c"
uc=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT")
claim_c=$(jq_ 'j["outputs"]["claim"]' <<<"$PV_OUT")
cat >"$PV_DIR/forget.yaml" <<-Y
	workflow: forget
	version: 1
	inputs: {uuid: {type: string}}
	steps:
	  - {id: f, call: hypervisor.vm_forget, with: {host: pvh, uuid: "\${inputs.uuid}"}}
Y
pv_run "$PV_DIR/forget.yaml" "uuid=$uc"
gone=0
for i in $(seq 1 50); do
	tcli policy claims | grep -q "$claim_c" || { gone=1; break; }
	sleep 0.2
done
is "the orphan check releases the claim of a forgotten VM" "$gone" "1"
like "...and logs it, naming the claim and its owner" "$(cat "$PV_DIR/daemon.log")" \
	"released orphan claim '$claim_c' on host pvh .*its owner vm:$uc is gone"
like "...while a's claim stays" "$(tcli policy claims)" "$claim_a"
virsh -c qemu:///system destroy "$c" >/dev/null 2>&1
virsh -c qemu:///system undefine "$c" >/dev/null 2>&1

# 5. A domain made outside Trellis with a name: discovery records it as
# discovered, a provision of that name is refused naming it, and VM a's
# name, taken outside by another domain, does not confuse vm show.
d=${PV_PREFIX}d
cat >"$PV_DIR/d.xml" <<-X
	<domain type='qemu'><name>$d</name><memory unit='MiB'>32</memory>
	<os><type arch='x86_64'>hvm</type></os></domain>
X
virsh -c qemu:///system define "$PV_DIR/d.xml" >/dev/null
provision "$d"
# libvirt's define event may have told the daemon already (then the name
# step refuses it), or not yet (then the hypervisor refuses the name).
is "a provision named like a domain made outside Trellis fails" "$(state_of)" "failed"
like "...at the name step or the hypervisor step" "$(jq_ 'j["failed_step"]' <<<"$PV_OUT")" '^(name|vm)$'
like "...and compensates what it made" "$(jq_ 'j["compensation"]' <<<"$PV_OUT")" '^(none|done)$'
ok "...so no volume of it is left" test ! -e "$pool/$d-root"
ok "...and the outside domain is untouched" virsh -c qemu:///system dominfo "$d"
tcli host refresh pvh >/dev/null 2>&1
like "discovery records the outside domain as discovered" "$(tcli vm list)" "$d +[0-9a-f-]+ +pvh +[a-z]+ .*discovered"
provision "$d"
like "a provision of its name now fails at the name step, naming it" "$(jq_ 'j["error"]' <<<"$PV_OUT")" \
	"VM name '$d' is taken: VM [0-9a-f-]+ on host pvh \(made outside Trellis"
virsh -c qemu:///system undefine "$d" >/dev/null 2>&1

# 6. One machine reached by another URI is not a second host.
hu=$(virsh -c qemu:///system capabilities | sed -n '/<host>/,/<\/host>/p' | grep -m1 -o '<uuid>[^<]*' | cut -c7-)
if [[ -n $hu ]]; then
	out=$(tcli host add pvh2 --cluster pv/pv/pv --hypervisor libvirt --uri qemu+unix:///system 2>&1)
	like "qemu+unix:///system, the machine of host pvh, is refused as a second host" "$out" \
		"CONFLICT: host 'pvh2': qemu\+unix:///system runs on machine $hu, which is already host 'pvh'"
	nok "...and not recorded" bash -c "$TRELLIS_BUILD/bin/trellis -s ipc://$PV_DIR/api.sock host show pvh2"
else
	skip "one machine by two URIs" "qemu:///system reports no host UUID"
	skip "one machine by two URIs" "qemu:///system reports no host UUID"
fi

done_testing
