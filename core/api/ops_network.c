/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_network.c - netpool.* (segment-id pools) and network.* (tenant
 * networks).  A network is an inventory segment record whose VNI or VLAN
 * id comes from a segment-id pool (core/netpool), allocated and recorded
 * in one transaction on the main thread: an exhausted pool records
 * nothing.  Hosts get the segment later, from the network.segment_ensure
 * action.  network.gc asks a host's network plugin to remove what the
 * store does not know (every recorded segment is kept, and the ports on
 * them).
 */
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../ipam/ipam.h"
#include "../netpool/netpool.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "api_int.h"

static void reply(struct tr_req *req, int rc, json_t *out, trellis_call_t *call)
{
	if (rc < 0)
		tr_req_fail_store(req, call, NULL);
	else
		tr_req_ok(req, out);
}

static void netpool_create(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_netpool_create(
	    d->store, tr_json_str(args, "name"), tr_json_str(args, "mode"),
	    json_integer_value(json_object_get(args, "first")),
	    json_integer_value(json_object_get(args, "last")), &out, &call);
	if (rc == 0)
		tr_daemon_publish(d, "netpool.created", out);
	reply(req, rc, out, &call);
}

static void netpool_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	(void)args;
	tr_call_init(&call, NULL);
	int rc = tr_netpool_list(d->store, &out, &call);
	reply(req, rc, out, &call);
}

static void netpool_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	json_t *out = NULL;
	tr_call_init(&call, NULL);
	int rc = tr_netpool_get(d->store, tr_json_str(args, "name"), &out, &call);
	reply(req, rc, out, &call);
}

static void netpool_delete(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_netpool_delete(d->store, tr_json_str(args, "name"), &call);
	reply(req, rc,
	      rc ? NULL : json_pack("{s:s}", "name", tr_json_str(args, "name")), &call);
}

/* network.create's router failed: the network goes again, all of it. */
static void create_undo(struct tr_daemon *d, json_t *obj)
{
	trellis_call_t call;
	json_t *details = NULL;
	const char *name = tr_json_str(obj, "name");
	tr_call_init(&call, NULL);
	int rc = tr_store_begin(d->store, &call);
	if (!rc)
		rc = tr_ipam_net_drop(d->store, name, &call);
	if (!rc)
		rc = tr_netpool_release(
		    d->store, tr_json_str(json_object_get(obj, "spec"), "pool"),
		    name, &call);
	if (!rc)
		rc = tr_store_delete(d->store, TR_KIND_SEGMENT, name, &details,
				     &call);
	if (!rc)
		rc = tr_store_commit(d->store, &call);
	if (rc) {
		tr_store_rollback(d->store);
		tr_warn("network '%s': its router failed, and taking the "
			"network back failed too: %s",
			name, call.message);
	}
	json_decref(details);
}

static void network_create(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = tr_json_str(args, "name"), *pool = tr_json_str(args, "pool");
	const char *plugin =
	    tr_json_str(args, "plugin") ? tr_json_str(args, "plugin") : "bridge";
	const char *mode = NULL;
	uint32_t id = 0;
	json_t *obj = NULL, *spec;
	const char *bu = tr_req_scope(req), *tenant = tr_json_str(args, "tenant");
	if (bu && tenant && strcmp(tenant, bu) != 0) {
		tr_req_not_yours(req, "tenant '%s' not found", tenant);
		return;
	}
	if (bu)
		tenant = bu; /* a BU's network is its BU's */
	spec = json_object();
	if (tr_store_id(d->store, TR_KIND_SEGMENT, name, &call) >= 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "network '%s' already exists", name);
		json_decref(spec);
		return;
	}
	const char *rhost = tr_json_str(args, "router_host");
	if (rhost && tr_store_id(d->store, TR_KIND_HOST, rhost, &call) < 0) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "router host '%s' not found", rhost);
		json_decref(spec);
		return;
	}
	tr_call_init(&call, NULL);
	json_object_set_new(spec, "pool", json_string(pool));
	for (const char *const *k =
		 (const char *const[]){"underlay", "mtu", "remotes", "options",
				       NULL};
	     *k; k++)
		if (json_object_get(args, *k))
			json_object_set(spec, *k, json_object_get(args, *k));
	int rc = tr_store_begin(d->store, &call);
	if (!rc)
		rc = tr_ipam_net_plan(d->store, args, tenant, spec, &call);
	if (!rc && rhost)
		rc = tr_ipam_public_alloc(d->store, name, spec, &call);
	if (!rc)
		rc = tr_netpool_alloc(d->store, pool, name, &id, &mode, &call);
	if (!rc) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:O}", "name", name,
				      "plugin", plugin, "type", mode, "vni",
				      (json_int_t)id, "spec", spec);
		if (tenant)
			json_object_set_new(f, "tenant", json_string(tenant));
		rc = tr_store_create(d->store, TR_KIND_SEGMENT, NULL, f, &obj,
				     &call);
		json_decref(f);
	}
	if (!rc)
		rc = tr_store_commit(d->store, &call);
	json_decref(spec);
	if (rc < 0) {
		tr_store_rollback(d->store);
		json_decref(obj);
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_daemon_publish(d, "network.created", obj);
	tr_info("network '%s' created: %s id %u from pool %s", name, mode, id,
		pool);
	if (!rhost) {
		tr_req_ok(req, obj);
		return;
	}
	/* Its router, made now: a network that cannot have its router is
	 * taken back rather than left half made. */
	tr_api_router_sync(d, req, "network.router_ensure",
			   json_pack("{s:s}", "network", name), obj, create_undo,
			   json_incref(obj));
}

static void network_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store_query q = {0};
	json_t *out = NULL;
	if (tr_api_paging(req, args, &q) < 0)
		return;
	q.scope_tenant = tr_req_scope(req);
	int rc = tr_store_list(d->store, TR_KIND_SEGMENT, &q, &out, &call);
	reply(req, rc, out, &call);
}

static void network_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *out = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, tr_json_str(args, "name"),
			      &out) == 0)
		tr_req_ok(req, out);
}

/* The record goes (its id, addresses, forwards), in one transaction. */
static int delete_record(struct tr_daemon *d, json_t *obj, json_t **details,
			 trellis_call_t *call)
{
	const char *name = tr_json_str(obj, "name");
	int rc = tr_store_begin(d->store, call);
	if (!rc)
		rc = tr_ipam_net_drop(d->store, name, call);
	if (!rc)
		rc = tr_netpool_release(
		    d->store, tr_json_str(json_object_get(obj, "spec"), "pool"), name,
		    call);
	if (!rc)
		rc = tr_store_delete(d->store, TR_KIND_SEGMENT, name, details,
				     call);
	if (!rc)
		rc = tr_store_commit(d->store, call);
	if (rc < 0)
		tr_store_rollback(d->store);
	return rc;
}

struct del {
	struct tr_req *req;
	json_t *obj;
};

static void delete_after_router(struct tr_daemon *d, void *arg,
				json_t *result, trellis_call_t *rcall)
{
	struct del *x = arg;
	trellis_call_t call;
	json_t *details = NULL;
	tr_call_init(&call, NULL);
	if (!result) {
		tr_req_fail_call(x->req, rcall);
		json_decref(x->obj);
	} else if (delete_record(d, x->obj, &details, &call) < 0) {
		json_decref(x->obj);
		tr_req_fail_store(x->req, &call, details);
	} else {
		tr_daemon_publish(d, "network.deleted", x->obj);
		tr_req_ok(x->req, x->obj);
	}
	free(x);
}

static void network_delete(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = tr_json_str(args, "name");
	json_t *obj = NULL, *details = NULL, *ips = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_SEGMENT, name, &obj) < 0)
		return;
	json_t *spec = json_object_get(obj, "spec");
	if (tr_json_str(spec, "router_host")) {
		/* VMs still in it keep it (and its router): asked first. */
		int rc = tr_ipam_ip_list(d->store, name, NULL, NULL, &ips, &call);
		size_t i, n = 0;
		json_t *it;
		json_array_foreach(json_object_get(ips, "items"), i, it) n +=
		    !strcmp(tr_json_str(it, "kind"), "nic");
		json_decref(ips);
		if (!rc && n)
			rc = tr_ipam_net_drop(d->store, name, &call);
		if (!rc)
			rc = tr_ipam_net_deleting(d->store, name, &call);
		if (rc < 0) {
			json_decref(obj);
			tr_req_fail_store(req, &call, NULL);
			return;
		}
		struct del *x = tr_xcalloc(1, sizeof *x);
		x->req = req;
		x->obj = obj;
		tr_action_submit(
		    d, "network.router_remove",
		    json_pack("{s:s, s:s, s:s, s:s}", "network", name, "host",
			      tr_json_str(spec, "router_host"), "uri",
			      tr_json_str(spec, "router_uri")
				  ? tr_json_str(spec, "router_uri")
				  : "local",
			      "plugin",
			      tr_json_str(obj, "plugin") ? tr_json_str(obj, "plugin")
						   : "bridge"),
		    delete_after_router, x);
		return;
	}
	if (delete_record(d, obj, &details, &call) < 0) {
		json_decref(obj);
		tr_req_fail_store(req, &call, details);
		return;
	}
	tr_daemon_publish(d, "network.deleted", obj);
	tr_req_ok(req, obj);
}

static void network_gc(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store_query q = {0};
	json_t *all = NULL, *keep = json_array(), *seg;
	size_t i;
	/* Every recorded segment, all pages. */
	do {
		json_decref(all);
		all = NULL;
		if (tr_store_list(d->store, TR_KIND_SEGMENT, &q, &all, &call) <
		    0) {
			json_decref(keep);
			tr_req_fail_store(req, &call, NULL);
			return;
		}
		json_array_foreach(json_object_get(all, "items"), i, seg)
		    json_array_append(keep, json_object_get(seg, "name"));
		q.after_id = json_integer_value(json_object_get(all, "next"));
	} while (json_is_integer(json_object_get(all, "next")));
	json_decref(all);
	json_t *a = json_deep_copy(args);
	json_object_set_new(a, "keep", keep);
	json_object_set_new(a, "segment_ports", json_true());
	tr_action_submit(d, "network.gc", a, tr_req_answer_action, req);
}

static const struct tr_field netpool_create_args[] = {
    {"name", TR_T_STRING, 1, "pool name"},
    {"mode", TR_T_STRING, 1, "vxlan or vlan"},
    {"first", TR_T_INT, 1, "first id of the range"},
    {"last", TR_T_INT, 1, "last id of the range"},
    TR_FIELDS_END};
static const struct tr_field name_args[] = {{"name", TR_T_STRING, 1, "name"},
					    TR_FIELDS_END};
static const struct tr_field none_args[] = {TR_FIELDS_END};
static const struct tr_field list_args[] = {TR_LIST_FIELDS, TR_FIELDS_END};
static const struct tr_field network_create_args[] = {
    {"name", TR_T_STRING, 1, "network (segment) name"},
    {"pool", TR_T_STRING, 1, "segment-id pool to number it from"},
    {"tenant", TR_T_STRING, 0, "owning tenant"},
    {"plugin", TR_T_STRING, 0, "network plugin (default bridge)"},
    {"underlay", TR_T_STRING, 0, "NIC carrying VXLAN/VLAN traffic"},
    {"mtu", TR_T_INT, 0, "MTU of the segment"},
    {"remotes", TR_T_ARRAY, 0, "VXLAN peer addresses"},
    {"options", TR_T_OBJECT, 0,
     "the network's own options, given to its plugin's segment_ensure as "
     "spec->options (ABI 1.1)"},
    {"zone", TR_T_STRING, 0,
     "its zone: the default CIDR comes from the zone's tenant space, the "
     "router's public address from its public ranges"},
    {"cidr", TR_T_STRING, 0,
     "its address block (default with zone: a free /24 of the zone's "
     "tenant space)"},
    {"gateway", TR_T_STRING, 0, "its gateway (default: the first address)"},
    {"dhcp", TR_T_STRING, 0,
     "its DHCP range A-B (default: the other host addresses)"},
    {"domain", TR_T_STRING, 0, "DNS domain of its VM names"},
    {"router_host", TR_T_STRING, 0,
     "the host its router (DHCP, DNS, NAT) runs on; none: no router"},
    {"router_uri", TR_T_STRING, 0,
     "that host's network context (default local)"},
    TR_FIELDS_END};
static const struct tr_field gc_args[] = {
    {"host", TR_T_STRING, 1, "host (network context) to clean"},
    {"uri", TR_T_STRING, 0, "\"local\" (default) or \"netns:NAME\""},
    {"plugin", TR_T_STRING, 0, "network plugin (default bridge)"},
    {"dry_run", TR_T_BOOL, 0, "remove nothing: list what would go"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "netpool.create",
     .description = "Create a segment-id pool (a VNI or VLAN range)",
     .args = netpool_create_args,
     .handler = netpool_create,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "netpool.list",
     .description = "List segment-id pools with their use",
     .args = none_args,
     .handler = netpool_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "netpool.show",
     .description = "A segment-id pool",
     .args = name_args,
     .handler = netpool_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "netpool.delete",
     .description = "Delete an unused segment-id pool",
     .args = name_args,
     .handler = netpool_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "network.create",
     .description = "Create a tenant network (an id from a pool)",
     .args = network_create_args,
     .handler = network_create,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "network.list",
     .description = "List networks",
     .args = list_args,
     .handler = network_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "network.show",
     .description = "A network",
     .args = name_args,
     .handler = network_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "network.delete",
     .description = "Delete a network and free its id",
     .args = name_args,
     .handler = network_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "network.gc",
     .description = "Remove from a host what the store does not know",
     .args = gc_args,
     .handler = network_gc,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_network(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
