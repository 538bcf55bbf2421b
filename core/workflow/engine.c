/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c - the top of the engine (engine.h): starting and cancelling
 * instances, and the engine's lifetime (which resumes the journal's
 * unfinished instances at start).  It calls the layers below it
 * (engine_int.h): resume.c, sched.c (the state machine), state.c (the
 * engine's state) and the helpers (definitions, the journal, secrets);
 * nothing calls back up.
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

/* ---- start ---- */

/* Makes an instance and queues it for admission. */
static int start_inst(struct tr_engine *e, const char *name, const char *source,
		      const char *file, json_t *inputs, char **id,
		      json_t **details, trellis_call_t *call)
{
	*id = NULL;
	struct inst *i;
	int rc = tr_inst_create(e, name, source, file, inputs, NULL, NULL, &i,
				details, call);
	if (rc != 0)
		return rc;
	*id = tr_xstrdup(i->id);
	if (tr_inst_enqueue(e, i) != 0) {
		tr_inst_unlink(e, i);
		tr_inst_free(i);
		free(*id);
		*id = NULL;
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	tr_inst_event(i, "workflow.queued");
	return 0;
}

int tr_engine_start_with(struct tr_engine *e, const char *name,
			 const char *source, const char *file, json_t *inputs,
			 void (*created)(void *arg, const char *id), void *arg,
			 char **id, json_t **details, trellis_call_t *call)
{
	int rc = start_inst(e, name, source, file, inputs, id, details, call);
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

int tr_engine_cancel(struct tr_engine *e, const char *id,
		     trellis_call_t *call)
{
	struct inst *i = tr_inst_find(e, id);
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
		tr_inst_finish(i);
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
		tr_defs_load_dir(e, o->dirs[k]);
	d->engine = e;
	tr_resume_all(e);
	tr_retention_start(e);
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
		tr_inst_unlink(e, i);
		tr_inst_free(i);
	}
	while (e->dead) {
		struct inst *i = e->dead;
		e->dead = i->next;
		tr_inst_free(i);
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
