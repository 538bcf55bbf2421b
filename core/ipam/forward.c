/* SPDX-License-Identifier: Apache-2.0 */
/* forward.c - port forwards of routed networks, and what a network's
 * router must be (ipam.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/cidr.h"
#include "../util/json.h"
#include "ipam.h"
#include "ipam_int.h"

/* ---- forwards ---- */

static int proto_ok(const char *p)
{
	return p && (!strcmp(p, "tcp") || !strcmp(p, "udp"));
}

/* sql prepared with ?1 network, ?2 protocol, ?3 public_port bound: one
 * forward's key.  NULL after setting the error. */
static struct tr_sql_stmt *fwd_stmt(struct tr_sql *db, const char *sql,
				    const char *network, const char *protocol,
				    int64_t public_port, trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0) {
		tr_ipam_db_fail(call, db, "forward");
		return NULL;
	}
	tr_sql_bind_text(st, 1, network);
	tr_sql_bind_text(st, 2, protocol);
	tr_sql_bind_int64(st, 3, public_port);
	return st;
}

int tr_ipam_forward_add(struct tr_store *s, const char *network,
			const char *protocol, int64_t public_port,
			const char *vm, int64_t port, json_t **out,
			trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	*out = NULL;
	if (!protocol)
		protocol = "tcp";
	if (!proto_ok(protocol))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "protocol must be tcp or udp, got '%s'",
				   protocol);
	if (public_port < 1 || public_port > 65535 || port < 1 || port > 65535)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "ports are 1-65535");
	json_t *spec = tr_ipam_net_spec(db, network, NULL, call);
	if (!spec)
		return call->code;
	int rc = 0;
	if (!S(spec, "router_host") || !S(spec, "public_ip")) {
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				 "network '%s' has no router with a public "
				 "address (network create --zone ... "
				 "--router-host, and a public range in the "
				 "zone)",
				 network);
		goto out;
	}
	char addr[TR_IP4_STRLEN] = "", hmac[18];
	int got = tr_ipam_nic_addr(db, network, vm, addr, hmac, call);
	if (got < 0) {
		rc = got;
		goto out;
	}
	struct tr_sql_stmt *st = NULL;
	int step;
	if (!addr[0]) {
		rc = tr_call_set(call, TRELLIS_E_NOTFOUND,
				 "VM '%s' has no address in network '%s'",
				 vm ? vm : "", network);
		goto out;
	}
	if (!(st = fwd_stmt(db,
			    "SELECT vm, port FROM net_forward WHERE network = "
			    "?1 AND protocol = ?2 AND public_port = ?3",
			    network, protocol, public_port, call))) {
		rc = call->code;
		goto out;
	}
	step = tr_sql_step(st);
	if (step == TR_SQL_ROW && (strcmp(tr_ipam_txt(st, 0), vm) ||
				   tr_sql_column_int64(st, 1) != port))
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "network '%s': public %s port %" PRId64
				 " already forwards to VM '%s' port %" PRId64,
				 network, protocol, public_port,
				 tr_ipam_txt(st, 0),
				 (int64_t)tr_sql_column_int64(st, 1));
	tr_sql_finalize(st);
	if (rc || step == TR_SQL_ROW)
		goto done; /* the same forward again: nothing to do */
	if (!(st = fwd_stmt(db,
			    "INSERT INTO net_forward (network, protocol, "
			    "public_port, vm, port, created_at) VALUES (?1, "
			    "?2, ?3, ?4, ?5, ?6)",
			    network, protocol, public_port, call))) {
		rc = call->code;
		goto out;
	}
	tr_sql_bind_text(st, 4, vm);
	tr_sql_bind_int64(st, 5, port);
	tr_sql_bind_int64(st, 6, (int64_t)time(NULL));
	step = tr_sql_step(st);
	tr_sql_finalize(st);
	if (step != TR_SQL_DONE) {
		rc = tr_ipam_db_fail(call, db, "forward");
		goto out;
	}
done:
	if (!rc)
		*out = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I}",
				 "network", network, "protocol", protocol,
				 "public_ip", S(spec, "public_ip"),
				 "public_port", (json_int_t)public_port, "vm",
				 vm, "ip", addr, "port", (json_int_t)port);
out:
	json_decref(spec);
	return rc;
}

/* Forwards of network with their VMs' addresses. */
static int forwards(struct tr_sql *db, const char *network, json_t **items,
		    trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT f.protocol, f.public_port, f.vm, f.port, a.address "
		"FROM "
		"net_forward f LEFT JOIN ip_alloc a ON a.network = f.network "
		"AND "
		"a.vm = f.vm AND a.kind = 'nic' WHERE f.network = ?1 ORDER BY "
		"f.protocol, f.public_port",
		&st) != 0)
		return tr_ipam_db_fail(call, db, "forwards");
	tr_sql_bind_text(st, 1, network);
	*items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(
		    *items, json_pack("{s:s, s:I, s:s, s:I, s:s}", "protocol",
				      tr_ipam_txt(st, 0), "public_port",
				      (json_int_t)tr_sql_column_int64(st, 1),
				      "vm", tr_ipam_txt(st, 2), "port",
				      (json_int_t)tr_sql_column_int64(st, 3),
				      "ip", tr_ipam_txt(st, 4)));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(*items);
		return tr_ipam_db_fail(call, db, "forwards");
	}
	return 0;
}

int tr_ipam_forward_list(struct tr_store *s, const char *network,
			 json_t **out, trellis_call_t *call)
{
	json_t *items = NULL;
	*out = NULL;
	json_t *spec = tr_ipam_net_spec(tr_store_sql(s), network, NULL, call);
	if (!spec)
		return call->code;
	json_decref(spec);
	int rc = forwards(tr_store_sql(s), network, &items, call);
	if (!rc)
		*out = json_pack("{s:o}", "items", items);
	return rc;
}

int tr_ipam_forward_remove(struct tr_store *s, const char *network,
			   const char *protocol, int64_t public_port,
			   json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (!protocol)
		protocol = "tcp";
	*out = NULL;
	if (!proto_ok(protocol))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "protocol must be tcp or udp, got '%s'",
				   protocol);
	if (!(st = fwd_stmt(db,
			    "DELETE FROM net_forward WHERE network = ?1 AND "
			    "protocol = ?2 AND public_port = ?3",
			    network, protocol, public_port, call)))
		return call->code;
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return tr_ipam_db_fail(call, db, "forward remove");
	*out = json_pack("{s:s, s:s, s:I, s:b}", "network", network, "protocol",
			 protocol, "public_port", (json_int_t)public_port,
			 "removed", (int)tr_sql_changes(db) > 0);
	return 0;
}

/* ---- the router's description ---- */

/* A VM name that is also a DNS label; others get a lease but no name. */
static int dns_label(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > 63 || n[0] == '-' || n[len - 1] == '-')
		return 0;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-") == len;
}

int tr_ipam_router_spec(struct tr_store *s, const char *network, json_t **out,
			trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	*out = NULL;
	json_t *spec = tr_ipam_net_spec(db, network, NULL, call);
	if (!spec)
		return call->code;
	/* A network being deleted has no router to make any more. */
	if (!S(spec, "router_host") || !S(spec, "cidr") ||
	    json_is_true(json_object_get(spec, "deleting"))) {
		*out = json_pack("{s:s, s:b}", "network", network, "routed", 0);
		json_decref(spec);
		return 0;
	}
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:s, s:b}", "network",
	    network, "segment", network, "cidr", S(spec, "cidr"), "prefix",
	    json_object_get(spec, "prefix"), "gateway", S(spec, "gateway"),
	    "dhcp_first", S(spec, "dhcp_first"), "dhcp_last",
	    S(spec, "dhcp_last"), "host", S(spec, "router_host"), "uri",
	    S(spec, "router_uri") ? S(spec, "router_uri") : "local", "routed",
	    1);
	if (S(spec, "domain"))
		json_object_set_new(o, "domain", json_string(S(spec, "domain")));
	if (S(spec, "public_ip")) {
		json_t *p = json_pack("{s:s, s:O}", "ip", S(spec, "public_ip"),
				      "prefix",
				      json_object_get(spec, "public_prefix"));
		if (S(spec, "public_gateway"))
			json_object_set_new(
			    p, "gateway", json_string(S(spec, "public_gateway")));
		if (S(spec, "public_bridge"))
			json_object_set_new(
			    p, "bridge", json_string(S(spec, "public_bridge")));
		json_object_set_new(o, "public", p);
	}
	json_decref(spec);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT mac, address, vm FROM ip_alloc WHERE "
			   "network = ?1 AND kind = 'nic' ORDER BY ip",
			   &st) != 0) {
		json_decref(o);
		return tr_ipam_db_fail(call, db, "router");
	}
	tr_sql_bind_text(st, 1, network);
	json_t *leases = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		json_t *l = json_pack("{s:s, s:s}", "mac", tr_ipam_txt(st, 0), "ip",
				      tr_ipam_txt(st, 1));
		if (dns_label(tr_ipam_txt(st, 2)))
			json_object_set_new(l, "hostname",
					    json_string(tr_ipam_txt(st, 2)));
		json_array_append_new(leases, l);
	}
	tr_sql_finalize(st);
	json_object_set_new(o, "leases", leases);
	json_t *fw = NULL;
	if (rc != TR_SQL_DONE || forwards(db, network, &fw, call)) {
		json_decref(o);
		return rc != TR_SQL_DONE ? tr_ipam_db_fail(call, db, "router")
					 : call->code;
	}
	json_object_set_new(o, "forwards", fw);
	*out = o;
	return 0;
}

int tr_ipam_routed(struct tr_store *s, json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	*out = NULL;
	if (tr_sql_prepare(db,
			   tr_sql_pick(db,
				       "SELECT name FROM segment WHERE "
				       "json_extract(spec, '$.router_host') IS "
				       "NOT NULL AND json_extract(spec, "
				       "'$.deleting') IS NOT 1 ORDER BY name",
				       "SELECT name FROM segment WHERE "
				       "(spec::jsonb ->> 'router_host') IS NOT "
				       "NULL AND COALESCE(spec::jsonb ->> "
				       "'deleting', '') NOT IN ('true', '1') "
				       "ORDER BY name"),
			   &st) != 0)
		return tr_ipam_db_fail(call, db, "routed networks");
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, json_string(tr_ipam_txt(st, 0)));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return tr_ipam_db_fail(call, db, "routed networks");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

int tr_ipam_net_deleting(struct tr_store *s, const char *network,
			 trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	return tr_ipam_exec1(
	    db,
	    tr_sql_pick(db,
			"UPDATE segment SET spec = json_set(spec, "
			"'$.deleting', json('true')) WHERE name = ?1",
			"UPDATE segment SET spec = jsonb_set(spec::jsonb, "
			"'{deleting}', 'true')::text WHERE name = ?1"),
	    network, NULL, call);
}
