#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Host HA fenced through a BMC's Redfish API (issue 23), and a fenced host
# that comes back.  Host A is a libvirtd of this test's own (ha/lib.sh),
# host B the shared qemu:///system, one pod.  Host A's BMC is simulated
# by tests/fixtures/bmcsim.py: a real HTTPS service (its own certificate,
# Basic auth) whose ComputerSystem.Reset ForceOff really powers host A off
# (kills its guests' QEMU and its libvirtd by PID) and keeps its state.
# trellisd fences with fence.redfish, its credential a 0600 secret of the
# secret store.  The BMC first answers 500: fence_failed, nothing
# restarts; then it accepts ForceOff but the power stays On: fence_failed
# again, nothing restarts; then it works: the guest comes back on B and
# prints its boot marker.  Host A is powered on again and its libvirtd
# comes back with the guest's old definition: trellisd undefines it (never
# starts it), audited; a VM that was not restarted elsewhere keeps its
# definition.  The BMC password is in no log, answer or audit record.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../provision/lib.sh"
source "$(dirname "$0")/lib.sh"
lv_require
command -v unshare >/dev/null || { echo "1..0 # SKIP no unshare"; exit 0; }
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 0; }

dir=$(mktemp -d /tmp/trellis-harf.XXXXXX)
chmod 755 "$dir"
BMC_PID=
cleanup_rf() {
	[[ -n $BMC_PID ]] && kill "$BMC_PID" 2>/dev/null
	ha_host_down
	rm -rf "$dir"
}
pw="rf-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$pw" >"$dir/bmc.pw"
mkdir -m 0700 "$dir/secrets"
printf 'admin:%s\n' "$pw" >"$dir/secrets/bmc-hostA"
chmod 600 "$dir/secrets/bmc-hostA" "$dir/bmc.pw"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" \
	-out "$dir/cert.pem" -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
python3 "$TRELLIS_SRC/tests/fixtures/bmcsim.py" --state "$dir/bmc" \
	--machine "$dir/a" --port-file "$dir/bmc.port" --cert "$dir/cert.pem" \
	--key "$dir/key.pem" --user admin --password-file "$dir/bmc.pw" \
	>"$dir/bmc.out" 2>&1 &
BMC_PID=$!
# pv_start's trap (pv_cleanup) ends the BMC and host A too.
eval "$(declare -f pv_cleanup | sed '1s/pv_cleanup/pv_cleanup_base/')"
pv_cleanup() { pv_cleanup_base; cleanup_rf; }
trap pv_cleanup EXIT
for _ in $(seq 1 50); do [[ -s $dir/bmc.port ]] && break; sleep 0.1; done
bmc="https://127.0.0.1:$(cat "$dir/bmc.port" 2>/dev/null)"
sim() { curl -s --cacert "$dir/cert.pem" "$@"; }
sim_mode() { sim -X POST -d "{\"mode\": \"$1\"}" "$bmc/_sim/mode" >/dev/null; }
sim_state() { sim "$bmc/_sim/state"; }
sim_mode error

# The probe: host A is alive while its libvirtd is.
cat >"$dir/probe.sh" <<P
#!/bin/sh
[ "\$1" = hostA ] || exit 0
kill -0 \$(cat "$dir/a/libvirtd.pid" 2>/dev/null) 2>/dev/null
P
chmod +x "$dir/probe.sh"

PV_CONFIG="host_refresh: 0
secrets_dir: $dir/secrets
ha: {interval: 1s, fail_after: 3s, probe: [$dir/probe.sh, '{host}'], fence_action: fence.redfish, fence_timeout: 6s, bmc: {url: '$bmc', credentials: 'bmc-{host}', ca: '$dir/cert.pem'}}"
pv_start

is "the simulated BMC answers (HTTPS, Basic auth)" "$(sim -u "admin:$pw" "$bmc/redfish/v1/Systems/1" | jq_ 'j["PowerState"]')" "On"
is "...and refuses a wrong password" "$(sim -o /dev/null -w '%{http_code}' -u admin:wrong "$bmc/redfish/v1/Systems/1")" "401"
ha_join "$dir/a" harf$$
name=${PV_PREFIX}rf
log=$PV_DIR/$name.serial.log
ha_guest_on_a "$name" "$log" harf$$
uuid=$HA_UUID
# A VM that is not HA-enabled: it is not restarted, so its definition on
# A is no stale one.
plain=${PV_PREFIX}plain
pv_run vm.provision "name=$plain" "kernel=$kernel" "initrd=$initrd" \
	"cmdline=console=ttyS0 quiet" "serial_log=$PV_DIR/$plain.log" host=hostA segment=harf$$
is "a VM without HA on A" "$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)" "succeeded"
qpid=$(cat "$dir/a/run/qemu/$name.pid" 2>/dev/null)
ok "its QEMU runs on A (pid $qpid)" kill -0 "$qpid"
a_ino=$(stat -c %i "$log") a_size=$(stat -c %s "$log")


# ---- A's management dies; the BMC answers 500 ----
kill -9 "$HA_A_PID"
wait "$HA_A_PID" 2>/dev/null
is "host A failed; the BMC answered 500: fence_failed" "$(ha_wait_host fence_failed)" "fence_failed"
like "...the reason: the BMC's HTTP 500 and message" "$(ha_reason)" "HTTP 500.*failed to reset"
sleep 2
ok "no restart: the guest still runs on A" kill -0 "$qpid"
is "...none on B" "$(virsh -c qemu:///system domstate "$name" 2>&1 | grep -c running)" "0"
is "ha status: no restart" "$(tcli ha status -o json | jq_ 'len(j["restarts"])')" "0"

# ---- the BMC takes ForceOff but the power stays On ----
sim_mode stuck
ok "ha clear hostA" tcli ha clear hostA
is "ForceOff taken, power still On after the timeout: fence_failed" "$(ha_wait_host fence_failed 60)" "fence_failed"
like "...the reason says so" "$(ha_reason)" "PowerState still 'On'"
ok "no restart: the guest still runs on A" kill -0 "$qpid"
is "ha status: still no restart" "$(tcli ha status -o json | jq_ 'len(j["restarts"])')" "0"
is "the BMC served ForceOff twice (error, stuck)" "$(sim_state | jq_ '",".join(r["type"]+":"+r["mode"] for r in j["resets"])')" "ForceOff:error,ForceOff:stuck"

# ---- the BMC works ----
sim_mode ok
ok "ha clear hostA" tcli ha clear hostA
is "host A fenced through Redfish" "$(ha_wait_host fenced)" "fenced"
is "the BMC says Off" "$(sim_state | jq_ 'j["power"]')" "Off"
ok "the power-off killed A's QEMU" ha_pid_gone "$qpid"
is "the VM runs again, on host B" "$(ha_vm_where "$name")" "running pvh"
is "...the same uuid" "$(tcli vm show "$name" -o json | jq_ 'j["uuid"]')" "$uuid"
ok "the guest prints its boot marker on B" ha_marker_again "$log" "$a_ino" "$a_size"
is "the VM without HA: host_failed, not restarted" "$(tcli vm show "$plain" -o json | jq_ 'j["state"]')" "host_failed"

# ---- host A comes back with its old definitions ----
sim -X POST -u "admin:$pw" -H 'Content-Type: application/json' -d '{"ResetType": "On"}' "$bmc/redfish/v1/Systems/1/Actions/ComputerSystem.Reset" >/dev/null
is "the BMC powers A on" "$(sim_state | jq_ 'j["power"]')" "On"
ls "$dir/a/etc/qemu/$name.xml" >/dev/null 2>&1
ok "A kept the definition of the VM restarted on B" test -f "$dir/a/etc/qemu/$name.xml"
if ha_host_up "$dir/a"; then
	_tap_report 0 "host A's libvirtd is back"
else
	_tap_report 1 "host A's libvirtd is back"
fi
is "ha: host A returned" "$(ha_wait_ha returned)" "returned"
like "...the stale domain undefined, named" "$(ha_reason)" "1 stale domain\\(s\\) undefined: $name"
is "the stale definition is gone from A" "$(virsh -c "$HA_A_URI" list --all --name | grep -cx "$name")" "0"
is "...it was never started there (no QEMU pid file)" "$(ls "$dir/a/run/qemu/$name.pid" 2>/dev/null | wc -l)" "0"
is "the VM without HA keeps its definition on A, shut off" "$(virsh -c "$HA_A_URI" domstate "$plain" 2>&1)" "shut off"
is "the VM still runs on B" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "running"
is "host A's record: still fenced (the operator clears it)" "$(tcli host show hostA -o json | jq_ 'j["state"]')" "fenced"

au=$(tcli audit list -o json 2>/dev/null)
like "audited: the fences (failed, failed, ok)" "$(jq_ '" ".join(a["op"]+"="+a["result"] for a in j["items"] if a["op"]=="ha.fence")' <<<"$au")" "ha.fence=failed.*ha.fence=failed.*ha.fence=ok"
like "audited: the stale domain undefined" "$(jq_ '" ".join(a["object"]+"="+a["result"] for a in j["items"] if a["op"]=="ha.stale_undefined")' <<<"$au")" "vm $name on hostA \\(runs on pvh\\)=ok"
leak=$(grep -l -- "$pw" "$PV_DIR/daemon.log" "$PV_DIR"/state/*.log "$dir/bmc/access.log" 2>/dev/null | wc -l)
is "the BMC password is in no log" "$leak" "0"
is "...nor in ha status or the audit" "$( (tcli ha status -o json; echo "$au") | grep -c -- "$pw")" "0"
like "the BMC saw the fence's calls (GET system, POST reset)" "$(cat "$dir/bmc/access.log")" "POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset 204"
# The plain VM's record names host A (host_failed): destroy it there.
timeout 120 "$TRELLIS_BUILD/bin/trellis" -s "ipc://$PV_DIR/api.sock" workflow run vm.destroy \
	--input host=hostA --input "name=$plain" --input "uuid=$(tcli vm show "$plain" -o json | jq_ 'j["uuid"]')" \
	--input pool=shpool --wait >/dev/null 2>&1 || true
done_testing
