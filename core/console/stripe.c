/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stripe.c - image-stripe mode (the seed's own way, and the fallback
 * where WebSockets are blocked): plain HTTPS requests only.
 *
 *   POST /stripe/open?vm=VM&token=T   redeems the token; answers
 *                                     {viewer, width, height}
 *   GET  /stripe/poll?v=VIEWER        long-poll (at most POLL_S): the
 *                                     stripes that changed since the
 *                                     viewer's last poll, each a PNG
 *   POST /stripe/input?v=VIEWER       keys and pointer events, one a
 *                                     line: "k DOWN KEYSYM", "p X Y MASK"
 *   POST /stripe/close?v=VIEWER       the viewer leaves
 *
 * The proxy is the VNC client here (libvncclient), one connection per VM
 * shared by all its viewers in this mode: a thread per connection runs
 * libvncclient's loop, keeps the framebuffer, and bumps the version of
 * every STRIPE_ROWS-row stripe an update touched.  A poll sends each
 * stripe whose version the viewer has not seen, encoded once per version
 * with libspng and shared by the viewers.  Input events are queued and
 * sent by the connection's own thread.  A viewer that does not poll for
 * VIEWER_IDLE_S is gone.
 */
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <sodium.h>
#include <spng.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "console.h"

#define STRIPE_ROWS 16
#define MAX_VIEWERS 256
#define POLL_S 20
#define VIEWER_IDLE_S 45
#define LEFT_DROPPED_S 3  /* a poll's connection dropped, none came back */
#define LEFT_ANSWERED_S 6 /* a poll answered, the next did not come */
#define MAX_EVENTS 256

struct upstream;

struct stripe_png {
	uint32_t version;
	unsigned char *png;
	size_t len;
};


struct upstream {
	char vm[64];
	int refs;
	pthread_t thread;
	pthread_mutex_t lock;
	rfbClient *cl;
	char password[16];
	char host[256];
	int port;
	volatile int stop, ready, dead;
	char why[160];
	int w, h, nstripes;
	uint32_t *version;        /* per stripe, under lock */
	struct stripe_png *cache; /* lws thread only */
	struct cp_event ev[MAX_EVENTS];
	int nev;
	struct upstream *next;
};

struct viewer {
	char id[48];
	struct upstream *up;
	uint32_t *seen;
	int64_t session_id;
	time_t last;
	struct lws *poll; /* a poll waiting */
	time_t poll_since;
	int closed;
	char close_reason[160];
	/* Since when no poll of its waits: its waiting poll's connection
	 * dropped (dropped), or its last poll was answered and the next
	 * has not come.  A closed tab sends nothing more, whichever moment
	 * it closed at (between two polls too, while the page draws the
	 * last answer's stripes). */
	time_t left;
	int dropped;
};

struct pss {
	int kind; /* 'o' open, 'p' poll, 'i' input, 'c' close */
	char viewer[48];
	int slot;
	uint32_t gen;
	char *body;
	size_t blen;
	char *resp; /* a deferred answer: JSON */
	int status;
	int finishing; /* answered; lws still holds part of it */
};

static const struct cp_opts *opts;
static struct lws_context *context;
static struct upstream *ups;
static struct viewer *viewers[MAX_VIEWERS];
/* The opening requests in flight: slot -> wsi, with a generation. */
static struct lws *opening[MAX_VIEWERS];
static uint32_t opening_gen[MAX_VIEWERS], next_gen = 1;
static unsigned n_viewers;

unsigned cp_stripe_sessions(void)
{
	return __atomic_load_n(&n_viewers, __ATOMIC_RELAXED);
}

/* The loop wakes every second for the viewers' timeouts, busy or not. */
static lws_sorted_usec_list_t tick_sul;

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	cp_stripe_tick();
	lws_sul_schedule(context, 0, sul, tick_cb, LWS_US_PER_SEC);
}

void cp_stripe_setup(const struct cp_opts *o, struct lws_context *ctx)
{
	opts = o;
	context = ctx;
	lws_sul_schedule(context, 0, &tick_sul, tick_cb, LWS_US_PER_SEC);
}

static void quiet_log(const char *fmt, ...)
{
	(void)fmt;
}

/* ---- the upstream VNC connection (its own thread) ---- */

static char *get_password(rfbClient *cl)
{
	struct upstream *u = rfbClientGetClientData(cl, &ups);
	char *p = strdup(u->password);
	sodium_memzero(u->password, sizeof u->password);
	return p;
}

static void got_update(rfbClient *cl, int x, int y, int w, int h)
{
	(void)x;
	(void)w;
	struct upstream *u = rfbClientGetClientData(cl, &ups);
	pthread_mutex_lock(&u->lock);
	for (int s = y / STRIPE_ROWS; s <= (y + h - 1) / STRIPE_ROWS &&
				      s < u->nstripes;
	     s++)
		u->version[s]++;
	pthread_mutex_unlock(&u->lock);
	lws_cancel_service(context);
}

static void *up_thread(void *arg)
{
	struct upstream *u = arg;
	rfbClientLog = rfbClientErr = quiet_log;
	rfbClient *cl = rfbGetClient(8, 3, 4);
	rfbClientSetClientData(cl, &ups, u);
	cl->GetPassword = get_password;
	cl->GotFrameBufferUpdate = got_update;
	cl->serverHost = strdup(u->host);
	cl->serverPort = u->port;
	cl->canHandleNewFBSize = FALSE;
	int argc = 0;
	if (!rfbInitClient(cl, &argc, NULL)) { /* it freed cl */
		snprintf(u->why, sizeof u->why,
			 "cannot open the VNC connection");
		u->dead = 1;
		lws_cancel_service(context);
		return NULL;
	}
	pthread_mutex_lock(&u->lock);
	u->cl = cl;
	u->w = cl->width;
	u->h = cl->height;
	u->nstripes = (u->h + STRIPE_ROWS - 1) / STRIPE_ROWS;
	/* Every stripe at version 0, which every viewer has "seen": the
	 * first stripes a poll sends are those of the server's first
	 * update, not the zeroed framebuffer before it (a page that said
	 * "connected" on those showed a black screen for a while). */
	u->version = tr_xcalloc((size_t)u->nstripes, sizeof *u->version);
	u->ready = 1;
	pthread_mutex_unlock(&u->lock);
	lws_cancel_service(context);
	while (!u->stop) {
		struct cp_event ev[MAX_EVENTS];
		pthread_mutex_lock(&u->lock);
		int n = u->nev;
		memcpy(ev, u->ev, (size_t)n * sizeof *ev);
		u->nev = 0;
		pthread_mutex_unlock(&u->lock);
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == 'k')
				SendKeyEvent(cl, (uint32_t)ev[i].b, ev[i].a != 0);
			else
				SendPointerEvent(cl, ev[i].a, ev[i].b, ev[i].c);
		}
		int r = WaitForMessage(cl, 50 * 1000);
		if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl))) {
			snprintf(u->why, sizeof u->why,
				 "the VNC server ended the session");
			break;
		}
	}
	u->dead = 1;
	lws_cancel_service(context);
	return NULL;
}

static struct upstream *up_find(const char *vm)
{
	for (struct upstream *u = ups; u; u = u->next)
		if (!strcmp(u->vm, vm) && !u->dead)
			return u;
	return NULL;
}

static struct upstream *up_start(const char *vm, const char *host, int port,
				 const char *password)
{
	struct upstream *u = tr_xcalloc(1, sizeof *u);
	snprintf(u->vm, sizeof u->vm, "%s", vm);
	snprintf(u->host, sizeof u->host, "%s", host);
	snprintf(u->password, sizeof u->password, "%s", password);
	u->port = port;
	pthread_mutex_init(&u->lock, NULL);
	if (pthread_create(&u->thread, NULL, up_thread, u) != 0) {
		free(u);
		return NULL;
	}
	u->next = ups;
	ups = u;
	return u;
}

static void up_unref(struct upstream *u)
{
	if (--u->refs > 0)
		return;
	u->stop = 1;
	pthread_join(u->thread, NULL);
	for (struct upstream **p = &ups; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	if (u->cl) {
		rfbClientCleanup(u->cl);
	}
	for (int s = 0; u->cache && s < u->nstripes; s++)
		free(u->cache[s].png);
	free(u->cache);
	free(u->version);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* ---- stripes ---- */

/* The PNG of stripe s at its current version (cached). */
static struct stripe_png *stripe_png(struct upstream *u, int s, uint32_t ver)
{
	if (!u->cache)
		u->cache = tr_xcalloc((size_t)u->nstripes, sizeof *u->cache);
	struct stripe_png *c = &u->cache[s];
	if (c->png && c->version == ver)
		return c;
	int y0 = s * STRIPE_ROWS;
	int rows = u->h - y0 < STRIPE_ROWS ? u->h - y0 : STRIPE_ROWS;
	size_t n = (size_t)u->w * (size_t)rows * 3;
	unsigned char *rgb = tr_xmalloc(n);
	pthread_mutex_lock(&u->lock);
	const unsigned char *fb = u->cl->frameBuffer + (size_t)y0 * u->w * 4;
	for (size_t i = 0; i < (size_t)u->w * (size_t)rows; i++) {
		rgb[i * 3] = fb[i * 4];
		rgb[i * 3 + 1] = fb[i * 4 + 1];
		rgb[i * 3 + 2] = fb[i * 4 + 2];
	}
	pthread_mutex_unlock(&u->lock);
	spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
	struct spng_ihdr ih = {(uint32_t)u->w, (uint32_t)rows, 8,
			       SPNG_COLOR_TYPE_TRUECOLOR, 0, 0, 0};
	spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
	spng_set_ihdr(ctx, &ih);
	int err = spng_encode_image(ctx, rgb, n, SPNG_FMT_PNG,
				    SPNG_ENCODE_FINALIZE);
	size_t len = 0;
	unsigned char *png = err ? NULL : spng_get_png_buffer(ctx, &len, &err);
	spng_ctx_free(ctx);
	free(rgb);
	free(c->png);
	c->png = png;
	c->len = png ? len : 0;
	c->version = ver;
	return c;
}

/* The viewer's versions seen, once the framebuffer exists (all 0: it has
 * seen nothing).  0, or -1 while the upstream is not ready. */
static int ensure_seen(struct viewer *v)
{
	if (v->seen)
		return 0;
	if (!v->up->ready)
		return -1;
	v->seen = tr_xcalloc((size_t)v->up->nstripes, sizeof *v->seen);
	return 0;
}

/* The poll's answer: {"w","h","stripes":[{"y","h","png"}]} or the end. */
static char *poll_answer(struct viewer *v)
{
	struct upstream *u = v->up;
	json_t *o = json_object();
	if (v->closed || u->dead) {
		json_object_set_new(o, "closed",
				    json_string(v->closed ? v->close_reason
							  : u->why));
		char *t = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		return t;
	}
	if (ensure_seen(v) < 0) { /* not ready: an empty answer */
		json_object_set_new(o, "stripes", json_array());
		char *t = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		return t;
	}
	json_object_set_new(o, "w", json_integer(u->w));
	json_object_set_new(o, "h", json_integer(u->h));
	json_t *arr = json_array();
	uint32_t *ver = tr_xmalloc((size_t)u->nstripes * sizeof *ver);
	pthread_mutex_lock(&u->lock);
	memcpy(ver, u->version, (size_t)u->nstripes * sizeof *ver);
	pthread_mutex_unlock(&u->lock);
	for (int s = 0; s < u->nstripes; s++) {
		if (v->seen[s] == ver[s])
			continue;
		struct stripe_png *p = stripe_png(u, s, ver[s]);
		if (!p->png)
			continue;
		size_t bl = sodium_base64_ENCODED_LEN(p->len,
						      sodium_base64_VARIANT_ORIGINAL);
		char *b64 = tr_xmalloc(bl);
		sodium_bin2base64(b64, bl, p->png, p->len,
				  sodium_base64_VARIANT_ORIGINAL);
		int y = s * STRIPE_ROWS;
		json_array_append_new(
		    arr, json_pack("{s:i, s:i, s:s}", "y", y, "h",
				   u->h - y < STRIPE_ROWS ? u->h - y : STRIPE_ROWS,
				   "png", b64));
		free(b64);
		v->seen[s] = ver[s];
	}
	free(ver);
	json_object_set_new(o, "stripes", arr);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

static int has_news(struct viewer *v)
{
	struct upstream *u = v->up;
	if (v->closed || u->dead)
		return 1;
	if (ensure_seen(v) < 0)
		return 0;
	int news = 0;
	pthread_mutex_lock(&u->lock);
	for (int s = 0; s < u->nstripes && !news; s++)
		news = v->seen[s] != u->version[s];
	pthread_mutex_unlock(&u->lock);
	return news;
}

/* ---- viewers ---- */

static struct viewer *viewer_find(const char *id)
{
	for (int i = 0; i < MAX_VIEWERS; i++)
		if (viewers[i] && sodium_memcmp(viewers[i]->id, id,
						sizeof viewers[i]->id) == 0)
			return viewers[i];
	return NULL;
}

static void viewer_end(int i, const char *by, const char *why)
{
	struct viewer *v = viewers[i];
	if (v->session_id) {
		struct cp_job *j = tr_xcalloc(1, sizeof *j);
		j->o = opts;
		j->slot = -1;
		snprintf(j->op, sizeof j->op, "console.close");
		j->args = json_pack("{s:I, s:s, s:s}", "session",
				    (json_int_t)v->session_id, "reason", why,
				    "by", by);
		cp_job_start(context, j);
	}
	if (v->poll)
		return; /* answered first (closed), then freed */
	viewers[i] = NULL;
	__atomic_sub_fetch(&n_viewers, 1, __ATOMIC_RELAXED);
	up_unref(v->up);
	free(v->seen);
	sodium_memzero(v, sizeof *v);
	free(v);
}

static void respond(struct lws *wsi, int status, const char *json,
		    const char *type)
{
	unsigned char hb[LWS_PRE + 512], *start = hb + LWS_PRE, *p = start,
					   *end = hb + sizeof hb;
	size_t n = json ? strlen(json) : 0;
	if (lws_add_http_common_headers(wsi, (unsigned)status, type, n, &p,
					end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p,
					 end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return;
	if (!n)
		return;
	unsigned char *body = tr_xmalloc(LWS_PRE + n);
	memcpy(body + LWS_PRE, json, n);
	lws_write(wsi, body + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
	free(body);
}

/* An open's redemption came back: attach a viewer or answer the error. */
static void open_done(struct cp_job *j)
{
	json_t *r = j->result;
	int64_t sid = r ? json_integer_value(json_object_get(r, "session")) : 0;
	struct lws *wsi = j->slot >= 0 && opening_gen[j->slot] == j->gen
			      ? opening[j->slot]
			      : NULL;
	if (j->slot >= 0 && opening_gen[j->slot] == j->gen)
		opening[j->slot] = NULL;
	struct pss *ps = wsi ? lws_wsi_user(wsi) : NULL;
	if (!r) {
		if (ps) {
			json_t *e = json_pack("{s:s}", "error", j->msg);
			ps->resp = json_dumps(e, JSON_COMPACT);
			json_decref(e);
			ps->status = 403;
			lws_callback_on_writable(wsi);
		}
		return;
	}
	const char *vm = json_string_value(json_object_get(r, "vm_uuid"));
	struct upstream *u = up_find(vm ? vm : "");
	if (!u)
		u = up_start(vm ? vm : "",
			     json_string_value(json_object_get(r, "address")) ?: "",
			     (int)json_integer_value(json_object_get(r, "port")),
			     json_string_value(json_object_get(r, "password")) ?: "");
	int slot = -1;
	for (int i = 0; i < MAX_VIEWERS && slot < 0; i++)
		if (!viewers[i])
			slot = i;
	if (!u || slot < 0) {
		if (ps) {
			ps->resp = strdup("{\"error\":\"proxy full\"}");
			ps->status = 503;
			lws_callback_on_writable(wsi);
		}
		return;
	}
	u->refs++;
	struct viewer *v = tr_xcalloc(1, sizeof *v);
	unsigned char raw[24];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(v->id, sizeof v->id, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	v->up = u;
	v->session_id = sid;
	v->last = time(NULL);
	viewers[slot] = v;
	__atomic_add_fetch(&n_viewers, 1, __ATOMIC_RELAXED);
	if (!ps) { /* the browser left meanwhile */
		viewer_end(slot, "browser", "the browser left");
		return;
	}
	json_t *o = json_pack("{s:s, s:s}", "viewer", v->id, "vm", vm ? vm : "");
	ps->resp = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ps->status = 200;
	lws_callback_on_writable(wsi);
}

static void start_open(struct lws *wsi, struct pss *ps)
{
	char vm[128], token[128];
	url_arg(wsi, "vm=", vm, sizeof vm);
	url_arg(wsi, "token=", token, sizeof token);
	if (!token[0])
		url_arg(wsi, "resume=", token, sizeof token);
	int slot = -1;
	for (int i = 0; i < MAX_VIEWERS && slot < 0; i++)
		if (!opening[i])
			slot = i;
	if (slot < 0 || !token[0]) {
		ps->resp = strdup(slot < 0 ? "{\"error\":\"busy\"}"
					   : "{\"error\":\"no token\"}");
		ps->status = slot < 0 ? 503 : 403;
		lws_callback_on_writable(wsi);
		return;
	}
	opening[slot] = wsi;
	opening_gen[slot] = next_gen++;
	ps->slot = slot;
	ps->gen = opening_gen[slot];
	struct cp_job *j = tr_xcalloc(1, sizeof *j);
	j->o = opts;
	j->slot = slot;
	j->gen = opening_gen[slot];
	j->done = open_done;
	snprintf(j->op, sizeof j->op, "console.redeem");
	j->args = json_pack("{s:s, s:s}", "token", token, "proxy", opts->name);
	if (vm[0])
		json_object_set_new(j->args, "vm", json_string(vm));
	sodium_memzero(token, sizeof token);
	cp_job_start(context, j);
}

static void take_input(struct viewer *v, const char *body)
{
	struct upstream *u = v->up;
	pthread_mutex_lock(&u->lock);
	u->nev += cp_parse_events(body, u->w, u->h, u->ev + u->nev,
				  MAX_EVENTS - u->nev);
	pthread_mutex_unlock(&u->lock);
}

static int viewer_index(struct viewer *v)
{
	for (int i = 0; i < MAX_VIEWERS; i++)
		if (viewers[i] == v)
			return i;
	return -1;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *ps = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		/* The path after the mount point, however lws gives it. */
		const char *path = in;
		if (!strncmp(path, "/stripe", 7))
			path += 7;
		while (*path == '/')
			path++;
		if (!*path) { /* the page itself */
			const char *type;
			ps->kind = 'g';
			ps->resp = strdup(cp_page("/stripe", &type));
			ps->status = 200;
			lws_callback_on_writable(wsi);
			return 0;
		}
		/* A kept-alive connection's next request: the last one's
		 * answer and body go. */
		free(ps->resp);
		free(ps->body);
		memset(ps, 0, sizeof *ps);
		ps->slot = -1;
		url_arg(wsi, "v=", ps->viewer, sizeof ps->viewer);
		if (!strcmp(path, "open")) {
			ps->kind = 'o';
			start_open(wsi, ps);
			return 0;
		}
		struct viewer *v = viewer_find(ps->viewer);
		if (!v) {
			ps->resp = strdup("{\"closed\":\"no such viewer\"}");
			ps->status = 404;
			lws_callback_on_writable(wsi);
			return 0;
		}
		v->last = time(NULL);
		if (!strcmp(path, "poll")) {
			ps->kind = 'p';
			if (v->poll) /* one poll per viewer: the new one wins */
				lws_set_timeout(v->poll, PENDING_TIMEOUT_KILLED_BY_PARENT,
						LWS_TO_KILL_ASYNC);
			v->poll = wsi;
			v->poll_since = time(NULL);
			v->left = 0;
			v->dropped = 0;
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
			if (has_news(v) && v->up->ready)
				lws_callback_on_writable(wsi);
			return 0;
		}
		if (!strcmp(path, "input"))
			ps->kind = 'i';
		else if (!strcmp(path, "close"))
			ps->kind = 'c';
		else {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		return 0; /* the body follows */
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (!len || !in)
			return 0;
		if (ps->blen + len > 16384)
			return -1;
		ps->body = tr_xrealloc(ps->body, ps->blen + len + 1);
		memcpy(ps->body + ps->blen, in, len);
		ps->blen += len;
		ps->body[ps->blen] = '\0';
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
		struct viewer *v = viewer_find(ps->viewer);
		if (ps->kind == 'o') /* open takes no body */
			return 0;
		if (v && ps->kind == 'i' && ps->body)
			take_input(v, ps->body);
		if (v && ps->kind == 'c') {
			v->closed = 1;
			snprintf(v->close_reason, sizeof v->close_reason,
				 "the browser closed the console");
			int i = viewer_index(v);
			if (i >= 0)
				viewer_end(i, "browser",
					   "the browser closed the console");
		}
		ps->resp = strdup(v ? "{\"ok\":true}" : "{\"closed\":\"no such viewer\"}");
		ps->status = v ? 200 : 404;
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		/* A big answer the socket did not take whole: lws sent the
		 * rest before this call; only now is the transaction over. */
		if (ps->finishing) {
			if (lws_partial_buffered(wsi)) {
				lws_callback_on_writable(wsi);
				return 0;
			}
			ps->finishing = 0;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (ps->kind == 'p') {
			struct viewer *v = viewer_find(ps->viewer);
			char *t = v && v->poll == wsi
				      ? poll_answer(v)
				      : strdup("{\"closed\":\"no such viewer\"}");
			if (v && v->poll == wsi) {
				v->poll = NULL;
				v->left = time(NULL);
				v->dropped = 0;
			}
			respond(wsi, 200, t, "application/json");
			free(t);
			if (v && (v->closed || v->up->dead)) {
				int i = viewer_index(v);
				if (i >= 0 && !v->poll) {
					v->session_id = 0; /* reported */
					viewer_end(i, "vnc", v->up->why);
				}
			}
		} else if (ps->resp) {
			respond(wsi, ps->status, ps->resp,
				ps->kind == 'g' ? "text/html; charset=utf-8"
						: "application/json");
		} else {
			return 0;
		}
		if (lws_partial_buffered(wsi)) {
			ps->finishing = 1;
			lws_callback_on_writable(wsi);
			return 0;
		}
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ps) {
			free(ps->body);
			free(ps->resp);
			ps->body = ps->resp = NULL;
			if (ps->kind == 'o' && ps->slot >= 0 &&
			    opening_gen[ps->slot] == ps->gen)
				opening[ps->slot] = NULL;
			struct viewer *v = viewer_find(ps->viewer);
			/* Its waiting poll, or the connection its answered
			 * poll came on while none waits: the page is going. */
			if (v && (v->poll == wsi || (ps->kind == 'p' && !v->poll))) {
				v->poll = NULL;
				v->left = time(NULL);
				v->dropped = 1;
			}
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols cp_protocol_stripe = {
	"trellis-stripe", cb, sizeof(struct pss), 0, 0, NULL, 0};

void cp_stripe_tick(void)
{
	time_t now = time(NULL);
	for (int i = 0; i < MAX_VIEWERS; i++) {
		struct viewer *v = viewers[i];
		if (!v)
			continue;
		if (v->poll) {
			if ((v->up->ready || v->up->dead) &&
			    (has_news(v) || now - v->poll_since >= POLL_S))
				lws_callback_on_writable(v->poll);
		} else if (v->left &&
			   now - v->left >= (v->dropped ? LEFT_DROPPED_S
						       : LEFT_ANSWERED_S)) {
			/* No poll came back: the page is gone (a closed tab
			 * sends no beacon). */
			viewer_end(i, "browser", "the browser left");
		} else if (now - v->last > VIEWER_IDLE_S || v->closed) {
			viewer_end(i, "browser",
				   v->closed ? v->close_reason
					     : "the browser stopped polling");
		}
	}
}

const char cp_stripe_page[] =
    "<!doctype html>\n"
    "<html><head><meta charset=\"utf-8\"><title>Trellis console "
    "(stripes)</title>\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<style>body{margin:0;background:#1d1f21;color:#ddd;font:14px "
    "sans-serif}#bar{padding:4px 8px;height:20px}canvas{outline:none}"
    "</style></head>\n"
    "<body><div id=\"bar\"><span id=\"status\">connecting</span></div>"
    "<div id=\"screen\"><canvas id=\"c\" tabindex=\"0\" width=\"640\" "
    "height=\"480\"></canvas></div>\n"
    "<script>\n"
    "const q = new URLSearchParams(location.search);\n"
    "const vm = q.get('vm') || '';\n"
    "const kind = q.has('resume') ? 'resume' : 'token';\n"
    "const secret = q.get(kind) || '';\n"
    "history.replaceState(null, '', location.pathname + '?vm=' + "
    "encodeURIComponent(vm));\n"
    "const t = window.trellis = {state: 'connecting', kind, message: '', "
    "stripes: 0};\n"
    "const c = document.getElementById('c'), g = c.getContext('2d');\n"
    "function status(s, m) { t.state = s; t.message = m || ''; "
    "document.getElementById('status').textContent = s + (m ? ': ' + m : "
    "''); }\n"
    "let viewer = null, queue = [], sending = false;\n"
    "function send() {\n"
    "  if (sending || !queue.length || !viewer) return;\n"
    "  sending = true; const body = queue.join('\\n'); queue = [];\n"
    "  fetch('/stripe/input?v=' + viewer, {method: 'POST', body}).finally(() "
    "=> { sending = false; send(); });\n"
    "}\n"
    "function ev(s) { queue.push(s); send(); }\n"
    "const special = {Enter: 0xff0d, Backspace: 0xff08, Tab: 0xff09, Escape: "
    "0xff1b, ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, "
    "ArrowDown: 0xff54, Shift: 0xffe1, Control: 0xffe3, Alt: 0xffe9, "
    "Delete: 0xffff, Home: 0xff50, End: 0xff57};\n"
    "function keysym(e) { if (special[e.key]) return special[e.key]; if "
    "(e.key.length === 1) { const u = e.key.codePointAt(0); return u < 256 "
    "? u : 0x1000000 + u; } return 0; }\n"
    "c.addEventListener('keydown', e => { const k = keysym(e); if (k) { "
    "ev('k 1 ' + k); e.preventDefault(); } });\n"
    "c.addEventListener('keyup', e => { const k = keysym(e); if (k) { "
    "ev('k 0 ' + k); e.preventDefault(); } });\n"
    "let buttons = 0;\n"
    "function pos(e) { const r = c.getBoundingClientRect(); return "
    "[Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)]; }\n"
    "c.addEventListener('mousemove', e => { const [x, y] = pos(e); ev('p ' "
    "+ x + ' ' + y + ' ' + buttons); });\n"
    "c.addEventListener('mousedown', e => { c.focus(); buttons |= 1 << "
    "e.button; const [x, y] = pos(e); ev('p ' + x + ' ' + y + ' ' + "
    "buttons); });\n"
    "c.addEventListener('mouseup', e => { buttons &= ~(1 << e.button); "
    "const [x, y] = pos(e); ev('p ' + x + ' ' + y + ' ' + buttons); });\n"
    "async function poll() {\n"
    "  while (true) {\n"
    "    let r;\n"
    "    try { r = await (await fetch('/stripe/poll?v=' + viewer)).json(); "
    "}\n"
    "    catch (e) { status('closed', 'the proxy went away'); return; }\n"
    "    if (r.closed) { status('closed', r.closed); return; }\n"
    "    if (r.w && (c.width !== r.w || c.height !== r.h)) { c.width = r.w; c.height "
    "= r.h; }\n"
    "    await Promise.all(r.stripes.map(s => new Promise(ok => { const im "
    "= new Image(); im.onload = () => { g.drawImage(im, 0, s.y); t.stripes++; "
    "ok(); }; im.onerror = ok; im.src = 'data:image/png;base64,' + s.png; "
    "})));\n"
    "    if (t.state === 'connecting' && t.stripes) status('connected', "
    "vm);\n"
    "  }\n"
    "}\n"
    "addEventListener('pagehide', () => { if (viewer) "
    "navigator.sendBeacon('/stripe/close?v=' + viewer, ''); });\n"
    "fetch('/stripe/open?vm=' + encodeURIComponent(vm) + '&' + kind + '=' + "
    "encodeURIComponent(secret), {method: 'POST'}).then(r => r.json()).then(r "
    "=> {\n"
    "  if (r.error) { status('refused', 'refused: ' + r.error); return; }\n"
    "  viewer = r.viewer; poll();\n"
    "});\n"
    "</script></body></html>\n";
