/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expr.h - workflow expressions: ${inputs.X}, ${steps.ID.FIELD},
 * ${secrets.NAME} inside YAML values.
 *
 * A string that is exactly one expression evaluates to the referenced
 * value with its type (an int stays an int); any other string with
 * expressions in it is interpolated into a string.  "$${" writes a literal
 * "${".  Templates are plain JSON values (strings deep inside objects and
 * arrays are evaluated); this module owns no state.
 */
#ifndef TRELLIS_CORE_WF_EXPR_H
#define TRELLIS_CORE_WF_EXPR_H

#include <jansson.h>
#include <stddef.h>

enum tr_ref_ns { TR_REF_INPUTS = 1, TR_REF_STEPS, TR_REF_SECRETS };

#define TR_REF_NAME_MAX 128

struct tr_ref {
	enum tr_ref_ns ns;
	char name[TR_REF_NAME_MAX];  /* input, step id or secret name */
	char field[TR_REF_NAME_MAX]; /* steps: the output field */
	char path[256];              /* steps: ".a.b" below the field, or "" */
	char text[300];              /* the expression as written, for errors */
};

/* Called for each expression in a template; non-zero stops the scan and
 * is returned. */
typedef int (*tr_expr_ref_fn)(void *arg, const struct tr_ref *ref);

/* Scans a string for expressions.  0, the callback's non-zero, or -1 with
 * a syntax error in err ("unterminated expression..."); on a syntax error
 * in one expression the scan stops. */
int tr_expr_scan(const char *s, tr_expr_ref_fn fn, void *arg, char *err,
		 size_t errlen);

/* 1 when s is exactly one expression (filling ref), else 0. */
int tr_expr_single(const char *s, struct tr_ref *ref);

/* Whether a JSON value holds an expression anywhere. */
int tr_expr_any(const json_t *v);

/* Returns the value a reference names (borrowed), or NULL with err set. */
typedef json_t *(*tr_expr_lookup_fn)(void *arg, const struct tr_ref *ref,
				     char *err, size_t errlen);

/* Evaluates a template deeply: a new value, or NULL with err set. */
json_t *tr_expr_eval(const json_t *tmpl, tr_expr_lookup_fn fn, void *arg,
		     char *err, size_t errlen);

/*
 * Evaluates a `when`: a bool, an expression (its truthiness), a
 * comparison "LEFT == RIGHT" or "LEFT != RIGHT" (both sides evaluated as
 * text; quotes around a literal side are dropped), any of them after
 * "!" to negate.  0 with *truth set, or -1 with err.
 */
int tr_expr_when(const json_t *when, tr_expr_lookup_fn fn, void *arg,
		 int *truth, char *err, size_t errlen);

/* Truthiness of an evaluated `when`: false, 0, "", "false", "no", "0"
 * and null are false. */
int tr_expr_truthy(const json_t *v);

#endif
