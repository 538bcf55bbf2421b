/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - trellis-agent: a private zone's agent (docs/agent.md).  It
 * dials out to the core (no listener, no API of its own), over the secure
 * link (core/link), and keeps the link up: endpoints tried in turn with
 * exponential backoff and jitter, beats both ways, a new handshake and
 * authentication on every reconnect.
 *
 *   trellis-agent --state-dir DIR --name NAME --zone Z --enroll TOKEN \
 *                 --core tcp://HOST:PORT[,tcp://...] --core-key HEX
 *   trellis-agent --state-dir DIR --name NAME --bundle FILE
 *   trellis-agent --state-dir DIR
 *
 * Exit status: 0 after SIGTERM, 1 on a local error, 2 when the core
 * refused it (bad token, revoked...): retrying would not help.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../link/link.h"
#include "../util/clock.h"

#define MAX_EPS 8
#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 30000
#define HANDSHAKE_MS 3000
#define PARKED 2 /* requests the agent keeps parked at the core */

struct agent {
	char dir[2048];
	char name[64], zone[64];
	unsigned char core_key[32];
	char *eps[MAX_EPS];
	int neps;
	int enrolled;
	struct tr_link_keypair id;
	char *token; /* until enrolled */
	/* the link */
	int sock, ep;
	struct tr_link link;
	uint32_t reqid;
	unsigned beat_ms, dead;
	uint64_t last_rx, last_tx;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "trellis-agent: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- state dir: agent.json and identity ---- */

static int write_private(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int save_config(struct agent *a)
{
	char path[4200], hex[65];
	tr_link_hex(a->core_key, 32, hex);
	json_t *eps = json_array();
	for (int i = 0; i < a->neps; i++)
		json_array_append_new(eps, json_string(a->eps[i]));
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", a->name,
			      "zone", a->zone, "core_key", hex, "endpoints",
			      eps, "enrolled", a->enrolled);
	char *text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	snprintf(path, sizeof path, "%s/agent.json", a->dir);
	int rc = text ? write_private(path, text) : -1;
	free(text);
	return rc;
}

static int add_eps(struct agent *a, const char *list)
{
	char *dup = strdup(list), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t && a->neps < MAX_EPS;
	     t = strtok_r(NULL, ",", &save))
		a->eps[a->neps++] = strdup(t);
	free(dup);
	return a->neps ? 0 : -1;
}

static int load_json(struct agent *a, const char *path, int bundle)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o) {
		say("%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	const char *zone = json_string_value(json_object_get(o, "zone"));
	const char *key = json_string_value(json_object_get(o, "core_key"));
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *eps = json_object_get(o, "endpoints");
	if (!zone || !key || tr_link_unhex(key, a->core_key, 32) ||
	    !json_is_array(eps) || (!bundle && !name)) {
		say("%s: needs zone, core_key (64 hex), endpoints%s", path,
		    bundle ? "" : ", name");
		json_decref(o);
		return -1;
	}
	snprintf(a->zone, sizeof a->zone, "%s", zone);
	if (name)
		snprintf(a->name, sizeof a->name, "%s", name);
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e) if (json_is_string(e) && a->neps < MAX_EPS)
		a->eps[a->neps++] = strdup(json_string_value(e));
	a->enrolled = json_is_true(json_object_get(o, "enrolled"));
	const char *tok = json_string_value(json_object_get(o, "token"));
	if (bundle && tok)
		a->token = strdup(tok);
	json_decref(o);
	return 0;
}

static int load_identity(struct agent *a, int make)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/identity", a->dir);
	FILE *f = fopen(path, "r");
	if (f) {
		char pk[80], sk[160];
		struct stat st;
		int ok = fstat(fileno(f), &st) == 0 && !(st.st_mode & 077) &&
			 fscanf(f, "%70s %150s", pk, sk) == 2 &&
			 !tr_link_unhex(pk, a->id.pk, 32) &&
			 !tr_link_unhex(sk, a->id.sk, 64);
		sodium_memzero(sk, sizeof sk);
		fclose(f);
		if (!ok)
			say("%s: not an identity (two hex keys), or readable "
			    "by others", path);
		return ok ? 0 : -1;
	}
	if (!make) {
		say("%s: %s (enrol first: --enroll or --bundle)", path,
		    strerror(errno));
		return -1;
	}
	tr_link_sign_keypair(&a->id);
	char pk[65], sk[129], text[200];
	tr_link_hex(a->id.pk, 32, pk);
	tr_link_hex(a->id.sk, 64, sk);
	snprintf(text, sizeof text, "%s %s\n", pk, sk);
	sodium_memzero(sk, sizeof sk);
	int rc = write_private(path, text);
	sodium_memzero(text, sizeof text);
	if (rc < 0)
		say("%s: %s", path, strerror(errno));
	return rc;
}

/* ---- the link ---- */

static void link_close(struct agent *a)
{
	if (a->sock >= 0)
		nn_close(a->sock);
	a->sock = -1;
	tr_link_wipe(&a->link);
}

/* One request: a 4-byte request id (top bit set) that a raw REQ socket
 * must put in front itself, then the bytes. */
static int send_req(struct agent *a, const void *buf, size_t len)
{
	unsigned char *m = nn_allocmsg(len + 4, 0);
	if (!m)
		return -1;
	uint32_t id = 0x80000000u | (++a->reqid & 0x7fffffffu);
	m[0] = (unsigned char)(id >> 24);
	m[1] = (unsigned char)(id >> 16);
	m[2] = (unsigned char)(id >> 8);
	m[3] = (unsigned char)id;
	memcpy(m + 4, buf, len);
	if (nn_send(a->sock, &m, NN_MSG, 0) < 0) {
		nn_freemsg(m);
		return -1;
	}
	a->last_tx = tr_now_ms();
	return 0;
}

static int send_msg(struct agent *a, json_t *msg)
{
	char *j = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!j)
		return -1;
	size_t len = strlen(j);
	unsigned char *f = malloc(len + TR_LINK_OVERHEAD);
	long n = f ? tr_link_seal(&a->link, TR_LINK_DATA, j, len, f) : -1;
	sodium_memzero(j, len);
	free(j);
	int rc = n > 0 ? send_req(a, f, (size_t)n) : -1;
	free(f);
	return rc;
}

/* The next message from the core within ms: its JSON (new reference), or
 * NULL: *closed set when the link ended (refused, revoked, bad frame). */
static json_t *recv_msg(struct agent *a, int ms, int *closed, int *kind_close)
{
	*closed = *kind_close = 0;
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof ms);
	void *buf = NULL;
	int n = nn_recv(a->sock, &buf, NN_MSG, 0);
	if (n < 0)
		return NULL;
	unsigned char *p = malloc((size_t)n + 1);
	enum tr_link_kind kind;
	long len = p ? tr_link_open(&a->link, buf, (size_t)n, &kind, p) : -1;
	nn_freemsg(buf);
	if (len < 0) {
		say("link to %s: %s", a->eps[a->ep], a->link.why);
		free(p);
		*closed = 1;
		return NULL;
	}
	a->last_rx = tr_now_ms();
	json_t *m = json_loadb((char *)p, (size_t)len, 0, NULL);
	free(p);
	/* Data frames carry a batch, {"m": [...]}; the agent's callers take
	 * one message at a time (the batch's last that matters: the
	 * welcome, a beat), and commands will walk the whole list. */
	json_t *list = json_object_get(m, "m");
	if (json_is_array(list) && json_array_size(list)) {
		json_t *one = json_incref(
			json_array_get(list, json_array_size(list) - 1));
		json_decref(m);
		m = one;
	}
	if (kind == TR_LINK_CLOSE)
		*closed = *kind_close = 1;
	return m;
}

/* Handshake and authentication on endpoint ep: 0 up, -1 try again
 * later, -2 refused for good. */
static int link_open(struct agent *a, int ep)
{
	a->ep = ep;
	a->sock = nn_socket(AF_SP_RAW, NN_REQ);
	if (a->sock < 0)
		return -1;
	int tmo = HANDSHAKE_MS, ivl = 100, max = 2000;
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL, &ivl, sizeof ivl);
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &max,
		      sizeof max);
	if (nn_connect(a->sock, a->eps[ep]) < 0) {
		say("%s: %s", a->eps[ep], nn_strerror(nn_errno()));
		link_close(a);
		return -1;
	}
	char params[TR_LINK_PARAMS_MAX];
	snprintf(params, sizeof params, "endpoint=%s;name=%s;zone=%s",
		 a->eps[ep], a->name, a->zone);
	unsigned char hello[TR_LINK_HELLO_MAX];
	int hlen = tr_link_client_hello(&a->link, TR_LINK_ROLE_AGENT,
					a->core_key, params, hello);
	if (hlen < 0 || send_req(a, hello, (size_t)hlen) < 0) {
		say("%s: cannot send the handshake: %s", a->eps[ep],
		    hlen < 0 ? a->link.why : nn_strerror(nn_errno()));
		link_close(a);
		return -1;
	}
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	void *buf = NULL;
	int n = nn_recv(a->sock, &buf, NN_MSG, 0);
	if (n < 0) {
		say("%s: no answer to the handshake in %d ms", a->eps[ep], tmo);
		link_close(a);
		return -1;
	}
	int rc = tr_link_client_finish(&a->link, buf, (size_t)n);
	nn_freemsg(buf);
	if (rc < 0) {
		say("%s: handshake refused: %s", a->eps[ep], a->link.why);
		link_close(a);
		return -1;
	}
	unsigned char sig[TR_LINK_SIG];
	char pk[65], sigh[129];
	tr_link_sign(&a->link, &a->id, sig);
	tr_link_hex(a->id.pk, 32, pk);
	tr_link_hex(sig, sizeof sig, sigh);
	json_t *auth = json_pack("{s:s, s:s, s:s, s:s}", "t", "auth", "name",
				 a->name, "pk", pk, "sig", sigh);
	if (!a->enrolled && a->token) {
		json_object_set_new(auth, "token", json_string(a->token));
		json_object_set_new(auth, "zone", json_string(a->zone));
	}
	if (send_msg(a, auth) < 0) {
		link_close(a);
		return -1;
	}
	int closed, fin;
	json_t *m = recv_msg(a, 10000, &closed, &fin);
	const char *t = json_string_value(json_object_get(m, "t"));
	if (t && strcmp(t, "welcome") == 0 && !closed) {
		json_t *hb = json_object_get(m, "heartbeat_ms");
		a->beat_ms = json_is_integer(hb) ? (unsigned)json_integer_value(hb)
						 : 5000;
		json_t *dd = json_object_get(m, "dead_after");
		a->dead = json_is_integer(dd) ? (unsigned)json_integer_value(dd)
					      : 3;
		json_decref(m);
		if (!a->enrolled) {
			a->enrolled = 1;
			if (a->token) {
				sodium_memzero(a->token, strlen(a->token));
				free(a->token);
				a->token = NULL;
			}
			save_config(a);
			say("enrolled as '%s' in zone '%s'", a->name, a->zone);
		}
		say("connected to %s (beat %u ms)", a->eps[ep], a->beat_ms);
		return 0;
	}
	if (t && strcmp(t, "refused") == 0) {
		say("the core refused this agent: %s",
		    json_string_value(json_object_get(m, "reason")));
		json_decref(m);
		link_close(a);
		return -2;
	}
	json_decref(m);
	say("%s: no welcome from the core", a->eps[ep]);
	link_close(a);
	return -1;
}

/* Up: beats both ways until the link dies (-1) or ends for good (-2). */
static int link_run(struct agent *a)
{
	for (int i = 0; i < PARKED; i++)
		send_msg(a, json_pack("{s:s}", "t", "poll"));
	uint64_t dead_ms = (uint64_t)a->beat_ms * a->dead;
	while (!stopping) {
		uint64_t now = tr_now_ms();
		if (now - a->last_rx > dead_ms) {
			say("link to %s: dead (no beat for %llu ms)", a->eps[a->ep],
			    (unsigned long long)(now - a->last_rx));
			return -1;
		}
		if (now - a->last_tx >= a->beat_ms &&
		    send_msg(a, json_pack("{s:s}", "t", "beat")) < 0)
			return -1;
		int closed, fin;
		json_t *m = recv_msg(a, 200, &closed, &fin);
		const char *t = json_string_value(json_object_get(m, "t"));
		if (fin && t && strcmp(t, "revoked") == 0) {
			say("the core revoked this agent: %s",
			    json_string_value(json_object_get(m, "reason")));
			json_decref(m);
			return -2;
		}
		if (closed) {
			json_decref(m);
			return -1;
		}
		if (m) /* it used one of our parked requests: park another */
			send_msg(a, json_pack("{s:s}", "t", "poll"));
		json_decref(m);
	}
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run(struct agent *a)
{
	unsigned failures = 0;
	int ep = 0;
	while (!stopping) {
		int rc = link_open(a, ep);
		if (rc == -2)
			return 2;
		if (rc == 0) {
			failures = 0;
			rc = link_run(a);
			if (stopping) {
				unsigned char f[64];
				long n = tr_link_seal(&a->link, TR_LINK_CLOSE,
						      "{}", 2, f);
				if (n > 0)
					send_req(a, f, (size_t)n);
			}
			link_close(a);
			if (rc == -2)
				return 2;
			if (stopping)
				break;
			continue; /* reconnect to the same endpoint first */
		}
		/* This endpoint failed: the next one, after a pause that
		 * doubles with each failure (capped), with full jitter so
		 * many agents do not come back in step. */
		ep = (ep + 1) % a->neps;
		failures++;
		uint64_t cap = BACKOFF_BASE_MS << (failures < 8 ? failures : 8);
		if (cap > BACKOFF_CAP_MS)
			cap = BACKOFF_CAP_MS;
		uint64_t wait = cap / 2 + randombytes_uniform((uint32_t)(cap / 2 + 1));
		say("next: %s in %llu ms", a->eps[ep], (unsigned long long)wait);
		sleep_ms(wait);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: trellis-agent --state-dir DIR [--name NAME]\n"
		"         [--bundle FILE | --enroll TOKEN --zone Z --core URL[,URL...] "
		"--core-key HEX]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"enroll", required_argument, NULL, 'e'},
		{"zone", required_argument, NULL, 'z'},
		{"core", required_argument, NULL, 'c'},
		{"core-key", required_argument, NULL, 'k'},
		{"bundle", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct agent a;
	memset(&a, 0, sizeof a);
	a.sock = -1;
	const char *dir = NULL, *name = NULL, *token = NULL, *zone = NULL,
		   *core = NULL, *key = NULL, *bundle = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'e': token = optarg; break;
		case 'z': zone = optarg; break;
		case 'c': core = optarg; break;
		case 'k': key = optarg; break;
		case 'b': bundle = optarg; break;
		default: usage(); return c == 'h' ? 0 : 1;
		}
	}
	if (!dir) {
		usage();
		return 1;
	}
	if (tr_link_init() < 0)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	mkdir(dir, 0700);
	snprintf(a.dir, sizeof a.dir, "%s", dir);
	char path[4200];
	snprintf(path, sizeof path, "%s/agent.json", dir);
	int first = bundle || token;
	if (bundle) {
		if (load_json(&a, bundle, 1) < 0)
			return 1;
	} else if (token) {
		if (!zone || !core || !key || tr_link_unhex(key, a.core_key, 32) ||
		    add_eps(&a, core) < 0) {
			say("--enroll needs --zone, --core and --core-key (64 hex)");
			return 1;
		}
		snprintf(a.zone, sizeof a.zone, "%s", zone);
		a.token = strdup(token);
	} else if (load_json(&a, path, 0) < 0) {
		return 1;
	}
	if (name)
		snprintf(a.name, sizeof a.name, "%s", name);
	if (!a.name[0]) {
		say("an agent needs a name (--name)");
		return 1;
	}
	if (load_identity(&a, first) < 0)
		return 1;
	if (first && save_config(&a) < 0) {
		say("%s: %s", path, strerror(errno));
		return 1;
	}
	if (!a.enrolled && !a.token) {
		say("not enrolled yet: run once with --enroll TOKEN or --bundle FILE");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = run(&a);
	sodium_memzero(&a.id, sizeof a.id);
	for (int i = 0; i < a.neps; i++)
		free(a.eps[i]);
	if (a.token) {
		sodium_memzero(a.token, strlen(a.token));
		free(a.token);
	}
	return rc;
}
