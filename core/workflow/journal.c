/* SPDX-License-Identifier: Apache-2.0 */
/* journal.c - see journal.h. */
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"

enum {
	Q_INST_NEW,
	Q_INST_UPD,
	Q_STEP_NEW,
	Q_STEP_UPD,
	Q_UNFINISHED,
	Q_STEPS,
	Q_INST,
	Q_LIST,
	Q_LIST_STATE,
	Q_MAX_SEQ,
	Q_SOURCE,
	Q_PURGE,
	Q__N,
};

#define INST_COLS                                                              \
	"id, seq, workflow, file, priority, state, compensation, error, "      \
	"failed_step, outputs, left_behind, created_at, started_at, "          \
	"finished_at, inputs"

static const char *const SQL[Q__N] = {
	[Q_INST_NEW] = "INSERT INTO wf_instance (id, seq, workflow, file, "
		       "source, inputs, sealed, priority, state, created_at) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_INST_UPD] = "UPDATE wf_instance SET state = COALESCE(?2, state), "
		       "compensation = COALESCE(?3, compensation), "
		       "error = COALESCE(?4, error), "
		       "failed_step = COALESCE(?5, failed_step), "
		       "outputs = COALESCE(?6, outputs), "
		       "left_behind = COALESCE(?7, left_behind), "
		       "started_at = COALESCE(?8, started_at), "
		       "finished_at = COALESCE(?9, finished_at) WHERE id = ?1",
	[Q_STEP_NEW] = "INSERT INTO wf_step (instance, idx, step, state) "
		       "VALUES (?1, ?2, ?3, 'pending')",
	[Q_STEP_UPD] = "UPDATE wf_step SET state = COALESCE(?3, state), "
		       "attempts = COALESCE(?4, attempts), "
		       "inputs = COALESCE(?5, inputs), "
		       "outputs = COALESCE(?6, outputs), "
		       "error = COALESCE(?7, error), "
		       "started_at = COALESCE(?8, started_at), "
		       "finished_at = COALESCE(?9, finished_at), "
		       "done_seq = COALESCE(?10, done_seq), "
		       "undo_state = COALESCE(?11, undo_state), "
		       "undo_error = COALESCE(?12, undo_error) "
		       "WHERE instance = ?1 AND idx = ?2",
	[Q_UNFINISHED] = "SELECT id, seq, workflow, file, source, inputs, "
			 "sealed, priority, state, error, failed_step, "
			 "started_at FROM wf_instance WHERE state IN "
			 "('queued', 'running', 'compensating') ORDER BY seq",
	[Q_STEPS] = "SELECT idx, step, state, attempts, inputs, outputs, "
		    "error, started_at, finished_at, done_seq, undo_state, "
		    "undo_error FROM wf_step WHERE instance = ?1 ORDER BY idx",
	[Q_INST] = "SELECT " INST_COLS " FROM wf_instance WHERE id = ?1",
	[Q_LIST] = "SELECT " INST_COLS " FROM wf_instance ORDER BY seq DESC "
		   "LIMIT ?1",
	[Q_LIST_STATE] = "SELECT " INST_COLS " FROM wf_instance WHERE state "
			 "= ?2 ORDER BY seq DESC LIMIT ?1",
	[Q_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM wf_instance",
	[Q_SOURCE] = "SELECT file, source FROM wf_instance WHERE id = ?1",
	/* Finished before ?1 and before any unfinished instance began (that
	 * one may be the parent of a finished child, and find it again by
	 * id when it resumes); the oldest ?2 of them.  Steps go with their
	 * instance (ON DELETE CASCADE). */
	[Q_PURGE] = "DELETE FROM wf_instance WHERE id IN (SELECT id FROM "
		    "wf_instance WHERE finished_at < CAST(?1 AS BIGINT) AND "
		    "finished_at < (SELECT COALESCE(MIN(created_at), "
		    "CAST(?1 AS BIGINT)) FROM wf_instance WHERE "
		    "state IN ('queued', 'running', 'compensating')) AND "
		    "state IN ('succeeded', 'failed', 'cancelled') ORDER BY "
		    "finished_at LIMIT CAST(?2 AS BIGINT))",
};

/* One journal write, kept until the batch is committed: the statement
 * and its parameters (NULL, an integer or a copied string). */
struct jarg {
	int kind; /* 0 NULL, 1 integer, 2 text */
	int64_t i;
	char *s;
};
#define JOP_MAX_ARGS 12
struct jop {
	int q;
	int n;
	struct jarg a[JOP_MAX_ARGS];
};

struct tr_journal {
	struct tr_store *store;
	struct tr_sql *db;
	struct tr_sql_stmt *q[Q__N];
	/* The batch lives here, not in an open SQLite transaction: the
	 * store's transaction is shared with every subsystem on the main
	 * thread, and one that rolls its own work back would roll ours back
	 * with it.  The flush writes the batch in one short transaction. */
	struct jop *ops;
	size_t n_ops, cap_ops;
};

struct tr_journal *tr_journal_new(struct tr_store *s, char *err,
				  size_t errlen)
{
	struct tr_journal *j = tr_xcalloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->store = s;
	j->db = tr_store_sql(s);
	for (int i = 0; i < Q__N; i++) {
		if (tr_sql_prepare_persistent(j->db, SQL[i], &j->q[i]) != 0) {
			snprintf(err, errlen, "workflow journal: %s",
				 tr_sql_errmsg(j->db));
			tr_journal_free(j);
			return NULL;
		}
	}
	return j;
}

static void ops_clear(struct tr_journal *j)
{
	for (size_t k = 0; k < j->n_ops; k++)
		for (int a = 0; a < j->ops[k].n; a++)
			free(j->ops[k].a[a].s);
	j->n_ops = 0;
}

void tr_journal_free(struct tr_journal *j)
{
	if (!j)
		return;
	tr_journal_flush(j);
	ops_clear(j);
	free(j->ops);
	for (int i = 0; i < Q__N; i++)
		tr_sql_finalize(j->q[i]);
	free(j);
}

int tr_journal_dirty(const struct tr_journal *j)
{
	return j->n_ops > 0;
}

static void bind_text(struct tr_sql_stmt *st, int i, const char *s)
{
	if (s)
		tr_sql_bind_text_copy(st, i, s);
	else
		tr_sql_bind_null(st, i);
}

int tr_journal_flush(struct tr_journal *j)
{
	if (!j->n_ops)
		return 0;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	int rc = tr_store_begin(j->store, &call);
	if (rc) {
		/* Kept for the next flush. */
		tr_err("workflow journal: %s", call.message);
		return rc;
	}
	for (size_t k = 0; k < j->n_ops; k++) {
		const struct jop *o = &j->ops[k];
		struct tr_sql_stmt *st = j->q[o->q];
		for (int a = 0; a < o->n; a++) {
			const struct jarg *g = &o->a[a];
			if (g->kind == 1)
				tr_sql_bind_int64(st, a + 1, g->i);
			else if (g->kind == 2)
				tr_sql_bind_text(st, a + 1, g->s);
			else
				tr_sql_bind_null(st, a + 1);
		}
		if (tr_sql_step(st) != TR_SQL_DONE)
			tr_err("workflow journal: write: %s",
			       tr_sql_errmsg(j->db));
		tr_sql_reset(st);
		tr_sql_clear_bindings(st);
	}
	rc = tr_store_commit(j->store, &call);
	if (rc)
		tr_err("workflow journal: %s", call.message);
	ops_clear(j);
	return rc;
}

static struct jop *op_new(struct tr_journal *j, int q)
{
	TR_GROW(j->ops, j->n_ops, j->cap_ops);
	struct jop *o = &j->ops[j->n_ops++];
	memset(o, 0, sizeof *o);
	o->q = q;
	return o;
}

/* Parameter idx (1-based): text (NULL: SQL NULL). */
static void op_text(struct jop *o, int idx, const char *s)
{
	o->a[idx - 1] = (struct jarg){s ? 2 : 0, 0, s ? tr_xstrdup(s) : NULL};
	if (s && !o->a[idx - 1].s)
		o->a[idx - 1].kind = 0;
	if (idx > o->n)
		o->n = idx;
}

/* Parameter idx: an integer; a negative one is SQL NULL ("keep"). */
static void op_int(struct jop *o, int idx, int64_t v)
{
	o->a[idx - 1] = (struct jarg){v >= 0 ? 1 : 0, v, NULL};
	if (idx > o->n)
		o->n = idx;
}

int tr_journal_instance_new(struct tr_journal *j,
			    const struct tr_jr_instance *in)
{
	struct jop *o = op_new(j, Q_INST_NEW);
	if (!o)
		return TRELLIS_E_NOMEM;
	op_text(o, 1, in->id);
	op_int(o, 2, in->seq);
	op_text(o, 3, in->workflow);
	op_text(o, 4, in->file);
	op_text(o, 5, in->source);
	op_text(o, 6, in->inputs);
	op_text(o, 7, in->sealed);
	op_int(o, 8, in->priority);
	op_text(o, 9, in->state);
	op_int(o, 10, in->created_at);
	return 0;
}

int tr_journal_instance_update(struct tr_journal *j, const char *id,
			       const struct tr_jr_update *u)
{
	struct jop *o = op_new(j, Q_INST_UPD);
	if (!o)
		return TRELLIS_E_NOMEM;
	op_text(o, 1, id);
	op_text(o, 2, u->state);
	op_text(o, 3, u->compensation);
	op_text(o, 4, u->error);
	op_text(o, 5, u->failed_step);
	op_text(o, 6, u->outputs);
	op_text(o, 7, u->left_behind);
	op_int(o, 8, u->started_at);
	op_int(o, 9, u->finished_at);
	return 0;
}

int tr_journal_step_new(struct tr_journal *j, const char *id, size_t idx,
			const char *step)
{
	struct jop *o = op_new(j, Q_STEP_NEW);
	if (!o)
		return TRELLIS_E_NOMEM;
	op_text(o, 1, id);
	op_int(o, 2, (int64_t)idx);
	op_text(o, 3, step);
	return 0;
}

int tr_journal_step_update(struct tr_journal *j, const char *id, size_t idx,
			   const struct tr_jr_step *u)
{
	struct jop *o = op_new(j, Q_STEP_UPD);
	if (!o)
		return TRELLIS_E_NOMEM;
	op_text(o, 1, id);
	op_int(o, 2, (int64_t)idx);
	op_text(o, 3, u->state);
	op_int(o, 4, u->attempts);
	op_text(o, 5, u->inputs);
	op_text(o, 6, u->outputs);
	op_text(o, 7, u->error);
	op_int(o, 8, u->started_at);
	op_int(o, 9, u->finished_at);
	op_int(o, 10, u->done_seq);
	op_text(o, 11, u->undo_state);
	op_text(o, 12, u->undo_error);
	return 0;
}

/* ---- reads ---- */

/* A column as JSON: text columns named in json_cols are parsed. */
static json_t *column(struct tr_sql_stmt *st, int i, int as_json)
{
	switch (tr_sql_column_type(st, i)) {
	case TR_SQL_NULL:
		return json_null();
	case TR_SQL_INTEGER:
		return json_integer(tr_sql_column_int64(st, i));
	default: {
		const char *t = tr_sql_column_text(st, i);
		if (as_json) {
			json_t *v = json_loads(t, JSON_DECODE_ANY, NULL);
			if (v)
				return v;
		}
		return json_string(t ? t : "");
	}
	}
}

static json_t *rows(struct tr_journal *j, struct tr_sql_stmt *st,
		    const char *const *json_cols)
{
	json_t *arr = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < tr_sql_column_count(st); i++) {
			const char *name = tr_sql_column_name(st, i);
			int as_json = 0;
			for (size_t k = 0; json_cols && json_cols[k]; k++)
				if (strcmp(json_cols[k], name) == 0)
					as_json = 1;
			json_object_set_new(o, name, column(st, i, as_json));
		}
		json_array_append_new(arr, o);
	}
	if (rc != TR_SQL_DONE) {
		tr_err("workflow journal: read: %s", tr_sql_errmsg(j->db));
		json_decref(arr);
		arr = NULL;
	}
	tr_sql_reset(st);
	tr_sql_clear_bindings(st);
	return arr;
}

static const char *const INST_JSON[] = {"outputs", "left_behind", "inputs",
					NULL};
static const char *const STEP_JSON[] = {"inputs", "outputs", NULL};

/* Reads see every write made so far: the batch is committed first. */

json_t *tr_journal_unfinished(struct tr_journal *j)
{
	tr_journal_flush(j);
	static const char *const none[] = {NULL};
	return rows(j, j->q[Q_UNFINISHED], none);
}

json_t *tr_journal_steps(struct tr_journal *j, const char *id)
{
	tr_journal_flush(j);
	bind_text(j->q[Q_STEPS], 1, id);
	return rows(j, j->q[Q_STEPS], STEP_JSON);
}

json_t *tr_journal_instance(struct tr_journal *j, const char *id)
{
	tr_journal_flush(j);
	bind_text(j->q[Q_INST], 1, id);
	json_t *a = rows(j, j->q[Q_INST], INST_JSON);
	json_t *o = json_incref(json_array_get(a, 0));
	json_decref(a);
	return o;
}

json_t *tr_journal_list(struct tr_journal *j, const char *state,
			unsigned limit)
{
	tr_journal_flush(j);
	struct tr_sql_stmt *st = j->q[state ? Q_LIST_STATE : Q_LIST];
	tr_sql_bind_int64(st, 1, limit ? limit : 1000);
	if (state)
		bind_text(st, 2, state);
	return rows(j, st, INST_JSON);
}

int64_t tr_journal_max_seq(struct tr_journal *j)
{
	tr_journal_flush(j);
	struct tr_sql_stmt *st = j->q[Q_MAX_SEQ];
	int64_t v = 0;
	if (tr_sql_step(st) == TR_SQL_ROW)
		v = tr_sql_column_int64(st, 0);
	tr_sql_reset(st);
	return v;
}

char *tr_journal_source(struct tr_journal *j, const char *id, char **file)
{
	tr_journal_flush(j);
	struct tr_sql_stmt *st = j->q[Q_SOURCE];
	char *src = NULL;
	*file = NULL;
	bind_text(st, 1, id);
	if (tr_sql_step(st) == TR_SQL_ROW) {
		const char *f = tr_sql_column_text(st, 0);
		const char *t = tr_sql_column_text(st, 1);
		*file = tr_xstrdup(f ? f : "<journal>");
		src = tr_xstrdup(t ? t : "");
	}
	tr_sql_reset(st);
	tr_sql_clear_bindings(st);
	return src;
}

int tr_journal_purge(struct tr_journal *j, int64_t before_ms, unsigned limit,
		     trellis_call_t *call)
{
	int rc = tr_journal_flush(j);
	if (rc)
		return tr_call_set(call, rc, "workflow journal: cannot flush "
					     "before purging");
	rc = tr_store_begin(j->store, call);
	if (rc)
		return rc;
	struct tr_sql_stmt *st = j->q[Q_PURGE];
	tr_sql_bind_int64(st, 1, before_ms);
	tr_sql_bind_int64(st, 2, limit);
	int step = tr_sql_step(st);
	int n = (int)tr_sql_changes(j->db);
	tr_sql_reset(st);
	if (step != TR_SQL_DONE) {
		rc = tr_call_set(call, TRELLIS_E_IO,
				 "workflow journal: purge: %s",
				 tr_sql_errmsg(j->db));
		tr_store_rollback(j->store);
		return rc;
	}
	rc = tr_store_commit(j->store, call);
	return rc ? rc : n;
}
