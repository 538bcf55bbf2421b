/* SPDX-License-Identifier: Apache-2.0 */
/* intern.c - open-addressing hash table of strings to dense ids. */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"

struct tr_intern {
	char **strs;	  /* by id; strs[0] unused */
	uint32_t *hashes; /* by id */
	uint32_t n, cap_strs;
	uint32_t *slots; /* 0: empty, else an id */
	uint32_t mask;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

struct tr_intern *tr_intern_new(void)
{
	struct tr_intern *in = tr_xcalloc(1, sizeof *in);
	if (!in)
		return NULL;
	in->mask = 255;
	in->slots = tr_xcalloc(in->mask + 1, sizeof *in->slots);
	if (!in->slots) {
		free(in);
		return NULL;
	}
	return in;
}

void tr_intern_free(struct tr_intern *in)
{
	if (!in)
		return;
	for (uint32_t i = 1; i <= in->n; i++)
		free(in->strs[i]);
	free(in->strs);
	free(in->hashes);
	free(in->slots);
	free(in);
}

static uint32_t lookup(const struct tr_intern *in, const char *s, uint32_t h,
		       uint32_t *slot)
{
	uint32_t i = h & in->mask;
	for (;; i = (i + 1) & in->mask) {
		uint32_t id = in->slots[i];
		if (!id || (in->hashes[id] == h && !strcmp(in->strs[id], s))) {
			*slot = i;
			return id;
		}
	}
}

uint32_t tr_intern_find(const struct tr_intern *in, const char *s)
{
	if (!s)
		return 0;
	uint32_t slot;
	return lookup(in, s, hash(s), &slot);
}

static int grow_slots(struct tr_intern *in)
{
	uint32_t nmask = in->mask * 2 + 1;
	uint32_t *ns = tr_xcalloc((size_t)nmask + 1, sizeof *ns);
	if (!ns)
		return -1;
	for (uint32_t id = 1; id <= in->n; id++) {
		uint32_t i = in->hashes[id] & nmask;
		while (ns[i])
			i = (i + 1) & nmask;
		ns[i] = id;
	}
	free(in->slots);
	in->slots = ns;
	in->mask = nmask;
	return 0;
}

uint32_t tr_intern_add(struct tr_intern *in, const char *s)
{
	if (!s)
		return 0;
	uint32_t h = hash(s), slot;
	uint32_t id = lookup(in, s, h, &slot);
	if (id)
		return id;
	/* Keep the load under a half so probes stay short (and end). */
	if ((in->n + 2) * 2 > in->mask + 1) {
		if (grow_slots(in) < 0)
			return 0;
		lookup(in, s, h, &slot);
	}
	if (in->n + 2 > in->cap_strs) {
		/* Two arrays of one capacity. */
		uint32_t cap = in->cap_strs;
		TR_GROW_TO(in->hashes, in->n + 2, cap);
		TR_GROW_TO(in->strs, in->n + 2, in->cap_strs);
	}
	char *copy = tr_xstrdup(s);
	if (!copy)
		return 0;
	id = ++in->n;
	in->strs[id] = copy;
	in->hashes[id] = h;
	in->slots[slot] = id;
	return id;
}

const char *tr_intern_str(const struct tr_intern *in, uint32_t id)
{
	return id && id <= in->n ? in->strs[id] : NULL;
}

uint32_t tr_intern_count(const struct tr_intern *in) { return in->n; }
