/* SPDX-License-Identifier: Apache-2.0 */
/* sql.c - the SQL layer's calls, dispatched to the connection's driver
 * (sql_sqlite.c, sql_pg.c); see sql.h. */
#include "sql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <trellis/error.h>

int tr_sql_fail(struct tr_sql *db, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(db->msg, sizeof db->msg, fmt, ap);
	va_end(ap);
	db->err = code;
	db->unique = 0;
	return code;
}

void tr_sql_ok(struct tr_sql *db)
{
	db->err = 0;
	db->unique = 0;
	db->msg[0] = '\0';
}

enum tr_sql_backend tr_sql_backend(const struct tr_sql *db)
{
	return db->drv->backend;
}

const char *tr_sql_pick(const struct tr_sql *db, const char *sqlite,
			const char *postgresql)
{
	return db->drv->backend == TR_SQL_POSTGRESQL ? postgresql : sqlite;
}

const char *tr_sql_errmsg(const struct tr_sql *db)
{
	return db->msg[0] ? db->msg : "no error";
}

int tr_sql_errcode(const struct tr_sql *db)
{
	return db->err;
}

int tr_sql_unique_violation(const struct tr_sql *db)
{
	return db->err && db->unique;
}

int tr_sql_exec(struct tr_sql *db, const char *sql)
{
	return db->drv->exec(db, sql);
}

int tr_sql_prepare(struct tr_sql *db, const char *sql,
		   struct tr_sql_stmt **out)
{
	return db->drv->prepare(db, sql, 0, out);
}

int tr_sql_prepare_persistent(struct tr_sql *db, const char *sql,
			      struct tr_sql_stmt **out)
{
	return db->drv->prepare(db, sql, 1, out);
}

void tr_sql_finalize(struct tr_sql_stmt *st)
{
	if (st)
		st->db->drv->finalize(st);
}

void tr_sql_reset(struct tr_sql_stmt *st)
{
	st->db->drv->reset(st);
}

void tr_sql_clear_bindings(struct tr_sql_stmt *st)
{
	st->db->drv->clear_bindings(st);
}

int tr_sql_bind_text(struct tr_sql_stmt *st, int i, const char *v)
{
	return st->db->drv->bind(st, i, v ? TR_SQL_TEXT : TR_SQL_NULL, v, 0,
				 0, 0);
}

int tr_sql_bind_text_copy(struct tr_sql_stmt *st, int i, const char *v)
{
	return st->db->drv->bind(st, i, v ? TR_SQL_TEXT : TR_SQL_NULL, v, 1,
				 0, 0);
}

int tr_sql_bind_int64(struct tr_sql_stmt *st, int i, int64_t v)
{
	return st->db->drv->bind(st, i, TR_SQL_INTEGER, NULL, 0, v, 0);
}

int tr_sql_bind_double(struct tr_sql_stmt *st, int i, double v)
{
	return st->db->drv->bind(st, i, TR_SQL_FLOAT, NULL, 0, 0, v);
}

int tr_sql_bind_null(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->bind(st, i, TR_SQL_NULL, NULL, 0, 0, 0);
}

int tr_sql_step(struct tr_sql_stmt *st)
{
	return st->db->drv->step(st);
}

int tr_sql_column_count(struct tr_sql_stmt *st)
{
	return st->db->drv->column_count(st);
}

const char *tr_sql_column_name(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_name(st, i);
}

enum tr_sql_type tr_sql_column_type(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_type(st, i);
}

int64_t tr_sql_column_int64(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_int64(st, i);
}

double tr_sql_column_double(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_double(st, i);
}

const char *tr_sql_column_text(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_text(st, i);
}

size_t tr_sql_column_bytes(struct tr_sql_stmt *st, int i)
{
	return st->db->drv->column_bytes(st, i);
}

int64_t tr_sql_changes(const struct tr_sql *db)
{
	return db->drv->changes(db);
}

int tr_sql_autocommit(const struct tr_sql *db)
{
	return db->drv->autocommit(db);
}

int64_t tr_sql_now(void)
{
	return (int64_t)time(NULL);
}

void tr_sql_on_commit(struct tr_sql *db, void (*fn)(void *arg), void *arg)
{
	db->on_commit = fn;
	db->on_commit_arg = arg;
}
