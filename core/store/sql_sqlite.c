/* SPDX-License-Identifier: Apache-2.0 */
/* sql_sqlite.c - the SQL layer's SQLite driver: a thin wrapper over an
 * open sqlite3 handle, whose result codes it maps to TRELLIS_E_*. */
#include <sqlite3.h>
#include <stdlib.h>

#include <trellis/error.h>

#include "../util/alloc.h"
#include "sql_int.h"

struct lite {
	struct tr_sql base;
	sqlite3 *h;
};

struct lite_stmt {
	struct tr_sql_stmt base;
	sqlite3_stmt *st;
};

#define H(db) (((const struct lite *)(db))->h)
#define ST(s) (((struct lite_stmt *)(s))->st)

static int lite_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: return TRELLIS_E_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return TRELLIS_E_BUSY;
	case SQLITE_NOMEM: return TRELLIS_E_NOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH: return TRELLIS_E_PERMISSION;
	case SQLITE_RANGE:
	case SQLITE_MISMATCH: return TRELLIS_E_INVALID_ARG;
	default: return TRELLIS_E_IO;
	}
}

/* Records the error rc of db; the extended code tells unique keys. */
static int lite_fail_ext(struct tr_sql *db, sqlite3 *h, int rc)
{
	int ext = sqlite3_extended_errcode(h);
	tr_sql_fail(db, lite_code(rc), "%s", sqlite3_errmsg(h));
	db->unique = ext == SQLITE_CONSTRAINT_UNIQUE ||
		     ext == SQLITE_CONSTRAINT_PRIMARYKEY;
	return db->err;
}

static int lite_fail(struct tr_sql *db, int rc)
{
	return lite_fail_ext(db, H(db), rc);
}

static int lite_exec(struct tr_sql *db, const char *sql)
{
	int rc = sqlite3_exec(H(db), sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return lite_fail(db, rc);
	tr_sql_ok(db);
	return 0;
}

static int lite_prepare(struct tr_sql *db, const char *sql, int persistent,
			struct tr_sql_stmt **out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(H(db), sql, -1,
				    persistent ? SQLITE_PREPARE_PERSISTENT : 0,
				    &st, NULL);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return lite_fail(db, rc);
	}
	struct lite_stmt *ls = tr_xmalloc(sizeof *ls);
	ls->base.db = db;
	ls->st = st;
	*out = &ls->base;
	return 0;
}

static void lite_finalize(struct tr_sql_stmt *st)
{
	sqlite3_finalize(ST(st));
	free(st);
}

static void lite_reset(struct tr_sql_stmt *st)
{
	sqlite3_reset(ST(st));
}

static void lite_clear_bindings(struct tr_sql_stmt *st)
{
	sqlite3_clear_bindings(ST(st));
}

static int lite_bind(struct tr_sql_stmt *st, int i, enum tr_sql_type type,
		     const char *text, int copy, int64_t iv, double dv)
{
	int rc;
	switch (type) {
	case TR_SQL_TEXT:
		rc = sqlite3_bind_text(ST(st), i, text, -1,
				       copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
		break;
	case TR_SQL_INTEGER: rc = sqlite3_bind_int64(ST(st), i, iv); break;
	case TR_SQL_FLOAT: rc = sqlite3_bind_double(ST(st), i, dv); break;
	default: rc = sqlite3_bind_null(ST(st), i); break;
	}
	return rc == SQLITE_OK ? 0 : lite_fail(st->db, rc);
}

static int lite_step(struct tr_sql_stmt *st)
{
	int rc = sqlite3_step(ST(st));
	if (rc == SQLITE_ROW)
		return TR_SQL_ROW;
	if (rc == SQLITE_DONE) {
		tr_sql_ok(st->db);
		return TR_SQL_DONE;
	}
	/* the extended code of the statement, not of whatever ran last */
	return lite_fail_ext(st->db, sqlite3_db_handle(ST(st)), rc);
}

static int lite_column_count(struct tr_sql_stmt *st)
{
	return sqlite3_column_count(ST(st));
}

static const char *lite_column_name(struct tr_sql_stmt *st, int i)
{
	return sqlite3_column_name(ST(st), i);
}

static enum tr_sql_type lite_column_type(struct tr_sql_stmt *st, int i)
{
	switch (sqlite3_column_type(ST(st), i)) {
	case SQLITE_INTEGER: return TR_SQL_INTEGER;
	case SQLITE_FLOAT: return TR_SQL_FLOAT;
	case SQLITE_NULL: return TR_SQL_NULL;
	default: return TR_SQL_TEXT;
	}
}

static int64_t lite_column_int64(struct tr_sql_stmt *st, int i)
{
	return sqlite3_column_int64(ST(st), i);
}

static double lite_column_double(struct tr_sql_stmt *st, int i)
{
	return sqlite3_column_double(ST(st), i);
}

static const char *lite_column_text(struct tr_sql_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(ST(st), i);
}

static size_t lite_column_bytes(struct tr_sql_stmt *st, int i)
{
	return (size_t)sqlite3_column_bytes(ST(st), i);
}

static int64_t lite_changes(const struct tr_sql *db)
{
	return sqlite3_changes64(H(db));
}

static int lite_autocommit(const struct tr_sql *db)
{
	return sqlite3_get_autocommit(H(db));
}

static const struct tr_sql_driver lite_driver = {
	.backend = TR_SQL_SQLITE,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.reset = lite_reset,
	.clear_bindings = lite_clear_bindings,
	.bind = lite_bind,
	.step = lite_step,
	.column_count = lite_column_count,
	.column_name = lite_column_name,
	.column_type = lite_column_type,
	.column_int64 = lite_column_int64,
	.column_double = lite_column_double,
	.column_text = lite_column_text,
	.column_bytes = lite_column_bytes,
	.changes = lite_changes,
	.autocommit = lite_autocommit,
};

struct tr_sql *tr_sql_wrap_sqlite(void *handle)
{
	struct lite *db = tr_xcalloc(1, sizeof *db);
	db->base.drv = &lite_driver;
	db->h = handle;
	return &db->base;
}

void tr_sql_unwrap(struct tr_sql *db)
{
	free(db);
}
