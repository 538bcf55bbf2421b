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
	{"add", "Add an IP range to a zone (overlaps refused, naming both)",
	 "zone.ip_range_add", "zone", "ZONE", range_add_opts, NULL, NULL,
	 NULL},
	{"list", "List a zone's IP ranges and their use", "zone.ip_range_list",
	 "zone", "ZONE", NULL, range_cols, "items", NULL},
	{"remove", "Remove an unused IP range (ZONE CIDR)",
	 "zone.ip_range_remove", "zone", "ZONE", range_remove_opts, NULL, NULL,
	 NULL},
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
	{"create", "Create a zone", "zone.create", "name", "NAME", create_opts,
	 NULL, NULL, NULL},
	{"list", "List zones", "zone.list", NULL, NULL, list_opts, cols,
	 "items", NULL},
	{"show", "Show a zone", "zone.show", "name", "NAME", NULL, NULL, NULL,
	 NULL},
	{"delete", "Delete a zone (refused while it has pods)", "zone.delete",
	 "name", "NAME", NULL, NULL, NULL, NULL},
	{"token", "Issue a one-time agent enrolment token (printed once)",
	 "zone.token", "name", "NAME", token_opts, NULL, NULL, cli_zone_token},
	{"agent-bundle", "Write a ready trellis-agent config (token, core key, "
	 "endpoints)", "zone.agent_bundle", "name", "NAME", bundle_opts, NULL,
	 NULL, cli_zone_bundle},
	{"ip-range", "IP ranges: ip-range add ZONE --kind K --cidr C | "
	 "ip-range list ZONE | ip-range remove ZONE CIDR", "zone.ip_range_add",
	 NULL, NULL, NULL, NULL, NULL, run_range},
	CLI_VERBS_END};

const struct cli_noun cli_noun_zone = {
	"zone", "Zones: the top of the inventory, public or private", verbs, NULL};
