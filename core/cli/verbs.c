/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verbs.c - the declarative verb runner: argv -> API args by the verb's
 * declarations, the call, the output; and the help texts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/node.h"
#include "../util/suggest.h"
#include "cli.h"

static const struct cli_opt *find_opt(const struct cli_verb *v,
				      const char *flag, size_t len)
{
	for (const struct cli_opt *o = v->opts; o && o->flag; o++)
		if (strlen(o->flag) == len && strncmp(o->flag, flag, len) == 0)
			return o;
	return NULL;
}

static int usage_error(const char *noun, const struct cli_verb *v,
		       const char *fmt, const char *a)
{
	fprintf(stderr, "trellis %s %s: ", noun, v->name);
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n(see: trellis %s %s --help)\n", noun, v->name);
	return CLI_USAGE;
}

/* The object field an option fills key by key (made on first use). */
static json_t *object_field(json_t *args, const char *field)
{
	json_t *obj = json_object_get(args, field);
	if (!json_is_object(obj)) {
		obj = json_object();
		json_object_set_new(args, field, obj);
	}
	return obj;
}

/* --option KEY=VALUE: the value is read as a YAML scalar or flow. */
static int set_kv(const char *noun, const struct cli_verb *v,
		  const struct cli_opt *o, const char *val, json_t *args)
{
	const char *eq = strchr(val, '=');
	if (!eq || eq == val)
		return usage_error(noun, v, "%s expects KEY=VALUE", o->flag);
	char key[256], err[512];
	snprintf(key, sizeof key, "%.*s", (int)(eq - val), val);
	trellis_node_t *n = *(eq + 1) ? tr_node_parse_string(o->flag, eq + 1,
							     strlen(eq + 1),
							     err, sizeof err)
				      : NULL;
	json_t *j = n ? tr_node_to_json(n) : json_string("");
	tr_node_free(n);
	if (!j) {
		fprintf(stderr, "trellis %s %s: %s %s: %s\n", noun, v->name,
			o->flag, val, err);
		return CLI_USAGE;
	}
	/* A plain word reads as an empty map's key in YAML ("a" -> "a"),
	 * but "a: b" would be a map: keep what the user typed then. */
	if (json_is_object(j) && eq[1] != '{') {
		json_decref(j);
		j = json_string(eq + 1);
	}
	json_object_set_new(object_field(args, o->field), key, j);
	json_t *given = object_field(args, "\x01kv");
	json_object_set_new(given, key, json_true());
	return CLI_OK;
}

/* --options-file FILE: a YAML map; the keys set by --option win. */
static int set_yaml_file(const char *noun, const struct cli_verb *v,
			 const struct cli_opt *o, const char *path,
			 json_t *args)
{
	char err[1024];
	trellis_node_t *n = tr_node_parse_file(path, err, sizeof err);
	if (!n) {
		fprintf(stderr, "trellis %s %s: %s\n", noun, v->name, err);
		return CLI_USAGE;
	}
	if (tr_node_type(n) != TRELLIS_NODE_MAP) {
		fprintf(stderr, "trellis %s %s: %s: expected a map of options\n",
			noun, v->name, tr_node_where(n));
		tr_node_free(n);
		return CLI_USAGE;
	}
	json_t *j = tr_node_to_json(n);
	tr_node_free(n);
	json_t *obj = object_field(args, o->field);
	json_t *given = json_object_get(args, "\x01kv");
	const char *k;
	json_t *x;
	json_object_foreach(j, k, x)
	{
		if (!json_object_get(given, k))
			json_object_set(obj, k, x);
	}
	json_decref(j);
	return CLI_OK;
}

static int set_value(const char *noun, const struct cli_verb *v,
		     const struct cli_opt *o, const char *val, json_t *args)
{
	json_t *j = NULL;
	if (o->type == CLI_KV)
		return set_kv(noun, v, o, val, args);
	if (o->type == CLI_YAML_FILE)
		return set_yaml_file(noun, v, o, val, args);
	const char *best = NULL;
	char list[512];
	if (o->choices &&
	    !tr_suggest_choice(val, o->choices, &best, list, sizeof list)) {
		fprintf(stderr, "trellis %s %s: bad value '%s' for %s (one of: %s)",
			noun, v->name, val, o->flag, list);
		if (best)
			fprintf(stderr, "; did you mean '%s'?", best);
		fprintf(stderr, "\n(see: trellis %s %s --help)\n", noun, v->name);
		return CLI_USAGE;
	}
	switch (o->type) {
	case CLI_FLAG:
		j = json_true();
		break;
	case CLI_STR:
	case CLI_SIZE:
		j = json_string(val);
		break;
	case CLI_INT: {
		char *end;
		long long x = strtoll(val, &end, 10);
		if (!*val || *end)
			return usage_error(noun, v, "%s expects an integer",
					   o->flag);
		j = json_integer(x);
		break;
	}
	case CLI_JSON: {
		json_error_t e;
		j = json_loads(val, JSON_DECODE_ANY, &e);
		if (!j)
			return usage_error(noun, v, "%s expects JSON", o->flag);
		break;
	}
	case CLI_KV:
	case CLI_YAML_FILE:
		break;
	}
	if (!j)
		return usage_error(noun, v, "bad value for %s", o->flag);
	json_object_set_new(args, o->field, j);
	return CLI_OK;
}

int cli_parse_args(const struct cli_verb *v, const char *noun, int argc,
		   char **argv, json_t **out)
{
	json_t *args = json_object();
	int rc = CLI_OK, npos = 0, opts_done = 0;
	for (int i = 0; i < argc && rc == CLI_OK; i++) {
		const char *a = argv[i];
		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			const char *eq = strchr(a, '=');
			size_t len = eq ? (size_t)(eq - a) : strlen(a);
			const struct cli_opt *o = find_opt(v, a, len);
			if (!o) {
				struct tr_suggest sg;
				char typed[64];
				snprintf(typed, sizeof typed, "%.*s", (int)len, a);
				tr_suggest_init(&sg, typed);
				for (const struct cli_opt *c = v->opts; c && c->flag;
				     c++)
					tr_suggest_add(&sg, c->flag);
				if (sg.best) {
					fprintf(stderr,
						"trellis %s %s: unknown option "
						"%s (did you mean %s?)\n",
						noun, v->name, typed, sg.best);
					fprintf(stderr,
						"(see: trellis %s %s --help)\n",
						noun, v->name);
					rc = CLI_USAGE;
				} else {
					rc = usage_error(noun, v,
							 "unknown option %s", a);
				}
				break;
			}
			const char *val = "true";
			if (o->type != CLI_FLAG) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else {
					rc = usage_error(noun, v,
							 "%s needs a value",
							 o->flag);
					break;
				}
			} else if (eq) {
				rc = usage_error(noun, v, "%s takes no value",
						 o->flag);
				break;
			}
			rc = set_value(noun, v, o, val, args);
			continue;
		}
		if (!v->positional || npos++ > 0) {
			rc = usage_error(noun, v, "unexpected argument '%s'", a);
			break;
		}
		json_object_set_new(args, v->positional, json_string(a));
	}
	json_object_del(args, "\x01kv"); /* set_kv's bookkeeping */
	if (rc == CLI_OK && v->positional && npos == 0)
		rc = usage_error(noun, v, "missing %s",
				 v->pos_metavar ? v->pos_metavar : "argument");
	for (const struct cli_opt *o = v->opts; rc == CLI_OK && o && o->flag;
	     o++)
		if (o->required && !json_object_get(args, o->field))
			rc = usage_error(noun, v, "missing %s", o->flag);
	if (rc != CLI_OK) {
		json_decref(args);
		return rc;
	}
	*out = args;
	return CLI_OK;
}

int cli_run_verb(const struct cli *cli, const struct cli_verb *v, int argc,
		 char **argv)
{
	/* The noun is only for messages; find it by the op's prefix. */
	char noun[32];
	snprintf(noun, sizeof noun, "%.*s", (int)strcspn(v->op, "."), v->op);
	json_t *args = NULL, *result = NULL;
	/* --all (list verbs): follow the pages and print them as one. */
	int all = 0, n = 0;
	char **rest = tr_xcalloc((size_t)argc + 1, sizeof *rest);
	if (!rest)
		return CLI_FAILED;
	for (int i = 0; i < argc; i++) {
		if (v->list_key && strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			rest[n++] = argv[i];
	}
	int rc = cli_parse_args(v, noun, n, rest, &args);
	free(rest);
	if (rc != CLI_OK)
		return rc;
	if (all && json_object_get(args, "after")) {
		json_decref(args);
		return usage_error(noun, v, "%s: --all and --after exclude each other",
				   "--all");
	}
	rc = cli_call(cli, v->op, json_deep_copy(args), &result);
	while (rc == CLI_OK && all &&
	       json_is_integer(json_object_get(result, "next"))) {
		json_t *more = NULL;
		json_object_set(args, "after", json_object_get(result, "next"));
		rc = cli_call(cli, v->op, json_deep_copy(args), &more);
		if (rc != CLI_OK)
			break;
		json_array_extend(json_object_get(result, v->list_key),
				  json_object_get(more, v->list_key));
		json_object_set(result, "next", json_object_get(more, "next"));
		json_decref(more);
	}
	if (rc == CLI_OK)
		cli_print(cli, result, v->cols, v->list_key);
	json_decref(args);
	json_decref(result);
	return rc;
}

void cli_verb_help(FILE *out, const struct cli_noun *n,
		   const struct cli_verb *v)
{
	if (v == n->self)
		fprintf(out, "Usage: trellis %s", n->name);
	else
		fprintf(out, "Usage: trellis %s %s", n->name, v->name);
	if (v->positional)
		fprintf(out, " %s", v->pos_metavar ? v->pos_metavar : "ARG");
	for (const struct cli_opt *o = v->opts; o && o->flag; o++) {
		const char *mv = o->type == CLI_FLAG ? NULL
				 : o->metavar      ? o->metavar
						   : "VALUE";
		fprintf(out, o->required ? " %s%s%s" : " [%s%s%s]", o->flag,
			mv ? " " : "", mv ? mv : "");
	}
	fprintf(out, "\n\n%s.\n", v->summary);
	if ((v->opts && v->opts->flag) || v->list_key)
		fprintf(out, "\nOptions:\n");
	if (v->opts) {
		for (const struct cli_opt *o = v->opts; o->flag; o++) {
			char left[64];
			snprintf(left, sizeof left, "%s%s%s", o->flag,
				 o->type == CLI_FLAG ? "" : " ",
				 o->type == CLI_FLAG ? ""
				 : o->metavar       ? o->metavar
						    : "VALUE");
			fprintf(out, "  %-24s %s", left, o->help ? o->help : "");
			if (o->choices) {
				fprintf(out, " (");
				for (const char *const *c = o->choices; *c; c++)
					fprintf(out, "%s%s",
						c == o->choices ? "" : "|", *c);
				fprintf(out, ")");
			}
			fprintf(out, "\n");
		}
	}
	if (v->list_key)
		fprintf(out, "  %-24s %s\n", "--all",
			"follow every page (for scripts)");
	fprintf(out,
		"\nGlobal options: -o table|json|yaml, --socket URL, "
		"--timeout MS, --api-key-file FILE (see trellis --help).\n"
		"API op: %s\n",
		v->op);
}

void cli_noun_help(FILE *out, const struct cli_noun *n)
{
	if (n->self) {
		cli_verb_help(out, n, n->self);
		return;
	}
	fprintf(out, "Usage: trellis %s VERB [ARGS]\n\n%s.\n\nVerbs:\n",
		n->name, n->summary);
	for (const struct cli_verb *v = n->verbs; v->name; v++)
		fprintf(out, "  %-10s %s\n", v->name, v->summary);
	fprintf(out, "\nRun 'trellis %s VERB --help' for a verb's options.\n",
		n->name);
}

int cli_run_sub(const struct cli *cli, const struct cli_noun *sub,
		const char *second, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		cli_noun_help(argc < 1 ? stderr : stdout, sub);
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	const struct cli_verb *sv = NULL;
	for (const struct cli_verb *k = sub->verbs; k->name; k++)
		if (strcmp(k->name, argv[0]) == 0)
			sv = k;
	if (!sv) {
		fprintf(stderr, "trellis: %s: unknown verb '%s' (", sub->name,
			argv[0]);
		for (const struct cli_verb *k = sub->verbs; k->name; k++)
			fprintf(stderr, "%s%s", k == sub->verbs ? "" : ", ",
				k->name);
		fprintf(stderr, ")\n");
		return CLI_USAGE;
	}
	/* OBJ SECOND ... becomes OBJ --second SECOND ... for a verb that
	 * has that option. */
	int has = second && find_opt(sv, second, strlen(second)) != NULL;
	char **a = tr_xcalloc((size_t)argc + 2, sizeof *a);
	int n = 0;
	for (int i = 1; i < argc; i++) {
		a[n++] = argv[i];
		if (i == 1 && has && argc > 2 && argv[2][0] != '-') {
			a[n++] = (char *)second;
			a[n++] = argv[++i];
		}
	}
	int rc = cli_run_verb(cli, sv, n, a);
	free(a);
	return rc;
}
