/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c - dispatch wrappers for policy plugins (dispatch.h). */
#include <string.h>

#include "../loader/loader.h"
#include "dispatch.h"

#define BEGIN(op) TR_DISPATCH_BEGIN(TRELLIS_KIND_POLICY, trellis_policy_ops, op)

/* The NULL-terminated item list at offset, or NULL. */
static const trellis_policy_item_t *const *items(const struct trellis_plugin *p,
						 size_t offset)
{
	if (!p || !p->desc || p->desc->kind != TRELLIS_KIND_POLICY ||
	    !tr_plugin_has_op(p, offset))
		return NULL;
	const trellis_policy_item_t *const *v;
	memcpy(&v, (const char *)tr_plugin_ops(p) + offset, sizeof v);
	return v;
}

static size_t count(const trellis_policy_item_t *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

size_t tr_policy_n_filters(const struct trellis_plugin *p)
{
	return count(items(p, offsetof(struct trellis_policy_ops, filters)));
}

size_t tr_policy_n_weighers(const struct trellis_plugin *p)
{
	return count(items(p, offsetof(struct trellis_policy_ops, weighers)));
}

const trellis_policy_item_t *tr_policy_filter_at(const struct trellis_plugin *p,
						 size_t i)
{
	return i < tr_policy_n_filters(p)
		   ? items(p, offsetof(struct trellis_policy_ops, filters))[i]
		   : NULL;
}

const trellis_policy_item_t *
tr_policy_weigher_at(const struct trellis_plugin *p, size_t i)
{
	return i < tr_policy_n_weighers(p)
		   ? items(p, offsetof(struct trellis_policy_ops, weighers))[i]
		   : NULL;
}

int tr_policy_filter(struct trellis_plugin *p, trellis_call_t *call,
		     uint32_t idx, const trellis_place_request_t *req,
		     const trellis_host_view_t *const *hosts, size_t n,
		     uint8_t *keep, uint32_t flags, char reason[64])
{
	char scratch[64];
	if (!reason)
		reason = scratch;
	memset(reason, 0, 64);
	BEGIN(filter);
	if (idx >= tr_policy_n_filters(p))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "plugin '%s' (policy) has no filter number "
				   "%u (it has %zu)",
				   p->name, idx, tr_policy_n_filters(p));
	TR_DISPATCH_RUN_UNTIMED(NULL, filter, p->state_ptr, call, idx, req, hosts, n,
			keep, flags, reason);
}

int tr_policy_weigh(struct trellis_plugin *p, trellis_call_t *call,
		    uint32_t idx, const trellis_place_request_t *req,
		    const trellis_host_view_t *const *hosts, size_t n,
		    const uint8_t *keep, double *scores, uint32_t flags)
{
	BEGIN(weigh);
	if (idx >= tr_policy_n_weighers(p))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "plugin '%s' (policy) has no weigher number "
				   "%u (it has %zu)",
				   p->name, idx, tr_policy_n_weighers(p));
	TR_DISPATCH_RUN_UNTIMED(NULL, weigh, p->state_ptr, call, idx, req, hosts, n,
			keep, scores, flags);
}
