/* claims.c - the placement_claim table (claims.h). */
#include "claims.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define COLS "key, host_id, vcpus, memory_mib, disk_gib, grp, anti_grp, tenant"

static int db_error(sqlite3 *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "placement claims: %s: %s", what,
			   sqlite3_errmsg(db));
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_claim(sqlite3_stmt *st, struct tr_claim *c)
{
	copy_col(c->key, sizeof c->key, st, 0);
	c->host_id = (uint64_t)sqlite3_column_int64(st, 1);
	c->vcpus = (uint32_t)sqlite3_column_int64(st, 2);
	c->memory_mib = (uint64_t)sqlite3_column_int64(st, 3);
	c->disk_gib = (uint64_t)sqlite3_column_int64(st, 4);
	copy_col(c->group, sizeof c->group, st, 5);
	copy_col(c->anti_group, sizeof c->anti_group, st, 6);
	copy_col(c->tenant, sizeof c->tenant, st, 7);
}

/* Steps a statement, waiting out writers that the busy timeout gave up
 * on: a take must not fail just because another one was committing. */
static int step(sqlite3_stmt *st)
{
	int rc;
	for (int tries = 0; tries < 50; tries++) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return rc;
		sqlite3_reset(st);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	return rc;
}

int tr_claim_get(sqlite3 *db, const char *key, struct tr_claim *out,
		 trellis_call_t *call)
{
	sqlite3_stmt *st = NULL;
	int ret;
	if (sqlite3_prepare_v2(
		db, "SELECT " COLS " FROM placement_claim WHERE key = ?1", -1,
		&st, NULL) != SQLITE_OK)
		return db_error(db, call, "reading a claim");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = step(st);
	if (rc == SQLITE_ROW) {
		row_to_claim(st, out);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "no placement claim '%s'", key);
	} else {
		ret = db_error(db, call, "reading a claim");
	}
	sqlite3_finalize(st);
	return ret;
}

int tr_claim_take(sqlite3 *db, struct tr_claim *c,
		  const struct tr_claim_room *room, trellis_call_t *call)
{
	/* One statement: the sums and the insert see the same snapshot under
	 * the write lock. */
	static const char sql[] =
	    "INSERT INTO placement_claim (" COLS ", created_at) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?13 "
	    "WHERE NOT EXISTS (SELECT 1 FROM placement_claim WHERE key = ?1) "
	    "AND (SELECT COALESCE(SUM(vcpus), 0) FROM placement_claim "
	    "     WHERE host_id = ?2) + ?3 <= ?9 "
	    "AND (SELECT COALESCE(SUM(memory_mib), 0) FROM placement_claim "
	    "     WHERE host_id = ?2) + ?4 <= ?10 "
	    "AND (SELECT COALESCE(SUM(disk_gib), 0) FROM placement_claim "
	    "     WHERE host_id = ?2) + ?5 <= ?11 "
	    "AND (?12 < 0 OR (SELECT COUNT(*) FROM placement_claim "
	    "     WHERE host_id = ?2) < ?12) "
	    "AND (?7 IS NULL OR NOT EXISTS (SELECT 1 FROM placement_claim "
	    "     WHERE host_id = ?2 AND anti_grp = ?7))";
	sqlite3_stmt *st = NULL;
	int ret;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(db, call, "taking a claim");
	sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->host_id);
	sqlite3_bind_int64(st, 3, c->vcpus);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)c->memory_mib);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)c->disk_gib);
	bind_opt(st, 6, c->group);
	bind_opt(st, 7, c->anti_group);
	bind_opt(st, 8, c->tenant);
	sqlite3_bind_int64(st, 9, room->vcpus);
	sqlite3_bind_int64(st, 10, room->memory_mib);
	sqlite3_bind_int64(st, 11, room->disk_gib);
	sqlite3_bind_int64(st, 12, room->vm_slots);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)time(NULL));
	int rc = step(st);
	if (rc != SQLITE_DONE) {
		ret = db_error(db, call, "taking a claim");
		goto out;
	}
	if (sqlite3_changes(db) == 1) {
		ret = 0;
		goto out;
	}
	/* Either a replay of a step that already holds its claim, or the
	 * host filled up under us. */
	struct tr_claim held;
	trellis_call_t tmp;
	tr_call_init(&tmp, NULL);
	if (!tr_claim_get(db, c->key, &held, &tmp)) {
		*c = held;
		ret = 0;
	} else {
		ret = tr_call_set(call, TRELLIS_E_CONFLICT,
				  "host %llu has no room left for claim '%s' "
				  "(another placement took it first)",
				  (unsigned long long)c->host_id, c->key);
	}
out:
	sqlite3_finalize(st);
	return ret;
}

int tr_claim_release(sqlite3 *db, const char *key, struct tr_claim *out,
		     trellis_call_t *call)
{
	sqlite3_stmt *st = NULL;
	int ret;
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM placement_claim WHERE key = ?1 "
			       "RETURNING " COLS,
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(db, call, "releasing a claim");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = step(st);
	if (rc == SQLITE_ROW) {
		if (out)
			row_to_claim(st, out);
		ret = step(st) == SQLITE_DONE
			  ? 0
			  : db_error(db, call, "releasing a claim");
	} else if (rc == SQLITE_DONE) {
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "no placement claim '%s'", key);
	} else {
		ret = db_error(db, call, "releasing a claim");
	}
	sqlite3_finalize(st);
	return ret;
}

int tr_claims_foreach(sqlite3 *db,
		      int (*fn)(void *arg, const struct tr_claim *c), void *arg,
		      trellis_call_t *call)
{
	sqlite3_stmt *st = NULL;
	int ret = 0, rc;
	if (sqlite3_prepare_v2(db,
			       "SELECT " COLS
			       " FROM placement_claim ORDER BY created_at, key",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(db, call, "listing claims");
	while ((rc = step(st)) == SQLITE_ROW) {
		struct tr_claim c;
		row_to_claim(st, &c);
		if ((ret = fn(arg, &c)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(db, call, "listing claims");
	sqlite3_finalize(st);
	return ret;
}

int tr_claims_host_sum(sqlite3 *db, uint64_t host_id, struct tr_claim *sum,
		       trellis_call_t *call)
{
	sqlite3_stmt *st = NULL;
	int ret = 0;
	memset(sum, 0, sizeof *sum);
	if (sqlite3_prepare_v2(db,
			       "SELECT COALESCE(SUM(vcpus), 0), "
			       "COALESCE(SUM(memory_mib), 0), "
			       "COALESCE(SUM(disk_gib), 0), COUNT(*) "
			       "FROM placement_claim WHERE host_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(db, call, "summing claims");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)host_id);
	if (step(st) == SQLITE_ROW) {
		sum->vcpus = (uint32_t)sqlite3_column_int64(st, 0);
		sum->memory_mib = (uint64_t)sqlite3_column_int64(st, 1);
		sum->disk_gib = (uint64_t)sqlite3_column_int64(st, 2);
		sum->host_id = (uint64_t)sqlite3_column_int64(st, 3);
	} else {
		ret = db_error(db, call, "summing claims");
	}
	sqlite3_finalize(st);
	return ret;
}
