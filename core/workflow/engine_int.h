/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_int.h - the engine's in-memory state and the functions its files
 * share, internal to core/workflow: engine.c (instances: admission, start,
 * finish, cancel, sub-workflows, lifetime), defs.c (definitions),
 * query.c (status, lists, logs), resume.c (after a restart), sched.c
 * (steps: readiness, dispatch, completion, retries, timeouts), undo.c
 * (compensation), values.c (expressions over inputs and outputs) and
 * retention.c.  Every name here is extern, so each carries the tr_
 * prefix: tr_eng_* (instances), tr_sched_* (steps), tr_wf_* (helpers).
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

/* retention.c: the first tick of the journal's retention. */
void tr_eng_retention_start(struct tr_engine *e);

/* A redacted JSON text of v (malloc'd), for the journal. */
char *tr_wf_redacted_dump(const struct inst *i, const json_t *v);
void tr_wf_publish(struct inst *i, const char *topic, json_t *body);

/* defs.c */
void tr_eng_load_dir(struct tr_engine *e, const char *dir);
/* Loads text as a definition or shares the one parsed from the same file
 * name and text; 0, or -1 with errs.  Release with tr_eng_wf_release. */
int tr_eng_wf_load_shared(struct tr_engine *e, const char *file,
		       const char *text, struct tr_wf **out,
		       struct tr_wf_errors *errs);
void tr_eng_wf_release(struct tr_engine *e, struct tr_wf *wf);

/* resume.c */
void tr_eng_resume(struct tr_engine *e);

/* sched.c: shared with undo.c */
void tr_sched_jstep(struct inst *i, size_t idx, const struct tr_jr_step *u);
/* A step update that changes nothing yet. */
struct tr_jr_step tr_sched_jr_blank(void);
void tr_sched_step_event(struct inst *i, size_t idx, const char *topic,
		      const char *state, int64_t duration, const char *error);
/* A job for step idx (undo: its compensation) with args (taken). */
struct job *tr_sched_job_new(struct inst *i, size_t idx, int undo,
			  const struct tr_action *a, json_t *args);
void tr_sched_job_free(struct job *jb);
/* Starts an attempt of jb, journaled as running first. */
void tr_sched_dispatch(struct tr_engine *e, struct job *jb);
/* Retries jb after the step's backoff; 0, or -1 without a timer. */
int tr_sched_wait_retry(struct inst *i, struct job *jb, int attempt);
/* "CODE: message" of a failed call (malloc'd). */
char *tr_sched_error_text(const trellis_call_t *call);

/* undo.c */
void tr_sched_undo_complete(struct tr_engine *e, struct job *jb);
void tr_sched_comp_start(struct inst *i);

/* values.c */
/* Adds the outputs ws's action declares TR_T_SECRET to i's secrets. */
void tr_sched_secret_outputs(struct inst *i, const struct tr_wf_step *ws,
			  const json_t *outputs);
json_t *tr_sched_eval(struct inst *i, const json_t *tmpl, char *err,
		   size_t errlen);
/* Evaluates a step's `when` against i: 0 with *truth, or -1 with err. */
int tr_sched_when(struct inst *i, const json_t *when, int *truth, char *err,
	       size_t errlen);

/* sched.c */
void tr_sched_pump(struct tr_engine *e);
void tr_sched_instance_begin(struct inst *i); /* roots into the check list */
void tr_sched_fail(struct inst *i, size_t idx, const char *error);
void tr_sched_check_finish(struct inst *i);
void tr_sched_ready_push_check(struct tr_engine *e, struct inst *i, size_t idx);
void tr_sched_resume_running(struct inst *i);
void tr_sched_arm_flush(struct tr_engine *e);

/* engine.c */
struct inst *tr_eng_inst_find(struct tr_engine *e, const char *id);
/* The runtime of an instance around a definition (taken), listed. */
struct inst *tr_eng_inst_new(struct tr_engine *e, struct tr_wf *wf,
			  const char *id);
/* Starts an admitted (or resumed running) instance at started_ms. */
void tr_eng_inst_run(struct inst *i, int64_t started_ms);
int tr_eng_enqueue(struct tr_engine *e, struct inst *i);
/* Remembers secret inputs for redaction; returns them (to seal). */
json_t *tr_eng_secret_inputs(struct inst *i);
void tr_eng_instance_finish(struct inst *i);
void tr_eng_admit(struct tr_engine *e);
void tr_eng_instance_free(struct inst *i);
/* workflow.run: attaches jb to the child instance id (started now, found
 * running, or found finished: then jb is completed). */
void tr_eng_subflow(struct tr_engine *e, struct job *jb);
/* Fails the child a workflow.run job waits for (cancel, timeout). */
void tr_eng_subflow_cancel(struct tr_engine *e, struct job *jb, const char *why);
void tr_sched_job_ready(struct tr_engine *e, struct job *jb);

#endif
