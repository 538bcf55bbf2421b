/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_pod.c - trellis pod create|list|show|delete. */
#include "cli.h"

static const struct cli_opt create_opts[] = {
	{"--zone", "zone", CLI_STR, "ZONE", "the zone it belongs to", 1, NULL},
	CLI_OPTS_END};
static const struct cli_opt list_opts[] = {
	{"--zone", "zone", CLI_STR, "ZONE", "only pods of this zone", 0, NULL},
	CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {{"NAME", "name"}, {"ZONE", "zone"},
				      CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a pod in a zone",
     .op = "pod.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List pods",
     .op = "pod.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a pod (POD, or ZONE/POD when ambiguous)",
     .op = "pod.show",
     .positional = "name",
     .pos_metavar = "POD"},
    {.name = "delete",
     .summary = "Delete a pod (refused while it has clusters)",
     .op = "pod.delete",
     .positional = "name",
     .pos_metavar = "POD"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_pod = {"pod", "Pods: groups of clusters in a zone",
				      verbs, NULL};
