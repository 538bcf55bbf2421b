/* SPDX-License-Identifier: Apache-2.0 */
/*
 * door.c - the dashboard's door on the HTTP listener (issue 25;
 * docs/dashboard.md): its files at /, the login, session and logout
 * endpoints, the session cookie of a request and its CSRF check.  What a
 * session may do is decided by the API, as for any caller (session.h).
 */
#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/error.h>

#include "../api/api.h"
#include "../auth/auth.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "files.h"
#include "routes.h"
#include "server_int.h"
#include "session.h"


/* Our own files only; a console's noVNC frame comes from the console
 * proxy, another origin. */
#define CSP                                                                    \
	"default-src 'self'; img-src 'self' data:; style-src 'self' "          \
	"'unsafe-inline'; frame-src https: http:; connect-src 'self'; "        \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static void add_header(struct call *cl, const char *name, const char *val)
{
	char *v;
	if (!cl || cl->nx >= MAX_XH || !(v = tr_xstrdup(val)))
		return;
	cl->xname[cl->nx] = name;
	cl->xval[cl->nx++] = v;
}

void tr_http_door_file(struct tr_http *h, struct conn *c)
{
	if (strcmp(c->method, "GET") != 0) {
		tr_http_respond_error(h, c, 405, "the dashboard's files take GET");
		return;
	}
	if (!h->files) {
		tr_http_respond_error(h, c, 404, h->files_err);
		return;
	}
	const struct tr_http_file *f = tr_http_files_find(h->files, c->path);
	if (!f) {
		tr_http_respond_error(h, c, 404, "no such file in the dashboard");
		return;
	}
	char ae[256];
	int gz = f->gz &&
		 lws_hdr_copy(c->wsi, ae, sizeof ae,
			      WSI_TOKEN_HTTP_ACCEPT_ENCODING) > 0 &&
		 strstr(ae, "gzip");
	tr_http_respond(h, c, 200, (const char *)(gz ? f->gz : f->data),
		gz ? f->gzlen : f->len);
	struct call *cl = c->call;
	if (!cl)
		return;
	cl->ctype = f->ctype;
	if (gz)
		add_header(cl, "content-encoding:", "gzip");
	add_header(cl, "vary:", "Accept-Encoding");
	add_header(cl, "cache-control:",
		   f->immutable ? "public, max-age=31536000, immutable"
				: "no-cache");
	add_header(cl, "content-security-policy:", CSP);
	add_header(cl, "x-content-type-options:", "nosniff");
	add_header(cl, "referrer-policy:", "no-referrer");
}

void tr_http_door_cookie(struct conn *c)
{
	char v[2048];
	c->cookie[0] = '\0';
	int n = lws_hdr_copy(c->wsi, v, sizeof v, WSI_TOKEN_HTTP_COOKIE);
	if (n > 0 && tr_http_cookie_get(v, (size_t)n, TR_SESSION_COOKIE,
					c->cookie, sizeof c->cookie) < 0)
		c->cookie[0] = '\0';
}

/* A browser's Origin, when it sends one, must be this listener's. */
static int same_origin(struct tr_http *h, struct conn *c)
{
	char o[300], host[256], want[300];
	if (lws_hdr_copy(c->wsi, o, sizeof o, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(c->wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
		return 0;
	snprintf(want, sizeof want, "http%s://%s", h->tls ? "s" : "", host);
	return strcmp(o, want) == 0;
}

static int csrf_ok(struct tr_http *h, struct conn *c,
		   const struct tr_http_session *s)
{
	char t[80];
	int n = lws_hdr_custom_copy(c->wsi, t, sizeof t, "x-csrf-token:", 13);
	return n > 0 && same_origin(h, c) && tr_http_session_csrf_ok(s, t);
}

static int mutating(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* The session's answer ({user, role, bu, scope, csrf, expires}); with
 * cookie, the Set-Cookie that opens it. */
static void answer_session(struct tr_http *h, struct conn *c,
			   const struct tr_http_session *s, const char *cookie)
{
	json_t *r = json_pack(
	    "{s:s, s:s, s:o, s:s, s:s, s:I, s:s}", "user", s->who, "role",
	    s->role, "bu", s->bu[0] ? json_string(s->bu) : json_null(),
	    "scope", s->scoped ? "bu" : "global", "csrf", s->csrf, "expires",
	    (json_int_t)s->expires, "login", s->token ? "key" : "password");
	json_t *env = r ? json_pack("{s:b, s:o}", "ok", 1, "result", r) : NULL;
	char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	if (!text) {
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	tr_http_respond(h, c, 200, text, strlen(text));
	free(text);
	add_header(c->call, "cache-control:", "no-store");
	if (cookie) {
		char v[256];
		snprintf(v, sizeof v,
			 TR_SESSION_COOKIE "=%s; Path=/; Max-Age=%u; HttpOnly; "
					   "Secure; SameSite=Strict",
			 cookie, tr_http_sessions_ttl(h->sessions));
		add_header(c->call, "set-cookie:", v);
	}
}

static void do_login(struct tr_http *h, struct conn *c)
{
	struct tr_http_login l;
	char err[512], cookie[TR_SESSION_ID_LEN + 1];
	int parsed = tr_http_login_parse(c->body, c->blen, &l, err, sizeof err);
	if (c->body)
		sodium_memzero(c->body, c->blen);
	if (parsed < 0) {
		tr_http_respond_error(h, c, 400, err);
		return;
	}
	int bykey = l.key[0] != '\0';
	const char *who = bykey ? "" : l.user;
	long long now = (long long)time(NULL);
	unsigned wait = tr_http_login_wait(h->sessions, who, now);
	if (wait) {
		tr_http_login_wipe(&l);
		char msg[200];
		snprintf(msg, sizeof msg,
			 "too many failed logins%s: try again in %u s",
			 bykey ? " with API keys" : " for this user", wait);
		tr_http_respond_error(h, c, 429, msg);
		return;
	}
	struct tr_ident id;
	h->last_read_ns = tr_metric_now_ns();
	int rc = tr_api_login(h->api, bykey ? NULL : l.user, l.password,
			      bykey ? l.key : NULL, &id, err, sizeof err);
	if (rc == TRELLIS_E_PERMISSION)
		tr_http_login_failed(h->sessions, who, now);
	else if (rc == 0)
		tr_http_login_ok(h->sessions, who);
	struct tr_http_session *s =
	    rc ? NULL
	       : tr_http_session_open(h->sessions, &id, bykey ? l.key : NULL,
				      (long long)time(NULL), cookie);
	tr_http_login_wipe(&l);
	if (rc) {
		tr_info("http %s: a dashboard login was refused", h->origin);
		tr_http_respond_error(h, c, rc == TRELLIS_E_PERMISSION
					? 401
					: tr_http_status(rc),
			      err);
		return;
	}
	if (!s) {
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	tr_info("http %s: dashboard login of '%s' (%s)", h->origin, id.user,
		bykey ? "API key" : "password");
	answer_session(h, c, s, cookie);
	sodium_memzero(cookie, sizeof cookie);
}

/* /api/v1/auth/{login,session,logout}. */
void tr_http_door_auth(struct tr_http *h, struct conn *c)
{
	const char *what = c->path + strlen(TR_HTTP_PREFIX "/auth/");
	int get = strcmp(c->method, "GET") == 0;
	if (strcmp(what, "login") == 0) {
		if (get)
			tr_http_respond_error(h, c, 405, "login takes POST");
		else if (!same_origin(h, c))
			tr_http_respond_error(h, c, 403, "login from another origin");
		else
			do_login(h, c);
		return;
	}
	struct tr_http_session *s =
	    c->cookie[0] ? tr_http_session_find(h->sessions, c->cookie,
						(long long)time(NULL))
			 : NULL;
	if (strcmp(what, "session") == 0) {
		if (!get)
			tr_http_respond_error(h, c, 405, "session takes GET");
		else if (!s)
			tr_http_respond_error(h, c, 401, "not logged in");
		else
			answer_session(h, c, s, NULL);
		return;
	}
	if (strcmp(what, "logout") == 0) {
		if (get) {
			tr_http_respond_error(h, c, 405, "logout takes POST");
			return;
		}
		if (s && !csrf_ok(h, c, s)) {
			tr_http_respond_error(h, c, 403, "missing or wrong CSRF token "
						 "(header X-CSRF-Token)");
			return;
		}
		if (s) {
			tr_info("http %s: dashboard logout of '%s'", h->origin,
				s->who);
			tr_http_session_close(h->sessions, s);
		}
		tr_http_respond(h, c, 200, "{\"ok\":true,\"result\":null}", 25);
		add_header(c->call, "set-cookie:",
			   TR_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
					     "Secure; SameSite=Strict");
		return;
	}
	tr_http_respond_error(h, c, 404, "unknown path (auth/login, auth/session, "
				 "auth/logout)");
}

int tr_http_door_is_auth(const char *p)
{
	return strncmp(p, TR_HTTP_PREFIX "/auth/",
		       sizeof(TR_HTTP_PREFIX "/auth/") - 1) == 0;
}

/* An API request with the session cookie and no Authorization: it runs
 * as the session's caller, once the CSRF token is checked.  0, or -1
 * when refused (answered). */
int tr_http_door_caller(struct tr_http *h, struct conn *c)
{
	struct tr_http_session *s =
	    tr_http_session_find(h->sessions, c->cookie, (long long)time(NULL));
	if (!s) {
		tr_http_respond_error(h, c, 401,
			      "the dashboard session has ended (expired or "
			      "logged out): log in again");
		return -1;
	}
	if (mutating(c->method) && !csrf_ok(h, c, s)) {
		tr_http_respond_error(h, c, 403,
			      "missing or wrong CSRF token (header "
			      "X-CSRF-Token), or a request from another origin");
		return -1;
	}
	if (s->token)
		snprintf(c->token, sizeof c->token, "%s", s->token);
	else
		snprintf(c->user, sizeof c->user, "%s", s->user);
	return 0;
}
