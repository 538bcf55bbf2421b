/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stref.h - an open storage target for the ABI 1.1 storage actions
 * (adapters.c: discovery, assignments, bridges; volcopy.c: the copy): a
 * pool by its record, or a credential alone (its connection keyed
 * "credential/NAME").  Internal to core/actions.
 */
#ifndef TRELLIS_CORE_ACTIONS_STREF_H
#define TRELLIS_CORE_ACTIONS_STREF_H

#include "../dispatch/dispatch.h"
#include "action.h"

struct tr_stref {
	struct tr_daemon *d;
	struct tr_conn *c;
	struct tr_target *t;
	char name[200];
};

/* Opens args.pool (by its record, its credential's options added) or
 * args.credential (on args.target): 0 or the error in call. */
int tr_stref_open(const struct tr_action_env *env, json_t *args,
		  struct tr_stref *r, trellis_call_t *call);
/* Opens pool by its record (made when missing): 0 or the error. */
int tr_stref_pool(struct tr_daemon *d, const char *pool, struct tr_stref *r,
		  trellis_call_t *call);
/* Gives its connection back (idempotent). */
void tr_stref_close(struct tr_stref *r);

#endif
