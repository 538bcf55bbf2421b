/* SPDX-License-Identifier: Apache-2.0 */
/* confschema.c - see confschema.h. */
#include "confschema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/node.h"
#include "../util/suggest.h"

const trellis_config_schema_t *
tr_plugin_config_schema(const struct trellis_plugin *p)
{
	const trellis_plugin_desc_t *d = p ? p->desc : NULL;
	if (!d || d->abi_minor < 1 ||
	    d->struct_size < offsetof(trellis_plugin_desc_t, config_schema) +
				 sizeof d->config_schema)
		return NULL;
	return d->config_schema;
}

const trellis_config_schema_t *
tr_plugin_options_schema(const struct trellis_plugin *p)
{
	const trellis_plugin_desc_t *d = p ? p->desc : NULL;
	if (!d || d->abi_minor < 1 ||
	    d->struct_size < offsetof(trellis_plugin_desc_t, options_schema) +
				 sizeof d->options_schema)
		return NULL;
	return d->options_schema;
}

static const trellis_config_key_t *key_at(const trellis_config_schema_t *s,
					  size_t i)
{
	const trellis_config_key_t *k =
		(const void *)((const char *)s->keys + i * s->key_size);
	return k->name ? k : NULL;
}

const char *tr_schema_type_name(uint32_t type)
{
	static const char *const names[] = {
		[TRELLIS_CONFIG_STRING] = "string",
		[TRELLIS_CONFIG_INT] = "int",
		[TRELLIS_CONFIG_BOOL] = "bool",
		[TRELLIS_CONFIG_SIZE] = "size",
		[TRELLIS_CONFIG_DURATION] = "duration",
		[TRELLIS_CONFIG_LIST] = "list",
		[TRELLIS_CONFIG_MAP] = "map",
	};
	return type && type < sizeof names / sizeof *names ? names[type]
							   : NULL;
}

/* What a value of the type looks like, for messages. */
static const char *type_hint(uint32_t type)
{
	switch (type) {
	case TRELLIS_CONFIG_STRING: return "a string";
	case TRELLIS_CONFIG_INT: return "a whole number";
	case TRELLIS_CONFIG_BOOL: return "true or false";
	case TRELLIS_CONFIG_SIZE: return "a size (like 4096, 64M or 2G)";
	case TRELLIS_CONFIG_DURATION:
		return "a duration (like 250ms, 30s or 2m)";
	case TRELLIS_CONFIG_LIST: return "a list";
	case TRELLIS_CONFIG_MAP: return "a map";
	default: return "?";
	}
}

/* Whether v is a value of type. */
static int type_ok(uint32_t type, const trellis_node_t *v)
{
	int64_t i;
	int b;
	uint64_t u;
	switch (type) {
	case TRELLIS_CONFIG_STRING:
		return tr_node_type(v) == TRELLIS_NODE_SCALAR &&
		       !tr_node_is_null(v);
	case TRELLIS_CONFIG_INT: return tr_node_int(v, &i) == 0;
	case TRELLIS_CONFIG_BOOL: return tr_node_bool(v, &b) == 0;
	case TRELLIS_CONFIG_SIZE: return tr_node_size(v, &u) == 0;
	case TRELLIS_CONFIG_DURATION: return tr_node_duration(v, &u) == 0;
	case TRELLIS_CONFIG_LIST:
		if (tr_node_type(v) != TRELLIS_NODE_SEQ)
			return 0;
		for (size_t k = 0; k < tr_node_len(v); k++)
			if (tr_node_type(tr_node_at(v, k)) !=
			    TRELLIS_NODE_SCALAR)
				return 0;
		return 1;
	case TRELLIS_CONFIG_MAP: return tr_node_type(v) == TRELLIS_NODE_MAP;
	default: return 0;
	}
}

/* A default as a node: parsed as the YAML it is written as. */
static trellis_node_t *default_node(const trellis_config_key_t *k,
				    const char *name)
{
	char err[256];
	const char *v = k->default_value;
	return tr_node_parse_string(name, v, strlen(v), err, sizeof err);
}

int tr_schema_valid(const trellis_config_schema_t *s, char *err,
		    size_t errlen)
{
	if (s->struct_size < offsetof(trellis_config_schema_t, keys) +
				     sizeof s->keys) {
		snprintf(err, errlen, "struct_size %u is too small",
			 s->struct_size);
		return -1;
	}
	if (s->key_size < sizeof(trellis_config_key_t) || !s->keys) {
		snprintf(err, errlen, "key_size %u is below ABI 1.1's %zu (or "
			 "no keys): use TRELLIS_CONFIG_SCHEMA",
			 s->key_size, sizeof(trellis_config_key_t));
		return -1;
	}
	const trellis_config_key_t *k;
	for (size_t i = 0; (k = key_at(s, i)); i++) {
		if (!*k->name || strchr(k->name, '.')) {
			snprintf(err, errlen, "key '%s': not a key name",
				 k->name);
			return -1;
		}
		if (!tr_schema_type_name(k->type)) {
			snprintf(err, errlen, "key '%s': unknown type %u",
				 k->name, k->type);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(key_at(s, j)->name, k->name) == 0) {
				snprintf(err, errlen, "key '%s' twice",
					 k->name);
				return -1;
			}
		if (k->default_value && (k->flags & TRELLIS_CONFIG_REQUIRED)) {
			snprintf(err, errlen, "key '%s': required keys have "
				 "no default", k->name);
			return -1;
		}
		if (k->default_value) {
			trellis_node_t *d = default_node(k, "default");
			int ok = d && type_ok(k->type, d);
			tr_node_free(d);
			if (!ok) {
				snprintf(err, errlen, "key '%s': default '%s' "
					 "is not %s", k->name, k->default_value,
					 type_hint(k->type));
				return -1;
			}
		}
	}
	return 0;
}

struct errs {
	char *buf;
	size_t len, off;
	int n;
};

static void add_err(struct errs *e, const char *fmt, ...)
	TRELLIS_PRINTF(2, 3);
static void add_err(struct errs *e, const char *fmt, ...)
{
	e->n++;
	if (e->off + 8 >= e->len)
		return;
	if (e->off) {
		snprintf(e->buf + e->off, e->len - e->off, "; ");
		e->off += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(e->buf + e->off, e->len - e->off, fmt, ap);
	va_end(ap);
	if (w > 0)
		e->off += (size_t)w < e->len - e->off ? (size_t)w
						      : e->len - e->off - 1;
}

static void unknown_key(struct errs *e, const trellis_config_schema_t *s,
			const trellis_node_t *keynode, const char *what)
{
	const char *name = tr_node_str(keynode);
	const trellis_config_key_t *k;
	char known[512] = "";
	size_t off = 0;
	struct tr_suggest sg;
	tr_suggest_init(&sg, name);
	for (size_t i = 0; (k = key_at(s, i)); i++) {
		tr_suggest_add(&sg, k->name);
		int w = snprintf(known + off, sizeof known - off, "%s%s",
				 i ? ", " : "", k->name);
		if (w > 0 && (size_t)w < sizeof known - off)
			off += (size_t)w;
	}
	if (sg.best)
		add_err(e, "%s: %s: unknown key '%s' (did you mean '%s'?)",
			tr_node_where(keynode), what, name, sg.best);
	else
		add_err(e, "%s: %s: unknown key '%s' (known: %s)",
			tr_node_where(keynode), what, name,
			off ? known : "none");
}

int tr_schema_check(const trellis_config_schema_t *s,
		    const trellis_node_t *node, const char *what,
		    const trellis_node_t *parent, char *err, size_t errlen)
{
	struct errs e = {err, errlen, 0, 0};
	if (errlen)
		err[0] = '\0';
	if (node && tr_node_type(node) != TRELLIS_NODE_MAP) {
		add_err(&e, "%s: %s: expected a map of settings",
			tr_node_where(node), what);
		return e.n;
	}
	for (size_t i = 0; i < tr_node_len(node); i++) {
		const char *name = tr_node_key_at(node, i);
		const trellis_config_key_t *k = NULL;
		for (size_t j = 0; (k = key_at(s, j)); j++)
			if (strcmp(k->name, name) == 0)
				break;
		if (!k) {
			if (strcmp(name, "optional") != 0 &&
			    !(s->flags & TRELLIS_CONFIG_OPEN))
				unknown_key(&e, s, tr_node_key_node_at(node, i),
					    what);
			continue;
		}
		const trellis_node_t *v = tr_node_at(node, i);
		if (!type_ok(k->type, v)) {
			const char *got = tr_node_str(v);
			if (k->flags & TRELLIS_CONFIG_SECRET)
				got = "(secret)";
			add_err(&e, "%s: %s.%s: expected %s, got %s%s%s",
				tr_node_where(v), what, name,
				type_hint(k->type), got ? "'" : "",
				got ? got
				    : tr_node_type(v) == TRELLIS_NODE_MAP
					  ? "a map"
					  : "a list",
				got ? "'" : "");
		}
	}
	const trellis_config_key_t *k;
	for (size_t j = 0; (k = key_at(s, j)); j++)
		if ((k->flags & TRELLIS_CONFIG_REQUIRED) &&
		    !tr_node_get(node, k->name))
		{
			const char *w = tr_node_where(node ? node : parent);
			add_err(&e, "%s%s%s: missing required key '%s' (%s)", w,
				*w ? ": " : "", what, k->name,
				k->doc ? k->doc : type_hint(k->type));
		}
	return e.n;
}

trellis_node_t *tr_schema_apply(const trellis_config_schema_t *s,
				const trellis_node_t *node,
				const char *const *skip, const char *name)
{
	trellis_node_t *c = node ? tr_node_clone(node, skip)
				 : tr_node_new_map(name);
	if (!c || !s || tr_node_type(c) != TRELLIS_NODE_MAP)
		return c;
	const trellis_config_key_t *k;
	for (size_t j = 0; (k = key_at(s, j)); j++) {
		if (!k->default_value || tr_node_get(c, k->name))
			continue;
		char where[256];
		snprintf(where, sizeof where, "%s (default of %s)",
			 tr_node_where(c), k->name);
		trellis_node_t *v = default_node(k, where);
		trellis_node_t *kn = tr_node_new_scalar(k->name, 1, where);
		if (!v || !kn || tr_node_push(c, kn, v) < 0) {
			tr_node_free(v);
			tr_node_free(kn);
			tr_node_free(c);
			return NULL;
		}
	}
	return c;
}

json_t *tr_schema_json(const trellis_config_schema_t *s)
{
	if (!s)
		return NULL;
	json_t *a = json_array();
	const trellis_config_key_t *k;
	for (size_t j = 0; (k = key_at(s, j)); j++) {
		json_t *o = json_pack(
			"{s:s, s:s, s:b, s:b}", "name", k->name, "type",
			tr_schema_type_name(k->type), "required",
			(k->flags & TRELLIS_CONFIG_REQUIRED) != 0, "secret",
			(k->flags & TRELLIS_CONFIG_SECRET) != 0);
		json_object_set_new(o, "default",
				    k->default_value
					    ? json_string(k->default_value)
					    : json_null());
		json_object_set_new(o, "doc", json_string(k->doc ? k->doc : ""));
		json_array_append_new(a, o);
	}
	return a;
}

int tr_plugin_open_options(const struct trellis_plugin *p,
			   const trellis_node_t *given, const char *what,
			   trellis_call_t *call, trellis_node_t **out)
{
	const trellis_config_schema_t *os = tr_plugin_options_schema(p);
	*out = NULL;
	if (!os && !given)
		return 0;
	char err[2048];
	if (os && tr_schema_check(os, given, what, NULL, err, sizeof err) > 0)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
	*out = tr_schema_apply(os, given, NULL, what);
	return *out ? 0 : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}
