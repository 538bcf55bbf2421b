#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 1500
#
# tests/packaging/deb.t - the Debian packages build, pass lintian, and work
# in a fresh Debian root.
#
# 1. A copy of the source tree (what git tracks, plus untracked files it does
#    not ignore) is built with `dpkg-buildpackage -us -uc -b`, once.
# 2. lintian checks the .changes: no error and no warning.
# 3. Each package holds what it should (programs, man pages, unit, conffile,
#    completion, plugins, SDK).
# 4. A fresh Debian root is made with mmdebstrap (--variant=apt: Essential
#    packages and apt, nothing else), kept in BUILD/packaging for a week so
#    that later runs skip the download; the packages are installed into it
#    with apt, which pulls their dependencies from the archive, so a missing
#    Depends shows here.
# 5. trellisd starts there as the unit starts it (the trellis user, the
#    packaged /etc/trellis/trellisd.yaml); `trellis api status` answers for
#    root and for a member of the trellis group, and not for other users.
# 6. trellisd stops on SIGTERM (by its pid), and purging removes its state.
#
# Budget on 2 cores: about 90 s to build, 20 s of lintian, 60 s for the root
# (first run only), 35 s to install.  Skipped without root, without the
# tools of tools/deps/packaging.txt, or when the archive cannot be reached.
source "$(dirname "$0")/../lib/tap.sh"

ver=$(sed -n "s/^VERSION = '\(.*\)'/\1/p" "$TRELLIS_SRC/site_scons/trellis_build.py")
arch=$(dpkg --print-architecture)
pkgs=(trellisd trellis-cli trellis-plugins libtrellis-plugin-dev trellis-agent
	trellis-escrowd trellis-console)
cache=$TRELLIS_BUILD/packaging
work=$cache/work
root=$work/root
log=$TRELLIS_BUILD/test-logs/packaging
daemon_pid=

for tool in dpkg-buildpackage dh lintian mmdebstrap chroot; do
	command -v "$tool" >/dev/null || missing+=" $tool"
done
if [[ $(id -u) -ne 0 || -n ${missing:-} ]]; then
	skip "Debian packages" "needs root and${missing:- the packaging tools} (tools/deps/packaging.txt)"
	done_testing
fi

cleanup() {
	if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -KILL "$daemon_pid"
	fi
	if mountpoint -q "$root/proc"; then
		umount "$root/proc"
	fi
	# Nothing may be mounted below the work tree when it goes.
	if ! findmnt -rn -o TARGET | grep -q "^$work/"; then
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

mkdir -p "$cache" "$log"
cleanup
mkdir -p "$work/src"

# ---- 1. build -----------------------------------------------------------
if git -C "$TRELLIS_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$TRELLIS_SRC" && git ls-files -co --exclude-standard -z |
		tar --null -T - -cf -) | tar -xf - -C "$work/src"
else # an unpacked tarball: everything but the build trees
	tar -C "$TRELLIS_SRC" --exclude='./build' --exclude='./build-*' \
		--exclude='.sconsign*' -cf - . | tar -xf - -C "$work/src"
fi
ok "dpkg-buildpackage -us -uc -b builds (log: $log/build.log)" \
	sh -c "cd '$work/src' && dpkg-buildpackage -us -uc -b -j$(nproc) >'$log/build.log' 2>&1 || { tail -30 '$log/build.log'; exit 1; }"
for p in "${pkgs[@]}"; do
	deb=$work/${p}_${ver}_${arch}.deb
	ok "package $p was made" test -f "$deb"
done
if [[ $_tap_fail -ne 0 ]]; then
	done_testing
fi

# ---- 2. lintian ------------------------------------------------------------
lintian --pedantic "$work/trellis_${ver}_${arch}.changes" >"$log/lintian.log" 2>&1
lint=$(grep -E '^[EW]: ' "$log/lintian.log")
is "lintian: no error and no warning (log: $log/lintian.log)" "$lint" ""
while read -r line; do
	[[ -n $line ]] && diag "lintian: $line"
done < <(grep -E '^[IP]: ' "$log/lintian.log")

# ---- 3. contents ---------------------------------------------------------
has() { # package path...
	local p=$1 list f
	shift
	list=$(dpkg-deb -c "$work/${p}_${ver}_${arch}.deb" | awk '{print $6}')
	for f in "$@"; do
		grep -qx "\./$f" <<<"$list" || { echo "$p lacks $f"; return 1; }
	done
}
ok "trellisd: daemon, unit, config, workflows, policies, man pages" has trellisd \
	usr/bin/trellisd lib/systemd/system/trellisd.service \
	etc/trellis/trellisd.yaml usr/share/trellis/workflows/vm.provision.yaml \
	usr/share/trellis/policies/default.yaml \
	usr/share/man/man8/trellisd.8.gz usr/share/man/man5/trellisd.yaml.5.gz \
	usr/share/man/man5/trellis-workflow.5.gz
ok "trellis-cli: the CLI, its completion and trellis(1)" has trellis-cli \
	usr/bin/trellis usr/share/bash-completion/completions/trellis \
	usr/share/man/man1/trellis.1.gz
ok "trellis-plugins: the plugins" has trellis-plugins \
	usr/lib/trellis/plugins/libvirt.so usr/lib/trellis/plugins/localfs.so \
	usr/lib/trellis/plugins/bridge.so usr/lib/trellis/plugins/builtin.so
ok "trellis-console: the console proxy and trellis-console(8)" has trellis-console \
	usr/bin/trellis-console usr/share/man/man8/trellis-console.8.gz
ok "libtrellis-plugin-dev: headers, .pc, skeletons, checker, guide" \
	has libtrellis-plugin-dev usr/include/trellis/plugin.h \
	usr/share/pkgconfig/trellis-plugin.pc \
	usr/share/trellis/skeleton/storage/skel_storage.c \
	usr/bin/trellis-plugin-check usr/share/man/man1/trellis-plugin-check.1.gz \
	usr/share/doc/libtrellis-plugin-dev/plugin-guide.md.gz
ok "trellis-agent: the agent and trellis-agent(8)" has trellis-agent \
	usr/bin/trellis-agent usr/share/man/man8/trellis-agent.8.gz
ok "trellis-escrowd: the escrow and trellis-escrowd(8)" has trellis-escrowd \
	usr/bin/trellis-escrowd usr/share/man/man8/trellis-escrowd.8.gz
ok "trellisd: the OpenAPI document" has trellisd usr/share/trellis/openapi.json
conffiles=$(dpkg-deb --ctrl-tarfile "$work/trellisd_${ver}_${arch}.deb" |
	tar -xOf - ./conffiles 2>/dev/null)
like "trellisd: /etc/trellis/trellisd.yaml is a conffile" "$conffiles" \
	'/etc/trellis/trellisd.yaml'
yaml=$(dpkg-deb --fsys-tarfile "$work/trellisd_${ver}_${arch}.deb" |
	tar -xOf - ./etc/trellis/trellisd.yaml)
is "trellisd.yaml: every line a comment" \
	"$(grep -v -e '^#' -e '^$' <<<"$yaml")" ""
like "trellisd.yaml: has every default (here api.max_inflight)" "$yaml" \
	'#  max_inflight: [0-9]+'

# ---- 4. a fresh Debian root --------------------------------------------------
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
tarball=$cache/$suite-apt.tar
if [[ ! -f $tarball || -n $(find "$tarball" -mtime +7) ]]; then
	rm -f "$tarball"
	if ! mmdebstrap --variant=apt --mode=root --format=tar "$suite" \
		"$tarball.part" >"$log/mmdebstrap.log" 2>&1; then
		rm -f "$tarball.part"
		skip "a fresh $suite root" "mmdebstrap failed, the archive is not reachable? ($log/mmdebstrap.log)"
		done_testing
	fi
	mv "$tarball.part" "$tarball"
fi
mkdir -p "$root"
ok "a fresh $suite root (mmdebstrap --variant=apt)" tar -xf "$tarball" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mkdir -p "$root/tmp/debs"
for p in "${pkgs[@]}"; do
	cp "$work/${p}_${ver}_${arch}.deb" "$root/tmp/debs/"
done
in_root() { chroot "$root" "$@"; }
ok "apt installs the packages and their dependencies (log: $log/apt.log)" \
	sh -c "chroot '$root' sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' >'$log/apt.log' 2>&1 || { tail -20 '$log/apt.log'; exit 1; }"

uid=$(in_root id -u trellis 2>/dev/null)
gid=$(in_root id -g trellis 2>/dev/null)
like "the trellis system user exists" "$uid" '^[0-9]+$'
like "/var/lib/trellis belongs to trellis, mode 0750" \
	"$(stat -c '%u:%g %a' "$root/var/lib/trellis")" "^$uid:$gid 750\$"
ok "the packaged trellisd.yaml loads (--check-config)" \
	in_root trellisd --config /etc/trellis/trellisd.yaml --check-config

# ---- 5. trellisd and trellis in the root ---------------------------------------
# As the unit runs it: the trellis user, /run/trellis made for it
# (RuntimeDirectory=trellis), the packaged config.  It forks once ready.
mkdir -p "$root/run/trellis"
chown "$uid:$gid" "$root/run/trellis"
ok "trellisd starts as the trellis user" \
	chroot --userspec="$uid:$gid" "$root" /usr/bin/trellisd \
	--config /etc/trellis/trellisd.yaml
status=$(in_root trellis api status 2>&1)
like "trellis api status answers with version $ver" "$status" \
	"version +$ver"
daemon_pid=$(in_root trellis -o json api status 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
like "trellisd runs as trellis" \
	"$(ps -o uid= -p "${daemon_pid:-0}" 2>/dev/null | tr -d ' ')" "^$uid\$"
like "trellis plugin list: the packaged plugins load" \
	"$(in_root trellis plugin list 2>&1)" 'libvirt +hypervisor +[0-9.]+ +loaded'
# Two users of the root: alice in the trellis group, bob not.
for u in alice bob; do
	in_root adduser --quiet --disabled-password --gecos '' "$u" >/dev/null
done
in_root adduser --quiet alice trellis
ok "a member of the trellis group may use the API" \
	chroot --userspec="$(in_root id -u alice):$(in_root id -g alice)" \
	--groups="$gid" "$root" trellis api status
out=$(chroot --userspec="$(in_root id -u bob):$(in_root id -g bob)" \
	"$root" trellis api status 2>&1)
rc=$?
like "anyone else may not (exit 1, the socket named)" "$rc $out" \
	'^1 .*api\.sock'

# ---- 6. stop and purge ---------------------------------------------------------
if [[ -n $daemon_pid ]]; then
	kill -TERM "$daemon_pid"
	for _ in $(seq 450); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
fi
nok "trellisd stops on SIGTERM" kill -0 "${daemon_pid:-0}"
daemon_pid=
ok "apt purges trellisd" in_root sh -c \
	'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q trellisd >/dev/null 2>&1'
nok "purge removed /var/lib/trellis and /etc/trellis" \
	sh -c "ls -d '$root/var/lib/trellis' '$root/etc/trellis' 2>/dev/null | grep ."
done_testing
