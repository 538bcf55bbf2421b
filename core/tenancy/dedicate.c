/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dedicate.c - dedicated hosts and clusters: the part of an allocation
 * (alloc.c) that a business unit has for itself alone.  The allocation
 * names them (hosts: host names; clusters: ZONE/POD/CLUSTER paths); the
 * allocation.provision workflow records one row per host or cluster in
 * table dedication (bu-0005-dedicated), kept by the allocation that made
 * it; placement (core/placement/service.c) reads the rows and makes such
 * a host exclusive to its BU, whatever its zone is.  A change that drops
 * one gives it back when it goes active.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "tenancy.h"

static const char *const kinds[] = {"host", "cluster"};
static const char *const lists[] = {"hosts", "clusters"};

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

/* The id of a cluster path ZONE/POD/CLUSTER, or -1. */
static int64_t cluster_id(struct tr_sql *db, const char *path)
{
	struct tr_sql_stmt *st = NULL;
	int64_t id = -1;
	if (tr_sql_prepare(
		db,
		"SELECT c.id FROM cluster c JOIN pod p ON p.id = c.pod_id "
		"JOIN zone z ON z.id = p.zone_id WHERE z.name || '/' || "
		"p.name || '/' || c.name = ?1",
		&st) != 0)
		return -1;
	tr_sql_bind_text_copy(st, 1, path);
	if (tr_sql_step(st) == TR_SQL_ROW)
		id = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return id;
}

int tr_dedicate_normalize(struct tr_store *s, const char *bu, json_t *f,
			  trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(f, lists[k]), *arr = json_array();
		if (json_is_string(v)) { /* the CLI's "a,b" */
			char buf[4096];
			snprintf(buf, sizeof buf, "%s", json_string_value(v));
			char *save = NULL;
			for (char *t = strtok_r(buf, ", ", &save); t;
			     t = strtok_r(NULL, ", ", &save))
				json_array_append_new(arr, json_string(t));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e)) {
					json_decref(arr);
					return tr_call_set(
					    call, TRELLIS_E_INVALID_ARG,
					    "allocation for '%s': %s[%zu] must "
					    "be a name",
					    bu, lists[k], i);
				}
				json_array_append(arr, e);
			}
		} else if (v && !json_is_null(v)) {
			json_decref(arr);
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "allocation for '%s': %s must be a "
					   "list of names",
					   bu, lists[k]);
		}
		size_t i;
		json_t *e;
		json_array_foreach(arr, i, e)
		{
			const char *n = json_string_value(e);
			int64_t id = k ? cluster_id(db, n)
				       : tr_store_id(s, TR_KIND_HOST, n, call);
			if (id < 0) {
				tr_call_init(call, NULL);
				tr_call_set(
				    call, TRELLIS_E_NOTFOUND,
				    k ? "allocation for '%s': no cluster '%s' "
					"(give ZONE/POD/CLUSTER)"
				      : "allocation for '%s': no host '%s'",
				    bu, n);
				json_decref(arr); /* n was one of its names */
				return call->code;
			}
		}
		if (json_array_size(arr))
			json_object_set_new(f, lists[k], arr);
		else {
			json_decref(arr);
			json_object_del(f, lists[k]);
		}
	}
	return 0;
}

/* Appends to msg (at *len) and problems what stands in the way of one
 * dedication: another BU's, or VMs of others already on it. */
static void one_check(struct tr_sql *db, const char *bu, int k,
		      const char *name, char *msg, size_t cap, size_t *len,
		      json_t *problems)
{
	struct tr_sql_stmt *st = NULL;
	char owner[256] = "";
	if (tr_sql_prepare(db,
			   "SELECT t.name FROM dedication d JOIN tenant t "
			   "ON t.id = d.tenant_id WHERE d.kind = ?1 AND "
			   "d.name = ?2",
			   &st) == 0) {
		tr_sql_bind_text(st, 1, kinds[k]);
		tr_sql_bind_text_copy(st, 2, name);
		if (tr_sql_step(st) == TR_SQL_ROW)
			snprintf(owner, sizeof owner, "%s",
				 tr_sql_column_text(st, 0));
		tr_sql_finalize(st);
	}
	if (owner[0] && strcmp(owner, bu) != 0) {
		*len += (size_t)snprintf(msg + *len, cap - *len,
					 "%s%s %s: dedicated to business unit "
					 "'%s' already",
					 *len ? "; " : "", kinds[k], name,
					 owner);
		json_array_append_new(problems,
				      json_pack("{s:s, s:s, s:s}", "what",
						kinds[k], "name", name, "owner",
						owner));
		if (*len >= cap)
			*len = cap - 1;
		return;
	}
	/* Claims of others (another BU's or nobody's) on it. */
	static const char sql[] =
	    "SELECT COUNT(*) FROM placement_claim c JOIN host h ON h.id = "
	    "c.host_id WHERE (c.tenant IS NULL OR c.tenant != ?1) AND "
	    "(CASE ?2 WHEN 'host' THEN h.name = ?3 ELSE h.cluster_id = "
	    "?4 END)";
	long long n = 0;
	if (tr_sql_prepare(db, sql, &st) == 0) {
		tr_sql_bind_text_copy(st, 1, bu);
		tr_sql_bind_text(st, 2, kinds[k]);
		tr_sql_bind_text_copy(st, 3, name);
		tr_sql_bind_int64(st, 4, k ? cluster_id(db, name) : -1);
		if (tr_sql_step(st) == TR_SQL_ROW)
			n = tr_sql_column_int64(st, 0);
		tr_sql_finalize(st);
	}
	if (n > 0) {
		*len += (size_t)snprintf(msg + *len, cap - *len,
					 "%s%s %s: runs %lld VM%s of others",
					 *len ? "; " : "", kinds[k], name, n,
					 n == 1 ? "" : "s");
		json_array_append_new(problems,
				      json_pack("{s:s, s:s, s:I}", "what",
						kinds[k], "name", name,
						"vms_of_others", (json_int_t)n));
		if (*len >= cap)
			*len = cap - 1;
	}
}

void tr_dedicate_check(struct tr_store *s, json_t *a, char *msg, size_t cap,
		       size_t *len, json_t *problems)
{
	struct tr_sql *db = tr_store_sql(s);
	const char *bu = json_string_value(json_object_get(a, "bu"));
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(a, lists[k]), i, e)
		    one_check(db, bu, k, json_string_value(e), msg, cap, len,
			      problems);
	}
}

int tr_alloc_dedicate(struct tr_store *s, const char *name, int undo,
		      json_t **made, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	json_t *a = NULL, *list = json_array();
	int rc = tr_alloc_get(s, name, &a, call);
	if (rc) {
		json_decref(list);
		return rc;
	}
	struct tr_sql_stmt *st = NULL;
	if (undo) {
		/* Only the rows this allocation made. */
		if (tr_sql_prepare(db,
				   "DELETE FROM dedication WHERE "
				   "allocation = ?1",
				   &st) != 0)
			rc = db_error(db, call, "dedications");
		else {
			tr_sql_bind_text_copy(st, 1, name);
			if (tr_sql_step(st) != TR_SQL_DONE)
				rc = db_error(db, call, "dedications");
		}
		goto out;
	}
	const char *bu = json_string_value(json_object_get(a, "bu"));
	int64_t bu_id = tr_store_id(s, TR_KIND_TENANT, bu, call);
	if (bu_id < 0) {
		rc = (int)bu_id;
		goto out;
	}
	/* A row of this BU already (its allocation's change, or a replay)
	 * is found and kept as it is; another BU's is CONFLICT. */
	if (tr_sql_prepare(db,
			   "INSERT INTO dedication (kind, name, tenant_id, "
			   "allocation) VALUES (?1, ?2, ?3, ?4) ON "
			   "CONFLICT (kind, name) DO NOTHING",
			   &st) != 0) {
		rc = db_error(db, call, "dedications");
		goto out;
	}
	for (int k = 0; k < 2 && !rc; k++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(a, lists[k]), i, e)
		{
			const char *n = json_string_value(e);
			tr_sql_reset(st);
			tr_sql_bind_text(st, 1, kinds[k]);
			tr_sql_bind_text_copy(st, 2, n);
			tr_sql_bind_int64(st, 3, bu_id);
			tr_sql_bind_text_copy(st, 4, name);
			if (tr_sql_step(st) != TR_SQL_DONE) {
				rc = db_error(db, call, "dedications");
				break;
			}
			struct tr_sql_stmt *q = NULL;
			long long owner = -1;
			if (tr_sql_prepare(db,
					   "SELECT tenant_id FROM dedication "
					   "WHERE kind = ?1 AND name = ?2",
					   &q) == 0) {
				tr_sql_bind_text(q, 1, kinds[k]);
				tr_sql_bind_text_copy(q, 2, n);
				if (tr_sql_step(q) == TR_SQL_ROW)
					owner = tr_sql_column_int64(q, 0);
			}
			tr_sql_finalize(q);
			if (owner != bu_id) {
				rc = tr_call_set(call, TRELLIS_E_CONFLICT,
						 "%s %s is dedicated to another "
						 "business unit",
						 kinds[k], n);
				break;
			}
			json_array_append_new(
			    list, json_pack("{s:s, s:s}", "kind", kinds[k],
					    "name", n));
		}
	}
out:
	tr_sql_finalize(st);
	json_decref(a);
	if (made && !rc)
		*made = list;
	else
		json_decref(list);
	return rc;
}

int tr_dedicate_supersede(struct tr_store *s, const char *name,
			  trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	json_t *a = NULL;
	int rc = tr_alloc_get(s, name, &a, call);
	if (rc)
		return rc;
	int64_t bu_id = tr_store_id(
	    s, TR_KIND_TENANT, json_string_value(json_object_get(a, "bu")),
	    call);
	char *keep[2];
	for (int k = 0; k < 2; k++) {
		json_t *l = json_object_get(a, lists[k]);
		keep[k] = json_dumps(l ? l : json_array(), JSON_COMPACT);
	}
	/* The BU's rows this allocation does not list go; those it lists
	 * are its own now (its undo keeps them no longer: it is active). */
	struct tr_sql_stmt *st = NULL;
	if (bu_id < 0)
		rc = (int)bu_id;
	else if (tr_sql_prepare(
		     db,
		     tr_sql_pick(
			 db,
			 "DELETE FROM dedication WHERE tenant_id = ?1 AND NOT "
			 "EXISTS (SELECT 1 FROM json_each(CASE kind WHEN "
			 "'host' THEN ?2 ELSE ?3 END) j WHERE j.value = name)",
			 "DELETE FROM dedication WHERE tenant_id = ?1 AND NOT "
			 "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE "
			 "kind WHEN 'host' THEN CAST(?2 AS TEXT) ELSE CAST(?3 "
			 "AS TEXT) END::jsonb) j WHERE j = name)"),
		     &st) != 0)
		rc = db_error(db, call, "dedications");
	else {
		tr_sql_bind_int64(st, 1, bu_id);
		tr_sql_bind_text_copy(st, 2, keep[0]);
		tr_sql_bind_text_copy(st, 3, keep[1]);
		if (tr_sql_step(st) != TR_SQL_DONE)
			rc = db_error(db, call, "dedications");
		tr_sql_finalize(st);
		st = NULL;
		if (!rc &&
		    tr_sql_prepare(db,
				   "UPDATE dedication SET allocation = ?2 "
				   "WHERE tenant_id = ?1",
				   &st) == 0) {
			tr_sql_bind_int64(st, 1, bu_id);
			tr_sql_bind_text_copy(st, 2, name);
			if (tr_sql_step(st) != TR_SQL_DONE)
				rc = db_error(db, call, "dedications");
		}
		tr_sql_finalize(st);
	}
	free(keep[0]);
	free(keep[1]);
	json_decref(a);
	return rc;
}
