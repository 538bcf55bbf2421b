/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calls.c - relaying actions (tr_relay_call): a command pending until
 * its agent answers, sent again under the same id each time the agent
 * authenticates.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/error.h>

#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "relay_int.h"

void tr_relay_send_pending(struct tr_relay *r, struct session *s)
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
		tr_relay_enqueue(r, s, m);
	}
}

/* An answer to a command: {"t":"result","id","rc","result"|"error"}. */
void tr_relay_on_result(struct tr_relay *r, struct session *s, json_t *m)
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

int tr_relay_call(struct tr_daemon *d, const char *agent, const char *action,
		  json_t *args, const char *idem_key, json_t *host,
		  json_t *records, unsigned timeout_ms, json_t **result,
		  trellis_call_t *call)
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
	tr_relay_lock(r);
	snprintf(p->id, sizeof p->id, "%016llx-%llu",
		 (unsigned long long)r->boot,
		 (unsigned long long)++r->next_cmd);
	pthread_mutex_unlock(&r->mu);
	snprintf(p->agent, sizeof p->agent, "%s", agent);
	json_t *m = json_pack("{s:s, s:s, s:s, s:O, s:s?, s:O?, s:O?}", "t",
			      "cmd", "id", p->id, "action", action, "args",
			      args, "idem", idem_key, "host", host, "records",
			      json_object_size(records) ? records : NULL);
	p->json = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!p->json) {
		free(p);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	uint64_t t0 = tr_now_ms(), t0_us = tr_now_us();
	tr_relay_lock(r);
	r->callers++;
	p->next = r->pending;
	r->pending = p;
	struct session *s = tr_relay_find(r, agent);
	if (s)
		tr_relay_send_pending(r, s);
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
						       "connected"
						     : "");
			break;
		}
		if (tr_now_ms() - t0 > timeout_ms) {
			rc = tr_call_set(
			    call, TRELLIS_E_TIMEOUT,
			    "%s on agent '%s': no answer in %u ms%s", action,
			    agent, timeout_ms,
			    tr_relay_find(r, agent)
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
		long long spawn =
			      json_integer_value(json_object_get(at, "spawn")),
			  run = json_integer_value(json_object_get(at, "run"));
		tr_debug("relay: %s on '%s': %llu us: before queued %llu, "
			 "queued to answer %llu (agent: spawn %lld, run %lld), "
			 "wakeup %llu",
			 action, agent, (unsigned long long)(t1 - t0_us),
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
					 "a result",
					 action, agent);
		}
	} else {
		const char *msg =
		    json_string_value(json_object_get(ans, "error"));
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
