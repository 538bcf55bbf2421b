/* SPDX-License-Identifier: Apache-2.0 */
/* node.c - see node.h.  Built from libyaml's event stream. */
#include "node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "alloc.h"

struct builder {
	yaml_parser_t parser;
	const char *file;
	char *err;
	size_t errlen;
	size_t count;
};

#define TR_NODE_MAX_NODES 1000000

static void set_err(struct builder *b, yaml_mark_t m, const char *msg)
{
	snprintf(b->err, b->errlen, "%s:%zu:%zu: %s", b->file, m.line + 1,
		 m.column + 1, msg);
}

static struct trellis_node *node_new(struct builder *b, int type,
				     yaml_mark_t m)
{
	struct trellis_node *n = tr_xcalloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->type = type;
	n->file = b->file;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	char buf[64];
	snprintf(buf, sizeof buf, ":%d:%d", n->line, n->col);
	size_t fl = strlen(b->file);
	n->where = tr_xmalloc(fl + strlen(buf) + 1);
	if (!n->where) {
		free(n);
		return NULL;
	}
	memcpy(n->where, b->file, fl);
	strcpy(n->where + fl, buf);
	b->count++;
	return n;
}

static void node_free(struct trellis_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->str);
	free(n->where);
	free(n->file_owned);
	free(n);
}

static int push(struct trellis_node *parent, struct trellis_node *key,
		struct trellis_node *val)
{
	struct trellis_node **items =
		tr_xrealloc(parent->items, (parent->n + 1) * sizeof *items);
	if (!items)
		return -1;
	parent->items = items;
	if (parent->type == TRELLIS_NODE_MAP) {
		struct trellis_node **keys =
			tr_xrealloc(parent->keys, (parent->n + 1) * sizeof *keys);
		if (!keys)
			return -1;
		parent->keys = keys;
		keys[parent->n] = key;
	}
	items[parent->n++] = val;
	return 0;
}

/* Reads one node whose first event is ev (consumed by the caller). */
static struct trellis_node *build(struct builder *b, yaml_event_t *ev,
				  int depth);

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev)) {
		yaml_mark_t m = b->parser.problem_mark;
		char msg[256];
		snprintf(msg, sizeof msg, "YAML syntax error: %s%s%s",
			 b->parser.problem ? b->parser.problem : "unknown",
			 b->parser.context ? " " : "",
			 b->parser.context ? b->parser.context : "");
		set_err(b, m, msg);
		return -1;
	}
	return 0;
}

static struct trellis_node *build_collection(struct builder *b,
					     yaml_event_t *start, int depth)
{
	int is_map = start->type == YAML_MAPPING_START_EVENT;
	struct trellis_node *n = node_new(
		b, is_map ? TRELLIS_NODE_MAP : TRELLIS_NODE_SEQ,
		start->start_mark);
	if (!n) {
		set_err(b, start->start_mark, "out of memory");
		return NULL;
	}
	if (depth > TR_NODE_MAX_DEPTH) {
		set_err(b, start->start_mark, "document nested too deeply");
		node_free(n);
		return NULL;
	}
	for (;;) {
		yaml_event_t ev;
		if (next_event(b, &ev) < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return n;
		}
		struct trellis_node *key = NULL;
		if (is_map) {
			if (ev.type != YAML_SCALAR_EVENT) {
				set_err(b, ev.start_mark,
					"map keys must be plain strings");
				yaml_event_delete(&ev);
				goto fail;
			}
			key = build(b, &ev, depth + 1);
			yaml_event_delete(&ev);
			if (!key)
				goto fail;
			for (size_t i = 0; i < n->n; i++) {
				if (strcmp(n->keys[i]->str, key->str) == 0) {
					char msg[320];
					snprintf(msg, sizeof msg,
						 "duplicate key '%.200s' (first "
						 "at line %d)",
						 key->str, n->keys[i]->line);
					snprintf(b->err, b->errlen,
						 "%s: %s", key->where, msg);
					node_free(key);
					goto fail;
				}
			}
			if (next_event(b, &ev) < 0) {
				node_free(key);
				goto fail;
			}
		}
		struct trellis_node *val = build(b, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!val) {
			node_free(key);
			goto fail;
		}
		if (push(n, key, val) < 0) {
			node_free(key);
			node_free(val);
			set_err(b, start->start_mark, "out of memory");
			goto fail;
		}
	}
fail:
	node_free(n);
	return NULL;
}

static struct trellis_node *build(struct builder *b, yaml_event_t *ev,
				  int depth)
{
	if (b->count >= TR_NODE_MAX_NODES) {
		set_err(b, ev->start_mark, "document has too many nodes");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct trellis_node *n =
			node_new(b, TRELLIS_NODE_SCALAR, ev->start_mark);
		if (!n)
			goto oom;
		n->str = tr_xmalloc(ev->data.scalar.length + 1);
		if (!n->str) {
			node_free(n);
			goto oom;
		}
		memcpy(n->str, ev->data.scalar.value, ev->data.scalar.length);
		n->str[ev->data.scalar.length] = '\0';
		if (strlen(n->str) != ev->data.scalar.length) {
			set_err(b, ev->start_mark,
				"NUL byte in a scalar is not allowed");
			node_free(n);
			return NULL;
		}
		n->quoted = ev->data.scalar.style !=
				    YAML_PLAIN_SCALAR_STYLE;
		return n;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return build_collection(b, ev, depth);
	case YAML_ALIAS_EVENT:
		set_err(b, ev->start_mark,
			"YAML aliases (*name) are not supported");
		return NULL;
	default:
		set_err(b, ev->start_mark, "unexpected YAML event");
		return NULL;
	}
oom:
	set_err(b, ev->start_mark, "out of memory");
	return NULL;
}

static trellis_node_t *parse(struct builder *b)
{
	struct trellis_node *root = NULL;
	yaml_event_t ev;
	int docs = 0;
	for (;;) {
		if (next_event(b, &ev) < 0)
			goto fail;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				set_err(b, ev.start_mark,
					"only one YAML document per file");
				yaml_event_delete(&ev);
				goto fail;
			}
		} else if (t != YAML_STREAM_START_EVENT &&
			   t != YAML_DOCUMENT_END_EVENT) {
			root = build(b, &ev, 0);
			if (!root) {
				yaml_event_delete(&ev);
				goto fail;
			}
		}
		yaml_event_delete(&ev);
	}
	if (!root || (root->type == TRELLIS_NODE_SCALAR &&
		      tr_node_is_null(root))) {
		yaml_mark_t m = {0, 0, 0};
		node_free(root);
		root = node_new(b, TRELLIS_NODE_MAP, m);
		if (!root)
			goto fail;
	}
	return root;
fail:
	node_free(root);
	return NULL;
}

static trellis_node_t *finish(struct builder *b, trellis_node_t *root,
			      char *file_copy)
{
	yaml_parser_delete(&b->parser);
	if (!root) {
		free(file_copy);
		return NULL;
	}
	root->file_owned = file_copy;
	return root;
}

trellis_node_t *tr_node_parse_string(const char *name, const char *buf,
				     size_t len, char *err, size_t errlen)
{
	struct builder b = {.err = err, .errlen = errlen};
	char *file = tr_xstrdup(name ? name : "<string>");
	if (!file) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	b.file = file;
	if (!yaml_parser_initialize(&b.parser)) {
		snprintf(err, errlen, "%s: cannot initialise YAML parser",
			 file);
		free(file);
		return NULL;
	}
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf,
				     len);
	return finish(&b, parse(&b), file);
}

trellis_node_t *tr_node_parse_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct builder b = {.err = err, .errlen = errlen};
	char *file = tr_xstrdup(path);
	if (!file || !yaml_parser_initialize(&b.parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(file);
		fclose(f);
		return NULL;
	}
	b.file = file;
	yaml_parser_set_input_file(&b.parser, f);
	trellis_node_t *root = finish(&b, parse(&b), file);
	fclose(f);
	return root;
}

trellis_node_t *tr_node_new_map(const char *name)
{
	struct builder b = {.file = name ? name : "<empty>"};
	yaml_mark_t m = {0, 0, 0};
	char *file = tr_xstrdup(b.file);
	if (!file)
		return NULL;
	b.file = file;
	struct trellis_node *n = node_new(&b, TRELLIS_NODE_MAP, m);
	if (!n) {
		free(file);
		return NULL;
	}
	n->file_owned = file;
	return n;
}

void tr_node_free(trellis_node_t *root)
{
	node_free(root);
}

int tr_node_type(const trellis_node_t *n)
{
	return n ? n->type : TRELLIS_NODE_NONE;
}

const trellis_node_t *tr_node_get(const trellis_node_t *map, const char *key)
{
	if (!map || map->type != TRELLIS_NODE_MAP || !key)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->items[i];
	return NULL;
}

size_t tr_node_len(const trellis_node_t *n)
{
	return n && n->type != TRELLIS_NODE_SCALAR ? n->n : 0;
}

const trellis_node_t *tr_node_at(const trellis_node_t *n, size_t i)
{
	return n && n->type != TRELLIS_NODE_SCALAR && i < n->n ? n->items[i]
							       : NULL;
}

const trellis_node_t *tr_node_key_node_at(const trellis_node_t *map, size_t i)
{
	return map && map->type == TRELLIS_NODE_MAP && i < map->n
		       ? map->keys[i]
		       : NULL;
}

const char *tr_node_key_at(const trellis_node_t *map, size_t i)
{
	const trellis_node_t *k = tr_node_key_node_at(map, i);
	return k ? k->str : NULL;
}

const char *tr_node_str(const trellis_node_t *n)
{
	return n && n->type == TRELLIS_NODE_SCALAR ? n->str : NULL;
}

int tr_node_is_null(const trellis_node_t *n)
{
	if (!n || n->type != TRELLIS_NODE_SCALAR || n->quoted)
		return 0;
	return n->str[0] == '\0' || strcmp(n->str, "~") == 0 ||
	       strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	       strcmp(n->str, "NULL") == 0;
}

int tr_node_int(const trellis_node_t *n, int64_t *out)
{
	const char *s = tr_node_str(n);
	if (!s || !*s || n->quoted)
		return TRELLIS_E_INVALID_ARG;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || *end)
		return TRELLIS_E_INVALID_ARG;
	*out = v;
	return 0;
}

int tr_node_bool(const trellis_node_t *n, int *out)
{
	const char *s = tr_node_str(n);
	if (!s || n->quoted)
		return TRELLIS_E_INVALID_ARG;
	static const char *const yes[] = {"true", "True", "TRUE", "yes",
					  "Yes", "on", "On"};
	static const char *const no[] = {"false", "False", "FALSE", "no",
					 "No", "off", "Off"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return TRELLIS_E_INVALID_ARG;
}

const char *tr_node_where(const trellis_node_t *n)
{
	return n && n->where ? n->where : "";
}
