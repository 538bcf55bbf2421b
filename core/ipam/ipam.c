/* SPDX-License-Identifier: Apache-2.0 */
/* ipam.c - network addressing, the allocation table and the helpers the
 * module's files share (ipam.h, ipam_int.h); ranges.c has the zones'
 * ranges, forward.c the forwards and the router's description. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/cidr.h"
#include "../util/json.h"
#include "ipam.h"
#include "ipam_int.h"

int tr_ipam_db_fail(trellis_call_t *call, struct tr_sql *db, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "ipam: %s: %s", what,
			   tr_sql_errmsg(db));
}

const char *tr_ipam_txt(struct tr_sql_stmt *st, int i)
{
	const char *t = tr_sql_column_text(st, i);
	return t ? t : "";
}

/* The id of zone (or of pod in it): >0, 0 not found, <0 error. */
int64_t tr_ipam_row_id(struct tr_sql *db, const char *sql, const char *a,
		       const char *b, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_ipam_db_fail(call, db, "lookup");
	tr_sql_bind_text(st, 1, a);
	if (b)
		tr_sql_bind_text(st, 2, b);
	int rc = tr_sql_step(st);
	int64_t id = rc == TR_SQL_ROW	 ? tr_sql_column_int64(st, 0)
		     : rc == TR_SQL_DONE ? 0
					 : tr_ipam_db_fail(call, db, "lookup");
	tr_sql_finalize(st);
	return id;
}

int64_t tr_ipam_zone_id(struct tr_sql *db, const char *zone,
			trellis_call_t *call)
{
	int64_t id = tr_ipam_row_id(db, "SELECT id FROM zone WHERE name = ?1", zone,
			    NULL, call);
	if (id == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "zone '%s' not found", zone ? zone : "");
	return id;
}

int tr_ipam_exec1(struct tr_sql *db, const char *sql, const char *a,
		  const char *b, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_ipam_db_fail(call, db, "update");
	tr_sql_bind_text(st, 1, a);
	if (b)
		tr_sql_bind_text(st, 2, b);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : tr_ipam_db_fail(call, db, "update");
}

json_t *tr_ipam_net_spec(struct tr_sql *db, const char *network,
			 int64_t *tenant_id, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	json_t *spec = NULL;
	if (tr_sql_prepare(db,
			   "SELECT spec, tenant_id FROM segment WHERE name = "
			   "?1",
			   &st) != 0) {
		tr_ipam_db_fail(call, db, "network");
		return NULL;
	}
	tr_sql_bind_text(st, 1, network);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW) {
		spec = json_loads(tr_ipam_txt(st, 0), 0, NULL);
		if (!spec)
			spec = json_object();
		if (tenant_id)
			*tenant_id = tr_sql_column_int64(st, 1);
	} else if (rc == TR_SQL_DONE) {
		tr_call_set(call, TRELLIS_E_NOTFOUND,
			    "network '%s' does not exist", network ? network : "");
	} else {
		tr_ipam_db_fail(call, db, "network");
	}
	tr_sql_finalize(st);
	return spec;
}


/* The address (and MAC) a VM's NIC holds in network: 1 found, 0 none,
 * <0 an error. */
int tr_ipam_nic_addr(struct tr_sql *db, const char *network, const char *vm,
		     char addr[TR_IP4_STRLEN], char mac[18],
		     trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT address, mac FROM ip_alloc WHERE network "
			   "= ?1 AND vm = ?2 AND kind = 'nic'",
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "address");
	tr_sql_bind_text(st, 1, network);
	tr_sql_bind_text(st, 2, vm);
	int step = tr_sql_step(st), found = step == TR_SQL_ROW;
	if (found) {
		snprintf(addr, TR_IP4_STRLEN, "%s", tr_ipam_txt(st, 0));
		snprintf(mac, 18, "%s", tr_ipam_txt(st, 1));
	}
	tr_sql_finalize(st);
	return found		     ? 1
	       : step == TR_SQL_DONE ? 0
				     : tr_ipam_db_fail(call, db, "address");
}

/* ---- network addressing ---- */

/* A network of tenant in zone (or anywhere, zone NULL) that overlaps
 * [f,l], into other: 1 found, 0 none, <0 error. */
static int net_overlap(struct tr_sql *db, const char *tenant, const char *zone,
		       uint32_t f, uint32_t l, char *other, size_t len,
		       trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		tr_sql_pick(
		    db,
		    "SELECT s.name, json_extract(s.spec, '$.cidr') FROM "
		    "segment s LEFT JOIN tenant t ON t.id = s.tenant_id WHERE "
		    "t.name IS ?1 AND json_extract(s.spec, '$.zone') IS ?2 AND "
		    "json_extract(s.spec, '$.net_first') <= ?4 AND "
		    "json_extract(s.spec, '$.net_last') >= ?3 LIMIT 1",
		    "SELECT s.name, s.spec::jsonb ->> 'cidr' FROM segment s "
		    "LEFT JOIN tenant t ON t.id = s.tenant_id WHERE t.name IS "
		    "NOT DISTINCT FROM CAST(?1 AS TEXT) AND (s.spec::jsonb ->> "
		    "'zone') IS NOT DISTINCT FROM CAST(?2 AS TEXT) AND "
		    "(s.spec::jsonb ->> 'net_first')::bigint <= ?4 AND "
		    "(s.spec::jsonb ->> 'net_last')::bigint >= ?3 LIMIT 1"),
		&st) != 0)
		return tr_ipam_db_fail(call, db, "network overlap");
	if (tenant)
		tr_sql_bind_text(st, 1, tenant);
	if (zone)
		tr_sql_bind_text(st, 2, zone);
	tr_sql_bind_int64(st, 3, f);
	tr_sql_bind_int64(st, 4, l);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW)
		snprintf(other, len, "network '%s' (%s)", tr_ipam_txt(st, 0),
			 tr_ipam_txt(st, 1));
	tr_sql_finalize(st);
	return rc == TR_SQL_ROW	   ? 1
	       : rc == TR_SQL_DONE ? 0
				   : tr_ipam_db_fail(call, db,
						     "network "
						     "overlap");
}

/* The first /24 of the zone's tenant space that tenant does not use. */
static int pick_cidr(struct tr_sql *db, const char *zone, const char *tenant,
		     struct tr_cidr *c, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT r.net_first, r.net_last FROM ip_range r "
			   "JOIN zone z ON z.id = r.zone_id WHERE z.name = "
			   "?1 AND r.kind = 'tenant' ORDER BY r.net_first",
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "tenant space");
	tr_sql_bind_text(st, 1, zone);
	int rc, any = 0, found = 0;
	char other[200];
	while (!found && (rc = tr_sql_step(st)) == TR_SQL_ROW) {
		uint32_t f = (uint32_t)tr_sql_column_int64(st, 0),
			 l = (uint32_t)tr_sql_column_int64(st, 1);
		any = 1;
		for (uint64_t b = f & 0xffffff00u; b + 255 <= l; b += 256) {
			if (b < f)
				continue;
			int o = net_overlap(db, tenant, zone, (uint32_t)b,
					    (uint32_t)b + 255, other,
					    sizeof other, call);
			if (o < 0) {
				tr_sql_finalize(st);
				return o;
			}
			if (!o) {
				c->net = (uint32_t)b;
				c->prefix = 24;
				found = 1;
				break;
			}
		}
	}
	tr_sql_finalize(st);
	if (found)
		return 0;
	if (!any)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "zone '%s' has no tenant address space: add "
				   "one (trellis zone ip-range add %s --kind "
				   "tenant --cidr 10.0.0.0/16) or give --cidr",
				   zone, zone);
	return tr_call_set(call, TRELLIS_E_NOSPACE,
			   "zone '%s': no free /24 left in its tenant address "
			   "space for %s%s",
			   zone, tenant ? "tenant " : "the operator",
			   tenant ? tenant : "");
}

int tr_ipam_net_plan(struct tr_store *s, json_t *args, const char *tenant,
		     json_t *spec, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	const char *zone = S(args, "zone"), *cs = S(args, "cidr");
	char err[256], buf[TR_CIDR_STRLEN], a[TR_IP4_STRLEN],
	    b[TR_IP4_STRLEN], other[200];
	struct tr_cidr c;
	uint32_t g, f, l;
	if (!zone && !cs) {
		if (S(args, "gateway") || S(args, "dhcp") ||
		    S(args, "router_host"))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "--gateway, --dhcp and "
					   "--router-host need --cidr or "
					   "--zone");
		return 0;
	}
	if (zone && tr_ipam_zone_id(db, zone, call) < 0)
		return call->code;
	if (cs) {
		if (tr_cidr_parse(cs, &c, err, sizeof err))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "cidr: %s", err);
		if (c.prefix < 8 || c.prefix > 29)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "cidr: a network is a /8 to a /29, "
					   "got /%u",
					   c.prefix);
	} else {
		int rc = pick_cidr(db, zone, tenant, &c, call);
		if (rc)
			return rc;
	}
	uint32_t nf = c.net, nl = tr_cidr_last(&c);
	tr_cidr_format(&c, buf);
	if (S(args, "gateway")) {
		if (tr_ip4_parse(S(args, "gateway"), &g, err, sizeof err))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "gateway: %s", err);
		if (!tr_cidr_contains(&c, g) || g == nf || g == nl)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "gateway %s is not a host address "
					   "of %s",
					   S(args, "gateway"), buf);
	} else {
		g = nf + 1;
	}
	if (S(args, "dhcp")) {
		if (tr_ip4_range_parse(S(args, "dhcp"), &f, &l, err,
				       sizeof err))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "dhcp: %s", err);
		if (f <= nf || l >= nl || (g >= f && g <= l))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "dhcp range %s must be host "
					   "addresses of %s without the "
					   "gateway",
					   S(args, "dhcp"), buf);
	} else {
		/* The host addresses on the gateway's far side. */
		f = g == nf + 1 ? g + 1 : nf + 1;
		l = g == nl - 1 ? g - 1 : nl - 1;
		if (g > nf + 1 && g < nl - 1)
			f = g + 1;
	}
	int o = net_overlap(db, tenant, zone, nf, nl, other, sizeof other, call);
	if (o < 0)
		return o;
	if (o)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "%s overlaps %s of the same %s%s%s%s: "
				   "refused (another tenant may use it)",
				   buf, other, tenant ? "tenant " : "owner",
				   tenant ? tenant : "", zone ? " in zone " : "",
				   zone ? zone : "");
	json_object_set_new(spec, "cidr", json_string(buf));
	tr_ip4_format(g, a);
	json_object_set_new(spec, "gateway", json_string(a));
	json_object_set_new(spec, "prefix", json_integer(c.prefix));
	tr_ip4_format(f, a);
	tr_ip4_format(l, b);
	json_object_set_new(spec, "dhcp_first", json_string(a));
	json_object_set_new(spec, "dhcp_last", json_string(b));
	json_object_set_new(spec, "net_first", json_integer(nf));
	json_object_set_new(spec, "net_last", json_integer(nl));
	if (zone)
		json_object_set_new(spec, "zone", json_string(zone));
	for (const char *const *k = (const char *const[]){"domain",
							  "router_host",
							  "router_uri", NULL};
	     *k; k++)
		if (S(args, *k))
			json_object_set_new(spec, *k, json_string(S(args, *k)));
	return 0;
}

/* Inserts an allocation; 0 or an error. */
static int alloc_insert(struct tr_sql *db, const char *network, uint32_t ip,
			const char *mac, const char *vm, const char *owner,
			const char *kind, int64_t range_id,
			trellis_call_t *call)
{
	char a[TR_IP4_STRLEN];
	struct tr_sql_stmt *st = NULL;
	tr_ip4_format(ip, a);
	if (tr_sql_prepare(db,
			   "INSERT INTO ip_alloc (network, ip, address, "
			   "mac, vm, owner, kind, range_id, created_at) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "allocate");
	tr_sql_bind_text(st, 1, network);
	tr_sql_bind_int64(st, 2, ip);
	tr_sql_bind_text(st, 3, a);
	if (mac)
		tr_sql_bind_text(st, 4, mac);
	if (vm)
		tr_sql_bind_text(st, 5, vm);
	if (owner)
		tr_sql_bind_text(st, 6, owner);
	tr_sql_bind_text(st, 7, kind);
	if (range_id)
		tr_sql_bind_int64(st, 8, range_id);
	tr_sql_bind_int64(st, 9, (int64_t)time(NULL));
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : tr_ipam_db_fail(call, db, "allocate");
}

/* The lowest address of [f,l] that scope does not hold: 1 (into *ip),
 * 0 none free, <0 error. */
static int lowest_free(struct tr_sql *db, const char *scope, uint32_t f,
		       uint32_t l, uint32_t *ip, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	/* The first held address whose successor is free, or f itself. */
	if (tr_sql_prepare(
		db,
		"SELECT ?2 WHERE NOT EXISTS (SELECT 1 FROM ip_alloc WHERE "
		"network = ?1 AND ip = ?2) UNION ALL SELECT MIN(a.ip + 1) FROM "
		"ip_alloc a WHERE a.network = ?1 AND a.ip >= ?2 AND a.ip < ?3 "
		"AND NOT EXISTS (SELECT 1 FROM ip_alloc b WHERE b.network = ?1 "
		"AND b.ip = a.ip + 1) LIMIT 1",
		&st) != 0)
		return tr_ipam_db_fail(call, db, "allocate");
	tr_sql_bind_text(st, 1, scope);
	tr_sql_bind_int64(st, 2, f);
	tr_sql_bind_int64(st, 3, l);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW && tr_sql_column_type(st, 0) != TR_SQL_NULL) {
		*ip = (uint32_t)tr_sql_column_int64(st, 0);
		ret = 1;
	} else if (rc != TR_SQL_ROW && rc != TR_SQL_DONE) {
		ret = tr_ipam_db_fail(call, db, "allocate");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_ipam_public_alloc(struct tr_store *s, const char *network, json_t *spec,
			 trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	const char *zone = S(spec, "zone");
	if (!zone)
		return 0;
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT r.id, r.first, r.last, r.cidr, "
			   "r.gateway, r.bridge FROM ip_range r JOIN zone "
			   "z ON z.id = r.zone_id WHERE z.name = ?1 AND "
			   "r.kind = 'public' ORDER BY r.net_first",
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "public address");
	tr_sql_bind_text(st, 1, zone);
	int rc, any = 0, ret = 0;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		uint32_t ip;
		any = 1;
		int got = lowest_free(
		    db, PUBLIC_SCOPE, (uint32_t)tr_sql_column_int64(st, 1),
		    (uint32_t)tr_sql_column_int64(st, 2), &ip, call);
		if (got < 0) {
			ret = got;
			break;
		}
		if (!got)
			continue;
		ret = alloc_insert(db, PUBLIC_SCOPE, ip, NULL, NULL, network,
				   "router", tr_sql_column_int64(st, 0), call);
		if (!ret) {
			char a[TR_IP4_STRLEN];
			struct tr_cidr c;
			char e[64];
			tr_cidr_parse(tr_ipam_txt(st, 3), &c, e, sizeof e);
			tr_ip4_format(ip, a);
			json_object_set_new(spec, "public_ip", json_string(a));
			json_object_set_new(spec, "public_prefix",
					    json_integer(c.prefix));
			if (tr_sql_column_type(st, 4) != TR_SQL_NULL)
				json_object_set_new(
				    spec, "public_gateway",
				    json_string(tr_ipam_txt(st, 4)));
			if (tr_sql_column_type(st, 5) != TR_SQL_NULL)
				json_object_set_new(spec, "public_bridge",
						    json_string(tr_ipam_txt(st, 5)));
		}
		tr_sql_finalize(st);
		return ret;
	}
	tr_sql_finalize(st);
	if (ret)
		return ret;
	if (rc != TR_SQL_DONE)
		return tr_ipam_db_fail(call, db, "public address");
	if (!any)
		return 0; /* a zone without a public side: no NAT */
	return tr_call_set(call, TRELLIS_E_NOSPACE,
			   "zone '%s': its public ranges have no free address "
			   "left for network '%s''s router",
			   zone, network);
}


int tr_ipam_net_drop(struct tr_store *s, const char *network,
		     trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		tr_sql_pick(db,
			    "SELECT group_concat(vm || ' ' || "
			    "address, ', ') FROM (SELECT * FROM "
			    "ip_alloc WHERE network = ?1 AND kind = "
			    "'nic' LIMIT 5)",
			    "SELECT string_agg(vm || ' ' || address, "
			    "', ') FROM (SELECT * FROM ip_alloc "
			    "WHERE network = ?1 AND kind = 'nic' "
			    "LIMIT 5) a"),
		&st) != 0)
		return tr_ipam_db_fail(call, db, "network drop");
	tr_sql_bind_text(st, 1, network);
	char held[400] = "";
	if (tr_sql_step(st) == TR_SQL_ROW)
		snprintf(held, sizeof held, "%s", tr_ipam_txt(st, 0));
	tr_sql_finalize(st);
	if (held[0])
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "network '%s' still has VM addresses (%s); "
				   "destroy those VMs first",
				   network, held);
	int rc = tr_ipam_exec1(db,
		       "DELETE FROM ip_alloc WHERE network = ?1 OR (network = "
		       "?2 AND owner = ?1)",
		       network, PUBLIC_SCOPE, call);
	if (!rc)
		rc = tr_ipam_exec1(db, "DELETE FROM net_forward WHERE network = ?1",
			   network, NULL, call);
	return rc;
}

/* ---- allocations ---- */


static json_t *alloc_json(const json_t *spec, const char *network,
			  const char *vm, const char *addr, const char *mac)
{
	char ip[TR_CIDR_STRLEN + 4];
	int64_t prefix = json_integer_value(json_object_get(spec, "prefix"));
	snprintf(ip, sizeof ip, "%s/%d", addr, (int)prefix);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:b}", "network",
			 network, "vm", vm, "address", addr, "prefix",
			 (json_int_t)prefix, "ip", ip, "gateway",
			 S(spec, "gateway"), "mac", mac, "routed",
			 S(spec, "router_host") != NULL);
}

int tr_ipam_alloc(struct tr_store *s, const char *network, const char *vm,
		  const char *mac, const char *owner, json_t **out,
		  trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	*out = NULL;
	json_t *spec = tr_ipam_net_spec(db, network, NULL, call);
	if (!spec)
		return call->code;
	int rc = 0;
	if (!S(spec, "cidr")) {
		*out = json_pack("{s:s, s:s, s:s, s:s}", "network", network,
				 "vm", vm, "ip", "", "mac", mac ? mac : "");
		goto out;
	}
	char held[TR_IP4_STRLEN], hmac[18];
	rc = tr_ipam_nic_addr(db, network, vm, held, hmac, call);
	if (rc) {
		if (rc > 0)
			*out = alloc_json(spec, network, vm, held, hmac);
		rc = rc > 0 ? 0 : rc;
		goto out;
	}
	char err[128], m[18], a[TR_IP4_STRLEN];
	uint32_t f, l, ip;
	if (tr_ip4_parse(S(spec, "dhcp_first"), &f, err, sizeof err) ||
	    tr_ip4_parse(S(spec, "dhcp_last"), &l, err, sizeof err)) {
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				 "network '%s': bad DHCP range: %s", network,
				 err);
		goto out;
	}
	int got = lowest_free(db, network, f, l, &ip, call);
	if (got <= 0) {
		rc = got < 0 ? got
			     : tr_call_set(call, TRELLIS_E_NOSPACE,
					   "network '%s': no free address left "
					   "in its DHCP range %s-%s",
					   network, S(spec, "dhcp_first"),
					   S(spec, "dhcp_last"));
		goto out;
	}
	/* 52:54 and the address: unique on the segment, and readable. */
	if (!mac) {
		snprintf(m, sizeof m, "52:54:%02x:%02x:%02x:%02x", ip >> 24,
			 (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
		mac = m;
	}
	rc = alloc_insert(db, network, ip, mac, vm, owner, "nic", 0, call);
	if (!rc) {
		tr_ip4_format(ip, a);
		*out = alloc_json(spec, network, vm, a, mac);
	}
out:
	json_decref(spec);
	return rc;
}

/* The VM's forwards in the network go with its address: nothing would
 * answer them, and a new VM of the name is not the one they were for. */
int tr_ipam_release(struct tr_store *s, const char *network, const char *vm,
		    trellis_call_t *call)
{
	int rc = tr_ipam_exec1(
	    tr_store_sql(s),
	    "DELETE FROM ip_alloc WHERE network = ?1 AND vm = ?2 AND "
	    "kind = 'nic'",
	    network, vm, call);
	return rc ? rc
		  : tr_ipam_exec1(
			tr_store_sql(s),
			"DELETE FROM net_forward WHERE network = ?1 AND vm = "
			"?2",
			network, vm, call);
}

/* A network's zone, from its spec: the engines read JSON differently. */
static const char *zone_of(struct tr_sql *db)
{
	return tr_sql_pick(db, "json_extract(s.spec, '$.zone')",
			   "(s.spec::jsonb ->> 'zone')");
}

/* (%s: zone_of()) */
#define IP_SELECT                                                              \
	"SELECT a.address, a.network, a.mac, a.vm, a.kind, a.owner, t.name,"   \
	" %s, a.created_at FROM ip_alloc a LEFT"                               \
	" JOIN segment s ON s.name = (CASE a.network WHEN '" PUBLIC_SCOPE      \
	"' THEN a.owner ELSE a.network END) LEFT JOIN tenant t ON t.id ="      \
	" s.tenant_id "

static json_t *ip_row(struct tr_sql_stmt *st)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I}", "address", tr_ipam_txt(st, 0),
		      "network", tr_ipam_txt(st, 1), "kind", tr_ipam_txt(st, 4),
		      "created_at", (json_int_t)tr_sql_column_int64(st, 8));
	static const char *const k[] = {NULL, NULL, "mac", "vm", NULL,
					"owner", "tenant", "zone"};
	for (int i = 2; i < 8; i++)
		if (k[i] && tr_sql_column_type(st, i) != TR_SQL_NULL)
			json_object_set_new(o, k[i], json_string(tr_ipam_txt(st, i)));
	return o;
}

static int ip_query(struct tr_sql *db, const char *where, const char *a,
		    const char *b, const char *c, json_t **items,
		    trellis_call_t *call)
{
	char sql[1200];
	struct tr_sql_stmt *st = NULL;
	snprintf(sql, sizeof sql, IP_SELECT "WHERE %s ORDER BY a.network, a.ip",
		 zone_of(db), where);
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_ipam_db_fail(call, db, "ip list");
	if (a)
		tr_sql_bind_text(st, 1, a);
	if (b)
		tr_sql_bind_text(st, 2, b);
	if (c)
		tr_sql_bind_text(st, 3, c);
	*items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(*items, ip_row(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(*items);
		*items = NULL;
		return tr_ipam_db_fail(call, db, "ip list");
	}
	return 0;
}

int tr_ipam_ip_list(struct tr_store *s, const char *network, const char *zone,
		    const char *scope_tenant, json_t **out,
		    trellis_call_t *call)
{
	json_t *items = NULL;
	*out = NULL;
	struct tr_sql *db = tr_store_sql(s);
	char where[400];
	snprintf(where, sizeof where,
		 "(CAST(?1 AS TEXT) IS NULL OR a.network = ?1 OR (a.network = "
		 "'" PUBLIC_SCOPE "' AND a.owner = ?1)) AND (CAST(?2 AS TEXT) "
				  "IS NULL OR %s = ?2) AND (?3 IS "
		 "NULL OR t.name = ?3)",
		 zone_of(db));
	int rc = ip_query(db, where, network, zone, scope_tenant, &items, call);
	if (!rc)
		*out = json_pack("{s:o}", "items", items);
	return rc;
}

int tr_ipam_ip_show(struct tr_store *s, const char *address,
		    const char *network, const char *scope_tenant,
		    json_t **out, trellis_call_t *call)
{
	json_t *items = NULL;
	uint32_t ip;
	char err[128], a[TR_IP4_STRLEN];
	*out = NULL;
	if (tr_ip4_parse(address, &ip, err, sizeof err))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
	tr_ip4_format(ip, a);
	int rc = ip_query(
	    tr_store_sql(s),
	    "a.address = ?1 AND (CAST(?2 AS TEXT) IS NULL OR a.network = ?2 OR "
	    "(a.network = '" PUBLIC_SCOPE "' AND a.owner = ?2)) "
	    "AND (CAST(?3 AS TEXT) IS NULL OR t.name = ?3)",
	    a, network, scope_tenant, &items, call);
	if (rc)
		return rc;
	size_t n = json_array_size(items);
	if (n == 1)
		*out = json_incref(json_array_get(items, 0));
	else if (n == 0)
		rc = tr_call_set(call, TRELLIS_E_NOTFOUND,
				 "address %s is not allocated%s%s", a,
				 network ? " in network " : "",
				 network ? network : "");
	else
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "address %s is allocated in %zu networks "
				 "(%s, %s...): give --network",
				 a, n, S(json_array_get(items, 0), "network"),
				 S(json_array_get(items, 1), "network"));
	json_decref(items);
	return rc;
}
