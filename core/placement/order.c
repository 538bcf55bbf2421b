/* SPDX-License-Identifier: Apache-2.0 */
/* order.c - bucketed (free memory, id) order of hosts (order.h). */
#include "order.h"

#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"

int tr_order_init(struct tr_order *o)
{
	o->top = 0;
	o->b = tr_xcalloc(TR_ORDER_BUCKETS, sizeof *o->b);
	return o->b ? 0 : -1;
}

void tr_order_free(struct tr_order *o)
{
	if (!o->b)
		return;
	for (uint32_t i = 0; i < TR_ORDER_BUCKETS; i++)
		free(o->b[i].h);
	free(o->b);
	o->b = NULL;
}

/* Where (key, hi) goes in bucket b. */
static uint32_t insert_pos(const struct tr_bucket *b, const int64_t *keys,
			   uint32_t hi, int64_t key)
{
	uint32_t lo = 0, up = b->n;
	while (lo < up) {
		uint32_t mid = lo + (up - lo) / 2;
		uint32_t m = b->h[mid];
		if (keys[m] < key || (keys[m] == key && m < hi))
			lo = mid + 1;
		else
			up = mid;
	}
	return lo;
}

int tr_order_insert(struct tr_order *o, const int64_t *keys, uint32_t hi)
{
	uint32_t bi = tr_order_bucket(keys[hi]);
	struct tr_bucket *b = &o->b[bi];
	TR_GROW(b->h, b->n, b->cap);
	uint32_t at = insert_pos(b, keys, hi, keys[hi]);
	memmove(b->h + at + 1, b->h + at, (b->n - at) * sizeof *b->h);
	b->h[at] = hi;
	b->n++;
	if (bi > o->top)
		o->top = bi;
	return 0;
}

void tr_order_remove(struct tr_order *o, const int64_t *keys, uint32_t hi,
		     int64_t old_key)
{
	struct tr_bucket *b = &o->b[tr_order_bucket(old_key)];
	/* The bucket is sorted by the keys its hosts had when they went in:
	 * only hi's key changed, so search with its old one. */
	uint32_t lo = 0, up = b->n;
	while (lo < up) {
		uint32_t mid = lo + (up - lo) / 2;
		uint32_t m = b->h[mid];
		int64_t km = m == hi ? old_key : keys[m];
		if (km < old_key || (km == old_key && m < hi))
			lo = mid + 1;
		else
			up = mid;
	}
	if (lo < b->n && b->h[lo] == hi) {
		memmove(b->h + lo, b->h + lo + 1,
			(b->n - lo - 1) * sizeof *b->h);
		b->n--;
	}
	while (o->top && !o->b[o->top].n)
		o->top--;
}

uint32_t tr_bucket_lower_bound(const struct tr_bucket *b, const int64_t *keys,
			       int64_t key)
{
	uint32_t lo = 0, up = b->n;
	while (lo < up) {
		uint32_t mid = lo + (up - lo) / 2;
		if (keys[b->h[mid]] < key)
			lo = mid + 1;
		else
			up = mid;
	}
	return lo;
}

uint32_t tr_order_count_below(const struct tr_order *o, const int64_t *keys,
			      int64_t key)
{
	uint32_t b0 = tr_order_bucket(key), n = 0;
	for (uint32_t i = 0; i < b0 && i <= o->top; i++)
		n += o->b[i].n;
	if (b0 <= o->top)
		n += tr_bucket_lower_bound(&o->b[b0], keys, key);
	return n;
}

int tr_maxtree_build(struct tr_maxtree *m, const int64_t *keys,
		     const uint32_t *ids, uint32_t n)
{
	uint32_t size = 1;
	while (size < n)
		size *= 2;
	m->t = tr_xmalloc(2 * (size_t)size * sizeof *m->t);
	if (!m->t)
		return -1;
	m->size = size;
	m->n = n;
	for (uint32_t i = 0; i < size; i++)
		m->t[size + i] = i < n ? keys[ids[i]] : INT64_MIN;
	for (uint32_t i = size - 1; i >= 1; i--)
		m->t[i] = m->t[2 * i] > m->t[2 * i + 1] ? m->t[2 * i]
							: m->t[2 * i + 1];
	return 0;
}

void tr_maxtree_free(struct tr_maxtree *m)
{
	free(m->t);
	memset(m, 0, sizeof *m);
}

void tr_maxtree_set(struct tr_maxtree *m, uint32_t pos, int64_t key)
{
	uint32_t i = m->size + pos;
	m->t[i] = key;
	for (i /= 2; i >= 1; i /= 2) {
		int64_t v = m->t[2 * i] > m->t[2 * i + 1] ? m->t[2 * i]
							  : m->t[2 * i + 1];
		if (m->t[i] == v)
			break; /* nothing above changes either */
		m->t[i] = v;
	}
}

uint32_t tr_maxtree_next(const struct tr_maxtree *m, uint32_t from, int64_t key)
{
	if (from >= m->n)
		return m->n;
	uint32_t i = m->size + from;
	if (m->t[i] < key) {
		/* Up until a right sibling holds a big enough key... */
		for (;;) {
			if (i == 1)
				return m->n;
			if (!(i & 1) && m->t[i + 1] >= key) {
				i++;
				break;
			}
			i /= 2;
		}
		/* ...then down to its leftmost such leaf. */
		while (i < m->size) {
			i *= 2;
			if (m->t[i] < key)
				i++;
		}
	}
	uint32_t pos = i - m->size;
	return pos < m->n ? pos : m->n;
}
