/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c - the placement actions: policy.place picks a host for a VM and
 * claims its resources atomically in the store; policy.release (its undo)
 * gives them back when the workflow fails or is compensated.
 *
 * Both run on the main thread (TR_ACTION_MAIN_THREAD): they write the
 * claims table, and the engine they use is built from the store
 * (core/placement/service.h).  Both are idempotent under env->idem_key: a
 * replayed place returns the host its first run claimed, and a replayed
 * release finds its own tombstone and succeeds.  A claim belongs to the
 * instance that placed it ("wf:ID") until hypervisor.vm_record hands it to
 * the VM ("vm:UUID").  Releasing a claim that was never made, or that
 * someone else released, is NOTFOUND: a mistyped claim must not look
 * released while its capacity stays booked.
 */
#include <stdio.h>
#include <string.h>

#include "../auth/auth.h"
#include "../placement/request.h"
#include "../placement/reserve.h"
#include "../placement/service.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/json.h"
#include "../util/metrics.h"
#include "action.h"

static const struct tr_field place_in[] = {TR_PLACE_FIELDS, TR_FIELDS_END};
static const struct tr_field place_out[] = {
    {"host", TR_T_STRING, 1, "the chosen host"},
    {"host_id", TR_T_INT, 1, "its inventory id"},
    {"zone", TR_T_STRING, 1, "its zone"},
    {"pool", TR_T_STRING, 1,
     "a storage pool of its cluster (or a shared one), \"\" if none"},
    {"policy", TR_T_STRING, 1, "the policy that placed it"},
    {"claim", TR_T_STRING, 1, "the claim key (for policy.release)"},
    TR_FIELDS_END,
};
/* The undo may be called with the place step's arguments: accept them. */
static const struct tr_field release_in[] = {
    {"key", TR_T_STRING, 0,
     "the claim to release (default: this step's idempotency key)"},
    {"claim", TR_T_STRING, 0, "same as key (policy.place's output)"},
    TR_PLACE_FIELDS,
    TR_FIELDS_END};
static const struct tr_field release_out[] = {
    {"claim", TR_T_STRING, 1, "the claim released"},
    {"released", TR_T_BOOL, 1, "true (a claim not held is an error)"},
    TR_FIELDS_END,
};

static int need_daemon(const struct tr_action_env *env, const char *what,
		       trellis_call_t *call)
{
	if (env && env->daemon && env->daemon->store)
		return 0;
	return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			   "%s needs a running trellisd (its store)", what);
}

/* A pool for the host: one in its cluster, else one without a cluster. */
static void pool_for(struct tr_sql *db, uint64_t host_id, char *out, size_t len)
{
	struct tr_sql_stmt *st = NULL;
	out[0] = '\0';
	if (tr_sql_prepare(
		db,
		"SELECT name FROM pool WHERE cluster_id = (SELECT "
		"cluster_id FROM host WHERE id = ?1) OR cluster_id IS NULL "
		"ORDER BY cluster_id IS NULL, id LIMIT 1",
		&st) != 0)
		return;
	tr_sql_bind_int64(st, 1, (int64_t)host_id);
	if (tr_sql_step(st) == TR_SQL_ROW)
		snprintf(out, len, "%s", tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
}

static const struct tr_metric m_place_seconds = {
    "trellis_placement_seconds",
    "Latency of policy.place (pick and durable claim), by result",
    TR_METRIC_HISTOGRAM,
    {"result", NULL}};
static const struct tr_metric m_refusals = {
    "trellis_placement_refusals_total",
    "Hosts removed by each filter in placements that found no host",
    TR_METRIC_COUNTER,
    {"filter", NULL}};

/* A placement found no host: which filters removed how many, from the
 * dry run that explains it (rare, so its cost does not matter). */
static void count_refusals(struct tr_placer *p, const struct tr_place_req *q)
{
	struct tr_place_why why;
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	memset(&why, 0, sizeof why);
	if (tr_place_why(p, q, 0, &r, &why, &call) != TRELLIS_E_NOSPACE)
		return;
	for (uint32_t i = 0; i < why.pass.n; i++) {
		const char *v[] = {why.pass.by[i].filter};
		tr_metric_add(&m_refusals, v, why.pass.by[i].removed);
	}
}

static int run_place(const struct tr_action_env *env, json_t *args,
		     json_t **result, trellis_call_t *call)
{
	struct tr_place_args pa;
	int rc = need_daemon(env, "policy.place", call);
	if (rc || (rc = tr_place_args_from_json(args, &pa, call)))
		return rc;
	/* A workflow's claim is its BU's (and counts against its quotas):
	 * the BU that started it, whatever its inputs say. */
	char bu[TR_NAME_LEN + 1];
	trellis_call_t probe;
	tr_call_init(&probe, NULL);
	if (env->instance_id &&
	    tr_wf_owner_bu(env->daemon->store, env->instance_id, bu, sizeof bu,
			   &probe) == 1 &&
	    bu[0])
		pa.q.tenant = bu;
	struct tr_placer *p = tr_placement_engine(env->daemon, call);
	if (!p)
		return call->code;
	const char *key =
	    env->idem_key && *env->idem_key ? env->idem_key : NULL;
	if (!key)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "policy.place needs an idempotency key "
				   "(it runs as a workflow step)");
	struct tr_sql *db = tr_store_sql(env->daemon->store);
	struct tr_place_result r;
	long long t0 = tr_metric_now_ns();
	rc = tr_place_reserve(p, db, &pa.q, key, &r, call);
	const char *res[] = {rc == 0 ? "placed" : trellis_error_name(rc)};
	tr_metric_observe(&m_place_seconds, res,
			  (double)(tr_metric_now_ns() - t0) / 1e9);
	if (rc == TRELLIS_E_NOSPACE)
		count_refusals(p, &pa.q);
	if (rc)
		return rc;
	char owner[300];
	snprintf(owner, sizeof owner, "wf:%s",
		 env->instance_id ? env->instance_id : "");
	if (env->instance_id && (rc = tr_claim_set_owner(db, key, owner, call)))
		return rc;
	char pool[128];
	pool_for(db, r.host_id, pool, sizeof pool);
	*result = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "host", r.host,
			    "host_id", (json_int_t)r.host_id, "zone", r.zone,
			    "pool", pool, "policy", r.policy, "claim", key);
	return *result ? 0
		       : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}

static int run_release(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	int rc = need_daemon(env, "policy.release", call);
	if (rc)
		return rc;
	const char *key = tr_json_str_opt(args, "key");
	if (!key)
		key = tr_json_str_opt(args, "claim");
	if (!key)
		key = env->idem_key;
	if (!key || !*key)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "policy.release: which claim? (give key)");
	struct tr_placer *p = tr_placement_engine(env->daemon, call);
	if (!p)
		return call->code;
	struct tr_sql *db = tr_store_sql(env->daemon->store);
	rc = tr_place_release(p, db, key, env->idem_key, NULL, NULL, call);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s, s:b}", "claim", key, "released", 1);
	return *result ? 0
		       : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}

static const struct tr_action policy_actions[] = {
    {.name = "policy.place",
     .description = "Choose a host for a VM with the zone's placement "
		    "policy and claim its resources atomically.",
     .input = place_in,
     .output = place_out,
     .run = run_place,
     .undo = "policy.release",
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
    {.name = "policy.release",
     .description = "Give back what policy.place claimed (its undo).",
     .input = release_in,
     .output = release_out,
     .run = run_release,
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
};

void tr_actions_register_policy(void)
{
	tr_actions_add(policy_actions,
		       sizeof policy_actions / sizeof *policy_actions);
}
