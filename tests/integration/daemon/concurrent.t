#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Many clients at once, every answer checked: 16 clients add hosts (writes,
# on the main thread), show each one at once (reads, on the receive
# threads' own store connections: a read that misses an acknowledged
# write fails) and list hosts between adds, so requests queue and the
# helper receive threads wake (api.threads: 3).
# trellis-timeout: 180
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"

if ! td_have_libvirt_plugin; then
	skip "concurrent clients" "plugins/libvirt.so is not built"
	done_testing
fi
printf 'api:\n  threads: 3\n' >"$TD_DIR/cfg.yaml"
td_start --config "$TD_DIR/cfg.yaml" || { echo "Bail out! trellisd does not start"; exit 1; }
tcli zone create z >/dev/null
tcli pod create p --zone z >/dev/null
tcli cluster create c --pod p >/dev/null
is "api.threads from the config" "$(tcli api status -o json | json 'j["api"]["threads"]')" 3

out=$("$TRELLIS_BUILD/tests/bin-tools/hammer" "$TRELLIS_SOCKET" c 16 5 20 2>&1)
is "16 clients: every answer right" "$?" 0
diag "$out"
is "all 80 hosts recorded" "$(tcli host list --limit 1000 -o json | json 'len(j["items"])')" 80
st=$(tcli api status -o json)
reads=$(json 'j["api"]["reads"]' <<<"$st")
ok "reads served on receive threads ($reads)" test "$reads" -ge $((16 * 5 * 21))
wakeups=$(json 'j["api"]["helper_wakeups"]' <<<"$st")
ok "queued requests woke the helper threads ($wakeups times)" test "$wakeups" -ge 1
ok "the daemon is still up" kill -0 "$TD_PID"
td_stop
is "clean exit" "$TD_RC" 0
is "store integrity" "$(sqlite3 "$TD_DIR/trellis.db" 'PRAGMA integrity_check')" ok
done_testing
