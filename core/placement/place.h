/* SPDX-License-Identifier: Apache-2.0 */
/*
 * place.h - the placement engine: policies + inventory + the pipeline that
 * turns a request into a host.
 *
 * tr_place() resolves the request's names to ids, chooses the policy (the
 * requested zone's, or the default), decides the private-zone passes (the
 * owner's zones first, then the others when a zone says `spill: allow`),
 * and for each pass walks the index: only the candidate hosts of the
 * location asked for, in the order the weighers agree with, cut at the
 * first host with too little memory.  Candidates go through the policy's
 * filters in batches (through core/dispatch), the survivors are weighed,
 * and the engine keeps the top N; when the walk order is the score order it
 * stops as soon as it has N.  The pick is random among those N (the herding
 * guard; N=1 is deterministic).
 *
 * When nothing fits, the error says what each filter removed, counting the
 * hosts the index skipped under the filter the index stands for:
 *   no host fits (120 hosts): capacity removed 80 (memory), anti-affinity
 *   removed 40
 *
 * A claim (TR_PLACE_CLAIM) books the request's resources on the chosen
 * host in memory under the same lock, so that concurrent requests in one
 * process never see the same free slot twice; the durable, cross-process
 * arbiter is the claims table (claims.h).
 *
 * The engine owns its inventory and policies; the registry is borrowed and
 * must outlive it.  Placing, claiming, committing and changing policies
 * take the engine's mutex; the read accessors of policies and zones
 * (tr_placer_policy*, tr_placer_zone_policy, tr_placer_default) do not:
 * call them from the thread that changes policies.
 */
#ifndef TRELLIS_CORE_PLACE_H
#define TRELLIS_CORE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "../host/host.h"
#include "../loader/loader.h"
#include "inventory.h"
#include "polconf.h"

struct tr_placer;

#define TR_PLACE_MAX_TAGS 32

struct tr_place_req {
	uint32_t vcpus;
	uint64_t memory_mib, disk_gib;
	const char *zone, *pod, *cluster, *host; /* NULL: any */
	const char *tenant;
	const char *affinity_group, *anti_affinity_group;
	const char *const *tags;
	uint32_t n_tags;
	const char *template_; /* the VM template (quotas), NULL: none */
};

struct tr_place_result {
	uint64_t host_id;
	char host[128];
	char zone[128];
	char policy[64];
	double score;
	uint32_t
	    candidates; /* hosts that passed every filter (walk stops early) */
	uint32_t phase; /* enum trellis_place_phase that placed it */
	/* What a claim booked, for tr_place_unclaim(). */
	uint32_t vcpus;
	uint64_t memory_mib, disk_gib;
	uint32_t groups[2];
	uint32_t hint; /* the host's index then (checked against host_id) */
};

/* Why nothing fitted, for scripts (the message says the same in words):
 * per pass, the hosts considered and what each filter removed. */
struct tr_place_why_pass {
	uint32_t hosts;
	uint32_t n; /* filters that removed something */
	struct {
		const char *filter; /* the policy's, valid while it is loaded */
		uint32_t removed;
		char reason[64];
	} by[TR_POLICY_MAX_STAGES];
};

struct tr_place_why {
	int own;	  /* the tenant's private zones were tried first */
	int spill_denied; /* ...and may not spill */
	struct tr_place_why_pass own_pass, pass; /* pass: the last one run */
};

/* tr_place() flags */
#define TR_PLACE_CLAIM (1u << 0) /* book the resources on the chosen host */
#define TR_PLACE_NAIVE (1u << 1) /* full scan, no index: the bench baseline */

struct tr_placer *tr_placer_new(const tr_registry_t *reg);
void tr_placer_free(struct tr_placer *p);

/* The inventory to fill before tr_placer_commit(); owned by the engine. */
struct tr_inv *tr_placer_inv(struct tr_placer *p);
/* Applies each zone's policy limits (overcommit, VM limit) and rebuilds
 * the index.  Call after changing the inventory or the policies. */
int tr_placer_commit(struct tr_placer *p, char *err, size_t errlen);

/* Adds a policy (taking ownership; one of the same name is replaced).
 * The first policy added is the default until tr_placer_set_default(). */
int tr_placer_add_policy(struct tr_placer *p, struct tr_policy *pol);
/* Loads every *.yaml in dir.  Returns how many, or a negative error with
 * every failing file's message in err (the others still load). */
int tr_placer_load_policies(struct tr_placer *p, const char *dir, char *err,
			    size_t errlen);
int tr_placer_set_default(struct tr_placer *p, const char *name, char *err,
			  size_t errlen);
/* Selects the policy of a zone (NULL: back to the default); takes effect
 * immediately (the index is rebuilt). */
int tr_placer_set_zone_policy(struct tr_placer *p, const char *zone,
			      const char *policy, char *err, size_t errlen);
/* Policies, in name order, and the default's name.  Borrowed pointers,
 * valid until the policy is replaced. */
size_t tr_placer_n_policies(struct tr_placer *p);
const struct tr_policy *tr_placer_policy_at(struct tr_placer *p, size_t i);
const struct tr_policy *tr_placer_policy(struct tr_placer *p, const char *name);
const char *tr_placer_default(struct tr_placer *p);
/* The policy a zone uses (its own, or the default's name). */
const char *tr_placer_zone_policy(struct tr_placer *p, const char *zone);

/* Seeds the top-N random pick (tests use it for reproducible runs). */
void tr_placer_seed(struct tr_placer *p, uint64_t seed);

/* Places req.  0 with *out filled, or an error in call: NOSPACE with the
 * "why not placed" message when no host fits, NOTFOUND for an unknown
 * zone/pod/cluster/host, INVALID_ARG for a bad request. */
int tr_place(struct tr_placer *p, const struct tr_place_req *req,
	     uint32_t flags, struct tr_place_result *out, trellis_call_t *call);
/* The same, and on NOSPACE fills *why (when not NULL). */
int tr_place_why(struct tr_placer *p, const struct tr_place_req *req,
		 uint32_t flags, struct tr_place_result *out,
		 struct tr_place_why *why, trellis_call_t *call);
/* Returns what a TR_PLACE_CLAIM booked (a failed or compensated workflow,
 * or a store claim that lost its race).  NOTFOUND if the host is gone. */
int tr_place_unclaim(struct tr_placer *p, const struct tr_place_result *r);
/* Books a claim known from elsewhere (the store at startup). */
int tr_place_book(struct tr_placer *p, uint64_t host_id, uint32_t vcpus,
		  uint64_t memory_mib, uint64_t disk_gib, const char *group,
		  const char *anti_group);

/* What host_id offers to claims: its capacity after overcommit minus the
 * load that is not a claim, and its VM slots likewise (negative: no VM
 * limit).  NOTFOUND if the host is gone.  Fills a struct tr_claim_room. */
struct tr_claim_room;
struct tr_claim;
int tr_place_room(struct tr_placer *p, uint64_t host_id,
		  struct tr_claim_room *room);

/* Makes the engine's claimed totals of host_id those of sum (from
 * tr_claims_host_sum: the VM count is in sum->host_id). */
void tr_place_sync_host(struct tr_placer *p, uint64_t host_id,
			const struct tr_claim *sum);

#endif
