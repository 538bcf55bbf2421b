/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sql.h - the SQL layer: one small interface over the database engine
 * that holds the store, so that no subsystem names SQLite or libpq.
 *
 * Two drivers implement it: SQLite (sql_sqlite.c, the embedded default for
 * one manager) and PostgreSQL through libpq (sql_pg.c, for a cluster of
 * managers).  A subsystem with tables of its own gets the connection with
 * tr_store_sql() and writes SQL that both engines read:
 *   - parameters are written ?N (1-based) or ?; the PostgreSQL driver
 *     renumbers them $N (never inside a quoted literal);
 *   - upserts are INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE SET,
 *     never INSERT OR IGNORE / OR REPLACE;
 *   - RETURNING, CTEs, window functions, CAST(x AS INTEGER) are portable;
 *     a new row's id comes back with RETURNING id (there is no
 *     last-insert-rowid);
 *   - a parameter gets its type from its first use: where that use gives
 *     none (?2 IS NULL OR name = ?2), write CAST(?2 AS TEXT) IS NULL (or
 *     BIGINT); the PostgreSQL driver otherwise declares it text, at the
 *     cost of a second round trip at each prepare;
 *   - the time comes from C (tr_sql_now()), bound as a parameter, never
 *     from strftime() or now() in the SQL;
 *   - where the engines truly differ (JSON builders, DDL), the caller asks
 *     tr_sql_backend() and passes the right text: tr_sql_pick(db, a, b).
 *
 * The calls mirror SQLite's own shape so that converting a caller is
 * mechanical: prepare, bind, step until TR_SQL_DONE, read columns, reset
 * or finalize.  Errors: tr_sql_step() and tr_sql_exec() return a negative
 * TRELLIS_E_* code (CONFLICT for a unique or primary key violation,
 * UNAVAILABLE when the server cannot be reached, BUSY when locked, IO for
 * anything else) and tr_sql_errmsg() says why.
 *
 * Threads: a connection belongs to one thread at a time, like a
 * struct tr_store (which owns it).
 */
#ifndef TRELLIS_CORE_STORE_SQL_H
#define TRELLIS_CORE_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

struct tr_sql;      /* a connection */
struct tr_sql_stmt; /* a prepared statement of one connection */

enum tr_sql_backend {
	TR_SQL_SQLITE = 1,
	TR_SQL_POSTGRESQL = 2,
};

/* What tr_sql_step() returns besides a negative TRELLIS_E_* code. */
#define TR_SQL_DONE 0 /* the statement ran to its end */
#define TR_SQL_ROW 1  /* a result row is ready to read */

/* The column types tr_sql_column_type() reports. */
enum tr_sql_type {
	TR_SQL_NULL = 0,
	TR_SQL_INTEGER,
	TR_SQL_FLOAT,
	TR_SQL_TEXT,
};

enum tr_sql_backend tr_sql_backend(const struct tr_sql *db);
/* a for SQLite, b for PostgreSQL: for the few texts that differ. */
const char *tr_sql_pick(const struct tr_sql *db, const char *sqlite,
			const char *postgresql);

/* The last error of this connection, for messages: never NULL. */
const char *tr_sql_errmsg(const struct tr_sql *db);
/* The code of the last error: a negative TRELLIS_E_* (0: none). */
int tr_sql_errcode(const struct tr_sql *db);
/* 1 when the last error (a CONFLICT) was a unique or primary key
 * violation rather than another constraint (check, not null, foreign
 * key). */
int tr_sql_unique_violation(const struct tr_sql *db);

/* Runs one or more statements without parameters or results (DDL,
 * SAVEPOINT, BEGIN...).  0 or a negative TRELLIS_E_* code. */
int tr_sql_exec(struct tr_sql *db, const char *sql);

/* Prepares one statement.  0, or a negative code with the reason in
 * tr_sql_errmsg().  A persistent statement is kept by the caller for the
 * connection's lifetime (the driver may cache its plan). */
int tr_sql_prepare(struct tr_sql *db, const char *sql,
		   struct tr_sql_stmt **out);
int tr_sql_prepare_persistent(struct tr_sql *db, const char *sql,
			      struct tr_sql_stmt **out);
/* NULL is a no-op. */
void tr_sql_finalize(struct tr_sql_stmt *st);
/* Back to before the first step, bindings kept. */
void tr_sql_reset(struct tr_sql_stmt *st);
void tr_sql_clear_bindings(struct tr_sql_stmt *st);

/* Parameters are 1-based.  tr_sql_bind_text() keeps the pointer: the text
 * must stay unchanged until the statement is reset or finalized (SQLite's
 * SQLITE_STATIC); tr_sql_bind_text_copy() copies it.  A NULL text binds
 * SQL NULL.  0 or a negative code (a bad index is INVALID_ARG). */
int tr_sql_bind_text(struct tr_sql_stmt *st, int i, const char *v);
int tr_sql_bind_text_copy(struct tr_sql_stmt *st, int i, const char *v);
int tr_sql_bind_int64(struct tr_sql_stmt *st, int i, int64_t v);
int tr_sql_bind_double(struct tr_sql_stmt *st, int i, double v);
int tr_sql_bind_null(struct tr_sql_stmt *st, int i);

/* TR_SQL_ROW, TR_SQL_DONE or a negative TRELLIS_E_* code. */
int tr_sql_step(struct tr_sql_stmt *st);

/* Columns of the current row, 0-based.  Text is valid until the next
 * step, reset or finalize; NULL for SQL NULL.  Integers of a NULL are 0. */
int tr_sql_column_count(struct tr_sql_stmt *st);
const char *tr_sql_column_name(struct tr_sql_stmt *st, int i);
enum tr_sql_type tr_sql_column_type(struct tr_sql_stmt *st, int i);
int64_t tr_sql_column_int64(struct tr_sql_stmt *st, int i);
double tr_sql_column_double(struct tr_sql_stmt *st, int i);
const char *tr_sql_column_text(struct tr_sql_stmt *st, int i);
size_t tr_sql_column_bytes(struct tr_sql_stmt *st, int i);

/* Rows changed by the last INSERT, UPDATE or DELETE of this connection. */
int64_t tr_sql_changes(const struct tr_sql *db);
/* 1 when no transaction is open on this connection. */
int tr_sql_autocommit(const struct tr_sql *db);

/* Calls fn(arg) after each commit of this connection: a transaction's
 * COMMIT, or a write outside any transaction.  The PostgreSQL driver
 * implements it; SQLite connections count commits in their WAL hook
 * (snapshot.c) instead.  NULL fn: none. */
void tr_sql_on_commit(struct tr_sql *db, void (*fn)(void *arg), void *arg);

/* Unix seconds, as the store records every time. */
int64_t tr_sql_now(void);

/* ---- connections (the store opens them; sql_sqlite.c, sql_pg.c) ---- */

/* Wraps an open SQLite handle (a sqlite3 *; the store keeps owning it). */
struct tr_sql *tr_sql_wrap_sqlite(void *sqlite3_handle);
/* Frees the wrapper, not the handle it wraps.  NULL is a no-op. */
void tr_sql_unwrap(struct tr_sql *db);
/* Connects to a PostgreSQL server (dsn: a libpq connection string,
 * "host=/run/pg dbname=trellis" or "postgresql://..."): NULL with the
 * reason in err.  A connection lost later is re-established at the next
 * call; the calls in between fail with UNAVAILABLE. */
struct tr_sql *tr_sql_open_pg(const char *dsn, char *err, size_t errlen);
/* Closes a connection tr_sql_open_pg() opened (a wrapper: unwraps).
 * NULL is a no-op. */
void tr_sql_close(struct tr_sql *db);

#endif
