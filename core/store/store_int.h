/* store_int.h - what store.c and inventory.c share; not for callers. */
#ifndef TRELLIS_CORE_STORE_INT_H
#define TRELLIS_CORE_STORE_INT_H

#include "store.h"

#define TR_STMT_CACHE 128

struct tr_stmt {
	char *sql;
	sqlite3_stmt *st;
	struct tr_stmt *next;
};

struct tr_store {
	sqlite3 *db;
	int readonly;
	int version;
	int tx_depth;
	struct tr_stmt *cache[TR_STMT_CACHE];
};

/* A prepared statement for sql, reset, from the cache (owned by it).
 * Never hold one across a call that may use the same sql. */
sqlite3_stmt *tr_store_stmt(struct tr_store *s, const char *sql,
			    trellis_call_t *call);
/* Maps the last SQLite error to a code and sets it in call. */
int tr_store_sql_error(struct tr_store *s, trellis_call_t *call,
		       const char *what);

#endif
