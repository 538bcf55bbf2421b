#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Starts virtlogd and libvirtd if they are not running, creating what a
# minimal Debian (no systemd units, no udev, no libvirt-daemon-system)
# lacks: the libvirt-qemu user and group, access to /dev/kvm for them,
# /var/log/libvirt and /run/libvirt.  Idempotent and quick when libvirtd
# already answers; safe to call from several tests at once (it takes a
# lock).  Exits 0 once `virsh -c qemu:///system version` answers, non-zero
# with the reason otherwise.  Needs root.
#   tools/libvirt-up.sh [--quiet]
#
# --private DIR starts a libvirtd (and its virtlogd) of the caller's own
# instead, for a test that must stop or restart libvirtd without touching
# anyone else's: in a mount namespace of its own, /etc/libvirt (the
# *.conf files only: no domains, no networks), /run/libvirt,
# /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are
# directories under DIR, and its PID files are DIR/libvirtd.pid and
# DIR/virtlogd.pid.  It prints, for eval:
#   LV_URI=qemu+unix:///system?socket=DIR/run/libvirt-sock LV_PID=N LV_LOGD_PID=N
# Stop it by those PIDs (kill "$LV_PID" "$LV_LOGD_PID"), never by name; a
# second --private DIR with the same DIR starts it again on the same state.
#   tools/libvirt-up.sh --private DIR [--quiet]
set -euo pipefail

quiet=0 private=
while (($#)); do
	case $1 in
	--quiet) quiet=1 ;;
	--private)
		private=${2:?--private needs a directory}
		shift
		;;
	*)
		echo "libvirt-up: unknown argument '$1'" >&2
		exit 2
		;;
	esac
	shift
done
say() { ((quiet)) || echo "libvirt-up: $*" >&2; }
die() {
	echo "libvirt-up: $*" >&2
	exit 1
}

answers() { timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; }

if [[ -z $private ]] && answers; then
	exit 0
fi
[[ $(id -u) -eq 0 ]] || die "libvirtd is not running and starting it needs root"
for b in libvirtd virtlogd virsh; do
	command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] ||
		die "$b not found (apt-get install libvirt-daemon libvirt-clients)"
done
PATH=$PATH:/usr/sbin

# Whether the daemon whose pid file is $1 runs (no procps needed).
running() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

mkdir -p /run/lock
exec 9>/run/lock/trellis-libvirt-up.lock
flock -w 60 9 || die "another libvirt-up holds the lock for over 60 s"
# Someone else may have started it while we waited for the lock.
if [[ -z $private ]] && answers; then
	exit 0
fi

# The QEMU driver runs guests as libvirt-qemu:libvirt-qemu (the Debian
# build's default); Debian's libvirt-daemon-system would make them.
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent group kvm >/dev/null || groupadd --system kvm
if ! getent passwd libvirt-qemu >/dev/null; then
	useradd --system --gid libvirt-qemu --groups kvm --no-create-home \
		--home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
	say "created user libvirt-qemu"
fi
id -nG libvirt-qemu | grep -qw kvm || usermod -a -G kvm libvirt-qemu
# Without udev /dev/kvm stays root-only; udev's rule makes it root:kvm 0660.
if [[ -c /dev/kvm ]]; then
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
fi
mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu \
	/var/cache/libvirt/qemu

if [[ -n $private ]]; then
	command -v unshare >/dev/null || die "unshare not found (util-linux)"
	mkdir -p "$private"
	private=$(cd "$private" && pwd)
	uri="qemu+unix:///system?socket=$private/run/libvirt-sock"
	mkdir -p "$private"/{etc,run,lib/qemu,cache/qemu,log/qemu}
	chmod 755 "$private" "$private/lib" "$private/run"
	# The host's daemon configuration, not its domains or networks:
	# a second daemon must never manage what the first one does.
	for f in /etc/libvirt/*.conf; do
		[[ -f $f ]] && cp "$f" "$private/etc/"
	done
	# The mount points (a host without libvirt-daemon-system lacks some).
	mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt \
		/var/log/libvirt
	if running "$private/libvirtd.pid"; then
		die "a private libvirtd already runs on $private (pid $(cat "$private/libvirtd.pid"))"
	fi
	# A restart (a second --private on DIR) keeps the virtlogd that runs:
	# its socket is DIR/run/virtlogd-sock in any namespace.
	logd=1
	running "$private/virtlogd.pid" && logd=0
	rm -f "$private/libvirtd.pid"
	((logd)) && rm -f "$private/virtlogd.pid"
	# One mount namespace for both: libvirtd finds virtlogd's socket in
	# its /run/libvirt.  virtlogd -p and libvirtd -p keep the host's
	# /run/*.pid untouched.  setsid: it outlives this script.
	# shellcheck disable=SC2016
	setsid unshare -m --propagation private sh -c '
		d=$1
		mount --bind "$d/etc" /etc/libvirt &&
		mount --bind "$d/run" /run/libvirt &&
		mount --bind "$d/lib" /var/lib/libvirt &&
		mount --bind "$d/cache" /var/cache/libvirt &&
		mount --bind "$d/log" /var/log/libvirt || exit 1
		[ "$2" = 1 ] && virtlogd -p "$d/virtlogd.pid" &
		for i in $(seq 1 50); do
			[ -S /run/libvirt/virtlogd-sock ] && break
			sleep 0.1
		done
		exec libvirtd -p "$d/libvirtd.pid"
	' sh "$private" "$logd" </dev/null >>"$private/libvirtd.log" 2>&1 9>&- &
	for _ in $(seq 1 150); do
		if [[ -s $private/libvirtd.pid ]] &&
			timeout 10 virsh -c "$uri" version >/dev/null 2>&1; then
			say "a private libvirtd answers on $uri"
			echo "LV_URI='$uri' LV_PID=$(cat "$private/libvirtd.pid") LV_LOGD_PID=$(cat "$private/virtlogd.pid" 2>/dev/null || echo 0)"
			exit 0
		fi
		sleep 0.2
	done
	die "the private libvirtd does not answer on $uri after 30 s (see $private/libvirtd.log)"
fi

# virtlogd first: libvirtd hands it every guest's serial and stdio logs.
if ! running /run/virtlogd.pid; then
	say "starting virtlogd"
	# Not with the lock: a daemon that inherits fd 9 holds it for life.
	virtlogd --daemon 9>&-
fi
for _ in $(seq 1 50); do
	[[ -S /run/libvirt/virtlogd-sock ]] && break
	sleep 0.1
done
[[ -S /run/libvirt/virtlogd-sock ]] || die "virtlogd did not create /run/libvirt/virtlogd-sock"

if ! running /run/libvirtd.pid; then
	say "starting libvirtd"
	libvirtd --daemon 9>&-
fi
for _ in $(seq 1 150); do
	if answers; then
		say "libvirtd answers on qemu:///system"
		exit 0
	fi
	sleep 0.2
done
die "libvirtd does not answer on qemu:///system after 30 s (see /var/log/libvirt)"
