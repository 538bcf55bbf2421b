/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lead.c - the managers sharing one store, and the periodic jobs only one
 * of them runs at a time (store.h: tr_store_lead, tr_store_managers).
 *
 * On PostgreSQL a job is held under a session-level advisory lock of the
 * manager's main connection: key (TR_LEAD_CLASS, hashtext(job)).  The
 * server releases it when that session ends, so a job moves to another
 * manager as soon as its holder dies or loses the database, without any
 * lease to expire.  A manager names itself in its connection's
 * application_name ("trellisd NAME"), which is how any manager lists the
 * others (pg_stat_activity) and who holds each job (pg_locks).
 *
 * On SQLite there is one manager: it holds every job.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <trellis/error.h>

#include "store_int.h"

#define TR_LEAD_CLASS "29810" /* 'tr' */

static int sql_fail(struct tr_store *s, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, tr_sql_errcode(s->sql) ? tr_sql_errcode(s->sql)
							: TRELLIS_E_IO,
			   "store: %s: %s", what, tr_sql_errmsg(s->sql));
}

int tr_store_set_manager(struct tr_store *s, const char *name,
			 trellis_call_t *call)
{
	snprintf(s->manager, sizeof s->manager, "%s", name);
	if (!s->pg)
		return 0;
	struct tr_sql_stmt *st = NULL;
	char app[sizeof s->manager + 16];
	snprintf(app, sizeof app, "trellisd %s", name);
	if (tr_sql_prepare(s->sql,
			   "SELECT set_config('application_name', "
			   "CAST(?1 AS TEXT), false)",
			   &st) != 0)
		return sql_fail(s, call, "naming the manager");
	tr_sql_bind_text(st, 1, app);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_ROW ? 0 : sql_fail(s, call, "naming the manager");
}

int tr_store_lead(struct tr_store *s, const char *job, trellis_call_t *call)
{
	if (!s->pg)
		return 1;
	/* The name again with it: a session the driver reconnected has
	 * lost it (one round trip all the same). */
	char app[sizeof s->manager + 16];
	snprintf(app, sizeof app, "trellisd %s", s->manager);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare_persistent(
		s->sql,
		"SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE "
		"locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
		"AND classid = " TR_LEAD_CLASS " AND objsubid = 2 AND objid = "
		"CAST(hashtext(CAST(?1 AS TEXT)) AS oid)) THEN 1 WHEN "
		"pg_try_advisory_lock(" TR_LEAD_CLASS ", hashtext(CAST(?1 AS "
		"TEXT))) "
		"THEN 1 ELSE 0 END, set_config('application_name', "
		"CAST(?2 AS TEXT), false)",
		&st) != 0)
		return sql_fail(s, call, "taking a job");
	tr_sql_bind_text(st, 2, app);
	tr_sql_bind_text(st, 1, job);
	int rc = tr_sql_step(st);
	int held = rc == TR_SQL_ROW ? (int)tr_sql_column_int64(st, 0) : -1;
	tr_sql_finalize(st);
	if (held < 0)
		return sql_fail(s, call, "taking a job");
	return held;
}

int tr_store_managers(struct tr_store *s, const char *const *jobs,
		      json_t **out, trellis_call_t *call)
{
	json_t *o = json_pack("{s:s, s:[], s:[]}", "backend",
			      s->pg ? "postgresql" : "sqlite", "managers",
			      "jobs");
	json_t *mgrs = json_object_get(o, "managers");
	json_t *js = json_object_get(o, "jobs");
	if (!s->pg) {
		json_array_append_new(mgrs, json_pack("{s:s, s:b}", "name",
						      s->manager, "self", 1));
		for (const char *const *j = jobs; *j; j++)
			json_array_append_new(js, json_pack("{s:s, s:s}", "job",
							    *j, "holder",
							    s->manager));
		*out = o;
		return 0;
	}
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(s->sql,
			   "SELECT substr(application_name, 10), "
			   "CAST(extract(epoch FROM backend_start) AS BIGINT), "
			   "CASE WHEN pid = pg_backend_pid() THEN 1 ELSE 0 END "
			   "FROM pg_stat_activity WHERE datname = "
			   "current_database() AND application_name LIKE "
			   "'trellisd %' ORDER BY 1",
			   &st) != 0) {
		json_decref(o);
		return sql_fail(s, call, "listing the managers");
	}
	while (tr_sql_step(st) == TR_SQL_ROW)
		json_array_append_new(
		    mgrs, json_pack("{s:s, s:I, s:b}", "name",
				    tr_sql_column_text(st, 0), "connected_at",
				    (json_int_t)tr_sql_column_int64(st, 1),
				    "self", (int)tr_sql_column_int64(st, 2)));
	tr_sql_finalize(st);
	st = NULL;
	if (tr_sql_prepare(s->sql,
			   "SELECT substr(a.application_name, 10) FROM pg_locks l "
			   "JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
			   "l.locktype = 'advisory' AND l.granted AND l.classid = "
			   TR_LEAD_CLASS " AND l.objsubid = 2 AND l.objid = "
			   "CAST(hashtext(CAST(?1 AS TEXT)) AS oid) AND "
			   "l.database = (SELECT oid FROM pg_database WHERE "
			   "datname = current_database())",
			   &st) != 0) {
		json_decref(o);
		return sql_fail(s, call, "listing the jobs");
	}
	for (const char *const *j = jobs; *j; j++) {
		tr_sql_reset(st);
		tr_sql_bind_text(st, 1, *j);
		const char *h = tr_sql_step(st) == TR_SQL_ROW
					? tr_sql_column_text(st, 0)
					: NULL;
		json_array_append_new(js, json_pack("{s:s, s:s?}", "job", *j,
						    "holder", h));
	}
	tr_sql_finalize(st);
	*out = o;
	return 0;
}
