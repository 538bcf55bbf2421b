/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orphans.c - the orphan-claim check (orphans.h).
 *
 * Every placement.orphan_check (60 s by default) the main thread lists the
 * claims whose owner is gone (claims.h: a VM that is no longer recorded,
 * an instance that failed and was compensated fully, or one the journal
 * no longer has).  A claim is released only when two checks in a row saw
 * it orphaned, so a claim between two steps of a destroy (its VM just
 * forgotten, its release about to run) is never taken from under it.
 * Each release is logged with the claim, its host and its owner.
 * Tombstones of released claims older than TOMBSTONE_S are dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "../runtime/daemon.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "orphans.h"
#include "reserve.h"
#include "service.h"

#define TOMBSTONE_S (30 * 86400)

struct tr_orphans {
	uint64_t period_ms, timer;
	char **seen; /* keys orphaned at the last check */
	size_t n_seen;
};

struct pass {
	struct tr_daemon *d;
	struct tr_placer *p;
	struct tr_orphans *o;
	struct tr_sql *db;
	char **now;
	size_t n_now, cap;
	unsigned released;
};

static int seen_before(const struct tr_orphans *o, const char *key)
{
	for (size_t i = 0; i < o->n_seen; i++)
		if (!strcmp(o->seen[i], key))
			return 1;
	return 0;
}

static int one(void *arg, const struct tr_claim *c, const char *host,
	       const char *owner_state)
{
	struct pass *ps = arg;
	(void)owner_state;
	if (!seen_before(ps->o, c->key)) {
		TR_GROW(ps->now, ps->n_now, ps->cap);
		if ((ps->now[ps->n_now] = tr_xstrdup(c->key)))
			ps->n_now++;
		return 0;
	}
	trellis_call_t call;
	tr_call_init(&call, "placement");
	char why[400];
	snprintf(why, sizeof why, "orphan: owner %s is gone", c->owner);
	int rc = tr_place_release(ps->p, ps->db, c->key, "orphan-check", why,
				  NULL, &call);
	if (rc < 0) {
		tr_warn("placement: orphan claim '%s' on host %s: %s", c->key,
			host, call.message);
		return 0;
	}
	ps->released++;
	tr_warn("placement: released orphan claim '%s' on host %s (%u vCPU, "
		"%llu MiB, %llu GiB): its owner %s is gone",
		c->key, host, c->vcpus, (unsigned long long)c->memory_mib,
		(unsigned long long)c->disk_gib, c->owner);
	json_t *ev = json_pack("{s:s, s:s, s:s}", "claim", c->key, "host",
			       host, "owner", c->owner);
	if (ev)
		tr_daemon_publish(ps->d, "policy.claim.orphan", ev);
	json_decref(ev);
	return 0;
}

static void forget_seen(struct tr_orphans *o)
{
	for (size_t i = 0; i < o->n_seen; i++)
		free(o->seen[i]);
	free(o->seen);
	o->seen = NULL;
	o->n_seen = 0;
}

static void tick(struct tr_daemon *d, void *arg)
{
	struct tr_orphans *o = arg;
	o->timer = 0;
	if (d->stopping)
		return;
	if (!tr_daemon_leads(d, "placement.orphans")) {
		tr_daemon_timer_add(d, o->period_ms, 0, tick, o, &o->timer);
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, "placement");
	struct pass ps = {.d = d, .o = o, .db = tr_store_sql(d->store)};
	ps.p = tr_placement_engine(d, &call);
	if (!ps.p)
		tr_warn("placement: orphan check: %s", call.message);
	else if (tr_claims_each_owned(ps.db, NULL, 1, one, &ps, &call) < 0)
		tr_warn("placement: orphan check: %s", call.message);
	if (tr_claims_prune_released(ps.db, TOMBSTONE_S, &call) < 0)
		tr_warn("placement: orphan check: %s", call.message);
	forget_seen(o);
	o->seen = ps.now;
	o->n_seen = ps.n_now;
	tr_daemon_timer_add(d, o->period_ms, 0, tick, o, &o->timer);
}

void tr_orphans_start(struct tr_daemon *d, uint64_t period_ms)
{
	if (!period_ms || !d->loop || d->orphans)
		return;
	struct tr_orphans *o = tr_xcalloc(1, sizeof *o);
	if (!o) {
		tr_err("placement: out of memory starting the orphan check");
		abort();
	}
	o->period_ms = period_ms;
	d->orphans = o;
	tr_daemon_timer_add(d, period_ms, 0, tick, o, &o->timer);
}

void tr_orphans_stop(struct tr_daemon *d)
{
	struct tr_orphans *o = d->orphans;
	if (!o)
		return;
	if (o->timer)
		tr_daemon_timer_cancel(d, o->timer);
	forget_seen(o);
	free(o);
	d->orphans = NULL;
}
