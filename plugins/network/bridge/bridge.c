/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bridge.c - the bridge network plugin: descriptor, connections and the
 * op entry points.  Each op checks nothing itself; it packs its arguments
 * into a job and runs it on the connection's namespace thread (ops.c does
 * the work).  This file also owns the rule expiry timer: one host timer
 * per connection, armed for the earliest expiry it knows; when it fires,
 * a job deletes every expired rule and re-arms for the next one.
 * Connecting runs that job once, so rules that expired while no daemon
 * was watching go too.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/network.h>

#include "bridge.h"
#include "fw.h"
#include "links.h"

static void conn_unref(struct br_conn *c);

static int job_tramp(void *p)
{
	struct br_job *j = p;
	return j->fn(j);
}

static int run_job(struct br_conn *c, trellis_call_t *call,
		   int (*fn)(struct br_job *), struct br_job *j)
{
	j->c = c;
	j->call = call;
	j->fn = fn;
	return nsexec_run(c->ns, job_tramp, j);
}

/* ---- expiry timer ---- */

static int expire_job(void *p)
{
	struct br_conn *c = p;
	struct br_job j = {.c = c};
	/* No caller waits on this: errors are logged by br_job_expire. */
	j.call = NULL;
	return br_job_expire(&j);
}

static void expiry_fire(void *arg)
{
	struct br_conn *c = arg;
	pthread_mutex_lock(&c->lock);
	c->timer_armed = 0;
	int closing = c->closing;
	pthread_mutex_unlock(&c->lock);
	if (!closing)
		nsexec_run(c->ns, expire_job, c);
	conn_unref(c); /* the timer's reference */
}

void br_expiry_arm(struct br_conn *c, int64_t due)
{
	const trellis_host_t *h = c->b->host;
	pthread_mutex_lock(&c->lock);
	if (c->closing || (c->timer_armed && c->timer_due <= due)) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->timer_armed && h->timer_cancel(c->b->self, c->timer_id) == 0)
		c->refs--; /* it will never run: drop its reference */
	int64_t now = (int64_t)time(NULL);
	uint64_t delay = due > now ? (uint64_t)(due - now) * 1000 : 0;
	/* +50 ms: fire just after the second turns, never just before. */
	if (h->timer_add(c->b->self, delay + 50, 0, expiry_fire, c,
			 &c->timer_id) == 0) {
		c->timer_armed = 1;
		c->timer_due = due;
		c->refs++;
	} else {
		c->timer_armed = 0;
		h->log(c->b->self, TRELLIS_LOG_ERR,
		       "%s: cannot arm the rule expiry timer", c->uri);
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- connections ---- */

struct open_job {
	struct br_conn *c;
	char err[512];
	int rc;
};

static int open_in_ns(void *p)
{
	struct open_job *o = p;
	int rc = lk_open(&o->c->sk, o->err, sizeof o->err);
	if (!rc)
		rc = fw_open(&o->c->nft, o->err, sizeof o->err);
	return rc;
}

static int close_in_ns(void *p)
{
	struct br_conn *c = p;
	lk_close(c->sk);
	fw_close(c->nft);
	c->sk = NULL;
	c->nft = NULL;
	return 0;
}

static void conn_free(struct br_conn *c)
{
	if (c->ns) {
		nsexec_run(c->ns, close_in_ns, c);
		nsexec_free(c->ns);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void conn_unref(struct br_conn *c)
{
	pthread_mutex_lock(&c->lock);
	int last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		conn_free(c);
}

static int br_connect(void *state, trellis_call_t *call, const char *uri,
		      const trellis_node_t *options, uint32_t flags,
		      void **conn)
{
	struct brp *b = state;
	const trellis_host_t *h = b->host;
	char path[256];
	const char *nspath = NULL;
	(void)options; /* none yet: everything comes with each op's spec */
	if (flags)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "bridge connect: unknown flag bits 0x%x",
				    flags);
	if (!uri || (strcmp(uri, "local") && strncmp(uri, "netns:", 6)) ||
	    (!strncmp(uri, "netns:", 6) && !br_name_ok(uri + 6)))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "bridge connect: uri must be 'local' or "
				    "'netns:NAME', got '%s'",
				    uri ? uri : "(null)");
	if (!strncmp(uri, "netns:", 6)) {
		snprintf(path, sizeof path, "/var/run/netns/%s", uri + 6);
		nspath = path;
	}
	struct br_conn *c = calloc(1, sizeof *c);
	if (!c)
		return h->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	c->b = b;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->uri, sizeof c->uri, "%s", uri);
	struct open_job o = {.c = c};
	int rc = nsexec_new(nspath, &c->ns, o.err, sizeof o.err);
	if (rc) {
		rc = h->set_error(call,
				  rc == -ENOENT	 ? TRELLIS_E_NOTFOUND
				  : rc == -EPERM ? TRELLIS_E_PERMISSION
						 : TRELLIS_E_UNAVAILABLE,
				  "bridge connect %s: %s", uri, o.err);
		goto fail;
	}
	rc = nsexec_run(c->ns, open_in_ns, &o);
	if (rc) {
		rc =
		    h->set_error(call, rc, "bridge connect %s: %s", uri, o.err);
		goto fail;
	}
	nsexec_run(c->ns, expire_job, c);
	*conn = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

static void br_disconnect(void *state, void *conn)
{
	struct brp *b = state;
	struct br_conn *c = conn;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->closing = 1;
	if (c->timer_armed && b->host->timer_cancel(b->self, c->timer_id) == 0)
		c->refs--;
	c->timer_armed = 0;
	pthread_mutex_unlock(&c->lock);
	conn_unref(c);
}

/* ---- ops ---- */

static int br_segment_ensure(void *conn, trellis_call_t *call,
			     const trellis_segment_spec_t *spec,
			     const char *idem_key, uint32_t flags,
			     trellis_segment_info_t *out)
{
	struct br_job j = {
	    .seg = spec, .seg_out = out, .flags = flags, .idem_key = idem_key};
	return run_job(conn, call, br_job_segment_ensure, &j);
}

static int br_segment_release(void *conn, trellis_call_t *call,
			      const char *segment, const char *idem_key,
			      uint32_t flags)
{
	struct br_job j = {
	    .name = segment, .flags = flags, .idem_key = idem_key};
	return run_job(conn, call, br_job_segment_release, &j);
}

/* An info struct filled whole (full, full_size bytes), copied into the
 * caller's as far as its struct_size reaches: a core built before a field
 * was added gets the rest.  Both start with uint32_t struct_size. */
static void copy_out(void *out, const void *full, size_t full_size)
{
	uint32_t have;
	memcpy(&have, out, sizeof have);
	size_t n = have < full_size ? have : full_size;
	if (n > sizeof have)
		memcpy((char *)out + sizeof have, (const char *)full + sizeof have,
		       n - sizeof have);
}

static int br_port_create(void *conn, trellis_call_t *call,
			  const trellis_port_spec_t *spec, const char *idem_key,
			  uint32_t flags, trellis_port_info_t *out)
{
	/* Filled whole, then copied as far as the caller's struct_size
	 * reaches: a core built before port_info.peer gets the rest. */
	trellis_port_info_t full = {.struct_size = sizeof full};
	struct br_job j = {.port = spec,
			   .flags = flags,
			   .idem_key = idem_key,
			   .port_out = &full};
	int rc = run_job(conn, call, br_job_port_create, &j);
	copy_out(out, &full, sizeof full);
	return rc;
}

static int br_port_delete(void *conn, trellis_call_t *call, const char *port,
			  const char *idem_key, uint32_t flags)
{
	struct br_job j = {.name = port, .flags = flags, .idem_key = idem_key};
	return run_job(conn, call, br_job_port_delete, &j);
}

static int br_rule_add(void *conn, trellis_call_t *call,
		       const trellis_fw_rule_t *rule, const char *idem_key,
		       uint32_t flags, char rule_id[64])
{
	struct br_job j = {.rule = rule,
			   .flags = flags,
			   .idem_key = idem_key,
			   .rule_id = rule_id};
	return run_job(conn, call, br_job_rule_add, &j);
}

static int br_rule_delete(void *conn, trellis_call_t *call, const char *rule_id,
			  const char *idem_key, uint32_t flags)
{
	struct br_job j = {
	    .name = rule_id, .flags = flags, .idem_key = idem_key};
	return run_job(conn, call, br_job_rule_delete, &j);
}

static int br_rule_stats(void *conn, trellis_call_t *call, const char *rule_id,
			 uint32_t flags, trellis_fw_rule_stats_t *out)
{
	struct br_job j = {.name = rule_id, .flags = flags, .stats = out};
	return run_job(conn, call, br_job_rule_stats, &j);
}

static int br_gc(void *conn, trellis_call_t *call, const char *const *keep,
		 uint32_t n_keep, uint32_t flags, trellis_gc_fn fn,
		 void *opaque)
{
	struct br_job j = {.keep = keep,
			   .n_keep = n_keep,
			   .flags = flags,
			   .gc_fn = fn,
			   .opaque = opaque};
	return run_job(conn, call, br_job_gc, &j);
}

static int br_router_ensure(void *conn, trellis_call_t *call,
			    const trellis_router_spec_t *spec,
			    const char *idem_key, uint32_t flags,
			    trellis_router_info_t *out)
{
	/* Filled whole, then copied as far as the caller's struct_size
	 * reaches. */
	trellis_router_info_t full = {.struct_size = sizeof full};
	struct br_job j = {.router = spec,
			   .router_out = &full,
			   .flags = flags,
			   .idem_key = idem_key};
	struct br_conn *c = conn;
	if (!spec || spec->struct_size < sizeof *spec)
		return c->b->host->set_error(call, TRELLIS_E_INVALID_ARG,
					     "bridge router_ensure: a router "
					     "spec of %u bytes (want %zu)",
					     spec ? spec->struct_size : 0,
					     sizeof *spec);
	int rc = run_job(conn, call, br_job_router_ensure, &j);
	copy_out(out, &full, sizeof full);
	return rc;
}

static int br_router_remove(void *conn, trellis_call_t *call,
			    const char *name, const char *idem_key,
			    uint32_t flags)
{
	struct br_job j = {.name = name, .flags = flags, .idem_key = idem_key};
	return run_job(conn, call, br_job_router_remove, &j);
}

/* ---- plugin ---- */

static int br_init(trellis_plugin_t *self, const trellis_host_t *host,
		   trellis_call_t *call, void **state)
{
	struct brp *b = calloc(1, sizeof *b);
	if (!b)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	b->self = self;
	b->host = host;
	*state = b;
	return 0;
}

static void br_fini(void *state) { free(state); }

static const struct trellis_network_ops br_ops = {
    .struct_size = sizeof(struct trellis_network_ops),
    .connect = br_connect,
    .disconnect = br_disconnect,
    .segment_ensure = br_segment_ensure,
    .segment_release = br_segment_release,
    .port_create = br_port_create,
    .port_delete = br_port_delete,
    .rule_add = br_rule_add,
    .rule_delete = br_rule_delete,
    .gc = br_gc,
    .router_ensure = br_router_ensure,
    .router_remove = br_router_remove,
    .rule_stats = br_rule_stats,
};

TRELLIS_PLUGIN_DEFINE(.name = "bridge", .version = "1.0.0", .license = "Apache-2.0",
		      .description = "Linux bridge segments over VXLAN/VLAN, "
				     "nftables port filtering",
		      .kind = TRELLIS_KIND_NETWORK,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_NET_CAP_VXLAN | TRELLIS_NET_CAP_VLAN |
			      TRELLIS_NET_CAP_FIREWALL | TRELLIS_NET_CAP_GC |
			      TRELLIS_NET_CAP_ROUTER,
		      .init = br_init, .fini = br_fini, .ops = &br_ops)
