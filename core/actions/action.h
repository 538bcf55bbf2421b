/* SPDX-License-Identifier: Apache-2.0 */
/*
 * action.h - the action registry: the one place where JSON meets plugins.
 *
 * An action is a name ("storage.volume_create"), an input schema, an output
 * schema and a function.  Workflow validation, the API and
 * `trellis action list|show` all read the same schemas.  Each plugin kind
 * has one file here (hypervisor.c, storage.c, network.c, policy.c) that
 * converts JSON arguments into that kind's typed spec structs, calls the
 * plugin through core/dispatch, and converts the result back to JSON.
 * Plugins never see JSON.
 *
 * Actions run on worker threads unless they say TR_ACTION_MAIN_THREAD (for
 * quick actions that must write the store atomically, such as placement
 * claims).  An action that changes infrastructure must be idempotent under
 * env->idem_key: a replay after a crash finds what the first run made.
 *
 * Registration is explicit (no constructors: a static library drops
 * unreferenced objects): each kind file defines tr_actions_register_<kind>()
 * and core/actions/all.c calls them all from tr_actions_init().
 */
#ifndef TRELLIS_CORE_ACTION_H
#define TRELLIS_CORE_ACTION_H

#include <jansson.h>
#include <stddef.h>

#include <trellis/host.h>

#include "../dispatch/dispatch.h"
#include "../util/schema.h"


/* Action flags */
#define TR_ACTION_MUTATES (1u << 0)     /* changes infrastructure */
#define TR_ACTION_MAIN_THREAD (1u << 1) /* run on the daemon's main thread */
#define TR_ACTION_ENGINE (1u << 2) /* run by the workflow engine itself
				    * (workflow.run: a sub-workflow) */

struct tr_daemon; /* core/runtime/daemon.h: store, plugin registry, connections */

struct tr_action_env {
	struct tr_daemon *daemon; /* NULL in offline tools (validate) */
	const char *idem_key;     /* "<instance>/<step>", stable across replays */
	const char *instance_id;
	const char *step_id;
	int attempt; /* 1-based attempt of this step (retries count up) */
	/* Appended: the host's record when the caller has it already
	 * (tr_action_call looked it up; an agent got it with the command),
	 * so the action does not look it up again.  Borrowed; may be NULL. */
	json_t *host_record;
	/* Appended: inventory records a relayed command brought along
	 * ({"pool": record, "segment": record}), for an agent, which has
	 * no store: tr_lookup_env() finds them here.  Borrowed; may be
	 * NULL. */
	json_t *records;
};

struct tr_action {
	const char *name;
	const char *description;
	const struct tr_field *input;  /* terminated by TR_FIELDS_END */
	const struct tr_field *output; /* terminated by TR_FIELDS_END */
	/* Runs the action with validated, typed-normalised args.  On success
	 * sets *result (a new reference to an object) and returns 0; on
	 * failure sets an error in call (tr_call_set) and returns it. */
	int (*run)(const struct tr_action_env *env, json_t *args,
		   json_t **result, trellis_call_t *call);
	const char *undo;  /* the natural compensation ("storage.volume_delete"), or NULL */
	unsigned flags;
	/* Appended: the part of run() that reads the store beyond the
	 * records it acts on (a volume of another VM is not deleted), for
	 * the core to run before it relays the action to an agent, which
	 * has no store.  run() calls it as well.  NULL: none. */
	int (*guard)(const struct tr_action_env *env, json_t *args,
		     trellis_call_t *call);
};

/* Adds actions (static storage, not copied).  A duplicate name aborts:
 * it is a programming error. */
void tr_actions_add(const struct tr_action *actions, size_t n);

/* A pool's capacity as the storage actions return it (storage.c):
 * provisioned (ABI 1.1) only from a plugin built for 1.1. */
json_t *tr_pool_info_json(const char *pool, const struct tr_target *t,
			  const trellis_pool_info_t *info);
/* Registers every built-in action once (idempotent). */
void tr_actions_init(void);

/* Each action file's registration function (core/actions/all.c calls
 * them from tr_actions_init(); subflow.c defines the workflow one, the
 * declaration of the engine's own workflow.run).  A new action file adds its line here and in all.c. */
void tr_actions_register_core(void);
void tr_actions_register_workflow(void);
void tr_actions_register_storage(void);
void tr_actions_register_network(void);
void tr_actions_register_netrouter(void); /* netrouter.c: routers */
void tr_actions_register_policy(void);
void tr_actions_register_hypervisor(void);
void tr_actions_register_vmrecord(void); /* vmrecord.c: vm_record, vm_forget */
void tr_actions_register_vm(void);
void tr_actions_register_probe(void);
void tr_actions_register_maint(void);
void tr_actions_register_tenancy(void);
void tr_actions_register_ipam(void); /* network.ip_allocate/_release */
void tr_actions_register_lifecycle(void);
void tr_actions_register_fence(void);
void tr_actions_register_bmc(void); /* bmc.c: fence.redfish, fence.ipmitool */
void tr_actions_register_adapters(void); /* adapters.c: discovery, assignments, bridges */
void tr_actions_register_volcopy(void); /* volcopy.c: storage.volume_copy */

const struct tr_action *tr_action_find(const char *name);
size_t tr_action_count(void);
const struct tr_action *tr_action_at(size_t i); /* sorted by name */

/*
 * Calls action a on its target: the one road from a caller (a workflow
 * step, an API op's tr_action_submit) to an action's run().  A
 * hypervisor.* action on a host reached through an agent (its record's
 * "agent", or the "agent" argument of hypervisor.host_probe for a host
 * not recorded yet) goes to that agent over the relay (core/relay:
 * tr_relay_call), with its arguments and idempotency key, and the agent
 * runs the same action through this layer on its own plugins; every
 * other call runs here.  road.c.
 */
int tr_action_call(const struct tr_action_env *env, const struct tr_action *a,
		   json_t *args, json_t **result, trellis_call_t *call);

/* tr_fields_check() (util/schema.h) with the action's input schema. */
int tr_action_check_args(const struct tr_action *a, json_t *args, char *err,
			 size_t errlen);

/* The schema of an action as JSON (for the API and `trellis action show`). */
json_t *tr_action_json(const struct tr_action *a);

#endif
