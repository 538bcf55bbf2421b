/* SPDX-License-Identifier: Apache-2.0 */
/*
 * undo.c - when an instance fails: stop scheduling, then compensate.  The
 * `undo` of every step that succeeded runs in reverse order of
 * completion, one at a time; an undo that fails for good leaves its step
 * in the instance's left_behind list (engine.h).
 *
 * An undo removes only what its own step made.  A step whose outputs say
 * "found": true met its object already there (a segment other VMs use,
 * a VM that was running before vm_start): compensation keeps it, and the
 * journal says "kept".  An undo action that takes "made_by" is given the
 * step's idempotency key, so the plugin deletes the object only if that
 * step made it (TRELLIS_VOL_DELETE_IF_KEY...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "engine_int.h"

static void comp_next(struct inst *i);

void tr_sched_undo_complete(struct tr_engine *e, struct job *jb)
{
	(void)e;
	struct inst *i = jb->i;
	struct step_rt *s = &i->s[jb->idx];
	const struct tr_wf_step *ws = &i->wf->steps[jb->idx];
	struct tr_jr_step u = tr_sched_jr_blank();
	if (jb->rc == 0) {
		s->undo = U_DONE;
		u.undo_state = "undone";
		tr_sched_jstep(i, jb->idx, &u);
		tr_sched_step_event(i, jb->idx, "workflow.step.undone", "undone",
			   tr_wall_ms() - jb->t0, NULL);
		tr_sched_job_free(jb);
		i->undo_pos++;
		comp_next(i);
		return;
	}
	char *err = tr_sched_error_text(&jb->call);
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
	tr_sched_jstep(i, jb->idx, &u);
	tr_sched_step_event(i, jb->idx, "workflow.step.undone", "undo_failed",
		   tr_wall_ms() - jb->t0, err);
	if (!i->left_behind)
		i->left_behind = json_array();
	json_t *lb = json_pack("{s:s, s:s, s:s, s:o}", "step", ws->id, "undo",
			       ws->undo_action->name, "error", red ? red : "",
			       "outputs",
			       tr_secrets_redact(&i->secrets, s->outputs
								? s->outputs
								: json_null()));
	json_array_append_new(i->left_behind, lb);
	tr_warn("workflow %s (%s): undo of step %s failed, left behind: %s",
		i->id, i->wf->name, ws->id, red ? red : "?");
	free(red);
	free(err);
	tr_sched_job_free(jb);
	i->undo_pos++;
	comp_next(i);
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
			tr_sched_job_free(s->job);
			s->job = NULL;
			s->st = S_FAILED;
			i->n_terminal++;
			struct tr_jr_step u = tr_sched_jr_blank();
			u.state = "failed";
			u.finished_at = tr_wall_ms();
			tr_sched_jstep(i, k, &u);
		} else if (s->st == S_READY) {
			s->st = S_PENDING; /* its heap entry is dropped */
		} else if (s->st == S_RUNNING && s->job &&
			   (i->cancelled || i->timed_out)) {
			atomic_store(&s->job->call.cancelled, 1);
			if (s->job->a->flags & TR_ACTION_ENGINE)
				tr_eng_subflow_cancel(e, s->job,
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

static int by_done_desc(const void *a, const void *b, void *arg)
{
	const struct inst *i = arg;
	int64_t x = i->s[*(const size_t *)a].done_seq;
	int64_t y = i->s[*(const size_t *)b].done_seq;
	return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *undo_args(struct inst *i, size_t idx, char *err, size_t errlen)
{
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	const struct tr_action *ua = ws->undo_action;
	json_t *args;
	if (ws->undo_with) {
		args = tr_sched_eval(i, ws->undo_with, err, errlen);
	} else {
		/* The step's own arguments and outputs, as far as the undo
		 * action takes them (outputs win: the id of what was made). */
		json_t *with = tr_sched_eval(i, ws->with, err, errlen);
		if (!with)
			return NULL;
		args = json_object();
		for (const struct tr_field *f = ua->input; f->name; f++) {
			json_t *v = json_object_get(i->s[idx].outputs, f->name);
			if (!v)
				v = json_object_get(with, f->name);
			if (v)
				json_object_set(args, f->name, v);
		}
		json_decref(with);
	}
	if (args && tr_field_find(ua->input, "made_by") &&
	    !json_object_get(args, "made_by")) {
		char key[512];
		snprintf(key, sizeof key, "%s/%s", i->id, ws->id);
		json_object_set_new(args, "made_by", json_string(key));
	}
	if (args && tr_action_check_args(ua, args, err, errlen) != 0) {
		json_decref(args);
		return NULL;
	}
	return args;
}

static void comp_next(struct inst *i)
{
	while (i->undo_pos < i->n_undo) {
		size_t idx = i->undo_order[i->undo_pos];
		const struct tr_wf_step *ws = &i->wf->steps[idx];
		char err[1024];
		json_t *args = undo_args(i, idx, err, sizeof err);
		struct job *jb =
			args ? tr_sched_job_new(i, idx, 1, ws->undo_action, args) : NULL;
		if (jb) {
			tr_sched_dispatch(i->e, jb);
			return;
		}
		/* The undo cannot even start: what the step made stays. */
		i->s[idx].undo = U_FAILED;
		i->comp_failed = 1;
		char *red = tr_secrets_redact_str(&i->secrets, err);
		struct tr_jr_step u = tr_sched_jr_blank();
		u.undo_state = "undo_failed";
		u.undo_error = red;
		tr_sched_jstep(i, idx, &u);
		if (!i->left_behind)
			i->left_behind = json_array();
		json_array_append_new(
			i->left_behind,
			json_pack("{s:s, s:s, s:s}", "step", ws->id, "undo",
				  ws->undo_action->name, "error",
				  red ? red : ""));
		free(red);
		i->undo_pos++;
	}
	tr_eng_instance_finish(i);
}

/* The step found its object rather than making it: nothing to undo. */
static int found(struct inst *i, size_t k)
{
	struct step_rt *s = &i->s[k];
	if (!json_is_true(json_object_get(s->outputs, "found")))
		return 0;
	if (s->undo != U_DONE) {
		struct tr_jr_step u = tr_sched_jr_blank();
		s->undo = U_DONE;
		u.undo_state = "kept";
		tr_sched_jstep(i, k, &u);
		tr_sched_step_event(i, k, "workflow.step.undone", "kept", 0,
				 NULL);
	}
	return 1;
}

void tr_sched_comp_start(struct inst *i)
{
	i->comp_started = 1;
	size_t n = 0;
	i->undo_order = tr_xmalloc((i->wf->n_steps + 1) * sizeof *i->undo_order);
	for (size_t k = 0; i->undo_order && k < i->wf->n_steps; k++)
		if (i->s[k].st == S_SUCCEEDED && i->wf->steps[k].undo_action &&
		    i->s[k].undo != U_DONE && i->s[k].undo != U_FAILED &&
		    !found(i, k))
			i->undo_order[n++] = k;
	i->n_undo = n;
	qsort_r(i->undo_order, n, sizeof *i->undo_order, by_done_desc, i);
	comp_next(i);
}
