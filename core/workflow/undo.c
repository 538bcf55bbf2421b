/* SPDX-License-Identifier: Apache-2.0 */
/*
 * undo.c - the plan of a compensation (engine_int.h): which steps to
 * undo, in which order, with which arguments.  sched.c runs it: when an
 * instance fails it stops scheduling, then runs the `undo` of every step
 * that succeeded in reverse order of completion, one at a time; an undo
 * that fails for good leaves its step in the instance's left_behind list
 * (engine.h).  This file calls only state.c and values.c, below it.
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

static int by_done_desc(const void *a, const void *b, void *arg)
{
	const struct inst *i = arg;
	int64_t x = i->s[*(const size_t *)a].done_seq;
	int64_t y = i->s[*(const size_t *)b].done_seq;
	return x < y ? 1 : x > y ? -1 : 0;
}

json_t *tr_undo_args(struct inst *i, size_t idx, char *err, size_t errlen)
{
	const struct tr_wf_step *ws = &i->wf->steps[idx];
	const struct tr_action *ua = ws->undo_action;
	json_t *args;
	if (ws->undo_with) {
		args = tr_val_eval(i, ws->undo_with, err, errlen);
	} else {
		/* The step's own arguments and outputs, as far as the undo
		 * action takes them (outputs win: the id of what was made). */
		json_t *with = tr_val_eval(i, ws->with, err, errlen);
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

/* The step found its object rather than making it: nothing to undo. */
static int found(struct inst *i, size_t k)
{
	struct step_rt *s = &i->s[k];
	if (!json_is_true(json_object_get(s->outputs, "found")))
		return 0;
	if (s->undo != U_DONE) {
		struct tr_jr_step u = tr_step_blank();
		s->undo = U_DONE;
		u.undo_state = "kept";
		tr_step_journal(i, k, &u);
		tr_step_event(i, k, "workflow.step.undone", "kept", 0, NULL);
	}
	return 1;
}

void tr_undo_plan(struct inst *i)
{
	size_t n = 0;
	i->undo_order = tr_xmalloc((i->wf->n_steps + 1) * sizeof *i->undo_order);
	for (size_t k = 0; i->undo_order && k < i->wf->n_steps; k++)
		if (i->s[k].st == S_SUCCEEDED && i->wf->steps[k].undo_action &&
		    i->s[k].undo != U_DONE && i->s[k].undo != U_FAILED &&
		    !found(i, k))
			i->undo_order[n++] = k;
	i->n_undo = n;
	qsort_r(i->undo_order, n, sizeof *i->undo_order, by_done_desc, i);
}
