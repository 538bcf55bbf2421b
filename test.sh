#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds (normal and sanitizer builds), and runs
# every test suite.  Ends with "N passed, N failed, N skipped".
#   ./test.sh                   everything
#   SUITES=unit,abi ./test.sh   some suites only
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
jobs=$(nproc)
echo "== build (debug) =="
scons -Q -j"$jobs" mode=debug
echo "== build (asan) =="
scons -Q -j"$jobs" mode=asan
echo "== tests =="
exec python3 tests/run.py --build build --mode debug --suites "${SUITES:-}" \
	--also "build-asan:asan:${ASAN_SUITES:-unit,abi}"
