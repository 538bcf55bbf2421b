/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_agent.c - trellis agent list|show|revoke, and the zone verbs that
 * enrol agents: zone token (prints a one-time token once) and zone
 * agent-bundle (writes a ready agent config, mode 0600). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "cli.h"

static const struct cli_col cols[] = {
	{"NAME", "name"},	  {"ZONE", "zone"},
	{"CONNECTED", "link.connected"}, {"HOSTS", "hosts"},
	{"REVOKED_AT", "revoked_at"},	  CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {.name = "list",
     .summary = "List enrolled agents and whether their link is up",
     .op = "agent.list",
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show an agent: zone, key, link",
     .op = "agent.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "revoke",
     .summary = "Revoke an agent: its link closes at once, its key is refused",
     .op = "agent.revoke",
     .positional = "name",
     .pos_metavar = "NAME"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_agent = {
	"agent", "Private zones' agents (trellis-agent): enrolled keys and links",
	verbs, NULL};

/* zone token: the token alone on stdout (it is shown this once); with
 * --count N, N tokens, one a line. */
int cli_zone_token(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args, *res = NULL;
	int rc = cli_parse_args(v, "zone", argc, argv, &args);
	if (rc)
		return rc;
	rc = cli_call(cli, v->op, args, &res);
	if (rc)
		return rc;
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, res, NULL, NULL);
	} else {
		json_t *all = json_object_get(res, "tokens"), *t;
		size_t i;
		if (json_is_array(all))
			json_array_foreach(all, i, t)
				printf("%s\n", json_string_value(t));
		else
			printf("%s\n", json_string_value(
					       json_object_get(res, "token")));
		fprintf(stderr,
			"trellis: %s for zone '%s' "
			"(valid until %lld); not shown again\n",
			json_is_array(all) && json_array_size(all) > 1
				? "one-time enrolment tokens"
				: "a one-time enrolment token",
			json_string_value(json_object_get(res, "zone")),
			(long long)json_integer_value(
				json_object_get(res, "expires_at")));
	}
	json_decref(res);
	return CLI_OK;
}

/* zone agent-bundle: the bundle into --out FILE (0600), never stdout. */
int cli_zone_bundle(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	json_t *args, *res = NULL;
	int rc = cli_parse_args(v, "zone", argc, argv, &args);
	if (rc)
		return rc;
	char *file = NULL;
	const char *f = json_string_value(json_object_get(args, "out"));
	if (!f) {
		fprintf(stderr, "trellis zone agent-bundle: --out FILE is needed\n");
		json_decref(args);
		return CLI_USAGE;
	}
	file = tr_xstrdup(f);
	json_object_del(args, "out");
	rc = cli_call(cli, v->op, args, &res);
	if (rc) {
		free(file);
		return rc;
	}
	json_object_del(res, "expires_at");
	char *text = json_dumps(res, JSON_INDENT(2));
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && text && fchmod(fd, 0600) == 0 &&
		 write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
		 write(fd, "\n", 1) == 1;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "trellis: %s: %s\n", file, strerror(errno));
	else
		fprintf(stderr,
			"trellis: wrote %s: an agent config for zone '%s' with a "
			"one-time token; run: trellis-agent --state-dir DIR "
			"--name NAME --bundle %s\n",
			file, json_string_value(json_object_get(res, "zone")),
			file);
	free(text);
	free(file);
	json_decref(res);
	return ok ? CLI_OK : CLI_FAILED;
}
