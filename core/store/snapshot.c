/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - read snapshots kept from one read to the next (store.h,
 * tr_store_read_begin), and the commit counter that tells when they are
 * stale.
 *
 * A read transaction in WAL mode costs a begin (the WAL-index header, a
 * read-mark lock: two fcntl() calls) and an end; for a lookup by key that
 * is as much as the lookup.  A reader that answers read after read can
 * keep its snapshot instead, as long as nothing was committed since.
 *
 * Held snapshots must not starve checkpoints: a reader holds a WAL read
 * mark for as long as its snapshot lives, a checkpoint cannot copy frames
 * past the oldest mark, and the WAL cannot start over while any reader
 * holds one.  So snapshots are kept only while the store is quiet (no
 * commit for QUIET_MS): with writes going on, a reader ends its
 * transaction after every read, as before, and a snapshot held when the
 * writes began goes at its reader's next read or release.  Nor is one
 * kept for longer than MAX_AGE_MS, whatever happens.
 *
 * Stale means "this process committed since": every writable connection
 * counts its commits in its WAL hook, which SQLite calls once the commit
 * is durable and its lock released.  The daemon is its store's only
 * writer (the state directory's lock); a commit by another process would
 * be seen within MAX_AGE_MS.
 *
 * PostgreSQL: no snapshots are kept (tr_store_read_begin() says -1, so
 * each read is its own transaction): its reads cost no WAL read mark, and
 * other managers commit without this process knowing.
 */
#include <stdatomic.h>
#include <time.h>

#include "../util/clock.h"
#include "store_int.h"

#define QUIET_MS 1000   /* no commit for this long: snapshots may be kept */
#define MAX_AGE_MS 1000 /* and for this long at most */
#define AUTO_CHECKPOINT 1000 /* WAL frames, SQLite's default */

static atomic_ulong commits;     /* in this process, any database */
static atomic_llong last_commit; /* ms, CLOCK_MONOTONIC_COARSE */

/* The WAL hook: counts the commit, then does what SQLite's own hook does
 * (sqlite3_wal_autocheckpoint), which this one replaces. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)arg;
	atomic_store(&last_commit, (long long)tr_now_coarse_ms());
	atomic_fetch_add(&commits, 1);
	if (frames >= AUTO_CHECKPOINT)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
	return SQLITE_OK;
}

/* The same count for a PostgreSQL connection (tr_sql_on_commit). */
static void on_pg_commit(void *arg)
{
	(void)arg;
	atomic_store(&last_commit, (long long)tr_now_coarse_ms());
	atomic_fetch_add(&commits, 1);
}

void tr_store_count_commits(struct tr_store *s)
{
	if (s->pg)
		tr_sql_on_commit(s->sql, on_pg_commit, NULL);
	else
		sqlite3_wal_hook(s->db, on_commit, NULL);
}

unsigned long tr_store_commits(void)
{
	return atomic_load(&commits);
}

/* BEGIN or COMMIT through the statement cache: with writes going on,
 * every read begins and ends its own transaction, and preparing those
 * each time would cost more than the read.  0 or -1. */
static int run(struct tr_store *s, const char *sql)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_sql_stmt *st = tr_store_stmt(s, sql, &call);
	if (!st)
		return -1;
	int rc = tr_sql_step(st);
	tr_sql_reset(st);
	return rc == TR_SQL_DONE ? 0 : -1;
}

/* Ends the held transaction.  A read transaction only fails to end while
 * a statement is still running: those are reset, then it rolls back. */
static void snap_drop(struct tr_store *s)
{
	s->snap_held = 0;
	if (tr_sql_autocommit(s->sql))
		return;
	if (run(s, "COMMIT") == 0)
		return;
	for (size_t i = 0; i < TR_STMT_CACHE; i++)
		for (struct tr_stmt *e = s->cache[i]; e; e = e->next)
			tr_sql_reset(e->st);
	tr_sql_exec(s->sql, "ROLLBACK");
}

int tr_store_read_begin(struct tr_store *s)
{
	unsigned long gen = atomic_load(&commits);
	if (s->snap_held) {
		if (gen == s->snap_gen && (long long)tr_now_coarse_ms() - s->snap_since < MAX_AGE_MS)
			return 0;
		snap_drop(s);
	}
	/* Deferred: the snapshot is taken by the first read, after gen was
	 * loaded, so a commit between the two only makes it look stale. */
	if (!s->readonly || s->pg || s->tx_depth || run(s, "BEGIN") < 0)
		return -1;
	s->snap_held = 1;
	s->snap_gen = gen;
	s->snap_since = (long long)tr_now_coarse_ms();
	return 0;
}

void tr_store_read_end(struct tr_store *s, int keep)
{
	if (!s || !s->snap_held)
		return;
	if (keep && (long long)tr_now_coarse_ms() - atomic_load(&last_commit) >= QUIET_MS &&
	    atomic_load(&commits) == s->snap_gen)
		return;
	snap_drop(s);
}
