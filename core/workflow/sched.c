/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched.c - the engine's state machine (engine_int.h), over state.c:
 * admitting instances and running them, which steps are ready, running
 * them on the worker pool (journaled before and after), retries with
 * backoff, step and workflow timeouts, sub-workflows (workflow.run),
 * failure, and compensation (undo.c plans it, this file runs it).  These
 * call each other both ways, so they are one file; what they stand on
 * (state.c and below) never calls back up, and engine.c, query.c and
 * resume.c above call in only through tr_sched_* (engine_int.h).
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

/* ---- terminal step states ---- */

static void step_skip(struct inst *i, size_t idx, const char *why)
{
	struct step_rt *s = &i->s[idx];
	s->st = S_SKIPPED;
	i->n_terminal++;
	struct tr_jr_step u = tr_step_blank();
	u.state = "skipped";
	u.error = why;
	u.finished_at = tr_wall_ms();
	tr_step_journal(i, idx, &u);
	tr_step_event(i, idx, "workflow.step.finished", "skipped", 0, why);
	tr_step_release(i, idx);
	tr_sched_check_finish(i); /* it may have been the last one */
}

/* A failure that no retry can fix (bad arguments, a bad `when`). */
static void step_fail_now(struct inst *i, size_t idx, const char *error)
{
	struct step_rt *s = &i->s[idx];
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	s->st = S_FAILED;
	i->n_terminal++;
	struct tr_jr_step u = tr_step_blank();
	u.state = "failed";
	char *red = tr_secrets_redact_str(&i->secrets, error);
	u.error = red;
	u.finished_at = tr_wall_ms();
	tr_step_journal(i, idx, &u);
	tr_step_event(i, idx, "workflow.step.finished", "failed", 0, error);
	free(red);
	if (ws->continue_on_error && i->st == I_RUNNING) {
		tr_step_release(i, idx);
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
		if (tr_val_when(i, ws->when, &t, why, sizeof why) < 0) {
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
	json_t *args = tr_val_eval(i, ws->with, why, sizeof why);
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
	tr_ready_push(e, i, idx);
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
static void subflow(struct tr_engine *e, struct job *jb);
static void subflow_cancel(struct tr_engine *e, struct job *jb,
			   const char *why);
static void comp_start(struct inst *i);
static void undo_complete(struct tr_engine *e, struct job *jb);

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
		subflow_cancel(jb->i->e, jb,
			       "cancelled: the step that "
			       "runs it timed out");
		tr_sched_pump(jb->i->e);
	}
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
		tr_job_free(jb);
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
	struct tr_jr_step u = tr_step_blank();
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
			char *in = tr_inst_redacted(i, jb->args);
			u.inputs = in;
			tr_step_journal(i, jb->idx, &u);
			free(in);
		}
		tr_step_event(i, jb->idx, "workflow.step.started", "running",
			      -1, NULL);
		u = tr_step_blank();
	}
	if (jb->undo)
		tr_step_journal(i, jb->idx, &u);
	/* The step's timeout bounds its undo too: a compensation that hangs
	 * must end (as left behind), not keep the instance forever. */
	if (ws->timeout_ms && e->d->loop &&
	    tr_daemon_timer_add(e->d, (uint64_t)ws->timeout_ms, 0,
				timeout_fire, jb, &jb->timer) == 0)
		jb->timer_set = 1;
	if (i->cancelled || i->timed_out)
		atomic_store(&jb->call.cancelled, 1);
	if (jb->a->flags & TR_ACTION_ENGINE) {
		subflow(e, jb); /* completes through tr_job_ready */
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
		tr_job_free(jb);
		return;
	}
	if (jb->undo) {
		undo_complete(e, jb);
		goto out;
	}
	int64_t now = tr_wall_ms(), dur = now - jb->t0;
	const char *mv[] = {jb->a->name, jb->rc == 0 ? "ok" : "error"};
	tr_metric_observe(&m_step_seconds, mv, (double)dur / 1000.0);
	struct tr_jr_step u = tr_step_blank();
	if (jb->quiet_start) {
		u.attempts = s->attempts;
		u.started_at = jb->t0;
		u.inputs = qin = tr_inst_redacted(i, jb->args);
	}
	if (jb->rc == 0) {
		s->st = S_SUCCEEDED;
		json_decref(s->outputs);
		s->outputs = jb->result;
		jb->result = NULL;
		tr_val_secret_outputs(i, ws, s->outputs);
		s->done_seq = ++i->next_done_seq;
		i->n_terminal++;
		u.state = "succeeded";
		char *out = tr_inst_redacted(i, s->outputs);
		u.outputs = out;
		u.finished_at = now;
		u.done_seq = s->done_seq;
		tr_step_journal(i, jb->idx, &u);
		free(out);
		tr_step_event(i, jb->idx, "workflow.step.finished", "succeeded",
			      dur, NULL);
		tr_job_free(jb);
		if (i->st == I_RUNNING)
			tr_step_release(i, idx);
		goto out;
	}
	char *err = tr_job_error_text(&jb->call);
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
		tr_step_journal(i, jb->idx, &u);
		tr_step_event(i, jb->idx, "workflow.step.retrying", "retrying",
			      dur, err);
		free(red);
		free(err);
		goto out;
	}
	s->st = S_FAILED;
	i->n_terminal++;
	u.state = "failed";
	u.error = red;
	u.finished_at = now;
	tr_step_journal(i, jb->idx, &u);
	tr_step_event(i, jb->idx, "workflow.step.finished", "failed", dur, err);
	tr_job_free(jb);
	if (ws->continue_on_error && i->st == I_RUNNING)
		tr_step_release(i, idx);
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
		tr_inst_finish(i);
	else if (i->st == I_FAILING && !i->comp_started)
		comp_start(i);
}

/* ---- instances: admission, running, workflow timeouts ---- */

static void wf_timeout_fire(struct tr_daemon *d, void *arg)
{
	(void)d;
	struct inst *i = arg;
	i->wf_timer = 0;
	i->timed_out = 1;
	char msg[128];
	snprintf(msg, sizeof msg, "workflow timed out after %lld ms",
		 i->wf->timeout_ms);
	tr_sched_fail(i, (size_t)-1, msg);
	tr_sched_pump(i->e);
}

/* Starts running an admitted instance (or one resumed as running). */
void tr_sched_run(struct inst *i, int64_t started_ms)
{
	struct tr_engine *e = i->e;
	i->st = I_RUNNING;
	i->started_ms = started_ms;
	e->n_running++;
	if (i->wf->timeout_ms && e->d->loop) {
		int64_t left = i->wf->timeout_ms - (tr_wall_ms() - started_ms);
		tr_daemon_timer_add(e->d, (uint64_t)(left > 0 ? left : 0), 0,
				    wf_timeout_fire, i, &i->wf_timer);
	}
	tr_inst_begin(i);
	/* Resumed with every step already finished (the crash came just
	 * before the instance's own final record). */
	tr_sched_check_finish(i);
}

static void admit(struct tr_engine *e)
{
	while (e->n_queue && e->n_running < e->max_workflows) {
		/* High priority first, then arrival: the queue is short
		 * (instances waiting), so a scan is fine. */
		size_t best = 0;
		for (size_t k = 1; k < e->n_queue; k++) {
			struct inst *a = e->queue[k], *b = e->queue[best];
			if (a->priority > b->priority ||
			    (a->priority == b->priority && a->seq < b->seq))
				best = k;
		}
		struct inst *i = e->queue[best];
		memmove(&e->queue[best], &e->queue[best + 1],
			(e->n_queue - best - 1) * sizeof *e->queue);
		e->n_queue--;
		int64_t now = tr_wall_ms();
		struct tr_jr_update u = {
		    .state = "running", .started_at = now, .finished_at = -1};
		tr_journal_instance_update(e->j, i->id, &u);
		tr_inst_event(i, "workflow.started");
		tr_info("workflow %s (%s) started", i->id, i->wf->name);
		tr_sched_run(i, now);
	}
}

/* ---- sub-workflows (workflow.run: core/actions/subflow.c) ---- */

/* The child's id: a hash of the parent step's idempotency key, so a
 * re-run of the step after a crash finds the same child. */
static void child_id(const char *key, char *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(buf, len, "wf-%016llx", (unsigned long long)h);
}

/* Starts the child of a workflow.run job at once (its parent holds a slot
 * already); 0 with its id, or an error in call. */
static int start_child(struct tr_engine *e, const char *name, json_t *inputs,
		       const char *id, struct job *parent, char **newid,
		       trellis_call_t *call)
{
	struct inst *i;
	*newid = NULL;
	int rc = tr_inst_create(e, name, NULL, NULL, inputs, id, parent, &i,
				NULL, call);
	if (rc != 0)
		return rc;
	*newid = tr_xstrdup(i->id);
	i->parent_job = parent;
	int64_t now = tr_wall_ms();
	struct tr_jr_update u = {
	    .state = "running", .started_at = now, .finished_at = -1};
	tr_journal_instance_update(e->j, i->id, &u);
	tr_inst_event(i, "workflow.started");
	tr_sched_run(i, now);
	return 0;
}

static void subflow(struct tr_engine *e, struct job *jb)
{
	char id[40];
	child_id(jb->idem, id, sizeof id);
	struct inst *c = tr_inst_find(e, id);
	if (c) {
		c->parent_job = jb; /* resumed: wait for it again */
		return;
	}
	json_t *row = tr_journal_instance(e->j, id);
	if (row) {
		tr_job_sub_result(
		    jb, id, json_string_value(json_object_get(row, "state")),
		    json_string_value(json_object_get(row, "error")),
		    json_object_get(row, "outputs"));
		json_decref(row);
		tr_job_ready(e, jb);
		return;
	}
	char *newid = NULL;
	const char *name =
	    json_string_value(json_object_get(jb->args, "workflow"));
	if (start_child(e, name, json_object_get(jb->args, "inputs"), id, jb,
			&newid, &jb->call) != 0) {
		jb->sub_ready = 1;
		jb->rc = jb->call.code;
		tr_job_ready(e, jb);
	} else if (e->on_child) {
		e->on_child(e->on_child_arg, jb->i->id, newid);
	}
	free(newid);
}

static void subflow_cancel(struct tr_engine *e, struct job *jb, const char *why)
{
	for (struct inst *c = e->head; c; c = c->next) {
		if (c->parent_job == jb && c->st == I_RUNNING) {
			c->cancelled = 1;
			tr_sched_fail(c, (size_t)-1, why);
		}
	}
}

/* ---- failure and compensation ---- */

void tr_sched_fail(struct inst *i, size_t idx, const char *error)
{
	if (i->st != I_RUNNING)
		return;
	struct tr_engine *e = i->e;
	i->st = I_FAILING;
	free(i->error);
	i->error = tr_secrets_redact_str(&i->secrets, error);
	if (idx != (size_t)-1) {
		free(i->failed_step);
		i->failed_step = tr_xstrdup(i->wf->steps[idx].id);
	}
	if (i->wf_timer) {
		tr_daemon_timer_cancel(e->d, i->wf_timer);
		i->wf_timer = 0;
	}
	for (size_t k = 0; k < i->wf->n_steps; k++) {
		struct step_rt *s = &i->s[k];
		if (s->st == S_RETRY && s->timer) {
			tr_daemon_timer_cancel(e->d, s->timer);
			s->timer = 0;
			i->retrying--;
			tr_job_free(s->job);
			s->job = NULL;
			s->st = S_FAILED;
			i->n_terminal++;
			struct tr_jr_step u = tr_step_blank();
			u.state = "failed";
			u.finished_at = tr_wall_ms();
			tr_step_journal(i, k, &u);
		} else if (s->st == S_READY) {
			s->st = S_PENDING; /* its heap entry is dropped */
		} else if (s->st == S_RUNNING && s->job &&
			   (i->cancelled || i->timed_out)) {
			atomic_store(&s->job->call.cancelled, 1);
			if (s->job->a->flags & TR_ACTION_ENGINE)
				subflow_cancel(e, s->job,
					       "cancelled with its parent");
		}
	}
	struct tr_jr_update u = {.state = "compensating",
				 .error = i->error,
				 .failed_step = i->failed_step,
				 .started_at = -1,
				 .finished_at = -1};
	tr_journal_instance_update(e->j, i->id, &u);
	tr_info("workflow %s (%s) failing: %s%s%s", i->id, i->wf->name,
		i->error, i->failed_step ? " at step " : "",
		i->failed_step ? i->failed_step : "");
	tr_sched_check_finish(i);
}

static void comp_next(struct inst *i)
{
	while (i->undo_pos < i->n_undo) {
		size_t idx = i->undo_order[i->undo_pos];
		const struct tr_wf_step *ws = &i->wf->steps[idx];
		char err[1024];
		json_t *args = tr_undo_args(i, idx, err, sizeof err);
		struct job *jb =
		    args ? tr_job_new(i, idx, 1, ws->undo_action, args) : NULL;
		if (jb) {
			tr_sched_dispatch(i->e, jb);
			return;
		}
		/* The undo cannot even start: what the step made stays. */
		i->s[idx].undo = U_FAILED;
		i->comp_failed = 1;
		char *red = tr_secrets_redact_str(&i->secrets, err);
		struct tr_jr_step u = tr_step_blank();
		u.undo_state = "undo_failed";
		u.undo_error = red;
		tr_step_journal(i, idx, &u);
		if (!i->left_behind)
			i->left_behind = json_array();
		json_array_append_new(
		    i->left_behind,
		    json_pack("{s:s, s:s, s:s}", "step", ws->id, "undo",
			      ws->undo_action->name, "error", red ? red : ""));
		free(red);
		i->undo_pos++;
	}
	tr_inst_finish(i);
}

static void comp_start(struct inst *i)
{
	i->comp_started = 1;
	tr_undo_plan(i);
	comp_next(i);
}

static void undo_complete(struct tr_engine *e, struct job *jb)
{
	(void)e;
	struct inst *i = jb->i;
	struct step_rt *s = &i->s[jb->idx];
	const struct tr_wf_step *ws = &i->wf->steps[jb->idx];
	struct tr_jr_step u = tr_step_blank();
	if (jb->rc == 0) {
		s->undo = U_DONE;
		u.undo_state = "undone";
		tr_step_journal(i, jb->idx, &u);
		tr_step_event(i, jb->idx, "workflow.step.undone", "undone",
			      tr_wall_ms() - jb->t0, NULL);
		tr_job_free(jb);
		i->undo_pos++;
		comp_next(i);
		return;
	}
	char *err = tr_job_error_text(&jb->call);
	if (s->undo_attempts < ws->attempts &&
	    tr_sched_wait_retry(i, jb, s->undo_attempts) == 0) {
		s->job = jb;
		free(err);
		return;
	}
	s->undo = U_FAILED;
	i->comp_failed = 1;
	char *red = tr_secrets_redact_str(&i->secrets, err);
	u.undo_state = "undo_failed";
	u.undo_error = red;
	tr_step_journal(i, jb->idx, &u);
	tr_step_event(i, jb->idx, "workflow.step.undone", "undo_failed",
		      tr_wall_ms() - jb->t0, err);
	if (!i->left_behind)
		i->left_behind = json_array();
	json_t *lb =
	    json_pack("{s:s, s:s, s:s, s:o}", "step", ws->id, "undo",
		      ws->undo_action->name, "error", red ? red : "", "outputs",
		      tr_secrets_redact(&i->secrets,
					s->outputs ? s->outputs : json_null()));
	json_array_append_new(i->left_behind, lb);
	tr_warn("workflow %s (%s): undo of step %s failed, left behind: %s",
		i->id, i->wf->name, ws->id, red ? red : "?");
	free(red);
	free(err);
	tr_job_free(jb);
	i->undo_pos++;
	comp_next(i);
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
			struct ready r = tr_ready_pop(e);
			if (r.i->st != I_RUNNING || r.i->s[r.idx].st != S_READY)
				continue;
			const struct tr_wf_step *ws = &r.i->wf->steps[r.idx];
			json_t *args = json_incref(r.i->s[r.idx].args);
			struct job *jb =
			    tr_job_new(r.i, r.idx, 0, ws->action, args);
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
			admit(e);
	} while (e->again || e->n_check || e->n_inl);
	if (e->dead)
		tr_inst_reap(e);
	e->pumping = 0;
	tr_sched_arm_flush(e);
}
