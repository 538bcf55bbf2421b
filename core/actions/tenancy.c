/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenancy.c - the actions of the allocation.provision workflow
 * (workflows/allocation.provision.yaml; core/tenancy/tenancy.h): the
 * BU's quota becomes its allocation, its network segments are made, and
 * the allocation goes active.  They write the store, so they run on the
 * main thread; each undoes exactly what it did.
 */
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../tenancy/tenancy.h"
#include "../util/json.h"
#include "action.h"

static int need_store(const struct tr_action_env *env, trellis_call_t *call)
{
	if (env && env->daemon && env->daemon->store)
		return 0;
	return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			   "allocation actions need a running trellisd");
}

static int done(json_t **result, const char *name)
{
	*result = json_pack("{s:s}", "allocation", name);
	return 0;
}

static int run_reserve(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	const char *name = tr_json_str(args, "allocation");
	int rc = need_store(env, call);
	if (!rc)
		rc = tr_alloc_reserve(env->daemon->store, name, 0, call);
	return rc ? rc : done(result, name);
}

static int run_release(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	const char *name = tr_json_str(args, "allocation");
	int rc = need_store(env, call);
	if (!rc)
		rc = tr_alloc_reserve(env->daemon->store, name, 1, call);
	return rc ? rc : done(result, name);
}

/* A step that writes several rows: fn in one transaction, its *made as
 * result[key]. */
static int in_txn(const struct tr_action_env *env, json_t *args,
		  json_t **result, trellis_call_t *call, int undo,
		  int (*fn)(struct tr_store *, const char *, int, json_t **,
			    trellis_call_t *),
		  const char *key)
{
	const char *name = tr_json_str(args, "allocation");
	struct tr_store *s = env && env->daemon ? env->daemon->store : NULL;
	int rc = need_store(env, call);
	json_t *made = NULL;
	if (!rc)
		rc = tr_store_begin(s, call);
	if (!rc)
		rc = fn(s, name, undo, &made, call);
	if (!rc)
		rc = tr_store_commit(s, call);
	else if (s)
		tr_store_rollback(s);
	if (rc)
		return rc;
	*result = json_pack("{s:s, s:o}", "allocation", name, key,
			    made ? made : json_array());
	return 0;
}

static int segments(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call, int undo)
{
	return in_txn(env, args, result, call, undo, tr_alloc_segments,
		      "segments");
}

static int run_segments(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	return segments(env, args, result, call, 0);
}

static int run_segments_delete(const struct tr_action_env *env, json_t *args,
			       json_t **result, trellis_call_t *call)
{
	return segments(env, args, result, call, 1);
}

static int zone(const struct tr_action_env *env, json_t *args,
		json_t **result, trellis_call_t *call, int undo)
{
	const char *name = tr_json_str(args, "allocation");
	int rc = need_store(env, call);
	if (!rc)
		rc = tr_alloc_zone(env->daemon->store, name, undo, call);
	return rc ? rc : done(result, name);
}

static int run_zone(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call)
{
	return zone(env, args, result, call, 0);
}

static int run_zone_release(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	return zone(env, args, result, call, 1);
}

static int dedicate(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call, int undo)
{
	return in_txn(env, args, result, call, undo, tr_alloc_dedicate,
		      "dedicated");
}

static int run_dedicate(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	return dedicate(env, args, result, call, 0);
}

static int run_dedicate_release(const struct tr_action_env *env,
				json_t *args, json_t **result,
				trellis_call_t *call)
{
	return dedicate(env, args, result, call, 1);
}

static int run_activate(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	const char *name = tr_json_str(args, "allocation");
	int rc = need_store(env, call);
	json_t *a = NULL;
	if (!rc)
		rc = tr_alloc_get(env->daemon->store, name, &a, call);
	const char *prev = a ? tr_json_str(a, "changes") : NULL;
	struct tr_store *s = a ? env->daemon->store : NULL;
	if (!rc)
		rc = tr_store_begin(s, call);
	if (!rc && prev)
		rc = tr_alloc_decide(s, prev, "superseded", NULL, NULL, NULL,
				     call);
	if (!rc)
		rc = tr_dedicate_supersede(s, name, call);
	if (!rc)
		rc = tr_alloc_decide(s, name, "active", NULL, NULL, NULL, call);
	if (!rc)
		rc = tr_store_commit(s, call);
	else if (s)
		tr_store_rollback(s);
	json_decref(a);
	return rc ? rc : done(result, name);
}

static const struct tr_field alloc_in[] = {
    {"allocation", TR_T_STRING, 1, "the allocation (BU-N)"}, TR_FIELDS_END};
static const struct tr_field alloc_out[] = {
    {"allocation", TR_T_STRING, 1, "the allocation"}, TR_FIELDS_END};
static const struct tr_field seg_out[] = {
    {"allocation", TR_T_STRING, 1, "the allocation"},
    {"segments", TR_T_ARRAY, 1, "its network segments"},
    TR_FIELDS_END};

static const struct tr_field ded_out[] = {
    {"allocation", TR_T_STRING, 1, "the allocation"},
    {"dedicated", TR_T_ARRAY, 1, "its hosts and clusters: [{kind, name}]"},
    TR_FIELDS_END};

#define F (TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD)
static const struct tr_action actions[] = {
    {.name = "tenancy.allocation_reserve",
     .description =
	 "Make an allocation the quota of its business unit (its compute and "
	 "storage)",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_reserve,
     .undo = "tenancy.allocation_release",
     .flags = F},
    {.name = "tenancy.allocation_release",
     .description =
	 "Give the business unit back the quota it had before the allocation",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_release,
     .flags = F},
    {.name = "tenancy.allocation_segments",
     .description =
	 "Make an allocation's network segments (ids from its netpool)",
     .input = alloc_in,
     .output = seg_out,
     .run = run_segments,
     .undo = "tenancy.allocation_segments_delete",
     .flags = F},
    {.name = "tenancy.allocation_segments_delete",
     .description = "Delete the network segments an allocation made",
     .input = alloc_in,
     .output = seg_out,
     .run = run_segments_delete,
     .flags = F},
    {.name = "tenancy.allocation_zone",
     .description =
	 "Dedicate an allocation's zone to its business unit (private, "
	 "exclusive; none: nothing to do)",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_zone,
     .undo = "tenancy.allocation_zone_release",
     .flags = F},
    {.name = "tenancy.allocation_zone_release",
     .description = "Give a dedicated zone back as it was",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_zone_release,
     .flags = F},
    {.name = "tenancy.allocation_dedicate",
     .description =
	 "Dedicate an allocation's hosts and clusters to its business unit "
	 "(exclusive; none: nothing to do)",
     .input = alloc_in,
     .output = ded_out,
     .run = run_dedicate,
     .undo = "tenancy.allocation_dedicate_release",
     .flags = F},
    {.name = "tenancy.allocation_dedicate_release",
     .description = "Give back the hosts and clusters an allocation dedicated",
     .input = alloc_in,
     .output = ded_out,
     .run = run_dedicate_release,
     .flags = F},
    {.name = "tenancy.allocation_activate",
     .description =
	 "Mark an allocation active (the one it changes: superseded)",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_activate,
     .flags = F},
};

void tr_actions_register_tenancy(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
