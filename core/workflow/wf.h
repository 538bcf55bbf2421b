/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wf.h - the workflow language: a parsed, validated workflow definition
 * (struct tr_wf) and the loader that builds one from YAML.
 *
 * The loader reads a node tree (core/util/node.h) and checks everything it
 * can without running anything: keys, types, actions and their argument
 * schemas, references in expressions, step outputs, needs, duplicate ids
 * and cycles.  It reports EVERY error it finds as "FILE:LINE:COL: message"
 * (sorted by position) rather than stopping at the first one.  A workflow
 * with any error is not returned.
 *
 * A struct tr_wf owns all its memory (strings, JSON templates) and keeps
 * no pointer into the node tree; it is immutable after loading, so the
 * engine shares one between instances.  The YAML source is kept in it so
 * that an instance journals exactly the definition it runs.
 *
 * The action registry must be initialised (tr_actions_init) first.
 */
#ifndef TRELLIS_CORE_WF_H
#define TRELLIS_CORE_WF_H

#include <jansson.h>
#include <stddef.h>

#include "../actions/action.h"

enum tr_wf_priority { TR_WF_PRIO_NORMAL = 0, TR_WF_PRIO_HIGH = 1 };

struct tr_wf_input {
	char *name;
	enum tr_type type; /* STRING INT BOOL SIZE DURATION SECRET */
	int required;
	json_t *def; /* normalised default, or NULL */
	char *description;
};

struct tr_wf_step {
	char *id;
	char *call;
	const struct tr_action *action;
	json_t *with;   /* object of templates */
	size_t *deps;   /* indices of the steps this one waits for:
			 * needs + implicit ${steps.X} references */
	size_t n_deps;
	char **needs;   /* explicit needs, as written */
	size_t n_needs;
	json_t *when;   /* template, or NULL */
	int attempts;   /* >= 1 */
	long long backoff_ms, max_backoff_ms;
	long long timeout_ms; /* 0: none */
	int continue_on_error;
	int enabled;
	int priority;   /* higher runs first among ready steps */
	/* Compensation: undo_action with undo_with, or (when undo_with is
	 * NULL) the step's own arguments and outputs filtered by the undo
	 * action's schema. */
	const struct tr_action *undo_action;
	json_t *undo_with;
	int line;
};

struct tr_wf {
	char *name;
	long long version;
	char *description;
	char *file;   /* where it was loaded from */
	char *source; /* the YAML text */
	struct tr_wf_input *inputs;
	size_t n_inputs;
	struct tr_wf_step *steps; /* in file order */
	size_t n_steps;
	size_t *by_id; /* step indices sorted by id, for lookups */
	json_t *outputs; /* object of templates (may be empty) */
	long long timeout_ms;
	enum tr_wf_priority priority;
};

/* Errors from loading: each "FILE:LINE:COL: message". */
struct tr_wf_errors {
	char **msg;
	int *line, *col;
	size_t n;
};
void tr_wf_errors_free(struct tr_wf_errors *e);

/* Loads and validates.  0 with *out set, or -1 with every error in errs
 * (errs is always filled, never partially freed; free it either way). */
int tr_wf_load_file(const char *path, struct tr_wf **out,
		    struct tr_wf_errors *errs);
/* The same from a buffer; name is the file name used in messages. */
int tr_wf_load_string(const char *name, const char *buf, size_t len,
		      struct tr_wf **out, struct tr_wf_errors *errs);
void tr_wf_free(struct tr_wf *wf);

const struct tr_wf_step *tr_wf_step_find(const struct tr_wf *wf,
					 const char *id, size_t *index);
const struct tr_wf_input *tr_wf_input_find(const struct tr_wf *wf,
					   const char *name);

/*
 * Checks and normalises the inputs of a run: given is an object whose
 * values are JSON values or, from the command line, strings ("10G", "true"),
 * which are converted by the input's type.  Unknown and missing required
 * inputs are errors; defaults are filled in.  A new object in *out, or -1
 * with the reason in err.
 */
int tr_wf_inputs_bind(const struct tr_wf *wf, json_t *given, json_t **out,
		      char *err, size_t errlen);

/* The definition as JSON (for `workflow defs` and `validate -o json`). */
json_t *tr_wf_json(const struct tr_wf *wf);

/* Graphviz dot text of the DAG (a new string). */
char *tr_wf_dot(const struct tr_wf *wf);
/* That text as SVG, by Graphviz's `dot -Tsvg` (it blocks: a worker's or
 * the CLI's thread).  0 with *svg (a new string), or -1 with the reason
 * in err. */
int tr_wf_dot_svg(const char *dot, char **svg, char *err, size_t errlen);

#endif
