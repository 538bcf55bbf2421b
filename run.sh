#!/bin/bash
# Installs what is missing, builds, starts trellisd on its embedded defaults
# and runs the demo.  (The demo grows as the daemon does.)
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
scons -Q -j"$(nproc)"
echo "== plugins =="
build/bin/trellisd --list-plugins

# ---- trellisd and the inventory demo (issue 4) ----
# trellisd on its embedded defaults: state in /var/lib/trellis, API on
# ipc:///run/trellis/api.sock (the CLI's default).  KEEP=1 leaves it running.
trellis=build/bin/trellis
started=
if ! $trellis --timeout 2000 api status >/dev/null 2>&1; then
	build/bin/trellisd --foreground 2>>/tmp/trellisd-demo.log &
	started=$!
	trap '[[ -n $started && -z ${KEEP:-} ]] && kill -TERM $started && wait $started' EXIT
	for _ in $(seq 1 100); do
		$trellis --timeout 1000 api status >/dev/null 2>&1 && break
		sleep 0.1
	done
fi
echo "== trellisd =="
$trellis api status
echo "== inventory =="
$trellis zone show demo >/dev/null 2>&1 || $trellis zone create demo >/dev/null
$trellis pod show demo/pod1 >/dev/null 2>&1 || $trellis pod create pod1 --zone demo >/dev/null
$trellis cluster show demo/pod1/c1 >/dev/null 2>&1 || $trellis cluster create c1 --pod demo/pod1 >/dev/null
if $trellis host show demo-test >/dev/null 2>&1; then
	$trellis host refresh demo-test >/dev/null
else
	$trellis host add demo-test --cluster demo/pod1/c1 --hypervisor libvirt --uri test:///default >/dev/null ||
		echo "(host add needs plugins/libvirt.so)"
fi
$trellis zone list
$trellis host list
$trellis vm list
