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
set -euo pipefail

quiet=0
[[ ${1:-} == --quiet ]] && quiet=1
say() { ((quiet)) || echo "libvirt-up: $*"; }
die() {
	echo "libvirt-up: $*" >&2
	exit 1
}

answers() { timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; }

if answers; then
	exit 0
fi
[[ $(id -u) -eq 0 ]] || die "libvirtd is not running and starting it needs root"
for b in libvirtd virtlogd virsh; do
	command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] ||
		die "$b not found (apt-get install libvirt-daemon libvirt-clients)"
done
PATH=$PATH:/usr/sbin

mkdir -p /run/lock
exec 9>/run/lock/trellis-libvirt-up.lock
flock -w 60 9 || die "another libvirt-up holds the lock for over 60 s"
# Someone else may have started it while we waited for the lock.
if answers; then
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

# Whether the daemon whose pid file is $1 runs (no procps needed).
running() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

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
