/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_report.c - trellis report chargeback|utilization: what business
 * units owe and use (docs/tenancy.md); -o json|csv for the dashboard and
 * spreadsheets. */
#include <stdio.h>

#include "cli.h"

static const struct cli_opt cb_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "one business unit (a BU's users: theirs)",
     0, NULL},
    {"--from", "from", CLI_STR, "TIME",
     "start: 2026-12-01, 2026-12-01T10:00:00Z or unix seconds (default 30 "
     "days ago)",
     0, NULL},
    {"--to", "to", CLI_STR, "TIME", "end (default now)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt util_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "one business unit", 0, NULL},
    CLI_OPTS_END};
static const struct cli_col cb_cols[] = {
    {"BU", "bu"},	       {"BASIS", "basis"},
    {"RESOURCE", "resource"},   {"QUANTITY_HOURS", "quantity"},
    {"UNIT_PRICE", "unit_price"}, {"AMOUNT", "amount"},
    CLI_COLS_END};
static const struct cli_col total_cols[] = {
    {"BU", "bu"},	  {"RESERVATION", "reservation"},
    {"ALLOCATION", "allocation"}, {"TOTAL", "total"},
    CLI_COLS_END};
static const struct cli_col util_cols[] = {
    {"BU", "bu"},	       {"RESOURCE", "resource"},
    {"ALLOCATED", "allocated"}, {"USED", "used"},
    {"PERCENT", "percent"},     CLI_COLS_END};

/* The lines, then the totals (a second table, or CSV block). */
static int run_chargeback(const struct cli *cli, const struct cli_verb *v,
			  int argc, char **argv)
{
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "report", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	rc = cli_call(cli, v->op, args, &res);
	if (rc != CLI_OK)
		return rc;
	if (cli->format == CLI_FMT_JSON || cli->format == CLI_FMT_YAML) {
		cli_print(cli, res, NULL, NULL);
	} else {
		cli_print(cli, res, cb_cols, "items");
		printf("\n");
		cli_print(cli, res, total_cols, "totals");
	}
	json_decref(res);
	return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {.name = "chargeback",
     .summary = "What business units owe over a period (reservation- and "
		"allocation-based)",
     .op = "report.chargeback",
     .opts = cb_opts,
     .cols = cb_cols,
     .list_key = "items",
     .run = run_chargeback},
    {.name = "utilization",
     .summary = "What business units use of their allocations",
     .op = "report.utilization",
     .opts = util_opts,
     .cols = util_cols,
     .list_key = "items"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_report = {
    "report", "Reports: chargeback and utilisation per business unit",
    verbs, NULL};
