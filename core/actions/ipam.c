/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam.c - network.ip_allocate and network.ip_release: a VM NIC's address
 * in its network's allocation table (core/ipam), taken at provision and
 * given back at destroy.  Both run on the main thread: they write the
 * store.  An allocation is keyed by (network, VM name), so a replayed step
 * finds the address it took; a network without addressing gives "" (the
 * NIC then has no address of Trellis's).
 */
#include <string.h>

#include "../ipam/ipam.h"
#include "../runtime/daemon.h"
#include "../util/json.h"
#include "action.h"

static int need_store(const struct tr_action_env *env, const char *what,
		      trellis_call_t *call)
{
	if (env && env->daemon && env->daemon->store)
		return 0;
	return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			   "%s needs a running trellisd (its store)", what);
}

static int run_allocate(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	int rc = need_store(env, "network.ip_allocate", call);
	if (rc)
		return rc;
	const char *mac = tr_json_str(args, "mac");
	return tr_ipam_alloc(env->daemon->store, tr_json_str(args, "network"),
			     tr_json_str(args, "vm"), mac && *mac ? mac : NULL,
			     env->idem_key, result, call);
}

/* One network's, or (without "network") every address the VM holds. */
static int run_release(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	int rc = need_store(env, "network.ip_release", call);
	if (rc)
		return rc;
	const char *net = tr_json_str(args, "network"), *vm = tr_json_str(args, "vm");
	json_t *nets = json_array();
	if (net && *net) {
		json_array_append_new(nets, json_string(net));
	} else {
		json_t *l = NULL, *it;
		size_t i;
		rc = tr_ipam_ip_list(env->daemon->store, NULL, NULL, NULL, &l,
				     call);
		json_array_foreach(json_object_get(l, "items"), i, it)
		{
			if (!strcmp(tr_json_str(it, "kind"), "nic") &&
			    tr_json_str(it, "vm") &&
			    !strcmp(tr_json_str(it, "vm"), vm))
				json_array_append_new(
				    nets, json_string(tr_json_str(it, "network")));
		}
		json_decref(l);
	}
	size_t i;
	json_t *n;
	json_array_foreach(nets, i, n) if (!rc) rc = tr_ipam_release(
	    env->daemon->store, json_string_value(n), vm, call);
	if (rc) {
		json_decref(nets);
		return rc;
	}
	*result = json_pack("{s:s, s:o}", "vm", vm, "networks", nets);
	return 0;
}

static const struct tr_field alloc_in[] = {
    {"network", TR_T_STRING, 1, "the network (segment) of the NIC"},
    {"vm", TR_T_STRING, 1, "the VM's name (its DNS name in the network)"},
    {"mac", TR_T_STRING, 0, "the NIC's MAC (default: derived from the "
			    "address)"},
    TR_FIELDS_END};
static const struct tr_field alloc_out[] = {
    {"network", TR_T_STRING, 1, "network"},
    {"vm", TR_T_STRING, 1, "VM"},
    {"ip", TR_T_STRING, 1, "address/prefix, \"\": no addressing"},
    {"address", TR_T_STRING, 0, "the address"},
    {"prefix", TR_T_INT, 0, "its prefix length"},
    {"gateway", TR_T_STRING, 0, "the network's gateway"},
    {"mac", TR_T_STRING, 1, "the NIC's MAC, \"\": the port picks"},
    {"routed", TR_T_BOOL, 0, "the network has a router (DHCP, DNS, NAT)"},
    TR_FIELDS_END};
static const struct tr_field release_in[] = {
    {"vm", TR_T_STRING, 1, "the VM's name"},
    {"network", TR_T_STRING, 0, "only this network (default: all)"},
    TR_FIELDS_END};
static const struct tr_field release_out[] = {
    {"vm", TR_T_STRING, 1, "VM"},
    {"networks", TR_T_ARRAY, 1, "the networks it had addresses in"},
    TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "network.ip_allocate",
     .description =
	 "A VM NIC's address in its network (the lowest free one of the DHCP "
	 "range; the same again on a replay)",
     .input = alloc_in,
     .output = alloc_out,
     .run = run_allocate,
     .undo = "network.ip_release",
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
    {.name = "network.ip_release",
     .description = "Give a VM's addresses back (gone: success)",
     .input = release_in,
     .output = release_out,
     .run = run_release,
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
};

void tr_actions_register_ipam(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
