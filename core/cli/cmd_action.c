/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_action.c - trellis action list|show: the action registry's names
 * and schemas.  Offline: the registry is linked into the CLI, and it is
 * the same one the daemon validates workflows with.
 */
#include <string.h>

#include "../actions/action.h"
#include "cli.h"

static const struct cli_col action_cols[] = {
	{"NAME", "name"},	  {"MUTATES", "mutates"},
	{"UNDO", "undo"},	  {"DESCRIPTION", "description"},
	CLI_COLS_END};

static const struct cli_col field_cols[] = {
	{"FIELD", "name"},	   {"TYPE", "type"},
	{"REQUIRED", "required"}, {"DESCRIPTION", "description"},
	CLI_COLS_END};

static int action_list(const struct cli *cli, const struct cli_verb *v,
		       int argc, char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "action", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	json_decref(args);
	tr_actions_init();
	json_t *items = json_array();
	for (size_t k = 0; k < tr_action_count(); k++)
		json_array_append_new(items, tr_action_json(tr_action_at(k)));
	json_t *res = json_pack("{s:o}", "items", items);
	cli_print(cli, res, action_cols, "items");
	json_decref(res);
	return CLI_OK;
}

static int action_show(const struct cli *cli, const struct cli_verb *v,
		       int argc, char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "action", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	tr_actions_init();
	const char *name = json_string_value(json_object_get(args, "name"));
	const struct tr_action *a = tr_action_find(name);
	if (!a) {
		fprintf(stderr, "trellis: NOTFOUND: no action called '%s' (see "
				"trellis action list)\n",
			name);
		json_decref(args);
		return CLI_FAILED;
	}
	json_decref(args);
	json_t *j = tr_action_json(a);
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, j, NULL, NULL);
	} else {
		printf("%s: %s\n", a->name, a->description ? a->description : "");
		if (a->undo)
			printf("undo: %s\n", a->undo);
		printf("\ninput:\n");
		cli_print(cli, j, field_cols, "input");
		printf("\noutput:\n");
		cli_print(cli, j, field_cols, "output");
	}
	json_decref(j);
	return CLI_OK;
}

static const struct cli_verb action_verbs[] = {
    {.name = "list",
     .summary = "Every action workflows can call",
     .op = "action.list",
     .cols = action_cols,
     .list_key = "items",
     .run = action_list},
    {.name = "show",
     .summary = "One action's input and output schema",
     .op = "action.show",
     .positional = "name",
     .pos_metavar = "NAME",
     .run = action_show},
    CLI_VERBS_END};

const struct cli_noun cli_noun_action = {
	"action", "Actions: what workflow steps call", action_verbs, NULL};
