/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journal's retention (core/workflow/retention.c, journal.c) on a real
 * store: instances go oldest first, 500 per transaction, with their steps;
 * a bounded purge says more remain; none goes that finished after an
 * unfinished instance began (it may be that one's child).  The timer and
 * the CLI are tested against a real daemon in
 * tests/integration/workflow/retention.t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "fixture.h"

static void sql(struct wfx *x, const char *q)
{
	struct tr_sql *db = tr_store_sql(x->d.store);
	if (tr_sql_exec(db, q) != 0)
		fail_msg("%s: %s", q, tr_sql_errmsg(db));
}

static int count(struct wfx *x, const char *q)
{
	struct tr_sql_stmt *st;
	assert_int_equal(tr_sql_prepare(tr_store_sql(x->d.store), q, &st), 0);
	assert_int_equal(tr_sql_step(st), TR_SQL_ROW);
	int n = (int)tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return n;
}

/* An instance id-N in state, created at created, finished at finished
 * (-1: not finished), with two steps. */
static void instance(struct wfx *x, int n, const char *state, int created,
		     int finished)
{
	char q[512], fin[16] = "NULL";
	if (finished >= 0)
		snprintf(fin, sizeof fin, "%d", finished);
	snprintf(q, sizeof q,
		 "INSERT INTO wf_instance (id, seq, workflow, source, inputs, "
		 "state, created_at, finished_at) VALUES ('i-%d', %d, 't', "
		 "'', '{}', '%s', %d, %s);"
		 "INSERT INTO wf_step (instance, idx, step, state) VALUES "
		 "('i-%d', 0, 'a', 'succeeded'), ('i-%d', 1, 'b', "
		 "'succeeded');",
		 n, n, state, created, fin, n, n);
	sql(x, q);
}

static void test_purge(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	sql(&x, "BEGIN");
	for (int n = 0; n < 1200; n++)
		instance(&x, n, n % 3 ? "succeeded" : "failed", 1000 + n - 500,
			 1000 + n);
	sql(&x, "COMMIT");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	unsigned purged = 0;
	/* They finished in 1970: not over a hundred years ago. */
	assert_int_equal(tr_engine_purge(x.e, 100ll * 366 * 86400 * 1000, 0,
					 &purged, &call),
			 0);
	assert_int_equal(purged, 0);
	/* One transaction: the oldest 500, and more remain. */
	assert_int_equal(tr_engine_purge(x.e, 0, 1, &purged, &call), 1);
	assert_int_equal(purged, 500);
	assert_int_equal(count(&x, "SELECT MIN(finished_at) FROM wf_instance"),
			 1500);
	assert_int_equal(count(&x, "SELECT count(*) FROM wf_step"), 2 * 700);
	/* A running instance created at 1800 may be the parent of any that
	 * finished since: those stay. */
	instance(&x, 5000, "running", 1800, -1);
	assert_int_equal(tr_engine_purge(x.e, 0, 0, &purged, &call), 0);
	assert_int_equal(purged, 300);
	assert_int_equal(count(&x, "SELECT count(*) FROM wf_instance WHERE "
				   "finished_at < 1800"),
			 0);
	assert_int_equal(count(&x, "SELECT count(*) FROM wf_instance"),
			 400 + 1);
	/* Once it ends, the rest can go; its steps with it. */
	sql(&x, "UPDATE wf_instance SET state = 'cancelled', finished_at = "
		"3000 WHERE id = 'i-5000'");
	assert_int_equal(tr_engine_purge(x.e, 0, 0, &purged, &call), 0);
	assert_int_equal(purged, 401);
	assert_int_equal(count(&x, "SELECT count(*) FROM wf_instance"), 0);
	assert_int_equal(count(&x, "SELECT count(*) FROM wf_step"), 0);
	wfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
