/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load_int.h - state shared by the layers of the workflow loader, each
 * calling only the ones below it (tests/unit/house/layers.t):
 * ldread.c (the error list and typed readers) at the bottom, inputs.c
 * (the `inputs` map), check.c (references, dependencies, cycles), and
 * load.c (documents, steps, actions, arguments) on top.  Internal to
 * core/workflow.
 */
#ifndef TRELLIS_CORE_WF_LOAD_INT_H
#define TRELLIS_CORE_WF_LOAD_INT_H

#include "../util/node.h"
#include "wf.h"

/* Nodes of one step, kept while loading for error positions. */
struct step_nodes {
	const trellis_node_t *map, *id, *call, *with, *needs, *when;
	const trellis_node_t *undo_call, *undo_with;
	int undo_off;   /* undo: null/false: no compensation at all */
	int duplicate;  /* a later step with an id already used */
};

struct ld {
	struct tr_wf *wf;
	struct tr_wf_errors *errs;
	struct step_nodes *sn; /* one per step */
	const trellis_node_t *outputs;
};

/* ldread.c */
void tr_ld_err(struct ld *l, const trellis_node_t *n, const char *fmt, ...)
	TRELLIS_PRINTF(3, 4);
/* A JSON value from a node: unquoted scalars become ints, bools, reals or
 * null where YAML would read them so; quoted ones stay strings. */
json_t *tr_ld_json(const trellis_node_t *n);
const char *tr_ld_kind(const trellis_node_t *n); /* "a map", "a list"... */

/* ldread.c: typed readers for the layers above; each reports its own
 * error. */
int tr_ld_keys_check(struct ld *l, const trellis_node_t *map, const char *what,
		  const char *const *allowed);
char *tr_ld_get_str(struct ld *l, const trellis_node_t *n, const char *what);
int tr_ld_get_bool(struct ld *l, const trellis_node_t *n, const char *what,
		int *out);
int tr_ld_get_int(struct ld *l, const trellis_node_t *n, const char *what,
		  long long min, long long *out);
/* YAML durations need a unit: "timeout: 30" would be 30 ms, which is
 * never what anybody meant. */
int tr_ld_get_duration(struct ld *l, const trellis_node_t *n, const char *what,
		       long long *ms);
/* Letters, digits, '_', '-' and the characters in extra (may be NULL). */
int tr_ld_name_ok(const char *s, const char *extra);

/* inputs.c: the `inputs` map. */
void tr_ld_inputs(struct ld *l, const trellis_node_t *map);

/* check.c: references, implicit dependencies, needs, cycles.  Runs after
 * every step is parsed. */
void tr_ld_check(struct ld *l);

#endif
