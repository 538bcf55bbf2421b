/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.c - trellis-agent's link to the core (agent.h): the handshake and
 * authentication (core/link) on an endpoint, framed messages both ways,
 * the requests the agent keeps parked at the core.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../link/link.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "agent.h"

void tr_agent_link_close(struct agent *a)
{
	if (a->sock >= 0)
		nn_close(a->sock);
	a->sock = -1;
	tr_link_wipe(&a->link);
}

/* One request: a 4-byte request id (top bit set) that a raw REQ socket
 * must put in front itself, then the bytes. */
int tr_agent_send_req(struct agent *a, const void *buf, size_t len)
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

int tr_agent_send_msg(struct agent *a, json_t *msg)
{
	char *j = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!j)
		return -1;
	size_t len = strlen(j);
	unsigned char *f = tr_xmalloc(len + TR_LINK_OVERHEAD);
	long n = f ? tr_link_seal(&a->link, TR_LINK_DATA, j, len, f) : -1;
	sodium_memzero(j, len);
	free(j);
	int rc = n > 0 ? tr_agent_send_req(a, f, (size_t)n) : -1;
	free(f);
	return rc;
}

/* The next message from the core within ms: its JSON (new reference), or
 * NULL: *closed set when the link ended (refused, revoked, bad frame). */
json_t *tr_agent_recv_msg(struct agent *a, int ms, int *closed, int *kind_close)
{
	*closed = *kind_close = 0;
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof ms);
	void *buf = NULL;
	int n = nn_recv(a->sock, &buf, NN_MSG, 0);
	if (n < 0)
		return NULL;
	unsigned char *p = tr_xmalloc((size_t)n + 1);
	enum tr_link_kind kind;
	long len = p ? tr_link_open(&a->link, buf, (size_t)n, &kind, p) : -1;
	nn_freemsg(buf);
	if (len < 0) {
		tr_agent_say("link to %s: %s", a->eps[a->ep], a->link.why);
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
	if (a->batch && json_is_array(list)) {
		a->batch = 0;
	} else if (json_is_array(list) && json_array_size(list)) {
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
int tr_agent_link_open(struct agent *a, int ep)
{
	a->ep = ep;
	a->sock = nn_socket(AF_SP_RAW, NN_REQ);
	if (a->sock < 0)
		return -1;
	int tmo = HANDSHAKE_MS, ivl = 100, max = 2000;
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL, &ivl, sizeof ivl);
	/* Small frames both ways, each waited for: Nagle's algorithm and
	 * delayed ACKs would hold each one ~40 ms. */
	int one = 1;
	nn_setsockopt(a->sock, NN_TCP, NN_TCP_NODELAY, &one, sizeof one);
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &max,
		      sizeof max);
	if (nn_connect(a->sock, a->eps[ep]) < 0) {
		tr_agent_say("%s: %s", a->eps[ep], nn_strerror(nn_errno()));
		tr_agent_link_close(a);
		return -1;
	}
	char params[TR_LINK_PARAMS_MAX];
	snprintf(params, sizeof params, "endpoint=%s;name=%s;zone=%s",
		 a->eps[ep], a->name, a->zone);
	unsigned char hello[TR_LINK_HELLO_MAX];
	int hlen = tr_link_client_hello(&a->link, TR_LINK_ROLE_AGENT,
					a->core_key, params, hello);
	if (hlen < 0 || tr_agent_send_req(a, hello, (size_t)hlen) < 0) {
		tr_agent_say("%s: cannot send the handshake: %s", a->eps[ep],
		    hlen < 0 ? a->link.why : nn_strerror(nn_errno()));
		tr_agent_link_close(a);
		return -1;
	}
	nn_setsockopt(a->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	void *buf = NULL;
	int n = nn_recv(a->sock, &buf, NN_MSG, 0);
	if (n < 0) {
		tr_agent_say("%s: no answer to the handshake in %d ms", a->eps[ep], tmo);
		tr_agent_link_close(a);
		return -1;
	}
	int rc = tr_link_client_finish(&a->link, buf, (size_t)n);
	nn_freemsg(buf);
	if (rc < 0) {
		tr_agent_say("%s: handshake refused: %s", a->eps[ep], a->link.why);
		tr_agent_link_close(a);
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
	if (tr_agent_send_msg(a, auth) < 0) {
		tr_agent_link_close(a);
		return -1;
	}
	int closed, fin;
	json_t *m = tr_agent_recv_msg(a, 10000, &closed, &fin);
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
			tr_agent_save_config(a);
			tr_agent_say("enrolled as '%s' in zone '%s'", a->name, a->zone);
		}
		tr_agent_say("connected to %s (beat %u ms)", a->eps[ep], a->beat_ms);
		return 0;
	}
	if (t && strcmp(t, "refused") == 0) {
		tr_agent_say("the core refused this agent: %s",
		    json_string_value(json_object_get(m, "reason")));
		json_decref(m);
		tr_agent_link_close(a);
		return -2;
	}
	json_decref(m);
	tr_agent_say("%s: no welcome from the core", a->eps[ep]);
	tr_agent_link_close(a);
	return -1;
}

