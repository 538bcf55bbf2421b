/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filters.c - the built-in filters.  Each one walks the kept hosts of a
 * batch, clears the ones that cannot take the request and returns how many
 * it cleared.  They compare interned ids only; the core resolved the names.
 */
#include <stdio.h>
#include <string.h>

#include "builtin.h"

/* Clears keep[i] of every kept host h for which cond holds, counting them
 * in removed: the loop every filter shares. */
#define SWEEP(removed, cond)                                                   \
	for (size_t i = 0; i < n; i++) {                                       \
		const trellis_host_view_t *h = hosts[i];                       \
		if (keep[i] && (cond)) {                                       \
			keep[i] = 0;                                           \
			(removed)++;                                           \
		}                                                              \
	}

/* Appends word to a comma-separated reason unless it is there already. */
static void reason_add(char reason[64], const char *word)
{
	size_t len = strlen(reason), wl = strlen(word);
	for (const char *p = reason; (p = strstr(p, word)); p += wl)
		if ((p == reason || p[-1] == ',') && (p[wl] == ',' || !p[wl]))
			return;
	if (len + wl + 2 > 64)
		return;
	if (len)
		reason[len++] = ',';
	memcpy(reason + len, word, wl + 1);
}

static int f_capacity(const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, char reason[64])
{
	int removed = 0;
	int mem = 0, cpu = 0, disk = 0;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		const trellis_host_view_t *h = hosts[i];
		if (trellis_host_free_memory_mib(h) < (int64_t)req->memory_mib)
			mem = 1;
		else if (trellis_host_free_vcpus(h) < (int64_t)req->vcpus)
			cpu = 1;
		else if (h->used_disk_gib + req->disk_gib > h->disk_gib)
			disk = 1;
		else
			continue;
		keep[i] = 0;
		removed++;
	}
	if (mem)
		reason_add(reason, "memory");
	if (cpu)
		reason_add(reason, "vcpus");
	if (disk)
		reason_add(reason, "disk");
	return removed;
}

static int f_location(const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, char reason[64])
{
	if (!req->zone_id && !req->pod_id && !req->cluster_id && !req->host_id)
		return 0;
	int removed = 0;
	SWEEP(removed,
	      (req->zone_id && h->zone_id != req->zone_id) ||
		  (req->pod_id && h->pod_id != req->pod_id) ||
		  (req->cluster_id && h->cluster_id != req->cluster_id) ||
		  (req->host_id && h->id != req->host_id))
	if (removed)
		reason_add(reason, req->host_id	     ? "host"
				   : req->cluster_id ? "cluster"
				   : req->pod_id     ? "pod"
						     : "zone");
	return removed;
}

/* An exclusive zone, or a dedicated host, takes only its owner's VMs. */
static int f_exclusive(const trellis_place_request_t *req,
		       const trellis_host_view_t *const *hosts, size_t n,
		       uint8_t *keep, char reason[64])
{
	int removed = 0;
	SWEEP(removed, (h->zone_flags & TRELLIS_ZONE_EXCLUSIVE) &&
			   h->owner_id != req->tenant_id)
	if (removed)
		reason_add(reason, "exclusive to another tenant");
	return removed;
}

/* The private-zone pass: OWN keeps the tenant's own private zones only,
 * SPILL the public zones only. */
static int f_spill(const trellis_place_request_t *req,
		   const trellis_host_view_t *const *hosts, size_t n,
		   uint8_t *keep, char reason[64])
{
	if (req->phase == TRELLIS_PLACE_ANY || !req->tenant_id)
		return 0;
	int removed = 0;
	if (req->phase == TRELLIS_PLACE_OWN) {
		SWEEP(removed, !(h->zone_flags & TRELLIS_ZONE_PRIVATE) ||
				   h->owner_id != req->tenant_id)
	} else {
		SWEEP(removed, h->zone_flags & TRELLIS_ZONE_PRIVATE)
	}
	if (removed)
		reason_add(reason, req->phase == TRELLIS_PLACE_OWN
				       ? "outside the tenant's private zones"
				       : "not a public zone");
	return removed;
}

static int f_affinity(const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, char reason[64])
{
	/* A group with no VM yet may start anywhere. */
	if (!req->affinity_id || !req->affinity_hosts)
		return 0;
	int removed = 0;
	SWEEP(removed,
	      !trellis_ids_has(h->group_ids, h->n_groups, req->affinity_id))
	if (removed)
		reason_add(reason, "group elsewhere");
	return removed;
}

static int f_anti_affinity(const trellis_place_request_t *req,
			   const trellis_host_view_t *const *hosts, size_t n,
			   uint8_t *keep, char reason[64])
{
	if (!req->anti_affinity_id)
		return 0;
	int removed = 0;
	SWEEP(removed, h->n_groups && trellis_ids_has(h->group_ids, h->n_groups,
						      req->anti_affinity_id))
	if (removed)
		reason_add(reason, "group member present");
	return removed;
}

static int has_tags(const trellis_host_view_t *h,
		    const trellis_place_request_t *req)
{
	for (uint32_t t = 0; t < req->n_tags; t++)
		if (!trellis_ids_has(h->tag_ids, h->n_tags, req->tag_ids[t]))
			return 0;
	return 1;
}

static int f_tags(const trellis_place_request_t *req,
		  const trellis_host_view_t *const *hosts, size_t n,
		  uint8_t *keep, char reason[64])
{
	if (!req->n_tags)
		return 0;
	int removed = 0;
	SWEEP(removed, !has_tags(h, req))
	if (removed)
		reason_add(reason, "missing tag");
	return removed;
}

static int f_vm_limit(const trellis_place_request_t *req,
		      const trellis_host_view_t *const *hosts, size_t n,
		      uint8_t *keep, char reason[64])
{
	(void)req;
	int removed = 0;
	SWEEP(removed, h->vm_limit && h->vm_count >= h->vm_limit)
	if (removed)
		reason_add(reason, "at its VM limit");
	return removed;
}

#define F(nm, desc, idx, fn)                                                   \
	{                                                                      \
		{sizeof(trellis_policy_item_t), nm, desc, idx,                 \
		 TRELLIS_POLICY_ORDER_NONE},                                   \
		    fn                                                         \
	}

const struct pb_filter pb_filters[] = {
    F("capacity", "free vcpus, memory and disk after overcommit ratios",
      TRELLIS_POLICY_INDEX_CAPACITY | TRELLIS_POLICY_INDEX_VCPUS, f_capacity),
    F("location", "the requested zone, pod, cluster or host",
      TRELLIS_POLICY_INDEX_LOCATION, f_location),
    F("exclusive", "an exclusive private zone or a dedicated host takes only its owner's VMs",
      TRELLIS_POLICY_INDEX_NONE, f_exclusive),
    F("spill",
      "owners fill their private zones first; spill: allow "
      "lets them go elsewhere",
      TRELLIS_POLICY_INDEX_PHASE, f_spill),
    F("affinity", "hosts already running the affinity group",
      TRELLIS_POLICY_INDEX_AFFINITY, f_affinity),
    F("anti-affinity", "hosts not running the anti-affinity group",
      TRELLIS_POLICY_INDEX_NONE, f_anti_affinity),
    F("tags", "hosts carrying every requested tag", TRELLIS_POLICY_INDEX_NONE,
      f_tags),
    F("vm-limit", "hosts below their VM limit", TRELLIS_POLICY_INDEX_NONE,
      f_vm_limit),
};
const size_t pb_n_filters = sizeof pb_filters / sizeof pb_filters[0];
