/* SPDX-License-Identifier: Apache-2.0 */
/* api_core.h - the API object's insides, shared by api.c (requests and
 * answers) and listen.c (sockets, receive threads, API keys); not for
 * other callers. */
#ifndef TRELLIS_CORE_API_CORE_H
#define TRELLIS_CORE_API_CORE_H

#include <pthread.h>
#include <stdatomic.h>

#include "../auth/auth.h"
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
	struct tr_api_secure *secure; /* tcp://: the secure link (secure.c) */
};

struct tr_req {
	struct tr_api *api;
	struct listener *l; /* NULL: tr_api_handle_bytes */
	void *control;      /* nanomsg routing header */
	struct tr_api_sess *sess; /* tcp://: the answer is sealed on it */
	const struct tr_api_op *op;
	char **sync_reply;
	json_t *env, *args; /* handed to the main thread */
	char key[72];       /* the API key's name (tcp://), for the audit */
	struct tr_ident who; /* the caller */
	const char *as_user; /* tr_api_handle_bytes_as */
	int audit;          /* record the answer in the audit trail */
	int denied;         /* the answer is a refusal (audited as such) */
	char object[128];   /* what the op acts on, for the audit */
	char audit_op[80];  /* the op, once it is known */
	const char *origin; /* the listener's address, for logs */
	int auth;           /* the request needs an API key */
	int code;           /* the answer's: 0 (ok) or TRELLIS_E_* */
	int key_refused;    /* answered PERMISSION for want of a valid key */
	tr_api_reply_fn reply; /* tr_api_call's callers: the answer goes here */
	void *reply_ctx;
	long long t0_ns;    /* received (CLOCK_MONOTONIC), for the metrics */
	struct tr_req *prev, *next;
};

/* The ipc:// local tokens: hash -> uid (local.c). */
struct tr_local_token {
	char hash[65];
	long uid;
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
	/* Under keys_lock too: */
	struct tr_roles *roles;          /* NULL: built-in */
	struct tr_local_token *tokens;   /* ipc:// callers */
	size_t ntokens;
	int ipc_private;                 /* the ipc:// socket admits only
					    the daemon's uid: a request
					    without a token is the daemon's
					    owner's */
	/* Audit records waiting for the main thread (audit.c). */
	pthread_mutex_t audit_lock;
	struct tr_audit_pending *audit_q;
	int audit_scheduled;
	volatile int stop;    /* receive threads: leave */
	volatile int closing; /* tr_api_free: handed requests are refused */
};

/* secure.c: the secure link on a tcp:// listener.  init loads (or
 * makes) the core's key; in reads one message off the socket: 1 when it
 * was a handshake (answered), 0 with *plain (malloc()ed, the request)
 * and *sess (held until unref), -1 when it was refused (dropped, no
 * answer); control is consumed unless 0 is returned.  seal makes the
 * answer's frame (an nn_allocmsg()ed message) or NULL. */
struct tr_api_sess;
int tr_api_secure_init(struct listener *l, const char *state_dir, char *err,
		       size_t errlen);
void tr_api_secure_free(struct listener *l);
int tr_api_secure_in(struct listener *l, const void *body, size_t len,
		     void **control, char **plain, size_t *plen,
		     struct tr_api_sess **sess);
void *tr_api_secure_seal(struct listener *l, struct tr_api_sess *x,
			 const char *msg, size_t len, size_t *outlen);
void tr_api_secure_unref(struct listener *l, struct tr_api_sess *x);

/* Set on a receive thread (listen.c): its read-only store connection. */
extern _Thread_local struct tr_store *tr_api_tls_store;
extern _Thread_local int tr_api_tls_thread;

/* api.c: a request a receive thread took off l; answers or hands it on. */
void tr_api_handle_received(struct tr_api *api, struct tr_req *req,
			    const char *buf, size_t len);

/* ident.c: who sent req (env's "auth"), 0 or answers req and -1. */
int tr_api_identify(struct tr_api *api, struct tr_req *req,
		    const char *token);
/* ident.c: whether req's caller may run req->op with args; 0, or answers
 * PERMISSION (audited) and -1. */
int tr_api_authorize(struct tr_api *api, struct tr_req *req,
		     const struct tr_api_op *op, json_t *args);
/* api.c: answers a tcp:// request without a valid API key (st 0: none or
 * unknown, -1: expired). */
void tr_api_refused(struct tr_api *api, struct tr_req *req, int st,
		    int had_token);
/* ident.c: records req's outcome (code 0: ok) when req is audited. */
void tr_api_audit_answer(struct tr_req *req, int code);
void tr_api_audit_free(struct tr_api *api);

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
