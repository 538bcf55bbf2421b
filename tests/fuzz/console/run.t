#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Runs the console proxy's libFuzzer target (the RFB handshakes with the
# VNC server and the browser, the image-stripe input lines) for a bounded
# time (FUZZ_SECONDS, default 20) from a small seed corpus: real
# handshakes of RFB 3.3, 3.7 and 3.8.  Builds the fuzz build (clang,
# libFuzzer) first when it is missing or stale.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../../lib/fuzz.sh"
fuzz_begin "fuzz console" fuzz_console
mkdir -p "$work/c"
# A VNC server: 3.8 offering None and VNC auth, a challenge, OK.
printf '\x00\x05RFB 003.008\n\x02\x01\x02%016d\x00\x00\x00\x00' 0 >"$work/c/up38"
printf '\x00\x03RFB 003.003\n\x00\x00\x00\x02%016d\x00\x00\x00\x00' 0 >"$work/c/up33"
printf '\x00\x07RFB 003.008\n\x00\x00\x00\x00\x05nope!' >"$work/c/upfail"
printf '\x00\x09RFB 003.008\n\x01\x02%016d\x00\x00\x00\x01\x00\x00\x00\x03bad' 0 >"$work/c/upref"
# A browser: 3.8 then None, and 3.7, 3.3.
printf '\x01\x04RFB 003.008\n\x01\x01' >"$work/c/dn38"
printf '\x01\x01RFB 003.007\n\x01' >"$work/c/dn37"
printf '\x01\x02RFB 003.003\n' >"$work/c/dn33"
printf '\x02\x00k 1 65\nk 0 65\np 10 20 1\np 719 399 0\np -1 5 0\n' >"$work/c/ev"
fuzz_run fuzz_console "$work/c"
done_testing
