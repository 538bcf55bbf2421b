/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_ha.c - ha.status and ha.clear: what host HA (core/ha) knows of each
 * host (ok, suspect, fencing, fenced, fence_failed) and of each restart
 * it started (running, restarted, failed with the reason: a VM that fits
 * nowhere is listed here), and the operator's word that a failed host is
 * repaired.  The data center's: dc-admins only.
 */
#include "../ha/ha.h"
#include "../util/json.h"
#include "api_int.h"

static void ha_status(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_ha_status(tr_api_store(d), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void ha_clear(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *host = tr_json_str(args, "host");
	int rc = tr_ha_clear(d, host, &call);
	tr_req_answer_store(req, rc, rc ? NULL : json_pack("{s:s}", "host", host),
			    &call);
}

static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field clear_args[] = {
    {"host", TR_T_STRING, 1, "the repaired host"}, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "ha.status",
     .description = "host HA: each host's state and each VM restart",
     .args = no_args,
     .handler = ha_status,
     .flags = TR_OP_READ,
     .perm = TR_PERM_DC},
    {.name = "ha.clear",
     .description = "forget a failed host's HA state (it was repaired)",
     .args = clear_args,
     .handler = ha_clear,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_ha(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
