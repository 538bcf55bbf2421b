/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node_json.c - config node trees to and from JSON (node.h).
 *
 * Per-object options (a pool's, a host's, a network's) arrive over the
 * API as JSON and reach plugins as the same read-only trellis_node_t trees
 * as their config sections.  A tree made from JSON has no file position;
 * each node's "where" names its path instead ("pool 'p1' options: a.b"),
 * so a plugin's host->node_where() message still says which value it
 * means.  The CLI goes the other way for --options-file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "node.h"

static struct trellis_node *mk(int type, const char *where)
{
	struct trellis_node *n = tr_xcalloc(1, sizeof *n);
	if (!n || !(n->where = tr_xstrdup(where))) {
		free(n);
		return NULL;
	}
	n->type = type;
	n->line = n->col = 0;
	return n;
}

trellis_node_t *tr_node_new_scalar(const char *text, int quoted,
				   const char *where)
{
	struct trellis_node *n = mk(TRELLIS_NODE_SCALAR, where);
	if (n && !(n->str = tr_xstrdup(text))) {
		tr_node_free(n);
		return NULL;
	}
	if (n)
		n->quoted = quoted;
	return n;
}

static struct trellis_node *from(const json_t *v, const char *name,
				 const char *path, int depth)
{
	char where[512];
	snprintf(where, sizeof where, "%s%s%s", name, *path ? ": " : "", path);
	if (depth > TR_NODE_MAX_DEPTH)
		return NULL;
	struct trellis_node *n = NULL;
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		n = mk(TRELLIS_NODE_MAP, where);
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			char sub[400];
			snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "",
				 k);
			struct trellis_node *kn = NULL, *vn = NULL;
			char kw[512];
			snprintf(kw, sizeof kw, "%s: %s", name, sub);
			if (!n || !(kn = mk(TRELLIS_NODE_SCALAR, kw)) ||
			    !(kn->str = tr_xstrdup(k)) ||
			    !(vn = from(x, name, sub, depth + 1)) ||
			    tr_node_push(n, kn, vn) < 0) {
				tr_node_free(kn);
				tr_node_free(vn);
				tr_node_free(n);
				return NULL;
			}
			kn->quoted = 1;
		}
		return n;
	}
	case JSON_ARRAY: {
		n = mk(TRELLIS_NODE_SEQ, where);
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			char sub[400];
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			struct trellis_node *vn = NULL;
			if (!n || !(vn = from(x, name, sub, depth + 1)) ||
			    tr_node_push(n, NULL, vn) < 0) {
				tr_node_free(vn);
				tr_node_free(n);
				return NULL;
			}
		}
		return n;
	}
	case JSON_STRING:
		n = mk(TRELLIS_NODE_SCALAR, where);
		if (n && !(n->str = tr_xstrdup(json_string_value(v)))) {
			tr_node_free(n);
			return NULL;
		}
		if (n)
			n->quoted = 1;
		return n;
	case JSON_INTEGER:
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, sizeof buf, "true");
		break;
	case JSON_FALSE:
		snprintf(buf, sizeof buf, "false");
		break;
	case JSON_NULL:
		buf[0] = '\0';
		break;
	}
	n = mk(TRELLIS_NODE_SCALAR, where);
	if (n && !(n->str = tr_xstrdup(buf))) {
		tr_node_free(n);
		return NULL;
	}
	return n;
}

trellis_node_t *tr_node_from_json(const char *name, const json_t *v)
{
	if (!v)
		return NULL;
	return from(v, name ? name : "<json>", "", 0);
}

static json_t *scalar_json(const trellis_node_t *n)
{
	int64_t i;
	int b;
	if (n->quoted)
		return json_string(n->str);
	if (tr_node_is_null(n))
		return json_null();
	if (tr_node_int(n, &i) == 0)
		return json_integer((json_int_t)i);
	if (tr_node_bool(n, &b) == 0)
		return json_boolean(b);
	return json_string(n->str);
}

json_t *tr_node_to_json(const trellis_node_t *n)
{
	switch (tr_node_type(n)) {
	case TRELLIS_NODE_SCALAR:
		return scalar_json(n);
	case TRELLIS_NODE_SEQ: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->n; i++)
			json_array_append_new(a, tr_node_to_json(n->items[i]));
		return a;
	}
	case TRELLIS_NODE_MAP: {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n->n; i++)
			json_object_set_new(o, n->keys[i]->str,
					    tr_node_to_json(n->items[i]));
		return o;
	}
	default:
		return json_null();
	}
}
