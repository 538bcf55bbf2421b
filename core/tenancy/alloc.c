/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc.c - allocations: the part of the data center a business unit
 * asked for and the data center granted (tenancy.h).  A request is
 * checked against the capacity nobody else holds; granting one makes it
 * the BU's quota (so the BU can never use more than it was given, and
 * the claim's INSERT enforces it) and makes its network segments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../netpool/netpool.h"
#include "../placement/claims.h"
#include "../store/sql.h"
#include "../store/store.h"
#include "tenancy.h"

#define ACOLS                                                                  \
	"a.name, (SELECT name FROM tenant t WHERE t.id = a.tenant_id), a.kind, " \
	"a.changes, CASE WHEN a.state = 'provisioning' AND EXISTS (SELECT 1 "   \
	"FROM wf_instance w WHERE w.id = a.instance AND w.state IN "           \
	"('failed','cancelled','compensated')) THEN 'failed' ELSE a.state END, " \
	"a.vcpus, a.memory_mib, a.storage_gib, a.pool, a.segments, a.netpool, " \
	"a.requested_by, a.decided_by, a.reason, a.instance, a.created_at, "   \
	"a.decided_at, a.zone, a.hosts, a.clusters"

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

static json_t *text(struct tr_sql_stmt *st, int i)
{
	const char *t = tr_sql_column_text(st, i);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *alloc_json(struct tr_sql_stmt *st)
{
	static const char *const names[] = {
	    "name",	 "bu",		 "kind",	 "changes",
	    "state",	 "vcpus",	 "memory_mib",	 "storage_gib",
	    "pool",	 "segments",	 "netpool",	 "requested_by",
	    "decided_by", "reason",	 "instance",	 "created_at",
	    "decided_at", "zone"};
	json_t *o = json_object();
	/* hosts, clusters: JSON lists, left out when none. */
	for (int i = 18; i < 20; i++) {
		const char *t = tr_sql_column_text(st, i);
		json_t *l = t ? json_loads((const char *)t, 0, NULL) : NULL;
		if (l)
			json_object_set_new(o, i == 18 ? "hosts" : "clusters", l);
	}
	for (int i = 0; i < 18; i++) {
		int t = tr_sql_column_type(st, i);
		json_object_set_new(
		    o, names[i],
		    t == TR_SQL_INTEGER
			? json_integer(tr_sql_column_int64(st, i))
			: text(st, i));
	}
	return o;
}

int tr_alloc_get(struct tr_store *s, const char *name, json_t **out,
		 trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " ACOLS " FROM allocation a WHERE name = ?1",
			   &st) != 0)
		return db_error(db, call, "allocations");
	tr_sql_bind_text_copy(st, 1, name);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW)
		*out = alloc_json(st);
	else if (rc == TR_SQL_DONE)
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "allocation '%s' not found", name);
	else
		ret = db_error(db, call, "allocations");
	tr_sql_finalize(st);
	return ret;
}

int tr_alloc_list(struct tr_store *s, const char *bu, json_t **out,
		  trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT " ACOLS " FROM allocation a WHERE CAST(?1 AS "
		"TEXT) IS NULL OR a.tenant_id = (SELECT id FROM tenant "
		"WHERE name = ?1) ORDER BY a.id",
		&st) != 0)
		return db_error(db, call, "allocations");
	if (bu)
		tr_sql_bind_text_copy(st, 1, bu);
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, alloc_json(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_error(db, call, "allocations");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

/* The BU's active allocation into *out (NULL when none): 0 or error. */
static int active_of(struct tr_sql *db, int64_t bu_id, json_t **out,
		     trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	*out = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " ACOLS " FROM allocation a WHERE "
			   "tenant_id = ?1 AND state = 'active'",
			   &st) != 0)
		return db_error(db, call, "allocations");
	tr_sql_bind_int64(st, 1, bu_id);
	if (tr_sql_step(st) == TR_SQL_ROW)
		*out = alloc_json(st);
	tr_sql_finalize(st);
	return 0;
}

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* What the BU uses now: its claims (vcpus, memory, disk) and its
 * segments. */
static int bu_use(struct tr_sql *db, const char *bu, long long use[4],
		  trellis_call_t *call)
{
	struct tr_claim u;
	int rc = tr_claims_tenant_use(db, bu, NULL, &u, call);
	if (rc)
		return rc;
	use[0] = u.vcpus;
	use[1] = (long long)u.memory_mib;
	use[2] = (long long)u.disk_gib;
	struct tr_sql_stmt *st = NULL;
	use[3] = 0;
	if (tr_sql_prepare(db,
			   "SELECT COUNT(*) FROM segment WHERE tenant_id = "
			   "(SELECT id FROM tenant WHERE name = ?1)",
			   &st) == 0) {
		tr_sql_bind_text_copy(st, 1, bu);
		if (tr_sql_step(st) == TR_SQL_ROW)
			use[3] = tr_sql_column_int64(st, 0);
	}
	tr_sql_finalize(st);
	return 0;
}

static const char *const what[] = {"vcpus", "memory (MiB)", "storage (GiB)",
				   "network segments"};

int tr_alloc_request(struct tr_store *s, const char *bu, json_t *f,
		     const char *by, int change, json_t **out,
		     trellis_call_t *call)
{
	int64_t bu_id = tr_store_id(s, TR_KIND_TENANT, bu, call);
	if (bu_id < 0)
		return (int)bu_id; /* an unregistered BU: nothing stored */
	struct tr_sql *db = tr_store_sql(s);
	long long want[4] = {jint(f, "vcpus"), jint(f, "memory_mib"),
			     jint(f, "storage_gib"), jint(f, "segments")};
	for (int i = 0; i < 4; i++)
		if (want[i] < 0)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "allocation for '%s': %s must be "
					   ">= 0",
					   bu, what[i]);
	const char *pool = json_string_value(json_object_get(f, "pool"));
	const char *netpool = json_string_value(json_object_get(f, "netpool"));
	const char *zone = json_string_value(json_object_get(f, "zone"));
	if (zone && tr_store_id(s, TR_KIND_ZONE, zone, call) < 0)
		return call->code;
	if (tr_dedicate_normalize(s, bu, f, call))
		return call->code;
	if (want[2] && !pool)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "allocation for '%s': storage needs a pool",
				   bu);
	if (want[3] && !netpool)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "allocation for '%s': network segments need "
				   "a netpool (segment-id pool)",
				   bu);
	json_t *act = NULL;
	int rc = active_of(db, bu_id, &act, call);
	if (rc)
		return rc;
	if (change && !act)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "business unit '%s' has no active "
				   "allocation to change (request one)",
				   bu);
	if (change) {
		/* Shrinking below what is in use is refused, naming it. */
		long long use[4];
		if ((rc = bu_use(db, bu, use, call))) {
			json_decref(act);
			return rc;
		}
		for (int i = 0; i < 4; i++)
			if (want[i] < use[i]) {
				json_decref(act);
				return tr_call_set(
				    call, TRELLIS_E_CONFLICT,
				    "allocation for '%s' cannot shrink %s to "
				    "%lld: %lld in use",
				    bu, what[i], want[i], use[i]);
			}
	}
	struct tr_sql_stmt *st = NULL;
	char name[128];
	long long n = 1;
	if (tr_sql_prepare(db,
			   "SELECT COUNT(*) + 1 FROM allocation WHERE "
			   "tenant_id = ?1",
			   &st) == 0) {
		tr_sql_bind_int64(st, 1, bu_id);
		if (tr_sql_step(st) == TR_SQL_ROW)
			n = tr_sql_column_int64(st, 0);
	}
	tr_sql_finalize(st);
	snprintf(name, sizeof name, "%s-%lld", bu, n);
	if (tr_sql_prepare(
		db,
		"INSERT INTO allocation (name, tenant_id, kind, changes, "
		"state, "
		"vcpus, memory_mib, storage_gib, pool, segments, netpool, "
		"requested_by, created_at, zone, hosts, clusters) VALUES (?1, "
		"?2, ?3, ?4, 'requested', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		"?13, ?14, ?15)",
		&st) != 0) {
		json_decref(act);
		return db_error(db, call, "allocations");
	}
	tr_sql_bind_text_copy(st, 1, name);
	tr_sql_bind_int64(st, 2, bu_id);
	tr_sql_bind_text(st, 3, change ? "change" : "initial");
	if (act)
		tr_sql_bind_text_copy(
		    st, 4, json_string_value(json_object_get(act, "name")));
	for (int i = 0; i < 3; i++)
		tr_sql_bind_int64(st, 5 + i, want[i]);
	if (pool)
		tr_sql_bind_text_copy(st, 8, pool);
	tr_sql_bind_int64(st, 9, want[3]);
	if (netpool)
		tr_sql_bind_text_copy(st, 10, netpool);
	tr_sql_bind_text_copy(st, 11, by ? by : "?");
	tr_sql_bind_int64(st, 12, (int64_t)time(NULL));
	if (zone)
		tr_sql_bind_text_copy(st, 13, zone);
	for (int k = 0; k < 2; k++) {
		json_t *l = json_object_get(f, k ? "clusters" : "hosts");
		if (l) {
			char *t = json_dumps(l, JSON_COMPACT);
			tr_sql_bind_text_copy(st, 14 + k, t);
			free(t);
		}
	}
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	json_decref(act);
	if (rc != TR_SQL_DONE)
		return db_error(db, call, "allocations");
	return tr_alloc_get(s, name, out, call);
}

/* One number from a query with at most one text parameter ?1 (NULL:
 * none). */
static long long scalar(struct tr_sql *db, const char *sql, const char *a)
{
	struct tr_sql_stmt *st = NULL;
	long long v = 0;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return 0;
	if (a)
		tr_sql_bind_text_copy(st, 1, a);
	if (tr_sql_step(st) == TR_SQL_ROW)
		v = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return v;
}

int tr_alloc_check(struct tr_store *s, json_t *a, json_t **details,
		   trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	const char *bu = json_string_value(json_object_get(a, "bu"));
	const char *pool = json_string_value(json_object_get(a, "pool"));
	const char *netpool = json_string_value(json_object_get(a, "netpool"));
	/* Held by the other BUs' active allocations. */
	static const char held_sql[] =
	    "SELECT COALESCE(SUM(%s), 0) FROM allocation WHERE state IN "
	    "('active', 'provisioning') AND tenant_id != (SELECT id FROM "
	    "tenant WHERE name = ?1)";
	char q[512];
	long long total[4], held[4], want[4] = {
		jint(a, "vcpus"), jint(a, "memory_mib"), jint(a, "storage_gib"),
		jint(a, "segments")};
	total[0] = scalar(db, "SELECT COALESCE(SUM(cpus), 0) FROM host", NULL);
	total[1] = scalar(db,
			  "SELECT COALESCE(SUM(memory_kib), 0) / 1024 FROM host",
			  NULL);
	/* A pool's capacity, when its record knows it (spec.capacity_gib,
	 * or the plugin's last report in spec.capacity_bytes). */
	total[2] =
	    pool ? scalar(db,
			  tr_sql_pick(db,
				      "SELECT COALESCE(json_extract(spec, "
				      "'$.capacity_gib'), json_extract(spec, "
				      "'$.capacity_bytes') / 1073741824, -1) "
				      "FROM pool WHERE name = ?1",
				      "SELECT COALESCE((spec::jsonb ->> "
				      "'capacity_gib')::numeric, "
				      "(spec::jsonb ->> 'capacity_bytes')"
				      "::numeric / 1073741824, -1)::bigint "
				      "FROM pool WHERE name = ?1"),
			  pool)
		 : 0;
	total[3] = netpool ? scalar(db,
				    "SELECT last - first + 1 - (SELECT COUNT(*) "
				    "FROM netpool_id WHERE pool_id = "
				    "netpool.id) FROM netpool WHERE name = ?1",
				    netpool)
			   : 0;
	snprintf(q, sizeof q, held_sql, "vcpus");
	held[0] = scalar(db, q, bu);
	snprintf(q, sizeof q, held_sql, "memory_mib");
	held[1] = scalar(db, q, bu);
	/* Compute also held by the claims no allocation covers (VMs
	 * without a BU, or of a BU without an allocation), as the claim's
	 * statement counts it (TR_ALLOC_HELD in claims.h). */
	int64_t left[2];
	int any = 0;
	trellis_call_t tmp0;
	tr_call_init(&tmp0, NULL);
	if (tr_claims_unreserved(db, bu, &left[0], &left[1], &any, &tmp0) ==
	    0) {
		static const char own_sql[] =
		    "SELECT COALESCE(SUM(a.%s), 0) FROM allocation a WHERE "
		    TR_ALLOC_LIVE " AND a.tenant_id = (SELECT id FROM tenant "
		    "WHERE name = ?1)";
		for (int i = 0; i < 2; i++) {
			snprintf(q, sizeof q, own_sql,
				 i ? "memory_mib" : "vcpus");
			long long h = total[i] - (left[i] + scalar(db, q, bu));
			if (h > held[i])
				held[i] = h;
		}
	}
	held[2] = 0;
	if (pool && total[2] >= 0) {
		struct tr_sql_stmt *st = NULL;
		if (tr_sql_prepare(
			db,
			"SELECT COALESCE(SUM(storage_gib), 0) FROM allocation "
			"WHERE state IN ('active', 'provisioning') AND "
			"tenant_id != (SELECT id FROM tenant WHERE name = ?1) "
			"AND pool = ?2",
			&st) == 0) {
			tr_sql_bind_text_copy(st, 1, bu);
			tr_sql_bind_text_copy(st, 2, pool);
			if (tr_sql_step(st) == TR_SQL_ROW)
				held[2] = tr_sql_column_int64(st, 0);
		}
		tr_sql_finalize(st);
	}
	/* Segments already made are gone from the netpool's free ids; the
	 * BU's own (a change) come back to it. */
	held[3] = 0;
	long long own_segs = netpool ? scalar(db,
					      "SELECT COUNT(*) FROM segment "
					      "WHERE tenant_id = (SELECT id "
					      "FROM tenant WHERE name = ?1)",
					      bu)
				     : 0;
	total[3] += own_segs;
	char msg[1024] = "";
	size_t len = 0;
	json_t *short_ = json_array();
	for (int i = 0; i < 4; i++) {
		if (i == 2 && (!pool || total[2] < 0))
			continue; /* capacity unknown: not checked */
		if (i == 3 && !netpool)
			continue;
		long long free_ = total[i] - held[i];
		if (want[i] <= free_)
			continue;
		len += (size_t)snprintf(msg + len, sizeof msg - len,
					"%s%s: requested %lld, free %lld "
					"(short by %lld)",
					len ? "; " : "", what[i], want[i],
					free_ < 0 ? 0 : free_,
					want[i] - (free_ < 0 ? 0 : free_));
		json_array_append_new(
		    short_, json_pack("{s:s, s:I, s:I, s:I}", "what", what[i],
				      "requested", (json_int_t)want[i], "free",
				      (json_int_t)(free_ < 0 ? 0 : free_),
				      "short", (json_int_t)(want[i] - (free_ < 0 ? 0 : free_))));
		if (len >= sizeof msg)
			len = sizeof msg - 1;
	}
	const char *zone = json_string_value(json_object_get(a, "zone"));
	json_t *z = NULL;
	trellis_call_t tmp;
	tr_call_init(&tmp, NULL);
	if (zone && tr_store_get(s, TR_KIND_ZONE, zone, &z, &tmp) == 0) {
		const char *owner = json_string_value(json_object_get(z, "owner"));
		if (owner && strcmp(owner, bu) != 0) {
			len += (size_t)snprintf(
			    msg + len, sizeof msg - len,
			    "%szone %s: dedicated to business unit '%s' already",
			    len ? "; " : "", zone, owner);
			json_array_append_new(
			    short_, json_pack("{s:s, s:s}", "what", "zone",
					      "owner", owner));
		}
	}
	json_decref(z);
	if (len >= sizeof msg)
		len = sizeof msg - 1;
	tr_dedicate_check(s, a, msg, sizeof msg, &len, short_);
	if (!json_array_size(short_)) {
		json_decref(short_);
		return 0;
	}
	if (details)
		*details = json_pack("{s:o}", "short", short_);
	else
		json_decref(short_);
	return tr_call_set(call, TRELLIS_E_NOSPACE,
			   "allocation '%s' cannot be approved: %s",
			   json_string_value(json_object_get(a, "name")), msg);
}

int tr_alloc_decide(struct tr_store *s, const char *name, const char *state,
		    const char *by, const char *reason, const char *instance,
		    trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "UPDATE allocation SET state = COALESCE(?2, "
			   "state), decided_by = "
			   "COALESCE(?3, decided_by), reason = COALESCE(?4, "
			   "reason), instance = COALESCE(?5, instance), "
			   "decided_at = ?6 WHERE name = ?1",
			   &st) != 0)
		return db_error(db, call, "allocations");
	tr_sql_bind_text_copy(st, 1, name);
	if (state)
		tr_sql_bind_text_copy(st, 2, state);
	if (by)
		tr_sql_bind_text_copy(st, 3, by);
	if (reason)
		tr_sql_bind_text_copy(st, 4, reason);
	if (instance)
		tr_sql_bind_text_copy(st, 5, instance);
	tr_sql_bind_int64(st, 6, (int64_t)time(NULL));
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_error(db, call, "allocations");
	if ((int)tr_sql_changes(db) == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "allocation '%s' not found", name);
	return 0;
}

/* The quota an allocation gives (NULL: none, back to no limits). */
static int quota_from(struct tr_store *s, const char *bu, json_t *a,
		      trellis_call_t *call)
{
	json_t *lim = a ? json_pack("{s:I, s:I, s:I}", "vcpus",
				    (json_int_t)jint(a, "vcpus"), "memory_mib",
				    (json_int_t)jint(a, "memory_mib"),
				    "disk_gib", (json_int_t)jint(a, "storage_gib"))
			: json_pack("{s:i, s:i, s:i}", "vcpus", -1, "memory_mib",
				    -1, "disk_gib", -1);
	int rc = tr_quota_set(s, bu, lim, call);
	json_decref(lim);
	return rc;
}

int tr_alloc_reserve(struct tr_store *s, const char *name, int undo,
		     trellis_call_t *call)
{
	json_t *a = NULL, *prev = NULL;
	int rc = tr_alloc_get(s, name, &a, call);
	if (rc)
		return rc;
	const char *bu = json_string_value(json_object_get(a, "bu"));
	const char *changes =
	    json_string_value(json_object_get(a, "changes"));
	if (changes && tr_alloc_get(s, changes, &prev, call) != 0)
		prev = NULL;
	/* Reserving: the BU's quota is the allocation; undoing: the one it
	 * changes (or none). */
	rc = quota_from(s, bu, undo ? (prev && !strcmp(json_string_value(
						     json_object_get(prev, "state")),
						 "active")
					   ? prev
					   : NULL)
				   : a,
			call);
	json_decref(prev);
	json_decref(a);
	return rc;
}

int tr_alloc_segments(struct tr_store *s, const char *name, int undo,
		      json_t **made, trellis_call_t *call)
{
	json_t *a = NULL;
	int rc = tr_alloc_get(s, name, &a, call);
	if (rc)
		return rc;
	const char *bu = json_string_value(json_object_get(a, "bu"));
	const char *netpool = json_string_value(json_object_get(a, "netpool"));
	long long want = jint(a, "segments");
	json_t *list = json_array();
	for (long long i = 1; !rc && netpool && i <= want; i++) {
		char seg[160];
		snprintf(seg, sizeof seg, "%s-net%lld", bu, i);
		int64_t id = tr_store_id(s, TR_KIND_SEGMENT, seg, call);
		if (undo) {
			/* Only what this allocation made (its spec says). */
			json_t *o = NULL;
			if (id < 0) {
				tr_call_init(call, NULL);
				continue;
			}
			if (tr_store_get(s, TR_KIND_SEGMENT, seg, &o, call) == 0 &&
			    !strcmp(json_string_value(json_object_get(
					json_object_get(o, "spec"), "allocation"))
					? json_string_value(json_object_get(
					      json_object_get(o, "spec"),
					      "allocation"))
					: "",
				    name)) {
				rc = tr_netpool_release(s, netpool, seg, call);
				if (!rc)
					rc = tr_store_delete(s, TR_KIND_SEGMENT,
							     seg, NULL, call);
			}
			json_decref(o);
			continue;
		}
		if (id >= 0) { /* made already (a replay, or a change) */
			json_array_append_new(list, json_string(seg));
			continue;
		}
		tr_call_init(call, NULL);
		uint32_t vni = 0;
		const char *mode = NULL;
		rc = tr_netpool_alloc(s, netpool, seg, &vni, &mode, call);
		if (!rc) {
			json_t *f = json_pack(
			    "{s:s, s:s, s:s, s:I, s:s, s:{s:s, s:s}}", "name", seg,
			    "plugin", "bridge", "type", mode, "vni",
			    (json_int_t)vni, "tenant", bu, "spec", "pool",
			    netpool, "allocation", name);
			rc = tr_store_create(s, TR_KIND_SEGMENT, NULL, f, NULL,
					     call);
			json_decref(f);
		}
		if (!rc)
			json_array_append_new(list, json_string(seg));
	}
	json_decref(a);
	if (made && !rc)
		*made = list;
	else
		json_decref(list);
	return rc;
}

int tr_alloc_zone(struct tr_store *s, const char *name, int undo,
		  trellis_call_t *call)
{
	json_t *a = NULL, *z = NULL, *f = NULL;
	int rc = tr_alloc_get(s, name, &a, call);
	const char *zone = a ? json_string_value(json_object_get(a, "zone")) : NULL;
	if (rc || !zone) {
		json_decref(a);
		return rc;
	}
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (!undo) {
		/* What the zone was, for the undo (kept once: a replay must
		 * not record the dedicated state as the old one). */
		if ((rc = tr_store_get(s, TR_KIND_ZONE, zone, &z, call)))
			goto out;
		json_t *before = json_pack(
		    "{s:O, s:O, s:O, s:O}", "private",
		    json_object_get(z, "private"), "exclusive",
		    json_object_get(z, "exclusive"), "spill",
		    json_object_get(z, "spill"), "owner",
		    json_object_get(z, "owner") ? json_object_get(z, "owner")
						: json_null());
		char *text = json_dumps(before, JSON_COMPACT);
		json_decref(before);
		if (tr_sql_prepare(db,
				   "UPDATE allocation SET zone_before = ?2 "
				   "WHERE name = ?1 AND zone_before IS NULL",
				   &st) == 0) {
			tr_sql_bind_text_copy(st, 1, name);
			tr_sql_bind_text_copy(st, 2, text);
			tr_sql_step(st);
		}
		tr_sql_finalize(st);
		free(text);
		f = json_pack("{s:b, s:b, s:s, s:s}", "private", 1, "exclusive",
			      1, "spill", "allow", "owner",
			      json_string_value(json_object_get(a, "bu")));
	} else {
		const char *t = NULL;
		if (tr_sql_prepare(db,
				   "SELECT zone_before FROM allocation WHERE "
				   "name = ?1",
				   &st) == 0) {
			tr_sql_bind_text_copy(st, 1, name);
			if (tr_sql_step(st) == TR_SQL_ROW)
				t = tr_sql_column_text(st, 0);
			f = t ? json_loads((const char *)t, 0, NULL) : NULL;
		}
		tr_sql_finalize(st);
		if (!f)
			goto out; /* never dedicated: nothing to give back */
	}
	rc = tr_store_update(s, TR_KIND_ZONE, zone, f, NULL, call);
out:
	json_decref(f);
	json_decref(z);
	json_decref(a);
	return rc;
}
