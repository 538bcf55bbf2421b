/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - opening the SQLite database, migrations, transactions and the
 * statement cache.  The inventory verbs are in inventory.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "store_int.h"

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int migration_applied(sqlite3 *db, const char *id, int *applied)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
		db, "SELECT 1 FROM schema_migrations WHERE id = ?1", -1, &st,
		NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*applied = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Refuses a database that a newer trellisd migrated: running old code on a
 * schema it does not know could corrupt it. */
static int check_known(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = 0;
	if (sqlite3_prepare_v2(db, "SELECT id FROM schema_migrations", -1, &st,
			       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
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
	sqlite3_finalize(st);
	return ret;
}

static int migrate(struct tr_store *s, char *err, size_t errlen)
{
	char msg[200];
	if (exec_sql(s->db,
		     "CREATE TABLE IF NOT EXISTS schema_migrations ("
		     " id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
		     msg, sizeof msg) < 0) {
		snprintf(err, errlen, "schema_migrations: %s", msg);
		return -1;
	}
	if (check_known(s->db, err, errlen) < 0)
		return -1;
	int version = 0;
	for (size_t i = 0; i < tr_n_migrations; i++) {
		const struct tr_migration *m = &tr_migrations[i];
		int applied = 0;
		if (migration_applied(s->db, m->id, &applied) < 0) {
			snprintf(err, errlen, "migration %s: %s", m->id,
				 sqlite3_errmsg(s->db));
			return -1;
		}
		if (!applied) {
			char ins[256];
			snprintf(ins, sizeof ins,
				 "INSERT INTO schema_migrations VALUES "
				 "('%s', %lld)",
				 m->id, (long long)time(NULL));
			if (exec_sql(s->db, "BEGIN IMMEDIATE", msg,
				     sizeof msg) < 0 ||
			    exec_sql(s->db, m->sql, msg, sizeof msg) < 0 ||
			    exec_sql(s->db, ins, msg, sizeof msg) < 0 ||
			    exec_sql(s->db, "COMMIT", msg, sizeof msg) < 0) {
				char ignore[64];
				exec_sql(s->db, "ROLLBACK", ignore,
					 sizeof ignore);
				snprintf(err, errlen, "migration %s: %s", m->id,
					 msg);
				return -1;
			}
		}
		version++;
	}
	s->version = version;
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version);
	return exec_sql(s->db, pragma, err, errlen);
}

/* Before SQLite's first use in the process: no allocation statistics,
 * which cost a process-wide mutex on every allocation of every
 * connection (the API's receive threads read side by side). */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct tr_store *tr_store_open(const char *path, unsigned flags, char *err,
			       size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_setup);
	struct tr_store *s = tr_xcalloc(1, sizeof *s);
	char msg[512];
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->readonly = !!(flags & TR_STORE_READONLY);
	int oflags = s->readonly
			     ? SQLITE_OPEN_READONLY
			     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	oflags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
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
	if (exec_sql(s->db, setup, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	if (s->readonly) {
		if (check_known(s->db, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s: %s", path, msg);
			goto fail;
		}
	} else if (migrate(s, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	} else {
		/* Readers' kept snapshots go stale at every commit. */
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
	if (s->tx_depth > 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (size_t i = 0; i < TR_STMT_CACHE; i++) {
		for (struct tr_stmt *e = s->cache[i], *next; e; e = next) {
			next = e->next;
			sqlite3_finalize(e->st);
			free(e->sql);
			free(e);
		}
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
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
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
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = tr_store_sql_error(s, call, "commit");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

void tr_store_rollback(struct tr_store *s)
{
	if (s->tx_depth == 0)
		return;
	s->tx_depth = 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int tr_store_sql_error(struct tr_store *s, trellis_call_t *call,
		       const char *what)
{
	int ext = sqlite3_extended_errcode(s->db);
	int code = TRELLIS_E_IO;
	if (ext == SQLITE_BUSY || ext == SQLITE_LOCKED)
		code = TRELLIS_E_BUSY;
	else if ((ext & 0xff) == SQLITE_CONSTRAINT)
		code = TRELLIS_E_CONFLICT;
	else if (ext == SQLITE_READONLY)
		code = TRELLIS_E_PERMISSION;
	return tr_call_set(call, code, "store: %s: %s", what,
			   sqlite3_errmsg(s->db));
}

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

sqlite3_stmt *tr_store_stmt(struct tr_store *s, const char *sql,
			    trellis_call_t *call)
{
	unsigned h = hash_str(sql) % TR_STMT_CACHE;
	for (struct tr_stmt *e = s->cache[h]; e; e = e->next) {
		if (strcmp(e->sql, sql) == 0) {
			sqlite3_reset(e->st);
			sqlite3_clear_bindings(e->st);
			return e->st;
		}
	}
	struct tr_stmt *e = tr_xcalloc(1, sizeof *e);
	if (!e || !(e->sql = tr_xstrdup(sql))) {
		free(e);
		tr_call_set(call, TRELLIS_E_NOMEM, "store: out of memory");
		return NULL;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &e->st, NULL) != SQLITE_OK) {
		tr_store_sql_error(s, call, "prepare");
		free(e->sql);
		free(e);
		return NULL;
	}
	e->next = s->cache[h];
	s->cache[h] = e;
	return e->st;
}
