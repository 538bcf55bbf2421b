/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_policy.c - policy.list, policy.show, policy.set and policy.try: the
 * placement policies an operator can see and select per zone, and a dry
 * run of the pipeline that shows where a VM would go, or why it would not
 * be placed, without claiming anything.  policy.claims lists the claims
 * that book capacity, with their owners.
 */
#include <string.h>
#include <time.h>

#include "../placement/claims.h"
#include "../placement/request.h"
#include "../placement/service.h"
#include "../util/log.h"
#include "api_int.h"


static json_t *stages_json(const struct tr_pstage *s, uint32_t n, int weights)
{
	json_t *out = weights ? json_object() : json_array();
	for (uint32_t i = 0; i < n; i++) {
		if (weights)
			json_object_set_new(out, s[i].item->name,
					    json_real(s[i].weight));
		else
			json_array_append_new(out,
					      json_string(s[i].item->name));
	}
	return out;
}

/* Zones that select pol explicitly or through the default. */
static json_t *zones_of(struct tr_placer *p, const struct tr_policy *pol)
{
	json_t *zones = json_array();
	struct tr_inv *inv = tr_placer_inv(p);
	for (uint32_t z = 0; z < inv->n_zones; z++) {
		const char *name = tr_intern_str(inv->names, inv->zones[z].id);
		const char *zp = tr_placer_zone_policy(p, name);
		if (zp && !strcmp(zp, pol->name))
			json_array_append_new(zones, json_string(name));
	}
	return zones;
}

static json_t *policy_json(struct tr_placer *p, const struct tr_policy *pol,
			   int full)
{
	const char *def = tr_placer_default(p);
	json_t *o =
	    json_pack("{s:s, s:s, s:b, s:i, s:o, s:o, s:o}", "name", pol->name,
		      "description", pol->description, "default",
		      def && !strcmp(def, pol->name), "top_n", (int)pol->top_n,
		      "filters", stages_json(pol->filters, pol->n_filters, 0),
		      "weights", stages_json(pol->weighers, pol->n_weighers, 1),
		      "zones", zones_of(p, pol));
	if (full && o) {
		json_object_set_new(o, "overcommit",
				    json_pack("{s:f, s:f}", "cpu",
					      pol->cpu_ratio, "memory",
					      pol->memory_ratio));
		json_object_set_new(o, "vm_limit", json_integer(pol->vm_limit));
		json_object_set_new(o, "file", json_string(pol->file));
		json_t *plugins = json_object();
		for (uint32_t i = 0; i < pol->n_filters; i++)
			json_object_set_new(
			    plugins, pol->filters[i].item->name,
			    json_string(pol->filters[i].plugin->name));
		for (uint32_t i = 0; i < pol->n_weighers; i++)
			json_object_set_new(
			    plugins, pol->weighers[i].item->name,
			    json_string(pol->weighers[i].plugin->name));
		json_object_set_new(o, "plugins", plugins);
	}
	return o;
}

static struct tr_placer *engine(struct tr_daemon *d, struct tr_req *req)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_placer *p = tr_placement_engine(d, &call);
	if (!p)
		tr_req_fail_call(req, &call);
	return p;
}

static void policy_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	struct tr_placer *p = engine(d, req);
	if (!p)
		return;
	json_t *items = json_array();
	for (size_t i = 0; i < tr_placer_n_policies(p); i++)
		json_array_append_new(
		    items, policy_json(p, tr_placer_policy_at(p, i), 0));
	json_t *out = json_pack("{s:o, s:s}", "items", items, "dir",
				tr_placement_policy_dir(d));
	if (*tr_placement_policy_errors(d))
		json_object_set_new(out, "errors",
				    json_string(tr_placement_policy_errors(d)));
	tr_req_ok(req, out);
}

static void policy_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_placer *p = engine(d, req);
	if (!p)
		return;
	const char *name = json_string_value(json_object_get(args, "name"));
	const struct tr_policy *pol = tr_placer_policy(p, name);
	if (!pol) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "unknown policy '%s' (see trellis policy list)",
			    name);
		return;
	}
	tr_req_ok(req, policy_json(p, pol, 1));
}

static void policy_set(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *zone = json_string_value(json_object_get(args, "zone"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_placement_set_policy(d, zone, name, &call)) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_info("placement: %s%s uses policy '%s'", zone ? "zone " : "",
		zone ? zone : "the default", name);
	json_t *body = json_pack("{s:s, s:s?}", "policy", name, "zone", zone);
	tr_daemon_publish(d, "policy.set", body);
	tr_req_ok(req, body);
}

static json_t *why_pass_json(const struct tr_place_why_pass *w)
{
	json_t *removed = json_array();
	for (uint32_t i = 0; i < w->n; i++)
		json_array_append_new(removed,
				      json_pack("{s:s, s:i, s:s}", "filter",
						w->by[i].filter, "count",
						(int)w->by[i].removed, "reason",
						w->by[i].reason));
	return json_pack("{s:i, s:o}", "hosts", (int)w->hosts, "removed",
			 removed);
}

/* "Why not placed" for scripts: what the message says, as data. */
static json_t *why_json(const struct tr_place_why *w)
{
	json_t *o = why_pass_json(&w->pass);
	if (w->own) {
		json_t *own = why_pass_json(&w->own_pass);
		json_object_set_new(
		    own, "spill",
		    json_string(w->spill_denied ? "deny" : "allow"));
		json_object_set_new(o, "private_zones", own);
	}
	return o;
}

static void policy_try(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_placer *p = engine(d, req);
	if (!p)
		return;
	struct tr_place_args pa;
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_place_why why;
	if (tr_place_args_from_json(args, &pa, &call) ||
	    tr_place_why(p, &pa.q, 0, &r, &why, &call)) {
		if (call.code == TRELLIS_E_NOSPACE)
			tr_req_fail(req, call.code, why_json(&why), "%s",
				    call.message);
		else
			tr_req_fail_call(req, &call);
		return;
	}
	tr_req_ok(req, json_pack("{s:s, s:I, s:s, s:s, s:f, s:i}", "host",
				 r.host, "host_id", (json_int_t)r.host_id,
				 "zone", r.zone, "policy", r.policy, "score",
				 r.score, "candidates", (int)r.candidates));
}

static void policy_host(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *host = json_string_value(json_object_get(args, "name"));
	json_t *v, *out = NULL;
	int64_t limit = (v = json_object_get(args, "vm_limit"))
			    ? json_integer_value(v)
			    : -1;
	int64_t disk =
	    (v = json_object_get(args, "disk_gb")) ? json_integer_value(v) : -1;
	if ((v = json_object_get(args, "disk")))
		disk = (json_integer_value(v) + (1ll << 30) - 1) >> 30;
	if (json_object_get(args, "vm_limit") && limit < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "field 'vm_limit': 0 (no limit) or more");
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_placement_host_set(
		d, host, json_string_value(json_object_get(args, "tags")),
		limit, disk, &out, &call)) {
		tr_req_fail_call(req, &call);
		return;
	}
	tr_req_ok(req, out);
}

static int claim_row(void *arg, const struct tr_claim *c, const char *host,
		     const char *owner_state)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:i, s:I, s:I, s:s?, s:s, s:I, s:I, s:s?, s:s?}",
	    "claim", c->key, "host", host, "vcpus", (int)c->vcpus,
	    "memory_mib", (json_int_t)c->memory_mib, "disk_gib",
	    (json_int_t)c->disk_gib, "owner", c->owner[0] ? c->owner : NULL,
	    "owner_state", owner_state, "created_at",
	    (json_int_t)c->created_at, "age_s",
	    (json_int_t)(time(NULL) - c->created_at), "group",
	    c->group[0] ? c->group : NULL, "anti_group",
	    c->anti_group[0] ? c->anti_group : NULL);
	return o ? json_array_append_new(arg, o) : -1;
}

static void policy_claims(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	const char *host = json_string_value(json_object_get(args, "host"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *items = json_array();
	if (tr_claims_each_owned(tr_store_sql(d->store), host, 0, claim_row,
				 items, &call)) {
		json_decref(items);
		if (!call.code)
			tr_call_set(&call, TRELLIS_E_NOMEM, "out of memory");
		tr_req_fail_call(req, &call);
		return;
	}
	tr_req_ok(req, json_pack("{s:o}", "items", items));
}

static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field claims_args[] = {
    {"host", TR_T_STRING, 0, "only the claims on this host"}, TR_FIELDS_END};
static const struct tr_field host_args[] = {
    {"name", TR_T_STRING, 1, "the host"},
    {"tags", TR_T_STRING, 0, "its tags, comma-separated (\"\": none)"},
    {"vm_limit", TR_T_INT, 0, "at most this many VMs (0: no limit)"},
    {"disk_gb", TR_T_INT, 0, "disk for VMs in GiB (0: unknown, no limit)"},
    {"disk", TR_T_SIZE, 0, "the same as a size (\"2T\")"},
    TR_FIELDS_END};
static const struct tr_field name_arg[] = {
    {"name", TR_T_STRING, 1, "the policy"}, TR_FIELDS_END};
static const struct tr_field set_args[] = {
    {"name", TR_T_STRING, 1, "the policy"},
    {"zone", TR_T_STRING, 0, "the zone (default: set the default policy)"},
    TR_FIELDS_END};
static const struct tr_field try_args[] = {TR_PLACE_FIELDS, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "policy.list",
     .description = "placement policies and the zones that use them",
     .args = no_args,
     .handler = policy_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "policy.show",
     .description = "a placement policy in full",
     .args = name_arg,
     .handler = policy_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "policy.claims",
     .description =
	 "placement claims with their owner (a VM or a workflow instance), "
	 "whether it is still there, and their age",
     .args = claims_args,
     .handler = policy_claims,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "policy.set",
     .description = "select the policy of a zone, or the default policy",
     .args = set_args,
     .handler = policy_set,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "policy.host",
     .description =
	 "a host's placement attributes (tags, VM limit, disk); sets the "
	 "ones given",
     .args = host_args,
     .handler = policy_host,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "policy.try",
     .description =
	 "where a VM would be placed now, or why not (claims nothing)",
     .args = try_args,
     .handler = policy_try,
     .flags = 0,
     .perm = TR_PERM_DC},
};

void tr_api_register_policy(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
