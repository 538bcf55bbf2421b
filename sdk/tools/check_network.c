/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_network.c - conformance scenario for network plugins.
 *
 * Network plugins change the host they run on, so the mutating checks run
 * only against a target the user names with --target (a disposable one,
 * such as netns:NAME).  Without it the checker connects to "local", checks
 * flags on connect and NOTSUP for absent ops, and says that it skipped the
 * rest.  With it: a LOCAL segment and a port on it are made twice with one
 * key, a rule is added if the plugin has firewalling, every present op is
 * run with an unknown flag, and everything is deleted twice.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

struct net_fx {
	struct tr_target *t;
	char seg[32], flag_seg[32], port[32], flag_port[32], missing[32];
	char rule_id[64], flag_rule_id[64];
	char key[96], flag_key[96];
	trellis_segment_spec_t seg_spec, flag_seg_spec;
	trellis_port_spec_t port_spec, flag_port_spec;
	trellis_fw_rule_t rule;
	const char *keep[2];
};

static int inv_seg_ensure(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_segment_ensure(fx->t, call, &fx->flag_seg_spec,
				     fx->flag_key, flags, NULL);
}

static void undo_seg_ensure(struct chk *c, void *fx_)
{
	struct net_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_net_segment_release(fx->t, &call, fx->flag_seg, fx->flag_key, 0);
}

static int inv_seg_release(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_segment_release(fx->t, call, fx->seg, fx->flag_key,
				      flags);
}

static int inv_port_create(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_port_create(fx->t, call, &fx->flag_port_spec,
				  fx->flag_key, flags, NULL);
}

static void undo_port_create(struct chk *c, void *fx_)
{
	struct net_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_net_port_delete(fx->t, &call, fx->flag_port, fx->flag_key, 0);
}

static int inv_port_delete(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_port_delete(fx->t, call, fx->port, fx->flag_key, flags);
}

static int inv_rule_add(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_rule_add(fx->t, call, &fx->rule, fx->flag_key, flags,
			       fx->flag_rule_id);
}

static void undo_rule_add(struct chk *c, void *fx_)
{
	struct net_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_net_rule_delete(fx->t, &call, fx->flag_rule_id, fx->flag_key, 0);
}

static int inv_rule_delete(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_rule_delete(fx->t, call,
				  fx->rule_id[0] ? fx->rule_id : "missing",
				  fx->flag_key, flags);
}

static void gc_noop(void *opaque, const char *what, const char *name)
{
	(void)opaque;
	(void)what;
	(void)name;
}

static int inv_gc(struct chk *c, void *fx_, trellis_call_t *call,
		  uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_gc(fx->t, call, fx->keep, 2, flags, gc_noop, NULL);
}

#define OP(op, inv, undo)                                                      \
	{                                                                      \
#op, offsetof(struct trellis_network_ops, op), inv, undo       \
	}
/* The deletes last: a plugin that ignores the flag removes the fixture. */
static const struct chk_op net_ops[] = {
    OP(segment_ensure, inv_seg_ensure, undo_seg_ensure),
    OP(port_create, inv_port_create, undo_port_create),
    OP(rule_add, inv_rule_add, undo_rule_add),
    OP(gc, inv_gc, NULL),
    OP(rule_delete, inv_rule_delete, NULL),
    OP(port_delete, inv_port_delete, NULL),
    OP(segment_release, inv_seg_release, NULL),
};
#undef OP
#define N_OPS (sizeof net_ops / sizeof *net_ops)

#define HAS(op) tr_plugin_has_op(c->p, offsetof(struct trellis_network_ops, op))

static void errors_and_missing(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	trellis_port_spec_t ps = fx->port_spec;
	int rc;

	ps.segment = fx->missing;
	chk_call(c, &call);
	chk_begin("errors:port_create");
	rc = tr_net_port_create(fx->t, &call, &ps, fx->key, 0, NULL);
	chk_end();
	if (rc >= 0) {
		trellis_call_t c2;
		chk_call(c, &c2);
		tr_net_port_delete(fx->t, &c2, ps.name, fx->key, 0);
	}
	chk_expect(c, "errors:port_create", "port_create on a missing segment",
		   &call, rc, TRELLIS_E_NOTFOUND);

	chk_call(c, &call);
	chk_begin("idempotent:port_delete-missing");
	rc = tr_net_port_delete(fx->t, &call, fx->port, fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:port_delete-missing",
		   "port_delete of a port that does not exist", &call, rc, 0);

	chk_call(c, &call);
	chk_begin("idempotent:segment_release-missing");
	rc = tr_net_segment_release(fx->t, &call, fx->seg, fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:segment_release-missing",
		   "segment_release of a segment that does not exist", &call,
		   rc, 0);
}

/* 0 when the segment and the port exist. */
static int create_and_replay(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	trellis_segment_info_t sa, sb;
	trellis_port_info_t pa, pb;
	int rc;

	chk_call(c, &call);
	chk_begin("create:segment_ensure");
	rc =
	    tr_net_segment_ensure(fx->t, &call, &fx->seg_spec, fx->key, 0, &sa);
	chk_end();
	if (rc < 0 || !sa.bridge[0]) {
		chk_fail(c, "create:segment_ensure",
			 "segment_ensure of '%s': %s: %s", fx->seg,
			 trellis_error_name(rc),
			 rc < 0 ? call.message : "no bridge returned");
		return -1;
	}
	chk_pass(c, "create:segment_ensure", "'%s' on bridge %s", fx->seg,
		 sa.bridge);
	chk_call(c, &call);
	chk_begin("idempotent:segment_ensure");
	rc =
	    tr_net_segment_ensure(fx->t, &call, &fx->seg_spec, fx->key, 0, &sb);
	chk_end();
	if (rc < 0)
		chk_fail(c, "idempotent:segment_ensure",
			 "replay failed: %s: %s", trellis_error_name(rc),
			 call.message);
	else if (strcmp(sa.bridge, sb.bridge) != 0)
		chk_fail(c, "idempotent:segment_ensure",
			 "replay returned bridge %s, first %s", sb.bridge,
			 sa.bridge);
	else
		chk_pass(c, "idempotent:segment_ensure",
			 "replay returned the same bridge");

	char pkey[128];
	snprintf(pkey, sizeof pkey, "%s-port", fx->key);
	chk_call(c, &call);
	chk_begin("create:port_create");
	rc = tr_net_port_create(fx->t, &call, &fx->port_spec, pkey, 0, &pa);
	chk_end();
	if (rc < 0 || !pa.ifname[0]) {
		chk_fail(c, "create:port_create", "port_create of '%s': %s: %s",
			 fx->port, trellis_error_name(rc),
			 rc < 0 ? call.message : "no ifname returned");
		return -1;
	}
	chk_pass(c, "create:port_create", "'%s' is %s (%s) on %s", fx->port,
		 pa.ifname, pa.mac, pa.bridge);
	chk_call(c, &call);
	chk_begin("idempotent:port_create");
	rc = tr_net_port_create(fx->t, &call, &fx->port_spec, pkey, 0, &pb);
	chk_end();
	if (rc < 0)
		chk_fail(c, "idempotent:port_create", "replay failed: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (strcmp(pa.ifname, pb.ifname) != 0 || strcmp(pa.mac, pb.mac))
		chk_fail(c, "idempotent:port_create",
			 "replay returned %s (%s), first %s (%s)", pb.ifname,
			 pb.mac, pa.ifname, pa.mac);
	else
		chk_pass(c, "idempotent:port_create",
			 "replay returned the same port");

	/* Another request for the same name must not get this port, nor one
	 * without a key: its undo would cut the first VM's network. */
	char other[160];
	snprintf(other, sizeof other, "%s-other", pkey);
	for (int i = 0; i < 2; i++) {
		const char *check = i ? "idempotent:port_create-no-key"
				      : "idempotent:port_create-other-key";
		chk_call(c, &call);
		chk_begin(check);
		rc = tr_net_port_create(fx->t, &call, &fx->port_spec,
					i ? NULL : other, 0, &pb);
		chk_end();
		trellis_call_t c2;
		chk_call(c, &c2);
		int intact = tr_net_port_create(fx->t, &c2, &fx->port_spec,
						pkey, 0, &pb) == 0 &&
			     strcmp(pa.ifname, pb.ifname) == 0;
		chk_not_adopted(c, check,
				i ? "port_create of an existing name without "
				    "a key"
				  : "port_create of an existing name under "
				    "another key",
				&call, rc, intact,
				"its own request's replay no longer finds it");
	}
	return 0;
}

static void rules_and_gc(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	int rc;
	if (HAS(rule_add)) {
		char again[64];
		chk_call(c, &call);
		chk_begin("rule_add");
		rc = tr_net_rule_add(fx->t, &call, &fx->rule, fx->key, 0,
				     fx->rule_id);
		chk_end();
		if (rc < 0 || !fx->rule_id[0]) {
			chk_fail(c, "rule_add", "tcp/22 on '%s': %s: %s",
				 fx->port, trellis_error_name(rc),
				 rc < 0 ? call.message : "no rule id returned");
		} else {
			chk_pass(c, "rule_add", "tcp/22 on '%s' is rule '%s'",
				 fx->port, fx->rule_id);
			chk_call(c, &call);
			rc = tr_net_rule_add(fx->t, &call, &fx->rule, fx->key,
					     0, again);
			if (rc < 0)
				chk_fail(c, "idempotent:rule_add",
					 "replay failed: %s: %s",
					 trellis_error_name(rc), call.message);
			else if (strcmp(again, fx->rule_id) != 0)
				chk_fail(c, "idempotent:rule_add",
					 "replay made rule '%s', first '%s'",
					 again, fx->rule_id);
			else
				chk_pass(c, "idempotent:rule_add",
					 "replay returned the same rule");
			/* Another request's rule_add makes its own rule (or
			 * is refused); it never gets this one, whose undo
			 * would then close the port under the first. */
			char other[160];
			snprintf(other, sizeof other, "%s-other", fx->key);
			chk_call(c, &call);
			rc = tr_net_rule_add(fx->t, &call, &fx->rule, other, 0,
					     again);
			if (rc >= 0 && !strcmp(again, fx->rule_id))
				chk_fail(c, "idempotent:rule_add-other-key",
					 "rule_add under another key returned "
					 "the first request's rule '%s'",
					 again);
			else if (rc < 0 && !chk_has_own_message(&call, rc))
				chk_fail(c, "idempotent:rule_add-other-key",
					 "refused with %s but without a "
					 "message",
					 trellis_error_name(rc));
			else
				chk_pass(c, "idempotent:rule_add-other-key",
					 "another key: %s", rc >= 0 ? again
							    : call.message);
			if (rc >= 0 && strcmp(again, fx->rule_id)) {
				chk_call(c, &call);
				tr_net_rule_delete(fx->t, &call, again, other,
						   0);
			}
		}
	}
	if (HAS(gc)) {
		chk_call(c, &call);
		chk_begin("gc");
		rc = inv_gc(c, fx, &call, 0);
		chk_end();
		chk_expect(c, "gc", "gc keeping the scenario's objects", &call,
			   rc, 0);
	}
}

/* The IF_KEY port lives alone on the flag segment, so whether it exists
 * is whether segment_release of that segment says ports remain. */
static int ik_make(struct chk *c, void *fx_, trellis_call_t *call,
		   const char *key)
{
	struct net_fx *fx = fx_;
	trellis_port_spec_t ps = fx->flag_port_spec;
	(void)c;
	ps.segment = fx->flag_seg;
	int rc = tr_net_segment_ensure(fx->t, call, &fx->flag_seg_spec, key, 0,
				       NULL);
	return rc < 0 ? rc : tr_net_port_create(fx->t, call, &ps, key, 0, NULL);
}

static int ik_del(struct chk *c, void *fx_, trellis_call_t *call,
		  const char *key, uint32_t flags)
{
	struct net_fx *fx = fx_;
	(void)c;
	return tr_net_port_delete(fx->t, call, fx->flag_port, key, flags);
}

static int ik_exists(struct chk *c, void *fx_)
{
	struct net_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	return tr_net_segment_release(fx->t, &call, fx->flag_seg, fx->flag_key,
				      0) == TRELLIS_E_CONFLICT;
}

static const struct chk_if_key net_if_key = {
    "port_delete", TRELLIS_NET_PORT_DELETE_IF_KEY, ik_make, ik_del,
    ik_exists};

static void port_delete_if_key(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	chk_delete_if_key(c, &net_if_key, fx, fx->flag_key);
	chk_call(c, &call);
	tr_net_port_delete(fx->t, &call, fx->flag_port, fx->flag_key, 0);
	tr_net_segment_release(fx->t, &call, fx->flag_seg, fx->flag_key, 0);
}

static void delete_twice(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	int rc;
	char key[128];
	snprintf(key, sizeof key, "%s-delete", fx->key);

	chk_call(c, &call);
	chk_begin("errors:segment_release-busy");
	rc = tr_net_segment_release(fx->t, &call, fx->seg, key, 0);
	chk_end();
	chk_expect(c, "errors:segment_release-busy",
		   "segment_release while a port is on it", &call, rc,
		   TRELLIS_E_CONFLICT);

	if (HAS(rule_delete) && fx->rule_id[0]) {
		for (int i = 0; i < 2; i++) {
			chk_call(c, &call);
			rc = tr_net_rule_delete(fx->t, &call, fx->rule_id, key,
						0);
			chk_expect(c,
				   i ? "idempotent:rule_delete" : "rule_delete",
				   i ? "replayed rule_delete" : "rule_delete",
				   &call, rc, 0);
		}
	}
	for (int i = 0; i < 2; i++) {
		chk_call(c, &call);
		chk_begin("port_delete");
		rc = tr_net_port_delete(fx->t, &call, fx->port, key, 0);
		chk_end();
		chk_expect(c, i ? "idempotent:port_delete" : "port_delete",
			   i ? "replayed port_delete of a port already gone"
			     : "port_delete",
			   &call, rc, 0);
	}
	for (int i = 0; i < 2; i++) {
		chk_call(c, &call);
		chk_begin("segment_release");
		rc = tr_net_segment_release(fx->t, &call, fx->seg, key, 0);
		chk_end();
		chk_expect(c,
			   i ? "idempotent:segment_release" : "segment_release",
			   i ? "replayed segment_release of a segment already "
			       "gone"
			     : "segment_release",
			   &call, rc, 0);
	}
}

/* Routers (ABI 1.1): router_ensure twice with one spec changes nothing the
 * second time, a changed spec is applied, router_remove twice and of a
 * missing router succeed.  Runs over the fixture's segment. */
static void routers(struct chk *c, struct net_fx *fx)
{
	trellis_call_t call;
	trellis_router_info_t a, b;
	char name[48], missing[48];
	int rc;
	if (!HAS(router_ensure) || !HAS(router_remove)) {
		chk_skip(c, "idempotent:router_ensure",
			 "the plugin has no routers (router_ensure is NOTSUP)");
		return;
	}
	snprintf(name, sizeof name, "%s-r", c->prefix);
	snprintf(missing, sizeof missing, "%s-nor", c->prefix);
	trellis_router_lease_t l[2] = {
	    {sizeof l[0], "52:54:0a:ff:00:02", "10.255.0.2", "one"},
	    {sizeof l[1], "52:54:0a:ff:00:03", "10.255.0.3", "two"}};
	trellis_router_spec_t rs = {.struct_size = sizeof rs,
				    .name = name,
				    .segment = fx->seg,
				    .cidr = "10.255.0.0/24",
				    .gateway = "10.255.0.1",
				    .dhcp_first = "10.255.0.2",
				    .dhcp_last = "10.255.0.254",
				    .leases = l,
				    .n_leases = 1};
	chk_call(c, &call);
	chk_begin("idempotent:router_remove-missing");
	rc = tr_net_router_remove(fx->t, &call, missing, fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:router_remove-missing",
		   "router_remove of a router that does not exist", &call, rc,
		   0);
	chk_call(c, &call);
	chk_begin("create:router_ensure");
	rc = tr_net_router_ensure(fx->t, &call, &rs, fx->key, 0, &a);
	chk_end();
	if (rc < 0) {
		chk_fail(c, "create:router_ensure", "router_ensure of '%s': %s: %s",
			 name, trellis_error_name(rc), call.message);
		return;
	}
	chk_pass(c, "create:router_ensure", "router '%s' made (made=%u)", name,
		 a.made);
	chk_call(c, &call);
	chk_begin("idempotent:router_ensure");
	rc = tr_net_router_ensure(fx->t, &call, &rs, fx->key, 0, &b);
	chk_end();
	if (rc < 0)
		chk_fail(c, "idempotent:router_ensure", "replay failed: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (b.made || b.changed)
		chk_fail(c, "idempotent:router_ensure",
			 "the same spec again reported made=%u changed=%u",
			 b.made, b.changed);
	else
		chk_pass(c, "idempotent:router_ensure",
			 "the same spec again changed nothing");
	rs.n_leases = 2;
	chk_call(c, &call);
	chk_begin("idempotent:router_ensure-change");
	rc = tr_net_router_ensure(fx->t, &call, &rs, fx->key, 0, &b);
	chk_end();
	if (rc < 0 || !b.changed || b.made)
		chk_fail(c, "idempotent:router_ensure-change",
			 "a spec with one more lease: %s, changed=%u made=%u",
			 rc < 0 ? call.message : "ok", b.changed, b.made);
	else
		chk_pass(c, "idempotent:router_ensure-change",
			 "a spec with one more lease was applied");
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "idempotent:router_remove" : "router_remove";
		chk_call(c, &call);
		chk_begin(what);
		rc = tr_net_router_remove(fx->t, &call, name, fx->key, 0);
		chk_end();
		chk_expect(c, what, i ? "router_remove again" : "router_remove",
			   &call, rc, 0);
	}
}

void chk_network(struct chk *c)
{
	struct net_fx fx = {0};
	struct tr_target none = {.plugin = c->p,
				 .lock = PTHREAD_MUTEX_INITIALIZER};
	const char *uri = c->target ? c->target : "local";
	trellis_call_t call;
	void *conn = NULL;
	int rc;

	snprintf(fx.seg, sizeof fx.seg, "%s-s", c->prefix);
	snprintf(fx.flag_seg, sizeof fx.flag_seg, "%s-fs", c->prefix);
	snprintf(fx.missing, sizeof fx.missing, "%s-nos", c->prefix);
	snprintf(fx.port, sizeof fx.port, "%s-p", c->prefix);
	snprintf(fx.flag_port, sizeof fx.flag_port, "%s-fp", c->prefix);
	snprintf(fx.key, sizeof fx.key, "trellis-check/%s/net", c->prefix);
	snprintf(fx.flag_key, sizeof fx.flag_key, "trellis-check/%s/flag",
		 c->prefix);
	uint32_t id = 100 + (uint32_t)getpid() % 3000;
	fx.seg_spec =
	    (trellis_segment_spec_t){.struct_size = sizeof fx.seg_spec,
				     .name = fx.seg,
				     .mode = TRELLIS_SEGMENT_LOCAL,
				     .segment_id = id};
	fx.flag_seg_spec = fx.seg_spec;
	fx.flag_seg_spec.name = fx.flag_seg;
	fx.flag_seg_spec.segment_id = id + 1;
	fx.port_spec = (trellis_port_spec_t){.struct_size = sizeof fx.port_spec,
					     .name = fx.port,
					     .segment = fx.seg};
	fx.flag_port_spec = fx.port_spec;
	fx.flag_port_spec.name = fx.flag_port;
	fx.rule = (trellis_fw_rule_t){.struct_size = sizeof fx.rule,
				      .port = fx.port,
				      .protocol = "tcp",
				      .port_min = 22,
				      .port_max = 22};
	fx.keep[0] = fx.seg;
	fx.keep[1] = fx.port;

	chk_call(c, &call);
	chk_begin("flags:connect");
	rc = tr_net_connect(c->p, &call, uri, NULL, CHK_BAD_FLAG, &conn);
	chk_end();
	if (rc >= 0)
		tr_net_disconnect(CHK_BARE(c->p, conn));
	chk_expect(c, "flags:connect", "connect with unknown flag bit 31",
		   &call, rc, TRELLIS_E_INVALID_ARG);

	rc = chk_open(c, "connect", &call, NULL, uri, 0, &fx.t);
	const char *skip = NULL;
	if (rc == 1) {
		skip = "the target is unavailable";
	} else if (rc < 0) {
		chk_expect(c, "connect", uri, &call, rc, 0);
		skip = "connect failed";
	} else {
		chk_pass(c, "connect", "connected to %s", uri);
		if (!c->target)
			skip = "no --target given: mutating checks need a "
			       "disposable target (e.g. --target netns:NAME)";
	}
	if (skip) {
		chk_skip(c, "scenario", "%s", skip);
		struct tr_target *t = fx.t;
		fx.t = &none;
		chk_sweep(c, net_ops, N_OPS, &fx, skip);
		tr_target_close(t);
		return;
	}

	errors_and_missing(c, &fx);
	if (create_and_replay(c, &fx) == 0) {
		rules_and_gc(c, &fx);
		chk_sweep(c, net_ops, N_OPS, &fx, NULL);
		port_delete_if_key(c, &fx);
		routers(c, &fx);
		delete_twice(c, &fx);
	} else {
		/* Clean up whatever half of it exists. */
		trellis_call_t c2;
		chk_call(c, &c2);
		tr_net_port_delete(fx.t, &c2, fx.port, fx.key, 0);
		tr_net_segment_release(fx.t, &c2, fx.seg, fx.key, 0);
		chk_sweep(c, net_ops, N_OPS, &fx,
			  "no segment and port to run "
			  "it against");
	}
	tr_target_close(fx.t);
}
