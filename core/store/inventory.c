/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory.c - the object kinds of store.h as descriptors (table,
 * writable fields, parent, how a reference resolves, what counts as a
 * child) and the verbs that write or read one object.  Lists and the
 * text forms are in query.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "store_int.h"

#define FEND {NULL, NULL, 0, 0}

static const struct field tenant_fields[] = {{"name", "name", F_TEXT, 0},
					     FEND};
static const struct field zone_fields[] = {
	{"name", "name", F_TEXT, 0},
	{"private", "private", F_BOOL, 0},
	{"owner", "owner_id", F_REF, TR_KIND_TENANT},
	{"exclusive", "exclusive", F_BOOL, 0},
	{"spill", "spill", F_TEXT, 0},
	FEND};
static const struct field name_fields[] = {{"name", "name", F_TEXT, 0},
					   FEND};
static const struct field host_fields[] = {
	{"name", "name", F_TEXT, 0},
	{"hypervisor", "hypervisor", F_TEXT, 0},
	{"uri", "uri", F_TEXT, 0},
	{"state", "state", F_TEXT, 0},
	{"cpus", "cpus", F_INT, 0},
	{"memory_kib", "memory_kib", F_INT, 0},
	{"free_memory_kib", "free_memory_kib", F_INT, 0},
	{"hv_type", "hv_type", F_TEXT, 0},
	{"hv_version", "hv_version", F_INT, 0},
	{"domain_type", "domain_type", F_TEXT, 0},
	{"arch", "arch", F_TEXT, 0},
	{"cpu_model", "cpu_model", F_TEXT, 0},
	{"hostname", "hostname", F_TEXT, 0},
	{"host_uuid", "host_uuid", F_TEXT, 0},
	{"sockets", "sockets", F_INT, 0},
	{"cores", "cores", F_INT, 0},
	{"threads", "threads", F_INT, 0},
	{"mhz", "mhz", F_INT, 0},
	{"refreshed_at", "refreshed_at", F_INT, 0},
	{"error", "error", F_TEXT, 0},
	{"spec", "spec", F_JSON, 0},
	FEND};
static const struct field vm_fields[] = {
	{"uuid", "uuid", F_TEXT, 0},
	{"name", "name", F_TEXT, 0},
	{"state", "state", F_TEXT, 0},
	{"origin", "origin", F_TEXT, 0},
	{"tenant", "tenant_id", F_REF, TR_KIND_TENANT},
	{"vcpus", "vcpus", F_INT, 0},
	{"memory_mib", "memory_mib", F_INT, 0},
	{"spec", "spec", F_JSON, 0},
	FEND};
static const struct field pool_fields[] = {
	{"name", "name", F_TEXT, 0},
	{"plugin", "plugin", F_TEXT, 0},
	{"target", "target", F_TEXT, 0},
	{"cluster", "cluster_id", F_REF, TR_KIND_CLUSTER},
	{"spec", "spec", F_JSON, 0},
	FEND};
static const struct field volume_fields[] = {
	{"name", "name", F_TEXT, 0},
	{"size_bytes", "size_bytes", F_INT, 0},
	{"path", "path", F_TEXT, 0},
	{"vm", "vm_uuid", F_TEXT, 0},
	{"spec", "spec", F_JSON, 0},
	FEND};
static const struct field segment_fields[] = {
	{"name", "name", F_TEXT, 0},
	{"plugin", "plugin", F_TEXT, 0},
	{"type", "type", F_TEXT, 0},
	{"vni", "vni", F_INT, 0},
	{"tenant", "tenant_id", F_REF, TR_KIND_TENANT},
	{"spec", "spec", F_JSON, 0},
	FEND};

#define CHEND {NULL, NULL}
static const struct child tenant_children[] = {
	{"zone", "SELECT name FROM zone WHERE owner_id = ?1 LIMIT 21"},
	{"vm", "SELECT name FROM vm WHERE tenant_id = ?1 LIMIT 21"},
	{"segment", "SELECT name FROM segment WHERE tenant_id = ?1 LIMIT 21"},
	CHEND};
static const struct child zone_children[] = {
	{"pod", "SELECT name FROM pod WHERE zone_id = ?1 ORDER BY id LIMIT 21"},
	CHEND};
static const struct child pod_children[] = {
	{"cluster",
	 "SELECT name FROM cluster WHERE pod_id = ?1 ORDER BY id LIMIT 21"},
	CHEND};
static const struct child cluster_children[] = {
	{"host", "SELECT name FROM host WHERE cluster_id = ?1 ORDER BY id LIMIT 21"},
	{"pool", "SELECT name FROM pool WHERE cluster_id = ?1 ORDER BY id LIMIT 21"},
	CHEND};
static const struct child host_children[] = {
	{"vm", "SELECT name FROM vm WHERE host_id = ?1 ORDER BY id LIMIT 21"},
	CHEND};
static const struct child pool_children[] = {
	{"volume",
	 "SELECT name FROM volume WHERE pool_id = ?1 ORDER BY id LIMIT 21"},
	CHEND};
static const struct child no_children[] = {CHEND};

#define FLEND {NULL, NULL}
static const struct filter vm_filters[] = {{"state", "a.state"},
					   {"origin", "a.origin"},
					   {"name", "a.name"},
					   {"tenant", "t.name"},
					   FLEND};
static const struct filter host_filters[] = {{"state", "a.state"},
					     {"hypervisor", "a.hypervisor"},
					     {"uri", "a.uri"},
					     {"host_uuid", "a.host_uuid"},
					     FLEND};
static const struct filter zone_filters[] = {{"owner", "t.name"}, FLEND};
static const struct filter no_filters[] = {FLEND};

#define CLUSTER_PATH "z.name || '/' || p.name || '/' || c.name"

const struct kdesc tr_store_kinds[TR_KIND__COUNT] = {
	[TR_KIND_TENANT] = {
		"tenant", "tenant", -1, 0, NULL, "name", tenant_fields,
		"SELECT a.id, a.name, a.created_at FROM tenant a",
		"SELECT id, name FROM tenant WHERE name = ?1",
		1, "TENANT", tenant_children, no_filters, NULL},
	[TR_KIND_ZONE] = {
		"zone", "zone", -1, 0, NULL, "name", zone_fields,
		"SELECT a.id, a.name, a.private, t.name AS owner, a.exclusive,"
		" a.spill, a.created_at FROM zone a"
		" LEFT JOIN tenant t ON t.id = a.owner_id",
		"SELECT id, name FROM zone WHERE name = ?1",
		1, "ZONE", zone_children, zone_filters, NULL},
	[TR_KIND_POD] = {
		"pod", "pod", TR_KIND_ZONE, 0, "zone_id", "name", name_fields,
		"SELECT a.id, a.name, z.name AS zone, a.created_at FROM pod a"
		" JOIN zone z ON z.id = a.zone_id",
		"SELECT p.id, z.name || '/' || p.name FROM pod p"
		" JOIN zone z ON z.id = p.zone_id"
		" WHERE p.name = ?1 AND (CAST(?2 AS TEXT) IS NULL OR z.name = ?2)",
		2, "ZONE/POD", pod_children, no_filters, NULL},
	[TR_KIND_CLUSTER] = {
		"cluster", "cluster", TR_KIND_POD, 0, "pod_id", "name",
		name_fields,
		"SELECT a.id, a.name, z.name || '/' || p.name AS pod,"
		" z.name AS zone, a.created_at FROM cluster a"
		" JOIN pod p ON p.id = a.pod_id JOIN zone z ON z.id = p.zone_id",
		"SELECT c.id, " CLUSTER_PATH " FROM cluster c"
		" JOIN pod p ON p.id = c.pod_id JOIN zone z ON z.id = p.zone_id"
		" WHERE c.name = ?1 AND (CAST(?2 AS TEXT) IS NULL OR p.name = ?2)"
		" AND (CAST(?3 AS TEXT) IS NULL OR z.name = ?3)",
		3, "ZONE/POD/CLUSTER", cluster_children, no_filters, NULL},
	[TR_KIND_HOST] = {
		"host", "host", TR_KIND_CLUSTER, 0, "cluster_id", "name",
		host_fields,
		"SELECT a.id, a.name, " CLUSTER_PATH " AS cluster,"
		" a.hypervisor, a.uri, a.state, a.cpus, a.memory_kib,"
		" a.free_memory_kib, a.hv_type, a.hv_version, a.domain_type,"
		" a.arch, a.cpu_model, a.hostname, a.host_uuid, a.sockets,"
		" a.cores, a.threads, a.mhz, a.refreshed_at, a.error,"
		" a.spec, ag.name AS agent, a.created_at"
		" FROM host a JOIN cluster c ON c.id = a.cluster_id"
		" JOIN pod p ON p.id = c.pod_id JOIN zone z ON z.id = p.zone_id"
		" LEFT JOIN agent ag ON ag.id = a.agent_id",
		"SELECT id, name FROM host WHERE name = ?1",
		1, "HOST", host_children, host_filters, NULL},
	[TR_KIND_VM] = {
		"vm", "vm", TR_KIND_HOST, 1, "host_id", "uuid", vm_fields,
		"SELECT a.id, a.uuid, a.name, h.name AS host, a.state,"
		" a.origin, t.name AS tenant, a.vcpus, a.memory_mib, a.spec,"
		" a.created_at FROM vm a LEFT JOIN host h ON h.id = a.host_id"
		" LEFT JOIN tenant t ON t.id = a.tenant_id",
		"SELECT id, uuid FROM vm WHERE uuid = ?1"
		" UNION ALL SELECT id, uuid FROM vm"
		" WHERE name = ?1 AND uuid <> ?1",
		1, "UUID", no_children, vm_filters, "a.doc"},
	[TR_KIND_POOL] = {
		"pool", "pool", -1, 0, NULL, "name", pool_fields,
		"SELECT a.id, a.name, a.plugin, a.target, " CLUSTER_PATH
		" AS cluster, a.spec, a.created_at FROM pool a"
		" LEFT JOIN cluster c ON c.id = a.cluster_id"
		" LEFT JOIN pod p ON p.id = c.pod_id"
		" LEFT JOIN zone z ON z.id = p.zone_id",
		"SELECT id, name FROM pool WHERE name = ?1",
		1, "POOL", pool_children, no_filters, NULL},
	[TR_KIND_VOLUME] = {
		"volume", "volume", TR_KIND_POOL, 0, "pool_id", "name",
		volume_fields,
		"SELECT a.id, a.name, po.name AS pool, a.size_bytes, a.path,"
		" a.vm_uuid AS vm, a.spec, a.created_at FROM volume a"
		" JOIN pool po ON po.id = a.pool_id",
		"SELECT v.id, po.name || '/' || v.name FROM volume v"
		" JOIN pool po ON po.id = v.pool_id"
		" WHERE v.name = ?1 AND (CAST(?2 AS TEXT) IS NULL OR po.name = ?2)",
		2, "POOL/VOLUME", no_children, no_filters, NULL},
	[TR_KIND_SEGMENT] = {
		"segment", "segment", -1, 0, NULL, "name", segment_fields,
		"SELECT a.id, a.name, a.plugin, a.type, a.vni,"
		" t.name AS tenant, a.spec, a.created_at FROM segment a"
		" LEFT JOIN tenant t ON t.id = a.tenant_id",
		"SELECT id, name FROM segment WHERE name = ?1",
		1, "SEGMENT", no_children, no_filters, NULL},
};

const char *tr_kind_str(enum tr_kind kind)
{
	if ((unsigned)kind >= TR_KIND__COUNT)
		return NULL;
	return tr_store_kinds[kind].name;
}

const struct kdesc *tr_store_desc(enum tr_kind kind, trellis_call_t *call)
{
	if ((unsigned)kind >= TR_KIND__COUNT) {
		tr_call_set(call, TRELLIS_E_INVALID_ARG,
			    "store: unknown object kind %d", (int)kind);
		return NULL;
	}
	return &tr_store_kinds[kind];
}

/* Names: what users type in paths, so no '/' and no surprises. */
static int check_name(const struct kdesc *k, const char *name,
		      trellis_call_t *call)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s name must be 1 to 63 characters", k->name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') ||
			 (i > 0 && (c == '-' || c == '_' || c == '.'));
		if (!ok)
			return tr_call_set(
				call, TRELLIS_E_INVALID_ARG,
				"%s name '%s': use letters, digits, '-', '_' "
				"and '.', starting with a letter or digit",
				k->name, name);
	}
	return 0;
}

int64_t tr_store_resolve(struct tr_store *s, enum tr_kind kind, const char *ref,
		       trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	if (!ref || !*ref)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: no name given", k->name);
	/* Split "a/b/c" from the right: name, parent, grandparent. */
	char buf[256];
	if (strlen(ref) >= sizeof buf)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s reference too long", k->name);
	strcpy(buf, ref);
	const char *parts[3] = {NULL, NULL, NULL};
	int n = 0;
	char *p = buf;
	while (1) {
		char *slash = strrchr(p, '/');
		if (n == k->depth - 1 || !slash) {
			parts[n++] = p;
			break;
		}
		*slash = '\0';
		parts[n++] = slash + 1;
	}
	if (k->key[0] != 'u' && strchr(parts[n - 1], '/'))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s reference '%s': expected %s", k->name,
				   ref, k->hint);
	struct tr_sql_stmt *st = tr_store_stmt(s, k->resolve, call);
	if (!st)
		return call->code;
	tr_sql_bind_text_copy(st, 1, parts[0]);
	if (k->depth > 1 && parts[1])
		tr_sql_bind_text_copy(st, 2, parts[1]);
	if (k->depth > 2 && parts[2])
		tr_sql_bind_text_copy(st, 3, parts[2]);
	int64_t id = -1, exact = -1;
	int rows = 0, rc;
	char cands[512] = "";
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		const char *path = tr_sql_column_text(st, 1);
		int64_t rid = tr_sql_column_int64(st, 0);
		if (path && strcmp(path, ref) == 0 && exact < 0)
			exact = rid;
		if (rows++ == 0)
			id = rid;
		size_t len = strlen(cands);
		if (len < sizeof cands - 80)
			snprintf(cands + len, sizeof cands - len, "%s%s",
				 len ? ", " : "", path ? path : "?");
	}
	if (rc != TR_SQL_DONE) {
		int e = tr_store_sql_error(s, call, k->name);
		tr_sql_reset(st);
		return e;
	}
	tr_sql_reset(st);
	if (exact >= 0)
		return exact;
	if (rows == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "%s '%s' not found", k->name, ref);
	if (rows > 1)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s '%s' is ambiguous (%s): use %s",
				   k->name, ref, cands, k->hint);
	return id;
}

int64_t tr_store_id(struct tr_store *s, enum tr_kind kind, const char *ref,
		    trellis_call_t *call)
{
	return tr_store_resolve(s, kind, ref, call);
}

json_t *tr_store_row_json(struct tr_sql_stmt *st)
{
	json_t *o = json_object();
	int n = tr_sql_column_count(st);
	for (int i = 0; i < n && o; i++) {
		const char *name = tr_sql_column_name(st, i);
		json_t *v = NULL;
		switch (tr_sql_column_type(st, i)) {
		case TR_SQL_INTEGER: {
			int64_t x = tr_sql_column_int64(st, i);
			if (strcmp(name, "private") == 0 ||
			    strcmp(name, "exclusive") == 0)
				v = json_boolean(x);
			else
				v = json_integer(x);
			break;
		}
		case TR_SQL_FLOAT:
			v = json_real(tr_sql_column_double(st, i));
			break;
		case TR_SQL_TEXT: {
			const char *t = tr_sql_column_text(st, i);
			size_t len = tr_sql_column_bytes(st, i);
			if (strcmp(name, "spec") == 0)
				v = json_loadb(t, len, JSON_DECODE_ANY,
					       NULL);
			if (!v)
				v = json_stringn(t, len);
			break;
		}
		default:
			v = json_null();
		}
		json_object_set_new(o, name, v);
	}
	return o;
}

struct tr_sql_stmt *tr_store_row_by_id(struct tr_store *s, const struct kdesc *k,
				 const char *select, int64_t id,
				 trellis_call_t *call)
{
	char sql[4096];
	snprintf(sql, sizeof sql, "%s WHERE a.id = ?1", select);
	struct tr_sql_stmt *st = tr_store_stmt(s, sql, call);
	if (!st)
		return NULL;
	tr_sql_bind_int64(st, 1, id);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW)
		return st;
	tr_sql_reset(st);
	if (rc == TR_SQL_DONE)
		tr_call_set(call, TRELLIS_E_NOTFOUND, "%s #%lld not found",
			    k->name, (long long)id);
	else
		tr_store_sql_error(s, call, k->name);
	return NULL;
}

static int get_by_id(struct tr_store *s, const struct kdesc *k, int64_t id,
		     json_t **out, trellis_call_t *call)
{
	struct tr_sql_stmt *st = tr_store_row_by_id(s, k, k->select, id, call);
	if (!st)
		return call->code;
	if (out)
		*out = tr_store_row_json(st);
	tr_sql_reset(st);
	return 0;
}

int tr_store_get(struct tr_store *s, enum tr_kind kind, const char *ref,
		 json_t **out, trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	int64_t id = tr_store_resolve(s, kind, ref, call);
	if (id < 0)
		return (int)id;
	return get_by_id(s, k, id, out, call);
}

static const struct field *find_field(const struct kdesc *k, const char *name)
{
	for (const struct field *f = k->fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* Checks every member of fields and binds it as ?first, ?first+1 ... in
 * the order of k->fields; *cols gets "c1, c2" (or "c1 = ?N, ..." when
 * assign).  Returns the number bound or an error. */
static int bind_fields(struct tr_store *s, const struct kdesc *k,
		       json_t *fields, int assign, char *cols, size_t colslen,
		       int64_t *ids, trellis_call_t *call)
{
	const char *key;
	json_t *v;
	json_object_foreach(fields, key, v)
	{
		if (!find_field(k, key))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: unknown field '%s'", k->name,
					   key);
	}
	int n = 0;
	cols[0] = '\0';
	for (const struct field *f = k->fields; f->name; f++) {
		v = json_object_get(fields, f->name);
		if (!v)
			continue;
		int bad = 0;
		switch (f->type) {
		case F_TEXT:
			bad = !json_is_string(v) && !json_is_null(v);
			break;
		case F_INT:
			bad = !json_is_integer(v) && !json_is_null(v);
			break;
		case F_BOOL:
			bad = !json_is_boolean(v);
			break;
		case F_REF:
			bad = !json_is_string(v) && !json_is_null(v);
			if (!bad && json_is_string(v)) {
				int64_t id = tr_store_resolve(s, f->ref,
						     json_string_value(v), call);
				if (id < 0)
					return (int)id;
				ids[n] = id;
			} else {
				ids[n] = -1;
			}
			break;
		case F_JSON:
			break;
		}
		if (bad)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: field '%s' has the wrong type",
					   k->name, f->name);
		size_t len = strlen(cols);
		if (assign)
			snprintf(cols + len, colslen - len, "%s%s = ?%d",
				 len ? ", " : "", f->col, n + 1);
		else
			snprintf(cols + len, colslen - len, "%s%s",
				 len ? ", " : "", f->col);
		n++;
	}
	return n;
}

static void bind_values(struct tr_sql_stmt *st, const struct kdesc *k,
			json_t *fields, const int64_t *ids)
{
	int i = 0;
	for (const struct field *f = k->fields; f->name; f++) {
		json_t *v = json_object_get(fields, f->name);
		if (!v)
			continue;
		int pos = ++i;
		if (json_is_null(v) && f->type != F_JSON) {
			tr_sql_bind_null(st, pos);
			continue;
		}
		switch (f->type) {
		case F_TEXT:
			tr_sql_bind_text_copy(st, pos, json_string_value(v));
			break;
		case F_INT:
			tr_sql_bind_int64(st, pos, json_integer_value(v));
			break;
		case F_BOOL:
			tr_sql_bind_int64(st, pos, json_is_true(v));
			break;
		case F_REF:
			if (ids[pos - 1] < 0)
				tr_sql_bind_null(st, pos);
			else
				tr_sql_bind_int64(st, pos, ids[pos - 1]);
			break;
		case F_JSON: {
			char *text = json_dumps(v, JSON_COMPACT |
							   JSON_ENCODE_ANY);
			tr_sql_bind_text_copy(st, pos, text);
			free(text);
			break;
		}
		}
	}
}

/* A failed write: constraint violations become CONFLICT (unique) or
 * INVALID_ARG (checks, missing values) with the object named. */
static int write_error(struct tr_store *s, const struct kdesc *k,
		       const char *name, const char *parent,
		       trellis_call_t *call)
{
	if (tr_sql_errcode(s->sql) == TRELLIS_E_CONFLICT &&
	    tr_sql_unique_violation(s->sql)) {
		if (parent)
			return tr_call_set(call, TRELLIS_E_CONFLICT,
					   "%s '%s' already exists in %s '%s'",
					   k->name, name,
					   tr_store_kinds[k->parent].name, parent);
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "%s '%s' already exists", k->name, name);
	}
	if (tr_sql_errcode(s->sql) == TRELLIS_E_CONFLICT)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s '%s': %s", k->name, name,
				   tr_sql_errmsg(s->sql));
	return tr_store_sql_error(s, call, k->name);
}

#define MAX_FIELDS 32

int tr_store_create(struct tr_store *s, enum tr_kind kind,
		    const char *parent_ref, json_t *fields, json_t **out,
		    trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	if (s->readonly)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "store: opened read-only");
	if (!json_is_object(fields))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: fields must be an object", k->name);
	json_t *key = json_object_get(fields, k->key);
	if (!json_is_string(key))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: field '%s' is required", k->name,
				   k->key);
	const char *name = json_string_value(key);
	json_t *jn = json_object_get(fields, "name");
	if (!json_is_string(jn))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: field 'name' is required", k->name);
	if (check_name(k, json_string_value(jn), call) < 0)
		return call->code;
	int64_t parent_id = -1;
	if (k->parent >= 0 && parent_ref) {
		parent_id = tr_store_resolve(s, (enum tr_kind)k->parent, parent_ref,
				    call);
		if (parent_id < 0)
			return (int)parent_id;
	} else if (k->parent >= 0 && !k->parent_optional) {
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s '%s': a %s is required", k->name, name,
				   tr_store_kinds[k->parent].name);
	}
	if (json_object_size(fields) > MAX_FIELDS)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: too many fields", k->name);
	int64_t ids[MAX_FIELDS];
	char cols[1024], sql[2048], qs[256] = "";
	int n = bind_fields(s, k, fields, 0, cols, sizeof cols, ids, call);
	if (n < 0)
		return n;
	for (int i = 1; i <= n; i++) {
		size_t len = strlen(qs);
		snprintf(qs + len, sizeof qs - len, "?%d, ", i);
	}
	if (parent_id >= 0)
		snprintf(sql, sizeof sql,
			 "INSERT INTO %s (%s, %s, created_at) VALUES "
			 "(%s?%d, ?%d) RETURNING id",
			 k->table, cols, k->parent_col, qs, n + 1, n + 2);
	else
		snprintf(sql, sizeof sql,
			 "INSERT INTO %s (%s, created_at) VALUES (%s?%d)"
			 " RETURNING id",
			 k->table, cols, qs, n + 1);
	struct tr_sql_stmt *st = tr_store_stmt(s, sql, call);
	if (!st)
		return call->code;
	bind_values(st, k, fields, ids);
	if (parent_id >= 0) {
		tr_sql_bind_int64(st, n + 1, parent_id);
		tr_sql_bind_int64(st, n + 2, tr_sql_now());
	} else {
		tr_sql_bind_int64(st, n + 1, tr_sql_now());
	}
	/* Stepped to its end: SQLite commits (and counts the commit,
	 * snapshot.c) there, not at the reset. */
	int rc = tr_sql_step(st);
	int64_t id = rc == TR_SQL_ROW ? tr_sql_column_int64(st, 0) : -1;
	if (rc == TR_SQL_ROW)
		rc = tr_sql_step(st);
	tr_sql_reset(st);
	if (rc != TR_SQL_DONE || id < 0)
		return write_error(s, k, name, parent_ref, call);
	return get_by_id(s, k, id, out, call);
}

int tr_store_update(struct tr_store *s, enum tr_kind kind, const char *ref,
		    json_t *fields, json_t **out, trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	if (s->readonly)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "store: opened read-only");
	if (!json_is_object(fields) || json_object_size(fields) > MAX_FIELDS)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: fields must be an object", k->name);
	if (json_object_get(fields, k->key) ||
	    json_object_get(fields, "name"))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s '%s': the name cannot change", k->name,
				   ref);
	int64_t id = tr_store_resolve(s, kind, ref, call);
	if (id < 0)
		return (int)id;
	int64_t ids[MAX_FIELDS];
	char cols[1536], sql[2048];
	int n = bind_fields(s, k, fields, 1, cols, sizeof cols, ids, call);
	if (n < 0)
		return n;
	if (n > 0) {
		snprintf(sql, sizeof sql, "UPDATE %s SET %s WHERE id = ?%d",
			 k->table, cols, n + 1);
		struct tr_sql_stmt *st = tr_store_stmt(s, sql, call);
		if (!st)
			return call->code;
		bind_values(st, k, fields, ids);
		tr_sql_bind_int64(st, n + 1, id);
		int rc = tr_sql_step(st);
		tr_sql_reset(st);
		if (rc != TR_SQL_DONE)
			return write_error(s, k, ref, NULL, call);
	}
	return get_by_id(s, k, id, out, call);
}

int tr_store_delete(struct tr_store *s, enum tr_kind kind, const char *ref,
		    json_t **details, trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	if (s->readonly)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "store: opened read-only");
	int64_t id = tr_store_resolve(s, kind, ref, call);
	if (id < 0)
		return (int)id;
	json_t *children = json_array();
	char names[768] = "";
	int more = 0;
	for (const struct child *c = k->children; c->kind; c++) {
		struct tr_sql_stmt *st = tr_store_stmt(s, c->sql, call);
		if (!st)
			goto fail;
		tr_sql_bind_int64(st, 1, id);
		int rc, n = 0;
		while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
			const char *nm = tr_sql_column_text(st, 0);
			if (++n > 20) {
				more = 1;
				break;
			}
			json_array_append_new(
				children, json_pack("{s:s, s:s}", "kind",
						    c->kind, "name", nm ? nm : ""));
			size_t len = strlen(names);
			if (len < sizeof names - 100)
				snprintf(names + len, sizeof names - len,
					 "%s%s %s", len ? ", " : "", c->kind,
					 nm ? nm : "");
		}
		tr_sql_reset(st);
		if (rc != TR_SQL_DONE && rc != TR_SQL_ROW) {
			tr_store_sql_error(s, call, k->name);
			goto fail;
		}
	}
	if (json_array_size(children) > 0) {
		tr_call_set(call, TRELLIS_E_CONFLICT,
			    "%s '%s' is not empty: it has %s%s; delete them "
			    "first",
			    k->name, ref, names, more ? " and more" : "");
		if (details)
			*details = json_pack("{s:O}", "children", children);
		goto fail;
	}
	json_decref(children);
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1", k->table);
	struct tr_sql_stmt *st = tr_store_stmt(s, sql, call);
	if (!st)
		return call->code;
	tr_sql_bind_int64(st, 1, id);
	int rc = tr_sql_step(st);
	tr_sql_reset(st);
	if (rc != TR_SQL_DONE) {
		if (tr_sql_errcode(s->sql) == TRELLIS_E_CONFLICT)
			return tr_call_set(call, TRELLIS_E_CONFLICT,
					   "%s '%s' is still in use: %s",
					   k->name, ref, tr_sql_errmsg(s->sql));
		return tr_store_sql_error(s, call, k->name);
	}
	return 0;
fail:
	json_decref(children);
	return call->code;
}

