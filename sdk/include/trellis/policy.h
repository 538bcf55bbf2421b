/*
 * trellis/policy.h - ops table of scheduling policy plugins (kind POLICY).
 *
 * A policy plugin contributes named filters and weighers to the placement
 * pipeline: filters drop hosts that cannot take a request, weighers score
 * the survivors, and the core picks among the best.  Both work on batches
 * of hosts so that one call covers thousands of candidates.
 *
 * The core owns every struct here; views are read-only to the plugin and
 * valid for the call only.
 */
#ifndef TRELLIS_POLICY_H
#define TRELLIS_POLICY_H

#include <trellis/host.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trellis_place_request {
	uint32_t struct_size;
	uint32_t vcpus;            /* since 1.0 */
	uint64_t memory_mib;       /* since 1.0 */
	uint64_t disk_gib;         /* since 1.0 */
	const char *zone;          /* since 1.0: location constraints, NULL: any */
	const char *pod;           /* since 1.0 */
	const char *cluster;       /* since 1.0 */
	const char *host;          /* since 1.0 */
	const char *tenant;        /* since 1.0 */
	const char *affinity_group;      /* since 1.0 */
	const char *anti_affinity_group; /* since 1.0 */
	const char *const *tags;   /* since 1.0: host tags required */
	uint32_t n_tags;           /* since 1.0 */
} trellis_place_request_t;

#define TRELLIS_ZONE_PRIVATE (1u << 0)
#define TRELLIS_ZONE_EXCLUSIVE (1u << 1)
#define TRELLIS_ZONE_SPILL_ALLOW (1u << 2)

typedef struct trellis_host_view {
	uint32_t struct_size;
	uint64_t id;               /* since 1.0 */
	const char *name;          /* since 1.0 */
	const char *zone;          /* since 1.0 */
	const char *pod;           /* since 1.0 */
	const char *cluster;       /* since 1.0 */
	const char *zone_owner;    /* since 1.0: NULL for public zones */
	uint32_t zone_flags;       /* since 1.0: TRELLIS_ZONE_* */
	uint32_t cpus;             /* since 1.0 */
	uint64_t memory_mib;       /* since 1.0 */
	uint64_t disk_gib;         /* since 1.0 */
	uint32_t used_vcpus;       /* since 1.0: claimed, including pending */
	uint64_t used_memory_mib;  /* since 1.0 */
	uint64_t used_disk_gib;    /* since 1.0 */
	uint32_t vm_count;         /* since 1.0 */
	const char *const *tags;   /* since 1.0 */
	uint32_t n_tags;           /* since 1.0 */
	const char *const *groups; /* since 1.0: (anti-)affinity groups present */
	uint32_t n_groups;         /* since 1.0 */
} trellis_host_view_t;

typedef struct trellis_policy_item {
	uint32_t struct_size;
	const char *name;          /* since 1.0: "capacity", "spread"... */
	const char *description;   /* since 1.0 */
} trellis_policy_item_t;

struct trellis_policy_ops {
	uint32_t struct_size;

	/* Filters this plugin offers, NULL-terminated.  Required. */
	const trellis_policy_item_t *const *filters; /* since 1.0 */
	/* Weighers this plugin offers, NULL-terminated.  Required. */
	const trellis_policy_item_t *const *weighers; /* since 1.0 */

	/* Run filter number idx over n hosts: clear keep[i] for each host
	 * that cannot take req, and return how many it removed (or a
	 * negative error).  reason (63 chars) says why, e.g. "memory". */
	int (*filter)(void *state, trellis_call_t *call, uint32_t idx,
		      const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, uint32_t flags,
		      char reason[64]); /* since 1.0 */
	/* Run weigher number idx: add to scores[i] for the kept hosts;
	 * higher is better.  0 or a negative error. */
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
