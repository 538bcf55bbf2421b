/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_user.c - trellis user create|list|show|delete|key|whoami, trellis
 * role list|show, trellis bu create|list|show|delete and trellis audit
 * list: the identities of docs/tenancy.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "cli.h"

static const struct cli_opt create_opts[] = {
    {"--role", "role", CLI_STR, "ROLE",
     "dc-admin, bu-admin, bu-user, support, auditor or a custom role", 1,
     NULL},
    {"--bu", "bu", CLI_STR, "BU", "business unit (BU roles need one)", 0,
     NULL},
    {"--uid", "uid", CLI_INT, "UID",
     "Unix uid that is this user on the local socket", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt list_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "only this business unit's users", 0,
     NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {{"NAME", "name"}, {"ROLE", "role"},
				      {"BU", "bu"},	{"UID", "uid"},
				      CLI_COLS_END};
static const struct cli_col key_cols[] = {
    {"NAME", "name"}, {"EXPIRES", "expires"}, {"CREATED", "created_at"},
    CLI_COLS_END};
static const struct cli_opt key_add_opts[] = {
    {"--name", "name", CLI_STR, "KEY", "key name", 1, NULL},
    {"--expires", "expires", CLI_STR, "AGE",
     "lifetime (30d, 12h; default never)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt key_remove_opts[] = {
    {"--name", "name", CLI_STR, "KEY", "key name", 1, NULL}, CLI_OPTS_END};

/* `trellis user key add USER KEY [--expires AGE]`, `key list USER`,
 * `key remove USER KEY`: sub-verbs, each one declared verb. */
static const struct cli_verb key_verbs[] = {
    {"add", "Make an API key for a user (the token is printed once)",
     "user.key_add", "user", "USER", key_add_opts, NULL, NULL, NULL},
    {"list", "List a user's API keys (names, never tokens)", "user.key_list",
     "user", "USER", NULL, key_cols, "items", NULL},
    {"remove", "Revoke a user's API key", "user.key_remove", "user", "USER",
     key_remove_opts, NULL, NULL, NULL},
    CLI_VERBS_END};

static const struct cli_noun key_noun = {
    "user key", "API keys of a user, for tcp:// (USER KEY: the key's name)",
    key_verbs, NULL};

static int run_key(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	(void)v;
	if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		cli_noun_help(argc < 1 ? stderr : stdout, &key_noun);
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	const struct cli_verb *kv = NULL;
	for (const struct cli_verb *k = key_verbs; k->name; k++)
		if (strcmp(k->name, argv[0]) == 0)
			kv = k;
	if (!kv) {
		fprintf(stderr,
			"trellis: user key: unknown verb '%s' (add, list, "
			"remove)\n",
			argv[0]);
		return CLI_USAGE;
	}
	/* USER KEY ... becomes USER --name KEY ... for add and remove. */
	char **a = tr_xcalloc((size_t)argc + 2, sizeof *a);
	if (!a)
		return CLI_FAILED;
	int n = 0;
	for (int i = 1; i < argc; i++) {
		a[n++] = argv[i];
		if (i == 1 && kv->opts && argc > 2 && argv[2][0] != '-') {
			a[n++] = "--name";
			a[n++] = argv[++i];
		}
	}
	int rc = cli_run_verb(cli, kv, n, a);
	free(a);
	return rc;
}

static const struct cli_verb verbs[] = {
    {"create", "Create a user with a role (and a BU for BU roles)",
     "user.create", "name", "NAME", create_opts, NULL, NULL, NULL},
    {"list", "List users", "user.list", NULL, NULL, list_opts, cols, "items",
     NULL},
    {"show", "Show a user and its API keys' names", "user.show", "name",
     "NAME", NULL, NULL, NULL, NULL},
    {"delete", "Delete a user and its API keys", "user.delete", "name",
     "NAME", NULL, NULL, NULL, NULL},
    {"key", "API keys: key add USER KEY | key list USER | key remove USER "
	    "KEY",
     "user.key_add", NULL, NULL, NULL, NULL, NULL, run_key},
    {"whoami", "Who trellisd takes this caller for", "auth.whoami", NULL,
     NULL, NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_user = {
    "user", "Users: a role, at most one business unit, a Unix uid, API keys",
    verbs, NULL};

static const struct cli_col role_cols[] = {
    {"NAME", "name"}, {"SCOPE", "scope"}, {"DESCRIPTION", "description"},
    CLI_COLS_END};
static const struct cli_verb role_verbs[] = {
    {"list", "List roles (built-in and custom)", "role.list", NULL, NULL,
     NULL, role_cols, "items", NULL},
    {"show", "Show a role and its permissions", "role.show", "name", "NAME",
     NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_role = {
    "role", "Roles: sets of permissions over API ops (auth.roles adds some)",
    role_verbs, NULL};

static const struct cli_opt bu_list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col bu_cols[] = {{"NAME", "name"}, {"ID", "id"},
					 CLI_COLS_END};
static const struct cli_verb bu_verbs[] = {
    {"create", "Register a business unit", "bu.create", "name", "NAME", NULL,
     NULL, NULL, NULL},
    {"list", "List business units", "bu.list", NULL, NULL, bu_list_opts,
     bu_cols, "items", NULL},
    {"show", "Show a business unit", "bu.show", "name", "NAME", NULL, NULL,
     NULL, NULL},
    {"delete", "Delete a business unit (refused while it owns anything)",
     "bu.delete", "name", "NAME", NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_bu = {
    "bu",
    "Business units: the organisations that own VMs, networks and "
    "allocations (alias: tenant)",
    bu_verbs, NULL};

static const struct cli_opt audit_opts[] = {
    {"--user", "user", CLI_STR, "USER", "only this user's records", 0, NULL},
    {"--bu", "bu", CLI_STR, "BU", "only this business unit's records", 0,
     NULL},
    {"--op", "op", CLI_STR, "OP", "only this op (vm.*: a prefix)", 0, NULL},
    {"--since", "since", CLI_STR, "AGE",
     "only records younger than AGE (30m, 2h, 7d)", 0, NULL},
    CLI_PAGING_OPTS,
    CLI_OPTS_END};
static const struct cli_col audit_cols[] = {
    {"ID", "id"},	  {"AT", "at"},	    {"USER", "user"},
    {"BU", "bu"},	  {"OP", "op"},	    {"OBJECT", "object"},
    {"RESULT", "result"}, {"CODE", "code"}, CLI_COLS_END};
static const struct cli_verb audit_verbs[] = {
    {"list", "The audit trail, oldest first", "audit.list", NULL, NULL,
     audit_opts, audit_cols, "items", NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_audit = {
    "audit", "The audit trail: who did what, when, and how it ended",
    audit_verbs, NULL};

/* The old name, kept as an alias: the same verbs and ops. */
const struct cli_noun cli_noun_tenant = {
    "tenant", "Business units (the old name; trellis bu is the same)",
    bu_verbs, NULL};
