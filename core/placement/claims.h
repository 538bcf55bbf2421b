/* SPDX-License-Identifier: Apache-2.0 */
/*
 * claims.h - placement claims in the store: the durable, atomic booking of
 * a host's resources by one workflow step.
 *
 * The engine (place.h) picks a host and books it in memory; the claim in
 * the placement_claim table (migration "placement-0001-claims" in
 * core/store/schema.c) is what makes the booking hold across threads,
 * processes and restarts.  tr_claim_take() is a single conditional INSERT:
 * it succeeds only if the claims already on the host plus this one still
 * fit what the host offers to claims (capacity after overcommit minus load
 * that is not a claim), the host's VM limit, and the anti-affinity group.
 * SQLite runs a writing statement under the database's write lock, so N
 * concurrent takes against one free slot give exactly one success.
 *
 * Claims are keyed by the step's idempotency key ("<instance>/<step>"): a
 * replayed take finds its own claim and succeeds without booking twice.
 * A claim has an owner: the workflow instance that placed it ("wf:ID")
 * until its VM is recorded, then the VM ("vm:UUID").  A release leaves a
 * tombstone in placement_released naming who released it, so that the
 * same release replayed (compensation is replayed too) succeeds while a
 * release of a claim that was never made, or that someone else released,
 * is an error: a mistyped claim never "succeeds" while capacity stays
 * booked.
 *
 * The caller owns db (tr_store_sql() of its store handle).
 */
#ifndef TRELLIS_CORE_CLAIMS_H
#define TRELLIS_CORE_CLAIMS_H

#include <stdint.h>

#include "../host/host.h"
#include "../store/sql.h"

struct tr_claim {
	char key[256];
	uint64_t host_id;
	uint32_t vcpus;
	uint64_t memory_mib, disk_gib;
	char group[128], anti_group[128], tenant[128]; /* "" when none */
	char owner[300]; /* "vm:UUID", "wf:INSTANCE", or "" (none) */
	char template_[65]; /* the VM template it is for ("" when none);
			       written, not read back */
	int64_t created_at; /* unix seconds (read; take sets it) */
};

/* What a host offers to claims; a negative vm_slots means no VM limit. */
struct tr_claim_room {
	int64_t vcpus, memory_mib, disk_gib, vm_slots;
};

/* Books c (its key and host) if it fits room and c->tenant's quotas
 * (table bu_quota: vcpus, memory, disk, VM count; bu_template_quota: VM
 * count per template), all in the one statement, so that N concurrent
 * takes against a quota of Q give exactly Q claims.  0 on success, and
 * also when c->key is already held (then *c is overwritten with the held
 * claim, so a replay learns which host it got).  QUOTA, naming the quota,
 * its limit and its use, when the tenant has no quota left; NOSPACE when
 * the claim is not covered by an allocation and would take compute the
 * allocations hold (TR_ALLOC_HELD); CONFLICT when
 * the host has no room left for it (another request took it first); IO
 * on a database error. */
int tr_claim_take(struct tr_sql *db, struct tr_claim *c,
		  const struct tr_claim_room *room, trellis_call_t *call);

/*
 * Allocations reserve compute (docs/tenancy.md): the sums of the active
 * allocations' vcpus and memory are held for their BUs.  Whoever no active
 * allocation covers (a VM without a BU, or of a BU without one) may use
 * only what is left: the hosts' CPUs and memory (as approval counts them)
 * minus what the allocations hold minus what the uncovered claims already
 * use.  TR_CLAIM_COVERED(T) is true when tenant T (an SQL expression) has
 * an active allocation; TR_CLAIM_UNCOVERED_SUM(COL) sums COL over the
 * uncovered claims; TR_ALLOC_HELD(COL) sums COL over the active
 * allocations (an initial one still provisioning counts: its approval
 * already counted it).
 */
#define TR_ALLOC_LIVE                                                          \
	"(a.state = 'active' OR (a.state = 'provisioning' AND a.kind = "       \
	"'initial'))"
#define TR_CLAIM_COVERED(T)                                                    \
	"EXISTS (SELECT 1 FROM allocation a JOIN tenant t ON t.id = "          \
	"a.tenant_id WHERE t.name = " T " AND " TR_ALLOC_LIVE ")"
#define TR_CLAIM_UNCOVERED_SUM(COL)                                            \
	"(SELECT COALESCE(SUM(c." COL "), 0) FROM placement_claim c WHERE "    \
	"c.tenant IS NULL OR NOT " TR_CLAIM_COVERED("c.tenant") ")"
#define TR_ALLOC_HELD(COL)                                                     \
	"(SELECT COALESCE(SUM(a." COL "), 0) FROM allocation a WHERE "         \
	TR_ALLOC_LIVE ")"

/* What is left for claims no allocation covers (vcpus, memory_mib; may be
 * negative), and whether any allocation holds anything (*any: 0 means no
 * limit applies).  except: a tenant whose claims are not counted (NULL:
 * none). */
int tr_claims_unreserved(struct tr_sql *db, const char *except, int64_t *vcpus,
			 int64_t *memory_mib, int *any, trellis_call_t *call);

/* Removes the claim key, filling *out (may be NULL) with what it held, and
 * records its tombstone: released by "by" (an idempotency key or "reaper";
 * may be NULL) because of why (may be NULL).  0 when removed; 1 (call
 * untouched, *out not filled) when by released it before; NOTFOUND,
 * naming who released it, otherwise. */
int tr_claim_release(struct tr_sql *db, const char *key, const char *by,
		     const char *why, struct tr_claim *out,
		     trellis_call_t *call);

/* Sets the owner of claim key ("vm:UUID"...).  0 or NOTFOUND, IO. */
int tr_claim_set_owner(struct tr_sql *db, const char *key, const char *owner,
		       trellis_call_t *call);

/* Forgets tombstones older than older_than_s seconds: how many, or an
 * error. */
int tr_claims_prune_released(struct tr_sql *db, int64_t older_than_s,
			     trellis_call_t *call);

/* The claim held under key: 0, NOTFOUND or IO. */
int tr_claim_get(struct tr_sql *db, const char *key, struct tr_claim *out,
		 trellis_call_t *call);

/* The totals of the claims on host_id (vcpus, memory_mib, disk_gib; the
 * number of claims in host_id's place, as it is a count of VMs). */
int tr_claims_host_sum(struct tr_sql *db, uint64_t host_id,
		       struct tr_claim *sum, trellis_call_t *call);

/* What tenant's claims hold (vcpus, memory_mib, disk_gib, and the count
 * of VMs in host_id's place); with template (not NULL), its VMs only. */
int tr_claims_tenant_use(struct tr_sql *db, const char *tenant,
			 const char *template_, struct tr_claim *use,
			 trellis_call_t *call);

/* Calls fn for every claim (startup: rebooking them in the engine).  Stops
 * at fn's first non-zero return and returns it. */
int tr_claims_foreach(struct tr_sql *db,
		      int (*fn)(void *arg, const struct tr_claim *c), void *arg,
		      trellis_call_t *call);

/* Calls fn for every claim (on host, a host name; NULL: all), oldest
 * first, with its host's name and whether its owner is "live", "gone" or
 * "none"; with orphans_only, only the claims whose owner is gone.  Stops
 * at fn's first non-zero return and returns it. */
int tr_claims_each_owned(struct tr_sql *db, const char *host, int orphans_only,
			 int (*fn)(void *arg, const struct tr_claim *c,
				   const char *host, const char *owner_state),
			 void *arg, trellis_call_t *call);

#endif
