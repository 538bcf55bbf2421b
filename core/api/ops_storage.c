/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_storage.c - pool.* and volume.*: storage pools are inventory records
 * (name, plugin, target directory or URI) that are opened through their
 * storage plugin; volumes are read live from the plugin.  Everything that
 * touches a plugin runs as the matching storage.* action on a worker (the
 * same code a workflow step runs), and a pool is recorded only after its
 * plugin opened it, so a bad target records nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "api_int.h"

static void run(struct tr_daemon *d, struct tr_req *req, const char *action,
		json_t *args)
{
	tr_action_submit(d, action, json_deep_copy(args), tr_req_answer_action, req);
}

struct pool_create {
	struct tr_req *req;
	json_t *fields;
};

static void pool_created(struct tr_daemon *d, void *arg, json_t *result,
			 trellis_call_t *call)
{
	struct pool_create *pc = arg;
	const char *name =
	    json_string_value(json_object_get(pc->fields, "name"));
	json_t *obj = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	/* The capacity the plugin reported, for allocation approvals
	 * (core/tenancy/alloc.c: spec.capacity_bytes). */
	json_t *cap = result ? json_object_get(result, "capacity") : NULL;
	if (json_is_integer(cap)) {
		json_t *spec = json_object_get(pc->fields, "spec");
		if (!json_is_object(spec))
			json_object_set_new(pc->fields, "spec",
					    spec = json_object());
		json_object_set(spec, "capacity_bytes", cap);
	}
	if (!result) {
		tr_conn_forget(d, TR_CONN_POOL, name);
		tr_req_fail_call(pc->req, call);
	} else if (tr_store_create(d->store, TR_KIND_POOL, NULL, pc->fields,
				   &obj, &c2) < 0) {
		tr_req_fail_store(pc->req, &c2, NULL);
	} else {
		json_object_update(obj, result);
		json_object_del(obj, "pool");
		tr_daemon_publish(d, "pool.created", obj);
		tr_info("pool '%s' created", name);
		tr_req_ok(pc->req, obj);
	}
	json_decref(pc->fields);
	free(pc);
}

static void pool_create(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *plugin = json_string_value(json_object_get(args, "plugin"));
	if (!plugin)
		plugin = "localfs";
	if (tr_store_id(d->store, TR_KIND_POOL, name, &call) >= 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "pool '%s' already exists", name);
		return;
	}
	/* A pool at an agent's site: the agent's own plugins open it
	 * (core/actions/road.c relays its actions), and its record says
	 * whose site it is (spec.agent). */
	const char *agent =
	    json_string_value(json_object_get(args, "via_agent"));
	const char *cluster = json_string_value(json_object_get(args, "cluster"));
	if (agent && !cluster) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "pool.create: a pool at an agent's site needs "
			    "--cluster (one of the agent's zone)");
		return;
	}
	if (agent && tr_api_via_agent_check(d, req, agent, cluster) < 0)
		return;
	if (!agent &&
	    !tr_registry_find(d->registry, plugin, TRELLIS_KIND_STORAGE)) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "pool.create: no storage plugin '%s' is loaded",
			    plugin);
		return;
	}
	struct pool_create *pc = tr_xcalloc(1, sizeof *pc);
	pc->req = req;
	pc->fields = json_deep_copy(args);
	json_object_set_new(pc->fields, "plugin", json_string(plugin));
	/* The options travel in the record's spec, where every later open
	 * of the pool (storage.* actions) finds them. */
	json_t *opts = json_object_get(pc->fields, "options");
	if (!json_object_size(opts))
		opts = NULL; /* an empty map is no options */
	if (opts || agent)
		json_object_set_new(pc->fields, "spec",
				    json_pack("{s:O?, s:s?}", "options", opts,
					      "agent", agent));
	json_object_del(pc->fields, "options");
	json_object_del(pc->fields, "via_agent");
	/* The pool has no record yet: storage.pool_open opens it from the
	 * arguments (the other storage.* actions look pools up by record);
	 * later actions on the pool reuse the cached handle. */
	json_t *pargs = json_pack("{s:s, s:s, s:s}", "pool", name, "plugin",
				  plugin, "target",
				  json_string_value(json_object_get(args, "target")));
	if (opts)
		json_object_set(pargs, "options", opts);
	if (agent)
		json_object_set_new(pargs, "agent", json_string(agent));
	tr_action_submit(d, "storage.pool_open", pargs, pool_created, pc);
}

static void pool_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store_query q = {0};
	json_t *out = NULL;
	if (tr_api_paging(req, args, &q) < 0)
		return;
	if (tr_store_list(d->store, TR_KIND_POOL, &q, &out, &call) < 0)
		tr_req_fail_store(req, &call, NULL);
	else
		tr_req_ok(req, out);
}

void tr_api_pool_capacity_seen(struct tr_daemon *d, const char *pool,
			       json_t *result)
{
	json_t *cap = result ? json_object_get(result, "capacity") : NULL, *rec;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (!json_is_integer(cap) ||
	    tr_store_get(d->store, TR_KIND_POOL, pool, &rec, &call) < 0)
		return;
	json_t *spec = json_object_get(rec, "spec");
	spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
	if (!json_equal(json_object_get(spec, "capacity_bytes"), cap)) {
		json_object_set(spec, "capacity_bytes", cap);
		json_t *f = json_pack("{s:o}", "spec", spec);
		if (tr_store_update(d->store, TR_KIND_POOL, pool, f, NULL,
				    &call) < 0)
			tr_warn("pool '%s': capacity not recorded: %s", pool,
				call.message);
		json_decref(f);
	} else {
		json_decref(spec);
	}
	json_decref(rec);
}

struct pool_show {
	struct tr_req *req;
	json_t *rec;
};

static void pool_shown(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct pool_show *ps = arg;
	if (result) {
		tr_api_pool_capacity_seen(d, tr_json_str(ps->rec, "name"),
					  result);
		json_object_update(ps->rec, result);
		json_object_del(ps->rec, "pool");
		tr_req_ok(ps->req, json_incref(ps->rec));
	} else {
		tr_req_fail_call(ps->req, call);
	}
	json_decref(ps->rec);
	free(ps);
}

static void pool_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *rec = NULL;
	if (tr_store_get(d->store, TR_KIND_POOL, name, &rec, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	struct pool_show *ps = tr_xcalloc(1, sizeof *ps);
	ps->req = req;
	ps->rec = rec;
	tr_action_submit(d, "storage.pool_info",
			 json_pack("{s:s}", "pool", name), pool_shown, ps);
}

/*
 * pool.delete: the pool's plugin is asked first which volumes it holds
 * (storage.volume_list, or the count from storage.pool_info when the
 * plugin has no vol_list); any volume refuses the delete, naming them.
 * Then the cached handle is closed (pool_close) and the record goes.  The
 * pool's data stays where it is.  With force, a pool whose plugin cannot
 * open it any more (the plugin is gone) is forgotten all the same.
 */
struct pool_delete {
	struct tr_req *req;
	char *name;
	int force;
};

static void pool_delete_free(struct pool_delete *pd)
{
	free(pd->name);
	free(pd);
}

static void pool_forget(struct tr_daemon *d, struct pool_delete *pd)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *details = NULL;
	tr_conn_forget(d, TR_CONN_POOL, pd->name);
	if (tr_store_delete(d->store, TR_KIND_POOL, pd->name, &details,
			    &call) < 0) {
		tr_req_fail_store(pd->req, &call, details);
	} else {
		json_t *out = json_pack("{s:s}", "name", pd->name);
		tr_daemon_publish(d, "pool.deleted", out);
		tr_info("pool '%s' deleted", pd->name);
		tr_req_ok(pd->req, out);
		json_decref(details);
	}
	pool_delete_free(pd);
}

static void pool_delete_counted(struct tr_daemon *d, void *arg,
				json_t *result, trellis_call_t *call)
{
	struct pool_delete *pd = arg;
	json_int_t n = json_integer_value(json_object_get(result, "volumes"));
	if (!result && !pd->force) {
		tr_req_fail_call(pd->req, call);
	} else if (n > 0) {
		tr_req_fail(pd->req, TRELLIS_E_CONFLICT, NULL,
			    "pool '%s' still has %lld volumes (its plugin "
			    "cannot list them): delete them first",
			    pd->name, (long long)n);
	} else {
		pool_forget(d, pd);
		return;
	}
	pool_delete_free(pd);
}

static void pool_delete_listed(struct tr_daemon *d, void *arg, json_t *result,
			       trellis_call_t *call)
{
	struct pool_delete *pd = arg;
	if (!result && call->code == TRELLIS_E_NOTSUP) {
		tr_action_submit(d, "storage.pool_info",
				 json_pack("{s:s}", "pool", pd->name),
				 pool_delete_counted, pd);
		return;
	}
	if (!result && !pd->force) {
		tr_req_fail_call(pd->req, call);
		pool_delete_free(pd);
		return;
	}
	json_t *items = json_object_get(result, "items");
	size_t n = json_array_size(items);
	if (n == 0) {
		pool_forget(d, pd);
		return;
	}
	char names[768] = "";
	size_t off = 0;
	for (size_t i = 0; i < n && off < sizeof names - 64; i++) {
		const char *v = json_string_value(
		    json_object_get(json_array_get(items, i), "name"));
		int w = snprintf(names + off, sizeof names - off, "%s'%s'",
				 i ? ", " : "", v ? v : "?");
		if (w > 0)
			off += (size_t)w;
		if (i + 1 < n && off >= sizeof names - 64) {
			snprintf(names + off, sizeof names - off,
				 " and %zu more", n - i - 1);
			break;
		}
	}
	json_t *det = json_pack("{s:O}", "volumes", items);
	tr_req_fail(pd->req, TRELLIS_E_CONFLICT, det,
		    "pool '%s' still has %zu volume%s: %s (delete them first)",
		    pd->name, n, n == 1 ? "" : "s", names);
	pool_delete_free(pd);
}

static void pool_delete(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = json_string_value(json_object_get(args, "name"));
	if (tr_store_id(d->store, TR_KIND_POOL, name, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	struct pool_delete *pd = tr_xcalloc(1, sizeof *pd);
	pd->name = tr_xstrdup(name);
	pd->req = req;
	pd->force = json_is_true(json_object_get(args, "force"));
	tr_action_submit(d, "storage.volume_list",
			 json_pack("{s:s}", "pool", name), pool_delete_listed,
			 pd);
}

/* A BU caller sees the store's records of its VMs' volumes, not the
 * pool's listing (which shows everyone's). */
static void volume_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (!tr_req_scope(req)) {
		run(d, req, "storage.volume_list", args);
		return;
	}
	struct tr_store_query q = {0};
	q.parent_ref = json_string_value(json_object_get(args, "pool"));
	json_t *page = json_pack("{s:i}", "limit", 1000);
	tr_api_list(d, req, TR_KIND_VOLUME, &q, page);
	json_decref(page);
}

/* For a BU caller: 0 when the volume is its VM's; else answered. */
static int volume_mine(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (!tr_req_scope(req))
		return 0;
	char ref[512];
	snprintf(ref, sizeof ref, "%s/%s",
		 json_string_value(json_object_get(args, "pool")),
		 json_string_value(json_object_get(args, "name")));
	json_t *obj = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_VOLUME, ref, &obj) < 0)
		return -1;
	json_decref(obj);
	return 0;
}

static void volume_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (volume_mine(d, req, args) == 0)
		run(d, req, "storage.volume_info", args);
}

static void volume_delete(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (volume_mine(d, req, args) == 0)
		run(d, req, "storage.volume_delete", args);
}

static const struct tr_field pool_create_args[] = {
    {"name", TR_T_STRING, 1, "pool name"},
    {"target", TR_T_STRING, 1, "directory (localfs) or URI"},
    {"plugin", TR_T_STRING, 0, "storage plugin (default localfs)"},
    {"cluster", TR_T_STRING, 0, "cluster the pool serves"},
    {"via_agent", TR_T_STRING, 0,
     "the private zone's agent whose site has the pool: its plugins open "
     "it and run its actions (needs cluster, of the agent's zone)"},
    {"options", TR_T_OBJECT, 0,
     "the pool's own options, given to its plugin's pool_open as "
     "spec->options (a map; never put a secret here, name one)"},
    TR_FIELDS_END};
static const struct tr_field delete_args[] = {
    {"name", TR_T_STRING, 1, "pool name"},
    {"force", TR_T_BOOL, 0,
     "forget the pool even when its plugin cannot open it (never while "
     "it lists volumes)"},
    TR_FIELDS_END};
static const struct tr_field list_args[] = {TR_LIST_FIELDS, TR_FIELDS_END};
static const struct tr_field name_args[] = {
    {"name", TR_T_STRING, 1, "pool name"}, TR_FIELDS_END};
static const struct tr_field vol_pool_args[] = {
    {"pool", TR_T_STRING, 1, "pool name"}, TR_FIELDS_END};
static const struct tr_field vol_args[] = {
    {"pool", TR_T_STRING, 1, "pool name"},
    {"name", TR_T_STRING, 1, "volume name"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "pool.create",
     .description = "Create a storage pool (its plugin opens it first)",
     .args = pool_create_args,
     .handler = pool_create,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "pool.list",
     .description = "List storage pools",
     .args = list_args,
     .handler = pool_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "pool.show",
     .description = "A pool, its options and its capacity",
     .args = name_args,
     .handler = pool_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "pool.delete",
     .description = "Close a pool and forget it (refused while it has volumes)",
     .args = delete_args,
     .handler = pool_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "volume.list",
     .description = "The volumes of a pool",
     .args = vol_pool_args,
     .handler = volume_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "volume.show",
     .description = "A volume",
     .args = vol_args,
     .handler = volume_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "volume.delete",
     .description = "Delete a volume",
     .args = vol_args,
     .handler = volume_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
};

void tr_api_register_storage(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
