/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_pool.c - trellis pool create|list|show|delete: storage pools. */
#include "cli.h"

static const struct cli_opt create_opts[] = {
    {"--target", "target", CLI_STR, "DIR",
     "the pool's directory (localfs; made if missing) or URI", 1, NULL},
    {"--plugin", "plugin", CLI_STR, "NAME", "storage plugin (default localfs)",
     0, NULL},
    {"--cluster", "cluster", CLI_STR, "CLUSTER", "the cluster the pool serves",
     0, NULL},
    {"--via-agent", "via_agent", CLI_STR, "AGENT",
     "the pool is at this agent's site: its plugins open it (needs "
     "--cluster of the agent's zone)",
     0, NULL},
    CLI_OPTIONS_OPTS("pool", "pool_open"),
    CLI_OPTS_END};
static const struct cli_opt delete_opts[] = {
    {"--force", "force", CLI_FLAG, NULL,
     "forget it even when its plugin cannot open it (never while it lists "
     "volumes)",
     0, NULL},
    CLI_OPTS_END};
static const struct cli_opt list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"}, {"PLUGIN", "plugin"}, {"TARGET", "target"}, CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a storage pool (its plugin must open it)",
     .op = "pool.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List storage pools",
     .op = "pool.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a pool with its options and capacity",
     .op = "pool.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary =
	 "Close a pool and forget it (refused while it has volumes; its data "
	 "stays)",
     .op = "pool.delete",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = delete_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_pool = {
    "pool", "Storage pools: where volumes live (localfs: a directory)", verbs, NULL};
