/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_zone.c - trellis zone create|list|show|delete. */
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
	CLI_OPTS_END};
static const struct cli_opt bundle_opts[] = {
	{"--ttl", "ttl", CLI_STR, "AGE", "how long its token may be used "
	 "(default 1h)", 0, NULL},
	{"--out", "out", CLI_STR, "FILE", "where to write it (mode 0600)", 1,
	 NULL},
	{"--endpoints", "endpoints", CLI_STR, "URL,URL",
	 "what the agent dials (default: the core's agents.listen)", 0, NULL},
	CLI_OPTS_END};

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
	CLI_VERBS_END};

const struct cli_noun cli_noun_zone = {
	"zone", "Zones: the top of the inventory, public or private", verbs, NULL};
