#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/xen/build.sh [BUILD_DIR] - builds the Xen test image, or reuses it.
#
# The image boots Xen 4.17 with a Linux dom0 under QEMU (tests/xen/run.sh).
# It is made from Debian packages fetched with `apt-get download` (never
# installed): xen-hypervisor-4.17-amd64, the generic kernel
# linux-image-6.1.0-*-amd64 (the cloud kernel lacks CONFIG_XEN_DOM0),
# xen-utils-4.17, xen-utils-common, libxenmisc4.17, libxenstore4.  The dom0
# initramfs holds busybox, the Xen tools and the libraries `ldd` lists
# (plus libgcc_s.so.1, which xl needs), the Trellis Xen plugin and the
# programs that test it (trellis-xen-scenario, trellis-plugin-check when the
# build has it), and a small busybox initrd for the PV guest.  Host-built
# binaries run in dom0 because the same Debian libraries go in with them.
#
# Everything lives in tests/xen/cache/ (git-ignored).  The image is rebuilt
# only when an input changes: a package version, a Trellis binary, a
# library, or one of the scripts here.  Prints the image directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-${TRELLIS_BUILD:-$src/build}}
build=$(cd "$build" && pwd)
cache=$here/cache
log() { echo "xen-image: $*" >&2; }
die() {
	log "$*"
	exit 1
}

plugin=$build/plugins/xen.so
driver=$build/tests/bin-tools/trellis-xen-scenario
checker=$build/bin/trellis-plugin-check
[[ -f $plugin ]] || die "no $plugin: build Trellis with libxen-dev first"
[[ -f $driver ]] || die "no $driver: build Trellis first"
for tool in apt-get apt-cache dpkg-deb cpio gzip ldd flock python3; do
	command -v $tool >/dev/null || die "$tool is missing"
done
[[ -x /bin/busybox ]] || die "/bin/busybox is missing (apt-get install busybox-static)"

# One builder at a time per cache (a debug and a sanitizer run may overlap).
mkdir -p "$cache/debs"
exec 9>"$cache/.lock"
flock 9

# ---- packages: the candidate versions, downloaded once ----
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: //p'; }
if [[ -z $(candidate xen-hypervisor-4.17-amd64) ||
	$(candidate xen-hypervisor-4.17-amd64) == "(none)" ]]; then
	log "apt-get update (no package lists yet)"
	apt-get update -q >/dev/null
fi
kpkg=$(apt-cache show --no-all-versions linux-image-amd64 |
	sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\).*/\1/p' | head -n 1)
[[ $kpkg == linux-image-6.1.0-*-amd64 ]] ||
	die "expected linux-image-amd64 to depend on linux-image-6.1.0-*-amd64, got '$kpkg'"
# grub-common + grub-xen-bin: grub-mkimage and the modules of PV-GRUB,
# the PV kernel that boots a guest's disk (the plugin's default_kernel).
pkgs=(xen-hypervisor-4.17-amd64 "$kpkg" xen-utils-4.17 xen-utils-common
	libxenmisc4.17 libxenstore4 grub-common grub-xen-bin)
debs=()
for p in "${pkgs[@]}"; do
	v=$(candidate "$p")
	[[ -n $v && $v != "(none)" ]] || die "no candidate version for $p"
	f=$(ls "$cache/debs/${p}_${v/:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [[ -z $f ]]; then
		log "downloading $p $v"
		rm -f "$cache/debs/${p}_"*.deb
		(cd "$cache/debs" && apt-get download -q "$p=$v" >/dev/null 2>&1) ||
			die "apt-get download $p=$v failed"
		f=$(ls "$cache/debs/${p}_${v/:/%3a}_"*.deb | head -n 1)
	fi
	debs+=("$f")
done

# ---- extraction, once per set of packages ----
xkey=$(printf '%s\n' "${debs[@]##*/}" | sha256sum | cut -c1-16)
x=$cache/x-$xkey
if [[ ! -f $x/.done ]]; then
	log "extracting packages into ${x#"$src"/}"
	rm -rf "$cache"/x-*
	mkdir -p "$x"
	for f in "${debs[@]}"; do
		case ${f##*/} in
		linux-image-*)
			# 400 MB of modules; only the kernel and the Xen drivers.
			dpkg-deb --fsys-tarfile "$f" | tar -x -C "$x" --wildcards \
				'./boot/vmlinuz-*' '*/kernel/drivers/xen/*' ;;
		*) dpkg-deb -x "$f" "$x" ;;
		esac
	done
	touch "$x/.done"
fi
vmlinuz=$(ls "$x"/boot/vmlinuz-* | head -n 1)
xengz=$x/boot/xen-4.17-amd64.gz
kmods=$(dirname "$(find "$x" -name xen-privcmd.ko | head -n 1)")
xbin=$x/usr/lib/xen-4.17/bin
[[ -f $vmlinuz && -f $xengz && -f $kmods/xen-privcmd.ko && -x $xbin/xl &&
	-x $x/usr/bin/grub-mkimage && -d $x/usr/lib/grub/x86_64-xen ]] ||
	die "the packages did not hold what the image needs (in $x)"

# ---- what goes into the dom0 initramfs: "source destination" lines ----
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
add() { echo "$1 $2" >>"$manifest"; }
add "$here/init.sh" /init
add /bin/busybox /bin/busybox
for m in xen-privcmd xen-evtchn xen-gntdev xen-gntalloc; do
	add "$kmods/$m.ko" "/lib/modules/$m.ko"
done
add "$(find "$x" -name xenfs.ko | head -n 1)" /lib/modules/xenfs.ko
bins=()
for b in xl xenstored xen-init-dom0 xenconsoled; do
	add "$xbin/$b" "/usr/lib/xen-4.17/bin/$b"
	bins+=("$xbin/$b")
done
add "$plugin" /trellis/xen.so
add "$driver" /trellis/trellis-xen-scenario
bins+=("$plugin" "$driver")
if [[ -x $checker ]]; then
	add "$checker" /trellis/trellis-plugin-check
	bins+=("$checker")
fi
# Libraries: those of the extracted packages first, the host's otherwise.
libdir=$x/usr/lib/x86_64-linux-gnu
mapfile -t libs < <(for b in "${bins[@]}"; do
	LD_LIBRARY_PATH=$libdir ldd "$b" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'
done | sort -u)
for l in "${libs[@]}" /lib/x86_64-linux-gnu/libgcc_s.so.1; do
	[[ -f $l ]] || die "library $l not found"
	case $l in
	"$libdir"/*) add "$l" "/lib/x86_64-linux-gnu/${l##*/}" ;;
	/lib64/*) add "$l" "$l" ;;
	*) add "$l" "/lib/x86_64-linux-gnu/${l##*/}" ;;
	esac
done

# ---- the cache key: every input's content and place ----
key=$( {
	printf '%s\n' "${debs[@]##*/}"
	sha256sum "$0" "$here/guest-init.sh" | cut -c1-64
	while read -r s d; do
		echo "$(sha256sum <"$s" | cut -c1-64) $d"
	done <"$manifest"
} | sha256sum | cut -c1-64)
img=$cache/image
if [[ -f $img/key && $(cat "$img/key") == "$key" ]]; then
	echo "$img"
	exit 0
fi

log "building the dom0 image"
stage=$cache/stage
rm -rf "$stage" "$img" "$img.new"
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,etc/xen,var/lib/xen,var/log/xen,guest,trellis,lib64}
# The tools find their locks and sockets under /var/run, which is /run.
ln -s ../run "$stage/var/run"
while read -r s d; do
	mkdir -p "$stage$(dirname "$d")"
	cp -L "$s" "$stage$d"
done <"$manifest"
chmod 755 "$stage/init"
: >"$stage/etc/xen/xl.conf"
# The conformance checker's specs name no kernel (they boot from disk), so
# the plugin is configured as on a real host: PV-GRUB boots them.  Their
# 64 MiB would not even hold the generic Linux kernel.
cat >"$stage/trellis/check.yaml" <<'EOF'
default_kernel: /guest/pvgrub.bin
EOF
printf 'echo TRELLIS-PVGRUB-UP\n' >"$cache/pvgrub.cfg"
"$x/usr/bin/grub-mkimage" -O x86_64-xen -d "$x/usr/lib/grub/x86_64-xen" \
	-c "$cache/pvgrub.cfg" -p '(memdisk)/boot/grub' \
	-o "$stage/guest/pvgrub.bin" normal echo ||
	die "grub-mkimage could not make PV-GRUB"

# The PV guest's initrd: busybox, its init, and a poweroff that works
# without an init daemon.
g=$cache/guest-stage
rm -rf "$g"
mkdir -p "$g"/{bin,sbin,proc,sys,dev}
cp /bin/busybox "$g/bin/busybox"
ln -s busybox "$g/bin/sh"
cp "$here/guest-init.sh" "$g/init"
printf '#!/bin/busybox sh\nexec /bin/busybox poweroff -f\n' >"$g/sbin/poweroff"
chmod 755 "$g/init" "$g/sbin/poweroff"
(cd "$g" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) \
	>"$stage/guest/initrd.gz"

# The guest's kernel goes in as an ELF vmlinux, unpacked here from the
# bzImage: libxc would otherwise decompress 8 MB of xz inside the emulated
# dom0 at every create, which takes tens of seconds under TCG.  It rides in
# a second, uncompressed cpio archive after the gzipped one (Linux unpacks
# concatenated archives; the second must start 4-byte aligned).
big=$cache/big-stage
rm -rf "$big"
mkdir -p "$big/guest"
python3 - "$vmlinuz" "$big/guest/vmlinux" <<'EOF' || die "cannot unpack the kernel's payload"
import gzip, lzma, struct, sys
d = open(sys.argv[1], 'rb').read()
setup = (d[0x1f1] or 4) + 1
off, length = struct.unpack('<II', d[0x248:0x250])
p = d[setup * 512 + off:setup * 512 + off + length]
if p[:6] == b'\xfd7zXZ\x00':
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(p)
elif p[:2] == b'\x1f\x8b':
    elf = gzip.decompress(p)
else:
    sys.exit('unknown kernel payload compression %s' % p[:6].hex())
if elf[:4] != b'\x7fELF':
    sys.exit('the kernel payload is not an ELF image')
open(sys.argv[2], 'wb').write(elf)
EOF
mkdir -p "$img.new"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) \
	>"$img.new/dom0.cpio.gz"
pad=$(( (4 - $(stat -c %s "$img.new/dom0.cpio.gz") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$img.new/dom0.cpio.gz"
(cd "$big" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) \
	>>"$img.new/dom0.cpio.gz"
rm -rf "$big"
gzip -dc "$xengz" >"$img.new/xen-4.17"
cp "$vmlinuz" "$img.new/vmlinuz"
echo "$key" >"$img.new/key"
rm -rf "$stage" "$g"
mv "$img.new" "$img"
log "image ready in ${img#"$src"/}"
echo "$img"
