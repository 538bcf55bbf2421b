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
#     trellis.tty1                        a banner on the VGA console; lines
#                                         typed there go to the serial log
#     ip=CLIENT::GW:NETMASK:HOST:DEV:off  the kernel's own ip= syntax; NETMASK
#                                         may also be a prefix length (24);
#                                         DEV defaults to eth0
#     trellis.serve=TEXT                  serve TEXT on port 80 (busybox httpd)
#     trellis.resolve=NAME                look NAME up, print "resolve NAME: A"
#     trellis.fetch=URL                   fetch URL, print "fetch URL: BODY"
#     trellis.ping=A[,B...]               ping each address, print "ping A:
#                                         ok" or "ping A: no answer"
#     trellis.probe=URL                   fetch URL (5 tries), print "probe
#                                         URL: BODY" or "probe URL: failed"
#     ip=dhcp                             eth0 by DHCP: busybox udhcpc, which
#                                         sets the address, the default
#                                         route and /etc/resolv.conf (issue
#                                         23: a routed network's dnsmasq)
#
# `build.sh appliance` builds the second image, a locked-down virtual
# appliance (issue 22, maintenance mode): the same kernel and init, plus
# dropbear (sshd on port 22, password logins), qemu-guest-agent on its
# virtio-serial port, and busybox httpd as the one service port (443).
# root's password is locked ("!") at every boot; a small chpasswd (busybox
# has none; qemu-ga's set-user-password runs one) sets a SHA-512 hash with
# busybox mkpasswd.  The dynamic binaries get their libraries from their
# Debian packages (dropbear's libtomcrypt/libtommath) or, for the rest of
# the closure (glibc, glib...), from this machine, which runs the same
# Debian release.  Its marker line is TRELLIS-APPLIANCE-UP.
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
variant=${1:-plain}
case $variant in
plain) extra=() ;;
appliance) extra=(dropbear-bin qemu-guest-agent libtomcrypt1 libtommath1) ;;
*)
	echo "usage: $0 [plain|appliance]" >&2
	exit 2
	;;
esac
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
	apt-cache policy "$meta" busybox-static "${extra[@]}" 2>/dev/null |
		awk '/^[^ ]/ {p=$1} /Candidate:/ && $2 != "(none)" {print p, $2}'
}
v=$(versions)
if [[ $(wc -l <<<"$v") -lt $((2 + ${#extra[@]})) ]]; then
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
	echo "$variant $v"
) | sha256sum | cut -c1-16)
# The plain image keeps its bare key; others are prefixed by their variant.
[[ $variant == plain ]] || key=$variant-$key
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
	apt-get download -q "$kpkg=$kver" "busybox-static=$bver" "${extra[@]}" 2>&1 |
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
# The appliance's extra files (see the header).  $1: the root tree.
add_appliance() {
	local r=$1 p x=$work/x
	for p in dropbear-bin qemu-guest-agent libtomcrypt1 libtommath1; do
		dpkg-deb -x "$(ls -t "$dl/${p}_"*.deb | head -1)" "$x"
	done
	mkdir -p "$r"/{usr/sbin,usr/bin,lib64,lib/x86_64-linux-gnu,etc/dropbear,www,root,var/log,dev/pts}
	cp "$x/usr/sbin/dropbear" "$x/usr/sbin/qemu-ga" "$r/usr/sbin/"
	cp "$x/usr/bin/dbclient" "$x/usr/bin/dropbearkey" "$r/usr/bin/"
	# The library closure: the packages' own first, then this machine's.
	local lib
	while read -r lib; do
		cp -L "$lib" "$r/lib/x86_64-linux-gnu/$(basename "$lib")"
	done < <(LD_LIBRARY_PATH=$x/usr/lib/x86_64-linux-gnu ldd \
		"$r/usr/sbin/dropbear" "$r/usr/sbin/qemu-ga" "$r/usr/bin/dbclient" \
		"$r/usr/bin/dropbearkey" |
		awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
	if LD_LIBRARY_PATH=$x/usr/lib/x86_64-linux-gnu ldd "$r/usr/sbin/qemu-ga" \
		"$r/usr/sbin/dropbear" | grep -q 'not found'; then
		log "appliance: unresolved libraries"
		return 1
	fi
	cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
	ln -s ../lib/x86_64-linux-gnu "$r/usr/lib"
	cat >"$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
	cat >"$r/etc/group" <<'P'
root:x:0:
nogroup:x:65534:
P
	echo /bin/sh >"$r/etc/shells"
	echo 'hosts: files' >"$r/etc/nsswitch.conf"
	echo '<html><body>trellis appliance</body></html>' >"$r/www/index.html"
	# qemu-ga's guest-set-user-password pipes "user:password" (or, with
	# -e, "user:hash") to chpasswd.  The password never reaches argv.
	cat >"$r/bin/chpasswd" <<'P'
#!/bin/sh
# chpasswd for the Trellis appliance (busybox has none): stdin user:secret.
enc=0
[ "$1" = -e ] && enc=1
umask 077
while IFS= read -r line; do
	user=${line%%:*} secret=${line#*:}
	if [ $enc = 0 ]; then
		secret=$(printf '%s\n' "$secret" | mkpasswd -m sha512 -P 0) || exit 1
	fi
	awk -F: -v u="$user" -v h="$secret" -v d=$(($(date +%s) / 86400)) \
		'BEGIN {OFS=":"} $1 == u {$2 = h; $3 = d; f=1} {print} END {exit !f}' \
		/etc/shadow >/etc/shadow.new || { rm -f /etc/shadow.new; exit 1; }
	mv /etc/shadow.new /etc/shadow
done
P
	chmod 0755 "$r/bin/chpasswd"
	cat >>"$r/etc/appliance.rc" <<'P'
# Sourced by /init: root locked, sshd, the agent, the service port.
umask 077
echo 'root:!:1:0:99999:7:::' >/etc/shadow
echo 'nobody:!:1:0:99999:7:::' >>/etc/shadow
umask 022
export PATH=/usr/sbin:/usr/bin:/bin
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mkdir -p /dev/virtio-ports /var/run
for n in /sys/class/virtio-ports/*; do
	[ -e "$n/name" ] && ln -sf "/dev/${n##*/}" "/dev/virtio-ports/$(cat "$n/name")"
done
# Its own host key, made at boot: ed25519, which takes a moment even
# under TCG (dropbear -R would make RSA keys at the first connection,
# which under TCG takes longer than a client waits).
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22 \
	-P /var/run/dropbear.pid -E 2>>/var/log/auth.log
httpd -p 443 -h /www
if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
	qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 \
		-f /var/run/qemu-ga.pid -l /var/log/qemu-ga.log
else
	log "no guest agent port"
fi
echo "TRELLIS-APPLIANCE-UP"
P
}
mlist=(virtio_pci virtio_net virtio_blk button evdev)
[[ $variant == appliance ]] && mlist+=(virtio_console)
for m in "${mlist[@]}"; do add_mod "$m"; done

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc/acpi/PWRF,lib/modules}
cp "$work/b/bin/busybox" "$root/bin/busybox"
[[ $variant == appliance ]] && add_appliance "$root"
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

# udhcpc's script (ip=dhcp): the lease's address, router and DNS servers.
cat >"$root/etc/udhcpc.script" <<'EOS'
#!/bin/sh
case $1 in
deconfig) ip addr flush dev "$interface" ;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}"
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	[ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf ;;
esac
exit 0
EOS
chmod +x "$root/etc/udhcpc.script"

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
ipcfg= host=trellis-guest serve= resolve= fetch= pings= probe=
for arg in $(cat /proc/cmdline); do
	case $arg in
	ip=*) ipcfg=${arg#ip=} ;;
	trellis.serve=*) serve=${arg#*=} ;;
	trellis.resolve=*) resolve=${arg#*=} ;;
	trellis.fetch=*) fetch=${arg#*=} ;;
	trellis.ping=*) pings=${arg#*=} ;;
	trellis.probe=*) probe=${arg#*=} ;;
	esac
done
if [ "$ipcfg" = dhcp ]; then
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ip link set lo up
	ip link set eth0 up
	if udhcpc -i eth0 -n -q -t 10 -T 1 -s /etc/udhcpc.script; then
		log "eth0 by DHCP: $(ip -4 -o addr show eth0 | awk '{print $4}')"
	else
		log "eth0: no DHCP lease"
	fi
elif [ -n "$ipcfg" ]; then
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
# Network probes for the router tests (issue 23), each reported on the
# serial console: trellis.serve=TEXT serves TEXT on port 80;
# trellis.resolve=NAME looks NAME up through the DNS server DHCP gave;
# trellis.fetch=URL fetches URL (through the router's NAT).  Both retry
# for about 30 s.  trellis.ping=A,B pings each address; trellis.probe=URL
# fetches URL and says whether it could.
if [ -n "$serve" ]; then
	mkdir -p /srv
	echo "$serve" >/srv/index.html
	httpd -p 80 -h /srv
fi
(
	i=0
	while [ -n "$resolve" ] && [ $i -lt 30 ]; do
		a=$(nslookup "$resolve" 2>/dev/null | sed -n '/^Name:/,$ s/^Address[ 0-9]*: *\([0-9.]*\).*/\1/p' | head -1)
		[ -n "$a" ] && { log "resolve $resolve: $a"; break; }
		sleep 1
		i=$((i + 1))
	done
	i=0
	while [ -n "$fetch" ] && [ $i -lt 30 ]; do
		b=$(timeout 3 wget -q -O- "$fetch" 2>/dev/null)
		[ -n "$b" ] && { log "fetch $fetch: $b"; break; }
		sleep 1
		i=$((i + 1))
	done
	# trellis.ping=A,B: each address answers within about 10 s, or not
	# (the isolation tests: the other tenant's guest must not).
	for a in $(echo "$pings" | tr , ' '); do
		r="no answer"
		i=0
		while [ $i -lt 5 ]; do
			ping -c 1 -W 2 "$a" >/dev/null 2>&1 && { r=ok; break; }
			i=$((i + 1))
		done
		log "ping $a: $r"
	done
	# trellis.probe=URL: one answer or a plain "failed" (isolation).
	if [ -n "$probe" ]; then
		r=failed
		i=0
		while [ $i -lt 5 ]; do
			b=$(timeout 3 wget -q -O- "$probe" 2>/dev/null)
			[ -n "$b" ] && { r=$b; break; }
			sleep 1
			i=$((i + 1))
		done
		log "probe $probe: $r"
	fi
) &
[ -f /etc/appliance.rc ] && . /etc/appliance.rc
# trellis.tty1 (the console tests, issue 20): a banner on the VGA console
# and every line typed there (through VNC) copied to the serial log.
case " $(cat /proc/cmdline) " in
*" trellis.tty1 "*)
	printf '\n  Trellis test guest %s\n  type here: lines go to the serial log\n\n' "$host" >/dev/tty1
	(while read -r line </dev/tty1; do log "tty1: $line"; done) &
	;;
esac
echo "TRELLIS-GUEST-UP"
while true; do
	setsid cttyhack sh
	sleep 1
done
EOF
chmod +x "$root/init"

mkdir -p "$work/out"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | if [[ $variant == plain ]]; then gzip -9; else zstd -q -19 --zstd=wlog=21; fi >"$work/out/initrd.img"
cp "$work/k/boot/vmlinuz-$release" "$work/out/vmlinuz"
echo "$variant $kpkg=$kver busybox-static=$bver modules=${order[*]}" >"$work/out/stamp"
chmod 0644 "$work/out/"*
# Older builds go; the new one appears atomically under its key.
if [[ $variant == plain ]]; then
	find "$cache" -mindepth 1 -maxdepth 1 -type d -not -name dl -not -name 'work.*' -not -name '*-*' -exec rm -rf {} +
else
	find "$cache" -mindepth 1 -maxdepth 1 -type d -name "$variant-*" -exec rm -rf {} +
fi
mv "$work/out" "$out"
log "built $out (modules: ${order[*]})"
echo "kernel=$out/vmlinuz"
echo "initrd=$out/initrd.img"
