#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Trellis test guest: a real Linux kernel (Debian's
# linux-image-cloud-amd64) and an initramfs with busybox-static, both from
# Debian packages fetched with `apt-get download` (nothing is installed).
#
# The guest's init mounts devtmpfs, loads the virtio modules (the cloud
# kernel builds virtio as modules), configures the NIC from the kernel
# command line, and prints a marker line on the serial console:
#
#     TRELLIS-GUEST-UP
#
# Kernel command line understood by the init:
#     console=ttyS0                       serial console (the marker goes there)
#     ip=CLIENT::GW:NETMASK:HOST:DEV:off  the kernel's own ip= syntax; NETMASK
#                                         may also be a prefix length (24);
#                                         DEV defaults to eth0
#
# The result is cached in tests/guest/cache/ and rebuilt only when this
# script or a package version changes.  Prints, for `eval`:
#     kernel=/abs/path/vmlinuz
#     initrd=/abs/path/initrd.img
# Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=$here/cache
meta=linux-image-cloud-amd64
log() { echo "guest: $*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9 || {
	log "another build holds $cache/.lock"
	exit 1
}

# One apt-cache call (each costs about a second): the meta package's
# version fixes the kernel package it depends on.
versions() {
	apt-cache policy "$meta" busybox-static 2>/dev/null |
		awk '/^[^ ]/ {p=$1} /Candidate:/ && $2 != "(none)" {print p, $2}'
}
v=$(versions)
if [[ $(wc -l <<<"$v") -lt 2 ]]; then
	log "package lists lack $meta or busybox-static; running apt-get update"
	apt-get update -q >/dev/null
	v=$(versions)
fi
mver=$(awk -v m="$meta:" '$1 == m {print $2}' <<<"$v")
bver=$(awk '$1 == "busybox-static:" {print $2}' <<<"$v")
[[ -n $mver && -n $bver ]] || {
	log "no candidate for $meta or busybox-static"
	exit 1
}
key=$( (
	cat "$0"
	echo "$meta=$mver busybox-static=$bver"
) | sha256sum | cut -c1-16)
out=$cache/$key

if [[ -f $out/stamp ]]; then
	echo "kernel=$out/vmlinuz"
	echo "initrd=$out/initrd.img"
	exit 0
fi

kpkg=$(apt-cache depends "$meta=$mver" | awk '/Depends: linux-image-/ {print $2; exit}')
[[ -n $kpkg ]] || {
	log "cannot resolve $meta $mver to a kernel package"
	exit 1
}
kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2}')
log "building guest $key ($kpkg $kver, busybox-static $bver)"
work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
dl=$cache/dl
mkdir -p "$dl"
(
	cd "$dl"
	# apt drops privileges to _apt for downloads; a root-owned cache dir
	# only earns a warning, which we do not need to see.
	apt-get download -q "$kpkg=$kver" "busybox-static=$bver" 2>&1 |
		grep -v -e 'unsandboxed as root' >&2 || true
)
kdeb=$(ls "$dl/${kpkg}_"*"_amd64.deb" 2>/dev/null | grep -F "_${kver//:/%3a}_" | head -1 || true)
[[ -n $kdeb ]] || kdeb=$(ls -t "$dl/${kpkg}_"*.deb | head -1)
bdeb=$(ls -t "$dl"/busybox-static_*.deb | head -1)
[[ -f $kdeb && -f $bdeb ]] || {
	log "download failed"
	exit 1
}

dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/b"
release=$(basename "$(ls -d "$work"/k/lib/modules/*)")
mods=$work/k/lib/modules/$release/kernel

# Modules the guest needs, with their dependencies, in load order.  The
# package has no modules.dep (depmod runs at install time), so read each
# module's own "depends=" from its .modinfo section.
declare -A path_of=() loaded=()
while IFS= read -r f; do
	n=$(basename "$f" .ko)
	path_of[${n//-/_}]=$f
done < <(find "$mods" -name '*.ko')
order=()
add_mod() {
	local n=${1//-/_}
	[[ -n ${loaded[$n]:-} ]] && return 0
	local f=${path_of[$n]:-}
	[[ -n $f ]] || {
		log "module $n not in $kpkg (built in?)"
		return 0
	}
	loaded[$n]=1
	local deps
	deps=$(grep -a -o 'depends=[a-z0-9_,-]*' "$f" | head -1 | cut -d= -f2)
	local d
	for d in ${deps//,/ }; do add_mod "$d"; done
	order+=("$n")
}
for m in virtio_pci virtio_net virtio_blk button evdev; do add_mod "$m"; done

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc/acpi/PWRF,lib/modules}
cp "$work/b/bin/busybox" "$root/bin/busybox"
for n in "${order[@]}"; do
	cp "${path_of[$n]}" "$root/lib/modules/$n.ko"
	echo "$n" >>"$root/etc/modules"
done

# busybox acpid runs /etc/acpi/PWRF/00000080 on an ACPI power button press,
# which is how libvirt asks a guest to shut down gracefully.
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "trellis-guest: ACPI power button, powering off"
sync
poweroff -f
EOF
chmod +x "$root/etc/acpi/PWRF/00000080"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the Trellis test guest (tests/guest/build.sh).
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Nothing may be written before devtmpfs provides the console device.
exec </dev/ttyS0 >/dev/ttyS0 2>&1
log() { echo "trellis-guest: $*"; }
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m.ko" || log "insmod $m failed"
done
ipcfg= host=trellis-guest
for arg in $(cat /proc/cmdline); do
	case $arg in
	ip=*) ipcfg=${arg#ip=} ;;
	esac
done
if [ -n "$ipcfg" ]; then
	IFS=: read -r client server gw mask hn dev auto <<IP
$ipcfg
IP
	dev=${dev:-eth0}
	[ -n "$hn" ] && host=$hn
	case $mask in
	*.*) # dotted netmask -> prefix length
		prefix=0
		for o in $(echo "$mask" | tr . ' '); do
			while [ "$o" -gt 0 ]; do
				prefix=$((prefix + (o & 1)))
				o=$((o >> 1))
			done
		done ;;
	'') prefix=24 ;;
	*) prefix=$mask ;;
	esac
	i=0
	while [ ! -e "/sys/class/net/$dev" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ip link set lo up
	if ip link set "$dev" up && ip addr add "$client/$prefix" dev "$dev"; then
		[ -n "$gw" ] && ip route add default via "$gw"
		log "$dev $client/$prefix${gw:+ via $gw}"
	else
		log "cannot configure $dev"
	fi
fi
hostname "$host"
acpid -d -c /etc/acpi &
echo "TRELLIS-GUEST-UP"
while true; do
	setsid cttyhack sh
	sleep 1
done
EOF
chmod +x "$root/init"

mkdir -p "$work/out"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$work/out/initrd.img"
cp "$work/k/boot/vmlinuz-$release" "$work/out/vmlinuz"
echo "$kpkg=$kver busybox-static=$bver modules=${order[*]}" >"$work/out/stamp"
chmod 0644 "$work/out/"*
# Older builds go; the new one appears atomically under its key.
find "$cache" -mindepth 1 -maxdepth 1 -type d -not -name dl -not -name "$(basename "$work")" -exec rm -rf {} +
mv "$work/out" "$out"
log "built $out (modules: ${order[*]})"
echo "kernel=$out/vmlinuz"
echo "initrd=$out/initrd.img"
