/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_auth.c - user.*, role.*, audit.list and auth.whoami: the identities
 * of core/auth/auth.h over the API (docs/tenancy.md).
 *
 * A bu-admin manages the users of its own BU only, and only with BU
 * roles; another BU's user is NOTFOUND as a missing one is.  API keys are
 * shown once, when made; only their hashes are stored.
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "../auth/auth.h"
#include "../util/json.h"
#include "../util/log.h"
#include "api_int.h"

static const struct tr_roles *roles(struct tr_daemon *d)
{
	return tr_api_roles(d->api);
}

/* New tokens for ipc:// callers after users change (local.c). */
static void tokens_refresh(struct tr_daemon *d)
{
	char err[512];
	if (d->api && tr_api_local_tokens(d->api, err, sizeof err) < 0)
		tr_warn("api: local tokens not rewritten: %s", err);
}

/* For a BU caller: 0 when user is in its BU; else answers NOTFOUND. */
static int user_mine(struct tr_daemon *d, struct tr_req *req,
		     const char *user)
{
	const char *bu = tr_req_scope(req);
	if (!bu)
		return 0;
	json_t *u = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int mine = tr_user_get(tr_api_store(d), user, &u, &call) == 0 &&
		   json_is_string(json_object_get(u, "bu")) &&
		   strcmp(tr_json_str(u, "bu"), bu) == 0;
	json_decref(u);
	if (mine)
		return 0;
	tr_req_not_yours(req, "user '%s' not found", user);
	return -1;
}

static void user_create(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *bu = tr_json_str(args, "bu"), *scope = tr_req_scope(req);
	const char *role = tr_json_str(args, "role");
	if (scope) {
		if (bu && strcmp(bu, scope) != 0) {
			tr_req_not_yours(req, "tenant '%s' not found", bu);
			return;
		}
		bu = scope;
		const struct tr_role *r = tr_roles_find(roles(d), role);
		if (r && r->scope != TR_SCOPE_BU) {
			tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
				    "user.create: a business unit's admin "
				    "gives BU roles only, not %s",
				    role);
			return;
		}
	}
	json_t *uid = json_object_get(args, "uid");
	if (uid && (json_integer_value(uid) < 0 ||
		    json_integer_value(uid) > 0x7fffffff)) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "user.create: uid must be 0 to 2147483647");
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_user_create(d->store, roles(d), tr_json_str(args, "name"), role, bu,
			   uid ? (long)json_integer_value(uid) : -1, &out,
			   &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_info("user '%s' created: role %s%s%s", tr_json_str(args, "name"), role,
		bu ? ", BU " : "", bu ? bu : "");
	if (uid)
		tokens_refresh(d);
	tr_daemon_publish(d, "user.created", out);
	tr_req_ok(req, out);
}

static void user_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *bu = tr_json_str(args, "bu"), *scope = tr_req_scope(req);
	if (scope)
		bu = scope;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_user_list(tr_api_store(d), bu, &out, &call) < 0)
		tr_req_fail_store(req, &call, NULL);
	else
		tr_req_ok(req, out);
}

static void user_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (user_mine(d, req, tr_json_str(args, "name")) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_user_get(tr_api_store(d), tr_json_str(args, "name"), &out, &call) < 0)
		tr_req_fail_store(req, &call, NULL);
	else
		tr_req_ok(req, out);
}

static void user_delete(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = tr_json_str(args, "name");
	if (user_mine(d, req, name) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_user_get(d->store, name, &out, &call) < 0 ||
	    tr_user_delete(d->store, name, &call) < 0) {
		json_decref(out);
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_info("user '%s' deleted", name);
	tokens_refresh(d);
	tr_daemon_publish(d, "user.deleted", out);
	tr_req_ok(req, out);
}

static void key_add(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *user = tr_json_str(args, "user"), *name = tr_json_str(args, "name");
	if (user_mine(d, req, user) < 0)
		return;
	json_t *ttl = json_object_get(args, "expires");
	long long expires =
	    ttl ? (long long)time(NULL) + json_integer_value(ttl) / 1000 : 0;
	char token[TR_USER_TOKEN_LEN + 1];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_user_key_add(d->store, user, name, expires, token, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_info("user '%s': API key '%s' added", user, name);
	/* The token goes to this caller once, never to events or logs. */
	json_t *out = json_pack("{s:s, s:s, s:s, s:o}", "user", user, "name",
				name, "token", token, "expires",
				expires ? json_integer(expires) : json_null());
	sodium_memzero(token, sizeof token);
	tr_req_ok(req, out);
}

static void key_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	if (user_mine(d, req, tr_json_str(args, "user")) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_user_key_list(tr_api_store(d), tr_json_str(args, "user"), &out, &call) <
	    0)
		tr_req_fail_store(req, &call, NULL);
	else
		tr_req_ok(req, out);
}

static void key_remove(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *user = tr_json_str(args, "user"), *name = tr_json_str(args, "name");
	if (user_mine(d, req, user) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_user_key_remove(d->store, user, name, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	tr_info("user '%s': API key '%s' removed", user, name);
	tr_req_ok(req, json_pack("{s:s, s:s}", "user", user, "name", name));
}

static void role_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	json_t *items = json_array();
	const struct tr_roles *r = roles(d);
	for (size_t i = 0; i < tr_roles_count(r); i++)
		json_array_append_new(items, tr_role_json(tr_roles_at(r, i)));
	tr_req_ok(req, json_pack("{s:o}", "items", items));
}

static void role_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const struct tr_role *r = tr_roles_find(roles(d), tr_json_str(args, "name"));
	if (!r)
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "role '%s' not found (trellis role list)",
			    tr_json_str(args, "name"));
	else
		tr_req_ok(req, tr_role_json(r));
}

static void audit_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_audit_query q = {0};
	q.user = tr_json_str(args, "user");
	q.bu = tr_req_scope(req) ? tr_req_scope(req) : tr_json_str(args, "bu");
	q.op = tr_json_str(args, "op");
	json_t *since = json_object_get(args, "since");
	if (since)
		q.since = (int64_t)time(NULL) - json_integer_value(since) / 1000;
	json_t *v;
	if ((v = json_object_get(args, "limit")))
		q.limit = (unsigned)json_integer_value(v);
	if ((v = json_object_get(args, "after")))
		q.after_id = json_integer_value(v);
	if (q.limit > 1000 || q.after_id < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "audit.list: limit must be 1 to 1000 and after "
			    ">= 0");
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	if (tr_audit_list(tr_api_store(d), &q, &out, &call) < 0)
		tr_req_fail_store(req, &call, NULL);
	else
		tr_req_ok(req, out);
}

static void whoami(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)d;
	(void)args;
	const struct tr_ident *w = tr_req_who(req);
	json_t *o = json_pack("{s:s, s:s, s:s}", "user", w->user, "role",
			      w->role_name, "via", w->via ? w->via : "?");
	json_object_set_new(o, "bu", w->bu[0] ? json_string(w->bu) : json_null());
	json_object_set_new(o, "scope",
			    json_string(tr_ident_scoped(w) ? "bu" : "global"));
	tr_req_ok(req, o);
}

static const struct tr_field user_create_args[] = {
    {"name", TR_T_STRING, 1, "user name"},
    {"role", TR_T_STRING, 1, "role (trellis role list)"},
    {"bu", TR_T_STRING, 0, "business unit (BU roles need one)"},
    {"uid", TR_T_INT, 0, "Unix uid that is this user on ipc://"},
    TR_FIELDS_END};
static const struct tr_field user_list_args[] = {
    {"bu", TR_T_STRING, 0, "only this business unit's users"},
    TR_FIELDS_END};
static const struct tr_field name_args[] = {
    {"name", TR_T_STRING, 1, "name"}, TR_FIELDS_END};
static const struct tr_field key_add_args[] = {
    {"user", TR_T_STRING, 1, "the key's user"},
    {"name", TR_T_STRING, 1, "key name (unique for the user)"},
    {"expires", TR_T_DURATION, 0, "lifetime (default: never expires)"},
    TR_FIELDS_END};
static const struct tr_field key_user_args[] = {
    {"user", TR_T_STRING, 1, "the user"}, TR_FIELDS_END};
static const struct tr_field key_args[] = {
    {"user", TR_T_STRING, 1, "the key's user"},
    {"name", TR_T_STRING, 1, "key name"},
    TR_FIELDS_END};
static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field audit_args[] = {
    {"user", TR_T_STRING, 0, "only this user's records"},
    {"bu", TR_T_STRING, 0, "only this business unit's records"},
    {"op", TR_T_STRING, 0, "only this op (a trailing * : a prefix)"},
    {"since", TR_T_DURATION, 0, "only records younger than this (1h, 2d)"},
    TR_LIST_FIELDS,
    TR_FIELDS_END};

#define M TR_OP_MUTATES
#define R TR_OP_READ
static const struct tr_api_op ops[] = {
    {.name = "user.create",
     .description = "create a user (a role, a BU, a Unix uid)",
     .args = user_create_args,
     .handler = user_create,
     .flags = M,
     .perm = TR_PERM_BU},
    {.name = "user.list",
     .description = "list users",
     .args = user_list_args,
     .handler = user_list,
     .flags = R,
     .perm = TR_PERM_BU},
    {.name = "user.show",
     .description = "show a user and the names of its API keys",
     .args = name_args,
     .handler = user_show,
     .flags = R,
     .perm = TR_PERM_BU},
    {.name = "user.delete",
     .description = "delete a user and its API keys",
     .args = name_args,
     .handler = user_delete,
     .flags = M,
     .perm = TR_PERM_BU},
    {.name = "user.key_add",
     .description = "make an API key for a user (the token is shown once)",
     .args = key_add_args,
     .handler = key_add,
     .flags = M,
     .perm = TR_PERM_BU},
    {.name = "user.key_list",
     .description = "the names and expiry of a user's API keys",
     .args = key_user_args,
     .handler = key_list,
     .flags = R,
     .perm = TR_PERM_BU},
    {.name = "user.key_remove",
     .description = "revoke a user's API key",
     .args = key_args,
     .handler = key_remove,
     .flags = M,
     .perm = TR_PERM_BU},
    {.name = "role.list",
     .description = "the roles and their permissions",
     .args = no_args,
     .handler = role_list,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "role.show",
     .description = "one role",
     .args = name_args,
     .handler = role_show,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "audit.list",
     .description = "the audit trail, oldest first (a BU's admin: its BU's)",
     .args = audit_args,
     .handler = audit_list,
     .flags = R,
     .perm = TR_PERM_BU},
    {.name = "auth.whoami",
     .description = "who the API takes the caller for",
     .args = no_args,
     .handler = whoami,
     .flags = 0,
     .perm = TR_PERM_ANYONE},
};

void tr_api_register_auth(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
