/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen.c - the API's sockets: listeners, their receive threads, and the
 * API keys that tcp:// listeners require (api.h, keys.h).
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "api_core.h"
#include "keys.h"

#define RECV_TIMEOUT_MS 100 /* how soon a receive thread sees api->stop */
#define BACKLOG_WAKE 2      /* queued requests in a row that wake helpers */
#define HELPER_IDLE 32      /* waits in a row that put a helper to sleep */

/*
 * Each listener has receive threads (api.threads, one per CPU by default)
 * that block in nn_recvmsg as a plain echo server does (polling NN_RCVFD
 * from the main loop cost two context switches per request).  A thread
 * parses and checks the request; read-only ops (TR_OP_READ) run right
 * there on the thread's own read-only WAL connection and answer from it;
 * every other op is handed to the main thread (tr_daemon_call_main).
 *
 * Thread 0 always receives.  The others are helpers that sleep on a
 * condition variable until thread 0 finds requests already queued when it
 * comes back for the next one, BACKLOG_WAKE times in a row, which is what
 * load looks like; they then receive beside it until they had to wait for
 * HELPER_IDLE requests in a row (or RECV_TIMEOUT_MS for one).  So one
 * client at a time wakes one thread per request, not every thread (all
 * threads blocked on one socket wake for each message), and many clients
 * get every CPU.
 */
struct rx_thread {
	struct listener *l;
	int index; /* 0: always receives; others: helpers */
};

_Thread_local struct tr_store *tr_api_tls_store;
_Thread_local int tr_api_tls_thread;

void tr_api_set_keys(struct tr_api *api, struct tr_keys *keys)
{
	pthread_rwlock_wrlock(&api->keys_lock);
	struct tr_keys *old = api->keys;
	api->keys = keys;
	pthread_rwlock_unlock(&api->keys_lock);
	tr_keys_free(old);
}

int tr_api_key_check(struct tr_api *api, const char *token, char *name,
		     size_t namelen)
{
	pthread_rwlock_rdlock(&api->keys_lock);
	int st = tr_keys_check(api->keys, token, (long long)time(NULL), name,
			       namelen);
	pthread_rwlock_unlock(&api->keys_lock);
	return st;
}

/* One request off the socket: its length, or -1 with nn_errno() set. */
static int receive(struct listener *l, int flags, void **body,
		   void **control)
{
	*body = *control = NULL;
	struct nn_iovec iov = {body, NN_MSG};
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = control;
	hdr.msg_controllen = NN_MSG;
	return nn_recvmsg(l->sock, &hdr, flags);
}

/* Thread 0 found a request waiting: helpers that sleep, wake up. */
static void wake_helpers(struct listener *l)
{
	if (atomic_load_explicit(&l->awake, memory_order_relaxed) >=
	    l->nthreads - 1)
		return;
	pthread_mutex_lock(&l->mu);
	l->wake = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* A helper: 0 once woken, -1 when the API stops. */
static int helper_sleep(struct listener *l)
{
	pthread_mutex_lock(&l->mu);
	while (!l->wake && !l->api->stop)
		pthread_cond_wait(&l->cv, &l->mu);
	int awake = atomic_fetch_add(&l->awake, 1) + 1;
	if (awake >= l->nthreads - 1)
		l->wake = 0;
	pthread_mutex_unlock(&l->mu);
	if (l->api->stop)
		return -1;
	atomic_fetch_add_explicit(&l->api->wakeups, 1, memory_order_relaxed);
	return 0;
}

static void *receive_thread(void *arg)
{
	struct rx_thread *rx = arg;
	struct listener *l = rx->l;
	struct tr_api *api = l->api;
	int helper = rx->index > 0;
	free(rx);
	tr_api_tls_thread = 1;
	if (api->d->store_path) {
		char err[512];
		tr_api_tls_store = tr_store_open(api->d->store_path,
					      TR_STORE_READONLY, err,
					      sizeof err);
		if (!tr_api_tls_store)
			tr_warn("api %s: reads go to the main thread: %s",
				l->url, err);
	}
	if (helper && helper_sleep(l) < 0)
		goto out;
	/* Thread 0: requests in a row that were already queued.  A helper:
	 * requests in a row it had to wait for. */
	unsigned streak = 0;
	while (!api->stop) {
		void *body, *control;
		int rc = receive(l, NN_DONTWAIT, &body, &control);
		if (rc >= 0) {
			if (!helper && ++streak >= BACKLOG_WAKE &&
			    l->nthreads > 1)
				wake_helpers(l);
			if (helper)
				streak = 0;
		} else {
			if (!helper)
				streak = 0;
			else if (++streak >= HELPER_IDLE) {
				/* Load is gone: leave the socket to
				 * thread 0 alone. */
				streak = 0;
				atomic_fetch_sub(&l->awake, 1);
				tr_store_read_end(tr_api_tls_store, 0);
				if (helper_sleep(l) < 0)
					break;
				continue;
			}
			rc = receive(l, 0, &body, &control);
		}
		if (rc < 0) {
			int e = nn_errno();
			if (e == EBADF || e == ETERM)
				break;
			if (e != EAGAIN && e != ETIMEDOUT && e != EINTR)
				tr_warn("api %s: receive: %s", l->url,
					nn_strerror(e));
			/* Nothing for RECV_TIMEOUT_MS: no snapshot is kept
			 * while idle, and a helper sleeps. */
			if (e == ETIMEDOUT) {
				tr_store_read_end(tr_api_tls_store, 0);
				if (helper)
					streak = HELPER_IDLE - 1;
			}
			continue;
		}
		char *plain = NULL;
		size_t plen = 0;
		struct tr_api_sess *sess = NULL;
		if (l->secure) {
			int st = tr_api_secure_in(l, body, (size_t)rc, &control,
						  &plain, &plen, &sess);
			nn_freemsg(body);
			if (st != 0)
				continue; /* a handshake, or refused */
			body = NULL;
		}
		struct tr_req *req = tr_xcalloc(1, sizeof *req);
		req->l = l;
		req->control = control;
		req->sess = sess;
		atomic_fetch_add_explicit(&api->requests, 1,
					  memory_order_relaxed);
		if (plain) {
			tr_api_handle_received(api, req, plain, plen);
			sodium_memzero(plain, plen);
			free(plain);
		} else {
			tr_api_handle_received(api, req, body, (size_t)rc);
			nn_freemsg(body);
		}
	}
out:
	tr_store_close(tr_api_tls_store);
	tr_api_tls_store = NULL;
	return NULL;
}

static unsigned recv_threads(const struct tr_api *api)
{
	unsigned n = api->limits.threads;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	return n > MAX_RECV_THREADS ? MAX_RECV_THREADS : n;
}

void tr_api_stats(const struct tr_api *api, struct tr_api_stats *out)
{
	out->threads = recv_threads(api);
	out->requests = atomic_load(&api->requests);
	out->reads = atomic_load(&api->reads);
	out->wakeups = atomic_load(&api->wakeups);
	out->refused = atomic_load(&api->refused);
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
	int tmo = RECV_TIMEOUT_MS;
	nn_setsockopt(l->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	if (tr_nn_bind(l->sock, url, mode, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", url,
				 nn_strerror(nn_errno()));
		nn_close(l->sock);
		return -1;
	}
	l->url = tr_xstrdup(url);
	l->api = api;
	l->auth = strncmp(url, "tcp://", 6) == 0;
	/* tcp:// leaves the machine: the secure link, always. */
	if (l->auth && tr_api_secure_init(l, api->d->state_dir, err, errlen) < 0) {
		nn_close(l->sock);
		free(l->url);
		l->url = NULL;
		return -1;
	}
	/* A socket that others (neither the owner nor its group) cannot
	 * connect to: a request without a local token is trusted as the
	 * daemon's owner's, as before identities existed.  Open to others
	 * (mode 0666), every request needs a token (local.c). */
	struct stat st;
	if (strncmp(url, "ipc://", 6) == 0)
		api->ipc_private =
		    stat(url + 6, &st) == 0 && !(st.st_mode & 007);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	api->nls++;
	/* nthreads is final before any thread reads it. */
	l->nthreads = (int)recv_threads(api);
	for (int t = 0; t < l->nthreads; t++) {
		struct rx_thread *rx = tr_xmalloc(sizeof *rx);
		if (rx)
			*rx = (struct rx_thread){l, t};
		if (!rx || pthread_create(&l->threads[t], NULL, receive_thread,
					  rx)) {
			free(rx);
			snprintf(err, errlen, "%s: cannot start a thread", url);
			return -1;
		}
		l->started++;
		pthread_setname_np(l->threads[t], t ? "trellisd-api+" : "trellisd-api");
	}
	return 0;
}

void tr_api_listeners_stop(struct tr_api *api)
{
	api->stop = 1;
	for (size_t i = 0; i < api->nls; i++) {
		struct listener *l = &api->ls[i];
		pthread_mutex_lock(&l->mu);
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		for (int t = 0; t < l->started; t++)
			pthread_join(l->threads[t], NULL);
	}
}

void tr_api_listeners_close(struct tr_api *api)
{
	for (size_t i = 0; i < api->nls; i++) {
		nn_close(api->ls[i].sock);
		tr_api_secure_free(&api->ls[i]);
		free(api->ls[i].url);
		pthread_cond_destroy(&api->ls[i].cv);
		pthread_mutex_destroy(&api->ls[i].mu);
	}
}
