/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builtin.c - the "builtin" policy plugin: descriptor and ops.  The filters
 * and weighers themselves live in filters.c and weighers.c; this file only
 * checks arguments and routes by index.  The plugin keeps no mutable state,
 * so it is reentrant.
 */
#include <stdlib.h>

#include "builtin.h"

#define MAX_ITEMS 16

static const trellis_host_t *host;
static const trellis_policy_item_t *filter_items[MAX_ITEMS + 1];
static const trellis_policy_item_t *weigher_items[MAX_ITEMS + 1];

static int pb_init(trellis_plugin_t *self, const trellis_host_t *h,
		   trellis_call_t *call, void **state)
{
	(void)self;
	host = h;
	*state = NULL;
	if (pb_n_filters > MAX_ITEMS || pb_n_weighers > MAX_ITEMS)
		return h->set_error(call, TRELLIS_E_INTERNAL,
				    "too many built-in items");
	return 0;
}

static int check(trellis_call_t *call, uint32_t idx, size_t max,
		 const char *what, uint32_t flags)
{
	if (flags & ~TRELLIS_POLICY_FLAGS_1_0)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	if (idx >= max)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "no %s number %u", what, idx);
	return 0;
}

static int pb_filter(void *state, trellis_call_t *call, uint32_t idx,
		     const trellis_place_request_t *req,
		     const trellis_host_view_t *const *hosts, size_t n,
		     uint8_t *keep, uint32_t flags, char reason[64])
{
	(void)state;
	int rc = check(call, idx, pb_n_filters, "filter", flags);
	if (rc)
		return rc;
	return pb_filters[idx].fn(req, hosts, n, keep, reason);
}

static int pb_weigh(void *state, trellis_call_t *call, uint32_t idx,
		    const trellis_place_request_t *req,
		    const trellis_host_view_t *const *hosts, size_t n,
		    const uint8_t *keep, double *scores, uint32_t flags)
{
	(void)state;
	int rc = check(call, idx, pb_n_weighers, "weigher", flags);
	if (rc)
		return rc;
	pb_weighers[idx].fn(req, hosts, n, keep, scores);
	return 0;
}

/* The item lists point into the tables; they are filled once, before the
 * loader reads them, by the entry symbol below. */
static const struct trellis_policy_ops ops = {
    .struct_size = sizeof ops,
    .filters = filter_items,
    .weighers = weigher_items,
    .filter = pb_filter,
    .weigh = pb_weigh,
};

static const trellis_plugin_desc_t desc = {
    .struct_size = sizeof(trellis_plugin_desc_t),
    .abi_major = TRELLIS_ABI_MAJOR,
    .abi_minor = TRELLIS_ABI_MINOR,
    .build_tag = TRELLIS_BUILD_TAG,
    .name = "builtin",
    .version = "1.0.0",
    .license = "Apache-2.0",
    .description = "capacity, location, exclusive, spill, affinity, "
		   "anti-affinity, tags, vm-limit; firstfit, binpack, "
		   "spread",
    .kind = TRELLIS_KIND_POLICY,
    .thread_model = TRELLIS_THREAD_REENTRANT,
    .init = pb_init,
    .ops = &ops,
};

TRELLIS_EXPORT const trellis_plugin_desc_t *trellis_plugin_entry(void)
{
	for (size_t i = 0; i < pb_n_filters && i < MAX_ITEMS; i++)
		filter_items[i] = &pb_filters[i].item;
	for (size_t i = 0; i < pb_n_weighers && i < MAX_ITEMS; i++)
		weigher_items[i] = &pb_weighers[i].item;
	return &desc;
}
