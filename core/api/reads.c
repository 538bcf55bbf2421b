/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reads.c - the API's reads (api_int.h: tr_api_show, tr_api_list,
 * tr_api_get_scoped, tr_api_store): inline, or on a reader thread when
 * requests pile up, and the read-only store connection each receive
 * thread keeps (tr_api_thread_attach/idle/detach).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/worker.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "api_core.h"

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
	char *ref, *parent, *fkey, *fval, *scope;
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
	free(j->scope);
	free(j);
}

static void read_done(struct tr_daemon *d, void *arg)
{
	(void)d;
	read_answer(arg);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *r = s ? tr_xstrdup(s) : NULL;
	*oom |= s && !r;
	return r;
}

static void do_read(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		    int list, const char *ref, const struct tr_store_query *q)
{
	struct read_job *j = tr_xcalloc(1, sizeof *j);
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
			j->q.scope_tenant = j->scope =
				dup_or_null(q->scope_tenant, &oom);
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
	if (tr_api_tls_store) {
		/* A receive thread: its own connection, inline. */
		j->rc = run_read(tr_api_tls_store, j);
		read_answer(j);
		return;
	}
	if (list && d->readers && d->store_path &&
	    tr_api_inflight(req->api) > 1 &&
	    tr_workers_submit(d->readers, read_work, read_done, j) == 0)
		return;
	j->rc = run_read(d->store, j);
	read_answer(j);
}

struct tr_store *tr_api_store(struct tr_daemon *d)
{
	return tr_api_tls_store ? tr_api_tls_store : d->store;
}

int tr_api_get_scoped(struct tr_daemon *d, struct tr_req *req,
		      enum tr_kind kind, const char *ref, json_t **out)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store *s = tr_api_store(d);
	if (tr_store_get(s, kind, ref, out, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return -1;
	}
	const char *bu = tr_req_scope(req);
	if (!bu)
		return 0;
	char *owner = tr_store_owner(s, kind, *out);
	int mine = owner && strcmp(owner, bu) == 0;
	free(owner);
	if (mine)
		return 0;
	json_decref(*out);
	*out = NULL;
	tr_req_not_yours(req, "%s '%s' not found", tr_kind_str(kind), ref);
	return -1;
}

void tr_api_show(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 json_t *args)
{
	const char *ref = json_string_value(json_object_get(args, "name"));
	if (tr_req_scope(req)) {
		/* A scoped show checks the owner: one more lookup, for BU
		 * callers only. */
		json_t *obj = NULL;
		if (tr_api_get_scoped(d, req, kind, ref, &obj) == 0)
			tr_req_ok(req, obj);
		return;
	}
	do_read(d, req, kind, 0, ref, NULL);
}

void tr_api_list(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 struct tr_store_query *q, json_t *args)
{
	if (tr_api_paging(req, args, q) < 0)
		return;
	if (tr_req_scope(req))
		q->scope_tenant = tr_req_scope(req);
	do_read(d, req, kind, 1, NULL, q);
}

int tr_api_thread_attach(struct tr_api *api)
{
	tr_api_tls_thread = 1;
	if (tr_api_tls_store || !api->d || !api->d->store_path)
		return tr_api_tls_store ? 0 : -1;
	char err[512];
	tr_api_tls_store = tr_store_open(api->d->store_path, TR_STORE_READONLY,
					 err, sizeof err);
	if (!tr_api_tls_store) {
		tr_warn("api: reads go to the main thread: %s", err);
		return -1;
	}
	return 0;
}

void tr_api_thread_idle(void)
{
	if (tr_api_tls_store)
		tr_store_read_end(tr_api_tls_store, 0);
}

void tr_api_thread_detach(void)
{
	tr_store_close(tr_api_tls_store);
	tr_api_tls_store = NULL;
}
