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
	if [[ -n ${TD_KEEP:-} ]]; then
		echo "# TD_KEEP: the state dir is kept: $TD_DIR" >&2
	else
		rm -rf "$TD_DIR"
	fi
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

# TRELLIS_TEST_STORE=postgresql (with TRELLIS_TEST_PG_DSN, test.sh's
# cluster): the daemon's store is a database of its own in that cluster,
# made at the first start and kept over restarts.  A test's own --config
# gets the store section appended (once), one without gets a file.
TD_PG_DSN=
td_store_args() {
	TD_ARGS=("$@")
	[[ ${TRELLIS_TEST_STORE:-} == postgresql && -n ${TRELLIS_TEST_PG_DSN:-} ]] || return 0
	if [[ -z $TD_PG_DSN ]]; then
		TD_PG_DSN=$("$TRELLIS_SRC/tests/lib/pg.sh" createdb "$TRELLIS_TEST_PG_DSN" \
			"td_$(basename "$TD_DIR" | tr -c 'a-zA-Z0-9\n' _)") || return 1
	fi
	local i cfg=
	for ((i = 0; i < ${#TD_ARGS[@]}; i++)); do
		[[ ${TD_ARGS[i]} == --config ]] && cfg=${TD_ARGS[i + 1]}
	done
	if [[ -z $cfg ]]; then
		cfg=$TD_DIR/store.yaml
		: >"$cfg"
		TD_ARGS+=(--config "$cfg")
	fi
	grep -q '^store:' "$cfg" ||
		printf '\nstore:\n  backend: postgresql\n  dsn: "%s"\n' "$TD_PG_DSN" >>"$cfg"
}

td_start() {
	td_store_args "$@" || return 1
	"$TD_BIN/trellisd" --state-dir "$TD_DIR" --foreground "${TD_ARGS[@]}" \
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

# td_sql SQL [ARG...]: runs SQL on the daemon's store, whichever backend
# it is on (each ? takes the next ARG, quoted as a literal); prints the
# first column of the first row, if any.
td_sql() {
	python3 - "$TD_DIR/trellis.db" "$TD_PG_DSN" "$@" <<'PY'
import sqlite3, subprocess, sys
db, dsn, sql, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
parts = sql.split('?')
if len(parts) - 1 != len(args):
    sys.exit('td_sql: %d ? for %d arguments' % (len(parts) - 1, len(args)))
q = parts[0] + ''.join("'%s'" % a.replace("'", "''") + p
                       for a, p in zip(args, parts[1:]))
if dsn:
    out = subprocess.run(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
                          dsn, '-c', q], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    if out:
        print(out[0].split('|')[0])
else:
    c = sqlite3.connect(db)
    row = c.execute(q).fetchone()
    c.commit()
    if row:
        print(row[0])
PY
}

json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

td_have_libvirt_plugin() { [[ -e $TRELLIS_BUILD/plugins/libvirt.so ]]; }

# libasan intercepts the xdr_* functions of glibc's old SunRPC while
# libvirt's remote protocol uses libtirpc's: under ASan the first remote
# call (qemu:///system, qemu+tcp://) jumps to NULL.  test:///default is
# in-process and unaffected.
td_asan_breaks_libvirt_rpc() { ldd "$TD_BIN/trellisd" 2>/dev/null | grep -q libasan; }
