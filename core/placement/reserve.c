/* SPDX-License-Identifier: Apache-2.0 */
/* reserve.c - placement plus store claim (reserve.h). */
#include "reserve.h"

#include <stdio.h>
#include <string.h>

static const char *opt(const char *s) { return s && *s ? s : NULL; }

static void to_claim(const struct tr_place_req *q, const char *key,
		     const struct tr_place_result *r, struct tr_claim *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->key, sizeof c->key, "%s", key);
	c->host_id = r->host_id;
	c->vcpus = q->vcpus;
	c->memory_mib = q->memory_mib;
	c->disk_gib = q->disk_gib;
	snprintf(c->group, sizeof c->group, "%s",
		 q->affinity_group ? q->affinity_group : "");
	snprintf(c->anti_group, sizeof c->anti_group, "%s",
		 q->anti_affinity_group ? q->anti_affinity_group : "");
	snprintf(c->tenant, sizeof c->tenant, "%s", q->tenant ? q->tenant : "");
	snprintf(c->template_, sizeof c->template_, "%s",
		 q->template_ ? q->template_ : "");
}

/* Fills out from a claim the store already held (a replayed step). */
static void from_claim(struct tr_placer *p, const struct tr_claim *c,
		       struct tr_place_result *out)
{
	struct tr_inv *inv = tr_placer_inv(p);
	int64_t hi = tr_inv_host_by_id(inv, c->host_id);
	memset(out, 0, sizeof *out);
	out->host_id = c->host_id;
	out->vcpus = c->vcpus;
	out->memory_mib = c->memory_mib;
	out->disk_gib = c->disk_gib;
	if (hi >= 0) {
		snprintf(out->host, sizeof out->host, "%s",
			 inv->hosts[hi].v.name);
		snprintf(out->zone, sizeof out->zone, "%s",
			 tr_intern_str(inv->names, inv->hosts[hi].v.zone_id));
	}
}

int tr_place_reserve(struct tr_placer *p, struct tr_sql *db,
		     const struct tr_place_req *req, const char *key,
		     struct tr_place_result *out, trellis_call_t *call)
{
	struct tr_claim held;
	trellis_call_t tmp;
	tr_call_init(&tmp, NULL);
	/* A replay finds its claim, already booked in the engine. */
	if (!tr_claim_get(db, key, &held, &tmp)) {
		from_claim(p, &held, out);
		return 0;
	}
	if (tmp.code != TRELLIS_E_NOTFOUND)
		return tr_call_set(call, tmp.code, "%s", tmp.message);
	for (int attempt = 0; attempt < TR_RESERVE_ATTEMPTS; attempt++) {
		int rc = tr_place(p, req, TR_PLACE_CLAIM, out, call);
		if (rc)
			return rc;
		struct tr_claim c;
		struct tr_claim_room room;
		to_claim(req, key, out, &c);
		if (tr_place_room(p, out->host_id, &room)) {
			tr_place_unclaim(p, out);
			continue;
		}
		rc = tr_claim_take(db, &c, &room, call);
		if (!rc && c.host_id == out->host_id)
			return 0;
		tr_place_unclaim(p, out);
		if (!rc) {
			/* Someone with our key got there first: theirs. */
			from_claim(p, &c, out);
			return 0;
		}
		if (rc != TRELLIS_E_CONFLICT)
			return rc;
		/* The store knows claims the engine does not (another
		 * trellisd): take its totals for the host, so that the next
		 * pick sees the host as the store does. */
		struct tr_claim sum;
		tr_call_init(call, NULL);
		if ((rc = tr_claims_host_sum(db, out->host_id, &sum, call)))
			return rc;
		tr_place_sync_host(p, out->host_id, &sum);
	}
	return tr_call_set(call, TRELLIS_E_BUSY,
			   "placement lost the race for a host %d times; "
			   "try again",
			   TR_RESERVE_ATTEMPTS);
}

int tr_place_release(struct tr_placer *p, struct tr_sql *db, const char *key,
		     const char *by, const char *why, struct tr_claim *out,
		     trellis_call_t *call)
{
	struct tr_claim c;
	int rc = tr_claim_release(db, key, by, why, &c, call);
	if (rc)
		return rc;
	if (out)
		*out = c;
	struct tr_place_result r;
	memset(&r, 0, sizeof r);
	r.host_id = c.host_id;
	r.vcpus = c.vcpus;
	r.memory_mib = c.memory_mib;
	r.disk_gib = c.disk_gib;
	struct tr_inv *inv = tr_placer_inv(p);
	r.groups[0] = tr_intern_find(inv->names, opt(c.group));
	r.groups[1] = tr_intern_find(inv->names, opt(c.anti_group));
	tr_place_unclaim(p, &r);
	return 0;
}

static int book_one(void *arg, const struct tr_claim *c)
{
	struct tr_placer *p = arg;
	(void)tr_place_book(p, c->host_id, c->vcpus, c->memory_mib, c->disk_gib,
			    opt(c->group), opt(c->anti_group));
	return 0;
}

int tr_place_load_claims(struct tr_placer *p, struct tr_sql *db,
			 trellis_call_t *call)
{
	return tr_claims_foreach(db, book_one, p, call);
}
