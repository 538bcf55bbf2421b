/* SPDX-License-Identifier: Apache-2.0 */
/* ranges.c - a zone's IP ranges and their overlap rules (ipam.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/cidr.h"
#include "../util/json.h"
#include "ipam.h"
#include "ipam_int.h"

/* ---- ranges ---- */

static json_t *range_row(struct tr_sql_stmt *st)
{
	/* zone, pod, kind, cidr, gateway, first, last, bridge, used */
	char a[TR_IP4_STRLEN], b[TR_IP4_STRLEN];
	tr_ip4_format((uint32_t)tr_sql_column_int64(st, 5), a);
	tr_ip4_format((uint32_t)tr_sql_column_int64(st, 6), b);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "zone",
			      tr_ipam_txt(st, 0), "kind", tr_ipam_txt(st, 2),
			      "cidr", tr_ipam_txt(st, 3), "first", a, "last", b,
			      "used", (json_int_t)tr_sql_column_int64(st, 8));
	if (tr_sql_column_type(st, 1) != TR_SQL_NULL)
		json_object_set_new(o, "pod", json_string(tr_ipam_txt(st, 1)));
	if (tr_sql_column_type(st, 4) != TR_SQL_NULL)
		json_object_set_new(o, "gateway", json_string(tr_ipam_txt(st, 4)));
	if (tr_sql_column_type(st, 7) != TR_SQL_NULL)
		json_object_set_new(o, "bridge", json_string(tr_ipam_txt(st, 7)));
	return o;
}

#define RANGE_SELECT                                                           \
	"SELECT z.name, p.name, r.kind, r.cidr, r.gateway, r.first, r.last,"   \
	" r.bridge, (SELECT COUNT(*) FROM ip_alloc a WHERE a.range_id ="      \
	" r.id) FROM ip_range r JOIN zone z ON z.id = r.zone_id LEFT JOIN pod" \
	" p ON p.id = r.pod_id "

/* "public range 198.51.100.0/24 of zone z1" (pods: "of pod p1 in zone z1") */
static void range_name(char *out, size_t len, const char *kind,
		       const char *cidr, const char *zone, const char *pod)
{
	if (pod && *pod)
		snprintf(out, len, "%s range %s of pod %s in zone %s", kind,
			 cidr, pod, zone);
	else
		snprintf(out, len, "%s range %s of zone %s", kind, cidr, zone);
}

/* The first range that overlaps [first,last] under the rules of kind. */
static int overlap_check(struct tr_sql *db, int64_t zid, const char *kind,
			 uint32_t first, uint32_t last, const char *me,
			 trellis_call_t *call)
{
	/* public: any public anywhere, any range of its zone.  management:
	 * management of its zone, public of its zone.  tenant: public and
	 * tenant of its zone. */
	const char *sql =
	    !strcmp(kind, "public")
		? RANGE_SELECT "WHERE (r.kind = 'public' OR r.zone_id = ?1)"
			       " AND r.net_first <= ?3 AND r.net_last >= ?2"
	    : !strcmp(kind, "management")
		? RANGE_SELECT "WHERE r.zone_id = ?1 AND r.kind IN"
			       " ('management','public') AND r.net_first <= ?3"
			       " AND r.net_last >= ?2"
		: RANGE_SELECT "WHERE r.zone_id = ?1 AND r.kind IN"
			       " ('tenant','public') AND r.net_first <= ?3 AND"
			       " r.net_last >= ?2";
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_ipam_db_fail(call, db, "overlap check");
	tr_sql_bind_int64(st, 1, zid);
	tr_sql_bind_int64(st, 2, first);
	tr_sql_bind_int64(st, 3, last);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW) {
		char other[300];
		range_name(other, sizeof other, tr_ipam_txt(st, 2), tr_ipam_txt(st, 3),
			   tr_ipam_txt(st, 0), tr_ipam_txt(st, 1));
		ret = tr_call_set(call, TRELLIS_E_CONFLICT,
				  "%s overlaps %s: refused", me, other);
	} else if (rc != TR_SQL_DONE) {
		ret = tr_ipam_db_fail(call, db, "overlap check");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_ipam_range_add(struct tr_store *s, json_t *args, json_t **out,
		      trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	const char *zone = S(args, "zone"), *kind = S(args, "kind"),
		   *pod = S(args, "pod"), *gw = S(args, "gateway"),
		   *bridge = S(args, "bridge");
	char err[256], norm[TR_CIDR_STRLEN], me[300], gwn[TR_IP4_STRLEN];
	struct tr_cidr c;
	*out = NULL;
	if (!kind || (strcmp(kind, "public") && strcmp(kind, "management") &&
		      strcmp(kind, "tenant")))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "kind must be public, management or "
				   "tenant, got '%s'",
				   kind ? kind : "");
	if (tr_cidr_parse(S(args, "cidr"), &c, err, sizeof err))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "cidr: %s", err);
	if (c.prefix < 8 || c.prefix > 30)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "cidr: a range is a /8 to a /30, got /%u",
				   c.prefix);
	tr_cidr_format(&c, norm);
	if (!!pod != !strcmp(kind, "management"))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s", pod ? "only a management range "
					       "belongs to a pod"
					     : "a management range needs "
					       "--pod");
	if (bridge && strcmp(kind, "public"))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "only a public range has a bridge");
	if (bridge && (!*bridge || strlen(bridge) > 15 ||
		       strspn(bridge, "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			   strlen(bridge)))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "bridge '%s' is not an interface name",
				   bridge);
	int64_t zid = tr_ipam_zone_id(db, zone, call), pid = 0;
	if (zid < 0)
		return (int)zid;
	if (pod) {
		pid = tr_ipam_row_id(db, "SELECT id FROM pod WHERE name = ?1 AND "
				 "zone_id = (SELECT id FROM zone WHERE name = "
				 "?2)",
			     pod, zone, call);
		if (pid <= 0)
			return pid < 0 ? (int)pid
				       : tr_call_set(call, TRELLIS_E_NOTFOUND,
						     "pod '%s' not found in "
						     "zone '%s'",
						     pod, zone);
	}
	uint32_t nf = c.net, nl = tr_cidr_last(&c);
	/* Usable: without the network and broadcast addresses. */
	uint32_t first = nf + 1, last = nl - 1, g = 0;
	if (S(args, "range") &&
	    tr_ip4_range_parse(S(args, "range"), &first, &last, err, sizeof err))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "range: %s",
				   err);
	if (first <= nf || last >= nl)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "range %s is not inside %s (without its "
				   "network and broadcast addresses)",
				   S(args, "range"), norm);
	if (gw) {
		if (tr_ip4_parse(gw, &g, err, sizeof err))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "gateway: %s", err);
		if (!tr_cidr_contains(&c, g) || g == nf || g == nl)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "gateway %s is not a host address "
					   "of %s",
					   gw, norm);
		tr_ip4_format(g, gwn);
		/* Never hand out the gateway. */
		if (g == first)
			first++;
		else if (g == last)
			last--;
		if (first > last)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "range: nothing is left besides "
					   "the gateway");
	}
	range_name(me, sizeof me, kind, norm, zone, pod);
	int rc = overlap_check(db, zid, kind, nf, nl, me, call);
	if (rc)
		return rc;
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"INSERT INTO ip_range (zone_id, pod_id, kind, cidr, gateway, "
		"first, last, net_first, net_last, bridge, created_at) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		&st) != 0)
		return tr_ipam_db_fail(call, db, "range add");
	tr_sql_bind_int64(st, 1, zid);
	if (pid)
		tr_sql_bind_int64(st, 2, pid);
	tr_sql_bind_text(st, 3, kind);
	tr_sql_bind_text(st, 4, norm);
	if (gw)
		tr_sql_bind_text(st, 5, gwn);
	tr_sql_bind_int64(st, 6, first);
	tr_sql_bind_int64(st, 7, last);
	tr_sql_bind_int64(st, 8, nf);
	tr_sql_bind_int64(st, 9, nl);
	if (bridge)
		tr_sql_bind_text(st, 10, bridge);
	tr_sql_bind_int64(st, 11, (int64_t)time(NULL));
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return tr_ipam_db_fail(call, db, "range add");
	json_t *l = NULL;
	if ((rc = tr_ipam_range_list(s, zone, &l, call)))
		return rc;
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(l, "items"), i, it) if (
	    !strcmp(S(it, "cidr"), norm) && !strcmp(S(it, "kind"), kind))
	{
		*out = json_incref(it);
		break;
	}
	json_decref(l);
	return 0;
}

int tr_ipam_range_list(struct tr_store *s, const char *zone, json_t **out,
		       trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	*out = NULL;
	if (zone && tr_ipam_zone_id(db, zone, call) < 0)
		return call->code;
	if (tr_sql_prepare(db,
			   RANGE_SELECT
			   "WHERE CAST(?1 AS TEXT) IS NULL OR z.name = ?1 "
			   "ORDER BY z.name, r.kind, "
			   "r.net_first",
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "range list");
	if (zone)
		tr_sql_bind_text(st, 1, zone);
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, range_row(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return tr_ipam_db_fail(call, db, "range list");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

int tr_ipam_range_remove(struct tr_store *s, const char *zone,
			 const char *cidr, json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_cidr c;
	char err[256], norm[TR_CIDR_STRLEN];
	*out = NULL;
	if (tr_cidr_parse(cidr, &c, err, sizeof err))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "cidr: %s", err);
	tr_cidr_format(&c, norm);
	int64_t zid = tr_ipam_zone_id(db, zone, call);
	if (zid < 0)
		return (int)zid;
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   tr_sql_pick(db,
				       "SELECT r.id, (SELECT group_concat("
				       "a.owner || ' ' || a.address, ', ') "
				       "FROM (SELECT * FROM ip_alloc WHERE "
				       "range_id = r.id LIMIT 5) a), r.kind "
				       "FROM ip_range r WHERE r.zone_id = ?1 "
				       "AND r.cidr = ?2",
				       "SELECT r.id, (SELECT string_agg("
				       "a.owner || ' ' || a.address, ', ') "
				       "FROM (SELECT * FROM ip_alloc WHERE "
				       "range_id = r.id LIMIT 5) a), r.kind "
				       "FROM ip_range r WHERE r.zone_id = ?1 "
				       "AND r.cidr = ?2"),
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "range remove");
	tr_sql_bind_int64(st, 1, zid);
	tr_sql_bind_text(st, 2, norm);
	int rc = tr_sql_step(st);
	int64_t id = 0;
	char held[400] = "", kind[16] = "";
	if (rc == TR_SQL_ROW) {
		id = tr_sql_column_int64(st, 0);
		snprintf(held, sizeof held, "%s", tr_ipam_txt(st, 1));
		snprintf(kind, sizeof kind, "%s", tr_ipam_txt(st, 2));
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW && rc != TR_SQL_DONE)
		return tr_ipam_db_fail(call, db, "range remove");
	if (!id)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "zone '%s' has no range %s", zone, norm);
	if (held[0])
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "%s range %s of zone %s still has addresses "
				   "in use (%s); delete those networks first",
				   kind, norm, zone, held);
	if (tr_sql_prepare(db, "DELETE FROM ip_range WHERE id = ?1", &st) != 0)
		return tr_ipam_db_fail(call, db, "range remove");
	tr_sql_bind_int64(st, 1, id);
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return tr_ipam_db_fail(call, db, "range remove");
	*out = json_pack("{s:s, s:s, s:s}", "zone", zone, "cidr", norm, "kind",
			 kind);
	return 0;
}
