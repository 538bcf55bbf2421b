/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_int.h - what the relay's files share (core/relay only): the
 * sessions, the pending commands and the relay's state (struct tr_relay),
 * and the functions one file gives the others.  Every function here runs
 * with r->mu held unless it says otherwise.
 *
 * The files, from the bottom up: sessions.c (the session table, sending
 * and queueing frames), calls.c (relayed actions: pending commands and
 * their answers), auth.c (a first frame's proof, the store's decision),
 * reports.c (inventory reports and deltas), keys.c (the core's link
 * key), relay.c (the listeners' thread, ticks, start and stop).
 */
#ifndef TRELLIS_CORE_RELAY_RELAY_INT_H
#define TRELLIS_CORE_RELAY_RELAY_INT_H

#include <jansson.h>
#include <nanomsg/nn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../link/link.h"
#include "relay.h"

#define MAX_SOCKS 4
#define MAX_PARKED 8
#define NBUCKETS_BITS 12
#define NBUCKETS (1u << NBUCKETS_BITS)
#define AUTH_WITHIN_MS 10000
#define MAX_FRAME (1u << 20)
#define TICK_MS 20 /* beats due, dead links */
#define QUIET_PIPES 64

enum sstate { S_LINKED, S_AUTHING, S_UP };

struct outmsg {
	char *json;
	struct outmsg *next;
};

/* A session's place in one of the relay's time-ordered lists (dlist):
 * by last frame received (dead links) and by last frame sent (beats
 * due).  A session moves to a list's tail each time its time is set
 * to now, so each list stays ordered and a tick looks only at its head:
 * the sessions due, not all 10,000. */
struct session;
struct dlink {
	struct session *prev, *next;
};
struct dlist {
	struct session *head, *tail;
};

struct session {
	int lsn;
	uint32_t pipe;
	uint64_t gen;
	enum sstate st;
	struct tr_link link;
	char agent[64], zone[64];
	void *parked[MAX_PARKED];
	int nparked;
	int inflight; /* a frame of ours the agent has not answered yet */
	struct outmsg *outq, **outtail;
	uint64_t since, last_rx, last_tx;
	uint64_t reports, deltas, last_report; /* what it reported */
	struct session *next;  /* in its pipe's bucket */
	struct session *nnext; /* in its name's bucket (S_UP only) */
	struct dlink rx, tx;   /* in r->by_rx, r->by_tx */
};

/* A relayed action waiting for its agent's answer (tr_relay_call): it
 * stays until answered or given up, and is sent again each time its
 * agent authenticates, under the same id (the agent answers a known id
 * from what it remembers, and never runs it twice). */
struct pending {
	char id[40], agent[64];
	char *json;	/* the command message */
	json_t *result; /* the agent's answer, once it came */
	int sent_gen_valid;
	uint64_t sent_gen;	     /* the session it last went out on */
	uint64_t t_queued, t_answer; /* us: last queued, answer read */
	struct pending *next;
};

struct tr_relay {
	struct tr_daemon *d;
	struct tr_link_keypair kx;
	int socks[MAX_SOCKS];
	char *urls[MAX_SOCKS + 1];
	int nsocks;
	pthread_t thr;
	int started;
	volatile int stop;
	pthread_mutex_t mu; /* everything below */
	atomic_int want;    /* threads other than the relay's waiting for mu */
	uint64_t quiet[QUIET_PIPES]; /* pipes refused lately (+1), told once */
	unsigned nquiet;
	int handoff; /* a caller was woken: let it have mu */
	struct session *buckets[NBUCKETS]; /* by listener and pipe */
	struct session *by_name[NBUCKETS]; /* the authenticated, by agent */
	struct dlist by_rx, by_tx; /* every session, oldest last_rx/last_tx first */
	unsigned nsessions;
	uint64_t next_gen;
	unsigned beat_ms, dead;
	struct pending *pending;
	pthread_cond_t answered; /* a pending command got its answer */
	uint64_t boot, next_cmd;
	unsigned callers; /* threads inside tr_relay_call */
	tr_relay_report_fn report;
	tr_relay_delta_fn delta;
};

/* sessions.c */
/* mu for any thread but the relay's own: counted in want, so that the
 * relay thread, which takes mu for every message, hands it over rather
 * than taking it again at once (a mutex is not fair): an enrolment's
 * answer or a relayed call never waits behind a storm of beats. */
void tr_relay_lock(struct tr_relay *r);
/* The slot of listener lsn's pipe in the session table. */
struct session **tr_relay_slot(struct tr_relay *r, int lsn, uint32_t pipe);
/* The authenticated session of agent, or NULL. */
struct session *tr_relay_find(struct tr_relay *r, const char *agent);
/* s is up as agent (its name set): into the name index. */
void tr_relay_name_add(struct tr_relay *r, struct session *s);
/* Drops s (its pipe's requests, its queue, its keys); an up agent's
 * hosts go disconnected. */
void tr_relay_drop(struct tr_relay *r, struct session *s, const char *why);
/* s received a frame now (last_rx), or is new: to by_rx's tail. */
void tr_relay_touch_rx(struct tr_relay *r, struct session *s, uint64_t now);
/* Sends one message as the answer to s's oldest parked request (and
 * sets last_tx: s to by_tx's tail). */
int tr_relay_send_raw(struct tr_relay *r, struct session *s, const void *buf,
		      size_t len);
/* Sends what is queued for s, if it can. */
void tr_relay_flush(struct tr_relay *r, struct session *s);
/* Queues text (stolen) or msg (stolen) for s, and flushes. */
void tr_relay_enqueue_text(struct tr_relay *r, struct session *s, char *text);
void tr_relay_enqueue(struct tr_relay *r, struct session *s, json_t *msg);
/* The link's last word to s: CLOSE with msg (stolen). */
void tr_relay_send_close(struct tr_relay *r, struct session *s, json_t *msg);

/* calls.c */
/* Sends s every command still waiting for s's agent. */
void tr_relay_send_pending(struct tr_relay *r, struct session *s);
/* {"t":"result"}: a pending command's answer. */
void tr_relay_on_result(struct tr_relay *r, struct session *s, json_t *m);

/* auth.c */
/* Logs a refusal and, with s, closes its link with the reason. */
void tr_relay_refused(struct tr_relay *r, struct session *s, const char *url,
		      const char *name, const char *zone, const char *params,
		      const char *why);
/* {"t":"auth"}: the first frame; the main thread decides. */
void tr_relay_on_auth(struct tr_relay *r, struct session *s, json_t *m);

/* reports.c */
void tr_relay_on_report(struct tr_relay *r, struct session *s, json_t *m);
void tr_relay_on_delta(struct tr_relay *r, struct session *s, json_t *m);

/* keys.c (no lock): loads or makes STATE_DIR/link.key. */
int tr_relay_key_load(const char *dir, struct tr_link_keypair *kp, char *err,
		      size_t errlen);

/* A message header of one part (iov) with its SP header in *ctl
 * (NN_MSG: nanomsg's own buffer), for nn_sendmsg and nn_recvmsg. */
static inline void tr_relay_msghdr(struct nn_msghdr *hdr, struct nn_iovec *iov,
				   void **ctl)
{
	memset(hdr, 0, sizeof *hdr);
	hdr->msg_iov = iov;
	hdr->msg_iovlen = 1;
	hdr->msg_control = ctl;
	hdr->msg_controllen = NN_MSG;
}

static inline const char *tr_relay_jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

#endif
