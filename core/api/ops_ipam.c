/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_ipam.c - zone.ip_range_* (a zone's public, management and tenant
 * ranges), ip.list/ip.show (the allocation table) and network.forward_*
 * (port forwards of routed networks), over core/ipam.
 *
 * A change that a router must follow (a forward added or removed) is
 * written, then network.router_ensure runs on a worker; when that fails
 * the change is taken back, so what the store says and what the router
 * does stay the same.  tr_api_router_sync() is that road, also taken by
 * network.create and network.delete (ops_network.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../ipam/ipam.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "api_int.h"

#define S(o, k) tr_json_str((o), (k))

struct sync {
	struct tr_req *req;
	json_t *answer; /* stolen; the router's result goes in "router" */
	tr_router_undo_fn undo;
	json_t *undo_arg;
};

static void sync_done(struct tr_daemon *d, void *arg, json_t *result,
		      trellis_call_t *call)
{
	struct sync *s = arg;
	if (result) {
		json_object_set(s->answer, "router", result);
		tr_req_ok(s->req, s->answer);
	} else {
		if (s->undo)
			s->undo(d, s->undo_arg);
		tr_req_fail_call(s->req, call);
		json_decref(s->answer);
	}
	json_decref(s->undo_arg);
	free(s);
}

void tr_api_router_sync(struct tr_daemon *d, struct tr_req *req,
			const char *action, json_t *args, json_t *answer,
			tr_router_undo_fn undo, json_t *undo_arg)
{
	struct sync *s = tr_xcalloc(1, sizeof *s);
	s->req = req;
	s->answer = answer;
	s->undo = undo;
	s->undo_arg = undo_arg;
	tr_action_submit(d, action, args, sync_done, s);
}

/* ---- zone.ip_range_* ---- */

static void range_add(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	int rc = tr_store_begin(d->store, &call);
	if (!rc)
		rc = tr_ipam_range_add(d->store, args, &out, &call);
	if (!rc)
		rc = tr_store_commit(d->store, &call);
	if (rc) {
		tr_store_rollback(d->store);
		json_decref(out);
		out = NULL;
	} else {
		tr_daemon_publish(d, "zone.ip_range.added", out);
		tr_info("zone '%s': %s range %s added", S(out, "zone"),
			S(out, "kind"), S(out, "cidr"));
	}
	tr_req_answer_store(req, rc, out, &call);
}

static void range_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	int rc = tr_ipam_range_list(d->store, S(args, "zone"), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void range_remove(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	int rc = tr_ipam_range_remove(d->store, S(args, "zone"), S(args, "cidr"),
				      &out, &call);
	if (!rc)
		tr_daemon_publish(d, "zone.ip_range.removed", out);
	tr_req_answer_store(req, rc, out, &call);
}

/* ---- ip.* ---- */

static void ip_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	const char *net = S(args, "network");
	if (net) {
		json_t *obj = NULL;
		if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, net, &obj) < 0)
			return;
		json_decref(obj);
	}
	int rc = tr_ipam_ip_list(d->store, net, S(args, "zone"),
				 tr_req_scope(req), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void ip_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	int rc = tr_ipam_ip_show(d->store, S(args, "address"), S(args, "network"),
				 tr_req_scope(req), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

/* ---- network.forward_* ---- */

static void forward_undo_add(struct tr_daemon *d, json_t *a)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	tr_ipam_forward_remove(d->store, S(a, "network"), S(a, "protocol"),
			       json_integer_value(json_object_get(a, "public_port")),
			       &out, &call);
	json_decref(out);
}

static void forward_add(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL, *obj = NULL, *before = NULL;
	const char *net = S(args, "network");
	tr_call_init(&call, NULL);
	if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, net, &obj) < 0)
		return;
	json_decref(obj);
	/* A forward that exists already is not undone if the sync fails. */
	int rc = tr_ipam_forward_list(d->store, net, &before, &call);
	size_t n0 = json_array_size(json_object_get(before, "items"));
	json_decref(before);
	if (!rc)
		rc = tr_ipam_forward_add(
		    d->store, net, S(args, "protocol"),
		    json_integer_value(json_object_get(args, "public_port")),
		    S(args, "vm"), json_integer_value(json_object_get(args, "port")),
		    &out, &call);
	if (rc) {
		tr_req_answer_store(req, rc, out, &call);
		return;
	}
	json_t *list = NULL;
	tr_ipam_forward_list(d->store, net, &list, &call);
	int added = json_array_size(json_object_get(list, "items")) > n0;
	json_decref(list);
	tr_daemon_publish(d, "network.forward.added", out);
	tr_api_router_sync(d, req, "network.router_ensure",
			   json_pack("{s:s}", "network", net), out,
			   added ? forward_undo_add : NULL,
			   added ? json_deep_copy(out) : NULL);
}

static void forward_list(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL, *obj = NULL;
	tr_call_init(&call, NULL);
	if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, S(args, "network"),
			      &obj) < 0)
		return;
	json_decref(obj);
	int rc = tr_ipam_forward_list(d->store, S(args, "network"), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void forward_remove(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL, *obj = NULL;
	const char *net = S(args, "network");
	tr_call_init(&call, NULL);
	if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, net, &obj) < 0)
		return;
	json_decref(obj);
	int rc = tr_ipam_forward_remove(
	    d->store, net, S(args, "protocol"),
	    json_integer_value(json_object_get(args, "public_port")), &out,
	    &call);
	if (rc) {
		tr_req_answer_store(req, rc, out, &call);
		return;
	}
	tr_daemon_publish(d, "network.forward.removed", out);
	tr_api_router_sync(d, req, "network.router_ensure",
			   json_pack("{s:s}", "network", net), out, NULL, NULL);
}

static const struct tr_field range_add_args[] = {
    {"zone", TR_T_STRING, 1, "the zone"},
    {"kind", TR_T_STRING, 1,
     "public (the zone's public side), management (a pod's private "
     "subnet) or tenant (the space networks get their /24 from)"},
    {"cidr", TR_T_STRING, 1, "the block, a.b.c.d/n"},
    {"gateway", TR_T_STRING, 0, "its gateway (never handed out)"},
    {"pod", TR_T_STRING, 0, "the pod of a management range"},
    {"range", TR_T_STRING, 0,
     "the addresses that may be handed out, A-B (default: the block's "
     "host addresses)"},
    {"bridge", TR_T_STRING, 0,
     "public: the host bridge of the public network routers join"},
    TR_FIELDS_END};
static const struct tr_field range_list_args[] = {
    {"zone", TR_T_STRING, 0, "the zone (default: every zone)"},
    TR_FIELDS_END};
static const struct tr_field range_remove_args[] = {
    {"zone", TR_T_STRING, 1, "the zone"},
    {"cidr", TR_T_STRING, 1, "the range's block"},
    TR_FIELDS_END};
static const struct tr_field ip_list_args[] = {
    {"network", TR_T_STRING, 0, "only this network's addresses"},
    {"zone", TR_T_STRING, 0, "only this zone's networks"},
    TR_FIELDS_END};
static const struct tr_field ip_show_args[] = {
    {"address", TR_T_STRING, 1, "the address"},
    {"network", TR_T_STRING, 0,
     "its network (needed when two networks hold it)"},
    TR_FIELDS_END};
static const struct tr_field forward_add_args[] = {
    {"network", TR_T_STRING, 1, "the routed network"},
    {"public_port", TR_T_INT, 1, "port on the router's public address"},
    {"vm", TR_T_STRING, 1, "the VM (it holds an address in the network)"},
    {"port", TR_T_INT, 1, "port on the VM"},
    {"protocol", TR_T_STRING, 0, "tcp (default) or udp"},
    TR_FIELDS_END};
static const struct tr_field forward_list_args[] = {
    {"network", TR_T_STRING, 1, "the network"}, TR_FIELDS_END};
static const struct tr_field forward_remove_args[] = {
    {"network", TR_T_STRING, 1, "the network"},
    {"public_port", TR_T_INT, 1, "the forward's public port"},
    {"protocol", TR_T_STRING, 0, "tcp (default) or udp"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "zone.ip_range_add",
     .description =
	 "Add an IP range to a zone (overlaps are refused, naming both)",
     .args = range_add_args,
     .handler = range_add,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "zone.ip_range_list",
     .description = "A zone's IP ranges and their use",
     .args = range_list_args,
     .handler = range_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "zone.ip_range_remove",
     .description = "Remove an unused IP range from a zone",
     .args = range_remove_args,
     .handler = range_remove,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "ip.list",
     .description = "Allocated addresses (IP, MAC, VM)",
     .args = ip_list_args,
     .handler = ip_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "ip.show",
     .description = "One allocated address",
     .args = ip_show_args,
     .handler = ip_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "network.forward_add",
     .description = "Forward a public port of a routed network to a VM's port",
     .args = forward_add_args,
     .handler = forward_add,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "network.forward_list",
     .description = "A routed network's port forwards",
     .args = forward_list_args,
     .handler = forward_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "network.forward_remove",
     .description = "Remove a port forward",
     .args = forward_remove_args,
     .handler = forward_remove,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
};

void tr_api_register_ipam(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
