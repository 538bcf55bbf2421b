/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_network.c - trellis network ...: tenant networks, their segment-id
 * pools, and gc of what the store does not know. */
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
    {"TENANT", "tenant"}, {"PLUGIN", "plugin"}, CLI_COLS_END};
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

static const struct cli_verb verbs[] = {
    {"create", "Create a tenant network, numbered from a pool",
     "network.create", "name", "NAME", create_opts, NULL, NULL, NULL},
    {"list", "List networks", "network.list", NULL, NULL, list_opts, cols,
     "items", NULL},
    {"show", "Show a network", "network.show", "name", "NAME", NULL, NULL, NULL,
     NULL},
    {"delete", "Delete a network and free its id", "network.delete", "name",
     "NAME", NULL, NULL, NULL, NULL},
    {"gc",
     "Remove from a host what the store does not know (--dry-run: list "
     "it only)",
     "network.gc",
     "host", "HOST", gc_opts, gc_cols, "removed", NULL},
    {"port", "list: the ports VMs own (name, host, VM, network, MAC, tap), "
     "as their records say",
     "network.port_list", "\x02sub", "list", port_opts, NULL, NULL, port_run},
    {"pool-create", "Create a segment-id pool (VNI or VLAN range)",
     "netpool.create", "name", "NAME", pool_create_opts, NULL, NULL, NULL},
    {"pool-list", "List segment-id pools and their use", "netpool.list", NULL,
     NULL, NULL, pool_cols, "items", NULL},
    {"pool-show", "Show a segment-id pool", "netpool.show", "name", "NAME",
     NULL, NULL, NULL, NULL},
    {"pool-delete", "Delete an unused segment-id pool", "netpool.delete",
     "name", "NAME", NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_network = {
    "network", "Tenant networks: isolated segments (VXLAN/VLAN) on hosts",
    verbs, NULL};
