/* SPDX-License-Identifier: Apache-2.0 */
/* array.c - growable arrays (array.h). */
#include "array.h"

#include "alloc.h"

void tr_grow(void **arr, size_t *cap, size_t size, size_t need)
{
	size_t c = *cap ? *cap : 16;
	while (c < need) {
		if (c > ((size_t)-1) / 2 / size)
			tr_oom(need * size, __FILE__, __LINE__);
		c *= 2;
	}
	*arr = tr_xrealloc(*arr, c * size);
	*cap = c;
}
