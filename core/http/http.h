/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - trellisd's HTTP/1.1 listener: the JSON API under /api/v1 (the
 * same op table, schemas, API keys and dispatch as the nanomsg API, through
 * tr_api_call), Server-Sent Events of the event bus, the OpenAPI document
 * and Prometheus /metrics; and the dashboard (issue 25): its files at /,
 * its login, sessions and CSRF tokens (session.h, files.h).
 *
 * libwebsockets serves it, with OpenSSL for TLS: the library the console
 * proxy (trellis-console) serves its TLS WebSockets with, so the project
 * has one HTTP stack.  libwebsockets runs one service thread (Debian's is
 * built with LWS_MAX_SMP 1); that thread answers reads (TR_OP_READ) inline
 * on its own read-only store connection, as a nanomsg receive thread
 * does, and hands everything else to the main thread.  Answers made on
 * other threads come back through a queue and lws_cancel_service().
 *
 * The listener owns its libwebsockets context, its thread, its event
 * ring and its connections.
 */
#ifndef TRELLIS_CORE_HTTP_H
#define TRELLIS_CORE_HTTP_H

#include <stddef.h>

struct tr_daemon;
struct tr_api;
struct tr_events;
struct tr_http;

struct tr_http_config {
	const char *listen;   /* HOST:PORT */
	int tls;              /* 1, 0, -1: auto (off on loopback only) */
	const char *cert, *key; /* PEM files, for TLS */
	size_t max_body;      /* bytes */
	unsigned timeout_ms;  /* a request must arrive whole within this */
	int metrics_auth;     /* 1, 0, -1: auto (not on loopback) */
	const char *openapi;  /* the OpenAPI document (JSON text), or NULL */
	const char *dashboard; /* the dashboard's directory, or NULL: none */
	unsigned session_ttl_s, session_idle_s; /* 0: 8 h, 30 min */
};

/* Binds and starts the service thread.  NULL with err. */
struct tr_http *tr_http_start(struct tr_daemon *d, struct tr_api *api,
			      struct tr_events *ev,
			      const struct tr_http_config *cfg, char *err,
			      size_t errlen);
/* Stops the service thread and the event tap: no new request.  Answers
 * still to come (the API's, at its shutdown) are kept for tr_http_free. */
void tr_http_stop(struct tr_http *h);
/* Closes every connection and frees; after tr_api_free(), which answers
 * every request in flight. */
void tr_http_free(struct tr_http *h);
/* The port bound (useful with port 0). */
int tr_http_port(const struct tr_http *h);

/* Whether HOST:PORT names a loopback address (127.0.0.0/8, ::1,
 * localhost). */
int tr_http_is_loopback(const char *hostport);

/* /metrics: the registry (core/util/metrics.h) plus what is counted when
 * rendering: inventory by state, pool and segment-id use, workflow
 * instances by state (from the store s, may be NULL) and the process's
 * RSS and open descriptors.  A malloc()ed text, *len bytes, with pre
 * bytes of headroom before it (the caller's transport needs them). */
struct tr_store;
char *tr_http_metrics_render(struct tr_store *s, size_t pre, size_t *len);

/* The OpenAPI 3 document of api's ops and the routes (routes.h), as JSON
 * text (malloc()ed).  The build runs it (core/http/gen) and trellisd
 * serves the result. */
char *tr_http_openapi(const struct tr_api *api);
/* That document as the build made it (in trellisd, not the library). */
extern const char tr_openapi_doc[];

#endif
