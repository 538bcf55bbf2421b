/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.c - an agent's first frame: its proof checked on the relay's
 * thread, then the store's decision (enrolment or a returning agent)
 * on the main thread; refusals.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/error.h>

#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "relay_int.h"

struct auth {
	struct tr_relay *r;
	int lsn;
	uint32_t pipe;
	uint64_t gen;
	char name[64], zone[64], pk[65], params[TR_LINK_PARAMS_MAX + 1];
	char *token;
};

void tr_relay_refused(struct tr_relay *r, struct session *s, const char *url,
		      const char *name, const char *zone, const char *params,
		      const char *why)
{
	tr_warn("agents %s: refused agent '%s' (zone '%s', %s): %s; nothing "
		"changed",
		url, name, zone, params, why);
	if (s) {
		tr_relay_send_close(
		    r, s,
		    json_pack("{s:s, s:s}", "t", "refused", "reason", why));
		tr_relay_drop(r, s, why);
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
		rc = TRELLIS_E_UNAVAILABLE,
		snprintf(msg, sizeof msg, "the core is stopping");
	else if (a->token) {
		rc = tr_agent_enrol(d->store, a->token, a->zone, a->name, a->pk,
				    msg, sizeof msg);
		snprintf(zone, sizeof zone, "%s", a->zone);
	} else {
		rc = tr_agent_check(tr_store_sql(d->store), a->name, a->pk, zone,
				    sizeof zone, msg, sizeof msg);
	}
	tr_relay_lock(r);
	struct session *s = *tr_relay_slot(r, a->lsn, a->pipe);
	if (s && s->gen != a->gen)
		s = NULL;
	if (rc) {
		tr_relay_refused(r, s, r->urls[a->lsn], a->name,
				 a->zone[0] ? a->zone : "?", a->params, msg);
	} else if (!s) {
		if (a->token)
			tr_info("agent '%s' enrolled in zone '%s'; its link "
				"went before it was answered",
				a->name, zone);
	} else {
		struct session *old = tr_relay_find(r, a->name);
		if (old)
			tr_relay_drop(r, old, "replaced by a new connection");
		s->st = S_UP;
		snprintf(s->agent, sizeof s->agent, "%s", a->name);
		snprintf(s->zone, sizeof s->zone, "%s", zone);
		tr_relay_name_add(r, s);
		s->since = tr_now_ms();
		if (a->token)
			tr_info(
			    "agent '%s' enrolled in zone '%s' (key %.16s..., "
			    "token burnt)",
			    a->name, zone, a->pk);
		tr_info("agent '%s' (zone '%s') connected: %s", a->name, zone,
			a->params);
		tr_relay_enqueue(
		    r, s,
		    json_pack("{s:s, s:s, s:s, s:i, s:i}", "t", "welcome",
			      "agent", a->name, "zone", zone, "heartbeat_ms",
			      (int)r->beat_ms, "dead_after", (int)r->dead));
		tr_agent_hosts_state(tr_store_sql(d->store), a->name, "up",
				     NULL);
		tr_relay_send_pending(r, s);
	}
	pthread_mutex_unlock(&r->mu);
	if (a->token) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a);
}

/* The first frame: who the agent says it is, and its proof. */
void tr_relay_on_auth(struct tr_relay *r, struct session *s, json_t *m)
{
	const char *name = tr_relay_jstr(m, "name"),
		   *pk = tr_relay_jstr(m, "pk"), *sig = tr_relay_jstr(m, "sig"),
		   *token = tr_relay_jstr(m, "token"),
		   *zone = tr_relay_jstr(m, "zone");
	const char *url = r->urls[s->lsn];
	unsigned char pkb[32], sigb[64];
	if (!name || !pk || !sig || strlen(name) >= 64 || !*name ||
	    (token && (!zone || strlen(zone) >= 64))) {
		tr_relay_refused(r, s, url, name ? name : "?",
				 zone ? zone : "?", s->link.params,
				 "malformed authentication");
		return;
	}
	if (tr_link_unhex(pk, pkb, 32) || tr_link_unhex(sig, sigb, 64) ||
	    tr_link_verify(&s->link, pkb, sigb)) {
		tr_relay_refused(
		    r, s, url, name, zone ? zone : "?", s->link.params,
		    "bad signature (not this connection's transcript, or "
		    "not the key it names)");
		return;
	}
	struct auth *a = tr_xcalloc(1, sizeof *a);
	if (!a)
		return;
	*a = (struct auth){
	    .r = r, .lsn = s->lsn, .pipe = s->pipe, .gen = s->gen};
	snprintf(a->name, sizeof a->name, "%s", name);
	snprintf(a->zone, sizeof a->zone, "%s", zone ? zone : "");
	snprintf(a->pk, sizeof a->pk, "%s", pk);
	snprintf(a->params, sizeof a->params, "%s", s->link.params);
	a->token = token ? tr_xstrdup(token) : NULL;
	s->st = S_AUTHING;
	if (tr_daemon_call_main(r->d, auth_main, a)) {
		free(a->token);
		free(a);
		tr_relay_refused(r, s, url, name, zone ? zone : "?",
				 s->link.params, "the core is busy");
	}
}
