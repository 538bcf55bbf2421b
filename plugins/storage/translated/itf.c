/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itf.c - loading and checking interface translation files (itf.h), and
 * picking a file's section for an endpoint.
 *
 * The file is read into a libyaml document (so every node keeps its line
 * and column) and walked against the schema below; the first error stops
 * the walk and names FILE:LINE:COL.  A misspelt key gets the nearest
 * known one as a guess (edit distance at most 2).
 */
#include "itf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

const char *const itf_op_names[ITF_OP__COUNT] = {
    "product", "systems",	"pools",    "volumes", "ports",
    "views",   "volume_create", "volume_delete", "assign", "unassign",
    "port_connect", "read", "write"};

static const char *const f_product[] = {"vendor", "model", "serial", NULL};
static const char *const f_systems[] = {"key",	 "name",     "serial",
					"state", "capacity", "available",
					NULL};
static const char *const f_pools[] = {"key",	"name",	    "class",
				      "system", "capacity", "available",
				      NULL};
static const char *const f_volumes[] = {"key",	  "name", "pool",
					"system", "size", "state", NULL};
static const char *const f_ports[] = {"id",	 "role", "system",
				      "address", "host", NULL};
static const char *const f_views[] = {"id",   "class", "system",
				      "volume", "host", "initiators", NULL};
static const char *const f_none[] = {NULL};

const char *const *const itf_fields[ITF_OP__COUNT] = {
    f_product, f_systems, f_pools, f_volumes, f_ports, f_views, f_none,
    f_none,    f_none,    f_none,  f_none,    f_none,  f_none};

int itf_field_index(enum itf_op op, const char *name)
{
	for (int i = 0; itf_fields[op][i]; i++)
		if (!strcmp(itf_fields[op][i], name))
			return i;
	return -1;
}

/* ---- the walk ---- */

struct ld {
	yaml_document_t doc;
	const char *path;
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct ld *l, const yaml_node_t *n, const char *fmt, ...)
{
	if (l->failed)
		return -1;
	l->failed = 1;
	int o = snprintf(l->err, l->errlen, "%s:%zu:%zu: ", l->path,
			 n ? n->start_mark.line + 1 : 1,
			 n ? n->start_mark.column + 1 : 1);
	if (o < 0 || (size_t)o >= l->errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err + o, l->errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return -1;
}

static yaml_node_t *node(struct ld *l, int i)
{
	return yaml_document_get_node(&l->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static int unknown(struct ld *l, const yaml_node_t *k, const char *where,
		   const char *const *known)
{
	const char *key = scalar(k), *guess = NULL;
	size_t best = 3;
	for (size_t i = 0; key && known[i]; i++) {
		size_t d = distance(key, known[i]);
		if (d < best) {
			best = d;
			guess = known[i];
		}
	}
	if (guess)
		return fail(l, k, "%s: unknown key '%s' (did you mean '%s'?)",
			    where, key ? key : "?", guess);
	return fail(l, k, "%s: unknown key '%s'", where, key ? key : "?");
}

/* A map, whose keys are each given once (YAML wants that, and a second
 * one would silently win). */
static int want_map(struct ld *l, yaml_node_t *n, const char *where)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return fail(l, n, "%s: expected a map", where);
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++)
		for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a;
		     b++) {
			const char *ka = scalar(node(l, a->key)),
				   *kb = scalar(node(l, b->key));
			if (ka && kb && !strcmp(ka, kb))
				return fail(l, node(l, a->key),
					    "%s: key '%s' given twice (first "
					    "at line %zu)",
					    where, ka,
					    node(l, b->key)->start_mark.line +
						1);
		}
	return 0;
}

static int str_into(struct ld *l, yaml_node_t *v, const char *where,
		    char **out)
{
	const char *s = scalar(v);
	if (!s)
		return fail(l, v, "%s: expected a string", where);
	free(*out);
	if (!(*out = strdup(s)))
		return fail(l, v, "out of memory");
	return 0;
}

static int int_into(struct ld *l, yaml_node_t *v, const char *where, long lo,
		    long hi, int *out)
{
	const char *s = scalar(v);
	char *end;
	errno = 0;
	long x = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || x < lo || x > hi)
		return fail(l, v, "%s: expected an integer %ld..%ld, got '%s'",
			    where, lo, hi, s ? s : "(not a scalar)");
	*out = (int)x;
	return 0;
}

#define FOREACH_PAIR(l, map, k, v)                                             \
	for (yaml_node_pair_t *pp_##k = (map)->data.mapping.pairs.start;       \
	     pp_##k < (map)->data.mapping.pairs.top &&                         \
	     ((k) = node(l, pp_##k->key), (v) = node(l, pp_##k->value), 1);   \
	     pp_##k++)

static int pattern(struct ld *l, yaml_node_t *v, const char *where,
		   struct itf_pattern *p)
{
	static const char *const modes[] = {"exact",	"prefix", "suffix",
					    "contains", "regex",  NULL};
	const char *s = scalar(v);
	if (s) {
		p->mode = strcmp(s, "*") ? ITF_EXACT : ITF_ANY;
		return str_into(l, v, where, &p->text);
	}
	if (want_map(l, v, where))
		return -1;
	if (v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
		return fail(l, v,
			    "%s: give one of exact, prefix, suffix, contains "
			    "or regex",
			    where);
	yaml_node_t *k, *x;
	FOREACH_PAIR(l, v, k, x)
	{
		const char *ks = scalar(k);
		int m = -1;
		for (int i = 0; ks && modes[i]; i++)
			if (!strcmp(ks, modes[i]))
				m = i;
		if (m < 0)
			return unknown(l, k, where, modes);
		p->mode = (enum itf_mode)(ITF_EXACT + m);
		if (str_into(l, x, where, &p->text))
			return -1;
		if (p->mode == ITF_REGEX) {
			int rc = regcomp(&p->re, p->text,
					 REG_EXTENDED | REG_NOSUB);
			if (rc) {
				char msg[128];
				regerror(rc, &p->re, msg, sizeof msg);
				p->mode = ITF_EXACT; /* nothing to regfree */
				return fail(l, x, "%s: bad regex '%s': %s",
					    where, p->text, msg);
			}
		}
	}
	return 0;
}

/* A map of strings: the value of names[i] into *dsts[i] (names ends
 * with NULL); at[i], when at is not NULL, gets its node (NULL: absent). */
static int strings(struct ld *l, yaml_node_t *v, const char *where,
		   const char *const *names, char **const *dsts,
		   yaml_node_t **at)
{
	yaml_node_t *k, *x;
	if (want_map(l, v, where))
		return -1;
	FOREACH_PAIR(l, v, k, x)
	{
		const char *ks = scalar(k);
		int i = 0;
		while (ks && names[i] && strcmp(ks, names[i]))
			i++;
		if (!ks || !names[i])
			return unknown(l, k, where, names);
		if (str_into(l, x, where, dsts[i]))
			return -1;
		if (at)
			at[i] = x;
	}
	return 0;
}

/* One of the words in choices (NULL-terminated), or an error at n. */
static int one_of(struct ld *l, yaml_node_t *n, const char *where,
		  const char *val, const char *const *choices)
{
	for (int i = 0; val && choices[i]; i++)
		if (!strcmp(val, choices[i]))
			return 0;
	char list[128] = "";
	size_t o = 0;
	for (int i = 0; choices[i]; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
				      i == 0	       ? ""
				      : choices[i + 1] ? ", "
						       : " or ",
				      choices[i]);
	return n ? fail(l, n, "%s: %s, not '%s'", where, list, val) : 0;
}

static int filter(struct ld *l, yaml_node_t *v, const char *where,
		  struct itf_filter *f)
{
	static const char *const keys[] = {"class_token", "property", "value",
					   NULL};
	char **const dsts[] = {&f->class_token, &f->property, &f->value};
	if (strings(l, v, where, keys, dsts, NULL))
		return -1;
	if (!f->property != !f->value)
		return fail(l, v, "%s: property and value go together", where);
	return 0;
}

static int call_(struct ld *l, yaml_node_t *v, const char *prefix,
		 enum itf_op op, struct itf_call *c)
{
	static const char *const keys[] = {"method", "path",  "body",
					   "items",  "result", "range",
					   "mode",   "fields", NULL};
	char where[224];
	snprintf(where, sizeof where, "%s.%s", prefix, itf_op_names[op]);
	yaml_node_t *k, *x;
	if (want_map(l, v, where))
		return -1;
	FOREACH_PAIR(l, v, k, x)
	{
		const char *ks = scalar(k);
		if (ks && !strcmp(ks, "fields")) {
			if (want_map(l, x, where))
				return -1;
			yaml_node_t *fk, *fv;
			FOREACH_PAIR(l, x, fk, fv)
			{
				const char *fs = scalar(fk);
				int i = fs ? itf_field_index(op, fs) : -1;
				char fw[256];
				snprintf(fw, sizeof fw, "%s.fields", where);
				if (i < 0) {
					if (!itf_fields[op][0])
						return fail(l, fk,
							    "%s: %s answers "
							    "no fields",
							    fw, itf_op_names[op]);
					return unknown(l, fk, fw,
						       itf_fields[op]);
				}
				if (str_into(l, fv, fw, &c->fields[i]))
					return -1;
			}
			continue;
		}
		char **dst = !ks			? NULL
			     : !strcmp(ks, "method") ? &c->method
			     : !strcmp(ks, "path")   ? &c->path
			     : !strcmp(ks, "body")   ? &c->body
			     : !strcmp(ks, "items")  ? &c->items
			     : !strcmp(ks, "result") ? &c->result
			     : !strcmp(ks, "range")  ? &c->range
			     : !strcmp(ks, "mode")   ? &c->mode
						     : NULL;
		if (!dst)
			return unknown(l, k, where, keys);
		if (str_into(l, x, where, dst))
			return -1;
		if (dst == &c->method && strcmp(c->method, "GET") &&
		    strcmp(c->method, "POST") && strcmp(c->method, "PUT") &&
		    strcmp(c->method, "DELETE") && strcmp(c->method, "PATCH"))
			return fail(l, x,
				    "%s.method: GET, POST, PUT, PATCH or "
				    "DELETE, not '%s'",
				    where, c->method);
		if (dst == &c->path && c->path[0] != '/')
			return fail(l, x, "%s.path: must start with '/'",
				    where);
		if (dst == &c->mode && strcmp(c->mode, "offset") &&
		    strcmp(c->mode, "rewrite"))
			return fail(l, x,
				    "%s.mode: offset or rewrite, not '%s'",
				    where, c->mode);
		if (dst == &c->range && strcmp(c->range, "header") &&
		    strcmp(c->range, "query"))
			return fail(l, x,
				    "%s.range: header or query, not '%s'",
				    where, c->range);
	}
	return 0;
}

/* The body of a section (the defaults, or one under sections:). */
static int body(struct ld *l, yaml_node_t *map, const char *where,
		struct itf_section *s, int named)
{
	static const char *const keys[] = {
	    "name",	   "match",	   "system_id", "sys_name_trim",
	    "volume_id",   "pool_filter", "view_filter", "name_max",
	    "auth",	   "ops",	   NULL};
	yaml_node_t *k, *v;
	s->volume_id_token = -1;
	s->line = (int)map->start_mark.line + 1;
	s->col = (int)map->start_mark.column + 1;
	FOREACH_PAIR(l, map, k, v)
	{
		const char *ks = scalar(k);
		char w[160];
		snprintf(w, sizeof w, "%s.%s", where, ks ? ks : "?");
		if (!ks)
			return fail(l, k, "%s: a key must be a string", where);
		if (!strcmp(ks, "name") && named) {
			if (str_into(l, v, w, &s->name))
				return -1;
		} else if (!strcmp(ks, "match") && named) {
			static const char *const mk[] = {"vendor", "model",
							 NULL};
			yaml_node_t *a, *b;
			if (want_map(l, v, w))
				return -1;
			FOREACH_PAIR(l, v, a, b)
			{
				const char *as = scalar(a);
				struct itf_pattern *p =
				    !as			    ? NULL
				    : !strcmp(as, "vendor") ? &s->vendor
				    : !strcmp(as, "model")  ? &s->model
							    : NULL;
				if (!p)
					return unknown(l, a, w, mk);
				if (pattern(l, b, w, p))
					return -1;
			}
		} else if (!strcmp(ks, "system_id")) {
			static const char *const sk[] = {"vendor", "model",
							 "serial_from", NULL};
			static const char *const from[] = {"serial", "name",
							   NULL};
			char **const dsts[] = {&s->vendor_token, &s->model_token,
					       &s->serial_from};
			yaml_node_t *at[3] = {NULL, NULL, NULL};
			char fw[200];
			snprintf(fw, sizeof fw, "%s.serial_from", w);
			if (strings(l, v, w, sk, dsts, at) ||
			    one_of(l, at[2], fw, s->serial_from, from))
				return -1;
		} else if (!strcmp(ks, "sys_name_trim")) {
			if (str_into(l, v, w, &s->sys_name_trim))
				return -1;
		} else if (!strcmp(ks, "volume_id")) {
			static const char *const vk[] = {"property", "token",
							 NULL};
			yaml_node_t *a, *b;
			if (want_map(l, v, w))
				return -1;
			FOREACH_PAIR(l, v, a, b)
			{
				const char *as = scalar(a);
				if (as && !strcmp(as, "property")) {
					if (str_into(l, b, w,
						     &s->volume_id_property))
						return -1;
				} else if (as && !strcmp(as, "token")) {
					if (int_into(l, b, "volume_id.token",
						     0, 63,
						     &s->volume_id_token))
						return -1;
					s->volume_id_token_set = 1;
				} else {
					return unknown(l, a, w, vk);
				}
			}
		} else if (!strcmp(ks, "pool_filter")) {
			if (filter(l, v, w, &s->pool_filter))
				return -1;
		} else if (!strcmp(ks, "view_filter")) {
			if (filter(l, v, w, &s->view_filter))
				return -1;
		} else if (!strcmp(ks, "name_max")) {
			if (int_into(l, v, w, 1, 127, &s->name_max))
				return -1;
		} else if (!strcmp(ks, "auth")) {
			static const char *const ak[] = {
			    "scheme", "path",	"body",	  "token",
			    "header", "region", NULL};
			static const char *const schemes[] = {
			    "basic", "session", "sigv4", NULL};
			char **const dsts[] = {&s->auth_scheme, &s->auth_path,
					       &s->auth_body,	&s->auth_token,
					       &s->auth_header, &s->auth_region};
			yaml_node_t *at[6] = {NULL, NULL, NULL,
					      NULL, NULL, NULL};
			char fw[200];
			snprintf(fw, sizeof fw, "%s.scheme", w);
			if (strings(l, v, w, ak, dsts, at) ||
			    one_of(l, at[0], fw, s->auth_scheme, schemes))
				return -1;
		} else if (!strcmp(ks, "ops")) {
			yaml_node_t *a, *b;
			if (want_map(l, v, w))
				return -1;
			FOREACH_PAIR(l, v, a, b)
			{
				const char *as = scalar(a);
				int op = -1;
				for (int i = 0; as && i < ITF_OP__COUNT; i++)
					if (!strcmp(as, itf_op_names[i]))
						op = i;
				if (op < 0) {
					const char *names[ITF_OP__COUNT + 1];
					memcpy(names, itf_op_names,
					       sizeof itf_op_names);
					names[ITF_OP__COUNT] = NULL;
					return unknown(l, a, w, names);
				}
				if (call_(l, b, w, (enum itf_op)op,
					  &s->ops[op]))
					return -1;
			}
		} else {
			const char *const *known = keys + (named ? 0 : 2);
			return unknown(l, k, where, known);
		}
	}
	if (named && !s->name)
		return fail(l, map, "%s: a section needs a name", where);
	return 0;
}

static void section_free(struct itf_section *s)
{
	free(s->name);
	free(s->vendor.text);
	free(s->model.text);
	if (s->vendor.mode == ITF_REGEX)
		regfree(&s->vendor.re);
	if (s->model.mode == ITF_REGEX)
		regfree(&s->model.re);
	free(s->vendor_token);
	free(s->model_token);
	free(s->serial_from);
	free(s->sys_name_trim);
	free(s->volume_id_property);
	struct itf_filter *fs[] = {&s->pool_filter, &s->view_filter};
	for (int i = 0; i < 2; i++) {
		free(fs[i]->class_token);
		free(fs[i]->property);
		free(fs[i]->value);
	}
	free(s->auth_scheme);
	free(s->auth_path);
	free(s->auth_body);
	free(s->auth_token);
	free(s->auth_header);
	free(s->auth_region);
	for (int i = 0; i < ITF_OP__COUNT; i++) {
		struct itf_call *c = &s->ops[i];
		free(c->method);
		free(c->path);
		free(c->body);
		free(c->items);
		free(c->result);
		free(c->range);
		free(c->mode);
		for (int j = 0; j < ITF_MAX_FIELDS; j++)
			free(c->fields[j]);
	}
}

void itf_free(struct itf *t)
{
	if (!t)
		return;
	section_free(&t->defaults);
	for (size_t i = 0; i < t->n_sections; i++)
		section_free(&t->sections[i]);
	free(t->sections);
	free(t->path);
	free(t);
}

static int top(struct ld *l, struct itf *t)
{
	static const char *const keys[] = {"translation", "defaults",
					   "sections", NULL};
	yaml_node_t *root = yaml_document_get_root_node(&l->doc), *k, *v;
	if (!root)
		return fail(l, NULL, "empty file (it needs at least "
				     "'translation: %d')",
			    ITF_VERSION);
	if (want_map(l, root, "the file"))
		return -1;
	t->defaults.volume_id_token = -1;
	int have_version = 0;
	FOREACH_PAIR(l, root, k, v)
	{
		const char *ks = scalar(k);
		if (ks && !strcmp(ks, "translation")) {
			if (int_into(l, v, "translation", 1, 1000,
				     &t->version))
				return -1;
			if (t->version != ITF_VERSION)
				return fail(l, v,
					    "translation: version %d is not "
					    "known (this plugin reads %d)",
					    t->version, ITF_VERSION);
			have_version = 1;
		} else if (ks && !strcmp(ks, "defaults")) {
			if (want_map(l, v, "defaults") ||
			    body(l, v, "defaults", &t->defaults, 0))
				return -1;
		} else if (ks && !strcmp(ks, "sections")) {
			if (!v || v->type != YAML_SEQUENCE_NODE)
				return fail(l, v,
					    "sections: expected a list of "
					    "sections");
			size_t n = (size_t)(v->data.sequence.items.top -
					    v->data.sequence.items.start);
			t->sections = calloc(n ? n : 1, sizeof *t->sections);
			if (!t->sections)
				return fail(l, v, "out of memory");
			for (size_t i = 0; i < n; i++) {
				yaml_node_t *s =
				    node(l, v->data.sequence.items.start[i]);
				char w[64];
				snprintf(w, sizeof w, "sections[%zu]", i);
				t->n_sections = i + 1;
				if (want_map(l, s, w) ||
				    body(l, s, w, &t->sections[i], 1))
					return -1;
				for (size_t j = 0; j < i; j++)
					if (!strcmp(t->sections[j].name,
						    t->sections[i].name))
						return fail(
						    l, s,
						    "%s: a second section named "
						    "'%s' (the first is at line "
						    "%d)",
						    w, t->sections[i].name,
						    t->sections[j].line);
			}
		} else {
			return unknown(l, k, "the file", keys);
		}
	}
	if (!have_version)
		return fail(l, root,
			    "the file: 'translation: %d' (the format's "
			    "version) is required",
			    ITF_VERSION);
	return 0;
}

struct itf *itf_load(const char *path, const char *text, size_t len,
		     char *err, size_t errlen)
{
	struct ld l = {.path = path ? path : "(text)", .err = err,
		       .errlen = errlen};
	yaml_parser_t parser;
	FILE *f = NULL;
	struct itf *t = NULL;
	err[0] = '\0';
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: libyaml: out of memory", l.path);
		return NULL;
	}
	if (text) {
		yaml_parser_set_input_string(&parser,
					     (const unsigned char *)text, len);
	} else {
		if (!(f = fopen(path, "rb"))) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			yaml_parser_delete(&parser);
			return NULL;
		}
		yaml_parser_set_input_file(&parser, f);
	}
	if (!yaml_parser_load(&parser, &l.doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", l.path,
			 parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "YAML error");
		goto out;
	}
	t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(l.path)) || top(&l, t)) {
		if (!l.failed)
			snprintf(err, errlen, "%s: out of memory", l.path);
		itf_free(t);
		t = NULL;
	}
	yaml_document_delete(&l.doc);
out:
	yaml_parser_delete(&parser);
	if (f)
		fclose(f);
	return t;
}

/* ---- picking a section ---- */

int itf_match(const struct itf_pattern *p, const char *s)
{
	size_t ls, lt;
	if (!s)
		s = "";
	switch (p->mode) {
	case ITF_ANY:
		return 1;
	case ITF_EXACT:
		return !strcmp(s, p->text);
	case ITF_PREFIX:
		return !strncmp(s, p->text, strlen(p->text));
	case ITF_SUFFIX:
		ls = strlen(s);
		lt = strlen(p->text);
		return ls >= lt && !strcmp(s + ls - lt, p->text);
	case ITF_CONTAINS:
		return strstr(s, p->text) != NULL;
	case ITF_REGEX:
		return regexec(&p->re, s, 0, NULL, 0) == 0;
	}
	return 0;
}

/* The built-in defaults: a flat, SMI-S-like REST interface (the names of
 * the SMI-S properties, docs/storage-adapters.md). */
#define C(m, p, b, it, f0, f1, f2, f3, f4, f5)                                 \
	{                                                                      \
		(char *)(m), (char *)(p), (char *)(b), (char *)(it), NULL,     \
		    NULL, NULL, {(char *)(f0), (char *)(f1), (char *)(f2),     \
			   (char *)(f3), (char *)(f4), (char *)(f5)},          \
	}
static const struct itf_call builtin_ops[ITF_OP__COUNT] = {
    [ITF_OP_PRODUCT] = C("GET", "/cim/product", NULL, NULL, "Vendor", "Name",
			 "IdentifyingNumber", NULL, NULL, NULL),
    [ITF_OP_SYSTEMS] = C("GET", "/cim/systems", NULL, "systems", "Key",
			 "Name", "IdentifyingNumber", "OperationalStatus",
			 NULL, NULL),
    [ITF_OP_POOLS] = C("GET", "/cim/pools", NULL, "pools", "InstanceID",
		       "ElementName", "ClassName", "System",
		       "TotalManagedSpace", "RemainingManagedSpace"),
    [ITF_OP_VOLUMES] = C("GET", "/cim/volumes", NULL, "volumes", "DeviceID",
			 "ElementName", "Pool", "System", "ConsumableBytes",
			 "OperationalStatus"),
    [ITF_OP_PORTS] = C("GET", "/cim/ports", NULL, "ports", "Name", "Role",
		       "System", "Address", "Host", NULL),
    [ITF_OP_VIEWS] = C("GET", "/cim/views", NULL, "views", "InstanceID",
		       "ClassName", "System", "Volume", "Host", "Initiators"),
    [ITF_OP_VOLUME_CREATE] =
	C("POST", "/cim/volumes",
	  "{\"ElementName\": {name}, \"Pool\": {pool}, \"Size\": {size}}",
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    [ITF_OP_VOLUME_DELETE] = C("DELETE", "/cim/volumes/{volume}", NULL, NULL,
			       NULL, NULL, NULL, NULL, NULL, NULL),
    [ITF_OP_ASSIGN] = C("POST", "/cim/views/expose",
			"{\"Volume\": {volume}, \"Host\": {host}, "
			"\"Initiators\": {initiators}}",
			NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    [ITF_OP_UNASSIGN] = C("POST", "/cim/views/hide",
			  "{\"Volume\": {volume}, \"Host\": {host}, "
			  "\"Initiators\": {initiators}}",
			  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    [ITF_OP_PORT_CONNECT] = C("POST", "/cim/ports/{port}/connect",
			      "{\"peer\": {peer}}", NULL, NULL, NULL, NULL,
			      NULL, NULL, NULL),
    [ITF_OP_READ] = C("GET", "/cim/volumes/{volume}/data", NULL, NULL, NULL,
		      NULL, NULL, NULL, NULL, NULL),
    [ITF_OP_WRITE] = C("PUT", "/cim/volumes/{volume}/data?offset={offset}",
		       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
};
#undef C

#define FILL(field)                                                            \
	if (!out->field)                                                       \
	out->field = src->field
static void fill(struct itf_section *out, const struct itf_section *src)
{
	FILL(vendor_token);
	FILL(model_token);
	FILL(serial_from);
	FILL(sys_name_trim);
	FILL(volume_id_property);
	if (!out->volume_id_token_set && src->volume_id_token_set) {
		out->volume_id_token = src->volume_id_token;
		out->volume_id_token_set = 1;
	}
	FILL(pool_filter.class_token);
	if (!out->pool_filter.property) {
		out->pool_filter.property = src->pool_filter.property;
		out->pool_filter.value = src->pool_filter.value;
	}
	FILL(view_filter.class_token);
	if (!out->view_filter.property) {
		out->view_filter.property = src->view_filter.property;
		out->view_filter.value = src->view_filter.value;
	}
	if (!out->name_max)
		out->name_max = src->name_max;
	FILL(auth_scheme);
	FILL(auth_path);
	FILL(auth_body);
	FILL(auth_token);
	FILL(auth_header);
	FILL(auth_region);
	for (int i = 0; i < ITF_OP__COUNT; i++) {
		struct itf_call *o = &out->ops[i];
		const struct itf_call *c = &src->ops[i];
		if (!o->method)
			o->method = c->method;
		if (!o->path)
			o->path = c->path;
		if (!o->body)
			o->body = c->body;
		if (!o->items)
			o->items = c->items;
		if (!o->result)
			o->result = c->result;
		if (!o->range)
			o->range = c->range;
		if (!o->mode)
			o->mode = c->mode;
		for (int j = 0; j < ITF_MAX_FIELDS; j++)
			if (!o->fields[j])
				o->fields[j] = c->fields[j];
	}
}
#undef FILL

void itf_filled(const struct itf *t, const struct itf_section *s,
		struct itf_section *out)
{
	memset(out, 0, sizeof *out);
	out->volume_id_token = -1;
	if (s)
		*out = *s;
	if (t)
		fill(out, &t->defaults);
	struct itf_section builtin = {.volume_id_token = -1};
	builtin.serial_from = (char *)"serial";
	builtin.volume_id_property = (char *)"Name";
	builtin.model_token = (char *)"SYSTEM";
	builtin.auth_scheme = (char *)"basic";
	memcpy(builtin.ops, builtin_ops, sizeof builtin_ops);
	/* builtin's strings are literals: out may keep pointing at them */
	fill(out, &builtin);
}

const char *itf_pick(const struct itf *t, const char *vendor,
		     const char *model, struct itf_section *out)
{
	const struct itf_section *hit = NULL;
	for (size_t i = 0; t && i < t->n_sections && !hit; i++)
		if (itf_match(&t->sections[i].vendor, vendor) &&
		    itf_match(&t->sections[i].model, model))
			hit = &t->sections[i];
	itf_filled(t, hit, out);
	return hit ? hit->name : "defaults";
}
