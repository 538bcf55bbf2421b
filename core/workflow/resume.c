/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resume.c - picking unfinished instances up from the journal after a
 * restart (engine.h: "after a crash"): over sched.c and state.c, called
 * by engine.c when the engine starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "engine_int.h"

/* ---- resume ---- */

static enum sstate parse_state(const char *s, int *was_running)
{
	*was_running = 0;
	if (!strcmp(s, "succeeded"))
		return S_SUCCEEDED;
	if (!strcmp(s, "skipped"))
		return S_SKIPPED;
	if (!strcmp(s, "failed"))
		return S_FAILED;
	if (!strcmp(s, "running") || !strcmp(s, "retrying"))
		*was_running = 1;
	return S_PENDING;
}

/* After a restart in the middle of compensation: steps that were running
 * may have made something, so they run again (same idempotency key, so
 * they find it) before their undo. */
static void resume_running(struct inst *i)
{
	for (size_t k = 0; k < i->wf->n_steps; k++) {
		struct step_rt *s = &i->s[k];
		if (!s->was_running)
			continue;
		s->was_running = 0;
		const struct tr_wf_step *ws = &i->wf->steps[k];
		char err[1024];
		json_t *args = tr_val_eval(i, ws->with, err, sizeof err);
		if (args && tr_action_check_args(ws->action, args, err,
						 sizeof err) != 0) {
			json_decref(args);
			args = NULL;
		}
		struct job *jb =
		    args ? tr_job_new(i, k, 0, ws->action, args) : NULL;
		if (jb) {
			tr_sched_dispatch(i->e, jb);
		} else {
			s->st = S_FAILED;
			i->n_terminal++;
		}
	}
}

static void resume_one(struct tr_engine *e, json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *src = json_string_value(json_object_get(row, "source"));
	const char *file = json_string_value(json_object_get(row, "file"));
	const char *state = json_string_value(json_object_get(row, "state"));
	struct tr_wf *wf;
	struct tr_wf_errors errs;
	if (tr_defs_share(e, file ? file : "<journal>", src ? src : "", &wf,
			  &errs) != 0) {
		char msg[1200];
		snprintf(msg, sizeof msg, "cannot resume: %s",
			 errs.n ? errs.msg[0] : "invalid definition");
		tr_wf_errors_free(&errs);
		tr_err("workflow %s: %s", id, msg);
		struct tr_jr_update u = {.state = "failed",
					 .compensation = "failed",
					 .error = msg,
					 .started_at = -1,
					 .finished_at = tr_wall_ms()};
		tr_journal_instance_update(e->j, id, &u);
		return;
	}
	tr_wf_errors_free(&errs);
	struct inst *i = tr_inst_new(e, wf, id);
	if (!i)
		return;
	i->seq = json_integer_value(json_object_get(row, "seq"));
	i->priority = (int)json_integer_value(json_object_get(row, "priority"));
	i->inputs = json_loads(json_string_value(json_object_get(row, "inputs")),
			       0, NULL);
	if (!i->inputs)
		i->inputs = json_object();
	const char *sealed = json_string_value(json_object_get(row, "sealed"));
	if (sealed) {
		json_t *sec = tr_unseal_json(e->seal, sealed);
		if (!sec)
			tr_warn("workflow %s: secret inputs cannot be unsealed "
				"(the key changed?): they stay redacted",
				id);
		json_object_update(i->inputs, sec);
		json_decref(sec);
		json_t *s2 = tr_inst_secret_inputs(i);
		json_decref(s2);
	}
	json_t *steps = tr_journal_steps(e->j, id);
	size_t k;
	json_t *s;
	json_array_foreach(steps, k, s)
	{
		size_t idx = (size_t)json_integer_value(json_object_get(s, "idx"));
		if (idx >= wf->n_steps)
			continue;
		struct step_rt *rt = &i->s[idx];
		const char *st = json_string_value(json_object_get(s, "state"));
		rt->st = parse_state(st ? st : "", &rt->was_running);
		rt->attempts =
			(int)json_integer_value(json_object_get(s, "attempts"));
		rt->done_seq = json_integer_value(json_object_get(s, "done_seq"));
		if (rt->done_seq > i->next_done_seq)
			i->next_done_seq = rt->done_seq;
		json_t *o = json_object_get(s, "outputs");
		if (json_is_object(o))
			rt->outputs = json_incref(o);
		const char *us = json_string_value(json_object_get(s, "undo_state"));
		if (us && (!strcmp(us, "undone") || !strcmp(us, "kept")))
			rt->undo = U_DONE;
		else if (us && !strcmp(us, "undo_failed"))
			rt->undo = U_FAILED;
		if (rt->st == S_SUCCEEDED || rt->st == S_SKIPPED ||
		    rt->st == S_FAILED)
			i->n_terminal++;
	}
	json_decref(steps);
	/* What still waits: needs that have not finished well. */
	for (size_t m = 0; m < wf->n_steps; m++) {
		i->s[m].waiting = 0;
		for (size_t d = 0; d < wf->steps[m].n_deps; d++) {
			enum sstate ds = i->s[wf->steps[m].deps[d]].st;
			if (ds != S_SUCCEEDED && ds != S_SKIPPED &&
			    ds != S_FAILED)
				i->s[m].waiting++;
		}
	}
	if (!strcmp(state, "queued")) {
		tr_inst_enqueue(e, i);
		return;
	}
	int64_t started = json_integer_value(json_object_get(row, "started_at"));
	if (!strcmp(state, "compensating")) {
		i->st = I_FAILING;
		e->n_running++;
		const char *err = json_string_value(json_object_get(row, "error"));
		const char *fs =
			json_string_value(json_object_get(row, "failed_step"));
		i->error = tr_xstrdup(err ? err : "failed before a restart");
		i->failed_step = fs ? tr_xstrdup(fs) : NULL;
		i->started_ms = started;
		tr_info("workflow %s (%s): resuming compensation", id, wf->name);
		resume_running(i);
		tr_sched_check_finish(i);
		return;
	}
	tr_info("workflow %s (%s): resuming", id, wf->name);
	for (size_t m = 0; m < wf->n_steps; m++)
		i->s[m].was_running = 0;
	tr_sched_run(i, started ? started : tr_wall_ms());
}

void tr_resume_all(struct tr_engine *e)
{
	e->seq = tr_journal_max_seq(e->j);
	json_t *rows = tr_journal_unfinished(e->j);
	size_t k;
	json_t *row;
	json_array_foreach(rows, k, row) resume_one(e, row);
	json_decref(rows);
	tr_sched_pump(e);
}
