/* SPDX-License-Identifier: Apache-2.0 */
/* network.c - dispatch wrappers for network plugins (dispatch.h). */
#include <string.h>

#include "../loader/loader.h"
#include "dispatch.h"

#define BEGIN(op)                                                              \
	TR_DISPATCH_BEGIN(TRELLIS_KIND_NETWORK, trellis_network_ops, op)

int tr_net_connect(struct trellis_plugin *p, trellis_call_t *call,
		   const char *uri, const trellis_node_t *options,
		   uint32_t flags, void **conn)
{
	*conn = NULL;
	BEGIN(connect);
	TR_DISPATCH_RUN(NULL, connect, p->state_ptr, call, uri, options, flags,
			conn);
}

void tr_net_disconnect(struct tr_target *t)
{
	TR_DISPATCH_TARGET(t, conn);
	const struct trellis_network_ops *ops = tr_plugin_ops(p);
	if (!tr_plugin_has_op(
		p, offsetof(struct trellis_network_ops, disconnect)) ||
	    p->desc->kind != TRELLIS_KIND_NETWORK)
		return;
	tr_plugin_enter(p, lock);
	ops->disconnect(p->state_ptr, conn);
	tr_plugin_leave(p, lock);
}

int tr_net_segment_ensure(struct tr_target *t, trellis_call_t *call,
			  const trellis_segment_spec_t *spec,
			  const char *idem_key, uint32_t flags,
			  trellis_segment_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_segment_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(segment_ensure);
	TR_DISPATCH_RUN(lock, segment_ensure, conn, call, spec, idem_key, flags,
			out);
}

int tr_net_segment_release(struct tr_target *t, trellis_call_t *call,
			   const char *segment, const char *idem_key,
			   uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(segment_release);
	TR_DISPATCH_RUN(lock, segment_release, conn, call, segment, idem_key,
			flags);
}

int tr_net_port_create(struct tr_target *t, trellis_call_t *call,
		       const trellis_port_spec_t *spec, const char *idem_key,
		       uint32_t flags, trellis_port_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_port_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(port_create);
	TR_DISPATCH_RUN(lock, port_create, conn, call, spec, idem_key, flags,
			out);
}

int tr_net_port_delete(struct tr_target *t, trellis_call_t *call,
		       const char *port, const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(port_delete);
	TR_DISPATCH_RUN(lock, port_delete, conn, call, port, idem_key, flags);
}

int tr_net_rule_add(struct tr_target *t, trellis_call_t *call,
		    const trellis_fw_rule_t *rule, const char *idem_key,
		    uint32_t flags, char rule_id[64])
{
	TR_DISPATCH_TARGET(t, conn);
	char scratch[64];
	if (!rule_id)
		rule_id = scratch;
	memset(rule_id, 0, 64);
	BEGIN(rule_add);
	TR_DISPATCH_RUN(lock, rule_add, conn, call, rule, idem_key, flags,
			rule_id);
}

int tr_net_rule_delete(struct tr_target *t, trellis_call_t *call,
		       const char *rule_id, const char *idem_key,
		       uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(rule_delete);
	TR_DISPATCH_RUN(lock, rule_delete, conn, call, rule_id, idem_key,
			flags);
}

int tr_net_gc(struct tr_target *t, trellis_call_t *call,
	      const char *const *keep, uint32_t n_keep, uint32_t flags,
	      trellis_gc_fn fn, void *opaque)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(gc);
	TR_DISPATCH_RUN(lock, gc, conn, call, keep, n_keep, flags, fn, opaque);
}

int tr_net_router_ensure(struct tr_target *t, trellis_call_t *call,
			 const trellis_router_spec_t *spec,
			 const char *idem_key, uint32_t flags,
			 trellis_router_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_router_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(router_ensure);
	TR_DISPATCH_RUN(lock, router_ensure, conn, call, spec, idem_key, flags,
			out);
}

int tr_net_router_remove(struct tr_target *t, trellis_call_t *call,
			 const char *name, const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(router_remove);
	TR_DISPATCH_RUN(lock, router_remove, conn, call, name, idem_key, flags);
}

int tr_net_rule_stats(struct tr_target *t, trellis_call_t *call,
		      const char *rule_id, uint32_t flags,
		      trellis_fw_rule_stats_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_fw_rule_stats_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(rule_stats);
	TR_DISPATCH_RUN(lock, rule_stats, conn, call, rule_id, flags, out);
}
