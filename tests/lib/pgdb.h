/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgdb.h - for C tests that run against the PostgreSQL store backend as
 * well: a database of their own in the throw-away cluster test.sh starts
 * (tests/lib/pg.sh), whose connection string is TRELLIS_TEST_PG_DSN.
 *
 *   char dsn[512];
 *   if (tr_test_pg_db("store", dsn, sizeof dsn) < 0) skip();
 *
 * The new database's location (what tr_store_open() takes for the
 * PostgreSQL backend) is "pg:" + dsn.  TRELLIS_TEST_PG_DSN must be
 * key=value pairs (tests/lib/pg.sh dsn prints them): a dbname= is added.
 */
#ifndef TRELLIS_TESTS_LIB_PGDB_H
#define TRELLIS_TESTS_LIB_PGDB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/store/sql.h"

/* Creates a database named after prefix, this process and a counter and
 * puts its connection string in dsn.  0, or -1 (with the reason on
 * stderr) when there is no cluster (TRELLIS_TEST_PG_DSN unset) or the
 * database cannot be made. */
static inline int tr_test_pg_db(const char *prefix, char *dsn, size_t len)
{
	static unsigned n;
	const char *base = getenv("TRELLIS_TEST_PG_DSN");
	if (!base || !*base) {
		fprintf(stderr, "# TRELLIS_TEST_PG_DSN is not set: the "
				"PostgreSQL cases skip (test.sh starts a "
				"cluster; tests/lib/pg.sh)\n");
		return -1;
	}
	char err[512];
	struct tr_sql *db = tr_sql_open_pg(base, err, sizeof err);
	if (!db) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	char name[96], sql[160];
	snprintf(name, sizeof name, "%s_%ld_%ld_%u", prefix, (long)getpid(),
		 (long)time(NULL), ++n);
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
	int rc = tr_sql_exec(db, sql);
	if (rc < 0)
		fprintf(stderr, "# %s: %s\n", sql, tr_sql_errmsg(db));
	tr_sql_close(db);
	if (rc < 0)
		return -1;
	/* a later dbname= overrides the base's */
	snprintf(dsn, len, "%s dbname=%s", base, name);
	return 0;
}

/* A cmocka case run twice, on each backend: cases named fn[sqlite] and
 * fn[postgresql], with the two setups. */
#define TR_TEST_BOTH(fn, setup_sqlite, setup_postgresql, teardown)             \
	{#fn "[sqlite]", fn, setup_sqlite, teardown, NULL},                    \
	{                                                                      \
#fn "[postgresql]", fn, setup_postgresql, teardown, NULL       \
	}

/* Ends db's session from another one on dsn, as a server restart would
 * (pg_terminate_backend), and waits a moment for it to go.  0 or -1. */
static inline int tr_test_pg_kill(struct tr_sql *db, const char *dsn)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "SELECT pg_backend_pid()", &st) < 0 ||
	    tr_sql_step(st) != TR_SQL_ROW) {
		tr_sql_finalize(st);
		return -1;
	}
	int64_t pid = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	char err[512];
	struct tr_sql *other = tr_sql_open_pg(dsn, err, sizeof err);
	if (!other)
		return -1;
	int rc = tr_sql_prepare(other, "SELECT pg_terminate_backend(?1)", &st);
	if (rc == 0)
		rc = tr_sql_bind_int64(st, 1, pid);
	if (rc == 0)
		rc = tr_sql_step(st) == TR_SQL_ROW ? 0 : -1;
	tr_sql_finalize(st);
	tr_sql_close(other);
	usleep(100 * 1000);
	return rc;
}

/* The store a test opens: path (a SQLite file), or, when
 * TRELLIS_TEST_STORE=postgresql, a database of the cluster ("pg:DSN"),
 * the same one each time for the same path in this process (a fixture
 * that reopens its store finds it again), so that a suite's fixture runs
 * on either backend with one line:
 *   s = tr_store_open(tr_test_store_location(path), ...)
 * NULL when PostgreSQL is asked for and there is none. */
static inline const char *tr_test_store_location(const char *path)
{
	static struct {
		char path[4200];
		char loc[700];
	} seen[32];
	static unsigned n_seen;
	const char *b = getenv("TRELLIS_TEST_STORE");
	if (!b || strcmp(b, "postgresql") != 0)
		return path;
	for (unsigned i = 0; i < n_seen && i < 32; i++)
		if (strcmp(seen[i].path, path) == 0)
			return seen[i].loc;
	char dsn[600];
	if (tr_test_pg_db("store", dsn, sizeof dsn) < 0)
		return NULL;
	unsigned i = n_seen++ % 32;
	snprintf(seen[i].path, sizeof seen[i].path, "%s", path);
	snprintf(seen[i].loc, sizeof seen[i].loc, "pg:%s", dsn);
	return seen[i].loc;
}

#endif
