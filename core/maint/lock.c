/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lock.c - locking an appliance again (maint_int.h): the maint.disable
 * workflow (close the port, end the sessions, lock the account, withdraw
 * the escrow entry), its partial steps (the port alone, the account
 * alone) and the engineer-or-operator request tr_maint_disable().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actions/lookup.h"
#include "../util/log.h"
#include "../workflow/engine.h"

#include "maint_int.h"

/* ---- locking again ---- */

void tr_maint_full_lock(struct tr_daemon *d, struct win *w, const char *why)
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
		tr_maint_audit(d, w, "LOCK_FAILED", NULL, rc, call.message);
		w->want_lock = 1;
		w->retry_at = now_s() + 10;
		return;
	}
	CPY(w->state, "locking");
	CPY(w->lock_instance, id);
	free(id);
	tr_maint_save(d, w);
}

void tr_maint_lock_finished(struct tr_daemon *d, struct win *w, json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	if (state && !strcmp(state, "succeeded")) {
		CPY(w->state, "locked");
		w->port_open = w->password_valid = 0;
		w->sessions = 0;
		w->npids = 0;
		w->locked_at = now_s();
		w->lock_instance[0] = 0;
		tr_maint_save(d, w);
		tr_maint_audit(d, w, "LOCKED", NULL, 0, w->reason);
		tr_maint_answer(d, w, tr_maint_win_json(w), NULL);
		return;
	}
	const char *err = json_string_value(json_object_get(st, "error"));
	tr_maint_audit(d, w, "LOCK_FAILED", NULL, tr_maint_code_in(err), err);
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
		tr_maint_audit(d, w, "PORT_CLOSE_FAILED", NULL, call->code, call->message);
		w->retry_at = now_s() + 2;
		return;
	}
	w->port_open = 0;
	w->want_close = 0;
	tr_maint_save(d, w);
	tr_maint_audit(d, w, "PORT_CLOSED", NULL, 0, w->want_why);
}

void tr_maint_close_port(struct tr_daemon *d, struct win *w)
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
		tr_maint_audit(d, w, "LOCK_FAILED", NULL, call->code, call->message);
		w->retry_at = now_s() + 5;
		return;
	}
	w->password_valid = 0;
	tr_maint_save(d, w);
	tr_maint_audit(d, w, "PASSWORD_EXPIRED", NULL, 0, "the account is locked");
	json_t *a = json_pack("{s:s}", "withdraw", w->withdraw);
	w->busy = 1;
	tr_action_submit(d, "maint.withdraw", a, withdraw_done, w);
}

void tr_maint_expire_password(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s, s:s}", "host", w->host, "uuid",
			      w->vm, "user", w->user);
	w->busy = 1;
	tr_action_submit(d, "hypervisor.guest_lock_user", a, pw_done, w);
}


/* ---- disable ---- */

void tr_maint_disable(struct tr_daemon *d, const char *uuid,
		      const struct tr_ident *who, tr_maint_done_fn done,
		      void *arg)
{
	struct win *w = tr_maint_find(M(d), uuid);
	trellis_call_t call;
	tr_call_init(&call, "maint");
	if (!w || tr_maint_over(w)) {
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
	tr_maint_audit(d, w, "DISABLE", who->user, 0, NULL);
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
		tr_maint_full_lock(d, w, det);
}

