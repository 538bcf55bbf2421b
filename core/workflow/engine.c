/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c - the instance half of the engine (engine.h): admission and
 * priority, starting, finishing, cancelling, sub-workflows, and the
 * engine's lifetime.  Definitions are in defs.c, queries in query.c,
 * resuming after a restart in resume.c; steps in sched.c.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include "../config/config.h"
#include "../loader/paths.h"
#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"
#include "engine_int.h"

char *tr_wf_redacted_dump(const struct inst *i, const json_t *v)
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

void tr_wf_publish(struct inst *i, const char *topic, json_t *body)
{
	if (i->e->d->events)
		tr_daemon_publish(i->e->d, topic, body);
}

static void sub_result(struct job *jb, const char *id, const char *state,
		       const char *error, json_t *outputs);

/* ---- instances ---- */

struct inst *tr_eng_inst_find(struct tr_engine *e, const char *id)
{
	for (struct inst *i = e->head; i; i = i->next)
		if (strcmp(i->id, id) == 0)
			return i;
	return NULL;
}

/* Builds the runtime of an instance around a loaded definition (taken). */
struct inst *tr_eng_inst_new(struct tr_engine *e, struct tr_wf *wf,
			     const char *id)
{
	struct inst *i = tr_xcalloc(1, sizeof *i);
	if (!i) {
		tr_eng_wf_release(e, wf);
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
	tr_eng_instance_free(i);
	return NULL;
}

void tr_eng_instance_free(struct inst *i)
{
	if (!i)
		return;
	for (size_t k = 0; i->s && k < i->wf->n_steps; k++) {
		json_decref(i->s[k].args);
		json_decref(i->s[k].outputs);
		free(i->s[k].dependents);
	}
	free(i->s);
	tr_eng_wf_release(i->e, i->wf);
	json_decref(i->inputs);
	tr_secrets_clear(&i->secrets);
	free(i->error);
	free(i->failed_step);
	free(i->undo_order);
	json_decref(i->left_behind);
	free(i);
}

static void unlink_inst(struct tr_engine *e, struct inst *i)
{
	if (i->prev)
		i->prev->next = i->next;
	else if (e->head == i)
		e->head = i->next;
	if (i->next)
		i->next->prev = i->prev;
	i->prev = i->next = NULL;
}

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

static void inst_event(struct inst *i, const char *topic)
{
	json_t *b = json_pack("{s:s, s:s, s:I, s:s}", "id", i->id, "workflow",
			      i->wf->name, "steps", (json_int_t)i->wf->n_steps,
			      "priority",
			      i->priority == TR_WF_PRIO_HIGH ? "high"
							     : "normal");
	if (b)
		tr_wf_publish(i, topic, b);
	json_decref(b);
}

/* Starts running an admitted instance (or one resumed as running). */
void tr_eng_inst_run(struct inst *i, int64_t started_ms)
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
	tr_sched_instance_begin(i);
	/* Resumed with every step already finished (the crash came just
	 * before the instance's own final record). */
	tr_sched_check_finish(i);
}

void tr_eng_admit(struct tr_engine *e)
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
		struct tr_jr_update u = {.state = "running",
					 .started_at = now,
					 .finished_at = -1};
		tr_journal_instance_update(e->j, i->id, &u);
		inst_event(i, "workflow.started");
		tr_info("workflow %s (%s) started", i->id, i->wf->name);
		tr_eng_inst_run(i, now);
	}
}

int tr_eng_enqueue(struct tr_engine *e, struct inst *i)
{
	TR_GROW(e->queue, e->n_queue, e->cap_queue);
	e->queue[e->n_queue++] = i;
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
		json_t *v = tr_sched_eval(i, t, err, sizeof err);
		json_object_set_new(o, k, v ? v : json_null());
	}
	return o;
}

void tr_eng_instance_finish(struct inst *i)
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
	char *out = tr_wf_redacted_dump(i, outputs);
	char *lb = i->left_behind ? tr_wf_redacted_dump(i, i->left_behind) : NULL;
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
		tr_wf_publish(i, "workflow.finished", b);
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
		sub_result(i->parent_job, i->id, state, i->error, outputs);
		tr_sched_job_ready(e, i->parent_job);
		i->parent_job = NULL;
	}
	json_decref(outputs);
	i->st = I_DONE;
	unlink_inst(e, i);
	/* Freed by the pump once nothing points at it; the pump also
	 * admits the next instance into the free slot.  Every caller is in
	 * or before a pump. */
	i->next = e->dead;
	e->dead = i;
}

/* ---- start ---- */

static void new_id(char *buf, size_t len)
{
	unsigned char r[8];
	randombytes_buf(r, sizeof r);
	snprintf(buf, len, "wf-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* Collects secret-typed inputs: remembered for redaction, and sealed. */
json_t *tr_eng_secret_inputs(struct inst *i)
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

static int start_inst(struct tr_engine *e, const char *name,
		      const char *source, const char *file, json_t *inputs,
		      const char *forced_id, struct job *parent, char **id,
		      json_t **details, trellis_call_t *call)
{
	*id = NULL;
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
	if (tr_eng_wf_load_shared(e, file ? file : "<api>", text, &wf, &errs) != 0) {
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
		tr_eng_wf_release(e, wf);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
	}
	char idbuf[40];
	if (forced_id)
		snprintf(idbuf, sizeof idbuf, "%s", forced_id);
	else
		new_id(idbuf, sizeof idbuf);
	struct inst *i = tr_eng_inst_new(e, wf, idbuf);
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
	json_t *sec = tr_eng_secret_inputs(i);
	char *sealed = json_object_size(sec) ? tr_seal_json(e->seal, sec) : NULL;
	json_decref(sec);
	char *red = tr_wf_redacted_dump(i, i->inputs);
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
		unlink_inst(e, i);
		tr_eng_instance_free(i);
		return tr_call_set(call, TRELLIS_E_IO,
				   "cannot journal the new instance");
	}
	*id = tr_xstrdup(i->id);
	if (parent) {
		/* A child runs at once: its parent holds a slot already. */
		i->parent_job = parent;
		int64_t now = tr_wall_ms();
		struct tr_jr_update u = {.state = "running",
					 .started_at = now,
					 .finished_at = -1};
		tr_journal_instance_update(e->j, i->id, &u);
		inst_event(i, "workflow.started");
		tr_eng_inst_run(i, now);
		return 0;
	}
	if (tr_eng_enqueue(e, i) != 0) {
		unlink_inst(e, i);
		tr_eng_instance_free(i);
		free(*id);
		*id = NULL;
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	inst_event(i, "workflow.queued");
	return 0;
}

int tr_engine_start_with(struct tr_engine *e, const char *name,
			 const char *source, const char *file, json_t *inputs,
			 void (*created)(void *arg, const char *id), void *arg,
			 char **id, json_t **details, trellis_call_t *call)
{
	int rc = start_inst(e, name, source, file, inputs, NULL, NULL, id,
			    details, call);
	if (rc == 0 && created)
		created(arg, *id);
	if (rc == 0)
		tr_sched_pump(e);
	return rc;
}

void tr_engine_on_child(struct tr_engine *e,
			void (*fn)(void *arg, const char *parent,
				   const char *child),
			void *arg)
{
	e->on_child = fn;
	e->on_child_arg = arg;
}

int tr_engine_start(struct tr_engine *e, const char *name,
		    const char *source, const char *file, json_t *inputs,
		    char **id, json_t **details, trellis_call_t *call)
{
	return tr_engine_start_with(e, name, source, file, inputs, NULL, NULL,
				    id, details, call);
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

static void sub_result(struct job *jb, const char *id, const char *state,
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

void tr_eng_subflow(struct tr_engine *e, struct job *jb)
{
	char id[40];
	child_id(jb->idem, id, sizeof id);
	struct inst *c = tr_eng_inst_find(e, id);
	if (c) {
		c->parent_job = jb; /* resumed: wait for it again */
		return;
	}
	json_t *row = tr_journal_instance(e->j, id);
	if (row) {
		sub_result(jb, id, json_string_value(json_object_get(row, "state")),
			   json_string_value(json_object_get(row, "error")),
			   json_object_get(row, "outputs"));
		json_decref(row);
		tr_sched_job_ready(e, jb);
		return;
	}
	char *newid = NULL;
	const char *name = json_string_value(json_object_get(jb->args, "workflow"));
	if (start_inst(e, name, NULL, NULL, json_object_get(jb->args, "inputs"),
		       id, jb, &newid, NULL, &jb->call) != 0) {
		jb->sub_ready = 1;
		jb->rc = jb->call.code;
		tr_sched_job_ready(e, jb);
	} else if (e->on_child) {
		e->on_child(e->on_child_arg, jb->i->id, newid);
	}
	free(newid);
}

void tr_eng_subflow_cancel(struct tr_engine *e, struct job *jb, const char *why)
{
	for (struct inst *c = e->head; c; c = c->next) {
		if (c->parent_job == jb && c->st == I_RUNNING) {
			c->cancelled = 1;
			tr_sched_fail(c, (size_t)-1, why);
		}
	}
}

int tr_engine_cancel(struct tr_engine *e, const char *id,
		     trellis_call_t *call)
{
	struct inst *i = tr_eng_inst_find(e, id);
	if (!i) {
		json_t *row = tr_journal_instance(e->j, id);
		if (!row)
			return tr_call_set(call, TRELLIS_E_NOTFOUND,
					   "no workflow instance '%s'", id);
		json_decref(row);
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "workflow instance %s has already finished",
				   id);
	}
	if (i->st == I_QUEUED) {
		for (size_t k = 0; k < e->n_queue; k++)
			if (e->queue[k] == i) {
				memmove(&e->queue[k], &e->queue[k + 1],
					(e->n_queue - k - 1) *
						sizeof *e->queue);
				e->n_queue--;
				break;
			}
		i->cancelled = 1;
		i->error = tr_xstrdup("cancelled by request (before it started)");
		i->st = I_FAILING;
		e->n_running++; /* finish counts it out */
		tr_eng_instance_finish(i);
		tr_sched_pump(e);
		return 0;
	}
	if (i->st != I_RUNNING)
		return 0; /* already failing: compensation is under way */
	i->cancelled = 1;
	tr_sched_fail(i, (size_t)-1, "cancelled by request");
	tr_sched_pump(e);
	return 0;
}

/* ---- lifetime ---- */

struct tr_engine *tr_engine_new(struct tr_daemon *d,
				const struct tr_engine_opts *o, char *err,
				size_t errlen)
{
	struct tr_engine *e = tr_xcalloc(1, sizeof *e);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->d = d;
	e->max_workflows = o && o->max_workflows ? o->max_workflows : 16;
	e->max_steps = o && o->max_steps ? o->max_steps : 64;
	e->commit_ms = o && o->commit_ms ? o->commit_ms : 5;
	e->retention_s = o ? o->retention_s : 0;
	tr_actions_init();
	char keyp[4096];
	const char *kp = o ? o->key_path : NULL;
	if (!kp && d->state_dir) {
		snprintf(keyp, sizeof keyp, "%s/workflow.key", d->state_dir);
		kp = keyp;
	}
	if (!(e->seal = tr_seal_new(kp, err, errlen)))
		goto fail;
	if (!d->store) {
		snprintf(err, errlen, "workflow engine: no store");
		goto fail;
	}
	if (!(e->j = tr_journal_new(d->store, err, errlen)))
		goto fail;
	for (size_t k = 0; o && k < o->n_dirs; k++)
		tr_eng_load_dir(e, o->dirs[k]);
	d->engine = e;
	tr_eng_resume(e);
	tr_eng_retention_start(e);
	return e;
fail:
	tr_engine_free(e);
	return NULL;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void watch_stop(struct tr_daemon *d, void *arg)
{
	struct tr_engine *e = arg;
	if (d->stopping && !e->stopping)
		tr_engine_stop(e);
}

struct tr_engine *tr_engine_new_daemon(struct tr_daemon *d, char *err,
				       size_t errlen)
{
	char *dirs[80];
	size_t n = 0;
	char self[4096], buf[4200];
	const char *env = getenv("TRELLIS_WORKFLOW_PATH");
	char *envcopy = env ? tr_xstrdup(env) : NULL;
	if (envcopy) {
		char *save = NULL;
		for (char *t = strtok_r(envcopy, ":", &save); t && n < 16;
		     t = strtok_r(NULL, ":", &save))
			if (*t)
				dirs[n++] = tr_xstrdup(t);
	} else if (tr_self_dir(self, sizeof self) == 0) {
		snprintf(buf, sizeof buf, "%s/../share/trellis/workflows", self);
		if (!is_dir(buf))
			snprintf(buf, sizeof buf, "%s/../../workflows", self);
		if (is_dir(buf))
			dirs[n++] = tr_xstrdup(buf);
		else
			tr_warn("workflows: no shipped workflows beside %s "
				"(set TRELLIS_WORKFLOW_PATH)",
				self);
	}
	free(envcopy);
	const struct tr_config *c = d->config;
	for (size_t k = 0; c && k < c->n_workflow_dirs && n < 80; k++)
		dirs[n++] = tr_xstrdup(c->workflow_dirs[k]);
	struct tr_engine_opts o = {
		.max_workflows = c ? c->max_workflows : 0,
		.max_steps = c ? c->wf_max_steps : 0,
		.retention_s = c ? c->wf_retention_s : 0,
		.dirs = (const char *const *)dirs,
		.n_dirs = n,
	};
	struct tr_engine *e = tr_engine_new(d, &o, err, errlen);
	for (size_t k = 0; k < n; k++)
		free(dirs[k]);
	if (e && d->loop)
		tr_daemon_timer_add(d, 100, 100, watch_stop, e, NULL);
	if (e)
		tr_info("workflows: %zu definitions, at most %u running", e->n_defs,
			e->max_workflows);
	return e;
}

void tr_engine_stop(struct tr_engine *e)
{
	if (!e)
		return;
	e->stopping = 1;
	/* Running steps are asked to stop (cooperative cancellation), so a
	 * shutdown is prompt; they run again at the next start. */
	for (struct inst *i = e->head; i; i = i->next)
		for (size_t k = 0; k < i->wf->n_steps; k++)
			if (i->s[k].job && (i->s[k].st == S_RUNNING ||
					    i->s[k].undo == U_RUNNING))
				atomic_store(&i->s[k].job->call.cancelled, 1);
	if (e->j)
		tr_journal_flush(e->j);
}

void tr_engine_free(struct tr_engine *e)
{
	if (!e)
		return;
	if (e->d && e->d->engine == e)
		e->d->engine = NULL;
	if (e->flush_armed)
		tr_daemon_timer_cancel(e->d, e->flush_timer);
	if (e->retention_timer)
		tr_daemon_timer_cancel(e->d, e->retention_timer);
	/* Jobs held for a commit never started: they run again at the
	 * next start, as the journal says they were running. */
	for (size_t k = 0; k < e->n_held; k++) {
		json_decref(e->held[k]->args);
		free(e->held[k]);
	}
	free(e->held);
	while (e->head) {
		struct inst *i = e->head;
		for (size_t k = 0; k < i->wf->n_steps; k++) {
			if (i->s[k].timer)
				tr_daemon_timer_cancel(e->d, i->s[k].timer);
			if (i->s[k].timer && i->s[k].job) {
				json_decref(i->s[k].job->args);
				free(i->s[k].job);
			}
		}
		if (i->wf_timer)
			tr_daemon_timer_cancel(e->d, i->wf_timer);
		if (i->parent_job) {
			/* The parent's workflow.run job: it resumes at the
			 * next start and finds this child again. */
			json_decref(i->parent_job->args);
			free(i->parent_job);
		}
		unlink_inst(e, i);
		tr_eng_instance_free(i);
	}
	while (e->dead) {
		struct inst *i = e->dead;
		e->dead = i->next;
		tr_eng_instance_free(i);
	}
	tr_journal_free(e->j);
	tr_seal_free(e->seal);
	for (size_t k = 0; k < e->n_defs; k++)
		tr_wf_free(e->defs[k]);
	free(e->defs);
	for (size_t k = 0; k < e->n_cache; k++)
		tr_wf_free(e->cache[k].wf);
	free(e->cache);
	free(e->queue);
	free(e->heap);
	free(e->check);
	free(e->inl);
	free(e);
}
