/* SPDX-License-Identifier: Apache-2.0 */
/*
 * network.c - the network.* actions: segments on hosts, ports for VM NICs,
 * and the port_open/port_close rules behind maintenance windows.
 *
 * A segment (its VNI or VLAN id, mode and tenant) is recorded in the
 * inventory by network.create, which allocates the id from a segment-id
 * pool (core/netpool) on the main thread; the actions here only read that
 * record (lookup.h) and make the segment real on a host.  The host's
 * network context is named by "host" (the cache key) and "uri" ("local",
 * "netns:NAME"); the plugin is the segment's, or "plugin" (default
 * "bridge") for ops that name no segment.  Outputs repeat host, uri and
 * names so that an undo built from a step's arguments and outputs finds
 * what the step made.  Routers (ABI 1.1) are netrouter.c.
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

#define DEFAULT_PLUGIN "bridge"

int tr_net_ref_get(const struct tr_action_env *env, json_t *args,
		   const char *plugin, struct net_ref *n, trellis_call_t *call)
{
	memset(n, 0, sizeof *n);
	n->d = env ? env->daemon : NULL;
	n->host = tr_json_str(args, "host");
	n->uri = tr_json_str(args, "uri") ? tr_json_str(args, "uri") : "local";
	if (!n->d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "network actions need the daemon");
	struct tr_conn_spec spec = {
	    .kind = TR_CONN_NETWORK,
	    .key = n->host,
	    .plugin = plugin		    ? plugin
		      : tr_json_str(args, "plugin") ? tr_json_str(args, "plugin")
					    : DEFAULT_PLUGIN,
	    .uri = n->uri,
	};
	int rc = tr_conn_get(n->d, &spec, call, &n->c);
	if (rc < 0)
		return rc;
	n->t = tr_conn_target(n->c);
	return 0;
}

void tr_net_ref_put(struct net_ref *n)
{
	if (n->c)
		tr_conn_put(n->d, n->c);
}

static uint32_t mode_of(const char *type)
{
	if (type && !strcmp(type, "vlan"))
		return TRELLIS_SEGMENT_VLAN;
	if (type && !strcmp(type, "local"))
		return TRELLIS_SEGMENT_LOCAL;
	return TRELLIS_SEGMENT_VXLAN;
}

/*
 * Makes segment (args "segment") present on the host of args, from its
 * inventory record; on success n is the open host target (tr_net_ref_put
 * it).
 */
int tr_net_segment_here(const struct tr_action_env *env, json_t *args,
		  struct net_ref *n, trellis_segment_info_t *out,
		  trellis_call_t *call)
{
	const char *name = tr_json_str(args, "segment");
	json_t *seg = NULL;
	const char *remotes[64];
	memset(n, 0, sizeof *n);
	int rc = tr_lookup_env(env, TR_KIND_SEGMENT, name, &seg, call);
	if (rc == TRELLIS_E_NOTFOUND)
		return tr_call_set(call, rc,
				   "network '%s' does not exist (trellis "
				   "network create)",
				   name ? name : "");
	if (rc < 0)
		return rc;
	json_t *sspec = json_object_get(seg, "spec");
	json_t *rl = json_object_get(args, "remotes");
	if (!rl)
		rl = json_object_get(sspec, "remotes");
	size_t nr = 0, i;
	json_t *r;
	json_array_foreach(rl, i, r)
	{
		if (nr == 64 || !json_is_string(r)) {
			rc =
			    tr_call_set(call, TRELLIS_E_INVALID_ARG,
					"segment '%s': remotes must be at most "
					"64 address strings",
					name);
			goto out;
		}
		remotes[nr++] = json_string_value(r);
	}
	trellis_segment_spec_t spec = {
	    .struct_size = sizeof spec,
	    .name = name,
	    .tenant = tr_json_str(seg, "tenant"),
	    .mode = mode_of(tr_json_str(seg, "type")),
	    .segment_id =
		(uint32_t)json_integer_value(json_object_get(seg, "vni")),
	    .underlay_dev = tr_json_str(args, "underlay") ? tr_json_str(args, "underlay")
						  : tr_json_str(sspec, "underlay"),
	    .local_ip = tr_json_str(args, "local_ip"),
	    .remote_ips = remotes,
	    .n_remote_ips = (uint32_t)nr,
	    .mtu = (uint32_t)json_integer_value(json_object_get(sspec, "mtu")),
	};
	json_t *opts = json_object_get(sspec, "options");
	trellis_node_t *onode = NULL;
	if (json_object_size(opts)) {
		char what[200];
		snprintf(what, sizeof what, "network '%s' options", name);
		if (!(onode = tr_node_from_json(what, opts))) {
			rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
			goto out;
		}
		spec.options = onode;
	}
	rc = tr_net_ref_get(env, args, tr_json_str(seg, "plugin"), n, call);
	if (!rc)
		rc = tr_net_segment_ensure(n->t, call, &spec,
					   env ? env->idem_key : NULL, 0, out);
	tr_node_free(onode);
out:
	json_decref(seg);
	return rc;
}

static int run_segment_ensure(const struct tr_action_env *env, json_t *args,
			      json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	trellis_segment_info_t out;
	int rc = tr_net_segment_here(env, args, &n, &out, call);
	/* Segments are shared: one this step did not make is only found,
	 * and its undo must leave it to the ports on it.  A 1.0 plugin cannot
	 * say, so its segment counts as found. */
	int made = !rc && tr_target_abi_minor(n.t) >= 1 && out.made;
	if (!rc)
		*result =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "segment",
			      tr_json_str(args, "segment"), "host", n.host, "uri",
			      n.uri, "bridge", out.bridge, "link", out.link,
			      "segment_id", (json_int_t)out.segment_id,
			      "found", !made);
	tr_net_ref_put(&n);
	return rc;
}

static int run_segment_release(const struct tr_action_env *env, json_t *args,
			       json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_segment_release(n.t, call,
					    tr_json_str(args, "segment"),
					    env ? env->idem_key : NULL, 0);
	/* if_unused: ports still on it (another VM of the network runs on
	 * the host) keep it, and that is no failure. */
	if (rc == TRELLIS_E_CONFLICT &&
	    json_is_true(json_object_get(args, "if_unused"))) {
		tr_call_init(call, NULL);
		rc = 0;
	}
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "segment",
				    tr_json_str(args, "segment"), "host", n.host, "uri",
				    n.uri);
	tr_net_ref_put(&n);
	return rc;
}

static int run_port_create(const struct tr_action_env *env, json_t *args,
			   json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	trellis_port_spec_t spec = {.struct_size = sizeof spec,
				    .name = tr_json_str(args, "name"),
				    .segment = tr_json_str(args, "segment"),
				    .mac = tr_json_str(args, "mac"),
				    .ip = tr_json_str(args, "ip")};
	/* "" (a network without addressing, network.ip_allocate): none */
	if (spec.mac && !*spec.mac)
		spec.mac = NULL;
	if (spec.ip && !*spec.ip)
		spec.ip = NULL;
	uint32_t flags = json_is_true(json_object_get(args, "veth"))
			     ? TRELLIS_NET_PORT_VETH
			     : 0;
	trellis_port_info_t out;
	trellis_segment_info_t seg;
	/* A segment appears on a host with its first port there, as it goes
	 * with the last one (network.port_delete). */
	int rc = tr_net_segment_here(env, args, &n, &seg, call);
	if (!rc)
		rc =
		    tr_net_port_create(n.t, call, &spec,
				       env ? env->idem_key : NULL, flags, &out);
	if (!rc)
		*result = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "name",
		    spec.name, "segment", spec.segment, "host", n.host, "uri",
		    n.uri, "ifname", out.ifname, "bridge", out.bridge, "mac",
		    out.mac, "peer", out.peer, "key", env ? env->idem_key : NULL);
	tr_net_ref_put(&n);
	return rc;
}

/* A port of another VM stays (the core runs it before a relay). */
static int port_delete_guard(const struct tr_action_env *env, json_t *args,
			     trellis_call_t *call)
{
	const char *name = tr_json_str(args, "name");
	char what[400];
	snprintf(what, sizeof what, "port '%s' on host %s", name,
		 tr_json_str(args, "host"));
	return tr_lookup_not_others(env ? env->daemon : NULL, "ports", "host",
				    tr_json_str(args, "host"), name,
				    tr_json_str(args, "vm"), what, call);
}

/* A port that a VM's record lists is that VM's, as for volumes
 * (storage.c): "vm" must be that VM, and with "made_by" a 1.1 plugin
 * deletes it only if that key made it (TRELLIS_NET_PORT_DELETE_IF_KEY). */
static int run_port_delete(const struct tr_action_env *env, json_t *args,
			   json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	const char *name = tr_json_str(args, "name"), *made_by = tr_json_str(args, "made_by");
	/* A tenant's bridge goes with its last port on the host. */
	uint32_t flags = json_is_true(json_object_get(args, "keep_segment"))
			     ? 0
			     : TRELLIS_NET_PORT_RELEASE_SEGMENT;
	int rc = port_delete_guard(env, args, call);
	if (rc)
		return rc;
	rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc && made_by && *made_by && tr_target_abi_minor(n.t) >= 1)
		flags |= TRELLIS_NET_PORT_DELETE_IF_KEY;
	if (!rc)
		rc = tr_net_port_delete(
		    n.t, call, name,
		    (flags & TRELLIS_NET_PORT_DELETE_IF_KEY) ? made_by
		    : env				      ? env->idem_key
							      : NULL,
		    flags);
	if (!rc)
		*result =
		    json_pack("{s:s, s:s, s:s}", "name", tr_json_str(args, "name"),
			      "host", n.host, "uri", n.uri);
	tr_net_ref_put(&n);
	return rc;
}


static int run_port_open(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	json_int_t lo = json_integer_value(json_object_get(args, "port_min"));
	json_t *hi_j = json_object_get(args, "port_max");
	json_int_t hi = hi_j ? json_integer_value(hi_j) : lo;
	json_t *ttl = json_object_get(args, "ttl");
	json_t *exp = json_object_get(args, "expires_at");
	if (lo < 0 || lo > 65535 || hi < 0 || hi > 65535)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "network.port_open: ports are 0-65535");
	if (ttl && exp)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "network.port_open: give ttl or expires_at, "
				   "not both");
	if ((ttl && json_integer_value(ttl) <= 0) ||
	    (exp && json_integer_value(exp) <= 0))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "network.port_open: an expiry must be in "
				   "the future");
	int64_t expires =
	    exp	  ? (int64_t)json_integer_value(exp)
	    : ttl ? (int64_t)time(NULL) + (json_integer_value(ttl) + 999) / 1000
		  : 0;
	trellis_fw_rule_t rule = {.struct_size = sizeof rule,
				  .port = tr_json_str(args, "port"),
				  .protocol = tr_json_str(args, "protocol"),
				  .port_min = (uint16_t)lo,
				  .port_max = (uint16_t)hi,
				  .source_cidr = tr_json_str(args, "source"),
				  .expires_at = expires};
	char id[64];
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_rule_add(n.t, call, &rule,
				     env ? env->idem_key : NULL, 0, id);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s, s:s, s:I}", "rule_id", id,
				    "port", rule.port, "host", n.host, "uri",
				    n.uri, "expires_at", (json_int_t)expires);
	tr_net_ref_put(&n);
	return rc;
}

static int run_port_close(const struct tr_action_env *env, json_t *args,
			  json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_rule_delete(n.t, call, tr_json_str(args, "rule_id"),
					env ? env->idem_key : NULL, 0);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "rule_id",
				    tr_json_str(args, "rule_id"), "host", n.host, "uri",
				    n.uri);
	tr_net_ref_put(&n);
	return rc;
}

static int run_port_stats(const struct tr_action_env *env, json_t *args,
			  json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	trellis_fw_rule_stats_t st = {.struct_size = sizeof st};
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_rule_stats(n.t, call,
				       tr_json_str(args, "rule_id"), 0, &st);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s, s:I, s:I}", "rule_id",
				    tr_json_str(args, "rule_id"), "host", n.host,
				    "uri", n.uri, "packets",
				    (json_int_t)st.packets, "bytes",
				    (json_int_t)st.bytes);
	tr_net_ref_put(&n);
	return rc;
}

static void gc_collect(void *opaque, const char *what, const char *name)
{
	json_array_append_new(
	    opaque, json_pack("{s:s, s:s}", "what", what, "name", name));
}

static int run_gc(const struct tr_action_env *env, json_t *args,
		  json_t **result, trellis_call_t *call)
{
	struct net_ref n;
	json_t *keep = json_object_get(args, "keep"), *v;
	size_t nk = json_array_size(keep), i;
	const char **names = tr_xcalloc(nk + 1, sizeof *names);
	if (!names)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	json_array_foreach(keep, i, v)
	{
		if (!json_is_string(v)) {
			free(names);
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "network.gc: keep must be a list of "
					   "names");
		}
		names[i] = json_string_value(v);
	}
	uint32_t flags = json_is_true(json_object_get(args, "segment_ports"))
			     ? TRELLIS_NET_GC_KEEP_SEGMENT_PORTS
			     : 0;
	if (json_is_true(json_object_get(args, "dry_run")))
		flags |= TRELLIS_NET_GC_DRY_RUN;
	json_t *removed = json_array();
	int rc = tr_net_ref_get(env, args, NULL, &n, call);
	if (!rc)
		rc = tr_net_gc(n.t, call, names, (uint32_t)nk, flags,
			       gc_collect, removed);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:O, s:b}", "host", n.host, "uri",
				    n.uri, "removed", removed, "dry_run",
				    (flags & TRELLIS_NET_GC_DRY_RUN) != 0);
	json_decref(removed);
	free(names);
	tr_net_ref_put(&n);
	return rc;
}


static const struct tr_field seg_ensure_in[] = {
    TARGET_FIELDS,
    {"segment", TR_T_STRING, 1, "segment name (see network.create)"},
    {"underlay", TR_T_STRING, 0, "NIC carrying VXLAN/VLAN traffic"},
    {"local_ip", TR_T_STRING, 0, "this host's VXLAN source address"},
    {"remotes", TR_T_ARRAY, 0, "VXLAN peers (addresses)"},
    TR_FIELDS_END};
static const struct tr_field seg_ensure_out[] = {
    TARGET_OUT,
    {"segment", TR_T_STRING, 1, "segment name"},
    {"bridge", TR_T_STRING, 1, "the bridge VM ports join"},
    {"link", TR_T_STRING, 1, "VXLAN/VLAN device, \"\" for local"},
    {"segment_id", TR_T_INT, 1, "VNI or VLAN id"},
    {"found", TR_T_BOOL, 1,
     "true: it was there already (its undo leaves it)"},
    TR_FIELDS_END};
static const struct tr_field seg_release_in[] = {
    TARGET_FIELDS, {"segment", TR_T_STRING, 1, "segment name"},
    {"if_unused", TR_T_BOOL, 0,
     "only when no port is left on it; ports left: success, kept"},
    TR_FIELDS_END};
static const struct tr_field seg_release_out[] = {
    TARGET_OUT, {"segment", TR_T_STRING, 1, "segment name"}, TR_FIELDS_END};
static const struct tr_field port_create_in[] = {
    TARGET_FIELDS,
    {"name", TR_T_STRING, 1, "port name (unique)"},
    {"segment", TR_T_STRING, 1, "segment the port joins"},
    {"mac", TR_T_STRING, 0, "the VM NIC's MAC (default: derived)"},
    {"ip", TR_T_STRING, 0, "address/prefix (informational)"},
    {"veth", TR_T_BOOL, 0, "a veth pair for a container, not a tap"},
    TR_FIELDS_END};
static const struct tr_field port_create_out[] = {
    TARGET_OUT,
    {"name", TR_T_STRING, 1, "port name"},
    {"segment", TR_T_STRING, 1, "segment"},
    {"ifname", TR_T_STRING, 1, "the tap a VM attaches to (nic ifname)"},
    {"bridge", TR_T_STRING, 1, "its bridge"},
    {"mac", TR_T_STRING, 1, "the VM NIC's MAC"},
    {"peer", TR_T_STRING, 1, "veth peer, \"\" for a tap"},
    {"key", TR_T_STRING, 0, "the idempotency key that made it"},
    TR_FIELDS_END};
static const struct tr_field port_delete_in[] = {
    TARGET_FIELDS,
    {"name", TR_T_STRING, 1, "port name"},
    {"keep_segment", TR_T_BOOL, 0,
     "keep the segment's bridge even when this was its last port"},
    {"vm", TR_T_STRING, 0, "the uuid of the VM it belongs to, if any"},
    {"made_by", TR_T_STRING, 0,
     "delete it only if this idempotency key made it"},
    TR_FIELDS_END};
static const struct tr_field port_delete_out[] = {
    TARGET_OUT, {"name", TR_T_STRING, 1, "port name"}, TR_FIELDS_END};
static const struct tr_field port_open_in[] = {
    TARGET_FIELDS,
    {"port", TR_T_STRING, 1, "the port (VM NIC) to open"},
    {"protocol", TR_T_STRING, 1, "tcp, udp or icmp"},
    {"port_min", TR_T_INT, 0, "first port (tcp/udp)"},
    {"port_max", TR_T_INT, 0, "last port (default: port_min)"},
    {"source", TR_T_STRING, 0, "source CIDR (default: any)"},
    {"ttl", TR_T_DURATION, 0, "close again after this long"},
    {"expires_at", TR_T_INT, 0, "close again at this unix time"},
    TR_FIELDS_END};
static const struct tr_field port_open_out[] = {
    TARGET_OUT,
    {"rule_id", TR_T_STRING, 1, "names the rule for network.port_close"},
    {"port", TR_T_STRING, 1, "port"},
    {"expires_at", TR_T_INT, 1, "unix time, 0: never"},
    TR_FIELDS_END};
static const struct tr_field port_close_in[] = {
    TARGET_FIELDS,
    {"rule_id", TR_T_STRING, 1, "from network.port_open"},
    TR_FIELDS_END};
static const struct tr_field port_close_out[] = {
    TARGET_OUT, {"rule_id", TR_T_STRING, 1, "the rule"}, TR_FIELDS_END};

static const struct tr_field port_stats_out[] = {
    TARGET_OUT,
    {"rule_id", TR_T_STRING, 1, "the rule"},
    {"packets", TR_T_INT, 1, "packets it accepted so far"},
    {"bytes", TR_T_INT, 1, "bytes it accepted so far"},
    TR_FIELDS_END};

static const struct tr_field gc_in[] = {
    TARGET_FIELDS,
    {"keep", TR_T_ARRAY, 1, "names of segments and ports to keep"},
    {"segment_ports", TR_T_BOOL, 0, "also keep every port of a kept segment"},
    {"dry_run", TR_T_BOOL, 0, "remove nothing: list what would go (ABI 1.1)"},
    TR_FIELDS_END};
static const struct tr_field gc_out[] = {
    TARGET_OUT,
    {"removed", TR_T_ARRAY, 1, "[{what, name}] of what was (would be) removed"},
    {"dry_run", TR_T_BOOL, 0, "nothing was removed"},
    TR_FIELDS_END};


static const struct tr_action actions[] = {
    {.name = "network.gc",
     .description =
	 "Remove the plugin's objects on a host that are not in keep",
     .input = gc_in,
     .output = gc_out,
     .run = run_gc,
     .flags = TR_ACTION_MUTATES},
    {.name = "network.segment_ensure",
     .description =
	 "Make a segment (bridge + VXLAN/VLAN link) present on a host",
     .input = seg_ensure_in,
     .output = seg_ensure_out,
     .run = run_segment_ensure,
     .undo = "network.segment_release",
     .flags = TR_ACTION_MUTATES},
    {.name = "network.segment_release",
     .description = "Remove a segment from a host (refused while ports remain)",
     .input = seg_release_in,
     .output = seg_release_out,
     .run = run_segment_release,
     .flags = TR_ACTION_MUTATES},
    {.name = "network.port_create",
     .description =
	 "A port (tap) for a VM NIC on a segment (made present on the host "
	 "first); inbound denied by default",
     .input = port_create_in,
     .output = port_create_out,
     .run = run_port_create,
     .undo = "network.port_delete",
     .flags = TR_ACTION_MUTATES},
    {.name = "network.port_delete",
     .description =
	 "Delete a port; the segment goes with its last port on the host",
     .input = port_delete_in,
     .output = port_delete_out,
     .run = run_port_delete,
     .flags = TR_ACTION_MUTATES,
     .guard = port_delete_guard},
    {.name = "network.port_open",
     .description =
	 "Allow inbound traffic to a port (protocol, ports, source, expiry)",
     .input = port_open_in,
     .output = port_open_out,
     .run = run_port_open,
     .undo = "network.port_close",
     .flags = TR_ACTION_MUTATES},
    {.name = "network.port_close",
     .description = "Remove a rule made by network.port_open",
     .input = port_close_in,
     .output = port_close_out,
     .run = run_port_close,
     .flags = TR_ACTION_MUTATES},
    {.name = "network.port_stats",
     .description =
	 "What a rule made by network.port_open accepted (its counter; since "
	 "1.1)",
     .input = port_close_in,
     .output = port_stats_out,
     .run = run_port_stats,
     .flags = 0},
};

void tr_actions_register_network(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
