# SPDX-License-Identifier: Apache-2.0
# tests/integration/ha/lib.sh - a second hypervisor host on this machine
# for the HA tests: a libvirtd (and virtlogd) of the test's own, in a
# private mount namespace whose /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt and /etc/libvirt are the test's
# directories, its sockets in $HA_A/sock (reached as
# qemu+unix:///system?socket=$HA_A/sock/libvirt-sock) and its own host
# UUID, so that Trellis sees a second machine.  The shared libvirtd is
# never touched; what this starts is stopped by PID.
#   ha_host_up DIR     starts it; HA_A_URI, HA_A_PID (libvirtd), HA_A_LOGD
#   ha_host_down       kills what ha_host_up started (and its guests)
#   ha_qemu_pids       the QEMU processes of its guests

HA_A=
HA_A_PID=
HA_A_LOGD=
HA_A_URI=

ha_host_up() {
	HA_A=$1
	mkdir -p "$HA_A"/{run,lib/qemu,cache/qemu,log/qemu,etc/qemu,sock}
	chmod 755 "$HA_A" "$HA_A"/lib "$HA_A"/run
	cp /etc/libvirt/libvirt.conf "$HA_A/etc/" 2>/dev/null || true
	[[ -f /etc/libvirt/qemu.conf ]] && cp /etc/libvirt/qemu.conf "$HA_A/etc/"
	cat >"$HA_A/etc/libvirtd.conf" <<-C
		unix_sock_dir = "$HA_A/sock"
		host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
		log_outputs = "3:file:$HA_A/libvirtd.log"
	C
	unshare -m --propagation private /bin/sh -c '
		d=$1
		mount --bind "$d/run" /run/libvirt &&
		mount --bind "$d/lib" /var/lib/libvirt &&
		mount --bind "$d/cache" /var/cache/libvirt &&
		mount --bind "$d/log" /var/log/libvirt &&
		mount --bind "$d/etc" /etc/libvirt || exit 1
		virtlogd --daemon -p "$d/virtlogd.pid" || exit 1
		exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$d/libvirtd.pid"
	' sh "$HA_A" >"$HA_A/libvirtd.out" 2>&1 &
	HA_A_PID=$!
	HA_A_URI="qemu+unix:///system?socket=$HA_A/sock/libvirt-sock"
	local i
	for i in $(seq 1 100); do
		timeout 5 virsh -c "$HA_A_URI" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	HA_A_LOGD=$(cat "$HA_A/virtlogd.pid" 2>/dev/null)
	timeout 5 virsh -c "$HA_A_URI" version >/dev/null 2>&1
}

ha_qemu_pids() {
	local f
	for f in "$HA_A"/run/qemu/*.pid; do
		[[ -s $f ]] && echo "$(cat "$f")"
	done
	return 0
}

ha_host_down() {
	local p
	for p in $(ha_qemu_pids) $HA_A_PID $HA_A_LOGD; do
		kill -9 "$p" 2>/dev/null || true
	done
	[[ -n $HA_A_PID ]] && wait "$HA_A_PID" 2>/dev/null
	return 0
}

# What the HA tests wait for and read (they need tcli and jq_ of
# provision/lib.sh):
#   ha_wait_host STATE [TRIES]   host A's record reaches STATE; prints it
#   ha_reason                    HA's reason for host A (ha status)
#   ha_marker_again LOG INO SIZE the guest printed its boot marker again
#                                (LOG's inode and size were INO, SIZE)
ha_wait_host() {
	local st= i
	for i in $(seq 1 "${2:-40}"); do
		st=$(tcli host show hostA -o json | jq_ 'j["state"]')
		[[ $st == "$1" ]] && break
		sleep 0.5
	done
	echo "$st"
}

ha_reason() {
	tcli ha status -o json | jq_ '[h for h in j["hosts"] if h["host"]=="hostA"][0]["reason"]'
}

ha_marker_again() {
	local log=$1 a_ino=$2 a_size=$3 n ino size anew= i
	for i in $(seq 1 90); do
		n=$(grep -c TRELLIS-GUEST-UP "$log" 2>/dev/null)
		ino=$(stat -c %i "$log" 2>/dev/null) size=$(stat -c %s "$log" 2>/dev/null)
		[[ ${n:-0} -eq 0 || $ino != "$a_ino" || ${size:-0} -lt $a_size ]] && anew=1
		if [[ ${n:-0} -ge 2 ]] || { [[ ${n:-0} -ge 1 && -n $anew ]]; }; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# ha_join DIR NET: host A up in DIR (ha_host_up) and in cluster ca of the
# pod pv/pv, a shared pool shpool (no cluster: both hosts reach it) and a
# network NET; ends the test when host A does not start.
ha_join() {
	if ha_host_up "$1"; then
		_tap_report 0 "a second libvirtd (host A) with its own sockets and state"
	else
		_tap_report 1 "a second libvirtd (host A) with its own sockets and state"
		tail -5 "$1/libvirtd.out" | sed 's/^/#   /'
		done_testing
	fi
	ok "a second cluster in the pod" tcli cluster create ca --pod pv/pv
	ok "host A added (qemu+unix:///system?socket=...)" tcli host add hostA \
		--cluster pv/pv/ca --hypervisor libvirt --uri "$HA_A_URI"
	mkdir -m 0711 "$PV_DIR/shpool"
	ok "a shared pool (no cluster)" tcli pool create shpool --target "$PV_DIR/shpool"
	ok "a network of this run" tcli network create "$2" --pool pvvx
}

# ha_guest_on_a NAME LOG NET [K=V...]: provisions guest NAME on host A
# (HA-enabled unless ha=false is given), its serial log LOG, and waits
# for its boot marker; ends the test when the provision fails.  HA_UUID
# gets its uuid.
ha_guest_on_a() {
	local n=$1 l=$2 net=$3 st
	shift 3
	pv_run vm.provision "name=$n" "kernel=$kernel" "initrd=$initrd" \
		"cmdline=console=ttyS0 quiet" "serial_log=$l" host=hostA ha=true \
		segment="$net" "$@"
	st=$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)
	is "an HA-enabled VM provisioned on host A" "$st" "succeeded"
	[[ $st == succeeded ]] || { diag "$(head -20 "$PV_DIR/run.log")"; done_testing; }
	HA_UUID=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT")
	pv_track "$n"
	ok "it boots on A (marker)" wait_marker "$l" 90
}

# ha_pid_gone PID: waits (4 s at most) for PID to end; fails if it runs.
ha_pid_gone() {
	local i
	for i in $(seq 1 20); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	! kill -0 "$1" 2>/dev/null
}

# ha_vm_where NAME: waits (60 s at most) for VM NAME to run on host B
# (pvh) or fail; prints "STATE HOST".
ha_vm_where() {
	local vst= i
	for i in $(seq 1 120); do
		vst=$(tcli vm show "$1" -o json | jq_ 'j["state"]+" "+str(j["host"])')
		[[ $vst == "running pvh" || $vst == failed* ]] && break
		sleep 0.5
	done
	echo "$vst"
}

# ha_wait_ha STATE: waits (30 s at most) for HA's state of host A (ha
# status; "none" when HA holds nothing of it); prints it.
ha_wait_ha() {
	local hs= i
	for i in $(seq 1 60); do
		hs=$(tcli ha status -o json | jq_ '([h["state"] for h in j["hosts"] if h["host"]=="hostA"] + ["none"])[0]')
		[[ $hs == "$1" ]] && break
		sleep 0.5
	done
	echo "$hs"
}
