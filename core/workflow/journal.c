/* journal.c - see journal.h. */
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
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
};

struct tr_journal {
	struct tr_store *store;
	sqlite3 *db;
	sqlite3_stmt *q[Q__N];
	int in_tx;
};

struct tr_journal *tr_journal_new(struct tr_store *s, char *err,
				  size_t errlen)
{
	struct tr_journal *j = calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->store = s;
	j->db = tr_store_db(s);
	for (int i = 0; i < Q__N; i++) {
		if (sqlite3_prepare_v3(j->db, SQL[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &j->q[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "workflow journal: %s",
				 sqlite3_errmsg(j->db));
			tr_journal_free(j);
			return NULL;
		}
	}
	return j;
}

void tr_journal_free(struct tr_journal *j)
{
	if (!j)
		return;
	tr_journal_flush(j);
	for (int i = 0; i < Q__N; i++)
		sqlite3_finalize(j->q[i]);
	free(j);
}

int tr_journal_dirty(const struct tr_journal *j)
{
	return j->in_tx;
}

int tr_journal_flush(struct tr_journal *j)
{
	if (!j->in_tx)
		return 0;
	j->in_tx = 0;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	int rc = tr_store_commit(j->store, &call);
	if (rc)
		tr_err("workflow journal: %s", call.message);
	return rc;
}

static int begin(struct tr_journal *j)
{
	if (j->in_tx)
		return 0;
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	int rc = tr_store_begin(j->store, &call);
	if (rc) {
		tr_err("workflow journal: %s", call.message);
		return rc;
	}
	j->in_tx = 1;
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (v >= 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int step_done(struct tr_journal *j, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	tr_err("workflow journal: %s: %s", what, sqlite3_errmsg(j->db));
	return TRELLIS_E_IO;
}

int tr_journal_instance_new(struct tr_journal *j,
			    const struct tr_jr_instance *in)
{
	if (begin(j))
		return TRELLIS_E_IO;
	sqlite3_stmt *st = j->q[Q_INST_NEW];
	bind_text(st, 1, in->id);
	sqlite3_bind_int64(st, 2, in->seq);
	bind_text(st, 3, in->workflow);
	bind_text(st, 4, in->file);
	bind_text(st, 5, in->source);
	bind_text(st, 6, in->inputs);
	bind_text(st, 7, in->sealed);
	sqlite3_bind_int(st, 8, in->priority);
	bind_text(st, 9, in->state);
	sqlite3_bind_int64(st, 10, in->created_at);
	return step_done(j, st, "new instance");
}

int tr_journal_instance_update(struct tr_journal *j, const char *id,
			       const struct tr_jr_update *u)
{
	if (begin(j))
		return TRELLIS_E_IO;
	sqlite3_stmt *st = j->q[Q_INST_UPD];
	bind_text(st, 1, id);
	bind_text(st, 2, u->state);
	bind_text(st, 3, u->compensation);
	bind_text(st, 4, u->error);
	bind_text(st, 5, u->failed_step);
	bind_text(st, 6, u->outputs);
	bind_text(st, 7, u->left_behind);
	bind_int(st, 8, u->started_at);
	bind_int(st, 9, u->finished_at);
	return step_done(j, st, "instance update");
}

int tr_journal_step_new(struct tr_journal *j, const char *id, size_t idx,
			const char *step)
{
	if (begin(j))
		return TRELLIS_E_IO;
	sqlite3_stmt *st = j->q[Q_STEP_NEW];
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	bind_text(st, 3, step);
	return step_done(j, st, "new step");
}

int tr_journal_step_update(struct tr_journal *j, const char *id, size_t idx,
			   const struct tr_jr_step *u)
{
	if (begin(j))
		return TRELLIS_E_IO;
	sqlite3_stmt *st = j->q[Q_STEP_UPD];
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	bind_text(st, 3, u->state);
	bind_int(st, 4, u->attempts);
	bind_text(st, 5, u->inputs);
	bind_text(st, 6, u->outputs);
	bind_text(st, 7, u->error);
	bind_int(st, 8, u->started_at);
	bind_int(st, 9, u->finished_at);
	bind_int(st, 10, u->done_seq);
	bind_text(st, 11, u->undo_state);
	bind_text(st, 12, u->undo_error);
	return step_done(j, st, "step update");
}

/* ---- reads ---- */

/* A column as JSON: text columns named in json_cols are parsed. */
static json_t *column(sqlite3_stmt *st, int i, int as_json)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: return json_null();
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	default: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		if (as_json) {
			json_t *v = json_loads(t, JSON_DECODE_ANY, NULL);
			if (v)
				return v;
		}
		return json_string(t ? t : "");
	}
	}
}

static json_t *rows(struct tr_journal *j, sqlite3_stmt *st,
		    const char *const *json_cols)
{
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *name = sqlite3_column_name(st, i);
			int as_json = 0;
			for (size_t k = 0; json_cols && json_cols[k]; k++)
				if (strcmp(json_cols[k], name) == 0)
					as_json = 1;
			json_object_set_new(o, name, column(st, i, as_json));
		}
		json_array_append_new(arr, o);
	}
	if (rc != SQLITE_DONE) {
		tr_err("workflow journal: read: %s", sqlite3_errmsg(j->db));
		json_decref(arr);
		arr = NULL;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return arr;
}

static const char *const INST_JSON[] = {"outputs", "left_behind", "inputs",
					NULL};
static const char *const STEP_JSON[] = {"inputs", "outputs", NULL};

json_t *tr_journal_unfinished(struct tr_journal *j)
{
	static const char *const none[] = {NULL};
	return rows(j, j->q[Q_UNFINISHED], none);
}

json_t *tr_journal_steps(struct tr_journal *j, const char *id)
{
	bind_text(j->q[Q_STEPS], 1, id);
	return rows(j, j->q[Q_STEPS], STEP_JSON);
}

json_t *tr_journal_instance(struct tr_journal *j, const char *id)
{
	bind_text(j->q[Q_INST], 1, id);
	json_t *a = rows(j, j->q[Q_INST], INST_JSON);
	json_t *o = json_incref(json_array_get(a, 0));
	json_decref(a);
	return o;
}

json_t *tr_journal_list(struct tr_journal *j, const char *state,
			unsigned limit)
{
	sqlite3_stmt *st = j->q[state ? Q_LIST_STATE : Q_LIST];
	sqlite3_bind_int64(st, 1, limit ? limit : 1000);
	if (state)
		bind_text(st, 2, state);
	return rows(j, st, INST_JSON);
}

int64_t tr_journal_max_seq(struct tr_journal *j)
{
	sqlite3_stmt *st = j->q[Q_MAX_SEQ];
	int64_t v = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

char *tr_journal_source(struct tr_journal *j, const char *id, char **file)
{
	sqlite3_stmt *st = j->q[Q_SOURCE];
	char *src = NULL;
	*file = NULL;
	bind_text(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(st, 0);
		const char *t = (const char *)sqlite3_column_text(st, 1);
		*file = strdup(f ? f : "<journal>");
		src = strdup(t ? t : "");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return src;
}
