/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sessions.c - the relay's sessions (one an agent's connection, by
 * listener and pipe, and the authenticated by name) and what goes out
 * on them: one sealed frame at a time, the answer to a parked request,
 * batching what is queued meanwhile.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/error.h>

#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "relay_int.h"

/* mu for any thread but the relay's own: counted in want, so that the
 * relay thread, which takes mu for every message, hands it over rather
 * than taking it again at once (a mutex is not fair): an enrolment's
 * answer or a relayed call never waits behind a storm of beats. */
void tr_relay_lock(struct tr_relay *r)
{
	atomic_fetch_add(&r->want, 1);
	pthread_mutex_lock(&r->mu);
	atomic_fetch_sub(&r->want, 1);
}

/* ---- sessions (r->mu held) ---- */

/* Fibonacci hashing, the product's top bits: a pipe's key is a
 * pointer's low half, its low bits zero (alignment), and a plain modulo
 * of the product would use 1 bucket in 16. */
static unsigned pipe_bucket(int lsn, uint32_t pipe)
{
	uint32_t h = (pipe ^ ((uint32_t)lsn << 24)) * 2654435761u;
	return h >> (32 - NBUCKETS_BITS);
}

struct session **tr_relay_slot(struct tr_relay *r, int lsn, uint32_t pipe)
{
	struct session **p = &r->buckets[pipe_bucket(lsn, pipe)];
	while (*p && ((*p)->lsn != lsn || (*p)->pipe != pipe))
		p = &(*p)->next;
	return p;
}

static struct session **name_slot(struct tr_relay *r, const char *agent)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *c = agent; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return &r->by_name[h % NBUCKETS];
}

/* The authenticated session of agent, or NULL: one bucket's walk, as a
 * relayed call and every status asks it (10,000 agents). */
struct session *tr_relay_find(struct tr_relay *r, const char *agent)
{
	for (struct session *s = *name_slot(r, agent); s; s = s->nnext)
		if (strcmp(s->agent, agent) == 0)
			return s;
	return NULL;
}

/* s is up as agent (its name set): into the name index. */
void tr_relay_name_add(struct tr_relay *r, struct session *s)
{
	struct session **p = name_slot(r, s->agent);
	s->nnext = *p;
	*p = s;
}

static void name_del(struct tr_relay *r, struct session *s)
{
	for (struct session **p = name_slot(r, s->agent); *p; p = &(*p)->nnext)
		if (*p == s) {
			*p = s->nnext;
			return;
		}
}

struct hosts_news {
	char agent[64];
	const char *state;
	char error[160];
};

static void hosts_state_main(struct tr_daemon *d, void *arg)
{
	struct hosts_news *n = arg;
	if (d->store)
		tr_agent_hosts_state(tr_store_sql(d->store), n->agent, n->state,
				     n->error[0] ? n->error : NULL);
	free(n);
}

/* Tells the main thread that agent's hosts are up or disconnected. */
static void hosts_news(struct tr_relay *r, const char *agent, const char *st,
		       const char *error)
{
	struct hosts_news *n = tr_xcalloc(1, sizeof *n);
	if (!n)
		return;
	snprintf(n->agent, sizeof n->agent, "%s", agent);
	n->state = st;
	snprintf(n->error, sizeof n->error, "%s", error ? error : "");
	if (tr_daemon_call_main(r->d, hosts_state_main, n))
		free(n);
}

#define DL(s, off) ((struct dlink *)((char *)(s) + (off)))

static void dl_del(struct dlist *l, struct session *s, size_t off)
{
	struct dlink *k = DL(s, off);
	if (k->prev)
		DL(k->prev, off)->next = k->next;
	else if (l->head == s)
		l->head = k->next;
	else
		return; /* not in the list */
	if (k->next)
		DL(k->next, off)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

static void dl_to_tail(struct dlist *l, struct session *s, size_t off)
{
	struct dlink *k = DL(s, off);
	if (l->tail == s)
		return;
	dl_del(l, s, off);
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		DL(l->tail, off)->next = s;
	else
		l->head = s;
	l->tail = s;
}

void tr_relay_touch_rx(struct tr_relay *r, struct session *s, uint64_t now)
{
	s->last_rx = now;
	dl_to_tail(&r->by_rx, s, offsetof(struct session, rx));
}

void tr_relay_drop(struct tr_relay *r, struct session *s,
		   const char *why)
{
	struct session **p = tr_relay_slot(r, s->lsn, s->pipe);
	if (*p == s)
		*p = s->next;
	dl_del(&r->by_rx, s, offsetof(struct session, rx));
	dl_del(&r->by_tx, s, offsetof(struct session, tx));
	for (int i = 0; i < s->nparked; i++)
		nn_freemsg(s->parked[i]);
	for (struct outmsg *m = s->outq, *n; m; m = n) {
		n = m->next;
		free(m->json);
		free(m);
	}
	if (s->st == S_UP) {
		name_del(r, s);
		tr_info("agent '%s' (zone '%s'): link closed: %s", s->agent,
			s->zone, why);
		hosts_news(r, s->agent, "disconnected", why);
	}
	tr_link_wipe(&s->link);
	r->nsessions--;
	free(s);
}

/* Sends one message as the answer to s's oldest parked request. */
int tr_relay_send_raw(struct tr_relay *r, struct session *s, const void *buf,
		      size_t len)
{
	if (s->nparked == 0)
		return -1;
	void *ctl = s->parked[0];
	memmove(s->parked, s->parked + 1, (size_t)--s->nparked * sizeof ctl);
	struct nn_iovec iov = {(void *)buf, len};
	struct nn_msghdr hdr;
	tr_relay_msghdr(&hdr, &iov, &ctl);
	if (nn_sendmsg(r->socks[s->lsn], &hdr, NN_DONTWAIT) < 0) {
		nn_freemsg(ctl);
		return -1;
	}
	s->last_tx = tr_now_ms();
	dl_to_tail(&r->by_tx, s, offsetof(struct session, tx));
	return 0;
}

/* Seals what is queued for s into one frame, {"m": [...]}, and sends it
 * as the answer to a parked request, when no frame of ours is in flight:
 * a raw REP socket silently drops a message sent to a pipe that is still
 * writing the previous one, so the core sends one frame at a time and
 * the agent's next request (sent once it got ours) clears inflight. */
void tr_relay_flush(struct tr_relay *r, struct session *s)
{
	static unsigned char frame[MAX_FRAME + TR_LINK_OVERHEAD];
	if (!s->outq || !s->nparked || s->inflight ||
	    s->link.state != TR_LINK_OPEN)
		return;
	size_t len = 6;
	struct outmsg *m = s->outq, *last = NULL;
	for (; m && len + strlen(m->json) + 2 <= MAX_FRAME; m = m->next) {
		len += strlen(m->json) + 1;
		last = m;
	}
	if (!last) { /* one message too large: it is dropped */
		m = s->outq;
		s->outq = m->next;
		if (!s->outq)
			s->outtail = &s->outq;
		free(m->json);
		free(m);
		return;
	}
	char *text = tr_xmalloc(len + 2), *p = text;
	if (!text)
		return;
	p += sprintf(p, "{\"m\":[");
	for (m = s->outq;;) {
		struct outmsg *n = m->next;
		p += sprintf(p, "%s%s", m->json, m == last ? "]}" : ",");
		free(m->json);
		free(m);
		if (m == last) {
			s->outq = n;
			break;
		}
		m = n;
	}
	if (!s->outq)
		s->outtail = &s->outq;
	long n =
	    tr_link_seal(&s->link, TR_LINK_DATA, text, strlen(text), frame);
	free(text);
	if (n > 0 && tr_relay_send_raw(r, s, frame, (size_t)n) == 0)
		s->inflight = 1;
}

/* Queues text (stolen, one JSON message) for s and sends it if a
 * request is parked. */
void tr_relay_enqueue_text(struct tr_relay *r, struct session *s, char *text)
{
	if (!text)
		return;
	struct outmsg *m = tr_xcalloc(1, sizeof *m);
	m->json = text;
	*s->outtail = m;
	s->outtail = &m->next;
	tr_relay_flush(r, s);
}

/* Queues msg (stolen) for s and sends it if a request is parked. */
void tr_relay_enqueue(struct tr_relay *r, struct session *s, json_t *msg)
{
	struct outmsg *m = tr_xcalloc(1, sizeof *m);
	if (m)
		m->json = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!m || !m->json) {
		free(m);
		return;
	}
	*s->outtail = m;
	s->outtail = &m->next;
	tr_relay_flush(r, s);
}

/* The link's last word to s: CLOSE with msg, if a request is parked. */
void tr_relay_send_close(struct tr_relay *r, struct session *s, json_t *msg)
{
	char *j = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	unsigned char frame[512 + TR_LINK_OVERHEAD];
	if (j && strlen(j) <= 512 && s->link.state == TR_LINK_OPEN) {
		long n =
		    tr_link_seal(&s->link, TR_LINK_CLOSE, j, strlen(j), frame);
		if (n > 0)
			tr_relay_send_raw(r, s, frame, (size_t)n);
	}
	free(j);
}
