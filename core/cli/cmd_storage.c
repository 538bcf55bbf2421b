/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_storage.c - trellis storage credential|discover|bridge|assign|
 * unassign|reassign, and trellis volume transfer (declared in cli.h for
 * cmd_volume.c): storage adapters, their discovery, host assignments and
 * cloud bridges (docs/storage-adapters.md).
 *
 * `credential` and `bridge` take a sub-action (add|list|show|delete,
 * create|list|show|delete) as their first argument.  A credential's
 * secret is read from --secret-file FILE or from standard input, never
 * from the command line (ps, shell history), and is never printed.
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "cli.h"

static int usage(const char *verb, const char *fmt, const char *arg)
{
	fprintf(stderr, "trellis storage %s: ", verb);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see trellis storage %s --help)\n", verb);
	return CLI_USAGE;
}

/* ---- credential ---- */

static const struct cli_opt cred_add_opts[] = {
    {"--module", "module", CLI_STR, "PLUGIN",
     "the storage adapter (a loaded storage plugin: translated ...)", 1, NULL},
    {"--endpoint", "endpoint", CLI_STR, "URL", "the endpoint it reaches", 1,
     NULL},
    {"--username", "username", CLI_STR, "USER", "the user it logs in as", 1,
     NULL},
    {"--secret-file", "\x01secret_file", CLI_STR, "FILE",
     "read the secret from FILE (default: standard input)", 0, NULL},
    {"--translation", "\x01translation", CLI_STR, "FILE",
     "the interface translation file (translated adapter)", 0, NULL},
    {"--ca-file", "\x01" "ca_file", CLI_STR, "FILE",
     "CA certificates that sign the endpoint's", 0, NULL},
    {"--owner", "owner", CLI_STR, "BU", "the business unit that owns it", 0,
     NULL},
    CLI_OPTIONS_OPTS("credential", "pool_open"),
    CLI_OPTS_END};
static const struct cli_col cred_cols[] = {
    {"NAME", "name"},	      {"MODULE", "module"},
    {"ENDPOINT", "endpoint"}, {"USERNAME", "username"},
    {"OWNER", "owner"},	      CLI_COLS_END};

static const struct cli_verb cred_sub[] = {
    {.name = "add",
     .summary = "Add a credential (the secret from --secret-file or stdin)",
     .op = "storage.credential.add",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = cred_add_opts},
    {.name = "list",
     .summary = "List credentials (never their secrets)",
     .op = "storage.credential.list",
     .cols = cred_cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a credential (never its secret)",
     .op = "storage.credential.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Delete a credential",
     .op = "storage.credential.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    CLI_VERBS_END};

static char *read_secret(const char *file)
{
	FILE *f = file ? fopen(file, "r") : stdin;
	if (!f)
		return NULL;
	size_t cap = 256, n = 0;
	char *s = tr_xmalloc(cap);
	int c;
	while ((c = fgetc(f)) != EOF) {
		if (n + 2 > cap)
			s = tr_xrealloc(s, cap *= 2);
		s[n++] = (char)c;
	}
	if (file)
		fclose(f);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = '\0';
	return s;
}

static const struct cli_verb *sub_find(const struct cli_verb *subs,
				       const char *name)
{
	for (const struct cli_verb *v = subs; name && v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

static int run_sub(const struct cli *cli, const struct cli_verb *v,
		   const char *noun, json_t *args)
{
	json_t *res = NULL;
	int rc = cli_call(cli, v->op, args, &res);
	if (rc == CLI_OK)
		cli_print(cli, res, v->cols, v->list_key);
	json_decref(res);
	(void)noun;
	return rc;
}

static int cli_credential(const struct cli *cli, const struct cli_verb *verb,
			  int argc, char **argv)
{
	(void)verb;
	const struct cli_verb *v = argc ? sub_find(cred_sub, argv[0]) : NULL;
	if (!v)
		return usage("credential", "want add, list, show or delete, "
					   "not '%s'",
			     argc ? argv[0] : "");
	json_t *args = NULL;
	int rc = cli_parse_args(v, "storage credential", argc - 1, argv + 1,
				&args);
	if (rc != CLI_OK)
		return rc;
	if (!strcmp(v->name, "add")) {
		const char *sf = json_string_value(
		    json_object_get(args, "\x01secret_file"));
		if (!sf && isatty(0)) {
			json_decref(args);
			return usage("credential",
				     "%sgive the secret on standard input or "
				     "with --secret-file FILE",
				     "");
		}
		char *secret = read_secret(sf);
		if (!secret || !*secret) {
			fprintf(stderr, "trellis storage credential add: %s%s%s\n",
				sf ? sf : "standard input", ": ",
				secret ? "empty" : strerror(errno));
			free(secret);
			json_decref(args);
			return CLI_FAILED;
		}
		json_object_set_new(args, "secret", json_string(secret));
		memset(secret, 0, strlen(secret));
		free(secret);
		json_t *opts = json_object_get(args, "options");
		if (!json_is_object(opts)) {
			opts = json_object();
			json_object_set_new(args, "options", opts);
		}
		static const char *const moved[][2] = {
		    {"\x01translation", "translation"},
		    {"\x01" "ca_file", "ca_file"}};
		for (size_t i = 0; i < 2; i++) {
			json_t *x = json_object_get(args, moved[i][0]);
			if (x) {
				char abs[4096];
				const char *p = json_string_value(x);
				/* the daemon reads it: make it absolute */
				if (p && p[0] != '/' && getcwd(abs, 2048)) {
					size_t l = strlen(abs);
					snprintf(abs + l, sizeof abs - l, "/%s",
						 p);
					json_object_set_new(opts, moved[i][1],
							    json_string(abs));
				} else {
					json_object_set(opts, moved[i][1], x);
				}
			}
			json_object_del(args, moved[i][0]);
		}
		json_object_del(args, "\x01secret_file");
	}
	return run_sub(cli, v, "credential", args);
}

/* ---- bridge ---- */

static const struct cli_opt bridge_create_opts[] = {
    {"--name", "name", CLI_STR, "NAME", "the bridge's name (default A--B)", 0,
     NULL},
    {"--port", "port", CLI_STR, "PORT",
     "B's access port (default: its first target port)", 0, NULL},
    CLI_OPTS_END};
static const struct cli_col bridge_cols[] = {
    {"NAME", "name"}, {"A", "a"},	      {"B", "b"},
    {"PORT", "port"}, {"ADDRESS", "address"}, {"STATE", "state"},
    CLI_COLS_END};
static const struct cli_verb bridge_sub[] = {
    {.name = "create",
     .summary = "Establish a bridge between pools A and B",
     .op = "storage.bridge.create",
     .positional = "a",
     .pos_metavar = "A",
     .opts = bridge_create_opts},
    {.name = "list",
     .summary = "List bridges",
     .op = "storage.bridge.list",
     .cols = bridge_cols,
     .list_key = "items"},
    {.name = "show",
     .summary = "Show a bridge",
     .op = "storage.bridge.show",
     .positional = "name",
     .pos_metavar = "NAME"},
    {.name = "delete",
     .summary = "Forget a bridge",
     .op = "storage.bridge.delete",
     .positional = "name",
     .pos_metavar = "NAME"},
    CLI_VERBS_END};

static int cli_bridge(const struct cli *cli, const struct cli_verb *verb,
		      int argc, char **argv)
{
	(void)verb;
	const struct cli_verb *v = argc ? sub_find(bridge_sub, argv[0]) : NULL;
	if (!v)
		return usage("bridge", "want create, list, show or delete, "
				       "not '%s'",
			     argc ? argv[0] : "");
	json_t *args = NULL;
	const char *b = NULL;
	char **rest = argv + 1;
	int n = argc - 1;
	if (!strcmp(v->name, "create")) {
		/* create A B: the second positional is B */
		char **kept = tr_xcalloc((size_t)n + 1, sizeof *kept);
		int k = 0, pos = 0;
		for (int i = 0; i < n; i++) {
			if (rest[i][0] == '-' && i + 1 < n &&
			    strchr(rest[i], '=') == NULL) {
				kept[k++] = rest[i];
				kept[k++] = rest[++i];
			} else if (rest[i][0] != '-' && pos++ == 1) {
				b = rest[i];
			} else {
				kept[k++] = rest[i];
			}
		}
		int rc = cli_parse_args(v, "storage bridge", k, kept, &args);
		free(kept);
		if (rc != CLI_OK)
			return rc;
		if (!b) {
			json_decref(args);
			return usage("bridge", "create A B: missing B%s", "");
		}
		json_object_set_new(args, "b", json_string(b));
		return run_sub(cli, v, "bridge", args);
	}
	int rc = cli_parse_args(v, "storage bridge", n, rest, &args);
	if (rc != CLI_OK)
		return rc;
	return run_sub(cli, v, "bridge", args);
}

/* ---- discover ---- */

static const struct cli_opt discover_opts[] = {
    {"--pool", "pool", CLI_STR, "POOL",
     "discover through a pool instead of a credential", 0, NULL},
    {"--target", "target", CLI_STR, "SYSTEM[/POOL]",
     "with a credential: what the adapter opens", 0, NULL},
    {"--type", "\x01type", CLI_STR, "TYPES",
     "systems,pools,volumes,ports,assignments (default: all)", 0, NULL},
    {"--fresh", "fresh", CLI_FLAG, NULL, "bypass the adapter's cache", 0,
     NULL},
    CLI_OPTS_END};

static const struct {
	const char *key, *title;
	struct cli_col cols[8];
} sections[] = {
    {"systems",
     "SYSTEMS",
     {{"ID", "id"},
      {"NAME", "name"},
      {"STATE", "state"},
      {"CAPACITY", "capacity"},
      CLI_COLS_END}},
    {"pools",
     "POOLS",
     {{"ID", "id"},
      {"NAME", "name"},
      {"SYSTEM", "system"},
      {"CLASS", "class"},
      {"CAPACITY", "capacity"},
      {"AVAILABLE", "available"},
      CLI_COLS_END}},
    {"volumes",
     "VOLUMES",
     {{"ID", "id"},
      {"NAME", "name"},
      {"SYSTEM", "system"},
      {"POOL", "pool"},
      {"CAPACITY", "capacity"},
      CLI_COLS_END}},
    {"ports",
     "PORTS",
     {{"ID", "id"},
      {"ROLE", "role"},
      {"SYSTEM", "system"},
      {"HOST", "host"},
      {"ADDRESS", "address"},
      CLI_COLS_END}},
    {"assignments",
     "ASSIGNMENTS",
     {{"ID", "id"},
      {"VOLUME", "volume"},
      {"HOST", "host"},
      {"INITIATORS", "initiators"},
      {"CLASS", "class"},
      CLI_COLS_END}},
};

static int cli_discover(const struct cli *cli, const struct cli_verb *v,
			int argc, char **argv)
{
	struct cli_verb pv = *v;
	const char *cred = NULL;
	char **kept = tr_xcalloc((size_t)argc + 1, sizeof *kept);
	int k = 0;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] != '-' && !cred && (i == 0 || argv[i - 1][0] != '-' ||
						   !strcmp(argv[i - 1], "--fresh")))
			cred = argv[i];
		else
			kept[k++] = argv[i];
	}
	pv.positional = NULL;
	json_t *args = NULL;
	int rc = cli_parse_args(&pv, "storage", k, kept, &args);
	free(kept);
	if (rc != CLI_OK)
		return rc;
	if (cred)
		json_object_set_new(args, "credential", json_string(cred));
	json_t *t = json_object_get(args, "\x01type");
	if (t) {
		json_t *types = json_array();
		char *dup = tr_xstrdup(json_string_value(t));
		for (char *sv, *x = strtok_r(dup, ", ", &sv); x;
		     x = strtok_r(NULL, ", ", &sv))
			json_array_append_new(types, json_string(x));
		free(dup);
		json_object_set_new(args, "types", types);
		json_object_del(args, "\x01type");
	}
	json_t *res = NULL;
	rc = cli_call(cli, "storage.discover", args, &res);
	if (rc != CLI_OK)
		return rc;
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, res, NULL, NULL);
	} else {
		int first = 1;
		for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
			json_t *items = json_object_get(res, sections[i].key);
			if (!json_array_size(items))
				continue;
			printf("%s%s\n", first ? "" : "\n", sections[i].title);
			first = 0;
			json_t *wrap = json_pack("{s:O}", "items", items);
			cli_print(cli, wrap, sections[i].cols, "items");
			json_decref(wrap);
		}
	}
	json_decref(res);
	return CLI_OK;
}

/* ---- assign, unassign, reassign ---- */

static const struct cli_opt assign_opts[] = {
    {"--pool", "pool", CLI_STR, "POOL", "the volume's pool", 1, NULL},
    {"--host", "host", CLI_STR, "HOST", "the host", 1, NULL},
    {"--initiators", "initiators", CLI_STR, "PORTS",
     "the host's initiator ports, comma-separated", 0, NULL},
    CLI_OPTS_END};
static const struct cli_opt reassign_opts[] = {
    {"--pool", "pool", CLI_STR, "POOL", "the volume's pool", 1, NULL},
    {"--from", "from", CLI_STR, "HOST", "the host it leaves", 1, NULL},
    {"--to", "to", CLI_STR, "HOST", "the host it goes to", 1, NULL},
    {"--initiators", "initiators", CLI_STR, "PORTS",
     "the new host's initiator ports, comma-separated", 1, NULL},
    CLI_OPTS_END};

static const struct cli_verb verbs[] = {
    {.name = "credential",
     .summary = "Credentials for storage adapters: add NAME --module --endpoint "
                "--username (secret on stdin or --secret-file) | list | show NAME | "
                "delete NAME",
     .op = "storage.credential.add",
     .positional = "action",
     .pos_metavar = "add|list|show|delete [NAME]",
     .opts = cred_add_opts,
     .run = cli_credential},
    {.name = "discover",
     .summary = "Storage systems, pools, volumes, access ports and assignments a "
                "credential (or --pool) reaches",
     .op = "storage.discover",
     .pos_metavar = "[CREDENTIAL]",
     .opts = discover_opts,
     .run = cli_discover},
    {.name = "bridge",
     .summary = "Cloud bridges between storage resources: create A B [--port P] | "
                "list | show NAME | delete NAME",
     .op = "storage.bridge.create",
     .positional = "action",
     .pos_metavar = "create|list|show|delete ...",
     .opts = bridge_create_opts,
     .run = cli_bridge},
    {.name = "assign",
     .summary = "Assign one volume to initiators of one host",
     .op = "storage.assign",
     .positional = "volume",
     .pos_metavar = "VOLUME",
     .opts = assign_opts},
    {.name = "unassign",
     .summary = "Remove a host's initiators (default: all) from a volume",
     .op = "storage.unassign",
     .positional = "volume",
     .pos_metavar = "VOLUME",
     .opts = assign_opts},
    {.name = "reassign",
     .summary = "Migrate a volume's assignment: the new host's initiators are added, "
                "the old host's removed",
     .op = "storage.reassign",
     .positional = "volume",
     .pos_metavar = "VOLUME",
     .opts = reassign_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_storage = {
    "storage",
    "Storage adapters: credentials, discovery, assignments, cloud bridges",
    verbs, NULL};

/* ---- volume transfer ---- */

static int transfer_follow(const struct cli *cli, const char *id,
			   const char *events, const char *key_prefix)
{
	int sock = -1, tmo = 250, last_pct = -1;
	if (events) {
		sock = nn_socket(AF_SP, NN_SUB);
		if (sock >= 0 &&
		    (nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE,
				   "volume.transfer.", 16) < 0 ||
		     nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE,
				   "workflow.finished", 17) < 0 ||
		     nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo,
				   sizeof tmo) < 0 ||
		     nn_connect(sock, events) < 0)) {
			nn_close(sock);
			sock = -1;
		}
	}
	FILE *lines = cli->format == CLI_FMT_TABLE ? stdout : stderr;
	json_t *st = NULL;
	time_t next = 0;
	for (;;) {
		if (time(NULL) >= next) {
			json_decref(st);
			st = NULL;
			if (cli_call(cli, "workflow.status",
				     json_pack("{s:s}", "id", id),
				     &st) != CLI_OK)
				break;
			const char *s =
			    json_string_value(json_object_get(st, "state"));
			if (cli_final_state(s))
				break;
			next = time(NULL) + 1;
		}
		if (sock < 0) {
			usleep(250 * 1000);
			continue;
		}
		int err;
		char topic[64] = "";
		json_t *ev = cli_event_recv(sock, topic, sizeof topic, &err);
		const char *key = json_string_value(json_object_get(ev, "key")),
			   *eid = json_string_value(json_object_get(ev, "id"));
		/* the end is told at once, not at the next status poll */
		if (!strcmp(topic, "workflow.finished") && eid &&
		    !strcmp(eid, id))
			next = 0;
		if (key && !strncmp(key, key_prefix, strlen(key_prefix))) {
			int pct = (int)json_integer_value(
			    json_object_get(ev, "percent"));
			if (pct != last_pct) {
				last_pct = pct;
				fprintf(lines, "  transfer %3d%%  %lld of %lld "
					       "bytes\n",
					pct,
					(long long)json_integer_value(
					    json_object_get(ev, "bytes")),
					(long long)json_integer_value(
					    json_object_get(ev, "total")));
				fflush(lines);
			}
		}
		json_decref(ev);
	}
	if (sock >= 0)
		nn_close(sock);
	int rc = CLI_FAILED;
	const char *s = json_string_value(json_object_get(st, "state"));
	if (s && !strcmp(s, "succeeded")) {
		rc = CLI_OK;
		json_t *out = json_object_get(st, "outputs");
		if (cli->format == CLI_FMT_TABLE)
			printf("transferred to %s/%s: %lld bytes, digest %s\n",
			       json_string_value(json_object_get(out, "pool")),
			       json_string_value(json_object_get(out, "volume")),
			       (long long)json_integer_value(
				   json_object_get(out, "bytes")),
			       json_string_value(json_object_get(out, "digest")));
		else
			cli_print(cli, out, NULL, NULL);
	} else if (st) {
		fprintf(stderr, "trellis volume transfer: workflow %s %s: %s\n",
			id, s ? s : "?",
			json_string_value(json_object_get(st, "error")));
	}
	json_decref(st);
	return rc;
}

static const char *const digests[] = {"xxh128", "blake2b", NULL};
const struct cli_opt cli_volume_transfer_opts[] = {
    {"--pool", "pool", CLI_STR, "POOL", "the volume's pool", 1, NULL},
    {"--to", "to", CLI_STR, "POOL",
     "the destination pool (bridged to --pool)", 1, NULL},
    {"--name", "name", CLI_STR, "NAME",
     "the destination volume (default: the same name)", 0, NULL},
    {"--snapshot", "snapshot", CLI_FLAG, NULL,
     "copy from a clone made first (the source stays in use)", 0, NULL},
    {"--chunk", "chunk", CLI_INT, "BYTES", "bytes per chunk (default 4 MiB)",
     0, NULL},
    {"--digest", "digest", CLI_STR, "ALG",
     "the chunks' digest: xxh128 (default) or blake2b", 0, digests},
    {"--no-wait", "\x01nowait", CLI_FLAG, NULL,
     "print the workflow's id and return", 0, NULL},
    CLI_OPTS_END};

int cli_volume_transfer(const struct cli *cli, const struct cli_verb *v,
			int argc, char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "volume", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	int nowait = json_is_true(json_object_get(args, "\x01nowait"));
	json_object_del(args, "\x01nowait");
	if (!json_object_get(args, "name"))
		json_object_set(args, "name", json_object_get(args, "volume"));
	json_t *res = NULL;
	rc = cli_call(cli, "workflow.run",
		      json_pack("{s:s, s:o}", "workflow", "volume.transfer",
				"inputs", args),
		      &res);
	if (rc != CLI_OK)
		return rc;
	const char *id = json_string_value(json_object_get(res, "id"));
	if (nowait) {
		if (cli->format == CLI_FMT_TABLE)
			printf("%s\n", id);
		else
			cli_print(cli, res, NULL, NULL);
		json_decref(res);
		return CLI_OK;
	}
	if (cli->format == CLI_FMT_TABLE)
		printf("workflow %s started\n", id);
	char prefix[256];
	snprintf(prefix, sizeof prefix, "%s/", id);
	rc = transfer_follow(cli, id,
			     json_string_value(json_object_get(res, "events")),
			     prefix);
	json_decref(res);
	return rc;
}
