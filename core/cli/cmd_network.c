/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_network.c - trellis network ...: tenant networks (their addressing
 * and router), their segment-id pools, port forwards, and gc of what the
 * store does not know. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const modes[] = {"vxlan", "vlan", NULL};

static const struct cli_opt create_opts[] = {
    {"--pool", "pool", CLI_STR, "POOL",
     "segment-id pool to take the VNI/VLAN id from", 1, NULL},
    {"--tenant", "tenant", CLI_STR, "TENANT", "owning tenant", 0, NULL},
    {"--plugin", "plugin", CLI_STR, "NAME", "network plugin (default bridge)",
     0, NULL},
    {"--underlay", "underlay", CLI_STR, "DEV",
     "NIC carrying VXLAN/VLAN traffic", 0, NULL},
    {"--mtu", "mtu", CLI_INT, "N", "MTU of the segment", 0, NULL},
    {"--remotes", "remotes", CLI_JSON, "JSON",
     "VXLAN peers, e.g. '[\"10.0.0.2\"]'", 0, NULL},
    CLI_OPTIONS_OPTS("network", "segment_ensure"),
    {"--zone", "zone", CLI_STR, "ZONE",
     "its zone (default CIDR from its tenant space, public side for NAT)", 0,
     NULL},
    {"--cidr", "cidr", CLI_STR, "CIDR",
     "address block (default: a free /24 of the zone's tenant space)", 0,
     NULL},
    {"--gateway", "gateway", CLI_STR, "IP",
     "gateway (default: the first address)", 0, NULL},
    {"--dhcp", "dhcp", CLI_STR, "A-B",
     "DHCP range (default: the other host addresses)", 0, NULL},
    {"--domain", "domain", CLI_STR, "DOMAIN", "DNS domain of its VM names",
     0, NULL},
    {"--router-host", "router_host", CLI_STR, "HOST",
     "the host its router (DHCP, DNS, NAT) runs on; none: no router", 0,
     NULL},
    {"--router-uri", "router_uri", CLI_STR, "URI",
     "that host's network context (default local)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_opt gc_opts[] = {
    {"--uri", "uri", CLI_STR, "URI",
     "network context: local (default) or netns:NAME", 0, NULL},
    {"--plugin", "plugin", CLI_STR, "NAME", "network plugin (default bridge)",
     0, NULL},
    {"--dry-run", "dry_run", CLI_FLAG, NULL,
     "remove nothing: list what would be removed", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt pool_create_opts[] = {
    {"--mode", "mode", CLI_STR, "MODE", "vxlan or vlan", 1, modes},
    {"--first", "first", CLI_INT, "ID", "first id of the range", 1, NULL},
    {"--last", "last", CLI_INT, "ID", "last id of the range", 1, NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	  {"TYPE", "type"},	{"ID", "vni"},
    {"TENANT", "tenant"}, {"CIDR", "spec.cidr"}, {"ROUTER", "spec.router_host"},
    {"PLUGIN", "plugin"}, CLI_COLS_END};
static const struct cli_col pool_cols[] = {
    {"NAME", "name"}, {"MODE", "mode"}, {"FIRST", "first"}, {"LAST", "last"},
    {"USED", "used"}, {"SIZE", "size"}, CLI_COLS_END};
static const struct cli_opt port_opts[] = {
    {"--host", "host", CLI_STR, "HOST", "only the ports on this host", 0, NULL},
    {"--vm", "vm", CLI_STR, "VM", "only this VM's ports (name or uuid)", 0,
     NULL},
    CLI_OPTS_END};
static const struct cli_col port_cols[] = {
    {"PORT", "name"},	{"HOST", "host"}, {"VM", "vm"},
    {"NETWORK", "segment"}, {"MAC", "mac"},	  {"IFNAME", "ifname"},
    CLI_COLS_END};
static const struct cli_col gc_cols[] = {
    {"REMOVED", "what"}, {"NAME", "name"}, CLI_COLS_END};

/* network port list: "port" is the verb, "list" its one word (the
 * ports have no other verb yet; `port show` would go here). */
static int port_run(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "network", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	const char *sub = json_string_value(json_object_get(args, "\x02sub"));
	if (strcmp(sub, "list") != 0) {
		fprintf(stderr, "trellis network port: unknown verb '%s' (did "
				"you mean 'list'?)\n",
			sub);
		json_decref(args);
		return CLI_USAGE;
	}
	json_object_del(args, "\x02sub");
	rc = cli_call(cli, v->op, args, &res);
	if (rc == CLI_OK)
		cli_print(cli, res, port_cols, "items");
	json_decref(res);
	return rc;
}

static const char *const protos[] = {"tcp", "udp", NULL};
static const struct cli_opt fwd_add_opts[] = {
    {"--public-port", "public_port", CLI_INT, "P",
     "port on the router's public address", 1, NULL},
    {"--vm", "vm", CLI_STR, "VM", "the VM (it has an address in NET)", 1,
     NULL},
    {"--port", "port", CLI_INT, "Q", "port on the VM", 1, NULL},
    {"--protocol", "protocol", CLI_STR, "PROTO", "tcp (default) or udp", 0,
     protos},
    CLI_OPTS_END};
static const struct cli_opt fwd_remove_opts[] = {
    {"--public-port", "public_port", CLI_INT, "P", "the forward's public port",
     1, NULL},
    {"--protocol", "protocol", CLI_STR, "PROTO", "tcp (default) or udp", 0,
     protos},
    CLI_OPTS_END};
static const struct cli_col fwd_cols[] = {
    {"PROTO", "protocol"}, {"PUBLIC-PORT", "public_port"}, {"VM", "vm"},
    {"IP", "ip"},	   {"PORT", "port"},		  CLI_COLS_END};
static const struct cli_verb fwd_verbs[] = {
    {.name = "add",
     .summary = "Forward a public port of NET's router to a VM's port",
     .op = "network.forward_add",
     .positional = "network",
     .pos_metavar = "NET",
     .opts = fwd_add_opts},
    {.name = "list",
     .summary = "List NET's port forwards",
     .op = "network.forward_list",
     .positional = "network",
     .pos_metavar = "NET",
     .cols = fwd_cols,
     .list_key = "items"},
    {.name = "remove",
     .summary = "Remove a port forward (NET PUBLIC-PORT)",
     .op = "network.forward_remove",
     .positional = "network",
     .pos_metavar = "NET",
     .opts = fwd_remove_opts},
    CLI_VERBS_END};
static const struct cli_noun fwd_noun = {
    "network forward",
    "Port forwards (destination NAT) of a routed network's public address",
    fwd_verbs, NULL};

static int run_forward(const struct cli *cli, const struct cli_verb *v,
		       int argc, char **argv)
{
	(void)v;
	return cli_run_sub(cli, &fwd_noun, "--public-port", argc, argv);
}

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a tenant network, numbered from a pool",
     .op = "network.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List networks",
     .op = "network.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a network",
     .op = "network.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Delete a network and free its id",
     .op = "network.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "gc",
     .summary =
	 "Remove from a host what the store does not know (--dry-run: list "
	 "it only)",
     .op = "network.gc",
     .positional = "host",
     .pos_metavar = "HOST",
     .opts = gc_opts,
     .cols = gc_cols,
     .list_key = "removed"},
    {.name = "port",
     .summary = "list: the ports VMs own (name, host, VM, network, MAC, tap), "
		"as their records say",
     .op = "network.port_list",
     .positional = "\x02sub",
     .pos_metavar = "list",
     .opts = port_opts,
     .run = port_run},
    {.name = "pool-create",
     .summary = "Create a segment-id pool (VNI or VLAN range)",
     .op = "netpool.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = pool_create_opts},
    {.name = "pool-list",
     .summary = "List segment-id pools and their use",
     .op = "netpool.list",
     .cols = pool_cols,
     .list_key = "items"},
    {.name = "pool-show",
     .summary = "Show a segment-id pool",
     .op = "netpool.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "pool-delete",
     .summary = "Delete an unused segment-id pool",
     .op = "netpool.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "forward",
     .summary = "Port forwards: forward add NET --public-port P --vm VM "
		"--port Q | forward list NET | forward remove NET P",
     .op = "network.forward_add",
     .run = run_forward},
    CLI_VERBS_END};

const struct cli_noun cli_noun_network = {
    "network", "Tenant networks: isolated segments (VXLAN/VLAN) on hosts",
    verbs, NULL};
