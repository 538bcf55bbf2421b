/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.c - a routed network's "virtual router without a VM" (ABI 1.1
 * router_ensure / router_remove), as jobs on a connection's thread.
 *
 * One router per network, on this host:
 *   a network namespace /run/netns/trellis-r-NAME;
 *   a veth pair tr-ri<h> (on the segment's bridge, here) / tr-rj<h> (in
 *   the router, with the gateway address);
 *   with a public side, a veth pair tr-ro<h> (on the public bridge) /
 *   tr-rp<h> (in the router, with the public address and the default
 *   route);
 *   in the router, table "ip trellis": source NAT of the network to the
 *   public address, destination NAT of each forward, and a forward filter
 *   that lets in from the public side only what a forward opened;
 *   dnsmasq in the router: DHCP with static leases only (dhcp-hostsfile)
 *   and DNS for the VM names (addn-hosts), both re-read on SIGHUP;
 *   for each forward, a rule on the VM port's filter (rule id
 *   rt<h>f<n>) that opens the forwarded port, since VM ports deny new
 *   inbound traffic.
 * <h> is br_hash(NAME) in hex.  What the router is was written to
 * RUN_DIR/NAME/ (dnsmasq.conf, dhcp-hosts, hosts, nft); ensure compares
 * the wanted text with it, so a second call with the same spec changes
 * nothing and says so (changed 0).  A dnsmasq that died is started again
 * (restarted 1): the daemon's periodic router check does that.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "fw.h"
#include "links.h"
#include "router.h"

#define H (j->c->b->host)

/* ---- inside the router's namespace ---- */

struct inner {
	struct br_job *j;
	const trellis_router_spec_t *s;
	const struct rnames *n;
	const char *nft; /* the ruleset, or NULL: unchanged */
	int start;       /* (re)start dnsmasq */
	char err[BR_ERRLEN];
};

static int inner_job(void *p)
{
	struct inner *in = p;
	const trellis_router_spec_t *s = in->s;
	struct nl_sock *sk = NULL;
	struct nft_ctx *nft = NULL;
	char addr[40], err2[BR_ERRLEN];
	unsigned pfx;
	char net[16], mask[16];
	int rc = lk_open(&sk, in->err, sizeof in->err);
	if (rc)
		return rc;
	rt_cidr_split(s->cidr, net, &pfx, mask);
	snprintf(addr, sizeof addr, "%s/%u", s->gateway, pfx);
	rc = lk_setup(sk, "lo", NULL, NULL, -1, 0, in->err, sizeof in->err);
	if (!rc)
		rc = lk_setup(sk, in->n->rj, NULL, NULL, -1, 0, in->err,
			      sizeof in->err);
	if (!rc)
		rc = lk_addr_set(sk, in->n->rj, addr, in->err, sizeof in->err);
	if (!rc && s->public_ip) {
		rc = lk_setup(sk, in->n->rp, NULL, NULL, -1, 0, in->err,
			      sizeof in->err);
		if (!rc)
			rc = lk_addr_set(sk, in->n->rp, s->public_ip, in->err,
					 sizeof in->err);
		if (!rc && s->public_gateway)
			rc = lk_route_default(sk, s->public_gateway, in->err,
					      sizeof in->err);
	}
	if (!rc) {
		/* This thread's /proc/sys/net is the router's. */
		FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "w");
		if (!f || fputs("1\n", f) < 0) {
			snprintf(in->err, sizeof in->err,
				 "cannot enable forwarding: %s",
				 strerror(errno));
			rc = TRELLIS_E_BACKEND;
		}
		if (f)
			fclose(f);
	}
	if (!rc && in->nft) {
		rc = fw_open(&nft, in->err, sizeof in->err);
		if (!rc && nft_run_cmd_from_buffer(nft, in->nft)) {
			const char *e = nft_ctx_get_error_buffer(nft);
			snprintf(in->err, sizeof in->err, "nftables: %.*s",
				 (int)(e ? strcspn(e, "\n") : 6),
				 e ? e : "failed");
			rc = TRELLIS_E_BACKEND;
		}
		fw_close(nft);
	}
	if (!rc && in->start) {
		char conf[220];
		snprintf(conf, sizeof conf, "--conf-file=%s/dnsmasq.conf",
			 in->n->dir);
		const char *argv[] = {"dnsmasq", conf, NULL};
		char *eout = NULL;
		int status = 0;
		const trellis_host_t *h = in->j->c->b->host;
		rc = h->exec(in->j->call, argv, 10000, NULL, &eout, &status);
		if (!rc && status)
			rc = h->set_error(in->j->call, TRELLIS_E_BACKEND,
					  "%s: dnsmasq for router '%s' failed "
					  "(status %d): %.300s",
					  in->j->c->uri, s->name, status,
					  eout ? eout : "");
		if (eout)
			h->free(eout);
		if (rc)
			in->err[0] = '\0'; /* set already */
	}
	(void)err2;
	lk_close(sk);
	return rc;
}

/* ---- the jobs ---- */

/* Opens the forwarded ports on the VM ports (found by the leases' MACs).
 * A rule's id says what it opens: rt<h><t|u><port>-<port device>, so the
 * rules that are there are compared with the wanted ones and only the
 * difference is made or removed. */
struct vmport {
	const char *mac;
	char ifname[16];
};

static int vmport_cb(void *opaque, const struct lk_info *li)
{
	struct vmport *v = opaque;
	char mac[32];
	br_alias_get(li->alias, "mac", mac, sizeof mac);
	if (!strcasecmp(mac, v->mac)) {
		snprintf(v->ifname, sizeof v->ifname, "%s", li->name);
		return 1;
	}
	return 0;
}

#define MAX_FWD 256
struct rids {
	const char *prefix;
	char have[MAX_FWD][48];
	unsigned n;
};

static void rids_cb(void *opaque, const struct fw_item *it)
{
	struct rids *r = opaque;
	if (!it->rid || strncmp(it->rid, r->prefix, strlen(r->prefix)))
		return;
	for (unsigned i = 0; i < r->n; i++)
		if (!strcmp(r->have[i], it->rid))
			return;
	if (r->n < MAX_FWD)
		snprintf(r->have[r->n++], sizeof r->have[0], "%s", it->rid);
}

/* want: the ids to keep (NULL: none). */
static int sync_rules(struct br_job *j, const struct rnames *n,
		      const trellis_router_spec_t *s)
{
	char err[BR_ERRLEN];
	struct rids *r = calloc(1, sizeof *r);
	char (*want)[48] = calloc(MAX_FWD, sizeof *want);
	char (*dev)[16] = calloc(MAX_FWD, sizeof *dev);
	unsigned nw = 0;
	int rc = 0;
	if (!r || !want || !dev) {
		rc = br_fail(j, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	r->prefix = n->rid;
	rc = fw_scan(j->c->nft, NULL, rids_cb, r, err, sizeof err);
	if (rc) {
		rc = br_fail(j, rc, "%s", err);
		goto out;
	}
	for (uint32_t i = 0; s && i < s->n_forwards && nw < MAX_FWD; i++) {
		const trellis_router_forward_t *f = &s->forwards[i];
		const char *mac = NULL;
		for (uint32_t k = 0; k < s->n_leases; k++)
			if (!strcmp(s->leases[k].ip, f->ip))
				mac = s->leases[k].mac;
		struct vmport v = {.mac = mac};
		if (!mac || lk_each(j->c->sk, BR_PREFIX "t", vmport_cb, &v, err,
				    sizeof err) ||
		    !v.ifname[0])
			continue; /* its VM's port is on another host */
		snprintf(want[nw], sizeof want[0], "%s%c%u-%s", n->rid,
			 f->protocol[0], f->port, v.ifname + 4);
		snprintf(dev[nw], sizeof dev[0], "%s", v.ifname);
		nw++;
	}
	for (unsigned i = 0; !rc && i < r->n; i++) {
		int keep = 0;
		for (unsigned k = 0; k < nw; k++)
			keep |= !strcmp(want[k], r->have[i]);
		if (!keep)
			rc = fw_rule_del(j->c->nft, r->have[i], err, sizeof err);
	}
	for (unsigned k = 0; !rc && k < nw; k++) {
		int have = 0;
		for (unsigned i = 0; i < r->n; i++)
			have |= !strcmp(want[k], r->have[i]);
		if (have)
			continue;
		/* the id: rt<h><t|u><port>-<dev> */
		const char *d = strchr(want[k] + strlen(n->rid), '-');
		struct fw_rule fr = {
		    .protocol = want[k][strlen(n->rid)] == 't' ? "tcp" : "udp",
		    .port_min = (uint16_t)atoi(want[k] + strlen(n->rid) + 1)};
		fr.port_max = fr.port_min;
		(void)d;
		rc = fw_rule_add(j->c->nft, dev[k], want[k], &fr, err,
				 sizeof err);
	}
	if (rc)
		rc = br_fail(j, rc, "router forwards: %s", err);
out:
	free(r);
	free(want);
	free(dev);
	return rc;
}

int br_job_router_ensure(struct br_job *j)
{
	const trellis_router_spec_t *s = j->router;
	trellis_router_info_t *o = j->router_out;
	struct rnames n;
	struct lk_info br, li, pb;
	char err[BR_ERRLEN], path[220];
	int made_ns = 0, changed = 0, rc = br_flags_check(j, "router_ensure", 0);
	if (!rc)
		rc = rt_check_spec(j, s);
	if (rc)
		return rc;
	rt_names(s->name, &n);
	rc = br_find_dev(j, BR_PREFIX "b", "seg", s->segment, &br);
	if (rc <= 0)
		return rc < 0 ? rc
			      : br_fail(j, TRELLIS_E_NOTFOUND,
					"router '%s': segment '%s' is not on "
					"this host (segment_ensure it first)",
					s->name, s->segment);
	if (s->public_bridge) {
		rc = lk_get(j->c->sk, s->public_bridge, &pb, err, sizeof err);
		if (rc)
			return br_fail(j, rc,
				       "router '%s': public bridge %s: %s",
				       s->name, s->public_bridge,
				       rc == TRELLIS_E_NOTFOUND
					   ? "no such device on this host"
					   : err);
	}
	/* Another network's router under the same devices is a conflict. */
	rc = lk_get(j->c->sk, n.ri, &li, err, sizeof err);
	if (rc == 0) {
		char other[80];
		br_alias_get(li.alias, "router", other, sizeof other);
		if (strcmp(other, s->name))
			return br_fail(j, TRELLIS_E_CONFLICT,
				       "router '%s': device %s belongs to "
				       "router '%s'",
				       s->name, n.ri, other);
	} else if (rc != TRELLIS_E_NOTFOUND) {
		return br_fail(j, rc, "%s", err);
	}
	int have_ri = rc == 0;

	if ((rc = rt_mkdirs(n.dir)))
		return br_fail(j, TRELLIS_E_IO, "%s: %s", n.dir, strerror(-rc));
	if (!rt_netns_exists(n.nspath)) {
		rt_netns_drop(n.nspath); /* a stale file */
		rc = rt_netns_make(n.nspath, err, sizeof err);
		if (rc)
			return br_fail(j, rc, "router '%s': %s", s->name, err);
		made_ns = changed = 1;
		have_ri = 0;
	}
	int nsfd = open(n.nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		rc = br_fail(j, TRELLIS_E_IO, "%s: %s", n.nspath,
			     strerror(errno));
		goto fail;
	}
	char alias[160];
	snprintf(alias, sizeof alias, "trellis router=%s seg=%s", s->name,
		 s->segment);
	if (!have_ri) {
		lk_delete(j->c->sk, n.ri, err, sizeof err);
		rc = lk_add_veth_ns(j->c->sk, n.ri, n.rj, nsfd, err, sizeof err);
		changed = 1;
	}
	if (!rc && li.master != br.ifindex)
		changed = 1;
	if (!rc)
		rc = lk_setup(j->c->sk, n.ri, alias, NULL, br.ifindex, br.mtu,
			      err, sizeof err);
	if (!rc && s->public_bridge) {
		struct lk_info ro;
		int r2 = lk_get(j->c->sk, n.ro, &ro, err, sizeof err);
		if (r2 == TRELLIS_E_NOTFOUND) {
			rc = lk_add_veth_ns(j->c->sk, n.ro, n.rp, nsfd, err,
					    sizeof err);
			changed = 1;
			ro.master = 0;
		} else if (r2) {
			rc = r2;
		}
		if (!rc && ro.master != pb.ifindex)
			changed = 1;
		if (!rc)
			rc = lk_setup(j->c->sk, n.ro, alias, NULL, pb.ifindex,
				      0, err, sizeof err);
	} else if (!rc) {
		struct lk_info ro;
		if (lk_get(j->c->sk, n.ro, &ro, err, sizeof err) == 0) {
			rc = lk_delete(j->c->sk, n.ro, err, sizeof err);
			changed = 1;
		}
	}
	close(nsfd);
	if (rc) {
		rc = br_fail(j, rc, "router '%s': %s", s->name, err);
		goto fail;
	}

	/* The texts: what dnsmasq and nftables must have. */
	struct sb conf = {.p = malloc(BIG), .cap = BIG},
		  dh = {.p = malloc(BIG * 4), .cap = BIG * 4},
		  hosts = {.p = malloc(BIG * 4), .cap = BIG * 4},
		  nft = {.p = malloc(BIG), .cap = BIG};
	if (!conf.p || !dh.p || !hosts.p || !nft.p) {
		rc = br_fail(j, TRELLIS_E_NOMEM, "out of memory");
		goto texts;
	}
	conf.p[0] = dh.p[0] = hosts.p[0] = nft.p[0] = '\0';
	rt_conf_text(&conf, s, &n);
	rt_leases_text(&dh, &hosts, s);
	rt_nft_text(&nft, s, &n);
	if (conf.over || dh.over || hosts.over || nft.over) {
		rc = br_fail(j, TRELLIS_E_INVALID_ARG,
			     "router '%s': too many leases or forwards",
			     s->name);
		goto texts;
	}
	snprintf(path, sizeof path, "%s/nft", n.dir);
	int nft_changed = made_ns || !rt_same_file(path, nft.p);
	snprintf(path, sizeof path, "%s/dnsmasq.conf", n.dir);
	int conf_ch = rt_put_file(path, conf.p);
	snprintf(path, sizeof path, "%s/dhcp-hosts", n.dir);
	int dh_ch = rt_put_file(path, dh.p);
	snprintf(path, sizeof path, "%s/hosts", n.dir);
	int h_ch = rt_put_file(path, hosts.p);
	if (conf_ch < 0 || dh_ch < 0 || h_ch < 0) {
		rc = br_fail(j, TRELLIS_E_IO, "router '%s': writing %s: %s",
			     s->name, n.dir,
			     strerror(-(conf_ch < 0	 ? conf_ch
					: dh_ch < 0 ? dh_ch
						    : h_ch)));
		goto texts;
	}
	pid_t pid = rt_server_pid(&n);
	if (pid && conf_ch) {
		rt_server_stop(&n);
		pid = 0;
	}
	struct inner in = {.j = j,
			   .s = s,
			   .n = &n,
			   .nft = nft_changed ? nft.p : NULL,
			   .start = pid == 0};
	struct nsexec *ns = NULL;
	rc = nsexec_new(n.nspath, &ns, err, sizeof err);
	if (rc) {
		rc = br_fail(j, TRELLIS_E_BACKEND, "router '%s': %s", s->name,
			     err);
		goto texts;
	}
	rc = nsexec_run(ns, inner_job, &in);
	nsexec_free(ns);
	if (rc) {
		if (in.err[0])
			br_fail(j, rc, "router '%s': %s", s->name, in.err);
		goto texts;
	}
	if (nft_changed) {
		snprintf(path, sizeof path, "%s/nft", n.dir);
		rt_put_file(path, nft.p);
	}
	if (pid && (dh_ch || h_ch))
		kill(pid, SIGHUP); /* re-reads dhcp-hosts and addn-hosts */
	rc = sync_rules(j, &n, s);
	if (rc)
		goto texts;
	changed |= nft_changed || conf_ch || dh_ch || h_ch || !pid;
	snprintf(o->netns, sizeof o->netns, "%.31s", n.ns);
	snprintf(o->inside, sizeof o->inside, "%s", n.ri);
	snprintf(o->outside, sizeof o->outside, "%s",
		 s->public_bridge ? n.ro : "");
	for (int i = 0; i < 50 && !(o->pid = (uint32_t)rt_server_pid(&n)); i++)
		usleep(20000);
	o->made = (uint32_t)made_ns;
	o->changed = (uint32_t)changed;
	o->restarted = (uint32_t)(pid == 0);
	if (o->restarted && !made_ns)
		H->log(j->c->b->self, TRELLIS_LOG_NOTICE,
		       "%s: router '%s': its DHCP/DNS server was not running; "
		       "started it (pid %u)",
		       j->c->uri, s->name, o->pid);
texts:
	free(conf.p);
	free(dh.p);
	free(hosts.p);
	free(nft.p);
	if (!rc)
		return 0;
fail:
	/* A router this call began is taken away whole. */
	if (made_ns) {
		rt_server_stop(&n);
		lk_delete(j->c->sk, n.ri, err, sizeof err);
		lk_delete(j->c->sk, n.ro, err, sizeof err);
		rt_netns_drop(n.nspath);
	}
	return rc;
}

int br_job_router_remove(struct br_job *j)
{
	struct rnames n;
	char err[BR_ERRLEN], path[220];
	int rc = br_flags_check(j, "router_remove", 0);
	if (!rc && !br_name_ok(j->name))
		rc = br_fail(j, TRELLIS_E_INVALID_ARG,
			     "invalid router name '%s'",
			     j->name ? j->name : "(null)");
	if (rc)
		return rc;
	rt_names(j->name, &n);
	rt_server_stop(&n);
	rc = sync_rules(j, &n, NULL);
	if (!rc)
		rc = lk_delete(j->c->sk, n.ri, err, sizeof err);
	if (!rc)
		rc = lk_delete(j->c->sk, n.ro, err, sizeof err);
	if (rc)
		return rc < 0 ? rc : br_fail(j, rc, "router '%s': %s", j->name, err);
	rt_netns_drop(n.nspath);
	for (const char *const *f =
		 (const char *const[]){"dnsmasq.conf", "dhcp-hosts", "hosts",
				       "nft", "pid", "leases", "log", NULL};
	     *f; f++) {
		snprintf(path, sizeof path, "%s/%s", n.dir, *f);
		unlink(path);
	}
	rmdir(n.dir);
	return 0;
}
