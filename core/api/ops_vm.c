/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_vm.c - vm.list and vm.show: the VM records of the store.  VMs are
 * made by workflows (vm.provision); these ops only read.  vm.console asks
 * the VM's hypervisor for a console endpoint and one-time password (the
 * hypervisor.console action, on a worker): the password goes to the
 * caller only.
 */
#include "../actions/lookup.h"
#include "api_int.h"

static void vm_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	tr_api_show(d, req, TR_KIND_VM, args);
}

static void vm_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
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
static const struct tr_field list_args[] = {
	{"host", TR_T_STRING, 0, "only VMs on this host"},
	{"state", TR_T_STRING, 0, "only VMs in this state"},
	{"tenant", TR_T_STRING, 0, "only this tenant's VMs"},
	{"origin", TR_T_STRING, 0, "trellis or discovered"},
	{"match", TR_T_STRING, 0, "only VMs whose name holds this text"},
	TR_LIST_FIELDS,
	TR_FIELDS_END};

static const struct tr_api_op ops[] = {
	{"vm.list", "list VMs, 100 per page by default", list_args, vm_list, TR_OP_READ, TR_PERM_BU},
	{"vm.show", "show a VM", show_args, vm_show, TR_OP_READ, TR_PERM_BU},
	{"vm.console", "VNC endpoint and a one-time password of a VM",
	 console_args, vm_console, TR_OP_AUDIT, TR_PERM_BU},
};

void tr_api_register_vm(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
