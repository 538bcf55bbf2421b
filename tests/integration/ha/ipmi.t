#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Host HA fenced over IPMI with Debian's ipmitool (fence.ipmitool, issue
# 23) against a real simulated BMC: openipmi's ipmi_sim, speaking IPMI 2.0
# (RMCP+, lanplus) on a UDP port of this test, whose "machine" (its
# startcmd, power on while it runs) is host A: on `chassis power off`
# ipmi_sim sends it SIGTERM and it kills host A's guests' QEMU and its
# libvirtd by PID, as a power cut would.  Host A (ha/lib.sh) and host B
# (qemu:///system) are in one pod.  First the machine hangs on to its
# power (it ignores the SIGTERM; ipmi_sim sends no SIGKILL): the power
# stays on, fence_failed, nothing restarts.  Then it powers off: host A
# fenced, the guest comes back on B and prints its boot marker.  Cleared
# while it is off, host A fails again and is fenced at once (its power is
# off already: nothing is sent); powered on again (ipmitool), it comes
# back with the guest's old definition, which trellisd undefines without
# starting it.  The BMC password is in no log.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../provision/lib.sh"
source "$(dirname "$0")/lib.sh"
lv_require
for c in unshare ipmi_sim ipmitool; do
	command -v $c >/dev/null || { echo "1..0 # SKIP no $c (tools/deps/ha.txt)"; exit 0; }
done

dir=$(mktemp -d /tmp/trellis-haipmi.XXXXXX)
chmod 755 "$dir"
SIM_PID=
port=$((30000 + ($$ % 5000) * 2))
pw="ip$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -m 0700 "$dir/secrets" "$dir/sim"
printf 'admin:%s\n' "$pw" >"$dir/secrets/ipmi-hostA"
chmod 600 "$dir/secrets/ipmi-hostA"
# The machine: powered while it runs; its power cut kills host A.
cat >"$dir/machine.sh" <<M
#!/bin/bash
off() {
	echo "TERM" >>"$dir/machine.log"
	[ -e "$dir/stuck" ] && return
	for f in "$dir/a"/run/qemu/*.pid "$dir/a/libvirtd.pid" "$dir/a/virtlogd.pid"; do
		[ -s "\$f" ] && kill -9 "\$(cat "\$f")" 2>/dev/null
	done
	echo "off" >>"$dir/machine.log"
	exit 0
}
trap off TERM
echo "on" >>"$dir/machine.log"
while :; do sleep 1 & wait \$!; done
M
chmod +x "$dir/machine.sh"
cat >"$dir/lan.conf" <<C
name "trellis$$"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $port
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 $((port + 1)) codec VM
  startcmd "$dir/machine.sh"
  startnow true
  poweroff_wait 0
  kill_wait 0
user 2 true "admin" "$pw" admin 10 none md2 md5 straight
C
chmod 600 "$dir/lan.conf"
cat >"$dir/bmc.emu" <<E
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
E
cleanup_ipmi() {
	[[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null
	local m
	for m in $(pgrep -f "$dir/machine.sh"); do kill -9 "$m" 2>/dev/null; done
	ha_host_down
	rm -rf "$dir"
}
eval "$(declare -f pv_cleanup | sed '1s/pv_cleanup/pv_cleanup_base/')"
pv_cleanup() { pv_cleanup_base; cleanup_ipmi; }
trap pv_cleanup EXIT
printf '%s' "$pw" >"$dir/pw"
chmod 600 "$dir/pw"
ipmi() { ipmitool -I lanplus -H 127.0.0.1 -p "$port" -U admin -f "$dir/pw" "$@" 2>/dev/null; }

cat >"$dir/probe.sh" <<P
#!/bin/sh
[ "\$1" = hostA ] || exit 0
kill -0 \$(cat "$dir/a/libvirtd.pid" 2>/dev/null) 2>/dev/null
P
chmod +x "$dir/probe.sh"
PV_CONFIG="host_refresh: 0
secrets_dir: $dir/secrets
ha: {interval: 1s, fail_after: 3s, probe: [$dir/probe.sh, '{host}'], fence_action: fence.ipmitool, fence_timeout: 6s, bmc: {url: 'lanplus://127.0.0.1:$port', credentials: 'ipmi-{host}'}}"
pv_start

ha_join "$dir/a" haip$$
ipmi_sim -c "$dir/lan.conf" -f "$dir/bmc.emu" -s "$dir/sim" -n >"$dir/sim.out" 2>&1 &
SIM_PID=$!
st=
for _ in $(seq 1 50); do
	st=$(ipmi chassis power status)
	[[ $st == *on ]] && break
	sleep 0.2
done
is "ipmi_sim answers over lanplus: its machine's power is on" "$st" "Chassis Power is on"
name=${PV_PREFIX}ipmi
log=$PV_DIR/$name.serial.log
ha_guest_on_a "$name" "$log" haip$$
qpid=$(cat "$dir/a/run/qemu/$name.pid" 2>/dev/null)
a_ino=$(stat -c %i "$log") a_size=$(stat -c %s "$log")

# ---- the machine hangs on to its power ----
touch "$dir/stuck"
kill -9 "$HA_A_PID"
wait "$HA_A_PID" 2>/dev/null
is "host A failed; power off sent, the power stays on: fence_failed" "$(ha_wait_host fence_failed 60)" "fence_failed"
like "...the reason says so" "$(ha_reason)" "power still on"
is "ipmi_sim: still on" "$(ipmi chassis power status)" "Chassis Power is on"
ok "no restart: the guest still runs on A" kill -0 "$qpid"
is "ha status: no restart" "$(tcli ha status -o json | jq_ 'len(j["restarts"])')" "0"

# ---- it powers off ----
rm -f "$dir/stuck"
ok "ha clear hostA" tcli ha clear hostA
is "host A fenced over IPMI" "$(ha_wait_host fenced)" "fenced"
is "ipmi_sim: off" "$(ipmi chassis power status)" "Chassis Power is off"
ok "the power cut killed A's QEMU" ha_pid_gone "$qpid"
is "the VM runs again, on host B" "$(ha_vm_where "$name")" "running pvh"
ok "the guest prints its boot marker on B" ha_marker_again "$log" "$a_ino" "$a_size"

# ---- cleared while off: fenced again (already off), then it comes back ----
ok "ha clear hostA while it is off" tcli ha clear hostA
is "host A fails again and is fenced at once: its power is off already" "$(ha_wait_host fenced 60)" "fenced"
is "...nothing sent: the machine was started once" "$(grep -c '^on' "$dir/machine.log")" "1"
ok "ipmitool powers A on (ipmi_sim starts its machine)" ipmi chassis power on
ok "host A's libvirtd is back" ha_host_up "$dir/a"
ok "A came back with the definition of the VM restarted on B" test -f "$dir/a/etc/qemu/$name.xml"
is "ha: host A returned" "$(ha_wait_ha returned)" "returned"
is "its stale definition is gone, never started" "$(virsh -c "$HA_A_URI" list --all --name | grep -cx "$name") $(ls "$dir/a/run/qemu/$name.pid" 2>/dev/null | wc -l)" "0 0"
is "the VM still runs on B" "$(virsh -c qemu:///system domstate "$name" 2>&1)" "running"
au=$(tcli audit list -o json 2>/dev/null)
like "audited: the fences (failed, ok, ok)" "$(jq_ '" ".join(a["op"]+"="+a["result"] for a in j["items"] if a["op"]=="ha.fence")' <<<"$au")" "ha.fence=failed.*ha.fence=ok.*ha.fence=ok"
like "audited: the stale domain undefined" "$(jq_ '" ".join(a["object"]+"="+a["result"] for a in j["items"] if a["op"]=="ha.stale_undefined")' <<<"$au")" "vm $name on hostA \\(runs on pvh\\)=ok"
is "the BMC password is in no log" "$(grep -l -- "$pw" "$PV_DIR/daemon.log" "$PV_DIR"/state/*.log 2>/dev/null | wc -l)" "0"
is "...nor in ha status or the audit" "$( (tcli ha status -o json; echo "$au") | grep -c -- "$pw")" "0"
done_testing
