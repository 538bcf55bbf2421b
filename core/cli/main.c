/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis - the Trellis command line client: global options, the noun and
 * verb lookup, help, and the words for bash completion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/suggest.h"
#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trellis [OPTIONS] NOUN VERB [ARGS]\n"
		"\n"
		"The Trellis command line client: talks to trellisd.\n"
		"\n"
		"Nouns:\n");
	for (const struct cli_noun *const *n = cli_nouns; *n; n++)
		fprintf(out, "  %-10s %s\n", (*n)->name, (*n)->summary);
	fprintf(out,
		"\n"
		"Options (anywhere on the line):\n"
		"  -o, --output FMT   table (default), json or yaml\n"
		"  -s, --socket URL[,URL...]\n"
		"                     the daemon's API (default $TRELLIS_SOCKET or\n"
		"                     " CLI_DEFAULT_SOCKET "); with several, the\n"
		"                     first that answers (several managers)\n"
		"  -v, --verbose      say which endpoint answered (-vv: every call)\n"
		"      --timeout MS   how long to wait for an answer (default 30000)\n"
		"      --api-key-file FILE\n"
		"                     the API key for a tcp:// socket, from FILE's first\n"
		"                     line (default $TRELLIS_API_KEY)\n"
		"  -h, --help         help (also after a noun or a verb)\n"
		"  -V, --version      print the version\n"
		"\n"
		"Exit status: 0 ok, 1 the operation failed, 2 usage error.\n"
		"Run 'trellis NOUN --help' for a noun's verbs.\n");
}

static const struct cli_noun *find_noun(const char *name)
{
	for (const struct cli_noun *const *n = cli_nouns; *n; n++)
		if (strcmp((*n)->name, name) == 0)
			return *n;
	return NULL;
}

static const struct cli_verb *find_verb(const struct cli_noun *n,
					const char *name)
{
	for (const struct cli_verb *v = n->verbs; v && v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static int is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
	       strcmp(a, "help") == 0;
}

/* ---- completion ---- */

/* Prints field of each item of op's list (the daemon's objects), quietly
 * and quickly: a completion never waits on a daemon that is not there. */
static void complete_names(const struct cli *cli, const char *op,
			   const char *field, json_t *args)
{
	json_t *res = NULL;
	if (cli_call_quiet(cli, op, args, &res) != CLI_OK)
		return;
	size_t k;
	json_t *it;
	json_array_foreach(json_object_get(res, "items"), k, it)
	{
		const char *s = json_string_value(json_object_get(it, field));
		if (s)
			printf("%s\n", s);
	}
	json_decref(res);
}

/* The objects an option or a positional argument names, by the noun (or
 * the option): VM, host, workflow names... from the daemon. */
static void complete_objects(const struct cli *cli, const char *noun,
			     const char *verb)
{
	if (!strcmp(noun, "workflow")) {
		if (!strcmp(verb, "run") || !strcmp(verb, "show") ||
		    !strcmp(verb, "graph"))
			complete_names(cli, "workflow.defs", "name", NULL);
		else if (strcmp(verb, "validate") && strcmp(verb, "list") &&
			 strcmp(verb, "defs") && strcmp(verb, "purge"))
			complete_names(cli, "workflow.list", "id",
				       json_pack("{s:i}", "limit", 50));
		return;
	}
	static const struct {
		const char *noun, *op, *field;
	} lists[] = {{"vm", "vm.list", "name"},
		     {"host", "host.list", "name"},
		     {"pool", "pool.list", "name"},
		     {"network", "network.list", "name"},
		     {"zone", "zone.list", "name"},
		     {"template", "template.list", "name"},
		     {"user", "user.list", "name"},
		     {"bu", "bu.list", "name"},
		     {"policy", "policy.list", "name"},
		     {"plugin", "plugin.list", "name"},
		     {"action", "action.list", "name"}};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if (!strcmp(noun, lists[i].noun))
			complete_names(cli, lists[i].op, lists[i].field, NULL);
}

/* `trellis __complete WORD...`: the candidates for the word after them,
 * so that the completion file never goes stale.  Object names (VMs,
 * hosts, workflows, instance ids) come from the daemon at $TRELLIS_SOCKET
 * when it answers within half a second. */
static int complete(const struct cli *cli, int argc, char **argv)
{
	if (argc == 0) {
		for (const struct cli_noun *const *n = cli_nouns; *n; n++)
			printf("%s\n", (*n)->name);
		printf("--output\n--socket\n--timeout\n--api-key-file\n--verbose\n--help\n"
		       "--version\n");
		return 0;
	}
	const struct cli_noun *n = find_noun(argv[0]);
	if (!n)
		return 0;
	const struct cli_verb *v = n->self;
	if (!v && argc == 1) {
		for (const struct cli_verb *c = n->verbs; c->name; c++)
			printf("%s\n", c->name);
		printf("--help\n");
		return 0;
	}
	if (!v)
		v = find_verb(n, argv[1]);
	if (!v)
		return 0;
	const char *prev = argv[argc - 1];
	int given = n->self ? 1 : 2; /* words before the verb's arguments */
	/* workflow run NAME --input: the workflow's inputs, as NAME= */
	if (!strcmp(n->name, "workflow") && !strcmp(v->name, "run")) {
		if (!strcmp(prev, "--input") || !strcmp(prev, "-i")) {
			const char *wf = NULL;
			for (int k = given; k < argc; k++)
				if (argv[k][0] != '-' &&
				    strcmp(argv[k - 1], "--input") &&
				    strcmp(argv[k - 1], "-i"))
					wf = argv[k];
			json_t *def = NULL;
			if (wf && cli_call_quiet(cli, "workflow.def",
						 json_pack("{s:s}", "name", wf),
						 &def) == CLI_OK) {
				size_t k;
				json_t *in;
				json_array_foreach(json_object_get(def, "inputs"),
						   k, in)
				{
					const char *nm = json_string_value(
					    json_object_get(in, "name"));
					if (nm)
						printf("%s=\n", nm);
				}
			}
			json_decref(def);
			return 0;
		}
		printf("--input\n--wait\n--no-wait\n--help\n--output\n");
		complete_objects(cli, "workflow", "run");
		return 0;
	}
	for (const struct cli_opt *o = v->opts; o && o->flag; o++) {
		if (strcmp(prev, o->flag) == 0) {
			for (const char *const *c = o->choices; c && *c; c++)
				printf("%s\n", *c);
			if (!o->choices && o->type == CLI_STR) {
				if (!strcmp(o->flag, "--host"))
					complete_objects(cli, "host", "");
				else if (!strcmp(o->flag, "--template"))
					complete_objects(cli, "template", "");
				else if (!strcmp(o->flag, "--network"))
					complete_objects(cli, "network", "");
				else if (!strcmp(o->flag, "--pool"))
					complete_objects(cli, "pool", "");
				else if (!strcmp(o->flag, "--bu"))
					complete_objects(cli, "bu", "");
			}
			return 0;
		}
	}
	for (const struct cli_opt *o = v->opts; o && o->flag; o++)
		printf("%s\n", o->flag);
	if (v->list_key)
		printf("--all\n");
	printf("--help\n--output\n");
	/* The positional argument: the objects it names. */
	int have_pos = 0;
	for (int k = given; k < argc; k++)
		if (argv[k][0] != '-')
			have_pos = 1;
	if ((v->positional || v->pos_metavar) && !have_pos)
		complete_objects(cli, n->name, v->name);
	return 0;
}

/* The first line of path, for --api-key-file.  Never echoes it. */
static int read_key_file(const char *path, char *key, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "trellis: --api-key-file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	int ok = fgets(key, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		key[strcspn(key, "\r\n")] = '\0';
	if (!ok || !*key) {
		fprintf(stderr, "trellis: --api-key-file %s: empty\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char key[256];
	struct cli cli = {.socket = getenv("TRELLIS_SOCKET"),
			  .api_key = getenv("TRELLIS_API_KEY"),
			  .format = CLI_FMT_TABLE,
			  .timeout_ms = 30000};
	if (!cli.socket || !*cli.socket)
		cli.socket = CLI_DEFAULT_SOCKET;
	if (cli.api_key && !*cli.api_key)
		cli.api_key = NULL;
	tr_alloc_init(); /* jansson too: out of memory aborts */
	if (argc > 1 && strcmp(argv[1], "__complete") == 0) {
		cli.timeout_ms = 500;
		return complete(&cli, argc - 2, argv + 2);
	}

	/* Global options may come anywhere before "--"; the rest is
	 * NOUN VERB ARGS, kept in order. */
	char **rest = tr_xcalloc((size_t)argc + 1, sizeof *rest);
	int nrest = 0, help = 0, dashdash = 0;
	if (!rest)
		return CLI_FAILED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		int takes = 0;
		if (dashdash) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			rest[nrest++] = argv[i];
			continue;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
		    strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0 ||
		    strcmp(a, "--timeout") == 0 ||
		    strcmp(a, "--api-key-file") == 0) {
			takes = 1;
			if (i + 1 >= argc) {
				fprintf(stderr, "trellis: %s needs a value\n", a);
				free(rest);
				return CLI_USAGE;
			}
			val = argv[++i];
		} else if (strncmp(a, "--output=", 9) == 0) {
			takes = 1, val = a + 9, a = "--output";
		} else if (strncmp(a, "--socket=", 9) == 0) {
			takes = 1, val = a + 9, a = "--socket";
		} else if (strncmp(a, "--timeout=", 10) == 0) {
			takes = 1, val = a + 10, a = "--timeout";
		} else if (strncmp(a, "--api-key-file=", 15) == 0) {
			takes = 1, val = a + 15, a = "--api-key-file";
		}
		if (takes) {
			if (a[1] == 'o' || strcmp(a, "--output") == 0) {
				if (strcmp(val, "table") == 0)
					cli.format = CLI_FMT_TABLE;
				else if (strcmp(val, "json") == 0)
					cli.format = CLI_FMT_JSON;
				else if (strcmp(val, "yaml") == 0)
					cli.format = CLI_FMT_YAML;
				else if (strcmp(val, "csv") == 0)
					cli.format = CLI_FMT_CSV;
				else {
					fprintf(stderr,
						"trellis: unknown output format "
						"'%s' (table, json, yaml or "
						"csv)\n",
						val);
					free(rest);
					return CLI_USAGE;
				}
			} else if (a[1] == 's' || strcmp(a, "--socket") == 0) {
				cli.socket = val;
			} else if (strcmp(a, "--api-key-file") == 0) {
				if (read_key_file(val, key, sizeof key) < 0) {
					free(rest);
					return CLI_USAGE;
				}
				cli.api_key = key;
			} else {
				char *end;
				long t = strtol(val, &end, 10);
				if (!*val || *end || t <= 0 || t > 3600000) {
					fprintf(stderr,
						"trellis: --timeout expects "
						"milliseconds\n");
					free(rest);
					return CLI_USAGE;
				}
				cli.timeout_ms = (int)t;
			}
			continue;
		}
		if (is_help(a) && strcmp(a, "help") != 0) {
			help = 1;
			continue;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			cli.verbose++;
			continue;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("trellis %s\n", TRELLIS_VERSION);
			free(rest);
			return CLI_OK;
		}
		rest[nrest++] = argv[i];
	}
	int rc = CLI_USAGE;
	if (nrest == 0 || strcmp(rest[0], "help") == 0) {
		usage(help || nrest ? stdout : stderr);
		rc = help || nrest ? CLI_OK : CLI_USAGE;
		goto out;
	}
	const struct cli_noun *n = find_noun(rest[0]);
	if (!n) {
		struct tr_suggest sg;
		tr_suggest_init(&sg, rest[0]);
		for (const struct cli_noun *const *c = cli_nouns; *c; c++)
			tr_suggest_add(&sg, (*c)->name);
		if (sg.best)
			fprintf(stderr,
				"trellis: unknown noun '%s' (did you mean "
				"'%s'?)\n(see: trellis --help)\n",
				rest[0], sg.best);
		else {
			fprintf(stderr, "trellis: unknown noun '%s'\n", rest[0]);
			usage(stderr);
		}
		goto out;
	}
	if (n->self) {
		if (help) {
			cli_verb_help(stdout, n, n->self);
			rc = CLI_OK;
		} else {
			rc = n->self->run(&cli, n->self, nrest - 1, rest + 1);
		}
		goto out;
	}
	if (nrest == 1 || strcmp(rest[1], "help") == 0) {
		cli_noun_help(help || nrest > 1 ? stdout : stderr, n);
		rc = help || nrest > 1 ? CLI_OK : CLI_USAGE;
		goto out;
	}
	const struct cli_verb *v = find_verb(n, rest[1]);
	if (!v) {
		struct tr_suggest sg;
		tr_suggest_init(&sg, rest[1]);
		for (const struct cli_verb *c = n->verbs; c->name; c++)
			tr_suggest_add(&sg, c->name);
		if (sg.best)
			fprintf(stderr,
				"trellis %s: unknown verb '%s' (did you mean "
				"'%s'?)\n(see: trellis %s --help)\n",
				n->name, rest[1], sg.best, n->name);
		else {
			fprintf(stderr, "trellis %s: unknown verb '%s'\n",
				n->name, rest[1]);
			cli_noun_help(stderr, n);
		}
		goto out;
	}
	if (help) {
		cli_verb_help(stdout, n, v);
		rc = CLI_OK;
		goto out;
	}
	rc = v->run ? v->run(&cli, v, nrest - 2, rest + 2)
		    : cli_run_verb(&cli, v, nrest - 2, rest + 2);
out:
	free(rest);
	return rc;
}
