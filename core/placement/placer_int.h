/* SPDX-License-Identifier: Apache-2.0 */
/*
 * placer_int.h - the placement engine's state, shared by its two halves:
 * placer.c (lifecycle, policies, zones) and place.c (the pipeline).
 */
#ifndef TRELLIS_CORE_PLACER_INT_H
#define TRELLIS_CORE_PLACER_INT_H

#include <pthread.h>

#include "place.h"

struct tr_placer {
	pthread_mutex_t lock;
	const tr_registry_t *reg;
	struct tr_inv *inv;
	struct tr_policy **pols; /* sorted by name */
	size_t n_pols;
	char *def;
	const struct tr_policy **zone_pol; /* by zone index, at commit */
	/* Scratch for the pipeline, sized for the whole inventory. */
	const trellis_host_view_t **batch;
	uint8_t *keep;
	double *scores, *tmp;
	trellis_call_t call; /* plugin calls; errors are copied out */
	uint64_t rng;
};

/* The default policy, NULL when none is loaded.  Under the lock. */
const struct tr_policy *tr_placer_default_policy(struct tr_placer *p);

#endif
