/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_host.c - trellis host add|list|show|remove|refresh. */
#include "cli.h"

static const struct cli_opt add_opts[] = {
	{"--cluster", "cluster", CLI_STR, "CLUSTER", "the cluster it joins", 1,
	 NULL},
	{"--hypervisor", "hypervisor", CLI_STR, "PLUGIN",
	 "hypervisor plugin (default libvirt)", 0, NULL},
	{"--uri", "uri", CLI_STR, "URI",
	 "connection URI (qemu:///system, test:///default)", 1, NULL},
    CLI_OPTIONS_OPTS("host", "connect"),
	{"--via-agent", "via_agent", CLI_STR, "AGENT",
	 "reach the host through this private zone's agent", 0, NULL},
	CLI_OPTS_END};
static const struct cli_opt list_opts[] = {
	{"--cluster", "cluster", CLI_STR, "CLUSTER", "only this cluster's hosts",
	 0, NULL},
	{"--state", "state", CLI_STR, "STATE", "only hosts in this state", 0,
	 NULL},
	CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {
	{"NAME", "name"},       {"CLUSTER", "cluster"},
	{"HYPERVISOR", "hypervisor"}, {"URI", "uri"},
	{"STATE", "state"},     {"CPUS", "cpus"},
	{"MEMORY", "memory_kib"}, {"FREE", "free_memory_kib"},
	CLI_COLS_END};

static const struct cli_verb verbs[] = {
	{"add",
	 "Open a host through its hypervisor plugin, discover its capacity "
	 "and record it",
	 "host.add", "name", "NAME", add_opts, NULL, NULL, NULL},
	{"list", "List hosts", "host.list", NULL, NULL, list_opts, cols,
	 "items", NULL},
	{"show", "Show a host and its discovered capacity", "host.show", "name",
	 "NAME", NULL, NULL, NULL, NULL},
	{"remove", "Forget a host (refused while Trellis VMs run on it)",
	 "host.remove", "name", "NAME", NULL, NULL, NULL, NULL},
	{"refresh", "Rediscover a host's capacity, state and VMs",
	 "host.refresh", "name", "NAME", NULL, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_host = {
	"host", "Hosts: hypervisors reached through a hypervisor plugin", verbs, NULL};
