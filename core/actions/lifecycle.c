/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lifecycle.c - the VM lifecycle as the record sees it (vm.start,
 * vm.stop and HA's vm.ha_restart workflows):
 *
 * vm.start_gate says whether a start has anything to do: a VM that runs
 * already is left alone (a start of a running VM is a no-op), and a VM
 * whose record does not say how to make its NIC again cannot be started
 * after a stop took its NIC away.
 *
 * vm.started records the outcome of a start the hypervisor answered: on
 * success the VM's host (only now: a VM's host is shown once its start
 * is confirmed), its state, the port the start made and, when the start
 * moved it (HA), its new placement claim in place of the old; on failure
 * the state "failed" with the reason.  With audit_op set (HA), the
 * outcome is audited too.
 *
 * Both run on the main thread: they read and write the store.
 */
#include <stdio.h>
#include <string.h>

#include "../auth/auth.h"
#include "../placement/claims.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/json.h"
#include "../util/log.h"
#include "action.h"
#include "vm.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))

static int run_gate(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call)
{
	(void)env;
	const char *state = S(args, "state"), *port = S(args, "nic_port");
	int start = !state || (strcmp(state, "running") && strcmp(state, "paused"));
	if (start && (!port || !*port))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "VM %s: its record does not say how to make "
				   "its NIC again (made before Trellis kept it); "
				   "destroy it and provision it again",
				   S(args, "vm"));
	*result = json_pack("{s:b, s:s}", "start", start, "state",
			    state ? state : "");
	return 0;
}

/* The record's ports with the one named like port replaced by it. */
static json_t *ports_with(json_t *old, json_t *port)
{
	json_t *out = json_array(), *e;
	size_t i;
	int done = 0;
	json_array_foreach(old, i, e)
	{
		if (S(port, "name") && S(e, "name") &&
		    !strcmp(S(port, "name"), S(e, "name"))) {
			json_array_append(out, port);
			done = 1;
		} else {
			json_array_append(out, e);
		}
	}
	if (!done && S(port, "name"))
		json_array_append(out, port);
	return out;
}

static int set_host(struct tr_sql *db, const char *uuid, const char *host,
		    trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "UPDATE vm SET host_id = (SELECT id FROM host "
			   "WHERE name = ?2) WHERE uuid = ?1",
			   &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "vm.started: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_text_copy(st, 1, uuid);
	if (host && *host)
		tr_sql_bind_text_copy(st, 2, host);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE
		   ? 0
		   : tr_call_set(call, TRELLIS_E_IO, "vm.started: %s",
				 tr_sql_errmsg(db));
}

int tr_vm_set_host(struct tr_store *s, const char *uuid, const char *host,
		   trellis_call_t *call)
{
	return set_host(tr_store_sql(s), uuid, host, call);
}

static int run_started(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	if (!env || !env->daemon || !env->daemon->store)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "vm.started needs the daemon");
	struct tr_store *st = env->daemon->store;
	struct tr_sql *db = tr_store_sql(st);
	const char *uuid = S(args, "uuid"), *host = S(args, "host");
	int ok = json_is_true(json_object_get(args, "started"));
	const char *err = S(args, "error");
	json_t *rec = NULL;
	int rc = tr_store_get(st, TR_KIND_VM, uuid, &rec, call);
	if (rc)
		return rc;
	json_t *spec = json_deep_copy(json_object_get(rec, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_t *port = json_object_get(args, "port");
	if (ok) {
		json_object_del(spec, "error");
		if (json_is_object(port) && S(port, "name")) {
			json_t *np = ports_with(json_object_get(spec, "ports"),
						port);
			json_object_set_new(spec, "ports", np);
		}
	} else {
		json_object_set_new(spec, "error",
				    json_string(err && *err ? err
							    : "the start failed"));
	}
	json_t *f = json_pack("{s:s, s:O}", "state", ok ? "running" : "failed",
			      "spec", spec);
	json_decref(spec);
	const char *claim = S(args, "claim"), *old = S(args, "old_claim");
	char owner[64];
	snprintf(owner, sizeof owner, "vm:%s", uuid);
	if ((rc = tr_store_begin(st, call)))
		goto out;
	rc = tr_store_update(st, TR_KIND_VM, uuid, f, NULL, call);
	if (!rc && ok && host && *host)
		rc = set_host(db, uuid, host, call);
	/* A VM that moved owns its new claim; the old host's is given
	 * back (a claim already released is fine). */
	if (!rc && ok && claim && *claim)
		rc = tr_claim_set_owner(db, claim, owner, call);
	if (!rc && ok && old && *old && (!claim || strcmp(old, claim))) {
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (tr_claim_release(db, old, owner, "moved by HA", NULL, &c2) &&
		    c2.code != TRELLIS_E_NOTFOUND)
			rc = tr_call_set(call, c2.code, "%s", c2.message);
	}
	if (!rc)
		rc = tr_store_commit(st, call);
	else
		tr_store_rollback(st);
	const char *op = S(args, "audit_op");
	if (!rc && op && *op) {
		char obj[512];
		snprintf(obj, sizeof obj, "vm %s -> %s", S(rec, "name"),
			 ok ? host : "(nowhere)");
		struct tr_audit_rec a = {.user = "ha",
					 .bu = S(rec, "tenant"),
					 .op = op,
					 .object = obj,
					 .result = ok ? "ok" : "failed",
					 .via = "local"};
		trellis_call_t c3;
		tr_call_init(&c3, NULL);
		tr_audit_append(st, &a, &c3);
	}
	if (!rc) {
		tr_daemon_publish(env->daemon, "vm.state",
				  json_pack("{s:s, s:s, s:s?, s:s?}", "uuid",
					    uuid, "state",
					    ok ? "running" : "failed", "host",
					    ok ? host : NULL, "error",
					    ok ? NULL : err));
		*result = json_pack("{s:s, s:s, s:s}", "uuid", uuid, "state",
				    ok ? "running" : "failed", "host",
				    ok && host ? host : "");
	}
out:
	json_decref(f);
	json_decref(rec);
	return rc;
}

static const struct tr_field gate_in[] = {
    {"vm", TR_T_STRING, 1, "the VM's uuid"},
    {"state", TR_T_STRING, 0, "its state as its hypervisor says"},
    {"nic_port", TR_T_STRING, 0, "its NIC's port (vm.lookup's)"},
    TR_FIELDS_END};
static const struct tr_field gate_out[] = {
    {"start", TR_T_BOOL, 1, "whether a start has anything to do"},
    {"state", TR_T_STRING, 1, "the state it was in"},
    TR_FIELDS_END};
static const struct tr_field started_in[] = {
    {"uuid", TR_T_STRING, 1, "the VM"},
    {"host", TR_T_STRING, 1, "the host the start ran on"},
    {"started", TR_T_BOOL, 0, "the hypervisor confirmed the start"},
    {"error", TR_T_ANY, 0, "why it did not start"},
    {"port", TR_T_ANY, 0, "the port the start made: {host, name, key}"},
    {"claim", TR_T_ANY, 0, "its new placement claim (a move)"},
    {"old_claim", TR_T_ANY, 0, "the claim it leaves (a move)"},
    {"audit_op", TR_T_STRING, 0, "audit the outcome under this op (HA)"},
    TR_FIELDS_END};
static const struct tr_field started_out[] = {
    {"uuid", TR_T_STRING, 1, "the VM"},
    {"state", TR_T_STRING, 1, "running or failed"},
    {"host", TR_T_STRING, 1, "its host now, \"\" when it did not start"},
    TR_FIELDS_END};

static const struct tr_action lifecycle_actions[] = {
    {.name = "vm.start_gate",
     .description = "Whether a start has anything to do (a running VM: no)",
     .input = gate_in,
     .output = gate_out,
     .run = run_gate,
     .flags = TR_ACTION_MAIN_THREAD},
    {.name = "vm.started",
     .description = "Record a start's outcome: host, state and port, or "
		    "failed with the reason",
     .input = started_in,
     .output = started_out,
     .run = run_started,
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
};

void tr_actions_register_lifecycle(void)
{
	tr_actions_add(lifecycle_actions,
		       sizeof lifecycle_actions / sizeof *lifecycle_actions);
}
