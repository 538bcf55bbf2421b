#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
#
# The SDK works out of tree, as docs/plugin-guide.md says: `scons install
# PREFIX=$tmp` installs the daemon, CLI, checker, plugins, headers and
# trellis-plugin.pc; each installed skeleton then builds with the one-line
# cc command against that pkg-config file alone, passes
# trellis-plugin-check, builds and installs with its Makefile, and loads in
# the installed trellisd.  -z defs turns a reference to core internals
# into a build error.
source "$(dirname "$0")/../lib/tap.sh"

tmp=$(mktemp -d /tmp/trellis-skeletons-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
build_rel=$(realpath --relative-to="$TRELLIS_SRC" "$TRELLIS_BUILD")
mode=${TRELLIS_MODE:-debug}
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
check=$prefix/bin/trellis-plugin-check

ok "scons install PREFIX=$prefix" \
	scons -Q -C "$TRELLIS_SRC" build="$build_rel" mode="$mode" \
	PREFIX="$prefix" install

missing=()
for f in bin/trellisd bin/trellis bin/trellis-plugin-check \
	include/trellis/plugin.h include/trellis/host.h include/trellis/error.h \
	include/trellis/hypervisor.h include/trellis/storage.h \
	include/trellis/network.h include/trellis/policy.h \
	lib/pkgconfig/trellis-plugin.pc; do
	[[ -e $prefix/$f ]] || missing+=("$f")
done
for so in "$TRELLIS_BUILD"/plugins/*.so; do
	[[ -e $so ]] || continue
	[[ -e $prefix/lib/trellis/plugins/${so##*/} ]] ||
		missing+=("lib/trellis/plugins/${so##*/}")
done
is "everything is installed" "${missing[*]}" ""

is "pkg-config --cflags trellis-plugin" \
	"$(pkg-config --cflags trellis-plugin | xargs)" "-I$prefix/include"
is "pkg-config --variable=plugindir trellis-plugin" \
	"$(pkg-config --variable=plugindir trellis-plugin)" \
	"$prefix/lib/trellis/plugins"

have_make=0
command -v make >/dev/null && have_make=1
for kind in hypervisor storage network policy; do
	dir=$tmp/src/$kind
	mkdir -p "$dir"
	cp "$prefix/share/trellis/skeleton/$kind/"* "$dir/"
	src=skel_$kind.c
	case $kind in
	hypervisor) target=(--target skel:///default) ;;
	network) target=(--target skel:///host1) ;;
	*) target=() ;;
	esac
	# Exactly the command of the guide, from a copy outside the tree.
	ok "$kind skeleton builds out of tree with the guide's cc command" \
		bash -c "cd '$dir' && cc \$(pkg-config --cflags trellis-plugin) \
			-shared -fPIC -fvisibility=hidden -Wl,-z,defs \
			-o x.so $src"
	ok "$kind skeleton passes trellis-plugin-check" \
		"$check" "$dir/x.so" "${target[@]}"
	if ((have_make)); then
		ok "$kind skeleton: make check (-Wall -Wextra -Werror)" \
			make -C "$dir" CHECK="$check" check
		ok "$kind skeleton: make install" make -C "$dir" install
	else
		skip "$kind skeleton: make check" "make is not installed"
		skip "$kind skeleton: make install" "make is not installed"
	fi
done

if ((have_make)); then
	list=$("$prefix/bin/trellisd" --list-plugins 2>&1)
	for name in skel-hypervisor skel-storage skel-network skel-policy; do
		like "installed trellisd loads $name" "$list" \
			"$name +[a-z]+ +1\.0\.0 .* loaded"
	done
fi

# The guard the skeletons rely on: core internals are not there to link.
cat >"$tmp/sneaky.c" <<'C'
#include <trellis/plugin.h>
int tr_call_set(void *call, int code, const char *fmt, ...);
int sneaky(void);
int sneaky(void) { return tr_call_set(0, -1, "reaching into the core"); }
C
out=$(cd "$tmp" && cc $(pkg-config --cflags trellis-plugin) -shared -fPIC \
	-fvisibility=hidden -Wl,-z,defs -o sneaky.so sneaky.c 2>&1)
like "-z defs refuses a plugin that calls core internals" "$out" \
	"undefined reference to .tr_call_set"

done_testing
