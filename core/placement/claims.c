/* SPDX-License-Identifier: Apache-2.0 */
/* claims.c - the placement_claim table (claims.h). */
#include "claims.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define COLS                                                                   \
	"key, host_id, vcpus, memory_mib, disk_gib, grp, anti_grp, tenant, "   \
	"owner, created_at"

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "placement claims: %s: %s", what,
			   tr_sql_errmsg(db));
}

static void bind_opt(struct tr_sql_stmt *st, int i, const char *s)
{
	if (s && *s)
		tr_sql_bind_text(st, i, s);
	else
		tr_sql_bind_null(st, i);
}

static void copy_col(char *dst, size_t len, struct tr_sql_stmt *st, int i)
{
	const char *t = tr_sql_column_text(st, i);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_claim(struct tr_sql_stmt *st, struct tr_claim *c)
{
	copy_col(c->key, sizeof c->key, st, 0);
	c->host_id = (uint64_t)tr_sql_column_int64(st, 1);
	c->vcpus = (uint32_t)tr_sql_column_int64(st, 2);
	c->memory_mib = (uint64_t)tr_sql_column_int64(st, 3);
	c->disk_gib = (uint64_t)tr_sql_column_int64(st, 4);
	copy_col(c->group, sizeof c->group, st, 5);
	copy_col(c->anti_group, sizeof c->anti_group, st, 6);
	copy_col(c->tenant, sizeof c->tenant, st, 7);
	copy_col(c->owner, sizeof c->owner, st, 8);
	c->created_at = tr_sql_column_int64(st, 9);
}

/* Steps a statement, waiting out writers that the busy timeout gave up
 * on: a take must not fail just because another one was committing. */
static int step(struct tr_sql_stmt *st)
{
	int rc;
	for (int tries = 0; tries < 50; tries++) {
		rc = tr_sql_step(st);
		if (rc != TRELLIS_E_BUSY)
			return rc;
		tr_sql_reset(st);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	return rc;
}

int tr_claim_get(struct tr_sql *db, const char *key, struct tr_claim *out,
		 trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	int ret;
	if (tr_sql_prepare(
		db, "SELECT " COLS " FROM placement_claim WHERE key = ?1",
		&st) != 0)
		return db_error(db, call, "reading a claim");
	tr_sql_bind_text(st, 1, key);
	int rc = step(st);
	if (rc == TR_SQL_ROW) {
		row_to_claim(st, out);
		ret = 0;
	} else if (rc == TR_SQL_DONE) {
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "no placement claim '%s'", key);
	} else {
		ret = db_error(db, call, "reading a claim");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_claims_tenant_use(struct tr_sql *db, const char *tenant,
			 const char *template_, struct tr_claim *use,
			 trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	memset(use, 0, sizeof *use);
	if (tr_sql_prepare(
		db,
		"SELECT COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mib), 0), "
		"COALESCE(SUM(disk_gib), 0), COUNT(*) FROM placement_claim "
		"WHERE tenant = ?1 AND (CAST(?2 AS TEXT) IS NULL OR template = "
		"?2)",
		&st) != 0)
		return db_error(db, call, "a tenant's claims");
	tr_sql_bind_text(st, 1, tenant);
	bind_opt(st, 2, template_);
	int rc = step(st), ret = 0;
	if (rc == TR_SQL_ROW) {
		use->vcpus = (uint32_t)tr_sql_column_int64(st, 0);
		use->memory_mib = (uint64_t)tr_sql_column_int64(st, 1);
		use->disk_gib = (uint64_t)tr_sql_column_int64(st, 2);
		use->host_id = (uint64_t)tr_sql_column_int64(st, 3);
	} else {
		ret = db_error(db, call, "a tenant's claims");
	}
	tr_sql_finalize(st);
	return ret;
}

/* After a take that booked nothing: whether c->tenant's quota is what
 * stopped it (1, with QUOTA naming the quota, its limit and its use, in
 * call), or not (0). */
static int quota_short(struct tr_sql *db, const struct tr_claim *c,
		       trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	struct tr_claim use;
	trellis_call_t tmp;
	tr_call_init(&tmp, NULL);
	if (tr_claims_tenant_use(db, c->tenant, NULL, &use, &tmp))
		return 0;
	int ret = 0;
	if (tr_sql_prepare(db,
			   "SELECT vcpus, memory_mib, disk_gib, vms FROM "
			   "bu_quota WHERE tenant = ?1",
			   &st) == 0) {
		tr_sql_bind_text(st, 1, c->tenant);
		if (step(st) == TR_SQL_ROW) {
			long long lim[4], u[4] = {use.vcpus,
						  (long long)use.memory_mib,
						  (long long)use.disk_gib,
						  (long long)use.host_id};
			long long need[4] = {c->vcpus, (long long)c->memory_mib,
					     (long long)c->disk_gib, 1};
			static const char *const what[] = {
			    "vcpus", "memory (MiB)", "storage (GiB)", "VMs"};
			for (int i = 0; i < 4; i++)
				lim[i] = tr_sql_column_int64(st, i);
			for (int i = 0; i < 4 && !ret; i++)
				if (lim[i] >= 0 && u[i] + need[i] > lim[i])
					ret = 1, tr_call_set(
						     call, TRELLIS_E_QUOTA,
						     "business unit '%s': "
						     "quota of %s reached: "
						     "limit %lld, in use %lld, "
						     "this VM needs %lld",
						     c->tenant, what[i], lim[i],
						     u[i], need[i]);
		}
		tr_sql_finalize(st);
	}
	if (ret || !c->template_[0])
		return ret;
	if (tr_claims_tenant_use(db, c->tenant, c->template_, &use, &tmp))
		return 0;
	if (tr_sql_prepare(db,
			   "SELECT vms FROM bu_template_quota WHERE tenant = "
			   "?1 AND template = ?2",
			   &st) == 0) {
		tr_sql_bind_text(st, 1, c->tenant);
		tr_sql_bind_text(st, 2, c->template_);
		if (step(st) == TR_SQL_ROW &&
		    (long long)use.host_id >= tr_sql_column_int64(st, 0))
			ret = 1,
			tr_call_set(call, TRELLIS_E_QUOTA,
				    "business unit '%s': quota of VMs "
				    "of template %s reached: limit "
				    "%lld, in use %lld",
				    c->tenant, c->template_,
				    (long long)tr_sql_column_int64(st, 0),
				    (long long)use.host_id);
		tr_sql_finalize(st);
	}
	return ret;
}

int tr_claims_unreserved(struct tr_sql *db, const char *except, int64_t *vcpus,
			 int64_t *memory_mib, int *any, trellis_call_t *call)
{
	/* The uncovered claims' COL, but for tenant ?1's. */
#define UNCOVERED_BUT(COL)                                                     \
	"(SELECT COALESCE(SUM(c." COL "), 0) FROM placement_claim c WHERE "    \
	"(c.tenant IS NULL OR NOT " TR_CLAIM_COVERED(                          \
	    "c.tenant") ") AND "                                               \
			"(CAST(?1 AS TEXT) IS NULL OR c.tenant IS NULL OR "    \
			"c.tenant != ?1))"
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM allocation a WHERE " TR_ALLOC_LIVE "), "
	    "(SELECT COALESCE(SUM(cpus), 0) FROM host) - " TR_ALLOC_HELD("vcpus")
	    " - " UNCOVERED_BUT("vcpus") ", "
	    "(SELECT COALESCE(SUM(memory_kib), 0) / 1024 FROM host) - "
	    TR_ALLOC_HELD("memory_mib") " - " UNCOVERED_BUT("memory_mib");
#undef UNCOVERED_BUT
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return db_error(db, call, "what allocations hold");
	bind_opt(st, 1, except);
	int ret = 0;
	if (step(st) == TR_SQL_ROW) {
		*any = (int)tr_sql_column_int64(st, 0);
		*vcpus = tr_sql_column_int64(st, 1);
		*memory_mib = tr_sql_column_int64(st, 2);
	} else {
		ret = db_error(db, call, "what allocations hold");
	}
	tr_sql_finalize(st);
	return ret;
}

/* After a take that booked nothing: whether the compute allocations hold
 * is what stopped it (1, with NOSPACE saying what is left, in call). */
static int reserved_short(struct tr_sql *db, const struct tr_claim *c,
			  trellis_call_t *call)
{
	int64_t v, m;
	int any = 0;
	trellis_call_t tmp;
	tr_call_init(&tmp, NULL);
	if (tr_claims_unreserved(db, NULL, &v, &m, &any, &tmp) || !any)
		return 0;
	if ((int64_t)c->vcpus <= v && (int64_t)c->memory_mib <= m)
		return 0;
	tr_call_set(call, TRELLIS_E_NOSPACE,
		    "the rest is held by allocations: %lld vcpus and %lld MiB "
		    "are left outside them, this VM (%s) needs %u vcpus and "
		    "%llu MiB",
		    (long long)(v < 0 ? 0 : v), (long long)(m < 0 ? 0 : m),
		    c->tenant[0] ? c->tenant : "no business unit", c->vcpus,
		    (unsigned long long)c->memory_mib);
	return 1;
}

int tr_claim_take(struct tr_sql *db, struct tr_claim *c,
		  const struct tr_claim_room *room, trellis_call_t *call)
{
	/* One statement: the sums and the insert see the same snapshot under
	 * the write lock. */
	/* The tenant's quotas ride in the same statement: its claims' sums
	 * (indexed by tenant) against bu_quota's limits (-1: none), and its
	 * VMs of template ?15 against bu_template_quota. */
	/* The parameters are typed once, in p, for engines that type them
	 * from their first use (PostgreSQL): ?1 key, ?2 host, ?3-?5 the
	 * request, ?6-?8 group, anti-group, tenant, ?9-?12 the host's room,
	 * ?13 now, ?14 owner, ?15 template. */
	static const char sql[] =
	    "WITH p AS (SELECT CAST(?1 AS TEXT) AS key, "
	    "  CAST(?2 AS BIGINT) AS host, CAST(?3 AS BIGINT) AS vcpus, "
	    "  CAST(?4 AS BIGINT) AS mem, CAST(?5 AS BIGINT) AS disk, "
	    "  CAST(?6 AS TEXT) AS grp, CAST(?7 AS TEXT) AS anti, "
	    "  CAST(?8 AS TEXT) AS tenant, CAST(?9 AS BIGINT) AS room_vcpus, "
	    "  CAST(?10 AS BIGINT) AS room_mem, CAST(?11 AS BIGINT) AS room_disk, "
	    "  CAST(?12 AS BIGINT) AS slots, CAST(?13 AS BIGINT) AS now, "
	    "  CAST(?14 AS TEXT) AS owner, CAST(?15 AS TEXT) AS template) "
	    "INSERT INTO placement_claim (" COLS ", template) "
	    "SELECT p.key, p.host, p.vcpus, p.mem, p.disk, p.grp, p.anti, "
	    "  p.tenant, p.owner, p.now, p.template FROM p "
	    "WHERE NOT EXISTS (SELECT 1 FROM placement_claim WHERE key = p.key) "
	    "AND (p.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM bu_quota WHERE "
	    "     tenant = p.tenant) OR (SELECT (q.vcpus < 0 OR "
	    "     u.v + p.vcpus <= q.vcpus) "
	    "     AND (q.memory_mib < 0 OR u.m + p.mem <= q.memory_mib) "
	    "     AND (q.disk_gib < 0 OR u.d + p.disk <= q.disk_gib) "
	    "     AND (q.vms < 0 OR u.n < q.vms) FROM bu_quota q, "
	    "     (SELECT COALESCE(SUM(vcpus), 0) AS v, COALESCE(SUM("
	    "      memory_mib), 0) AS m, COALESCE(SUM(disk_gib), 0) AS d, "
	    "      COUNT(*) AS n FROM placement_claim WHERE tenant = p.tenant) u "
	    "     WHERE q.tenant = p.tenant)) "
	    "AND (p.tenant IS NULL OR p.template IS NULL OR NOT EXISTS (SELECT "
	    "     1 FROM bu_template_quota WHERE tenant = p.tenant AND "
	    "     template = p.template) OR "
	    "     (SELECT COUNT(*) FROM placement_claim WHERE tenant = p.tenant "
	    "      AND template = p.template) < (SELECT vms FROM "
	    "      bu_template_quota WHERE tenant = p.tenant AND "
	    "      template = p.template)) "
	    "AND (SELECT COALESCE(SUM(vcpus), 0) FROM placement_claim "
	    "     WHERE host_id = p.host) + p.vcpus <= p.room_vcpus "
	    "AND (SELECT COALESCE(SUM(memory_mib), 0) FROM placement_claim "
	    "     WHERE host_id = p.host) + p.mem <= p.room_mem "
	    "AND (SELECT COALESCE(SUM(disk_gib), 0) FROM placement_claim "
	    "     WHERE host_id = p.host) + p.disk <= p.room_disk "
	    "AND (p.slots < 0 OR (SELECT COUNT(*) FROM placement_claim "
	    "     WHERE host_id = p.host) < p.slots) "
	    "AND (p.anti IS NULL OR NOT EXISTS (SELECT 1 FROM placement_claim "
	    "     WHERE host_id = p.host AND anti_grp = p.anti)) "
	    /* Compute the allocations hold is not for the uncovered. */
	    "AND (NOT EXISTS (SELECT 1 FROM allocation a WHERE " TR_ALLOC_LIVE
	    "     ) OR (p.tenant IS NOT NULL AND " TR_CLAIM_COVERED("p.tenant")
	    ") OR (" TR_CLAIM_UNCOVERED_SUM("vcpus") " + p.vcpus + "
	    TR_ALLOC_HELD("vcpus") " <= (SELECT COALESCE(SUM(cpus), 0) FROM "
	    "      host) AND " TR_CLAIM_UNCOVERED_SUM("memory_mib") " + p.mem + "
	    TR_ALLOC_HELD("memory_mib") " <= (SELECT COALESCE(SUM("
	    "      memory_kib), 0) / 1024 FROM host)))";
	struct tr_sql_stmt *st = NULL;
	int ret;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return db_error(db, call, "taking a claim");
	tr_sql_bind_text(st, 1, c->key);
	tr_sql_bind_int64(st, 2, (int64_t)c->host_id);
	tr_sql_bind_int64(st, 3, c->vcpus);
	tr_sql_bind_int64(st, 4, (int64_t)c->memory_mib);
	tr_sql_bind_int64(st, 5, (int64_t)c->disk_gib);
	bind_opt(st, 6, c->group);
	bind_opt(st, 7, c->anti_group);
	bind_opt(st, 8, c->tenant);
	tr_sql_bind_int64(st, 9, room->vcpus);
	tr_sql_bind_int64(st, 10, room->memory_mib);
	tr_sql_bind_int64(st, 11, room->disk_gib);
	tr_sql_bind_int64(st, 12, room->vm_slots);
	tr_sql_bind_int64(st, 13, (int64_t)time(NULL));
	bind_opt(st, 14, c->owner);
	bind_opt(st, 15, c->template_);
	int rc = step(st);
	if (rc != TR_SQL_DONE) {
		ret = db_error(db, call, "taking a claim");
		goto out;
	}
	if ((int)tr_sql_changes(db) == 1) {
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
	} else if (c->tenant[0] && quota_short(db, c, call)) {
		ret = call->code;
	} else if (reserved_short(db, c, call)) {
		ret = call->code;
	} else {
		ret = tr_call_set(call, TRELLIS_E_CONFLICT,
				  "host %llu has no room left for claim '%s' "
				  "(another placement took it first)",
				  (unsigned long long)c->host_id, c->key);
	}
out:
	tr_sql_finalize(st);
	return ret;
}

/* The tombstone of key: 1 (who released it and when in *by, *at), 0 when
 * there is none, or an error (set). */
static int tombstone(struct tr_sql *db, const char *key, char *by, size_t len,
		     int64_t *at, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT released_by, released_at FROM "
			   "placement_released WHERE key = ?1",
			   &st) != 0)
		return db_error(db, call, "reading a released claim");
	tr_sql_bind_text(st, 1, key);
	int rc = step(st), ret = 0;
	if (rc == TR_SQL_ROW) {
		copy_col(by, len, st, 0);
		*at = tr_sql_column_int64(st, 1);
		ret = 1;
	} else if (rc != TR_SQL_DONE) {
		ret = db_error(db, call, "reading a released claim");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_claim_release(struct tr_sql *db, const char *key, const char *by,
		     const char *why, struct tr_claim *out,
		     trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	struct tr_claim c;
	int ret;
	/* The delete and its tombstone in one statement each, under one
	 * savepoint: a crash leaves both or neither. */
	if (tr_sql_exec(db, "SAVEPOINT claim_release") != 0)
		return db_error(db, call, "releasing a claim");
	if (tr_sql_prepare(db,
			   "DELETE FROM placement_claim WHERE key = ?1 "
			   "RETURNING " COLS,
			   &st) != 0) {
		ret = db_error(db, call, "releasing a claim");
		goto out;
	}
	tr_sql_bind_text(st, 1, key);
	int rc = step(st);
	if (rc == TR_SQL_ROW) {
		row_to_claim(st, &c);
		ret = step(st) == TR_SQL_DONE
			  ? 0
			  : db_error(db, call, "releasing a claim");
	} else if (rc == TR_SQL_DONE) {
		char who[300];
		int64_t at = 0;
		ret = tombstone(db, key, who, sizeof who, &at, call);
		if (ret == 1 && by && *by && !strcmp(who, by))
			ret = 1; /* this very release, replayed */
		else if (ret == 1)
			ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
					  "placement claim '%s' was released "
					  "already (by %s, %lld s ago)",
					  key, who[0] ? who : "?",
					  (long long)(time(NULL) - at));
		else if (ret == 0)
			ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
					  "no placement claim '%s' (it was "
					  "never made)",
					  key);
	} else {
		ret = db_error(db, call, "releasing a claim");
	}
	tr_sql_finalize(st);
	st = NULL;
	if (ret == 0) {
		if (tr_sql_prepare(
			db,
			"INSERT INTO placement_released (key, host_id, "
			"owner, released_by, why, released_at) VALUES (?1, "
			"?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO UPDATE SET "
			"host_id = excluded.host_id, owner = excluded.owner, "
			"released_by = excluded.released_by, why = "
			"excluded.why, released_at = excluded.released_at",
			&st) != 0) {
			ret = db_error(db, call, "recording a released claim");
			goto out;
		}
		tr_sql_bind_text(st, 1, key);
		tr_sql_bind_int64(st, 2, (int64_t)c.host_id);
		bind_opt(st, 3, c.owner);
		bind_opt(st, 4, by);
		bind_opt(st, 5, why);
		tr_sql_bind_int64(st, 6, (int64_t)time(NULL));
		if (step(st) != TR_SQL_DONE)
			ret = db_error(db, call, "recording a released claim");
		tr_sql_finalize(st);
		if (!ret && out)
			*out = c;
	}
out:
	if (ret < 0)
		tr_sql_exec(db, "ROLLBACK TO claim_release");
	tr_sql_exec(db, "RELEASE claim_release");
	return ret;
}

int tr_claim_set_owner(struct tr_sql *db, const char *key, const char *owner,
		       trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "UPDATE placement_claim SET owner = ?2 WHERE "
			   "key = ?1",
			   &st) != 0)
		return db_error(db, call, "setting a claim's owner");
	tr_sql_bind_text(st, 1, key);
	bind_opt(st, 2, owner);
	int rc = step(st), ret = 0;
	if (rc != TR_SQL_DONE)
		ret = db_error(db, call, "setting a claim's owner");
	else if ((int)tr_sql_changes(db) != 1)
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "no placement claim '%s'", key);
	tr_sql_finalize(st);
	return ret;
}

int tr_claims_prune_released(struct tr_sql *db, int64_t older_than_s,
			     trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "DELETE FROM placement_released WHERE "
			   "released_at < ?1",
			   &st) != 0)
		return db_error(db, call, "pruning released claims");
	tr_sql_bind_int64(st, 1, (int64_t)(time(NULL) - older_than_s));
	int rc = step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE
		   ? (int)tr_sql_changes(db)
		   : db_error(db, call, "pruning released claims");
}

int tr_claims_foreach(struct tr_sql *db,
		      int (*fn)(void *arg, const struct tr_claim *c), void *arg,
		      trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	int ret = 0, rc;
	if (tr_sql_prepare(db,
			   "SELECT " COLS
			   " FROM placement_claim ORDER BY created_at, key",
			   &st) != 0)
		return db_error(db, call, "listing claims");
	while ((rc = step(st)) == TR_SQL_ROW) {
		struct tr_claim c;
		row_to_claim(st, &c);
		if ((ret = fn(arg, &c)))
			break;
	}
	if (!ret && rc != TR_SQL_DONE)
		ret = db_error(db, call, "listing claims");
	tr_sql_finalize(st);
	return ret;
}

int tr_claims_host_sum(struct tr_sql *db, uint64_t host_id,
		       struct tr_claim *sum, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	int ret = 0;
	memset(sum, 0, sizeof *sum);
	if (tr_sql_prepare(db,
			   "SELECT COALESCE(SUM(vcpus), 0), "
			   "COALESCE(SUM(memory_mib), 0), "
			   "COALESCE(SUM(disk_gib), 0), COUNT(*) "
			   "FROM placement_claim WHERE host_id = ?1",
			   &st) != 0)
		return db_error(db, call, "summing claims");
	tr_sql_bind_int64(st, 1, (int64_t)host_id);
	if (step(st) == TR_SQL_ROW) {
		sum->vcpus = (uint32_t)tr_sql_column_int64(st, 0);
		sum->memory_mib = (uint64_t)tr_sql_column_int64(st, 1);
		sum->disk_gib = (uint64_t)tr_sql_column_int64(st, 2);
		sum->host_id = (uint64_t)tr_sql_column_int64(st, 3);
	} else {
		ret = db_error(db, call, "summing claims");
	}
	tr_sql_finalize(st);
	return ret;
}

/* Whether a claim's owner is still there: "live", "gone" (a VM no longer
 * recorded; an instance that failed or was cancelled and compensated
 * fully, or that the journal no longer has), or "none" (no owner).  An
 * instance whose compensation failed keeps its claim: what it left
 * behind may still use the host. */
#define OWNER_STATE                                                            \
	"CASE WHEN c.owner IS NULL THEN 'none' "                               \
	"WHEN c.owner LIKE 'vm:%' THEN CASE WHEN EXISTS (SELECT 1 FROM vm "    \
	"WHERE vm.uuid = substr(c.owner, 4)) THEN 'live' ELSE 'gone' END "     \
	"WHEN c.owner LIKE 'wf:%' THEN COALESCE((SELECT CASE WHEN w.state "    \
	"IN ('failed', 'cancelled') AND COALESCE(w.compensation, 'none') IN "  \
	"('done', 'none') THEN 'gone' ELSE 'live' END FROM wf_instance w "     \
	"WHERE w.id = substr(c.owner, 4)), 'gone') ELSE 'live' END"

int tr_claims_each_owned(struct tr_sql *db, const char *host, int orphans_only,
			 int (*fn)(void *arg, const struct tr_claim *c,
				   const char *host, const char *owner_state),
			 void *arg, trellis_call_t *call)
{
	static const char sql[] =
	    "SELECT c.key, c.host_id, c.vcpus, c.memory_mib, c.disk_gib, "
	    "c.grp, c.anti_grp, c.tenant, c.owner, c.created_at, "
	    "COALESCE(h.name, '#' || c.host_id), " OWNER_STATE " AS st "
	    "FROM placement_claim c LEFT JOIN host h ON h.id = c.host_id "
	    "WHERE (CAST(?1 AS TEXT) IS NULL OR h.name = ?1) AND (?2 = 0 OR st "
	    "= 'gone') "
	    "ORDER BY c.created_at, c.key";
	struct tr_sql_stmt *st = NULL;
	int ret = 0, rc;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return db_error(db, call, "listing claims");
	bind_opt(st, 1, host);
	tr_sql_bind_int64(st, 2, orphans_only);
	while ((rc = step(st)) == TR_SQL_ROW) {
		struct tr_claim c;
		row_to_claim(st, &c);
		if ((ret = fn(arg, &c, tr_sql_column_text(st, 10),
			      tr_sql_column_text(st, 11))))
			break;
	}
	if (!ret && rc != TR_SQL_DONE)
		ret = db_error(db, call, "listing claims");
	tr_sql_finalize(st);
	return ret;
}
