/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_int.h - the engine's in-memory state and the functions its files
 * share, internal to core/workflow; its layers are listed below, above
 * the declarations.
 */
#ifndef TRELLIS_CORE_WF_ENGINE_INT_H
#define TRELLIS_CORE_WF_ENGINE_INT_H

#include <stdint.h>

#include "../runtime/daemon.h"
#include "../util/clock.h"
#include "engine.h"
#include "journal.h"
#include "secret.h"

enum sstate {
	S_PENDING = 0, /* waiting for what it needs */
	S_READY,       /* arguments resolved, in the ready heap */
	S_RUNNING,
	S_RETRY,       /* failed, waiting for the backoff timer */
	S_SUCCEEDED,
	S_FAILED,
	S_SKIPPED,
};

enum ustate { U_NONE = 0, U_RUNNING, U_DONE, U_FAILED };

enum istate { I_QUEUED = 0, I_RUNNING, I_FAILING, I_DONE };

struct job;

struct step_rt {
	enum sstate st;
	unsigned waiting;   /* needed steps not finished yet */
	int attempts;
	json_t *args;       /* resolved arguments (with secrets) */
	json_t *outputs;
	int64_t done_seq;   /* completion order, for undo */
	uint64_t timer;     /* retry backoff timer */
	struct job *job;    /* in flight */
	size_t *dependents;
	size_t n_dependents;
	enum ustate undo;
	int undo_attempts;
	int was_running;    /* resumed while running: re-run before undo */
};

struct inst {
	struct tr_engine *e;
	char id[40];
	int64_t seq;
	struct tr_wf *wf;
	json_t *inputs; /* bound, with secrets */
	struct tr_secrets secrets;
	enum istate st;
	int priority;
	struct step_rt *s;
	unsigned running;  /* jobs in flight */
	unsigned retrying; /* steps waiting for a backoff timer */
	size_t n_terminal;
	int cancelled, timed_out;
	char *error, *failed_step;
	uint64_t wf_timer;
	int64_t created_ms, started_ms;
	int64_t next_done_seq;
	size_t *undo_order, n_undo, undo_pos;
	int comp_started, comp_failed;
	json_t *left_behind;
	struct job *parent_job; /* a workflow.run step waiting for this one */
	struct inst *prev, *next;
};

struct job {
	struct inst *i;
	size_t idx;
	int undo;
	const struct tr_action *a;
	json_t *args;
	json_t *result;
	char idem[200];
	struct tr_action_env env;
	trellis_call_t call;
	int rc;
	uint64_t timer;
	int timer_set;
	int timed_out;
	int quiet_start; /* instant and harmless: journaled once, at the end */
	int sub_ready;   /* workflow.run: the result is in, nothing to run */
	int64_t t0;
};

struct ready {
	struct inst *i;
	size_t idx;
};

/* Parsed definitions shared by instances that run the same text. */
struct wf_cached {
	struct tr_wf *wf;
	unsigned users;
	uint64_t last_use;
};

struct tr_engine {
	struct tr_daemon *d;
	struct tr_journal *j;
	struct tr_seal *seal;
	unsigned max_workflows, max_steps, commit_ms;
	struct tr_wf **defs;
	size_t n_defs;
	struct inst *head;         /* every live instance */
	struct inst *dead;         /* finished, freed by the pump */
	struct inst **queue;       /* queued instances, admission order */
	size_t n_queue, cap_queue;
	unsigned n_running;        /* instances admitted */
	unsigned in_flight;        /* jobs on workers or held */
	struct ready *heap;        /* ready steps */
	size_t n_heap, cap_heap;
	struct ready *check;       /* steps whose needs just finished */
	size_t n_check, cap_check;
	struct job **held;         /* waiting for the journal commit */
	size_t n_held, cap_held;
	struct job **inl;          /* main-thread actions to run */
	size_t n_inl, cap_inl;
	uint64_t flush_timer;
	int flush_armed;
	unsigned flush_delay; /* of the armed flush timer */
	int pool_busy;        /* the worker pool said BUSY: retry later */
	struct wf_cached *cache;
	size_t n_cache;
	uint64_t cache_clock;
	int pumping, again, stopping;
	int64_t seq;
	/* tr_engine_on_child(): told of every sub-workflow started. */
	void (*on_child)(void *arg, const char *parent, const char *child);
	void *on_child_arg;
	unsigned retention_s;     /* workflows.retention, 0: keep all */
	uint64_t retention_timer; /* the next tick (retention.c), or 0 */
};

/*
 * The engine's files, each calling only the layers below it; the order is
 * written once, in core/workflow/layers.txt, and
 * tests/unit/house/layers.t checks it from the object files.
 * From the top:
 *   engine.c   starting and cancelling instances, the engine's lifetime
 *   resume.c   unfinished instances from the journal, after a restart
 *   query.c    status, lists, logs
 *   sched.c    the state machine: admission, readiness, dispatch,
 *              completion, retries, timeouts, sub-workflows, failure and
 *              compensation (these call each other both ways: one file)
 *   undo.c     the plan of a compensation
 *   state.c    instances, the ready heap, step records, jobs
 *   values.c, defs.c, retention.c, the loader (load_int.h), the journal,
 *   secrets and expressions at the bottom.
 * Every name declared here is extern, so each carries the tr_ prefix and
 * the prefix of its file: tr_sched_* (sched.c), tr_undo_*, tr_inst_*,
 * tr_ready_*, tr_step_*, tr_job_* (state.c), tr_val_* (values.c),
 * tr_defs_* (defs.c), tr_resume_* and tr_retention_*.
 */

/* ---- sched.c: the state machine (for engine.c, resume.c) ---- */

/* Makes progress: runs ready steps, completes main-thread jobs, admits
 * queued instances.  Re-entrant-safe (a nested call asks the running pump
 * for another round). */
void tr_sched_pump(struct tr_engine *e);
/* Starts an admitted (or resumed running) instance at started_ms. */
void tr_sched_run(struct inst *i, int64_t started_ms);
/* Fails instance i (at step idx, or (size_t)-1): stops scheduling, then
 * compensates once nothing runs. */
void tr_sched_fail(struct inst *i, size_t idx, const char *error);
/* Finishes i, or starts its compensation, once nothing runs. */
void tr_sched_check_finish(struct inst *i);
/* Starts an attempt of jb, journaled as running first. */
void tr_sched_dispatch(struct tr_engine *e, struct job *jb);
/* Retries jb after the step's backoff; 0, or -1 without a timer. */
int tr_sched_wait_retry(struct inst *i, struct job *jb, int attempt);
void tr_sched_arm_flush(struct tr_engine *e);

/* ---- resume.c ---- */

/* Picks up every unfinished instance of the journal (at start). */
void tr_resume_all(struct tr_engine *e);

/* ---- undo.c: the plan of a compensation (for sched.c) ---- */

/* Sets i->undo_order/n_undo: the succeeded steps with an undo, latest
 * first; a step that found its object rather than making it is kept. */
void tr_undo_plan(struct inst *i);
/* The arguments of step idx's undo (new), or NULL with err. */
json_t *tr_undo_args(struct inst *i, size_t idx, char *err, size_t errlen);

/* ---- state.c: instances ---- */

/* Makes an instance of a definition (by name, or source text) with
 * inputs, journaled as queued and listed, but neither queued nor run;
 * forced_id and parent (a workflow.run job) for a sub-workflow.  0 with
 * *out, or an error in call (and details: the definition's errors). */
int tr_inst_create(struct tr_engine *e, const char *name, const char *source,
		   const char *file, json_t *inputs, const char *forced_id,
		   const struct job *parent, struct inst **out,
		   json_t **details, trellis_call_t *call);
/* The runtime of an instance around a definition (taken), listed. */
struct inst *tr_inst_new(struct tr_engine *e, struct tr_wf *wf, const char *id);
struct inst *tr_inst_find(struct tr_engine *e, const char *id);
/* Queues i for admission. */
int tr_inst_enqueue(struct tr_engine *e, struct inst *i);
/* Puts i's steps that need nothing on the check list. */
void tr_inst_begin(struct inst *i);
/* Journals and announces i's end, hands a sub-workflow's result to its
 * parent's job, and moves i to the dead list (freed by tr_inst_reap). */
void tr_inst_finish(struct inst *i);
/* Frees the dead instances and drops their heap entries. */
void tr_inst_reap(struct tr_engine *e);
void tr_inst_unlink(struct tr_engine *e, struct inst *i);
void tr_inst_free(struct inst *i);
/* Remembers secret inputs for redaction; returns them (to seal). */
json_t *tr_inst_secret_inputs(struct inst *i);
/* A redacted JSON text of v (malloc'd), for the journal. */
char *tr_inst_redacted(const struct inst *i, const json_t *v);
void tr_inst_publish(struct inst *i, const char *topic, json_t *body);
/* workflow.queued, workflow.started. */
void tr_inst_event(struct inst *i, const char *topic);

/* ---- state.c: the ready heap, the check list, step records ---- */

void tr_ready_push(struct tr_engine *e, struct inst *i, size_t idx);
struct ready tr_ready_pop(struct tr_engine *e);
/* Step idx of i: its needs just finished, see whether it is ready. */
void tr_ready_check(struct tr_engine *e, struct inst *i, size_t idx);
/* Step idx finished: its dependents need one step less. */
void tr_step_release(struct inst *i, size_t idx);
void tr_step_journal(struct inst *i, size_t idx, const struct tr_jr_step *u);
/* A step update that changes nothing yet. */
struct tr_jr_step tr_step_blank(void);
void tr_step_event(struct inst *i, size_t idx, const char *topic,
		   const char *state, int64_t duration, const char *error);

/* ---- state.c: jobs ---- */

/* A job for step idx (undo: its compensation) with args (taken). */
struct job *tr_job_new(struct inst *i, size_t idx, int undo,
		       const struct tr_action *a, json_t *args);
void tr_job_free(struct job *jb);
/* A main-thread job to complete at the pump's next round. */
void tr_job_ready(struct tr_engine *e, struct job *jb);
/* A workflow.run job's result: the child's id, state, error, outputs. */
void tr_job_sub_result(struct job *jb, const char *id, const char *state,
		       const char *error, json_t *outputs);
/* "CODE: message" of a failed call (malloc'd). */
char *tr_job_error_text(const trellis_call_t *call);

/* ---- values.c ---- */

/* Adds the outputs ws's action declares TR_T_SECRET to i's secrets. */
void tr_val_secret_outputs(struct inst *i, const struct tr_wf_step *ws,
			   const json_t *outputs);
json_t *tr_val_eval(struct inst *i, const json_t *tmpl, char *err,
		    size_t errlen);
/* Evaluates a step's `when` against i: 0 with *truth, or -1 with err. */
int tr_val_when(struct inst *i, const json_t *when, int *truth, char *err,
		size_t errlen);

/* ---- defs.c ---- */

void tr_defs_load_dir(struct tr_engine *e, const char *dir);
/* Loads text as a definition or shares the one parsed from the same file
 * name and text; 0, or -1 with errs.  Release with tr_defs_release. */
int tr_defs_share(struct tr_engine *e, const char *file, const char *text,
		  struct tr_wf **out, struct tr_wf_errors *errs);
void tr_defs_release(struct tr_engine *e, struct tr_wf *wf);

/* ---- retention.c ---- */

/* The first tick of the journal's retention. */
void tr_retention_start(struct tr_engine *e);

#endif
