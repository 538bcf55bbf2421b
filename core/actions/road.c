/* SPDX-License-Identifier: Apache-2.0 */
/*
 * road.c - tr_action_call (action.h): where a call to an action on a host
 * takes its road.  A host reached directly runs the action here (its
 * run() opens the host's cached connection); a host behind a private
 * zone's agent gets the same action, arguments and idempotency key
 * relayed to its agent (core/relay), which runs it through this same
 * layer on the plugins it loaded (core/agent).  The choice is made here
 * and nowhere else.
 *
 * What goes to an agent: hypervisor.* and network.* actions on a host
 * bound to it (args "host"; the host's record goes along), and storage.*
 * actions on a pool at its site (a pool whose record's spec names the
 * agent; the pool's record goes along), with the segment's record for a
 * network action that names one: the agent has no store.  The part of
 * an action that reads the store (action->guard: another VM's volume is
 * not deleted) runs here, before the relay.
 */
#include <string.h>

#include "../relay/relay.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"

/* How long a relayed action may wait for its agent at most; a step's own
 * timeout cancels the call sooner (call->cancelled). */
#define RELAY_TIMEOUT_MS (15u * 60 * 1000)

static int prefixed(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* The actions of a pool (storage.c; pool_open in probe.c): the others
 * of storage.* (adapters, volume copies) span systems and stay here. */
static int pool_action(const struct tr_action *a)
{
	static const char *const names[] = {
	    "storage.pool_open",       "storage.pool_info",
	    "storage.volume_info",     "storage.volume_list",
	    "storage.volume_create",   "storage.volume_delete",
	    "storage.volume_clone",    "storage.volume_resize",
	    "storage.snapshot_create", "storage.snapshot_delete",
	    NULL};
	for (int i = 0; names[i]; i++)
		if (strcmp(a->name, names[i]) == 0)
			return 1;
	return 0;
}

/* The host's record (a new reference) of args "host", or NULL; the
 * lookup's own error is the action's to give. */
static json_t *host_record(struct tr_daemon *d, json_t *args)
{
	const char *host = tr_json_str_opt(args, "host");
	json_t *rec = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (host && tr_lookup(d, TR_KIND_HOST, host, &rec, &c2) < 0)
		rec = NULL;
	return rec;
}

/* Relays a to agent (who: a copy, rec may own it) with rec as the host
 * record and records; steals rec and records. */
static int relay(const struct tr_action_env *env, const struct tr_action *a,
		 json_t *args, const char *agent, json_t *rec, json_t *records,
		 json_t **result, trellis_call_t *call)
{
	char who[64];
	snprintf(who, sizeof who, "%s", agent);
	int rc = a->guard ? a->guard(env, args, call) : 0;
	if (!rc) {
		json_t *fwd = json_deep_copy(args);
		json_object_del(fwd, "agent");
		rc = tr_relay_call(env->daemon, who, a->name, fwd,
				   env->idem_key, rec, records,
				   RELAY_TIMEOUT_MS, result, call);
		json_decref(fwd);
	}
	json_decref(rec);
	json_decref(records);
	return rc;
}

/* A pool's action: relayed when the pool is at an agent's site. */
static int pool_road(const struct tr_action_env *env, const struct tr_action *a,
		     json_t *args, json_t **result, trellis_call_t *call)
{
	const char *agent = tr_json_str_opt(args, "agent"); /* pool_open */
	json_t *pool = NULL;
	if (!agent) {
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (tr_lookup(env->daemon, TR_KIND_POOL,
			      tr_json_str_opt(args, "pool"), &pool, &c2) < 0)
			return a->run(env, args, result, call); /* it says why */
		agent = tr_json_str_opt(json_object_get(pool, "spec"), "agent");
	}
	if (!agent || !*agent) { /* the core's: the record found is the action's */
		struct tr_action_env e2 = *env;
		json_t *records = pool ? json_pack("{s:O}", "pool", pool) : NULL;
		e2.records = records;
		int rc = a->run(&e2, args, result, call);
		json_decref(records);
		json_decref(pool);
		return rc;
	}
	json_t *records = json_object();
	if (pool)
		json_object_set(records, "pool", pool);
	char who[64];
	snprintf(who, sizeof who, "%s", agent);
	json_decref(pool);
	return relay(env, a, args, who, NULL, records, result, call);
}

/* A network action on a host: relayed when the host is an agent's. */
static int net_road(const struct tr_action_env *env, const struct tr_action *a,
		    json_t *args, json_t **result, trellis_call_t *call)
{
	json_t *rec = host_record(env->daemon, args);
	const char *agent = tr_json_str_opt(rec, "agent");
	if (!agent) {
		json_decref(rec);
		return a->run(env, args, result, call);
	}
	json_t *records = json_object(), *seg = NULL;
	const char *segment = tr_json_str_opt(args, "segment");
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (segment &&
	    tr_lookup(env->daemon, TR_KIND_SEGMENT, segment, &seg, &c2) == 0)
		json_object_set_new(records, "segment", seg);
	return relay(env, a, args, agent, rec, records, result, call);
}

int tr_action_call(const struct tr_action_env *env, const struct tr_action *a,
		   json_t *args, json_t **result, trellis_call_t *call)
{
	struct tr_daemon *d = env ? env->daemon : NULL;
	/* Only the actions that reach a host or a pool: the store's own
	 * (vm_record, vm_forget) run on the main thread, here.  An agent
	 * (no store: its env has the host's record) runs what it got. */
	if (!d || !d->store_path || env->host_record || env->records ||
	    (a->flags & TR_ACTION_MAIN_THREAD))
		return a->run(env, args, result, call);
	if (pool_action(a))
		return pool_road(env, a, args, result, call);
	if (prefixed(a->name, "network.") && tr_json_str_opt(args, "host"))
		return net_road(env, a, args, result, call);
	if (!prefixed(a->name, "hypervisor."))
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
	return relay(env, a, args, agent, rec, NULL, result, call);
}
