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
	{"create", "Create a pod in a zone", "pod.create", "name", "NAME",
	 create_opts, NULL, NULL, NULL},
	{"list", "List pods", "pod.list", NULL, NULL, list_opts, cols, "items",
	 NULL},
	{"show", "Show a pod (POD, or ZONE/POD when ambiguous)", "pod.show",
	 "name", "POD", NULL, NULL, NULL, NULL},
	{"delete", "Delete a pod (refused while it has clusters)",
	 "pod.delete", "name", "POD", NULL, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_pod = {"pod", "Pods: groups of clusters in a zone",
				      verbs, NULL};
