/* SPDX-License-Identifier: Apache-2.0 */
/* store_int.h - what store.c and inventory.c share; not for callers. */
#ifndef TRELLIS_CORE_STORE_INT_H
#define TRELLIS_CORE_STORE_INT_H

#include "sql.h"
#include "store.h"

#define TR_STMT_CACHE 128

struct tr_stmt {
	char *sql;
	struct tr_sql_stmt *st;
	struct tr_stmt *next;
};

struct tr_store {
	sqlite3 *db;        /* SQLite; NULL on PostgreSQL */
	struct tr_sql *sql; /* the connection, through the SQL layer (sql.h) */
	int pg;             /* the PostgreSQL backend */
	char manager[256];  /* lead.c: this manager's name */
	int readonly;
	int version;
	int tx_depth;
	struct tr_stmt *cache[TR_STMT_CACHE];
	/* snapshot.c: a read transaction kept between reads */
	int snap_held;
	unsigned long snap_gen;  /* tr_store_commits() when it began */
	long long snap_since;    /* ms */
};

/* snapshot.c: counts the commits of a writable connection. */
void tr_store_count_commits(struct tr_store *s);

/* ---- the kind descriptors (inventory.c) ---- */

enum ftype { F_TEXT = 1, F_INT, F_BOOL, F_JSON, F_REF };

struct field {
	const char *name; /* JSON */
	const char *col;  /* SQL column */
	enum ftype type;
	enum tr_kind ref; /* F_REF: the referenced kind, stored as its id */
};

struct child {
	const char *kind;  /* label for messages */
	const char *sql;   /* names of children: ?1 = the parent's id */
};

struct filter {
	const char *field;
	const char *expr; /* SQL expression compared with ?N */
};

struct kdesc {
	const char *name;
	const char *table;
	int parent;              /* enum tr_kind, or -1 */
	int parent_optional;
	const char *parent_col;
	const char *key;         /* the identifying field ("name", "uuid") */
	const struct field *fields; /* writable, NULL-terminated */
	const char *select;      /* alias "a" for the kind's table */
	const char *resolve;     /* (id, path); ?1 name ?2 parent ?3 grandparent */
	int depth;               /* path components a reference may have */
	const char *hint;        /* the full reference form, for messages */
	const struct child *children; /* NULL-terminated */
	const struct filter *filters; /* NULL-terminated */
	const char *doc;         /* a column holding each row's JSON, or NULL */
};

extern const struct kdesc tr_store_kinds[TR_KIND__COUNT];
/* The descriptor of kind, or NULL with INVALID_ARG in call. */
const struct kdesc *tr_store_desc(enum tr_kind kind, trellis_call_t *call);
/* The row id of the object ref names, or a negative code. */
int64_t tr_store_resolve(struct tr_store *s, enum tr_kind kind,
			 const char *ref, trellis_call_t *call);
/* The statement select + " WHERE a.id = ?1" stepped onto its row (the
 * caller reads it, then tr_sql_reset()s it), or NULL with NOTFOUND or
 * the SQL error in call. */
struct tr_sql_stmt *tr_store_row_by_id(struct tr_store *s,
				       const struct kdesc *k,
				       const char *select, int64_t id,
				       trellis_call_t *call);
/* A result row as a JSON object (booleans and spec converted). */
json_t *tr_store_row_json(struct tr_sql_stmt *st);

/* A prepared statement for sql, reset, from the cache (owned by it).
 * Never hold one across a call that may use the same sql. */
struct tr_sql_stmt *tr_store_stmt(struct tr_store *s, const char *sql,
				  trellis_call_t *call);
/* The PostgreSQL text of a migration (m->pg, or m->sql translated:
 * schema.c): a new string. */
char *tr_store_pg_ddl(const struct tr_migration *m);
/* Maps the connection's last error to a code and sets it in call. */
int tr_store_sql_error(struct tr_store *s, trellis_call_t *call,
		       const char *what);

#endif
