/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_host.c - host.*: host.add and host.refresh probe the host and record
 * it through core/inventory (the hypervisor.host_probe action: capacity
 * and the VMs the hypervisor already runs, recorded as "discovered"); an
 * unreachable host is refused with the plugin's error and nothing is
 * recorded, and so is a second host for a known hypervisor.  host.remove,
 * show and list read and write the store; host.set records data an
 * operator enters by hand, which holds over discovery until cleared.
 */
#include <stdlib.h>
#include <string.h>

#include "../inventory/inventory.h"
#include "../relay/relay.h"
#include "../util/log.h"
#include "api_int.h"

/* Answers host.add and host.refresh with the synced record. */
static void synced(struct tr_daemon *d, void *arg, json_t *host,
		   trellis_call_t *call)
{
	(void)d;
	if (host)
		tr_req_ok(arg, host);
	else
		tr_req_fail_call(arg, call);
}

int tr_api_via_agent_check(struct tr_daemon *d, struct tr_req *req,
			   const char *agent, const char *cluster)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *c = NULL, *ag = tr_agent_list(tr_store_sql(d->store), agent);
	json_t *a = json_array_get(ag, 0);
	int rc = 0;
	if (!a) {
		rc = -1;
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "agent '%s' not found (trellis agent list)", agent);
	} else if (!json_is_null(json_object_get(a, "revoked_at"))) {
		rc = -1;
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "agent '%s' is revoked", agent);
	} else if (tr_store_get(d->store, TR_KIND_CLUSTER, cluster, &c,
				&call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		rc = -1;
	} else if (strcmp(json_string_value(json_object_get(c, "zone")),
			  json_string_value(json_object_get(a, "zone"))) != 0) {
		rc = -1;
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "agent '%s' serves zone '%s', not '%s'", agent,
			    json_string_value(json_object_get(a, "zone")),
			    json_string_value(json_object_get(c, "zone")));
	} else {
		json_t *st = tr_relay_status(d, agent);
		if (!json_is_true(json_object_get(st, "connected"))) {
			rc = -1;
			tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
				    "agent '%s' is not connected: its host "
				    "cannot be probed now",
				    agent);
		}
		json_decref(st);
	}
	json_decref(c);
	json_decref(ag);
	return rc < 0 ? -1 : 0;
}

static void host_add(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *cluster =
		json_string_value(json_object_get(args, "cluster"));
	const char *plugin =
		json_string_value(json_object_get(args, "hypervisor"));
	const char *uri = json_string_value(json_object_get(args, "uri"));
	const char *agent = json_string_value(json_object_get(args, "via_agent"));
	if (!plugin)
		plugin = "libvirt";
	trellis_call_t call;
	tr_call_init(&call, NULL);
	/* Cheap checks first, so a bad request costs no connection. */
	if (tr_store_id(d->store, TR_KIND_CLUSTER, cluster, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	if (tr_store_id(d->store, TR_KIND_HOST, name, &call) >= 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "host '%s' already exists", name);
		return;
	}
	/* Behind an agent, the plugin is the agent's to have. */
	if (!agent &&
	    !tr_registry_find(d->registry, plugin, TRELLIS_KIND_HYPERVISOR)) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no hypervisor plugin '%s' is loaded (trellis "
			    "plugin list)",
			    plugin);
		return;
	}
	if (agent && tr_api_via_agent_check(d, req, agent, cluster) < 0)
		return;
	if (tr_inventory_host_conflict(d->store, name, uri, NULL, agent,
				       &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_inventory_host_sync_via(d, 0, name, cluster, plugin, uri, agent,
				   json_object_get(args, "options"), synced,
				   req);
}

static void host_refresh(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *h = NULL;
	if (tr_store_get(d->store, TR_KIND_HOST, name, &h, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_inventory_host_sync(
		d, TR_HOST_SYNC_REFRESH, name, NULL,
		json_string_value(json_object_get(h, "hypervisor")),
		json_string_value(json_object_get(h, "uri")),
		json_object_get(json_object_get(h, "spec"), "options"), synced,
		req);
	json_decref(h);
}

static void host_remove(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct tr_store *s = d->store;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *h = NULL, *vms = NULL, *details = NULL;
	struct tr_store_query q = {.parent_ref = name,
				   .filter_key = "origin",
				   .filter_value = "trellis",
				   .limit = 20};
	if (tr_store_get(s, TR_KIND_HOST, name, &h, &call) < 0 ||
	    tr_store_list(s, TR_KIND_VM, &q, &vms, &call) < 0)
		goto fail;
	json_t *items = json_object_get(vms, "items");
	if (json_array_size(items) > 0) {
		char names[512] = "";
		size_t i;
		json_t *vm;
		json_t *children = json_array();
		json_array_foreach(items, i, vm)
		{
			const char *n = json_string_value(json_object_get(vm, "name"));
			size_t len = strlen(names);
			snprintf(names + len, sizeof names - len, "%s%s",
				 len ? ", " : "", n);
			json_array_append_new(children,
					      json_pack("{s:s, s:s}", "kind",
							"vm", "name", n));
		}
		tr_call_set(&call, TRELLIS_E_CONFLICT,
			    "host '%s' still runs VMs made by Trellis: %s; "
			    "destroy or move them first",
			    name, names);
		details = json_pack("{s:o}", "children", children);
		goto fail;
	}
	json_decref(vms);
	vms = NULL;
	/* Discovered VMs are the hypervisor's, not ours: forget them with
	 * the host, in one transaction. */
	q.filter_value = "discovered";
	q.limit = 0;
	if (tr_store_begin(s, &call) < 0)
		goto fail;
	if (tr_store_list(s, TR_KIND_VM, &q, &vms, &call) < 0)
		goto rollback;
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(vms, "items"), i, vm)
	{
		if (tr_store_delete(s, TR_KIND_VM,
				    json_string_value(json_object_get(vm, "uuid")),
				    NULL, &call) < 0)
			goto rollback;
	}
	if (tr_store_delete(s, TR_KIND_HOST, name, &details, &call) < 0 ||
	    tr_store_commit(s, &call) < 0)
		goto rollback;
	json_decref(vms);
	tr_conn_forget(d, TR_CONN_HOST, name);
	tr_daemon_publish(d, "host.removed", h);
	tr_info("host %s removed", name);
	tr_req_ok(req, h);
	return;
rollback:
	tr_store_rollback(s);
fail:
	json_decref(h);
	json_decref(vms);
	tr_req_fail_store(req, &call, details);
}

static void host_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	tr_api_show(d, req, TR_KIND_HOST, args);
}

static void host_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_store_query q = {0};
	q.parent_ref = json_string_value(json_object_get(args, "cluster"));
	if (json_object_get(args, "state")) {
		q.filter_key = "state";
		q.filter_value = json_string_value(json_object_get(args, "state"));
	}
	tr_api_list(d, req, TR_KIND_HOST, &q, args);
}

/* The host data an operator may enter by hand (host.set), kept in the
 * host's spec as "manual": a refresh or an agent's report records what
 * the hypervisor says, then these again (core/inventory/hosts.c). */
static const char *const manual_int[] = {"cpus", "sockets", "cores",
					 "threads", "mhz"};
static const char *const manual_str[] = {"cpu_model", "arch", "hostname"};

static void host_set(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct tr_store *s = d->store;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *h = NULL, *v;
	if (tr_store_get(s, TR_KIND_HOST, name, &h, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	json_t *spec = json_object_get(h, "spec");
	spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
	json_t *manual = json_object_get(spec, "manual");
	manual = json_is_object(manual) ? json_incref(manual) : json_object();
	int clear = json_is_true(json_object_get(args, "clear"));
	int given = 0;
	if (clear)
		json_object_clear(manual);
	for (size_t i = 0; i < sizeof manual_int / sizeof *manual_int; i++)
		if ((v = json_object_get(args, manual_int[i]))) {
			if (json_integer_value(v) < 1) {
				tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
					    "host.set: %s must be at least 1",
					    manual_int[i]);
				goto out;
			}
			json_object_set(manual, manual_int[i], v);
			given++;
		}
	for (size_t i = 0; i < sizeof manual_str / sizeof *manual_str; i++)
		if ((v = json_object_get(args, manual_str[i]))) {
			json_object_set(manual, manual_str[i], v);
			given++;
		}
	if ((v = json_object_get(args, "memory"))) {
		if (json_integer_value(v) < 1024) {
			tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
				    "host.set: memory must be at least 1K");
			goto out;
		}
		json_object_set_new(manual, "memory_kib",
				    json_integer(json_integer_value(v) >> 10));
		given++;
	}
	if (!given && !clear) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "host.set: nothing to set (--cpus, --memory, ... "
			    "or --clear)");
		goto out;
	}
	json_t *upd = json_deep_copy(manual);
	if (json_object_size(manual))
		json_object_set(spec, "manual", manual);
	else
		json_object_del(spec, "manual");
	json_object_set(upd, "spec", spec);
	json_t *obj = NULL;
	int rc = tr_store_update(s, TR_KIND_HOST, name, upd, &obj, &call);
	json_decref(upd);
	if (rc < 0) {
		tr_req_fail_store(req, &call, NULL);
		goto out;
	}
	tr_daemon_publish(d, "host.state", obj);
	tr_info("host %s: %s", name,
		clear ? "data entered by hand cleared (the next refresh "
			"records what the hypervisor says)"
		      : "data entered by hand");
	tr_req_ok(req, obj);
out:
	json_decref(manual);
	json_decref(spec);
	json_decref(h);
}

static const struct tr_field set_args[] = {
	{"name", TR_T_STRING, 1, "host name"},
	{"cpus", TR_T_INT, 0, "CPUs (placement counts these)"},
	{"memory", TR_T_SIZE, 0, "memory (\"64G\"; placement counts it)"},
	{"sockets", TR_T_INT, 0, "CPU sockets"},
	{"cores", TR_T_INT, 0, "cores per socket"},
	{"threads", TR_T_INT, 0, "threads per core"},
	{"mhz", TR_T_INT, 0, "CPU MHz"},
	{"cpu_model", TR_T_STRING, 0, "CPU model"},
	{"arch", TR_T_STRING, 0, "architecture (x86_64)"},
	{"hostname", TR_T_STRING, 0, "the machine's host name"},
	{"clear", TR_T_BOOL, 0,
	 "forget what was entered by hand (with others: then set those)"},
	TR_FIELDS_END};

static const struct tr_field add_args[] = {
	{"name", TR_T_STRING, 1, "host name (unique)"},
	{"cluster", TR_T_STRING, 1, "the cluster (CLUSTER or ZONE/POD/CLUSTER)"},
	{"hypervisor", TR_T_STRING, 0, "hypervisor plugin (default libvirt)"},
	{"uri", TR_T_STRING, 1, "connection URI (qemu:///system, test:///default)"},
	{"options", TR_T_OBJECT, 0,
	 "the host's own options, given to its hypervisor plugin's connect "
	 "(a map; never put a secret here, name one)"},
	{"via_agent", TR_T_STRING, 0,
	 "the private zone's agent that reaches the host (docs/agent.md)"},
	TR_FIELDS_END};
static const struct tr_field name_args[] = {
	{"name", TR_T_STRING, 1, "host name"}, TR_FIELDS_END};
static const struct tr_field list_args[] = {
	{"cluster", TR_T_STRING, 0, "only hosts of this cluster"},
	{"state", TR_T_STRING, 0, "only hosts in this state (up, unreachable)"},
	TR_LIST_FIELDS, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "host.add",
     .description = "open a host through its hypervisor plugin and record it",
     .args = add_args,
     .handler = host_add,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "host.list",
     .description = "list hosts",
     .args = list_args,
     .handler = host_list,
     .flags = TR_OP_READ,
     .perm = TR_PERM_DC},
    {.name = "host.show",
     .description = "show a host",
     .args = name_args,
     .handler = host_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_DC},
    {.name = "host.remove",
     .description = "forget a host (refused while Trellis VMs run on it)",
     .args = name_args,
     .handler = host_remove,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "host.refresh",
     .description = "rediscover a host's capacity and VMs",
     .args = name_args,
     .handler = host_refresh,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "host.set",
     .description =
	 "enter a host's data by hand (CPUs, memory, topology); it holds "
	 "over what discovery says until cleared",
     .args = set_args,
     .handler = host_set,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_host(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
