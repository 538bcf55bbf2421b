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
    {.name = "add",
     .summary = "Make an API key for a user (the token is printed once)",
     .op = "user.key_add",
     .positional = "user",
     .pos_metavar = "USER",
     .opts = key_add_opts},
    {.name = "list",
     .summary = "List a user's API keys (names, never tokens)",
     .op = "user.key_list",
     .positional = "user",
     .pos_metavar = "USER",
     .cols = key_cols,
     .list_key = "items"},
    {.name = "remove",
     .summary = "Revoke a user's API key",
     .op = "user.key_remove",
     .positional = "user",
     .pos_metavar = "USER",
     .opts = key_remove_opts},
    CLI_VERBS_END};

static const struct cli_noun key_noun = {
    "user key", "API keys of a user, for tcp:// (USER KEY: the key's name)",
    key_verbs, NULL};

static int run_key(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	(void)v;
	return cli_run_sub(cli, &key_noun, "--name", argc, argv);
}

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a user with a role (and a BU for BU roles)",
     .op = "user.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List users",
     .op = "user.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a user and its API keys' names",
     .op = "user.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Delete a user and its API keys",
     .op = "user.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "key",
     .summary = "API keys: key add USER KEY | key list USER | key remove USER "
		"KEY",
     .op = "user.key_add",
     .run = run_key},
    {.name = "whoami",
     .summary = "Who trellisd takes this caller for",
     .op = "auth.whoami"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_user = {
    "user", "Users: a role, at most one business unit, a Unix uid, API keys",
    verbs, NULL};

static const struct cli_col role_cols[] = {
    {"NAME", "name"}, {"SCOPE", "scope"}, {"DESCRIPTION", "description"},
    CLI_COLS_END};
static const struct cli_verb role_verbs[] = {
    {.name = "list",
     .summary = "List roles (built-in and custom)",
     .op = "role.list",
     .cols = role_cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a role and its permissions",
     .op = "role.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_role = {
    "role", "Roles: sets of permissions over API ops (auth.roles adds some)",
    role_verbs, NULL};

static const struct cli_opt bu_list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col bu_cols[] = {{"NAME", "name"}, {"ID", "id"},
					 CLI_COLS_END};
static const struct cli_verb bu_verbs[] = {
    {.name = "create",
     .summary = "Register a business unit",
     .op = "bu.create",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "list",
     .summary = "List business units",
     .op = "bu.list",
     .opts = bu_list_opts,
     .cols = bu_cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a business unit",
     .op = "bu.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Delete a business unit (refused while it owns anything)",
     .op = "bu.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
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
    {.name = "list",
     .summary = "The audit trail, oldest first",
     .op = "audit.list",
     .opts = audit_opts,
     .cols = audit_cols,
     .list_key = "items"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_audit = {
    "audit", "The audit trail: who did what, when, and how it ended",
    audit_verbs, NULL};

/* The old name, kept as an alias: the same verbs and ops. */
const struct cli_noun cli_noun_tenant = {
    "tenant", "Business units (the old name; trellis bu is the same)",
    bu_verbs, NULL};
