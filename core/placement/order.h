/* SPDX-License-Identifier: Apache-2.0 */
/*
 * order.h - the hosts of one location node (the whole inventory, a zone, a
 * pod, a cluster) in ascending (free memory, id) order, cheap to keep
 * ordered while claims change free memory all the time.
 *
 * Free memory maps to one of TR_ORDER_BUCKETS log-linear buckets (16 per
 * power of two, so a bucket spans about 6% of its values); each bucket is
 * a small array kept sorted.  Every host in a bucket has less free memory
 * than every host in the next, so walking the buckets in turn is the exact
 * order, and moving a host after a claim touches two small arrays instead
 * of shifting every host in between.
 *
 * Keys live outside (keys[host index], owned by the inventory).  An order
 * owns its buckets.
 */
#ifndef TRELLIS_CORE_ORDER_H
#define TRELLIS_CORE_ORDER_H

#include <stdint.h>

#define TR_ORDER_BUCKETS 640

struct tr_bucket {
	uint32_t *h; /* host indexes, ascending (key, index) */
	uint32_t n, cap;
};

struct tr_order {
	struct tr_bucket *b; /* TR_ORDER_BUCKETS */
	uint32_t top;	     /* no host sits in a bucket above this one */
};

/* The bucket of a key; monotone in key. */
static inline uint32_t tr_order_bucket(int64_t key)
{
	if (key <= 0)
		return 0;
	uint64_t k = (uint64_t)key;
	int e = 63 - __builtin_clzll(k);
	if (e < 4)
		return (uint32_t)k;
	if (e > 40)
		return TR_ORDER_BUCKETS - 1;
	return 16 + (uint32_t)(e - 4) * 16 + (uint32_t)((k >> (e - 4)) & 15);
}

int tr_order_init(struct tr_order *o);
void tr_order_free(struct tr_order *o);
/* Adds hi (with key keys[hi]); -1 on OOM. */
int tr_order_insert(struct tr_order *o, const int64_t *keys, uint32_t hi);
/* Removes hi, which was added while its key was old_key. */
void tr_order_remove(struct tr_order *o, const int64_t *keys, uint32_t hi,
		     int64_t old_key);
/* The first position in bucket b whose host has at least key free. */
uint32_t tr_bucket_lower_bound(const struct tr_bucket *b, const int64_t *keys,
			       int64_t key);
/* How many hosts have less than key free. */
uint32_t tr_order_count_below(const struct tr_order *o, const int64_t *keys,
			      int64_t key);

/*
 * The same hosts in id order (a level's by_id), with a max tree over their
 * free memory: the first host at or after a position with at least some
 * memory free is found in O(log n), which is what first fit (and a walk
 * that no weigher orders) needs instead of stepping over every full host.
 */
struct tr_maxtree {
	int64_t *t;    /* 2 * size nodes; leaves at [size, 2 * size) */
	uint32_t size; /* a power of two >= n */
	uint32_t n;
};

/* Builds the tree over keys[ids[0..n)]; -1 on OOM. */
int tr_maxtree_build(struct tr_maxtree *m, const int64_t *keys,
		     const uint32_t *ids, uint32_t n);
void tr_maxtree_free(struct tr_maxtree *m);
/* Sets the key of position pos. */
void tr_maxtree_set(struct tr_maxtree *m, uint32_t pos, int64_t key);
/* The first position >= from whose key is >= key, or m->n. */
uint32_t tr_maxtree_next(const struct tr_maxtree *m, uint32_t from,
			 int64_t key);

#endif
