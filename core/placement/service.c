/* SPDX-License-Identifier: Apache-2.0 */
/* service.c - the daemon's placement engine (service.h). */
#include "service.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../config/config.h"
#include "../loader/paths.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/json.h"
#include "../util/log.h"
#include "reserve.h"

/* The service's state, one per daemon (d->placement), made on first use. */
struct tr_placement {
	struct tr_placer *p;
	int64_t changes; /* the store's counter when last checked */
	char quick[256], full[512];
	uint64_t full_at; /* when full was last computed (ms) */
	char policy_dir[PATH_MAX];
	char policy_sig[1024]; /* names, sizes and mtimes of the files */
	char policy_err[2048]; /* why the last load of a file failed */
};

/* What the policy files look like on disk: an edit changes it. */
static void policy_signature(const char *dir, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && n < len) {
		char path[PATH_MAX + 256];
		struct stat st;
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0)
			n += (size_t)snprintf(
			    out + n, len - n, "%s:%lld:%lld.%ld;", e->d_name,
			    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec);
	}
	closedir(d);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int find_policy_dir(struct tr_daemon *d, char *out, size_t len)
{
	const char *env = getenv("TRELLIS_POLICY_DIR");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_dir(out) ? 0 : -1;
	}
	struct tr_pathlist pl = {0};
	const char *const *cfg = NULL;
	size_t ncfg = 0;
	if (d->config) {
		cfg = (const char *const *)d->config->plugin_dirs;
		ncfg = d->config->n_plugin_dirs;
	}
	int found = -1;
	if (tr_plugin_paths(&pl, cfg, ncfg) == 0) {
		static const char *const rel[] = {
		    "../../share/trellis/policies", "../../policies"};
		for (size_t i = 0; i < pl.n && found; i++)
			for (size_t r = 0; r < 2 && found; r++) {
				snprintf(out, len, "%s/%s", pl.dirs[i], rel[r]);
				if (is_dir(out))
					found = 0;
			}
		tr_pathlist_free(&pl);
	}
	return found;
}

/* Summaries of what the engine is built from.  The quick one (counts and
 * highest ids: index lookups) runs whenever the store changed; the full one
 * (capacities, which need a scan of every host) at most every
 * FULL_CHECK_MS, so a refreshed capacity shows within that delay while a
 * new host or zone shows at once. */
#define FULL_CHECK_MS 2000

/* The string aggregate is the one part the engines spell differently. */
#define QUICK_SQL(AGG)                                                         \
	"SELECT (SELECT count(*) || ':' || COALESCE(max(id), 0) FROM host)"    \
	" || '/' || (SELECT count(*) || ':' || COALESCE(max(id), 0) FROM "     \
	"zone) || '/' || (SELECT count(*) || ':' || COALESCE(max(id), 0) "     \
	"FROM vm) || '/' || (SELECT count(*) || ':' || "                       \
	"COALESCE(" AGG(                                                       \
	    "zone_id || policy") ", '') FROM placement_zone)"                  \
				 " || '/' || (SELECT COALESCE(" AGG(           \
				     "key || value") ", '') FROM "             \
						     "placement_setting) || "  \
						     "'/' || (SELECT "         \
						     "count(*) FROM "          \
						     "placement_host)"         \
						     " || '/' || (SELECT "     \
						     "count(*) || ':' || "     \
						     "COALESCE(" AGG(          \
							 "kind || name || "    \
							 "tenant_id") ", '') " \
								      "FROM "  \
								      "dedica" \
								      "tion)"
#define AGG_SQLITE(x) "group_concat(" x ")"
#define AGG_PG(x) "string_agg(" x ", ',')"
static const char quick_sqlite[] = QUICK_SQL(AGG_SQLITE);
static const char quick_pg[] = QUICK_SQL(AGG_PG);

/* Sums in both engines (sum of nothing is NULL, hence COALESCE; no
 * boolean is summed). */
#define SUM(x) "COALESCE(sum(" x "), 0)"
#define COUNT_IF(x) SUM("CASE WHEN " x " THEN 1 ELSE 0 END")
static const char full_sql[] = "SELECT (SELECT " SUM("cpus") " || ':' || " SUM(
    "memory_kib") " || ':' "
		  "|| " COUNT_IF("state = 'up'") " FROM host)"
						 " || '/' || (SELECT " SUM("exc"
									   "lus"
									   "iv"
									   "e") " || ':' || " COUNT_IF("spill = 'allow'") " || ':' || " SUM(
						     "COALESCE(owner_id, 0) * "
						     "id") " FROM zone)"
							   " || '/' || "
							   "(SELECT " SUM("memo"
									  "ry_"
									  "mib") " || ':' || " SUM(
							       "vcpus") " FROM "
									"vm "
									"WHERE "
									"origin"
									" = "
									"'disco"
									"vered'"
									")"
									" || "
									"'/' "
									"|| "
									"(SELEC"
									"T"
									" " SUM("vm_limit") " || ':' || " SUM(
									    "di"
									    "sk"
									    "_g"
									    "i"
									    "b") " || ':' || " SUM("length(tags) * host_id") " FROM placement_host)";

static int fingerprint(struct tr_sql *db, const char *sql, char *out,
		       size_t len)
{
	struct tr_sql_stmt *st = NULL;
	int rc = -1;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return -1;
	if (tr_sql_step(st) == TR_SQL_ROW) {
		const char *t = tr_sql_column_text(st, 0);
		snprintf(out, len, "%s", t ? (const char *)t : "");
		rc = 0;
	}
	tr_sql_finalize(st);
	return rc;
}

/* Calls fn for every object of kind (all pages). */
static int each(struct tr_store *s, enum tr_kind kind,
		int (*fn)(void *arg, json_t *obj), void *arg,
		trellis_call_t *call)
{
	struct tr_store_query q = {.limit = 1000};
	for (;;) {
		json_t *page = NULL;
		if (tr_store_list(s, kind, &q, &page, call) < 0)
			return call->code;
		json_t *items = json_object_get(page, "items"), *o;
		size_t i;
		int rc = 0;
		json_array_foreach(items, i, o)
		{
			if ((rc = fn(arg, o)))
				break;
		}
		json_t *next = json_object_get(page, "next");
		q.after_id = json_integer_value(next);
		int more = !rc && json_is_integer(next);
		json_decref(page);
		if (rc || !more)
			return rc;
	}
}

struct build {
	struct tr_placer *p;
	struct tr_sql *db;
	char err[512];
};

static int add_zone(void *arg, json_t *z)
{
	struct build *b = arg;
	struct tr_zone_def def = {
	    .name = tr_json_str_opt(z, "name"),
	    .owner = json_is_true(json_object_get(z, "private"))
			 ? tr_json_str_opt(z, "owner")
			 : NULL,
	    .exclusive = json_is_true(json_object_get(z, "exclusive")),
	    .spill_allow =
		!tr_json_str_opt(z, "spill") || !strcmp(tr_json_str_opt(z, "spill"), "allow")};
	if (def.exclusive && !def.owner)
		def.exclusive = 0; /* exclusive to nobody: treat as public */
	return tr_inv_add_zone(tr_placer_inv(b->p), &def, b->err,
			       sizeof b->err);
}

/* The tenant a host is dedicated to, itself or through its cluster (table
 * dedication), into owner; "" when none. */
static void host_owner(struct tr_sql *db, const char *host, const char *cluster,
		       char *owner, size_t len)
{
	struct tr_sql_stmt *st = NULL;
	owner[0] = '\0';
	if (tr_sql_prepare(db,
			   "SELECT t.name FROM dedication d JOIN tenant t "
			   "ON t.id = d.tenant_id WHERE (d.kind = 'host' "
			   "AND d.name = ?1) OR (d.kind = 'cluster' AND "
			   "d.name = ?2) ORDER BY d.kind = 'host' DESC",
			   &st) != 0)
		return; /* before the migration: no dedications */
	tr_sql_bind_text(st, 1, host);
	tr_sql_bind_text(st, 2, cluster);
	if (tr_sql_step(st) == TR_SQL_ROW)
		snprintf(owner, len, "%s", tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
}

/* vm_limit, disk and tags of a host (placement_host), defaults if none. */
static void host_extra(struct tr_sql *db, int64_t id, struct tr_host_def *h,
		       char *tags, size_t tlen)
{
	struct tr_sql_stmt *st = NULL;
	tags[0] = '\0';
	h->disk_gib = UINT32_MAX; /* unknown: never the limit */
	if (tr_sql_prepare(db,
			   "SELECT vm_limit, disk_gib, tags FROM "
			   "placement_host WHERE host_id = ?1",
			   &st) != 0)
		return;
	tr_sql_bind_int64(st, 1, id);
	if (tr_sql_step(st) == TR_SQL_ROW) {
		h->vm_limit = (uint32_t)tr_sql_column_int64(st, 0);
		if (tr_sql_column_int64(st, 1) > 0)
			h->disk_gib = (uint64_t)tr_sql_column_int64(st, 1);
		const char *t = tr_sql_column_text(st, 2);
		snprintf(tags, tlen, "%s", t ? (const char *)t : "");
	}
	tr_sql_finalize(st);
}

static int add_host(void *arg, json_t *o)
{
	struct build *b = arg;
	char path[512], tags[512], owner[256];
	const char *tagv[32];
	snprintf(path, sizeof path, "%s", tr_json_str_opt(o, "cluster") ?: "");
	host_owner(b->db, tr_json_str_opt(o, "name") ?: "", path, owner,
		   sizeof owner);
	char *pod = strchr(path, '/'), *cl = pod ? strchr(pod + 1, '/') : NULL;
	if (!pod || !cl)
		return 0; /* not in a ZONE/POD/CLUSTER: cannot be placed on */
	*pod++ = '\0';
	*cl++ = '\0';
	int64_t id = json_integer_value(json_object_get(o, "id"));
	struct tr_host_def h = {
	    .id = (uint64_t)id,
	    .name = tr_json_str_opt(o, "name"),
	    .zone = path,
	    .pod = pod,
	    .cluster = cl,
	    .cpus = (uint32_t)json_integer_value(json_object_get(o, "cpus")),
	    .memory_mib =
		(uint64_t)json_integer_value(json_object_get(o, "memory_kib")) /
		1024};
	const char *state = tr_json_str_opt(o, "state");
	if (state && strcmp(state, "up"))
		return 0; /* a host that is down takes nothing */
	host_extra(b->db, id, &h, tags, sizeof tags);
	h.owner = owner[0] ? owner : NULL;
	for (char *save = NULL, *t = strtok_r(tags, ", ", &save);
	     t && h.n_tags < 32; t = strtok_r(NULL, ", ", &save))
		tagv[h.n_tags++] = t;
	h.tags = tagv;
	return tr_inv_add_host(tr_placer_inv(b->p), &h, b->err, sizeof b->err);
}

/* Discovered VMs are load that no claim accounts for. */
static int add_vm(void *arg, json_t *o)
{
	struct build *b = arg;
	const char *origin = tr_json_str_opt(o, "origin"), *host = tr_json_str_opt(o, "host");
	if (!origin || strcmp(origin, "discovered") || !host)
		return 0;
	struct tr_inv *inv = tr_placer_inv(b->p);
	int64_t hi = tr_inv_host_by_name(inv, host);
	if (hi < 0)
		return 0;
	trellis_host_view_t *v = &inv->hosts[hi].v;
	v->used_vcpus +=
	    (uint32_t)json_integer_value(json_object_get(o, "vcpus"));
	v->used_memory_mib +=
	    (uint64_t)json_integer_value(json_object_get(o, "memory_mib"));
	v->vm_count++;
	return 0;
}

static int zone_policies(struct build *b)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(b->db,
			   "SELECT z.name, p.policy FROM placement_zone p "
			   "JOIN zone z ON z.id = p.zone_id",
			   &st) != 0)
		return 0;
	while (tr_sql_step(st) == TR_SQL_ROW) {
		struct tr_inv *inv = tr_placer_inv(b->p);
		int64_t zi =
		    tr_inv_zone_by_name(inv, tr_sql_column_text(st, 0));
		if (zi < 0)
			continue;
		struct tr_zone_def z = {
		    .name = tr_intern_str(inv->names, inv->zones[zi].id),
		    .owner = tr_intern_str(inv->names, inv->zones[zi].owner_id),
		    .exclusive =
			(inv->zones[zi].flags & TRELLIS_ZONE_EXCLUSIVE) != 0,
		    .spill_allow =
			(inv->zones[zi].flags & TRELLIS_ZONE_SPILL_ALLOW) != 0,
		    .policy = tr_sql_column_text(st, 1)};
		char zname[256];
		snprintf(zname, sizeof zname, "%s", z.name);
		z.name = zname;
		char owner[256];
		if (z.owner) {
			snprintf(owner, sizeof owner, "%s", z.owner);
			z.owner = owner;
		}
		tr_inv_add_zone(inv, &z, b->err, sizeof b->err);
	}
	tr_sql_finalize(st);
	return 0;
}

static void default_policy(struct build *b)
{
	struct tr_sql_stmt *st = NULL;
	char err[256];
	const char *name = "default";
	char buf[128] = "";
	if (tr_sql_prepare(b->db,
			   "SELECT value FROM placement_setting "
			   "WHERE key = 'default_policy'",
			   &st) == 0 &&
	    tr_sql_step(st) == TR_SQL_ROW) {
		snprintf(buf, sizeof buf, "%s", tr_sql_column_text(st, 0));
		name = buf;
	}
	tr_sql_finalize(st);
	if (tr_placer_policy(b->p, name))
		tr_placer_set_default(b->p, name, err, sizeof err);
}

static struct tr_placer *build(struct tr_daemon *d, struct tr_placement *svc,
			       trellis_call_t *call)
{
	struct build b = {.p = tr_placer_new(d->registry),
			  .db = tr_store_sql(d->store)};
	if (!b.p) {
		tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		return NULL;
	}
	if (find_policy_dir(d, svc->policy_dir, sizeof svc->policy_dir)) {
		tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			    "no placement policy directory (set "
			    "TRELLIS_POLICY_DIR or install "
			    "share/trellis/policies)");
		goto fail;
	}
	char err[2048];
	policy_signature(svc->policy_dir, svc->policy_sig, sizeof svc->policy_sig);
	svc->policy_err[0] = '\0';
	if (tr_placer_load_policies(b.p, svc->policy_dir, err, sizeof err) < 0) {
		tr_warn("placement: %s", err);
		snprintf(svc->policy_err, sizeof svc->policy_err, "%s", err);
		/* A broken edit must not change how VMs are placed: keep the
		 * policies that work until the file is fixed. */
		if (svc->p) {
			tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
			goto fail;
		}
	}
	if (!tr_placer_n_policies(b.p)) {
		tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			    "no placement policy loaded from %s",
			    svc->policy_dir);
		goto fail;
	}
	default_policy(&b);
	int rc = each(d->store, TR_KIND_ZONE, add_zone, &b, call);
	if (!rc)
		rc = each(d->store, TR_KIND_HOST, add_host, &b, call);
	if (!rc) {
		/* Index built once so VMs can find their hosts by name. */
		rc = tr_placer_commit(b.p, b.err, sizeof b.err);
	}
	if (!rc)
		rc = each(d->store, TR_KIND_VM, add_vm, &b, call);
	if (!rc)
		rc = zone_policies(&b);
	if (!rc)
		rc = tr_placer_commit(b.p, b.err, sizeof b.err);
	if (!rc)
		rc = tr_place_load_claims(b.p, b.db, call);
	if (rc) {
		if (!call->has_error)
			tr_call_set(call, rc, "placement inventory: %s", b.err);
		goto fail;
	}
	return b.p;
fail:
	tr_placer_free(b.p);
	return NULL;
}

struct tr_placer *tr_placement_engine(struct tr_daemon *d, trellis_call_t *call)
{
	if (!d->placement && !(d->placement = tr_xcalloc(1, sizeof *d->placement))) {
		tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		return NULL;
	}
	struct tr_placement *svc = d->placement;
	struct tr_sql *db = tr_store_sql(d->store);
	/* Outside a transaction every change of this connection is a commit
	 * of this process; inside one, look every time. */
	int64_t changes =
	    tr_sql_autocommit(db) ? (int64_t)tr_store_commits() : -1;
	uint64_t now = tr_now_ms();
	int current = svc->p != NULL;
	int full_due = now - svc->full_at >= FULL_CHECK_MS;
	char sig[sizeof svc->policy_sig];
	if (current && full_due) {
		policy_signature(svc->policy_dir, sig, sizeof sig);
		if (strcmp(sig, svc->policy_sig)) {
			/* An edited policy file: reload, or keep the engine
			 * and say why not (policy list shows it). */
			svc->full_at = now;
			struct tr_placer *p = build(d, svc, call);
			if (!p) {
				snprintf(svc->policy_sig, sizeof svc->policy_sig,
					 "%s", sig);
				tr_call_init(call, NULL);
				return svc->p;
			}
			tr_placer_free(svc->p);
			svc->p = p;
			return p;
		}
	}
	if (current && changes >= 0 && changes == svc->changes && !full_due)
		return svc->p;
	char quick[sizeof svc->quick], full[sizeof svc->full];
	snprintf(full, sizeof full, "%s", svc->full);
	if (fingerprint(db, tr_sql_pick(db, quick_sqlite, quick_pg), quick,
			sizeof quick) ||
	    ((full_due || !current) &&
	     fingerprint(db, full_sql, full, sizeof full))) {
		tr_call_set(call, TRELLIS_E_IO, "placement: %s",
			    tr_sql_errmsg(db));
		return NULL;
	}
	svc->changes = changes;
	if (full_due || !current)
		svc->full_at = now;
	if (current && !strcmp(quick, svc->quick) && !strcmp(full, svc->full))
		return svc->p;
	struct tr_placer *p = build(d, svc, call);
	if (!p)
		return NULL;
	tr_placer_free(svc->p);
	svc->p = p;
	snprintf(svc->quick, sizeof svc->quick, "%s", quick);
	snprintf(svc->full, sizeof svc->full, "%s", full);
	return p;
}

const char *tr_placement_policy_dir(const struct tr_daemon *d)
{
	return d->placement ? d->placement->policy_dir : "";
}

const char *tr_placement_policy_errors(const struct tr_daemon *d)
{
	return d->placement ? d->placement->policy_err : "";
}

int tr_placement_set_policy(struct tr_daemon *d, const char *zone,
			    const char *policy, trellis_call_t *call)
{
	struct tr_placer *p = tr_placement_engine(d, call);
	if (!p)
		return call->code;
	if (!tr_placer_policy(p, policy))
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "unknown policy '%s' (see trellis policy "
				   "list)",
				   policy);
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	int64_t zid = 0;
	if (zone && (zid = tr_store_id(d->store, TR_KIND_ZONE, zone, call)) < 0)
		return (int)zid;
	const char *sql =
	    zone ? "INSERT INTO placement_zone (zone_id, policy) "
		   "VALUES (?1, ?2) ON CONFLICT (zone_id) DO UPDATE "
		   "SET policy = excluded.policy"
		 : "INSERT INTO placement_setting (key, value) "
		   "VALUES ('default_policy', ?2) ON CONFLICT (key) "
		   "DO UPDATE SET value = excluded.value";
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "placement: %s",
				   tr_sql_errmsg(db));
	if (zone)
		tr_sql_bind_int64(st, 1, zid);
	tr_sql_bind_text(st, 2, policy);
	int rc = tr_sql_step(st) == TR_SQL_DONE
		     ? 0
		     : tr_call_set(call, TRELLIS_E_IO, "placement: %s",
				   tr_sql_errmsg(db));
	tr_sql_finalize(st);
	if (rc)
		return rc;
	/* The next use rebuilds from the store (the fingerprint moved). */
	return tr_placement_engine(d, call) ? 0 : call->code;
}

/* Tags are names: letters, digits and "-_.:"; stored comma-separated. */
static int tags_ok(const char *tags, trellis_call_t *call)
{
	for (const char *c = tags; *c; c++)
		if (!(isalnum((unsigned char)*c) || strchr("-_.:, ", *c)))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "tags '%s': a tag is made of "
					   "letters, digits and -_.: (tags "
					   "are separated by commas)",
					   tags);
	return 0;
}

int tr_placement_host_set(struct tr_daemon *d, const char *host,
			  const char *tags, int64_t vm_limit, int64_t disk_gib,
			  json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	int rc;
	int64_t id = tr_store_id(d->store, TR_KIND_HOST, host, call);
	if (id < 0)
		return (int)id;
	if (tags && (rc = tags_ok(tags, call)))
		return rc;
	static const char up[] =
	    "INSERT INTO placement_host (host_id, vm_limit, disk_gib, tags) "
	    "VALUES (?1, COALESCE(?2, 0), COALESCE(?3, 0), COALESCE(?4, '')) "
	    "ON CONFLICT (host_id) DO UPDATE SET "
	    "vm_limit = COALESCE(?2, placement_host.vm_limit), "
	    "disk_gib = COALESCE(?3, placement_host.disk_gib), "
	    "tags = COALESCE(?4, placement_host.tags) "
	    "RETURNING vm_limit, disk_gib, tags";
	if (tr_sql_prepare(db, up, &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "placement: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_int64(st, 1, id);
	if (vm_limit >= 0)
		tr_sql_bind_int64(st, 2, vm_limit);
	if (disk_gib >= 0)
		tr_sql_bind_int64(st, 3, disk_gib);
	if (tags)
		tr_sql_bind_text(st, 4, tags);
	if (tr_sql_step(st) != TR_SQL_ROW) {
		rc = tr_call_set(call, TRELLIS_E_IO, "placement: %s",
				 tr_sql_errmsg(db));
		tr_sql_finalize(st);
		return rc;
	}
	if (out) {
		json_t *tv = json_array();
		char buf[1024];
		const char *t = tr_sql_column_text(st, 2);
		snprintf(buf, sizeof buf, "%s", t ? (const char *)t : "");
		for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save))
			json_array_append_new(tv, json_string(tok));
		*out = json_pack(
		    "{s:s, s:o, s:I, s:I}", "host", host, "tags", tv,
		    "vm_limit", (json_int_t)tr_sql_column_int64(st, 0),
		    "disk_gb", (json_int_t)tr_sql_column_int64(st, 1));
	}
	tr_sql_step(st);
	tr_sql_finalize(st);
	if (d->placement) /* our own change: seen by the next placement */
		d->placement->full_at = 0;
	return 0;
}

void tr_placement_shutdown(struct tr_daemon *d)
{
	if (!d->placement)
		return;
	tr_placer_free(d->placement->p);
	free(d->placement);
	d->placement = NULL;
}
