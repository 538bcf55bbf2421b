/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_volume.c - trellis volume list|show|delete, read live from the
 * pool's storage plugin. */
#include "cli.h"

static const struct cli_opt pool_opt[] = {
    {"--pool", "pool", CLI_STR, "POOL", "the storage pool", 1, NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	      {"FORMAT", "format"},
    {"CAPACITY", "capacity"}, {"ALLOCATION", "allocation"},
    {"BACKING", "backing"},   CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {"list", "List the volumes of a pool", "volume.list", "pool", "POOL", NULL,
     cols, "items", NULL},
    {"show", "Show a volume", "volume.show", "name", "NAME", pool_opt, NULL,
     NULL, NULL},
    {"delete", "Delete a volume (a missing one is fine)", "volume.delete",
     "name", "NAME", pool_opt, NULL, NULL, NULL},
    {"transfer",
     "Move a volume to another pool over their bridge, chunked and "
     "verified (workflow volume.transfer; progress as it goes)",
     "workflow.run", "volume", "VOLUME", cli_volume_transfer_opts, NULL,
     NULL, cli_volume_transfer},
    CLI_VERBS_END};

const struct cli_noun cli_noun_volume = {
    "volume", "Volumes: disk images in storage pools", verbs};
