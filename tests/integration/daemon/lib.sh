# SPDX-License-Identifier: Apache-2.0
# lib.sh - helpers for the trellisd integration tests: a real daemon on a
# temporary state dir with its own sockets, cleaned up on exit.
#   source "$(dirname "$0")/lib.sh"   (after tests/lib/tap.sh)
#   td_start [ARGS...]   start trellisd (foreground) on $TD_DIR; waits until
#                        it answers
#   td_stop              SIGTERM and wait; sets TD_RC to its exit status
#   tcli ARGS...           the CLI against this daemon
#   json EXPR            evaluates a Python expression on JSON read from stdin
#                        (the value is called j)
TD_BIN=$TRELLIS_BUILD/bin
TD_DIR=$(mktemp -d /tmp/trellis-it-XXXXXX)
TD_PID=
TD_RC=
export TRELLIS_SOCKET=ipc://$TD_DIR/api.sock

td_cleanup() {
	if [[ -n $TD_PID ]] && kill -0 "$TD_PID" 2>/dev/null; then
		kill -9 "$TD_PID" 2>/dev/null
		wait "$TD_PID" 2>/dev/null
	fi
	local p
	for p in ${TD_EXTRA_PIDS:-}; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TD_DIR"
}
trap td_cleanup EXIT

tcli() { "$TD_BIN/trellis" "$@"; }

td_wait_up() {
	local i
	for i in $(seq 1 100); do
		tcli --timeout 1000 api status >/dev/null 2>&1 && return 0
		kill -0 "$TD_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

td_start() {
	"$TD_BIN/trellisd" --state-dir "$TD_DIR" --foreground "$@" \
		2>>"$TD_DIR/daemon.log" &
	TD_PID=$!
	if ! td_wait_up; then
		diag "trellisd did not come up; its log:"
		sed 's/^/#   /' "$TD_DIR/daemon.log" | tail -20
		return 1
	fi
	td_pin_key
}

# tcp:// is the secure link: the CLI pins the core's public key, which a
# test reads from the state dir (an operator: `trellis api status`).
td_pin_key() {
	[[ -f $TD_DIR/link.key ]] && export TRELLIS_CORE_KEY=$(cut -d' ' -f1 "$TD_DIR/link.key")
	return 0
}

td_stop() {
	kill -TERM "$TD_PID" 2>/dev/null
	wait "$TD_PID"
	TD_RC=$?
	TD_PID=
}

json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

td_have_libvirt_plugin() { [[ -e $TRELLIS_BUILD/plugins/libvirt.so ]]; }

# libasan intercepts the xdr_* functions of glibc's old SunRPC while
# libvirt's remote protocol uses libtirpc's: under ASan the first remote
# call (qemu:///system, qemu+tcp://) jumps to NULL.  test:///default is
# in-process and unaffected.
td_asan_breaks_libvirt_rpc() { ldd "$TD_BIN/trellisd" 2>/dev/null | grep -q libasan; }
