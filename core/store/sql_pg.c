/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sql_pg.c - the SQL layer's PostgreSQL driver, through libpq.
 *
 * Statements are sent with the extended protocol, every parameter as text
 * (integers and doubles rendered by us) and its type left for the server
 * to infer; results come back as text and are read column by column.  A
 * statement runs at its first tr_sql_step(), which gets the whole result
 * (no single-row mode: the store's pages are small); later steps walk
 * its rows.  A persistent statement is prepared on the server once, under
 * a name of this connection ("trs1", "trs2"...), and prepared again after
 * a reconnection.
 *
 * The ?N and ? parameters of sql.h are renumbered $N, outside quoted
 * literals, quoted identifiers and comments.
 *
 * Errors: SQLSTATE class 23 (integrity constraints) is CONFLICT, like
 * SQLite's SQLITE_CONSTRAINT (tr_sql_unique_violation() tells unique and
 * primary keys apart); serialization failures, deadlocks and lock
 * timeouts are BUSY; a lost connection (class 08, or the connection
 * gone bad) is UNAVAILABLE, and the next call tries to reconnect once
 * (unless a transaction was open: then everything is UNAVAILABLE until
 * the caller's ROLLBACK, so no write runs outside the transaction it was
 * meant for);
 * anything else is IO.  Note that on PostgreSQL an error inside a
 * transaction aborts it: the caller must roll back (or use savepoints).
 * A SAVEPOINT outside a transaction begins one and its RELEASE commits
 * it, as in SQLite (tr_sql_exec() only).
 */
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <trellis/error.h>

#include "../util/alloc.h"
#include "sql_int.h"

struct pg {
	struct tr_sql base;
	PGconn *c;
	int64_t changes;
	unsigned next_name; /* of persistent statements */
	unsigned gen;	    /* bumped at every reconnection */
	char sp_tx[64];	    /* the savepoint that began the transaction */
	int in_tx;	    /* a transaction was open after the last call */
	int lost_tx;	    /* the connection went with one: until ROLLBACK */
};

struct pg_stmt {
	struct tr_sql_stmt base;
	char *sql; /* with $N */
	int nparams;
	char name[24];	   /* persistent: the server-side name, else "" */
	unsigned prepared; /* 1 + the connection generation it was made in */
	const char **vals; /* nparams: the parameters' text, NULL: SQL NULL */
	char **own;	   /* nparams: what we allocated for vals */
	Oid *types;	   /* nparams, or NULL: each one's type, 0: inferred */
	int untyped;	   /* a parameter may not get a type from the text */
	PGresult *res;	   /* once run */
	int row;	   /* the current row of res, -1 before the first */
};

#define PG(db) ((struct pg *)(db))
#define PST(s) ((struct pg_stmt *)(s))

/* ---- ?N -> $N ---- */

/* What renumber() learns of each parameter. */
#define P_USED 1    /* it appears in the text */
#define P_UNTYPED 2 /* its first use is "?N IS ...", which types nothing */
#define MAX_PARAMS 256

/* The text of sql with its parameters renumbered; *nparams the highest
 * number, use[N-1] what renumber learnt of ?N (MAX_PARAMS of them).  A
 * new string. */
static char *renumber(const char *sql, int *nparams, unsigned char *use)
{
	size_t n = strlen(sql);
	/* "?" becomes at most "$NNNNN": room for every char to grow 6x is
	 * too much; count the ?s first. */
	size_t q = 0;
	for (const char *p = sql; *p; p++)
		q += *p == '?';
	char *out = tr_xmalloc(n + q * 8 + 1);
	size_t o = 0;
	int max = 0;
	const char *p = sql;
	while (*p) {
		char c = *p;
		if (c == '\'' || c == '"') {
			/* a literal or identifier; a doubled quote escapes */
			out[o++] = *p++;
			while (*p) {
				if (*p == c && p[1] == c) {
					out[o++] = *p++;
					out[o++] = *p++;
					continue;
				}
				if (*p == c)
					break;
				out[o++] = *p++;
			}
			if (*p)
				out[o++] = *p++;
			continue;
		}
		if (c == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				out[o++] = *p++;
			continue;
		}
		if (c == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			size_t len = end ? (size_t)(end + 2 - p) : strlen(p);
			memcpy(out + o, p, len);
			o += len;
			p += len;
			continue;
		}
		if (c == '?') {
			p++;
			int num;
			if (*p >= '0' && *p <= '9') {
				num = 0;
				while (*p >= '0' && *p <= '9' && num < 100000)
					num = num * 10 + (*p++ - '0');
			} else {
				/* SQLite: one more than the largest so far */
				num = max + 1;
			}
			if (num > max)
				max = num;
			if (num >= 1 && num <= MAX_PARAMS) {
				const char *nx = p;
				while (*nx == ' ' || *nx == '\n' || *nx == '\t')
					nx++;
				if (!(use[num - 1] & P_USED) &&
				    strncasecmp(nx, "IS", 2) == 0 &&
				    !isalnum((unsigned char)nx[2]))
					use[num - 1] |= P_UNTYPED;
				use[num - 1] |= P_USED;
			}
			o += (size_t)sprintf(out + o, "$%d", num);
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	*nparams = max;
	return out;
}

/* ---- errors ---- */

static int pg_code(const char *state, PGconn *c)
{
	if (PQstatus(c) == CONNECTION_BAD ||
	    (state && strncmp(state, "08", 2) == 0))
		return TRELLIS_E_UNAVAILABLE;
	if (!state)
		return TRELLIS_E_IO;
	if (strncmp(state, "23", 2) == 0)
		return TRELLIS_E_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return TRELLIS_E_BUSY;
	if (strncmp(state, "53", 2) == 0) /* insufficient resources */
		return TRELLIS_E_BUSY;
	if (strcmp(state, "42501") == 0 || strcmp(state, "25006") == 0)
		return TRELLIS_E_PERMISSION;
	if (strcmp(state, "22003") == 0 || strcmp(state, "22P02") == 0 ||
	    strcmp(state, "42P18") == 0)
		return TRELLIS_E_INVALID_ARG;
	return TRELLIS_E_IO;
}

/* The message of res (or of the connection), on one line. */
static void one_line(char *msg)
{
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static int pg_fail_res(struct tr_sql *db, PGresult *res)
{
	struct pg *g = PG(db);
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int code = pg_code(state, g->c);
	/* the server's message without its "ERROR:  " and position */
	const char *m =
	    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	/* the detail, but not a unique key's, which repeats the values
	 * (they might be what should not be logged) */
	const char *detail =
	    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (state && strncmp(state, "23505", 5) == 0)
		detail = NULL;
	if (!m || !*m)
		m = PQerrorMessage(g->c);
	if (code == TRELLIS_E_UNAVAILABLE)
		tr_sql_fail(db, code,
			    "the PostgreSQL server cannot be reached: %s",
			    m && *m ? m : "connection lost");
	else
		tr_sql_fail(db, code, "%s%s%s%s",
			    m && *m ? m : "PostgreSQL error",
			    detail ? " (" : "", detail ? detail : "",
			    detail ? ")" : "");
	one_line(db->msg);
	db->unique = state && (strcmp(state, "23505") == 0 ||
			       strcmp(state, "23P01") == 0);
	return code;
}

/* Before talking to the server: a connection gone bad is reset once. */
static int pg_ready(struct tr_sql *db)
{
	struct pg *g = PG(db);
	/* The transaction went with the connection: the caller's writes
	 * since its BEGIN are gone, and the ones after must not run on their
	 * own (autocommit) as if they were still in it. */
	if (g->lost_tx) {
		tr_sql_fail(db, TRELLIS_E_UNAVAILABLE,
			    "the connection to the PostgreSQL server was lost "
			    "inside a transaction, which is gone: roll back");
		return TRELLIS_E_UNAVAILABLE;
	}
	if (PQstatus(g->c) == CONNECTION_OK)
		return 0;
	PQreset(g->c);
	g->gen++;
	if (PQstatus(g->c) == CONNECTION_OK)
		return 0;
	tr_sql_fail(db, TRELLIS_E_UNAVAILABLE,
		    "the PostgreSQL server cannot be reached: %s",
		    PQerrorMessage(g->c));
	one_line(db->msg);
	return TRELLIS_E_UNAVAILABLE;
}

/* After each call: whether a transaction is open, and whether the
 * connection was lost with one. */
static void note_tx(struct pg *g)
{
	if (PQstatus(g->c) != CONNECTION_OK) {
		if (g->in_tx)
			g->lost_tx = 1;
		g->in_tx = 0;
		return;
	}
	PGTransactionStatusType t = PQtransactionStatus(g->c);
	g->in_tx = t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

/* A plain ROLLBACK (not ROLLBACK TO). */
static int is_rollback(const char *sql)
{
	while (isspace((unsigned char)*sql))
		sql++;
	if (strncasecmp(sql, "ROLLBACK", 8) != 0)
		return 0;
	sql += 8;
	while (isspace((unsigned char)*sql) || *sql == ';')
		sql++;
	return *sql == '\0';
}

/* ---- the driver ---- */

/* INSERT, UPDATE, DELETE and MERGE change rows: SQLite's changes() counts
 * only those. */
static int changes_rows(PGresult *res)
{
	const char *cmd = PQcmdStatus(res);
	return strncmp(cmd, "INSERT", 6) == 0 ||
	       strncmp(cmd, "UPDATE", 6) == 0 ||
	       strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0;
}

/* After a statement's success: a commit, when it wrote (or committed)
 * and no transaction is open any more. */
static void after(struct pg *g, PGresult *res)
{
	if (!g->base.on_commit || PQtransactionStatus(g->c) != PQTRANS_IDLE)
		return;
	const char *cmd = PQcmdStatus(res);
	if (changes_rows(res) || strncmp(cmd, "COMMIT", 6) == 0 ||
	    strncmp(cmd, "RELEASE", 7) == 0 || strncmp(cmd, "CREATE", 6) == 0 ||
	    strncmp(cmd, "ALTER", 5) == 0 || strncmp(cmd, "DROP", 4) == 0)
		g->base.on_commit(g->base.on_commit_arg);
}

/* The savepoint name of "SAVEPOINT name" (or, with release set,
 * "RELEASE [SAVEPOINT] name") alone in sql, into name; 0 when sql is not
 * that. */
static int savepoint_stmt(const char *sql, int release, char *name, size_t len)
{
	while (isspace((unsigned char)*sql))
		sql++;
	const char *kw = release ? "RELEASE" : "SAVEPOINT";
	size_t n = strlen(kw);
	if (strncasecmp(sql, kw, n) != 0 || !isspace((unsigned char)sql[n]))
		return 0;
	sql += n;
	while (isspace((unsigned char)*sql))
		sql++;
	if (release && strncasecmp(sql, "SAVEPOINT", 9) == 0 &&
	    isspace((unsigned char)sql[9])) {
		sql += 9;
		while (isspace((unsigned char)*sql))
			sql++;
	}
	size_t i = 0;
	while ((isalnum((unsigned char)sql[i]) || sql[i] == '_') &&
	       i + 1 < len) {
		name[i] = sql[i];
		i++;
	}
	name[i] = '\0';
	const char *rest = sql + i;
	while (isspace((unsigned char)*rest) || *rest == ';')
		rest++;
	return i > 0 && *rest == '\0';
}

static int exec_one(struct tr_sql *db, const char *sql);

static int pg_exec(struct tr_sql *db, const char *sql)
{
	struct pg *g = PG(db);
	if (g->lost_tx && is_rollback(sql)) {
		/* rolled back already, by the server, when the session went */
		g->lost_tx = 0;
		int rc = pg_ready(db);
		if (rc == 0)
			tr_sql_ok(db);
		note_tx(g);
		return rc;
	}
	int rc = exec_one(db, sql);
	note_tx(g);
	return rc;
}

static int exec_one(struct tr_sql *db, const char *sql)
{
	struct pg *g = PG(db);
	int rc = pg_ready(db);
	if (rc < 0)
		return rc;
	/* SQLite's savepoints outside a transaction: SAVEPOINT begins one,
	 * and RELEASE of that savepoint commits it.  PostgreSQL refuses a
	 * savepoint outside a transaction, so the driver does the same. */
	char name[64], buf[96];
	if (PQtransactionStatus(g->c) == PQTRANS_IDLE)
		g->sp_tx[0] = '\0';
	if (PQtransactionStatus(g->c) == PQTRANS_IDLE &&
	    savepoint_stmt(sql, 0, name, sizeof name)) {
		snprintf(buf, sizeof buf, "BEGIN; SAVEPOINT %s", name);
		snprintf(g->sp_tx, sizeof g->sp_tx, "%s", name);
		sql = buf;
	} else if (g->sp_tx[0] && savepoint_stmt(sql, 1, name, sizeof name) &&
		   strcasecmp(name, g->sp_tx) == 0) {
		g->sp_tx[0] = '\0';
		sql = "COMMIT";
	}
	PGresult *res = PQexec(g->c, sql);
	ExecStatusType s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK &&
	    s != PGRES_EMPTY_QUERY) {
		rc = pg_fail_res(db, res);
		PQclear(res);
		return rc;
	}
	if (changes_rows(res))
		g->changes = strtoll(PQcmdTuples(res), NULL, 10);
	after(g, res);
	PQclear(res);
	tr_sql_ok(db);
	return 0;
}

static int pg_prepare(struct tr_sql *db, const char *sql, int persistent,
		      struct tr_sql_stmt **out)
{
	struct pg_stmt *st = tr_xcalloc(1, sizeof *st);
	st->base.db = db;
	unsigned char use[MAX_PARAMS] = {0};
	st->sql = renumber(sql, &st->nparams, use);
	if (st->nparams > MAX_PARAMS) {
		free(st->sql);
		free(st);
		*out = NULL;
		return tr_sql_fail(db, TRELLIS_E_INVALID_ARG,
				   "more than %d parameters", MAX_PARAMS);
	}
	if (st->nparams > 0) {
		st->vals = tr_xcalloc((size_t)st->nparams, sizeof *st->vals);
		st->own = tr_xcalloc((size_t)st->nparams, sizeof *st->own);
	}
	/* A parameter the text never names (a list query's optional
	 * filters, ?2 and ?3 when there is no parent and no filter) has no
	 * type the server could infer: text, which it never reads. */
	for (int i = 0; i < st->nparams; i++) {
		if (!(use[i] & P_USED)) {
			if (!st->types)
				st->types = tr_xcalloc((size_t)st->nparams,
						       sizeof *st->types);
			st->types[i] = 25; /* text */
		}
		st->untyped |= use[i] & P_UNTYPED;
	}
	if (persistent)
		snprintf(st->name, sizeof st->name, "trs%u",
			 ++PG(db)->next_name);
	st->row = -1;
	*out = &st->base;
	tr_sql_ok(db);
	return 0;
}

static void pg_reset(struct tr_sql_stmt *s)
{
	struct pg_stmt *st = PST(s);
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
}

static void pg_clear_bindings(struct tr_sql_stmt *s)
{
	struct pg_stmt *st = PST(s);
	for (int i = 0; i < st->nparams; i++) {
		free(st->own[i]);
		st->own[i] = NULL;
		st->vals[i] = NULL;
	}
}

static void pg_finalize(struct tr_sql_stmt *s)
{
	struct pg_stmt *st = PST(s);
	struct pg *g = PG(s->db);
	pg_reset(s);
	pg_clear_bindings(s);
	if (st->prepared == g->gen + 1 && PQstatus(g->c) == CONNECTION_OK &&
	    PQtransactionStatus(g->c) != PQTRANS_INERROR) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
		PQclear(PQexec(g->c, sql));
	}
	free(st->vals);
	free(st->own);
	free(st->types);
	free(st->sql);
	free(st);
}

static int pg_bind(struct tr_sql_stmt *s, int i, enum tr_sql_type type,
		   const char *text, int copy, int64_t iv, double dv)
{
	struct pg_stmt *st = PST(s);
	if (i < 1 || i > st->nparams)
		return tr_sql_fail(s->db, TRELLIS_E_INVALID_ARG,
				   "parameter %d out of range (1 to %d)", i,
				   st->nparams);
	i--;
	free(st->own[i]);
	st->own[i] = NULL;
	char num[40];
	switch (type) {
	case TR_SQL_TEXT:
		if (copy)
			st->vals[i] = st->own[i] = tr_xstrdup(text);
		else
			st->vals[i] = text;
		break;
	case TR_SQL_INTEGER:
		snprintf(num, sizeof num, "%" PRId64, iv);
		st->vals[i] = st->own[i] = tr_xstrdup(num);
		break;
	case TR_SQL_FLOAT:
		if (isnan(dv))
			snprintf(num, sizeof num, "NaN");
		else if (isinf(dv))
			snprintf(num, sizeof num, "%sInfinity",
				 dv < 0 ? "-" : "");
		else
			snprintf(num, sizeof num, "%.17g", dv);
		st->vals[i] = st->own[i] = tr_xstrdup(num);
		break;
	default:
		st->vals[i] = NULL;
		break;
	}
	return 0;
}

/* A parameter whose type the server cannot infer ("?2 IS NULL OR
 * name = ?2" uses it first where any type would do) is declared text,
 * and the statement sent again: 1 when that was the error of res. */
static int untyped_param(struct pg_stmt *st, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!state ||
	    (strcmp(state, "42P18") != 0 && strcmp(state, "42P08") != 0) || !m)
		return 0;
	/* not "inconsistent types deduced for parameter $N" (42P08 too):
	 * the caller's SQL must say which with a CAST */
	if (strncmp(m, "could not determine data type of parameter", 42) != 0)
		return 0;
	const char *d = strchr(m, '$');
	int n = d ? atoi(d + 1) : 0;
	if (n < 1 || n > st->nparams)
		return 0;
	if (!st->types)
		st->types = tr_xcalloc((size_t)st->nparams, sizeof *st->types);
	if (st->types[n - 1])
		return 0;
	st->types[n - 1] = 25; /* text */
	return 1;
}

/* Sends the statement: prepared once per connection when persistent,
 * else with its parameters in one round trip. */
static PGresult *pg_send(struct pg_stmt *st)
{
	struct pg *g = PG(st->base.db);
	if (!st->name[0])
		return PQexecParams(g->c, st->sql, st->nparams, st->types,
				    st->vals, NULL, NULL, 0);
	if (st->prepared != g->gen + 1) {
		PGresult *res =
		    PQprepare(g->c, st->name, st->sql, st->nparams, st->types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			/* a name left over from before a reconnection we did
			 * not see: the next try takes a new one */
			snprintf(st->name, sizeof st->name, "trs%u",
				 ++g->next_name);
			return res;
		}
		PQclear(res);
		st->prepared = g->gen + 1;
	}
	return PQexecPrepared(g->c, st->name, st->nparams, st->vals, NULL, NULL,
			      0);
}

static int failed(PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);
	return s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK &&
	       s != PGRES_EMPTY_QUERY;
}

static int pg_run(struct pg_stmt *st)
{
	struct tr_sql *db = st->base.db;
	struct pg *g = PG(db);
	int rc = pg_ready(db);
	if (rc < 0)
		return rc;
	/* A statement whose parameter may have no type ("?2 IS NULL OR
	 * name = ?2") is tried under a savepoint inside a transaction: the
	 * server's complaint would abort the transaction.  It is sent again
	 * with that parameter typed text. */
	int guard = st->untyped && PQtransactionStatus(g->c) == PQTRANS_INTRANS;
	if (guard)
		PQclear(PQexec(g->c, "SAVEPOINT tr_sql_types"));
	PGresult *res;
	for (;;) {
		res = pg_send(st);
		if (!failed(res) || !untyped_param(st, res))
			break;
		PQclear(res);
		if (guard)
			PQclear(
			    PQexec(g->c, "ROLLBACK TO SAVEPOINT tr_sql_types"));
	}
	if (guard) {
		if (failed(res))
			PQclear(
			    PQexec(g->c, "ROLLBACK TO SAVEPOINT tr_sql_types"));
		PQclear(PQexec(g->c, "RELEASE SAVEPOINT tr_sql_types"));
	}
	if (failed(res)) {
		rc = pg_fail_res(db, res);
		PQclear(res);
		if (PQstatus(g->c) == CONNECTION_BAD)
			st->prepared = 0;
		return rc;
	}
	if (st->name[0])
		st->untyped = 0; /* prepared: typed for this connection */
	if (changes_rows(res))
		g->changes = strtoll(PQcmdTuples(res), NULL, 10);
	after(g, res);
	st->res = res;
	st->row = -1;
	return 0;
}

static int pg_step(struct tr_sql_stmt *s)
{
	struct pg_stmt *st = PST(s);
	if (!st->res) {
		int rc = pg_run(st);
		note_tx(PG(s->db));
		if (rc < 0)
			return rc;
	}
	if (st->row + 1 < PQntuples(st->res)) {
		st->row++;
		return TR_SQL_ROW;
	}
	st->row = PQntuples(st->res);
	tr_sql_ok(s->db);
	return TR_SQL_DONE;
}

static int have_row(struct pg_stmt *st, int i)
{
	return st->res && st->row >= 0 && st->row < PQntuples(st->res) &&
	       i >= 0 && i < PQnfields(st->res);
}

static int pg_column_count(struct tr_sql_stmt *s)
{
	struct pg_stmt *st = PST(s);
	return st->res ? PQnfields(st->res) : 0;
}

static const char *pg_column_name(struct tr_sql_stmt *s, int i)
{
	struct pg_stmt *st = PST(s);
	if (!st->res || i < 0 || i >= PQnfields(st->res))
		return NULL;
	return PQfname(st->res, i);
}

/* Type OIDs (src/include/catalog/pg_type.dat): stable across versions. */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

static enum tr_sql_type pg_column_type(struct tr_sql_stmt *s, int i)
{
	struct pg_stmt *st = PST(s);
	if (!have_row(st, i) || PQgetisnull(st->res, st->row, i))
		return TR_SQL_NULL;
	switch (PQftype(st->res, i)) {
	case OID_BOOL:
	case OID_INT8:
	case OID_INT2:
	case OID_INT4:
	case OID_OID:
		return TR_SQL_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return TR_SQL_FLOAT;
	case OID_NUMERIC: {
		/* an integral numeric (sum() of bigints) is an integer */
		const char *v = PQgetvalue(st->res, st->row, i);
		return strpbrk(v, ".eEN") ? TR_SQL_FLOAT : TR_SQL_INTEGER;
	}
	default:
		return TR_SQL_TEXT;
	}
}

static const char *pg_column_text(struct tr_sql_stmt *s, int i)
{
	struct pg_stmt *st = PST(s);
	if (!have_row(st, i) || PQgetisnull(st->res, st->row, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

static int64_t pg_column_int64(struct tr_sql_stmt *s, int i)
{
	const char *v = pg_column_text(s, i);
	if (!v)
		return 0;
	if (PQftype(PST(s)->res, i) == OID_BOOL)
		return v[0] == 't';
	if (strpbrk(v, ".eE"))
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double pg_column_double(struct tr_sql_stmt *s, int i)
{
	const char *v = pg_column_text(s, i);
	if (!v)
		return 0;
	if (PQftype(PST(s)->res, i) == OID_BOOL)
		return v[0] == 't';
	return strtod(v, NULL);
}

static size_t pg_column_bytes(struct tr_sql_stmt *s, int i)
{
	struct pg_stmt *st = PST(s);
	if (!have_row(st, i) || PQgetisnull(st->res, st->row, i))
		return 0;
	return (size_t)PQgetlength(st->res, st->row, i);
}

static int64_t pg_changes(const struct tr_sql *db)
{
	return ((const struct pg *)db)->changes;
}

static int pg_autocommit(const struct tr_sql *db)
{
	if (((const struct pg *)db)->lost_tx)
		return 0; /* until the caller's ROLLBACK */
	PGTransactionStatusType t =
	    PQtransactionStatus(((const struct pg *)db)->c);
	return t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN;
}

static const struct tr_sql_driver pg_driver = {
    .backend = TR_SQL_POSTGRESQL,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .clear_bindings = pg_clear_bindings,
    .bind = pg_bind,
    .step = pg_step,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_bytes = pg_column_bytes,
    .changes = pg_changes,
    .autocommit = pg_autocommit,
};

/* The server's notices ("relation already exists, skipping") are not
 * errors: nobody needs them on stderr. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

struct tr_sql *tr_sql_open_pg(const char *dsn, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(dsn);
	if (!c) {
		snprintf(err, errlen, "PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen,
			 "the PostgreSQL server cannot be reached: %s",
			 PQerrorMessage(c));
		size_t n = strlen(err);
		while (n && err[n - 1] == '\n')
			err[--n] = '\0';
		for (char *p = err; *p; p++)
			if (*p == '\n')
				*p = ' ';
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	struct pg *g = tr_xcalloc(1, sizeof *g);
	g->base.drv = &pg_driver;
	g->c = c;
	/* Unix seconds and text in UTF-8 whatever the server's defaults. */
	PQclear(PQexec(c, "SET client_encoding = 'UTF8'"));
	return &g->base;
}

void tr_sql_close(struct tr_sql *db)
{
	if (!db)
		return;
	if (db->drv != &pg_driver) {
		tr_sql_unwrap(db);
		return;
	}
	PQfinish(PG(db)->c);
	free(db);
}
