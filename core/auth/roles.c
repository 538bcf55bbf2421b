/* SPDX-License-Identifier: Apache-2.0 */
/*
 * roles.c - the built-in roles, custom roles from YAML, and permission
 * patterns (auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/host.h>

#include "../util/alloc.h"
#include "../util/node.h"
#include "auth.h"

struct tr_roles {
	struct tr_role *v;
	size_t n;
	int is_static;
};

/* What each built-in role may do.  BU roles act inside their BU only: the
 * op tables (api.h, enum tr_perm) keep them off data-center ops whatever
 * their patterns say, and the ops scope what they see. */
static char *dc_admin_perms[] = {"*"};
static char *auditor_perms[] = {
    "*.list",	     "*.show",	       "audit.list",	 "workflow.status",
    "workflow.logs", "workflow.defs",  "workflow.def",	 "api.ops",
    "daemon.status", "policy.claims",  "report.*",	 "quota.show",
    "auth.whoami"};
/* Support opens and closes maintenance windows (the maint.* workflows),
 * retrieves the passwords (support.fetch: no other built-in role names
 * it, and dc-admin's "*" does not count for it, ops_maint.c) and reads
 * what it needs to. */
static char *support_perms[] = {
    "host.list",       "host.show",	"vm.list",	 "vm.show",
    "workflow.status", "workflow.logs", "workflow.list", "workflow.run",
    "workflow:maint.*", "maint.*",	"support.fetch", "auth.whoami"};
static char *bu_admin_perms[] = {
    "vm.*",
    "console.open",
    "console.sessions",
    "volume.list",
    "volume.show",
    "volume.delete",
    "network.list",
    "network.show",
    "network.create",
    "network.delete",
    "workflow.run",
    "workflow.status",
    "workflow.list",
    "workflow.logs",
    "workflow.cancel",
    "workflow.defs",
    "workflow.def",
    "workflow.validate",
    "workflow:vm.*",
    "user.*",
    "bu.list",
    "bu.show",
    "tenant.list",
    "tenant.show",
    "role.list",
    "role.show",
    "audit.list",
    "maint.enable",
    "maint.disable",
    "maint.status",
    "allocation.request",
    "allocation.change",
    "allocation.list",
    "allocation.show",
    "template.list",
    "template.show",
    "quota.show",
    "report.*",
    "auth.whoami",
};
static char *bu_user_perms[] = {
    "vm.*",	       "console.open",	 "console.sessions",	       "volume.list",	 "volume.show",	  "network.list",
    "network.show",    "workflow.run",	 "workflow.status", "workflow.list",
    "workflow.logs",   "workflow.cancel", "workflow.defs",  "workflow.def",
    "workflow:vm.*",   "template.list",	 "template.show",   "bu.show", "bu.list",
    "role.list",       "role.show",	 "quota.show",	    "auth.whoami",
};

#define N(a) (sizeof a / sizeof *a)
static struct tr_role builtin[] = {
    {"dc-admin", TR_SCOPE_GLOBAL, dc_admin_perms, N(dc_admin_perms),
     "the data center's administrators: everything", 1},
    {"bu-admin", TR_SCOPE_BU, bu_admin_perms, N(bu_admin_perms),
     "a business unit's administrators: its users, VMs and requests", 1},
    {"bu-user", TR_SCOPE_BU, bu_user_perms, N(bu_user_perms),
     "a business unit's users: its VMs", 1},
    {"support", TR_SCOPE_GLOBAL, support_perms, N(support_perms),
     "support staff: maintenance retrieval and read access to hosts and "
     "VMs",
     1},
    {"auditor", TR_SCOPE_GLOBAL, auditor_perms, N(auditor_perms),
     "read-only: every list and show, and the audit log", 1},
};
static const struct tr_roles builtin_roles = {builtin, N(builtin), 1};

const struct tr_roles *tr_roles_builtin(void)
{
	return &builtin_roles;
}

size_t tr_roles_count(const struct tr_roles *r)
{
	return r ? r->n : 0;
}

const struct tr_role *tr_roles_at(const struct tr_roles *r, size_t i)
{
	return r && i < r->n ? &r->v[i] : NULL;
}

const struct tr_role *tr_roles_find(const struct tr_roles *r,
				    const char *name)
{
	if (!r)
		r = &builtin_roles;
	for (size_t i = 0; name && i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	return NULL;
}

/* '*' matches any run of characters (dots included): "vm.*", "*.list",
 * "*", "workflow:vm.*". */
int tr_perm_match(const char *p, const char *s)
{
	if (!*p)
		return !*s;
	if (*p == '*') {
		for (;; s++) {
			if (tr_perm_match(p + 1, s))
				return 1;
			if (!*s)
				return 0;
		}
	}
	return *p == *s && tr_perm_match(p + 1, s + 1);
}

int tr_role_grants(const struct tr_role *role, const char *perm)
{
	if (!role)
		return 0;
	/* "*" alone does not reach "workflow:..." patterns of BU roles:
	 * a custom BU role must name the workflows it may start. */
	int wf = strncmp(perm, "workflow:", 9) == 0;
	for (size_t i = 0; i < role->nperms; i++) {
		const char *p = role->perms[i];
		if (wf && strncmp(p, "workflow:", 9) != 0 &&
		    role->scope == TR_SCOPE_BU)
			continue;
		if (tr_perm_match(p, perm))
			return 1;
	}
	return 0;
}

json_t *tr_role_json(const struct tr_role *role)
{
	json_t *perms = json_array();
	for (size_t i = 0; i < role->nperms; i++)
		json_array_append_new(perms, json_string(role->perms[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", role->name,
			 "scope", role->scope == TR_SCOPE_BU ? "bu" : "global",
			 "description",
			 role->description ? role->description : "",
			 "permissions", perms, "builtin", role->builtin);
}

void tr_ident_root(struct tr_ident *id, const char *via)
{
	memset(id, 0, sizeof *id);
	snprintf(id->user, sizeof id->user, "root");
	snprintf(id->role_name, sizeof id->role_name, "dc-admin");
	id->role = &builtin[0];
	id->via = via;
}

int tr_ident_scoped(const struct tr_ident *id)
{
	/* A user whose role vanished (a custom role removed from the file)
	 * keeps nothing but its BU: scoped, and granted nothing. */
	return !id->role || id->role->scope == TR_SCOPE_BU;
}

/* ---- custom roles ---- */

int tr_auth_name_ok(const char *s, int upper)
{
	size_t n = strlen(s);
	if (n == 0 || n > TR_NAME_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (upper && s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* An op-name pattern: letters, digits, '.', '_', '-', '*', and one
 * "workflow:" prefix. */
static int pattern_ok(const char *s)
{
	if (strncmp(s, "workflow:", 9) == 0)
		s += 9;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s == '.' || *s == '_' || *s == '-' || *s == '*' ||
		      (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static void role_clear(struct tr_role *r)
{
	for (size_t i = 0; i < r->nperms; i++)
		free(r->perms[i]);
	free(r->perms);
	free((char *)r->description);
}

void tr_roles_free(struct tr_roles *r)
{
	if (!r || r->is_static)
		return;
	for (size_t i = N(builtin); i < r->n; i++)
		role_clear(&r->v[i]);
	free(r->v);
	free(r);
}

static int load_role(const trellis_node_t *item, struct tr_roles *set,
		     char *err, size_t errlen)
{
	struct tr_role *r = &set->v[set->n];
	memset(r, 0, sizeof *r);
	if (tr_node_type(item) != TRELLIS_NODE_MAP) {
		snprintf(err, errlen, "%s: a role is a map (name, scope, "
			 "description, permissions)", tr_node_where(item));
		return -1;
	}
	const trellis_node_t *perms = NULL, *name = NULL;
	for (size_t i = 0; i < tr_node_len(item); i++) {
		const char *k = tr_node_key_at(item, i);
		const trellis_node_t *v = tr_node_at(item, i);
		const char *where = tr_node_where(tr_node_key_node_at(item, i));
		if (strcmp(k, "name") == 0) {
			name = v;
		} else if (strcmp(k, "scope") == 0) {
			const char *s = tr_node_str(v);
			if (s && strcmp(s, "bu") == 0)
				r->scope = TR_SCOPE_BU;
			else if (!s || strcmp(s, "global") != 0) {
				snprintf(err, errlen,
					 "%s: scope must be global or bu, not "
					 "'%.32s'",
					 tr_node_where(v), s ? s : "");
				return -1;
			}
		} else if (strcmp(k, "description") == 0) {
			const char *s = tr_node_str(v);
			r->description = tr_xstrdup(s ? s : "");
		} else if (strcmp(k, "permissions") == 0) {
			perms = v;
		} else {
			snprintf(err, errlen,
				 "%s: unknown key '%.64s' (name, scope, "
				 "description, permissions)",
				 where, k);
			return -1;
		}
	}
	const char *nm = name ? tr_node_str(name) : NULL;
	if (!nm || !tr_auth_name_ok(nm, 0)) {
		snprintf(err, errlen,
			 "%s: a role needs a name of 1 to 64 characters "
			 "a-z 0-9 . _ -",
			 tr_node_where(name ? name : item));
		goto fail;
	}
	if (tr_roles_find(set, nm)) {
		snprintf(err, errlen, "%s: role '%s' is %s", tr_node_where(name),
			 nm,
			 tr_roles_find(&builtin_roles, nm)
			     ? "built in and cannot be redefined"
			     : "defined twice");
		goto fail;
	}
	snprintf(r->name, sizeof r->name, "%s", nm);
	if (!perms || tr_node_type(perms) != TRELLIS_NODE_SEQ ||
	    tr_node_len(perms) == 0) {
		snprintf(err, errlen,
			 "%s: role '%s' needs permissions: a list of op-name "
			 "patterns (vm.*, allocation.request, "
			 "\"workflow:vm.*\")",
			 tr_node_where(perms ? perms : item), nm);
		goto fail;
	}
	r->perms = tr_xcalloc(tr_node_len(perms), sizeof *r->perms);
	if (!r->perms) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < tr_node_len(perms); i++) {
		const trellis_node_t *p = tr_node_at(perms, i);
		const char *s = tr_node_str(p);
		if (!s || !pattern_ok(s)) {
			snprintf(err, errlen,
				 "%s: '%.64s' is not a permission pattern "
				 "(op names with '*': vm.*, *.list; "
				 "workflow:NAME)",
				 tr_node_where(p), s ? s : "");
			goto fail;
		}
		r->perms[r->nperms++] = tr_xstrdup(s);
	}
	set->n++;
	return 0;
fail:
	role_clear(r);
	memset(r, 0, sizeof *r);
	return -1;
}

struct tr_roles *tr_roles_load(const char *path, char *err, size_t errlen)
{
	trellis_node_t *root = tr_node_parse_file(path, err, errlen);
	if (!root)
		return NULL;
	struct tr_roles *set = tr_xcalloc(1, sizeof *set);
	const trellis_node_t *list = tr_node_get(root, "roles");
	if (!set)
		goto fail;
	if (tr_node_type(root) != TRELLIS_NODE_MAP || !list ||
	    tr_node_type(list) != TRELLIS_NODE_SEQ) {
		snprintf(err, errlen, "%s: expected 'roles:', a list of roles",
			 tr_node_where(list ? list : root));
		goto fail;
	}
	for (size_t i = 0; i < tr_node_len(root); i++)
		if (strcmp(tr_node_key_at(root, i), "roles") != 0) {
			snprintf(err, errlen, "%s: unknown key '%.64s' (roles)",
				 tr_node_where(tr_node_key_node_at(root, i)),
				 tr_node_key_at(root, i));
			goto fail;
		}
	set->v = tr_xcalloc(N(builtin) + tr_node_len(list), sizeof *set->v);
	if (!set->v)
		goto fail;
	memcpy(set->v, builtin, sizeof builtin);
	set->n = N(builtin);
	for (size_t i = 0; i < tr_node_len(list); i++)
		if (load_role(tr_node_at(list, i), set, err, errlen) < 0)
			goto fail;
	tr_node_free(root);
	return set;
fail:
	tr_node_free(root);
	tr_roles_free(set);
	return NULL;
}
