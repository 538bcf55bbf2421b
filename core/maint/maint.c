/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint.c - the maintenance windows of appliances (maint.h): enable and
 * disable through the shipped workflows, the 1 s watch that follows each
 * open window (deadlines, the sshd log through the guest agent) and acts
 * on what it sees, the persisted rows, and the audit of every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../actions/lookup.h"
#include "../auth/auth.h"
#include "../config/config.h"
#include "../escrow/escrow.h"
#include "../runtime/daemon.h"
#include "../store/sql.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "authlog.h"
#include "maint.h"

#define TICK_MS 1000
#define MAX_PIDS 16

struct win {
	struct win *next;
	char vm[48], name[128], host[128], bu[TR_NAME_LEN + 1];
	char requester[TR_NAME_LEN + 1], user[33], port_name[128];
	char mode[16], state[16], instance[64], lock_instance[64];
	char rule_id[64], withdraw[ESCROW_HASH_HEX], log_path[256];
	char source[64], reason[256];
	int port;
	int64_t window_ms, password_ttl_ms;
	int64_t requested_at, opened_at, window_expires_at, password_expires_at;
	int64_t connected_at, login_at, logoff_at, locked_at, log_offset;
	int port_open, password_valid, sessions;
	/* In memory only. */
	int busy;           /* a job of this window is in flight */
	int primed;         /* log_offset is where this window's log begins */
	int lost;           /* opening when trellisd started: no one has
			       the code, so it locks as soon as it opens */
	int want_close, want_lock;
	char want_why[128];
	int64_t retry_at;   /* no new attempt before this (unix s) */
	int64_t bu_id;      /* the requester's BU, for the workflow's owner */
	long pids[MAX_PIDS];
	int npids;
	char *code;         /* the access code until the requester has it */
	tr_maint_done_fn done; /* the pending answer (enable, disable) */
	void *done_arg;
	int warned;         /* the log could not be read (said once) */
};

struct tr_maint {
	struct win *wins;
	uint64_t timer;
};

static struct tr_maint *M(struct tr_daemon *d)
{
	return d ? d->maint : NULL;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* A bounded copy, cut short to cap - 1. */
static void cpy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	while (src && n + 1 < cap && src[n]) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = 0;
}
#define CPY(dst, src) cpy(dst, sizeof dst, src)

/* ---- the store (table maint) ---- */

static const char COLS[] =
    "vm, name, host, bu, requester, \"user\", port_name, mode, state, "
    "instance, "
    "rule_id, withdraw, log_path, source, reason, port, window_ms, "
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

static void save(struct tr_daemon *d, const struct win *w)
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

static json_t *win_json(const struct win *w)
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
static void audit(struct tr_daemon *d, const struct win *w, const char *ev,
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

static struct win *find(struct tr_maint *m, const char *vm)
{
	for (struct win *w = m ? m->wins : NULL; w; w = w->next)
		if (!strcmp(w->vm, vm))
			return w;
	return NULL;
}

static int over(const struct win *w)
{
	return !strcmp(w->state, "locked") || !strcmp(w->state, "failed");
}

static void wipe_code(struct win *w)
{
	if (w->code) {
		sodium_memzero(w->code, strlen(w->code));
		free(w->code);
		w->code = NULL;
	}
}

static void answer(struct tr_daemon *d, struct win *w, json_t *result,
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

static void fail_answer(struct tr_daemon *d, struct win *w, int code,
			const char *msg)
{
	trellis_call_t call;
	tr_call_init(&call, "maint");
	tr_call_set(&call, code, "%s", msg);
	answer(d, w, NULL, &call);
}

/* The TRELLIS_E_* code an instance's error names ("UNAVAILABLE: ..."). */
static int code_in(const char *err)
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

/* ---- locking again ---- */

static void full_lock(struct tr_daemon *d, struct win *w, const char *why)
{
	if (!strcmp(w->state, "locking") && w->lock_instance[0])
		return;
	json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:s}", "host", w->host,
			       "uuid", w->vm, "user", w->user, "rule_id",
			       w->rule_id[0] ? w->rule_id : "none", "withdraw",
			       w->withdraw);
	char *id = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = d->engine ? tr_engine_start(d->engine, "maint.disable", NULL,
					     NULL, in, &id, NULL, &call)
			   : tr_call_set(&call, TRELLIS_E_UNAVAILABLE,
					 "no workflow engine");
	json_decref(in);
	w->want_lock = 0;
	if (why)
		CPY(w->reason, why);
	if (rc < 0) {
		audit(d, w, "LOCK_FAILED", NULL, rc, call.message);
		w->want_lock = 1;
		w->retry_at = now_s() + 10;
		return;
	}
	CPY(w->state, "locking");
	CPY(w->lock_instance, id);
	free(id);
	save(d, w);
}

static void lock_finished(struct tr_daemon *d, struct win *w, json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	if (state && !strcmp(state, "succeeded")) {
		CPY(w->state, "locked");
		w->port_open = w->password_valid = 0;
		w->sessions = 0;
		w->npids = 0;
		w->locked_at = now_s();
		w->lock_instance[0] = 0;
		save(d, w);
		audit(d, w, "LOCKED", NULL, 0, w->reason);
		answer(d, w, win_json(w), NULL);
		return;
	}
	const char *err = json_string_value(json_object_get(st, "error"));
	audit(d, w, "LOCK_FAILED", NULL, code_in(err), err);
	/* Still locking: a new attempt after a pause. */
	w->lock_instance[0] = 0;
	w->want_lock = 1;
	w->retry_at = now_s() + 10;
}

/* ---- partial steps: the port, the password ----
 * The done callbacks of tr_action_submit() borrow their result. */

static void close_done(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
	if (!result) {
		audit(d, w, "PORT_CLOSE_FAILED", NULL, call->code, call->message);
		w->retry_at = now_s() + 2;
		return;
	}
	w->port_open = 0;
	w->want_close = 0;
	save(d, w);
	audit(d, w, "PORT_CLOSED", NULL, 0, w->want_why);
}

static void close_port(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s}", "host", w->host, "rule_id",
			      w->rule_id);
	w->busy = 1;
	tr_action_submit(d, "network.port_close", a, close_done, w);
}

static void withdraw_done(struct tr_daemon *d, void *arg, json_t *result,
			  trellis_call_t *call)
{
	struct win *w = arg;
	(void)d;
	w->busy = 0;
	if (!result)
		tr_warn("maint: VM %s: escrow entry not withdrawn: %s", w->name,
			call->message);
}

static void pw_done(struct tr_daemon *d, void *arg, json_t *result,
		    trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
	if (!result) {
		audit(d, w, "LOCK_FAILED", NULL, call->code, call->message);
		w->retry_at = now_s() + 5;
		return;
	}
	w->password_valid = 0;
	save(d, w);
	audit(d, w, "PASSWORD_EXPIRED", NULL, 0, "the account is locked");
	json_t *a = json_pack("{s:s}", "withdraw", w->withdraw);
	w->busy = 1;
	tr_action_submit(d, "maint.withdraw", a, withdraw_done, w);
}

static void expire_password(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s, s:s}", "host", w->host, "uuid",
			      w->vm, "user", w->user);
	w->busy = 1;
	tr_action_submit(d, "hypervisor.guest_lock_user", a, pw_done, w);
}

/* ---- the log ---- */

static void want_close(struct win *w, const char *why)
{
	if (!w->port_open || w->want_close)
		return;
	w->want_close = 1;
	CPY(w->want_why, why);
}

struct scan_ctx {
	struct tr_daemon *d;
	struct win *w;
};

static int pid_forget(struct win *w, long pid)
{
	for (int i = 0; i < w->npids; i++)
		if (w->pids[i] == pid) {
			w->pids[i] = w->pids[--w->npids];
			return 1;
		}
	return 0;
}

static void on_event(void *arg, const struct tr_authlog_event *ev)
{
	struct scan_ctx *c = arg;
	struct win *w = c->w;
	char detail[128];
	snprintf(detail, sizeof detail, "%s%s%s%s", ev->user[0] ? "user " : "",
		 ev->user, ev->from[0] ? " from " : "", ev->from);
	switch (ev->kind) {
	case TR_AUTHLOG_CONNECT:
		if (!w->connected_at)
			w->connected_at = now_s();
		audit(c->d, w, "CONNECT", NULL, 0, detail);
		if (!strcmp(w->mode, "connect"))
			want_close(w, "close-on connect");
		break;
	case TR_AUTHLOG_FAILED:
		audit(c->d, w, "AUTH_FAILED", NULL, 0, detail);
		if (!strcmp(w->mode, "first-attempt"))
			want_close(w, "close-on first-attempt");
		break;
	case TR_AUTHLOG_LOGIN:
		if (!w->login_at)
			w->login_at = now_s();
		w->sessions++;
		if (w->npids < MAX_PIDS)
			w->pids[w->npids++] = ev->pid;
		CPY(w->state, "session");
		audit(c->d, w, "LOGIN", NULL, 0, detail);
		if (!strcmp(w->mode, "first-attempt"))
			want_close(w, "close-on first-attempt");
		else if (strcmp(w->mode, "time"))
			want_close(w, "a login: further connections are "
				      "refused");
		break;
	case TR_AUTHLOG_LOGOFF:
		/* One of the sessions seen (or, after a restart that forgot
		 * the pids, any session of the account). */
		if (!w->sessions ||
		    (!pid_forget(w, ev->pid) && w->npids > 0))
			break;
		w->sessions--;
		w->logoff_at = now_s();
		audit(c->d, w, "LOGOFF", NULL, 0, detail);
		if (!w->sessions) {
			w->want_lock = 1;
			CPY(w->reason, "logoff");
		}
		break;
	default:
		break;
	}
}

static void start_enable(struct tr_daemon *d, struct win *w);

static void poll_done(struct tr_daemon *d, void *arg, json_t *result,
		      trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
	if (!strcmp(w->state, "opening") && !w->instance[0]) {
		/* The priming read of enable: where the log ends before the
		 * port opens (none yet: 0; unreadable: the first read after
		 * the opening says). */
		w->primed = result || call->code == TRELLIS_E_NOTFOUND;
		w->log_offset =
		    result ? json_integer_value(json_object_get(result, "size"))
			   : 0;
		start_enable(d, w);
		return;
	}
	if (!result) {
		if (call->code == TRELLIS_E_NOTFOUND) {
			/* No log yet: the sshd has said nothing. */
			w->primed = 1;
			w->log_offset = 0;
		} else if (!w->warned) {
			w->warned = 1;
			tr_warn("maint: VM %s: the sshd log %s cannot be read: "
				"%s (the deadlines still hold)",
				w->name, w->log_path, call->message);
		}
		return;
	}
	w->warned = 0;
	int64_t size = json_integer_value(json_object_get(result, "size"));
	const char *data = json_string_value(json_object_get(result, "data"));
	if (!w->primed) {
		w->primed = 1;
		w->log_offset = size;
		save(d, w);
	} else if (size < w->log_offset) {
		w->log_offset = 0; /* rotated: read it from the start */
	} else if (data && *data) {
		struct scan_ctx c = {d, w};
		size_t used = tr_authlog_scan(data, strlen(data), on_event, &c);
		w->log_offset += (int64_t)used;
		save(d, w);
	}
}

static void poll_log(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s, s:s, s:I, s:i}", "host", w->host,
			      "uuid", w->vm, "path", w->log_path, "offset",
			      (json_int_t)(w->primed ? w->log_offset : 0),
			      "max", w->primed ? 16384 : 1);
	w->busy = 1;
	tr_action_submit(d, "hypervisor.guest_file_read", a, poll_done, w);
}

/* Close-on connect also reads the rule's own counter (network.port_stats,
 * ABI 1.1): a connection is seen at the port, whatever the guest logs.
 * The log is read right after. */
static void stats_done(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
	if (result &&
	    json_integer_value(json_object_get(result, "packets")) > 0 &&
	    !w->want_close) {
		if (!w->connected_at)
			w->connected_at = now_s();
		audit(d, w, "CONNECT", NULL, 0, "(the port's counter)");
		want_close(w, "close-on connect");
	} else if (!result && call->code != TRELLIS_E_NOTSUP && !w->warned) {
		tr_warn("maint: VM %s: the port's counter: %s", w->name,
			call->message);
	}
	if (w->want_close)
		close_port(d, w);
	else
		poll_log(d, w);
}

static void poll_stats(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s}", "host", w->host, "rule_id",
			      w->rule_id);
	w->busy = 1;
	tr_action_submit(d, "network.port_stats", a, stats_done, w);
}

/* ---- enable ---- */

static void enable_finished(struct tr_daemon *d, struct win *w, json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	json_t *out = json_object_get(st, "outputs");
	if (!state || strcmp(state, "succeeded")) {
		const char *err =
		    json_string_value(json_object_get(st, "error"));
		CPY(w->state, "failed");
		CPY(w->reason, err ? err : "maint.enable failed");
		w->port_open = w->password_valid = 0;
		wipe_code(w);
		save(d, w);
		audit(d, w, "ENABLE_FAILED", NULL, code_in(err), err);
		fail_answer(d, w, code_in(err), w->reason);
		return;
	}
	CPY(w->rule_id, json_string_value(json_object_get(out, "rule_id")));
	w->window_expires_at =
	    json_integer_value(json_object_get(out, "port_expires_at"));
	w->password_expires_at =
	    json_integer_value(json_object_get(out, "password_expires_at"));
	w->opened_at = now_s();
	w->port_open = w->password_valid = 1;
	CPY(w->state, "open");
	save(d, w);
	audit(d, w, "DEPOSIT", NULL, 0, "sealed to the escrow's key");
	audit(d, w, "PASSWORD_SET", NULL, 0, NULL);
	char det[96];
	snprintf(det, sizeof det, "port %d close-on %s", w->port, w->mode);
	audit(d, w, "PORT_OPENED", NULL, 0, det);
	if (w->lost || !w->code) {
		w->want_lock = 1;
		CPY(w->reason, "the access code was lost with its request "
			       "(trellisd restarted)");
		return;
	}
	json_t *r = win_json(w);
	json_object_set_new(r, "code", json_string(w->code));
	wipe_code(w);
	answer(d, w, r, NULL);
}

struct owner_ctx {
	struct tr_daemon *d;
	const struct win *w;
};

static void record_owner(void *arg, const char *id)
{
	struct owner_ctx *o = arg;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_wf_owner_set(o->d->store, id, o->w->requester, o->w->bu_id,
			    &call) < 0)
		tr_warn("maint: workflow %s: owner not recorded: %s", id,
			call.message);
}

/* The workflow, once the log's offset is known (so that nothing the sshd
 * says after the port opens is taken for old news). */
static void start_enable(struct tr_daemon *d, struct win *w)
{
	trellis_call_t call;
	tr_call_init(&call, "maint");
	char win_s[32], ttl_s[32];
	snprintf(win_s, sizeof win_s, "%llds",
		 (long long)((w->window_ms + 999) / 1000));
	snprintf(ttl_s, sizeof ttl_s, "%llds",
		 (long long)((w->password_ttl_ms + 999) / 1000));
	json_t *in = json_pack(
	    "{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "host", w->host,
	    "uuid", w->vm, "user", w->user, "nic", w->port_name, "port",
	    w->port, "window", win_s, "password_ttl", ttl_s, "source",
	    w->source, "code", w->code ? w->code : "");
	struct owner_ctx oc = {d, w};
	char *id = NULL;
	json_t *details = NULL;
	int rc = w->code ? tr_engine_start_with(d->engine, "maint.enable", NULL,
						NULL, in, record_owner, &oc,
						&id, &details, &call)
			 : tr_call_set(&call, TRELLIS_E_CANCELLED,
				       "disabled before it opened");
	json_decref(in);
	json_decref(details);
	if (rc < 0) {
		wipe_code(w);
		CPY(w->state, "failed");
		CPY(w->reason, call.message);
		save(d, w);
		audit(d, w, "ENABLE_FAILED", NULL, rc, call.message);
		answer(d, w, NULL, &call);
		return;
	}
	CPY(w->instance, id);
	free(id);
	save(d, w);
}

static int mode_ok(const char *m)
{
	static const char *const modes[] = {"time", "first-attempt", "connect",
					    "auth", NULL};
	for (size_t i = 0; m && modes[i]; i++)
		if (!strcmp(m, modes[i]))
			return 1;
	return 0;
}

void tr_maint_enable(struct tr_daemon *d, const struct tr_maint_spec *s,
		     const struct tr_ident *who, tr_maint_done_fn done,
		     void *arg)
{
	struct tr_maint *m = M(d);
	trellis_call_t call;
	tr_call_init(&call, "maint");
	const char *mode = s->mode ? s->mode : "auth";
	if (mode && !strcmp(mode, "login"))
		mode = "auth";
	if (!m || !d->engine) {
		tr_call_set(&call, TRELLIS_E_UNAVAILABLE,
			    "maintenance mode is not running");
		done(d, arg, NULL, &call);
		return;
	}
	if (!mode_ok(mode) || s->port < 1 || s->port > 65535 ||
	    s->window_ms < 10000 || s->window_ms > 24LL * 3600 * 1000 ||
	    s->password_ttl_ms < 10000 ||
	    s->password_ttl_ms > 24LL * 3600 * 1000) {
		tr_call_set(&call, TRELLIS_E_INVALID_ARG,
			    "maint.enable: close_on is time, first-attempt, "
			    "connect or auth; port 1-65535; window and "
			    "password_ttl within 10s..24h");
		done(d, arg, NULL, &call);
		return;
	}
	if (!s->port_name || !*s->port_name) {
		tr_call_set(&call, TRELLIS_E_INVALID_ARG,
			    "VM '%s' has no network port of Trellis's to open",
			    s->name);
		done(d, arg, NULL, &call);
		return;
	}
	struct win *w = find(m, s->uuid);
	if (w && !over(w)) {
		tr_call_set(&call, TRELLIS_E_CONFLICT,
			    "VM '%s' is in maintenance already (state %s): "
			    "trellis maint disable %s first",
			    s->name, w->state, s->name);
		done(d, arg, NULL, &call);
		return;
	}
	if (w && (w->busy || w->done)) {
		tr_call_set(&call, TRELLIS_E_BUSY,
			    "VM '%s': the last window is still finishing",
			    s->name);
		done(d, arg, NULL, &call);
		return;
	}
	if (!w) {
		w = tr_xcalloc(1, sizeof *w);
		w->next = m->wins;
		m->wins = w;
	} else {
		struct win *next = w->next;
		memset(w, 0, sizeof *w);
		w->next = next;
	}
	CPY(w->vm, s->uuid);
	CPY(w->name, s->name);
	CPY(w->host, s->host);
	CPY(w->bu, s->bu);
	CPY(w->requester, who->user);
	CPY(w->user, s->user ? s->user : "root");
	CPY(w->port_name, s->port_name);
	CPY(w->mode, mode);
	CPY(w->source, s->source ? s->source : "0.0.0.0/0");
	CPY(w->log_path, s->auth_log ? s->auth_log : "/var/log/auth.log");
	w->port = s->port;
	w->window_ms = s->window_ms;
	w->password_ttl_ms = s->password_ttl_ms;
	w->requested_at = now_s();
	CPY(w->state, "opening");

	char code[ESCROW_CODE_LEN + 1];
	if (escrow_code_new(code, sizeof code) < 0) {
		CPY(w->state, "failed");
		tr_call_set(&call, TRELLIS_E_IO, "no randomness");
		done(d, arg, NULL, &call);
		return;
	}
	escrow_withdraw_token(code, w->withdraw);
	w->code = tr_xstrdup(code);
	sodium_memzero(code, sizeof code);
	w->bu_id = who->bu_id;
	w->done = done;
	w->done_arg = arg;
	audit(d, w, "REQUEST", who->user, 0, NULL);
	audit(d, w, "GENERATED", NULL, 0, "access code and password");
	save(d, w);
	/* The log's offset first, then the workflow (poll_done). */
	poll_log(d, w);
}

/* ---- disable, status, fetch ---- */

void tr_maint_disable(struct tr_daemon *d, const char *uuid,
		      const struct tr_ident *who, tr_maint_done_fn done,
		      void *arg)
{
	struct win *w = find(M(d), uuid);
	trellis_call_t call;
	tr_call_init(&call, "maint");
	if (!w || over(w)) {
		json_t *st = NULL;
		if (tr_maint_status(d, uuid, &st, &call) < 0)
			done(d, arg, NULL, &call);
		else
			done(d, arg, st, NULL);
		return;
	}
	if (w->done) {
		tr_call_set(&call, TRELLIS_E_BUSY,
			    "VM '%s': a request on its window is in flight",
			    w->name);
		done(d, arg, NULL, &call);
		return;
	}
	char det[96];
	snprintf(det, sizeof det, "by %s", who->user);
	audit(d, w, "DISABLE", who->user, 0, NULL);
	w->done = done;
	w->done_arg = arg;
	if (!strcmp(w->state, "opening")) {
		/* The enable finishes first (its undo, or its port), then
		 * the lock comes at once. */
		w->lost = 1;
		return;
	}
	w->want_lock = 1;
	CPY(w->reason, det);
	if (!w->busy)
		full_lock(d, w, det);
}

int tr_maint_status(struct tr_daemon *d, const char *uuid, json_t **out,
		    trellis_call_t *call)
{
	struct win *w = find(M(d), uuid);
	if (w) {
		*out = win_json(w);
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
		*out = win_json(&tmp);
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "VM %s has had no maintenance window", uuid);
	return 0;
}

/* The retrieval runs on a worker (the escrow may take seconds) and is no
 * action: only support.fetch reaches it. */
struct fetch_ctx {
	char withdraw[ESCROW_HASH_HEX];
	char who[TR_NAME_LEN + 1];
	char *code, *reply_key, *endpoint;
	char *password, *sealed; /* the result: one of them */
	trellis_call_t call;
	int rc;
	tr_maint_done_fn done;
	void *arg;
};

static struct win *by_withdraw(struct tr_maint *m, const char *wd)
{
	for (struct win *w = m ? m->wins : NULL; w; w = w->next)
		if (w->withdraw[0] && sodium_memcmp(w->withdraw, wd,
						    ESCROW_HASH_HEX - 1) == 0)
			return w;
	return NULL;
}

static void fetch_work(void *arg)
{
	struct fetch_ctx *f = arg;
	if (!f->endpoint)
		f->rc = tr_call_set(&f->call, TRELLIS_E_UNAVAILABLE,
				    "no escrow configured (escrow.endpoint)");
	else if (f->reply_key)
		f->rc = escrow_fetch_sealed(f->endpoint, f->code, f->who,
					    f->reply_key, &f->sealed, &f->call);
	else
		f->rc = escrow_fetch(f->endpoint, f->code, f->who, &f->password,
				     &f->call);
	sodium_memzero(f->code, strlen(f->code));
}

static void fetch_free(struct fetch_ctx *f)
{
	if (f->password)
		sodium_memzero(f->password, strlen(f->password));
	free(f->password);
	free(f->sealed);
	free(f->code);
	free(f->reply_key);
	free(f->endpoint);
	sodium_memzero(f, sizeof *f);
	free(f);
}

static void fetch_done(struct tr_daemon *d, void *arg)
{
	struct fetch_ctx *f = arg;
	struct win *w = by_withdraw(M(d), f->withdraw);
	struct win none;
	memset(&none, 0, sizeof none);
	CPY(none.name, "(no window of this trellisd)");
	struct win *aw = w ? w : &none;
	if (f->rc == 0) {
		audit(d, aw, "RETRIEVED", f->who, 0,
		      f->sealed ? "sealed to the engineer's key" : NULL);
		json_t *r = json_pack("{s:s?, s:s?, s:s?, s:s?}", "password",
				      f->password, "sealed", f->sealed, "vm",
				      w ? w->vm : NULL, "name",
				      w ? w->name : NULL);
		f->done(d, f->arg, r, NULL);
	} else {
		audit(d, aw, "FETCH_REFUSED", f->who, f->rc, NULL);
		f->done(d, f->arg, NULL, &f->call);
	}
	fetch_free(f);
}

void tr_maint_fetch(struct tr_daemon *d, const char *code,
		    const char *reply_key, const struct tr_ident *who,
		    tr_maint_done_fn done, void *arg)
{
	struct fetch_ctx *f = tr_xcalloc(1, sizeof *f);
	tr_call_init(&f->call, "maint");
	escrow_withdraw_token(code, f->withdraw);
	CPY(f->who, who->user);
	f->code = tr_xstrdup(code);
	f->reply_key = reply_key ? tr_xstrdup(reply_key) : NULL;
	f->endpoint = d->config && d->config->escrow_endpoint
			  ? tr_xstrdup(d->config->escrow_endpoint)
			  : NULL;
	f->done = done;
	f->arg = arg;
	int rc = tr_daemon_submit(d, fetch_work, fetch_done, f);
	if (rc < 0) {
		f->rc = tr_call_set(&f->call, rc, "no worker for the escrow "
						  "(retry)");
		fetch_done(d, f);
	}
}

/* ---- the watch ---- */

static void check_instance(struct tr_daemon *d, struct win *w, int lock)
{
	const char *id = lock ? w->lock_instance : w->instance;
	json_t *st = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_engine_status(d->engine, id, &st, &call) < 0) {
		/* The instance left the journal: what it did is unknown, so
		 * lock (again). */
		json_t *f = json_pack("{s:s, s:s}", "state", "failed", "error",
				      "INTERNAL: the workflow instance is gone");
		if (lock)
			lock_finished(d, w, f);
		else
			enable_finished(d, w, f);
		json_decref(f);
		return;
	}
	const char *s = json_string_value(json_object_get(st, "state"));
	if (s && (!strcmp(s, "succeeded") || !strcmp(s, "failed") ||
		  !strcmp(s, "cancelled"))) {
		if (lock)
			lock_finished(d, w, st);
		else
			enable_finished(d, w, st);
	}
	json_decref(st);
}

static void step(struct tr_daemon *d, struct win *w)
{
	int64_t now = now_s();
	if (w->busy || now < w->retry_at)
		return;
	if (!strcmp(w->state, "opening")) {
		if (w->instance[0]) {
			check_instance(d, w, 0);
		} else if (!w->code) {
			/* trellisd restarted before the workflow started:
			 * nothing was deposited or opened. */
			CPY(w->state, "failed");
			CPY(w->reason, "trellisd restarted before it opened");
			save(d, w);
		}
		return;
	}
	if (!strcmp(w->state, "locking") && w->lock_instance[0]) {
		check_instance(d, w, 1);
		return;
	}
	if (w->want_lock) {
		full_lock(d, w, NULL);
		return;
	}
	if (w->want_close && w->port_open) {
		close_port(d, w);
		return;
	}
	if (now >= w->window_expires_at && w->port_open) {
		audit(d, w, "WINDOW_EXPIRED", NULL, 0,
		      w->sessions ? "the session goes on" : NULL);
		if (!w->sessions) {
			full_lock(d, w, "the window ended");
			return;
		}
		want_close(w, "the window ended");
		close_port(d, w);
		return;
	}
	if (now >= w->window_expires_at && !w->sessions) {
		/* The port closed early (a close mode) and no one is in. */
		full_lock(d, w, w->login_at ? "logoff" : "the window ended");
		return;
	}
	if (w->password_valid && now >= w->password_expires_at) {
		expire_password(d, w);
		return;
	}
	if (!strcmp(w->mode, "connect") && w->port_open)
		poll_stats(d, w);
	else
		poll_log(d, w);
}

static void tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	struct tr_maint *m = M(d);
	if (!m || d->stopping)
		return;
	for (struct win **pp = &m->wins; *pp;) {
		struct win *w = *pp;
		if (over(w) && !w->busy && !w->done) {
			*pp = w->next;
			wipe_code(w);
			free(w);
			continue;
		}
		if (!over(w))
			step(d, w);
		pp = &w->next;
	}
}

int tr_maint_start(struct tr_daemon *d, char *err, size_t errlen)
{
	struct tr_maint *m = tr_xcalloc(1, sizeof *m);
	d->maint = m;
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
	int64_t now = now_s();
	unsigned n = 0;
	for (struct win *w = m->wins; w; w = w->next, n++) {
		if (!strcmp(w->state, "opening")) {
			w->lost = 1; /* its requester went with the restart */
		} else if (!strcmp(w->state, "locking")) {
			w->lock_instance[0] = 0;
			full_lock(d, w, NULL);
		} else if (now >= w->window_expires_at ||
			   (w->password_expires_at &&
			    now >= w->password_expires_at && !w->port_open)) {
			audit(d, w, "WINDOW_EXPIRED", NULL, 0,
			      "while trellisd was down");
			full_lock(d, w, "the window ended while trellisd "
					"was down");
		}
	}
	if (n)
		tr_info("maint: %u maintenance window(s) resumed", n);
	if (tr_daemon_timer_add(d, TICK_MS, TICK_MS, tick, NULL, &m->timer) <
	    0) {
		snprintf(err, errlen, "maint: no timer");
		return -1;
	}
	return 0;
}

void tr_maint_stop(struct tr_daemon *d)
{
	struct tr_maint *m = M(d);
	if (!m)
		return;
	tr_daemon_timer_cancel(d, m->timer);
	while (m->wins) {
		struct win *w = m->wins;
		m->wins = w->next;
		if (w->done)
			fail_answer(d, w, TRELLIS_E_UNAVAILABLE,
				    "trellisd is shutting down (the window "
				    "resumes at the next start)");
		wipe_code(w);
		free(w);
	}
	free(m);
	d->maint = NULL;
}
