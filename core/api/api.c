/*
 * api.c - the API's sockets, the envelope, op lookup, validation and the
 * answering of requests (api.h).
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../worker/worker.h"
#include "api_int.h"

#define MAX_LISTENERS 4
#define RECV_BATCH 64

struct listener {
	int sock;
	int fd;
	char *url;
};

struct tr_req {
	struct tr_api *api;
	struct listener *l; /* NULL: tr_api_handle_bytes */
	void *control;      /* nanomsg routing header */
	const struct tr_api_op *op;
	char **sync_reply;
	struct tr_req *prev, *next;
};

struct tr_api {
	struct tr_daemon *d;
	struct tr_api_limits limits;
	const struct tr_api_op **ops; /* sorted by name */
	size_t nops, capops;
	struct listener ls[MAX_LISTENERS];
	size_t nls;
	unsigned inflight;
	struct tr_req *reqs; /* in flight */
};

struct tr_api *tr_api_new(struct tr_daemon *d,
			  const struct tr_api_limits *limits)
{
	struct tr_api *api = calloc(1, sizeof *api);
	if (!api)
		return NULL;
	api->d = d;
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
	/* Requests still in flight get an answer, not silence. */
	while (api->reqs)
		tr_req_fail(api->reqs, TRELLIS_E_UNAVAILABLE, NULL,
			    "trellisd is shutting down");
	for (size_t i = 0; i < api->nls; i++) {
		if (api->d && api->d->loop)
			tr_daemon_fd_remove(api->d, api->ls[i].fd);
		nn_close(api->ls[i].sock);
		free(api->ls[i].url);
	}
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
		if (tr_api_find(api, ops[i].name)) {
			tr_err("API op '%s' registered twice", ops[i].name);
			abort();
		}
		if (api->nops == api->capops) {
			size_t cap = api->capops ? api->capops * 2 : 64;
			const struct tr_api_op **p =
				realloc(api->ops, cap * sizeof *p);
			if (!p)
				abort();
			api->ops = p;
			api->capops = cap;
		}
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
	return api->inflight;
}

int tr_fields_check(const char *what, const struct tr_field *fields,
		    json_t *args, char *err, size_t errlen)
{
	struct tr_action a = {.name = what, .input = fields};
	return tr_action_check_args(&a, args, err, errlen);
}

/* ---- answering ---- */

static void send_text(struct tr_req *req, char *text);

static void send_reply(struct tr_req *req, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	send_text(req, text);
}

/* Sends text (stolen) as the answer. */
static void send_text(struct tr_req *req, char *text)
{
	if (!text)
		text = strdup("{\"ok\":false,\"error\":{\"code\":\"NOMEM\","
			      "\"message\":\"out of memory\"}}");
	if (!req->l) {
		if (req->sync_reply)
			*req->sync_reply = text;
		else
			free(text);
		return;
	}
	struct nn_iovec iov = {text, text ? strlen(text) : 0};
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
	}
	req->control = NULL;
	free(text);
}

static void req_unlink(struct tr_req *req)
{
	struct tr_api *api = req->api;
	if (req->prev)
		req->prev->next = req->next;
	else if (api->reqs == req)
		api->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
	if (req->op)
		api->inflight--;
	free(req);
}

static void req_finish(struct tr_req *req, json_t *resp)
{
	send_reply(req, resp);
	req_unlink(req);
}

void tr_req_ok_text(struct tr_req *req, char *result_json)
{
	static const char head[] = "{\"ok\":true,\"result\":";
	size_t n = result_json ? strlen(result_json) : 0;
	char *text = result_json ? malloc(sizeof head + n + 1) : NULL;
	if (text) {
		memcpy(text, head, sizeof head - 1);
		memcpy(text + sizeof head - 1, result_json, n);
		memcpy(text + sizeof head - 1 + n, "}", 2);
	}
	free(result_json);
	send_text(req, text);
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
	if (limit < 1 || limit > 1000 || after < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "%s: limit must be 1 to 1000 and after >= 0",
			    tr_req_op(req));
		return -1;
	}
	q->limit = (unsigned)limit;
	q->after_id = after;
	return 0;
}

/* ---- reads: inline, or on a reader thread when requests pile up ---- */

/*
 * A show is one indexed row: it runs inline, a thread hop would cost more
 * than it saves.  A list runs inline too while it is the only request in
 * flight; when several are in flight, lists go to the reader threads,
 * each with its own read-only WAL connection, so the main thread keeps
 * receiving and answering.  Reads see every write that was acknowledged,
 * because the main thread commits before it answers.
 */
struct read_job {
	struct tr_req *req;
	const char *path;
	enum tr_kind kind;
	int list;
	char *ref, *parent, *fkey, *fval;
	struct tr_store_query q;
	char *text;
	trellis_call_t call;
	int rc;
};

static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_close(void *s)
{
	tr_store_close(s);
}

static void reader_key_init(void)
{
	pthread_key_create(&reader_key, reader_close);
}

static int run_read(struct tr_store *s, struct read_job *j)
{
	if (j->list)
		return tr_store_list_text(s, j->kind, &j->q, &j->text, &j->call);
	return tr_store_get_text(s, j->kind, j->ref, &j->text, &j->call);
}

static void read_work(void *arg)
{
	struct read_job *j = arg;
	pthread_once(&reader_once, reader_key_init);
	struct tr_store *s = pthread_getspecific(reader_key);
	if (!s) {
		char err[512];
		s = tr_store_open(j->path, TR_STORE_READONLY, err, sizeof err);
		if (!s) {
			j->rc = tr_call_set(&j->call, TRELLIS_E_IO, "%s", err);
			return;
		}
		pthread_setspecific(reader_key, s);
	}
	j->rc = run_read(s, j);
}

static void read_answer(struct read_job *j)
{
	if (j->rc < 0)
		tr_req_fail_store(j->req, &j->call, NULL);
	else
		tr_req_ok_text(j->req, j->text);
	free(j->ref);
	free(j->parent);
	free(j->fkey);
	free(j->fval);
	free(j);
}

static void read_done(struct tr_daemon *d, void *arg)
{
	(void)d;
	read_answer(arg);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *r = s ? strdup(s) : NULL;
	*oom |= s && !r;
	return r;
}

static void do_read(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		    int list, const char *ref, const struct tr_store_query *q)
{
	struct read_job *j = calloc(1, sizeof *j);
	int oom = !j;
	if (j) {
		j->req = req;
		j->kind = kind;
		j->list = list;
		j->path = d->store_path;
		tr_call_init(&j->call, NULL);
		j->ref = dup_or_null(ref, &oom);
		if (q) {
			j->q = *q;
			j->q.parent_ref = j->parent =
				dup_or_null(q->parent_ref, &oom);
			j->q.filter_key = j->fkey =
				dup_or_null(q->filter_key, &oom);
			j->q.filter_value = j->fval =
				dup_or_null(q->filter_value, &oom);
		}
	}
	if (oom) {
		if (j) {
			j->rc = tr_call_set(&j->call, TRELLIS_E_NOMEM,
					    "out of memory");
			read_answer(j);
		} else {
			tr_req_fail(req, TRELLIS_E_NOMEM, NULL, "out of memory");
		}
		return;
	}
	if (list && d->readers && d->store_path && req->api->inflight > 1 &&
	    tr_workers_submit(d->readers, read_work, read_done, j) == 0)
		return;
	j->rc = run_read(d->store, j);
	read_answer(j);
}

void tr_api_show(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 json_t *args)
{
	do_read(d, req, kind, 0,
		json_string_value(json_object_get(args, "name")), NULL);
}

void tr_api_list(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 struct tr_store_query *q, json_t *args)
{
	if (tr_api_paging(req, args, q) < 0)
		return;
	do_read(d, req, kind, 1, NULL, q);
}

/* ---- requests ---- */

static void handle(struct tr_api *api, struct tr_req *req, const char *buf,
		   size_t len)
{
	/* Linked before anything can answer, so req_finish unlinks it. */
	req->api = api;
	req->next = api->reqs;
	if (api->reqs)
		api->reqs->prev = req;
	api->reqs = req;
	if (len > api->limits.max_message) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG,
			    json_pack("{s:I, s:I}", "size", (json_int_t)len,
				      "limit",
				      (json_int_t)api->limits.max_message),
			    "request of %zu bytes exceeds the limit of %zu "
			    "bytes (api.max_message)",
			    len, api->limits.max_message);
		return;
	}
	json_error_t jerr;
	json_t *env = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!env) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "malformed request: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		return;
	}
	const char *key;
	json_t *v, *jop = NULL, *args = NULL, *ver = NULL;
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
			else {
				tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
					    "unknown envelope field '%.64s' "
					    "(v, op, args)",
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
	}
	if (bad) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL, "%s", bad);
		goto out;
	}
	const struct tr_api_op *op = tr_api_find(api, json_string_value(jop));
	if (!op) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "unknown op '%.64s' (api.ops lists them)",
			    json_string_value(jop));
		goto out;
	}
	if (!args)
		json_object_set_new(env, "args", args = json_object());
	char err[1024];
	if (tr_fields_check(op->name, op->args, args, err, sizeof err) != 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL, "%s: %s",
			    op->name, err);
		goto out;
	}
	if (api->d && api->d->stopping) {
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "trellisd is shutting down");
		goto out;
	}
	if (api->inflight >= api->limits.max_inflight) {
		tr_req_fail(req, TRELLIS_E_BUSY, NULL,
			    "too many requests in flight (%u); retry",
			    api->inflight);
		goto out;
	}
	req->op = op;
	api->inflight++;
	op->handler(api->d, req, args);
out:
	json_decref(env);
}

int tr_api_handle_bytes(struct tr_api *api, const void *buf, size_t len,
			char **reply)
{
	struct tr_req *req = calloc(1, sizeof *req);
	*reply = NULL;
	if (!req)
		return TRELLIS_E_NOMEM;
	req->sync_reply = reply;
	handle(api, req, buf, len);
	/* An async answer comes later and must not write here. */
	for (struct tr_req *r = api->reqs; r; r = r->next)
		if (r == req)
			req->sync_reply = NULL;
	return 0;
}

static void on_readable(struct tr_daemon *d, int fd, short revents, void *arg)
{
	struct listener *l = arg;
	(void)d;
	(void)fd;
	(void)revents;
	for (int i = 0; i < RECV_BATCH; i++) {
		void *body = NULL, *control = NULL;
		struct nn_iovec iov = {&body, NN_MSG};
		struct nn_msghdr hdr;
		memset(&hdr, 0, sizeof hdr);
		hdr.msg_iov = &iov;
		hdr.msg_iovlen = 1;
		hdr.msg_control = &control;
		hdr.msg_controllen = NN_MSG;
		int rc = nn_recvmsg(l->sock, &hdr, NN_DONTWAIT);
		if (rc < 0) {
			if (nn_errno() != EAGAIN && nn_errno() != EINTR)
				tr_warn("api %s: receive: %s", l->url,
					nn_strerror(nn_errno()));
			return;
		}
		struct tr_req *req = calloc(1, sizeof *req);
		if (!req) {
			nn_freemsg(body);
			nn_freemsg(control);
			return;
		}
		req->l = l;
		req->control = control;
		handle(d->api, req, body, (size_t)rc);
		nn_freemsg(body);
	}
}

int tr_api_listen(struct tr_api *api, const char *url, unsigned mode,
		  char *err, size_t errlen)
{
	if (api->nls == MAX_LISTENERS) {
		snprintf(err, errlen, "%s: too many listeners", url);
		return -1;
	}
	struct listener *l = &api->ls[api->nls];
	err[0] = '\0';
	l->sock = nn_socket(AF_SP_RAW, NN_REP);
	if (l->sock < 0) {
		snprintf(err, errlen, "%s: %s", url, nn_strerror(nn_errno()));
		return -1;
	}
	/* Larger messages than this are dropped by nanomsg; between
	 * max_message and this they get a clear error from handle(). */
	int maxsz = (int)(api->limits.max_message * 4 + 65536);
	nn_setsockopt(l->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz,
		      sizeof maxsz);
	size_t sz = sizeof l->fd;
	if (tr_nn_bind(l->sock, url, mode, err, errlen) < 0 ||
	    nn_getsockopt(l->sock, NN_SOL_SOCKET, NN_RCVFD, &l->fd, &sz) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", url,
				 nn_strerror(nn_errno()));
		nn_close(l->sock);
		return -1;
	}
	l->url = strdup(url);
	api->nls++;
	if (tr_daemon_fd_add(api->d, l->fd, POLLIN, on_readable, l) < 0) {
		snprintf(err, errlen, "%s: out of memory", url);
		return -1;
	}
	return 0;
}
