# SPDX-License-Identifier: Apache-2.0
# tests/integration/libvirt/lib.sh - shared by the libvirt and provision
# tests: brings libvirtd up, builds (or finds) the test guest, and offers
# `hv` (the hvdrv driver on qemu:///system) and `wait_marker`.
# Source it after tests/lib/tap.sh.  Sets: kernel, initrd, HVDRV, tmp.

lv_require() { # prints a skip-all plan and exits when the host cannot run guests
	local why=
	[[ $(id -u) -eq 0 ]] || why="needs root"
	command -v qemu-system-x86_64 >/dev/null || why="qemu-system-x86 not installed"
	[[ -x $TRELLIS_BUILD/plugins/libvirt.so || -f $TRELLIS_BUILD/plugins/libvirt.so ]] ||
		why="libvirt plugin not built (libvirt-dev missing?)"
	if [[ -n $why ]]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
}

lv_setup() {
	HVDRV=$TRELLIS_BUILD/tests/bin-tools/hvdrv
	tmp=$(mktemp -d /tmp/trellis-lv.XXXXXX)
	chmod 755 "$tmp"
	ok "libvirtd and virtlogd are up" "$TRELLIS_SRC/tools/libvirt-up.sh" --quiet
	local g
	if g=$("$TRELLIS_SRC/tests/guest/build.sh" 2>"$tmp/guest.log"); then
		eval "$g"
		_tap_report 0 "test guest built ($(basename "$(dirname "$kernel")"))"
	else
		_tap_report 1 "test guest built"
		sed 's/^/#   /' "$tmp/guest.log" | tail -20
		done_testing
	fi
}

# Under ASan, libvirt's RPC client crashes in ASan's xdr interceptors
# unless libtirpc is loaded before them (see docs/hypervisor-libvirt.md).
lv_preload() {
	if [[ ${TRELLIS_MODE:-} == asan ]]; then
		echo "$(gcc -print-file-name=libasan.so) $(ls /lib/*/libtirpc.so.3 | head -1)"
	fi
}

# hvdrv against qemu:///system; the probe boots the guest kernel.
hv() {
	LD_PRELOAD=$(lv_preload) "$HVDRV" -p "$TRELLIS_BUILD/plugins/libvirt.so" \
		-u qemu:///system -c "probe_kernel=$kernel" "$@"
}

# wait_marker FILE SECONDS: waits for the guest's boot marker in FILE.
wait_marker() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -q TRELLIS-GUEST-UP "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Removes every domain whose name starts with $1 (cleanup traps).
lv_purge() {
	local d
	for d in $(virsh -c qemu:///system list --all --name 2>/dev/null | grep "^$1" || true); do
		virsh -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
		virsh -c qemu:///system undefine "$d" >/dev/null 2>&1 || true
	done
}
