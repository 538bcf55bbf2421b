/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builtin.h - the built-in policy plugin: the filter and weigher tables
 * that builtin.c publishes, implemented in filters.c and weighers.c.
 *
 * Every function has the shape of the ops in trellis/policy.h minus the
 * plugin state, and works only on the hosts still kept.
 */
#ifndef TRELLIS_POLICY_BUILTIN_H
#define TRELLIS_POLICY_BUILTIN_H

#include <trellis/policy.h>

typedef int (*pb_filter_fn)(const trellis_place_request_t *req,
			    const trellis_host_view_t *const *hosts, size_t n,
			    uint8_t *keep, char reason[64]);
typedef void (*pb_weigh_fn)(const trellis_place_request_t *req,
			    const trellis_host_view_t *const *hosts, size_t n,
			    const uint8_t *keep, double *scores);

struct pb_filter {
	trellis_policy_item_t item;
	pb_filter_fn fn;
};

struct pb_weigher {
	trellis_policy_item_t item;
	pb_weigh_fn fn;
};

extern const struct pb_filter pb_filters[];
extern const size_t pb_n_filters;
extern const struct pb_weigher pb_weighers[];
extern const size_t pb_n_weighers;

#endif
