/*
 * engine.c - the instance half of the engine (engine.h): definitions,
 * admission and priority, starting, finishing, cancelling, queries, and
 * resuming from the journal after a restart.
 */
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include "../config/config.h"
#include "../loader/paths.h"
#include "../util/log.h"
#include "engine_int.h"

static struct tr_engine *engines_d_last;

int64_t wf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *wf_redacted_dump(const struct inst *i, const json_t *v)
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

void wf_publish(struct inst *i, const char *topic, json_t *body)
{
	if (i->e->d->events)
		tr_daemon_publish(i->e->d, topic, body);
}

static void sub_result(struct job *jb, const char *id, const char *state,
		       const char *error, json_t *outputs);

/* ---- definitions ---- */

static void load_dir(struct tr_engine *e, const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh) {
		tr_warn("workflows: %s: cannot read the directory", dir);
		return;
	}
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	while ((de = readdir(dh))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 ||
		    (strcmp(de->d_name + l - 5, ".yaml") &&
		     strcmp(de->d_name + l - 4, ".yml")))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		if (!nn)
			break;
		names = nn;
		names[n++] = strdup(de->d_name);
	}
	closedir(dh);
	for (size_t k = 0; k < n; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[k]);
		free(names[k]);
		struct tr_wf *wf;
		struct tr_wf_errors errs;
		if (tr_wf_load_file(path, &wf, &errs) != 0) {
			for (size_t m = 0; m < errs.n; m++)
				tr_err("workflows: %s", errs.msg[m]);
			tr_wf_errors_free(&errs);
			continue;
		}
		tr_wf_errors_free(&errs);
		size_t m;
		for (m = 0; m < e->n_defs; m++)
			if (strcmp(e->defs[m]->name, wf->name) == 0)
				break;
		if (m < e->n_defs) {
			tr_info("workflows: %s overrides %s", path,
				e->defs[m]->file);
			tr_wf_free(e->defs[m]);
			e->defs[m] = wf;
			continue;
		}
		struct tr_wf **d = realloc(e->defs, (e->n_defs + 1) * sizeof *d);
		if (!d) {
			tr_wf_free(wf);
			continue;
		}
		e->defs = d;
		e->defs[e->n_defs++] = wf;
	}
	free(names);
}

const struct tr_wf *tr_engine_def(struct tr_engine *e, const char *name)
{
	for (size_t k = 0; k < e->n_defs; k++)
		if (strcmp(e->defs[k]->name, name) == 0)
			return e->defs[k];
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct tr_wf *const *)a)->name,
		      (*(struct tr_wf *const *)b)->name);
}

json_t *tr_engine_defs(struct tr_engine *e)
{
	qsort(e->defs, e->n_defs, sizeof *e->defs, by_name);
	json_t *a = json_array();
	for (size_t k = 0; a && k < e->n_defs; k++)
		json_array_append_new(a, tr_wf_json(e->defs[k]));
	return json_pack("{s:o}", "items", a);
}

/* ---- shared definitions ---- */

#define WF_CACHE_KEEP 32 /* unused parsed definitions kept for reuse */

/* Loads text as a definition, or shares the one already parsed from the
 * same file name and text (definitions are immutable once loaded):
 * a thousand instances of vm.provision parse it once. */
static int wf_load_shared(struct tr_engine *e, const char *file,
			  const char *text, struct tr_wf **out,
			  struct tr_wf_errors *errs)
{
	memset(errs, 0, sizeof *errs);
	for (size_t k = 0; k < e->n_cache; k++) {
		struct wf_cached *c = &e->cache[k];
		if (strcmp(c->wf->file, file) == 0 &&
		    strcmp(c->wf->source, text) == 0) {
			c->users++;
			c->last_use = ++e->cache_clock;
			*out = c->wf;
			return 0;
		}
	}
	if (tr_wf_load_string(file, text, strlen(text), out, errs) != 0)
		return -1;
	/* Make room: drop the least recently used unused entry. */
	size_t unused = 0, victim = (size_t)-1;
	for (size_t k = 0; k < e->n_cache; k++) {
		if (e->cache[k].users)
			continue;
		unused++;
		if (victim == (size_t)-1 ||
		    e->cache[k].last_use < e->cache[victim].last_use)
			victim = k;
	}
	if (unused >= WF_CACHE_KEEP && victim != (size_t)-1) {
		tr_wf_free(e->cache[victim].wf);
		e->cache[victim] = e->cache[--e->n_cache];
	}
	struct wf_cached *c = realloc(e->cache, (e->n_cache + 1) * sizeof *c);
	if (!c)
		return 0; /* works, unshared: released by wf_release */
	e->cache = c;
	e->cache[e->n_cache++] =
		(struct wf_cached){*out, 1, ++e->cache_clock};
	return 0;
}

static void wf_release(struct tr_engine *e, struct tr_wf *wf)
{
	for (size_t k = 0; e && k < e->n_cache; k++) {
		if (e->cache[k].wf == wf) {
			e->cache[k].users--;
			return;
		}
	}
	tr_wf_free(wf);
}

/* ---- instances ---- */

static struct inst *inst_find(struct tr_engine *e, const char *id)
{
	for (struct inst *i = e->head; i; i = i->next)
		if (strcmp(i->id, id) == 0)
			return i;
	return NULL;
}

/* Builds the runtime of an instance around a loaded definition (taken). */
static struct inst *inst_new(struct tr_engine *e, struct tr_wf *wf,
			     const char *id)
{
	struct inst *i = calloc(1, sizeof *i);
	if (!i) {
		wf_release(e, wf);
		return NULL;
	}
	i->e = e;
	i->wf = wf;
	snprintf(i->id, sizeof i->id, "%s", id);
	i->priority = wf->priority;
	i->s = calloc(wf->n_steps, sizeof *i->s);
	if (!i->s)
		goto fail;
	/* Reverse edges, so a finishing step finds what waits for it. */
	for (size_t k = 0; k < wf->n_steps; k++) {
		const struct tr_wf_step *ws = &wf->steps[k];
		i->s[k].waiting = (unsigned)ws->n_deps;
		for (size_t m = 0; m < ws->n_deps; m++) {
			struct step_rt *d = &i->s[ws->deps[m]];
			size_t *nd = realloc(d->dependents,
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
	eng_instance_free(i);
	return NULL;
}

void eng_instance_free(struct inst *i)
{
	if (!i)
		return;
	for (size_t k = 0; i->s && k < i->wf->n_steps; k++) {
		json_decref(i->s[k].args);
		json_decref(i->s[k].outputs);
		free(i->s[k].dependents);
	}
	free(i->s);
	wf_release(i->e, i->wf);
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
	sched_fail(i, (size_t)-1, msg);
	sched_pump(i->e);
}

static void inst_event(struct inst *i, const char *topic)
{
	json_t *b = json_pack("{s:s, s:s, s:I, s:s}", "id", i->id, "workflow",
			      i->wf->name, "steps", (json_int_t)i->wf->n_steps,
			      "priority",
			      i->priority == TR_WF_PRIO_HIGH ? "high"
							     : "normal");
	if (b)
		wf_publish(i, topic, b);
	json_decref(b);
}

/* Starts running an admitted instance (or one resumed as running). */
static void inst_run(struct inst *i, int64_t started_ms)
{
	struct tr_engine *e = i->e;
	i->st = I_RUNNING;
	i->started_ms = started_ms;
	e->n_running++;
	if (i->wf->timeout_ms && e->d->loop) {
		int64_t left = i->wf->timeout_ms - (wf_now_ms() - started_ms);
		tr_daemon_timer_add(e->d, (uint64_t)(left > 0 ? left : 0), 0,
				    wf_timeout_fire, i, &i->wf_timer);
	}
	sched_instance_begin(i);
	/* Resumed with every step already finished (the crash came just
	 * before the instance's own final record). */
	sched_check_finish(i);
}

void eng_admit(struct tr_engine *e)
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
		int64_t now = wf_now_ms();
		struct tr_jr_update u = {.state = "running",
					 .started_at = now,
					 .finished_at = -1};
		tr_journal_instance_update(e->j, i->id, &u);
		inst_event(i, "workflow.started");
		tr_info("workflow %s (%s) started", i->id, i->wf->name);
		inst_run(i, now);
	}
}

static int enqueue(struct tr_engine *e, struct inst *i)
{
	if (e->n_queue == e->cap_queue) {
		size_t c = e->cap_queue ? e->cap_queue * 2 : 16;
		struct inst **q = realloc(e->queue, c * sizeof *q);
		if (!q)
			return -1;
		e->queue = q;
		e->cap_queue = c;
	}
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
		json_t *v = sched_eval(i, t, err, sizeof err);
		json_object_set_new(o, k, v ? v : json_null());
	}
	return o;
}

void eng_instance_finish(struct inst *i)
{
	struct tr_engine *e = i->e;
	int64_t now = wf_now_ms();
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
	char *out = wf_redacted_dump(i, outputs);
	char *lb = i->left_behind ? wf_redacted_dump(i, i->left_behind) : NULL;
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
		wf_publish(i, "workflow.finished", b);
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
		sched_job_ready(e, i->parent_job);
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
static json_t *secret_inputs(struct inst *i)
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
	if (wf_load_shared(e, file ? file : "<api>", text, &wf, &errs) != 0) {
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
		wf_release(e, wf);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s", err);
	}
	char idbuf[40];
	if (forced_id)
		snprintf(idbuf, sizeof idbuf, "%s", forced_id);
	else
		new_id(idbuf, sizeof idbuf);
	struct inst *i = inst_new(e, wf, idbuf);
	if (!i) {
		json_decref(bound);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	i->inputs = bound;
	i->seq = ++e->seq;
	i->created_ms = wf_now_ms();
	/* A child redacts what its parent does: its inputs may carry the
	 * parent's secrets. */
	for (size_t k = 0; parent && k < parent->i->secrets.n; k++)
		tr_secrets_add(&i->secrets, parent->i->secrets.v[k]);
	json_t *sec = secret_inputs(i);
	char *sealed = json_object_size(sec) ? tr_seal_json(e->seal, sec) : NULL;
	json_decref(sec);
	char *red = wf_redacted_dump(i, i->inputs);
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
		eng_instance_free(i);
		return tr_call_set(call, TRELLIS_E_IO,
				   "cannot journal the new instance");
	}
	*id = strdup(i->id);
	if (parent) {
		/* A child runs at once: its parent holds a slot already. */
		i->parent_job = parent;
		int64_t now = wf_now_ms();
		struct tr_jr_update u = {.state = "running",
					 .started_at = now,
					 .finished_at = -1};
		tr_journal_instance_update(e->j, i->id, &u);
		inst_event(i, "workflow.started");
		inst_run(i, now);
		return 0;
	}
	if (enqueue(e, i) != 0) {
		unlink_inst(e, i);
		eng_instance_free(i);
		free(*id);
		*id = NULL;
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	inst_event(i, "workflow.queued");
	return 0;
}

int tr_engine_start(struct tr_engine *e, const char *name,
		    const char *source, const char *file, json_t *inputs,
		    char **id, json_t **details, trellis_call_t *call)
{
	int rc = start_inst(e, name, source, file, inputs, NULL, NULL, id,
			    details, call);
	if (rc == 0)
		sched_pump(e);
	return rc;
}

/* ---- sub-workflows (subflow.c) ---- */

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

void eng_subflow(struct tr_engine *e, struct job *jb)
{
	char id[40];
	child_id(jb->idem, id, sizeof id);
	struct inst *c = inst_find(e, id);
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
		sched_job_ready(e, jb);
		return;
	}
	char *newid = NULL;
	const char *name = json_string_value(json_object_get(jb->args, "workflow"));
	if (start_inst(e, name, NULL, NULL, json_object_get(jb->args, "inputs"),
		       id, jb, &newid, NULL, &jb->call) != 0) {
		jb->sub_ready = 1;
		jb->rc = jb->call.code;
		sched_job_ready(e, jb);
	}
	free(newid);
}

void eng_subflow_cancel(struct tr_engine *e, struct job *jb, const char *why)
{
	for (struct inst *c = e->head; c; c = c->next) {
		if (c->parent_job == jb && c->st == I_RUNNING) {
			c->cancelled = 1;
			sched_fail(c, (size_t)-1, why);
		}
	}
}

int tr_engine_cancel(struct tr_engine *e, const char *id,
		     trellis_call_t *call)
{
	struct inst *i = inst_find(e, id);
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
		i->error = strdup("cancelled by request (before it started)");
		i->st = I_FAILING;
		e->n_running++; /* finish counts it out */
		eng_instance_finish(i);
		sched_pump(e);
		return 0;
	}
	if (i->st != I_RUNNING)
		return 0; /* already failing: compensation is under way */
	i->cancelled = 1;
	sched_fail(i, (size_t)-1, "cancelled by request");
	sched_pump(e);
	return 0;
}

/* ---- queries ---- */

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
	struct inst *live = inst_find(e, id);
	/* A finished instance: its definition says what each step calls. */
	struct tr_wf *def = live ? live->wf : NULL;
	char *file = NULL, *src = live ? NULL : tr_journal_source(e->j, id, &file);
	struct tr_wf_errors errs;
	if (src && wf_load_shared(e, file, src, &def, &errs) != 0)
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
		wf_release(e, def);
	free(src);
	free(file);
	json_object_set_new(row, "steps", steps);
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

static void resume_one(struct tr_engine *e, json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *src = json_string_value(json_object_get(row, "source"));
	const char *file = json_string_value(json_object_get(row, "file"));
	const char *state = json_string_value(json_object_get(row, "state"));
	struct tr_wf *wf;
	struct tr_wf_errors errs;
	if (wf_load_shared(e, file ? file : "<journal>", src ? src : "", &wf,
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
					 .finished_at = wf_now_ms()};
		tr_journal_instance_update(e->j, id, &u);
		return;
	}
	tr_wf_errors_free(&errs);
	struct inst *i = inst_new(e, wf, id);
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
		json_t *s2 = secret_inputs(i);
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
		if (us && !strcmp(us, "undone"))
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
		enqueue(e, i);
		return;
	}
	int64_t started = json_integer_value(json_object_get(row, "started_at"));
	if (!strcmp(state, "compensating")) {
		i->st = I_FAILING;
		e->n_running++;
		const char *err = json_string_value(json_object_get(row, "error"));
		const char *fs =
			json_string_value(json_object_get(row, "failed_step"));
		i->error = strdup(err ? err : "failed before a restart");
		i->failed_step = fs ? strdup(fs) : NULL;
		i->started_ms = started;
		tr_info("workflow %s (%s): resuming compensation", id, wf->name);
		sched_resume_running(i);
		sched_check_finish(i);
		return;
	}
	tr_info("workflow %s (%s): resuming", id, wf->name);
	for (size_t m = 0; m < wf->n_steps; m++)
		i->s[m].was_running = 0;
	inst_run(i, started ? started : wf_now_ms());
}

static void resume(struct tr_engine *e)
{
	e->seq = tr_journal_max_seq(e->j);
	json_t *rows = tr_journal_unfinished(e->j);
	size_t k;
	json_t *row;
	json_array_foreach(rows, k, row) resume_one(e, row);
	json_decref(rows);
	sched_pump(e);
}

/* ---- lifetime ---- */

struct tr_engine *tr_engine_new(struct tr_daemon *d,
				const struct tr_engine_opts *o, char *err,
				size_t errlen)
{
	struct tr_engine *e = calloc(1, sizeof *e);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->d = d;
	e->max_workflows = o && o->max_workflows ? o->max_workflows : 16;
	e->max_steps = o && o->max_steps ? o->max_steps : 64;
	e->commit_ms = o && o->commit_ms ? o->commit_ms : 5;
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
		load_dir(e, o->dirs[k]);
	engines_d_last = e;
	resume(e);
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
	char *envcopy = env ? strdup(env) : NULL;
	if (envcopy) {
		char *save = NULL;
		for (char *t = strtok_r(envcopy, ":", &save); t && n < 16;
		     t = strtok_r(NULL, ":", &save))
			if (*t)
				dirs[n++] = strdup(t);
	} else if (tr_self_dir(self, sizeof self) == 0) {
		snprintf(buf, sizeof buf, "%s/../share/trellis/workflows", self);
		if (!is_dir(buf))
			snprintf(buf, sizeof buf, "%s/../../workflows", self);
		if (is_dir(buf))
			dirs[n++] = strdup(buf);
		else
			tr_warn("workflows: no shipped workflows beside %s "
				"(set TRELLIS_WORKFLOW_PATH)",
				self);
	}
	free(envcopy);
	const struct tr_config *c = d->config;
	for (size_t k = 0; c && k < c->n_workflow_dirs && n < 80; k++)
		dirs[n++] = strdup(c->workflow_dirs[k]);
	struct tr_engine_opts o = {
		.max_workflows = c ? c->max_workflows : 0,
		.max_steps = c ? c->wf_max_steps : 0,
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

struct tr_engine *tr_engine_of(struct tr_daemon *d)
{
	return engines_d_last && engines_d_last->d == d ? engines_d_last
							: NULL;
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
	if (engines_d_last == e)
		engines_d_last = NULL;
	if (e->flush_armed)
		tr_daemon_timer_cancel(e->d, e->flush_timer);
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
		eng_instance_free(i);
	}
	while (e->dead) {
		struct inst *i = e->dead;
		e->dead = i->next;
		eng_instance_free(i);
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
