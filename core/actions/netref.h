/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netref.h - a host's network context for the network.* actions
 * (network.c; netrouter.c): its cached connection to the network plugin,
 * and the target fields every such action takes.  Internal to
 * core/actions.
 */
#ifndef TRELLIS_CORE_ACTIONS_NETREF_H
#define TRELLIS_CORE_ACTIONS_NETREF_H

#include "../dispatch/dispatch.h"
#include "action.h"

struct net_ref {
	struct tr_daemon *d;
	struct tr_conn *c;
	struct tr_target *t;
	const char *host, *uri;
};

/* Opens args.host's network context (args.uri, "local" by default)
 * with plugin (NULL: args.plugin, or bridge): 0 or the error in call. */
int tr_net_ref_get(const struct tr_action_env *env, json_t *args,
		   const char *plugin, struct net_ref *n, trellis_call_t *call);
void tr_net_ref_put(struct net_ref *n);
/* Makes segment (args "segment") present on the host of args, from its
 * inventory record; on success n is the open host target (put it back). */
int tr_net_segment_here(const struct tr_action_env *env, json_t *args,
			struct net_ref *n, trellis_segment_info_t *out,
			trellis_call_t *call);

/* clang-format off */
#define TARGET_FIELDS                                                          \
	{"host", TR_T_STRING, 1, "the host (network context) to act on"},    \
	{"uri", TR_T_STRING, 0, "\"local\" (default) or \"netns:NAME\""},    \
	{"plugin", TR_T_STRING, 0, "network plugin (default bridge)"}
#define TARGET_OUT                                                             \
	{"host", TR_T_STRING, 1, "host"},                                     \
	{"uri", TR_T_STRING, 1, "network context"}
/* clang-format on */

#endif
