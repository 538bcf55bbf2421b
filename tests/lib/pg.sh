#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# pg.sh - a throw-away PostgreSQL 15 cluster for the tests (issue 24):
# initdb into a temporary directory, the server on a Unix socket in that
# directory only (no TCP, no system service), fsync off (a test's data
# need not survive a power cut).  As root it runs the server as the
# postgres user (initdb refuses root); otherwise as the caller.
#
#   DIR=$(tests/lib/pg.sh start)        # prints the directory
#   DSN=$(tests/lib/pg.sh dsn "$DIR")   # "host=DIR port=5432 user=... dbname=postgres"
#   tests/lib/pg.sh createdb "$DSN" NAME  # prints the DSN of a new database NAME
#   tests/lib/pg.sh stop "$DIR"         # stops it and removes DIR
#
# test.sh starts one for the whole run and exports TRELLIS_TEST_PG_DSN;
# each test makes its own database in it.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=5432

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

owner() {
	if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

cmd=${1:-}
case "$cmd" in
start)
	[ -x "$PGBIN/initdb" ] || {
		echo "pg.sh: $PGBIN/initdb not found (apt-get install postgresql-15)" >&2
		exit 2
	}
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "pg.sh: running as root and there is no postgres user to run the server" >&2
		exit 2
	fi
	dir=${2:-$(mktemp -d /tmp/trellis-pg.XXXXXX)}
	mkdir -p "$dir"
	chmod 0755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -E UTF8 \
		--locale=C.UTF-8 -U "$(owner)" >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-t 60 -o "-c unix_socket_directories='$dir' -c listen_addresses='' \
-c port=$PORT -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=300" start >/dev/null || {
		cat "$dir/server.log" >&2
		exit 1
	}
	echo "$dir"
	;;
dsn)
	dir=$2
	echo "host=$dir port=$PORT user=$(owner) dbname=postgres"
	;;
createdb)
	dsn=$2 name=$3
	psql -X -q -v ON_ERROR_STOP=1 "$dsn" -c "CREATE DATABASE \"$name\"" >/dev/null
	echo "${dsn% dbname=*} dbname=$name"
	;;
stop)
	dir=$2
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
	fi
	case "$dir" in
	/tmp/trellis-pg.*) rm -rf "$dir" ;;
	esac
	;;
*)
	echo "usage: pg.sh start [DIR] | dsn DIR | createdb DSN NAME | stop DIR" >&2
	exit 2
	;;
esac
