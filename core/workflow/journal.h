/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal.h - the workflow engine's durable record in the store's SQLite
 * database (tables wf_instance and wf_step, declared in
 * core/store/schema.c): each instance with its definition, redacted and
 * sealed inputs, state and result; each step with its state, resolved
 * inputs (redacted), outputs, attempts and error.
 *
 * Writes are batched in memory and tr_journal_flush() writes the batch in
 * one store transaction (never left open between loop iterations: other
 * subsystems share the store's transaction, and a rollback of theirs must
 * not take our records with it).  The engine flushes before it runs any
 * step that changes infrastructure, so such a step is always journaled as
 * running before it starts.
 *
 * Reads (status, list, logs, resume) flush first, so they see every write
 * made so far.  Main thread only.
 */
#ifndef TRELLIS_CORE_WF_JOURNAL_H
#define TRELLIS_CORE_WF_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"

struct tr_store;
struct tr_journal;

struct tr_journal *tr_journal_new(struct tr_store *s, char *err,
				  size_t errlen);
/* Commits what is pending and frees the statements. */
void tr_journal_free(struct tr_journal *j);
/* Commits the open batch, if any.  0 or a negative code (logged). */
int tr_journal_flush(struct tr_journal *j);
/* Whether writes are waiting for a flush. */
int tr_journal_dirty(const struct tr_journal *j);

struct tr_jr_instance {
	const char *id, *workflow, *file, *source;
	int64_t seq;
	const char *inputs; /* JSON, redacted */
	const char *sealed; /* sealed secret inputs, or NULL */
	int priority;
	const char *state;
	int64_t created_at;
};
int tr_journal_instance_new(struct tr_journal *j,
			    const struct tr_jr_instance *in);

/* Instance changes; NULL strings and negative times keep the old value. */
struct tr_jr_update {
	const char *state, *compensation, *error, *failed_step;
	const char *outputs, *left_behind; /* JSON */
	int64_t started_at, finished_at;   /* unix ms, or -1 */
};
int tr_journal_instance_update(struct tr_journal *j, const char *id,
			       const struct tr_jr_update *u);

int tr_journal_step_new(struct tr_journal *j, const char *id, size_t idx,
			const char *step);
/* Step changes; NULL strings and negative numbers keep the old value. */
struct tr_jr_step {
	const char *state;
	int attempts;
	const char *inputs, *outputs, *error; /* JSON / text, redacted */
	int64_t started_at, finished_at, done_seq;
	const char *undo_state, *undo_error;
};
int tr_journal_step_update(struct tr_journal *j, const char *id, size_t idx,
			   const struct tr_jr_step *u);

/* ---- reads ---- */

/* Instances not finished (queued, running, compensating), oldest first:
 * [{id, seq, workflow, file, source, inputs, sealed, priority, state,
 *   error, failed_step, started_at}...]. */
json_t *tr_journal_unfinished(struct tr_journal *j);
/* Steps of an instance in index order: [{idx, step, state, attempts,
 * inputs, outputs, error, started_at, finished_at, done_seq, undo_state,
 * undo_error}...] with inputs and outputs as JSON. */
json_t *tr_journal_steps(struct tr_journal *j, const char *id);
/* One instance (as for status), or NULL. */
json_t *tr_journal_instance(struct tr_journal *j, const char *id);
/* Instances newest first, optionally in one state, at most limit. */
json_t *tr_journal_list(struct tr_journal *j, const char *state,
			unsigned limit);
/* The definition an instance runs (malloc'd) and its file name in *file
 * (malloc'd), or NULL. */
char *tr_journal_source(struct tr_journal *j, const char *id, char **file);
/* The highest seq used so far (0 when none). */
int64_t tr_journal_max_seq(struct tr_journal *j);

/* Deletes at most limit instances (with their steps) that finished before
 * before_ms (unix ms), oldest first, in one transaction, but none that
 * finished after an unfinished instance was created: that one may be
 * its parent, and look its child up again by id when it resumes.  The
 * number deleted, or a negative code with the reason in call. */
int tr_journal_purge(struct tr_journal *j, int64_t before_ms, unsigned limit,
		     trellis_call_t *call);

#endif
