/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_policy.c - trellis policy list|show|set|host|try|claims: placement
 * policies and the claims that book capacity. */
#include "cli.h"

static const struct cli_opt set_opts[] = {
    {"--zone", "zone", CLI_STR, "ZONE",
     "the zone that uses it (default: make it the default policy)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt host_opts[] = {
    {"--tags", "tags", CLI_STR, "TAG,TAG", "its tags (\"\" for none)", 0, NULL},
    {"--vm-limit", "vm_limit", CLI_INT, "N",
     "at most N VMs on it (0: no limit)", 0, NULL},
    {"--disk", "disk", CLI_SIZE, "SIZE", "disk for VMs (2T)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt try_opts[] = {
    {"--vcpus", "vcpus", CLI_INT, "N", "virtual CPUs (default 1)", 0, NULL},
    {"--memory", "memory", CLI_SIZE, "SIZE", "memory (2G, 512M)", 0, NULL},
    {"--disk", "disk", CLI_SIZE, "SIZE", "disk (20G)", 0, NULL},
    {"--zone", "zone", CLI_STR, "ZONE", "only this zone", 0, NULL},
    {"--pod", "pod", CLI_STR, "POD", "only this pod", 0, NULL},
    {"--cluster", "cluster", CLI_STR, "CLUSTER", "only this cluster", 0, NULL},
    {"--host", "host", CLI_STR, "HOST", "only this host", 0, NULL},
    {"--tenant", "tenant", CLI_STR, "TENANT",
     "the tenant (private zones, exclusivity)", 0, NULL},
    {"--affinity-group", "affinity_group", CLI_STR, "GROUP",
     "with this group's VMs", 0, NULL},
    {"--anti-affinity-group", "anti_affinity_group", CLI_STR, "GROUP",
     "away from this group's VMs", 0, NULL},
    {"--tags", "tags", CLI_JSON, "JSON", "required host tags: '[\"ssd\"]'", 0,
     NULL},
    CLI_OPTS_END};
static const struct cli_opt claims_opts[] = {
    {"--host", "host", CLI_STR, "HOST", "only the claims on this host", 0,
     NULL},
    CLI_OPTS_END};
static const struct cli_col claim_cols[] = {
    {"CLAIM", "claim"},	      {"HOST", "host"},
    {"VCPUS", "vcpus"},	      {"MEMORY", "memory_mib"},
    {"DISK", "disk_gib"}, {"OWNER", "owner"},
    {"OWNER_STATE", "owner_state"}, {"AGE_S", "age_s"},
    CLI_COLS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	{"DEFAULT", "default"},
    {"TOP_N", "top_n"}, {"WEIGHTS", "weights"},
    {"ZONES", "zones"}, {"DESCRIPTION", "description"},
    CLI_COLS_END};

/* The table, and on stderr the policy files the daemon could not load
 * (in JSON and YAML they are the "errors" member). */
static int run_list(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	(void)argv;
	if (argc) {
		fprintf(stderr, "trellis policy list: takes no arguments\n");
		return CLI_USAGE;
	}
	json_t *res = NULL;
	int rc = cli_call(cli, v->op, NULL, &res);
	if (rc)
		return rc;
	cli_print(cli, res, v->cols, v->list_key);
	const char *errs = json_string_value(json_object_get(res, "errors"));
	if (errs && cli->format == CLI_FMT_TABLE)
		fprintf(stderr,
			"trellis: policy files not loaded (the daemon keeps "
			"the policies it had):\n%s\n",
			errs);
	json_decref(res);
	return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {.name = "list",
     .summary = "List placement policies and the zones that use them",
     .op = "policy.list",
     .cols = cols,
     .list_key = "items",
     .run = run_list},
    {.name = "show",
     .summary = "Show a policy: filters, weights, top N, overcommit",
     .op = "policy.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "set",
     .summary = "Select the policy of a zone (--zone), or the default policy",
     .op = "policy.set",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = set_opts},
    {.name = "host",
     .summary =
	 "Show or set a host's placement attributes: tags, VM limit, disk",
     .op = "policy.host",
     .positional = "name",
     .pos_metavar = "HOST",
     .opts = host_opts},
    {.name = "try",
     .summary = "Show where a VM would be placed now, or why it would not be "
		"(claims nothing)",
     .op = "policy.try",
     .opts = try_opts},
    {.name = "claims",
     .summary = "List placement claims: host, resources, owner (vm:UUID or "
		"wf:INSTANCE), whether the owner is still there, and age",
     .op = "policy.claims",
     .opts = claims_opts,
     .cols = claim_cols,
     .list_key = "items"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_policy = {
    "policy", "Placement policies: filters, weighers and the herding guard",
    verbs, NULL};
