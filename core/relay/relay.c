/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.c - the agents' listeners (relay.h): the thread that reads them,
 * ticks (beats, dead links), start and stop, kick and status.  The
 * other files are listed in relay_int.h.
 *
 * The pattern: nanomsg cannot address one of many REQ peers, and a PAIR
 * socket takes one peer only, so the core binds a raw REP socket
 * (AF_SP_RAW, NN_REP) and each agent connects a raw REQ socket.  Every
 * message an agent sends is a request the core may answer once, whenever
 * it likes: the core keeps the routing headers of an agent's unanswered
 * requests ("parked", at most MAX_PARKED), and anything it has for that
 * agent (a command, a beat, an answer) goes out as the answer to the
 * oldest one.  The agent keeps requests parked by sending beats and by
 * sending one more request for each answer it gets.  The first four bytes
 * of a raw REP header name the connection (nanomsg's pipe), so a session
 * is bound to one TCP connection: a reconnect is a new pipe and must
 * handshake and authenticate again.
 */
#include <errno.h>
#include <fcntl.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <trellis/error.h>

#include "../config/config.h"
#include "../link/link.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "relay_int.h"

/* The relay thread, between two messages: mu to whoever waits for it. */
static void yield_mu(struct tr_relay *r)
{
	if (!atomic_load(&r->want) && !r->handoff)
		return;
	r->handoff = 0;
	pthread_mutex_unlock(&r->mu);
	sched_yield();
	for (int i = 0; i < 1000 && atomic_load(&r->want); i++)
		sched_yield();
	pthread_mutex_lock(&r->mu);
}

/* ---- the thread ---- */

static void on_message(struct tr_relay *r, int lsn, void *body, size_t len,
		       void *ctl)
{
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_control = &ctl;
	hdr.msg_controllen = NN_MSG;
	struct nn_cmsghdr *c = NN_CMSG_FIRSTHDR(&hdr);
	/* The SP header's data is its size (a size_t), then the header:
	 * the pipe's key (4 bytes), then the request id. */
	if (!c || c->cmsg_len < NN_CMSG_LEN(sizeof(size_t) + 8)) {
		nn_freemsg(ctl);
		return;
	}
	uint32_t pipe;
	memcpy(&pipe, NN_CMSG_DATA(c) + sizeof(size_t), 4);
	uint64_t now = tr_now_ms();
	struct session **p = tr_relay_slot(r, lsn, pipe), *s = *p;
	if (!s) {
		/* A new connection: its first message must be a HELLO. */
		s = tr_xcalloc(1, sizeof *s);
		if (!s) {
			nn_freemsg(ctl);
			return;
		}
		unsigned char chal[TR_LINK_CHALLENGE_LEN];
		if (tr_link_server_accept(&s->link, &r->kx, body, len, chal)) {
			/* Once per connection: a peer whose session was
			 * dropped may go on sending on it. */
			int seen = 0;
			for (int i = 0; i < QUIET_PIPES; i++)
				seen |= r->quiet[i] == pipe + 1;
			if (!seen) {
				r->quiet[r->nquiet++ % QUIET_PIPES] = pipe + 1;
				tr_warn("agents %s: refused a connection: %s",
					r->urls[lsn], s->link.why);
			}
			free(s);
			nn_freemsg(ctl);
			return;
		}
		s->lsn = lsn;
		s->pipe = pipe;
		s->gen = ++r->next_gen;
		s->st = S_LINKED;
		s->outtail = &s->outq;
		s->since = now;
		tr_relay_touch_rx(r, s, now);
		*p = s;
		r->nsessions++;
		s->parked[s->nparked++] = ctl;
		tr_relay_send_raw(r, s, chal, sizeof chal);
		return;
	}
	static unsigned char plain[MAX_FRAME + TR_LINK_OVERHEAD];
	enum tr_link_kind kind;
	if (len > MAX_FRAME + TR_LINK_OVERHEAD) {
		nn_freemsg(ctl);
		tr_warn("agents %s: frame too large from %s", r->urls[lsn],
			s->agent[0] ? s->agent : s->link.params);
		tr_relay_drop(r, s, "frame too large");
		return;
	}
	long n = tr_link_open(&s->link, body, len, &kind, plain);
	if (n < 0 && s->st == S_LINKED) {
		/* The first frame, sealed with the keys of this handshake
		 * only: one that fails is a captured handshake replayed (or
		 * a forged one), and no agent is named yet. */
		nn_freemsg(ctl);
		char why[256];
		snprintf(why, sizeof why,
			 "its first frame fails: %s; a handshake captured "
			 "from another connection, replayed, or a forged one",
			 s->link.why);
		tr_relay_refused(r, s, r->urls[lsn], "?", "?", s->link.params,
				 why);
		return;
	}
	if (n < 0) {
		nn_freemsg(ctl);
		tr_warn("agents %s: %s%s%s: %s", r->urls[lsn],
			s->agent[0] ? "agent '" : "",
			s->agent[0] ? s->agent : s->link.params,
			s->agent[0] ? "'" : "", s->link.why);
		tr_relay_drop(r, s, s->link.why);
		return;
	}
	tr_relay_touch_rx(r, s, now);
	s->inflight = 0;
	if (s->nparked == MAX_PARKED) {
		nn_freemsg(s->parked[0]);
		memmove(s->parked, s->parked + 1,
			(MAX_PARKED - 1) * sizeof *s->parked);
		s->nparked--;
	}
	s->parked[s->nparked++] = ctl;
	if (kind == TR_LINK_CLOSE) {
		tr_relay_drop(r, s, "closed by the agent");
		return;
	}
	/* Most frames are an up agent's poll or beat: a parked request
	 * and nothing to read (no JSON parse for 10,000 agents' beats). */
	if (s->st == S_UP && n == 12 &&
	    (memcmp(plain, "{\"t\":\"poll\"}", 12) == 0 ||
	     memcmp(plain, "{\"t\":\"beat\"}", 12) == 0)) {
		tr_relay_flush(r, s);
		return;
	}
	json_t *m = json_loadb((const char *)plain, (size_t)n, 0, NULL);
	const char *t = tr_relay_jstr(m, "t");
	if (!t) {
		json_decref(m);
		tr_relay_refused(
		    r, s, r->urls[lsn], s->agent[0] ? s->agent : "?", "?",
		    s->link.params, "a frame that is not a message");
		return;
	}
	if (s->st == S_LINKED) {
		if (strcmp(t, "auth") == 0)
			tr_relay_on_auth(r, s, m);
		else
			tr_relay_refused(r, s, r->urls[lsn], "?", "?",
					 s->link.params,
					 "a message before authentication");
	} else if (s->st == S_UP) {
		if (strcmp(t, "result") == 0)
			tr_relay_on_result(r, s, m);
		else if (strcmp(t, "report") == 0)
			tr_relay_on_report(r, s, m);
		else if (strcmp(t, "delta") == 0)
			tr_relay_on_delta(r, s, m);
		/* beat, poll: a parked request, which tr_relay_flush() may use.
		 */
		tr_relay_flush(r, s);
	}
	json_decref(m);
}

/* Beats, dead links, handshakes that never authenticated.  drained: the
 * listeners' queues were read to the end.  When they were not (a storm
 * of handshakes: 10,000 agents at once), an agent's beat may be waiting
 * in them, unread: no link is declared dead and no handshake dropped
 * for silence until the relay has caught up. */
static void tick(struct tr_relay *r, int drained)
{
	uint64_t now = tr_now_ms();
	uint64_t dead_ms = (uint64_t)r->beat_ms * r->dead;
	uint64_t first = dead_ms < AUTH_WITHIN_MS ? dead_ms : AUTH_WITHIN_MS;
	struct session *s, *next;
	/* Silence, oldest first: only the sessions silent for longer than
	 * the shorter limit are looked at. */
	for (s = r->by_rx.head; drained && s && now - s->last_rx > first;
	     s = next) {
		next = s->rx.next;
		if (s->st == S_UP && now - s->last_rx > dead_ms) {
			char why[96];
			snprintf(why, sizeof why, "dead: no beat for %llu ms",
				 (unsigned long long)(now - s->last_rx));
			tr_relay_drop(r, s, why);
		} else if (s->st == S_LINKED && now - s->since > AUTH_WITHIN_MS) {
			/* A handshake must authenticate in time; one that
			 * did (S_AUTHING) waits for the store's answer
			 * however long the main thread's queue is (10,000
			 * agents enrolling at once), since dropping it would
			 * burn its token for nothing. */
			tr_relay_drop(r, s, "no authentication in time");
		}
	}
	/* Beats due, oldest last frame sent first: a beat sent moves its
	 * session to the tail, so the walk ends at the first not due. */
	for (s = r->by_tx.head; s && now - s->last_tx >= r->beat_ms; s = next) {
		next = s->tx.next;
		if (s->st == S_UP && !s->outq && s->nparked && !s->inflight)
			tr_relay_enqueue_text(r, s, tr_xstrdup("{\"t\":\"beat\"}"));
	}
}

static void *relay_thread(void *arg)
{
	struct tr_relay *r = arg;
	struct pollfd pfd[MAX_SOCKS];
	for (int i = 0; i < r->nsocks; i++) {
		size_t sz = sizeof pfd[i].fd;
		nn_getsockopt(r->socks[i], NN_SOL_SOCKET, NN_RCVFD, &pfd[i].fd,
			      &sz);
		pfd[i].events = POLLIN;
	}
	uint64_t last_tick = 0;
	while (!r->stop) {
		poll(pfd, (nfds_t)r->nsocks, TICK_MS);
		pthread_mutex_lock(&r->mu);
		int drained = 1;
		for (int i = 0; i < r->nsocks; i++) {
			for (int k = 0;; k++) {
				if (k == 256) {
					drained = 0;
					break;
				}
				void *body = NULL, *ctl = NULL;
				struct nn_iovec iov = {&body, NN_MSG};
				struct nn_msghdr hdr;
				tr_relay_msghdr(&hdr, &iov, &ctl);
				int n =
				    nn_recvmsg(r->socks[i], &hdr, NN_DONTWAIT);
				if (n < 0)
					break;
				on_message(r, i, body, (size_t)n, ctl);
				nn_freemsg(body);
				yield_mu(r);
			}
		}
		/* Often, so that each tick's beats are few: a relayed
		 * call's answer never waits behind a long burst of them. */
		uint64_t now = tr_now_ms();
		if (now - last_tick >= TICK_MS) {
			tick(r, drained);
			last_tick = now;
		}
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

int tr_relay_start(struct tr_daemon *d, char *err, size_t errlen)
{
	const struct tr_config *cfg = d->config;
	if (!cfg->n_agents_listen)
		return 0;
	if (cfg->n_agents_listen > MAX_SOCKS) {
		snprintf(err, errlen, "agents.listen: at most %d URLs",
			 MAX_SOCKS);
		return -1;
	}
	struct tr_relay *r = tr_xcalloc(1, sizeof *r);
	if (!r || tr_link_init() < 0) {
		free(r);
		snprintf(err, errlen, "agents: out of memory or no libsodium");
		return -1;
	}
	r->d = d;
	r->beat_ms = cfg->agents_beat_ms ? cfg->agents_beat_ms : 5000;
	r->dead = cfg->agents_dead ? cfg->agents_dead : 3;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->answered, NULL);
	randombytes_buf(&r->boot, sizeof r->boot);
	d->relay = r;
	if (tr_relay_key_load(d->state_dir, &r->kx, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->n_agents_listen; i++) {
		const char *url = cfg->agents_listen[i];
		int sock = nn_socket(AF_SP_RAW, NN_REP);
		int maxsz = (int)(MAX_FRAME + 4096);
		int one = 1; /* small frames, each waited for: no Nagle */
		if (sock >= 0) {
			nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE,
				      &maxsz, sizeof maxsz);
			nn_setsockopt(sock, NN_TCP, NN_TCP_NODELAY, &one,
				      sizeof one);
		}
		if (sock < 0 || nn_bind(sock, url) < 0) {
			snprintf(err, errlen, "agents.listen %s: %s", url,
				 nn_strerror(nn_errno()));
			if (sock >= 0)
				nn_close(sock);
			goto fail;
		}
		r->socks[r->nsocks] = sock;
		r->urls[r->nsocks++] = tr_xstrdup(url);
	}
	if (pthread_create(&r->thr, NULL, relay_thread, r)) {
		snprintf(err, errlen, "agents: cannot start a thread");
		goto fail;
	}
	pthread_setname_np(r->thr, "trellisd-relay");
	r->started = 1;
	char pk[65];
	tr_link_hex(r->kx.pk, 32, pk);
	tr_info("agents: listening on %s%s (core key %s)", r->urls[0],
		r->nsocks > 1 ? " and more" : "", pk);
	return 0;
fail:
	tr_relay_stop(d);
	return -1;
}

void tr_relay_stop(struct tr_daemon *d)
{
	struct tr_relay *r = d->relay;
	if (!r)
		return;
	r->stop = 1;
	if (r->started)
		pthread_join(r->thr, NULL);
	/* Callers still waiting give up (CANCELLED) before r goes. */
	pthread_mutex_lock(&r->mu);
	while (r->callers) {
		pthread_cond_broadcast(&r->answered);
		pthread_mutex_unlock(&r->mu);
		usleep(10000);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	for (size_t b = 0; b < NBUCKETS; b++)
		while (r->buckets[b]) {
			struct session *s = r->buckets[b];
			s->st = S_LINKED; /* no news to the main thread now */
			tr_relay_drop(r, s, "the core stops");
		}
	for (int i = 0; i < r->nsocks; i++) {
		nn_close(r->socks[i]);
		free(r->urls[i]);
	}
	sodium_memzero(&r->kx, sizeof r->kx);
	for (struct pending *p = r->pending, *n; p; p = n) {
		n = p->next; /* no caller is left: the workers are gone */
		free(p->json);
		json_decref(p->result);
		free(p);
	}
	pthread_cond_destroy(&r->answered);
	pthread_mutex_destroy(&r->mu);
	free(r);
	d->relay = NULL;
}

int tr_relay_kick(struct tr_daemon *d, const char *agent, const char *why)
{
	struct tr_relay *r = d->relay;
	if (!r)
		return 0;
	tr_relay_lock(r);
	struct session *s = tr_relay_find(r, agent);
	if (s) {
		tr_relay_send_close(
		    r, s,
		    json_pack("{s:s, s:s}", "t", "revoked", "reason", why));
		tr_relay_drop(r, s, why);
	}
	pthread_mutex_unlock(&r->mu);
	return s != NULL;
}

int tr_relay_tell(struct tr_daemon *d, const char *agent, json_t *msg)
{
	struct tr_relay *r = d->relay;
	if (!r) {
		json_decref(msg);
		return 0;
	}
	tr_relay_lock(r);
	struct session *s = tr_relay_find(r, agent);
	if (s)
		tr_relay_enqueue(r, s, msg);
	else
		json_decref(msg);
	pthread_mutex_unlock(&r->mu);
	return s != NULL;
}

json_t *tr_relay_status(struct tr_daemon *d, const char *agent)
{
	struct tr_relay *r = d->relay;
	if (!r)
		return json_pack("{s:b}", "connected", 0);
	tr_relay_lock(r);
	struct session *s = tr_relay_find(r, agent);
	json_t *o;
	uint64_t now = tr_now_ms();
	if (s)
		o = json_pack(
		    "{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "connected", 1,
		    "listener", r->urls[s->lsn], "params", s->link.params,
		    "connected_ms", (json_int_t)(now - s->since),
		    "last_beat_ms_ago", (json_int_t)(now - s->last_rx),
		    "reports", (json_int_t)s->reports, "deltas",
		    (json_int_t)s->deltas, "last_report_ms_ago",
		    (json_int_t)(s->last_report ? now - s->last_report : 0));
	else
		o = json_pack("{s:b}", "connected", 0);
	pthread_mutex_unlock(&r->mu);
	return o;
}

char *const *tr_relay_urls(struct tr_daemon *d)
{
	static char *none[1];
	return d->relay ? d->relay->urls : none;
}
