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
	{"create", "Create a cluster in a pod", "cluster.create", "name",
	 "NAME", create_opts, NULL, NULL, NULL},
	{"list", "List clusters", "cluster.list", NULL, NULL, list_opts, cols,
	 "items", NULL},
	{"show", "Show a cluster (CLUSTER, POD/CLUSTER or ZONE/POD/CLUSTER)",
	 "cluster.show", "name", "CLUSTER", NULL, NULL, NULL, NULL},
	{"delete", "Delete a cluster (refused while it has hosts or pools)",
	 "cluster.delete", "name", "CLUSTER", NULL, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_cluster = {
	"cluster", "Clusters: groups of hosts in a pod", verbs, NULL};
