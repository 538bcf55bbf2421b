/* SPDX-License-Identifier: Apache-2.0 */
/* sql_int.h - what the SQL layer's drivers implement (sql.c dispatches to
 * them); not for callers, who use sql.h. */
#ifndef TRELLIS_CORE_STORE_SQL_INT_H
#define TRELLIS_CORE_STORE_SQL_INT_H

#include "sql.h"

struct tr_sql_driver {
	enum tr_sql_backend backend;
	int (*exec)(struct tr_sql *db, const char *sql);
	int (*prepare)(struct tr_sql *db, const char *sql, int persistent,
		       struct tr_sql_stmt **out);
	void (*finalize)(struct tr_sql_stmt *st);
	void (*reset)(struct tr_sql_stmt *st);
	void (*clear_bindings)(struct tr_sql_stmt *st);
	/* v: the value's text for TEXT (copied when copy is set), else
	 * unused; type TR_SQL_NULL binds NULL. */
	int (*bind)(struct tr_sql_stmt *st, int i, enum tr_sql_type type,
		    const char *text, int copy, int64_t iv, double dv);
	int (*step)(struct tr_sql_stmt *st);
	int (*column_count)(struct tr_sql_stmt *st);
	const char *(*column_name)(struct tr_sql_stmt *st, int i);
	enum tr_sql_type (*column_type)(struct tr_sql_stmt *st, int i);
	int64_t (*column_int64)(struct tr_sql_stmt *st, int i);
	double (*column_double)(struct tr_sql_stmt *st, int i);
	const char *(*column_text)(struct tr_sql_stmt *st, int i);
	size_t (*column_bytes)(struct tr_sql_stmt *st, int i);
	int64_t (*changes)(const struct tr_sql *db);
	int (*autocommit)(const struct tr_sql *db);
};

/* Every connection starts with these; each driver extends it. */
struct tr_sql {
	const struct tr_sql_driver *drv;
	int err;       /* the last error's TRELLIS_E_* code, 0: none */
	char msg[512]; /* and its message */
	int unique;    /* it was a unique or primary key violation */
	/* tr_sql_on_commit(): called by a driver without a commit hook of
	 * its engine's own (PostgreSQL) after each commit it sees */
	void (*on_commit)(void *arg);
	void *on_commit_arg;
};

/* Every statement starts with this. */
struct tr_sql_stmt {
	struct tr_sql *db;
};

/* Records an error on db and returns code. */
int tr_sql_fail(struct tr_sql *db, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tr_sql_ok(struct tr_sql *db);

#endif
