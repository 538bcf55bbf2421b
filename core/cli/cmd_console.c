/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_console.c - browser consoles (docs/console.md): `trellis vm console
 * VM` mints a single-use token and prints the console URL; `trellis
 * console sessions|proxies|scan|drain` are the operator's view of the
 * sessions and of the trellis-console instances.
 */
#include <string.h>

#include "cli.h"

/* vm console: the URL on stdout (a secret: it carries the token), when
 * it expires on stderr; --url prints the URL alone. */
int cli_vm_console(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args, *res = NULL;
	int rc = cli_parse_args(v, "vm", argc, argv, &args);
	if (rc)
		return rc;
	int url_only = json_is_true(json_object_get(args, "url"));
	json_object_del(args, "url");
	rc = cli_call(cli, v->op, args, &res);
	if (rc)
		return rc;
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, res, NULL, NULL);
	} else {
		printf("%s\n", json_string_value(json_object_get(res, "url")));
		if (!url_only)
			fprintf(stderr,
				"trellis: a single-use console for VM '%s' "
				"(%s, proxy %s); open it before %lld\n",
				json_string_value(json_object_get(res, "vm")),
				json_string_value(json_object_get(res, "mode")),
				json_string_value(json_object_get(res, "proxy")),
				(long long)json_integer_value(
				    json_object_get(res, "expires_at")));
	}
	json_decref(res);
	return CLI_OK;
}

static const char *const states[] = {"open", "closed", "handed-over", NULL};

static const struct cli_opt sessions_opts[] = {
	{"--proxy", "proxy", CLI_STR, "NAME", "only this instance's", 0, NULL},
	{"--state", "state", CLI_STR, "STATE", "only sessions in this state", 0,
	 states},
	{"--limit", "limit", CLI_INT, "N", "at most N rows (default 100)", 0,
	 NULL},
	CLI_OPTS_END};
static const struct cli_opt scan_opts[] = {
	{"--scanner", "scanner", CLI_STR, "NAME",
	 "the scanner's name for the lease (default HOST:PID of trellisd)", 0,
	 NULL},
	CLI_OPTS_END};
static const struct cli_col session_cols[] = {
	{"ID", "id"},         {"VM", "vm"},          {"USER", "user"},
	{"PROXY", "proxy"},   {"MODE", "mode"},      {"STATE", "state"},
	{"STARTED", "started_at"}, {"ENDED", "ended_at"}, {"BY", "closed_by"},
	{"REASON", "reason"}, CLI_COLS_END};
static const struct cli_col proxy_cols[] = {
	{"NAME", "name"},         {"URL", "url"},
	{"STATE", "state"},       {"SESSIONS", "sessions"},
	{"CAPACITY", "capacity"}, {"RSS_KIB", "rss_kib"},
	{"REPORTED", "reported_at"}, {"LAUNCHER", "launcher"}, CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "sessions",
     .summary = "Console sessions, newest first",
     .op = "console.sessions",
     .opts = sessions_opts,
     .cols = session_cols,
     .list_key = "items"},
    {.name = "proxies",
     .summary = "The trellis-console instances and their load reports",
     .op = "consoleproxy.list",
     .cols = proxy_cols,
     .list_key = "items"},
    {.name = "scan",
     .summary =
	 "Keep the standby reserve: start or drain instances (one scanner "
	 "at a time)",
     .op = "consoleproxy.scan",
     .opts = scan_opts},
    {.name = "drain",
     .summary = "Drain an instance: its sessions move to others, then the scan "
		"retires it",
     .op = "consoleproxy.drain",
     .positional = "name",
     .pos_metavar = "NAME"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_console = {
	"console", "Browser consoles: sessions and proxy instances", verbs,
	NULL};
