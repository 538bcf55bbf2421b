/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nouns.c - the noun table of the CLI.  A new noun is one file
 * (cmd_NOUN.c defining cli_noun_NOUN, declared in cli.h) and one line
 * here.
 */
#include "cli.h"

const struct cli_noun *const cli_nouns[] = {
	&cli_noun_zone,
	&cli_noun_agent,
	&cli_noun_pod,
	&cli_noun_cluster,
	&cli_noun_tenant,
	&cli_noun_host,
	&cli_noun_vm,
	&cli_noun_plugin,
	&cli_noun_api,
	&cli_noun_pool,
	&cli_noun_volume,
	&cli_noun_network,
	&cli_noun_ip,
	&cli_noun_policy,
	&cli_noun_workflow,
	&cli_noun_action,
	&cli_noun_user,
	&cli_noun_role,
	&cli_noun_bu,
	&cli_noun_audit,
	&cli_noun_template,
	&cli_noun_quota,
	&cli_noun_caps,
	&cli_noun_ha,
	&cli_noun_allocation,
	&cli_noun_report,
	&cli_noun_console,
	&cli_noun_events,
	&cli_noun_maint,
	&cli_noun_support,
	/* Append new nouns here. */
	NULL,
};
