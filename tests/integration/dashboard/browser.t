#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 1200
# The dashboard in a real browser: Debian's chromium through Playwright
# (browser.mjs) against a real trellisd on qemu:///system with the test
# guest (tests/integration/provision/lib.sh) and a trellis-console
# instance (tests/integration/console/lib.sh).  It logs in (and fails with
# a wrong password), creates a VM from a template and watches its run
# until succeeded, sees it running (its guest boots), opens its console
# in the page and sees the guest's screen, stops and destroys
# it, sees a bu-user kept to their BU, approves an allocation as a
# dc-admin, compares the chargeback page's totals with `trellis report
# chargeback`, sees a failing provision's failed step, error and
# compensation, and keeps a screenshot of each main page under
# BUILD/test-logs/dashboard.
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/console/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
lv_require
if [[ ! -d $here/node_modules/playwright-core ]]; then
	echo "1..0 # SKIP playwright-core is not installed (npm ci in tests/integration/dashboard; test.sh does it)"
	exit 0
fi
if [[ ! -x /usr/bin/chromium ]]; then
	echo "1..0 # SKIP Debian's chromium is not installed (tools/deps/dashboard.txt)"
	exit 0
fi
if [[ ! -f $TRELLIS_BUILD/share/trellis/dashboard/index.html ]]; then
	echo "1..0 # SKIP the dashboard was not built (node/npm missing)"
	exit 0
fi
port=$((20000 + RANDOM % 20000))
extra=$(mktemp -d /tmp/trellis-dash.XXXXXX)
cat >"$extra/prices.yaml" <<'P'
currency: EUR
prices:
  vcpu_hour: 36.0
  memory_gib_hour: 7.2
  storage_gib_hour: 0.36
  segment_hour: 0.5
  templates: {small: 18.0}
P
PV_CONFIG="http: {listen: \"127.0.0.1:$port\"}
chargeback: {prices: \"$extra/prices.yaml\"}"
pv_start
trap 'cs_cleanup; rm -rf "$extra"' EXIT
# The console proxy (issue 20), when it is built and noVNC is installed.
console=0 console_why=
if [[ ! -x $CS_BIN ]]; then
	console_why="trellis-console is not built"
elif [[ ! -f /usr/share/novnc/core/rfb.js ]]; then
	console_why="novnc is not installed"
elif cs_proxy cpd "$(cs_port)"; then
	console=1
else
	console_why="trellis-console did not start: $(tail -3 "$PV_DIR/cp-cpd/log" 2>/dev/null)"
fi
ok "a trellis-console instance reports (or the console check is skipped: ${console_why:-no})" true

admin_pw="admin pass $RANDOM$RANDOM"
alice_pw="alice pass $RANDOM$RANDOM"
ok "BUs, users with passwords, a template and a requested allocation" bash -c "
	set -e
	t() { '$TRELLIS_BUILD/bin/trellis' -s 'ipc://$PV_DIR/api.sock' \"\$@\" >/dev/null; }
	t bu create acme; t bu create beta
	t user create admin --role dc-admin
	t user create alice --role bu-user --bu acme
	echo '$admin_pw' | t user passwd admin --stdin
	echo '$alice_pw' | t user passwd alice --stdin
	t template create small --vcpus 1 --memory 256M --disk 1G"
alloc=$(tcli -o json allocation request --bu acme --vcpus 1 --memory 128M | jq_ 'j["name"]')
like "...the allocation waits for approval" "$(tcli allocation show "$alloc")" 'requested'
host_mib=$(($(tcli -o json host show pvh | jq_ 'j["memory_kib"]') / 1024))
from=$(($(date +%s) - 3600))
shots=$TRELLIS_BUILD/test-logs/dashboard
rm -rf "$shots"
while IFS= read -r line; do
	case $line in
	"ok "*) _tap_report 0 "${line#ok }" ;;
	"not ok "*) _tap_report 1 "${line#not ok }" ;;
	*) echo "# ${line#\# }" ;;
	esac
done < <(cd "$here" && URL="http://127.0.0.1:$port" SHOTS="$shots" \
	CLI_BIN="$TRELLIS_BUILD/bin/trellis" CLI_SOCKET="ipc://$PV_DIR/api.sock" \
	PREFIX="$PV_PREFIX" SEGMENT="$PV_NET" KERNEL="$kernel" INITRD="$initrd" \
	SERIAL="$PV_DIR/${PV_PREFIX}web.serial.log" BIG_MIB=$((host_mib + host_mib / 2)) \
	CONSOLE=$console CONSOLE_WHY="$console_why" ADMIN_PW="$admin_pw" ALICE_PW="$alice_pw" ALLOC="$alloc" FROM="$from" \
	timeout 1000 node browser.mjs 2>&1)
n=$(ls "$shots"/*.png 2>/dev/null | wc -l)
ok "screenshots of the main pages are kept ($n in test-logs/dashboard)" test "$n" -ge 15
is "no password is in the daemon's log" "$(grep -c -e "$admin_pw" -e "$alice_pw" "$PV_DIR/daemon.log")" "0"
done_testing
