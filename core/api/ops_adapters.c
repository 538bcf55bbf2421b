/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_adapters.c - storage.*: credentials for storage adapters,
 * discovery, host assignments and cloud bridges (issue 21).
 *
 * A credential belongs to the BU of a caller acting in one BU (its
 * records say "owner"), or to the data center; a BU caller sees and uses
 * only its own.  Its secret arrives once, in credential.add (a
 * TR_T_SECRET field: redacted wherever requests are shown), is sealed by
 * core/creds and is never answered.  Everything that reaches a plugin is
 * an action on a worker (core/actions/adapters.c), as a workflow step
 * would run it.
 */
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../creds/creds.h"
#include "../loader/loader.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "api_int.h"

static void run(struct tr_daemon *d, struct tr_req *req, const char *action,
		json_t *args)
{
	tr_action_submit(d, action, json_deep_copy(args), tr_req_answer_action,
			 req);
}

/* The record get gives for name (a credential's or a bridge's), if the
 * caller may see it: a new reference; else answers req (another BU's is
 * NOTFOUND, as a missing one) and gives NULL. */
static json_t *mine(struct tr_req *req, const char *what, const char *name,
		    int (*get)(const char *, json_t **, trellis_call_t *))
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *rec = NULL;
	if (get(name, &rec, &call) < 0) {
		tr_req_fail_call(req, &call);
		return NULL;
	}
	const char *scope = tr_req_scope(req);
	const char *owner = json_string_value(json_object_get(rec, "owner"));
	if (scope && (!owner || strcmp(owner, scope))) {
		json_decref(rec);
		tr_req_not_yours(req, "%s '%s' not found", what, name);
		return NULL;
	}
	return rec;
}

static json_t *cred_mine(struct tr_req *req, const char *name)
{
	return mine(req, "credential", name, tr_creds_get);
}

static json_t *bridge_mine(struct tr_req *req, const char *name)
{
	return mine(req, "bridge", name, tr_bridge_get);
}

static void credential_add(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *module = json_string_value(json_object_get(args, "module"));
	const char *ep = json_string_value(json_object_get(args, "endpoint"));
	if (!tr_registry_find(d->registry, module, TRELLIS_KIND_STORAGE)) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "credential '%s': no storage adapter '%s' is "
			    "loaded (trellis plugin list)",
			    name, module);
		return;
	}
	if (!ep || (strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7) &&
		    strncmp(ep, "file://", 7))) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "credential '%s': endpoint '%s' is not a URL",
			    name, ep ? ep : "");
		return;
	}
	json_t *meta = json_pack(
	    "{s:s, s:s, s:s}", "module", module, "endpoint", ep, "username",
	    json_string_value(json_object_get(args, "username")));
	json_t *opts = json_object_get(args, "options");
	json_object_set_new(meta, "options",
			    json_is_object(opts) ? json_deep_copy(opts)
						 : json_object());
	const char *scope = tr_req_scope(req);
	const char *owner = json_string_value(json_object_get(args, "owner"));
	if (scope)
		owner = scope; /* a BU caller's credential is its BU's */
	if (owner && *owner)
		json_object_set_new(meta, "owner", json_string(owner));
	json_t *out = NULL;
	int rc = tr_creds_add(
	    name, meta, json_string_value(json_object_get(args, "secret")),
	    &out, &call);
	json_decref(meta);
	if (rc < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_daemon_publish(d, "storage.credential.added", out);
	tr_info("storage credential '%s' added (adapter %s, endpoint %s)", name,
		module, ep);
	tr_req_ok(req, out);
}

static void credential_list(struct tr_daemon *d, struct tr_req *req,
			    json_t *args)
{
	(void)d;
	(void)args;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_creds_list(tr_req_scope(req), &out, &call) < 0)
		tr_req_fail_call(req, &call);
	else
		tr_req_ok(req, out);
}

static void credential_show(struct tr_daemon *d, struct tr_req *req,
			    json_t *args)
{
	(void)d;
	json_t *rec =
	    cred_mine(req, json_string_value(json_object_get(args, "name")));
	if (rec)
		tr_req_ok(req, rec);
}

static void credential_delete(struct tr_daemon *d, struct tr_req *req,
			      json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *rec = cred_mine(req, name);
	if (!rec)
		return;
	json_decref(rec);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char key[200];
	snprintf(key, sizeof key, "credential/%s", name);
	tr_conn_forget(d, TR_CONN_POOL, key);
	if (tr_creds_delete(name, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	json_t *out = json_pack("{s:s}", "name", name);
	tr_daemon_publish(d, "storage.credential.deleted", out);
	tr_req_ok(req, out);
}

/* Discovery through a credential (the caller's) or a pool (the data
 * center's). */
static void discover(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *cred = json_string_value(json_object_get(args, "credential"));
	const char *pool = json_string_value(json_object_get(args, "pool"));
	if (!cred == !pool) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "storage.discover: give a credential or a pool");
		return;
	}
	if (cred) {
		json_t *rec = cred_mine(req, cred);
		if (!rec)
			return;
		json_decref(rec);
	} else if (tr_req_scope(req)) {
		tr_req_not_yours(req, "pool '%s' not found", pool);
		return;
	}
	run(d, req, "storage.discover", args);
}

static void bridge_create(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	json_t *a = json_deep_copy(args);
	const char *scope = tr_req_scope(req);
	if (scope)
		json_object_set_new(a, "owner", json_string(scope));
	tr_action_submit(d, "storage.bridge_establish", a, tr_req_answer_action,
			 req);
}

static void bridge_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	(void)args;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_bridge_list(tr_req_scope(req), &out, &call) < 0)
		tr_req_fail_call(req, &call);
	else
		tr_req_ok(req, out);
}

static void bridge_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	json_t *rec =
	    bridge_mine(req, json_string_value(json_object_get(args, "name")));
	if (rec)
		tr_req_ok(req, rec);
}

static void bridge_delete(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *rec = bridge_mine(req, name);
	if (!rec)
		return;
	json_decref(rec);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_bridge_delete(name, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	json_t *out = json_pack("{s:s}", "name", name);
	tr_daemon_publish(d, "storage.bridge.deleted", out);
	tr_req_ok(req, out);
}

static void assign(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	run(d, req, "storage.assign", args);
}

static void unassign(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	run(d, req, "storage.unassign", args);
}

static void reassign(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	run(d, req, "storage.reassign", args);
}

/* ---- discovery at start ---- */

static void discovered(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	char *name = arg;
	if (!result) {
		tr_warn("storage: discovery through credential '%s' failed: %s",
			name, call->message);
	} else {
		size_t assigned = 0, i;
		json_t *v, *a;
		json_array_foreach(json_object_get(result, "volumes"), i, v)
		{
			size_t k;
			json_array_foreach(json_object_get(result, "assignments"),
					   k, a) if (json_equal(json_object_get(v, "id"),
								json_object_get(a, "volume")))
			{
				assigned++;
				break;
			}
		}
		tr_info("storage: credential '%s' (%s): %zu systems, %zu "
			"pools, %zu volumes (%zu assigned to hosts), %zu "
			"ports, %zu assignments",
			name, json_string_value(json_object_get(result, "source")),
			json_array_size(json_object_get(result, "systems")),
			json_array_size(json_object_get(result, "pools")),
			json_array_size(json_object_get(result, "volumes")),
			assigned,
			json_array_size(json_object_get(result, "ports")),
			json_array_size(json_object_get(result, "assignments")));
		json_t *ev = json_deep_copy(result);
		json_object_set_new(ev, "credential", json_string(name));
		tr_daemon_publish(d, "storage.discovered", ev);
		json_decref(ev);
	}
	free(name);
}

void tr_adapters_discover_start(struct tr_daemon *d)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *all = NULL;
	if (tr_creds_list(NULL, &all, &call) < 0)
		return;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(all, "items"), i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		if (name)
			tr_action_submit(d, "storage.discover",
					 json_pack("{s:s, s:b}", "credential",
						   name, "fresh", 1),
					 discovered, tr_xstrdup(name));
	}
	json_decref(all);
}

static const struct tr_field cred_add_args[] = {
    {"name", TR_T_STRING, 1, "the credential's name"},
    {"module", TR_T_STRING, 1, "the storage adapter (a loaded plugin)"},
    {"endpoint", TR_T_STRING, 1, "the URL it reaches"},
    {"username", TR_T_STRING, 1, "the user it logs in as"},
    {"secret", TR_T_SECRET, 1, "the password or key (sealed, never shown)"},
    {"options", TR_T_OBJECT, 0,
     "options for the adapter (translation, ca_file ...)"},
    {"owner", TR_T_STRING, 0, "the BU that owns it (a BU caller: its own)"},
    TR_FIELDS_END};
static const struct tr_field name_args[] = {
    {"name", TR_T_STRING, 1, "name"}, TR_FIELDS_END};
static const struct tr_field none_args[] = {TR_FIELDS_END};
static const struct tr_field discover_args[] = {
    {"credential", TR_T_STRING, 0, "a credential (or give pool)"},
    {"pool", TR_T_STRING, 0, "a pool"},
    {"target", TR_T_STRING, 0, "with credential: SYSTEM or SYSTEM/POOL"},
    {"types", TR_T_ARRAY, 0, "systems pools volumes ports assignments"},
    {"fresh", TR_T_BOOL, 0, "bypass the adapter's cache"},
    TR_FIELDS_END};
static const struct tr_field bridge_args[] = {
    {"a", TR_T_STRING, 1, "the first pool"},
    {"b", TR_T_STRING, 1, "the second pool (its access port is used)"},
    {"name", TR_T_STRING, 0, "the bridge's name (default A--B)"},
    {"port", TR_T_STRING, 0, "B's access port (default: the first)"},
    TR_FIELDS_END};
static const struct tr_field assign_args[] = {
    {"pool", TR_T_STRING, 1, "the volume's pool"},
    {"volume", TR_T_ANY, 1, "one volume"},
    {"host", TR_T_STRING, 1, "the host"},
    {"initiators", TR_T_ANY, 0,
     "the host's initiator ports (a list, or \"a,b\")"},
    TR_FIELDS_END};
static const struct tr_field reassign_args[] = {
    {"pool", TR_T_STRING, 1, "the volume's pool"},
    {"volume", TR_T_ANY, 1, "one volume"},
    {"from", TR_T_STRING, 1, "the host it leaves"},
    {"to", TR_T_STRING, 1, "the host it goes to"},
    {"initiators", TR_T_ANY, 1,
     "the new host's initiator ports (a list, or \"a,b\")"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "storage.credential.add",
     .description = "Add a credential for a storage adapter (the secret is sealed)",
     .args = cred_add_args,
     .handler = credential_add,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "storage.credential.list",
     .description = "List credentials (never their secrets)",
     .args = none_args,
     .handler = credential_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "storage.credential.show",
     .description = "A credential (never its secret)",
     .args = name_args,
     .handler = credential_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "storage.credential.delete",
     .description = "Delete a credential",
     .args = name_args,
     .handler = credential_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "storage.discover",
     .description = "Systems, pools, volumes, access ports and assignments an adapter "
                    "sees",
     .args = discover_args,
     .handler = discover,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "storage.bridge.create",
     .description = "Establish a cloud bridge between two storage resources",
     .args = bridge_args,
     .handler = bridge_create,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "storage.bridge.list",
     .description = "List bridges",
     .args = none_args,
     .handler = bridge_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "storage.bridge.show",
     .description = "A bridge",
     .args = name_args,
     .handler = bridge_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "storage.bridge.delete",
     .description = "Forget a bridge",
     .args = name_args,
     .handler = bridge_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "storage.assign",
     .description = "Assign one volume to initiators of one host",
     .args = assign_args,
     .handler = assign,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "storage.unassign",
     .description = "Remove a host's initiators from a volume",
     .args = assign_args,
     .handler = unassign,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "storage.reassign",
     .description = "Move a volume's assignment to another host (migration)",
     .args = reassign_args,
     .handler = reassign,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_adapters(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
