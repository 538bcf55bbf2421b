/* SPDX-License-Identifier: Apache-2.0 */
/* check.c - the reference half of the workflow loader (load_int.h):
 * step ids, needs, expressions and the types they carry, implicit
 * dependencies and cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "expr.h"
#include "load_int.h"

static int cmp_id(const void *a, const void *b, void *arg)
{
	const struct tr_wf *wf = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(wf->steps[i].id, wf->steps[j].id);
	return c ? c : (i < j ? -1 : i > j);
}

const struct tr_wf_step *tr_wf_step_find(const struct tr_wf *wf,
					 const char *id, size_t *index)
{
	size_t lo = 0, hi = wf->by_id ? wf->n_steps : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2, k = wf->by_id[mid];
		int c = strcmp(wf->steps[k].id, id);
		if (c == 0) {
			/* The first of equal ids (duplicates are errors,
			 * but the loader looks up before it reports). */
			while (mid > 0 &&
			       !strcmp(wf->steps[wf->by_id[mid - 1]].id, id))
				k = wf->by_id[--mid];
			if (index)
				*index = k;
			return &wf->steps[k];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void index_ids(struct ld *l)
{
	struct tr_wf *wf = l->wf;
	wf->by_id = tr_xmalloc((wf->n_steps + 1) * sizeof *wf->by_id);
	if (!wf->by_id)
		return;
	for (size_t i = 0; i < wf->n_steps; i++)
		wf->by_id[i] = i;
	qsort_r(wf->by_id, wf->n_steps, sizeof *wf->by_id, cmp_id, wf);
	for (size_t k = 1; k < wf->n_steps; k++) {
		size_t a = wf->by_id[k - 1], b = wf->by_id[k];
		if (strcmp(wf->steps[a].id, wf->steps[b].id) || !l->sn[b].id)
			continue;
		l->sn[b].duplicate = 1;
		size_t f = k - 1;
		while (f > 0 && !strcmp(wf->steps[wf->by_id[f - 1]].id,
					wf->steps[b].id))
			f--;
		size_t first = wf->by_id[f];
		tr_ld_err(l, l->sn[b].id, "duplicate step id '%s' (first at line %d)",
		       wf->steps[b].id, wf->steps[first].line);
	}
}

static int add_dep(struct tr_wf_step *s, size_t dep)
{
	for (size_t i = 0; i < s->n_deps; i++)
		if (s->deps[i] == dep)
			return 0;
	size_t *d = tr_xrealloc(s->deps, (s->n_deps + 1) * sizeof *d);
	if (!d)
		return -1;
	s->deps = d;
	s->deps[s->n_deps++] = dep;
	return 0;
}

/* Where an expression sits, which decides what it may reference. */
enum ctx_kind { CTX_WITH, CTX_WHEN, CTX_UNDO, CTX_OUTPUTS };

struct ref_ctx {
	struct ld *l;
	const trellis_node_t *node;
	enum ctx_kind kind;
	size_t step; /* the step the expression belongs to */
	enum tr_type type; /* what the reference resolves to */
};

static void list_fields(const struct tr_field *f, char *buf, size_t len)
{
	buf[0] = '\0';
	for (; f && f->name; f++) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", f->name);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

static int check_ref(void *arg, const struct tr_ref *ref)
{
	struct ref_ctx *c = arg;
	struct ld *l = c->l;
	struct tr_wf *wf = l->wf;
	c->type = TR_T_ANY;
	if (ref->ns == TR_REF_SECRETS) {
		c->type = TR_T_SECRET;
		return 0;
	}
	if (ref->ns == TR_REF_INPUTS) {
		const struct tr_wf_input *in = tr_wf_input_find(wf, ref->name);
		if (!in) {
			tr_ld_err(l, c->node, "unknown input '%s' in %s",
			       ref->name, ref->text);
			return 0;
		}
		c->type = in->type;
		return 0;
	}
	size_t idx;
	const struct tr_wf_step *t = tr_wf_step_find(wf, ref->name, &idx);
	if (!t) {
		tr_ld_err(l, c->node, "unknown step '%s' in %s", ref->name,
		       ref->text);
		return 0;
	}
	if (c->kind != CTX_OUTPUTS && c->kind != CTX_UNDO && idx == c->step) {
		tr_ld_err(l, c->node, "step '%s' refers to its own output in %s",
		       ref->name, ref->text);
		return 0;
	}
	if (t->action) {
		const struct tr_field *f =
			tr_field_find(t->action->output, ref->field);
		if (!f) {
			char list[300];
			list_fields(t->action->output, list, sizeof list);
			tr_ld_err(l, c->node,
			       "step '%s' (%s) has no output '%s' in %s "
			       "(outputs: %s)",
			       ref->name, t->action->name, ref->field,
			       ref->text, list);
			return 0;
		}
		c->type = ref->path[0] ? TR_T_ANY : f->type;
	}
	if (c->kind == CTX_WITH || c->kind == CTX_WHEN)
		add_dep(&wf->steps[c->step], idx);
	return 0;
}

/* Whether a value of type src may be given for a field of type dst. */
static int compatible(enum tr_type dst, enum tr_type src)
{
	if (dst == TR_T_ANY || src == TR_T_ANY || dst == src)
		return 1;
	switch (dst) {
	case TR_T_STRING:
	case TR_T_SECRET:
		return src == TR_T_STRING || src == TR_T_SECRET;
	case TR_T_SIZE:
	case TR_T_DURATION:
	case TR_T_NUMBER:
		return src == TR_T_INT;
	default:
		return 0;
	}
}

/* Walks the scalars under n, checking every expression in them.  field,
 * when not NULL, is the argument n is the value of (for a type check of
 * a value that is exactly one expression). */
static void walk(struct ref_ctx *c, const trellis_node_t *n,
		 const struct tr_field *field, const char *action)
{
	int t = tr_node_type(n);
	if (t == TRELLIS_NODE_SEQ || t == TRELLIS_NODE_MAP) {
		for (size_t i = 0; i < tr_node_len(n); i++)
			walk(c, tr_node_at(n, i), NULL, NULL);
		return;
	}
	const char *s = tr_node_str(n);
	if (!s || !strstr(s, "${"))
		return;
	c->node = n;
	char err[400];
	if (tr_expr_scan(s, check_ref, c, err, sizeof err) < 0) {
		tr_ld_err(c->l, n, "%s", err);
		return;
	}
	if (!field)
		return;
	struct tr_ref ref;
	enum tr_type got = tr_expr_single(s, &ref) ? c->type : TR_T_STRING;
	if (!compatible(field->type, got))
		tr_ld_err(c->l, n,
		       "step '%s': argument '%s' of %s: expected %s, got %s "
		       "from '%s'",
		       c->l->wf->steps[c->step].id, field->name, action,
		       tr_type_str(field->type), tr_type_str(got), s);
}

static void walk_with(struct ref_ctx *c, const trellis_node_t *with,
		      const struct tr_action *a)
{
	for (size_t i = 0; i < tr_node_len(with); i++) {
		const struct tr_field *f =
			a ? tr_field_find(a->input, tr_node_key_at(with, i))
			  : NULL;
		walk(c, tr_node_at(with, i), f, a ? a->name : NULL);
	}
}

static void check_needs(struct ld *l, size_t i)
{
	struct tr_wf_step *s = &l->wf->steps[i];
	const trellis_node_t *needs = l->sn[i].needs;
	size_t n = tr_node_type(needs) == TRELLIS_NODE_SEQ ? tr_node_len(needs)
							   : 1;
	if (!needs)
		return;
	s->needs = tr_xcalloc(n, sizeof *s->needs);
	for (size_t k = 0; s->needs && k < n; k++) {
		const trellis_node_t *x = tr_node_type(needs) == TRELLIS_NODE_SEQ
						  ? tr_node_at(needs, k)
						  : needs;
		const char *id = tr_node_str(x);
		size_t idx;
		if (!id || tr_node_is_null(x)) {
			tr_ld_err(l, x, "needs: expected a step id, got %s",
			       tr_ld_kind(x));
		} else if (!tr_wf_step_find(l->wf, id, &idx)) {
			tr_ld_err(l, x, "step '%s' needs unknown step '%s'", s->id,
			       id);
		} else if (idx == i) {
			tr_ld_err(l, x, "step '%s' needs itself", s->id);
		} else {
			s->needs[s->n_needs++] = tr_xstrdup(id);
			add_dep(s, idx);
		}
	}
}

/* Without undo.with, the undo action gets the step's arguments and
 * outputs: each required field must be among them. */
static void check_undo_args(struct ld *l, size_t i)
{
	struct tr_wf_step *s = &l->wf->steps[i];
	if (!s->undo_action || s->undo_with || !s->action)
		return;
	for (const struct tr_field *f = s->undo_action->input; f->name; f++) {
		if (!f->required || json_object_get(s->with, f->name) ||
		    tr_field_find(s->action->output, f->name))
			continue;
		tr_ld_err(l, l->sn[i].undo_call ? l->sn[i].undo_call : l->sn[i].map,
		       "step '%s': undo %s needs argument '%s', which the step "
		       "neither takes nor outputs (give it in undo.with)",
		       s->id, s->undo_action->name, f->name);
	}
}

/* Reports each cycle once, at the step where the walk entered it. */
static void check_cycles(struct ld *l)
{
	struct tr_wf *wf = l->wf;
	size_t n = wf->n_steps;
	unsigned char *color = tr_xcalloc(n, 1); /* 0 new, 1 on stack, 2 done */
	size_t *stack = tr_xmalloc(n * sizeof *stack);
	size_t *next = tr_xcalloc(n, sizeof *next);
	if (!color || !stack || !next)
		goto out;
	for (size_t root = 0; root < n; root++) {
		if (color[root])
			continue;
		size_t sp = 0;
		stack[sp++] = root;
		color[root] = 1;
		while (sp) {
			size_t v = stack[sp - 1];
			struct tr_wf_step *s = &wf->steps[v];
			if (next[v] == s->n_deps) {
				color[v] = 2;
				sp--;
				continue;
			}
			size_t w = s->deps[next[v]++];
			if (color[w] == 0) {
				color[w] = 1;
				stack[sp++] = w;
			} else if (color[w] == 1) {
				char path[600] = "";
				size_t k = sp;
				while (k > 0 && stack[k - 1] != w)
					k--;
				for (size_t j = k - 1; j < sp; j++) {
					size_t len = strlen(path);
					snprintf(path + len, sizeof path - len,
						 "%s -> ", wf->steps[stack[j]].id);
				}
				size_t len = strlen(path);
				snprintf(path + len, sizeof path - len, "%s",
					 wf->steps[w].id);
				tr_ld_err(l, l->sn[w].map,
				       "dependency cycle: %s (each waits for "
				       "the next)",
				       path);
				/* Break the edge so the cycle is not found
				 * again from another root. */
				s->deps[next[v] - 1] = v;
			}
		}
	}
out:
	free(color);
	free(stack);
	free(next);
}

void tr_ld_check(struct ld *l)
{
	struct tr_wf *wf = l->wf;
	if (!wf->n_steps)
		goto outputs;
	index_ids(l);
	if (!wf->by_id)
		return;
	for (size_t i = 0; i < wf->n_steps; i++) {
		struct ref_ctx c = {.l = l, .step = i};
		check_needs(l, i);
		c.kind = CTX_WITH;
		walk_with(&c, l->sn[i].with, wf->steps[i].action);
		c.kind = CTX_WHEN;
		if (l->sn[i].when)
			walk(&c, l->sn[i].when, NULL, NULL);
		c.kind = CTX_UNDO;
		walk_with(&c, l->sn[i].undo_with, wf->steps[i].undo_action);
		check_undo_args(l, i);
	}
	check_cycles(l);
outputs:;
	struct ref_ctx c = {.l = l, .kind = CTX_OUTPUTS, .step = (size_t)-1};
	if (l->outputs)
		walk(&c, l->outputs, NULL, NULL);
}
