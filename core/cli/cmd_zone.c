/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_zone.c - trellis zone create|list|show|delete|token|agent-bundle and
 * zone ip-range add|list|remove (a zone's public, management and tenant
 * ranges, core/ipam). */
#include "cli.h"

static const char *const spill_choices[] = {"allow", "deny", NULL};

static const struct cli_opt create_opts[] = {
	{"--private", "private", CLI_FLAG, NULL,
	 "a private zone, owned by one tenant", 0, NULL},
	{"--owner", "owner", CLI_STR, "TENANT", "the owning tenant (private)",
	 0, NULL},
	{"--exclusive", "exclusive", CLI_FLAG, NULL,
	 "only the owner's workloads run here", 0, NULL},
	{"--spill", "spill", CLI_STR, "RULE",
	 "may the owner's workloads spill to public zones", 0, spill_choices},
	CLI_OPTS_END};
static const struct cli_opt list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {
	{"NAME", "name"},     {"PRIVATE", "private"}, {"OWNER", "owner"},
	{"EXCLUSIVE", "exclusive"}, {"SPILL", "spill"}, CLI_COLS_END};

static const struct cli_opt token_opts[] = {
	{"--ttl", "ttl", CLI_STR, "AGE", "how long it may be used (default 1h)",
	 0, NULL},
	{"--count", "count", CLI_INT, "N",
	 "issue N tokens at once (1 to 10000), one a line", 0, NULL},
	CLI_OPTS_END};
static const struct cli_opt bundle_opts[] = {
	{"--ttl", "ttl", CLI_STR, "AGE", "how long its token may be used "
	 "(default 1h)", 0, NULL},
	{"--out", "out", CLI_STR, "FILE", "where to write it (mode 0600)", 1,
	 NULL},
	{"--endpoints", "endpoints", CLI_STR, "URL,URL",
	 "what the agent dials (default: the core's agents.listen)", 0, NULL},
	CLI_OPTS_END};

static const char *const kinds[] = {"public", "management", "tenant", NULL};
static const struct cli_opt range_add_opts[] = {
	{"--kind", "kind", CLI_STR, "KIND",
	 "public (the zone's public side), management (a pod's subnet) or "
	 "tenant (where networks get their /24)", 1, kinds},
	{"--cidr", "cidr", CLI_STR, "CIDR", "the block, a.b.c.d/n", 1, NULL},
	{"--gateway", "gateway", CLI_STR, "IP", "its gateway (never handed out)",
	 0, NULL},
	{"--pod", "pod", CLI_STR, "POD", "the pod of a management range", 0,
	 NULL},
	{"--range", "range", CLI_STR, "A-B",
	 "the addresses that may be handed out (default: all hosts)", 0, NULL},
	{"--bridge", "bridge", CLI_STR, "BRIDGE",
	 "public: the host bridge routers join for the public side", 0, NULL},
	CLI_OPTS_END};
static const struct cli_opt range_remove_opts[] = {
	{"--cidr", "cidr", CLI_STR, "CIDR", "the range's block", 1, NULL},
	CLI_OPTS_END};
static const struct cli_col range_cols[] = {
	{"KIND", "kind"}, {"CIDR", "cidr"}, {"GATEWAY", "gateway"},
	{"FIRST", "first"}, {"LAST", "last"}, {"POD", "pod"},
	{"BRIDGE", "bridge"}, {"USED", "used"}, CLI_COLS_END};
static const struct cli_verb range_verbs[] = {
    {.name = "add",
     .summary = "Add an IP range to a zone (overlaps refused, naming both)",
     .op = "zone.ip_range_add",
     .positional = "zone",
     .pos_metavar = "ZONE",
     .opts = range_add_opts},
    {.name = "list",
     .summary = "List a zone's IP ranges and their use",
     .op = "zone.ip_range_list",
     .positional = "zone",
     .pos_metavar = "ZONE",
     .cols = range_cols,
     .list_key = "items"},
    {.name = "remove",
     .summary = "Remove an unused IP range (ZONE CIDR)",
     .op = "zone.ip_range_remove",
     .positional = "zone",
     .pos_metavar = "ZONE",
     .opts = range_remove_opts},
    CLI_VERBS_END};
static const struct cli_noun range_noun = {
	"zone ip-range",
	"A zone's IP ranges: public, a pod's management subnet, tenant space",
	range_verbs, NULL};

static int run_range(const struct cli *cli, const struct cli_verb *v,
		     int argc, char **argv)
{
	(void)v;
	return cli_run_sub(cli, &range_noun, "--cidr", argc, argv);
}

static const struct cli_verb verbs[] = {
    {.name = "create",
     .summary = "Create a zone",
     .op = "zone.create",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts},
    {.name = "list",
     .summary = "List zones",
     .op = "zone.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a zone",
     .op = "zone.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Delete a zone (refused while it has pods)",
     .op = "zone.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "token",
     .summary = "Issue a one-time agent enrolment token (printed once)",
     .op = "zone.token",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = token_opts,
     .run = cli_zone_token},
    {.name = "agent-bundle",
     .summary = "Write a ready trellis-agent config (token, core key, "
		"endpoints)",
     .op = "zone.agent_bundle",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = bundle_opts,
     .run = cli_zone_bundle},
    {.name = "ip-range",
     .summary = "IP ranges: ip-range add ZONE --kind K --cidr C | "
		"ip-range list ZONE | ip-range remove ZONE CIDR",
     .op = "zone.ip_range_add",
     .run = run_range},
    CLI_VERBS_END};

const struct cli_noun cli_noun_zone = {
	"zone", "Zones: the top of the inventory, public or private", verbs, NULL};
