/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_console.c - browser consoles through trellis-console (issue 20,
 * docs/console.md).
 *
 *   console.open      a user mints a single-use token for a VM they may
 *                     see; the answer has the URL of a proxy instance
 *   console.redeem    a proxy redeems a browser's token: refused (and
 *                     audited) before anything reaches the VM, else a
 *                     session and the VM's VNC endpoint with a fresh
 *                     one-time password (hypervisor.console)
 *   console.close     a proxy reports a session's end (either side)
 *   console.resume    a draining proxy gets a resume ticket for one of
 *                     its sessions and the instance to resume it on
 *   console.sessions  the sessions (a BU caller: its BU's only)
 *   consoleproxy.report / .list / .drain   the instances' load reports
 *   consoleproxy.scan (console_scan.c)
 *
 * Tokens and passwords are secrets: they go to the caller only, never to
 * a log, an event or the audit trail.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <trellis/error.h>

#include "../actions/lookup.h"
#include "../auth/console.h"
#include "../config/config.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "api_int.h"
#include "console_int.h"

/* A proxy that has not reported for this long is not offered. */
#define REPORT_STALE_S 15

long tr_console_ttl_max(const struct tr_daemon *d)
{
	long s = (long)(d->config->console_ttl_ms / 1000);
	return s < 1 || s > TR_CONSOLE_TTL_MAX ? TR_CONSOLE_TTL_MAX : s;
}

/* The sessions the store counts open on proxy p. */
#define OPEN_SESSIONS                                                          \
	"(SELECT count(*) FROM console_session s WHERE s.proxy = p.name AND "  \
	"s.state = 'open')"

int tr_console_pick_proxy(struct tr_daemon *d, const char *except,
			  char *name, size_t nlen, char *url, size_t ulen)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st;
	int found = 0;
	/* The least loaded live instance, by its reports and the store's
	 * own count of sessions opened since. */
	if (tr_sql_prepare(
		db,
		"SELECT name, url FROM console_proxy p WHERE state = 'active' "
		"AND reported_at >= ?1 AND (CAST(?2 AS TEXT) IS NULL OR name "
		"!= ?2) ORDER BY "
		"(CASE WHEN sessions > " OPEN_SESSIONS
		" THEN sessions ELSE " OPEN_SESSIONS " END) * 1.0 / capacity, "
		"name LIMIT 1",
		&st) != 0)
		return 0;
	tr_sql_bind_int64(st, 1, (int64_t)time(NULL) - REPORT_STALE_S);
	if (except)
		tr_sql_bind_text(st, 2, except);
	if (tr_sql_step(st) == TR_SQL_ROW) {
		snprintf(name, nlen, "%s", tr_sql_column_text(st, 0));
		snprintf(url, ulen, "%s", tr_sql_column_text(st, 1));
		found = 1;
	}
	tr_sql_finalize(st);
	return found;
}

/* The browser's URL for a token: the configured base (a load balancer)
 * or the proxy's own; "/vnc" (noVNC) or "/stripe" (image stripes). */
static char *console_url(struct tr_daemon *d, const char *base,
			 const char *mode, const char *vm_uuid,
			 const char *param, const char *token)
{
	const char *b = d->config->console_url ? d->config->console_url : base;
	size_t n = strlen(b);
	while (n && b[n - 1] == '/')
		n--;
	size_t len = n + strlen(vm_uuid) + strlen(token) + 64;
	char *u = tr_xmalloc(len);
	snprintf(u, len, "%.*s/%s?vm=%s&%s=%s", (int)n, b,
		 strcmp(mode, "stripe") == 0 ? "stripe" : "vnc", vm_uuid, param,
		 token);
	return u;
}

static void console_open(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *vm = NULL;
	const char *ref = json_string_value(json_object_get(args, "name"));
	if (tr_api_get_scoped(d, req, TR_KIND_VM, ref, &vm) < 0)
		return;
	const struct tr_ident *who = tr_req_who(req);
	long max = tr_console_ttl_max(d);
	json_t *ttl = json_object_get(args, "ttl");
	long ttl_s = ttl ? (long)(json_integer_value(ttl) / 1000) : max;
	const char *mode = json_string_value(json_object_get(args, "mode"));
	if (!mode)
		mode = "ws";
	if (strcmp(mode, "ws") != 0 && strcmp(mode, "stripe") != 0) {
		json_decref(vm);
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "console.open: mode '%s' is not ws or stripe",
			    mode);
		return;
	}
	if (ttl_s < 1 || ttl_s > max) {
		json_decref(vm);
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "console.open: ttl must be 1s to %lds "
			    "(console.token_ttl)",
			    max);
		return;
	}
	const char *st = json_string_value(json_object_get(vm, "state"));
	if (st && strcmp(st, "running") != 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "VM '%s' is %s: no console",
			    json_string_value(json_object_get(vm, "name")), st);
		json_decref(vm);
		return;
	}
	char pname[128] = "", purl[512] = "";
	if (!tr_console_pick_proxy(d, NULL, pname, sizeof pname, purl,
				   sizeof purl) &&
	    !d->config->console_url) {
		json_decref(vm);
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "console.open: no console proxy has reported in "
			    "the last %d s and console.url is not set",
			    REPORT_STALE_S);
		return;
	}
	struct tr_console_grant g = {0};
	snprintf(g.kind, sizeof g.kind, "open");
	snprintf(g.vm_uuid, sizeof g.vm_uuid, "%s",
		 json_string_value(json_object_get(vm, "uuid")));
	snprintf(g.vm_name, sizeof g.vm_name, "%s",
		 json_string_value(json_object_get(vm, "name")));
	snprintf(g.user, sizeof g.user, "%s", who->user);
	g.bu_id = who->bu_id;
	snprintf(g.mode, sizeof g.mode, "%s", mode);
	json_decref(vm);
	char token[TR_CONSOLE_TOKEN_LEN + 1];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_console_token_new(tr_store_sql(d->store), &g, ttl_s, token,
				 &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	char *url = console_url(d, purl, mode, g.vm_uuid, "token", token);
	tr_info("console: %s opened a console token for VM '%s' (%s, "
		"%ld s)",
		g.user, g.vm_name, mode, ttl_s);
	tr_req_ok(req, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "vm",
				 g.vm_name, "vm_uuid", g.vm_uuid, "token", token,
				 "url", url, "proxy", pname, "mode", mode,
				 "expires_at", (json_int_t)g.expires_at));
	sodium_memzero(token, sizeof token);
	sodium_memzero(url, strlen(url));
	free(url);
}

/* ---- redeem ---- */

struct redeem_check {
	struct tr_daemon *d;
	const char *vm; /* the VM the browser asked for, or NULL */
	json_t *vm_rec; /* out: the VM's record */
};

/* The token is valid and unused: is it for this VM, and may its user
 * still see the VM? */
static int redeem_check(void *arg, const struct tr_console_grant *g,
			trellis_call_t *call)
{
	struct redeem_check *c = arg;
	if (c->vm && strcmp(c->vm, g->vm_uuid) != 0 &&
	    strcmp(c->vm, g->vm_name) != 0)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "console: the token is for another VM");
	struct tr_ident who;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (tr_auth_by_name(c->d->store, tr_api_roles(c->d->api), g->user,
			    &who, &c2) < 0)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "console: user '%s' no longer exists",
				   g->user);
	if (!who.role || !tr_role_grants(who.role, "console.open"))
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "console: user '%s' may no longer open "
				   "consoles",
				   g->user);
	if (tr_store_get(c->d->store, TR_KIND_VM, g->vm_uuid, &c->vm_rec,
			 &c2) < 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "console: VM '%s' is gone", g->vm_name);
	if (tr_ident_scoped(&who)) {
		char *owner = tr_store_owner(c->d->store, TR_KIND_VM, c->vm_rec);
		int mine = owner && strcmp(owner, who.bu) == 0;
		free(owner);
		if (!mine)
			return tr_call_set(call, TRELLIS_E_PERMISSION,
					   "console: user '%s' may no longer "
					   "see VM '%s'",
					   g->user, g->vm_name);
	}
	return 0;
}

static void audit_console(struct tr_daemon *d, const char *user,
			  const char *vm, const char *op, const char *result,
			  int code)
{
	char object[160];
	snprintf(object, sizeof object, "vm:%s", vm && *vm ? vm : "?");
	struct tr_audit_rec r = {user && *user ? user : "?", NULL, op, object,
				 result, code ? trellis_error_name(code) : NULL,
				 "proxy"};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_audit_append(d->store, &r, &call) < 0)
		tr_err("console: audit: %s", call.message);
}

struct redeem_job {
	struct tr_req *req;
	struct tr_console_grant g;
	char proxy[128];
};

static void redeem_done(struct tr_daemon *d, void *arg, json_t *result,
			trellis_call_t *call)
{
	struct redeem_job *j = arg;
	if (!result) {
		int was;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		tr_console_session_end(tr_store_sql(d->store), j->g.session_id,
				       "closed", call->message, "core", &was,
				       &c2);
		tr_req_fail_call(j->req, call);
		free(j);
		return;
	}
	json_t *out = json_deep_copy(result);
	json_object_set_new(out, "session", json_integer(j->g.session_id));
	json_object_set_new(out, "user", json_string(j->g.user));
	json_object_set_new(out, "vm", json_string(j->g.vm_name));
	json_object_set_new(out, "vm_uuid", json_string(j->g.vm_uuid));
	json_object_set_new(out, "mode", json_string(j->g.mode));
	json_object_set_new(out, "kind", json_string(j->g.kind));
	if (j->g.resumes)
		json_object_set_new(out, "resumes", json_integer(j->g.resumes));
	audit_console(d, j->g.user, j->g.vm_name, "console.session", "ok", 0);
	json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s}", "session",
			       (json_int_t)j->g.session_id, "vm", j->g.vm_name,
			       "user", j->g.user, "proxy", j->proxy, "mode",
			       j->g.mode);
	tr_daemon_publish(d, "console.opened", ev);
	json_decref(ev);
	tr_req_ok(j->req, out);
	free(j);
}

static void console_redeem(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	const char *token = json_string_value(json_object_get(args, "token"));
	const char *proxy = json_string_value(json_object_get(args, "proxy"));
	struct redeem_check chk = {d, json_string_value(json_object_get(args, "vm")),
				   NULL};
	struct redeem_job *j = tr_xcalloc(1, sizeof *j);
	j->req = req;
	snprintf(j->proxy, sizeof j->proxy, "%s", proxy);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_console_token_redeem(tr_store_sql(d->store), token, proxy,
				    redeem_check, &chk, &j->g, &call) < 0) {
		/* Refused before anything reached the VM: audited under the
		 * token's user when the token was known. */
		tr_info("console: proxy '%s' was refused a session%s%s: %s",
			  proxy, j->g.vm_name[0] ? " for VM " : "",
			  j->g.vm_name, call.message);
		audit_console(d, j->g.user, j->g.vm_name[0] ? j->g.vm_name : chk.vm,
			      "console.redeem", "denied", call.code);
		json_decref(chk.vm_rec);
		free(j);
		tr_req_fail_call(req, &call);
		return;
	}
	json_t *vm = chk.vm_rec;
	unsigned pw_ms = d->config->console_pw_ms ? d->config->console_pw_ms
						  : 60 * 1000;
	if (pw_ms < 1000)
		pw_ms = 1000;
	json_t *a = json_pack("{s:O, s:s, s:i}", "host", json_object_get(vm, "host"),
			      "uuid", j->g.vm_uuid, "ttl", (int)pw_ms);
	json_decref(vm);
	tr_action_submit(d, "hypervisor.console", a, redeem_done, j);
}

/* ---- close, resume, sessions ---- */

static void console_close(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	int64_t id = json_integer_value(json_object_get(args, "session"));
	const char *reason = json_string_value(json_object_get(args, "reason"));
	const char *by = json_string_value(json_object_get(args, "by"));
	const char *state = json_string_value(json_object_get(args, "state"));
	if (!state)
		state = "closed";
	if (strcmp(state, "closed") != 0 && strcmp(state, "handed-over") != 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "console.close: state '%s' is not closed or "
			    "handed-over",
			    state);
		return;
	}
	struct tr_sql *db = tr_store_sql(d->store);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int was = 0;
	json_t *s = NULL;
	if (tr_console_session_end(db, id, state, reason, by ? by : "proxy",
				   &was, &call) < 0 ||
	    tr_console_session_get(db, id, &s, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	if (was) {
		json_t *ev = json_pack(
		    "{s:I, s:O, s:O, s:O, s:s, s:s, s:s}", "session",
		    (json_int_t)id, "vm", json_object_get(s, "vm"), "user",
		    json_object_get(s, "user"), "proxy",
		    json_object_get(s, "proxy"), "state", state, "reason",
		    reason ? reason : "", "by", by ? by : "proxy");
		tr_daemon_publish(d, "console.closed", ev);
		json_decref(ev);
		tr_info("console: session %lld (VM %s, user %s) %s by %s: %s",
			(long long)id,
			json_string_value(json_object_get(s, "vm")),
			json_string_value(json_object_get(s, "user")), state,
			by ? by : "proxy", reason ? reason : "");
	}
	tr_req_ok(req, s);
}

static void console_resume(struct tr_daemon *d, struct tr_req *req,
			   json_t *args)
{
	int64_t id = json_integer_value(json_object_get(args, "session"));
	const char *proxy = json_string_value(json_object_get(args, "proxy"));
	struct tr_sql *db = tr_store_sql(d->store);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *s = NULL;
	if (tr_console_session_get(db, id, &s, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	const char *state = json_string_value(json_object_get(s, "state"));
	if (strcmp(state, "open") != 0 ||
	    strcmp(json_string_value(json_object_get(s, "proxy")), proxy) != 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "console.resume: session %lld is not open on "
			    "proxy '%s'",
			    (long long)id, proxy);
		json_decref(s);
		return;
	}
	char pname[128], purl[512];
	if (!tr_console_pick_proxy(d, proxy, pname, sizeof pname, purl,
				   sizeof purl)) {
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "console.resume: no other proxy instance is "
			    "active");
		json_decref(s);
		return;
	}
	struct tr_console_grant g = {0};
	snprintf(g.kind, sizeof g.kind, "resume");
	snprintf(g.vm_uuid, sizeof g.vm_uuid, "%s",
		 json_string_value(json_object_get(s, "vm_uuid")));
	snprintf(g.vm_name, sizeof g.vm_name, "%s",
		 json_string_value(json_object_get(s, "vm")));
	snprintf(g.user, sizeof g.user, "%s",
		 json_string_value(json_object_get(s, "user")));
	snprintf(g.mode, sizeof g.mode, "%s",
		 json_string_value(json_object_get(s, "mode")));
	g.resumes = id;
	json_decref(s);
	/* The user's BU for the ticket: the one the session had. */
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "SELECT bu_id FROM console_session WHERE id = ?1",
			   &st) == 0) {
		tr_sql_bind_int64(st, 1, id);
		if (tr_sql_step(st) == TR_SQL_ROW)
			g.bu_id = tr_sql_column_int64(st, 0);
		tr_sql_finalize(st);
	}
	char ticket[TR_CONSOLE_TOKEN_LEN + 1];
	if (tr_console_token_new(db, &g, 60, ticket, &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	/* Always the instance's own URL: a resume must land on it, not
	 * on whichever the load balancer picks (it may be this one). */
	size_t n = strlen(purl);
	while (n && purl[n - 1] == '/')
		n--;
	char url[1024];
	snprintf(url, sizeof url, "%.*s/%s?vm=%s&resume=%s", (int)n, purl,
		 strcmp(g.mode, "stripe") == 0 ? "stripe" : "vnc", g.vm_uuid,
		 ticket);
	tr_info("console: session %lld (VM %s) is handed from '%s' to '%s'",
		(long long)id, g.vm_name, proxy, pname);
	purl[n] = '\0';
	tr_req_ok(req, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "session",
				 (json_int_t)id, "ticket", ticket, "url", url,
				 "base", purl, "proxy", pname, "expires_at",
				 (json_int_t)g.expires_at));
	sodium_memzero(ticket, sizeof ticket);
	sodium_memzero(url, sizeof url);
}

static void console_sessions(struct tr_daemon *d, struct tr_req *req,
			     json_t *args)
{
	const struct tr_ident *who = tr_req_who(req);
	json_t *limit = json_object_get(args, "limit");
	json_t *out = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_console_session_list(
	    tr_store_sql(d->store),
	    json_string_value(json_object_get(args, "proxy")),
	    json_string_value(json_object_get(args, "state")),
	    tr_req_scope(req) ? (who->bu_id ? who->bu_id : -1) : 0,
	    limit ? (unsigned)json_integer_value(limit) : 100, &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

/* ---- proxy instances ---- */

static void proxy_report(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_console_report r = {
	    json_string_value(json_object_get(args, "name")),
	    json_string_value(json_object_get(args, "url")),
	    json_string_value(json_object_get(args, "launcher")),
	    (long)json_integer_value(json_object_get(args, "pid")),
	    (unsigned)json_integer_value(json_object_get(args, "sessions")),
	    (unsigned)json_integer_value(json_object_get(args, "capacity")),
	    (unsigned long)json_integer_value(json_object_get(args, "rss_kib"))};
	if (!r.capacity)
		r.capacity = d->config->console_capacity;
	char state[16];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (json_is_true(json_object_get(args, "gone"))) {
		/* A clean stop: it relays nothing more. */
		if (tr_console_proxy_delete(tr_store_sql(d->store), r.name,
					    &call) < 0) {
			tr_req_fail_call(req, &call);
			return;
		}
		tr_info("console: proxy '%s' stopped", r.name);
		tr_req_ok(req, json_pack("{s:s, s:s}", "name", r.name, "state",
					 "gone"));
		return;
	}
	if (tr_console_proxy_report(tr_store_sql(d->store), &r, state, &call) <
	    0) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_req_ok(req, json_pack("{s:s, s:s, s:i}", "name", r.name, "state",
				 state, "interval_ms", 5000));
}

static void proxy_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	json_t *out = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_console_proxy_list(tr_store_sql(d->store), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void proxy_drain(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_console_proxy_set_state(tr_store_sql(d->store), name, "draining",
				       &call) < 0) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_info("console: proxy '%s' drains", name);
	tr_req_ok(req, json_pack("{s:s, s:s}", "name", name, "state",
				 "draining"));
}

static const struct tr_field open_args[] = {
	{"name", TR_T_STRING, 1, "VM uuid, or name when unique"},
	{"ttl", TR_T_DURATION, 0,
	 "how long the token may be redeemed (default and at most "
	 "console.token_ttl, 10m at most)"},
	{"mode", TR_T_STRING, 0, "ws (noVNC, default) or stripe (image stripes)"},
	TR_FIELDS_END};
static const struct tr_field redeem_args[] = {
	{"token", TR_T_SECRET, 1, "the browser's token or resume ticket"},
	{"proxy", TR_T_STRING, 1, "the redeeming proxy instance"},
	{"vm", TR_T_STRING, 0, "the VM the browser asked for"},
	TR_FIELDS_END};
static const struct tr_field close_args[] = {
	{"session", TR_T_INT, 1, "the session"},
	{"reason", TR_T_STRING, 0, "why it ended"},
	{"by", TR_T_STRING, 0, "browser, vnc, proxy or drain"},
	{"state", TR_T_STRING, 0, "closed (default) or handed-over"},
	TR_FIELDS_END};
static const struct tr_field resume_args[] = {
	{"session", TR_T_INT, 1, "an open session of the proxy"},
	{"proxy", TR_T_STRING, 1, "the proxy handing it over"},
	TR_FIELDS_END};
static const struct tr_field sessions_args[] = {
	{"proxy", TR_T_STRING, 0, "only this instance's"},
	{"state", TR_T_STRING, 0, "open, closed or handed-over"},
	{"limit", TR_T_INT, 0, "at most this many (default 100)"},
	TR_FIELDS_END};
static const struct tr_field report_args[] = {
	{"name", TR_T_STRING, 1, "the instance"},
	{"url", TR_T_STRING, 1, "its base URL for browsers"},
	{"pid", TR_T_INT, 0, "its process"},
	{"sessions", TR_T_INT, 1, "sessions it relays now"},
	{"capacity", TR_T_INT, 0, "sessions it takes"},
	{"rss_kib", TR_T_INT, 0, "its resident memory"},
	{"launcher", TR_T_STRING, 0, "who started it"},
	{"gone", TR_T_BOOL, 0, "it stops: forget it"},
	TR_FIELDS_END};
static const struct tr_field name_args[] = {
	{"name", TR_T_STRING, 1, "the instance"}, TR_FIELDS_END};
static const struct tr_field no_args[] = {TR_FIELDS_END};

#define M TR_OP_MUTATES
static const struct tr_api_op ops[] = {
    {.name = "console.open",
     .description =
	 "mint a single-use console token for a VM; the answer has the URL",
     .args = open_args,
     .handler = console_open,
     .flags = M,
     .perm = TR_PERM_BU},
    {.name = "console.redeem",
     .description =
	 "a proxy redeems a browser's token: a session and the VNC endpoint",
     .args = redeem_args,
     .handler = console_redeem,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "console.close",
     .description = "a proxy reports a session's end",
     .args = close_args,
     .handler = console_close,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "console.resume",
     .description = "a draining proxy gets a resume ticket for a session",
     .args = resume_args,
     .handler = console_resume,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "console.sessions",
     .description = "console sessions, newest first",
     .args = sessions_args,
     .handler = console_sessions,
     .flags = 0,
     .perm = TR_PERM_BU},
    {.name = "consoleproxy.report",
     .description = "a proxy instance's load report",
     .args = report_args,
     .handler = proxy_report,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "consoleproxy.list",
     .description = "console proxy instances and their load",
     .args = no_args,
     .handler = proxy_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "consoleproxy.drain",
     .description =
	 "drain an instance: its sessions move, then the scan retires it",
     .args = name_args,
     .handler = proxy_drain,
     .flags = M,
     .perm = TR_PERM_DC},
};

void tr_api_register_console(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
	tr_api_register_console_scan(api);
}
