/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array.h - growable arrays: an element pointer, a count and a capacity
 * that the caller keeps, grown by doubling (from 16).  Growing never
 * fails: out of memory aborts (alloc.h).
 *
 *	struct thing *v = NULL; size_t n = 0, cap = 0;
 *	TR_GROW(v, n, cap);
 *	v[n++] = x;
 */
#ifndef TRELLIS_CORE_UTIL_ARRAY_H
#define TRELLIS_CORE_UTIL_ARRAY_H

#include <stddef.h>

/* Room for at least need elements of size bytes in *arr, whose capacity
 * is *cap (both updated). */
void tr_grow(void **arr, size_t *cap, size_t size, size_t need);

/* Room for one more element after the n that arr holds; cap may be of
 * any unsigned type.  A statement. */
#define TR_GROW(arr, n, cap) TR_GROW_TO(arr, (size_t)(n) + 1, cap)

/* Room for at least need elements in arr (cap: any unsigned type). */
#define TR_GROW_TO(arr, need, cap)                                             \
	do {                                                                   \
		if ((size_t)(need) > (size_t)(cap)) {                          \
			size_t tr_grow_cap_ = (cap);                           \
			tr_grow((void **)&(arr), &tr_grow_cap_, sizeof *(arr),  \
				(need));                                       \
			(cap) = tr_grow_cap_;                                  \
		}                                                              \
	} while (0)

#endif
