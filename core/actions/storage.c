/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage.c - the storage.* actions: JSON arguments to the storage ABI's
 * typed specs and back.
 *
 * A pool is named in the arguments; its plugin and target come from the
 * inventory (lookup.h) and the open pool is cached by the daemon
 * (tr_conn_get), so steps on one pool share one handle and the plugin's
 * PER_TARGET thread model serialises them.  Outputs repeat the pool and
 * volume names, so a compensation (undo) built from a step's arguments
 * and outputs finds what the step made.
 */
#include <stdio.h>
#include <string.h>

#include "../runtime/daemon.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"

struct pool_ref {
	struct tr_daemon *d;
	struct tr_conn *c;
	struct tr_target *t;
	const char *name;
};

static int pool_get(const struct tr_action_env *env, json_t *args,
		    struct pool_ref *p, trellis_call_t *call)
{
	json_t *rec = NULL;
	memset(p, 0, sizeof *p);
	p->d = env ? env->daemon : NULL;
	p->name = json_string_value(json_object_get(args, "pool"));
	int rc = tr_lookup_env(env, TR_KIND_POOL, p->name, &rec, call);
	if (rc < 0)
		return rc;
	const char *plugin = json_string_value(json_object_get(rec, "plugin"));
	json_t *opts = tr_pool_options(
	    plugin, json_object_get(json_object_get(rec, "spec"), "options"),
	    call, &rc);
	struct tr_conn_spec spec = {
	    .kind = TR_CONN_POOL,
	    .key = p->name,
	    .plugin = plugin,
	    .uri = json_string_value(json_object_get(rec, "target")),
	    .name = p->name,
	    .options = opts,
	    .flags = TRELLIS_POOL_OPEN_CREATE,
	};
	if (!rc)
		rc = tr_conn_get(p->d, &spec, call, &p->c);
	json_decref(opts);
	json_decref(rec);
	if (rc < 0)
		return rc;
	p->t = tr_conn_target(p->c);
	return 0;
}

static void pool_put(struct pool_ref *p)
{
	if (p->c)
		tr_conn_put(p->d, p->c);
}

/* A volume as JSON; with env (a create), "key" says which idempotency
 * key made it, for the record of the VM that will own it. */
static json_t *vol_json(const char *pool, const trellis_vol_info_t *v,
			const struct tr_action_env *env)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "pool",
			      pool, "name", v->name, "path", v->path, "format",
			      v->format, "capacity", (json_int_t)v->capacity,
			      "allocation", (json_int_t)v->allocation,
			      "backing", v->backing);
	if (o && env && env->idem_key)
		json_object_set_new(o, "key", json_string(env->idem_key));
	return o;
}

static int run_volume_create(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	json_t *size = json_object_get(args, "size");
	json_t *size_gb = json_object_get(args, "size_gb");
	if (size && size_gb)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "storage.volume_create: give size or "
				   "size_gb, not both");
	if ((size && json_integer_value(size) < 0) ||
	    (size_gb && json_integer_value(size_gb) < 0))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "storage.volume_create: a size cannot be "
				   "negative");
	uint64_t bytes = size	   ? (uint64_t)json_integer_value(size)
			 : size_gb ? (uint64_t)json_integer_value(size_gb) << 30
				   : 0;
	uint32_t flags = 0;
	if (json_is_true(json_object_get(args, "copy")))
		flags |= TRELLIS_VOL_TEMPLATE_COPY;
	if (json_is_true(json_object_get(args, "preallocate")))
		flags |= TRELLIS_VOL_PREALLOCATE;
	trellis_vol_spec_t spec = {.struct_size = sizeof spec,
				   .name = tr_json_str(args, "name"),
				   .size = bytes,
				   .format = tr_json_str(args, "format"),
				   /* "" (a workflow's empty input): none */
				   .template_path = tr_json_str(args, "template") &&
							    *tr_json_str(args, "template")
							? tr_json_str(args, "template")
							: NULL};
	trellis_vol_info_t out;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = tr_st_vol_create(p.t, call, &spec,
				      env ? env->idem_key : NULL, flags, &out);
	if (!rc)
		*result = vol_json(p.name, &out, env);
	pool_put(&p);
	return rc;
}

/*
 * A volume that a VM's record lists is that VM's: deleting it needs "vm"
 * to be that VM.  With "made_by" (an undo, or a destroy that read the
 * key from the record), a 1.1 plugin also deletes it only if that key
 * made it (TRELLIS_VOL_DELETE_IF_KEY).  Either way a volume of another
 * VM is CONFLICT and stays.
 */
/* A volume of another VM stays (the core runs it before a relay). */
static int volume_delete_guard(const struct tr_action_env *env, json_t *args,
			       trellis_call_t *call)
{
	const char *name = tr_json_str(args, "name");
	char what[400];
	snprintf(what, sizeof what, "volume '%s/%s'", tr_json_str(args, "pool"),
		 name);
	return tr_lookup_not_others(env ? env->daemon : NULL, "disks", "pool",
				    tr_json_str(args, "pool"), name,
				    tr_json_str(args, "vm"), what, call);
}

static int run_volume_delete(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	const char *name = tr_json_str(args, "name"), *made_by = tr_json_str(args, "made_by");
	int rc = volume_delete_guard(env, args, call);
	if (rc)
		return rc;
	rc = pool_get(env, args, &p, call);
	uint32_t flags = made_by && *made_by && tr_target_abi_minor(p.t) >= 1
			     ? TRELLIS_VOL_DELETE_IF_KEY
			     : 0;
	if (!rc)
		rc = tr_st_vol_delete(p.t, call, name,
				      flags ? made_by
					    : env ? env->idem_key : NULL,
				      flags);
	if (!rc)
		*result = json_pack("{s:s, s:s}", "pool", p.name, "name",
				    tr_json_str(args, "name"));
	pool_put(&p);
	return rc;
}

static int run_volume_clone(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	trellis_vol_info_t out;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = tr_st_vol_clone(p.t, call, tr_json_str(args, "source"),
				     tr_json_str(args, "name"),
				     env ? env->idem_key : NULL, 0, &out);
	if (!rc)
		*result = vol_json(p.name, &out, env);
	pool_put(&p);
	return rc;
}

static int run_volume_resize(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	json_int_t size = json_integer_value(json_object_get(args, "size"));
	if (size <= 0)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "storage.volume_resize: size must be "
				   "positive");
	trellis_vol_info_t out;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = tr_st_vol_resize(p.t, call, tr_json_str(args, "name"),
				      (uint64_t)size,
				      env ? env->idem_key : NULL, 0);
	if (!rc)
		rc = tr_st_vol_info(p.t, call, tr_json_str(args, "name"), 0,
				    &out);
	if (!rc)
		*result = vol_json(p.name, &out, NULL);
	pool_put(&p);
	return rc;
}

static int snapshot(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call, int create)
{
	struct pool_ref p;
	const char *vol = tr_json_str(args, "volume"), *snap = tr_json_str(args, "snapshot");
	const char *key = env ? env->idem_key : NULL;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = create ? tr_st_snapshot_create(p.t, call, vol,
						    snap, key, 0)
			    : tr_st_snapshot_delete(p.t, call, vol,
						    snap, key, 0);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "pool", p.name, "volume",
				    vol, "snapshot", snap);
	pool_put(&p);
	return rc;
}

static int run_snapshot_create(const struct tr_action_env *env, json_t *args,
			       json_t **result, trellis_call_t *call)
{
	return snapshot(env, args, result, call, 1);
}

static int run_snapshot_delete(const struct tr_action_env *env, json_t *args,
			       json_t **result, trellis_call_t *call)
{
	return snapshot(env, args, result, call, 0);
}

static int run_pool_info(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	trellis_pool_info_t out;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = tr_st_pool_info(p.t, call, 0, &out);
	if (!rc)
		*result = tr_pool_info_json(p.name, p.t, &out);
	pool_put(&p);
	return rc;
}

json_t *tr_pool_info_json(const char *pool, const struct tr_target *t,
			  const trellis_pool_info_t *i)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "pool", pool,
			      "capacity", (json_int_t)i->capacity,
			      "allocation", (json_int_t)i->allocation,
			      "available", (json_int_t)i->available,
			      "volumes", (json_int_t)i->n_volumes);
	if (o && tr_target_abi_minor(t) >= 1)
		json_object_set_new(o, "provisioned",
				    json_integer((json_int_t)i->provisioned));
	return o;
}

static int run_volume_info(const struct tr_action_env *env, json_t *args,
			   json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	trellis_vol_info_t out;
	int rc = pool_get(env, args, &p, call);
	if (!rc)
		rc = tr_st_vol_info(p.t, call, tr_json_str(args, "name"), 0,
				    &out);
	if (!rc)
		*result = vol_json(p.name, &out, NULL);
	pool_put(&p);
	return rc;
}

struct collect {
	const char *pool;
	json_t *items;
};

static int collect_vol(void *opaque, const trellis_vol_info_t *v)
{
	struct collect *c = opaque;
	json_array_append_new(c->items, vol_json(c->pool, v, NULL));
	return 0;
}

static int run_volume_list(const struct tr_action_env *env, json_t *args,
			   json_t **result, trellis_call_t *call)
{
	struct pool_ref p;
	struct collect c = {.items = json_array()};
	int rc = pool_get(env, args, &p, call);
	c.pool = p.name;
	if (!rc)
		rc = tr_st_vol_list(p.t, call, 0, collect_vol, &c);
	if (!rc)
		*result =
		    json_pack("{s:s, s:O}", "pool", p.name, "items", c.items);
	json_decref(c.items);
	pool_put(&p);
	return rc;
}

#define POOL_FIELD                                                             \
	{                                                                      \
		"pool", TR_T_STRING, 1, "storage pool name"                    \
	}

static const struct tr_field pool_in[] = {POOL_FIELD, TR_FIELDS_END};
static const struct tr_field pool_out[] = {
    {"pool", TR_T_STRING, 1, "pool name"},
    {"capacity", TR_T_INT, 1, "bytes in all"},
    {"allocation", TR_T_INT, 1, "bytes used on the backend (thin: written)"},
    {"available", TR_T_INT, 1, "bytes free"},
    {"volumes", TR_T_INT, 1, "number of volumes"},
    {"provisioned", TR_T_INT, 0,
     "the volumes' sizes added up (ABI 1.1 plugins)"},
    TR_FIELDS_END};
static const struct tr_field list_out[] = {
    {"pool", TR_T_STRING, 1, "pool name"},
    {"items", TR_T_ARRAY, 1, "volumes, by name"},
    TR_FIELDS_END};

static const struct tr_field vol_out[] = {
    {"pool", TR_T_STRING, 1, "pool name"},
    {"name", TR_T_STRING, 1, "volume name"},
    {"path", TR_T_STRING, 1, "what a hypervisor opens"},
    {"format", TR_T_STRING, 1, "qcow2 or raw"},
    {"capacity", TR_T_INT, 1, "virtual size in bytes"},
    {"allocation", TR_T_INT, 1, "bytes used on the pool"},
    {"backing", TR_T_STRING, 1, "backing file, \"\" when none"},
    {"key", TR_T_STRING, 0, "create, clone: the idempotency key that made it"},
    TR_FIELDS_END};

static const struct tr_field create_in[] = {
    POOL_FIELD,
    {"name", TR_T_STRING, 1, "volume name ([A-Za-z0-9._-], no '..')"},
    {"size", TR_T_SIZE, 0,
     "bytes or \"10G\" (0/absent with a template: "
     "the template's size)"},
    {"size_gb", TR_T_INT, 0, "size in GiB (instead of size)"},
    {"format", TR_T_STRING, 0, "qcow2 (default) or raw"},
    {"template", TR_T_STRING, 0, "absolute path of a base image"},
    {"copy", TR_T_BOOL, 0, "copy the template instead of a backing file"},
    {"preallocate", TR_T_BOOL, 0, "allocate all space now"},
    TR_FIELDS_END};

static const struct tr_field name_in[] = {
    POOL_FIELD, {"name", TR_T_STRING, 1, "volume name"}, TR_FIELDS_END};

static const struct tr_field delete_in[] = {
    POOL_FIELD,
    {"name", TR_T_STRING, 1, "volume name"},
    {"vm", TR_T_STRING, 0, "the uuid of the VM it belongs to, if any"},
    {"made_by", TR_T_STRING, 0,
     "delete it only if this idempotency key made it"},
    TR_FIELDS_END};

static const struct tr_field name_out[] = {
    {"pool", TR_T_STRING, 1, "pool name"},
    {"name", TR_T_STRING, 1, "volume name"},
    TR_FIELDS_END};

static const struct tr_field clone_in[] = {
    POOL_FIELD,
    {"source", TR_T_STRING, 1, "volume to copy"},
    {"name", TR_T_STRING, 1, "name of the copy"},
    TR_FIELDS_END};

static const struct tr_field resize_in[] = {
    POOL_FIELD,
    {"name", TR_T_STRING, 1, "volume name"},
    {"size", TR_T_SIZE, 1, "new size (growing only)"},
    TR_FIELDS_END};

static const struct tr_field snap_in[] = {
    POOL_FIELD,
    {"volume", TR_T_STRING, 1, "volume name"},
    {"snapshot", TR_T_STRING, 1, "snapshot name"},
    TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "storage.pool_info",
     .description = "Capacity of a pool",
     .input = pool_in,
     .output = pool_out,
     .run = run_pool_info,
     .flags = 0},
    {.name = "storage.volume_info",
     .description = "What a volume is (path, format, sizes)",
     .input = name_in,
     .output = vol_out,
     .run = run_volume_info,
     .flags = 0},
    {.name = "storage.volume_list",
     .description = "The volumes of a pool",
     .input = pool_in,
     .output = list_out,
     .run = run_volume_list,
     .flags = 0},
    {.name = "storage.volume_create",
     .description =
	 "Create a volume (blank, or from a template as overlay or copy)",
     .input = create_in,
     .output = vol_out,
     .run = run_volume_create,
     .undo = "storage.volume_delete",
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.volume_delete",
     .description =
	 "Delete a volume (a missing one is fine; another VM's: CONFLICT)",
     .input = delete_in,
     .output = name_out,
     .run = run_volume_delete,
     .flags = TR_ACTION_MUTATES,
     .guard = volume_delete_guard},
    {.name = "storage.volume_clone",
     .description = "Copy a volume into a new, independent one",
     .input = clone_in,
     .output = vol_out,
     .run = run_volume_clone,
     .undo = "storage.volume_delete",
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.volume_resize",
     .description = "Grow a volume",
     .input = resize_in,
     .output = vol_out,
     .run = run_volume_resize,
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.snapshot_create",
     .description = "Snapshot a volume (qcow2)",
     .input = snap_in,
     .output = snap_in,
     .run = run_snapshot_create,
     .undo = "storage.snapshot_delete",
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.snapshot_delete",
     .description = "Delete a snapshot (a missing one is fine)",
     .input = snap_in,
     .output = snap_in,
     .run = run_snapshot_delete,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_storage(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
