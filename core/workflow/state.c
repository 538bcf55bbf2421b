/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - the engine's state, the bottom of its layers (engine_int.h):
 * instances (made from a definition and inputs, journaled, listed, found,
 * finished, freed), their events, the ready heap and the check list of
 * steps, the records of a step in the journal, and jobs (one attempt of
 * a step or of its undo).  Nothing here decides what runs next: that is
 * sched.c, above; this file calls only the helpers below it (values.c,
 * defs.c, inputs, the journal, secrets).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"
#include "engine_int.h"

/* ---- instances ---- */

char *tr_inst_redacted(const struct inst *i, const json_t *v)
{
	if (!v)
		return NULL;
	if (i->secrets.n == 0)
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *r = tr_secrets_redact(&i->secrets, v);
	char *s = r ? json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(r);
	return s;
}

void tr_inst_publish(struct inst *i, const char *topic, json_t *body)
{
	if (i->e->d->events)
		tr_daemon_publish(i->e->d, topic, body);
}

void tr_inst_event(struct inst *i, const char *topic)
{
	json_t *b = json_pack("{s:s, s:s, s:I, s:s}", "id", i->id, "workflow",
			      i->wf->name, "steps", (json_int_t)i->wf->n_steps,
			      "priority",
			      i->priority == TR_WF_PRIO_HIGH ? "high"
							     : "normal");
	if (b)
		tr_inst_publish(i, topic, b);
	json_decref(b);
}

struct inst *tr_inst_find(struct tr_engine *e, const char *id)
{
	for (struct inst *i = e->head; i; i = i->next)
		if (strcmp(i->id, id) == 0)
			return i;
	return NULL;
}

/* Builds the runtime of an instance around a loaded definition (taken). */
struct inst *tr_inst_new(struct tr_engine *e, struct tr_wf *wf, const char *id)
{
	struct inst *i = tr_xcalloc(1, sizeof *i);
	if (!i) {
		tr_defs_release(e, wf);
		return NULL;
	}
	i->e = e;
	i->wf = wf;
	snprintf(i->id, sizeof i->id, "%s", id);
	i->priority = wf->priority;
	i->s = tr_xcalloc(wf->n_steps, sizeof *i->s);
	if (!i->s)
		goto fail;
	/* Reverse edges, so a finishing step finds what waits for it. */
	for (size_t k = 0; k < wf->n_steps; k++) {
		const struct tr_wf_step *ws = &wf->steps[k];
		i->s[k].waiting = (unsigned)ws->n_deps;
		for (size_t m = 0; m < ws->n_deps; m++) {
			struct step_rt *d = &i->s[ws->deps[m]];
			size_t *nd = tr_xrealloc(d->dependents,
					     (d->n_dependents + 1) * sizeof *nd);
			if (!nd)
				goto fail;
			d->dependents = nd;
			d->dependents[d->n_dependents++] = k;
		}
	}
	i->next = e->head;
	if (e->head)
		e->head->prev = i;
	e->head = i;
	return i;
fail:
	tr_inst_free(i);
	return NULL;
}

void tr_inst_free(struct inst *i)
{
	if (!i)
		return;
	for (size_t k = 0; i->s && k < i->wf->n_steps; k++) {
		json_decref(i->s[k].args);
		json_decref(i->s[k].outputs);
		free(i->s[k].dependents);
	}
	free(i->s);
	tr_defs_release(i->e, i->wf);
	json_decref(i->inputs);
	tr_secrets_clear(&i->secrets);
	free(i->error);
	free(i->failed_step);
	free(i->undo_order);
	json_decref(i->left_behind);
	free(i);
}

void tr_inst_unlink(struct tr_engine *e, struct inst *i)
{
	if (i->prev)
		i->prev->next = i->next;
	else if (e->head == i)
		e->head = i->next;
	if (i->next)
		i->next->prev = i->prev;
	i->prev = i->next = NULL;
}

int tr_inst_enqueue(struct tr_engine *e, struct inst *i)
{
	TR_GROW(e->queue, e->n_queue, e->cap_queue);
	e->queue[e->n_queue++] = i;
	return 0;
}

/* Collects secret-typed inputs: remembered for redaction, and sealed. */
json_t *tr_inst_secret_inputs(struct inst *i)
{
	json_t *sec = json_object();
	for (size_t k = 0; k < i->wf->n_inputs; k++) {
		const struct tr_wf_input *in = &i->wf->inputs[k];
		json_t *v = json_object_get(i->inputs, in->name);
		if (in->type != TR_T_SECRET || !json_is_string(v))
			continue;
		tr_secrets_add(&i->secrets, json_string_value(v));
		json_object_set(sec, in->name, v);
	}
	return sec;
}

static void new_id(char *buf, size_t len)
{
	unsigned char r[8];
	randombytes_buf(r, sizeof r);
	snprintf(buf, len, "wf-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7]);
}

int tr_inst_create(struct tr_engine *e, const char *name, const char *source,
		   const char *file, json_t *inputs, const char *forced_id,
		   const struct job *parent, struct inst **out,
		   json_t **details, trellis_call_t *call)
{
	*out = NULL;
	if (details)
		*details = NULL;
	if (e->stopping)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "the daemon is shutting down");
	struct tr_wf *wf = NULL;
	struct tr_wf_errors errs = {0};
	const char *text;
	if (source) {
		text = source;
	} else {
		const struct tr_wf *def = name ? tr_engine_def(e, name) : NULL;
		const char *guess = name && !def ? tr_engine_def_guess(e, name)
						 : NULL;
		if (!def && guess)
			return tr_call_set(call, TRELLIS_E_NOTFOUND,
					   "no workflow called '%s' (did you "
					   "mean '%s'?)",
					   name, guess);
		if (!def)
			return tr_call_set(call, TRELLIS_E_NOTFOUND,
					   "no workflow called '%s' (see "
					   "`trellis workflow defs`)",
					   name ? name : "");
		text = def->source;
		file = def->file;
	}
	/* Each instance parses its own copy: it runs exactly the text it
	 * journals, whatever happens to the definition later. */
	if (tr_defs_share(e, file ? file : "<api>", text, &wf, &errs) != 0) {
		int rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				     "%s%s", errs.n ? errs.msg[0] : "invalid workflow",
				     errs.n > 1 ? " (and more)" : "");
		if (details) {
			json_t *a = json_array();
			for (size_t k = 0; k < errs.n; k++)
				json_array_append_new(a, json_string(errs.msg[k]));
			*details = json_pack("{s:o}", "errors", a);
		}
		tr_wf_errors_free(&errs);
		return rc;
	}
	tr_wf_errors_free(&errs);
	char err[512];
	json_t *bound;
	if (tr_wf_inputs_bind(wf, inputs, &bound, err, sizeof err) != 0) {
		tr_defs_release(e, wf);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
	}
	char idbuf[40];
	if (forced_id)
		snprintf(idbuf, sizeof idbuf, "%s", forced_id);
	else
		new_id(idbuf, sizeof idbuf);
	struct inst *i = tr_inst_new(e, wf, idbuf);
	if (!i) {
		json_decref(bound);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	i->inputs = bound;
	i->seq = ++e->seq;
	i->created_ms = tr_wall_ms();
	/* A child redacts what its parent does: its inputs may carry the
	 * parent's secrets. */
	for (size_t k = 0; parent && k < parent->i->secrets.n; k++)
		tr_secrets_add(&i->secrets, parent->i->secrets.v[k]);
	json_t *sec = tr_inst_secret_inputs(i);
	char *sealed = json_object_size(sec) ? tr_seal_json(e->seal, sec) : NULL;
	json_decref(sec);
	char *red = tr_inst_redacted(i, i->inputs);
	struct tr_jr_instance ji = {.id = i->id,
				    .workflow = wf->name,
				    .file = wf->file,
				    .source = wf->source,
				    .seq = i->seq,
				    .inputs = red,
				    .sealed = sealed,
				    .priority = i->priority,
				    .state = "queued",
				    .created_at = i->created_ms};
	int rc = tr_journal_instance_new(e->j, &ji);
	for (size_t k = 0; rc == 0 && k < wf->n_steps; k++)
		rc = tr_journal_step_new(e->j, i->id, k, wf->steps[k].id);
	free(red);
	free(sealed);
	if (rc != 0) {
		tr_inst_unlink(e, i);
		tr_inst_free(i);
		return tr_call_set(call, TRELLIS_E_IO,
				   "cannot journal the new instance");
	}
	*out = i;
	return 0;
}

static json_t *final_outputs(struct inst *i)
{
	json_t *o = json_object();
	const char *k;
	json_t *t;
	json_object_foreach(i->wf->outputs, k, t)
	{
		char err[512];
		/* An output of a skipped step is null, not a failure. */
		json_t *v = tr_val_eval(i, t, err, sizeof err);
		json_object_set_new(o, k, v ? v : json_null());
	}
	return o;
}

void tr_job_sub_result(struct job *jb, const char *id, const char *state,
		       const char *error, json_t *outputs)
{
	jb->sub_ready = 1;
	if (state && strcmp(state, "succeeded") == 0) {
		jb->rc = 0;
		jb->result = json_pack("{s:s, s:s, s:O}", "id", id, "state",
				       state, "outputs",
				       outputs && json_is_object(outputs)
					       ? outputs
					       : json_object());
		return;
	}
	jb->rc = tr_call_set(&jb->call, TRELLIS_E_BACKEND,
			     "sub-workflow %s %s: %s", id,
			     state ? state : "failed",
			     error ? error : "no reason recorded");
}

void tr_inst_finish(struct inst *i)
{
	struct tr_engine *e = i->e;
	int64_t now = tr_wall_ms();
	const char *state = "succeeded", *comp = NULL;
	json_t *outputs = NULL;
	if (i->st == I_FAILING) {
		state = i->cancelled ? "cancelled" : "failed";
		comp = i->n_undo == 0 ? "none"
		       : i->comp_failed ? "failed"
					: "done";
	} else {
		outputs = final_outputs(i);
	}
	if (i->st != I_QUEUED)
		e->n_running--;
	if (i->wf_timer) {
		tr_daemon_timer_cancel(e->d, i->wf_timer);
		i->wf_timer = 0;
	}
	/* Steps that never ran say so in the journal. */
	if (i->st == I_FAILING || i->st == I_QUEUED)
		for (size_t k = 0; k < i->wf->n_steps; k++)
			if (i->s[k].st == S_PENDING || i->s[k].st == S_READY) {
				struct tr_jr_step u = {.state = "not_run",
						       .attempts = -1,
						       .started_at = -1,
						       .finished_at = -1,
						       .done_seq = -1};
				tr_journal_step_update(e->j, i->id, k, &u);
			}
	char *out = tr_inst_redacted(i, outputs);
	char *lb = i->left_behind ? tr_inst_redacted(i, i->left_behind) : NULL;
	struct tr_jr_update u = {.state = state,
				 .compensation = comp,
				 .error = i->error,
				 .failed_step = i->failed_step,
				 .outputs = out,
				 .left_behind = lb,
				 .started_at = -1,
				 .finished_at = now};
	tr_journal_instance_update(e->j, i->id, &u);
	json_t *b = json_pack("{s:s, s:s, s:s, s:I}", "id", i->id, "workflow",
			      i->wf->name, "state", state, "duration_ms",
			      (json_int_t)(i->started_ms ? now - i->started_ms
							 : 0));
	if (b && comp)
		json_object_set_new(b, "compensation", json_string(comp));
	if (b && i->error)
		json_object_set_new(b, "error", json_string(i->error));
	if (b && i->failed_step)
		json_object_set_new(b, "failed_step",
				    json_string(i->failed_step));
	if (b && i->left_behind)
		json_object_set_new(b, "left_behind",
				    tr_secrets_redact(&i->secrets,
						      i->left_behind));
	if (b)
		tr_inst_publish(i, "workflow.finished", b);
	json_decref(b);
	if (comp)
		tr_info("workflow %s (%s) %s, compensation %s: %s", i->id,
			i->wf->name, state, comp, i->error ? i->error : "");
	else
		tr_info("workflow %s (%s) %s", i->id, i->wf->name, state);
	free(out);
	free(lb);
	if (i->parent_job) {
		/* The parent journals the child's outputs: it must redact
		 * the child's secrets too. */
		struct inst *p = i->parent_job->i;
		for (size_t k = 0; k < i->secrets.n; k++)
			tr_secrets_add(&p->secrets, i->secrets.v[k]);
		tr_job_sub_result(i->parent_job, i->id, state, i->error,
				  outputs);
		tr_job_ready(e, i->parent_job);
		i->parent_job = NULL;
	}
	json_decref(outputs);
	i->st = I_DONE;
	tr_inst_unlink(e, i);
	/* Freed by the pump once nothing points at it; the pump also
	 * admits the next instance into the free slot.  Every caller is in
	 * or before a pump. */
	i->next = e->dead;
	e->dead = i;
}

/* Frees finished instances, once nothing can point at them: the check
 * list is empty and their heap entries are dropped here. */
void tr_inst_reap(struct tr_engine *e)
{
	size_t n = 0;
	for (size_t k = 0; k < e->n_heap; k++)
		if (e->heap[k].i->st != I_DONE)
			e->heap[n++] = e->heap[k];
	if (n != e->n_heap) {
		/* Rebuild the heap order. */
		size_t total = n;
		e->n_heap = 0;
		for (size_t k = 0; k < total; k++)
			tr_ready_push(e, e->heap[k].i, e->heap[k].idx);
	}
	while (e->dead) {
		struct inst *i = e->dead;
		e->dead = i->next;
		tr_inst_free(i);
	}
}

/* ---- the ready heap: high-priority instances first, then the step's
 * priority, then arrival (instance seq, step index); and the check list:
 * steps whose needs just finished ---- */

static int before(const struct ready *a, const struct ready *b)
{
	if (a->i->priority != b->i->priority)
		return a->i->priority > b->i->priority;
	int pa = a->i->wf->steps[a->idx].priority;
	int pb = b->i->wf->steps[b->idx].priority;
	if (pa != pb)
		return pa > pb;
	if (a->i->seq != b->i->seq)
		return a->i->seq < b->i->seq;
	return a->idx < b->idx;
}

void tr_ready_push(struct tr_engine *e, struct inst *i, size_t idx)
{
	TR_GROW(e->heap, e->n_heap, e->cap_heap);
	size_t k = e->n_heap++;
	e->heap[k] = (struct ready){i, idx};
	while (k > 0) {
		size_t p = (k - 1) / 2;
		if (!before(&e->heap[k], &e->heap[p]))
			break;
		struct ready t = e->heap[k];
		e->heap[k] = e->heap[p];
		e->heap[p] = t;
		k = p;
	}
}

struct ready tr_ready_pop(struct tr_engine *e)
{
	struct ready top = e->heap[0];
	e->heap[0] = e->heap[--e->n_heap];
	size_t k = 0;
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, m = k;
		if (l < e->n_heap && before(&e->heap[l], &e->heap[m]))
			m = l;
		if (r < e->n_heap && before(&e->heap[r], &e->heap[m]))
			m = r;
		if (m == k)
			break;
		struct ready t = e->heap[k];
		e->heap[k] = e->heap[m];
		e->heap[m] = t;
		k = m;
	}
	return top;
}

void tr_ready_check(struct tr_engine *e, struct inst *i, size_t idx)
{
	TR_GROW(e->check, e->n_check, e->cap_check);
	e->check[e->n_check++] = (struct ready){i, idx};
}

void tr_inst_begin(struct inst *i)
{
	for (size_t k = 0; k < i->wf->n_steps; k++)
		if (i->s[k].st == S_PENDING && i->s[k].waiting == 0)
			tr_ready_check(i->e, i, k);
}

void tr_step_release(struct inst *i, size_t idx)
{
	struct step_rt *s = &i->s[idx];
	for (size_t k = 0; k < s->n_dependents; k++) {
		size_t d = s->dependents[k];
		if (i->s[d].waiting && --i->s[d].waiting == 0)
			tr_ready_check(i->e, i, d);
	}
}

/* ---- the journal records and events of a step, and its jobs ---- */

void tr_step_journal(struct inst *i, size_t idx, const struct tr_jr_step *u)
{
	tr_journal_step_update(i->e->j, i->id, idx, u);
}

struct tr_jr_step tr_step_blank(void)
{
	return (struct tr_jr_step){.attempts = -1,
				   .started_at = -1,
				   .finished_at = -1,
				   .done_seq = -1};
}

void tr_step_event(struct inst *i, size_t idx, const char *topic,
		   const char *state, int64_t duration, const char *error)
{
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	if (!i->e->d->events)
		return; /* nobody to tell (tests, tools) */
	json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "id",
			      i->id, "workflow", i->wf->name, "step", ws->id,
			      "call", ws->call ? ws->call : "", "attempt",
			      i->s[idx].attempts, "index", (json_int_t)idx,
			      "total", (json_int_t)i->wf->n_steps);
	if (!b)
		return;
	if (state)
		json_object_set_new(b, "state", json_string(state));
	if (duration >= 0)
		json_object_set_new(b, "duration_ms", json_integer(duration));
	if (error) {
		char *r = tr_secrets_redact_str(&i->secrets, error);
		json_object_set_new(b, "error", json_string(r ? r : "?"));
		free(r);
	}
	tr_inst_publish(i, topic, b);
	json_decref(b);
}

struct job *tr_job_new(struct inst *i, size_t idx, int undo,
		       const struct tr_action *a, json_t *args)
{
	struct job *jb = tr_xcalloc(1, sizeof *jb);
	if (!jb) {
		json_decref(args);
		return NULL;
	}
	jb->i = i;
	jb->idx = idx;
	jb->undo = undo;
	jb->a = a;
	jb->args = args;
	snprintf(jb->idem, sizeof jb->idem, "%s/%s%s", i->id,
		 i->wf->steps[idx].id, undo ? "/undo" : "");
	jb->env = (struct tr_action_env){.daemon = i->e->d,
					 .idem_key = jb->idem,
					 .instance_id = i->id,
					 .step_id = i->wf->steps[idx].id};
	return jb;
}

void tr_job_free(struct job *jb)
{
	if (!jb)
		return;
	json_decref(jb->args);
	json_decref(jb->result);
	free(jb);
}

void tr_job_ready(struct tr_engine *e, struct job *jb)
{
	TR_GROW(e->inl, e->n_inl, e->cap_inl);
	e->inl[e->n_inl++] = jb;
}

char *tr_job_error_text(const trellis_call_t *call)
{
	char buf[1200];
	snprintf(buf, sizeof buf, "%s: %s", trellis_error_name(call->code),
		 call->message[0] ? call->message : "failed");
	return tr_xstrdup(buf);
}
