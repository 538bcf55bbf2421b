/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint.c - the maintenance windows (maint.h, maint_int.h): their rows in
 * table maint, their status, the audit of every step and the answers
 * pending on them.  The bottom of core/maint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"

#include "maint_int.h"

/* ---- the store (table maint) ---- */

static const char COLS[] =
    "vm, name, host, bu, requester, \"user\", port_name, mode, state, "
    "instance, rule_id, withdraw, log_path, source, reason, port, window_ms, "
    "password_ttl_ms, requested_at, opened_at, window_expires_at, "
    "password_expires_at, connected_at, login_at, logoff_at, locked_at, "
    "log_offset, port_open, password_valid, sessions, updated_at";

/* What a save of a window that exists already replaces: all but vm. */
static const char UPDATE_SET[] =
    "name = excluded.name, host = excluded.host, bu = excluded.bu, "
    "requester = excluded.requester, \"user\" = excluded.\"user\", "
    "port_name = excluded.port_name, mode = excluded.mode, "
    "state = excluded.state, instance = excluded.instance, "
    "rule_id = excluded.rule_id, withdraw = excluded.withdraw, "
    "log_path = excluded.log_path, source = excluded.source, "
    "reason = excluded.reason, port = excluded.port, "
    "window_ms = excluded.window_ms, "
    "password_ttl_ms = excluded.password_ttl_ms, "
    "requested_at = excluded.requested_at, opened_at = excluded.opened_at, "
    "window_expires_at = excluded.window_expires_at, "
    "password_expires_at = excluded.password_expires_at, "
    "connected_at = excluded.connected_at, login_at = excluded.login_at, "
    "logoff_at = excluded.logoff_at, locked_at = excluded.locked_at, "
    "log_offset = excluded.log_offset, port_open = excluded.port_open, "
    "password_valid = excluded.password_valid, sessions = excluded.sessions, "
    "updated_at = excluded.updated_at";

void tr_maint_save(struct tr_daemon *d, const struct win *w)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char sql[4096];
	snprintf(sql, sizeof sql,
		 "INSERT INTO maint (%s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		 "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
		 "?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31) "
		 "ON CONFLICT (vm) DO UPDATE SET %s",
		 COLS, UPDATE_SET);
	if (tr_store_begin(d->store, &call) < 0) {
		tr_err("maint: VM %s: not saved: %s", w->name, call.message);
		return;
	}
	if (tr_sql_prepare(db, sql, &st) == 0) {
		const char *t[] = {w->vm,	 w->name,     w->host,
				   w->bu,	 w->requester, w->user,
				   w->port_name, w->mode,     w->state,
				   w->instance,  w->rule_id,  w->withdraw,
				   w->log_path,  w->source,   w->reason};
		int i = 1;
		for (size_t k = 0; k < sizeof t / sizeof *t; k++)
			tr_sql_bind_text(st, i++, t[k]);
		const int64_t n[] = {w->port,
				     w->window_ms,
				     w->password_ttl_ms,
				     w->requested_at,
				     w->opened_at,
				     w->window_expires_at,
				     w->password_expires_at,
				     w->connected_at,
				     w->login_at,
				     w->logoff_at,
				     w->locked_at,
				     w->log_offset,
				     w->port_open,
				     w->password_valid,
				     w->sessions,
				     now_s()};
		for (size_t k = 0; k < sizeof n / sizeof *n; k++)
			tr_sql_bind_int64(st, i++, n[k]);
		if (tr_sql_step(st) != TR_SQL_DONE)
			tr_err("maint: VM %s: not saved: %s", w->name,
			       tr_sql_errmsg(db));
	} else {
		tr_err("maint: %s", tr_sql_errmsg(db));
	}
	tr_sql_finalize(st);
	if (tr_store_commit(d->store, &call) < 0)
		tr_err("maint: VM %s: not saved: %s", w->name, call.message);
}

static void row_read(struct tr_sql_stmt *st, struct win *w)
{
	char *t[] = {w->vm,	   w->name,	w->host,     w->bu,
		     w->requester, w->user,	w->port_name, w->mode,
		     w->state,	   w->instance, w->rule_id,  w->withdraw,
		     w->log_path,  w->source,	w->reason};
	const size_t cap[] = {sizeof w->vm,	   sizeof w->name,
			      sizeof w->host,	   sizeof w->bu,
			      sizeof w->requester, sizeof w->user,
			      sizeof w->port_name, sizeof w->mode,
			      sizeof w->state,	   sizeof w->instance,
			      sizeof w->rule_id,   sizeof w->withdraw,
			      sizeof w->log_path,  sizeof w->source,
			      sizeof w->reason};
	int i = 0;
	for (size_t k = 0; k < sizeof t / sizeof *t; k++, i++)
		cpy(t[k], cap[k], tr_sql_column_text(st, i));
	int64_t *n[] = {NULL,
			&w->window_ms,
			&w->password_ttl_ms,
			&w->requested_at,
			&w->opened_at,
			&w->window_expires_at,
			&w->password_expires_at,
			&w->connected_at,
			&w->login_at,
			&w->logoff_at,
			&w->locked_at,
			&w->log_offset};
	w->port = (int)tr_sql_column_int64(st, i++);
	for (size_t k = 1; k < sizeof n / sizeof *n; k++)
		*n[k] = tr_sql_column_int64(st, i++);
	w->port_open = (int)tr_sql_column_int64(st, i++);
	w->password_valid = (int)tr_sql_column_int64(st, i++);
	w->sessions = (int)tr_sql_column_int64(st, i++);
}

int tr_maint_load(struct tr_daemon *d, struct tr_maint *m, char *err,
		  size_t errlen)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM maint WHERE state NOT IN ('locked', "
		 "'failed')",
		 COLS);
	if (tr_sql_prepare(db, sql, &st) != 0) {
		snprintf(err, errlen, "maint: %s", tr_sql_errmsg(db));
		return -1;
	}
	while (tr_sql_step(st) == TR_SQL_ROW) {
		struct win *w = tr_xcalloc(1, sizeof *w);
		row_read(st, w);
		w->primed = 1;
		w->next = m->wins;
		m->wins = w;
	}
	tr_sql_finalize(st);
	return 0;
}

json_t *tr_maint_win_json(const struct win *w)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:i, s:s, "
	    "s:s}",
	    "vm", w->vm, "name", w->name, "host", w->host, "state", w->state,
	    "mode", w->mode, "user", w->user, "requester", w->requester,
	    "port", w->port, "port_open", w->port_open, "password_valid",
	    w->password_valid, "sessions", w->sessions, "reason", w->reason,
	    "instance", w->instance);
	static const char *const tn[] = {
	    "requested_at",	   "opened_at", "window_expires_at",
	    "password_expires_at", "connected_at", "login_at",
	    "logoff_at",	   "locked_at"};
	const int64_t tv[] = {w->requested_at,	      w->opened_at,
			      w->window_expires_at, w->password_expires_at,
			      w->connected_at,	      w->login_at,
			      w->logoff_at,	      w->locked_at};
	for (size_t k = 0; k < sizeof tn / sizeof *tn; k++)
		json_object_set_new(o, tn[k],
				    tv[k] ? json_integer(tv[k]) : json_null());
	return o;
}

/* ---- audit and events ---- */

/* One audit record "maint:EVENT" on the VM (object: its name, and detail
 * when there is one) by user (NULL: trellisd itself), and the event
 * "maint.EVENT".  Never a secret: callers pass names, addresses and
 * reasons only. */
void tr_maint_audit(struct tr_daemon *d, const struct win *w, const char *ev,
		  const char *user, int code, const char *detail)
{
	char op[64], obj[512];
	snprintf(op, sizeof op, "maint:%s", ev);
	snprintf(obj, sizeof obj, "%.127s%s%.300s", w->name[0] ? w->name : w->vm,
		 detail && *detail ? " " : "", detail ? detail : "");
	struct tr_audit_rec r = {user && *user ? user : "trellisd",
				 w->bu,
				 op,
				 obj,
				 code ? "failed" : "ok",
				 code ? trellis_error_name(code) : NULL,
				 "maint"};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (d->store && (tr_store_begin(d->store, &call) < 0 ||
			 tr_audit_append(d->store, &r, &call) < 0 ||
			 tr_store_commit(d->store, &call) < 0))
		tr_err("maint: audit %s of %s not recorded: %s", ev, w->name,
		       call.message);
	tr_info("maint: VM %s: %s%s%s", w->name, ev, detail ? " " : "",
		detail ? detail : "");
	char topic[64];
	snprintf(topic, sizeof topic, "maint.%s", ev);
	json_t *b = json_pack("{s:s, s:s, s:s, s:s?}", "vm", w->vm, "name",
			      w->name, "state", w->state, "detail", detail);
	tr_daemon_publish(d, topic, b);
	json_decref(b);
}

/* ---- windows in memory ---- */

struct win *tr_maint_find(struct tr_maint *m, const char *vm)
{
	for (struct win *w = m ? m->wins : NULL; w; w = w->next)
		if (!strcmp(w->vm, vm))
			return w;
	return NULL;
}

int tr_maint_over(const struct win *w)
{
	return !strcmp(w->state, "locked") || !strcmp(w->state, "failed");
}

void tr_maint_wipe_code(struct win *w)
{
	if (w->code) {
		sodium_memzero(w->code, strlen(w->code));
		free(w->code);
		w->code = NULL;
	}
}

void tr_maint_answer(struct tr_daemon *d, struct win *w, json_t *result,
		   trellis_call_t *call)
{
	tr_maint_done_fn fn = w->done;
	void *arg = w->done_arg;
	w->done = NULL;
	w->done_arg = NULL;
	if (fn)
		fn(d, arg, result, call);
	else
		json_decref(result);
}

void tr_maint_fail_answer(struct tr_daemon *d, struct win *w, int code,
			const char *msg)
{
	trellis_call_t call;
	tr_call_init(&call, "maint");
	tr_call_set(&call, code, "%s", msg);
	tr_maint_answer(d, w, NULL, &call);
}

/* The TRELLIS_E_* code an instance's error names ("UNAVAILABLE: ..."). */
int tr_maint_code_in(const char *err)
{
	for (int c = -1; c >= TRELLIS_E__LAST; c--) {
		const char *n = trellis_error_name(c);
		size_t l = strlen(n);
		for (const char *p = err ? strstr(err, n) : NULL; p;
		     p = strstr(p + 1, n))
			if (p[l] == ':')
				return c;
	}
	return TRELLIS_E_BACKEND;
}


int tr_maint_status(struct tr_daemon *d, const char *uuid, json_t **out,
		    trellis_call_t *call)
{
	struct win *w = tr_maint_find(M(d), uuid);
	if (w) {
		*out = tr_maint_win_json(w);
		return 0;
	}
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT %s FROM maint WHERE vm = ?1", COLS);
	if (tr_sql_prepare(db, sql, &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "maint: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_text(st, 1, uuid);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW) {
		struct win tmp;
		memset(&tmp, 0, sizeof tmp);
		row_read(st, &tmp);
		*out = tr_maint_win_json(&tmp);
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "VM %s has had no maintenance window", uuid);
	return 0;
}
