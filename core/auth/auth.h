/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.h - who is calling and what they may do: users, roles and their
 * permissions, the business units (BUs) they belong to, and the audit
 * trail of what they did (issue 17; docs/tenancy.md).
 *
 * A role is a name, a scope and a set of permission patterns over API op
 * names ("vm.*", "allocation.request", "*.list"), plus "workflow:NAME"
 * patterns for the workflows workflow.run may start ("workflow:vm.*").
 * A global role (dc-admin, auditor, support) acts on the whole data
 * center; a BU role (bu-admin, bu-user) acts inside the caller's BU only.
 * The built-in roles are fixed; custom roles come from a YAML file
 * (tr_roles_load), checked with file:line:col.
 *
 * Every API op declares in its table which callers it admits (enum
 * tr_perm, core/api/api.h); tr_auth_allows() is the one check, made once
 * per request before the op runs.
 *
 * Identities are rows of the store (tables tr_user, user_key, migration
 * "bu-0001-identity" in core/store/schema.c): a user has a name, at most
 * one BU (a tenant row), one role, and optionally a Unix uid (ipc://
 * callers) and API keys (tcp:// callers; only their BLAKE2b hash is
 * stored).  The caller with uid 0 and no user row is the built-in
 * "root", a dc-admin.
 *
 * Threads: the role table is read-only once loaded (tr_roles_set() swaps
 * it on the main thread; readers hold a reference).  The store functions
 * take the caller's own handle.
 */
#ifndef TRELLIS_CORE_AUTH_H
#define TRELLIS_CORE_AUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../host/host.h"

struct tr_store;

#define TR_NAME_LEN 64

enum tr_role_scope {
	TR_SCOPE_GLOBAL = 0, /* the whole data center */
	TR_SCOPE_BU = 1,     /* the caller's business unit only */
};

struct tr_role {
	char name[TR_NAME_LEN + 1];
	enum tr_role_scope scope;
	char **perms; /* patterns, owned by the role set */
	size_t nperms;
	const char *description;
	int builtin;
};

/* The roles: built-in ones first, then custom ones. */
struct tr_roles;

/* The built-in roles alone (static; never freed). */
const struct tr_roles *tr_roles_builtin(void);
/* Built-in roles plus the custom roles of the YAML file at path:
 *   roles:
 *     - name: operator
 *       scope: global        # or bu
 *       description: "..."
 *       permissions: [host.*, vm.list, "workflow:vm.*"]
 * NULL with err "FILE:LINE:COL: reason" on any error (unknown key, a
 * name taken by a built-in role, a bad pattern...). */
struct tr_roles *tr_roles_load(const char *path, char *err, size_t errlen);
void tr_roles_free(struct tr_roles *r);
size_t tr_roles_count(const struct tr_roles *r);
const struct tr_role *tr_roles_at(const struct tr_roles *r, size_t i);
const struct tr_role *tr_roles_find(const struct tr_roles *r,
				    const char *name);
json_t *tr_role_json(const struct tr_role *role);

/* Whether s is a user, key or role name: 1 to 64 of a-z 0-9 . _ - (and
 * A-Z with upper). */
int tr_auth_name_ok(const char *s, int upper);

/* Whether pattern ("vm.*", "*", "*.list", "vm.show") matches name. */
int tr_perm_match(const char *pattern, const char *name);
/* Whether role grants perm (an op name, or "workflow:NAME"). */
int tr_role_grants(const struct tr_role *role, const char *perm);

/* The caller of one request. */
struct tr_ident {
	char user[TR_NAME_LEN + 1]; /* "root": the built-in dc-admin */
	char bu[TR_NAME_LEN + 1];   /* "" when none */
	int64_t bu_id;              /* 0 when none */
	char role_name[TR_NAME_LEN + 1];
	const struct tr_role *role; /* NULL: a role no longer defined */
	const char *via;            /* "ipc", "tcp", "local" (static) */
};

/* The built-in root identity (dc-admin), for in-process callers. */
void tr_ident_root(struct tr_ident *id, const char *via);
/* Whether id acts inside one BU only (its role is BU-scoped). */
int tr_ident_scoped(const struct tr_ident *id);

/* ---- users in the store ---- */

/* Fills id from the user with Unix uid (root: the built-in one when no
 * user has uid 0).  0, NOTFOUND (no user has that uid) or IO. */
int tr_auth_by_uid(struct tr_store *s, const struct tr_roles *roles,
		   long uid, struct tr_ident *id, trellis_call_t *call);
/* Fills id from the user owning the API key token (hashed here; the
 * token is never stored or logged).  0, NOTFOUND, PERMISSION (expired;
 * name gets the key's name) or IO. */
int tr_auth_by_key(struct tr_store *s, const struct tr_roles *roles,
		   const char *token, struct tr_ident *id, char *name,
		   size_t namelen, trellis_call_t *call);
/* Fills id from the user named user.  0, NOTFOUND or IO. */
int tr_auth_by_name(struct tr_store *s, const struct tr_roles *roles,
		    const char *user, struct tr_ident *id,
		    trellis_call_t *call);

/* ---- passwords (password.c; the dashboard's login) ---- */

#define TR_PASSWORD_MIN 8
#define TR_PASSWORD_MAX 1024
/* Sets user's password (an argon2id string of crypto_pwhash_str is
 * stored; NULL removes it: API keys only).  0, INVALID_ARG (length),
 * NOTFOUND, NOMEM or IO. */
int tr_user_passwd_set(struct tr_store *s, const char *user,
		       const char *password, trellis_call_t *call);
/* Fills id (via "http") from user when password is theirs.  PERMISSION
 * "wrong user name or password" for an unknown user, a user without a
 * password and a wrong password alike (each costs one argon2id check),
 * IO. */
int tr_auth_by_password(struct tr_store *s, const struct tr_roles *roles,
			const char *user, const char *password,
			struct tr_ident *id, trellis_call_t *call);

/* Every user with a uid: fn(arg, name, uid) (the ipc:// token files). */
int tr_users_each_uid(struct tr_store *s,
		      int (*fn)(void *arg, const char *name, long uid),
		      void *arg, trellis_call_t *call);

/* ---- user records (the user.* ops) ---- */

/* Creates user name with role (a known role's name), BU bu (a tenant's
 * name, or NULL for none; required for BU-scoped roles, refused for
 * global ones) and uid (< 0: none).  *out gets the user's JSON.  0,
 * INVALID_ARG, NOTFOUND (no such BU), CONFLICT (name or uid taken), IO. */
int tr_user_create(struct tr_store *s, const struct tr_roles *roles,
		   const char *name, const char *role, const char *bu,
		   long uid, json_t **out, trellis_call_t *call);
/* The user's JSON {name, uid, bu, role, keys, created_at}; NOTFOUND. */
int tr_user_get(struct tr_store *s, const char *name, json_t **out,
		trellis_call_t *call);
/* Users (of BU bu only, when bu is not NULL): {"items":[...]}. */
int tr_user_list(struct tr_store *s, const char *bu, json_t **out,
		 trellis_call_t *call);
int tr_user_delete(struct tr_store *s, const char *name,
		   trellis_call_t *call);
/* Makes API key kname for user: the token (TR_KEY_TOKEN_LEN + 1 bytes,
 * shown once) goes to token; only its hash is stored.  expires: unix
 * seconds, 0 never. */
#define TR_USER_TOKEN_LEN 68
int tr_user_key_add(struct tr_store *s, const char *user, const char *kname,
		    long long expires, char *token, trellis_call_t *call);
int tr_user_key_list(struct tr_store *s, const char *user, json_t **out,
		     trellis_call_t *call);
int tr_user_key_remove(struct tr_store *s, const char *user,
		       const char *kname, trellis_call_t *call);

/* ---- who started a workflow instance (table wf_owner) ---- */

/* Records that user (of BU bu_id, 0: none) started instance. */
int tr_wf_owner_set(struct tr_store *s, const char *instance,
		    const char *user, int64_t bu_id, trellis_call_t *call);
/* child (a sub-workflow) has the owner of parent, when it has one. */
int tr_wf_owner_inherit(struct tr_store *s, const char *parent,
			const char *child, trellis_call_t *call);
/* The BU that owns instance into bu ("" when none): 1 when the instance
 * has an owner row, 0 when not (started before owners were kept, or by
 * the daemon itself), or an error. */
int tr_wf_owner_bu(struct tr_store *s, const char *instance, char *bu,
		   size_t len, trellis_call_t *call);

/* ---- audit (append-only; the store refuses UPDATE and DELETE) ---- */

struct tr_audit_rec {
	const char *user, *bu, *op, *object; /* may be NULL */
	const char *result; /* "ok", "failed", "denied" */
	const char *code;   /* error name, or NULL */
	const char *via;    /* "ipc", "tcp", "local" */
};

/* Appends one record (time: now). */
int tr_audit_append(struct tr_store *s, const struct tr_audit_rec *r,
		    trellis_call_t *call);

struct tr_audit_query {
	const char *user, *bu, *op; /* NULL: any; op may end in '*' */
	int64_t since;              /* unix seconds; 0: all */
	int64_t after_id;
	unsigned limit;
};
/* {"items":[{id, at, user, bu, op, object, result, code, via}], "next"} */
int tr_audit_list(struct tr_store *s, const struct tr_audit_query *q,
		  json_t **out, trellis_call_t *call);

/* Hex BLAKE2b-256 of an API token (65 bytes with the NUL). */
void tr_auth_hash_token(const char *token, char out[65]);

#endif
