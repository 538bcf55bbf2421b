/* SPDX-License-Identifier: Apache-2.0 */
/* inventory.c - hosts, zones and the location/free-memory index. */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"

struct tr_inv *tr_inv_new(void)
{
	struct tr_inv *inv = tr_xcalloc(1, sizeof *inv);
	if (!inv)
		return NULL;
	inv->names = tr_intern_new();
	if (!inv->names) {
		free(inv);
		return NULL;
	}
	return inv;
}

static void level_free(struct tr_level *L)
{
	free(L->by_id);
	tr_order_free(&L->free);
	tr_maxtree_free(&L->first);
	tr_maxtree_free(&L->first_cpu);
	memset(L, 0, sizeof *L);
}

static void levels_free(struct tr_inv *inv)
{
	level_free(&inv->all);
	for (uint32_t i = 0; i < inv->n_zones; i++)
		level_free(&inv->zones[i].level);
	for (uint32_t i = 0; i < inv->n_pods; i++)
		level_free(&inv->pods[i]);
	for (uint32_t i = 0; i < inv->n_clusters; i++)
		level_free(&inv->clusters[i]);
	free(inv->pods);
	free(inv->clusters);
	inv->pods = inv->clusters = NULL;
	inv->n_pods = inv->n_clusters = 0;
}

void tr_inv_free(struct tr_inv *inv)
{
	if (!inv)
		return;
	levels_free(inv);
	for (uint32_t i = 0; i < inv->n_hosts; i++) {
		free(inv->hosts[i].tags);
		free(inv->hosts[i].groups);
		free(inv->hosts[i].group_vms);
	}
	for (uint32_t i = 0; i < inv->n_zones; i++)
		free(inv->zones[i].policy);
	free(inv->hosts);
	free(inv->keys);
	free(inv->cpu_keys);
	free(inv->zones);
	free(inv->zone_of);
	free(inv->pod_of);
	free(inv->cluster_of);
	free(inv->alias);
	free(inv->host_of);
	for (uint32_t i = 0; i < inv->n_members; i++)
		free(inv->members[i].by_id);
	free(inv->members);
	tr_intern_free(inv->names);
	free(inv);
}

/* Grows an id-indexed array to n entries, zeroing the new ones. */
static int grow_ids(uint32_t **a, uint32_t old, uint32_t n)
{
	uint32_t *na = tr_xrealloc(*a, (size_t)n * sizeof *na);
	if (!na)
		return -1;
	memset(na + old, 0, (size_t)(n - old) * sizeof *na);
	*a = na;
	return 0;
}

/* Makes the id-indexed maps cover every interned id. */
static int maps_cover(struct tr_inv *inv)
{
	uint32_t need = tr_intern_count(inv->names) + 1;
	if (need <= inv->n_map)
		return 0;
	uint32_t n = need < 64 ? 64 : need * 2;
	if (grow_ids(&inv->zone_of, inv->n_map, n) ||
	    grow_ids(&inv->pod_of, inv->n_map, n) ||
	    grow_ids(&inv->cluster_of, inv->n_map, n) ||
	    grow_ids(&inv->alias, inv->n_map, n) ||
	    grow_ids(&inv->host_of, inv->n_map, n))
		return -1;
	inv->n_map = n;
	return 0;
}

static uint32_t intern(struct tr_inv *inv, const char *s, int *oom)
{
	uint32_t id = tr_intern_add(inv->names, s);
	if ((s && !id) || maps_cover(inv))
		*oom = 1;
	return id;
}

int tr_inv_add_zone(struct tr_inv *inv, const struct tr_zone_def *z, char *err,
		    size_t errlen)
{
	int oom = 0;
	if (!z->name || !*z->name) {
		snprintf(err, errlen, "zone without a name");
		return TRELLIS_E_INVALID_ARG;
	}
	if (z->exclusive && !z->owner) {
		snprintf(err, errlen,
			 "zone '%s': exclusive needs an owner (a tenant)",
			 z->name);
		return TRELLIS_E_INVALID_ARG;
	}
	uint32_t id = intern(inv, z->name, &oom);
	uint32_t owner = intern(inv, z->owner, &oom);
	if (oom)
		goto nomem;
	uint32_t zi = inv->zone_of[id];
	if (!zi) {
		TR_GROW(inv->zones, inv->n_zones, inv->cap_zones);
		zi = ++inv->n_zones;
		memset(&inv->zones[zi - 1], 0, sizeof inv->zones[0]);
		inv->zones[zi - 1].cpu_ratio = 1.0;
		inv->zones[zi - 1].memory_ratio = 1.0;
		inv->zone_of[id] = zi;
	}
	struct tr_izone *zone = &inv->zones[zi - 1];
	zone->id = id;
	zone->owner_id = owner;
	zone->flags = (owner ? TRELLIS_ZONE_PRIVATE : 0) |
		      (z->exclusive ? TRELLIS_ZONE_EXCLUSIVE : 0) |
		      (z->spill_allow ? TRELLIS_ZONE_SPILL_ALLOW : 0);
	free(zone->policy);
	zone->policy = z->policy ? tr_xstrdup(z->policy) : NULL;
	if (z->policy && !zone->policy)
		goto nomem;
	inv->built = 0;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return TRELLIS_E_NOMEM;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Records short as an alias of full: unique short names resolve. */
static void alias_add(struct tr_inv *inv, uint32_t short_id, uint32_t full)
{
	if (!inv->alias[short_id])
		inv->alias[short_id] = full;
	else if (inv->alias[short_id] != full)
		inv->alias[short_id] = TR_INV_AMBIGUOUS;
}

int tr_inv_add_host(struct tr_inv *inv, const struct tr_host_def *h, char *err,
		    size_t errlen)
{
	char key[512];
	int oom = 0;
	if (!h->id || !h->name || !h->zone) {
		snprintf(err, errlen, "host %s: needs an id, a name and a zone",
			 h->name ? h->name : "(unnamed)");
		return TRELLIS_E_INVALID_ARG;
	}
	uint32_t name = intern(inv, h->name, &oom);
	if (oom)
		goto nomem;
	if (inv->host_of[name]) {
		snprintf(err, errlen, "host '%s' is in the inventory twice",
			 h->name);
		return TRELLIS_E_CONFLICT;
	}
	uint32_t zid = intern(inv, h->zone, &oom);
	if (oom)
		goto nomem;
	if (!inv->zone_of[zid]) {
		struct tr_zone_def z = {.name = h->zone};
		int rc = tr_inv_add_zone(inv, &z, err, errlen);
		if (rc)
			return rc;
	}
	uint32_t pod = 0, cluster = 0;
	if (h->pod) {
		snprintf(key, sizeof key, "%s/%s", h->zone, h->pod);
		pod = intern(inv, key, &oom);
		uint32_t s = intern(inv, h->pod, &oom);
		if (oom)
			goto nomem;
		alias_add(inv, s, pod);
		inv->pod_of[pod] = 1; /* a pod; its index comes at build */
		if (h->cluster) {
			snprintf(key, sizeof key, "%s/%s/%s", h->zone, h->pod,
				 h->cluster);
			cluster = intern(inv, key, &oom);
			uint32_t sc = intern(inv, h->cluster, &oom);
			snprintf(key, sizeof key, "%s/%s", h->pod, h->cluster);
			uint32_t pc = intern(inv, key, &oom);
			if (oom)
				goto nomem;
			alias_add(inv, sc, cluster);
			alias_add(inv, pc, cluster);
			inv->cluster_of[cluster] = 1;
		}
	}
	TR_GROW(inv->hosts, inv->n_hosts, inv->cap_hosts);
	struct tr_phost *p = &inv->hosts[inv->n_hosts];
	memset(p, 0, sizeof *p);
	if (h->n_tags) {
		p->tags = tr_xmalloc(h->n_tags * sizeof *p->tags);
		if (!p->tags)
			goto nomem;
		for (uint32_t i = 0; i < h->n_tags; i++)
			p->tags[i] = intern(inv, h->tags[i], &oom);
		if (oom) {
			free(p->tags);
			goto nomem;
		}
		qsort(p->tags, h->n_tags, sizeof *p->tags, cmp_u32);
	}
	trellis_host_view_t *v = &p->v;
	v->struct_size = sizeof *v;
	v->id = h->id;
	v->name = tr_intern_str(inv->names, name);
	v->zone_id = zid;
	v->pod_id = pod;
	v->cluster_id = cluster;
	v->cpus = h->cpus;
	v->memory_mib = h->memory_mib;
	v->disk_gib = h->disk_gib;
	v->used_vcpus = h->used_vcpus;
	v->vm_count = h->vm_count;
	v->used_memory_mib = h->used_memory_mib;
	v->used_disk_gib = h->used_disk_gib;
	v->tag_ids = p->tags;
	v->n_tags = h->n_tags;
	p->own_vm_limit = h->vm_limit;
	p->own_owner = intern(inv, h->owner, &oom);
	if (oom)
		goto nomem;
	inv->host_of[name] = ++inv->n_hosts; /* fixed up at build */
	inv->built = 0;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return TRELLIS_E_NOMEM;
}

void tr_inv_zone_limits(struct tr_inv *inv, uint32_t zi, double cpu_ratio,
			double memory_ratio, uint32_t vm_limit)
{
	struct tr_izone *z = &inv->zones[zi];
	z->cpu_ratio = cpu_ratio;
	z->memory_ratio = memory_ratio;
	z->vm_limit = vm_limit;
	inv->built = 0;
}

static int cmp_host_id(const void *a, const void *b)
{
	uint64_t x = ((const struct tr_phost *)a)->v.id;
	uint64_t y = ((const struct tr_phost *)b)->v.id;
	return x < y ? -1 : x > y;
}

static int group_count(struct tr_inv *inv, uint32_t g, int delta, uint32_t hi);

static int level_push(struct tr_level *L, uint32_t hi)
{
	TR_GROW(L->by_id, L->n, L->cap);
	L->by_id[L->n++] = hi;
	return 0;
}

static int level_sort(struct tr_inv *inv, struct tr_level *L)
{
	if (tr_order_init(&L->free) ||
	    tr_maxtree_build(&L->first, inv->keys, L->by_id, L->n) ||
	    tr_maxtree_build(&L->first_cpu, inv->cpu_keys, L->by_id, L->n))
		return -1;
	/* by_id is ascending index, so equal keys go in in id order. */
	for (uint32_t i = 0; i < L->n; i++)
		if (tr_order_insert(&L->free, inv->keys, L->by_id[i]))
			return -1;
	return 0;
}

static uint32_t min_limit(uint32_t a, uint32_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

int tr_inv_build(struct tr_inv *inv, char *err, size_t errlen)
{
	levels_free(inv);
	if (inv->n_hosts)
		qsort(inv->hosts, inv->n_hosts, sizeof *inv->hosts,
		      cmp_host_id);
	free(inv->keys);
	free(inv->cpu_keys);
	inv->keys =
	    tr_xmalloc((inv->n_hosts ? inv->n_hosts : 1) * sizeof *inv->keys);
	inv->cpu_keys =
	    tr_xmalloc((inv->n_hosts ? inv->n_hosts : 1) * sizeof *inv->cpu_keys);
	if (!inv->keys || !inv->cpu_keys)
		goto nomem;
	/* Number pods and clusters densely, in id order of their keys. */
	uint32_t np = 0, nc = 0;
	for (uint32_t id = 1; id < inv->n_map; id++) {
		if (inv->pod_of[id])
			inv->pod_of[id] = ++np;
		if (inv->cluster_of[id])
			inv->cluster_of[id] = ++nc;
	}
	inv->pods = tr_xcalloc(np ? np : 1, sizeof *inv->pods);
	inv->clusters = tr_xcalloc(nc ? nc : 1, sizeof *inv->clusters);
	if (!inv->pods || !inv->clusters)
		goto nomem;
	inv->n_pods = np;
	inv->n_clusters = nc;
	for (uint32_t i = 0; i < inv->n_hosts; i++) {
		struct tr_phost *p = &inv->hosts[i];
		trellis_host_view_t *v = &p->v;
		if (i && inv->hosts[i - 1].v.id == v->id) {
			snprintf(err, errlen,
				 "hosts '%s' and '%s' have the same id %llu",
				 inv->hosts[i - 1].v.name, v->name,
				 (unsigned long long)v->id);
			return TRELLIS_E_CONFLICT;
		}
		inv->host_of[tr_intern_find(inv->names, v->name)] = i + 1;
		p->zone = inv->zone_of[v->zone_id] - 1;
		struct tr_izone *z = &inv->zones[p->zone];
		v->zone_flags = z->flags;
		v->owner_id = z->owner_id;
		if (p->own_owner) {
			/* A dedicated host: exclusive to its tenant, whatever
			 * its zone (filters see the host's ownership). */
			v->zone_flags |= TRELLIS_ZONE_EXCLUSIVE;
			v->owner_id = p->own_owner;
		}
		v->cpu_ratio = z->cpu_ratio;
		v->memory_ratio = z->memory_ratio;
		v->vm_limit = min_limit(p->own_vm_limit, z->vm_limit);
		inv->keys[i] = trellis_host_free_memory_mib(v);
		inv->cpu_keys[i] = trellis_host_free_vcpus(v);
		p->lv[TR_LV_ALL] = &inv->all;
		p->lv[TR_LV_ZONE] = &z->level;
		p->lv[TR_LV_POD] =
		    v->pod_id ? &inv->pods[inv->pod_of[v->pod_id] - 1] : NULL;
		p->lv[TR_LV_CLUSTER] =
		    v->cluster_id
			? &inv->clusters[inv->cluster_of[v->cluster_id] - 1]
			: NULL;
		for (int lv = 0; lv < TR_LV__N; lv++) {
			if (!p->lv[lv])
				continue;
			p->id_pos[lv] = p->lv[lv]->n;
			if (level_push(p->lv[lv], i))
				goto nomem;
		}
	}
	/* Host indexes moved: the group members are rebuilt from the hosts. */
	for (uint32_t g = 0; g < inv->n_members; g++)
		inv->members[g].n = 0;
	for (uint32_t i = 0; i < inv->n_hosts; i++)
		for (uint32_t k = 0; k < inv->hosts[i].v.n_groups; k++)
			if (group_count(inv, inv->hosts[i].groups[k], 1, i))
				goto nomem;
	if (level_sort(inv, &inv->all))
		goto nomem;
	for (uint32_t i = 0; i < inv->n_zones; i++)
		if (level_sort(inv, &inv->zones[i].level))
			goto nomem;
	for (uint32_t i = 0; i < np; i++)
		if (level_sort(inv, &inv->pods[i]))
			goto nomem;
	for (uint32_t i = 0; i < nc; i++)
		if (level_sort(inv, &inv->clusters[i]))
			goto nomem;
	inv->built = 1;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory building the placement index");
	return TRELLIS_E_NOMEM;
}

/* Adds (delta 1) or removes host hi from group g's members, which stay
 * in ascending index (= id) order. */
static int group_count(struct tr_inv *inv, uint32_t g, int delta, uint32_t hi)
{
	if (g >= inv->n_members) {
		uint32_t n = g < 64 ? 128 : g * 2;
		struct tr_level *m = tr_xrealloc(inv->members, n * sizeof *m);
		if (!m)
			return -1;
		memset(m + inv->n_members, 0, (n - inv->n_members) * sizeof *m);
		inv->members = m;
		inv->n_members = n;
	}
	struct tr_level *L = &inv->members[g];
	uint32_t i = 0;
	while (i < L->n && L->by_id[i] < hi)
		i++;
	if (delta > 0) {
		TR_GROW(L->by_id, L->n, L->cap);
		memmove(L->by_id + i + 1, L->by_id + i,
			(L->n - i) * sizeof *L->by_id);
		L->by_id[i] = hi;
		L->n++;
	} else if (i < L->n && L->by_id[i] == hi) {
		memmove(L->by_id + i, L->by_id + i + 1,
			(L->n - i - 1) * sizeof *L->by_id);
		L->n--;
	}
	return 0;
}

const struct tr_level *tr_inv_group(const struct tr_inv *inv, uint32_t g)
{
	static const struct tr_level none;
	return g && g < inv->n_members ? &inv->members[g] : &none;
}

/* Adds or removes one VM of group g on host p (groups stay sorted). */
static void host_group(struct tr_inv *inv, struct tr_phost *p, uint32_t g,
		       int sign)
{
	trellis_host_view_t *v = &p->v;
	uint32_t i = 0;
	while (i < v->n_groups && p->groups[i] < g)
		i++;
	int present = i < v->n_groups && p->groups[i] == g;
	if (sign > 0 && present) {
		p->group_vms[i]++;
	} else if (sign > 0) {
		if (v->n_groups == p->n_alloc) {
			/* Two arrays of one capacity. */
			uint32_t cap = p->n_alloc;
			TR_GROW(p->group_vms, v->n_groups, cap);
			TR_GROW(p->groups, v->n_groups, p->n_alloc);
		}
		if (group_count(inv, g, 1, (uint32_t)(p - inv->hosts)))
			return;
		memmove(p->groups + i + 1, p->groups + i,
			(v->n_groups - i) * sizeof *p->groups);
		memmove(p->group_vms + i + 1, p->group_vms + i,
			(v->n_groups - i) * sizeof *p->group_vms);
		p->groups[i] = g;
		p->group_vms[i] = 1;
		v->n_groups++;
	} else if (present && --p->group_vms[i] == 0) {
		memmove(p->groups + i, p->groups + i + 1,
			(v->n_groups - i - 1) * sizeof *p->groups);
		memmove(p->group_vms + i, p->group_vms + i + 1,
			(v->n_groups - i - 1) * sizeof *p->group_vms);
		v->n_groups--;
		group_count(inv, g, -1, (uint32_t)(p - inv->hosts));
	}
	v->group_ids = p->groups;
}

static uint64_t sub_floor(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* Moves host hi in its four orders after its free memory changed.  A
 * failed insert (OOM) leaves it out of an order, which only hides it from
 * placement; it never corrupts the order. */
static void rekey(struct tr_inv *inv, uint32_t hi)
{
	struct tr_phost *p = &inv->hosts[hi];
	if (!inv->built)
		return;
	int64_t cpu = trellis_host_free_vcpus(&p->v);
	if (cpu != inv->cpu_keys[hi]) {
		inv->cpu_keys[hi] = cpu;
		for (int lv = 0; lv < TR_LV__N; lv++)
			if (p->lv[lv] && p->lv[lv]->first_cpu.t)
				tr_maxtree_set(&p->lv[lv]->first_cpu,
					       p->id_pos[lv], cpu);
	}
	int64_t old = inv->keys[hi];
	int64_t key = trellis_host_free_memory_mib(&p->v);
	if (key == old)
		return;
	for (int lv = 0; lv < TR_LV__N; lv++)
		if (p->lv[lv])
			tr_order_remove(&p->lv[lv]->free, inv->keys, hi, old);
	inv->keys[hi] = key;
	for (int lv = 0; lv < TR_LV__N; lv++) {
		struct tr_level *L = p->lv[lv];
		if (!L)
			continue;
		(void)tr_order_insert(&L->free, inv->keys, hi);
		if (L->first.t)
			tr_maxtree_set(&L->first, p->id_pos[lv], key);
	}
}

void tr_inv_apply(struct tr_inv *inv, uint32_t hi, int sign, uint32_t vcpus,
		  uint64_t memory_mib, uint64_t disk_gib,
		  const uint32_t groups[2])
{
	struct tr_phost *p = &inv->hosts[hi];
	trellis_host_view_t *v = &p->v;
	if (sign > 0) {
		v->used_vcpus += vcpus;
		v->used_memory_mib += memory_mib;
		v->used_disk_gib += disk_gib;
		v->vm_count++;
		p->claimed_vcpus += vcpus;
		p->claimed_memory_mib += memory_mib;
		p->claimed_disk_gib += disk_gib;
		p->claimed_vms++;
	} else {
		p->claimed_vcpus = (uint32_t)sub_floor(p->claimed_vcpus, vcpus);
		p->claimed_memory_mib =
		    sub_floor(p->claimed_memory_mib, memory_mib);
		p->claimed_disk_gib = sub_floor(p->claimed_disk_gib, disk_gib);
		p->claimed_vms = (uint32_t)sub_floor(p->claimed_vms, 1);
		v->used_vcpus = (uint32_t)sub_floor(v->used_vcpus, vcpus);
		v->used_memory_mib = sub_floor(v->used_memory_mib, memory_mib);
		v->used_disk_gib = sub_floor(v->used_disk_gib, disk_gib);
		v->vm_count = (uint32_t)sub_floor(v->vm_count, 1);
	}
	for (int g = 0; g < 2; g++)
		if (groups[g] && (g == 0 || groups[1] != groups[0]))
			host_group(inv, p, groups[g], sign);
	rekey(inv, hi);
}

void tr_inv_set_claimed(struct tr_inv *inv, uint32_t hi, uint32_t vcpus,
			uint64_t memory_mib, uint64_t disk_gib, uint32_t vms)
{
	struct tr_phost *p = &inv->hosts[hi];
	trellis_host_view_t *v = &p->v;
	v->used_vcpus = v->used_vcpus - p->claimed_vcpus + vcpus;
	v->used_memory_mib =
	    v->used_memory_mib - p->claimed_memory_mib + memory_mib;
	v->used_disk_gib = v->used_disk_gib - p->claimed_disk_gib + disk_gib;
	v->vm_count = v->vm_count - p->claimed_vms + vms;
	p->claimed_vcpus = vcpus;
	p->claimed_memory_mib = memory_mib;
	p->claimed_disk_gib = disk_gib;
	p->claimed_vms = vms;
	rekey(inv, hi);
}

int64_t tr_inv_host_by_name(const struct tr_inv *inv, const char *name)
{
	uint32_t id = tr_intern_find(inv->names, name);
	return id && id < inv->n_map && inv->host_of[id]
		   ? (int64_t)inv->host_of[id] - 1
		   : -1;
}

int64_t tr_inv_host_by_id(const struct tr_inv *inv, uint64_t id)
{
	uint32_t lo = 0, hi = inv->n_hosts;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (inv->hosts[mid].v.id == id)
			return mid;
		if (inv->hosts[mid].v.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int64_t tr_inv_zone_by_name(const struct tr_inv *inv, const char *name)
{
	uint32_t id = tr_intern_find(inv->names, name);
	return id && id < inv->n_map && inv->zone_of[id]
		   ? (int64_t)inv->zone_of[id] - 1
		   : -1;
}

struct tr_level *tr_inv_zone_level(struct tr_inv *inv, uint32_t id)
{
	return id && id < inv->n_map && inv->zone_of[id]
		   ? &inv->zones[inv->zone_of[id] - 1].level
		   : NULL;
}

struct tr_level *tr_inv_pod_level(struct tr_inv *inv, uint32_t id)
{
	return id && id < inv->n_map && inv->pod_of[id] && inv->built
		   ? &inv->pods[inv->pod_of[id] - 1]
		   : NULL;
}

struct tr_level *tr_inv_cluster_level(struct tr_inv *inv, uint32_t id)
{
	return id && id < inv->n_map && inv->cluster_of[id] && inv->built
		   ? &inv->clusters[inv->cluster_of[id] - 1]
		   : NULL;
}
