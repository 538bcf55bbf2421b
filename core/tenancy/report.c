/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c - chargeback and utilisation (tenancy.h).  Chargeback reads
 * the recorded intervals (vm_usage, alloc_usage: migration bu-0004-usage)
 * clipped to the period, sums unit-seconds in integers and prices them
 * in micro-units with 128-bit arithmetic, so that a line's amount is the
 * exact product rounded once, half up, to the cent.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../placement/claims.h"
#include "../store/sql.h"
#include "../store/store.h"
#include "tenancy.h"

static int db_error(struct tr_sql *db, trellis_call_t *call)
{
	return tr_call_set(call, TRELLIS_E_IO, "report: %s", tr_sql_errmsg(db));
}

/* "1234.56" from cents. */
static json_t *money(long long cents)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "",
		 (cents < 0 ? -cents : cents) / 100,
		 (cents < 0 ? -cents : cents) % 100);
	return json_string(buf);
}

/* unit-seconds (times 1/div) as unit-hours with 6 decimals. */
static json_t *hours(long long unit_s, long long div)
{
	__int128 micro = ((__int128)unit_s * 1000000 + (3600 * div) / 2) /
			 (3600 * div);
	char buf[64];
	snprintf(buf, sizeof buf, "%lld.%06lld", (long long)(micro / 1000000),
		 (long long)(micro % 1000000));
	return json_string(buf);
}

/* price (micro-units per unit-hour) x unit_s / div, in cents, rounded
 * half up. */
static long long cents(long long price, long long unit_s, long long div)
{
	__int128 num = (__int128)price * unit_s;
	__int128 den = (__int128)3600 * div * 10000;
	return (long long)((num + den / 2) / den);
}

static json_t *price_str(long long micro)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%lld.%06lld", micro / 1000000,
		 micro % 1000000);
	return json_string(buf);
}

static void line(json_t *items, const char *bu, const char *basis,
		 const char *resource, long long unit_s, long long div,
		 long long price, long long *total)
{
	long long c = cents(price, unit_s, div);
	*total += c;
	json_array_append_new(
	    items, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "bu", bu, "basis",
			     basis, "resource", resource, "quantity",
			     hours(unit_s, div), "unit_price", price_str(price),
			     "amount", money(c)));
}

/* Seconds of [a, b) (b NULL: still open, so now) inside [from, to). */
#define CLIP_END                                                               \
	"(CASE WHEN COALESCE(ended_at, ?4) < ?3 THEN COALESCE(ended_at, ?4) "  \
	"ELSE ?3 END)"
#define CLIP_START "(CASE WHEN started_at > ?2 THEN started_at ELSE ?2 END)"
/* (the scalar MAX and MIN are SQLite's: CASE is both engines') */
#define CLIP                                                                   \
	"(CASE WHEN " CLIP_END " > " CLIP_START " THEN " CLIP_END              \
	" - " CLIP_START " ELSE 0 END)"

/* Runs a query of n sums over the intervals of BU ?1 clipped to [?2, ?3)
 * (open ones end at ?4): 0 with out[0..n), or -1. */
static int sums(struct tr_sql *db, const char *sql, const char *bu,
		long long from, long long to, long long now, long long *out,
		int n)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return -1;
	tr_sql_bind_text_copy(st, 1, bu);
	tr_sql_bind_int64(st, 2, from);
	tr_sql_bind_int64(st, 3, to);
	tr_sql_bind_int64(st, 4, now);
	int ok = tr_sql_step(st) == TR_SQL_ROW;
	for (int i = 0; ok && i < n; i++)
		out[i] = tr_sql_column_int64(st, i);
	tr_sql_finalize(st);
	return ok ? 0 : -1;
}

static int one_bu(struct tr_sql *db, const struct tr_prices *p, const char *bu,
		  long long from, long long to, json_t *items, json_t *totals,
		  trellis_call_t *call)
{
	long long now = (long long)time(NULL);
	struct tr_sql_stmt *st = NULL;
	long long res = 0, use = 0;
	long long r[4], u[3];
	/* Reservation: what the BU's allocations reserved. */
	if (sums(db, "SELECT COALESCE(SUM(vcpus * " CLIP "), 0), "
		     "COALESCE(SUM(memory_mib * " CLIP "), 0), "
		     "COALESCE(SUM(storage_gib * " CLIP "), 0), "
		     "COALESCE(SUM(segments * " CLIP "), 0) FROM alloc_usage "
		     "WHERE tenant = ?1",
		 bu, from, to, now, r, 4))
		return db_error(db, call);
	line(items, bu, "reservation", "vcpu", r[0], 1, p->vcpu_hour, &res);
	line(items, bu, "reservation", "memory_gib", r[1], 1024,
	     p->memory_gib_hour, &res);
	line(items, bu, "reservation", "storage_gib", r[2], 1,
	     p->storage_gib_hour, &res);
	line(items, bu, "reservation", "segment", r[3], 1, p->segment_hour,
	     &res);
	/* Allocation: what its VMs used, over their recorded lives. */
	if (sums(db, "SELECT COALESCE(SUM(vcpus * " CLIP "), 0), "
		     "COALESCE(SUM(memory_mib * " CLIP "), 0), "
		     "COALESCE(SUM(disk_gib * " CLIP "), 0) FROM vm_usage "
		     "WHERE tenant = ?1",
		 bu, from, to, now, u, 3))
		return db_error(db, call);
	line(items, bu, "allocation", "vcpu", u[0], 1, p->vcpu_hour, &use);
	line(items, bu, "allocation", "memory_gib", u[1], 1024,
	     p->memory_gib_hour, &use);
	line(items, bu, "allocation", "storage_gib", u[2], 1,
	     p->storage_gib_hour, &use);
	for (size_t t = 0; t < p->ntemplates; t++) {
		if (tr_sql_prepare(db,
				   "SELECT COALESCE(SUM(" CLIP "), 0) FROM "
				   "vm_usage WHERE tenant = ?1 AND template "
				   "= ?5",
				   &st) != 0)
			return db_error(db, call);
		tr_sql_bind_text_copy(st, 1, bu);
		tr_sql_bind_int64(st, 2, from);
		tr_sql_bind_int64(st, 3, to);
		tr_sql_bind_int64(st, 4, now);
		tr_sql_bind_text_copy(st, 5, p->templates[t].name);
		long long s = tr_sql_step(st) == TR_SQL_ROW
				  ? tr_sql_column_int64(st, 0)
				  : 0;
		tr_sql_finalize(st);
		char res_name[96];
		snprintf(res_name, sizeof res_name, "template:%s",
			 p->templates[t].name);
		line(items, bu, "allocation", res_name, s, 1,
		     p->templates[t].hour, &use);
	}
	json_array_append_new(totals,
			      json_pack("{s:s, s:o, s:o, s:o}", "bu", bu,
					"reservation", money(res), "allocation",
					money(use), "total", money(res + use)));
	return 0;
}

int tr_report_chargeback(struct tr_store *s, const struct tr_prices *p,
			 const char *bu, long long from, long long to,
			 json_t **out, trellis_call_t *call)
{
	if (to <= from)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "report: the period must end after it "
				   "starts (from %lld, to %lld)",
				   from, to);
	struct tr_sql *db = tr_store_sql(s);
	json_t *items = json_array(), *totals = json_array();
	int rc = 0;
	if (bu) {
		if (tr_store_id(s, TR_KIND_TENANT, bu, call) < 0)
			rc = call->code;
		else
			rc = one_bu(db, p, bu, from, to, items, totals, call);
	} else {
		struct tr_sql_stmt *st = NULL;
		if (tr_sql_prepare(db, "SELECT name FROM tenant ORDER BY name",
				   &st) != 0)
			rc = db_error(db, call);
		while (!rc && tr_sql_step(st) == TR_SQL_ROW)
			rc = one_bu(db, p, tr_sql_column_text(st, 0), from, to,
				    items, totals, call);
		tr_sql_finalize(st);
	}
	if (rc) {
		json_decref(items);
		json_decref(totals);
		return rc;
	}
	*out = json_pack("{s:s, s:I, s:I, s:o, s:o}", "currency", p->currency,
			 "from", (json_int_t)from, "to", (json_int_t)to, "items",
			 items, "totals", totals);
	return 0;
}

int tr_report_utilization(struct tr_store *s, const char *bu, json_t **out,
			  trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT t.name, a.vcpus, a.memory_mib, a.storage_gib, "
		"a.segments, (SELECT COUNT(*) FROM segment g WHERE g.tenant_id "
		"= t.id) FROM tenant t LEFT JOIN allocation a ON a.tenant_id = "
		"t.id AND a.state = 'active' WHERE CAST(?1 AS TEXT) IS NULL OR "
		"t.name = ?1 "
		"ORDER BY t.name",
		&st) != 0)
		return db_error(db, call);
	if (bu)
		tr_sql_bind_text_copy(st, 1, bu);
	json_t *items = json_array();
	static const char *const res[] = {"vcpus", "memory_mib", "storage_gib",
					  "segments"};
	while (tr_sql_step(st) == TR_SQL_ROW) {
		const char *name = tr_sql_column_text(st, 0);
		struct tr_claim u;
		trellis_call_t tmp;
		tr_call_init(&tmp, NULL);
		if (tr_claims_tenant_use(db, name, NULL, &u, &tmp))
			memset(&u, 0, sizeof u);
		long long used[4] = {u.vcpus, (long long)u.memory_mib,
				     (long long)u.disk_gib,
				     tr_sql_column_int64(st, 5)};
		for (int i = 0; i < 4; i++) {
			int has = tr_sql_column_type(st, 1 + i) != TR_SQL_NULL;
			long long a = tr_sql_column_int64(st, 1 + i);
			json_array_append_new(
			    items,
			    json_pack("{s:s, s:s, s:o, s:I, s:o}", "bu", name,
				      "resource", res[i], "allocated",
				      has ? json_integer(a) : json_null(),
				      "used", (json_int_t)used[i], "percent",
				      has && a > 0
					  ? json_real((double)(used[i] * 1000 /
							       a) /
						      10.0)
					  : json_null()));
		}
	}
	tr_sql_finalize(st);
	*out = json_pack("{s:o}", "items", items);
	return 0;
}
