/* SPDX-License-Identifier: Apache-2.0 */
/*
 * road.c - tr_action_call (action.h): where a call to an action on a host
 * takes its road.  A host reached directly runs the action here (its
 * run() opens the host's cached connection); a host behind a private
 * zone's agent gets the same action, arguments and idempotency key
 * relayed to its agent (core/relay), which runs it through this same
 * layer on the plugins it loaded (core/agent).  The choice is made here
 * and nowhere else.
 */
#include <string.h>

#include "../relay/relay.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"

/* How long a relayed action may wait for its agent at most; a step's own
 * timeout cancels the call sooner (call->cancelled). */
#define RELAY_TIMEOUT_MS (15u * 60 * 1000)

int tr_action_call(const struct tr_action_env *env, const struct tr_action *a,
		   json_t *args, json_t **result, trellis_call_t *call)
{
	struct tr_daemon *d = env ? env->daemon : NULL;
	/* Only the hypervisor.* actions that reach a host: the store's own
	 * (vm_record, vm_forget) run on the main thread, here.  An agent
	 * (no store: its env has the host's record) runs what it got. */
	if (!d || !d->store_path || env->host_record ||
	    strncmp(a->name, "hypervisor.", 11) != 0 ||
	    (a->flags & TR_ACTION_MAIN_THREAD))
		return a->run(env, args, result, call);
	const char *agent = tr_json_str_opt(args, "agent");
	const char *host = tr_json_str_opt(args, "host");
	json_t *rec = NULL;
	if (agent) { /* hypervisor.host_probe: not recorded yet */
		rec = json_pack("{s:s, s:s?, s:s?}", "name", host ? host : "",
				"hypervisor", tr_json_str_opt(args, "hypervisor"),
				"uri", tr_json_str_opt(args, "uri"));
	} else if (host) {
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (tr_lookup(d, TR_KIND_HOST, host, &rec, &c2) < 0)
			return a->run(env, args, result, call); /* it says why */
		agent = tr_json_str_opt(rec, "agent");
	}
	if (!agent) { /* direct: the record found is the action's */
		struct tr_action_env e2 = *env;
		e2.host_record = rec;
		int rc = a->run(&e2, args, result, call);
		json_decref(rec);
		return rc;
	}
	json_t *fwd = json_deep_copy(args);
	json_object_del(fwd, "agent");
	char who[64];
	snprintf(who, sizeof who, "%s", agent); /* rec owns agent */
	int rc = tr_relay_call(d, who, a->name, fwd, env->idem_key, rec,
			       RELAY_TIMEOUT_MS, result, call);
	json_decref(fwd);
	json_decref(rec);
	return rc;
}
