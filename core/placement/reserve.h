/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reserve.h - placement with a durable claim: what the policy.place and
 * policy.release actions do.
 *
 * tr_place_reserve() picks a host (booking it in the engine's memory) and
 * then takes the claim in the store.  If the store says the host has no
 * room (another trellisd, or a claim the engine did not know about), it
 * gives the memory booking back, books what the store knows instead and
 * tries the next pick, a few times.  A replayed step (same key) gets the
 * host its first run claimed.  tr_place_release() removes the claim (its
 * tombstone names by and why, claims.h) and gives the resources back to
 * the engine.  The same release replayed (by the same key) returns 1 and
 * changes nothing; a claim that was never made, or that another release
 * took, is NOTFOUND.
 */
#ifndef TRELLIS_CORE_RESERVE_H
#define TRELLIS_CORE_RESERVE_H

#include "../store/sql.h"
#include "claims.h"
#include "place.h"

#define TR_RESERVE_ATTEMPTS 4

int tr_place_reserve(struct tr_placer *p, struct tr_sql *db,
		     const struct tr_place_req *req, const char *key,
		     struct tr_place_result *out, trellis_call_t *call);
int tr_place_release(struct tr_placer *p, struct tr_sql *db, const char *key,
		     const char *by, const char *why, struct tr_claim *out,
		     trellis_call_t *call);
/* Books every claim of the store in the engine (daemon start).  Claims on
 * hosts the engine does not know are skipped (the count is returned). */
int tr_place_load_claims(struct tr_placer *p, struct tr_sql *db,
			 trellis_call_t *call);

#endif
