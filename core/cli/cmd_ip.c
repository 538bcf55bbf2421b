/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_ip.c - trellis ip list|show: the allocation table (IP, MAC, VM) of
 * networks and of routers' public addresses (core/ipam). */
#include "cli.h"

static const struct cli_opt list_opts[] = {
    {"--network", "network", CLI_STR, "NET", "only this network", 0, NULL},
    {"--zone", "zone", CLI_STR, "ZONE", "only this zone's networks", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt show_opts[] = {
    {"--network", "network", CLI_STR, "NET",
     "its network (needed when two networks hold the address)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"ADDRESS", "address"}, {"NETWORK", "network"}, {"MAC", "mac"},
    {"VM", "vm"},	    {"KIND", "kind"},	    {"OWNER", "owner"},
    {"TENANT", "tenant"},   CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "list",
     .summary = "List allocated addresses (IP, MAC, VM)",
     .op = "ip.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show one allocated address",
     .op = "ip.show",
     .positional = "address",
     .pos_metavar = "ADDRESS",
     .opts = show_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_ip = {
    "ip", "Addresses: what each network and public range has handed out",
    verbs, NULL};
