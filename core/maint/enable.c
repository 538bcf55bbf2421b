/* SPDX-License-Identifier: Apache-2.0 */
/*
 * enable.c - opening a maintenance window (maint_int.h): the request
 * (code and withdraw token made here), the priming read of the sshd log,
 * the maint.enable workflow (deposit, password, port: fails closed) and
 * its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../actions/lookup.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../workflow/engine.h"

#include "maint_int.h"

/* ---- enable ---- */

void tr_maint_enable_finished(struct tr_daemon *d, struct win *w, json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	json_t *out = json_object_get(st, "outputs");
	if (!state || strcmp(state, "succeeded")) {
		const char *err =
		    json_string_value(json_object_get(st, "error"));
		CPY(w->state, "failed");
		CPY(w->reason, err ? err : "maint.enable failed");
		w->port_open = w->password_valid = 0;
		tr_maint_wipe_code(w);
		tr_maint_save(d, w);
		tr_maint_audit(d, w, "ENABLE_FAILED", NULL, tr_maint_code_in(err), err);
		tr_maint_fail_answer(d, w, tr_maint_code_in(err), w->reason);
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
	tr_maint_save(d, w);
	tr_maint_audit(d, w, "DEPOSIT", NULL, 0, "sealed to the escrow's key");
	tr_maint_audit(d, w, "PASSWORD_SET", NULL, 0, NULL);
	char det[96];
	snprintf(det, sizeof det, "port %d close-on %s", w->port, w->mode);
	tr_maint_audit(d, w, "PORT_OPENED", NULL, 0, det);
	if (w->lost || !w->code) {
		w->want_lock = 1;
		CPY(w->reason, "the access code was lost with its request "
			       "(trellisd restarted)");
		return;
	}
	json_t *r = tr_maint_win_json(w);
	json_object_set_new(r, "code", json_string(w->code));
	tr_maint_wipe_code(w);
	tr_maint_answer(d, w, r, NULL);
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
		tr_maint_wipe_code(w);
		CPY(w->state, "failed");
		CPY(w->reason, call.message);
		tr_maint_save(d, w);
		tr_maint_audit(d, w, "ENABLE_FAILED", NULL, rc, call.message);
		tr_maint_answer(d, w, NULL, &call);
		return;
	}
	CPY(w->instance, id);
	free(id);
	tr_maint_save(d, w);
}

/* The priming read of the sshd log: where it ends before the port opens
 * (none yet: 0; unreadable: the first read after the opening says), so
 * that nothing the sshd says after the port opens is taken for old news.
 * Then the workflow. */
static void prime_done(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct win *w = arg;
	w->busy = 0;
	w->primed = result || call->code == TRELLIS_E_NOTFOUND;
	w->log_offset =
	    result ? json_integer_value(json_object_get(result, "size")) : 0;
	start_enable(d, w);
}

static void prime_log(struct tr_daemon *d, struct win *w)
{
	json_t *a = json_pack("{s:s, s:s, s:s, s:I, s:i}", "host", w->host,
			      "uuid", w->vm, "path", w->log_path, "offset",
			      (json_int_t)0, "max", 1);
	w->busy = 1;
	tr_action_submit(d, "hypervisor.guest_file_read", a, prime_done, w);
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
	struct win *w = tr_maint_find(m, s->uuid);
	if (w && !tr_maint_over(w)) {
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
	if (tr_escrow_code_new(code, sizeof code) < 0) {
		CPY(w->state, "failed");
		tr_call_set(&call, TRELLIS_E_IO, "no randomness");
		done(d, arg, NULL, &call);
		return;
	}
	tr_escrow_withdraw_token(code, w->withdraw);
	w->code = tr_xstrdup(code);
	sodium_memzero(code, sizeof code);
	w->bu_id = who->bu_id;
	w->done = done;
	w->done_arg = arg;
	tr_maint_audit(d, w, "REQUEST", who->user, 0, NULL);
	tr_maint_audit(d, w, "GENERATED", NULL, 0, "access code and password");
	tr_maint_save(d, w);
	/* The log's offset first, then the workflow (prime_done). */
	prime_log(d, w);
}

