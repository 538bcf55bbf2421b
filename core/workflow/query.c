/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query.c - what the engine tells the API and the CLI: status, list and
 * the step journal of an instance, read from the journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "engine_int.h"

/* ---- queries ---- */

/* The journal keeps an instance's priority as a number; what leaves the
 * engine says it as the definitions do (normal, high). */
static void priority_name(json_t *row)
{
	json_t *p = json_object_get(row, "priority");
	if (json_is_integer(p))
		json_object_set_new(row, "priority",
				    json_string(json_integer_value(p) > 0
						    ? "high"
						    : "normal"));
}

static json_t *step_counts(struct tr_engine *e, const char *id)
{
	json_t *steps = tr_journal_steps(e->j, id);
	json_t *c = json_pack("{s:I}", "total",
			      (json_int_t)json_array_size(steps));
	size_t k;
	json_t *s;
	json_array_foreach(steps, k, s)
	{
		const char *st = json_string_value(json_object_get(s, "state"));
		if (!st)
			continue;
		json_object_set_new(
			c, st,
			json_integer(json_integer_value(json_object_get(c, st)) +
				     1));
	}
	json_decref(steps);
	return c;
}

int tr_engine_status(struct tr_engine *e, const char *id, json_t **out,
		     trellis_call_t *call)
{
	json_t *row = tr_journal_instance(e->j, id);
	if (!row)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "no workflow instance '%s'", id);
	json_object_set_new(row, "steps", step_counts(e, id));
	priority_name(row);
	*out = row;
	return 0;
}

int tr_engine_list(struct tr_engine *e, const char *state, unsigned limit,
		   json_t **out, trellis_call_t *call)
{
	json_t *rows = tr_journal_list(e->j, state, limit);
	if (!rows)
		return tr_call_set(call, TRELLIS_E_IO,
				   "cannot read the workflow journal");
	size_t k;
	json_t *r;
	json_array_foreach(rows, k, r)
		priority_name(r);
	*out = json_pack("{s:o}", "items", rows);
	return 0;
}

int tr_engine_logs(struct tr_engine *e, const char *id, json_t **out,
		   trellis_call_t *call)
{
	json_t *row = tr_journal_instance(e->j, id);
	if (!row)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "no workflow instance '%s'", id);
	json_t *steps = tr_journal_steps(e->j, id);
	struct inst *live = tr_inst_find(e, id);
	/* A finished instance: its definition says what each step calls. */
	struct tr_wf *def = live ? live->wf : NULL;
	char *file = NULL, *src = live ? NULL : tr_journal_source(e->j, id, &file);
	struct tr_wf_errors errs;
	if (src && tr_defs_share(e, file, src, &def, &errs) != 0)
		def = NULL;
	if (src)
		tr_wf_errors_free(&errs);
	size_t k;
	json_t *s;
	json_array_foreach(steps, k, s)
	{
		json_t *a = json_object_get(s, "started_at");
		json_t *b = json_object_get(s, "finished_at");
		if (json_is_integer(a) && json_is_integer(b))
			json_object_set_new(
				s, "duration_ms",
				json_integer(json_integer_value(b) -
					     json_integer_value(a)));
		if (def && k < def->n_steps && def->steps[k].call)
			json_object_set_new(s, "call",
					    json_string(def->steps[k].call));
	}
	if (src && def)
		tr_defs_release(e, def);
	free(src);
	free(file);
	json_object_set_new(row, "steps", steps);
	priority_name(row);
	*out = row;
	return 0;
}

unsigned tr_engine_active(const struct tr_engine *e)
{
	unsigned n = 0;
	for (const struct inst *i = e->head; i; i = i->next)
		n++;
	return n;
}

int tr_engine_flush(struct tr_engine *e)
{
	return tr_journal_flush(e->j);
}
