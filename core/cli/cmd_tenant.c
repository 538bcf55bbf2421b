/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_tenant.c - trellis tenant create|list|show|delete. */
#include "cli.h"

static const struct cli_opt list_opts[] = {CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_col cols[] = {{"NAME", "name"}, {"ID", "id"},
				      CLI_COLS_END};

static const struct cli_verb verbs[] = {
	{"create", "Create a tenant", "tenant.create", "name", "NAME", NULL,
	 NULL, NULL, NULL},
	{"list", "List tenants", "tenant.list", NULL, NULL, list_opts, cols,
	 "items", NULL},
	{"show", "Show a tenant", "tenant.show", "name", "NAME", NULL, NULL,
	 NULL, NULL},
	{"delete", "Delete a tenant (refused while it owns zones or VMs)",
	 "tenant.delete", "name", "NAME", NULL, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_tenant = {
	"tenant", "Tenants: business units that own private zones and VMs",
	verbs};
