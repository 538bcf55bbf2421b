/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.h - read-only YAML document trees with source positions.
 *
 * The daemon config, plugin config sections and workflow files are parsed
 * with libyaml into trellis_node_t trees.  Every node remembers the file,
 * line and column it came from, so that every error can say
 * "FILE:LINE:COL: message".  Aliases are refused (no "billion laughs"),
 * duplicate map keys are errors, and depth is bounded.
 *
 * A tree is owned by its root: tr_node_free(root) frees everything,
 * including the file name the nodes point to.
 */
#ifndef TRELLIS_CORE_NODE_H
#define TRELLIS_CORE_NODE_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/host.h>

struct trellis_node {
	int type;              /* enum trellis_node_type */
	char *str;             /* scalar text */
	int quoted;            /* scalar was quoted: never a number/bool/null */
	size_t n;              /* items (seq) or pairs (map) */
	struct trellis_node **items; /* seq items or map values */
	struct trellis_node **keys;  /* map keys (scalars), NULL for seq */
	const char *file;      /* owned by the root's file_owned */
	int line, col;         /* 1-based */
	char *where;           /* "file:line:col" */
	char *file_owned;      /* set on the root only */
};

#define TR_NODE_MAX_DEPTH 64

/* Parse a YAML document.  NULL on error, with "FILE:LINE:COL: message" in
 * err.  An empty document gives an empty map. */
trellis_node_t *tr_node_parse_file(const char *path, char *err, size_t errlen);
trellis_node_t *tr_node_parse_string(const char *name, const char *buf,
				     size_t len, char *err, size_t errlen);
trellis_node_t *tr_node_new_map(const char *name);
void tr_node_free(trellis_node_t *root);

int tr_node_type(const trellis_node_t *n);
const trellis_node_t *tr_node_get(const trellis_node_t *map, const char *key);
size_t tr_node_len(const trellis_node_t *n);
const trellis_node_t *tr_node_at(const trellis_node_t *n, size_t i);
const trellis_node_t *tr_node_key_node_at(const trellis_node_t *map, size_t i);
const char *tr_node_key_at(const trellis_node_t *map, size_t i);
const char *tr_node_str(const trellis_node_t *n);
int tr_node_int(const trellis_node_t *n, int64_t *out);
int tr_node_bool(const trellis_node_t *n, int *out);
const char *tr_node_where(const trellis_node_t *n);
/* Whether a scalar is YAML null ("", "~", "null") and unquoted. */
int tr_node_is_null(const trellis_node_t *n);

#endif
