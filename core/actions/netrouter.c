/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netrouter.c - network.router_ensure and network.router_remove (ABI
 * 1.1): a routed network's router (DHCP, DNS, NAT, forwards) made, synced
 * or removed on its router host from the network's record and its
 * addresses (core/ipam).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "../util/node.h"
#include "lookup.h"
#include "netref.h"
#include "../ipam/ipam.h"

struct router_read {
	const char *network;
	json_t *spec;
};

static int read_router(struct tr_store *s, void *arg, trellis_call_t *call)
{
	struct router_read *r = arg;
	return tr_ipam_router_spec(s, r->network, &r->spec, call);
}

#define ROUTER_MAX 1024

/*
 * network.router_ensure: the router the store says the network must have
 * (core/ipam: its addresses, leases, names, forwards), made or changed on
 * its router host.  A network that is not routed is a no-op ("routed":
 * false), so vm.provision can run it for any network.  The segment is made
 * present on that host first: the router joins its bridge.
 */
static int router_apply(const struct tr_action_env *env, const char *network,
			json_t **result, json_t **applied, trellis_call_t *call);

/* Two syncs of one router may read the store in one order and reach the
 * plugin in the other (the periodic check and a forward removal): the
 * store is read again after the op, and a router that is already behind
 * it is synced again, so the last sync leaves what the store says. */
/* The network went (or lost its router) while this sync made it: the
 * router it made goes too, as network.delete's router_remove meant. */
static void router_gone(const struct tr_action_env *env, const char *network,
			json_t *applied)
{
	struct net_ref n;
	trellis_call_t c;
	tr_call_init(&c, NULL);
	json_t *a = json_pack("{s:s, s:s}", "host", tr_json_str(applied, "host"),
			      "uri", tr_json_str(applied, "uri"));
	if (tr_net_ref_get(env, a, NULL, &n, &c) == 0)
		tr_net_router_remove(n.t, &c, network,
				     env ? env->idem_key : NULL, 0);
	tr_net_ref_put(&n);
	json_decref(a);
}

static int router_ensure1(const struct tr_action_env *env, const char *network,
			  json_t **result, trellis_call_t *call)
{
	json_t *applied = NULL;
	int rc = router_apply(env, network, result, &applied, call);
	for (int i = 0; !rc && i < 3; i++) {
		struct router_read now = {.network = network};
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		int r2 = tr_lookup_with(env ? env->daemon : NULL, "router",
					read_router, &now, &c2);
		int was = json_is_true(json_object_get(applied, "routed"));
		if (was && (r2 == TRELLIS_E_NOTFOUND ||
			    (!r2 && !json_is_true(json_object_get(now.spec,
								  "routed"))))) {
			router_gone(env, network, applied);
			json_decref(now.spec);
			break;
		}
		if (r2 || json_equal(now.spec, applied)) {
			json_decref(now.spec);
			break;
		}
		json_decref(now.spec);
		json_decref(applied);
		applied = NULL;
		json_decref(*result);
		*result = NULL;
		rc = router_apply(env, network, result, &applied, call);
	}
	json_decref(applied);
	return rc;
}

static int router_apply(const struct tr_action_env *env, const char *network,
			json_t **result, json_t **applied, trellis_call_t *call)
{
	struct router_read rr = {.network = network};
	int rc = tr_lookup_with(env ? env->daemon : NULL, "router", read_router,
				&rr, call);
	if (rc)
		return rc;
	json_t *r = rr.spec;
	*applied = json_incref(r);
	if (!json_is_true(json_object_get(r, "routed"))) {
		*result = json_pack("{s:s, s:b}", "network", rr.network,
				    "routed", 0);
		json_decref(r);
		return 0;
	}
	json_t *leases = json_object_get(r, "leases"),
	       *fw = json_object_get(r, "forwards"), *pub = json_object_get(r, "public"),
	       *x;
	size_t nl = json_array_size(leases), nf = json_array_size(fw), i;
	if (nl > ROUTER_MAX || nf > ROUTER_MAX) {
		json_decref(r);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "network '%s': more than %d leases or "
				   "forwards",
				   rr.network, ROUTER_MAX);
	}
	trellis_router_lease_t *ls = tr_xcalloc(nl + 1, sizeof *ls);
	trellis_router_forward_t *fs = tr_xcalloc(nf + 1, sizeof *fs);
	json_array_foreach(leases, i, x)
	{
		ls[i] = (trellis_router_lease_t){sizeof ls[i],
						  tr_json_str(x, "mac"),
						  tr_json_str(x, "ip"),
						  tr_json_str(x, "hostname")};
	}
	json_array_foreach(fw, i, x)
	{
		fs[i] = (trellis_router_forward_t){
		    sizeof fs[i], tr_json_str(x, "protocol"),
		    (uint16_t)json_integer_value(json_object_get(x, "public_port")),
		    (uint16_t)json_integer_value(json_object_get(x, "port")),
		    tr_json_str(x, "ip")};
	}
	char pubip[40] = "";
	if (pub)
		snprintf(pubip, sizeof pubip, "%s/%d", tr_json_str(pub, "ip"),
			 (int)json_integer_value(json_object_get(pub, "prefix")));
	trellis_router_spec_t spec = {
	    .struct_size = sizeof spec,
	    .name = rr.network,
	    .segment = tr_json_str(r, "segment"),
	    .cidr = tr_json_str(r, "cidr"),
	    .gateway = tr_json_str(r, "gateway"),
	    .dhcp_first = tr_json_str(r, "dhcp_first"),
	    .dhcp_last = tr_json_str(r, "dhcp_last"),
	    .domain = tr_json_str(r, "domain"),
	    .leases = ls,
	    .n_leases = (uint32_t)nl,
	    .public_bridge = pub ? tr_json_str(pub, "bridge") : NULL,
	    .public_ip = pub ? pubip : NULL,
	    .public_gateway = pub ? tr_json_str(pub, "gateway") : NULL,
	    .forwards = fs,
	    .n_forwards = (uint32_t)nf,
	};
	/* The segment on the router's host: ensure() reads host/uri from
	 * its arguments. */
	json_t *a = json_pack("{s:s, s:s, s:s}", "segment", spec.segment,
			      "host", tr_json_str(r, "host"), "uri",
			      tr_json_str(r, "uri"));
	struct net_ref n;
	trellis_segment_info_t seg;
	trellis_router_info_t out;
	rc = tr_net_segment_here(env, a, &n, &seg, call);
	if (!rc)
		rc = tr_net_router_ensure(n.t, call, &spec,
					  env ? env->idem_key : NULL, 0, &out);
	if (!rc)
		*result = json_pack(
		    "{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:b, "
		    "s:I, s:I}",
		    "network", rr.network, "routed", 1, "host", n.host, "uri",
		    n.uri, "netns", out.netns, "inside", out.inside, "outside",
		    out.outside, "pid", (json_int_t)out.pid, "made", out.made,
		    "changed", out.changed, "restarted", out.restarted,
		    "leases", (json_int_t)nl, "forwards", (json_int_t)nf);
	if (!rc && pub)
		json_object_set_new(*result, "public_ip",
				    json_string(tr_json_str(pub, "ip")));
	tr_net_ref_put(&n);
	json_decref(a);
	free(ls);
	free(fs);
	json_decref(r);
	return rc;
}

/* "network", or each of "networks" (what network.ip_release gave back). */
static int run_router_ensure(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	json_t *nets = json_object_get(args, "networks"), *x;
	const char *one = tr_json_str(args, "network");
	if (one && *one)
		return router_ensure1(env, one, result, call);
	if (!json_is_array(nets))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "network.router_ensure: give network or "
				   "networks");
	json_t *all = json_array();
	size_t i;
	int rc = 0;
	json_array_foreach(nets, i, x)
	{
		json_t *r = NULL;
		if (!json_is_string(x)) {
			rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
					 "networks must be names");
			break;
		}
		rc = router_ensure1(env, json_string_value(x), &r, call);
		if (rc)
			break;
		json_array_append_new(all, r);
	}
	if (rc) {
		json_decref(all);
		return rc;
	}
	*result = json_pack("{s:s, s:b, s:o}", "network", "", "routed",
			    json_array_size(all) > 0, "routers", all);
	return 0;
}

static int run_router_remove(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_router_remove(n.t, call,
					  tr_json_str(args, "network"),
					  env ? env->idem_key : NULL, 0);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "network",
				    tr_json_str(args, "network"), "host", n.host,
				    "uri", n.uri);
	tr_net_ref_put(&n);
	return rc;
}

static const struct tr_field router_ensure_in[] = {
    {"network", TR_T_STRING, 0,
     "the network whose router (on its router host) is made or synced"},
    {"networks", TR_T_ARRAY, 0, "or each of these networks"},
    TR_FIELDS_END};
static const struct tr_field router_ensure_out[] = {
    {"network", TR_T_STRING, 1, "network"},
    {"routed", TR_T_BOOL, 1, "false: the network has no router (a no-op)"},
    {"host", TR_T_STRING, 0, "the router's host"},
    {"uri", TR_T_STRING, 0, "its network context"},
    {"netns", TR_T_STRING, 0, "the router's namespace"},
    {"inside", TR_T_STRING, 0, "its device on the segment's bridge"},
    {"outside", TR_T_STRING, 0, "its device on the public bridge"},
    {"public_ip", TR_T_STRING, 0, "its public (SNAT) address"},
    {"pid", TR_T_INT, 0, "its DHCP/DNS server"},
    {"made", TR_T_BOOL, 0, "this call made it"},
    {"changed", TR_T_BOOL, 0, "this call changed it"},
    {"restarted", TR_T_BOOL, 0, "its DHCP/DNS server was (re)started"},
    {"leases", TR_T_INT, 0, "static leases it serves"},
    {"forwards", TR_T_INT, 0, "port forwards it holds"},
    {"routers", TR_T_ARRAY, 0, "with networks: each one's result"},
    TR_FIELDS_END};
static const struct tr_field router_remove_in[] = {
    TARGET_FIELDS, {"network", TR_T_STRING, 1, "the network"}, TR_FIELDS_END};
static const struct tr_field router_remove_out[] = {
    TARGET_OUT, {"network", TR_T_STRING, 1, "network"}, TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "network.router_ensure",
     .description =
	 "Make or sync a routed network's router (DHCP, DNS, NAT, forwards) "
	 "on its router host; a no-op for a network without one",
     .input = router_ensure_in,
     .output = router_ensure_out,
     .run = run_router_ensure,
     .flags = TR_ACTION_MUTATES},
    {.name = "network.router_remove",
     .description = "Remove a network's router from a host",
     .input = router_remove_in,
     .output = router_remove_out,
     .run = run_router_remove,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_netrouter(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
