/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reports.c - an agent's inventory: full reports and deltas, carried
 * to the main thread, where core/inventory records them (report_fn,
 * delta_fn).
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/error.h>

#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "relay_int.h"

struct report {
	char agent[64];
	json_t *hosts;
};

static void report_main(struct tr_daemon *d, void *arg)
{
	struct report *rp = arg;
	struct tr_relay *r = d->relay;
	if (r && r->report && d->store)
		r->report(d, rp->agent, rp->hosts);
	json_decref(rp->hosts);
	free(rp);
}

/* {"t":"report","hosts":[host_probe results]}: the agent's hosts as they
 * are; the main thread records those that are the agent's (report_fn). */
void tr_relay_on_report(struct tr_relay *r, struct session *s, json_t *m)
{
	json_t *hosts = json_object_get(m, "hosts");
	if (!json_is_array(hosts))
		return;
	struct report *rp = calloc(1, sizeof *rp);
	if (!rp)
		return;
	snprintf(rp->agent, sizeof rp->agent, "%s", s->agent);
	rp->hosts = json_incref(hosts);
	s->reports++;
	s->last_report = tr_now_ms();
	if (tr_daemon_call_main(r->d, report_main, rp)) {
		json_decref(rp->hosts);
		free(rp);
	}
}

void tr_relay_set_report_fn(struct tr_daemon *d, tr_relay_report_fn fn)
{
	if (d->relay)
		d->relay->report = fn;
}

struct delta {
	char agent[64], host[64];
	json_t *vm;
};

static void delta_main(struct tr_daemon *d, void *arg)
{
	struct delta *dl = arg;
	struct tr_relay *r = d->relay;
	if (r && r->delta && d->store)
		r->delta(d, dl->agent, dl->host, dl->vm);
	json_decref(dl->vm);
	free(dl);
}

/* {"t":"delta","host":H,"vm":{uuid,name,state,event,uri,plugin}}: one
 * VM's change on one of the agent's hosts, between full reports. */
void tr_relay_on_delta(struct tr_relay *r, struct session *s, json_t *m)
{
	const char *host = tr_relay_jstr(m, "host");
	json_t *vm = json_object_get(m, "vm");
	if (!host || strlen(host) >= 64 || !json_is_object(vm))
		return;
	struct delta *dl = tr_xcalloc(1, sizeof *dl);
	snprintf(dl->agent, sizeof dl->agent, "%s", s->agent);
	snprintf(dl->host, sizeof dl->host, "%s", host);
	dl->vm = json_incref(vm);
	s->deltas++;
	if (tr_daemon_call_main(r->d, delta_main, dl)) {
		json_decref(dl->vm);
		free(dl);
	}
}

void tr_relay_set_delta_fn(struct tr_daemon *d, tr_relay_delta_fn fn)
{
	if (d->relay)
		d->relay->delta = fn;
}
