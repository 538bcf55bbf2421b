/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_int.h - the HTTP listener's own structures and the functions its
 * files share.  From the bottom up, each calling only those below it:
 * answer.c (answers: made here, or handed over by other threads; the
 * API-key check), door.c (the dashboard's files and sessions), stream.c
 * (the event stream), request.c (a request's parts and its route), and
 * server.c (libwebsockets: the callback, the service thread, start and
 * stop); core/http/layers.txt writes the order, tests/unit/house/layers.t
 * checks it.  Everything here runs on the service thread unless said
 * otherwise.
 */
#ifndef TRELLIS_CORE_HTTP_SERVER_INT_H
#define TRELLIS_CORE_HTTP_SERVER_INT_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stddef.h>

#include "http.h"
#include "session.h"

struct tr_daemon;
struct tr_api;
struct tr_events;
struct tr_store;
struct tr_http_files;
struct tr_api_answer;

#define HDR_ROOM 2048  /* status line and headers, before a body */
#define MAX_XH 6       /* headers of an answer beyond the usual ones */
#define RING 1024      /* events kept for the streams */
#define MAX_QUERY 32   /* query parameters */
#define IDLE_MS 100    /* no read for this long: drop the kept snapshot */

/* An answer on its way to a connection; owned by whoever sees it last
 * (see tr_http_conn_closed and tr_http_on_answer). */
struct call {
	struct tr_http *h;
	struct lws *wsi;  /* NULL once the connection closed */
	unsigned char *buf; /* LWS_PRE + HDR_ROOM, then the body */
	size_t len;       /* body bytes */
	int status;
	int code;
	int done, queued; /* under h->lock */
	struct call *next; /* in h->done */
	const char *ctype; /* NULL: by the path */
	const char *xname[MAX_XH]; /* "set-cookie:" (static) */
	char *xval[MAX_XH];        /* owned */
	int nx;
};

struct ev_slot {
	unsigned long long seq;
	char *text; /* "id: ..\nevent: ..\ndata: ..\n\n" */
	size_t len;
	char topic[96];
};

struct conn {
	struct lws *wsi;
	char method[8];
	char path[512];
	char token[128];
	int has_auth, bad_auth;
	/* the dashboard's session, when the request has no Authorization */
	char cookie[TR_SESSION_ID_LEN + 1];
	char user[65]; /* a password session's user, for tr_api_call */
	char qbuf[2048];
	const char *qk[MAX_QUERY], *qv[MAX_QUERY];
	size_t nq;
	char *body;
	size_t blen, bcap, expect;
	int close_after;
	struct call *call;
	/* the event stream */
	int sse;
	unsigned long long next;
	char topics[256]; /* comma-separated prefixes; empty: all */
	int sse_scoped;   /* a BU session's: topics only */
	unsigned char *ebuf;
	size_t ecap;
	struct conn *sse_next;
};

struct tr_http {
	struct tr_daemon *d;
	struct tr_api *api;
	struct tr_events *ev;
	struct tr_http_config cfg;
	char origin[300];
	int loopback, tls;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	int port;
	pthread_t thread;
	int started;
	volatile int stop;
	int stopped; /* the service thread has ended: no lws calls */
	pthread_mutex_t lock; /* done, ring, head, stopped */
	struct call *done;
	struct ev_slot ring[RING];
	unsigned long long head; /* next event's seq */
	struct conn *streams;    /* service thread only */
	lws_sorted_usec_list_t tick;
	long long last_read_ns;
	struct tr_store *mstore; /* /metrics' reader */
	struct tr_http_sessions *sessions; /* service thread only */
	struct tr_http_files *files;       /* the dashboard, or NULL */
	char files_err[300];               /* why there is none */
};

/* ---- answers (answer.c) ---- */

/* Set on the service thread (server.c): an answer handed over there is
 * written at once. */
extern _Thread_local int tr_http_on_service_thread;
/* An answer's buffer for a body of len bytes, to the connection wsi. */
struct call *tr_http_call_new(struct tr_http *h, struct lws *wsi, size_t len);
void tr_http_call_free(struct call *cl);
/* tr_api_call's answer callback (any thread); ctx is the struct call. */
void tr_http_on_answer(void *ctx, const struct tr_api_answer *a);
/* c closed: its answer, if still on its way, is freed by whoever sees it
 * last. */
void tr_http_conn_closed(struct tr_http *h, struct conn *c);
/* Writes c's answer (writable callback); 0, or -1 to close. */
int tr_http_write_call(struct tr_http *h, struct conn *c);
/* Whether c carries a valid API key; tr_http_deny answers 401. */
int tr_http_authorized(struct tr_http *h, struct conn *c);
void tr_http_deny(struct tr_http *h, struct conn *c);

/* An answer made here (not by an op): status and body (copied). */
void tr_http_respond(struct tr_http *h, struct conn *c, int status,
		     const char *body, size_t len);
/* The same with the API's error body for status and msg. */
void tr_http_respond_error(struct tr_http *h, struct conn *c, int status,
			   const char *msg);

/* ---- the dashboard's door (door.c) ---- */

/* GET of a path outside /api and /metrics: a file of the dashboard. */
void tr_http_door_file(struct tr_http *h, struct conn *c);
/* The session cookie's value into c->cookie ("" when none or bad). */
void tr_http_door_cookie(struct conn *c);
/* Whether path is under /api/v1/auth/. */
int tr_http_door_is_auth(const char *path);
/* /api/v1/auth/{login,session,logout}, once the body is in. */
void tr_http_door_auth(struct tr_http *h, struct conn *c);
/* An API request with the cookie: 0 with c->token or c->user set to the
 * session's caller, or -1 when refused (answered: no session, or a
 * state-changing request without its CSRF token). */
int tr_http_door_caller(struct tr_http *h, struct conn *c);

/* ---- the event stream (stream.c) ---- */

/* The event bus's tap (any thread): an event into the ring. */
void tr_http_stream_tap(void *arg, const char *msg, size_t len, size_t tl);
/* GET /api/v1/events: checks access, then streams to c. */
void tr_http_stream_start(struct tr_http *h, struct conn *c);
/* The next wanted event to c (writable callback); 0, or -1 to close. */
int tr_http_stream_write(struct tr_http *h, struct conn *c);

/* ---- requests (request.c) ---- */

/* A request's headers are in (path): routes it, or reads its body
 * first; 0, or -1 to close. */
int tr_http_request(struct tr_http *h, struct conn *c, const char *path);
/* The body is in: the call it asks for. */
void tr_http_finish(struct tr_http *h, struct conn *c);

#endif
