/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/policy.h - ops table of scheduling policy plugins (kind POLICY).
 *
 * A policy plugin contributes named filters and weighers to the placement
 * pipeline: filters drop hosts that cannot take a request, weighers score
 * the survivors, and the core picks at random among the N best (the herding
 * guard).  Both work on batches of hosts so that one call covers many
 * candidates, and both see interned ids (small integers) instead of names,
 * so that a filter compares integers, never strings.
 *
 * The core keeps an index over its inventory (hosts grouped by location and
 * ordered by free memory).  A filter or weigher may declare, in its item,
 * that it agrees with one of the core's index predicates or orders
 * (TRELLIS_POLICY_INDEX_*, TRELLIS_POLICY_ORDER_*).  The core then skips the
 * hosts the index already rules out (and counts them as removed by that
 * filter in "why not placed" messages) and, when the weighers' order matches
 * an index order, stops walking as soon as it has its N best hosts.  A
 * filter that declares an index hint must still check its whole predicate:
 * the core may call it on hosts the index did not screen.
 *
 * The core owns every struct here; views are read-only to the plugin and
 * valid for the call only.  Ids are 0 for "none" and otherwise meaningful
 * only for equality within one placement engine; the request carries both
 * the names (for messages) and their ids (for comparisons).
 */
#ifndef TRELLIS_POLICY_H
#define TRELLIS_POLICY_H

#include <trellis/host.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Which pass of the private-zone rule a request is in.  A tenant that owns
 * private zones is placed there first (OWN); when none of them fits and one
 * of them says `spill: allow`, the core runs a second pass (SPILL) over the
 * public zones.  Tenants without private zones run a single ANY pass.  The
 * `spill` filter enforces the pass; the core decides which passes run.
 */
enum trellis_place_phase {
	TRELLIS_PLACE_ANY = 0,
	TRELLIS_PLACE_OWN = 1,	 /* only the tenant's own private zones */
	TRELLIS_PLACE_SPILL = 2, /* only public zones */
};

typedef struct trellis_place_request {
	uint32_t struct_size;
	uint32_t vcpus;	     /* since 1.0 */
	uint64_t memory_mib; /* since 1.0 */
	uint64_t disk_gib;   /* since 1.0 */
	/* Names as the caller gave them, for messages; NULL: none/any. */
	const char *zone;		 /* since 1.0: location constraints */
	const char *pod;		 /* since 1.0 */
	const char *cluster;		 /* since 1.0 */
	const char *host;		 /* since 1.0 */
	const char *tenant;		 /* since 1.0 */
	const char *affinity_group;	 /* since 1.0 */
	const char *anti_affinity_group; /* since 1.0 */
	const char *const *tags;	 /* since 1.0: host tags required */
	uint32_t n_tags;		 /* since 1.0 */
	/* The same, resolved by the core (0: none/any).  A name the
	 * inventory has never seen resolves to an id no host carries. */
	uint32_t zone_id;	   /* since 1.0 */
	uint32_t pod_id;	   /* since 1.0 */
	uint32_t cluster_id;	   /* since 1.0 */
	uint32_t tenant_id;	   /* since 1.0 */
	uint64_t host_id;	   /* since 1.0: trellis_host_view_t.id */
	uint32_t affinity_id;	   /* since 1.0 */
	uint32_t anti_affinity_id; /* since 1.0 */
	const uint32_t *tag_ids;   /* since 1.0: n_tags ids, sorted */
	/* How many hosts already run a VM of the affinity group: 0 means
	 * the group is new and any host may start it. */
	uint32_t affinity_hosts; /* since 1.0 */
	uint32_t phase;		 /* since 1.0: enum trellis_place_phase */
} trellis_place_request_t;

#define TRELLIS_ZONE_PRIVATE (1u << 0)	   /* owned by one tenant */
#define TRELLIS_ZONE_EXCLUSIVE (1u << 1)   /* takes only its owner's VMs */
#define TRELLIS_ZONE_SPILL_ALLOW (1u << 2) /* owner may spill elsewhere */

typedef struct trellis_host_view {
	uint32_t struct_size;
	uint32_t zone_flags;	  /* since 1.0: TRELLIS_ZONE_* */
	uint64_t id;		  /* since 1.0: stable inventory id */
	const char *name;	  /* since 1.0 */
	uint32_t zone_id;	  /* since 1.0 */
	uint32_t pod_id;	  /* since 1.0 */
	uint32_t cluster_id;	  /* since 1.0 */
	uint32_t owner_id;	  /* since 1.0: the zone's tenant, 0: public */
	uint32_t cpus;		  /* since 1.0: physical */
	uint32_t vm_limit;	  /* since 1.0: 0 for no limit */
	uint64_t memory_mib;	  /* since 1.0: physical */
	uint64_t disk_gib;	  /* since 1.0 */
	double cpu_ratio;	  /* since 1.0: overcommit, >= 1.0 usually */
	double memory_ratio;	  /* since 1.0 */
	uint32_t used_vcpus;	  /* since 1.0: claimed, including pending */
	uint32_t vm_count;	  /* since 1.0: claimed VMs */
	uint64_t used_memory_mib; /* since 1.0 */
	uint64_t used_disk_gib;	  /* since 1.0 */
	const uint32_t *tag_ids;  /* since 1.0: sorted */
	uint32_t n_tags;	  /* since 1.0 */
	uint32_t n_groups;	  /* since 1.0 */
	const uint32_t
	    *group_ids; /* since 1.0: groups with a VM here, sorted */
} trellis_host_view_t;

/*
 * Capacity with overcommit (rounded down), shared by the core's index and
 * the capacity filter so that both agree to the MiB.  Negative when
 * overcommitted.  Plain casts, not floor(), so plugins need no libm.
 */
static inline int64_t trellis_host_free_memory_mib(const trellis_host_view_t *h)
{
	return (int64_t)((double)h->memory_mib * h->memory_ratio) -
	       (int64_t)h->used_memory_mib;
}

static inline int64_t trellis_host_free_vcpus(const trellis_host_view_t *h)
{
	return (int64_t)((double)h->cpus * h->cpu_ratio) -
	       (int64_t)h->used_vcpus;
}

/* Whether a sorted id set contains id (tags, groups). */
static inline int trellis_ids_has(const uint32_t *ids, uint32_t n, uint32_t id)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return 1;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Index hints of a filter: the filter removes at least every host that the
 * named core predicate rules out, so the core may skip such hosts.
 *   CAPACITY: trellis_host_free_memory_mib(h) < req->memory_mib
 *   LOCATION: h is outside req's zone/pod/cluster/host
 *   PHASE:    h is outside the zones of req->phase (see the spill filter)
 *   AFFINITY: req->affinity_hosts > 0 and h runs no VM of req->affinity_id
 *   VCPUS:    trellis_host_free_vcpus(h) < req->vcpus
 */
#define TRELLIS_POLICY_INDEX_NONE 0u
#define TRELLIS_POLICY_INDEX_CAPACITY (1u << 0)
#define TRELLIS_POLICY_INDEX_LOCATION (1u << 1)
#define TRELLIS_POLICY_INDEX_PHASE (1u << 2)
#define TRELLIS_POLICY_INDEX_AFFINITY (1u << 3)
#define TRELLIS_POLICY_INDEX_VCPUS (1u << 4)

/*
 * Order hints of a weigher: its score never increases along the core order:
 *   FIRST:        inventory order (ascending id)
 *   LEAST_FREE:   ascending trellis_host_free_memory_mib (binpack)
 *   MOST_FREE:    descending trellis_host_free_memory_mib (spread)
 * Ties in score must agree too (ties broken by ascending id).
 */
enum trellis_policy_order {
	TRELLIS_POLICY_ORDER_NONE = 0,
	TRELLIS_POLICY_ORDER_FIRST = 1,
	TRELLIS_POLICY_ORDER_LEAST_FREE = 2,
	TRELLIS_POLICY_ORDER_MOST_FREE = 3,
};

typedef struct trellis_policy_item {
	uint32_t struct_size;
	const char *name;	 /* since 1.0: "capacity", "spread"... */
	const char *description; /* since 1.0: one line */
	uint32_t index; /* since 1.0: filters: TRELLIS_POLICY_INDEX_* */
	uint32_t order; /* since 1.0: weighers: trellis_policy_order */
} trellis_policy_item_t;

/* Flags of filter() and weigh(); none are defined in 1.0. */
#define TRELLIS_POLICY_FLAGS_1_0 0u

struct trellis_policy_ops {
	uint32_t struct_size;

	/* Filters this plugin offers, NULL-terminated.  Required. */
	const trellis_policy_item_t *const *filters; /* since 1.0 */
	/* Weighers this plugin offers, NULL-terminated.  Required. */
	const trellis_policy_item_t *const *weighers; /* since 1.0 */

	/* Run filter number idx over n hosts.  Hosts with keep[i] == 0 on
	 * entry are already out; clear keep[i] for each other host that
	 * cannot take req, and return how many it cleared (or a negative
	 * error).  reason (63 chars) says why, as comma-separated words
	 * ("memory", "memory,vcpus"); the core merges them across calls. */
	int (*filter)(void *state, trellis_call_t *call, uint32_t idx,
		      const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, uint32_t flags,
		      char reason[64]); /* since 1.0 */
	/* Run weigher number idx: set scores[i] for the kept hosts (the
	 * core weights and sums them); higher is better.  A weigher with an
	 * order hint must score consistently with it.  0 or an error. */
	int (*weigh)(void *state, trellis_call_t *call, uint32_t idx,
		     const trellis_place_request_t *req,
		     const trellis_host_view_t *const *hosts, size_t n,
		     const uint8_t *keep, double *scores,
		     uint32_t flags); /* since 1.0 */
};

#define TRELLIS_POLICY_OPS_SIZE_1_0                                            \
	(offsetof(struct trellis_policy_ops, weigh) + sizeof(void (*)(void)))

#define TRELLIS_POLICY_REQUIRED_OPS(X) X(filters) X(weighers)

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_POLICY_H */
