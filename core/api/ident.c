/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ident.c - who is calling, whether they may, and the audit trail of the
 * API (api.h, core/auth/auth.h).
 *
 * Identity: in-process callers are root (or the user given to
 * tr_api_handle_bytes_as).  On tcp:// the envelope's "auth" is an API
 * key: one of the keys file's (the operator's: root) or a user's
 * (user_key in the store).  On ipc:// it is the caller's local token
 * (local.c): nanomsg hides the accepted descriptor, so SO_PEERCRED cannot
 * be asked; instead the daemon writes one random token per uid into a
 * file only that uid can read, and the CLI sends it.  Possessing it
 * proves the uid as well as the kernel's file permissions do.  An ipc://
 * request without a token is the daemon's owner's only when the socket
 * admits nobody else (mode 0600).
 *
 * Audit: a mutating op, an audited read (a console) and every refusal
 * leave one record with the outcome.  Records are queued and written by
 * the main thread (the only writer), several in one transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "api_core.h"

struct tr_audit_pending {
	struct tr_audit_pending *next;
	char user[TR_NAME_LEN + 1], bu[TR_NAME_LEN + 1];
	char op[80], object[128], code[32];
	const char *result, *via;
};

const struct tr_ident *tr_req_who(const struct tr_req *req)
{
	return &req->who;
}

const char *tr_req_scope(const struct tr_req *req)
{
	return tr_ident_scoped(&req->who) ? req->who.bu : NULL;
}

void tr_req_not_yours(struct tr_req *req, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	req->audit = 1;
	req->denied = 1;
	tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL, "%s", msg);
}

void tr_api_set_roles(struct tr_api *api, struct tr_roles *roles)
{
	pthread_rwlock_wrlock(&api->keys_lock);
	struct tr_roles *old = api->roles;
	api->roles = roles;
	pthread_rwlock_unlock(&api->keys_lock);
	/* Requests in flight hold role pointers into old: the main thread
	 * changes roles only between requests it runs, but reads on
	 * receive threads may still hold them, so old roles live on. */
	(void)old;
}

const struct tr_roles *tr_api_roles(const struct tr_api *api)
{
	return api->roles ? api->roles : tr_roles_builtin();
}

/* The store the identity lookups read: the receive thread's own
 * connection, or the main one when on the main thread. */
static struct tr_store *lookup_store(struct tr_api *api)
{
	if (tr_api_tls_store)
		return tr_api_tls_store;
	return tr_api_tls_thread ? NULL : api->d->store;
}

static int local_uid(struct tr_api *api, const char *token, long *uid)
{
	char hash[65];
	tr_auth_hash_token(token, hash);
	int found = 0;
	pthread_rwlock_rdlock(&api->keys_lock);
	for (size_t i = 0; i < api->ntokens; i++)
		if (strcmp(api->tokens[i].hash, hash) == 0) {
			*uid = api->tokens[i].uid;
			found = 1;
			break;
		}
	pthread_rwlock_unlock(&api->keys_lock);
	return found;
}

static int identify(struct tr_api *api, struct tr_req *req,
		    const char *tok);

int tr_api_login(struct tr_api *api, const char *user, const char *password,
		 const char *token, struct tr_ident *id, char *err,
		 size_t errlen)
{
	struct tr_store *s = lookup_store(api);
	const struct tr_roles *roles = tr_api_roles(api);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char name[72];
	int rc;
	if (!user && token && tr_api_key_check(api, token, name, sizeof name) > 0) {
		tr_ident_root(id, "http");
		return 0;
	}
	if (!s) {
		snprintf(err, errlen, "the user store cannot be read");
		return TRELLIS_E_UNAVAILABLE;
	}
	int snap = tr_api_tls_store && tr_store_read_begin(tr_api_tls_store) == 0;
	if (user)
		rc = tr_auth_by_password(s, roles, user, password ? password : "",
					 id, &call);
	else
		rc = tr_auth_by_key(s, roles, token ? token : "", id, name,
				    sizeof name, &call);
	if (snap)
		tr_store_read_end(tr_api_tls_store, 1);
	if (rc == 0) {
		id->via = "http";
		return 0;
	}
	atomic_fetch_add(&api->refused, 1);
	if (rc == TRELLIS_E_NOTFOUND || rc == TRELLIS_E_PERMISSION) {
		snprintf(err, errlen, "%s",
			 user ? "wrong user name or password"
			 : rc == TRELLIS_E_PERMISSION ? call.message
						      : "unknown API key");
		return TRELLIS_E_PERMISSION;
	}
	snprintf(err, errlen, "%s", call.message);
	return rc;
}

int tr_api_identify(struct tr_api *api, struct tr_req *req, const char *tok)
{
	/* A receive thread may hold a snapshot from its last read: begin
	 * takes it up only if nothing was committed since, so a key or user
	 * removed a moment ago is seen as removed.  Callers that need no
	 * lookup (in-process, the operator's keys, the socket owner) skip
	 * it. */
	int needs = tok && (req->l || req->auth);
	int snap = needs && tr_api_tls_store &&
		   tr_store_read_begin(tr_api_tls_store) == 0;
	int rc = identify(api, req, tok);
	if (snap)
		tr_store_read_end(tr_api_tls_store, 1);
	return rc;
}

static int identify(struct tr_api *api, struct tr_req *req, const char *tok)
{
	struct tr_store *s = lookup_store(api);
	const struct tr_roles *roles = tr_api_roles(api);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (!req->l && !req->auth) {
		if (!req->as_user || strcmp(req->as_user, "root") == 0) {
			tr_ident_root(&req->who, "local");
			return 0;
		}
		if (!s || tr_auth_by_name(s, roles, req->as_user, &req->who,
					  &call) < 0) {
			tr_req_fail(req, TRELLIS_E_PERMISSION, NULL, "%s",
				    s ? call.message : "no store");
			return -1;
		}
		return 0;
	}
	if (req->auth && req->as_user) {
		/* A dashboard session: the door checked the password; the
		 * user is looked up again, so a deleted user is refused. */
		if (!s || tr_auth_by_name(s, roles, req->as_user, &req->who,
					  &call) < 0) {
			tr_api_refused(api, req, 0, 1);
			return -1;
		}
		req->who.via = "http";
		snprintf(req->key, sizeof req->key, "%.40s (password)",
			 req->as_user);
		return 0;
	}
	if (req->auth) {
		/* tcp:// and the HTTP door: an API key. */
		int st = tr_api_key_check(api, tok, req->key, sizeof req->key);
		if (st > 0) {
			tr_ident_root(&req->who, "tcp");
			return 0;
		}
		if (st < 0 || !tok || !s) {
			tr_api_refused(api, req, st, tok != NULL);
			return -1;
		}
		int rc = tr_auth_by_key(s, roles, tok, &req->who, req->key,
					sizeof req->key, &call);
		if (rc == 0)
			return 0;
		if (rc == TRELLIS_E_PERMISSION)
			tr_api_refused(api, req, -1, 1);
		else if (rc == TRELLIS_E_NOTFOUND)
			tr_api_refused(api, req, 0, 1);
		else
			tr_req_fail_call(req, &call);
		return -1;
	}
	/* ipc:// */
	long uid = -1;
	if (!tok) {
		if (api->ipc_private) {
			tr_ident_root(&req->who, "ipc");
			return 0;
		}
		char dir[512];
		tr_api_token_dir(req->l->url, dir, sizeof dir);
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "%s: a request needs the caller's local token "
			    "(envelope field 'auth'; the CLI reads %s/UID, "
			    "which trellisd writes for every user with a uid)",
			    req->l->url, dir);
		return -1;
	}
	if (!local_uid(api, tok, &uid)) {
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "%s: unknown local token (trellisd writes new "
			    "ones at each start and when users change)",
			    req->l->url);
		return -1;
	}
	if (!s) {
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "%s: the user store cannot be read", req->l->url);
		return -1;
	}
	int rc = tr_auth_by_uid(s, roles, uid, &req->who, &call);
	if (rc == TRELLIS_E_NOTFOUND && uid == (long)geteuid()) {
		/* The daemon's own uid (a trellisd that is not root). */
		tr_ident_root(&req->who, "ipc");
		return 0;
	}
	if (rc < 0) {
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL, "%s: %s",
			    req->l->url, call.message);
		return -1;
	}
	return 0;
}

/* What an op acts on, for the audit: a name, never an argument's value
 * that could be a secret (inputs are not read). */
static void object_of(const char *opname, json_t *args, char *buf,
		      size_t len)
{
	static const char *const keys[] = {"name", "id", "user", "workflow",
					   "vm", "host", "pool"};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *v = json_string_value(json_object_get(args, keys[i]));
		if (v) {
			snprintf(buf, len, "%s", v);
			break;
		}
	}
	if (strcmp(opname, "workflow.run") == 0) {
		const char *n = json_string_value(json_object_get(
		    json_object_get(args, "inputs"), "name"));
		if (n && buf[0]) {
			size_t l = strlen(buf);
			snprintf(buf + l, len - l, " %s", n);
		}
	}
}

int tr_api_authorize(struct tr_api *api, struct tr_req *req,
		     const struct tr_api_op *op, json_t *args)
{
	(void)api;
	const struct tr_ident *w = &req->who;
	char why[256] = "";
	snprintf(req->audit_op, sizeof req->audit_op, "%s", op->name);
	object_of(op->name, args, req->object, sizeof req->object);
	if (op->perm == TR_PERM_ANYONE)
		goto ok;
	if (!w->role)
		snprintf(why, sizeof why, "role '%s' is not defined", w->role_name);
	else if (op->perm == TR_PERM_DC && w->role->scope == TR_SCOPE_BU)
		snprintf(why, sizeof why,
			 "%s is a data-center op and role %s acts inside a "
			 "business unit",
			 op->name, w->role->name);
	else if (op->perm != TR_PERM_DC && op->perm != TR_PERM_BU)
		snprintf(why, sizeof why, "%s declares no permission", op->name);
	else if (!tr_role_grants(w->role, op->name))
		snprintf(why, sizeof why, "role %s does not grant %s",
			 w->role->name, op->name);
	else if (strcmp(op->name, "workflow.run") == 0) {
		const char *wf =
		    json_string_value(json_object_get(args, "workflow"));
		char perm[160];
		if (!wf && (w->role->scope == TR_SCOPE_BU ||
			    !tr_role_grants(w->role, "workflow.source")))
			snprintf(why, sizeof why,
				 "running a workflow from source needs a "
				 "global role that grants workflow.source");
		else if (wf && (snprintf(perm, sizeof perm, "workflow:%s", wf),
				!tr_role_grants(w->role, perm)))
			snprintf(why, sizeof why,
				 "role %s does not grant workflow '%s'",
				 w->role->name, wf);
	}
	if (why[0]) {
		req->audit = 1;
		req->denied = 1;
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "user '%s'%s%s may not call %s: %s", w->user,
			    w->bu[0] ? " of BU " : "", w->bu, op->name, why);
		return -1;
	}
ok:
	if (op->flags & (TR_OP_MUTATES | TR_OP_AUDIT))
		req->audit = 1;
	return 0;
}

/* ---- the audit queue ---- */

static void audit_flush(struct tr_api *api)
{
	pthread_mutex_lock(&api->audit_lock);
	struct tr_audit_pending *q = api->audit_q;
	api->audit_q = NULL;
	api->audit_scheduled = 0;
	pthread_mutex_unlock(&api->audit_lock);
	if (!q)
		return;
	/* Oldest first: the queue is pushed at its head. */
	struct tr_audit_pending *rev = NULL;
	while (q) {
		struct tr_audit_pending *n = q->next;
		q->next = rev;
		rev = q;
		q = n;
	}
	struct tr_store *s = api->d ? api->d->store : NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int began = s && tr_store_begin(s, &call) == 0;
	for (struct tr_audit_pending *p = rev; p;) {
		struct tr_audit_rec r = {p->user,   p->bu,   p->op,
					 p->object, p->result, p->code,
					 p->via};
		if (s && tr_audit_append(s, &r, &call) < 0)
			tr_err("audit: %s by %s not recorded: %s", p->op,
			       p->user, call.message);
		struct tr_audit_pending *n = p->next;
		free(p);
		p = n;
	}
	if (began && tr_store_commit(s, &call) < 0)
		tr_err("audit: %s", call.message);
}

static void audit_flush_main(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (d->api)
		audit_flush(d->api);
}

void tr_api_audit_answer(struct tr_req *req, int code)
{
	if (!req->audit || !req->audit_op[0])
		return;
	struct tr_api *api = req->api;
	struct tr_audit_pending *p = tr_xcalloc(1, sizeof *p);
	if (!p) {
		tr_err("audit: out of memory: %s by %s not recorded",
		       req->audit_op, req->who.user);
		return;
	}
	snprintf(p->user, sizeof p->user, "%s", req->who.user);
	snprintf(p->bu, sizeof p->bu, "%s", req->who.bu);
	snprintf(p->op, sizeof p->op, "%s", req->audit_op);
	snprintf(p->object, sizeof p->object, "%s", req->object);
	if (code)
		snprintf(p->code, sizeof p->code, "%s",
			 trellis_error_name(code));
	p->result = req->denied ? "denied" : code ? "failed" : "ok";
	p->via = req->who.via ? req->who.via : "?";
	pthread_mutex_lock(&api->audit_lock);
	p->next = api->audit_q;
	api->audit_q = p;
	int schedule = !api->audit_scheduled;
	api->audit_scheduled = 1;
	pthread_mutex_unlock(&api->audit_lock);
	if (!schedule)
		return;
	if (api->d && api->d->loop && !api->closing &&
	    tr_daemon_call_main(api->d, audit_flush_main, NULL) == 0)
		return;
	if (!tr_api_tls_thread) {
		audit_flush(api);
		return;
	}
	pthread_mutex_lock(&api->audit_lock);
	api->audit_scheduled = 0; /* the next main-thread answer flushes */
	pthread_mutex_unlock(&api->audit_lock);
}

void tr_api_audit_free(struct tr_api *api)
{
	audit_flush(api);
}
