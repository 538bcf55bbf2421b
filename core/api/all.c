/* SPDX-License-Identifier: Apache-2.0 */
/*
 * all.c - the one place that registers every subsystem's API ops.
 * A new subsystem appends one line here and declares its function with
 * the others in api.h.
 */
#include "api.h"

void tr_api_register_all(struct tr_api *api)
{
	tr_api_register_inventory(api);
	tr_api_register_host(api);
	tr_api_register_vm(api);
	tr_api_register_system(api);
	tr_api_register_storage(api);
	tr_api_register_network(api);
	tr_api_register_policy(api);
	tr_api_register_workflow(api);
	tr_api_register_auth(api);
	tr_api_register_tenancy(api);
	tr_api_register_alloc(api);
	tr_api_register_console(api);
	tr_api_register_agent(api);
	tr_api_register_ipam(api);
	tr_api_register_ha(api);
	tr_api_register_maint(api);
	/* Append: tr_api_register_workflow(api); ... */
}
