/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.c - the agents' listener and sessions (relay.h).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
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
#include "relay.h"

#define MAX_SOCKS 4
#define MAX_PARKED 8
#define NBUCKETS 4096
#define AUTH_WITHIN_MS 10000
#define MAX_FRAME (1u << 20)
#define TICK_MS 20 /* beats due, dead links */
#define QUIET_PIPES 64

enum sstate { S_LINKED, S_AUTHING, S_UP };

struct outmsg {
	char *json;
	struct outmsg *next;
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
};

/* A relayed action waiting for its agent's answer (tr_relay_call): it
 * stays until answered or given up, and is sent again each time its
 * agent authenticates, under the same id (the agent answers a known id
 * from what it remembers, and never runs it twice). */
struct pending {
	char id[40], agent[64];
	char *json; /* the command message */
	json_t *result; /* the agent's answer, once it came */
	int sent_gen_valid;
	uint64_t sent_gen; /* the session it last went out on */
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
	int handoff;	    /* a caller was woken: let it have mu */
	struct session *buckets[NBUCKETS]; /* by listener and pipe */
	struct session *by_name[NBUCKETS]; /* the authenticated, by agent */
	unsigned nsessions;
	uint64_t next_gen;
	unsigned beat_ms, dead;
	struct pending *pending;
	pthread_cond_t answered; /* a pending command got its answer */
	uint64_t boot, next_cmd;
	unsigned callers;  /* threads inside tr_relay_call */
	tr_relay_report_fn report;
	tr_relay_delta_fn delta;
};

/* mu for any thread but the relay's own: counted in want, so that the
 * relay thread, which takes mu for every message, hands it over rather
 * than taking it again at once (a mutex is not fair): an enrolment's
 * answer or a relayed call never waits behind a storm of beats. */
static void lock_other(struct tr_relay *r)
{
	atomic_fetch_add(&r->want, 1);
	pthread_mutex_lock(&r->mu);
	atomic_fetch_sub(&r->want, 1);
}

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

/* ---- the core's key ---- */

static int key_load(const char *dir, struct tr_link_keypair *kp, char *err,
		    size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/link.key", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		struct stat st;
		char pk[80], sk[80];
		int ok = fstat(fileno(f), &st) == 0 && !(st.st_mode & 077) &&
			 fscanf(f, "%70s %70s", pk, sk) == 2 &&
			 tr_link_unhex(pk, kp->pk, 32) == 0 &&
			 tr_link_unhex(sk, kp->sk, 32) == 0;
		sodium_memzero(sk, sizeof sk);
		fclose(f);
		if (!ok) {
			snprintf(err, errlen,
				 "%s: not a link key (two hex keys), or "
				 "readable by others", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	tr_link_kx_keypair(kp);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char pk[65], sk[65];
	tr_link_hex(kp->pk, 32, pk);
	tr_link_hex(kp->sk, 32, sk);
	fprintf(f, "%s %s\n", pk, sk);
	sodium_memzero(sk, sizeof sk);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	tr_info("agents: made the core's link key %s (public %s)", path, pk);
	return 0;
}

int tr_relay_core_keypair(const char *state_dir, struct tr_link_keypair *kp,
			  char *err, size_t errlen)
{
	if (tr_link_init() < 0) {
		snprintf(err, errlen, "libsodium does not initialise");
		return -1;
	}
	return key_load(state_dir, kp, err, errlen);
}

int tr_relay_core_key(const char *state_dir, char hex[65], char *err,
		      size_t errlen)
{
	struct tr_link_keypair kp;
	if (tr_link_init() < 0 || key_load(state_dir, &kp, err, errlen) < 0)
		return -1;
	tr_link_hex(kp.pk, 32, hex);
	sodium_memzero(&kp, sizeof kp);
	return 0;
}

/* ---- sessions (r->mu held) ---- */

static struct session **slot(struct tr_relay *r, int lsn, uint32_t pipe)
{
	struct session **p = &r->buckets[(pipe * 2654435761u + (unsigned)lsn) %
					 NBUCKETS];
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
static struct session *find_agent(struct tr_relay *r, const char *agent)
{
	for (struct session *s = *name_slot(r, agent); s; s = s->nnext)
		if (strcmp(s->agent, agent) == 0)
			return s;
	return NULL;
}

/* s is up as agent (its name set): into the name index. */
static void name_add(struct tr_relay *r, struct session *s)
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

static void hosts_state_main(struct tr_daemon *d, void *arg);

struct hosts_news {
	char agent[64];
	const char *state;
	char error[160];
};

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

static void session_drop(struct tr_relay *r, struct session *s,
			 const char *why)
{
	struct session **p = slot(r, s->lsn, s->pipe);
	if (*p == s)
		*p = s->next;
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
static int send_raw(struct tr_relay *r, struct session *s, const void *buf,
		    size_t len)
{
	if (s->nparked == 0)
		return -1;
	void *ctl = s->parked[0];
	memmove(s->parked, s->parked + 1, (size_t)--s->nparked * sizeof ctl);
	struct nn_iovec iov = {(void *)buf, len};
	struct nn_msghdr hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = &ctl;
	hdr.msg_controllen = NN_MSG;
	if (nn_sendmsg(r->socks[s->lsn], &hdr, NN_DONTWAIT) < 0) {
		nn_freemsg(ctl);
		return -1;
	}
	s->last_tx = tr_now_ms();
	return 0;
}

/* Seals what is queued for s into one frame, {"m": [...]}, and sends it
 * as the answer to a parked request, when no frame of ours is in flight:
 * a raw REP socket silently drops a message sent to a pipe that is still
 * writing the previous one, so the core sends one frame at a time and
 * the agent's next request (sent once it got ours) clears inflight. */
static void flush(struct tr_relay *r, struct session *s)
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
	long n = tr_link_seal(&s->link, TR_LINK_DATA, text, strlen(text),
			      frame);
	free(text);
	if (n > 0 && send_raw(r, s, frame, (size_t)n) == 0)
		s->inflight = 1;
}

/* Queues text (stolen, one JSON message) for s and sends it if a
 * request is parked. */
static void enqueue_text(struct tr_relay *r, struct session *s, char *text)
{
	if (!text)
		return;
	struct outmsg *m = tr_xcalloc(1, sizeof *m);
	m->json = text;
	*s->outtail = m;
	s->outtail = &m->next;
	flush(r, s);
}

/* Queues msg (stolen) for s and sends it if a request is parked. */
static void enqueue(struct tr_relay *r, struct session *s, json_t *msg)
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
	flush(r, s);
}

/* The link's last word to s: CLOSE with msg, if a request is parked. */
static void send_close(struct tr_relay *r, struct session *s, json_t *msg)
{
	char *j = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	unsigned char frame[512 + TR_LINK_OVERHEAD];
	if (j && strlen(j) <= 512 && s->link.state == TR_LINK_OPEN) {
		long n = tr_link_seal(&s->link, TR_LINK_CLOSE, j, strlen(j),
				      frame);
		if (n > 0)
			send_raw(r, s, frame, (size_t)n);
	}
	free(j);
}

/* Sends s every command still waiting for s's agent (r->mu held). */
static void send_pending(struct tr_relay *r, struct session *s)
{
	for (struct pending *p = r->pending; p; p = p->next) {
		if (p->result || strcmp(p->agent, s->agent) != 0 ||
		    (p->sent_gen_valid && p->sent_gen == s->gen))
			continue;
		json_t *m = json_loads(p->json, 0, NULL);
		if (!m)
			continue;
		p->sent_gen = s->gen;
		p->sent_gen_valid = 1;
		p->t_queued = tr_now_us();
		enqueue(r, s, m);
	}
}

/* An answer to a command: {"t":"result","id","rc","result"|"error"}. */
static void on_result(struct tr_relay *r, struct session *s, json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	for (struct pending *p = r->pending; id && p; p = p->next) {
		if (strcmp(p->id, id) != 0 || strcmp(p->agent, s->agent) != 0)
			continue;
		if (!p->result) {
			p->t_answer = tr_now_us();
			p->result = json_incref(m);
			pthread_cond_broadcast(&r->answered);
			r->handoff = 1;
		}
		return;
	}
	/* Unknown: answered already, or its caller gave up. */
}

/* ---- authentication ---- */

struct auth {
	struct tr_relay *r;
	int lsn;
	uint32_t pipe;
	uint64_t gen;
	char name[64], zone[64], pk[65], params[TR_LINK_PARAMS_MAX + 1];
	char *token;
};

static void refused(struct tr_relay *r, struct session *s, const char *url,
		    const char *name, const char *zone, const char *params,
		    const char *why)
{
	tr_warn("agents %s: refused agent '%s' (zone '%s', %s): %s; nothing "
		"changed", url, name, zone, params, why);
	if (s) {
		send_close(r, s, json_pack("{s:s, s:s}", "t", "refused",
					   "reason", why));
		session_drop(r, s, why);
	}
}

/* Main thread: the store decides. */
static void auth_main(struct tr_daemon *d, void *arg)
{
	struct auth *a = arg;
	/* d->relay, not a->r: at shutdown tr_relay_stop() frees the relay
	 * before the loop runs the completions still queued (tr_loop_free),
	 * and an authentication queued then must not touch it. */
	struct tr_relay *r = d->relay;
	char msg[256] = "", zone[64] = "";
	int rc;
	if (!r || r != a->r) {
		if (a->token) {
			sodium_memzero(a->token, strlen(a->token));
			free(a->token);
		}
		free(a);
		return;
	}
	if (!d->store)
		rc = TRELLIS_E_UNAVAILABLE, snprintf(msg, sizeof msg,
						     "the core is stopping");
	else if (a->token) {
		rc = tr_agent_enrol(d->store, a->token, a->zone, a->name, a->pk,
				    msg, sizeof msg);
		snprintf(zone, sizeof zone, "%s", a->zone);
	} else {
		rc = tr_agent_check(tr_store_sql(d->store), a->name, a->pk,
				    zone, sizeof zone, msg, sizeof msg);
	}
	lock_other(r);
	struct session *s = *slot(r, a->lsn, a->pipe);
	if (s && s->gen != a->gen)
		s = NULL;
	if (rc) {
		refused(r, s, r->urls[a->lsn], a->name,
			a->zone[0] ? a->zone : "?", a->params, msg);
	} else if (!s) {
		if (a->token)
			tr_info("agent '%s' enrolled in zone '%s'; its link "
				"went before it was answered", a->name, zone);
	} else {
		struct session *old = find_agent(r, a->name);
		if (old)
			session_drop(r, old, "replaced by a new connection");
		s->st = S_UP;
		snprintf(s->agent, sizeof s->agent, "%s", a->name);
		snprintf(s->zone, sizeof s->zone, "%s", zone);
		name_add(r, s);
		s->since = tr_now_ms();
		if (a->token)
			tr_info("agent '%s' enrolled in zone '%s' (key %.16s..., "
				"token burnt)", a->name, zone, a->pk);
		tr_info("agent '%s' (zone '%s') connected: %s", a->name, zone,
			a->params);
		enqueue(r, s, json_pack("{s:s, s:s, s:s, s:i, s:i}", "t",
					"welcome", "agent", a->name, "zone",
					zone, "heartbeat_ms", (int)r->beat_ms,
					"dead_after", (int)r->dead));
		tr_agent_hosts_state(tr_store_sql(d->store), a->name, "up",
				     NULL);
		send_pending(r, s);
	}
	pthread_mutex_unlock(&r->mu);
	if (a->token) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a);
}

static void hosts_state_main(struct tr_daemon *d, void *arg)
{
	struct hosts_news *n = arg;
	if (d->store)
		tr_agent_hosts_state(tr_store_sql(d->store), n->agent, n->state,
				     n->error[0] ? n->error : NULL);
	free(n);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The first frame: who the agent says it is, and its proof. */
static void on_auth(struct tr_relay *r, struct session *s, json_t *m)
{
	const char *name = jstr(m, "name"), *pk = jstr(m, "pk"),
		   *sig = jstr(m, "sig"), *token = jstr(m, "token"),
		   *zone = jstr(m, "zone");
	const char *url = r->urls[s->lsn];
	unsigned char pkb[32], sigb[64];
	if (!name || !pk || !sig || strlen(name) >= 64 || !*name ||
	    (token && (!zone || strlen(zone) >= 64))) {
		refused(r, s, url, name ? name : "?", zone ? zone : "?",
			s->link.params, "malformed authentication");
		return;
	}
	if (tr_link_unhex(pk, pkb, 32) || tr_link_unhex(sig, sigb, 64) ||
	    tr_link_verify(&s->link, pkb, sigb)) {
		refused(r, s, url, name, zone ? zone : "?", s->link.params,
			"bad signature (not this connection's transcript, or "
			"not the key it names)");
		return;
	}
	struct auth *a = tr_xcalloc(1, sizeof *a);
	if (!a)
		return;
	*a = (struct auth){.r = r, .lsn = s->lsn, .pipe = s->pipe,
			   .gen = s->gen};
	snprintf(a->name, sizeof a->name, "%s", name);
	snprintf(a->zone, sizeof a->zone, "%s", zone ? zone : "");
	snprintf(a->pk, sizeof a->pk, "%s", pk);
	snprintf(a->params, sizeof a->params, "%s", s->link.params);
	a->token = token ? tr_xstrdup(token) : NULL;
	s->st = S_AUTHING;
	if (tr_daemon_call_main(r->d, auth_main, a)) {
		free(a->token);
		free(a);
		refused(r, s, url, name, zone ? zone : "?", s->link.params,
			"the core is busy");
	}
}

static void on_report(struct tr_relay *r, struct session *s, json_t *m);
static void on_delta(struct tr_relay *r, struct session *s, json_t *m);

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
	struct session **p = slot(r, lsn, pipe), *s = *p;
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
		s->since = s->last_rx = now;
		*p = s;
		r->nsessions++;
		s->parked[s->nparked++] = ctl;
		send_raw(r, s, chal, sizeof chal);
		return;
	}
	static unsigned char plain[MAX_FRAME + TR_LINK_OVERHEAD];
	enum tr_link_kind kind;
	if (len > MAX_FRAME + TR_LINK_OVERHEAD) {
		nn_freemsg(ctl);
		tr_warn("agents %s: frame too large from %s", r->urls[lsn],
			s->agent[0] ? s->agent : s->link.params);
		session_drop(r, s, "frame too large");
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
		refused(r, s, r->urls[lsn], "?", "?", s->link.params, why);
		return;
	}
	if (n < 0) {
		nn_freemsg(ctl);
		tr_warn("agents %s: %s%s%s: %s", r->urls[lsn],
			s->agent[0] ? "agent '" : "", s->agent[0] ? s->agent
								  : s->link.params,
			s->agent[0] ? "'" : "", s->link.why);
		session_drop(r, s, s->link.why);
		return;
	}
	s->last_rx = now;
	s->inflight = 0;
	if (s->nparked == MAX_PARKED) {
		nn_freemsg(s->parked[0]);
		memmove(s->parked, s->parked + 1,
			(MAX_PARKED - 1) * sizeof *s->parked);
		s->nparked--;
	}
	s->parked[s->nparked++] = ctl;
	if (kind == TR_LINK_CLOSE) {
		session_drop(r, s, "closed by the agent");
		return;
	}
	/* Most frames are an up agent's poll or beat: a parked request
	 * and nothing to read (no JSON parse for 10,000 agents' beats). */
	if (s->st == S_UP && n == 12 &&
	    (memcmp(plain, "{\"t\":\"poll\"}", 12) == 0 ||
	     memcmp(plain, "{\"t\":\"beat\"}", 12) == 0)) {
		flush(r, s);
		return;
	}
	json_t *m = json_loadb((const char *)plain, (size_t)n, 0, NULL);
	const char *t = jstr(m, "t");
	if (!t) {
		json_decref(m);
		refused(r, s, r->urls[lsn], s->agent[0] ? s->agent : "?", "?",
			s->link.params, "a frame that is not a message");
		return;
	}
	if (s->st == S_LINKED) {
		if (strcmp(t, "auth") == 0)
			on_auth(r, s, m);
		else
			refused(r, s, r->urls[lsn], "?", "?", s->link.params,
				"a message before authentication");
	} else if (s->st == S_UP) {
		if (strcmp(t, "result") == 0)
			on_result(r, s, m);
		else if (strcmp(t, "report") == 0)
			on_report(r, s, m);
		else if (strcmp(t, "delta") == 0)
			on_delta(r, s, m);
		/* beat, poll: a parked request, which flush() may use. */
		flush(r, s);
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
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct session *s = r->buckets[b], *next;
		for (; s; s = next) {
			next = s->next;
			if (s->st != S_UP) {
				/* A handshake must authenticate in time; one
				 * that did (S_AUTHING) waits for the store's
				 * answer however long the main thread's queue
				 * is (10,000 agents enrolling at once), since
				 * dropping it would burn its token for
				 * nothing. */
				if (drained && s->st == S_LINKED &&
				    now - s->since > AUTH_WITHIN_MS)
					session_drop(r, s,
						     "no authentication in time");
				continue;
			}
			if (drained && now - s->last_rx > dead_ms) {
				char why[96];
				snprintf(why, sizeof why,
					 "dead: no beat for %llu ms",
					 (unsigned long long)(now - s->last_rx));
				session_drop(r, s, why);
				continue;
			}
			if (now - s->last_tx >= r->beat_ms && !s->outq &&
			    s->nparked && !s->inflight)
				enqueue_text(r, s, tr_xstrdup("{\"t\":\"beat\"}"));
		}
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
				memset(&hdr, 0, sizeof hdr);
				hdr.msg_iov = &iov;
				hdr.msg_iovlen = 1;
				hdr.msg_control = &ctl;
				hdr.msg_controllen = NN_MSG;
				int n = nn_recvmsg(r->socks[i], &hdr,
						   NN_DONTWAIT);
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
	if (key_load(d->state_dir, &r->kx, err, errlen) < 0)
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
			session_drop(r, s, "the core stops");
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
	lock_other(r);
	struct session *s = find_agent(r, agent);
	if (s) {
		send_close(r, s, json_pack("{s:s, s:s}", "t", "revoked",
					   "reason", why));
		session_drop(r, s, why);
	}
	pthread_mutex_unlock(&r->mu);
	return s != NULL;
}

json_t *tr_relay_status(struct tr_daemon *d, const char *agent)
{
	struct tr_relay *r = d->relay;
	if (!r)
		return json_pack("{s:b}", "connected", 0);
	lock_other(r);
	struct session *s = find_agent(r, agent);
	json_t *o;
	uint64_t now = tr_now_ms();
	if (s)
		o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
			      "connected", 1, "listener", r->urls[s->lsn],
			      "params", s->link.params, "connected_ms",
			      (json_int_t)(now - s->since), "last_beat_ms_ago",
			      (json_int_t)(now - s->last_rx), "reports",
			      (json_int_t)s->reports, "deltas",
			      (json_int_t)s->deltas, "last_report_ms_ago",
			      (json_int_t)(s->last_report ? now - s->last_report
							  : 0));
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

/* ---- relaying actions ---- */

int tr_relay_call(struct tr_daemon *d, const char *agent, const char *action,
		  json_t *args, const char *idem_key, json_t *host,
		  unsigned timeout_ms, json_t **result, trellis_call_t *call)
{
	struct tr_relay *r = d->relay;
	*result = NULL;
	if (!r)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%s: host behind agent '%s', and the core "
				   "listens for no agent (agents.listen)",
				   action, agent);
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	lock_other(r);
	snprintf(p->id, sizeof p->id, "%016llx-%llu",
		 (unsigned long long)r->boot,
		 (unsigned long long)++r->next_cmd);
	pthread_mutex_unlock(&r->mu);
	snprintf(p->agent, sizeof p->agent, "%s", agent);
	json_t *m = json_pack("{s:s, s:s, s:s, s:O, s:s?, s:O?}", "t", "cmd",
			      "id", p->id, "action", action, "args", args,
			      "idem", idem_key, "host", host);
	p->json = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!p->json) {
		free(p);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	uint64_t t0 = tr_now_ms(), t0_us = tr_now_us();
	lock_other(r);
	r->callers++;
	p->next = r->pending;
	r->pending = p;
	struct session *s = find_agent(r, agent);
	if (s)
		send_pending(r, s);
	int rc = 0, waited_link = !s;
	while (!p->result) {
		if (r->stop) {
			rc = tr_call_set(call, TRELLIS_E_CANCELLED,
					 "%s on agent '%s': the core stops",
					 action, agent);
			break;
		}
		if (atomic_load(&call->cancelled)) {
			rc = tr_call_set(call, TRELLIS_E_TIMEOUT,
					 "%s on agent '%s': cancelled (the "
					 "step timed out)%s",
					 action, agent,
					 waited_link ? "; the agent was not "
						       "connected" : "");
			break;
		}
		if (tr_now_ms() - t0 > timeout_ms) {
			rc = tr_call_set(call, TRELLIS_E_TIMEOUT,
					 "%s on agent '%s': no answer in %u ms%s",
					 action, agent, timeout_ms,
					 find_agent(r, agent)
					     ? ""
					     : " (the agent is not connected)");
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->answered, &r->mu, &ts);
	}
	for (struct pending **pp = &r->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	r->callers--;
	pthread_mutex_unlock(&r->mu);
	json_t *ans = p->result;
	if (ans && tr_log_level() >= TRELLIS_LOG_DEBUG) {
		/* Where a relayed call's time goes: queued to sent, at the
		 * agent (its thread's start, the action), the rest of the
		 * round trip (both nanomsg stacks, the wire, the agent's
		 * link thread), and the caller's wakeup. */
		uint64_t t1 = tr_now_us();
		json_t *at = json_object_get(ans, "agent_us");
		long long spawn = json_integer_value(json_object_get(at, "spawn")),
			  run = json_integer_value(json_object_get(at, "run"));
		tr_debug("relay: %s on '%s': %llu us: before queued %llu, "
			 "queued to answer %llu (agent: spawn %lld, run %lld), "
			 "wakeup %llu", action, agent,
			 (unsigned long long)(t1 - t0_us),
			 (unsigned long long)(p->t_queued - t0_us),
			 (unsigned long long)(p->t_answer - p->t_queued), spawn,
			 run, (unsigned long long)(t1 - p->t_answer));
	}
	free(p->json);
	free(p);
	if (!ans)
		return rc;
	json_t *rcv = json_object_get(ans, "rc");
	rc = json_is_integer(rcv) ? (int)json_integer_value(rcv)
				  : TRELLIS_E_INTERNAL;
	if (rc == 0) {
		*result = json_incref(json_object_get(ans, "result"));
		if (!json_is_object(*result)) {
			json_decref(*result);
			*result = NULL;
			rc = tr_call_set(call, TRELLIS_E_INTERNAL,
					 "%s on agent '%s': an answer without "
					 "a result", action, agent);
		}
	} else {
		const char *msg = json_string_value(json_object_get(ans, "error"));
		if (rc > 0 || rc < -1000)
			rc = TRELLIS_E_INTERNAL;
		tr_call_set(call, rc, "%s (through agent '%s')",
			    msg ? msg : "failed", agent);
		json_t *rt = json_object_get(ans, "retryable");
		if (json_is_true(rt))
			call->retryable = 1;
	}
	json_decref(ans);
	return rc;
}

/* ---- inventory reports ---- */

struct report {
	char agent[64];
	json_t *hosts;
};

static void report_main(struct tr_daemon *d, void *arg)
{
	struct report *rp = arg;
	struct tr_relay *r = d->relay;
	if (r && r->report && d->store)
		r->report(d, rp->agent, rp->hosts);
	json_decref(rp->hosts);
	free(rp);
}

/* {"t":"report","hosts":[host_probe results]}: the agent's hosts as they
 * are; the main thread records those that are the agent's (report_fn). */
static void on_report(struct tr_relay *r, struct session *s, json_t *m)
{
	json_t *hosts = json_object_get(m, "hosts");
	if (!json_is_array(hosts))
		return;
	struct report *rp = calloc(1, sizeof *rp);
	if (!rp)
		return;
	snprintf(rp->agent, sizeof rp->agent, "%s", s->agent);
	rp->hosts = json_incref(hosts);
	s->reports++;
	s->last_report = tr_now_ms();
	if (tr_daemon_call_main(r->d, report_main, rp)) {
		json_decref(rp->hosts);
		free(rp);
	}
}

void tr_relay_set_report_fn(struct tr_daemon *d, tr_relay_report_fn fn)
{
	if (d->relay)
		d->relay->report = fn;
}

struct delta {
	char agent[64], host[64];
	json_t *vm;
};

static void delta_main(struct tr_daemon *d, void *arg)
{
	struct delta *dl = arg;
	struct tr_relay *r = d->relay;
	if (r && r->delta && d->store)
		r->delta(d, dl->agent, dl->host, dl->vm);
	json_decref(dl->vm);
	free(dl);
}

/* {"t":"delta","host":H,"vm":{uuid,name,state,event,uri,plugin}}: one
 * VM's change on one of the agent's hosts, between full reports. */
static void on_delta(struct tr_relay *r, struct session *s, json_t *m)
{
	const char *host = jstr(m, "host");
	json_t *vm = json_object_get(m, "vm");
	if (!host || strlen(host) >= 64 || !json_is_object(vm))
		return;
	struct delta *dl = tr_xcalloc(1, sizeof *dl);
	snprintf(dl->agent, sizeof dl->agent, "%s", s->agent);
	snprintf(dl->host, sizeof dl->host, "%s", host);
	dl->vm = json_incref(vm);
	s->deltas++;
	if (tr_daemon_call_main(r->d, delta_main, dl)) {
		json_decref(dl->vm);
		free(dl);
	}
}

void tr_relay_set_delta_fn(struct tr_daemon *d, tr_relay_delta_fn fn)
{
	if (d->relay)
		d->relay->delta = fn;
}
