/* SPDX-License-Identifier: Apache-2.0 */
/* netpool.c - segment-id pools in the store (netpool.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <trellis/name.h>

#include "netpool.h"

struct range {
	int64_t id, first, last;
	char mode[8];
};

static int db_fail(trellis_call_t *call, struct tr_sql *db, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "netpool: %s: %s", what,
			   tr_sql_errmsg(db));
}

/* A segment name: the SDK's rule, and at most 64 characters (the bridge
 * plugin's limit: a segment's name goes into interface aliases). */
static int name_ok(const char *s)
{
	return trellis_name_ok(s) && strlen(s) <= 64;
}

static const char *mode_of(const char *m, int64_t *max)
{
	if (m && !strcmp(m, "vxlan")) {
		*max = 16777215;
		return "vxlan";
	}
	if (m && !strcmp(m, "vlan")) {
		*max = 4094;
		return "vlan";
	}
	return NULL;
}

/* 1 found (r filled), 0 not, or an error. */
static int find_pool(struct tr_sql *db, const char *name, struct range *r,
		     trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT id, mode, first, last FROM netpool "
			   "WHERE name = ?1",
			   &st) != 0)
		return db_fail(call, db, "lookup");
	tr_sql_bind_text(st, 1, name);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW) {
		r->id = tr_sql_column_int64(st, 0);
		snprintf(r->mode, sizeof r->mode, "%s",
			 tr_sql_column_text(st, 1));
		r->first = tr_sql_column_int64(st, 2);
		r->last = tr_sql_column_int64(st, 3);
		rc = 1;
	} else {
		rc = rc == TR_SQL_DONE ? 0 : db_fail(call, db, "lookup");
	}
	tr_sql_finalize(st);
	return rc;
}

static int need_pool(struct tr_sql *db, const char *name, struct range *r,
		     trellis_call_t *call)
{
	int rc = find_pool(db, name, r, call);
	if (rc == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "no segment-id pool '%s'", name ? name : "");
	return rc < 0 ? rc : 0;
}

static int64_t count_used(struct tr_sql *db, int64_t pool_id)
{
	struct tr_sql_stmt *st = NULL;
	int64_t n = -1;
	if (tr_sql_prepare(db,
			   "SELECT COUNT(*) FROM netpool_id WHERE pool_id "
			   "= ?1",
			   &st) != 0)
		return -1;
	tr_sql_bind_int64(st, 1, pool_id);
	if (tr_sql_step(st) == TR_SQL_ROW)
		n = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return n;
}

static json_t *pool_json(struct tr_sql *db, const char *name,
			 const struct range *r)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", name, "mode",
			 r->mode, "first", (json_int_t)r->first, "last",
			 (json_int_t)r->last, "size",
			 (json_int_t)(r->last - r->first + 1), "used",
			 (json_int_t)count_used(db, r->id));
}

int tr_netpool_create(struct tr_store *s, const char *name, const char *mode,
		      int64_t first, int64_t last, json_t **out,
		      trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	int64_t max;
	const char *m = mode_of(mode, &max);
	struct range r;
	if (out)
		*out = NULL;
	if (!name_ok(name))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "invalid pool name '%s': use 1-64 of "
				   "[A-Za-z0-9._-]",
				   name ? name : "");
	if (!m)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "pool '%s': mode must be vxlan or vlan, got "
				   "'%s'",
				   name, mode ? mode : "");
	if (first < 1 || last > max || first > last)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "pool '%s': range %" PRId64 "-%" PRId64
				   " is not within %s ids 1-%" PRId64
				   " (first <= last)",
				   name, first, last, m, max);
	int rc = find_pool(db, name, &r, call);
	if (rc < 0)
		return rc;
	if (rc)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "segment-id pool '%s' already exists", name);
	/* Overlapping ranges of one mode would hand out an id twice. */
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT name, first, last FROM netpool WHERE "
			   "mode = ?1 AND first <= ?3 AND last >= ?2",
			   &st) != 0)
		return db_fail(call, db, "create");
	tr_sql_bind_text(st, 1, m);
	tr_sql_bind_int64(st, 2, first);
	tr_sql_bind_int64(st, 3, last);
	if (tr_sql_step(st) == TR_SQL_ROW) {
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "pool '%s': range %" PRId64 "-%" PRId64
				 " overlaps pool '%s' (%lld-%lld)",
				 name, first, last, tr_sql_column_text(st, 0),
				 (long long)tr_sql_column_int64(st, 1),
				 (long long)tr_sql_column_int64(st, 2));
		tr_sql_finalize(st);
		return rc;
	}
	tr_sql_finalize(st);
	if (tr_sql_prepare(db,
			   "INSERT INTO netpool (name, mode, first, last, "
			   "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			   &st) != 0)
		return db_fail(call, db, "create");
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, m);
	tr_sql_bind_int64(st, 3, first);
	tr_sql_bind_int64(st, 4, last);
	tr_sql_bind_int64(st, 5, (int64_t)time(NULL));
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_fail(call, db, "create");
	return out ? tr_netpool_get(s, name, out, call) : 0;
}

int tr_netpool_get(struct tr_store *s, const char *name, json_t **out,
		   trellis_call_t *call)
{
	struct range r;
	*out = NULL;
	int rc = need_pool(tr_store_sql(s), name, &r, call);
	if (rc)
		return rc;
	*out = pool_json(tr_store_sql(s), name, &r);
	return 0;
}

int tr_netpool_list(struct tr_store *s, json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	*out = NULL;
	if (tr_sql_prepare(db,
			   "SELECT id, mode, first, last, name FROM "
			   "netpool ORDER BY name",
			   &st) != 0)
		return db_fail(call, db, "list");
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		struct range r = {.id = tr_sql_column_int64(st, 0),
				  .first = tr_sql_column_int64(st, 2),
				  .last = tr_sql_column_int64(st, 3)};
		snprintf(r.mode, sizeof r.mode, "%s",
			 tr_sql_column_text(st, 1));
		json_array_append_new(
		    items, pool_json(db, tr_sql_column_text(st, 4), &r));
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_fail(call, db, "list");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

int tr_netpool_delete(struct tr_store *s, const char *name,
		      trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct range r;
	int rc = need_pool(db, name, &r, call);
	if (rc)
		return rc;
	int64_t used = count_used(db, r.id);
	if (used)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "segment-id pool '%s' still has %" PRId64
				   " id(s) in use; delete those networks first",
				   name, used);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "DELETE FROM netpool WHERE id = ?1", &st) != 0)
		return db_fail(call, db, "delete");
	tr_sql_bind_int64(st, 1, r.id);
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : db_fail(call, db, "delete");
}

/* The id segment holds in pool: 1 (in *id), 0 none, or an error. */
static int held(struct tr_sql *db, int64_t pool_id, const char *segment,
		uint32_t *id, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT seg_id FROM netpool_id WHERE pool_id = "
			   "?1 AND segment = ?2",
			   &st) != 0)
		return db_fail(call, db, "alloc");
	tr_sql_bind_int64(st, 1, pool_id);
	tr_sql_bind_text(st, 2, segment);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW) {
		*id = (uint32_t)tr_sql_column_int64(st, 0);
		rc = 1;
	} else {
		rc = rc == TR_SQL_DONE ? 0 : db_fail(call, db, "alloc");
	}
	tr_sql_finalize(st);
	return rc;
}

int tr_netpool_alloc(struct tr_store *s, const char *pool, const char *segment,
		     uint32_t *id, const char **mode, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct range r;
	static const char *const modes[] = {"vxlan", "vlan"};
	if (!name_ok(segment))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "invalid segment name '%s'",
				   segment ? segment : "");
	int rc = need_pool(db, pool, &r, call);
	if (rc)
		return rc;
	if (mode)
		*mode = strcmp(r.mode, "vlan") ? modes[0] : modes[1];
	rc = held(db, r.id, segment, id, call);
	if (rc)
		return rc < 0 ? rc : 0;
	/* The lowest free id: the range's first, or one past a used id
	 * whose successor is free. */
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM netpool_id "
		"WHERE pool_id = ?1 AND seg_id = ?2) THEN ?2 ELSE "
		"(SELECT MIN(a.seg_id + 1) FROM netpool_id a WHERE "
		"a.pool_id = ?1 AND a.seg_id + 1 <= ?3 AND NOT EXISTS "
		"(SELECT 1 FROM netpool_id b WHERE b.pool_id = ?1 AND "
		"b.seg_id = a.seg_id + 1)) END",
		&st) != 0)
		return db_fail(call, db, "alloc");
	tr_sql_bind_int64(st, 1, r.id);
	tr_sql_bind_int64(st, 2, r.first);
	tr_sql_bind_int64(st, 3, r.last);
	rc = tr_sql_step(st);
	int free_found =
	    rc == TR_SQL_ROW && tr_sql_column_type(st, 0) != TR_SQL_NULL;
	int64_t next = free_found ? tr_sql_column_int64(st, 0) : 0;
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW)
		return db_fail(call, db, "alloc");
	if (!free_found)
		return tr_call_set(call, TRELLIS_E_NOSPACE,
				   "no free segment id in pool %s (range "
				   "%" PRId64 "-%" PRId64 ", all %" PRId64
				   " in use)",
				   pool, r.first, r.last, r.last - r.first + 1);
	if (tr_sql_prepare(db,
			   "INSERT INTO netpool_id (pool_id, seg_id, "
			   "segment, created_at) VALUES (?1, ?2, ?3, ?4)",
			   &st) != 0)
		return db_fail(call, db, "alloc");
	tr_sql_bind_int64(st, 1, r.id);
	tr_sql_bind_int64(st, 2, next);
	tr_sql_bind_text(st, 3, segment);
	tr_sql_bind_int64(st, 4, (int64_t)time(NULL));
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_fail(call, db, "alloc");
	*id = (uint32_t)next;
	return 0;
}

int tr_netpool_release(struct tr_store *s, const char *pool,
		       const char *segment, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct range r;
	int rc = find_pool(db, pool, &r, call);
	if (rc <= 0)
		return rc; /* no pool, nothing held */
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "DELETE FROM netpool_id WHERE pool_id = ?1 AND "
			   "segment = ?2",
			   &st) != 0)
		return db_fail(call, db, "release");
	tr_sql_bind_int64(st, 1, r.id);
	tr_sql_bind_text(st, 2, segment ? segment : "");
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : db_fail(call, db, "release");
}
