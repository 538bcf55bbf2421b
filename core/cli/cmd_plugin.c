/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_plugin.c - trellis plugin list, and trellis api ops|status. */
#include <stdio.h>

#include "cli.h"

static const struct cli_col plugin_cols[] = {
	{"NAME", "name"},   {"KIND", "kind"},       {"VERSION", "version"},
	{"STATE", "state"}, {"THREADS", "thread_model"}, {"REASON", "reason"},
	CLI_COLS_END};

/* The keys of a schema as a table, or why there is none. */
static void print_schema(const char *title, json_t *keys, const char *none)
{
	printf("\n%s:\n", title);
	if (!json_is_array(keys)) {
		printf("  (%s)\n", none);
		return;
	}
	if (!json_array_size(keys))
		printf("  (none)\n");
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		json_t *def = json_object_get(k, "default");
		printf("  %-20s %-8s %-10s %s%s\n",
		       json_string_value(json_object_get(k, "name")),
		       json_string_value(json_object_get(k, "type")),
		       json_is_true(json_object_get(k, "required"))
			       ? "required"
			       : json_is_string(def) ? json_string_value(def)
						     : "-",
		       json_string_value(json_object_get(k, "doc")),
		       json_is_true(json_object_get(k, "secret"))
			       ? " (secret)"
			       : "");
	}
}

static int run_show(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	json_t *args = NULL, *r = NULL;
	int rc = cli_parse_args(v, "plugin", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	rc = cli_call(cli, v->op, args, &r);
	if (rc != CLI_OK)
		return rc;
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, r, NULL, NULL);
		json_decref(r);
		return CLI_OK;
	}
	static const char *const top[] = {"name", "kind", "version", "abi",
					  "state", "reason", "license",
					  "thread_model", "caps", "path",
					  "description", NULL};
	for (const char *const *k = top; *k; k++) {
		json_t *x = json_object_get(r, *k);
		if (json_is_string(x) && *json_string_value(x))
			printf("%-13s %s\n", *k, json_string_value(x));
	}
	if (json_object_get(r, "config_schema")) {
		print_schema("Config keys (plugins: {NAME: {KEY: VALUE}} in the "
			     "daemon config; KEY TYPE DEFAULT DOC)",
			     json_object_get(r, "config_schema"),
			     "no schema: the plugin checks its own config");
		print_schema("Options of each object (--option KEY=VALUE)",
			     json_object_get(r, "options_schema"),
			     "no schema: the plugin checks its own options");
		printf("\nConfig given:\n");
		cli_print_yaml(stdout, json_object_get(r, "config"));
	}
	json_decref(r);
	return CLI_OK;
}

static const struct cli_verb plugin_verbs[] = {
    {.name = "list",
     .summary = "List the plugins trellisd loaded or refused",
     .op = "plugin.list",
     .cols = plugin_cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a plugin: what it is, its config keys and object options "
		"(types, defaults, docs) and the config it was given",
     .op = "plugin.show",
     .positional = "name",
     .pos_metavar = "NAME",
     .run = run_show},
    CLI_VERBS_END};

const struct cli_noun cli_noun_plugin = {
	"plugin", "Plugins loaded by the daemon", plugin_verbs, NULL};

static const struct cli_col op_cols[] = {{"OP", "name"},
					 {"DESCRIPTION", "description"},
					 CLI_COLS_END};

static const struct cli_verb api_verbs[] = {
    {.name = "ops",
     .summary = "List the API's ops (-o json for their argument schemas)",
     .op = "api.ops",
     .cols = op_cols,
     .list_key = "items"},
    {.name = "status",
     .summary = "The daemon's version, pid, schema and uptime",
     .op = "daemon.status"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_api = {"api", "The daemon and its API",
				      api_verbs, NULL};
