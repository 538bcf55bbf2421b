/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - the API object, the envelope, op lookup, validation and the
 * answering of requests (api.h).  Reads (inline or on reader threads, and
 * the receive threads' own read connections) are reads.c; the sockets and
 * their receive threads are in listen.c.
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <pthread.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/worker.h"
#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "api_core.h"
#include "keys.h"

struct tr_api *tr_api_new(struct tr_daemon *d,
			  const struct tr_api_limits *limits)
{
	struct tr_api *api = tr_xcalloc(1, sizeof *api);
	if (!api)
		return NULL;
	api->d = d;
	pthread_mutex_init(&api->lock, NULL);
	pthread_rwlock_init(&api->keys_lock, NULL);
	pthread_mutex_init(&api->audit_lock, NULL);
	api->limits = *limits;
	if (!api->limits.max_message)
		api->limits.max_message = 1 << 20;
	if (!api->limits.max_inflight)
		api->limits.max_inflight = 4096;
	return api;
}

void tr_api_free(struct tr_api *api)
{
	if (!api)
		return;
	tr_api_listeners_stop(api);
	/* Requests handed to the main thread but never run (the loop left
	 * early): they are answered below, so their jobs only free. */
	api->closing = 1;
	if (api->d && api->d->loop)
		tr_loop_deliver(api->d->loop);
	/* Requests still in flight get an answer, not silence. */
	while (api->reqs)
		tr_req_fail(api->reqs, TRELLIS_E_UNAVAILABLE, NULL,
			    "trellisd is shutting down");
	tr_api_listeners_close(api);
	tr_api_audit_free(api);
	pthread_mutex_destroy(&api->audit_lock);
	free(api->tokens);
	tr_roles_free(api->roles);
	pthread_mutex_destroy(&api->lock);
	pthread_rwlock_destroy(&api->keys_lock);
	tr_keys_free(api->keys);
	free(api->ops);
	free(api);
}

static int op_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct tr_api_op *const *)a)->name,
		      (*(const struct tr_api_op *const *)b)->name);
}

void tr_api_register(struct tr_api *api, const struct tr_api_op *ops,
		     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i].perm == TR_PERM_UNDECLARED) {
			tr_err("API op '%s' declares no permission (struct "
			       "tr_api_op.perm, api.h)",
			       ops[i].name);
			abort();
		}
		if (tr_api_find(api, ops[i].name)) {
			tr_err("API op '%s' registered twice", ops[i].name);
			abort();
		}
		TR_GROW(api->ops, api->nops, api->capops);
		api->ops[api->nops++] = &ops[i];
		qsort(api->ops, api->nops, sizeof *api->ops, op_cmp);
	}
}

const struct tr_api_op *tr_api_find(const struct tr_api *api,
				    const char *name)
{
	size_t lo = 0, hi = api->nops;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, api->ops[mid]->name);
		if (c == 0)
			return api->ops[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t tr_api_count(const struct tr_api *api)
{
	return api->nops;
}

const struct tr_api_op *tr_api_at(const struct tr_api *api, size_t i)
{
	return i < api->nops ? api->ops[i] : NULL;
}

unsigned tr_api_inflight(const struct tr_api *api)
{
	struct tr_api *a = (struct tr_api *)api;
	pthread_mutex_lock(&a->lock);
	unsigned n = a->inflight;
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* ---- answering ---- */

/* Sends the answer made of parts (NULL-terminated list of strings) with
 * one copy, into a message nanomsg then owns (no second copy of a long
 * list in nn_sendmsg); for tr_api_handle_bytes, into *sync_reply. */
static const char *const nomem_parts[] = {
	"{\"ok\":false,\"error\":{\"code\":\"NOMEM\",\"message\":\"out of "
	"memory\"}}",
	NULL};

static void send_parts(struct tr_req *req, const char *const *parts)
{
	size_t len = 0;
	for (const char *const *p = parts; *p; p++)
		len += strlen(*p);
	if (req->reply) {
		struct tr_api_answer a = {req->code, req->key_refused, parts,
					  len};
		req->reply(req->reply_ctx, &a);
		return;
	}
	/* A message is the JSON text alone; a sync reply is a string. */
	char *msg = req->l ? nn_allocmsg(len, 0) : tr_xmalloc(len + 1);
	if (!msg) {
		/* The short answer may still fit; if not, the client times
		 * out, as it would on any lost answer. */
		if (parts != nomem_parts)
			send_parts(req, nomem_parts);
		else if (req->l)
			nn_freemsg(req->control), req->control = NULL;
		return;
	}
	size_t off = 0;
	for (const char *const *p = parts; *p; p++) {
		size_t n = strlen(*p);
		memcpy(msg + off, *p, n);
		off += n;
	}
	if (!req->l) {
		msg[off] = '\0';
		if (req->sync_reply)
			*req->sync_reply = msg;
		else
			free(msg);
		return;
	}
	if (req->sess) {
		size_t flen = 0;
		void *f = tr_api_secure_seal(req->l, req->sess, msg, off, &flen);
		sodium_memzero(msg, off);
		nn_freemsg(msg);
		if (!f) {
			nn_freemsg(req->control);
			req->control = NULL;
			return;
		}
		msg = f;
	}
	struct nn_iovec iov = {&msg, NN_MSG};
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = &req->control;
	hdr.msg_controllen = NN_MSG;
	if (nn_sendmsg(req->l->sock, &hdr, NN_DONTWAIT) < 0) {
		/* The client went away or its pipe is full: its loss,
		 * nobody else waits for it. */
		tr_debug("api: reply to %s dropped: %s",
			 req->op ? req->op->name : "?", nn_strerror(nn_errno()));
		nn_freemsg(req->control);
		nn_freemsg(msg);
	}
	req->control = NULL;
}

static void send_reply(struct tr_req *req, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	const char *parts[] = {text, NULL};
	send_parts(req, text ? parts : nomem_parts);
	free(text);
}

static void wake_main(struct tr_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
}

static const struct tr_metric m_requests = {
	"trellis_api_requests_total", "API requests answered, by op and result",
	TR_METRIC_COUNTER, {"op", "result", NULL}};
static const struct tr_metric m_latency = {
	"trellis_api_request_duration_seconds",
	"API requests from receipt to answer, by op",
	TR_METRIC_HISTOGRAM, {"op", NULL}};

/* Every answered request, whatever its door (sockets, HTTP). */
static void count_request(const struct tr_req *req)
{
	const char *op = req->op ? req->op->name : "(refused)";
	const char *res = req->code ? trellis_error_name(req->code) : "ok";
	const char *v[] = {op, res};
	tr_metric_add(&m_requests, v, 1);
	if (req->t0_ns)
		tr_metric_observe(&m_latency, v,
				  (double)(tr_metric_now_ns() - req->t0_ns) /
					  1e9);
}

static void req_unlink(struct tr_req *req)
{
	struct tr_api *api = req->api;
	pthread_mutex_lock(&api->lock);
	if (req->prev)
		req->prev->next = req->next;
	else if (api->reqs == req)
		api->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
	int last = 0;
	if (req->op)
		last = --api->inflight == 0;
	pthread_mutex_unlock(&api->lock);
	tr_api_audit_answer(req, req->code);
	count_request(req);
	if (req->sess)
		tr_api_secure_unref(req->l, req->sess);
	free(req);
	/* The main loop checks for "stopping and idle" when it wakes. */
	if (last && tr_api_tls_thread && api->d && api->d->stopping)
		tr_daemon_call_main(api->d, wake_main, NULL);
}

static void req_finish(struct tr_req *req, json_t *resp)
{
	send_reply(req, resp);
	req_unlink(req);
}

void tr_req_ok_text(struct tr_req *req, char *result_json)
{
	const char *parts[] = {"{\"ok\":true,\"result\":", result_json, "}",
			       NULL};
	send_parts(req, result_json ? parts : nomem_parts);
	free(result_json);
	req_unlink(req);
}

void tr_req_ok(struct tr_req *req, json_t *result)
{
	json_t *resp = json_object();
	json_object_set_new(resp, "ok", json_true());
	json_object_set_new(resp, "result", result ? result : json_null());
	req_finish(req, resp);
}

static json_t *error_resp(int code, json_t *details, const char *msg)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(trellis_error_name(code)));
	json_object_set_new(err, "message", json_string(msg));
	if (details)
		json_object_set_new(err, "details", details);
	json_t *resp = json_object();
	json_object_set_new(resp, "ok", json_false());
	json_object_set_new(resp, "error", err);
	return resp;
}

void tr_req_fail(struct tr_req *req, int code, json_t *details,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (code >= 0)
		code = TRELLIS_E_INTERNAL;
	req->code = code;
	tr_debug("api: %s: %s: %s", req->op ? req->op->name : "?",
		 trellis_error_name(code), msg);
	req_finish(req, error_resp(code, details, msg));
}

void tr_req_fail_call(struct tr_req *req, const trellis_call_t *call)
{
	json_t *details = NULL;
	if (call->plugin[0] || call->backend_code) {
		details = json_object();
		if (call->plugin[0])
			json_object_set_new(details, "plugin",
					    json_string(call->plugin));
		if (call->backend_code)
			json_object_set_new(details, "backend_code",
					    json_integer(call->backend_code));
		json_object_set_new(details, "retryable",
				    json_boolean(call->retryable));
	}
	tr_req_fail(req, call->code ? call->code : TRELLIS_E_INTERNAL,
		    details, "%s", call->message[0] ? call->message : "failed");
}

void tr_req_answer_action(struct tr_daemon *d, void *req, json_t *result,
			  trellis_call_t *call)
{
	(void)d;
	if (result)
		tr_req_ok(req, json_incref(result));
	else
		tr_req_fail_call(req, call);
}

void tr_req_answer_store(struct tr_req *req, int rc, json_t *out,
			 trellis_call_t *call)
{
	if (rc < 0) {
		json_decref(out);
		tr_req_fail_store(req, call, NULL);
	} else {
		tr_req_ok(req, out);
	}
}

void tr_req_fail_store(struct tr_req *req, trellis_call_t *call,
		       json_t *details)
{
	tr_req_fail(req, call->code ? call->code : TRELLIS_E_INTERNAL,
		    details, "%s", call->message);
}

const char *tr_req_op(const struct tr_req *req)
{
	return req->op ? req->op->name : NULL;
}

int tr_api_paging(struct tr_req *req, json_t *args, struct tr_store_query *q)
{
	json_int_t limit = 100, after = 0;
	json_t *v;
	if ((v = json_object_get(args, "limit")))
		limit = json_integer_value(v);
	if ((v = json_object_get(args, "after")))
		after = json_integer_value(v);
	/* Name only what was given wrong (a --limit -5 has no after). */
	if (limit < 1 || limit > 1000) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "%s: limit must be 1 to 1000, got %lld",
			    tr_req_op(req), (long long)limit);
		return -1;
	}
	if (after < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "%s: after must be >= 0 (a 'next' of an earlier "
			    "page), got %lld",
			    tr_req_op(req), (long long)after);
		return -1;
	}
	q->limit = (unsigned)limit;
	q->after_id = after;
	return 0;
}

/* ---- requests ---- */

/* A tcp:// request without a valid API key (st 0: none, or unknown when
 * it had a token; -1: expired): answered PERMISSION and counted, and
 * logged at most once a second, so a flood of them cannot flood the log. */
void tr_api_refused(struct tr_api *api, struct tr_req *req, int st,
		    int had_token)
{
	unsigned long n = atomic_fetch_add(&api->refused, 1) + 1;
	long long now = (long long)time(NULL);
	long long last = atomic_load(&api->refused_logged);
	if (now != last &&
	    atomic_compare_exchange_strong(&api->refused_logged, &last, now))
		tr_warn("api %s: request refused: %s (%lu refused so far)",
			req->origin,
			st < 0 ? "expired API key" : "no valid API key", n);
	req->key_refused = 1;
	if (st < 0)
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "%s: API key '%s' has expired (trellisd "
			    "--api-key-add makes a new one)",
			    req->origin, req->key);
	else if (had_token)
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "%s: unknown API key", req->origin);
	else if (req->reply)
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL,
			    "%s: requests need an API key (header "
			    "'Authorization: Bearer TOKEN'; trellisd "
			    "--api-key-add NAME makes one)",
			    req->origin);
	else
		tr_req_fail(req, TRELLIS_E_PERMISSION, NULL, "%s: %s",
			    req->origin,
			    "requests on tcp:// need an API key "
			    "(envelope field 'auth'; the CLI reads "
			    "TRELLIS_API_KEY or --api-key-file)");
}

/* Links req among the requests in flight, before anything can answer it,
 * so that req_finish unlinks it. */
static void req_link(struct tr_api *api, struct tr_req *req)
{
	req->api = api;
	req->t0_ns = tr_metric_now_ns();
	pthread_mutex_lock(&api->lock);
	req->next = api->reqs;
	if (api->reqs)
		api->reqs->prev = req;
	api->reqs = req;
	pthread_mutex_unlock(&api->lock);
}

/* What every door shares once it has an op name and its arguments: the
 * API key, the op, the schema, the in-flight limit and the audit log.
 * 0 with req->op set and counted in flight, or -1 with req answered. */
static int admit(struct tr_api *api, struct tr_req *req, const char *opname,
		 json_t *args, const char *token, int had_token)
{
	/* Who is calling (ident.c).  Neither the token nor the op is
	 * echoed or logged. */
	(void)had_token;
	if (tr_api_identify(api, req, token) < 0)
		return -1;
	const struct tr_api_op *op = tr_api_find(api, opname);
	if (!op) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "unknown op '%.64s' (api.ops lists them)", opname);
		return -1;
	}
	char err[1024];
	if (tr_fields_check(op->name, op->args, args, err, sizeof err) != 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL, "%s: %s",
			    op->name, err);
		return -1;
	}
	/* The one permission check, before anything runs. */
	if (tr_api_authorize(api, req, op, args) < 0)
		return -1;
	/* Checked and counted under the lock, so a shutdown that saw no
	 * request in flight sees no new one either. */
	pthread_mutex_lock(&api->lock);
	int stopping = api->d && api->d->stopping;
	unsigned n = api->inflight;
	if (!stopping && n < api->limits.max_inflight) {
		req->op = op;
		api->inflight++;
	}
	pthread_mutex_unlock(&api->lock);
	if (stopping) {
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "trellisd is shutting down");
		return -1;
	}
	if (!req->op) {
		tr_req_fail(req, TRELLIS_E_BUSY, NULL,
			    "too many requests in flight (%u); retry", n);
		return -1;
	}
	/* The audit trail: who asked for a change (or a console) with an
	 * API key, once the request is valid and admitted.  ipc:// callers
	 * are whoever the socket's mode lets in. */
	if (req->key[0] && (op->flags & (TR_OP_MUTATES | TR_OP_AUDIT)))
		tr_info("api %s: %s by API key '%s' (user %s)", req->origin,
			op->name, req->key, req->who.user);
	return 0;
}

/* Checks a request; answers it and returns NULL, or returns its envelope
 * (the caller's; *argsp in it) with req->op set and counted in flight. */
static json_t *prepare(struct tr_api *api, struct tr_req *req,
		       const char *buf, size_t len, json_t **argsp)
{
	req_link(api, req);
	if (req->l) {
		req->origin = req->l->url;
		req->auth = req->l->auth;
	}
	if (!req->origin)
		req->origin = "api";
	if (len > api->limits.max_message) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG,
			    json_pack("{s:I, s:I}", "size", (json_int_t)len,
				      "limit",
				      (json_int_t)api->limits.max_message),
			    "request of %zu bytes exceeds the limit of %zu "
			    "bytes (api.max_message)",
			    len, api->limits.max_message);
		return NULL;
	}
	json_error_t jerr;
	json_t *env = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!env) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "malformed request: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	const char *key;
	json_t *v, *jop = NULL, *args = NULL, *ver = NULL, *auth = NULL;
	const char *bad = NULL;
	if (!json_is_object(env)) {
		bad = "the request must be an object {\"v\":1, \"op\":..., "
		      "\"args\":{...}}";
	} else {
		json_object_foreach(env, key, v)
		{
			if (strcmp(key, "v") == 0)
				ver = v;
			else if (strcmp(key, "op") == 0)
				jop = v;
			else if (strcmp(key, "args") == 0)
				args = v;
			else if (strcmp(key, "auth") == 0)
				auth = v;
			else {
				tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
					    "unknown envelope field '%.64s' "
					    "(v, op, args, auth)",
					    key);
				goto out;
			}
		}
		if (!json_is_integer(ver) ||
		    json_integer_value(ver) != TR_API_VERSION)
			bad = "envelope field 'v' must be 1 (the API version)";
		else if (!json_is_string(jop))
			bad = "envelope field 'op' must be a string";
		else if (args && !json_is_object(args))
			bad = "envelope field 'args' must be an object";
		else if (auth && !json_is_string(auth))
			bad = "envelope field 'auth' must be a string (an API "
			      "key)";
	}
	if (bad) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL, "%s", bad);
		goto out;
	}
	if (!args)
		json_object_set_new(env, "args", args = json_object());
	if (admit(api, req, json_string_value(jop), args,
		  json_string_value(auth), auth != NULL) < 0)
		goto out;
	*argsp = args;
	return env;
out:
	json_decref(env);
	return NULL;
}

static void handle(struct tr_api *api, struct tr_req *req, const char *buf,
		   size_t len)
{
	json_t *args = NULL;
	json_t *env = prepare(api, req, buf, len, &args);
	if (!env)
		return;
	req->op->handler(api->d, req, args);
	json_decref(env);
}

int tr_api_handle_bytes(struct tr_api *api, const void *buf, size_t len,
			char **reply)
{
	return tr_api_handle_bytes_as(api, NULL, buf, len, reply);
}

int tr_api_handle_bytes_as(struct tr_api *api, const char *user,
			   const void *buf, size_t len, char **reply)
{
	struct tr_req *req = tr_xcalloc(1, sizeof *req);
	*reply = NULL;
	if (!req)
		return TRELLIS_E_NOMEM;
	req->sync_reply = reply;
	req->as_user = user;
	handle(api, req, buf, len);
	/* An async answer comes later and must not write here. */
	pthread_mutex_lock(&api->lock);
	for (struct tr_req *r = api->reqs; r; r = r->next)
		if (r == req)
			req->sync_reply = NULL;
	pthread_mutex_unlock(&api->lock);
	return 0;
}

/* A request a receive thread handed over, on the main thread. */
static void run_on_main(struct tr_daemon *d, void *arg)
{
	struct tr_req *req = arg;
	json_t *env = req->env;
	req->env = NULL;
	if (req->api->closing)
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "trellisd is shutting down");
	else
		req->op->handler(d, req, req->args);
	json_decref(env);
}

/* An admitted request: a read inline on a thread with its own read-only
 * connection, anything else on the main thread.  env (owned, may be
 * NULL) holds args. */
static void dispatch(struct tr_api *api, struct tr_req *req, json_t *env,
		     json_t *args)
{
	if ((req->op->flags & TR_OP_READ) && tr_api_tls_store) {
		atomic_fetch_add_explicit(&api->reads, 1, memory_order_relaxed);
		/* One snapshot for the request, kept for the next one while
		 * nothing is written (store.h); the answer is sent before
		 * the read transaction ends. */
		tr_store_read_begin(tr_api_tls_store);
		req->op->handler(api->d, req, args);
		tr_store_read_end(tr_api_tls_store, 1);
		json_decref(env);
		return;
	}
	req->env = env;
	req->args = args;
	if (tr_daemon_call_main(api->d, run_on_main, req) < 0) {
		req->env = NULL;
		tr_req_fail(req, TRELLIS_E_NOMEM, NULL, "out of memory");
		json_decref(env);
	}
}

void tr_api_handle_received(struct tr_api *api, struct tr_req *req,
			    const char *buf, size_t len)
{
	json_t *args = NULL;
	json_t *env = prepare(api, req, buf, len, &args);
	if (!env)
		return;
	dispatch(api, req, env, args);
}

void tr_api_call(struct tr_api *api, const struct tr_api_call *c)
{
	struct tr_req *req = tr_xcalloc(1, sizeof *req);
	if (!req) {
		static const char *const parts[] = {
			"{\"ok\":false,\"error\":{\"code\":\"NOMEM\","
			"\"message\":\"out of memory\"}}",
			NULL};
		struct tr_api_answer a = {TRELLIS_E_NOMEM, 0, parts,
					  strlen(parts[0])};
		c->reply(c->ctx, &a);
		return;
	}
	req->reply = c->reply;
	req->reply_ctx = c->ctx;
	req->origin = c->origin ? c->origin : "api";
	req->auth = c->need_key;
	req->as_user = c->user;
	req_link(api, req);
	json_t *args = c->args ? c->args : json_object();
	if (!args || !json_is_object(args)) {
		json_decref(args);
		tr_req_fail(req, args ? TRELLIS_E_INVALID_ARG : TRELLIS_E_NOMEM,
			    NULL, "%s", args ? "the arguments must be an object"
					     : "out of memory");
		return;
	}
	if (admit(api, req, c->op ? c->op : "", args, c->token,
		  c->token != NULL) < 0) {
		json_decref(args);
		return;
	}
	dispatch(api, req, args, args);
}

int tr_api_key_valid(struct tr_api *api, const char *token, char *name,
		     size_t namelen)
{
	int st = tr_api_key_check(api, token, name, namelen);
	if (st <= 0)
		atomic_fetch_add(&api->refused, 1);
	return st;
}
