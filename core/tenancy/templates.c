/* SPDX-License-Identifier: Apache-2.0 */
/* templates.c - VM templates and quota records (tenancy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../placement/claims.h"
#include "../store/sql.h"
#include "../store/store.h"
#include "tenancy.h"

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	if (tr_sql_errcode(db) == TRELLIS_E_CONFLICT)
		return tr_call_set(call, TRELLIS_E_CONFLICT, "%s: exists already",
				   what);
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

static const char *const text_cols[] = {"image", "kernel", "initrd",
					"cmdline"};

int tr_template_create(struct tr_store *s, json_t *f, json_t **out,
		       trellis_call_t *call)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	json_int_t vcpus = json_integer_value(json_object_get(f, "vcpus"));
	json_int_t mem = json_integer_value(json_object_get(f, "memory_mib"));
	json_int_t disk = json_integer_value(json_object_get(f, "disk_gib"));
	json_t *nics = json_object_get(f, "max_nics");
	json_t *disks = json_object_get(f, "max_disks");
	if (!name || !*name || vcpus < 1 || vcpus > 1024 || mem < 16 ||
	    disk < 1 || (nics && json_integer_value(nics) < 0) ||
	    (disks && json_integer_value(disks) < 1))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "template '%s': needs vcpus 1 to 1024, "
				   "memory at least 16 MiB, disk at least 1 "
				   "GiB, max_nics >= 0, max_disks >= 1",
				   name ? name : "");
	/* The offering's caps: the ones it sets (cap precedence, caps.c). */
	json_t *caps = tr_caps_pick(f);
	char what[128];
	snprintf(what, sizeof what, "template '%s'", name);
	int crc = tr_caps_check(caps, what, call);
	if (crc) {
		json_decref(caps);
		return crc;
	}
	char *caps_text = json_dumps(caps, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(caps);
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO vm_template (name, vcpus, "
			   "memory_mib, disk_gib, image, kernel, initrd, "
			   "cmdline, max_nics, max_disks, created_at, caps) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
			   "?11, ?12)",
			   &st) != 0) {
		free(caps_text);
		return db_error(db, call, "template");
	}
	tr_sql_bind_text_copy(st, 12, caps_text);
	free(caps_text);
	tr_sql_bind_text_copy(st, 1, name);
	tr_sql_bind_int64(st, 2, vcpus);
	tr_sql_bind_int64(st, 3, mem);
	tr_sql_bind_int64(st, 4, disk);
	for (int i = 0; i < 4; i++) {
		const char *v =
		    json_string_value(json_object_get(f, text_cols[i]));
		if (v && *v)
			tr_sql_bind_text_copy(st, 5 + i, v);
	}
	tr_sql_bind_int64(st, 9, nics ? json_integer_value(nics) : 1);
	tr_sql_bind_int64(st, 10, disks ? json_integer_value(disks) : 1);
	tr_sql_bind_int64(st, 11, (int64_t)time(NULL));
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_error(db, call, what);
	return out ? tr_template_get(s, name, out, call) : 0;
}

#define TCOLS                                                                  \
	"name, vcpus, memory_mib, disk_gib, image, kernel, initrd, cmdline, "  \
	"max_nics, max_disks, created_at, caps"

static json_t *template_json(struct tr_sql_stmt *st)
{
	json_t *o =
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
		      tr_sql_column_text(st, 0), "vcpus",
		      (json_int_t)tr_sql_column_int64(st, 1), "memory_mib",
		      (json_int_t)tr_sql_column_int64(st, 2), "disk_gib",
		      (json_int_t)tr_sql_column_int64(st, 3), "max_nics",
		      (json_int_t)tr_sql_column_int64(st, 8), "max_disks",
		      (json_int_t)tr_sql_column_int64(st, 9), "created_at",
		      (json_int_t)tr_sql_column_int64(st, 10));
	for (int i = 0; i < 4; i++) {
		const char *t = tr_sql_column_text(st, 4 + i);
		json_object_set_new(o, text_cols[i],
				    t ? json_string((const char *)t)
				      : json_null());
	}
	const char *c = tr_sql_column_text(st, 11);
	json_t *caps = c ? json_loads((const char *)c, 0, NULL) : NULL;
	json_object_set_new(o, "caps", json_is_object(caps) ? caps : json_object());
	if (!json_is_object(caps))
		json_decref(caps);
	return o;
}

int tr_template_get(struct tr_store *s, const char *name, json_t **out,
		    trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " TCOLS " FROM vm_template WHERE name = ?1",
			   &st) != 0)
		return db_error(db, call, "templates");
	tr_sql_bind_text_copy(st, 1, name);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW)
		*out = template_json(st);
	else if (rc == TR_SQL_DONE)
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "template '%s' not found (trellis template "
				  "list)",
				  name);
	else
		ret = db_error(db, call, "templates");
	tr_sql_finalize(st);
	return ret;
}

int tr_template_list(struct tr_store *s, json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " TCOLS " FROM vm_template ORDER BY name",
			   &st) != 0)
		return db_error(db, call, "templates");
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, template_json(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_error(db, call, "templates");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

int tr_template_delete(struct tr_store *s, const char *name,
		       trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "DELETE FROM vm_template WHERE name = ?1",
			   &st) != 0)
		return db_error(db, call, "templates");
	tr_sql_bind_text_copy(st, 1, name);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_error(db, call, "templates");
	if ((int)tr_sql_changes(db) == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "template '%s' not found", name);
	return 0;
}

int tr_template_apply(struct tr_store *s, json_t *inputs,
		      trellis_call_t *call)
{
	const char *name = json_string_value(json_object_get(inputs, "template"));
	if (!name || !*name)
		return 0;
	json_t *t = NULL;
	int rc = tr_template_get(s, name, &t, call);
	if (rc)
		return rc;
	/* input <- template field */
	static const char *const map[][2] = {
	    {"vcpus", "vcpus"},	  {"memory_mb", "memory_mib"},
	    {"disk_gb", "disk_gib"}, {"kernel", "kernel"},
	    {"initrd", "initrd"}, {"cmdline", "cmdline"}};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		json_t *v = json_object_get(t, map[i][1]);
		if (!json_object_get(inputs, map[i][0]) && v && !json_is_null(v))
			json_object_set(inputs, map[i][0], v);
	}
	json_decref(t);
	return 0;
}

/* ---- quotas ---- */

static int tenant_exists(struct tr_store *s, const char *bu,
			 trellis_call_t *call)
{
	int64_t id = tr_store_id(s, TR_KIND_TENANT, bu, call);
	return id < 0 ? (int)id : 0;
}

int tr_quota_set(struct tr_store *s, const char *bu, json_t *limits,
		 trellis_call_t *call)
{
	int rc = tenant_exists(s, bu, call);
	if (rc)
		return rc;
	struct tr_sql *db = tr_store_sql(s);
	static const char *const cols[] = {"vcpus", "memory_mib", "disk_gib",
					   "vms"};
	if (tr_sql_exec(db, "SAVEPOINT quota_set") != 0)
		return db_error(db, call, "quota");
	struct tr_sql_stmt *st = NULL;
	int ret = 0;
	if (tr_sql_prepare(db,
			   "INSERT INTO bu_quota (tenant) VALUES (?1) ON "
			   "CONFLICT (tenant) DO NOTHING",
			   &st) != 0 ||
	    (tr_sql_bind_text_copy(st, 1, bu),
	     tr_sql_step(st) != TR_SQL_DONE)) {
		ret = db_error(db, call, "quota");
		goto out;
	}
	tr_sql_finalize(st);
	st = NULL;
	for (int i = 0; i < 4; i++) {
		json_t *v = json_object_get(limits, cols[i]);
		if (!v)
			continue;
		char sql[128];
		snprintf(sql, sizeof sql,
			 "UPDATE bu_quota SET %s = ?2 WHERE tenant = ?1",
			 cols[i]);
		if (tr_sql_prepare(db, sql, &st) != 0) {
			ret = db_error(db, call, "quota");
			goto out;
		}
		tr_sql_bind_text_copy(st, 1, bu);
		tr_sql_bind_int64(st, 2,
				  json_is_integer(v) &&
					  json_integer_value(v) >= 0
				      ? json_integer_value(v)
				      : -1);
		if (tr_sql_step(st) != TR_SQL_DONE) {
			ret = db_error(db, call, "quota");
			goto out;
		}
		tr_sql_finalize(st);
		st = NULL;
	}
	const char *tname;
	json_t *v;
	json_object_foreach(json_object_get(limits, "templates"), tname, v)
	{
		int del = !json_is_integer(v) || json_integer_value(v) < 0;
		if (tr_sql_prepare(
			db,
			del ? "DELETE FROM bu_template_quota WHERE tenant = ?1 "
			      "AND template = ?2"
			    : "INSERT INTO bu_template_quota (tenant, "
			      "template, vms) VALUES (?1, ?2, ?3) ON CONFLICT "
			      "(tenant, template) DO UPDATE SET vms = "
			      "excluded.vms",
			&st) != 0) {
			ret = db_error(db, call, "quota");
			goto out;
		}
		tr_sql_bind_text_copy(st, 1, bu);
		tr_sql_bind_text_copy(st, 2, tname);
		if (!del)
			tr_sql_bind_int64(st, 3, json_integer_value(v));
		if (tr_sql_step(st) != TR_SQL_DONE) {
			ret = db_error(db, call, "quota");
			goto out;
		}
		tr_sql_finalize(st);
		st = NULL;
	}
out:
	tr_sql_finalize(st);
	if (ret)
		tr_sql_exec(db, "ROLLBACK TO quota_set");
	tr_sql_exec(db, "RELEASE quota_set");
	return ret;
}

static json_t *limit(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

int tr_quota_get(struct tr_store *s, const char *bu, json_t **out,
		 trellis_call_t *call)
{
	int rc = tenant_exists(s, bu, call);
	if (rc)
		return rc;
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	json_t *lim = json_pack("{s:n, s:n, s:n, s:n}", "vcpus", "memory_mib",
				"disk_gib", "vms");
	json_t *tl = json_object(), *tu = json_object();
	if (tr_sql_prepare(db,
			   "SELECT vcpus, memory_mib, disk_gib, vms FROM "
			   "bu_quota WHERE tenant = ?1",
			   &st) == 0) {
		tr_sql_bind_text_copy(st, 1, bu);
		if (tr_sql_step(st) == TR_SQL_ROW) {
			json_object_set_new(lim, "vcpus",
					    limit(tr_sql_column_int64(st, 0)));
			json_object_set_new(lim, "memory_mib",
					    limit(tr_sql_column_int64(st, 1)));
			json_object_set_new(lim, "disk_gib",
					    limit(tr_sql_column_int64(st, 2)));
			json_object_set_new(lim, "vms",
					    limit(tr_sql_column_int64(st, 3)));
		}
	}
	tr_sql_finalize(st);
	st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT template, vms FROM bu_template_quota WHERE "
			   "tenant = ?1 ORDER BY template",
			   &st) == 0) {
		tr_sql_bind_text_copy(st, 1, bu);
		while (tr_sql_step(st) == TR_SQL_ROW) {
			const char *t = tr_sql_column_text(st, 0);
			json_object_set_new(
			    tl, t, json_integer(tr_sql_column_int64(st, 1)));
			struct tr_claim u;
			trellis_call_t tmp;
			tr_call_init(&tmp, NULL);
			if (tr_claims_tenant_use(db, bu, t, &u, &tmp) == 0)
				json_object_set_new(
				    tu, t, json_integer((json_int_t)u.host_id));
		}
	}
	tr_sql_finalize(st);
	json_object_set_new(lim, "templates", tl);
	struct tr_claim u;
	if ((rc = tr_claims_tenant_use(db, bu, NULL, &u, call))) {
		json_decref(lim);
		json_decref(tu);
		return rc;
	}
	json_t *use = json_pack("{s:I, s:I, s:I, s:I, s:o}", "vcpus",
				(json_int_t)u.vcpus, "memory_mib",
				(json_int_t)u.memory_mib, "disk_gib",
				(json_int_t)u.disk_gib, "vms",
				(json_int_t)u.host_id, "templates", tu);
	*out = json_pack("{s:s, s:o, s:o}", "bu", bu, "limits", lim, "use", use);
	return 0;
}
