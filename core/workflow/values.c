/* SPDX-License-Identifier: Apache-2.0 */
/*
 * values.c - what an instance's steps see and what they must hide:
 * resolving ${inputs.X}, ${steps.ID.FIELD} and ${secrets.NAME} against one
 * instance (tr_val_eval), and adding the outputs an action declares secret
 * to the instance's redaction set (tr_val_secret_outputs).  Main thread
 * only, like the rest of the scheduler.
 */
#include <stdio.h>

#include "engine_int.h"
#include "expr.h"

/* A step's state as a reference error names it. */
static const char *const SSTATE[] = {
	[S_PENDING] = "pending",     [S_READY] = "pending",
	[S_RUNNING] = "running",     [S_RETRY] = "retrying",
	[S_SUCCEEDED] = "succeeded", [S_FAILED] = "failed",
	[S_SKIPPED] = "skipped",
};

/* Outputs the action declares secret (a console password...) join the
 * instance's secrets, so every later redaction - journal, logs, events,
 * status - hides them as it hides secret inputs. */
void tr_val_secret_outputs(struct inst *i, const struct tr_wf_step *ws,
			   const json_t *outputs)
{
	if (!ws->action || !ws->action->output || !json_is_object(outputs))
		return;
	for (const struct tr_field *f = ws->action->output; f->name; f++) {
		json_t *v = json_object_get(outputs, f->name);
		if (f->type == TR_T_SECRET && json_is_string(v))
			tr_secrets_add(&i->secrets, json_string_value(v));
	}
}

/* ---- expressions ---- */

struct lookup_ctx {
	struct inst *i;
};

static json_t *lookup(void *arg, const struct tr_ref *ref, char *err,
		      size_t errlen)
{
	struct inst *i = ((struct lookup_ctx *)arg)->i;
	if (ref->ns == TR_REF_INPUTS) {
		json_t *v = json_object_get(i->inputs, ref->name);
		if (!v)
			snprintf(err, errlen, "%s: input '%s' was not given "
					      "and has no default",
				 ref->text, ref->name);
		return v;
	}
	if (ref->ns == TR_REF_STEPS) {
		size_t idx;
		if (!tr_wf_step_find(i->wf, ref->name, &idx)) {
			snprintf(err, errlen, "%s: no step '%s'", ref->text,
				 ref->name);
			return NULL;
		}
		json_t *v = json_object_get(i->s[idx].outputs, ref->field);
		if (!v)
			snprintf(err, errlen, "%s: step '%s' has no output "
					      "'%s' (it is %s)",
				 ref->text, ref->name, ref->field,
				 SSTATE[i->s[idx].st]);
		return v;
	}
	/* A secret: fetched from the daemon's secret store each time it is
	 * resolved, remembered only to redact it. */
	json_t *cache = json_object_get(i->inputs, "\x01secrets");
	json_t *v = json_object_get(cache, ref->name);
	if (v)
		return v;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	char *value = NULL;
	if (tr_host()->secret_get(NULL, &call, ref->name, &value) != 0) {
		snprintf(err, errlen, "%s: %s", ref->text, call.message);
		return NULL;
	}
	tr_secrets_add(&i->secrets, value);
	if (!cache) {
		cache = json_object();
		json_object_set_new(i->inputs, "\x01secrets", cache);
	}
	json_object_set_new(cache, ref->name, json_string(value));
	tr_host()->secret_free(value);
	return json_object_get(cache, ref->name);
}

json_t *tr_val_eval(struct inst *i, const json_t *tmpl, char *err,
		    size_t errlen)
{
	struct lookup_ctx c = {i};
	return tr_expr_eval(tmpl, lookup, &c, err, errlen);
}

int tr_val_when(struct inst *i, const json_t *when, int *truth, char *err,
		size_t errlen)
{
	struct lookup_ctx c = {i};
	return tr_expr_when(when, lookup, &c, truth, err, errlen);
}
