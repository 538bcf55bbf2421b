/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_allocation.c - trellis allocation request|change|list|show|approve|
 * reject: a business unit's share of the data center (docs/tenancy.md). */
#include "cli.h"

static const struct cli_opt req_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "business unit (a BU admin: its own)", 0,
     NULL},
    {"--vcpus", "vcpus", CLI_INT, "N", "virtual CPUs", 0, NULL},
    {"--memory", "memory", CLI_SIZE, "SIZE", "memory (64G)", 0, NULL},
    {"--storage", "storage", CLI_SIZE, "SIZE", "storage in --pool (500G)", 0,
     NULL},
    {"--pool", "pool", CLI_STR, "POOL", "storage pool", 0, NULL},
    {"--segments", "segments", CLI_INT, "N", "network segments", 0, NULL},
    {"--netpool", "netpool", CLI_STR, "POOL", "segment-id pool", 0, NULL},
    {"--zone", "zone", CLI_STR, "ZONE",
     "a zone dedicated to the BU (exclusive)", 0, NULL},
    {"--hosts", "hosts", CLI_STR, "HOST,HOST",
     "hosts dedicated to the BU (exclusive)", 0, NULL},
    {"--clusters", "clusters", CLI_STR, "Z/P/C,...",
     "clusters dedicated to the BU (exclusive)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt list_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "only this business unit's", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt decide_opts[] = {
    {"--reason", "reason", CLI_STR, "TEXT", "why", 0, NULL}, CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	       {"BU", "bu"},	     {"KIND", "kind"},
    {"STATE", "state"},	       {"VCPUS", "vcpus"},   {"MEMORY", "memory_mib"},
    {"STORAGE_GIB", "storage_gib"}, {"SEGMENTS", "segments"},
    CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "request",
     .summary = "Request an allocation (compute, storage, network)",
     .op = "allocation.request",
     .opts = req_opts},
    {.name = "change",
     .summary = "Request new totals for the BU's active allocation",
     .op = "allocation.change",
     .opts = req_opts},
    {.name = "list",
     .summary = "List allocations",
     .op = "allocation.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show an allocation",
     .op = "allocation.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "approve",
     .summary = "Approve a request: checked against free capacity, then "
		"provisioned",
     .op = "allocation.approve",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = decide_opts},
    {.name = "reject",
     .summary = "Reject a request",
     .op = "allocation.reject",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = decide_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_allocation = {
    "allocation",
    "Allocations: what a business unit asked for and was given "
    "(request -> approve -> provision)",
    verbs, NULL};
