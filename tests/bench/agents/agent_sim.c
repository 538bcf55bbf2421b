/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_sim.c - the agents benchmark's two halves (agents.t):
 *
 *   agent-sim agents URL CORE_KEY ZONE TOKENS_FILE SECONDS
 *       one simulated agent per token in TOKENS_FILE: each a real link
 *       (its own Ed25519 identity, the handshake, enrolment with its
 *       token) to trellisd's agents listener URL; prints the time to
 *       connect them all, then keeps them up (polls parked, beats
 *       as the welcome says, a link that went dead made again and
 *       authenticated without the token, as trellis-agent does) for
 *       SECONDS, or until SIGTERM.  nanomsg allows 512
 *       sockets a process: agents.t runs several for more agents.
 *   agent-sim rtt API_URL DIRECT_HOST RELAYED_HOST ROUNDS
 *       host.refresh on each host in turn, ROUNDS times, over the API
 *       (REQ, ipc://): prints p50/p99 of each and their ratio.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../core/link/link.h"
#include "../../../core/util/alloc.h"
#include "../../../core/util/clock.h"

#define MAX_AGENTS 500

struct sim {
	int sock;
	struct tr_link link;
	struct tr_link_keypair id;
	uint32_t reqid;
	int up, enrolled, counted;
	uint64_t last_tx, last_rx;
	unsigned beat_ms, dead;
};

static const char *g_url;
static unsigned char g_core[32];
static unsigned redials;

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

static int send_req(struct sim *s, const void *buf, size_t len)
{
	unsigned char *m = nn_allocmsg(len + 4, 0);
	uint32_t id = 0x80000000u | (++s->reqid & 0x7fffffffu);
	m[0] = (unsigned char)(id >> 24), m[1] = (unsigned char)(id >> 16);
	m[2] = (unsigned char)(id >> 8), m[3] = (unsigned char)id;
	memcpy(m + 4, buf, len);
	if (nn_send(s->sock, &m, NN_MSG, NN_DONTWAIT) < 0) {
		nn_freemsg(m);
		return -1;
	}
	s->last_tx = tr_now_ms();
	return 0;
}

static int send_json(struct sim *s, const char *text)
{
	unsigned char f[2048];
	size_t n = strlen(text);
	if (n + TR_LINK_OVERHEAD > sizeof f)
		return -1;
	long fl = tr_link_seal(&s->link, TR_LINK_DATA, text, n, f);
	return fl > 0 ? send_req(s, f, (size_t)fl) : -1;
}

/* A link to the core: a new socket, its HELLO (the first send waits for
 * the connection).  Also for a link gone dead, as trellis-agent does:
 * then it authenticates again, without its token. */
static int dial(struct sim *s, int i)
{
	s->sock = nn_socket(AF_SP_RAW, NN_REQ);
	if (s->sock < 0 || nn_connect(s->sock, g_url) < 0) {
		fprintf(stderr, "agent %d: %s\n", i, nn_strerror(nn_errno()));
		return -1;
	}
	int one = 1;
	nn_setsockopt(s->sock, NN_TCP, NN_TCP_NODELAY, &one, sizeof one);
	char params[256];
	snprintf(params, sizeof params, "endpoint=%s;name=sim%d-%d", g_url,
		 (int)getpid(), i);
	unsigned char hello[TR_LINK_HELLO_MAX];
	int hl = tr_link_client_hello(&s->link, TR_LINK_ROLE_AGENT, g_core,
				      params, hello);
	int tmo = 5000;
	nn_setsockopt(s->sock, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	unsigned char *m = nn_allocmsg((size_t)hl + 4, 0);
	uint32_t id = 0x80000000u | ++s->reqid;
	m[0] = (unsigned char)(id >> 24), m[1] = (unsigned char)(id >> 16);
	m[2] = (unsigned char)(id >> 8), m[3] = (unsigned char)id;
	memcpy(m + 4, hello, (size_t)hl);
	if (nn_send(s->sock, &m, NN_MSG, 0) < 0) {
		fprintf(stderr, "agent %d: hello: %s\n", i,
			nn_strerror(nn_errno()));
		return -1;
	}
	s->up = 0;
	s->last_rx = tr_now_ms();
	return 0;
}

static int agents(int argc, char **argv)
{
	if (argc < 7)
		return 2;
	const char *zone = argv[4];
	g_url = argv[2];
	if (tr_link_unhex(argv[3], g_core, 32) < 0)
		return 2;
	double secs = atof(argv[6]);
	FILE *f = fopen(argv[5], "r");
	if (!f)
		return 2;
	static struct sim sims[MAX_AGENTS];
	static char tokens[MAX_AGENTS][80];
	int n = 0;
	while (n < MAX_AGENTS && fscanf(f, "%79s", tokens[n]) == 1)
		n++;
	fclose(f);
	uint64_t t0 = tr_now_ms();
	for (int i = 0; i < n; i++) {
		struct sim *s = &sims[i];
		tr_link_sign_keypair(&s->id);
		if (dial(s, i) < 0)
			return 1;
	}
	/* Handshakes, then auth, then the welcome: all at once. */
	int welcomed = 0;
	uint64_t deadline = t0 + 600000;
	struct nn_pollfd *pfd = tr_xcalloc((size_t)n, sizeof *pfd);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct nn_pollfd){sims[i].sock, NN_POLLIN, 0};
	signal(SIGTERM, on_term);
	uint64_t up_at = 0, end = 0;
	while (!stop) {
		uint64_t now = tr_now_ms();
		if (!up_at && now > deadline) {
			fprintf(stderr, "only %d of %d agents up in 600 s\n",
				welcomed, n);
			return 1;
		}
		if (up_at && now > end)
			break;
		nn_poll(pfd, n, 50);
		for (int i = 0; i < n; i++) {
			struct sim *s = &sims[i];
			void *buf;
			int len;
			while ((len = nn_recv(s->sock, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
				/* nn_recv on a raw REQ socket: the body
				 * alone (the request id stays behind). */
				unsigned char *b = buf;
				size_t bl = (size_t)len;
				s->last_rx = now;
				if (s->link.state == TR_LINK_HELLO_SENT) {
					if (tr_link_client_finish(&s->link, b, bl) < 0) {
						fprintf(stderr, "agent %d: %s\n", i,
							s->link.why);
						return 1;
					}
					unsigned char sig[64];
					char pk[65], sh[129], msg[600];
					tr_link_sign(&s->link, &s->id, sig);
					tr_link_hex(s->id.pk, 32, pk);
					tr_link_hex(sig, 64, sh);
					if (s->enrolled)
						snprintf(msg, sizeof msg,
							 "{\"t\":\"auth\",\"name\":\"sim%d-%d\","
							 "\"pk\":\"%s\",\"sig\":\"%s\"}",
							 (int)getpid(), i, pk, sh);
					else
						snprintf(msg, sizeof msg,
							 "{\"t\":\"auth\",\"name\":\"sim%d-%d\","
							 "\"pk\":\"%s\",\"sig\":\"%s\","
							 "\"token\":\"%s\",\"zone\":\"%s\"}",
							 (int)getpid(), i, pk, sh, tokens[i],
							 zone);
					send_json(s, msg);
				} else {
					unsigned char p[4096];
					enum tr_link_kind k;
					long len2 = bl > sizeof p ? -1 : tr_link_open(&s->link, b, bl, &k, p);
					if (len2 < 0 || k == TR_LINK_CLOSE) {
						fprintf(stderr, "agent %d: link closed\n", i);
						return 1;
					}
					if (!s->up) {
						/* The welcome: beat as often as it
						 * says, as trellis-agent does. */
						json_t *w = json_loadb((char *)p, (size_t)len2, 0, NULL);
						json_t *hb = json_object_get(json_array_get(json_object_get(w, "m"), 0),
									     "heartbeat_ms");
						s->beat_ms = json_is_integer(hb) ? (unsigned)json_integer_value(hb) : 5000;
						json_t *dd = json_object_get(json_array_get(json_object_get(w, "m"), 0),
									     "dead_after");
						s->dead = json_is_integer(dd) ? (unsigned)json_integer_value(dd) : 3;
						json_decref(w);
						s->up = 1;
						s->enrolled = 1;
						if (!s->counted++)
							welcomed++;
						send_json(s, "{\"t\":\"poll\"}");
					}
					/* one more parked request per answer */
					send_json(s, "{\"t\":\"poll\"}");
				}
				nn_freemsg(buf);
			}
			if (s->up && now - s->last_tx >= s->beat_ms)
				send_json(s, "{\"t\":\"beat\"}");
			/* Dead (nothing from the core for dead_after beats):
			 * a new link, as trellis-agent makes. */
			if (s->up && now - s->last_rx > (uint64_t)s->beat_ms * s->dead) {
				nn_close(s->sock);
				tr_link_wipe(&s->link);
				if (dial(s, i) < 0)
					return 1;
				pfd[i].fd = s->sock;
				redials++;
			}
		}
		if (!up_at && welcomed == n) {
			up_at = tr_now_ms();
			struct timespec rt;
			clock_gettime(CLOCK_REALTIME, &rt);
			printf("connected %d agents in %llu ms at %lld\n", n,
			       (unsigned long long)(up_at - t0),
			       (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000);
			fflush(stdout);
			end = up_at + (uint64_t)(secs * 1000);
		}
	}
	for (int i = 0; i < n; i++) {
		unsigned char fr[64];
		long fl = tr_link_seal(&sims[i].link, TR_LINK_CLOSE, "{}", 2, fr);
		if (fl > 0)
			send_req(&sims[i], fr, (size_t)fl);
	}
	usleep(100000);
	free(pfd);
	printf("links made again (dead, as trellis-agent does): %u\n", redials);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double call_ms(int sock, const char *host)
{
	char req[256];
	snprintf(req, sizeof req,
		 "{\"v\":1,\"op\":\"host.refresh\",\"args\":{\"name\":\"%s\"}}", host);
	long long t0 = now_ns();
	if (nn_send(sock, req, strlen(req), 0) < 0)
		return -1;
	char *buf = NULL;
	int n = nn_recv(sock, &buf, NN_MSG, 0);
	long long t1 = now_ns();
	if (n < 0)
		return -1;
	int ok = strstr(buf, "\"ok\":true") != NULL;
	if (!ok)
		fprintf(stderr, "%s: %.*s\n", host, n > 300 ? 300 : n, buf);
	nn_freemsg(buf);
	return ok ? (double)(t1 - t0) / 1e6 : -1;
}

static int rtt(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	int rounds = atoi(argv[5]);
	int sock = nn_socket(AF_SP, NN_REQ);
	int tmo = 30000;
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	if (sock < 0 || nn_connect(sock, argv[2]) < 0)
		return 1;
	double *d = tr_xcalloc((size_t)rounds, sizeof *d);
	double *r = tr_xcalloc((size_t)rounds, sizeof *r);
	for (int i = 0; i < rounds; i++) {
		/* Alternate which goes first, so neither gets the warm turn. */
		if (i % 2) {
			d[i] = call_ms(sock, argv[3]);
			r[i] = call_ms(sock, argv[4]);
		} else {
			r[i] = call_ms(sock, argv[4]);
			d[i] = call_ms(sock, argv[3]);
		}
		if (d[i] < 0 || r[i] < 0)
			return 1;
	}
	qsort(d, (size_t)rounds, sizeof *d, cmp);
	qsort(r, (size_t)rounds, sizeof *r, cmp);
	int p99 = (rounds * 99) / 100;
	if (p99 >= rounds)
		p99 = rounds - 1;
	printf("host.refresh direct:  p50 %.3f ms  p99 %.3f ms\n", d[rounds / 2], d[p99]);
	printf("host.refresh relayed: p50 %.3f ms  p99 %.3f ms\n", r[rounds / 2], r[p99]);
	printf("relayed/direct: p50 %.2fx  p99 %.2fx;  relay adds p50 %+.3f ms  p99 %+.3f ms\n",
	       r[rounds / 2] / d[rounds / 2], r[p99] / d[p99],
	       r[rounds / 2] - d[rounds / 2], r[p99] - d[p99]);
	free(d);
	free(r);
	nn_close(sock);
	return 0;
}

int main(int argc, char **argv)
{
	tr_alloc_init();
	if (tr_link_init() < 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], "agents") == 0)
		return agents(argc, argv);
	if (argc > 1 && strcmp(argv[1], "rtt") == 0)
		return rtt(argc, argv);
	fprintf(stderr, "usage: agent-sim agents URL CORE_KEY ZONE TOKENS SECONDS\n"
			"       agent-sim rtt API_URL DIRECT_HOST RELAYED_HOST ROUNDS\n");
	return 2;
}
