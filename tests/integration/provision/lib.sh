# SPDX-License-Identifier: Apache-2.0
# tests/integration/provision/lib.sh - a private trellisd on qemu:///system
# with a one-host inventory, for the vm.provision tests and the provision
# benchmark.  Source after tests/lib/tap.sh; it sources the libvirt lib.
#   pv_start      libvirtd, the guest, trellisd on $PV_DIR, inventory:
#                 zone/pod/cluster "pv", host "pvh", pool "pvpool",
#                 network $PV_NET (a VXLAN segment from its own id range,
#                 named for this run: a demo's "default" on the same
#                 host must not collide with it)
#   tcli ARGS     the CLI against it
#   pv_run WF K=V...   workflow run --wait -o json; the instance in $PV_OUT
#                 (vm.provision gets segment=$PV_NET unless given one, and
#                 blank=true unless given a kernel or an image)
#   jq_ EXPR      a Python expression over JSON on stdin (the value is j)
# PV_CONFIG (before pv_start): more lines for trellisd.yaml; PV_POLICY_YAML:
# one more placement policy; PV_API_TCP (tcp://127.0.0.1:PORT): a tcp://
# listener too, with an operator key "ops" (users' keys work on it).
# Cleanup (domains named $PV_PREFIX*, the daemon, the directory) is in a
# trap set by pv_start.
source "$(dirname "${BASH_SOURCE[0]}")/../libvirt/lib.sh"

PV_PREFIX=${PV_PREFIX:-trellis-pv$$-}
PV_NET=pvnet$$
PV_DIR=
PV_PID=

tcli() { "$TRELLIS_BUILD/bin/trellis" -s "ipc://$PV_DIR/api.sock" "$@"; }
jq_() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

PV_VMS=()      # "name uuid claim" of VMs provisioned, not yet destroyed
PV_VNI=        # first id of this run's segment-id range

# pv_track NAME: remembers the VM of the last pv_run vm.provision.
pv_track() {
	PV_VMS+=("$1 $(jq_ 'j["outputs"]["uuid"] + " " + j["outputs"]["claim"]' <<<"$PV_OUT")")
}

pv_cleanup() {
	local v
	# What a failed test left: its VMs go the normal way (port, volume,
	# record), then whatever is still there goes by name.
	if [[ -n $PV_PID ]] && kill -0 "$PV_PID" 2>/dev/null; then
		for v in "${PV_VMS[@]}"; do
			set -- $v
			timeout 120 "$TRELLIS_BUILD/bin/trellis" -s "ipc://$PV_DIR/api.sock" \
				workflow run vm.destroy --input host=pvh \
				--input "uuid=$2" --input "name=$1" --input pool=pvpool \
				--input "claim=$3" --wait >/dev/null 2>&1 || true
		done
	fi
	lv_purge "$PV_PREFIX"
	if [[ -n $PV_PID ]]; then
		kill -TERM "$PV_PID" 2>/dev/null
		wait "$PV_PID" 2>/dev/null
	fi
	if [[ -n $PV_VNI ]]; then
		local i t
		for ((i = PV_VNI; i < PV_VNI + 10; i++)); do
			for t in $(ls "/sys/class/net/tr-bx$i/brif" 2>/dev/null); do
				ip link del "$t" 2>/dev/null || true
			done
			ip link del "tr-bx$i" 2>/dev/null || true
			ip link del "tr-x$i" 2>/dev/null || true
		done
	fi
	[[ -n $PV_DIR ]] && rm -rf "$PV_DIR"
	[[ -n ${tmp:-} ]] && rm -rf "$tmp"
}

pv_start() {
	lv_setup
	trap pv_cleanup EXIT
	PV_DIR=$(mktemp -d /tmp/trellis-pv.XXXXXX)
	chmod 755 "$PV_DIR"
	# QEMU runs as libvirt-qemu: it must be able to reach the volumes.
	mkdir -m 0711 "$PV_DIR/pool"
	mkdir "$PV_DIR/policies"
	cp "$TRELLIS_SRC"/policies/*.yaml "$PV_DIR/policies/"
	# Placement that admits more memory than the host has, so that only
	# the hypervisor step can refuse it.
	cat >"$PV_DIR/policies/memhog.yaml" <<-'P'
		policy: memhog
		description: memory overcommit 4x (tests of hypervisor-step failures)
		filters: [location, capacity]
		weights: {binpack: 1.0}
		top_n: 1
		overcommit: {cpu: 4.0, memory: 4.0}
	P
	# PV_POLICY_YAML (before pv_start): one more policy file.
	[[ -n ${PV_POLICY_YAML:-} ]] &&
		printf '%s\n' "$PV_POLICY_YAML" >"$PV_DIR/policies/extra.yaml"
	cat >"$PV_DIR/trellisd.yaml" <<-C
		state_dir: $PV_DIR/state
		api: {listen: "ipc://$PV_DIR/api.sock"${PV_API_TCP:+, tcp: "$PV_API_TCP"}}
		events: {listen: "ipc://$PV_DIR/events.sock"}
		plugins: {libvirt: {probe_kernel: "$kernel"}}
		${PV_CONFIG:-}
	C
	[[ -n ${PV_API_TCP:-} ]] && "$TRELLIS_BUILD/bin/trellisd" -c "$PV_DIR/trellisd.yaml" \
		--api-key-add ops >/dev/null 2>&1
	TRELLIS_POLICY_DIR=$PV_DIR/policies LD_PRELOAD=$(lv_preload) \
		"$TRELLIS_BUILD/bin/trellisd" -c "$PV_DIR/trellisd.yaml" -f \
		2>>"$PV_DIR/daemon.log" &
	PV_PID=$!
	local i up=0
	for i in $(seq 1 100); do
		tcli --timeout 1000 api status >/dev/null 2>&1 && up=1 && break
		sleep 0.05
	done
	if ((!up)); then
		_tap_report 1 "trellisd starts"
		sed 's/^/#   /' "$PV_DIR/daemon.log" | tail -20
		done_testing
	fi
	local first=$((20000 + ($$ % 4000) * 10))
	PV_VNI=$first
	local out
	if out=$(tcli zone create pv 2>&1 && tcli pod create pv --zone pv 2>&1 &&
		tcli cluster create pv --pod pv/pv 2>&1 &&
		tcli host add pvh --cluster pv/pv/pv --hypervisor libvirt --uri qemu:///system 2>&1 &&
		tcli pool create pvpool --target "$PV_DIR/pool" --cluster pv/pv/pv 2>&1 &&
		tcli network pool-create pvvx --mode vxlan --first $first --last $((first + 9)) 2>&1 &&
		tcli network create "$PV_NET" --pool pvvx 2>&1); then
		_tap_report 0 "trellisd runs with a host on qemu:///system, a pool and a network"
	else
		_tap_report 1 "trellisd runs with a host on qemu:///system, a pool and a network"
		tail -20 <<<"$out" | sed 's/^/#   /'
		done_testing
	fi
}

# pv_run WORKFLOW K=V...: runs it to its end; the instance JSON in PV_OUT
# (the step lines the CLI prints before it go to $PV_DIR/run.log).
pv_run() {
	local wf=$1 a args=() seg=0 boot=0
	shift
	for a in "$@"; do
		args+=(--input "$a")
		case $a in
		segment=*) seg=1 ;;
		kernel=* | image=* | blank=*) boot=1 ;;
		esac
	done
	if [[ $wf == vm.provision ]]; then
		((seg)) || args+=(--input "segment=$PV_NET")
		((boot)) || args+=(--input blank=true)
	fi
	tcli --timeout 600000 -o json workflow run "$wf" "${args[@]}" --wait \
		>"$PV_DIR/run.log" 2>&1
	PV_OUT=$(sed -n '/^{/,$p' "$PV_DIR/run.log")
}
