/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weighers.c - the built-in weighers.  Their scores follow the core's index
 * orders exactly (see the order hints in trellis/policy.h), which is what
 * lets the core stop walking once it holds its N best hosts.
 */
#include "builtin.h"

/* Sets the score of every kept host h to expr. */
#define SCORE(expr)                                                            \
	for (size_t i = 0; i < n; i++) {                                       \
		const trellis_host_view_t *h = hosts[i];                       \
		if (keep[i])                                                   \
			scores[i] = (expr);                                    \
	}

/* Inventory order: the lowest id scores highest. */
static void w_firstfit(const trellis_place_request_t *req,
		       const trellis_host_view_t *const *hosts, size_t n,
		       const uint8_t *keep, double *scores)
{
	(void)req;
	SCORE(-(double)h->id)
}

/* The fullest host that fits: the less memory left, the better.  GiB, so
 * that weights combine with other weighers on a human scale. */
static void w_binpack(const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      const uint8_t *keep, double *scores)
{
	(void)req;
	SCORE(-(double)trellis_host_free_memory_mib(h) / 1024.0)
}

/* The emptiest host. */
static void w_spread(const trellis_place_request_t *req,
		     const trellis_host_view_t *const *hosts, size_t n,
		     const uint8_t *keep, double *scores)
{
	(void)req;
	SCORE((double)trellis_host_free_memory_mib(h) / 1024.0)
}

#define W(nm, desc, order, fn)                                                 \
	{                                                                      \
		{sizeof(trellis_policy_item_t), nm, desc,                      \
		 TRELLIS_POLICY_INDEX_NONE, order},                            \
		    fn                                                         \
	}

const struct pb_weigher pb_weighers[] = {
    W("firstfit", "the first host in inventory order",
      TRELLIS_POLICY_ORDER_FIRST, w_firstfit),
    W("binpack", "the fullest host that fits (least free memory)",
      TRELLIS_POLICY_ORDER_LEAST_FREE, w_binpack),
    W("spread", "the emptiest host (most free memory)",
      TRELLIS_POLICY_ORDER_MOST_FREE, w_spread),
};
const size_t pb_n_weighers = sizeof pb_weighers / sizeof pb_weighers[0];
