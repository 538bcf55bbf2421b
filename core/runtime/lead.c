/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lead.c - tr_daemon_leads(): whether this manager runs a leader-only
 * periodic job now (the store decides: core/store/lead.c), said in the log
 * when it changes, so that an operator sees a job move between managers.
 */
#include <string.h>

#include "../store/store.h"
#include "../util/log.h"
#include "daemon.h"

/* The jobs, as `trellis api status` lists them. */
const char *const tr_daemon_jobs[] = {
    "workflow.retention", "placement.orphans", "inventory.refresh",
    "inventory.routers",  "console.scan",      "ha.check",
    NULL};

static int held[sizeof tr_daemon_jobs / sizeof *tr_daemon_jobs];

int tr_daemon_leads(struct tr_daemon *d, const char *job)
{
	size_t i = 0;
	while (tr_daemon_jobs[i] && strcmp(tr_daemon_jobs[i], job))
		i++;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = d->store ? tr_store_lead(d->store, job, &call) : 1;
	if (rc < 0) {
		/* the database is away: nobody can be sure to hold it */
		tr_warn("%s: not run: %s", job, call.message);
		rc = 0;
	}
	if (tr_daemon_jobs[i] && rc != held[i]) {
		if (rc)
			tr_info("%s: this manager runs it now", job);
		else if (held[i])
			tr_info("%s: no longer this manager's", job);
		held[i] = rc;
	}
	return rc;
}
