/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the HTTP listener (http.h): libwebsockets' service thread,
 * requests, answers from other threads, the event stream (SSE).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <trellis/error.h>

#include "../api/api.h"
#include "../auth/auth.h"
#include "../events/events.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "files.h"
#include "http.h"
#include "routes.h"
#include "server_int.h"
#include "session.h"

static _Thread_local int on_service_thread;

static const struct tr_metric m_http = {
	"trellis_http_responses_total", "HTTP responses by status",
	TR_METRIC_COUNTER, {"status", NULL}};

/* ---- answers ---- */

static struct call *call_new(struct tr_http *h, struct lws *wsi, size_t len)
{
	struct call *cl = tr_xcalloc(1, sizeof *cl);
	if (!cl)
		return NULL;
	cl->buf = tr_xmalloc(LWS_PRE + HDR_ROOM + len + 1);
	if (!cl->buf) {
		free(cl);
		return NULL;
	}
	cl->h = h;
	cl->wsi = wsi;
	cl->len = len;
	return cl;
}

static void call_free(struct call *cl)
{
	if (!cl)
		return;
	for (int i = 0; i < cl->nx; i++)
		free(cl->xval[i]);
	free(cl->buf);
	free(cl);
}

static unsigned char *call_body(struct call *cl)
{
	return cl->buf + LWS_PRE + HDR_ROOM;
}

/* The API's answer, on whichever thread made it. */
static void on_answer(void *ctx, const struct tr_api_answer *a)
{
	struct call *cl = ctx;
	struct tr_http *h = cl->h;
	unsigned char *nb = tr_xrealloc(cl->buf, LWS_PRE + HDR_ROOM + a->len + 1);
	int status = a->key_refused ? 401 : tr_http_status(a->code);
	if (nb) {
		cl->buf = nb;
		size_t off = 0;
		for (const char *const *p = a->parts; *p; p++) {
			size_t n = strlen(*p);
			memcpy(call_body(cl) + off, *p, n);
			off += n;
		}
		cl->len = off;
	} else {
		/* Nothing fits: the status alone, with an empty body. */
		cl->len = 0;
		status = 503;
	}
	cl->status = status;
	cl->code = a->code;
	if (on_service_thread) {
		cl->done = 1;
		if (cl->wsi)
			lws_callback_on_writable(cl->wsi);
		else
			call_free(cl);
		return;
	}
	pthread_mutex_lock(&h->lock);
	cl->done = 1;
	if (!cl->wsi) {
		pthread_mutex_unlock(&h->lock);
		call_free(cl);
		return;
	}
	cl->queued = 1;
	cl->next = h->done;
	h->done = cl;
	int stopped = h->stopped;
	pthread_mutex_unlock(&h->lock);
	if (!stopped)
		lws_cancel_service(h->ctx);
}

/* The connection closed: its answer, if any, is orphaned or freed. */
static void conn_closed(struct tr_http *h, struct conn *c)
{
	if (c->call) {
		struct call *cl = c->call;
		c->call = NULL;
		pthread_mutex_lock(&h->lock);
		cl->wsi = NULL;
		int mine = cl->done && !cl->queued;
		pthread_mutex_unlock(&h->lock);
		if (mine)
			call_free(cl);
	}
	if (c->sse) {
		for (struct conn **p = &h->streams; *p; p = &(*p)->sse_next)
			if (*p == c) {
				*p = c->sse_next;
				break;
			}
		c->sse = 0;
	}
	free(c->body);
	c->body = NULL;
	free(c->ebuf);
	c->ebuf = NULL;
}

static const char *code_for_status(int st)
{
	switch (st) {
	case 401:
		return "PERMISSION";
	case 403:
		return "PERMISSION";
	case 404:
		return "NOTFOUND";
	case 405:
	case 501:
		return "NOTSUP";
	case 429:
		return "BUSY";
	case 503:
		return "UNAVAILABLE";
	default:
		return st >= 500 ? "INTERNAL" : "INVALID_ARG";
	}
}

/* An answer made here (not by an op): status, content type, body. */
void tr_http_respond(struct tr_http *h, struct conn *c, int status,
		    const char *body, size_t len)
{
	struct call *cl = call_new(h, c->wsi, len);
	if (!cl) {
		c->close_after = 1;
		lws_callback_on_writable(c->wsi);
		return;
	}
	memcpy(call_body(cl), body, len);
	cl->status = status;
	cl->done = 1;
	c->call = cl;
	lws_callback_on_writable(c->wsi);
}

void tr_http_respond_error(struct tr_http *h, struct conn *c, int status,
			  const char *msg)
{
	json_t *j = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
			      code_for_status(status), "message", msg);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		tr_http_respond(h, c, 503, "", 0);
		return;
	}
	tr_http_respond(h, c, status, text, strlen(text));
	free(text);
}

static const char *content_type_of(const struct conn *c, const struct call *cl)
{
	if (cl->ctype)
		return cl->ctype;
	if (strcmp(c->path, "/metrics") == 0 && cl->status == 200)
		return "text/plain; version=0.0.4; charset=utf-8";
	return "application/json";
}

/* Writes a finished answer: the headers go right before the body, so it
 * leaves in one write.  0, or -1 to close the connection. */
static int write_call(struct tr_http *h, struct conn *c)
{
	(void)h;
	struct call *cl = c->call;
	unsigned char hdr[HDR_ROOM], *p = hdr, *end = hdr + sizeof hdr;
	char num[32];
	const char *ct = content_type_of(c, cl);
	if (lws_add_http_header_status(c->wsi, (unsigned)cl->status, &p, end) ||
	    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)ct,
					 (int)strlen(ct), &p, end))
		return -1;
	snprintf(num, sizeof num, "%zu", cl->len);
	if (lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
					 (const unsigned char *)num,
					 (int)strlen(num), &p, end))
		return -1;
	if (cl->status == 401 &&
	    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
					 (const unsigned char *)"Bearer", 6,
					 &p, end))
		return -1;
	if (cl->status == 429 &&
	    lws_add_http_header_by_name(c->wsi,
					(const unsigned char *)"retry-after:",
					(const unsigned char *)"1", 1, &p, end))
		return -1;
	for (int i = 0; i < cl->nx; i++)
		if (lws_add_http_header_by_name(
			c->wsi, (const unsigned char *)cl->xname[i],
			(const unsigned char *)cl->xval[i],
			(int)strlen(cl->xval[i]), &p, end))
			return -1;
	if (c->close_after &&
	    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)"close", 5, &p,
					 end))
		return -1;
	if (lws_finalize_http_header(c->wsi, &p, end))
		return -1;
	size_t hl = (size_t)(p - hdr);
	unsigned char *start = call_body(cl) - hl;
	memcpy(start, hdr, hl);
	snprintf(num, sizeof num, "%d", cl->status);
	const char *v[] = {num};
	tr_metric_add(&m_http, v, 1);
	int n = lws_write(c->wsi, start, hl + cl->len, LWS_WRITE_HTTP_FINAL);
	call_free(cl);
	c->call = NULL;
	free(c->body);
	c->body = NULL;
	c->blen = c->bcap = 0;
	if (n < 0 || c->close_after)
		return -1;
	return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* ---- requests ---- */

static const struct tr_field *fields_of(void *arg, const char *op)
{
	const struct tr_api_op *o = tr_api_find(arg, op);
	return o ? o->args : NULL;
}

static void run_api(struct tr_http *h, struct conn *c)
{
	char op[128], err[1024];
	json_t *args;
	struct tr_http_query q = {c->qk, c->qv, c->nq};
	int st = tr_http_route_resolve(c->method, c->path, &q, c->body,
				       c->blen, fields_of, h->api, op,
				       sizeof op, &args, err, sizeof err);
	if (st) {
		tr_http_respond_error(h, c, st, err);
		return;
	}
	struct call *cl = call_new(h, c->wsi, 0);
	if (!cl) {
		json_decref(args);
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	c->call = cl;
	h->last_read_ns = tr_metric_now_ns();
	struct tr_api_call ac = {op, args, c->token[0] ? c->token : NULL, 1,
				 h->origin, on_answer, cl,
				 c->user[0] ? c->user : NULL};
	tr_api_call(h->api, &ac);
}

static int authorized(struct tr_http *h, struct conn *c)
{
	char name[72];
	return c->token[0] &&
	       tr_api_key_valid(h->api, c->token, name, sizeof name) > 0;
}

static void deny(struct tr_http *h, struct conn *c)
{
	tr_http_respond_error(h, c, 401,
		      c->token[0] ? "unknown or expired API key"
				  : "this needs an API key (header "
				    "'Authorization: Bearer TOKEN')");
}

static void serve_metrics(struct tr_http *h, struct conn *c)
{
	int need = h->cfg.metrics_auth < 0 ? !h->loopback : h->cfg.metrics_auth;
	if (need && !authorized(h, c)) {
		deny(h, c);
		return;
	}
	if (!h->mstore && h->d && h->d->store_path) {
		char err[512];
		h->mstore = tr_store_open(h->d->store_path, TR_STORE_READONLY,
					  err, sizeof err);
		if (!h->mstore)
			tr_warn("http: /metrics without the store: %s", err);
	}
	size_t len;
	char *text = tr_http_metrics_render(h->mstore, LWS_PRE + HDR_ROOM, &len);
	if (!text) {
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	struct call *cl = tr_xcalloc(1, sizeof *cl);
	if (!cl) {
		free(text);
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	cl->h = h;
	cl->wsi = c->wsi;
	cl->buf = (unsigned char *)text;
	cl->len = len;
	cl->status = 200;
	cl->done = 1;
	c->call = cl;
	lws_callback_on_writable(c->wsi);
}

/* ---- the event stream ---- */

static void tap(void *arg, const char *msg, size_t len, size_t tl)
{
	struct tr_http *h = arg;
	const char *json = msg + tl + 1;
	size_t jl = len - tl - 1;
	pthread_mutex_lock(&h->lock);
	unsigned long long seq = h->head;
	struct ev_slot *s = &h->ring[seq % RING];
	size_t cap = jl + tl + 64;
	char *text = tr_xmalloc(cap);
	if (!text) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	int n = snprintf(text, cap, "id: %llu\nevent: %.*s\ndata: ", seq + 1,
			 (int)tl, msg);
	memcpy(text + n, json, jl);
	memcpy(text + n + jl, "\n\n", 2);
	free(s->text);
	s->text = text;
	s->len = (size_t)n + jl + 2;
	s->seq = seq;
	snprintf(s->topic, sizeof s->topic, "%.*s", (int)tl, msg);
	h->head = seq + 1;
	int stopped = h->stopped;
	pthread_mutex_unlock(&h->lock);
	if (!stopped)
		lws_cancel_service(h->ctx);
}

static int topic_wanted(const struct conn *c, const char *topic)
{
	if (!c->topics[0])
		return 1;
	const char *p = c->topics;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n && strncmp(topic, p, n) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void start_stream(struct tr_http *h, struct conn *c)
{
	struct tr_http_session *sess =
	    !c->has_auth && c->cookie[0]
		? tr_http_session_find(h->sessions, c->cookie,
				       (long long)time(NULL))
		: NULL;
	if (!sess && !authorized(h, c)) {
		deny(h, c);
		return;
	}
	if (!sess)
		c->cookie[0] = '\0';
	/* A BU's user learns that something changed, not what: the page
	 * asks the API again, which shows only the BU's objects. */
	c->sse_scoped = sess && sess->scoped;
	for (size_t i = 0; i < c->nq; i++) {
		if (strcmp(c->qk[i], "topic") != 0) {
			char msg[256];
			snprintf(msg, sizeof msg,
				 "unknown query parameter '%.64s' (topic)",
				 c->qk[i]);
			tr_http_respond_error(h, c, 400, msg);
			return;
		}
		size_t n = strlen(c->topics);
		snprintf(c->topics + n, sizeof c->topics - n, "%s%s",
			 n ? "," : "", c->qv[i]);
	}
	unsigned char hdr[LWS_PRE + HDR_ROOM], *start = hdr + LWS_PRE,
					       *p = start,
					       *end = hdr + sizeof hdr;
	if (lws_add_http_common_headers(c->wsi, HTTP_STATUS_OK,
					"text/event-stream",
					LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
	    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)"no-cache", 8,
					 &p, end) ||
	    lws_finalize_write_http_header(c->wsi, start, &p, end)) {
		c->close_after = 1;
		return;
	}
	c->sse = 1;
	char last[32];
	pthread_mutex_lock(&h->lock);
	c->next = h->head;
	if (lws_hdr_custom_copy(c->wsi, last, sizeof last, "last-event-id:",
				14) > 0) {
		unsigned long long id = strtoull(last, NULL, 10);
		/* Ids are seq + 1: resume after it while the ring has it. */
		if (id <= h->head && id + RING >= h->head)
			c->next = id;
	}
	pthread_mutex_unlock(&h->lock);
	c->sse_next = h->streams;
	h->streams = c;
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	lws_callback_on_writable(c->wsi);
}

/* One event (the next wanted one) per writable callback.  0 or -1. */
static int write_stream(struct tr_http *h, struct conn *c)
{
	size_t len = 0;
	int more = 0;
	/* A session's stream ends with the session (logout, expiry). */
	if (c->cookie[0] &&
	    !tr_http_session_peek(h->sessions, c->cookie, (long long)time(NULL)))
		return -1;
	pthread_mutex_lock(&h->lock);
	if (h->head > RING && c->next < h->head - RING)
		c->next = h->head - RING; /* a slow reader loses events */
	while (c->next < h->head) {
		struct ev_slot *s = &h->ring[c->next % RING];
		c->next++;
		if (!topic_wanted(c, s->topic))
			continue;
		size_t need = LWS_PRE + (s->len > 300 ? s->len : 300);
		if (c->ecap < need) {
			unsigned char *nb = tr_xrealloc(c->ebuf, need);
			if (!nb)
				break;
			c->ebuf = nb;
			c->ecap = need;
		}
		if (c->sse_scoped) {
			char t[300];
			int n = snprintf(t, sizeof t,
					 "id: %llu\nevent: %s\ndata: "
					 "{\"topic\":\"%s\"}\n\n",
					 s->seq + 1, s->topic, s->topic);
			memcpy(c->ebuf + LWS_PRE, t, (size_t)n);
			len = (size_t)n;
			break;
		}
		memcpy(c->ebuf + LWS_PRE, s->text, s->len);
		len = s->len;
		break;
	}
	more = c->next < h->head;
	pthread_mutex_unlock(&h->lock);
	if (len && lws_write(c->wsi, c->ebuf + LWS_PRE, len, LWS_WRITE_HTTP) < 0)
		return -1;
	if (more)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* ---- the request's parts ---- */

static const char *method_of(struct lws *wsi)
{
	static const struct {
		enum lws_token_indexes t;
		const char *m;
	} ms[] = {
		{WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
		{WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_PUT_URI, "PUT"},
		{WSI_TOKEN_PATCH_URI, "PATCH"},   {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
		{WSI_TOKEN_HEAD_URI, "HEAD"},
	};
	for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
		if (lws_hdr_total_length(wsi, ms[i].t))
			return ms[i].m;
	return "?";
}

static void read_query(struct conn *c)
{
	size_t off = 0;
	c->nq = 0;
	for (int i = 0; c->nq < MAX_QUERY; i++) {
		char *frag = c->qbuf + off;
		int n = lws_hdr_copy_fragment(c->wsi, frag,
					      (int)(sizeof c->qbuf - off),
					      WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
			break;
		off += (size_t)n + 1;
		char *eq = strchr(frag, '=');
		if (eq)
			*eq = '\0';
		c->qk[c->nq] = frag;
		c->qv[c->nq] = eq ? eq + 1 : "";
		c->nq++;
		if (off >= sizeof c->qbuf - 1)
			break;
	}
}

static void read_auth(struct conn *c)
{
	char v[sizeof c->token + 16];
	c->token[0] = '\0';
	c->has_auth = c->bad_auth = 0;
	int n = lws_hdr_copy(c->wsi, v, sizeof v, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n <= 0)
		return;
	c->has_auth = 1;
	if (n > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
		const char *t = v + 7;
		while (*t == ' ')
			t++;
		size_t tl = strlen(t);
		if (tl >= sizeof c->token) /* no key is that long */
			tl = sizeof c->token - 1;
		memcpy(c->token, t, tl);
		c->token[tl] = '\0';
	} else {
		c->bad_auth = 1;
	}
}

static int token_in_url(const struct conn *c)
{
	static const char *const names[] = {"auth", "token", "api_key",
					    "apikey", "access_token", "key"};
	for (size_t i = 0; i < c->nq; i++)
		for (size_t j = 0; j < sizeof names / sizeof *names; j++)
			if (strcasecmp(c->qk[i], names[j]) == 0)
				return 1;
	return 0;
}

static int json_content_type(struct lws *wsi)
{
	char ct[128];
	if (lws_hdr_copy(wsi, ct, sizeof ct, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
		return 0;
	size_t n = strcspn(ct, ";");
	while (n && ct[n - 1] == ' ')
		n--;
	return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* A request whose body (if any) is in. */
static void finish(struct tr_http *h, struct conn *c)
{
	if (tr_http_door_is_auth(c->path))
		tr_http_door_auth(h, c);
	else
		run_api(h, c);
}

/* A new request's headers are in: answers, or waits for its body. */
static int on_request(struct tr_http *h, struct conn *c, const char *path)
{
	c->close_after = 0;
	free(c->body);
	c->body = NULL;
	c->blen = c->bcap = c->expect = 0;
	snprintf(c->method, sizeof c->method, "%s", method_of(c->wsi));
	snprintf(c->path, sizeof c->path, "%s", path);
	read_query(c);
	read_auth(c);
	c->user[0] = '\0';
	c->cookie[0] = '\0';
	if (!c->has_auth)
		tr_http_door_cookie(c);
	if (c->bad_auth) {
		tr_http_respond_error(h, c, 401,
			      "the Authorization header must be 'Bearer "
			      "TOKEN'");
		return 0;
	}
	if (token_in_url(c)) {
		tr_http_respond_error(h, c, 400,
			      "API keys go in the Authorization header "
			      "('Authorization: Bearer TOKEN'), never in a URL");
		return 0;
	}
	int get = strcmp(c->method, "GET") == 0;
	if (strcmp(path, "/metrics") != 0 && strncmp(path, "/api/", 5) != 0 &&
	    strcmp(path, "/api") != 0) {
		tr_http_door_file(h, c);
		return 0;
	}
	if (c->cookie[0] && !tr_http_door_is_auth(path) &&
	    strcmp(path, TR_HTTP_PREFIX "/events") != 0 &&
	    strcmp(path, "/metrics") != 0 && tr_http_door_caller(h, c) < 0)
		return 0;
	if (strcmp(path, "/metrics") == 0) {
		if (!get)
			tr_http_respond_error(h, c, 405, "/metrics takes GET");
		else
			serve_metrics(h, c);
		return 0;
	}
	if (strcmp(path, TR_HTTP_PREFIX "/openapi.json") == 0) {
		const char *doc = h->cfg.openapi;
		if (!get)
			tr_http_respond_error(h, c, 405, "openapi.json takes GET");
		else if (!doc)
			tr_http_respond_error(h, c, 404, "this trellisd was built "
						 "without its OpenAPI document");
		else
			tr_http_respond(h, c, 200, doc, strlen(doc));
		return 0;
	}
	if (strcmp(path, TR_HTTP_PREFIX "/events") == 0) {
		if (!get)
			tr_http_respond_error(h, c, 405, "the event stream takes GET");
		else
			start_stream(h, c);
		return 0;
	}
	/* A body follows when there is a Content-Length (a GET's or a
	 * DELETE's too: the route then refuses it, rather than ignore what
	 * may hold what the caller meant). */
	char cl[32];
	if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
		c->close_after = 1;
		tr_http_respond_error(h, c, 411,
			      "a request body needs a Content-Length "
			      "(chunked bodies are not taken)");
		return 0;
	}
	if (lws_hdr_copy(c->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <=
	    0) {
		finish(h, c);
		return 0;
	}
	char *end;
	unsigned long long want = strtoull(cl, &end, 10);
	if (*end || cl[0] == '-') {
		c->close_after = 1;
		tr_http_respond_error(h, c, 400, "Content-Length is not a number");
		return 0;
	}
	if (want > h->cfg.max_body) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "request body of %llu bytes exceeds the limit of %zu "
			 "bytes (http.max_body)",
			 want, h->cfg.max_body);
		c->close_after = 1;
		tr_http_respond_error(h, c, 413, msg);
		return 0;
	}
	if (want && !json_content_type(c->wsi)) {
		c->close_after = 1;
		tr_http_respond_error(h, c, 415,
			      "the body must be JSON (Content-Type: "
			      "application/json)");
		return 0;
	}
	if (want == 0) {
		finish(h, c);
		return 0;
	}
	c->expect = (size_t)want;
	c->body = tr_xmalloc(c->expect + 1);
	if (!c->body) {
		c->close_after = 1;
		tr_http_respond_error(h, c, 503, "out of memory");
		return 0;
	}
	c->bcap = c->expect;
	/* The whole body within http.timeout, however slowly it comes. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
			(int)((h->cfg.timeout_ms + 999) / 1000));
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct conn *c = user;
	struct tr_http *h = lws_context_user(lws_get_context(wsi));
	/* Before a request binds the connection to the protocol (a client
	 * that closes while its headers come), there is no conn. */
	if (!c && reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED)
		return lws_callback_http_dummy(wsi, reason, user, in, len);

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		c->wsi = wsi;
		if (c->call) /* pipelined before the last answer left */
			return -1;
		return on_request(h, c, in ? (const char *)in : "/");
	case LWS_CALLBACK_HTTP_BODY:
		if (!c->body && c->call)
			return 0; /* refused already: the answer, then close */
		if (!c->body || c->blen + len > c->bcap) {
			/* More than Content-Length said: the connection
			 * cannot be trusted. */
			return -1;
		}
		memcpy(c->body + c->blen, in, len);
		c->blen += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		if (!c->body || c->call)
			return 0;
		if (c->blen != c->expect) {
			c->close_after = 1;
			tr_http_respond_error(h, c, 400, "the body ended early");
			return 0;
		}
		finish(h, c);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (c->sse)
			return write_stream(h, c);
		if (c->call && c->call->done)
			return write_call(h, c);
		if (c->close_after && !c->call)
			return -1;
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		conn_closed(h, c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		pthread_mutex_lock(&h->lock);
		struct call *list = h->done;
		h->done = NULL;
		for (struct call *x = list; x; x = x->next)
			x->queued = 0;
		unsigned long long head = h->head;
		pthread_mutex_unlock(&h->lock);
		while (list) {
			struct call *next = list->next;
			if (!list->wsi)
				call_free(list);
			else
				lws_callback_on_writable(list->wsi);
			list = next;
		}
		for (struct conn *s = h->streams; s; s = s->sse_next)
			if (s->next < head)
				lws_callback_on_writable(s->wsi);
		return 0;
	}
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"http", callback, sizeof(struct conn), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the thread ---- */

static void tick(lws_sorted_usec_list_t *sul)
{
	struct tr_http *h = lws_container_of(sul, struct tr_http, tick);
	if (tr_metric_now_ns() - h->last_read_ns > IDLE_MS * 1000000ll)
		tr_api_thread_idle();
	lws_sul_schedule(h->ctx, 0, &h->tick, tick, IDLE_MS * LWS_US_PER_MS);
}

static void *service(void *arg)
{
	struct tr_http *h = arg;
	on_service_thread = 1;
	tr_api_thread_attach(h->api);
	lws_sul_schedule(h->ctx, 0, &h->tick, tick, IDLE_MS * LWS_US_PER_MS);
	while (!h->stop)
		if (lws_service(h->ctx, 0) < 0)
			break;
	tr_api_thread_detach();
	return NULL;
}

static void lws_log(int level, const char *line)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", line);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		tr_warn("http: libwebsockets: %s", buf);
	else
		tr_debug("http: libwebsockets: %s", buf);
}

int tr_http_is_loopback(const char *hp)
{
	char host[256];
	const char *colon = strrchr(hp, ':');
	size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
	if (n && hp[0] == '[' && hp[n - 1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)n - 2, hp + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)n, hp);
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 1;
	struct in_addr a;
	return inet_pton(AF_INET, host, &a) == 1 &&
	       (ntohl(a.s_addr) >> 24) == 127;
}

struct tr_http *tr_http_start(struct tr_daemon *d, struct tr_api *api,
			      struct tr_events *ev,
			      const struct tr_http_config *cfg, char *err,
			      size_t errlen)
{
	struct tr_http *h = tr_xcalloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->d = d;
	h->api = api;
	h->ev = ev;
	h->cfg = *cfg;
	if (!h->cfg.max_body)
		h->cfg.max_body = 1 << 20;
	if (!h->cfg.timeout_ms)
		h->cfg.timeout_ms = 10000;
	pthread_mutex_init(&h->lock, NULL);
	h->sessions = tr_http_sessions_new(cfg->session_ttl_s,
					   cfg->session_idle_s);
	if (!h->sessions) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->dashboard) {
		h->files = tr_http_files_load(cfg->dashboard, h->files_err,
					      sizeof h->files_err);
		if (!h->files)
			tr_warn("http: no dashboard: %s", h->files_err);
		else
			tr_info("http: the dashboard from %s (%zu files)",
				cfg->dashboard, tr_http_files_count(h->files));
	} else {
		snprintf(h->files_err, sizeof h->files_err,
			 "this trellisd has no dashboard (http.dashboard; "
			 "share/trellis/dashboard beside it)");
	}
	h->loopback = tr_http_is_loopback(cfg->listen);
	h->tls = cfg->tls < 0 ? !h->loopback : cfg->tls;
	snprintf(h->origin, sizeof h->origin, "http%s://%s", h->tls ? "s" : "",
		 cfg->listen);
	if (h->tls && (!cfg->cert || !cfg->key)) {
		snprintf(err, errlen,
			 "http.listen %s: TLS needs http.cert and http.key "
			 "(PEM files)%s",
			 cfg->listen,
			 h->loopback ? "" : "; plain HTTP is only for loopback "
					    "addresses, or with http.tls: false");
		goto fail;
	}
	char host[256];
	const char *colon = strrchr(cfg->listen, ':');
	size_t n = (size_t)(colon - cfg->listen);
	if (n && cfg->listen[0] == '[')
		snprintf(host, sizeof host, "%.*s", (int)n - 2, cfg->listen + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)n, cfg->listen);

	lws_set_log_level(LLL_ERR, lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = atoi(colon + 1);
	info.iface = (strcmp(host, "0.0.0.0") == 0 || !host[0]) ? NULL : host;
	if (strchr(host, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.protocols = protocols;
	info.user = h;
	info.vhost_name = "trellisd";
	info.timeout_secs = (cfg->timeout_ms + 999) / 1000;
	info.keepalive_timeout = (int)info.timeout_secs;
	/* Headers that never end (slowloris) lose the connection then. */
	info.timeout_secs_ah_idle = info.timeout_secs;
	info.max_http_header_data = 4096;
	info.alpn = "http/1.1";
	if (h->tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->cert;
		info.ssl_private_key_filepath = cfg->key;
	}
	h->ctx = lws_create_context(&info);
	if (!h->ctx) {
		snprintf(err, errlen,
			 "http.listen %s: cannot listen (address in use, or a "
			 "bad certificate or key%s)",
			 cfg->listen, h->tls ? "" : ": none used");
		goto fail;
	}
	h->vh = lws_get_vhost_by_name(h->ctx, "trellisd");
	h->port = h->vh ? lws_get_vhost_listen_port(h->vh) : info.port;
	if (h->port <= 0) {
		snprintf(err, errlen, "http.listen %s: cannot listen",
			 cfg->listen);
		goto fail;
	}
	if (ev)
		tr_events_set_tap(ev, tap, h);
	if (pthread_create(&h->thread, NULL, service, h) != 0) {
		snprintf(err, errlen, "http: cannot start a thread");
		goto fail;
	}
	pthread_setname_np(h->thread, "trellisd-http");
	h->started = 1;
	tr_info("http %s: listening (port %d%s)", h->origin, h->port,
		h->loopback ? ", loopback" : "");
	return h;
fail:
	tr_http_free(h);
	return NULL;
}

void tr_http_stop(struct tr_http *h)
{
	if (!h)
		return;
	if (h->ev)
		tr_events_set_tap(h->ev, NULL, NULL);
	h->ev = NULL;
	if (h->started) {
		h->stop = 1;
		lws_cancel_service(h->ctx);
		pthread_join(h->thread, NULL);
		h->started = 0;
	}
	pthread_mutex_lock(&h->lock);
	h->stopped = 1;
	pthread_mutex_unlock(&h->lock);
}

void tr_http_free(struct tr_http *h)
{
	if (!h)
		return;
	tr_http_stop(h);
	if (h->ctx)
		lws_context_destroy(h->ctx); /* orphans the calls in flight */
	h->ctx = NULL;
	pthread_mutex_lock(&h->lock);
	struct call *list = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->lock);
	while (list) {
		struct call *next = list->next;
		call_free(list);
		list = next;
	}
	for (size_t i = 0; i < RING; i++)
		free(h->ring[i].text);
	tr_store_close(h->mstore);
	tr_http_sessions_free(h->sessions);
	tr_http_files_free(h->files);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int tr_http_port(const struct tr_http *h)
{
	return h->port;
}
