/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h - the durable workflow engine inside trellisd.
 *
 * The engine owns the workflow definitions it loaded (the shipped ones and
 * configured directories) and every instance that is queued or running.
 * It runs on the daemon's main thread: steps run on the daemon's worker
 * pool (or inline for TR_ACTION_MAIN_THREAD actions), their completions
 * come back to the main thread, and every transition is written to the
 * journal (journal.h) before the engine acts on it.
 *
 * Semantics, in short (docs/workflows.md has the long form):
 *  - at most max_workflows instances run; the rest queue, high priority
 *    first, then in arrival order;
 *  - a step runs when everything it needs has finished; a skipped step
 *    (enabled: false, a false `when`) skips its dependents too;
 *  - a failing step is retried with exponential backoff; when it still
 *    fails (and has no continue_on_error) the instance stops scheduling,
 *    lets running steps finish, then runs the `undo` of every completed
 *    step in reverse order of completion;
 *  - an instance ends succeeded, failed or cancelled, with compensation
 *    "done" or "failed" (and a list of what was left behind);
 *  - after a crash, tr_engine_new() resumes unfinished instances from the
 *    journal: completed steps never run again; a step that was running
 *    runs again with the same idempotency key ("<instance>/<step>").
 *
 * Secrets (secret-typed inputs, ${secrets.X}) are redacted in the journal,
 * logs, events and API results.
 */
#ifndef TRELLIS_CORE_WF_ENGINE_H
#define TRELLIS_CORE_WF_ENGINE_H

#include <jansson.h>
#include <stddef.h>

#include "../host/host.h"
#include "wf.h"

struct tr_daemon;
struct tr_engine;

struct tr_engine_opts {
	unsigned max_workflows;  /* instances running at once (0: 16) */
	unsigned max_steps;      /* steps in flight at once (0: 64) */
	unsigned commit_ms;      /* longest a journal batch stays open (0: 5) */
	const char *const *dirs; /* definition directories, in order */
	size_t n_dirs;
	const char *key_path;    /* sealing key for secret inputs (NULL:
				  * STATE_DIR/workflow.key, or a key for this
				  * process only without a state dir) */
	unsigned retention_s;    /* finished instances leave the journal
				  * after this (0: never); checked a second
				  * after start, then every 10 minutes */
};

/*
 * Loads definitions from the dirs (a broken file is logged with every
 * error and skipped; a later directory overrides a name), prepares the
 * journal and resumes unfinished instances.  NULL with err on failure.
 * The engine needs d->store; it uses the worker pool, the loop's timers
 * and the event socket when they are there.
 */
struct tr_engine *tr_engine_new(struct tr_daemon *d,
				const struct tr_engine_opts *o, char *err,
				size_t errlen);
/* The engine of trellisd: options from d->config (workflows.*), the
 * shipped definitions (TRELLIS_WORKFLOW_PATH, else found beside the
 * program: BIN/../share/trellis/workflows installed, BIN/../../workflows
 * in a build tree) then workflows.dirs.  It stops by itself (as
 * tr_engine_stop) when d->stopping is set. */
struct tr_engine *tr_engine_new_daemon(struct tr_daemon *d, char *err,
				       size_t errlen);
/* Stops starting steps (shutdown): running ones finish and are journaled;
 * unfinished instances resume at the next start. */
void tr_engine_stop(struct tr_engine *e);
/* Frees the engine.  Call it after the worker pool has delivered every
 * completion (tr_workers_free). */
void tr_engine_free(struct tr_engine *e);

/* Deletes from the journal the instances that finished more than
 * older_than_ms ago, with their steps, 500 per transaction and at most
 * max_batches transactions (0: no limit); never one that finished after
 * an unfinished instance began (it may be that one's child).  *purged
 * gets how many went.  1 when more remain, 0 when none, or a negative
 * code with the reason in call. */
int tr_engine_purge(struct tr_engine *e, int64_t older_than_ms,
		    unsigned max_batches, unsigned *purged,
		    trellis_call_t *call);

/* The definitions: [{name, version, description, file, inputs, steps...}]. */
json_t *tr_engine_defs(struct tr_engine *e);
const struct tr_wf *tr_engine_def(struct tr_engine *e, const char *name);
/* The loaded definition whose name is nearest to a mistyped one, or NULL
 * (for "did you mean"). */
const char *tr_engine_def_guess(struct tr_engine *e, const char *name);

/*
 * Starts an instance of the definition called name, or of source (YAML
 * text, with file naming it in messages) when source is not NULL.  inputs
 * (borrowed, may be NULL) are checked and converted by the definition's
 * types.  On success *id gets the instance id (a new string).  A source
 * that does not validate fails with INVALID_ARG and, when details is not
 * NULL, {"errors": ["FILE:LINE:COL: ..."]} in *details.
 */
int tr_engine_start(struct tr_engine *e, const char *name,
		    const char *source, const char *file, json_t *inputs,
		    char **id, json_t **details, trellis_call_t *call);
/* The same, calling created(arg, id) once the instance is journaled and
 * before any of its steps runs (a main-thread step may run inside this
 * call): what must be known of the instance before it acts is recorded
 * there (the API records who started it, core/auth). */
int tr_engine_start_with(struct tr_engine *e, const char *name,
			 const char *source, const char *file, json_t *inputs,
			 void (*created)(void *arg, const char *id), void *arg,
			 char **id, json_t **details, trellis_call_t *call);
/* fn(arg, parent, child) runs for every sub-workflow instance started,
 * before its first step (who started the parent started it too: core/
 * auth's wf_owner).  Main thread. */
void tr_engine_on_child(struct tr_engine *e,
			void (*fn)(void *arg, const char *parent,
				   const char *child),
			void *arg);
/* Requests cancellation: a queued instance ends at once; a running one
 * stops scheduling, cancels running steps and compensates. */
int tr_engine_cancel(struct tr_engine *e, const char *id,
		     trellis_call_t *call);

/* {id, workflow, state, compensation, error, failed_step, outputs,
 *  left_behind, created_at, started_at, finished_at, steps: {total,
 *  succeeded, failed, skipped, running, pending}} */
int tr_engine_status(struct tr_engine *e, const char *id, json_t **out,
		     trellis_call_t *call);
/* {"items": [status without steps...]} newest first. */
int tr_engine_list(struct tr_engine *e, const char *state, unsigned limit,
		   json_t **out, trellis_call_t *call);
/* The step journal: {"id":..., "steps": [{step, call, state, attempts,
 * inputs, outputs, error, started_at, finished_at, duration_ms,
 * undo_state, undo_error}...]} */
int tr_engine_logs(struct tr_engine *e, const char *id, json_t **out,
		   trellis_call_t *call);

/* Instances queued or running. */
unsigned tr_engine_active(const struct tr_engine *e);
/* Commits the journal batch now. */
int tr_engine_flush(struct tr_engine *e);

#endif
