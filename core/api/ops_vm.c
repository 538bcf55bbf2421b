/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_vm.c - vm.list and vm.show: the VM records of the store.  VMs are
 * made by workflows (vm.provision); these ops only read.  vm.console asks
 * the VM's hypervisor for a console endpoint and one-time password (the
 * hypervisor.console action, on a worker): the password goes to the
 * caller only.
 *
 * vm.show adds to the record what an operator compares with virsh
 * dominfo, domblklist and domiflist: its disks and NICs (what its
 * provision made, from the record), the pool of its first disk and the
 * placement claim it owns.  network.port_list lists the ports the VM
 * records own (the store's side; `network gc` cleans the host's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../store/sql.h"
#include "../util/alloc.h"
#include "../util/suggest.h"
#include "api_int.h"

/* The key of the placement claim VM uuid owns, or NULL (a new string). */
static char *claim_of(struct tr_store *s, const char *uuid)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	char owner[64], *key = NULL;
	if (!db || !uuid)
		return NULL;
	snprintf(owner, sizeof owner, "vm:%s", uuid);
	if (tr_sql_prepare(db,
			   "SELECT key FROM placement_claim WHERE owner = "
			   "?1 ORDER BY created_at LIMIT 1",
			   &st) != 0)
		return NULL;
	tr_sql_bind_text(st, 1, owner);
	if (tr_sql_step(st) == TR_SQL_ROW && tr_sql_column_text(st, 0))
		key = tr_xstrdup(tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
	return key;
}

static void vm_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *vm = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_VM,
			      json_string_value(json_object_get(args, "name")),
			      &vm) < 0)
		return;
	json_t *spec = json_object_get(vm, "spec");
	json_t *disks = json_object_get(spec, "disks");
	json_t *ports = json_object_get(spec, "ports");
	json_object_set_new(vm, "disks", json_is_array(disks)
					     ? json_deep_copy(disks)
					     : json_array());
	json_object_set_new(vm, "nics", json_is_array(ports)
					    ? json_deep_copy(ports)
					    : json_array());
	const char *pool = json_string_value(
	    json_object_get(json_array_get(disks, 0), "pool"));
	json_object_set_new(vm, "pool", pool ? json_string(pool) : json_null());
	char *claim = claim_of(tr_api_store(d),
			       json_string_value(json_object_get(vm, "uuid")));
	json_object_set_new(vm, "claim", claim ? json_string(claim) : json_null());
	free(claim);
	json_t *console = json_object_get(spec, "console");
	json_object_set_new(vm, "console", json_is_string(console)
					       ? json_incref(console)
					       : json_null());
	tr_req_ok(req, vm);
}

/* Every port a VM record owns: {name, host, vm, uuid, segment, mac,
 * ifname, key}, by VM then port; host: only that host's. */
static void port_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store_query q = {0};
	q.parent_ref = json_string_value(json_object_get(args, "host"));
	q.scope_tenant = tr_req_scope(req);
	const char *only_vm = json_string_value(json_object_get(args, "vm"));
	json_t *all = NULL, *items = json_array(), *vm, *p;
	size_t i, k;
	do {
		json_decref(all);
		all = NULL;
		if (tr_store_list(tr_api_store(d), TR_KIND_VM, &q, &all,
				  &call) < 0) {
			json_decref(items);
			tr_req_fail_store(req, &call, NULL);
			return;
		}
		json_array_foreach(json_object_get(all, "items"), i, vm)
		{
			const char *name =
			    json_string_value(json_object_get(vm, "name"));
			const char *uuid =
			    json_string_value(json_object_get(vm, "uuid"));
			if (only_vm && (!name || strcmp(only_vm, name)) &&
			    (!uuid || strcmp(only_vm, uuid)))
				continue;
			json_t *ports = json_object_get(
			    json_object_get(vm, "spec"), "ports");
			json_array_foreach(ports, k, p)
			{
				json_t *row = json_deep_copy(p);
				json_object_set_new(row, "vm",
						    json_string(name ? name : ""));
				json_object_set_new(row, "uuid",
						    json_string(uuid ? uuid : ""));
				json_array_append_new(items, row);
			}
		}
		q.after_id = json_integer_value(json_object_get(all, "next"));
	} while (json_is_integer(json_object_get(all, "next")));
	json_decref(all);
	tr_req_ok(req, json_pack("{s:o}", "items", items));
}

/* The states a VM record can be in (trellis_vm_state_name's words and
 * the inventory's "undefined"), so that a filter on another one is an
 * error rather than an empty list. */
static const char *const vm_states[] = {
	"running", "blocked",   "paused",    "shutting-down", "shutoff",
	"crashed", "suspended", "undefined", "unknown",	      NULL};

static int known(struct tr_req *req, const char *what, const char *v,
		 const char *const *words)
{
	const char *best = NULL;
	char list[256];
	if (tr_suggest_choice(v, words, &best, list, sizeof list))
		return 1;
	if (best)
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "vm.list: unknown %s '%s' (did you mean '%s'? one "
			    "of: %s)",
			    what, v, best, list);
	else
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "vm.list: unknown %s '%s' (one of: %s)", what, v,
			    list);
	return 0;
}

static void vm_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	static const char *const origins[] = {"trellis", "discovered", NULL};
	const char *st = json_string_value(json_object_get(args, "state"));
	const char *og = json_string_value(json_object_get(args, "origin"));
	if ((st && !known(req, "state", st, vm_states)) ||
	    (og && !known(req, "origin", og, origins)))
		return;
	struct tr_store_query q = {0};
	q.parent_ref = json_string_value(json_object_get(args, "host"));
	static const char *const filters[] = {"state", "tenant", "origin"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(args, filters[i]);
		if (!v)
			continue;
		if (q.filter_key) {
			tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
				    "vm.list: filter on one of state, tenant, "
				    "origin at a time");
			return;
		}
		q.filter_key = filters[i];
		q.filter_value = json_string_value(v);
	}
	q.match = json_string_value(json_object_get(args, "match"));
	tr_api_list(d, req, TR_KIND_VM, &q, args);
}

static void vm_console(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *vm = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_VM,
			      json_string_value(json_object_get(args, "name")),
			      &vm) < 0)
		return;
	json_t *a = json_pack("{s:O, s:O}", "host", json_object_get(vm, "host"),
			      "uuid", json_object_get(vm, "uuid"));
	json_t *ttl = json_object_get(args, "ttl");
	if (a && ttl)
		json_object_set(a, "ttl", ttl);
	json_decref(vm);
	if (!a) {
		tr_req_fail(req, TRELLIS_E_NOMEM, NULL, "out of memory");
		return;
	}
	tr_action_submit(d, "hypervisor.console", a, tr_req_answer_action, req);
}

static const struct tr_field console_args[] = {
	{"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
	{"ttl", TR_T_DURATION, 0, "password lifetime (default 5m)"},
	TR_FIELDS_END};
static const struct tr_field show_args[] = {
	{"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
	TR_FIELDS_END};
static const struct tr_field port_list_args[] = {
	{"host", TR_T_STRING, 0, "only the ports on this host"},
	{"vm", TR_T_STRING, 0, "only this VM's (name or uuid)"},
	TR_FIELDS_END};
static const struct tr_field list_args[] = {
	{"host", TR_T_STRING, 0, "only VMs on this host"},
	{"state", TR_T_STRING, 0, "only VMs in this state"},
	{"tenant", TR_T_STRING, 0, "only this tenant's VMs"},
	{"origin", TR_T_STRING, 0, "trellis or discovered"},
	{"match", TR_T_STRING, 0, "only VMs whose name holds this text"},
	TR_LIST_FIELDS,
	TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "vm.list",
     .description = "list VMs, 100 per page by default",
     .args = list_args,
     .handler = vm_list,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "vm.show",
     .description = "show a VM with its disks, NICs, pool and claim",
     .args = show_args,
     .handler = vm_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "network.port_list",
     .description = "the ports VMs own, as their records list them",
     .args = port_list_args,
     .handler = port_list,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "vm.console",
     .description = "VNC endpoint and a one-time password of a VM",
     .args = console_args,
     .handler = vm_console,
     .flags = TR_OP_AUDIT,
     .perm = TR_PERM_BU},
};

void tr_api_register_vm(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
