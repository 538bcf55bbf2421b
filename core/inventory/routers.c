/* SPDX-License-Identifier: Apache-2.0 */
/*
 * routers.c - the periodic router check (inventory.h): every routed
 * network's router is made to match the store again, and one whose
 * DHCP/DNS server died is restarted.  network.router_ensure is idempotent,
 * so a router that is right costs a few reads and changes nothing.
 */
#include <stdlib.h>

#include "../actions/lookup.h"
#include "../ipam/ipam.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "inventory.h"

static unsigned in_flight;

static void one_done(struct tr_daemon *d, void *arg, json_t *result,
		     trellis_call_t *call)
{
	char *name = arg;
	(void)d;
	if (!result)
		tr_warn("router of network '%s': %s", name, call->message);
	else if (json_is_true(json_object_get(result, "restarted")) &&
		 !json_is_true(json_object_get(result, "made")))
		tr_log(TRELLIS_LOG_NOTICE, "router of network '%s' was down: restarted "
			  "(DHCP/DNS pid %lld)",
			  name,
			  (long long)json_integer_value(
			      json_object_get(result, "pid")));
	else if (json_is_true(json_object_get(result, "changed")))
		tr_info("router of network '%s' synced", name);
	free(name);
	in_flight--;
}

static void check_tick(struct tr_daemon *d, void *arg)
{
	trellis_call_t call;
	json_t *l = NULL, *n;
	size_t i;
	(void)arg;
	if (in_flight || !tr_daemon_leads(d, "inventory.routers"))
		return;
	tr_call_init(&call, NULL);
	if (tr_ipam_routed(d->store, &l, &call)) {
		tr_warn("router check: %s", call.message);
		return;
	}
	json_array_foreach(json_object_get(l, "items"), i, n)
	{
		in_flight++;
		tr_action_submit(d, "network.router_ensure",
				 json_pack("{s:O}", "network", n), one_done,
				 tr_xstrdup(json_string_value(n)));
	}
	json_decref(l);
}

void tr_routers_check_start(struct tr_daemon *d, uint64_t interval_ms)
{
	if (interval_ms)
		tr_daemon_timer_add(d, 1000, interval_ms, check_tick, NULL, NULL);
}
