/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_workflow.c - the workflow.* and action.* API ops: run, status, list,
 * logs, cancel, defs, def, validate; the action registry's schemas.
 * Handlers answer at once: the engine does the work on the main loop.
 */
#include <string.h>

#include "../auth/auth.h"
#include "../config/config.h"
#include "../tenancy/tenancy.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "api_int.h"

static struct tr_engine *engine(struct tr_daemon *d, struct tr_req *req)
{
	struct tr_engine *e = d->engine;
	if (!e)
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "the workflow engine is not running");
	return e;
}

/* A BU caller's workflow touches its BU's VMs only: the inputs that
 * name an existing VM (vm, uuid; name, except where the workflow makes
 * the VM) must name one of its BU's, else NOTFOUND as for a missing
 * one.  0, or answered. */
static int inputs_mine(struct tr_daemon *d, struct tr_req *req,
		       const char *wf, json_t *inputs)
{
	static const char *const refs[] = {"vm", "uuid", "name"};
	int makes = strcmp(wf, "vm.provision") == 0;
	const char *bu = tr_json_str(inputs, "bu");
	if (bu && *bu && strcmp(bu, tr_req_scope(req)) != 0) {
		tr_req_not_yours(req, "tenant '%s' not found", bu);
		return -1;
	}
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
		const char *v = tr_json_str(inputs, refs[i]);
		if (!v || !*v || (makes && strcmp(refs[i], "name") == 0))
			continue;
		json_t *vm = NULL;
		if (tr_api_get_scoped(d, req, TR_KIND_VM, v, &vm) < 0)
			return -1;
		json_decref(vm);
	}
	return 0;
}

/* Whether the caller may see instance id: 0, or answered NOTFOUND (the
 * engine's very words for an unknown id). */
static int instance_mine(struct tr_daemon *d, struct tr_req *req,
			 const char *id)
{
	const char *bu = tr_req_scope(req);
	if (!bu)
		return 0;
	char owner[TR_NAME_LEN + 1];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_wf_owner_bu(tr_api_store(d), id, owner, sizeof owner,
				&call);
	if (rc == 1 && strcmp(owner, bu) == 0)
		return 0;
	tr_req_not_yours(req, "no workflow instance '%s'", id);
	return -1;
}

/* Who started an instance, recorded before its first step runs: its
 * VMs and claims are that user's BU's (vm_record, policy.place). */
struct owner {
	struct tr_daemon *d;
	const struct tr_ident *who;
};

static void record_owner(void *arg, const char *id)
{
	struct owner *o = arg;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_wf_owner_set(o->d->store, id, o->who->user, o->who->bu_id,
			    &call) < 0)
		tr_warn("workflow %s: owner %s not recorded: %s", id,
			o->who->user, call.message);
}

static void wf_run(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = tr_json_str(args, "workflow"), *source = tr_json_str(args, "source");
	const struct tr_ident *who = tr_req_who(req);
	if (tr_req_scope(req) && name &&
	    inputs_mine(d, req, name, json_object_get(args, "inputs")) < 0)
		return;
	struct tr_engine *e = engine(d, req);
	if (!e)
		return;
	if (!name == !source) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "give either 'workflow' (a name) or 'source' (YAML "
			    "text)");
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	/* vm.provision template=NAME: the template's shape, explicit inputs
	 * overriding it (core/tenancy). */
	json_t *inputs = json_object_get(args, "inputs");
	if (name && strcmp(name, "vm.provision") == 0 &&
	    tr_json_str(inputs, "template") &&
	    tr_template_apply(d->store, inputs, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	char *id = NULL;
	json_t *details = NULL;
	/* A dc-admin may start a workflow for a BU (inputs.bu): the
	 * instance is then that BU's, its claims count against the BU's
	 * quotas and its VMs are the BU's. */
	struct tr_ident as_bu;
	const char *for_bu = tr_json_str(inputs, "bu");
	if (for_bu && *for_bu && !tr_req_scope(req)) {
		as_bu = *who;
		snprintf(as_bu.bu, sizeof as_bu.bu, "%s", for_bu);
		as_bu.bu_id = tr_store_id(d->store, TR_KIND_TENANT, for_bu, &call);
		if (as_bu.bu_id < 0) {
			tr_req_fail_call(req, &call);
			return;
		}
		who = &as_bu;
	}
	/* vm.provision: its caps are the offering's, then the BU's, then the
	 * global ones, per field (core/tenancy/caps.c); never the caller's
	 * own, which are replaced. */
	if (name && strcmp(name, "vm.provision") == 0 && json_is_object(inputs)) {
		json_t *caps = NULL;
		if (tr_caps_effective(d->store, d->config ? d->config->caps : NULL,
				      tr_json_str(inputs, "template"),
				      who && who->bu[0] ? who->bu : NULL, &caps,
				      &call) < 0) {
			tr_req_fail_call(req, &call);
			return;
		}
		tr_caps_to_inputs(caps, inputs);
		json_decref(caps);
	}
	struct owner o = {d, who};
	if (tr_engine_start_with(e, name, source, tr_json_str(args, "file"),
				 json_object_get(args, "inputs"), record_owner,
				 &o, &id, &details, &call) != 0) {
		tr_req_fail(req, call.code, details, "%s", call.message);
		return;
	}
	/* The id is a promise: the instance is committed before it goes
	 * out, so a crash right after the answer does not lose it. */
	tr_engine_flush(e);
	json_t *res = json_pack("{s:s}", "id", id);
	/* The bus carries every BU's events: a BU's caller follows its
	 * instance through workflow.logs instead (events.info says the
	 * same). */
	if (d->config && d->config->events_listen && !tr_req_scope(req))
		json_object_set_new(res, "events",
				    json_string(d->config->events_listen));
	free(id);
	tr_req_ok(req, res);
}

typedef int (*id_query)(struct tr_engine *e, const char *id, json_t **out,
			trellis_call_t *call);

static void by_id(struct tr_daemon *d, struct tr_req *req, json_t *args,
		  id_query q)
{
	struct tr_engine *e = engine(d, req);
	if (!e || instance_mine(d, req, tr_json_str(args, "id")) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	json_t *out = NULL;
	if (q(e, tr_json_str(args, "id"), &out, &call) != 0)
		tr_req_fail_call(req, &call);
	else
		tr_req_ok(req, out);
}

static void wf_status(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	by_id(d, req, args, tr_engine_status);
}

static void wf_logs(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	by_id(d, req, args, tr_engine_logs);
}

static void wf_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_engine *e = engine(d, req);
	if (!e)
		return;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	json_t *out = NULL;
	json_t *lim = json_object_get(args, "limit");
	if (tr_engine_list(e, tr_json_str(args, "state"),
			   lim ? (unsigned)json_integer_value(lim) : 0, &out,
			   &call) != 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	const char *bu = tr_req_scope(req);
	json_t *items = json_object_get(out, "items");
	if (bu && !json_is_array(items))
		items = out;
	if (bu && json_is_array(items)) {
		/* Only the BU's own instances. */
		for (size_t i = json_array_size(items); i-- > 0;) {
			char owner[TR_NAME_LEN + 1];
			const char *id = tr_json_str(json_array_get(items, i), "id");
			if (!id || tr_wf_owner_bu(tr_api_store(d), id, owner,
						  sizeof owner, &call) != 1 ||
			    strcmp(owner, bu) != 0)
				json_array_remove(items, i);
		}
	}
	tr_req_ok(req, out);
}

static void wf_cancel(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_engine *e = engine(d, req);
	if (!e)
		return;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	if (instance_mine(d, req, tr_json_str(args, "id")) < 0)
		return;
	if (tr_engine_cancel(e, tr_json_str(args, "id"), &call) != 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	json_t *out = NULL;
	if (tr_engine_status(e, tr_json_str(args, "id"), &out, &call) != 0)
		tr_req_fail_call(req, &call);
	else
		tr_req_ok(req, out);
}

static void wf_defs(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	struct tr_engine *e = engine(d, req);
	if (e)
		tr_req_ok(req, tr_engine_defs(e));
}

static void wf_def(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_engine *e = engine(d, req);
	if (!e)
		return;
	const char *name = tr_json_str(args, "name");
	const struct tr_wf *wf = tr_engine_def(e, name);
	const char *guess = wf ? NULL : tr_engine_def_guess(e, name);
	if (!wf && guess) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no workflow called '%s' (did you mean '%s'?)",
			    name, guess);
		return;
	}
	if (!wf) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no workflow called '%s' (see `trellis workflow "
			    "defs`)",
			    name);
		return;
	}
	json_t *j = tr_wf_json(wf);
	json_object_set_new(j, "source", json_string(wf->source));
	tr_req_ok(req, j);
}

static void wf_validate(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	const char *src = tr_json_str(args, "source"), *file = tr_json_str(args, "file");
	struct tr_wf *wf;
	struct tr_wf_errors errs;
	int rc = tr_wf_load_string(file ? file : "<api>", src, strlen(src), &wf,
				   &errs);
	json_t *a = json_array();
	for (size_t k = 0; k < errs.n; k++)
		json_array_append_new(a, json_string(errs.msg[k]));
	tr_wf_errors_free(&errs);
	json_t *res = json_pack("{s:b, s:o}", "ok", rc == 0, "errors", a);
	if (rc == 0) {
		json_object_set_new(res, "workflow", json_string(wf->name));
		tr_wf_free(wf);
	}
	tr_req_ok(req, res);
}

/* At most this many instances per call (200 transactions of 500): a
 * larger backlog says "more" and goes at the next call or tick. */
#define PURGE_BATCHES 200

static void wf_purge(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_engine *e = engine(d, req);
	if (!e)
		return;
	json_int_t age = json_integer_value(json_object_get(args, "older_than"));
	if (age < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "workflow.purge: older_than must not be negative");
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	unsigned n = 0;
	int rc = tr_engine_purge(e, age, PURGE_BATCHES, &n, &call);
	if (rc < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_info("workflow.purge: %u finished instances removed from the "
		"journal",
		n);
	tr_req_ok(req, json_pack("{s:I, s:b}", "purged", (json_int_t)n, "more",
				 rc == 1));
}

static void action_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	(void)args;
	tr_actions_init();
	json_t *items = json_array();
	for (size_t k = 0; k < tr_action_count(); k++)
		json_array_append_new(items, tr_action_json(tr_action_at(k)));
	tr_req_ok(req, json_pack("{s:o}", "items", items));
}

static void action_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	tr_actions_init();
	const struct tr_action *a = tr_action_find(tr_json_str(args, "name"));
	if (!a)
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no action called '%s' (see `trellis action list`)",
			    tr_json_str(args, "name"));
	else
		tr_req_ok(req, tr_action_json(a));
}

static const struct tr_field run_args[] = {
	{"workflow", TR_T_STRING, 0, "name of a loaded definition"},
	{"source", TR_T_STRING, 0, "or the YAML text of a workflow"},
	{"file", TR_T_STRING, 0, "file name of source, for messages"},
	{"inputs", TR_T_OBJECT, 0, "input values (strings are converted)"},
	TR_FIELDS_END,
};
static const struct tr_field id_args[] = {
	{"id", TR_T_STRING, 1, "instance id"},
	TR_FIELDS_END,
};
static const struct tr_field list_args[] = {
	{"state", TR_T_STRING, 0,
	 "queued, running, compensating, succeeded, failed or cancelled"},
	{"limit", TR_T_INT, 0, "at most this many (default 1000)"},
	TR_FIELDS_END,
};
static const struct tr_field name_args[] = {
	{"name", TR_T_STRING, 1, "the name"},
	TR_FIELDS_END,
};
static const struct tr_field validate_args[] = {
	{"source", TR_T_STRING, 1, "YAML text"},
	{"file", TR_T_STRING, 0, "file name, for messages"},
	TR_FIELDS_END,
};
static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field purge_args[] = {
	{"older_than", TR_T_DURATION, 1,
	 "instances that finished longer ago than this go (\"30d\"; 0: all "
	 "finished ones)"},
	TR_FIELDS_END,
};

static const struct tr_api_op ops[] = {
    {.name = "workflow.run",
     .description = "start a workflow instance",
     .args = run_args,
     .handler = wf_run,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "workflow.status",
     .description = "state of an instance",
     .args = id_args,
     .handler = wf_status,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "workflow.list",
     .description = "instances, newest first",
     .args = list_args,
     .handler = wf_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "workflow.logs",
     .description = "the step journal of an instance",
     .args = id_args,
     .handler = wf_logs,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "workflow.cancel",
     .description = "stop an instance and compensate",
     .args = id_args,
     .handler = wf_cancel,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "workflow.defs",
     .description = "the loaded workflow definitions",
     .args = no_args,
     .handler = wf_defs,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "workflow.def",
     .description = "one definition with its source",
     .args = name_args,
     .handler = wf_def,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "workflow.purge",
     .description =
	 "remove finished instances from the journal (workflows.retention "
	 "does it by itself)",
     .args = purge_args,
     .handler = wf_purge,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "workflow.validate",
     .description = "check a workflow; every error with its place",
     .args = validate_args,
     .handler = wf_validate,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "action.list",
     .description = "every action with its schemas",
     .args = no_args,
     .handler = action_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "action.show",
     .description = "one action's schemas",
     .args = name_args,
     .handler = action_show,
     .flags = 0,
     .perm = TR_PERM_DC},
};

void tr_api_register_workflow(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
