#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# host add against a real libvirtd: discovered capacity equals `virsh
# nodeinfo`; VM records follow lifecycle events; a libvirtd restart costs
# no failed refresh and no lost events.  The libvirtd is this test's own
# (tools/libvirt-up.sh --private: its own mount namespace, config, sockets
# and state under the test's directory), so stopping and restarting it
# touches nobody else's; it is stopped by its PID, never by name.  Skips
# with the reason when the libvirt plugin is not built or libvirtd cannot
# be started.
# trellis-timeout: 180
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

if ! td_have_libvirt_plugin; then
	skip "host add qemu:///system" "plugins/libvirt.so is not built"
	done_testing
fi
if td_asan_breaks_libvirt_rpc; then
	skip "host add qemu:///system" "AddressSanitizer's xdr interceptors break libvirt's remote protocol"
	done_testing
fi
up=$TRELLIS_SRC/tools/libvirt-up.sh
if [[ ! -x $up ]]; then
	skip "host add qemu:///system" "tools/libvirt-up.sh is missing"
	done_testing
fi
td_start || { echo "Bail out! trellisd does not start"; exit 1; }
LV_PID= LV_LOGD_PID= LV_URI=
# Its own directory, open to QEMU's user (libvirt-qemu) as /var/lib/libvirt
# would be; the daemon's state directory stays closed.
lvdir=$(mktemp -d /tmp/trellis-qemu-lv.XXXXXX)
chmod 755 "$lvdir"
# stop_own_libvirtd: ends this test's libvirtd (by its PID) and waits.
stop_own_libvirtd() {
	[[ -n $LV_PID ]] || return 1
	kill "$LV_PID" 2>/dev/null || return 1
	for _ in $(seq 1 100); do
		kill -0 "$LV_PID" 2>/dev/null || { LV_PID=; return 0; }
		sleep 0.1
	done
	return 1
}
start_own_libvirtd() {
	local out
	out=$("$up" --private "$lvdir" --quiet 2>&1) || { echo "$out"; return 1; }
	eval "$out"
}
own_cleanup() {
	stop_own_libvirtd
	[[ -n $LV_LOGD_PID && $LV_LOGD_PID != 0 ]] && kill "$LV_LOGD_PID" 2>/dev/null
	td_cleanup
	rm -rf "$lvdir"
}
trap own_cleanup EXIT
if ! start_own_libvirtd >"$TD_DIR/libvirt-up.err"; then
	why=$(cat "$TD_DIR/libvirt-up.err")
	skip "host add (own libvirtd)" "a private libvirtd does not start: ${why//$'\n'/ }"
	done_testing
fi
diag "this test's libvirtd: pid $LV_PID on $LV_URI"
tcli zone create z >/dev/null
tcli pod create p --zone z >/dev/null
tcli cluster create c --pod p >/dev/null
ok "host add (this test's libvirtd)" tcli host add local --cluster c --hypervisor libvirt --uri "$LV_URI"
h=$(tcli host show local -o json)
ni=$(virsh -c "$LV_URI" nodeinfo)
field() { awk -F: -v k="$1" '$1 == k {gsub(/[ KiB]/, "", $2); print $2}' <<<"$ni"; }
is "cpus = virsh nodeinfo" "$(json 'j["cpus"]' <<<"$h")" "$(field 'CPU(s)')"
is "memory = virsh nodeinfo" "$(json 'j["memory_kib"]' <<<"$h")" "$(field 'Memory size')"
is "sockets = virsh nodeinfo" "$(json 'j["sockets"]' <<<"$h")" "$(field 'CPU socket(s)')"
is "cores = virsh nodeinfo" "$(json 'j["cores"]' <<<"$h")" "$(field 'Core(s) per socket')"
is "threads = virsh nodeinfo" "$(json 'j["threads"]' <<<"$h")" "$(field 'Thread(s) per core')"
like "hypervisor type and version" "$(json '[j["hv_type"], j["hv_version"]]' <<<"$h")" "\['QEMU', [1-9][0-9]*\]"
like "domain type probed" "$(json 'j["domain_type"]' <<<"$h")" "^(kvm|qemu)$"
free_kib=$(json 'j["free_memory_kib"]' <<<"$h")
total_kib=$(json 'j["memory_kib"]' <<<"$h")
ok "free memory within total" test "$free_kib" -gt 0 -a "$free_kib" -le "$total_kib"
ok "host refresh" tcli host refresh local

# VM records follow libvirt's lifecycle events.
dom=trellis-evt-$$
virsh_q() { virsh -q -c "$LV_URI" "$@" >/dev/null 2>&1; }
trap 'virsh_q destroy "$dom"; virsh_q undefine "$dom"; own_cleanup' EXIT
cat >"$TD_DIR/dom.xml" <<XML
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><graphics type='vnc' port='-1' listen='127.0.0.1'/></devices>
</domain>
XML
# wait_state NAME WANT: polls vm show until state is WANT (5 s).
wait_state() {
	local got=
	for _ in $(seq 1 50); do
		got=$(tcli vm show "$1" -o json 2>/dev/null | json 'j["state"]' 2>/dev/null)
		got=${got:-absent}
		[[ $got == "$2" ]] && break
		sleep 0.1
	done
	echo "$got"
}
virsh_q define "$TD_DIR/dom.xml"
is "a domain defined behind our back is recorded" "$(wait_state "$dom" shutoff)" shutoff
is "... as discovered on the host" "$(tcli vm show "$dom" -o json | json '[j["origin"], j["host"]]')" "['discovered', 'local']"
if virsh_q start "$dom"; then
	is "started: running" "$(wait_state "$dom" running)" running
	virsh_q destroy "$dom"
	is "destroyed: shutoff" "$(wait_state "$dom" shutoff)" shutoff
else
	skip "started: running" "QEMU cannot start a domain here"
	skip "destroyed: shutoff" "QEMU cannot start a domain here"
fi
virsh_q undefine "$dom"
is "undefined: the discovered record goes" "$(wait_state "$dom" absent)" absent

# libvirtd restarts under the daemon: the cached connection is dead.
# Only this test's libvirtd, by its PID: the machine's own keeps running.
# Not through ok: it runs its command in a subshell, and these must set
# LV_PID here.
stop_own_libvirtd
_tap_report $? "this test's libvirtd stopped (by its pid)"
out=$(tcli host refresh local 2>&1)
is "host refresh with libvirtd down fails (exit 1)" "$?" 1
like "... UNAVAILABLE, naming the URI" "$out" "UNAVAILABLE: connect to qemu\+unix:///system"
is "... and the host is unreachable" "$(tcli host show local -o json | json 'j["state"]')" unreachable
start_own_libvirtd >/dev/null
_tap_report $? "libvirtd started again"
ok "host refresh right after it is back" tcli host refresh local
is "... and the host is up" "$(tcli host show local -o json | json 'j["state"]')" up
stop_own_libvirtd && start_own_libvirtd >/dev/null
_tap_report $? "libvirtd restarted once more"
# The connection the refresh cached is dead now; the first refresh must
# not fail on it, and the new connection carries lifecycle events again.
ok "host refresh on the first try after a restart" tcli host refresh local
virsh_q define "$TD_DIR/dom.xml"
is "events again: a domain defined after the restart is recorded" "$(wait_state "$dom" shutoff)" shutoff
virsh_q undefine "$dom"
is "... and goes when undefined" "$(wait_state "$dom" absent)" absent
ok "host remove" tcli host remove local
stop_own_libvirtd
[[ -n $LV_LOGD_PID && $LV_LOGD_PID != 0 ]] && kill "$LV_LOGD_PID" 2>/dev/null
LV_LOGD_PID=
td_stop
is "clean stop" "$TD_RC" 0
done_testing
