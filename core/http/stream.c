/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c - the event stream (server_int.h: GET /api/v1/events as
 * server-sent events): the bus's tap into the ring, starting a stream and
 * writing it out, one event a writable callback.  Over answer.c.
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "server_int.h"
#include "session.h"

/* ---- the event stream ---- */

void tr_http_stream_tap(void *arg, const char *msg, size_t len, size_t tl)
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

void tr_http_stream_start(struct tr_http *h, struct conn *c)
{
	struct tr_http_session *sess =
	    !c->has_auth && c->cookie[0]
		? tr_http_session_find(h->sessions, c->cookie,
				       (long long)time(NULL))
		: NULL;
	if (!sess && !tr_http_authorized(h, c)) {
		tr_http_deny(h, c);
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
int tr_http_stream_write(struct tr_http *h, struct conn *c)
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
