/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_cluster.c - trellis cluster create|list|show|delete. */
#include "cli.h"

static const struct cli_opt create_opts[] = {
	{"--pod", "pod", CLI_STR, "POD", "the pod (POD or ZONE/POD)", 1, NULL},
	CLI_OPTS_END};
static const struct cli_opt list_opts[] = {
	{"--pod", "pod", CLI_STR, "POD", "only clusters of this pod", 0, NULL},
	CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {{"NAME", "name"}, {"POD", "pod"},
				      CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a cluster in a pod",
     .op = "cluster.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List clusters",
     .op = "cluster.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a cluster (CLUSTER, POD/CLUSTER or ZONE/POD/CLUSTER)",
     .op = "cluster.show",
     .positional = "name",
     .pos_metavar = "CLUSTER"},
    {.name = "delete",
     .summary = "Delete a cluster (refused while it has hosts or pools)",
     .op = "cluster.delete",
     .positional = "name",
     .pos_metavar = "CLUSTER"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_cluster = {
	"cluster", "Clusters: groups of hosts in a pod", verbs, NULL};
