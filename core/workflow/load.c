/* SPDX-License-Identifier: Apache-2.0 */
/* load.c - the top of the workflow loader (wf.h, load_int.h): a document
 * and its steps, actions and their argument schemas; it calls inputs.c
 * for the inputs and check.c for the references, both over ldread.c's
 * readers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/suggest.h"
#include "expr.h"
#include "load_int.h"

#define WF_MAX_BYTES (8u << 20)

void tr_wf_errors_free(struct tr_wf_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	free(e->line);
	free(e->col);
	memset(e, 0, sizeof *e);
}

static const struct tr_action *find_action(struct ld *l,
					   const trellis_node_t *n,
					   const char *what)
{
	const char *name = tr_node_str(n);
	if (!name || !*name || tr_node_is_null(n)) {
		tr_ld_err(l, n, "%s: expected an action name, got %s", what,
		       tr_ld_kind(n));
		return NULL;
	}
	const struct tr_action *a = tr_action_find(name);
	if (a)
		return a;
	struct tr_suggest sg;
	tr_suggest_init(&sg, name);
	for (size_t i = 0; i < tr_action_count(); i++)
		tr_suggest_add(&sg, tr_action_at(i)->name);
	const char *best = sg.best;
	if (best)
		tr_ld_err(l, n, "unknown action '%s' (did you mean '%s'?)", name,
		       best);
	else
		tr_ld_err(l, n, "unknown action '%s' (see `trellis action list`)",
		       name);
	return NULL;
}

/* ---- steps ---- */

static const char *const STEP_KEYS[] = {
	"id",	   "call",		"with",	   "needs",    "when",
	"retry",   "timeout",		"continue_on_error", "enabled",
	"undo",	   "priority",	"description", NULL};
static const char *const RETRY_KEYS[] = {"attempts", "backoff", "max_backoff",
					 NULL};
static const char *const UNDO_KEYS[] = {"call", "with", NULL};

/* Checks the arguments of a `with` map against an action's input schema,
 * as far as they are known before running. */
static void check_with(struct ld *l, const trellis_node_t *with,
		       const struct tr_action *a, const char *what,
		       const trellis_node_t *at)
{
	if (!a)
		return;
	for (size_t i = 0; i < tr_node_len(with); i++) {
		const trellis_node_t *k = tr_node_key_node_at(with, i);
		const trellis_node_t *v = tr_node_at(with, i);
		const struct tr_field *f = tr_field_find(a->input, k->str);
		if (!f) {
			char list[300] = "";
			for (const struct tr_field *g = a->input; g && g->name;
			     g++) {
				size_t len = strlen(list);
				snprintf(list + len, sizeof list - len, "%s%s",
					 len ? ", " : "", g->name);
			}
			tr_ld_err(l, k, "%s: %s takes no argument '%s' (arguments: "
				     "%s)",
			       what, a->name, k->str, *list ? list : "none");
			continue;
		}
		/* Values with expressions are type-checked in check.c, once
		 * the types of what they reference are known. */
		json_t *j = tr_ld_json(v);
		if (!tr_expr_any(j) && !(json_is_null(j) && !f->required)) {
			char why[200];
			json_t *norm = NULL;
			if (f->type == TR_T_DURATION && json_is_integer(j) &&
			    json_integer_value(j) != 0)
				/* As for timeout: 30 would be 30 ms, which
				 * nobody writing it means.  A value from an
				 * expression keeps its milliseconds. */
				tr_ld_err(l, v,
					  "%s: argument '%s' of %s: a bare number "
					  "is refused for a duration; say %llds or "
					  "%lldms",
					  what, f->name, a->name,
					  (long long)json_integer_value(j),
					  (long long)json_integer_value(j));
			else if (tr_field_check(f, j, &norm, why, sizeof why) < 0)
				tr_ld_err(l, v, "%s: argument '%s' of %s: %s", what,
				       f->name, a->name, why);
			json_decref(norm);
		}
		json_decref(j);
	}
	for (const struct tr_field *f = a->input; f && f->name; f++)
		if (f->required && !tr_node_get(with, f->name))
			tr_ld_err(l, with ? with : at,
			       "%s: missing required argument '%s' of %s", what,
			       f->name, a->name);
}

static void load_retry(struct ld *l, struct tr_wf_step *s,
		       const trellis_node_t *n)
{
	long long v;
	if (tr_node_type(n) == TRELLIS_NODE_SCALAR) {
		if (tr_ld_get_int(l, n, "retry", 1, &v) == 0)
			s->attempts = (int)(v > 1000 ? 1000 : v);
		return;
	}
	if (tr_node_type(n) != TRELLIS_NODE_MAP) {
		tr_ld_err(l, n, "retry: expected a map {attempts, backoff, "
			     "max_backoff} or a number of attempts, got %s",
		       tr_ld_kind(n));
		return;
	}
	tr_ld_keys_check(l, n, "retry", RETRY_KEYS);
	const trellis_node_t *x;
	if ((x = tr_node_get(n, "attempts")) &&
	    tr_ld_get_int(l, x, "retry.attempts", 1, &v) == 0)
		s->attempts = (int)(v > 1000 ? 1000 : v);
	if ((x = tr_node_get(n, "backoff")))
		tr_ld_get_duration(l, x, "retry.backoff", &s->backoff_ms);
	if ((x = tr_node_get(n, "max_backoff")))
		tr_ld_get_duration(l, x, "retry.max_backoff",
				   &s->max_backoff_ms);
	if (s->max_backoff_ms < s->backoff_ms)
		s->max_backoff_ms = s->backoff_ms;
}

static void load_undo(struct ld *l, struct tr_wf_step *s,
		      struct step_nodes *sn, const trellis_node_t *n)
{
	int b;
	if (tr_node_is_null(n) || (tr_node_bool(n, &b) == 0 && !b)) {
		sn->undo_off = 1;
		return;
	}
	if (tr_node_type(n) == TRELLIS_NODE_SCALAR) {
		sn->undo_call = n;
	} else if (tr_node_type(n) == TRELLIS_NODE_MAP) {
		tr_ld_keys_check(l, n, "undo", UNDO_KEYS);
		sn->undo_call = tr_node_get(n, "call");
		sn->undo_with = tr_node_get(n, "with");
		if (!sn->undo_call)
			tr_ld_err(l, n, "undo: missing 'call'");
	} else {
		tr_ld_err(l, n, "undo: expected an action name or {call, with}, "
			     "got %s",
		       tr_ld_kind(n));
		return;
	}
	if (sn->undo_call)
		s->undo_action = find_action(l, sn->undo_call, "undo");
	if (sn->undo_with) {
		if (tr_node_type(sn->undo_with) != TRELLIS_NODE_MAP) {
			tr_ld_err(l, sn->undo_with,
			       "undo.with: expected a map of arguments, got %s",
			       tr_ld_kind(sn->undo_with));
			sn->undo_with = NULL;
		} else {
			s->undo_with = tr_ld_json(sn->undo_with);
		}
	}
}

/* A step without a usable id gets one no reference can match. */
static char *anon_id(size_t idx)
{
	char buf[32];
	snprintf(buf, sizeof buf, "#%zu", idx + 1);
	return tr_xstrdup(buf);
}

static void load_step(struct ld *l, size_t idx, const trellis_node_t *n)
{
	struct tr_wf_step *s = &l->wf->steps[idx];
	struct step_nodes *sn = &l->sn[idx];
	s->attempts = 1;
	s->backoff_ms = 1000;
	s->max_backoff_ms = 60000;
	s->enabled = 1;
	s->line = n->line;
	sn->map = n;
	char what[160];
	const trellis_node_t *x;
	if (tr_node_type(n) != TRELLIS_NODE_MAP) {
		tr_ld_err(l, n, "step %zu: expected a map with id and call, got %s",
		       idx + 1, tr_ld_kind(n));
		s->id = anon_id(idx);
		return;
	}
	sn->id = tr_node_get(n, "id");
	if (!sn->id) {
		tr_ld_err(l, n, "step %zu: missing 'id'", idx + 1);
	} else if (!tr_ld_name_ok(tr_node_str(sn->id), NULL)) {
		tr_ld_err(l, sn->id, "step id '%s' may only hold letters, digits, "
				  "'_' and '-'",
		       tr_node_str(sn->id) ? tr_node_str(sn->id) : "");
		sn->id = NULL;
	} else {
		s->id = tr_xstrdup(sn->id->str);
	}
	if (!s->id)
		s->id = anon_id(idx);
	snprintf(what, sizeof what, "step '%.100s'", s->id);
	tr_ld_keys_check(l, n, what, STEP_KEYS);
	sn->call = tr_node_get(n, "call");
	if (!sn->call)
		tr_ld_err(l, n, "%s: missing 'call' (the action to run)", what);
	else if ((s->action = find_action(l, sn->call, what)))
		s->call = tr_xstrdup(s->action->name);
	sn->with = tr_node_get(n, "with");
	if (sn->with && tr_node_type(sn->with) != TRELLIS_NODE_MAP &&
	    !tr_node_is_null(sn->with)) {
		tr_ld_err(l, sn->with, "%s: with: expected a map of arguments, "
				    "got %s",
		       what, tr_ld_kind(sn->with));
		sn->with = NULL;
	}
	if (sn->with && tr_node_is_null(sn->with))
		sn->with = NULL;
	s->with = sn->with ? tr_ld_json(sn->with) : json_object();
	check_with(l, sn->with, s->action, what, n);
	if ((x = tr_node_get(n, "needs"))) {
		if (tr_node_type(x) == TRELLIS_NODE_SCALAR ||
		    tr_node_type(x) == TRELLIS_NODE_SEQ)
			sn->needs = x;
		else
			tr_ld_err(l, x, "%s: needs: expected a step id or a list "
				     "of them, got %s",
			       what, tr_ld_kind(x));
	}
	if ((x = tr_node_get(n, "when"))) {
		sn->when = x;
		s->when = tr_ld_json(x);
		if (json_is_object(s->when) || json_is_array(s->when))
			tr_ld_err(l, x, "%s: when: expected an expression or a "
				     "bool, got %s",
			       what, tr_ld_kind(x));
	}
	if ((x = tr_node_get(n, "retry")))
		load_retry(l, s, x);
	if ((x = tr_node_get(n, "timeout")))
		tr_ld_get_duration(l, x, "timeout", &s->timeout_ms);
	if ((x = tr_node_get(n, "continue_on_error")))
		tr_ld_get_bool(l, x, "continue_on_error", &s->continue_on_error);
	if ((x = tr_node_get(n, "enabled")))
		tr_ld_get_bool(l, x, "enabled", &s->enabled);
	if ((x = tr_node_get(n, "priority"))) {
		long long p;
		const char *ps = tr_node_str(x);
		if (ps && strcmp(ps, "high") == 0)
			s->priority = 10;
		else if (ps && strcmp(ps, "normal") == 0)
			s->priority = 0;
		else if (tr_ld_get_int(l, x, "priority", -1000, &p) == 0)
			s->priority = (int)(p > 1000 ? 1000 : p);
	}
	if ((x = tr_node_get(n, "description")))
		free(tr_ld_get_str(l, x, "description"));
	if ((x = tr_node_get(n, "undo")))
		load_undo(l, s, sn, x);
	else if (s->action && s->action->undo)
		s->undo_action = tr_action_find(s->action->undo);
}

static void load_steps(struct ld *l, const trellis_node_t *n)
{
	if (tr_node_type(n) != TRELLIS_NODE_SEQ || tr_node_len(n) == 0) {
		tr_ld_err(l, n, "steps: expected a non-empty list of steps, got %s",
		       tr_node_type(n) == TRELLIS_NODE_SEQ ? "an empty list"
							   : tr_ld_kind(n));
		return;
	}
	size_t cnt = tr_node_len(n);
	l->wf->steps = tr_xcalloc(cnt, sizeof *l->wf->steps);
	l->sn = tr_xcalloc(cnt, sizeof *l->sn);
	if (!l->wf->steps || !l->sn)
		return;
	l->wf->n_steps = cnt;
	for (size_t i = 0; i < cnt; i++)
		load_step(l, i, tr_node_at(n, i));
}

/* ---- the document ---- */

static const char *const TOP_KEYS[] = {
	"workflow", "version", "description", "inputs",	  "steps",
	"outputs",  "timeout", "priority",    NULL};

static void load_doc(struct ld *l, const trellis_node_t *root)
{
	struct tr_wf *wf = l->wf;
	if (tr_node_type(root) != TRELLIS_NODE_MAP) {
		tr_ld_err(l, root, "expected a map with workflow, steps... at the "
				"top, got %s",
		       tr_ld_kind(root));
		return;
	}
	tr_ld_keys_check(l, root, "a workflow", TOP_KEYS);
	const trellis_node_t *x;
	if (!(x = tr_node_get(root, "workflow"))) {
		tr_ld_err(l, root, "missing 'workflow' (the workflow's name)");
	} else if ((wf->name = tr_ld_get_str(l, x, "workflow")) &&
		   !tr_ld_name_ok(wf->name, ".")) {
		tr_ld_err(l, x, "workflow name '%s' may only hold letters, "
			     "digits, '.', '_' and '-'",
		       wf->name);
	}
	if ((x = tr_node_get(root, "version")))
		tr_ld_get_int(l, x, "version", 0, &wf->version);
	if ((x = tr_node_get(root, "description")))
		wf->description = tr_ld_get_str(l, x, "description");
	if ((x = tr_node_get(root, "timeout")))
		tr_ld_get_duration(l, x, "timeout", &wf->timeout_ms);
	if ((x = tr_node_get(root, "priority"))) {
		const char *p = tr_node_str(x);
		if (p && strcmp(p, "high") == 0)
			wf->priority = TR_WF_PRIO_HIGH;
		else if (!p || strcmp(p, "normal") != 0)
			tr_ld_err(l, x, "priority: expected high or normal, got "
				     "'%s'",
			       p ? p : tr_ld_kind(x));
	}
	tr_ld_inputs(l, tr_node_get(root, "inputs"));
	const trellis_node_t *steps = tr_node_get(root, "steps");
	if (!steps)
		tr_ld_err(l, root, "missing 'steps' (a list of steps)");
	else
		load_steps(l, steps);
	l->outputs = tr_node_get(root, "outputs");
	if (l->outputs && tr_node_type(l->outputs) != TRELLIS_NODE_MAP &&
	    !tr_node_is_null(l->outputs)) {
		tr_ld_err(l, l->outputs, "outputs: expected a map of NAME: value, "
				      "got %s",
		       tr_ld_kind(l->outputs));
		l->outputs = NULL;
	}
	wf->outputs = l->outputs && !tr_node_is_null(l->outputs)
			      ? tr_ld_json(l->outputs)
			      : json_object();
	tr_ld_check(l);
}

static int by_pos(const void *a, const void *b, void *arg)
{
	const struct tr_wf_errors *e = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (e->line[i] != e->line[j])
		return e->line[i] < e->line[j] ? -1 : 1;
	if (e->col[i] != e->col[j])
		return e->col[i] < e->col[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Orders errors by position so a reader walks the file once. */
static void sort_errors(struct tr_wf_errors *e)
{
	size_t *idx = tr_xmalloc(e->n * sizeof *idx);
	char **m = tr_xmalloc(e->n * sizeof *m);
	int *li = tr_xmalloc(e->n * sizeof *li), *co = tr_xmalloc(e->n * sizeof *co);
	if (e->n && idx && m && li && co) {
		for (size_t i = 0; i < e->n; i++)
			idx[i] = i;
		qsort_r(idx, e->n, sizeof *idx, by_pos, e);
		for (size_t i = 0; i < e->n; i++) {
			m[i] = e->msg[idx[i]];
			li[i] = e->line[idx[i]];
			co[i] = e->col[idx[i]];
		}
		memcpy(e->msg, m, e->n * sizeof *m);
		memcpy(e->line, li, e->n * sizeof *li);
		memcpy(e->col, co, e->n * sizeof *co);
	}
	free(idx);
	free(m);
	free(li);
	free(co);
}

int tr_wf_load_string(const char *name, const char *buf, size_t len,
		      struct tr_wf **out, struct tr_wf_errors *errs)
{
	*out = NULL;
	memset(errs, 0, sizeof *errs);
	struct tr_wf *wf = tr_xcalloc(1, sizeof *wf);
	struct ld l = {.wf = wf, .errs = errs};
	if (!wf)
		return -1;
	wf->file = tr_xstrdup(name ? name : "<string>");
	wf->source = tr_xmalloc(len + 1);
	if (!wf->file || !wf->source) {
		tr_wf_free(wf);
		return -1;
	}
	memcpy(wf->source, buf, len);
	wf->source[len] = '\0';
	char err[1024];
	trellis_node_t *root = tr_node_parse_string(wf->file, buf, len, err,
						    sizeof err);
	if (!root) {
		/* The node parser's message is already FILE:LINE:COL. */
		char **m = tr_xmalloc(sizeof *m);
		errs->line = tr_xcalloc(1, sizeof *errs->line);
		errs->col = tr_xcalloc(1, sizeof *errs->col);
		if (m && (m[0] = tr_xstrdup(err))) {
			errs->msg = m;
			errs->n = 1;
		} else {
			free(m);
		}
		tr_wf_free(wf);
		return -1;
	}
	load_doc(&l, root);
	tr_node_free(root);
	free(l.sn);
	if (errs->n) {
		sort_errors(errs);
		tr_wf_free(wf);
		return -1;
	}
	*out = wf;
	return 0;
}

int tr_wf_load_file(const char *path, struct tr_wf **out,
		    struct tr_wf_errors *errs)
{
	*out = NULL;
	memset(errs, 0, sizeof *errs);
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	char msg[600];
	if (!f) {
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		goto fail;
	}
	buf = tr_xmalloc(WF_MAX_BYTES + 1);
	if (!buf) {
		snprintf(msg, sizeof msg, "%s: out of memory", path);
		goto fail;
	}
	len = fread(buf, 1, WF_MAX_BYTES + 1, f);
	if (ferror(f) || len > WF_MAX_BYTES) {
		snprintf(msg, sizeof msg, "%s: %s", path,
			 ferror(f) ? strerror(errno)
				   : "file too large (over 8 MiB)");
		goto fail;
	}
	fclose(f);
	int rc = tr_wf_load_string(path, buf, len, out, errs);
	free(buf);
	return rc;
fail:
	if (f)
		fclose(f);
	free(buf);
	errs->msg = tr_xmalloc(sizeof *errs->msg);
	errs->line = tr_xcalloc(1, sizeof *errs->line);
	errs->col = tr_xcalloc(1, sizeof *errs->col);
	if (errs->msg && (errs->msg[0] = tr_xstrdup(msg)))
		errs->n = 1;
	return -1;
}

void tr_wf_free(struct tr_wf *wf)
{
	if (!wf)
		return;
	for (size_t i = 0; i < wf->n_inputs; i++) {
		free(wf->inputs[i].name);
		free(wf->inputs[i].description);
		json_decref(wf->inputs[i].def);
	}
	free(wf->inputs);
	for (size_t i = 0; i < wf->n_steps; i++) {
		struct tr_wf_step *s = &wf->steps[i];
		free(s->id);
		free(s->call);
		json_decref(s->with);
		json_decref(s->when);
		json_decref(s->undo_with);
		free(s->deps);
		for (size_t j = 0; j < s->n_needs; j++)
			free(s->needs[j]);
		free(s->needs);
	}
	free(wf->steps);
	free(wf->by_id);
	json_decref(wf->outputs);
	free(wf->name);
	free(wf->description);
	free(wf->file);
	free(wf->source);
	free(wf);
}
