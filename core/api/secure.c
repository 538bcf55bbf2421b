/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secure.c - the secure link (core/link) on the API's tcp:// listeners:
 * every connection opens with the link's handshake (role api), and
 * every request and answer after it is one AEAD frame, so API keys,
 * secrets and VM data never cross the network in clear (docs/agent.md,
 * "The tcp:// API").  ipc:// stays as it is.
 *
 * A session is bound to nanomsg's pipe (one TCP connection), as the
 * relay's are: the first message on a pipe must be a HELLO, answered
 * with the CHALLENGE; every later one is a frame.  The client (the CLI)
 * pins the core's public key; it is authenticated by the API key inside
 * the encrypted request, as before.  A frame that fails (replayed,
 * reordered, tampered) ends the session and is not answered.
 *
 * Sessions live in a table under the listener's lock: the receive
 * threads open frames, the thread that answers (a receive thread or
 * the main thread) seals under the same lock, so a session's sequence
 * numbers move in one order.  A session idle for SESS_IDLE_MS with no
 * request in flight is dropped: nanomsg does not say when a pipe goes.
 */
#include <nanomsg/nn.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../link/link.h"
#include "../relay/relay.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "api_core.h"

#define SESS_BUCKETS 1024
#define SESS_IDLE_MS (5u * 60 * 1000)
#define SESS_MAX 65536
#define SWEEP_MS 10000

struct tr_api_sess {
	uint32_t pipe;
	struct tr_link link;
	uint64_t last;
	int refs;        /* requests in flight on it */
	int dead;        /* a frame failed: no answer, gone once unref'd */
	struct tr_api_sess *next;
};

struct tr_api_secure {
	struct tr_link_keypair kx;
	pthread_mutex_t mu;
	struct tr_api_sess *b[SESS_BUCKETS];
	unsigned n;
	uint64_t last_sweep;
};

int tr_api_secure_init(struct listener *l, const char *state_dir, char *err,
		       size_t errlen)
{
	struct tr_api_secure *s = tr_xcalloc(1, sizeof *s);
	if (tr_relay_core_keypair(state_dir, &s->kx, err, errlen) < 0) {
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->mu, NULL);
	l->secure = s;
	return 0;
}

static void sess_free(struct tr_api_sess *x)
{
	tr_link_wipe(&x->link);
	free(x);
}

void tr_api_secure_free(struct listener *l)
{
	struct tr_api_secure *s = l->secure;
	if (!s)
		return;
	for (size_t i = 0; i < SESS_BUCKETS; i++)
		for (struct tr_api_sess *x = s->b[i], *n; x; x = n) {
			n = x->next;
			sess_free(x);
		}
	sodium_memzero(&s->kx, sizeof s->kx);
	pthread_mutex_destroy(&s->mu);
	free(s);
	l->secure = NULL;
}

/* Drops idle and dead sessions (s->mu held). */
static void sweep(struct tr_api_secure *s, uint64_t now)
{
	s->last_sweep = now;
	for (size_t i = 0; i < SESS_BUCKETS; i++)
		for (struct tr_api_sess **p = &s->b[i]; *p;) {
			struct tr_api_sess *x = *p;
			if (!x->refs && (x->dead || now - x->last > SESS_IDLE_MS)) {
				*p = x->next;
				sess_free(x);
				s->n--;
			} else {
				p = &x->next;
			}
		}
}

static uint32_t pipe_of(void *control)
{
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_control = &control;
	hdr.msg_controllen = NN_MSG;
	struct nn_cmsghdr *c = NN_CMSG_FIRSTHDR(&hdr);
	uint32_t pipe = 0;
	/* The SP header's data: its size (a size_t), then the pipe's key. */
	if (c && c->cmsg_len >= NN_CMSG_LEN(sizeof(size_t) + 8))
		memcpy(&pipe, NN_CMSG_DATA(c) + sizeof(size_t), 4);
	return pipe;
}

/* Answers with raw bytes on the pipe control names (consumed). */
static void send_raw(struct listener *l, void **control, const void *buf,
		     size_t len)
{
	struct nn_iovec iov = {(void *)buf, len};
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = control;
	hdr.msg_controllen = NN_MSG;
	if (nn_sendmsg(l->sock, &hdr, NN_DONTWAIT) < 0)
		nn_freemsg(*control);
	*control = NULL;
}

int tr_api_secure_in(struct listener *l, const void *body, size_t len,
		     void **control, char **plain, size_t *plen,
		     struct tr_api_sess **sess)
{
	struct tr_api_secure *s = l->secure;
	uint32_t pipe = pipe_of(*control);
	uint64_t now = tr_now_ms();
	*plain = NULL;
	*sess = NULL;
	pthread_mutex_lock(&s->mu);
	if (now - s->last_sweep > SWEEP_MS)
		sweep(s, now);
	struct tr_api_sess **p = &s->b[pipe % SESS_BUCKETS];
	while (*p && (*p)->pipe != pipe)
		p = &(*p)->next;
	struct tr_api_sess *x = *p;
	if (!x || x->dead) {
		/* A new connection (or one whose link failed: it must start
		 * again): a HELLO. */
		if (x && !x->refs) {
			*p = x->next;
			sess_free(x);
			s->n--;
		} else if (x) {
			pthread_mutex_unlock(&s->mu);
			nn_freemsg(*control);
			*control = NULL;
			return -1;
		}
		if (s->n >= SESS_MAX) {
			pthread_mutex_unlock(&s->mu);
			tr_warn("api %s: refused a connection: %u secure sessions "
				"open", l->url, s->n);
			nn_freemsg(*control);
			*control = NULL;
			return -1;
		}
		x = tr_xcalloc(1, sizeof *x);
		unsigned char chal[TR_LINK_CHALLENGE_LEN];
		if (tr_link_server_accept(&x->link, &s->kx, body, len, chal) ||
		    x->link.role != TR_LINK_ROLE_API) {
			pthread_mutex_unlock(&s->mu);
			tr_warn("api %s: refused a connection: %s", l->url,
				x->link.role != TR_LINK_ROLE_API && !x->link.why[0]
				    ? "not an API client's handshake"
				    : x->link.why[0] ? x->link.why
						     : "not a handshake (is the "
						       "client older than the "
						       "secure tcp:// API?)");
			sess_free(x);
			nn_freemsg(*control);
			*control = NULL;
			return -1;
		}
		x->pipe = pipe;
		x->last = now;
		x->next = s->b[pipe % SESS_BUCKETS];
		s->b[pipe % SESS_BUCKETS] = x;
		s->n++;
		send_raw(l, control, chal, sizeof chal);
		pthread_mutex_unlock(&s->mu);
		return 1;
	}
	char *out = tr_xmalloc(len + 1);
	enum tr_link_kind kind;
	long n = tr_link_open(&x->link, body, len, &kind, (unsigned char *)out);
	if (n < 0 || kind != TR_LINK_DATA) {
		if (n < 0)
			tr_warn("api %s: secure session closed: %s", l->url,
				x->link.why);
		x->dead = 1;
		pthread_mutex_unlock(&s->mu);
		free(out);
		nn_freemsg(*control);
		*control = NULL;
		return -1;
	}
	out[n] = '\0';
	x->refs++;
	x->last = now;
	pthread_mutex_unlock(&s->mu);
	*plain = out;
	*plen = (size_t)n;
	*sess = x;
	return 0;
}

void *tr_api_secure_seal(struct listener *l, struct tr_api_sess *x,
			 const char *msg, size_t len, size_t *outlen)
{
	struct tr_api_secure *s = l->secure;
	unsigned char *f = nn_allocmsg(len + TR_LINK_OVERHEAD, 0);
	if (!f)
		return NULL;
	pthread_mutex_lock(&s->mu);
	long n = x->dead ? -1 : tr_link_seal(&x->link, TR_LINK_DATA, msg, len, f);
	pthread_mutex_unlock(&s->mu);
	if (n < 0) {
		nn_freemsg(f);
		return NULL;
	}
	*outlen = (size_t)n;
	return f;
}

void tr_api_secure_unref(struct listener *l, struct tr_api_sess *x)
{
	struct tr_api_secure *s = l->secure;
	pthread_mutex_lock(&s->mu);
	x->refs--;
	x->last = tr_now_ms();
	pthread_mutex_unlock(&s->mu);
}
