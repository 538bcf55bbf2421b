/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_alloc.c - allocation.*: the seed's request -> approve -> provision
 * cycle (core/tenancy/tenancy.h, docs/tenancy.md).  A BU admin requests
 * (or changes) its BU's allocation; a dc-admin approves it, which checks
 * it against the capacity no other BU holds and starts the shipped
 * workflow allocation.provision, or rejects it with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../auth/auth.h"
#include "../tenancy/tenancy.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "api_int.h"

/* The fields of a request, in the units the store keeps. */
static json_t *fields(json_t *args)
{
	json_t *f = json_object(), *v;
	if ((v = json_object_get(args, "vcpus")))
		json_object_set(f, "vcpus", v);
	if ((v = json_object_get(args, "memory")))
		json_object_set_new(f, "memory_mib",
				    json_integer(json_integer_value(v) >> 20));
	if ((v = json_object_get(args, "storage")))
		json_object_set_new(f, "storage_gib",
				    json_integer(json_integer_value(v) >> 30));
	static const char *const same[] = {"pool",    "segments", "netpool",
					   "zone",    "hosts",	  "clusters"};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++)
		if ((v = json_object_get(args, same[i])))
			json_object_set(f, same[i], v);
	return f;
}

static void request(struct tr_daemon *d, struct tr_req *req, json_t *args,
		    int change)
{
	const char *bu = tr_json_str(args, "bu"), *scope = tr_req_scope(req);
	if (scope && bu && strcmp(bu, scope) != 0) {
		tr_req_not_yours(req, "tenant '%s' not found", bu);
		return;
	}
	if (scope)
		bu = scope;
	if (!bu) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "%s: which business unit? (bu)", tr_req_op(req));
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *f = fields(args), *out = NULL;
	int rc = tr_alloc_request(d->store, bu, f, tr_req_who(req)->user,
				  change, &out, &call);
	json_decref(f);
	if (rc == 0) {
		tr_info("allocation '%s' requested by %s",
			tr_json_str(out, "name"), tr_req_who(req)->user);
		tr_daemon_publish(d, "allocation.requested", out);
	}
	tr_req_answer_store(req, rc, out, &call);
}

static void alloc_request(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	request(d, req, args, 0);
}

static void alloc_change(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	request(d, req, args, 1);
}

/* The allocation args.name when the caller may see it (0), else -1 and
 * answered (another BU's: NOTFOUND in a missing one's words). */
static int get_mine(struct tr_daemon *d, struct tr_req *req,
		    struct tr_store *s, json_t *args, json_t **out)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = tr_json_str(args, "name");
	if (tr_alloc_get(s, name, out, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return -1;
	}
	(void)d;
	const char *scope = tr_req_scope(req);
	if (scope && strcmp(tr_json_str(*out, "bu"), scope) != 0) {
		json_decref(*out);
		*out = NULL;
		tr_req_not_yours(req, "allocation '%s' not found", name);
		return -1;
	}
	return 0;
}

static void alloc_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *a = NULL;
	if (get_mine(d, req, tr_api_store(d), args, &a) == 0)
		tr_req_ok(req, a);
}

static void alloc_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *bu = tr_req_scope(req) ? tr_req_scope(req)
					    : tr_json_str(args, "bu");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_alloc_list(tr_api_store(d), bu, &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

struct starter {
	struct tr_daemon *d;
	const char *user;
	int64_t bu_id;
};

/* The provisioning instance is the BU's (its admins watch it), started
 * by the approver. */
static void record_owner(void *arg, const char *id)
{
	struct starter *o = arg;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_wf_owner_set(o->d->store, id, o->user, o->bu_id, &call) < 0)
		tr_warn("workflow %s: owner not recorded: %s", id, call.message);
}

/* Approval, once the pool (if any) reported its capacity now. */
static void approve_checked(struct tr_daemon *d, struct tr_req *req,
			    json_t *args, json_t *a)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *details = NULL;
	const char *name = tr_json_str(args, "name");
	/* Asked again since the pool answered: a second approve may have
	 * gone first. */
	json_t *now = NULL;
	if (tr_alloc_get(d->store, name, &now, &call) == 0 &&
	    strcmp(tr_json_str(now, "state"), "requested") != 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "allocation '%s' is %s, not requested", name,
			    tr_json_str(now, "state"));
		json_decref(now);
		json_decref(a);
		return;
	}
	json_decref(now);
	if (tr_alloc_check(d->store, a, &details, &call) < 0) {
		json_decref(a);
		tr_req_fail(req, call.code, details, "%s", call.message);
		return;
	}
	if (!d->engine) {
		json_decref(a);
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "the workflow engine is not running");
		return;
	}
	struct starter o = {d, tr_req_who(req)->user,
			    tr_store_id(d->store, TR_KIND_TENANT,
					tr_json_str(a, "bu"), &call)};
	json_decref(a);
	char *id = NULL;
	json_t *inputs = json_pack("{s:s}", "allocation", name);
	/* Provisioning before the workflow runs, so that a second approve
	 * is refused and the capacity counts as held. */
	int rc = tr_alloc_decide(d->store, name, "provisioning", o.user,
				 tr_json_str(args, "reason"), NULL, &call);
	if (!rc)
		rc = tr_engine_start_with(d->engine, "allocation.provision",
					  NULL, NULL, inputs, record_owner, &o,
					  &id, NULL, &call);
	json_decref(inputs);
	/* Its steps may have run already (they run on the main thread):
	 * the instance only, the state is theirs now. */
	if (!rc)
		rc = tr_alloc_decide(d->store, name, NULL, NULL, NULL, id,
				     &call);
	else
		tr_alloc_decide(d->store, name, "requested", NULL, NULL, NULL,
				&(trellis_call_t){0});
	tr_engine_flush(d->engine);
	free(id);
	json_t *out = NULL;
	if (!rc)
		rc = tr_alloc_get(d->store, name, &out, &call);
	if (!rc)
		tr_info("allocation '%s' approved by %s", name, o.user);
	tr_req_answer_store(req, rc, out, &call);
}

struct approval {
	struct tr_req *req;
	json_t *args, *a;
};

static void pool_reported(struct tr_daemon *d, void *arg, json_t *result,
			  trellis_call_t *call)
{
	struct approval *ap = arg;
	if (result) {
		tr_api_pool_capacity_seen(d, tr_json_str(ap->a, "pool"), result);
		approve_checked(d, ap->req, ap->args, ap->a);
	} else {
		tr_req_fail(ap->req, call->code, NULL,
			    "allocation '%s' cannot be approved now: pool '%s' "
			    "cannot report its capacity: %s",
			    tr_json_str(ap->a, "name"),
			    tr_json_str(ap->a, "pool"), call->message);
		json_decref(ap->a);
	}
	json_decref(ap->args);
	free(ap);
}

static void alloc_approve(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	json_t *a = NULL;
	const char *name = tr_json_str(args, "name");
	if (get_mine(d, req, d->store, args, &a) < 0)
		return;
	if (strcmp(tr_json_str(a, "state"), "requested") != 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "allocation '%s' is %s, not requested", name,
			    tr_json_str(a, "state"));
		json_decref(a);
		return;
	}
	/* Storage is checked against what the pool holds now, not what it
	 * held when it was created. */
	json_t *gib = json_object_get(a, "storage_gib");
	if (tr_json_str(a, "pool") && json_integer_value(gib) > 0) {
		struct approval *ap = tr_xcalloc(1, sizeof *ap);
		ap->req = req;
		ap->args = json_incref(args);
		ap->a = a;
		tr_action_submit(d, "storage.pool_info",
				 json_pack("{s:s}", "pool",
					   tr_json_str(a, "pool")),
				 pool_reported, ap);
		return;
	}
	approve_checked(d, req, args, a);
}

static void alloc_reject(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = tr_json_str(args, "name");
	json_t *a = NULL, *out = NULL;
	if (get_mine(d, req, d->store, args, &a) < 0)
		return;
	int rc = 0;
	if (strcmp(tr_json_str(a, "state"), "requested") != 0)
		rc = tr_call_set(&call, TRELLIS_E_CONFLICT,
				 "allocation '%s' is %s, not requested", name,
				 tr_json_str(a, "state"));
	json_decref(a);
	if (!rc)
		rc = tr_alloc_decide(d->store, name, "rejected",
				     tr_req_who(req)->user,
				     tr_json_str(args, "reason"), NULL, &call);
	if (!rc)
		rc = tr_alloc_get(d->store, name, &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static const struct tr_field request_args[] = {
    {"bu", TR_T_STRING, 0, "the business unit (a BU's admin: its own)"},
    {"vcpus", TR_T_INT, 0, "virtual CPUs"},
    {"memory", TR_T_SIZE, 0, "memory (\"64G\")"},
    {"storage", TR_T_SIZE, 0, "storage in pool (\"500G\")"},
    {"pool", TR_T_STRING, 0, "the storage pool"},
    {"segments", TR_T_INT, 0, "network segments"},
    {"netpool", TR_T_STRING, 0, "segment-id pool of the segments"},
    {"zone", TR_T_STRING, 0,
     "a zone dedicated to the BU (private, exclusive: others are not "
     "placed there)"},
    {"hosts", TR_T_ANY, 0,
     "hosts dedicated to the BU (a list of names, or \"h1,h2\"): others "
     "are not placed there"},
    {"clusters", TR_T_ANY, 0,
     "clusters dedicated to the BU (ZONE/POD/CLUSTER, a list or "
     "comma-separated)"},
    TR_FIELDS_END};
static const struct tr_field name_args[] = {
    {"name", TR_T_STRING, 1, "the allocation (BU-N)"}, TR_FIELDS_END};
static const struct tr_field decide_args[] = {
    {"name", TR_T_STRING, 1, "the allocation (BU-N)"},
    {"reason", TR_T_STRING, 0, "why (kept with the decision)"},
    TR_FIELDS_END};
static const struct tr_field list_args[] = {
    {"bu", TR_T_STRING, 0, "only this business unit's"}, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "allocation.request",
     .description = "request an allocation for a business unit",
     .args = request_args,
     .handler = alloc_request,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "allocation.change",
     .description =
	 "request new totals for a business unit's active allocation",
     .args = request_args,
     .handler = alloc_change,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "allocation.list",
     .description = "allocations and their state",
     .args = list_args,
     .handler = alloc_list,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "allocation.show",
     .description = "one allocation",
     .args = name_args,
     .handler = alloc_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "allocation.approve",
     .description =
	 "approve a requested allocation: checked against free capacity, then "
	 "provisioned (workflow allocation.provision)",
     .args = decide_args,
     .handler = alloc_approve,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "allocation.reject",
     .description = "reject a requested allocation",
     .args = decide_args,
     .handler = alloc_reject,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_alloc(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
