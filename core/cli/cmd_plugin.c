/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_plugin.c - trellis plugin list, and trellis api ops|status. */
#include "cli.h"

static const struct cli_col plugin_cols[] = {
	{"NAME", "name"},   {"KIND", "kind"},       {"VERSION", "version"},
	{"STATE", "state"}, {"THREADS", "thread_model"}, {"REASON", "reason"},
	CLI_COLS_END};

static const struct cli_verb plugin_verbs[] = {
	{"list", "List the plugins trellisd loaded or refused", "plugin.list",
	 NULL, NULL, NULL, plugin_cols, "items", NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_plugin = {
	"plugin", "Plugins loaded by the daemon", plugin_verbs};

static const struct cli_col op_cols[] = {{"OP", "name"},
					 {"DESCRIPTION", "description"},
					 CLI_COLS_END};

static const struct cli_verb api_verbs[] = {
	{"ops", "List the API's ops (-o json for their argument schemas)",
	 "api.ops", NULL, NULL, NULL, op_cols, "items", NULL},
	{"status", "The daemon's version, pid, schema and uptime",
	 "daemon.status", NULL, NULL, NULL, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_api = {"api", "The daemon and its API",
				      api_verbs};
