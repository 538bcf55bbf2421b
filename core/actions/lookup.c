/* SPDX-License-Identifier: Apache-2.0 */
/* lookup.c - read-only inventory lookups for action files (lookup.h). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "action.h"

#include "lookup.h"

/* A read-only handle on d's store (tr_store_close() it), or NULL with
 * the error in call; what names the object for the message. */
static struct tr_store *reader(struct tr_daemon *d, const char *what,
			       trellis_call_t *call)
{
	char path[4200], err[512];
	if (!d || !d->state_dir) {
		tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			    "%s: no daemon store to look it up in", what);
		return NULL;
	}
	/* the daemon's own location (a PostgreSQL one too), or its file */
	if (d->store_path)
		snprintf(path, sizeof path, "%s", d->store_path);
	else
		snprintf(path, sizeof path, "%s/trellis.db", d->state_dir);
	struct tr_store *s =
	    tr_store_open(path, TR_STORE_READONLY, err, sizeof err);
	/* a PostgreSQL location may hold a password: never said */
	if (!s)
		tr_call_set(call, TRELLIS_E_IO, "store %s: %s",
			    strncmp(path, "pg:", 3) ? path : "(PostgreSQL)",
			    err);
	return s;
}

int tr_lookup(struct tr_daemon *d, enum tr_kind kind, const char *ref,
	      json_t **out, trellis_call_t *call)
{
	char what[300];
	*out = NULL;
	snprintf(what, sizeof what, "%s '%s'", tr_kind_str(kind),
		 ref ? ref : "");
	struct tr_store *s = reader(d, what, call);
	if (!s)
		return call->code;
	int rc = tr_store_get(s, kind, ref, out, call);
	tr_store_close(s);
	return rc;
}

int tr_lookup_env(const struct tr_action_env *env, enum tr_kind kind,
		  const char *ref, json_t **out, trellis_call_t *call)
{
	json_t *rec = env && env->records
			  ? json_object_get(env->records, tr_kind_str(kind))
			  : NULL;
	const char *name = json_string_value(json_object_get(rec, "name"));
	if (name && ref && strcmp(name, ref) == 0) {
		*out = json_incref(rec);
		return 0;
	}
	return tr_lookup(env ? env->daemon : NULL, kind, ref, out, call);
}

int tr_lookup_with(struct tr_daemon *d, const char *what,
		   int (*fn)(struct tr_store *s, void *arg,
			     trellis_call_t *call),
		   void *arg, trellis_call_t *call)
{
	struct tr_store *s = reader(d, what, call);
	if (!s)
		return call->code;
	int rc = fn(s, arg, call);
	tr_store_close(s);
	return rc;
}

int tr_lookup_not_others(struct tr_daemon *d, const char *list,
			 const char *field, const char *where,
			 const char *name, const char *vm, const char *what,
			 trellis_call_t *call)
{
	if (!d || !d->state_dir)
		return 0; /* offline tools: no records to keep */
	struct tr_store *s = reader(d, what, call);
	if (!s)
		return call->code;
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	int rc = 0;
	if (tr_sql_prepare(
		db,
		tr_sql_pick(
		    db,
		    "SELECT vm.name || ' (' || vm.uuid || ')' FROM vm, "
		    "json_each(vm.spec, '$.' || ?1) e WHERE "
		    "json_valid(vm.spec) "
		    "AND json_extract(e.value, '$.' || ?2) = ?3 AND "
		    "json_extract(e.value, '$.name') = ?4 AND (CAST(?5 AS "
		    "TEXT) IS NULL OR "
		    "vm.uuid != ?5) ORDER BY vm.id LIMIT 1",
		    /* (every spec is valid JSON: the store writes them) */
		    "SELECT vm.name || ' (' || vm.uuid || ')' FROM vm, "
		    "jsonb_array_elements(CASE WHEN "
		    "jsonb_typeof(vm.spec::jsonb "
		    "-> CAST(?1 AS TEXT)) = 'array' THEN vm.spec::jsonb -> "
		    "CAST(?1 AS TEXT) ELSE '[]'::jsonb END) e WHERE e ->> "
		    "CAST(?2 AS TEXT) = ?3 AND e ->> 'name' = ?4 AND (CAST(?5 "
		    "AS "
		    "TEXT) IS NULL OR vm.uuid != ?5) ORDER BY vm.id LIMIT 1"),
		&st) != 0) {
		rc = tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
				 tr_sql_errmsg(db));
		goto out;
	}
	tr_sql_bind_text(st, 1, list);
	tr_sql_bind_text(st, 2, field);
	tr_sql_bind_text(st, 3, where);
	tr_sql_bind_text(st, 4, name);
	if (vm && *vm)
		tr_sql_bind_text(st, 5, vm);
	else
		tr_sql_bind_null(st, 5);
	int step = tr_sql_step(st);
	if (step == TR_SQL_ROW)
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "%s belongs to VM %s: not deleted (destroy "
				 "that VM)",
				 what, tr_sql_column_text(st, 0));
	else if (step != TR_SQL_DONE)
		rc = tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
				 tr_sql_errmsg(db));
out:
	tr_sql_finalize(st);
	tr_store_close(s);
	return rc;
}

struct submitted {
	struct tr_daemon *d;
	const struct tr_action *a;
	json_t *args, *result;
	trellis_call_t call;
	tr_action_done_fn done;
	void *arg;
};

static void submitted_work(void *p)
{
	struct submitted *s = p;
	struct tr_action_env env = {.daemon = s->d, .attempt = 1};
	int rc = tr_action_call(&env, s->a, s->args, &s->result, &s->call);
	tr_call_finish(&s->call, s->a->name, rc);
	if (rc) {
		json_decref(s->result);
		s->result = NULL;
	}
}

static void submitted_done(struct tr_daemon *d, void *p)
{
	struct submitted *s = p;
	s->done(d, s->arg, s->result, &s->call);
	json_decref(s->result);
	json_decref(s->args);
	free(s);
}

int tr_action_submit(struct tr_daemon *d, const char *name, json_t *args,
		     tr_action_done_fn done, void *arg)
{
	char err[512];
	struct submitted *s = tr_xcalloc(1, sizeof *s);
	tr_call_init(&s->call, NULL);
	s->d = d;
	s->args = args;
	s->done = done;
	s->arg = arg;
	tr_actions_init(); /* once; a daemon without workflows has not yet */
	s->a = tr_action_find(name);
	int rc;
	if (!s->a)
		rc = tr_call_set(&s->call, TRELLIS_E_INTERNAL, "no action %s",
				 name);
	else if (tr_action_check_args(s->a, args, err, sizeof err) != 0)
		rc = tr_call_set(&s->call, TRELLIS_E_INVALID_ARG, "%s: %s",
				 name, err);
	else
		rc = tr_daemon_submit(d, submitted_work, submitted_done, s);
	if (rc < 0) {
		if (!s->call.code)
			tr_call_set(&s->call, rc, "%s: cannot queue the job",
				    name);
		submitted_done(d, s);
	}
	return rc;
}
