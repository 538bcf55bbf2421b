/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory.h - the placement engine's in-memory host inventory and its
 * index.
 *
 * The inventory holds one record per host (its trellis_host_view_t, which
 * is what filters see) plus the zones they live in.  Names are interned
 * (intern.h).  The index keeps, for the whole inventory and for every zone,
 * pod and cluster, the hosts in two orders: by id (first fit) and by free
 * memory after overcommit (binpack, spread, and the capacity cut-off).  A
 * claim changes a host's free memory and moves it in its four free-memory
 * orders, so no request ever sorts anything.
 *
 * Pods and clusters are keyed "ZONE/POD" and "ZONE/POD/CLUSTER" because
 * their names are unique only within their parent (as in the store); a
 * short name that is unique resolves too.
 *
 * The inventory owns everything it points to.  Not thread-safe: the
 * placement engine (place.h) serialises access under its lock.
 */
#ifndef TRELLIS_CORE_INVENTORY_H
#define TRELLIS_CORE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/policy.h>

#include "intern.h"
#include "order.h"

/* What callers describe; strings are copied (interned). */
struct tr_zone_def {
	const char *name;
	const char *owner;  /* tenant owning a private zone; NULL: public */
	int exclusive;	    /* takes only its owner's VMs */
	int spill_allow;    /* the owner may spill to public zones when full */
	const char *policy; /* the policy placing in this zone; NULL: default */
};

struct tr_host_def {
	uint64_t id; /* unique, > 0: the store's host id */
	const char *name;
	const char *zone, *pod,
	    *cluster; /* short names; pod/cluster optional */
	uint32_t cpus;
	uint64_t memory_mib, disk_gib;
	uint32_t vm_limit; /* the host's own limit, 0: none */
	const char *owner; /* dedicated to this tenant alone; NULL: its zone's */
	const char *const *tags;
	uint32_t n_tags;
	/* Load that is not a claim (VMs found on the host). */
	uint32_t used_vcpus, vm_count;
	uint64_t used_memory_mib, used_disk_gib;
};

enum { TR_LV_ALL = 0, TR_LV_ZONE, TR_LV_POD, TR_LV_CLUSTER, TR_LV__N };

/* One node of the location tree and its two host orders. */
struct tr_level {
	uint32_t n, cap;
	uint32_t *by_id;	     /* host indexes, ascending id */
	struct tr_order free;	     /* ascending (free memory, id) */
	struct tr_maxtree first;     /* max free memory over by_id */
	struct tr_maxtree first_cpu; /* max free vcpus over by_id */
};

struct tr_phost {
	trellis_host_view_t v; /* first: a view pointer is a host pointer */
	struct tr_level *lv[TR_LV__N];
	uint32_t id_pos[TR_LV__N]; /* position in each lv[]->by_id (fixed) */
	uint32_t zone;		   /* index into inv->zones */
	uint32_t own_vm_limit;	   /* from tr_host_def; the policy may lower */
	uint32_t own_owner;	   /* dedicated to (tr_host_def.owner), 0: none */
	uint32_t *tags;
	uint32_t *groups, *group_vms, n_alloc;
	/* The part of v.used_* that claims booked (the rest is load the
	 * host reported), for what the host still offers to claims. */
	uint32_t claimed_vcpus, claimed_vms;
	uint64_t claimed_memory_mib, claimed_disk_gib;
};

struct tr_izone {
	uint32_t id, owner_id, flags;
	char *policy;
	double cpu_ratio, memory_ratio;
	uint32_t vm_limit;
	struct tr_level level;
};

struct tr_inv {
	struct tr_intern *names;
	struct tr_phost *hosts; /* ascending id once built */
	uint32_t n_hosts, cap_hosts;
	/* trellis_host_free_memory_mib of each host, by index: the key of
	 * the free-memory orders, dense for the walks. */
	int64_t *keys;
	int64_t *cpu_keys; /* trellis_host_free_vcpus, by index */
	struct tr_izone *zones;
	uint32_t n_zones, cap_zones;
	struct tr_level all;
	struct tr_level *pods, *clusters; /* n_pods, n_clusters */
	uint32_t n_pods, n_clusters;
	/* By interned id (size n_map): zone index + 1, pod/cluster index + 1
	 * (pod and cluster ids are their full keys), short-name aliases
	 * (full id, or TR_INV_AMBIGUOUS), hosts by name (index + 1). */
	uint32_t n_map;
	uint32_t *zone_of, *pod_of, *cluster_of, *alias, *host_of;
	/* Hosts running at least one VM of a group, by group id: the
	 * affinity index.  Levels without a free order (walked by id). */
	struct tr_level *members;
	uint32_t n_members;
	int built;
};

#define TR_INV_AMBIGUOUS UINT32_MAX

struct tr_inv *tr_inv_new(void);
void tr_inv_free(struct tr_inv *inv);

/* Adding a zone twice updates it.  0 or a negative TRELLIS_E_* code with
 * the reason in err. */
int tr_inv_add_zone(struct tr_inv *inv, const struct tr_zone_def *z, char *err,
		    size_t errlen);
/* Hosts in a zone nobody declared get a public zone of that name. */
int tr_inv_add_host(struct tr_inv *inv, const struct tr_host_def *h, char *err,
		    size_t errlen);
/* Overcommit ratios and VM limit for the hosts of zone index zi (from the
 * zone's policy).  Takes effect at the next tr_inv_build(). */
void tr_inv_zone_limits(struct tr_inv *inv, uint32_t zi, double cpu_ratio,
			double memory_ratio, uint32_t vm_limit);
/* (Re)builds the index after adds or limit changes: O(n log n). */
int tr_inv_build(struct tr_inv *inv, char *err, size_t errlen);

/* Applies (sign +1) or reverts (-1) a claim on host index hi, moving the
 * host in its free-memory orders.  The VM joins (or leaves) the groups
 * that are not 0 (its affinity and anti-affinity groups). */
void tr_inv_apply(struct tr_inv *inv, uint32_t hi, int sign, uint32_t vcpus,
		  uint64_t memory_mib, uint64_t disk_gib,
		  const uint32_t groups[2]);

/* Sets the claimed totals of host hi (from the store), keeping its other
 * load, and moves it in its orders. */
void tr_inv_set_claimed(struct tr_inv *inv, uint32_t hi, uint32_t vcpus,
			uint64_t memory_mib, uint64_t disk_gib, uint32_t vms);

/* Host index by id or by name, or -1. */
int64_t tr_inv_host_by_id(const struct tr_inv *inv, uint64_t id);
int64_t tr_inv_host_by_name(const struct tr_inv *inv, const char *name);
/* Zone index by name, or -1. */
int64_t tr_inv_zone_by_name(const struct tr_inv *inv, const char *name);

/* Hosts with a VM of group g (never NULL; maybe empty). */
const struct tr_level *tr_inv_group(const struct tr_inv *inv, uint32_t g);

/* A level by id, NULL when the id names none. */
struct tr_level *tr_inv_zone_level(struct tr_inv *inv, uint32_t id);
struct tr_level *tr_inv_pod_level(struct tr_inv *inv, uint32_t id);
struct tr_level *tr_inv_cluster_level(struct tr_inv *inv, uint32_t id);

#endif
