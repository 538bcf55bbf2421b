/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_maint.c - maintenance mode of appliances (core/maint; docs/
 * maintenance.md): maint.enable, maint.disable and maint.status on a VM
 * the caller may see (a BU's admins: their BU's VMs), and support.fetch,
 * the support engineer's one retrieval of a password from the vendor's
 * escrow.
 *
 * The access code is in exactly one message: maint.enable's answer to
 * the customer who asked.  support.fetch takes it as an argument, which
 * no log or audit record reads (the audit names ops and objects only);
 * its answer is the password, to the engineer alone: sealed to the
 * one-time key of the engineer's client (reply_key; trellis support fetch
 * sends one), so that it is not in clear in trellisd either.
 *
 * support.fetch is for the support role: a role must grant it by a
 * pattern of its own ("support.fetch", "support.*"), not by the "*" of
 * the data centre's administrators, because the customer's side never
 * sees the password.
 */
#include <string.h>

#include "../auth/auth.h"
#include "../maint/maint.h"
#include "../util/json.h"
#include "api_core.h"

static void answer(struct tr_daemon *d, void *arg, json_t *result,
		   trellis_call_t *call)
{
	(void)d;
	if (result)
		tr_req_ok(arg, result);
	else
		tr_req_fail_call(arg, call);
}

/* The VM of args.name when the caller may see it (else answered). */
static json_t *vm_of(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *vm = NULL;
	if (tr_api_get_scoped(d, req, TR_KIND_VM, tr_json_str(args, "name"),
			      &vm) < 0)
		return NULL;
	return vm;
}

static long long ms_or(json_t *args, const char *k, long long def)
{
	json_t *v = json_object_get(args, k);
	return v ? (long long)json_integer_value(v) : def;
}

static void maint_enable(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	json_t *vm = vm_of(d, req, args);
	if (!vm)
		return;
	json_t *ports = json_object_get(json_object_get(vm, "spec"), "ports");
	json_t *p0 = json_array_get(ports, 0);
	long long window = ms_or(args, "window", 30 * 60 * 1000LL);
	struct tr_maint_spec s = {
	    .uuid = tr_json_str(vm, "uuid"),
	    .name = tr_json_str(vm, "name"),
	    .host = tr_json_str(vm, "host"),
	    .bu = tr_json_str_opt(vm, "tenant"),
	    .port_name = tr_json_str_opt(p0, "name"),
	    .user = tr_json_str_opt(args, "user"),
	    .mode = tr_json_str_opt(args, "close_on"),
	    .source = tr_json_str_opt(args, "source"),
	    .auth_log = tr_json_str_opt(args, "auth_log"),
	    .port = (int)ms_or(args, "port", 22),
	    .window_ms = window,
	    .password_ttl_ms = ms_or(args, "password_ttl", window),
	};
	tr_maint_enable(d, &s, tr_req_who(req), answer, req);
	json_decref(vm);
}

static void maint_disable(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	json_t *vm = vm_of(d, req, args);
	if (!vm)
		return;
	tr_maint_disable(d, tr_json_str(vm, "uuid"), tr_req_who(req), answer,
			 req);
	json_decref(vm);
}

static void maint_status(struct tr_daemon *d, struct tr_req *req,
			 json_t *args)
{
	json_t *vm = vm_of(d, req, args), *out = NULL;
	if (!vm)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_maint_status(d, tr_json_str(vm, "uuid"), &out, &call) < 0)
		tr_req_fail_call(req, &call);
	else
		tr_req_ok(req, out);
	json_decref(vm);
}

/* Whether role grants perm by a pattern other than "*". */
static int granted_explicitly(const struct tr_role *role, const char *perm)
{
	for (size_t i = 0; role && i < role->nperms; i++)
		if (strcmp(role->perms[i], "*") != 0 &&
		    tr_perm_match(role->perms[i], perm))
			return 1;
	return 0;
}

static void support_fetch(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	const struct tr_ident *who = tr_req_who(req);
	if (!granted_explicitly(who->role, "support.fetch")) {
		req->audit = 1;
		req->denied = 1;
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "user '%s' may not call support.fetch: only the "
			    "support role retrieves maintenance passwords "
			    "(role %s does not name support.fetch)",
			    who->user, who->role_name);
		return;
	}
	tr_maint_fetch(d, tr_json_str(args, "code"),
		       tr_json_str_opt(args, "reply_key"),
		       json_object_get(args, "proof"), who, answer, req);
}

static const struct tr_field enable_args[] = {
    {"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
    {"port", TR_T_INT, 0, "the remote-access port (default 22)"},
    {"window", TR_T_DURATION, 0, "how long the port stays open (default "
				 "30m)"},
    {"password_ttl", TR_T_DURATION, 0, "how long the password is valid "
				       "(default: the window)"},
    {"close_on", TR_T_STRING, 0, "time, first-attempt, connect or auth "
				 "(default auth)"},
    {"user", TR_T_STRING, 0, "the guest account (default root)"},
    {"source", TR_T_STRING, 0, "who may connect (CIDR, default any)"},
    {"auth_log", TR_T_STRING, 0, "the guest's sshd log (default "
				 "/var/log/auth.log)"},
    TR_FIELDS_END};
static const struct tr_field vm_args[] = {
    {"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
    TR_FIELDS_END};
static const struct tr_field fetch_args[] = {
    {"code", TR_T_STRING, 1, "the access code the customer passed on"},
    {"reply_key", TR_T_STRING, 0,
     "a one-time X25519 public key (base64): the password comes back "
     "sealed to it (the CLI does this; needed)"},
    {"proof", TR_T_OBJECT, 0,
     "the engineer's signature of the code's hash and reply_key with "
     "their key enrolled at the escrow: {engineer_key, nonce, signed_at, "
     "signature} (the CLI makes it; without it the escrow refuses)"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "maint.enable",
     .description =
	 "open a locked appliance for support: an access code (never the "
	 "password) for a window",
     .args = enable_args,
     .handler = maint_enable,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "maint.disable",
     .description = "lock an appliance again now",
     .args = vm_args,
     .handler = maint_disable,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_BU},
    {.name = "maint.status",
     .description = "the maintenance window of a VM",
     .args = vm_args,
     .handler = maint_status,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "support.fetch",
     .description =
	 "retrieve a maintenance password with its access code (once; support "
	 "role only)",
     .args = fetch_args,
     .handler = support_fetch,
     .flags = TR_OP_AUDIT,
     .perm = TR_PERM_DC},
};

void tr_api_register_maint(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
