/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.c - a request (server_int.h): its parts (method, query,
 * Authorization), the route to the API, /metrics, the event stream or the
 * dashboard's door, and the API call once the body is in.  Over stream.c,
 * door.c and answer.c.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "routes.h"
#include "server_int.h"

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
	struct call *cl = tr_http_call_new(h, c->wsi, 0);
	if (!cl) {
		json_decref(args);
		tr_http_respond_error(h, c, 503, "out of memory");
		return;
	}
	c->call = cl;
	h->last_read_ns = tr_metric_now_ns();
	struct tr_api_call ac = {op,
				 args,
				 c->token[0] ? c->token : NULL,
				 1,
				 h->origin,
				 tr_http_on_answer,
				 cl,
				 c->user[0] ? c->user : NULL};
	tr_api_call(h->api, &ac);
}

static void serve_metrics(struct tr_http *h, struct conn *c)
{
	int need = h->cfg.metrics_auth < 0 ? !h->loopback : h->cfg.metrics_auth;
	if (need && !tr_http_authorized(h, c)) {
		tr_http_deny(h, c);
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
void tr_http_finish(struct tr_http *h, struct conn *c)
{
	if (tr_http_door_is_auth(c->path))
		tr_http_door_auth(h, c);
	else
		run_api(h, c);
}

/* A new request's headers are in: answers, or waits for its body. */
int tr_http_request(struct tr_http *h, struct conn *c, const char *path)
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
			tr_http_stream_start(h, c);
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
		tr_http_finish(h, c);
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
		tr_http_finish(h, c);
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
