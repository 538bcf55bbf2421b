/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the HTTP listener (http.h), the top of its files
 * (server_int.h): libwebsockets' callback, the service thread, start, stop
 * and free.  Requests are in request.c, the event stream in stream.c,
 * answers in answer.c.
 */
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../events/events.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "files.h"
#include "http.h"
#include "server_int.h"
#include "session.h"

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
		return tr_http_request(h, c, in ? (const char *)in : "/");
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
		tr_http_finish(h, c);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (c->sse)
			return tr_http_stream_write(h, c);
		if (c->call && c->call->done)
			return tr_http_write_call(h, c);
		if (c->close_after && !c->call)
			return -1;
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		tr_http_conn_closed(h, c);
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
				tr_http_call_free(list);
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
	tr_http_on_service_thread = 1;
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
		tr_events_set_tap(ev, tr_http_stream_tap, h);
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
		tr_http_call_free(list);
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
