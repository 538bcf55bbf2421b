/* SPDX-License-Identifier: Apache-2.0 */
/*
 * answer.c - the HTTP listener's answers (server_int.h), the bottom of its
 * files: an answer's buffer, answers handed over from other threads
 * (tr_api_call's callback), answers made here, writing them out, and the
 * API-key check of /metrics and the event stream.  Calls nothing above it
 * (door.c, stream.c, request.c, server.c).
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../util/alloc.h"
#include "../util/metrics.h"
#include "routes.h"
#include "server_int.h"

_Thread_local int tr_http_on_service_thread;

static const struct tr_metric m_http = {
	"trellis_http_responses_total", "HTTP responses by status",
	TR_METRIC_COUNTER, {"status", NULL}};

/* ---- answers ---- */

struct call *tr_http_call_new(struct tr_http *h, struct lws *wsi, size_t len)
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

void tr_http_call_free(struct call *cl)
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
void tr_http_on_answer(void *ctx, const struct tr_api_answer *a)
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
	if (tr_http_on_service_thread) {
		cl->done = 1;
		if (cl->wsi)
			lws_callback_on_writable(cl->wsi);
		else
			tr_http_call_free(cl);
		return;
	}
	pthread_mutex_lock(&h->lock);
	cl->done = 1;
	if (!cl->wsi) {
		pthread_mutex_unlock(&h->lock);
		tr_http_call_free(cl);
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
void tr_http_conn_closed(struct tr_http *h, struct conn *c)
{
	if (c->call) {
		struct call *cl = c->call;
		c->call = NULL;
		pthread_mutex_lock(&h->lock);
		cl->wsi = NULL;
		int mine = cl->done && !cl->queued;
		pthread_mutex_unlock(&h->lock);
		if (mine)
			tr_http_call_free(cl);
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
	struct call *cl = tr_http_call_new(h, c->wsi, len);
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
int tr_http_write_call(struct tr_http *h, struct conn *c)
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
	tr_http_call_free(cl);
	c->call = NULL;
	free(c->body);
	c->body = NULL;
	c->blen = c->bcap = 0;
	if (n < 0 || c->close_after)
		return -1;
	return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* ---- access ---- */

int tr_http_authorized(struct tr_http *h, struct conn *c)
{
	char name[72];
	return c->token[0] &&
	       tr_api_key_valid(h->api, c->token, name, sizeof name) > 0;
}

void tr_http_deny(struct tr_http *h, struct conn *c)
{
	tr_http_respond_error(h, c, 401,
		      c->token[0] ? "unknown or expired API key"
				  : "this needs an API key (header "
				    "'Authorization: Bearer TOKEN')");
}
