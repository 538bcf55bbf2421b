/* SPDX-License-Identifier: Apache-2.0 */
/* api_core.h - the API object's insides, shared by api.c (requests and
 * answers) and listen.c (sockets, receive threads, API keys); not for
 * other callers. */
#ifndef TRELLIS_CORE_API_CORE_H
#define TRELLIS_CORE_API_CORE_H

#include <pthread.h>
#include <stdatomic.h>

#include "api_int.h"

#define MAX_LISTENERS 4
#define MAX_RECV_THREADS 16 /* per listener */

struct listener {
	int sock;
	char *url;
	struct tr_api *api;
	pthread_t threads[MAX_RECV_THREADS];
	int nthreads;       /* set before the threads start, then constant */
	int started;        /* threads to join */
	pthread_mutex_t mu; /* wake and awake */
	pthread_cond_t cv;  /* helpers wait here for wake */
	int wake;           /* thread 0 saw a backlog: helpers, receive */
	atomic_int awake;   /* helpers receiving now */
	int auth;           /* tcp://: requests need an API key */
};

struct tr_req {
	struct tr_api *api;
	struct listener *l; /* NULL: tr_api_handle_bytes */
	void *control;      /* nanomsg routing header */
	const struct tr_api_op *op;
	char **sync_reply;
	json_t *env, *args; /* handed to the main thread */
	char key[72];       /* the API key's name (tcp://), for the audit */
	const char *origin; /* the listener's address, for logs */
	int auth;           /* the request needs an API key */
	int code;           /* the answer's: 0 (ok) or TRELLIS_E_* */
	int key_refused;    /* answered PERMISSION for want of a valid key */
	tr_api_reply_fn reply; /* tr_api_call's callers: the answer goes here */
	void *reply_ctx;
	long long t0_ns;    /* received (CLOCK_MONOTONIC), for the metrics */
	struct tr_req *prev, *next;
};

struct tr_api {
	struct tr_daemon *d;
	struct tr_api_limits limits;
	const struct tr_api_op **ops; /* sorted by name */
	size_t nops, capops;
	struct listener ls[MAX_LISTENERS];
	size_t nls;
	pthread_mutex_t lock; /* inflight and reqs */
	unsigned inflight;
	struct tr_req *reqs; /* in flight */
	atomic_ulong requests, reads, wakeups; /* tr_api_stats */
	atomic_ulong refused;                  /* without a valid API key */
	atomic_llong refused_logged;           /* when last logged, unix s */
	pthread_rwlock_t keys_lock;
	struct tr_keys *keys; /* for tcp:// listeners */
	volatile int stop;    /* receive threads: leave */
	volatile int closing; /* tr_api_free: handed requests are refused */
};

/* Set on a receive thread (listen.c): its read-only store connection. */
extern _Thread_local struct tr_store *tr_api_tls_store;
extern _Thread_local int tr_api_tls_thread;

/* api.c: a request a receive thread took off l; answers or hands it on. */
void tr_api_handle_received(struct tr_api *api, struct tr_req *req,
			    const char *buf, size_t len);

/* listen.c */
/* Stops and joins every receive thread. */
void tr_api_listeners_stop(struct tr_api *api);
/* Closes the sockets (after tr_api_listeners_stop). */
void tr_api_listeners_close(struct tr_api *api);
/* Whether token is one of the API keys, now: 1 valid, -1 expired (name
 * gets the key's name for both), 0 none (never logs the token). */
int tr_api_key_check(struct tr_api *api, const char *token, char *name,
		     size_t namelen);

#endif
