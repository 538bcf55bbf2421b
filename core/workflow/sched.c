/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched.c - the step half of the engine (engine_int.h): which steps are
 * ready, running them on the worker pool, journaling each before and
 * after, retries with backoff and step timeouts.  Failure and
 * compensation are in undo.c.
 *
 * Everything here runs on the main thread.  tr_sched_pump() is the one loop
 * that makes progress; it is re-entrant-safe (a nested call just asks the
 * running pump for another round), so deep DAGs never recurse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "engine_int.h"

/* Every attempt of a step, by action and result (its undos are not
 * counted). */
static const struct tr_metric m_step_seconds = {
    "trellis_workflow_step_seconds",
    "Duration of workflow step attempts, by action and result",
    TR_METRIC_HISTOGRAM,
    {"action", "result", NULL}};

/* ---- the ready heap: high-priority instances first, then the step's
 * priority, then arrival (instance seq, step index) ---- */

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

static void heap_push(struct tr_engine *e, struct inst *i, size_t idx)
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

static struct ready heap_pop(struct tr_engine *e)
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

void tr_sched_ready_push_check(struct tr_engine *e, struct inst *i, size_t idx)
{
	TR_GROW(e->check, e->n_check, e->cap_check);
	e->check[e->n_check++] = (struct ready){i, idx};
}

/* ---- journal helpers ---- */

void tr_sched_jstep(struct inst *i, size_t idx, const struct tr_jr_step *u)
{
	tr_journal_step_update(i->e->j, i->id, idx, u);
}

struct tr_jr_step tr_sched_jr_blank(void)
{
	return (struct tr_jr_step){.attempts = -1,
				   .started_at = -1,
				   .finished_at = -1,
				   .done_seq = -1};
}

void tr_sched_step_event(struct inst *i, size_t idx, const char *topic,
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
	tr_wf_publish(i, topic, b);
	json_decref(b);
}

/* ---- terminal step states ---- */

static void release(struct inst *i, size_t idx)
{
	struct step_rt *s = &i->s[idx];
	for (size_t k = 0; k < s->n_dependents; k++) {
		size_t d = s->dependents[k];
		if (i->s[d].waiting && --i->s[d].waiting == 0)
			tr_sched_ready_push_check(i->e, i, d);
	}
}

static void step_skip(struct inst *i, size_t idx, const char *why)
{
	struct step_rt *s = &i->s[idx];
	s->st = S_SKIPPED;
	i->n_terminal++;
	struct tr_jr_step u = tr_sched_jr_blank();
	u.state = "skipped";
	u.error = why;
	u.finished_at = tr_wall_ms();
	tr_sched_jstep(i, idx, &u);
	tr_sched_step_event(i, idx, "workflow.step.finished", "skipped", 0, why);
	release(i, idx);
	tr_sched_check_finish(i); /* it may have been the last one */
}

/* A failure that no retry can fix (bad arguments, a bad `when`). */
static void step_fail_now(struct inst *i, size_t idx, const char *error)
{
	struct step_rt *s = &i->s[idx];
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	s->st = S_FAILED;
	i->n_terminal++;
	struct tr_jr_step u = tr_sched_jr_blank();
	u.state = "failed";
	char *red = tr_secrets_redact_str(&i->secrets, error);
	u.error = red;
	u.finished_at = tr_wall_ms();
	tr_sched_jstep(i, idx, &u);
	tr_sched_step_event(i, idx, "workflow.step.finished", "failed", 0, error);
	free(red);
	if (ws->continue_on_error && i->st == I_RUNNING) {
		release(i, idx);
		tr_sched_check_finish(i);
	} else {
		tr_sched_fail(i, idx, error);
	}
}

/* ---- readiness ---- */

static void step_ready(struct tr_engine *e, struct inst *i, size_t idx)
{
	struct step_rt *s = &i->s[idx];
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	if (i->st != I_RUNNING || s->st != S_PENDING)
		return;
	char why[1024];
	if (!ws->enabled) {
		step_skip(i, idx, "disabled (enabled: false)");
		return;
	}
	for (size_t k = 0; k < ws->n_deps; k++) {
		if (i->s[ws->deps[k]].st == S_SKIPPED) {
			snprintf(why, sizeof why, "skipped because '%s' was "
						  "skipped",
				 i->wf->steps[ws->deps[k]].id);
			step_skip(i, idx, why);
			return;
		}
	}
	if (ws->when) {
		int t = 0;
		if (tr_sched_when(i, ws->when, &t, why, sizeof why) < 0) {
			char msg[1100];
			snprintf(msg, sizeof msg, "when: %s", why);
			step_fail_now(i, idx, msg);
			return;
		}
		if (!t) {
			step_skip(i, idx, "skipped: `when` was false");
			return;
		}
	}
	json_t *args = tr_sched_eval(i, ws->with, why, sizeof why);
	if (!args) {
		step_fail_now(i, idx, why);
		return;
	}
	if (tr_action_check_args(ws->action, args, why, sizeof why) != 0) {
		json_decref(args);
		char msg[1100];
		snprintf(msg, sizeof msg, "%s: %s", ws->call, why);
		step_fail_now(i, idx, msg);
		return;
	}
	json_decref(s->args);
	s->args = args;
	s->st = S_READY;
	heap_push(e, i, idx);
}

void tr_sched_instance_begin(struct inst *i)
{
	for (size_t k = 0; k < i->wf->n_steps; k++)
		if (i->s[k].st == S_PENDING && i->s[k].waiting == 0)
			tr_sched_ready_push_check(i->e, i, k);
}

/* ---- running jobs ---- */

static void job_work(void *arg)
{
	struct job *jb = arg;
	jb->result = NULL;
	int rc = tr_action_call(&jb->env, jb->a, jb->args, &jb->result, &jb->call);
	if (rc == 0 && !json_is_object(jb->result)) {
		json_decref(jb->result);
		jb->result = json_object();
	}
	jb->rc = tr_call_finish(&jb->call, jb->a->name, rc);
}

static void job_complete(struct tr_engine *e, struct job *jb);

static void job_done(struct tr_daemon *d, void *arg)
{
	(void)d;
	struct job *jb = arg;
	job_complete(jb->i->e, jb);
}

static void timeout_fire(struct tr_daemon *d, void *arg)
{
	(void)d;
	struct job *jb = arg;
	jb->timer_set = 0;
	jb->timed_out = 1;
	atomic_store(&jb->call.cancelled, 1);
	if (jb->a->flags & TR_ACTION_ENGINE) {
		tr_eng_subflow_cancel(jb->i->e, jb, "cancelled: the step that "
						 "runs it timed out");
		tr_sched_pump(jb->i->e);
	}
}

void tr_sched_job_ready(struct tr_engine *e, struct job *jb)
{
	TR_GROW(e->inl, e->n_inl, e->cap_inl);
	e->inl[e->n_inl++] = jb;
}

void tr_sched_job_free(struct job *jb)
{
	if (!jb)
		return;
	json_decref(jb->args);
	json_decref(jb->result);
	free(jb);
}

static void submit(struct tr_engine *e, struct job *jb)
{
	int rc = tr_daemon_submit(e->d, job_work, job_done, jb);
	if (rc == 0)
		return;
	if (rc == TRELLIS_E_BUSY) {
		/* The pool is full: try again at the next flush. */
		TR_GROW(e->held, e->n_held, e->cap_held);
		e->held[e->n_held++] = jb;
		e->pool_busy = 1;
		return;
	}
	tr_call_set(&jb->call, rc, "workflow: cannot run step: %s",
		    trellis_error_name(rc));
	jb->rc = rc;
	job_complete(e, jb);
}

/* Starts an attempt: journaled as running first.  A step that changes
 * infrastructure waits for the journal commit; others start at once. */
void tr_sched_dispatch(struct tr_engine *e, struct job *jb)
{
	struct inst *i = jb->i;
	struct step_rt *s = &i->s[jb->idx];
	const struct tr_wf_step *ws = &i->wf->steps[jb->idx];
	if (e->stopping) {
		/* Shutting down: the journal keeps the step where it is and
		 * the next start picks it up. */
		if (s->job == jb)
			s->job = NULL;
		tr_sched_job_free(jb);
		return;
	}
	jb->t0 = tr_wall_ms();
	tr_call_init(&jb->call, "workflow");
	json_decref(jb->result);
	jb->result = NULL;
	jb->timed_out = 0;
	jb->sub_ready = 0;
	jb->rc = 0;
	i->running++;
	e->in_flight++;
	s->job = jb;
	struct tr_jr_step u = tr_sched_jr_blank();
	if (jb->undo) {
		s->undo = U_RUNNING;
		s->undo_attempts++;
		jb->env.attempt = s->undo_attempts;
		u.undo_state = "undoing";
	} else {
		s->st = S_RUNNING;
		s->attempts++;
		jb->env.attempt = s->attempts;
		/* An instant main-thread action that changes nothing finishes
		 * inside this same journal batch: its one record, written at
		 * the end, says as much as two would, at half the cost. */
		jb->quiet_start = (jb->a->flags & TR_ACTION_MAIN_THREAD) &&
				  !(jb->a->flags & TR_ACTION_MUTATES);
		if (!jb->quiet_start) {
			u.state = "running";
			u.attempts = s->attempts;
			u.started_at = jb->t0;
			char *in = tr_wf_redacted_dump(i, jb->args);
			u.inputs = in;
			tr_sched_jstep(i, jb->idx, &u);
			free(in);
		}
		tr_sched_step_event(i, jb->idx, "workflow.step.started", "running", -1,
			   NULL);
		u = tr_sched_jr_blank();
	}
	if (jb->undo)
		tr_sched_jstep(i, jb->idx, &u);
	/* The step's timeout bounds its undo too: a compensation that hangs
	 * must end (as left behind), not keep the instance forever. */
	if (ws->timeout_ms && e->d->loop &&
	    tr_daemon_timer_add(e->d, (uint64_t)ws->timeout_ms, 0,
				timeout_fire, jb, &jb->timer) == 0)
		jb->timer_set = 1;
	if (i->cancelled || i->timed_out)
		atomic_store(&jb->call.cancelled, 1);
	if (jb->a->flags & TR_ACTION_ENGINE) {
		tr_eng_subflow(e, jb); /* completes through tr_sched_job_ready */
		return;
	}
	if (jb->a->flags & TR_ACTION_MAIN_THREAD) {
		TR_GROW(e->inl, e->n_inl, e->cap_inl);
		e->inl[e->n_inl++] = jb;
		return;
	}
	if (jb->a->flags & TR_ACTION_MUTATES) {
		TR_GROW(e->held, e->n_held, e->cap_held);
		e->held[e->n_held++] = jb;
		return;
	}
	submit(e, jb);
}

struct job *tr_sched_job_new(struct inst *i, size_t idx, int undo,
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

static long long backoff_ms(const struct tr_wf_step *ws, int attempt)
{
	long long b = ws->backoff_ms;
	for (int k = 1; k < attempt && b < ws->max_backoff_ms; k++)
		b *= 2;
	return b < ws->max_backoff_ms ? b : ws->max_backoff_ms;
}

static void retry_fire(struct tr_daemon *d, void *arg)
{
	(void)d;
	struct job *jb = arg;
	struct inst *i = jb->i;
	i->s[jb->idx].timer = 0;
	i->retrying--;
	/* A failing instance cancels the timers of its steps' retries, so
	 * only undo retries and steps of running instances get here. */
	tr_sched_dispatch(i->e, jb);
	tr_sched_pump(i->e);
}

int tr_sched_wait_retry(struct inst *i, struct job *jb, int attempt)
{
	const struct tr_wf_step *ws = &i->wf->steps[jb->idx];
	uint64_t id;
	if (tr_daemon_timer_add(i->e->d, (uint64_t)backoff_ms(ws, attempt), 0,
				retry_fire, jb, &id) != 0)
		return -1;
	i->s[jb->idx].timer = id;
	i->retrying++;
	return 0;
}

char *tr_sched_error_text(const trellis_call_t *call)
{
	char buf[1200];
	snprintf(buf, sizeof buf, "%s: %s", trellis_error_name(call->code),
		 call->message[0] ? call->message : "failed");
	return tr_xstrdup(buf);
}

static void job_complete(struct tr_engine *e, struct job *jb)
{
	struct inst *i = jb->i;
	size_t idx = jb->idx;
	struct step_rt *s = &i->s[idx];
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	char *qin = NULL;
	i->running--;
	e->in_flight--;
	s->job = NULL;
	if (jb->timer_set) {
		tr_daemon_timer_cancel(e->d, jb->timer);
		jb->timer_set = 0;
	}
	if (jb->timed_out && jb->rc == 0) {
		/* Finished as the timer fired: the result stands. */
	} else if (jb->timed_out) {
		char secs[64];
		snprintf(secs, sizeof secs, "%lld ms", ws->timeout_ms);
		jb->rc = TRELLIS_E_TIMEOUT;
		jb->call.code = TRELLIS_E_TIMEOUT;
		snprintf(jb->call.message, sizeof jb->call.message,
			 "step timed out after %s", secs);
	}
	if (e->stopping && jb->rc != 0) {
		/* Cancelled by the shutdown: the journal still says running,
		 * so the next start runs it again with the same key. */
		s->st = S_PENDING;
		if (jb->undo)
			s->undo = U_NONE;
		tr_sched_job_free(jb);
		return;
	}
	if (jb->undo) {
		tr_sched_undo_complete(e, jb);
		goto out;
	}
	int64_t now = tr_wall_ms(), dur = now - jb->t0;
	const char *mv[] = {jb->a->name, jb->rc == 0 ? "ok" : "error"};
	tr_metric_observe(&m_step_seconds, mv, (double)dur / 1000.0);
	struct tr_jr_step u = tr_sched_jr_blank();
	if (jb->quiet_start) {
		u.attempts = s->attempts;
		u.started_at = jb->t0;
		u.inputs = qin = tr_wf_redacted_dump(i, jb->args);
	}
	if (jb->rc == 0) {
		s->st = S_SUCCEEDED;
		json_decref(s->outputs);
		s->outputs = jb->result;
		jb->result = NULL;
		tr_sched_secret_outputs(i, ws, s->outputs);
		s->done_seq = ++i->next_done_seq;
		i->n_terminal++;
		u.state = "succeeded";
		char *out = tr_wf_redacted_dump(i, s->outputs);
		u.outputs = out;
		u.finished_at = now;
		u.done_seq = s->done_seq;
		tr_sched_jstep(i, jb->idx, &u);
		free(out);
		tr_sched_step_event(i, jb->idx, "workflow.step.finished", "succeeded",
			   dur, NULL);
		tr_sched_job_free(jb);
		if (i->st == I_RUNNING)
			release(i, idx);
		goto out;
	}
	char *err = tr_sched_error_text(&jb->call);
	char *red = tr_secrets_redact_str(&i->secrets, err);
	/* Errors that another attempt cannot heal are not retried: bad
	 * arguments, a conflict with what exists (a name taken, an object
	 * another key made), a permission refused, a cancellation. */
	int fixable = jb->rc != TRELLIS_E_INVALID_ARG &&
		      jb->rc != TRELLIS_E_CONFLICT &&
		      jb->rc != TRELLIS_E_PERMISSION &&
		      jb->rc != TRELLIS_E_CANCELLED;
	if (i->st == I_RUNNING && fixable && s->attempts < ws->attempts &&
	    tr_sched_wait_retry(i, jb, s->attempts) == 0) {
		s->st = S_RETRY;
		s->job = jb;
		u.state = "retrying";
		u.error = red;
		tr_sched_jstep(i, jb->idx, &u);
		tr_sched_step_event(i, jb->idx, "workflow.step.retrying", "retrying", dur,
			   err);
		free(red);
		free(err);
		goto out;
	}
	s->st = S_FAILED;
	i->n_terminal++;
	u.state = "failed";
	u.error = red;
	u.finished_at = now;
	tr_sched_jstep(i, jb->idx, &u);
	tr_sched_step_event(i, jb->idx, "workflow.step.finished", "failed", dur, err);
	tr_sched_job_free(jb);
	if (ws->continue_on_error && i->st == I_RUNNING)
		release(i, idx);
	else
		tr_sched_fail(i, idx, err);
	free(red);
	free(err);
out:
	free(qin);
	tr_sched_check_finish(i);
	tr_sched_pump(e);
}

void tr_sched_check_finish(struct inst *i)
{
	if (i->st == I_DONE || i->running || i->retrying)
		return;
	if (i->st == I_RUNNING && i->n_terminal == i->wf->n_steps)
		tr_eng_instance_finish(i);
	else if (i->st == I_FAILING && !i->comp_started)
		tr_sched_comp_start(i);
}

/* After a restart in the middle of compensation: steps that were running
 * may have made something, so they run again (same idempotency key, so
 * they find it) before their undo. */
void tr_sched_resume_running(struct inst *i)
{
	for (size_t k = 0; k < i->wf->n_steps; k++) {
		struct step_rt *s = &i->s[k];
		if (!s->was_running)
			continue;
		s->was_running = 0;
		const struct tr_wf_step *ws = &i->wf->steps[k];
		char err[1024];
		json_t *args = tr_sched_eval(i, ws->with, err, sizeof err);
		if (args && tr_action_check_args(ws->action, args, err,
						 sizeof err) != 0) {
			json_decref(args);
			args = NULL;
		}
		struct job *jb = args ? tr_sched_job_new(i, k, 0, ws->action, args) : NULL;
		if (jb) {
			tr_sched_dispatch(i->e, jb);
		} else {
			s->st = S_FAILED;
			i->n_terminal++;
		}
	}
}

/* ---- the pump ---- */

static void flush_fire(struct tr_daemon *d, void *arg)
{
	(void)d;
	struct tr_engine *e = arg;
	e->flush_armed = 0;
	tr_journal_flush(e->j);
	e->pool_busy = 0;
	/* Everything journaled as running is committed now: start it. */
	size_t n = e->n_held;
	struct job **held = e->held;
	e->held = NULL;
	e->n_held = e->cap_held = 0;
	for (size_t k = 0; k < n; k++)
		submit(e, held[k]);
	free(held);
	tr_sched_arm_flush(e);
}

void tr_sched_arm_flush(struct tr_engine *e)
{
	if (!e->d->loop) {
		/* No loop (tools, some tests): commit at once. */
		tr_journal_flush(e->j);
		return;
	}
	if (!tr_journal_dirty(e->j) && !e->n_held)
		return;
	/* Steps waiting for the commit want it now; a full pool and plain
	 * journal records can wait for the batch. */
	unsigned delay = e->n_held && !e->pool_busy ? 0 : e->commit_ms;
	if (e->flush_armed && e->flush_delay <= delay)
		return;
	if (e->flush_armed)
		tr_daemon_timer_cancel(e->d, e->flush_timer);
	e->flush_armed = 1;
	e->flush_delay = delay;
	if (tr_daemon_timer_add(e->d, delay, 0, flush_fire, e,
				&e->flush_timer) != 0) {
		e->flush_armed = 0;
		tr_journal_flush(e->j);
	}
}

/* Frees finished instances, once nothing can point at them: the check
 * list is empty and their heap entries are dropped here. */
static void reap(struct tr_engine *e)
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
			heap_push(e, e->heap[k].i, e->heap[k].idx);
	}
	while (e->dead) {
		struct inst *i = e->dead;
		e->dead = i->next;
		tr_eng_instance_free(i);
	}
}

void tr_sched_pump(struct tr_engine *e)
{
	if (e->pumping) {
		e->again = 1;
		return;
	}
	e->pumping = 1;
	do {
		e->again = 0;
		while (e->n_check) {
			struct ready r = e->check[--e->n_check];
			step_ready(e, r.i, r.idx);
		}
		while (!e->stopping && e->n_heap && e->in_flight < e->max_steps) {
			struct ready r = heap_pop(e);
			if (r.i->st != I_RUNNING || r.i->s[r.idx].st != S_READY)
				continue;
			const struct tr_wf_step *ws = &r.i->wf->steps[r.idx];
			json_t *args = json_incref(r.i->s[r.idx].args);
			struct job *jb = tr_sched_job_new(r.i, r.idx, 0, ws->action, args);
			if (!jb) {
				step_fail_now(r.i, r.idx, "out of memory");
				continue;
			}
			tr_sched_dispatch(e, jb);
		}
		while (e->n_inl) {
			struct job *jb = e->inl[--e->n_inl];
			if (!jb->sub_ready)
				job_work(jb);
			job_complete(e, jb);
		}
		if (!e->stopping)
			tr_eng_admit(e);
	} while (e->again || e->n_check || e->n_inl);
	if (e->dead)
		reap(e);
	e->pumping = 0;
	tr_sched_arm_flush(e);
}
