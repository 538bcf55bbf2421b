/* SPDX-License-Identifier: Apache-2.0 */
/* api_int.h - shared by the API's files; not for other callers. */
#ifndef TRELLIS_CORE_API_INT_H
#define TRELLIS_CORE_API_INT_H

#include "../runtime/daemon.h"
#include "../store/store.h"
#include "api.h"

/* Binds a nanomsg socket (events.c); ipc:// gets its directory and mode. */
int tr_nn_bind(int sock, const char *url, unsigned mode, char *err,
	       size_t errlen);

/* Common argument fields of list ops. */
#define TR_LIST_FIELDS                                                         \
	{"limit", TR_T_INT, 0, "at most this many (default 100, max 1000)"},   \
	{"after", TR_T_INT, 0, "the \"next\" of the previous page"}

/* Fills the paging part of q from args; INVALID_ARG for bad values. */
int tr_api_paging(struct tr_req *req, json_t *args, struct tr_store_query *q);
/* The read ops' common bodies: show the object args.name names; list
 * objects of kind, q holding the parent and filter (paging is read from
 * args).  Both answer req. */
void tr_api_show(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 json_t *args);
void tr_api_list(struct tr_daemon *d, struct tr_req *req, enum tr_kind kind,
		 struct tr_store_query *q, json_t *args);
/* The store a handler reads: its receive thread's, or the main one. */
struct tr_store *tr_api_store(struct tr_daemon *d);
/* Gets the object ref of kind into *out when the caller may see it: 0;
 * else answers req (NOTFOUND for another BU's object, exactly as for a
 * missing one, audited) and returns -1. */
int tr_api_get_scoped(struct tr_daemon *d, struct tr_req *req,
		      enum tr_kind kind, const char *ref, json_t **out);
/* Records a pool's capacity as its plugin just reported it
 * (storage.pool_info's result) in its record's spec.capacity_bytes, which
 * allocation approvals check (core/tenancy/alloc.c).  Main thread. */
/* A host or pool at an agent's site (ops_host.c): the agent is enrolled,
 * not revoked, of the cluster's zone and connected (else the probe would
 * wait for it).  0, or -1 with req failed. */
int tr_api_via_agent_check(struct tr_daemon *d, struct tr_req *req,
			   const char *agent, const char *cluster);

void tr_api_pool_capacity_seen(struct tr_daemon *d, const char *pool,
			       json_t *result);
/* Runs action (network.router_ensure or network.router_remove) with args
 * (stolen) on a worker, then answers req with answer (stolen) plus the
 * action's result as "router"; when the action fails, calls undo(d,
 * undo_arg) first (may be NULL) and answers its error.  undo_arg is
 * stolen.  ops_ipam.c. */
typedef void (*tr_router_undo_fn)(struct tr_daemon *d, json_t *undo_arg);
void tr_api_router_sync(struct tr_daemon *d, struct tr_req *req,
			const char *action, json_t *args, json_t *answer,
			tr_router_undo_fn undo, json_t *undo_arg);
/* Answers ok with out (stolen) when rc is 0, else with the error in
 * call. */
void tr_req_answer_store(struct tr_req *req, int rc, json_t *out,
			 trellis_call_t *call);
/* Answers with the store's error in call (and details, stolen). */
void tr_req_fail_store(struct tr_req *req, trellis_call_t *call,
		       json_t *details);

#endif
