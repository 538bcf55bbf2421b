/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c - the audit trail (table audit; auth.h).  Append-only: the
 * store's triggers refuse UPDATE and DELETE, so a bug here cannot rewrite
 * history either.  Records hold names (user, BU, op, object) and outcomes,
 * never arguments: no token, password or secret input can reach them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "auth.h"

static void bind_opt(struct tr_sql_stmt *st, int i, const char *s)
{
	if (s && *s)
		tr_sql_bind_text_copy(st, i, s);
	else
		tr_sql_bind_null(st, i);
}

int tr_audit_append(struct tr_store *s, const struct tr_audit_rec *r,
		    trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO audit (at, \"user\", bu, op, object, "
			   "result, code, via) VALUES (?1, ?2, ?3, ?4, ?5, "
			   "?6, ?7, ?8)",
			   &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "audit: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_int64(st, 1, (int64_t)time(NULL));
	tr_sql_bind_text_copy(st, 2, r->user && *r->user ? r->user : "?");
	bind_opt(st, 3, r->bu);
	tr_sql_bind_text_copy(st, 4, r->op ? r->op : "?");
	bind_opt(st, 5, r->object);
	tr_sql_bind_text_copy(st, 6, r->result ? r->result : "?");
	bind_opt(st, 7, r->code);
	bind_opt(st, 8, r->via);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return tr_call_set(call, TRELLIS_E_IO, "audit: %s",
				   tr_sql_errmsg(db));
	return 0;
}

static json_t *text_or_null(struct tr_sql_stmt *st, int i)
{
	const char *t = tr_sql_column_text(st, i);
	return t ? json_string((const char *)t) : json_null();
}

int tr_audit_list(struct tr_store *s, const struct tr_audit_query *q,
		  json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	/* op may end in '*': a prefix (GLOB with the rest escaped is more
	 * than callers need; '*' elsewhere is taken literally). */
	if (tr_sql_prepare(
		db,
		"SELECT id, at, \"user\", bu, op, object, result, code, via "
		"FROM "
		"audit WHERE id > ?1 AND (CAST(?2 AS TEXT) IS NULL OR \"user\" "
		"= ?2) AND "
		"(CAST(?3 AS TEXT) IS NULL OR bu = ?3) AND (CAST(?4 AS TEXT) "
		"IS NULL OR op = ?4 OR "
		"(substr(?4, length(?4), 1) = '*' AND substr(op, 1, length(?4) "
		"- 1) = "
		"substr(?4, 1, length(?4) - 1))) AND at >= ?5 ORDER BY id "
		"LIMIT ?6",
		&st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "audit: %s",
				   tr_sql_errmsg(db));
	unsigned limit = q->limit ? q->limit : 100;
	tr_sql_bind_int64(st, 1, q->after_id);
	bind_opt(st, 2, q->user);
	bind_opt(st, 3, q->bu);
	bind_opt(st, 4, q->op);
	tr_sql_bind_int64(st, 5, q->since);
	tr_sql_bind_int64(st, 6, (int64_t)limit + 1);
	json_t *items = json_array();
	int rc;
	int64_t last = 0;
	unsigned n = 0;
	int more = 0;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		if (n == limit) {
			more = 1;
			break;
		}
		last = tr_sql_column_int64(st, 0);
		json_t *o =
		    json_pack("{s:I, s:I}", "id", (json_int_t)last, "at",
			      (json_int_t)tr_sql_column_int64(st, 1));
		static const char *const names[] = {"user",   "bu",	"op",
						    "object", "result", "code",
						    "via"};
		for (int i = 0; i < 7; i++)
			json_object_set_new(o, names[i],
					    text_or_null(st, i + 2));
		json_array_append_new(items, o);
		n++;
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW && rc != TR_SQL_DONE) {
		json_decref(items);
		return tr_call_set(call, TRELLIS_E_IO, "audit: %s",
				   tr_sql_errmsg(db));
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next",
			 more ? json_integer(last) : json_null());
	return 0;
}
