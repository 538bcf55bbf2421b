/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmrecord.c - hypervisor.vm_record and hypervisor.vm_forget: the
 * inventory record of a VM a workflow made (origin "trellis"), with what
 * it owns, and its removal.  They run on the main thread, the store's
 * only writer; both are idempotent (record updates a record that exists,
 * forget of a missing record succeeds).
 */
#include <stdlib.h>
#include <string.h>

#include "../auth/auth.h"
#include "../placement/claims.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"
#include "vm.h"
#include "vmspec.h"

/* The list args[field] as the record keeps it: objects with string
 * members where and "name" (and "key"); INVALID_ARG otherwise. */
static int owned_list(json_t *args, const char *field, const char *where,
		      json_t **out, trellis_call_t *call)
{
	json_t *l = json_object_get(args, field), *e;
	size_t i;
	*out = json_array();
	json_array_foreach(l, i, e)
	{
		const char *w = tr_json_str_opt(e, where), *n = tr_json_str_opt(e, "name");
		if (!w || !n) {
			json_decref(*out);
			*out = NULL;
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "hypervisor.vm_record: %s[%zu] "
					   "needs %s and name",
					   field, i, where);
		}
		json_t *o = json_pack("{s:s, s:s, s:s}", where, w, "name", n,
				      "key",
				      tr_json_str_opt(e, "key") ? tr_json_str_opt(e, "key")
								: "");
		/* What vm show prints besides (path, format, size; segment,
		 * mac, ifname): kept when given. */
		static const char *const extra[] = {"path", "format", "capacity",
						    "segment", "mac", "ifname"};
		for (size_t x = 0; o && x < sizeof extra / sizeof *extra; x++) {
			json_t *v = json_object_get(e, extra[x]);
			if (json_is_string(v) || json_is_integer(v))
				json_object_set(o, extra[x], v);
		}
		json_array_append_new(*out, o);
	}
	return 0;
}

static int run_vm_record(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	if (!env || !env->daemon)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "hypervisor.vm_record needs the daemon");
	struct tr_store *st = env->daemon->store;
	struct tr_sql *db = tr_store_sql(st);
	const char *uuid = tr_json_str_opt(args, "uuid"), *host = tr_json_str_opt(args, "host");
	const char *claim = tr_json_str_opt(args, "claim");
	json_t *disks = NULL, *ports = NULL;
	int rc = owned_list(args, "disks", "pool", &disks, call);
	if (!rc)
		rc = owned_list(args, "ports", "host", &ports, call);
	if (rc) {
		json_decref(disks);
		return rc;
	}
	/* The VM's own record: what destroy reads (vm.lookup). */
	json_t *f = json_pack(
	    "{s:s, s:s, s:s, s:O, s:O, s:{s:s?, s:o, s:o}}", "name",
	    tr_json_str_opt(args, "name"), "state",
	    tr_json_str_opt(args, "state") ? tr_json_str_opt(args, "state") : "running", "origin",
	    "trellis", "vcpus", json_object_get(args, "vcpus"), "memory_mib",
	    json_object_get(args, "memory_mb"), "spec", "workflow",
	    env->instance_id, "disks", disks, "ports", ports);
	if (!f)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	const char *console = tr_json_str_opt(args, "console");
	if (console && *console) /* the record's fields are fixed: spec */
		json_object_set_new(json_object_get(f, "spec"), "console",
				    json_string(console));
	json_t *spec = json_object_get(f, "spec");
	static const char *const kept[] = {"caps", "ha", "create"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(args, kept[i]);
		/* caps may come as JSON text (a workflow input). */
		if (json_is_string(v) && json_string_length(v)) {
			json_t *p = json_loads(json_string_value(v), 0, NULL);
			if (p)
				json_object_set_new(spec, kept[i], p);
		} else if (v && !json_is_null(v) && !json_is_string(v)) {
			json_object_set(spec, kept[i], v);
		}
	}
	json_t *cur = NULL;
	trellis_call_t probe;
	tr_call_init(&probe, NULL);
	/* The VM is the BU's that started the workflow (core/auth). */
	char bu[TR_NAME_LEN + 1];
	if (env->instance_id &&
	    tr_wf_owner_bu(st, env->instance_id, bu, sizeof bu, &probe) == 1 &&
	    bu[0])
		json_object_set_new(f, "tenant", json_string(bu));
	if ((rc = tr_store_begin(st, call))) {
		json_decref(f);
		return rc;
	}
	if (tr_store_get(st, TR_KIND_VM, uuid, &cur, &probe) == 0) {
		json_object_del(f, "name");
		rc = tr_store_update(st, TR_KIND_VM, uuid, f, NULL, call);
	} else {
		json_object_set_new(f, "uuid", json_string(uuid));
		rc = tr_store_create(st, TR_KIND_VM, host, f, NULL, call);
	}
	/* The claim goes from the instance to the VM, and the name hold
	 * ends: the record holds the name now. */
	char owner[64];
	snprintf(owner, sizeof owner, "vm:%s", uuid);
	if (!rc && claim)
		rc = tr_claim_set_owner(db, claim, owner, call);
	if (!rc && env->instance_id &&
	    tr_vm_name_release(db, tr_json_str_opt(args, "name"), env->instance_id))
		rc = tr_call_set(call, TRELLIS_E_IO, "vm_record: %s",
				 tr_sql_errmsg(db));
	if (!rc)
		rc = tr_store_commit(st, call);
	else
		tr_store_rollback(st);
	json_decref(cur);
	json_decref(f);
	if (!rc)
		*result = json_pack("{s:s, s:s}", "host", host, "uuid", uuid);
	return rc;
}

static int run_vm_forget(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	if (!env || !env->daemon)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "hypervisor.vm_forget needs the daemon");
	const char *uuid = tr_json_str_opt(args, "uuid");
	int rc =
	    tr_store_delete(env->daemon->store, TR_KIND_VM, uuid, NULL, call);
	if (rc == TRELLIS_E_NOTFOUND)
		rc = 0;
	if (!rc)
		*result = json_pack("{s:s, s:s}", "host", tr_json_str_opt(args, "host"),
				    "uuid", uuid);
	return rc;
}


static const struct tr_field record_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"name", TR_T_STRING, 1, "the VM's name"},
    {"vcpus", TR_T_INT, 1, "virtual CPUs"},
    {"memory_mb", TR_T_INT, 1, "memory in MiB"},
    {"state", TR_T_STRING, 0, "default running"},
    {"claim", TR_T_STRING, 0, "its placement claim: the VM owns it now"},
    {"disks", TR_T_ARRAY, 0, "what it owns: [{pool, name, key}...]"},
    {"ports", TR_T_ARRAY, 0, "what it owns: [{host, name, key}...]"},
    {"console", TR_T_STRING, 0, "its console: vnc or none"},
    {"caps", TR_T_ANY, 0,
     "its caps, each {value, source} (vm show); an object or its JSON text"},
    {"ha", TR_T_BOOL, 0, "restarted elsewhere in its pod when its host fails"},
    {"create", TR_T_OBJECT, 0,
     "what a start on another host needs: disk, nic {segment, mac, port}, "
     "boot, caps"},
    TR_FIELDS_END};

static const struct tr_field vm_ref[] = {HOST_FIELD, UUID_FIELD,
					 TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "hypervisor.vm_record",
     .description =
	 "Record a VM a workflow made in the inventory (origin trellis)",
     .input = record_in,
     .output = vm_ref,
     .run = run_vm_record,
     .undo = "hypervisor.vm_forget",
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
    {.name = "hypervisor.vm_forget",
     .description = "Drop a VM's inventory record (none: fine)",
     .input = vm_ref,
     .output = vm_ref,
     .run = run_vm_forget,
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
};

void tr_actions_register_vmrecord(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
