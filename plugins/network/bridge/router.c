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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "bridge.h"
#include "fw.h"
#include "links.h"

#define H (j->c->b->host)
#define RUN_DIR "/run/trellis-bridge/routers"
#define NETNS_DIR "/run/netns"
#define NS_PREFIX "trellis-r-"
#define BIG 65536

struct rnames {
	char ns[96], nspath[160], dir[160];
	char ri[16], rj[16], ro[16], rp[16], rid[16];
};

static void names_of(const char *name, struct rnames *n)
{
	uint32_t h = br_hash(name);
	snprintf(n->ns, sizeof n->ns, NS_PREFIX "%s", name);
	snprintf(n->nspath, sizeof n->nspath, NETNS_DIR "/%s", n->ns);
	snprintf(n->dir, sizeof n->dir, RUN_DIR "/%s", name);
	snprintf(n->ri, sizeof n->ri, BR_PREFIX "ri%08x", h);
	snprintf(n->rj, sizeof n->rj, BR_PREFIX "rj%08x", h);
	snprintf(n->ro, sizeof n->ro, BR_PREFIX "ro%08x", h);
	snprintf(n->rp, sizeof n->rp, BR_PREFIX "rp%08x", h);
	snprintf(n->rid, sizeof n->rid, "rt%08x", h);
}

/* ---- small file helpers ---- */

static int mkdirs(const char *path)
{
	char p[200];
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

/* Whether path holds exactly text. */
static int same_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = strlen(text);
	char *buf = malloc(n + 2);
	size_t got = buf ? fread(buf, 1, n + 1, f) : 0;
	fclose(f);
	int same = buf && got == n && !memcmp(buf, text, n);
	free(buf);
	return same;
}

/* Writes text to path (atomically, by rename): 1 changed, 0 the same,
 * <0 -errno. */
static int put_file(const char *path, const char *text)
{
	if (same_file(path, text))
		return 0;
	char tmp[220];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	int ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 1;
}

/* The dnsmasq of this router, if it runs: its pid, else 0. */
static pid_t server_pid(const struct rnames *n)
{
	char path[220], buf[4096];
	snprintf(path, sizeof path, "%s/pid", n->dir);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1 || kill((pid_t)pid, 0))
		return 0;
	/* A recycled pid is not ours: its command line names our conf. */
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	for (size_t i = 0; i < got; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[got] = '\0';
	snprintf(path, sizeof path, "%s/dnsmasq.conf", n->dir);
	return strstr(buf, path) ? (pid_t)pid : 0;
}

static void server_stop(const struct rnames *n)
{
	pid_t pid = server_pid(n);
	if (!pid)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50 && !kill(pid, 0); i++)
		usleep(20000);
	if (!kill(pid, 0))
		kill(pid, SIGKILL);
}

/* ---- the namespace ---- */

struct mk {
	const char *path;
	int rc;
};

static void *mk_main(void *p)
{
	struct mk *m = p;
	char self[64];
	if (unshare(CLONE_NEWNET)) {
		m->rc = -errno;
		return NULL;
	}
	snprintf(self, sizeof self, "/proc/thread-self/ns/net");
	if (mount(self, m->path, "none", MS_BIND, NULL))
		m->rc = -errno;
	return NULL;
}

/* A named network namespace, as `ip netns add` makes one: a thread
 * unshares and bind-mounts its namespace, then ends. */
static int netns_make(const char *path, char *err, size_t errlen)
{
	int rc = mkdirs(NETNS_DIR);
	if (rc) {
		snprintf(err, errlen, "%s: %s", NETNS_DIR, strerror(-rc));
		return TRELLIS_E_IO;
	}
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0444);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TRELLIS_E_IO;
	}
	close(fd);
	struct mk m = {.path = path};
	pthread_t t;
	if (pthread_create(&t, NULL, mk_main, &m)) {
		unlink(path);
		snprintf(err, errlen, "cannot start a thread");
		return TRELLIS_E_NOMEM;
	}
	pthread_join(t, NULL);
	if (m.rc) {
		unlink(path);
		snprintf(err, errlen, "namespace %s: %s", path, strerror(-m.rc));
		return m.rc == -EPERM ? TRELLIS_E_PERMISSION : TRELLIS_E_BACKEND;
	}
	return 0;
}

/* Whether path is a mounted namespace (not a stale file). */
static int netns_exists(const char *path)
{
	struct stat st, parent;
	if (stat(path, &st) || stat(NETNS_DIR, &parent))
		return 0;
	return st.st_dev != parent.st_dev; /* a bind mount of nsfs */
}

static void netns_drop(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

/* ---- the spec ---- */

static int ip4_ok(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

static int mac_ok(const char *m)
{
	unsigned b[6];
	char tail;
	return m && strlen(m) == 17 &&
	       sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
		      &b[3], &b[4], &b[5], &tail) == 6;
}

static int label_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 63 && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-") == n;
}

static int domain_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 200 && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-.") == n;
}

/* "a.b.c.d/n" into net (dotted), prefix and mask (dotted). */
static int cidr_split(const char *c, char net[16], unsigned *prefix,
		      char mask[16])
{
	char a[20];
	const char *slash = c ? strchr(c, '/') : NULL;
	if (!slash || (size_t)(slash - c) >= sizeof a)
		return -1;
	memcpy(a, c, (size_t)(slash - c));
	a[slash - c] = '\0';
	char *end;
	long p = strtol(slash + 1, &end, 10);
	struct in_addr in;
	if (*end || p < 1 || p > 30 || inet_pton(AF_INET, a, &in) != 1)
		return -1;
	uint32_t m = ~((1u << (32 - p)) - 1), v = ntohl(in.s_addr) & m;
	snprintf(net, 16, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
		 (v >> 8) & 255, v & 255);
	snprintf(mask, 16, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255,
		 (m >> 8) & 255, m & 255);
	*prefix = (unsigned)p;
	return 0;
}

static int check_spec(struct br_job *j, const trellis_router_spec_t *s)
{
	char net[16], mask[16];
	unsigned p;
	if (!br_name_ok(s->name))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "invalid router name '%s'",
			       s->name ? s->name : "(null)");
	if (!br_name_ok(s->segment))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': invalid segment name", s->name);
	if (cidr_split(s->cidr, net, &p, mask) || !ip4_ok(s->gateway) ||
	    (s->dhcp_first && !ip4_ok(s->dhcp_first)) ||
	    (s->dhcp_last && !ip4_ok(s->dhcp_last)))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': need an IPv4 cidr (/1-/30) and "
			       "gateway, and addresses for the DHCP range",
			       s->name);
	if (s->domain && !domain_ok(s->domain))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': invalid DNS domain '%s'", s->name,
			       s->domain);
	for (uint32_t i = 0; i < s->n_leases; i++) {
		const trellis_router_lease_t *l = &s->leases[i];
		if (!mac_ok(l->mac) || !ip4_ok(l->ip) ||
		    (l->hostname && !label_ok(l->hostname)))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': lease %u needs a MAC, an "
				       "IPv4 address and a DNS label",
				       s->name, i);
	}
	int pub = s->public_bridge || s->public_ip || s->public_gateway;
	if (pub) {
		char pn[16], pm[16];
		unsigned pp;
		if (!s->public_bridge || strlen(s->public_bridge) > 15 ||
		    !br_name_ok(s->public_bridge) ||
		    cidr_split(s->public_ip, pn, &pp, pm) ||
		    (s->public_gateway && !ip4_ok(s->public_gateway)))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': a public side needs a "
				       "bridge and an address/prefix",
				       s->name);
	}
	for (uint32_t i = 0; i < s->n_forwards; i++) {
		const trellis_router_forward_t *f = &s->forwards[i];
		if (!pub || !f->protocol ||
		    (strcmp(f->protocol, "tcp") && strcmp(f->protocol, "udp")) ||
		    !f->public_port || !f->port || !ip4_ok(f->ip))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': forward %u needs a public "
				       "side, tcp/udp, ports and an address",
				       s->name, i);
	}
	return 0;
}

/* ---- texts ---- */

struct sb {
	char *p;
	size_t n, cap;
	int over;
};

static void sb_add(struct sb *b, const char *fmt, ...) TRELLIS_PRINTF(2, 3);
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= b->cap - b->n) {
		b->over = 1;
		b->p[b->n] = '\0';
		return;
	}
	b->n += (size_t)w;
}

static void conf_text(struct sb *b, const trellis_router_spec_t *s,
		      const struct rnames *n)
{
	char net[16], mask[16];
	unsigned p;
	cidr_split(s->cidr, net, &p, mask);
	sb_add(b,
	       "# dnsmasq of router %s (trellis bridge plugin); rewritten by "
	       "router_ensure\n"
	       "interface=%s\nbind-interfaces\nexcept-interface=lo\n"
	       "listen-address=%s\nno-resolv\nno-hosts\nno-poll\n"
	       "user=root\n"
	       "pid-file=%s/pid\ndhcp-leasefile=%s/leases\n"
	       "dhcp-hostsfile=%s/dhcp-hosts\naddn-hosts=%s/hosts\n"
	       "log-facility=%s/log\n"
	       "dhcp-range=%s,static,%s,12h\ndhcp-authoritative\n"
	       "dhcp-option=option:router,%s\n"
	       "dhcp-option=option:dns-server,%s\n",
	       s->name, n->rj, s->gateway, n->dir, n->dir, n->dir, n->dir,
	       n->dir, net, mask, s->gateway, s->gateway);
	if (s->domain)
		sb_add(b, "domain=%s\nlocal=/%s/\nexpand-hosts\n", s->domain,
		       s->domain);
}

static void leases_text(struct sb *dh, struct sb *hosts,
			const trellis_router_spec_t *s)
{
	for (uint32_t i = 0; i < s->n_leases; i++) {
		const trellis_router_lease_t *l = &s->leases[i];
		if (l->hostname) {
			sb_add(dh, "%s,%s,%s\n", l->mac, l->ip, l->hostname);
			sb_add(hosts, "%s %s\n", l->ip, l->hostname);
		} else {
			sb_add(dh, "%s,%s\n", l->mac, l->ip);
		}
	}
}

static void nft_text(struct sb *b, const trellis_router_spec_t *s,
		     const struct rnames *n)
{
	char pub[16] = "";
	sb_add(b, "add table ip trellis\nflush table ip trellis\n"
		  "add chain ip trellis t_pre { type nat hook prerouting "
		  "priority -100 ; }\n"
		  "add chain ip trellis t_post { type nat hook postrouting "
		  "priority 100 ; }\n"
		  "add chain ip trellis t_fwd { type filter hook forward "
		  "priority 0 ; policy drop ; }\n"
		  "add rule ip trellis t_fwd ct state established,related "
		  "accept\n");
	sb_add(b, "add rule ip trellis t_fwd iifname \"%s\" oifname \"%s\" "
		  "accept\n",
	       n->rj, n->rj);
	if (!s->public_ip)
		return;
	snprintf(pub, sizeof pub, "%.*s", (int)strcspn(s->public_ip, "/"),
		 s->public_ip);
	sb_add(b,
	       "add rule ip trellis t_fwd iifname \"%s\" oifname \"%s\" accept\n"
	       "add rule ip trellis t_fwd ct status dnat accept\n"
	       "add rule ip trellis t_post ip saddr %s oifname \"%s\" snat to "
	       "%s\n",
	       n->rj, n->rp, s->cidr, n->rp, pub);
	for (uint32_t i = 0; i < s->n_forwards; i++) {
		const trellis_router_forward_t *f = &s->forwards[i];
		sb_add(b,
		       "add rule ip trellis t_pre ip daddr %s %s dport %u dnat "
		       "to %s:%u\n",
		       pub, f->protocol, f->public_port, f->ip, f->port);
	}
}

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
	cidr_split(s->cidr, net, &pfx, mask);
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
		rc = check_spec(j, s);
	if (rc)
		return rc;
	names_of(s->name, &n);
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

	if ((rc = mkdirs(n.dir)))
		return br_fail(j, TRELLIS_E_IO, "%s: %s", n.dir, strerror(-rc));
	if (!netns_exists(n.nspath)) {
		netns_drop(n.nspath); /* a stale file */
		rc = netns_make(n.nspath, err, sizeof err);
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
	conf_text(&conf, s, &n);
	leases_text(&dh, &hosts, s);
	nft_text(&nft, s, &n);
	if (conf.over || dh.over || hosts.over || nft.over) {
		rc = br_fail(j, TRELLIS_E_INVALID_ARG,
			     "router '%s': too many leases or forwards",
			     s->name);
		goto texts;
	}
	snprintf(path, sizeof path, "%s/nft", n.dir);
	int nft_changed = made_ns || !same_file(path, nft.p);
	snprintf(path, sizeof path, "%s/dnsmasq.conf", n.dir);
	int conf_ch = put_file(path, conf.p);
	snprintf(path, sizeof path, "%s/dhcp-hosts", n.dir);
	int dh_ch = put_file(path, dh.p);
	snprintf(path, sizeof path, "%s/hosts", n.dir);
	int h_ch = put_file(path, hosts.p);
	if (conf_ch < 0 || dh_ch < 0 || h_ch < 0) {
		rc = br_fail(j, TRELLIS_E_IO, "router '%s': writing %s: %s",
			     s->name, n.dir,
			     strerror(-(conf_ch < 0	 ? conf_ch
					: dh_ch < 0 ? dh_ch
						    : h_ch)));
		goto texts;
	}
	pid_t pid = server_pid(&n);
	if (pid && conf_ch) {
		server_stop(&n);
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
		put_file(path, nft.p);
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
	for (int i = 0; i < 50 && !(o->pid = (uint32_t)server_pid(&n)); i++)
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
		server_stop(&n);
		lk_delete(j->c->sk, n.ri, err, sizeof err);
		lk_delete(j->c->sk, n.ro, err, sizeof err);
		netns_drop(n.nspath);
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
	names_of(j->name, &n);
	server_stop(&n);
	rc = sync_rules(j, &n, NULL);
	if (!rc)
		rc = lk_delete(j->c->sk, n.ri, err, sizeof err);
	if (!rc)
		rc = lk_delete(j->c->sk, n.ro, err, sizeof err);
	if (rc)
		return rc < 0 ? rc : br_fail(j, rc, "router '%s': %s", j->name, err);
	netns_drop(n.nspath);
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
