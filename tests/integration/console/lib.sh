# SPDX-License-Identifier: Apache-2.0
# tests/integration/console/lib.sh - the console tests' common ground: a
# private trellisd on qemu:///system (the provision tests' pv_start), a
# running test guest with a VNC console whose VGA text console echoes
# typed lines to its serial log (trellis.tty1), and trellis-console
# instances.  Source after tests/lib/tap.sh.
#   cs_guest NAME        provisions and boots it; CS_UUID, CS_LOG
#   cs_proxy NAME PORT [ARGS]   starts an instance; CS_PIDS gets its pid
#   cs_browser ARGS      node browser/drive.js (Playwright, Debian chromium)
#   cs_port              a free TCP port
#   cs_vnc_port VM       the VNC port libvirt gave the VM
#   cs_vnc_conns PORT    established TCP connections to that port now
#   cs_daemon_again      trellisd again on the same state (PV_PID)
source "$(dirname "${BASH_SOURCE[0]}")/../provision/lib.sh"

CS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CS_PIDS=()
CS_BIN=$TRELLIS_BUILD/bin/trellis-console

cs_require() {
	lv_require
	local why=
	[[ -x $CS_BIN ]] || why="trellis-console not built"
	[[ -x /usr/bin/chromium ]] || why="chromium not installed"
	[[ -f /usr/share/novnc/core/rfb.js ]] || why="novnc not installed"
	command -v node >/dev/null || why="node not installed"
	if [[ -z $why && ! -d $CS_HERE/browser/node_modules/playwright-core ]]; then
		(cd "$CS_HERE/browser" && npm ci --no-audit --no-fund >/dev/null 2>&1)
		[[ -d $CS_HERE/browser/node_modules/playwright-core ]] ||
			why="npm ci failed in tests/integration/console/browser"
	fi
	if [[ -n $why ]]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
}

cs_cleanup() {
	local p
	for p in "${CS_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${CS_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	# Instances the scan launched are trellisd's children, in their own
	# sessions: stop them by the pids the store has.
	if [[ -n ${PV_DIR:-} && -S $PV_DIR/api.sock ]]; then
		for p in $(tcli -o json console proxies 2>/dev/null | jq_ '" ".join(str(i["pid"]) for i in j["items"] if i.get("launcher") == "process")' 2>/dev/null); do
			kill -TERM "$p" 2>/dev/null
		done
	fi
	[[ -n $CS_NFT ]] && nft delete table inet "$CS_NFT" 2>/dev/null
	pv_cleanup
}

# A segment of this run's own: another run's "default" on this host must
# not collide with ours.
CS_SEG=cs$$
cs_start() {
	pv_start
	trap cs_cleanup EXIT
	tcli network create "$CS_SEG" --pool pvvx >/dev/null
}

cs_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cs_guest NAME [K=V...]: a running guest with a VNC console (more
# vm.provision inputs may follow); CS_UUID, CS_LOG.
cs_guest() {
	CS_LOG=$PV_DIR/$1.serial.log
	pv_run vm.provision "name=$1" "kernel=$kernel" "initrd=$initrd" \
		"cmdline=console=ttyS0 quiet trellis.tty1" "serial_log=$CS_LOG" console=vnc memory_mb=128 "segment=$CS_SEG" "${@:2}"
	CS_UUID=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT" 2>/dev/null)
	if [[ -z $CS_UUID ]]; then
		diag "$(head -12 "$PV_DIR/run.log")"
		return 1
	fi
	pv_track "$1"
	wait_marker "$CS_LOG" 120
}

# cs_proxy NAME PORT [ARGS...]: an instance against our trellisd; waits
# until it listens and has reported.
cs_proxy() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$PV_DIR/cp-$name"
	"$CS_BIN" --name "$name" --listen "127.0.0.1:$port" \
		--core "ipc://$PV_DIR/api.sock" --state-dir "$PV_DIR/cp-$name" \
		--report-interval 1000 "$@" >"$PV_DIR/cp-$name/log" 2>&1 &
	CS_PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		tcli -o json console proxies 2>/dev/null | grep -q "\"name\": \"$name\"" && return 0
		sleep 0.1
	done
	return 1
}

# cs_daemon_again: trellisd once more on the same config and state (after
# a test stopped it); PV_PID.
cs_daemon_again() {
	TRELLIS_POLICY_DIR=$PV_DIR/policies LD_PRELOAD=$(lv_preload) \
		"$TRELLIS_BUILD/bin/trellisd" -c "$PV_DIR/trellisd.yaml" -f \
		2>>"$PV_DIR/daemon.log" &
	PV_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		tcli --timeout 1000 api status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# SYNs to local TCP port $1 from now on, counted by nftables (a table of
# this run's own): cs_syns prints the count.
CS_NFT=trcs$$
cs_count_syns() {
	nft add table inet "$CS_NFT" &&
		nft add chain inet "$CS_NFT" out '{ type filter hook output priority 0; }' &&
		nft add rule inet "$CS_NFT" out tcp dport "$1" tcp flags syn counter
}
cs_syns() {
	nft list table inet "$CS_NFT" 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}

cs_browser() {
	node "$CS_HERE/browser/drive.js" "$@"
}

cs_vnc_port() {
	virsh -c qemu:///system domdisplay "$1" 2>/dev/null | sed -n 's/^vnc:\/\/[^:]*:\([0-9]*\).*/\1/p' |
		while read -r d; do echo $((5900 + d)); done
}

# Established connections to local port $1 (the VNC server's side).
cs_vnc_conns() {
	ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l
}
