/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch.c - the 1 s watch of the open maintenance windows (maint_int.h):
 * the deadlines, the sshd log read through the guest agent and the
 * port's counter, what each close mode does on what is seen; the
 * manager's start (windows resumed, those past their deadline locked)
 * and stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "authlog.h"

#include "maint_int.h"

#define TICK_MS 1000

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
		tr_maint_audit(c->d, w, "CONNECT", NULL, 0, detail);
		if (!strcmp(w->mode, "connect"))
			want_close(w, "close-on connect");
		break;
	case TR_AUTHLOG_FAILED:
		tr_maint_audit(c->d, w, "AUTH_FAILED", NULL, 0, detail);
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
		tr_maint_audit(c->d, w, "LOGIN", NULL, 0, detail);
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
		tr_maint_audit(c->d, w, "LOGOFF", NULL, 0, detail);
		if (!w->sessions) {
			w->want_lock = 1;
			CPY(w->reason, "logoff");
		}
		break;
	default:
		break;
	}
}

static void poll_done(struct tr_daemon *d, void *arg, json_t *result,
		      trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
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
		tr_maint_save(d, w);
	} else if (size < w->log_offset) {
		w->log_offset = 0; /* rotated: read it from the start */
	} else if (data && *data) {
		struct scan_ctx c = {d, w};
		size_t used = tr_authlog_scan(data, strlen(data), on_event, &c);
		w->log_offset += (int64_t)used;
		tr_maint_save(d, w);
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
		tr_maint_audit(d, w, "CONNECT", NULL, 0, "(the port's counter)");
		want_close(w, "close-on connect");
	} else if (!result && call->code != TRELLIS_E_NOTSUP && !w->warned) {
		tr_warn("maint: VM %s: the port's counter: %s", w->name,
			call->message);
	}
	if (w->want_close)
		tr_maint_close_port(d, w);
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
			tr_maint_lock_finished(d, w, f);
		else
			tr_maint_enable_finished(d, w, f);
		json_decref(f);
		return;
	}
	const char *s = json_string_value(json_object_get(st, "state"));
	if (s && (!strcmp(s, "succeeded") || !strcmp(s, "failed") ||
		  !strcmp(s, "cancelled"))) {
		if (lock)
			tr_maint_lock_finished(d, w, st);
		else
			tr_maint_enable_finished(d, w, st);
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
			tr_maint_save(d, w);
		}
		return;
	}
	if (!strcmp(w->state, "locking") && w->lock_instance[0]) {
		check_instance(d, w, 1);
		return;
	}
	if (w->want_lock) {
		tr_maint_full_lock(d, w, NULL);
		return;
	}
	if (w->want_close && w->port_open) {
		tr_maint_close_port(d, w);
		return;
	}
	if (now >= w->window_expires_at && w->port_open) {
		tr_maint_audit(d, w, "WINDOW_EXPIRED", NULL, 0,
		      w->sessions ? "the session goes on" : NULL);
		if (!w->sessions) {
			tr_maint_full_lock(d, w, "the window ended");
			return;
		}
		want_close(w, "the window ended");
		tr_maint_close_port(d, w);
		return;
	}
	if (now >= w->window_expires_at && !w->sessions) {
		/* The port closed early (a close mode) and no one is in. */
		tr_maint_full_lock(d, w, w->login_at ? "logoff" : "the window ended");
		return;
	}
	if (w->password_valid && now >= w->password_expires_at) {
		tr_maint_expire_password(d, w);
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
		if (tr_maint_over(w) && !w->busy && !w->done) {
			*pp = w->next;
			tr_maint_wipe_code(w);
			free(w);
			continue;
		}
		if (!tr_maint_over(w))
			step(d, w);
		pp = &w->next;
	}
}

int tr_maint_start(struct tr_daemon *d, char *err, size_t errlen)
{
	struct tr_maint *m = tr_xcalloc(1, sizeof *m);
	d->maint = m;
	if (tr_maint_load(d, m, err, errlen) < 0)
		return -1;
	int64_t now = now_s();
	unsigned n = 0;
	for (struct win *w = m->wins; w; w = w->next, n++) {
		if (!strcmp(w->state, "opening")) {
			w->lost = 1; /* its requester went with the restart */
		} else if (!strcmp(w->state, "locking")) {
			w->lock_instance[0] = 0;
			tr_maint_full_lock(d, w, NULL);
		} else if (now >= w->window_expires_at ||
			   (w->password_expires_at &&
			    now >= w->password_expires_at && !w->port_open)) {
			tr_maint_audit(d, w, "WINDOW_EXPIRED", NULL, 0,
			      "while trellisd was down");
			tr_maint_full_lock(d, w, "the window ended while trellisd "
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
			tr_maint_fail_answer(d, w, TRELLIS_E_UNAVAILABLE,
				    "trellisd is shutting down (the window "
				    "resumes at the next start)");
		tr_maint_wipe_code(w);
		free(w);
	}
	free(m);
	d->maint = NULL;
}

