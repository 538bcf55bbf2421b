/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - opening the database (SQLite, or PostgreSQL for a cluster of
 * managers), migrations, transactions and the statement cache.  The
 * inventory verbs are in inventory.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "store_int.h"

/* Runs sql (no parameters): 0, or -1 with the reason in err. */
static int exec_sql(struct tr_sql *db, const char *sql, char *err,
		    size_t errlen)
{
	if (tr_sql_exec(db, sql) < 0) {
		snprintf(err, errlen, "%s", tr_sql_errmsg(db));
		return -1;
	}
	return 0;
}

static int migration_applied(struct tr_sql *db, const char *id, int *applied)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "SELECT 1 FROM schema_migrations WHERE id = ?1",
			   &st) < 0)
		return -1;
	tr_sql_bind_text(st, 1, id);
	int rc = tr_sql_step(st);
	*applied = rc == TR_SQL_ROW;
	tr_sql_finalize(st);
	return rc >= 0 ? 0 : -1;
}

/* Refuses a database that a newer trellisd migrated: running old code on a
 * schema it does not know could corrupt it. */
static int check_known(struct tr_sql *db, char *err, size_t errlen)
{
	struct tr_sql_stmt *st = NULL;
	int ret = 0, rc;
	if (tr_sql_prepare(db, "SELECT id FROM schema_migrations", &st) < 0) {
		snprintf(err, errlen, "%s", tr_sql_errmsg(db));
		return -1;
	}
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		const char *id = tr_sql_column_text(st, 0);
		int known = 0;
		for (size_t i = 0; i < tr_n_migrations && !known; i++)
			known = id && strcmp(id, tr_migrations[i].id) == 0;
		if (!known) {
			snprintf(err, errlen,
				 "the database has migration '%s', which this "
				 "trellisd does not know (made by a newer "
				 "version?)",
				 id ? id : "?");
			ret = -1;
			break;
		}
	}
	if (rc < 0 && ret == 0) {
		snprintf(err, errlen, "%s", tr_sql_errmsg(db));
		ret = -1;
	}
	tr_sql_finalize(st);
	return ret;
}

/* Applies migration m in its own transaction and records it. */
static int apply(struct tr_store *s, const struct tr_migration *m, char *msg,
		 size_t msglen)
{
	struct tr_sql *db = s->sql;
	char *pg = s->pg ? tr_store_pg_ddl(m) : NULL;
	struct tr_sql_stmt *st = NULL;
	int rc = exec_sql(db, tr_sql_pick(db, "BEGIN IMMEDIATE", "BEGIN"), msg,
			  msglen);
	if (rc == 0)
		rc = exec_sql(db, pg ? pg : m->sql, msg, msglen);
	free(pg);
	if (rc == 0 &&
	    (tr_sql_prepare(db, "INSERT INTO schema_migrations (id, applied_at)"
				" VALUES (?1, ?2)",
			    &st) < 0 ||
	     tr_sql_bind_text(st, 1, m->id) < 0 ||
	     tr_sql_bind_int64(st, 2, tr_sql_now()) < 0 ||
	     tr_sql_step(st) < 0)) {
		snprintf(msg, msglen, "%s", tr_sql_errmsg(db));
		rc = -1;
	}
	tr_sql_finalize(st);
	if (rc == 0)
		rc = exec_sql(db, "COMMIT", msg, msglen);
	if (rc < 0 && !tr_sql_autocommit(db))
		tr_sql_exec(db, "ROLLBACK");
	return rc;
}

/* The advisory lock under which managers sharing one PostgreSQL database
 * migrate it, one at a time: the second waits for the first, then finds
 * every migration applied.  Any constant works; this one is "trellis"
 * in ASCII. */
#define TR_PG_MIGRATION_LOCK "7597104510133619"

static int migrate(struct tr_store *s, char *err, size_t errlen)
{
	char msg[400];
	struct tr_sql *db = s->sql;
	if (s->pg && exec_sql(db, "SELECT pg_advisory_lock("
				      TR_PG_MIGRATION_LOCK ")",
			      msg, sizeof msg) < 0) {
		snprintf(err, errlen, "the migration lock: %s", msg);
		return -1;
	}
	int ret = -1;
	if (exec_sql(db,
		     tr_sql_pick(db,
				 "CREATE TABLE IF NOT EXISTS schema_migrations ("
				 " id TEXT PRIMARY KEY,"
				 " applied_at INTEGER NOT NULL)",
				 "CREATE TABLE IF NOT EXISTS schema_migrations ("
				 " id TEXT PRIMARY KEY,"
				 " applied_at BIGINT NOT NULL)"),
		     msg, sizeof msg) < 0) {
		snprintf(err, errlen, "schema_migrations: %s", msg);
		goto out;
	}
	if (check_known(db, err, errlen) < 0)
		goto out;
	int version = 0;
	for (size_t i = 0; i < tr_n_migrations; i++) {
		const struct tr_migration *m = &tr_migrations[i];
		int applied = 0;
		if (migration_applied(db, m->id, &applied) < 0) {
			snprintf(err, errlen, "migration %s: %s", m->id,
				 tr_sql_errmsg(db));
			goto out;
		}
		if (!applied && apply(s, m, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "migration %s: %s", m->id, msg);
			goto out;
		}
		version++;
	}
	s->version = version;
	if (!s->pg) {
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
			 version);
		if (exec_sql(db, pragma, err, errlen) < 0)
			goto out;
	}
	ret = 0;
out:
	if (s->pg)
		tr_sql_exec(db, "SELECT pg_advisory_unlock(" TR_PG_MIGRATION_LOCK
				")");
	return ret;
}

/* Before SQLite's first use in the process: no allocation statistics,
 * which cost a process-wide mutex on every allocation of every
 * connection (the API's receive threads read side by side). */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

const char *tr_store_pg_dsn(const char *location)
{
	if (strncmp(location, "pg:", 3) == 0)
		return location + 3;
	if (strncmp(location, "postgresql://", 13) == 0 ||
	    strncmp(location, "postgres://", 11) == 0)
		return location;
	return NULL;
}

/* SQLite: opens the file at path, with its pragmas. */
static int open_sqlite(struct tr_store *s, const char *path, char *err,
		       size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_setup);
	char msg[512];
	int oflags = s->readonly
			     ? SQLITE_OPEN_READONLY
			     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	oflags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		return -1;
	}
	s->sql = tr_sql_wrap_sqlite(s->db);
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	/* WAL lets readers run beside the writer; synchronous=FULL makes a
	 * commit durable against power loss, not only against kill -9.
	 * Pages are read through a shared mapping (mmap_size) rather than a
	 * pread() per page that misses the connection's own cache, which a
	 * store larger than that cache (2 MiB) does on most reads. */
#define TR_STORE_MMAP "PRAGMA mmap_size = 1073741824;"
	const char *setup = s->readonly ? "PRAGMA foreign_keys = ON;" TR_STORE_MMAP
					: "PRAGMA journal_mode = WAL;"
					  "PRAGMA synchronous = FULL;"
					  "PRAGMA foreign_keys = ON;" TR_STORE_MMAP;
	if (exec_sql(s->sql, setup, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		return -1;
	}
	return 0;
}

/* PostgreSQL: connects; a reader's sessions refuse writes. */
static int open_pg(struct tr_store *s, const char *dsn, char *err,
		   size_t errlen)
{
	char msg[512];
	s->pg = 1;
	s->sql = tr_sql_open_pg(dsn, msg, sizeof msg);
	if (!s->sql) {
		snprintf(err, errlen, "store: %s", msg);
		return -1;
	}
	if (s->readonly &&
	    exec_sql(s->sql, "SET default_transaction_read_only = on", msg,
		     sizeof msg) < 0) {
		snprintf(err, errlen, "store: %s", msg);
		return -1;
	}
	return 0;
}

struct tr_store *tr_store_open(const char *path, unsigned flags, char *err,
			       size_t errlen)
{
	struct tr_store *s = tr_xcalloc(1, sizeof *s);
	char msg[1024];
	s->readonly = !!(flags & TR_STORE_READONLY);
	const char *dsn = tr_store_pg_dsn(path);
	/* what messages name: never the DSN, which may hold a password */
	const char *where = dsn ? "PostgreSQL" : path;
	if ((dsn ? open_pg(s, dsn, err, errlen)
		 : open_sqlite(s, path, err, errlen)) < 0)
		goto fail;
	if (s->readonly) {
		if (check_known(s->sql, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s: %s", where, msg);
			goto fail;
		}
	} else if (migrate(s, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", where, msg);
		goto fail;
	} else {
		/* Readers' kept snapshots go stale at every commit, and the
		 * placement engine rebuilds after one. */
		tr_store_count_commits(s);
	}
	return s;
fail:
	tr_store_close(s);
	return NULL;
}

void tr_store_close(struct tr_store *s)
{
	if (!s)
		return;
	tr_store_read_end(s, 0);
	for (size_t i = 0; i < TR_STMT_CACHE; i++) {
		for (struct tr_stmt *e = s->cache[i], *next; e; e = next) {
			next = e->next;
			tr_sql_finalize(e->st);
			free(e->sql);
			free(e);
		}
	}
	if (s->sql && s->tx_depth > 0)
		tr_sql_exec(s->sql, "ROLLBACK");
	if (s->pg) {
		tr_sql_close(s->sql);
		free(s);
		return;
	}
	if (s->db) {
		if (!s->readonly)
			sqlite3_wal_checkpoint_v2(s->db, NULL,
						  SQLITE_CHECKPOINT_TRUNCATE,
						  NULL, NULL);
		sqlite3_close_v2(s->db);
	}
	tr_sql_unwrap(s->sql);
	free(s);
}

sqlite3 *tr_store_db(struct tr_store *s)
{
	return s->db;
}

struct tr_sql *tr_store_sql(struct tr_store *s)
{
	return s->sql;
}

int tr_store_schema_version(struct tr_store *s)
{
	return s->version;
}

int tr_store_begin(struct tr_store *s, trellis_call_t *call)
{
	if (s->tx_depth++ > 0)
		return 0;
	if (tr_sql_exec(s->sql, tr_sql_pick(s->sql, "BEGIN IMMEDIATE",
					     "BEGIN")) < 0) {
		s->tx_depth = 0;
		return tr_store_sql_error(s, call, "begin");
	}
	return 0;
}

int tr_store_commit(struct tr_store *s, trellis_call_t *call)
{
	if (s->tx_depth == 0)
		return tr_call_set(call, TRELLIS_E_INTERNAL,
				   "store: commit without begin");
	if (--s->tx_depth > 0)
		return 0;
	if (tr_sql_exec(s->sql, "COMMIT") < 0) {
		int rc = tr_store_sql_error(s, call, "commit");
		if (!tr_sql_autocommit(s->sql))
			tr_sql_exec(s->sql, "ROLLBACK");
		return rc;
	}
	return 0;
}

void tr_store_rollback(struct tr_store *s)
{
	if (s->tx_depth == 0)
		return;
	s->tx_depth = 0;
	tr_sql_exec(s->sql, "ROLLBACK");
}

int tr_store_sql_error(struct tr_store *s, trellis_call_t *call,
		       const char *what)
{
	int code = tr_sql_errcode(s->sql);
	if (code >= 0)
		code = TRELLIS_E_IO;
	return tr_call_set(call, code, "store: %s: %s", what,
			   tr_sql_errmsg(s->sql));
}

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct tr_sql_stmt *tr_store_stmt(struct tr_store *s, const char *sql,
				  trellis_call_t *call)
{
	unsigned h = hash_str(sql) % TR_STMT_CACHE;
	for (struct tr_stmt *e = s->cache[h]; e; e = e->next) {
		if (strcmp(e->sql, sql) == 0) {
			tr_sql_reset(e->st);
			tr_sql_clear_bindings(e->st);
			return e->st;
		}
	}
	struct tr_stmt *e = tr_xcalloc(1, sizeof *e);
	e->sql = tr_xstrdup(sql);
	if (tr_sql_prepare_persistent(s->sql, sql, &e->st) < 0) {
		tr_store_sql_error(s, call, "prepare");
		free(e->sql);
		free(e);
		return NULL;
	}
	e->next = s->cache[h];
	s->cache[h] = e;
	return e->st;
}
