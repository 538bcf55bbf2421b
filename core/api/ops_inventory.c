/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_inventory.c - tenant.*, zone.*, pod.* and cluster.*: the containers
 * of the inventory.  Names are unique within the parent; delete refuses
 * while children exist and names them.
 */
#include <string.h>

#include "../util/log.h"
#include "api_int.h"

static void created(struct tr_daemon *d, struct tr_req *req, const char *kind,
		    json_t *obj)
{
	char topic[64];
	snprintf(topic, sizeof topic, "%s.created", kind);
	tr_daemon_publish(d, topic, obj);
	tr_info("%s '%s' created", kind,
		json_string_value(json_object_get(obj, "name")));
	tr_req_ok(req, obj);
}

static void do_create(struct tr_daemon *d, struct tr_req *req,
		      enum tr_kind kind, const char *parent_field, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *fields = json_deep_copy(args), *obj = NULL;
	const char *parent = NULL;
	if (parent_field) {
		parent = json_string_value(json_object_get(args, parent_field));
		json_object_del(fields, parent_field);
	}
	if (tr_store_create(d->store, kind, parent, fields, &obj, &call) < 0)
		tr_req_fail_store(req, &call, NULL);
	else
		created(d, req, tr_kind_str(kind), obj);
	json_decref(fields);
}

static void do_list(struct tr_daemon *d, struct tr_req *req,
		    enum tr_kind kind, const char *parent_field, json_t *args)
{
	struct tr_store_query q = {0};
	if (parent_field)
		q.parent_ref =
			json_string_value(json_object_get(args, parent_field));
	tr_api_list(d, req, kind, &q, args);
}

static void do_delete(struct tr_daemon *d, struct tr_req *req,
		      enum tr_kind kind, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *details = NULL, *obj = NULL;
	const char *name = json_string_value(json_object_get(args, "name"));
	if (tr_store_get(d->store, kind, name, &obj, &call) < 0 ||
	    tr_store_delete(d->store, kind, name, &details, &call) < 0) {
		json_decref(obj);
		tr_req_fail_store(req, &call, details);
		return;
	}
	char topic[64];
	snprintf(topic, sizeof topic, "%s.deleted", tr_kind_str(kind));
	tr_daemon_publish(d, topic, obj);
	tr_info("%s '%s' deleted", tr_kind_str(kind), name);
	tr_req_ok(req, obj);
}

/* zone.create checks the rules that tie its fields together. */
static void zone_create(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	int priv = json_is_true(json_object_get(args, "private"));
	json_t *spill = json_object_get(args, "spill");
	if (spill && strcmp(json_string_value(spill), "allow") != 0 &&
	    strcmp(json_string_value(spill), "deny") != 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.create: spill must be allow or deny, not "
			    "'%.32s'",
			    json_string_value(spill));
		return;
	}
	if (!priv && (json_object_get(args, "owner") ||
		      json_is_true(json_object_get(args, "exclusive")) ||
		      spill)) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.create: owner, exclusive and spill apply to "
			    "private zones only (add private)");
		return;
	}
	if (priv && !json_object_get(args, "owner")) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.create: a private zone needs an owner "
			    "(a tenant)");
		return;
	}
	do_create(d, req, TR_KIND_ZONE, NULL, args);
}

#define SIMPLE(kind, pfield, K)                                                \
	static void kind##_create(struct tr_daemon *d, struct tr_req *req,     \
				  json_t *args)                                \
	{                                                                      \
		do_create(d, req, K, pfield, args);                            \
	}
#define COMMON(kind, pfield, K)                                                \
	static void kind##_show(struct tr_daemon *d, struct tr_req *req,       \
				json_t *args)                                  \
	{                                                                      \
		tr_api_show(d, req, K, args);                                      \
	}                                                                      \
	static void kind##_list(struct tr_daemon *d, struct tr_req *req,       \
				json_t *args)                                  \
	{                                                                      \
		do_list(d, req, K, pfield, args);                              \
	}                                                                      \
	static void kind##_delete(struct tr_daemon *d, struct tr_req *req,     \
				  json_t *args)                                \
	{                                                                      \
		do_delete(d, req, K, args);                                    \
	}

SIMPLE(tenant, NULL, TR_KIND_TENANT)
COMMON(tenant, NULL, TR_KIND_TENANT)
COMMON(zone, NULL, TR_KIND_ZONE)
SIMPLE(pod, "zone", TR_KIND_POD)
COMMON(pod, "zone", TR_KIND_POD)
SIMPLE(cluster, "pod", TR_KIND_CLUSTER)
COMMON(cluster, "pod", TR_KIND_CLUSTER)

static const struct tr_field name_arg[] = {
	{"name", TR_T_STRING, 1, "the object's name or path"}, TR_FIELDS_END};
static const struct tr_field list_args[] = {TR_LIST_FIELDS, TR_FIELDS_END};
static const struct tr_field tenant_create_args[] = {
	{"name", TR_T_STRING, 1, "tenant name"}, TR_FIELDS_END};
static const struct tr_field zone_create_args[] = {
	{"name", TR_T_STRING, 1, "zone name (unique)"},
	{"private", TR_T_BOOL, 0, "a private zone (owned by one tenant)"},
	{"owner", TR_T_STRING, 0, "owning tenant (private zones)"},
	{"exclusive", TR_T_BOOL, 0, "only the owner's workloads may run here"},
	{"spill", TR_T_STRING, 0,
	 "allow|deny: may the owner's workloads spill to public zones"},
	TR_FIELDS_END};
static const struct tr_field pod_create_args[] = {
	{"name", TR_T_STRING, 1, "pod name (unique in its zone)"},
	{"zone", TR_T_STRING, 1, "the zone"},
	TR_FIELDS_END};
static const struct tr_field pod_list_args[] = {
	{"zone", TR_T_STRING, 0, "only pods of this zone"}, TR_LIST_FIELDS,
	TR_FIELDS_END};
static const struct tr_field cluster_create_args[] = {
	{"name", TR_T_STRING, 1, "cluster name (unique in its pod)"},
	{"pod", TR_T_STRING, 1, "the pod (POD or ZONE/POD)"},
	TR_FIELDS_END};
static const struct tr_field cluster_list_args[] = {
	{"pod", TR_T_STRING, 0, "only clusters of this pod"}, TR_LIST_FIELDS,
	TR_FIELDS_END};

#define M TR_OP_MUTATES
static const struct tr_api_op ops[] = {
    {.name = "tenant.create",
     .description = "create a tenant",
     .args = tenant_create_args,
     .handler = tenant_create,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "tenant.list",
     .description = "list tenants",
     .args = list_args,
     .handler = tenant_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "tenant.show",
     .description = "show a tenant",
     .args = name_arg,
     .handler = tenant_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "tenant.delete",
     .description = "delete a tenant that owns nothing",
     .args = name_arg,
     .handler = tenant_delete,
     .flags = M,
     .perm = TR_PERM_DC},
    /* Business units: the same objects as tenants (tenant.* stays as
     * the alias it was). */
    {.name = "bu.create",
     .description = "create a business unit",
     .args = tenant_create_args,
     .handler = tenant_create,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "bu.list",
     .description = "list business units (a BU's users: their own)",
     .args = list_args,
     .handler = tenant_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "bu.show",
     .description = "show a business unit",
     .args = name_arg,
     .handler = tenant_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "bu.delete",
     .description = "delete a business unit that owns nothing",
     .args = name_arg,
     .handler = tenant_delete,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "zone.create",
     .description = "create a zone",
     .args = zone_create_args,
     .handler = zone_create,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "zone.list",
     .description = "list zones",
     .args = list_args,
     .handler = zone_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "zone.show",
     .description = "show a zone",
     .args = name_arg,
     .handler = zone_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "zone.delete",
     .description = "delete an empty zone",
     .args = name_arg,
     .handler = zone_delete,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "pod.create",
     .description = "create a pod in a zone",
     .args = pod_create_args,
     .handler = pod_create,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "pod.list",
     .description = "list pods",
     .args = pod_list_args,
     .handler = pod_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "pod.show",
     .description = "show a pod",
     .args = name_arg,
     .handler = pod_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "pod.delete",
     .description = "delete an empty pod",
     .args = name_arg,
     .handler = pod_delete,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "cluster.create",
     .description = "create a cluster in a pod",
     .args = cluster_create_args,
     .handler = cluster_create,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "cluster.list",
     .description = "list clusters",
     .args = cluster_list_args,
     .handler = cluster_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "cluster.show",
     .description = "show a cluster",
     .args = name_arg,
     .handler = cluster_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "cluster.delete",
     .description = "delete an empty cluster",
     .args = name_arg,
     .handler = cluster_delete,
     .flags = M,
     .perm = TR_PERM_DC},
};

void tr_api_register_inventory(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
