/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_volume.c - trellis volume list|show|delete, read live from the
 * pool's storage plugin.  A volume is named POOL/NAME, as list names its
 * pool by argument (the path style of ZONE/POD); --pool POOL with a bare
 * NAME still works. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_opt pool_opt[] = {
    {"--pool", "pool", CLI_STR, "POOL",
     "the storage pool (or name the volume POOL/NAME)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	      {"FORMAT", "format"},
    {"CAPACITY", "capacity:bytes"}, {"ALLOCATION", "allocation:bytes"},
    {"BACKING", "backing"},   CLI_COLS_END};

/* show and delete: POOL/NAME, or NAME --pool POOL. */
static int vol_run(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "volume", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	const char *ref = json_string_value(json_object_get(args, "name"));
	const char *slash = strchr(ref, '/');
	if (slash && !json_object_get(args, "pool")) {
		json_object_set_new(args, "pool",
				    json_stringn(ref, (size_t)(slash - ref)));
		json_object_set_new(args, "name", json_string(slash + 1));
	} else if (!json_object_get(args, "pool")) {
		fprintf(stderr, "trellis volume %s: which pool? name the volume "
				"POOL/%s, or give --pool POOL\n",
			v->name, ref);
		json_decref(args);
		return CLI_USAGE;
	}
	rc = cli_call(cli, v->op, args, &res);
	if (rc == CLI_OK)
		cli_print(cli, res, NULL, NULL);
	json_decref(res);
	return rc;
}

static const struct cli_verb verbs[] = {
    {.name = "list",
     .summary = "List the volumes of a pool",
     .op = "volume.list",
     .positional = "pool",
     .pos_metavar = "POOL",
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a volume: POOL/NAME (or NAME --pool POOL)",
     .op = "volume.show",
     .positional = "name",
     .pos_metavar = "POOL/NAME",
     .opts = pool_opt,
     .run = vol_run},
    {.name = "delete",
     .summary = "Delete a volume POOL/NAME (a missing one is fine)",
     .op = "volume.delete",
     .positional = "name",
     .pos_metavar = "POOL/NAME",
     .opts = pool_opt,
     .run = vol_run},
    CLI_VERBS_END};

const struct cli_noun cli_noun_volume = {
    "volume", "Volumes: disk images in storage pools", verbs, NULL};
