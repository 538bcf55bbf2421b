/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subflow.c - the workflow.run action: a step that runs another workflow
 * (a loaded definition) as a child instance and waits for it.
 *
 * Only its declaration lives here, with the other actions, so that the
 * action layer never reaches up into the workflow engine.  The engine
 * runs it itself (TR_ACTION_ENGINE; core/workflow/sched.c, "sub-
 * workflows"): the child is an ordinary
 * instance, journaled on its own, admitted at once (a parent waiting in a
 * slot must not wait for its own child's slot).  Its id is derived from
 * the step's idempotency key, so a parent step re-run after a crash finds
 * its child (running or finished) instead of starting a second one.  The
 * step's outputs are the child's id, state and outputs.
 */
#include "../host/host.h"
#include "action.h"

static int run_outside(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	(void)env;
	(void)args;
	(void)result;
	return tr_call_set(call, TRELLIS_E_NOTSUP,
			   "workflow.run runs only as a workflow step");
}

static const struct tr_field sub_in[] = {
	{"workflow", TR_T_STRING, 1, "name of a loaded definition"},
	{"inputs", TR_T_OBJECT, 0, "its inputs"},
	TR_FIELDS_END,
};
static const struct tr_field sub_out[] = {
	{"id", TR_T_STRING, 1, "the child instance"},
	{"state", TR_T_STRING, 1, "succeeded"},
	{"outputs", TR_T_OBJECT, 1, "the child's outputs"},
	TR_FIELDS_END,
};

static const struct tr_action sub_actions[] = {
	{.name = "workflow.run",
	 .description = "Run another workflow as a child instance and wait "
			"for it; fails when it fails (it compensates itself).",
	 .input = sub_in,
	 .output = sub_out,
	 .run = run_outside,
	 .flags = TR_ACTION_ENGINE},
};

void tr_actions_register_workflow(void)
{
	tr_actions_add(sub_actions, sizeof sub_actions / sizeof *sub_actions);
}
