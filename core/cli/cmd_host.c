/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_host.c - trellis host add|list|show|remove|refresh|set. */
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
static const struct cli_opt set_opts[] = {
	{"--cpus", "cpus", CLI_INT, "N", "CPUs (placement counts these)", 0,
	 NULL},
	{"--memory", "memory", CLI_SIZE, "SIZE",
	 "memory (64G; placement counts it)", 0, NULL},
	{"--sockets", "sockets", CLI_INT, "N", "CPU sockets", 0, NULL},
	{"--cores", "cores", CLI_INT, "N", "cores per socket", 0, NULL},
	{"--threads", "threads", CLI_INT, "N", "threads per core", 0, NULL},
	{"--mhz", "mhz", CLI_INT, "N", "CPU MHz", 0, NULL},
	{"--cpu-model", "cpu_model", CLI_STR, "MODEL", "CPU model", 0, NULL},
	{"--arch", "arch", CLI_STR, "ARCH", "architecture (x86_64)", 0, NULL},
	{"--hostname", "hostname", CLI_STR, "NAME", "the machine's host name",
	 0, NULL},
	{"--clear", "clear", CLI_FLAG, NULL,
	 "forget what was entered by hand; the next refresh records what "
	 "the hypervisor says", 0, NULL},
	CLI_OPTS_END};
static const struct cli_col cols[] = {
	{"NAME", "name"},       {"CLUSTER", "cluster"},
	{"HYPERVISOR", "hypervisor"}, {"URI", "uri"},
	{"STATE", "state"},     {"CPUS", "cpus"},
	{"MEMORY", "memory_kib"}, {"FREE", "free_memory_kib"},
	CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "add",
     .summary =
	 "Open a host through its hypervisor plugin, discover its capacity "
	 "and record it",
     .op = "host.add",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = add_opts},
    {.name = "list",
     .summary = "List hosts",
     .op = "host.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a host and its discovered capacity",
     .op = "host.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "remove",
     .summary = "Forget a host (refused while Trellis VMs run on it)",
     .op = "host.remove",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "refresh",
     .summary = "Rediscover a host's capacity, state and VMs",
     .op = "host.refresh",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "set",
     .summary =
	 "Enter a host's data by hand (CPUs, memory, topology): it holds over "
	 "what discovery says until --clear",
     .op = "host.set",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = set_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_host = {
	"host", "Hosts: hypervisors reached through a hypervisor plugin", verbs, NULL};
