/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skel_policy.c - a Trellis scheduling policy plugin: one filter and one
 * weigher.  Copy it to add your own placement rules.
 *
 * Build (out of tree, against an installed SDK):
 *   cc $(pkg-config --cflags trellis-plugin) -shared -fPIC \
 *      -fvisibility=hidden -Wl,-z,defs -o skel_policy.so skel_policy.c
 * Check:   trellis-plugin-check ./skel_policy.so
 *
 * Filters and weighers work on batches of hosts and see interned ids, not
 * names.  A filter clears keep[i] for the hosts that cannot take the
 * request (leaving already-dropped ones alone), returns how many it
 * cleared and says why in reason.  A weigher sets scores[i] for the kept
 * hosts.  Both are pure functions of their input, so the plugin is
 * TRELLIS_THREAD_REENTRANT and has no state.
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

/* Filter 0, "headroom": the host keeps 10% of its memory free after the
 * VM lands.  It drops at least what the core's capacity index drops, so
 * it may declare TRELLIS_POLICY_INDEX_CAPACITY. */
static int headroom(const trellis_place_request_t *req,
		    const trellis_host_view_t *const *hosts, size_t n,
		    uint8_t *keep, char reason[64])
{
	int removed = 0;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		const trellis_host_view_t *h = hosts[i];
		int64_t after =
		    trellis_host_free_memory_mib(h) - (int64_t)req->memory_mib;
		if (after >= (int64_t)(h->memory_mib / 10))
			continue;
		keep[i] = 0;
		removed++;
	}
	if (removed)
		strcpy(reason, "memory-headroom");
	return removed;
}

static int filter(void *state, trellis_call_t *call, uint32_t idx,
		  const trellis_place_request_t *req,
		  const trellis_host_view_t *const *hosts, size_t n,
		  uint8_t *keep, uint32_t flags, char reason[64])
{
	(void)state;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "skel-policy filter: unknown flag bits "
				       "0x%x",
				       flags);
	if (idx != 0)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "skel-policy has no filter %u", idx);
	return headroom(req, hosts, n, keep, reason);
}

/* Weigher 0, "fewest-vms": spread VMs by count. */
static int weigh(void *state, trellis_call_t *call, uint32_t idx,
		 const trellis_place_request_t *req,
		 const trellis_host_view_t *const *hosts, size_t n,
		 const uint8_t *keep, double *scores, uint32_t flags)
{
	(void)state, (void)req;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "skel-policy weigh: unknown flag bits "
				       "0x%x",
				       flags);
	if (idx != 0)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "skel-policy has no weigher %u", idx);
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			scores[i] = -(double)hosts[i]->vm_count;
	return 0;
}

static const trellis_policy_item_t f_headroom = {
    .struct_size = sizeof f_headroom,
    .name = "headroom",
    .description = "keep 10% of a host's memory free",
    .index = TRELLIS_POLICY_INDEX_CAPACITY,
};
static const trellis_policy_item_t w_fewest = {
    .struct_size = sizeof w_fewest,
    .name = "fewest-vms",
    .description = "the host running the fewest VMs",
    .order = TRELLIS_POLICY_ORDER_NONE,
};
static const trellis_policy_item_t *const filters[] = {&f_headroom, NULL};
static const trellis_policy_item_t *const weighers[] = {&w_fewest, NULL};

static const struct trellis_policy_ops ops = {
    .struct_size = sizeof ops,
    .filters = filters,
    .weighers = weighers,
    .filter = filter,
    .weigh = weigh,
};

TRELLIS_PLUGIN_DEFINE(.name = "skel-policy", .version = "1.0.0",
		      .license = "Apache-2.0",
		      .description = "memory headroom and VM-count spreading "
				     "(the SDK's policy skeleton)",
		      .kind = TRELLIS_KIND_POLICY,
		      .thread_model = TRELLIS_THREAD_REENTRANT, .init = init,
		      .ops = &ops)
