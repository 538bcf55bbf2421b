/* SPDX-License-Identifier: Apache-2.0 */
/*
 * retention.c - the journal's retention (workflows.retention, 30 days by
 * default): instances that finished longer ago leave the journal with
 * their steps, so a daemon that runs for years keeps a bounded store.
 *
 * A tick purges at most TICK_BATCHES transactions of BATCH instances and
 * comes back a second later while more remain, so a large backlog (the
 * first start after a retention was set) drains without holding the main
 * loop for long; otherwise the next tick is PERIOD_MS away.
 */
#include "../runtime/daemon.h"
#include "../util/log.h"
#include "engine_int.h"
#include "journal.h"

#define BATCH 500
#define TICK_BATCHES 20
#define FIRST_MS 1000
#define AGAIN_MS 1000
#define PERIOD_MS (10 * 60 * 1000)

int tr_engine_purge(struct tr_engine *e, int64_t older_than_ms,
		    unsigned max_batches, unsigned *purged,
		    trellis_call_t *call)
{
	int64_t before_ms = tr_wall_ms() - older_than_ms;
	*purged = 0;
	for (unsigned b = 0; !max_batches || b < max_batches; b++) {
		int n = tr_journal_purge(e->j, before_ms, BATCH, call);
		if (n < 0)
			return n;
		*purged += (unsigned)n;
		if (n < BATCH)
			return 0;
	}
	return 1;
}

static void tick(struct tr_daemon *d, void *arg)
{
	struct tr_engine *e = arg;
	e->retention_timer = 0;
	if (e->stopping || d->stopping)
		return;
	if (!tr_daemon_leads(d, "workflow.retention")) {
		tr_daemon_timer_add(d, PERIOD_MS, 0, tick, e,
				    &e->retention_timer);
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, "workflow");
	unsigned n = 0;
	int rc = tr_engine_purge(e, (int64_t)e->retention_s * 1000,
				 TICK_BATCHES, &n, &call);
	if (rc < 0)
		tr_warn("workflows.retention: %s", call.message);
	else if (n)
		tr_info("workflows.retention: %u instances that finished over "
			"%u s ago left the journal%s",
			n, e->retention_s, rc == 1 ? " (more to go)" : "");
	tr_daemon_timer_add(d, rc == 1 ? AGAIN_MS : PERIOD_MS, 0, tick, e,
			    &e->retention_timer);
}

void tr_retention_start(struct tr_engine *e)
{
	if (e->retention_s && e->d->loop)
		tr_daemon_timer_add(e->d, FIRST_MS, 0, tick, e,
				    &e->retention_timer);
}
