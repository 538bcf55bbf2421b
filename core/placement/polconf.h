/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polconf.h - placement policies: what a policy YAML file (policies/NAME.yaml)
 * says, resolved against the loaded policy plugins.
 *
 *     policy: default
 *     description: pack hosts, keep a few hosts in reserve
 *     filters: [location, spill, exclusive, capacity, vm-limit, tags,
 *               affinity, anti-affinity]
 *     weights: {binpack: 1.0}     # weigher: weight (sum of weighted scores)
 *     top_n: 3                    # random pick among the 3 best (1: exact)
 *     overcommit: {cpu: 4.0, memory: 1.0}
 *     vm_limit: 0                 # per host, 0: none (a host's own may be
 * lower)
 *
 * A filter or weigher is named by its item name ("capacity"), or by
 * "PLUGIN:NAME" when two plugins offer the same name.  Filters run in the
 * order given.  Every error names FILE:LINE:COL and what is wrong.
 *
 * A struct tr_policy owns its strings; the plugins it points to belong to
 * the registry, which must outlive it.
 */
#ifndef TRELLIS_CORE_POLCONF_H
#define TRELLIS_CORE_POLCONF_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/policy.h>

#include "../loader/loader.h"

#define TR_POLICY_MAX_TOP_N 64
#define TR_POLICY_INDEX_BITS 5	/* TRELLIS_POLICY_INDEX_* the core knows */
#define TR_POLICY_MAX_STAGES 32 /* filters, and weighers, per policy */

struct tr_pstage {
	struct trellis_plugin *plugin; /* borrowed from the registry */
	uint32_t idx;		       /* item number within the plugin */
	const trellis_policy_item_t *item;
	double weight; /* weighers */
};

struct tr_policy {
	char *name, *description, *file;
	struct tr_pstage *filters, *weighers;
	uint32_t n_filters, n_weighers;
	uint32_t top_n;
	double cpu_ratio, memory_ratio;
	uint32_t vm_limit;
	/* Derived: index hints offered by the filters (TRELLIS_POLICY_INDEX_*)
	 * and the walk order the weighers allow stopping early on. */
	uint32_t index;
	uint32_t order;
	int stage_of_index[TR_POLICY_INDEX_BITS]; /* stage per index bit, -1 */
};

/* Parses one policy document (root of a YAML tree from core/util/node.h).
 * NULL on error with "FILE:LINE:COL: message" in err. */
struct tr_policy *tr_policy_parse(const trellis_node_t *root,
				  const tr_registry_t *reg, char *err,
				  size_t errlen);
struct tr_policy *tr_policy_load(const char *path, const tr_registry_t *reg,
				 char *err, size_t errlen);
void tr_policy_free(struct tr_policy *pol);

/* Stage standing for index bit (TRELLIS_POLICY_INDEX_*), or NULL. */
const struct tr_pstage *tr_policy_index_stage(const struct tr_policy *pol,
					      uint32_t bit);

#endif
