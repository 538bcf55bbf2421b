/*
 * ops_vm.c - vm.list and vm.show: the VM records of the store.  VMs are
 * made by workflows (vm.provision); these ops only read.
 */
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
	tr_api_list(d, req, TR_KIND_VM, &q, args);
}

static const struct tr_field show_args[] = {
	{"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
	TR_FIELDS_END};
static const struct tr_field list_args[] = {
	{"host", TR_T_STRING, 0, "only VMs on this host"},
	{"state", TR_T_STRING, 0, "only VMs in this state"},
	{"tenant", TR_T_STRING, 0, "only this tenant's VMs"},
	{"origin", TR_T_STRING, 0, "trellis or discovered"},
	TR_LIST_FIELDS,
	TR_FIELDS_END};

static const struct tr_api_op ops[] = {
	{"vm.list", "list VMs, 100 per page by default", list_args, vm_list, 0},
	{"vm.show", "show a VM", show_args, vm_show, 0},
};

void tr_api_register_vm(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
