#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds (normal and sanitizer builds), and runs
# every test suite.  Ends with "N passed, N failed, N skipped".
#   ./test.sh                   everything
#   SUITES=unit,abi ./test.sh   some suites only
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
# The OpenAPI validator of tests/integration/http/openapi.t, pinned by its
# committed package-lock.json.
(cd tests/integration/http/openapi && npm ci --no-audit --no-fund >/dev/null) ||
	echo "test.sh: npm ci failed in tests/integration/http/openapi (openapi.t skips)" >&2
# The dashboard's front-end (built by scons; npm ci here too, so that a
# failure says so early) and the browser tests' Playwright, pinned by their
# committed package-lock.json files.
(cd dashboard && npm ci --no-audit --no-fund >/dev/null) ||
	echo "test.sh: npm ci failed in dashboard (the dashboard is not built)" >&2
(cd tests/integration/dashboard && npm ci --no-audit --no-fund >/dev/null) ||
	echo "test.sh: npm ci failed in tests/integration/dashboard (browser.t skips)" >&2
# playwright-core of the console tests (tests/integration/console), pinned
# likewise; they drive Debian's chromium.
(cd tests/integration/console/browser && npm ci --no-audit --no-fund >/dev/null) ||
	echo "test.sh: npm ci failed in tests/integration/console/browser (the console tests skip)" >&2
# s3rver, the real S3 endpoint of tests/integration/storage/adapter_s3.t,
# pinned likewise.
(cd tests/integration/storage/s3 && npm ci --no-audit --no-fund >/dev/null) ||
	echo "test.sh: npm ci failed in tests/integration/storage/s3 (adapter_s3.t skips)" >&2
jobs=$(nproc)
echo "== build (debug) =="
scons -Q -j"$jobs" mode=debug
echo "== build (asan) =="
scons -Q -j"$jobs" mode=asan
# A throw-away PostgreSQL 15 cluster (tests/lib/pg.sh) for the suites that
# run against the PostgreSQL store backend as well (issue 24): each test
# makes its own database in it.  Without one, those cases skip.
pgdir=
if [ -z "${TRELLIS_TEST_PG_DSN:-}" ]; then
	if pgdir=$(tests/lib/pg.sh start); then
		export TRELLIS_TEST_PG_DSN="$(tests/lib/pg.sh dsn "$pgdir")"
		trap 'tests/lib/pg.sh stop "$pgdir"' EXIT
	else
		pgdir=
		echo "test.sh: no PostgreSQL cluster (the PostgreSQL cases skip)" >&2
	fi
fi
echo "== tests =="
# The suite's fuzz runs are short soaks (8 s a target, ~2 minutes for all
# of them); a long campaign sets FUZZ_SECONDS itself.
export FUZZ_SECONDS=${FUZZ_SECONDS:-8}
# The API, workflow and crash suites run once more with their trellisd on
# the PostgreSQL store (issue 24); the store's own unit tests run every
# case on both backends by themselves.
PG_TESTS=integration/daemon/cli.t,integration/daemon/concurrent.t,\
integration/daemon/crash.t,integration/daemon/hostile.t,\
integration/daemon/keys.t,integration/daemon/slow.t,\
integration/daemon/tenancy.t,integration/http/api.t,\
integration/http/prometheus.t,integration/placement/policy.t,\
integration/workflow
python3 tests/run.py --build build --mode debug --suites "${SUITES:-}" \
	--also "build-asan:asan:${ASAN_SUITES:-unit,abi}" --pg "${PG_SUITES:-$PG_TESTS}"
