/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy_probe.c - a policy plugin for the dispatch unit tests: filter
 * "odd-only" drops hosts with an even id, weigher "by-id" scores the id.
 * Built a second time with POLICY_NO_WEIGH, where weigh() is absent.
 */
#include <string.h>

#include <trellis/policy.h>

static const trellis_host_t *host;

static int init(trellis_plugin_t *self, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)self, (void)call, (void)state;
	host = h;
	return 0;
}

static int filter(void *state, trellis_call_t *call, uint32_t idx,
		  const trellis_place_request_t *req,
		  const trellis_host_view_t *const *hosts, size_t n,
		  uint8_t *keep, uint32_t flags, char reason[64])
{
	(void)state, (void)idx, (void)req;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	int removed = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i] && hosts[i]->id % 2 == 0) {
			keep[i] = 0;
			removed++;
		}
	if (removed)
		strcpy(reason, "even");
	return removed;
}

#ifndef POLICY_NO_WEIGH
static int weigh(void *state, trellis_call_t *call, uint32_t idx,
		 const trellis_place_request_t *req,
		 const trellis_host_view_t *const *hosts, size_t n,
		 const uint8_t *keep, double *scores, uint32_t flags)
{
	(void)state, (void)idx, (void)req;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			scores[i] = (double)hosts[i]->id;
	return 0;
}
#endif

static const trellis_policy_item_t odd = {sizeof odd, "odd-only",
					  "hosts with an odd id", 0, 0};
static const trellis_policy_item_t by_id = {sizeof by_id, "by-id",
					    "the higher id the better", 0, 0};
static const trellis_policy_item_t *const filters[] = {&odd, NULL};
static const trellis_policy_item_t *const weighers[] = {&by_id, NULL};

static const struct trellis_policy_ops ops = {
    .struct_size = sizeof ops,
    .filters = filters,
    .weighers = weighers,
    .filter = filter,
#ifndef POLICY_NO_WEIGH
    .weigh = weigh,
#endif
};

#ifdef POLICY_NO_WEIGH
#define NAME "policy-probe-noweigh"
#else
#define NAME "policy-probe"
#endif

TRELLIS_PLUGIN_DEFINE(.name = NAME, .version = "1.0.0", .license = "Apache-2.0",
		      .kind = TRELLIS_KIND_POLICY,
		      .thread_model = TRELLIS_THREAD_REENTRANT, .init = init,
		      .ops = &ops)
