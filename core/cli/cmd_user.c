/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_user.c - trellis user create|list|show|delete|key|passwd|whoami, trellis
 * role list|show, trellis bu create|list|show|delete and trellis audit
 * list: the identities of docs/tenancy.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "cli.h"

#define TR_CLI_PASSWORD_MAX 1026 /* 1024 bytes, the newline, the NUL */

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

static const struct cli_opt passwd_opts[] = {
    {"--stdin", "stdin", CLI_FLAG, NULL,
     "read the password from the first line of stdin (no prompt)", 0,
     NULL},
    {"--remove", "remove", CLI_FLAG, NULL,
     "remove the password (API keys only)", 0, NULL},
    CLI_OPTS_END};

/* One line of fd 0 into buf, without its newline; with echo off when it
 * is a terminal.  0, or -1. */
static int read_secret(const char *prompt, int tty, char *buf, size_t len)
{
	struct termios old, quiet;
	int echo_off = tty && tcgetattr(0, &old) == 0;
	if (echo_off) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	int ok = fgets(buf, (int)len, stdin) != NULL;
	if (echo_off) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* `trellis user passwd NAME`: the password is asked twice on a terminal,
 * or read from stdin with --stdin; it never goes on the command line. */
static int run_passwd(const struct cli *cli, const struct cli_verb *v,
		      int argc, char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "user", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	int from_stdin = json_is_true(json_object_get(args, "stdin"));
	int remove = json_is_true(json_object_get(args, "remove"));
	json_object_del(args, "stdin");
	json_object_del(args, "remove");
	char pw[TR_CLI_PASSWORD_MAX], again[TR_CLI_PASSWORD_MAX];
	pw[0] = again[0] = '\0';
	if (!remove) {
		int tty = !from_stdin && isatty(0);
		if (!from_stdin && !tty) {
			fprintf(stderr, "trellis: user passwd: stdin is not a "
					"terminal (use --stdin)\n");
			json_decref(args);
			return CLI_USAGE;
		}
		if (read_secret("Password: ", tty, pw, sizeof pw) < 0 ||
		    (tty && read_secret("Again: ", tty, again, sizeof again) < 0)) {
			fprintf(stderr, "trellis: user passwd: no password read\n");
			json_decref(args);
			return CLI_FAILED;
		}
		if (tty && strcmp(pw, again) != 0) {
			fprintf(stderr, "trellis: user passwd: the passwords "
					"differ\n");
			json_decref(args);
			return CLI_FAILED;
		}
		if (!pw[0]) {
			fprintf(stderr, "trellis: user passwd: empty password "
					"(--remove removes it)\n");
			json_decref(args);
			return CLI_FAILED;
		}
	}
	json_object_set_new(args, "password", json_string(pw));
	memset(pw, 0, sizeof pw);
	memset(again, 0, sizeof again);
	json_t *res = NULL;
	rc = cli_call(cli, v->op, args, &res);
	if (rc == CLI_OK)
		cli_print(cli, res, NULL, NULL);
	json_decref(res);
	return rc;
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
    {.name = "passwd",
     .summary = "Set a user's dashboard password (asked, or --stdin)",
     .op = "user.passwd",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = passwd_opts,
     .run = run_passwd},
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
