/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.h - what the placement tests share: the real builtin policy
 * plugin loaded through the registry, policies parsed from YAML text, and
 * a placer over a small hand-written inventory.
 */
#ifndef TRELLIS_TEST_PLACEMENT_FIXTURE_H
#define TRELLIS_TEST_PLACEMENT_FIXTURE_H

#include "../../../core/placement/place.h"

/* The registry with builtin.so loaded (asserts it loaded). */
tr_registry_t *fx_registry(void);
/* Group set-up and tear-down that keep one in fx_reg. */
extern tr_registry_t *fx_reg;
int fx_setup(void **state);
int fx_teardown(void **state);
/* A policy from YAML text (asserts it parses). */
struct tr_policy *fx_policy(tr_registry_t *reg, const char *yaml);
/* A placer with one policy and a seed. */
struct tr_placer *fx_placer(tr_registry_t *reg, const char *yaml);
/* Adds a host: id, name, zone/pod/cluster, cpus, memory (MiB). */
void fx_host(struct tr_placer *p, uint64_t id, const char *name,
	     const char *zone, const char *pod, const char *cluster,
	     uint32_t cpus, uint64_t mem_mib);
/* Adds a zone (owner NULL: public) or a host from a full definition. */
void fx_zone(struct tr_placer *p, const char *name, const char *owner,
	     int exclusive, int spill_allow);
void fx_host_def(struct tr_placer *p, const struct tr_host_def *h);
void fx_commit(struct tr_placer *p);
/* Places req; returns the host name (static buffer) or NULL, with the
 * error message in msg (may be NULL). */
const char *fx_place(struct tr_placer *p, const struct tr_place_req *req,
		     uint32_t flags, char *msg, size_t msglen);

/* A policy listing every builtin filter with weigher W and top_n N. */
#define FX_POLICY(w, n)                                                        \
	"policy: t\nfilters: [location, spill, exclusive, capacity, "          \
	"vm-limit, tags, affinity, anti-affinity]\nweights: {" w ": 1}\n"      \
	"top_n: " #n "\n"

#endif
