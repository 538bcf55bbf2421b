/* SPDX-License-Identifier: Apache-2.0 */
/* links.c - bridges, VXLAN/VLAN devices, taps and veths via libnl (links.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/vxlan.h>

#include <trellis/error.h>

#include "links.h"

#define VXLAN_PORT 4789 /* IANA; the kernel's default is the legacy 8472 */

static int code_of(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST:
		return TRELLIS_E_CONFLICT;
	case NLE_PERM:
	case NLE_NOACCESS:
		return TRELLIS_E_PERMISSION;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return TRELLIS_E_NOTFOUND;
	case NLE_OPNOTSUPP:
		return TRELLIS_E_NOTSUP;
	case NLE_NOMEM:
		return TRELLIS_E_NOMEM;
	case NLE_INVAL:
	case NLE_RANGE:
		return TRELLIS_E_INVALID_ARG;
	case NLE_BUSY:
		return TRELLIS_E_BUSY;
	default:
		return TRELLIS_E_BACKEND;
	}
}

/* Sets err to "what: libnl's reason" and returns the trellis code. */
static int fail(int nle, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, nl_geterror(nle));
	return code_of(nle);
}

int lk_open(struct nl_sock **sk, char *err, size_t errlen)
{
	*sk = nl_socket_alloc();
	if (!*sk) {
		snprintf(err, errlen, "out of memory");
		return TRELLIS_E_NOMEM;
	}
	int rc = nl_connect(*sk, NETLINK_ROUTE);
	if (rc < 0) {
		nl_socket_free(*sk);
		*sk = NULL;
		return fail(rc, err, errlen, "netlink route socket");
	}
	return 0;
}

void lk_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static void fill(struct rtnl_link *l, struct lk_info *out)
{
	memset(out, 0, sizeof *out);
	const char *s = rtnl_link_get_name(l);
	snprintf(out->name, sizeof out->name, "%s", s ? s : "");
	s = rtnl_link_get_type(l);
	snprintf(out->kind, sizeof out->kind, "%s", s ? s : "");
	s = rtnl_link_get_ifalias(l);
	snprintf(out->alias, sizeof out->alias, "%s", s ? s : "");
	out->ifindex = rtnl_link_get_ifindex(l);
	out->master = rtnl_link_get_master(l);
	out->mtu = rtnl_link_get_mtu(l);
	out->up = !!(rtnl_link_get_flags(l) & IFF_UP);
}

int lk_get(struct nl_sock *sk, const char *name, struct lk_info *out, char *err,
	   size_t errlen)
{
	struct rtnl_link *l = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &l);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return TRELLIS_E_NOTFOUND;
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof what, "reading device %s", name);
		return fail(rc, err, errlen, what);
	}
	fill(l, out);
	rtnl_link_put(l);
	return 0;
}

int lk_each(struct nl_sock *sk, const char *prefix,
	    int (*fn)(void *opaque, const struct lk_info *li), void *opaque,
	    char *err, size_t errlen)
{
	struct nl_cache *cache = NULL;
	int rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (rc < 0)
		return fail(rc, err, errlen, "listing network devices");
	for (struct nl_object *o = nl_cache_get_first(cache); o;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *n = rtnl_link_get_name(l);
		if (!n || strncmp(n, prefix, strlen(prefix)))
			continue;
		struct lk_info li;
		fill(l, &li);
		if (fn(opaque, &li))
			break;
	}
	nl_cache_free(cache);
	return 0;
}

static int add(struct nl_sock *sk, struct rtnl_link *l, const char *name,
	       const char *kind, char *err, size_t errlen)
{
	rtnl_link_set_name(l, name);
	int rc = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	if (rc < 0) {
		char what[96];
		snprintf(what, sizeof what, "creating %s device %s", kind,
			 name);
		return fail(rc, err, errlen, what);
	}
	return 0;
}

int lk_add_bridge(struct nl_sock *sk, const char *name, uint32_t mtu, char *err,
		  size_t errlen)
{
	struct rtnl_link *l = rtnl_link_bridge_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	if (mtu)
		rtnl_link_set_mtu(l, mtu);
	return add(sk, l, name, "bridge", err, errlen);
}

int lk_add_vxlan(struct nl_sock *sk, const char *name, uint32_t vni,
		 const char *local_ip, int underlay, uint32_t mtu, char *err,
		 size_t errlen)
{
	struct rtnl_link *l = rtnl_link_vxlan_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	rtnl_link_vxlan_set_id(l, vni);
	rtnl_link_vxlan_set_port(l, VXLAN_PORT);
	/* IFLA_VXLAN_LINK, not IFLA_LINK: only the former binds the
	 * tunnel to the underlay (and sizes its MTU from it). */
	if (underlay)
		rtnl_link_vxlan_set_link(l, (uint32_t)underlay);
	if (mtu)
		rtnl_link_set_mtu(l, mtu);
	if (local_ip) {
		struct nl_addr *a = NULL;
		int rc = nl_addr_parse(local_ip, AF_UNSPEC, &a);
		if (rc < 0) {
			rtnl_link_put(l);
			snprintf(err, errlen,
				 "invalid VXLAN local address '%s'", local_ip);
			return TRELLIS_E_INVALID_ARG;
		}
		rtnl_link_vxlan_set_local(l, a);
		nl_addr_put(a);
	}
	return add(sk, l, name, "vxlan", err, errlen);
}

int lk_add_vlan(struct nl_sock *sk, const char *name, uint16_t id, int underlay,
		char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_vlan_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	rtnl_link_vlan_set_id(l, id);
	rtnl_link_set_link(l, underlay);
	return add(sk, l, name, "802.1Q vlan", err, errlen);
}

int lk_add_tap(const char *name, char *err, size_t errlen)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "creating tap %s: /dev/net/tun: %s", name,
			 strerror(e));
		return e == EACCES || e == EPERM ? TRELLIS_E_PERMISSION
						 : TRELLIS_E_UNAVAILABLE;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	int rc = 0;
	/* Persistent: the tap outlives this fd until port_delete, so the
	 * hypervisor can open it by name (libvirt type='ethernet'). */
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 ||
	    ioctl(fd, TUNSETPERSIST, 1) != 0) {
		int e = errno;
		snprintf(err, errlen, "creating tap %s: %s", name, strerror(e));
		rc = e == EBUSY || e == EEXIST ? TRELLIS_E_CONFLICT
		     : e == EPERM	       ? TRELLIS_E_PERMISSION
					       : TRELLIS_E_BACKEND;
	}
	close(fd);
	return rc;
}

int lk_add_veth(struct nl_sock *sk, const char *name, const char *peer,
		char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	struct rtnl_link *p = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(p, peer);
	rtnl_link_put(p);
	return add(sk, l, name, "veth", err, errlen);
}

int lk_setup(struct nl_sock *sk, const char *name, const char *alias,
	     const char *mac, int master, unsigned mtu, char *err,
	     size_t errlen)
{
	struct rtnl_link *orig = NULL, *ch = NULL;
	struct nl_addr *a = NULL;
	char what[96];
	int rc = rtnl_link_get_kernel(sk, 0, name, &orig);
	if (rc < 0) {
		snprintf(what, sizeof what, "reading device %s", name);
		return fail(rc, err, errlen, what);
	}
	ch = rtnl_link_alloc();
	if (!ch) {
		rc = fail(-NLE_NOMEM, err, errlen, name);
		goto out;
	}
	if (alias)
		rtnl_link_set_ifalias(ch, alias);
	if (mac) {
		if (nl_addr_parse(mac, AF_LLC, &a) < 0) {
			snprintf(err, errlen, "invalid MAC address '%s'", mac);
			rc = TRELLIS_E_INVALID_ARG;
			goto out;
		}
		rtnl_link_set_addr(ch, a);
	}
	if (master >= 0)
		rtnl_link_set_master(ch, master);
	if (mtu)
		rtnl_link_set_mtu(ch, mtu);
	rtnl_link_set_flags(ch, IFF_UP);
	rc = rtnl_link_change(sk, orig, ch, 0);
	if (rc < 0) {
		snprintf(what, sizeof what, "configuring device %s", name);
		rc = fail(rc, err, errlen, what);
	}
out:
	nl_addr_put(a);
	rtnl_link_put(ch);
	rtnl_link_put(orig);
	return rc;
}

int lk_delete(struct nl_sock *sk, const char *name, char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	rtnl_link_set_name(l, name);
	int rc = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 0;
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof what, "deleting device %s", name);
		return fail(rc, err, errlen, what);
	}
	return 0;
}

/* One all-zero (flood) FDB entry of a VXLAN device: add or delete. */
static int fdb_zero_entry(struct nl_sock *sk, int cmd, int flags, int ifindex,
			  int fam, const unsigned char *dst)
{
	static const unsigned char zero[6];
	struct ndmsg ndm = {.ndm_family = AF_BRIDGE,
			    .ndm_ifindex = ifindex,
			    .ndm_state = NUD_PERMANENT,
			    .ndm_flags = NTF_SELF};
	struct nl_msg *msg = nlmsg_alloc_simple(cmd, flags);
	int rc;
	if (!msg)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, NDA_LLADDR, sizeof zero, zero) < 0 ||
	    nla_put(msg, NDA_DST, fam == AF_INET ? 4 : 16, dst) < 0) {
		rc = -NLE_MSGSIZE;
		goto out;
	}
	rc = nl_send_auto(sk, msg);
	if (rc >= 0)
		rc = nl_wait_for_ack(sk);
out:
	nlmsg_free(msg);
	return rc < 0 ? rc : 0;
}

struct flood_dump {
	int ifindex;
	unsigned n;
	int fam[64];
	unsigned char dst[64][16];
};

static int flood_dump_cb(struct nl_msg *msg, void *arg)
{
	struct flood_dump *d = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ndmsg *ndm = nlmsg_data(nlh);
	struct nlattr *tb[NDA_MAX + 1];
	static const unsigned char zero[6];
	if (ndm->ndm_family != AF_BRIDGE || ndm->ndm_ifindex != d->ifindex ||
	    nlmsg_parse(nlh, sizeof *ndm, tb, NDA_MAX, NULL) < 0 ||
	    !tb[NDA_LLADDR] || !tb[NDA_DST] || nla_len(tb[NDA_LLADDR]) != 6 ||
	    memcmp(nla_data(tb[NDA_LLADDR]), zero, 6) || d->n == 64)
		return NL_OK;
	int len = nla_len(tb[NDA_DST]);
	if (len != 4 && len != 16)
		return NL_OK;
	d->fam[d->n] = len == 4 ? AF_INET : AF_INET6;
	memset(d->dst[d->n], 0, 16);
	memcpy(d->dst[d->n], nla_data(tb[NDA_DST]), (size_t)len);
	d->n++;
	return NL_OK;
}

/* The device's current flood entries (all-zero MAC) into d. */
static int flood_dump(struct nl_sock *sk, struct flood_dump *d)
{
	struct ndmsg ndm = {.ndm_family = AF_BRIDGE};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP);
	/* nl_socket_get_cb() hands out a reference of its own. */
	struct nl_cb *own = nl_socket_get_cb(sk);
	struct nl_cb *cb = own ? nl_cb_clone(own) : NULL;
	nl_cb_put(own);
	int rc = -NLE_NOMEM;
	if (!msg || !cb)
		goto out;
	rc = nlmsg_append(msg, &ndm, sizeof ndm, NLMSG_ALIGNTO);
	if (rc >= 0)
		rc = nl_send_auto(sk, msg);
	if (rc >= 0) {
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, flood_dump_cb, d);
		rc = nl_recvmsgs(sk, cb);
	}
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return rc < 0 ? rc : 0;
}

int lk_fdb_flood_sync(struct nl_sock *sk, int vxlan_ifindex,
		      const char *const *remotes, unsigned n, char *err,
		      size_t errlen)
{
	/* Built with libnl's message API: rtnl_neigh (3.7) drops NDA_DST
	 * for AF_BRIDGE entries, and the remote is the whole point. */
	unsigned char want[64][16];
	int fam[64];
	if (n > 64) {
		snprintf(err, errlen, "at most 64 VXLAN remotes, got %u", n);
		return TRELLIS_E_INVALID_ARG;
	}
	for (unsigned i = 0; i < n; i++) {
		fam[i] = strchr(remotes[i], ':') ? AF_INET6 : AF_INET;
		memset(want[i], 0, 16);
		if (inet_pton(fam[i], remotes[i], want[i]) != 1) {
			snprintf(err, errlen,
				 "invalid VXLAN remote address '%s'",
				 remotes[i]);
			return TRELLIS_E_INVALID_ARG;
		}
	}
	struct flood_dump *d = calloc(1, sizeof *d);
	if (!d)
		return fail(-NLE_NOMEM, err, errlen, "flood list");
	d->ifindex = vxlan_ifindex;
	int rc = flood_dump(sk, d);
	if (rc < 0) {
		rc = fail(rc, err, errlen, "reading VXLAN flood entries");
		goto out;
	}
	/* Remotes that left first, then the ones that are new. */
	for (unsigned i = 0; i < d->n; i++) {
		int keep = 0;
		for (unsigned k = 0; k < n && !keep; k++)
			keep = fam[k] == d->fam[i] &&
			       !memcmp(want[k], d->dst[i], 16);
		if (keep)
			continue;
		rc = fdb_zero_entry(sk, RTM_DELNEIGH, 0, vxlan_ifindex,
				    d->fam[i], d->dst[i]);
		if (rc < 0 && rc != -NLE_OBJ_NOTFOUND) {
			rc = fail(rc, err, errlen,
				  "removing a stale VXLAN flood entry");
			goto out;
		}
	}
	for (unsigned k = 0; k < n; k++) {
		rc = fdb_zero_entry(sk, RTM_NEWNEIGH,
				    NLM_F_CREATE | NLM_F_APPEND, vxlan_ifindex,
				    fam[k], want[k]);
		if (rc < 0 && rc != -NLE_EXIST) {
			char what[96];
			snprintf(what, sizeof what,
				 "adding VXLAN flood entry for %s", remotes[k]);
			rc = fail(rc, err, errlen, what);
			goto out;
		}
	}
	rc = 0;
out:
	free(d);
	return rc;
}

int lk_add_veth_ns(struct nl_sock *sk, const char *name, const char *peer,
		   int ns_fd, char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!l)
		return fail(-NLE_NOMEM, err, errlen, name);
	struct rtnl_link *p = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(p, peer);
	rtnl_link_set_ns_fd(p, ns_fd);
	rtnl_link_put(p);
	return add(sk, l, name, "veth", err, errlen);
}

int lk_addr_set(struct nl_sock *sk, const char *name, const char *cidr,
		char *err, size_t errlen)
{
	struct lk_info li;
	struct nl_addr *local = NULL;
	char what[96];
	int rc = lk_get(sk, name, &li, err, errlen);
	if (rc == TRELLIS_E_NOTFOUND)
		snprintf(err, errlen, "device %s does not exist", name);
	if (rc)
		return rc;
	snprintf(what, sizeof what, "address %s on %s", cidr, name);
	rc = nl_addr_parse(cidr, AF_INET, &local);
	if (rc < 0)
		return fail(rc, err, errlen, what);
	struct rtnl_addr *a = rtnl_addr_alloc();
	if (!a) {
		nl_addr_put(local);
		return fail(-NLE_NOMEM, err, errlen, what);
	}
	rtnl_addr_set_ifindex(a, li.ifindex);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, nl_addr_get_prefixlen(local));
	rc = rtnl_addr_add(sk, a, NLM_F_REPLACE);
	rtnl_addr_put(a);
	nl_addr_put(local);
	if (rc == -NLE_EXIST)
		rc = 0;
	return rc < 0 ? fail(rc, err, errlen, what) : 0;
}

int lk_route_default(struct nl_sock *sk, const char *gw, char *err,
		     size_t errlen)
{
	struct nl_addr *dst = NULL, *via = NULL;
	char what[96];
	snprintf(what, sizeof what, "default route via %s", gw);
	int rc = nl_addr_parse("0.0.0.0/0", AF_INET, &dst);
	if (rc >= 0)
		rc = nl_addr_parse(gw, AF_INET, &via);
	if (rc < 0) {
		nl_addr_put(dst);
		return fail(rc, err, errlen, what);
	}
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	if (!r || !nh) {
		nl_addr_put(dst);
		nl_addr_put(via);
		if (r)
			rtnl_route_put(r);
		if (nh)
			rtnl_route_nh_free(nh);
		return fail(-NLE_NOMEM, err, errlen, what);
	}
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_dst(r, dst);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(r, nh);
	rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_route_put(r);
	nl_addr_put(dst);
	nl_addr_put(via);
	return rc < 0 ? fail(rc, err, errlen, what) : 0;
}
